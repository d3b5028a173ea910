//! allegro-build: composition of the four variants, neighbour distances against the Wyckoff
//! data, reproducibility by seed, SQS correlations better than seeded random, 12x12x12 size.
mod common;
use std::path::Path;
use std::process::Command;

use allegro_tools::rng::Rng;
use allegro_tools::structure::{self, pair_correlation_error, Element};
use indicatif::ProgressBar;

fn build(dir: &Path, name: &str, args: &[&str]) -> (String, serde_json::Value) {
    let data = dir.join(format!("{name}.data"));
    let json = dir.join(format!("{name}.json"));
    common::run_ok(
        Command::new(env!("CARGO_BIN_EXE_allegro-build"))
            .args(args)
            .arg("--data")
            .arg(&data)
            .arg("--json")
            .arg(&json),
    );
    (
        std::fs::read_to_string(data).unwrap(),
        serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap(),
    )
}

/// (type, position) rows of a data file written by allegro-build
fn atoms(data: &str) -> Vec<(usize, [f64; 3])> {
    let body = data.split("Atoms  # atomic\n\n").nth(1).unwrap();
    body.lines()
        .map(|l| {
            let f: Vec<f64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            (f[1] as usize, [f[2], f[3], f[4]])
        })
        .collect()
}

fn counts(data: &str) -> [usize; 5] {
    let mut c = [0; 5];
    for (t, _) in atoms(data) {
        c[t] += 1;
    }
    c
}

#[test]
fn four_variants_have_the_right_composition() {
    let dir = tempfile::tempdir().unwrap();
    // 4x4x4 cubic: 128 formula units; x = 0.0625 -> 8 W and/or 8 vacancies
    let base = ["--reps", "4", "4", "4", "--x", "0.0625", "--seed", "3"];
    let cases = [
        ("pristine", [384, 128, 0, 512]),
        ("w-vac", [376, 120, 8, 512]),
        ("vac", [376, 128, 0, 512]),
        ("w", [384, 120, 8, 512]),
    ];
    for (variant, want) in cases {
        let mut args = base.to_vec();
        if variant == "pristine" {
            args.truncate(4);
        }
        args.extend(["--variant", variant]);
        let (data, _) = build(dir.path(), variant, &args);
        assert_eq!(&counts(&data)[1..], &want, "{variant}");
        assert!(data.contains("4 atom types") && data.contains("3 183.84  # W"));
    }
}

fn nearest(data: &str, box_len: [f64; 3], a: usize, b: usize) -> f64 {
    let at = atoms(data);
    let mut best = f64::MAX;
    for (ti, p) in &at {
        if *ti != a {
            continue;
        }
        for (tj, q) in &at {
            if *tj != b || p == q {
                continue;
            }
            let d: f64 = (0..3)
                .map(|k| {
                    let v = q[k] - p[k];
                    let v = v - box_len[k] * (v / box_len[k]).round();
                    v * v
                })
                .sum();
            best = best.min(d.sqrt());
        }
    }
    best
}

#[test]
fn neighbour_distances_match_the_wyckoff_data() {
    let dir = tempfile::tempdir().unwrap();
    let (cubic, _) = build(dir.path(), "c", &["--reps", "2", "2", "2"]);
    let a = structure::CUBIC_A;
    // Sb-S along <111>: sqrt(3) x a; Na(6b)-S: sqrt((1/2-x)^2 + 2 x^2)... computed independently
    let x = structure::CUBIC_S_X;
    assert!((nearest(&cubic, [2.0 * a; 3], 2, 4) - 3f64.sqrt() * x * a).abs() < 1e-6);
    let na_s = ((0.5 - x).powi(2) + x * x + x * x).sqrt() * a; // Na (0,1/2,1/2) to S (x,1/2-x... )
    let got = nearest(&cubic, [2.0 * a; 3], 1, 4);
    assert!(
        (got - na_s).abs() < 1e-6 || got < na_s,
        "Na-S {got} vs {na_s}"
    );
    assert!(nearest(&cubic, [2.0 * a; 3], 1, 1) > 3.5);
    let (tet, _) = build(
        dir.path(),
        "t",
        &["--phase", "tetragonal", "--reps", "2", "2", "2"],
    );
    let (at, ct) = (structure::TETRAGONAL_A, structure::TETRAGONAL_C);
    let s = structure::TETRAGONAL_S;
    let sb_s = ((s[0] * at).powi(2) + (s[1] * at).powi(2) + (s[2] * ct).powi(2)).sqrt();
    assert!((nearest(&tet, [2.0 * at, 2.0 * at, 2.0 * ct], 2, 4) - sb_s).abs() < 1e-6);
    // no two atoms closer than 2.2 A in either phase
    for (d, l) in [
        (&cubic, [2.0 * a; 3]),
        (&tet, [2.0 * at, 2.0 * at, 2.0 * ct]),
    ] {
        for t1 in 1..=4 {
            for t2 in 1..=4 {
                if counts(d)[t1] > 0 && counts(d)[t2] > 0 {
                    assert!(nearest(d, l, t1, t2) > 2.2, "{t1}-{t2}");
                }
            }
        }
    }
}

