//! Phonons of a harmonic crystal solved by hand: body-centred cubic atoms joined to their 8
//! nearest neighbours by central springs, V = k/2 sum_bonds ((u_j - u_i) . n_ij)^2, which is
//! exactly quadratic in the positions, so finite differences are exact to rounding and
//! D(q) = (k/m) sum_delta n n^T (1 - cos(2 pi q . delta)) holds at every q.
use std::collections::HashMap;

use allegro_tools::phonon::crystal::Crystal;
use allegro_tools::phonon::{self, path, ForceModel};

const A: f64 = 3.0;
const K: f64 = 1.5;
const M: f64 = 2.0;

struct Springs;

fn deltas() -> Vec<[f64; 3]> {
    let mut out = Vec::new();
    for sx in [-1.0, 1.0] {
        for sy in [-1.0, 1.0] {
            for sz in [-1.0, 1.0] {
                out.push([sx * A / 2.0, sy * A / 2.0, sz * A / 2.0]);
            }
        }
    }
    out
}

impl ForceModel for Springs {
    fn evaluate(&mut self, c: &Crystal) -> allegro_tools::phonon::Result<(f64, Vec<[f64; 3]>)> {
        // Each atom's ideal site: positions rounded to the a/2 grid (displacements are small).
        let h = A / 2.0;
        let dims: [i64; 3] = std::array::from_fn(|d| (c.cell[d][d] / h).round() as i64);
        let site: Vec<[i64; 3]> = c
            .positions
            .iter()
            .map(|p| std::array::from_fn(|d| (p[d] / h).round() as i64))
            .collect();
        let index: HashMap<[i64; 3], usize> = site
            .iter()
            .enumerate()
            .map(|(i, s)| (std::array::from_fn(|d| s[d].rem_euclid(dims[d])), i))
            .collect();
        let u: Vec<[f64; 3]> = (0..c.len())
            .map(|i| std::array::from_fn(|d| c.positions[i][d] - site[i][d] as f64 * h))
            .collect();
        let mut f = vec![[0.0; 3]; c.len()];
        let mut e = 0.0;
        for i in 0..c.len() {
            for delta in deltas() {
                let key: [i64; 3] = std::array::from_fn(|d| {
                    (site[i][d] + (delta[d] / h).round() as i64).rem_euclid(dims[d])
                });
                let j = index[&key];
                let n = delta.map(|v| v / (3f64.sqrt() * h));
                let stretch: f64 = (0..3).map(|d| (u[j][d] - u[i][d]) * n[d]).sum();
                e += 0.25 * K * stretch * stretch; // every bond is seen from both ends
                for d in 0..3 {
                    f[i][d] += K * stretch * n[d];
                }
            }
        }
        Ok((e, f))
    }
}

fn bcc() -> Crystal {
    Crystal {
        cell: [[A, 0.0, 0.0], [0.0, A, 0.0], [0.0, 0.0, A]],
        positions: vec![[0.0; 3], [A / 2.0; 3]],
        symbols: vec!["X".into(); 2],
        masses: vec![M; 2],
    }
}

fn analytic(q: [f64; 3]) -> [[f64; 3]; 3] {
    let qc = q.map(|v| v / A);
    let mut d = [[0.0; 3]; 3];
    for delta in deltas() {
        let n = delta.map(|v| v / (A * 3f64.sqrt() / 2.0));
        let w = 1.0
            - (2.0 * std::f64::consts::PI * (0..3).map(|k| qc[k] * delta[k]).sum::<f64>()).cos();
        for x in 0..3 {
            for y in 0..3 {
                d[x][y] += K / M * n[x] * n[y] * w;
            }
        }
    }
    d
}

