//! allegro-diffusion -> allegro-arrhenius on synthetic walks whose D follows an Arrhenius law
//! with known Ea and A; figures are written as PNG and SVG.
mod common;

use std::process::Command;

use common::{random_walks, write_dump, Box3, Rng, WalkSpec};

const KB: f64 = 8.617_333_262e-5;

#[test]
fn recovers_known_activation_energy() {
    let dir = tempfile::tempdir().unwrap();
    let (ea, a) = (0.12, 1.0); // eV, A^2/ps
    let mut inputs = Vec::new();
    for (k, t) in [400.0, 500.0, 600.0, 700.0].into_iter().enumerate() {
        let d = a * (-ea / (KB * t)).exp();
        let spec = WalkSpec {
            atoms: 60,
            frames: 400,
            dt: 1.0,
            d_own: [d; 3],
            d_shared: 0.0,
            boxes: Box::new(|_| Box3::cubic(10.0)),
        };
        let mut rng = Rng::new(77 + k as u64);
        let frames = random_walks(&spec, &mut rng);
        let dump = dir.path().join(format!("T{t}.dump"));
        write_dump(&dump, &frames, &vec![1; 60], "x", &mut rng);
        let json = dir.path().join(format!("T{t}.json"));
        // a prefix with a dot stays whole (msd.400K.png, not msd.png overwritten by each run)
        let plot = dir.path().join(format!("msd.{t}K"));
        common::run_ok(
            Command::new(env!("CARGO_BIN_EXE_allegro-diffusion"))
                .args([
                    "--timestep",
                    "0.1",
                    "--species",
                    "1",
                    "--temperature",
                    &t.to_string(),
                    "--json",
                ])
                .arg(&json)
                .arg("--plot")
                .arg(&plot)
                .arg(&dump),
        );
        assert!(dir.path().join(format!("msd.{t}K.png")).exists());
        assert!(dir.path().join(format!("msd.{t}K.svg")).exists());
        inputs.push(json);
    }
    assert!(!dir.path().join("msd.png").exists());
    let fit = dir.path().join("fit.json");
    let plot = dir.path().join("arrhenius");
    let out = common::run_ok(
        Command::new(env!("CARGO_BIN_EXE_allegro-arrhenius"))
            .arg("--json")
            .arg(&fit)
            .arg("--plot")
            .arg(&plot)
            .args(&inputs),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Ea = "), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&fit).unwrap()).unwrap();
    let (got, std) = (
        v["Ea_eV"]["value"].as_f64().unwrap(),
        v["Ea_eV"]["std"].as_f64().unwrap(),
    );
    assert!((got - ea).abs() < 3.0 * std, "Ea {got} ± {std} vs {ea}");
    assert!(std < 0.02, "Ea std {std}");
    // A in cm^2/s: 1 A^2/ps = 1e-4 cm^2/s
    let pre = v["A"]["value"].as_f64().unwrap();
    assert!((pre.ln() - (a * 1e-4f64).ln()).abs() < 3.0 * v["ln_A"]["std"].as_f64().unwrap());
    let png = std::fs::read(plot.with_extension("png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    let svg = std::fs::read_to_string(plot.with_extension("svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("Ea = "));
    // keep a copy for a human look when asked
    if let Ok(out) = std::env::var("ALLEGRO_KEEP_FIGURES") {
        for f in ["arrhenius.png", "msd.600K.png"] {
            std::fs::copy(dir.path().join(f), std::path::Path::new(&out).join(f)).unwrap();
        }
    }
}

/// Two temperatures are enough: Ea from the two points exactly, and no reduced chi^2 (a line
/// through two points has no scatter to measure; it used to come out NaN and stop the tool).
#[test]
fn two_temperatures_give_ea() {
    let dir = tempfile::tempdir().unwrap();
    let k_b = 8.617_333_262e-5; // eV/K
    let d = |t: f64| 2e-3 * (-0.25 / (k_b * t)).exp();
    let mut inputs = Vec::new();
    for t in [600.0, 700.0] {
        let path = dir.path().join(format!("T{t}.json"));
        let c = serde_json::json!({"value": d(t), "std": 0.05 * d(t), "significant": true});
        let json = serde_json::json!({"temperature_K": t,
            "directions": [{"direction": "xyz", "D": c, "D_sigma": c}]});
        std::fs::write(&path, json.to_string()).unwrap();
        inputs.push(path);
    }
    let fit = dir.path().join("fit.json");
    let out = Command::new(env!("CARGO_BIN_EXE_allegro-arrhenius"))
        .args(&inputs)
        .arg("--json")
        .arg(&fit)
        .output()
        .unwrap();
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&fit).unwrap()).unwrap();
    let ea = v["Ea_eV"]["value"].as_f64().unwrap();
    assert!((ea - 0.25).abs() < 1e-6, "{ea}");
    // 5 % on each point: sigma(Ea) = k_B sqrt(2) 0.05 / (1/600 - 1/700)
    let sigma = k_b * 2f64.sqrt() * 0.05 / (1.0 / 600.0 - 1.0 / 700.0);
    let std = v["Ea_eV"]["std"].as_f64().unwrap();
    assert!((std - sigma).abs() < 1e-3 * sigma, "{std} vs {sigma}");
    assert!(v["reduced_chi2"].is_null());
}

