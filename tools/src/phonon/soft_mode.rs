//! A mode frozen into the unit cell: E(Q) along its eigenvector (a double well when the mode
//! is imaginary) and the distortion at the minimum, described as per-element displacements and
//! rotations of coordination tetrahedra.
use std::collections::BTreeMap;

use super::error::Result;
use serde::Serialize;

use super::crystal::Crystal;
use super::dynamical::{to_thz, Dynamical};
use super::force_constants::{ForceConstants, ForceModel};
use super::linalg::{cross, dot, norm, reciprocal, to_fractional, Mat3};

/// Frequencies closer than this are one degenerate level, THz.
const DEGENERATE_THZ: f64 = 0.01;

/// A displacement pattern described by element and by tetrahedron rotation.
#[derive(Clone, Debug, Serialize)]
pub struct Distortion {
    /// Root-mean-square displacement of each element's atoms along x, y, z, A.
    pub displacement_rms_a: BTreeMap<String, [f64; 3]>,
    /// Rotation of each coordination tetrahedron (centre element, ligand element) as a
    /// rotation vector, degrees (small-angle fit of the ligands' displacements).
    pub tetrahedron_rotations_deg: Vec<[f64; 3]>,
    /// Mean rotation angle of the tetrahedra, degrees.
    pub mean_rotation_deg: f64,
}

/// A frozen-in mode: its pattern, its energy surface E(Q) and the distortion at the minimum.
#[derive(Clone, Debug, Serialize)]
pub struct SoftMode {
    /// Label of the path point.
    pub label: String,
    /// Reciprocal coordinates of the unit cell.
    pub q: [f64; 3],
    /// Frequency of the mode, THz (imaginary negative).
    pub frequency_thz: f64,
    /// Displacement of every unit-cell atom per unit of Q (A per A amu^1/2); the pattern is
    /// normalised so that sum_i m_i |pattern_i|^2 = 1 amu.
    pub pattern: Vec<[f64; 3]>,
    /// Mode amplitude Q, A amu^1/2.
    pub amplitude: Vec<f64>,
    /// E(Q) - E(0) of the unit cell, meV.
    pub energy_mev: Vec<f64>,
    /// The harmonic expectation omega^2 Q^2 / 2, meV.
    pub harmonic_mev: Vec<f64>,
    /// Amplitude, energy (meV per unit cell) and largest atomic displacement (A) at the lowest
    /// point of E(Q) (refined by a parabola through its neighbours).
    pub minimum_amplitude: f64,
    /// E(Q) - E(0) at the minimum, meV per unit cell.
    pub minimum_energy_mev: f64,
    /// Largest atomic displacement at the minimum, A.
    pub minimum_max_displacement_a: f64,
    /// The distortion the mode makes at the minimum.
    pub distortion_at_minimum: Distortion,
}

