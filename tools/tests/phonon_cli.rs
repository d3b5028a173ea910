//! allegro-phonon with the shipped model: bad inputs are one clear line and write nothing; a
//! structure off its minimum gets a warning but still runs; a LAMMPS data file gives the same
//! frequencies as the same cell built in.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/nawsbs.nequip.pth")
}

fn phonon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_allegro-phonon"))
        .arg("--model")
        .arg(model())
        .args(args)
        .output()
        .unwrap()
}

fn fails_with(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(what), "{stderr}");
}

/// Fast settings: the tests check behaviour, not converged spectra.
const QUICK: [&str; 8] = [
    "--soft-mode",
    "none",
    "--dos-mesh",
    "2",
    "--density",
    "20",
    "--path",
    "GAMMA 0 0 0, H 0 0 1",
];

#[test]
fn an_element_the_model_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let xyz = dir.path().join("x.xyz");
    std::fs::write(
        &xyz,
        "2\nLattice=\"4 0 0 0 4 0 0 0 4\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"\nNa 0 0 0\nCl 2 2 2\n",
    )
    .unwrap();
    let json = dir.path().join("out.json");
    let out = phonon(&[
        "--structure",
        xyz.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    fails_with(&out, "element Cl is not a type of the model");
    assert!(!json.exists());
}

#[test]
fn a_supercell_thinner_than_twice_the_cutoff() {
    let out = phonon(&["--structure", "cubic", "--supercell", "1", "1", "1"]);
    fails_with(&out, "less than twice the model's cutoff (11.00 A)");
}

#[test]
fn odd_values_are_refused() {
    fails_with(
        &phonon(&["--structure", "cubic", "--displacement", "-0.02"]),
        "displacement -0.02 A",
    );
    fails_with(
        &phonon(&["--structure", "cubic", "--a", "0"]),
        "--a must be positive",
    );
    fails_with(
        &phonon(&["--structure", "cubic", "--path", "GAMMA 0 0"]),
        "LABEL QX QY QZ",
    );
    fails_with(&phonon(&["--structure", "no/such.xyz"]), "no/such.xyz");
    fails_with(
        &phonon(&["--structure", "cubic", "--mass", "Na"]),
        "expected EL=M",
    );
}

#[test]
fn residual_forces_warn_and_a_data_file_matches_the_built_cell() {
    let dir = tempfile::tempdir().unwrap();
    let built = dir.path().join("built.json");
    let mut args = vec!["--structure", "cubic"];
    args.extend(QUICK);
    args.extend(["--json", built.to_str().unwrap()]);
    let out = phonon(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: the largest force in the undisplaced supercell is 0.4"),
        "{stderr}"
    );
    let built: serde_json::Value = serde_json::from_slice(&std::fs::read(&built).unwrap()).unwrap();
    assert_eq!(built["warnings"].as_array().unwrap().len(), 1);
    assert_eq!(built["atoms_primitive_cell"], 8);

    let s = allegro_tools::structure::cubic(allegro_tools::structure::CUBIC_A);
    let data = dir.path().join("cubic.data");
    std::fs::write(
        &data,
        allegro_tools::structure::write_lammps_data(&s, "cubic"),
    )
    .unwrap();
    let from_file = dir.path().join("file.json");
    let mut args = vec!["--structure", data.to_str().unwrap()];
    args.extend(QUICK);
    args.extend(["--json", from_file.to_str().unwrap()]);
    let out = phonon(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&from_file).unwrap()).unwrap();
    for k in 0..2 {
        let a = built["special_points"][k]["frequencies_thz"]
            .as_array()
            .unwrap();
        let b = from_file["special_points"][k]["frequencies_thz"]
            .as_array()
            .unwrap();
        assert_eq!(a.len(), 24);
        for (x, y) in a.iter().zip(b) {
            assert!((x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-6);
        }
    }
}