#[test]
fn same_seed_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--reps",
        "3",
        "3",
        "3",
        "--variant",
        "w-vac",
        "--x",
        "0.1",
        "--seed",
        "42",
    ];
    let (a, _) = build(dir.path(), "a", &args);
    let (b, _) = build(dir.path(), "b", &args);
    assert_eq!(a, b);
    let mut other = args.to_vec();
    other[9] = "43";
    let (c, _) = build(dir.path(), "c", &other);
    assert_ne!(a, c);
}

#[test]
fn sqs_beats_seeded_random_placement() {
    // 6x6x6 cubic, 432 Sb sites, x = 0.1: compare W-W pair correlations over the first shells
    let base = structure::cubic(structure::CUBIC_A).supercell([6, 6, 6]);
    let sites: Vec<[f64; 3]> = base
        .indices_of(Element::Sb)
        .iter()
        .map(|&i| base.positions[i])
        .collect();
    let mut worse = 0;
    for seed in 0..5 {
        let mut random = base.clone();
        random.place_tungsten(43, 0, &mut Rng::new(seed), &ProgressBar::hidden());
        let mut sqs = base.clone();
        let report = sqs
            .place_tungsten(43, 20000, &mut Rng::new(seed), &ProgressBar::hidden())
            .unwrap();
        let solute = |s: &structure::Structure| -> Vec<bool> {
            s.indices_of(Element::Sb).len();
            s.elements
                .iter()
                .filter(|e| **e == Element::Sb || **e == Element::W)
                .map(|e| *e == Element::W)
                .collect()
        };
        let (er, es) = (
            pair_correlation_error(&base.cell, &sites, &solute(&random)),
            pair_correlation_error(&base.cell, &sites, &solute(&sqs)),
        );
        assert!((es - report.sqs_error).abs() < 1e-12);
        if es >= er {
            worse += 1;
        }
        assert!(es < 1e-5, "SQS error {es}");
    }
    assert_eq!(worse, 0);
}

#[test]
fn twelve_cubed_supercell() {
    let dir = tempfile::tempdir().unwrap();
    let (data, v) = build(
        dir.path(),
        "big",
        &[
            "--reps",
            "12",
            "12",
            "12",
            "--variant",
            "w-vac",
            "--x",
            "0.1",
            "--sqs-steps",
            "5000",
        ],
    );
    assert_eq!(v["atoms"].as_u64().unwrap(), 27_648 - 346);
    assert_eq!(counts(&data)[3], 346);
}

#[test]
fn zero_negative_or_infinite_lengths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cell.data");
    for bad in [
        ["--a", "0"],
        ["--a=-7", "--phase=cubic"],
        ["--a", "-7"], // a negative value after a space reaches the check, not clap's parser
        ["--c", "0"],
        ["--a", "inf"],
        ["--c=-7.2", "--phase=tetragonal"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_allegro-build"))
            .args(bad)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad:?}: {stderr}");
        assert!(
            stderr.contains("must be a positive length"),
            "{bad:?}: {stderr}"
        );
        assert!(!data.exists(), "{bad:?} wrote a file");
    }
}

#[test]
fn inconsistent_options_get_a_note() {
    let dir = tempfile::tempdir().unwrap();
    for (args, note) in [
        (&["--c", "7.3"][..], "--c is ignored for the cubic phase"),
        (
            &["--x", "0.1"][..],
            "--x 0.1 is ignored for --variant pristine",
        ),
        (
            &["--variant", "w-vac", "--w", "2", "--reps", "2", "2", "2"][..],
            "2 W and 0 vacancies",
        ),
    ] {
        let json = dir.path().join("cell.json");
        let out = Command::new(env!("CARGO_BIN_EXE_allegro-build"))
            .args(args)
            .arg("--data")
            .arg(dir.path().join("cell.data"))
            .arg("--json")
            .arg(&json)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.contains(note),
            "{args:?}: {stderr}"
        );
        // the same note in the JSON's warnings
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert!(v["warnings"][0].as_str().unwrap().contains(note), "{v}");
    }
}