/// The pattern of the lowest mode at q (integer in unit-cell reciprocal coordinates, so it is
/// commensurate with the unit cell).
pub fn pattern(
    fc: &ForceConstants,
    dynamical: &Dynamical,
    q: [f64; 3],
) -> Result<(f64, Vec<[f64; 3]>)> {
    check!(Settings;
        q.iter().all(|v| (v - v.round()).abs() < 1e-6),
        "q = {} {} {} is not commensurate with the unit cell (it needs integer reciprocal coordinates)",
        q[0],
        q[1],
        q[2]
    );
    let modes = dynamical.modes(q);
    let qc = dynamical.cartesian_q(q);
    let unit = &fc.unit;
    // Real displacement patterns spanning the lowest (possibly degenerate) level: real and
    // imaginary parts of e_b exp(2 pi i q.r) / sqrt(m) for each partner.
    let level = modes.frequencies[0];
    let mut real: Vec<Vec<[f64; 3]>> = Vec::new();
    for (k, e) in modes.vectors.iter().enumerate() {
        if (modes.frequencies[k] - level).abs() > DEGENERATE_THZ {
            break;
        }
        let mut re = Vec::with_capacity(unit.len());
        let mut im = Vec::with_capacity(unit.len());
        for i in 0..unit.len() {
            let b = fc.primitive.class[i];
            let phase = 2.0 * std::f64::consts::PI * dot(qc, unit.positions[i]);
            let (c, s) = (phase.cos(), phase.sin());
            let m = unit.masses[i].sqrt();
            re.push(std::array::from_fn(|x| {
                let (a, b) = e[3 * b + x];
                (a * c - b * s) / m
            }));
            im.push(std::array::from_fn(|x| {
                let (a, b) = e[3 * b + x];
                (a * s + b * c) / m
            }));
        }
        real.push(re);
        real.push(im);
    }
    // Mass-weighted orthonormal basis of that real space.
    let inner = |u: &[[f64; 3]], v: &[[f64; 3]]| -> f64 {
        u.iter()
            .zip(v)
            .zip(&unit.masses)
            .map(|((a, b), m)| m * dot(*a, *b))
            .sum()
    };
    let mut basis: Vec<Vec<[f64; 3]>> = Vec::new();
    for mut v in real {
        for b in &basis {
            let p = inner(&v, b);
            for (x, y) in v.iter_mut().zip(b) {
                for d in 0..3 {
                    x[d] -= p * y[d];
                }
            }
        }
        let n = inner(&v, &v).sqrt();
        if n > 1e-4 {
            basis.push(v.into_iter().map(|x| x.map(|c| c / n)).collect());
        }
    }
    check!(Settings;
        !basis.is_empty(),
        "the mode at q = {} {} {} does not move the unit cell's atoms",
        q[0],
        q[1],
        q[2]
    );
    // Among degenerate partners, the one polarised most along the largest component of q
    // (for H = 0 0 1: the Na shuffle along [001] that makes the tetragonal phase).
    let axis = (0..3)
        .max_by(|&i, &j| qc[i].abs().total_cmp(&qc[j].abs()))
        .unwrap_or(2);
    let g = basis.len();
    let mut m = vec![0.0; g * g];
    for k in 0..g {
        for l in 0..g {
            m[k * g + l] = (0..unit.len())
                .map(|i| unit.masses[i] * basis[k][i][axis] * basis[l][i][axis])
                .sum();
        }
    }
    let (values, vectors) = super::linalg::symmetric_eigen(g, m);
    let top = (0..g)
        .max_by(|&i, &j| values[i].total_cmp(&values[j]))
        .unwrap();
    let mut p: Vec<[f64; 3]> = (0..unit.len())
        .map(|i| {
            std::array::from_fn(|d| (0..g).map(|k| vectors[k * g + top] * basis[k][i][d]).sum())
        })
        .collect();
    let n2 = inner(&p, &p);
    for v in &mut p {
        *v = v.map(|x| x / n2.sqrt());
    }
    // A sign convention: the largest component positive.
    let big = p
        .iter()
        .flatten()
        .cloned()
        .fold(0.0, |a: f64, b| if b.abs() > a.abs() { b } else { a });
    if big < 0.0 {
        for v in &mut p {
            *v = v.map(|x| -x);
        }
    }
    Ok((modes.eigenvalues[0], p))
}

/// What to scan: the lowest mode at the path point `label` (q), up to the amplitude that moves
/// some atom by `max_displacement` A, in `points` steps.
#[derive(Clone, Debug)]
pub struct Scan<'a> {
    /// Label of the path point.
    pub label: &'a str,
    /// The point, in reciprocal coordinates of the unit cell.
    pub q: [f64; 3],
    /// Largest atomic displacement at either end of the scan (Q from -Q_max to Q_max), A.
    pub max_displacement: f64,
    /// Number of amplitudes scanned (at least 5).
    pub points: usize,
    /// (centre, ligand) elements of the tetrahedra whose rotations describe the distortion.
    pub tetrahedra: Option<(&'a str, &'a str)>,
}

/// Freezes the lowest mode into the unit cell and scans E(Q).
pub fn scan(
    fc: &ForceConstants,
    dynamical: &Dynamical,
    scan: &Scan<'_>,
    model: &mut dyn ForceModel,
) -> Result<SoftMode> {
    let Scan {
        label,
        q,
        max_displacement,
        points,
        tetrahedra,
    } = *scan;
    check!(Settings; points >= 5, "the E(Q) scan needs at least 5 points");
    let (eigenvalue, pattern) = pattern(fc, dynamical, q)?;
    let unit = &fc.unit;
    let largest = pattern.iter().map(|v| norm(*v)).fold(0.0, f64::max);
    let q_max = max_displacement / largest;
    let amplitude: Vec<f64> = (0..points)
        .map(|k| -q_max + 2.0 * q_max * k as f64 / (points - 1) as f64)
        .collect();
    let displaced = |a: f64| {
        let mut c = unit.clone();
        for (x, v) in c.positions.iter_mut().zip(&pattern) {
            for d in 0..3 {
                x[d] += a * v[d];
            }
        }
        c
    };
    let (e0, _) = model.evaluate(unit)?;
    let mut energy_mev = Vec::with_capacity(points);
    for &a in &amplitude {
        energy_mev.push((model.evaluate(&displaced(a))?.0 - e0) * 1000.0);
    }
    let harmonic_mev = amplitude
        .iter()
        .map(|a| 500.0 * eigenvalue * a * a)
        .collect();
    let k = (0..points)
        .min_by(|&i, &j| energy_mev[i].total_cmp(&energy_mev[j]))
        .unwrap();
    let (mut q_min, mut e_min) = (amplitude[k], energy_mev[k]);
    if k > 0 && k + 1 < points {
        let (y0, y1, y2) = (energy_mev[k - 1], energy_mev[k], energy_mev[k + 1]);
        let h = amplitude[1] - amplitude[0];
        let curvature = y0 - 2.0 * y1 + y2;
        if curvature > 0.0 {
            let shift = 0.5 * (y0 - y2) / curvature;
            q_min += shift * h;
            e_min = y1 - 0.25 * (y0 - y2) * shift;
        }
    }
    let at_min = displaced(q_min);
    Ok(SoftMode {
        label: label.into(),
        q,
        frequency_thz: to_thz(eigenvalue),
        minimum_max_displacement_a: largest * q_min.abs(),
        distortion_at_minimum: distortion(unit, &at_min.positions, tetrahedra),
        pattern,
        amplitude,
        energy_mev,
        harmonic_mev,
        minimum_amplitude: q_min,
        minimum_energy_mev: e_min,
    })
}

