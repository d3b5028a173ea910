//! allegro-dihedral on constructed Na3(Sb,W)S4 structures with known dihedrals: the ideal cubic
//! structure (all zero) and tetrahedra rotated about [111] by known angles (dihedral of a pair
//! = rotation of B - rotation of A), in orthogonal and triclinic supercells, wrapped across the
//! boundaries, over several frames.
mod common;

use std::process::Command;

use common::{write_dump, Box3, Rng, SynthFrame};

const A: f64 = 7.15;
const X: f64 = 0.187;

/// Atoms of an n x n x n block of the I-43m cell: (type, Cartesian position, centre index).
fn crystal(n: usize, w_every: usize) -> Vec<(i32, [f64; 3], Option<usize>)> {
    let s_sites = [[X, X, X], [-X, -X, X], [-X, X, -X], [X, -X, -X]];
    let na_sites = [
        [0.0, 0.5, 0.5],
        [0.5, 0.0, 0.5],
        [0.5, 0.5, 0.0],
        [0.5, 0.0, 0.0],
        [0.0, 0.5, 0.0],
        [0.0, 0.0, 0.5],
    ];
    let mut atoms = Vec::new();
    let mut centre = 0;
    for i in 0..n {
        for j in 0..n {
            for k in 0..n {
                let o = [i as f64, j as f64, k as f64];
                for c in [[0.0; 3], [0.5; 3]] {
                    let ty = if centre % w_every == w_every - 1 {
                        3
                    } else {
                        2
                    };
                    let p: [f64; 3] = std::array::from_fn(|d| (o[d] + c[d]) * A);
                    atoms.push((ty, p, Some(centre)));
                    for s in s_sites {
                        atoms.push((4, std::array::from_fn(|d| p[d] + s[d] * A), Some(centre)));
                    }
                    centre += 1;
                }
                for s in na_sites {
                    atoms.push((1, std::array::from_fn(|d| (o[d] + s[d]) * A), None));
                }
            }
        }
    }
    atoms
}

/// Rotates each tetrahedron's S about [111] through its centre by angle(centre) degrees.
fn rotate(atoms: &[(i32, [f64; 3], Option<usize>)], angle: &dyn Fn(usize) -> f64) -> Vec<[f64; 3]> {
    let u = [1.0 / 3f64.sqrt(); 3];
    let centres: Vec<[f64; 3]> = atoms
        .iter()
        .filter(|a| a.0 == 2 || a.0 == 3)
        .map(|a| a.1)
        .collect();
    atoms
        .iter()
        .map(|&(ty, p, c)| {
            if ty != 4 {
                return p;
            }
            let c0 = centres[c.unwrap()];
            let v: [f64; 3] = std::array::from_fn(|d| p[d] - c0[d]);
            let t = angle(c.unwrap()).to_radians();
            let (cos, sin) = (t.cos(), t.sin());
            let ud = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
            let cr = [
                u[1] * v[2] - u[2] * v[1],
                u[2] * v[0] - u[0] * v[2],
                u[0] * v[1] - u[1] * v[0],
            ];
            std::array::from_fn(|d| c0[d] + v[d] * cos + cr[d] * sin + u[d] * ud * (1.0 - cos))
        })
        .collect()
}

/// Fractional coordinates in `bx` (wrapped later by the dump writer), shifted by `offset`.
fn in_box(bx: &Box3, pos: &[[f64; 3]], offset: [f64; 3]) -> Vec<[f64; 3]> {
    pos.iter()
        .map(|p| bx.frac_vec(std::array::from_fn(|d| p[d] + offset[d])))
        .collect()
}

