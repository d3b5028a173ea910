//! The staticlib the LAMMPS plugin links holds the engine and the C ABI only: none of the
//! command-line, plotting or trajectory code of the analysis tools.
use std::path::PathBuf;
use std::process::Command;

/// `liballegro.a` of this build's profile folder (the test binary lives in `<profile>/deps`).
fn staticlib() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let lib = exe.parent().unwrap().parent().unwrap().join("liballegro.a");
    assert!(lib.exists(), "{} missing: cargo build --lib", lib.display());
    lib
}

#[test]
fn staticlib_has_no_tool_code() {
    let out = Command::new("nm")
        .args(["--defined-only", "-C"])
        .arg(staticlib())
        .stderr(std::process::Stdio::null())
        .output()
        .expect("nm (binutils) runs");
    assert!(out.status.success(), "nm failed");
    let symbols = String::from_utf8_lossy(&out.stdout);
    assert!(
        symbols.contains("allegro_model_load"),
        "C ABI missing from the staticlib"
    );
    // Before the split the staticlib held 537 plotters and 222 indicatif symbols.
    for path in [
        "clap::",
        "plotters::",
        "indicatif::",
        "allegro_tools::",
        "allegro::diffusion::",
        "allegro::trajectory::",
        "allegro::plot::",
    ] {
        let hits = symbols.lines().filter(|l| l.contains(path)).count();
        assert_eq!(hits, 0, "the staticlib carries {hits} symbols of {path}");
    }
}