/// Describes `positions` as a distortion of `reference` (same atoms, same order).
pub fn distortion(
    reference: &Crystal,
    positions: &[[f64; 3]],
    tetrahedra: Option<(&str, &str)>,
) -> Distortion {
    let u: Vec<[f64; 3]> = reference
        .positions
        .iter()
        .zip(positions)
        .map(|(a, b)| std::array::from_fn(|d| b[d] - a[d]))
        .collect();
    let mut sums: BTreeMap<String, ([f64; 3], usize)> = BTreeMap::new();
    for (i, s) in reference.symbols.iter().enumerate() {
        let e = sums.entry(s.clone()).or_insert(([0.0; 3], 0));
        for d in 0..3 {
            e.0[d] += u[i][d] * u[i][d];
        }
        e.1 += 1;
    }
    let displacement_rms_a = sums
        .into_iter()
        .map(|(s, (sum, n))| (s, sum.map(|v| (v / n as f64).sqrt())))
        .collect();
    let mut rotations = Vec::new();
    if let Some((centre, ligand)) = tetrahedra {
        for (c, r) in tetrahedron_bonds(reference, centre, ligand) {
            // Small rotation w: u_k - u_c = w x r_k, so sum r x du = (sum |r|^2 I - r r^T) w.
            let mut t = [[0.0; 3]; 3];
            let mut rhs = [0.0; 3];
            for (k, bond) in &r {
                let du: [f64; 3] = std::array::from_fn(|d| u[*k][d] - u[c][d]);
                let x = cross(*bond, du);
                let b2 = dot(*bond, *bond);
                for i in 0..3 {
                    rhs[i] += x[i];
                    for j in 0..3 {
                        t[i][j] += if i == j { b2 } else { 0.0 } - bond[i] * bond[j];
                    }
                }
            }
            let w = solve3(&t, rhs);
            rotations.push(w.map(|v| v.to_degrees()));
        }
    }
    let mean_rotation_deg = if rotations.is_empty() {
        0.0
    } else {
        rotations.iter().map(|w| norm(*w)).sum::<f64>() / rotations.len() as f64
    };
    Distortion {
        displacement_rms_a,
        tetrahedron_rotations_deg: rotations,
        mean_rotation_deg,
    }
}

/// A centre atom and its four ligands (index, bond vector).
type Tetrahedron = (usize, Vec<(usize, [f64; 3])>);

/// For each atom of element `centre`, its four nearest `ligand` atoms (index, bond vector).
fn tetrahedron_bonds(c: &Crystal, centre: &str, ligand: &str) -> Vec<Tetrahedron> {
    let recip = reciprocal(&c.cell);
    let mut out = Vec::new();
    for i in (0..c.len()).filter(|&i| c.symbols[i] == centre) {
        let mut bonds: Vec<(usize, [f64; 3])> = (0..c.len())
            .filter(|&k| c.symbols[k] == ligand)
            .map(|k| {
                let d: [f64; 3] = std::array::from_fn(|x| c.positions[k][x] - c.positions[i][x]);
                let f = to_fractional(&recip, d).map(|v| v - v.round());
                (k, super::linalg::to_cartesian(&c.cell, f))
            })
            .collect();
        bonds.sort_by(|a, b| norm(a.1).total_cmp(&norm(b.1)));
        bonds.truncate(4);
        if bonds.len() == 4 {
            out.push((i, bonds));
        }
    }
    out
}

