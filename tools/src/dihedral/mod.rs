//! Dihedral angles between consecutive MX4 tetrahedra along <111> (definition in docs/observables.md).
//!
//! Tetrahedra: each centre (types given) and its 4 nearest ligands (type given), assigned on
//! the first frame and kept (the tetrahedra do not break in these solids). Pairs: each centre A
//! and the centre B of its nearest shell whose direction is closest to the chosen <111>
//! direction (in a cubic or tetragonal cell, one half body diagonal away). Dihedrals: A's three
//! ligands off the A-B axis, each paired with the off-axis ligand of B nearest in azimuth about
//! the axis, give torsions S_A - A - B - S_B (atan2 form, degrees, in (-180, 180]). Aligned
//! (ideal cubic) tetrahedra give 0; rotating B's tetrahedron by t about the axis gives t.
mod analysis;
pub mod signature;

pub use analysis::{
    analyse, mean_histogram, Analysis, DihedralError, PairMean, PairSeries, Pattern, Settings,
    TypeStats,
};
pub use signature::{signature, Signature};

use crate::trajectory::{Cell, Frame};
use allegro::vec3::{cross, dot, norm, sub};

/// Why the first frame holds no usable tetrahedra.
#[derive(Debug, thiserror::Error)]
pub enum GeometryError {
    /// Fewer than two centre atoms (the count).
    #[error("found {0} tetrahedron centres, need at least 2")]
    TooFewCentres(usize),
    /// Fewer than four ligand atoms (the count).
    #[error("found {0} ligand atoms, need at least 4")]
    TooFewLigands(usize),
    /// A centre whose fifth nearest ligand is within 5 % of its fourth.
    #[error("atom id {id}: its 4th and 5th nearest ligands are {fourth:.3} and {fifth:.3} A away: not a tetrahedron")]
    NotTetrahedral {
        /// Atom id of the centre.
        id: i64,
        /// Distance to its 4th nearest ligand, A.
        fourth: f64,
        /// Distance to its 5th nearest ligand, A.
        fifth: f64,
    },
    /// No centre has a neighbour of its nearest shell along (cos > 0.9) a requested direction.
    #[error("no centre has a partner along the requested <111> direction(s)")]
    NoPairs,
}

/// The tetrahedra of a structure and the pairs of them along the chosen directions.
pub struct Tetrahedra {
    /// Atom indices of the centres.
    pub centres: Vec<usize>,
    /// Atom indices of the 4 ligands of each centre.
    pub ligands: Vec<[usize; 4]>,
    /// Pairs (index into centres of A, of B) per direction.
    pub pairs: Vec<Vec<(usize, usize)>>,
    /// The pair directions (Cartesian, not necessarily unit), as given.
    pub directions: Vec<[f64; 3]>,
}

/// Torsion angle p0-p1-p2-p3 in degrees, given the bond vectors b1 = p1-p0, b2 = p2-p1, b3 = p3-p2.
pub fn torsion(b1: [f64; 3], b2: [f64; 3], b3: [f64; 3]) -> f64 {
    let n1 = cross(b1, b2);
    let n2 = cross(b2, b3);
    let u2 = b2.map(|x| x / norm(b2));
    // IUPAC sign: positive when, looking from p1 to p2, the front bond turns clockwise onto the back one
    dot(cross(n1, n2), u2).atan2(dot(n1, n2)).to_degrees()
}