/// A point allegro-diffusion marked as an upper bound only is refused with one clear line.
#[test]
fn refuses_a_non_significant_point() {
    let dir = tempfile::tempdir().unwrap();
    let point = |name: &str, t: f64, significant: bool| {
        let path = dir.path().join(name);
        let d = serde_json::json!({"value": 1e-6, "std": 2e-6, "significant": significant,
            "upper_bound_95": 4.3e-6});
        let json = serde_json::json!({"temperature_K": t,
            "directions": [{"direction": "xyz", "D": d, "D_sigma": d}]});
        std::fs::write(&path, json.to_string()).unwrap();
        path
    };
    let (a, b) = (point("a.json", 600.0, true), point("b.json", 700.0, false));
    let out = Command::new(env!("CARGO_BIN_EXE_allegro-arrhenius"))
        .args([&a, &b])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("b.json")
            && err.contains("not significantly above zero")
            && err.contains("4.300e-6"),
        "{err}"
    );
}

/// Each tool reads the other tools' JSON as the type the other tool writes: the wrong tool's
/// file is one clear line naming the file and what does not fit.
#[test]
fn the_wrong_tools_json_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let lattice = dir.path().join("lat.json");
    std::fs::write(
        &lattice,
        r#"{"runs": [], "T_C": {"value": 500.0, "halfwidth": 12.5}, "warnings": []}"#,
    )
    .unwrap();
    let diffusion = dir.path().join("d.json");
    std::fs::write(&diffusion, r#"{"temperature_K": 600.0, "directions": []}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_allegro-arrhenius"))
        .arg(&lattice)
        .arg(&diffusion)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.lines().count() == 1, "{err}");
    assert!(
        // its `runs` is a list of runs, a diffusion result's the number of runs pooled
        err.contains(
            "lat.json: not an allegro-diffusion result (invalid type: sequence, expected usize"
        ),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_allegro-tc-plot"))
        .args(["--plot", dir.path().join("tc").to_str().unwrap()])
        .arg(format!("0.1={}", diffusion.display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("d.json: not an allegro-lattice result (missing field `runs`"),
        "{err}"
    );
    // a lattice result is read: T_C 500 K at x = 0.1
    let out = Command::new(env!("CARGO_BIN_EXE_allegro-tc-plot"))
        .args(["--plot", dir.path().join("tc").to_str().unwrap()])
        .arg(format!("0.1={}", lattice.display()))
        .output()
        .unwrap();
    succeeded(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("500"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Asserts that a tool run succeeded, showing its stderr when not.
fn succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