fn run(
    case: &str,
    bx: Box3,
    frames: usize,
    angle: &dyn Fn(usize, usize) -> f64,
) -> serde_json::Value {
    let atoms = crystal(3, 5);
    let types: Vec<i32> = atoms.iter().map(|a| a.0).collect();
    let synth: Vec<SynthFrame> = (0..frames)
        .map(|f| SynthFrame {
            timestep: 100 * f as i64,
            bx,
            s: in_box(&bx, &rotate(&atoms, &|c| angle(c, f)), [2.0, -1.3, 3.1]),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join(format!("{case}.dump"));
    write_dump(&dump, &synth, &types, "x", &mut Rng::new(3));
    let json = dir.path().join("out.json");
    common::run_ok(
        Command::new(env!("CARGO_BIN_EXE_allegro-dihedral"))
            .args([
                "--types",
                "1=Na,2=Sb,3=W,4=S",
                "--timestep",
                "0.01",
                "--window",
                "2",
                "--pairs",
                "0,1,2,3,4,5,6,7,8,9",
                "--json",
            ])
            .arg(&json)
            .arg(&dump),
    );
    serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap()
}

fn check_known(v: &serde_json::Value, angle: &dyn Fn(usize, usize) -> f64) {
    // atom ids: centre c is the (5 * index of its block entry)... recover centre index from id
    let atoms = crystal(3, 5);
    let centre_of_id = |id: i64| atoms[(id - 1) as usize].2.unwrap();
    for s in v["series"].as_array().unwrap() {
        let ids = [
            s["atom_ids"][0].as_i64().unwrap(),
            s["atom_ids"][1].as_i64().unwrap(),
        ];
        let (ca, cb) = (centre_of_id(ids[0]), centre_of_id(ids[1]));
        for (f, d) in s["dihedrals_deg"].as_array().unwrap().iter().enumerate() {
            let want = angle(cb, f) - angle(ca, f);
            for k in 0..3 {
                let got = d[k].as_f64().unwrap();
                assert!(
                    (got - want).abs() < 1e-6,
                    "pair {ids:?} frame {f}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn ideal_cubic_is_all_zero() {
    let v = run("cubic", Box3::cubic(3.0 * A), 2, &|_, _| 0.0);
    let types = v["pair_types"].as_object().unwrap();
    assert!(
        types.contains_key("SbS4-SbS4") && types.contains_key("SbS4-WS4"),
        "{types:?}"
    );
    for t in types.values() {
        assert!(
            t["mean_deg"].as_f64().unwrap().abs() < 1e-6 && t["std_deg"].as_f64().unwrap() < 1e-6
        );
    }
    // 54 centres in a 3x3x3 cell, each with one partner along [111]
    let pairs: u64 = types.values().map(|t| t["pairs"].as_u64().unwrap()).sum();
    assert_eq!(pairs, 54);
}

fn tilt(c: usize, f: usize) -> f64 {
    // distinct angle per tetrahedron (-20..20 deg), changing over frames
    ((c * 37) % 41) as f64 - 20.0 + 1.5 * f as f64 * if c.is_multiple_of(2) { 1.0 } else { -1.0 }
}

#[test]
fn rotated_tetrahedra_orthogonal_cell() {
    let v = run("tilted", Box3::cubic(3.0 * A), 4, &tilt);
    check_known(&v, &tilt);
}

#[test]
fn rotated_tetrahedra_triclinic_supercell() {
    // lattice vectors (3,0,0)a, (1,3,0)a, (1,1,3)a: a triclinic cell of the same crystal
    let bx = Box3 {
        lo: [0.0; 3],
        len: [3.0 * A; 3],
        tilt: [A, A, A],
    };
    let v = run("triclinic", bx, 3, &tilt);
    check_known(&v, &tilt);
    let pairs: u64 = v["pair_types"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["pairs"].as_u64().unwrap())
        .sum();
    assert_eq!(pairs, 54);
}

/// allegro-dihedral on the cubic crystal written with the given timesteps: (exit ok, stderr, JSON).
fn run_steps(steps: &[i64], window: &str) -> (bool, String, Option<serde_json::Value>) {
    let atoms = crystal(3, 5);
    let types: Vec<i32> = atoms.iter().map(|a| a.0).collect();
    let bx = Box3::cubic(3.0 * A);
    let synth: Vec<SynthFrame> = steps
        .iter()
        .map(|&timestep| SynthFrame {
            timestep,
            bx,
            s: in_box(&bx, &rotate(&atoms, &|_| 0.0), [0.0; 3]),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("steps.dump");
    write_dump(&dump, &synth, &types, "x", &mut Rng::new(3));
    let json = dir.path().join("out.json");
    let out = Command::new(env!("CARGO_BIN_EXE_allegro-dihedral"))
        .args(["--types", "1=Na,2=Sb,3=W,4=S", "--timestep", "0.01"])
        .args(["--window", window, "--json"])
        .arg(&json)
        .arg(&dump)
        .output()
        .unwrap();
    let v = std::fs::read(&json)
        .ok()
        .map(|b| serde_json::from_slice(&b).unwrap());
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        v,
    )
}

#[test]
fn frames_out_of_time_order_or_uneven_are_refused() {
    for (steps, message) in [
        (vec![0, 200, 100, 300], "timestep 100 follows 200"),
        (vec![0, 100, 100, 200], "timestep 100 follows 100"),
        (vec![0, 100, 300, 400], "evenly spaced"),
    ] {
        let (ok, stderr, json) = run_steps(&steps, "0.5");
        assert!(!ok && json.is_none(), "{steps:?}: {stderr}");
        assert!(
            stderr.contains(message) && stderr.lines().count() == 1,
            "{steps:?}: {stderr}"
        );
    }
    let (ok, stderr, json) = run_steps(&[0, 100, 200, 300], "0.5");
    assert!(ok, "{stderr}");
    assert_eq!(json.unwrap()["warnings"].as_array().unwrap().len(), 0);
}

#[test]
fn window_longer_than_the_run_is_a_warning() {
    // 4 frames 1 ps apart: a 3 ps run
    let (ok, stderr, json) = run_steps(&[0, 100, 200, 300], "5");
    assert!(ok, "{stderr}");
    assert!(stderr.contains("longer than the run (3 ps)"), "{stderr}");
    let w = json.unwrap()["warnings"].clone();
    assert!(w[0].as_str().unwrap().contains("5 ps window"), "{w}");
}
