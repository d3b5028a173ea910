//! The committed C header must be what cbindgen makes of src/c_api.rs today.
//! `ALLEGRO_UPDATE_HEADER=1 cargo test --test c_header` rewrites a stale header, and still
//! fails: the test never passes on a header it has just written.
use std::path::Path;

#[test]
fn c_header_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config = cbindgen::Config::from_file(root.join("cbindgen.toml")).unwrap();
    config.after_includes = config
        .after_includes
        .map(|s| s.replace("@VERSION@", env!("CARGO_PKG_VERSION")));
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/c_api.rs"))
        .generate()
        .expect("cbindgen failed")
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    let header = root.join("cpp/include/allegro.h");
    let committed = std::fs::read_to_string(&header).unwrap_or_default();
    if committed != generated {
        let update = std::env::var_os("ALLEGRO_UPDATE_HEADER").is_some();
        if update {
            std::fs::write(&header, &generated).unwrap();
        }
        panic!(
            "cpp/include/allegro.h is stale: {}",
            if update {
                "rewritten now; review and commit it, then run the test again"
            } else {
                "run ALLEGRO_UPDATE_HEADER=1 cargo test --test c_header"
            }
        );
    }
}