impl Tetrahedra {
    /// Finds tetrahedra and <111> pairs on `frame`. `is_centre` / `is_ligand` select atoms.
    pub fn find(
        frame: &Frame,
        is_centre: &dyn Fn(usize) -> bool,
        is_ligand: &dyn Fn(usize) -> bool,
        directions: Vec<[f64; 3]>,
    ) -> Result<Tetrahedra, GeometryError> {
        let cell = &frame.cell;
        let x = &frame.positions;
        let centres: Vec<usize> = (0..frame.len()).filter(|&i| is_centre(i)).collect();
        let ligand_atoms: Vec<usize> = (0..frame.len()).filter(|&i| is_ligand(i)).collect();
        if centres.len() < 2 {
            return Err(GeometryError::TooFewCentres(centres.len()));
        }
        if ligand_atoms.len() < 4 {
            return Err(GeometryError::TooFewLigands(ligand_atoms.len()));
        }
        let mut ligands = Vec::with_capacity(centres.len());
        for &c in &centres {
            let mut d: Vec<(f64, usize)> = ligand_atoms
                .iter()
                .map(|&l| (norm(cell.minimum_image(sub(x[l], x[c]))), l))
                .collect();
            d.select_nth_unstable_by(3, |a, b| a.0.total_cmp(&b.0));
            let mut four = [d[0], d[1], d[2], d[3]];
            four.sort_by(|a, b| a.0.total_cmp(&b.0));
            // a fifth ligand almost as close means the centre is not tetrahedral
            if let Some(fifth) = d[4..].iter().map(|p| p.0).min_by(f64::total_cmp) {
                if fifth < four[3].0 * 1.05 {
                    return Err(GeometryError::NotTetrahedral {
                        id: frame.ids[c],
                        fourth: four[3].0,
                        fifth,
                    });
                }
            }
            ligands.push(four.map(|p| p.1));
        }
        // nearest centre-centre distance sets the shell in which partners are searched
        let vectors = |i: usize| -> Vec<(usize, [f64; 3])> {
            centres
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(j, &c)| (j, cell.minimum_image(sub(x[c], x[centres[i]]))))
                .collect()
        };
        let mut pairs = vec![Vec::new(); directions.len()];
        for i in 0..centres.len() {
            let v = vectors(i);
            let nearest = v.iter().map(|p| norm(p.1)).fold(f64::MAX, f64::min);
            for (k, dir) in directions.iter().enumerate() {
                let u = dir.map(|c| c / norm(*dir));
                let best = v
                    .iter()
                    .filter(|p| norm(p.1) < nearest * 1.15)
                    .map(|p| (dot(p.1, u) / norm(p.1), p.0))
                    .max_by(|a, b| a.0.total_cmp(&b.0));
                if let Some((cos, j)) = best {
                    if cos > 0.9 {
                        pairs[k].push((i, j));
                    }
                }
            }
        }
        if pairs.iter().all(|p| p.is_empty()) {
            return Err(GeometryError::NoPairs);
        }
        Ok(Tetrahedra {
            centres,
            ligands,
            pairs,
            directions,
        })
    }

    /// The three dihedrals (degrees) of pair `(a, b)` in `frame`, in the order of A's ligands
    /// (fixed over frames, so each of the three is a time series).
    pub fn dihedrals(&self, frame: &Frame, a: usize, b: usize) -> [f64; 3] {
        let cell: &Cell = &frame.cell;
        let x = &frame.positions;
        let (ca, cb) = (self.centres[a], self.centres[b]);
        let axis = cell.minimum_image(sub(x[cb], x[ca]));
        let u = axis.map(|c| c / norm(axis));
        let arms = |centre: usize, ligs: &[usize; 4]| -> Vec<[f64; 3]> {
            let mut v: Vec<[f64; 3]> = ligs
                .iter()
                .map(|&l| cell.minimum_image(sub(x[l], x[centre])))
                .collect();
            // drop the ligand most nearly along the axis (either way)
            let on = (0..4)
                .max_by(|&i, &j| {
                    (dot(v[i], u).abs() / norm(v[i])).total_cmp(&(dot(v[j], u).abs() / norm(v[j])))
                })
                .unwrap();
            v.remove(on);
            v
        };
        let (sa, sb) = (arms(ca, &self.ligands[a]), arms(cb, &self.ligands[b]));
        // azimuth about the axis
        let e1 = {
            let t = if u[0].abs() < 0.9 {
                [1.0, 0.0, 0.0]
            } else {
                [0.0, 1.0, 0.0]
            };
            let p = cross(u, t);
            p.map(|c| c / norm(p))
        };
        let e2 = cross(u, e1);
        let azimuth = |v: [f64; 3]| dot(v, e2).atan2(dot(v, e1));
        let out: Vec<f64> = sa
            .iter()
            .map(|&va| {
                let pa = azimuth(va);
                let vb = *sb
                    .iter()
                    .min_by(|p, q| {
                        let d = |v: &[f64; 3]| {
                            let mut t = azimuth(*v) - pa;
                            t -= (t / std::f64::consts::TAU).round() * std::f64::consts::TAU;
                            t.abs()
                        };
                        d(p).total_cmp(&d(q))
                    })
                    .unwrap();
                // S_A - A - B - S_B with b1 = A - S_A = -va, b2 = axis, b3 = S_B - B = vb
                torsion(va.map(|c| -c), axis, vb)
            })
            .collect();
        [out[0], out[1], out[2]]
    }
}

