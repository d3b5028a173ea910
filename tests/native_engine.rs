//! The native engine against independent references that need no Python: finite differences of
//! its own energy (forces, virial under strain), the per-atom virial summing to the global one,
//! thread counts giving the same numbers, and a clear error for every damaged or unsupported file.
#![allow(clippy::needless_range_loop)]
mod common;

use common::rewrite;
use std::path::{Path, PathBuf};

use allegro::graph::PeriodicGraph;
use allegro::{BackendChoice, Cell, LoadOptions, Model};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn native(path: &Path, threads: usize) -> Result<Model, allegro::Error> {
    Model::load_with(
        path,
        LoadOptions {
            backend: BackendChoice::Native,
            threads,
            ..LoadOptions::default()
        },
    )
}

/// A rattled 2x1x1 cubic Na3SbS4 cell (32 atoms) with one W, deterministic.
fn structure(scale: f64) -> ([[f64; 3]; 3], Vec<[f64; 3]>, Vec<i32>) {
    let a = 7.15 * scale;
    // I-43m: Na 6b (0,1/2,1/2)..., Sb 2a (0,0,0), S 8c (x,x,x) x = 0.17
    let mut frac: Vec<([f64; 3], i32)> = Vec::new();
    let x: f64 = 0.17;
    for shift in [[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]] {
        let add = |p: [f64; 3]| {
            [
                (p[0] + shift[0]) % 1.0,
                (p[1] + shift[1]) % 1.0,
                (p[2] + shift[2]) % 1.0,
            ]
        };
        frac.push((add([0.0, 0.0, 0.0]), 1));
        for p in [[0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]] {
            frac.push((add(p), 0));
        }
        for p in [[x, x, x], [-x, -x, x], [-x, x, -x], [x, -x, -x]] as [[f64; 3]; 4] {
            frac.push((
                add([
                    p[0].rem_euclid(1.0),
                    p[1].rem_euclid(1.0),
                    p[2].rem_euclid(1.0),
                ]),
                3,
            ));
        }
    }
    let cell = [[2.0 * a, 0.0, 0.0], [0.0, a, 0.0], [0.3, 0.0, a]];
    let mut positions = Vec::new();
    let mut types = Vec::new();
    let mut seed = 12345u64;
    let mut rand = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    };
    for rep in 0..2 {
        for (f, t) in &frac {
            let g = [(f[0] + rep as f64) / 2.0, f[1], f[2]];
            let mut p = [0.0; 3];
            for k in 0..3 {
                p[k] = g[0] * cell[0][k] + g[1] * cell[1][k] + g[2] * cell[2][k] + 0.15 * rand();
            }
            positions.push(p);
            types.push(*t);
        }
    }
    types[8] = 2; // one W on an Sb site
    (cell, positions, types)
}

fn energy_and_virial(
    model: &mut Model,
    cell: [[f64; 3]; 3],
    pos: &[[f64; 3]],
    types: &[i32],
) -> (f64, [f64; 9], Vec<[f64; 9]>) {
    let out = model
        .compute_periodic_with_atom_virial(&Cell::periodic(cell, pos, types))
        .unwrap();
    (out.energy, out.virial, out.atom_virial.unwrap())
}

fn strained(
    cell: [[f64; 3]; 3],
    pos: &[[f64; 3]],
    eps: [[f64; 3]; 3],
) -> ([[f64; 3]; 3], Vec<[f64; 3]>) {
    let apply = |v: [f64; 3]| -> [f64; 3] {
        std::array::from_fn(|b| v[b] + (0..3).map(|a| v[a] * eps[a][b]).sum::<f64>())
    };
    (cell.map(apply), pos.iter().map(|&p| apply(p)).collect())
}

const MODELS: [&str; 3] = [
    "tests/models/allegro_float64.nequip.pth",
    "tests/models/allegro_float32.nequip.pth",
    "models/nawsbs.nequip.pth",
];