fn det3(m: [[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

fn options() -> phonon::Settings {
    phonon::Settings {
        supercell: [2, 2, 2],
        displacement: 0.02,
        path: None,
        density: 100.0,
        dos_mesh: 6,
        dos_sigma: 0.1,
        soft_mode: None,
        soft_max_displacement: 0.2,
        soft_points: 9,
        tetrahedra: None,
    }
}

#[test]
fn body_centred_springs_match_the_analytic_dispersion() {
    let unit = bcc();
    let report = phonon::analyse(&unit, &options(), 0.0, &mut Springs, &mut |_, _| {}).unwrap();
    assert_eq!(report.atoms_primitive_cell, 1);
    assert_eq!(report.lattice.as_deref(), Some("body-centred cubic"));
    let labels: Vec<&str> = report
        .special_points
        .iter()
        .map(|p| p.label.as_str())
        .collect();
    assert_eq!(labels, ["GAMMA", "H", "N", "P"]);
    // Closed forms (omega^2 in units of k/m): H 16/3 (x3), N {0, 8/3, 16/3}, P 8/3 (x3).
    let scale = K / M;
    let expect: [(&str, [f64; 3]); 4] = [
        ("GAMMA", [0.0; 3]),
        ("H", [16.0 / 3.0; 3]),
        ("N", [0.0, 8.0 / 3.0, 16.0 / 3.0]),
        ("P", [8.0 / 3.0; 3]),
    ];
    for (label, w2) in expect {
        let p = report
            .special_points
            .iter()
            .find(|p| p.label == label)
            .unwrap();
        for (f, w2) in p.frequencies_thz.iter().zip(w2) {
            let want = (w2 * scale).sqrt() * phonon::dynamical::THZ;
            assert!((f - want).abs() < 1e-6, "{label}: {f} THz, analytic {want}");
        }
    }
    // Every point of the path: the computed omega^2 are roots of the analytic secular
    // equation and sum to its trace.
    let mut checked = 0;
    for (q, f) in report.band.q.iter().zip(&report.band.frequencies_thz) {
        let d = analytic(*q);
        let w2: Vec<f64> = f
            .iter()
            .map(|f| f.signum() * (f / phonon::dynamical::THZ).powi(2))
            .collect();
        let trace = d[0][0] + d[1][1] + d[2][2];
        assert!(
            (w2.iter().sum::<f64>() - trace).abs() < 1e-9 * scale,
            "trace at {q:?}"
        );
        for l in &w2 {
            let mut m = d;
            for (k, row) in m.iter_mut().enumerate() {
                row[k] -= l;
            }
            assert!(
                det3(m).abs() < 1e-9 * scale.powi(3),
                "det(D - w2) at {q:?}: {}",
                det3(m)
            );
        }
        checked += 1;
    }
    assert!(checked > 50, "{checked} path points");
    assert!(report.sum_rule_violation_ev_per_a2 < 1e-9);
    // DOS integrates to 3 states per primitive cell.
    let step = report.dos.frequency_thz[1] - report.dos.frequency_thz[0];
    let total: f64 = report.dos.states_per_thz.iter().sum::<f64>() * step;
    assert!((total - 3.0).abs() < 1e-3, "DOS integrates to {total}");
}

#[test]
fn frozen_mode_energy_is_the_harmonic_parabola() {
    let unit = bcc();
    let mut opts = options();
    opts.soft_mode = Some("H".into());
    let report = phonon::analyse(&unit, &opts, 0.0, &mut Springs, &mut |_, _| {}).unwrap();
    let s = report.soft_mode.unwrap();
    let w2 = 16.0 / 3.0 * K / M;
    for ((q, e), h) in s.amplitude.iter().zip(&s.energy_mev).zip(&s.harmonic_mev) {
        let want = 500.0 * w2 * q * q;
        assert!(
            (e - want).abs() < 1e-9 * want.max(1.0),
            "E({q}) = {e}, analytic {want}"
        );
        assert!((h - want).abs() < 1e-9 * want.max(1.0));
    }
    assert!(s.minimum_amplitude.abs() < 1e-9 && s.minimum_energy_mev.abs() < 1e-9);
    // Largest displacement of the scan as asked.
    let largest = s
        .pattern
        .iter()
        .map(|v| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt())
        .fold(0.0, f64::max);
    assert!((largest * s.amplitude.last().unwrap() - 0.2).abs() < 1e-12);
}

#[test]
fn a_user_path_and_a_thin_supercell() {
    let unit = bcc();
    let mut opts = options();
    opts.path = Some(path::parse_path("G 0 0 0, X 0 0 0.5").unwrap());
    let report = phonon::analyse(&unit, &opts, 0.0, &mut Springs, &mut |_, _| {}).unwrap();
    let x = report
        .special_points
        .iter()
        .find(|p| p.label == "X")
        .unwrap();
    // (0 0 1/2): omega^2 = (8/3)(k/m)(1 - cos(pi/2)), three-fold.
    let want = (8.0 / 3.0 * K / M).sqrt() * phonon::dynamical::THZ;
    for f in &x.frequencies_thz {
        assert!((f - want).abs() < 1e-6);
    }
    let err = phonon::analyse(&unit, &opts, 7.0, &mut Springs, &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("6.00 A wide") && err.contains("--supercell"),
        "{err}"
    );
    assert!(path::parse_path("G 0 0").is_err());
    assert!(path::parse_path("G 0 0 x, H 0 0 1")
        .unwrap_err()
        .to_string()
        .contains("'x'"));
}