/// The four <111> directions (body diagonals) of an axis-aligned cubic/tetragonal cell.
pub const BODY_DIAGONALS: [[f64; 3]; 4] = [
    [1.0, 1.0, 1.0],
    [-1.0, 1.0, 1.0],
    [1.0, -1.0, 1.0],
    [1.0, 1.0, -1.0],
];

/// Centred moving average with a window of `w` samples (shorter at the ends).
pub fn moving_average(x: &[f64], w: usize) -> Vec<f64> {
    let h = w / 2;
    (0..x.len())
        .map(|i| {
            let (lo, hi) = (i.saturating_sub(h), (i + h + 1).min(x.len()));
            x[lo..hi].iter().sum::<f64>() / (hi - lo) as f64
        })
        .collect()
}

/// A stretch of time in which a window-averaged dihedral stays away from its long-time mean:
/// the long-lived local deviations of the paper's Fig. 4a.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Excursion {
    /// Which of the three dihedrals of the pair (0, 1, 2).
    pub angle: usize,
    /// Time the stretch starts, ps.
    pub start_ps: f64,
    /// Time the stretch ends, ps.
    pub end_ps: f64,
    /// The window average farthest from the mean inside the stretch, degrees.
    pub peak_deg: f64,
}

/// Stretches where `averaged` (window averages at `time`) differs from `mean` by more than
/// `threshold` degrees for at least `min_duration` ps.
pub fn excursions(
    angle: usize,
    time: &[f64],
    averaged: &[f64],
    mean: f64,
    threshold: f64,
    min_duration: f64,
) -> Vec<Excursion> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for i in 0..=averaged.len() {
        let away = i < averaged.len() && (averaged[i] - mean).abs() > threshold;
        match (away, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let end = i - 1;
                if time[end] - time[s] >= min_duration {
                    let peak = averaged[s..=end].iter().cloned().fold(mean, |a, b| {
                        if (b - mean).abs() > (a - mean).abs() {
                            b
                        } else {
                            a
                        }
                    });
                    out.push(Excursion {
                        angle,
                        start_ps: time[s],
                        end_ps: time[end],
                        peak_deg: peak,
                    });
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_excursion_is_found_and_a_short_one_is_not() {
        let time: Vec<f64> = (0..1000).map(|k| k as f64 * 0.02).collect();
        let avg: Vec<f64> = time
            .iter()
            .map(|&t| {
                if (5.0..9.0).contains(&t) {
                    25.0
                } else if (12.0..12.5).contains(&t) {
                    -30.0
                } else {
                    1.0
                }
            })
            .collect();
        let found = excursions(1, &time, &avg, 0.0, 10.0, 2.0);
        assert_eq!(found.len(), 1);
        let e = &found[0];
        assert_eq!((e.angle, e.peak_deg), (1, 25.0));
        assert!(
            (e.start_ps - 5.0).abs() < 0.03 && (e.end_ps - 8.98).abs() < 0.03,
            "{e:?}"
        );
    }

    #[test]
    fn torsion_of_known_geometry() {
        // p0 = (1,0,0), p1 = 0, p2 = (0,0,1), p3 = (cos t, sin t, 1): torsion t
        for t in [-150.0f64, -30.0, 0.0, 45.0, 120.0] {
            let r = t.to_radians();
            let got = torsion([-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [r.cos(), r.sin(), 0.0]);
            assert!((got - t).abs() < 1e-9, "{got} vs {t}");
        }
    }
}