/// W_ab = -dE/d(eps_ab) for a symmetric strain, by central differences of the native energy;
/// per-atom virials sum to the global virial.
#[test]
fn virial_is_strain_derivative_and_atom_virials_sum_to_it() {
    for name in MODELS {
        let mut model = native(&root().join(name), 1).unwrap();
        let f64_model = name.contains("float64");
        let (cell, pos, types) = structure(1.0);
        let (_, w, av) = energy_and_virial(&mut model, cell, &pos, &types);
        let scale = w.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        // The global virial is symmetrised (symmetric strain); compare symmetric parts.
        let sum = |k: usize| av.iter().map(|a| a[k]).sum::<f64>();
        for k in 0..9 {
            let t = 3 * (k % 3) + k / 3;
            let sym = 0.5 * (sum(k) + sum(t));
            assert!(
                (sym - w[k]).abs() <= 1e-9 * scale,
                "{name}: sum of atom virials [{k}] {sym} vs {}",
                w[k]
            );
        }
        if !f64_model {
            continue; // float32 energies are too coarse for differences at this step
        }
        let h = 1e-5;
        for (a, b) in [(0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (0, 2)] {
            let mut eps = [[0.0; 3]; 3];
            eps[a][b] += 0.5 * h;
            eps[b][a] += 0.5 * h;
            let (cp, pp) = strained(cell, &pos, eps);
            let ep = energy_and_virial(&mut model, cp, &pp, &types).0;
            let neg = eps.map(|r| r.map(|v| -v));
            let (cm, pm) = strained(cell, &pos, neg);
            let em = energy_and_virial(&mut model, cm, &pm, &types).0;
            let fd = -(ep - em) / (2.0 * h);
            assert!(
                (fd - w[3 * a + b]).abs() <= 1e-6 * scale,
                "{name}: W[{a}{b}] {} vs -dE/deps {fd}",
                w[3 * a + b]
            );
        }
    }
}

/// One thread and two threads give the same numbers (blocks are independent).
#[test]
fn threads_do_not_change_results() {
    let (cell, pos, types) = structure(1.0);
    for name in MODELS {
        let path = root().join(name);
        let mut one = native(&path, 1).unwrap();
        let mut two = native(&path, 2).unwrap();
        let g = PeriodicGraph::build(cell, &pos, &types, one.metadata().r_max).unwrap();
        let a = one.compute(&g.system()).unwrap();
        let b = two.compute(&g.system()).unwrap();
        assert_eq!(a.atom_energy, b.atom_energy, "{name}");
        for (x, y) in a.forces.iter().zip(&b.forces) {
            for k in 0..3 {
                assert!((x[k] - y[k]).abs() <= 1e-12 * (1.0 + x[k].abs()), "{name}");
            }
        }
    }
}

fn native_error(path: &Path) -> String {
    match native(path, 1) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn damaged_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = root().join("tests/models/allegro_float64.nequip.pth");
    let bytes = std::fs::read(&good).unwrap();
    type Make<'a> = Box<dyn Fn(&Path) + 'a>;
    let cases: Vec<(&str, Make, &str)> = vec![
        (
            "truncated.nequip.pth",
            Box::new(|p: &Path| std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap()),
            "not a TorchScript zip archive",
        ),
        (
            "text.nequip.pth",
            Box::new(|p: &Path| std::fs::write(p, "hello\n").unwrap()),
            "not a TorchScript zip archive",
        ),
        (
            "bigendian.nequip.pth",
            Box::new(|p: &Path| {
                rewrite(&good, p, |n, b| {
                    Some(if n.ends_with("/byteorder") {
                        b"big".to_vec()
                    } else {
                        b
                    })
                })
            }),
            "big-endian",
        ),
        (
            "nostorage.nequip.pth",
            Box::new(|p: &Path| rewrite(&good, p, |n, b| (!n.ends_with("/data/3")).then_some(b))),
            "tensor storage '3' is missing",
        ),
        (
            "shortstorage.nequip.pth",
            Box::new(|p: &Path| {
                rewrite(&good, p, |n, b| {
                    Some(if n.ends_with("/data/3") {
                        b[..b.len() - 4].to_vec()
                    } else {
                        b
                    })
                })
            }),
            "tensor storage '3'",
        ),
        (
            "cutpickle.nequip.pth",
            Box::new(|p: &Path| {
                rewrite(&good, p, |n, b| {
                    Some(if n.ends_with("/data.pkl") {
                        b[..b.len() / 2].to_vec()
                    } else {
                        b
                    })
                })
            }),
            "data.pkl ends in the middle",
        ),
        (
            "nopickle.nequip.pth",
            Box::new(|p: &Path| rewrite(&good, p, |n, b| (!n.ends_with("/data.pkl")).then_some(b))),
            "has no data.pkl",
        ),
    ];
    for (name, make, expected) in cases {
        let path = dir.path().join(name);
        make(&path);
        let message = native_error(&path);
        assert!(
            message.contains(expected),
            "{name}: '{message}' lacks '{expected}'"
        );
        assert!(
            message.contains(name),
            "{name}: '{message}' does not name the file"
        );
        assert_eq!(message.lines().count(), 1, "{name}: '{message}'");
    }
}

/// A module the native engine does not implement (here a Tanh where the model has a SiLU) is
/// refused by name, pointing to `backend torch`; so is an AOTInductor package.
#[test]
fn unsupported_models_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let good = root().join("tests/models/allegro_float64.nequip.pth");
    let tanh = dir.path().join("tanh.nequip.pth");
    rewrite(&good, &tanh, |n, b| {
        if !n.ends_with("/data.pkl") {
            return Some(b);
        }
        let text = b"activation\nSiLU\n";
        let at = b
            .windows(text.len())
            .position(|w| w == text)
            .expect("a SiLU in data.pkl");
        let mut b = b;
        b[at..at + text.len()].copy_from_slice(b"activation\nTanh\n");
        Some(b)
    });
    let message = native_error(&tanh);
    assert!(
        message.contains(
            "is a Tanh, which the native engine does not implement (use `backend torch`)"
        ),
        "{message}"
    );
    let pt2 = Path::new("/nonexistent/model.nequip.pt2");
    let message = native_error(pt2);
    assert!(message.contains("model.nequip.pt2"), "{message}");
}

/// Two atoms on top of each other: a clear error naming both, never NaN or huge numbers.
#[test]
fn overlapping_atoms_are_refused() {
    let (cell, mut pos, types) = structure(1.0);
    pos[5] = pos[4];
    let mut model = native(&root().join(MODELS[0]), 1).unwrap();
    let g = PeriodicGraph::build(cell, &pos, &types, model.metadata().r_max).unwrap();
    let message = model.compute(&g.system()).unwrap_err().to_string();
    assert!(
        message.contains("atoms 4 and 5") && message.contains("0.000e0 A apart"),
        "{message}"
    );
}