fn solve3(m: &Mat3, b: [f64; 3]) -> [f64; 3] {
    let d = super::linalg::det(m);
    if d.abs() < 1e-12 {
        return [0.0; 3];
    }
    std::array::from_fn(|k| {
        let mut mk = *m;
        for r in 0..3 {
            mk[r][k] = b[r];
        }
        super::linalg::det(&mk) / d
    })
}

/// How the tetragonal phase of Na3SbS4 (the builder's P-421c cell) differs from a 16-atom cubic
/// Na3SbS4 cell: its distortion and its overlap with a mode pattern.
#[derive(Clone, Debug, Serialize)]
pub struct TetragonalComparison {
    /// c/a of the tetragonal cell (the frozen-mode scan keeps the cubic cell: c/a = 1).
    pub c_over_a: f64,
    /// Axis (0 x, 1 y, 2 z) of the tetragonal c that overlaps the mode best.
    pub c_axis: usize,
    /// The tetragonal cell's distortion from the cubic one.
    pub distortion: Distortion,
    /// |cos| of the angle between the mass-weighted mode pattern and the tetragonal distortion.
    pub overlap: f64,
}

/// None unless `unit` is a 16-atom cubic Na3SbS4 cell.
pub fn compare_tetragonal(unit: &Crystal, pattern: &[[f64; 3]]) -> Option<TetragonalComparison> {
    use crate::structure::{tetragonal, TETRAGONAL_A, TETRAGONAL_C};
    let count = |e: &str| unit.symbols.iter().filter(|s| *s == e).count();
    let a = unit.cell[0][0];
    let cubic = (0..3)
        .all(|i| (0..3).all(|d| (unit.cell[i][d] - if i == d { a } else { 0.0 }).abs() < 1e-3));
    if unit.len() != 16 || count("Na") != 6 || count("Sb") != 2 || count("S") != 8 || !cubic {
        return None;
    }
    let tet = tetragonal(TETRAGONAL_A, TETRAGONAL_C);
    let mut best: Option<TetragonalComparison> = None;
    for axis in 0..3 {
        // Tetragonal fractional coordinates with c along `axis` (cyclic permutation).
        let frac: Vec<[f64; 3]> = tet
            .positions
            .iter()
            .map(|p| {
                let f = [
                    p[0] / TETRAGONAL_A,
                    p[1] / TETRAGONAL_A,
                    p[2] / TETRAGONAL_C,
                ];
                std::array::from_fn(|d| f[(d + 2 + 3 - axis) % 3])
            })
            .collect();
        let mut u = Vec::with_capacity(16);
        let mut used = [false; 16];
        for i in 0..16 {
            let fi = unit.positions[i].map(|x| x / a);
            let mut choice: Option<(usize, [f64; 3], f64)> = None;
            for (k, fk) in frac.iter().enumerate() {
                if used[k] || tet.elements[k].symbol() != unit.symbols[i] {
                    continue;
                }
                let d: [f64; 3] = std::array::from_fn(|x| {
                    let v = fk[x] - fi[x];
                    (v - v.round()) * a
                });
                if choice.is_none_or(|c| norm(d) < c.2) {
                    choice = Some((k, d, norm(d)));
                }
            }
            let (k, d, _) = choice?;
            used[k] = true;
            u.push(d);
        }
        // Remove a rigid shift (the two cells' origins may differ).
        let mtot: f64 = unit.masses.iter().sum();
        let shift: [f64; 3] = std::array::from_fn(|d| {
            u.iter()
                .zip(&unit.masses)
                .map(|(v, m)| v[d] * m)
                .sum::<f64>()
                / mtot
        });
        for v in &mut u {
            for d in 0..3 {
                v[d] -= shift[d];
            }
        }
        let (mut pu, mut uu, mut pp) = (0.0, 0.0, 0.0);
        for i in 0..16 {
            let m = unit.masses[i];
            pu += m * dot(pattern[i], u[i]);
            uu += m * dot(u[i], u[i]);
            pp += m * dot(pattern[i], pattern[i]);
        }
        let overlap = (pu / (uu * pp).sqrt()).abs();
        if best.as_ref().is_none_or(|b| overlap > b.overlap) {
            let moved: Vec<[f64; 3]> = unit
                .positions
                .iter()
                .zip(&u)
                .map(|(p, v)| std::array::from_fn(|d| p[d] + v[d]))
                .collect();
            best = Some(TetragonalComparison {
                c_over_a: TETRAGONAL_C / TETRAGONAL_A,
                c_axis: axis,
                distortion: distortion(unit, &moved, Some(("Sb", "S"))),
                overlap,
            });
        }
    }
    best
}
