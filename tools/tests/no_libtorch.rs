//! The analysis tools never link libtorch: each binary's dynamic section names no torch library,
//! and `--version` runs with an empty library path (no `.venv` needed).
#![cfg(not(feature = "torch"))]
use std::process::Command;

const TOOLS: [&str; 9] = [
    env!("CARGO_BIN_EXE_allegro-arrhenius"),
    env!("CARGO_BIN_EXE_allegro-eval"),
    env!("CARGO_BIN_EXE_allegro-build"),
    env!("CARGO_BIN_EXE_allegro-diffusion"),
    env!("CARGO_BIN_EXE_allegro-dihedral"),
    env!("CARGO_BIN_EXE_allegro-lattice"),
    env!("CARGO_BIN_EXE_allegro-tc-plot"),
    env!("CARGO_BIN_EXE_allegro-phonon"),
    env!("CARGO_BIN_EXE_allegro-study"),
];

#[test]
fn tools_have_no_torch_dependency() {
    for tool in TOOLS {
        let out = Command::new("readelf")
            .args(["-d", tool])
            .output()
            .expect("readelf (binutils) runs");
        assert!(out.status.success(), "readelf -d {tool} failed");
        let dynamic = String::from_utf8_lossy(&out.stdout);
        let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
        assert!(!needed.is_empty(), "{tool}: no NEEDED entries read");
        for line in &needed {
            assert!(
                !line.contains("torch") && !line.contains("c10"),
                "{tool} links libtorch: {line}"
            );
        }
        let version = Command::new(tool)
            .arg("--version")
            .env_remove("LD_LIBRARY_PATH")
            .output()
            .expect("tool runs");
        assert!(version.status.success(), "{tool} --version failed");
    }
}
