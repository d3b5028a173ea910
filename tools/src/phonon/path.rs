//! High-symmetry points and band paths. q is given in reciprocal coordinates of the unit cell
//! (the conventional cell for centred lattices), so H = (0, 0, 1) for body-centred cubic.
use super::error::Result;
use serde::Serialize;

use super::crystal::{Crystal, Primitive};
use super::dynamical::Dynamical;
use super::linalg::norm;

/// A labelled point of a band path.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    /// Its label (GAMMA, H, N ...).
    pub label: String,
    /// Reciprocal coordinates of the unit cell.
    pub q: [f64; 3],
}

fn point(label: &str, q: [f64; 3]) -> Point {
    Point {
        label: label.into(),
        q,
    }
}

/// Bravais lattices the default paths know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Lattice {
    /// Simple cubic.
    CubicP,
    /// Body-centred cubic.
    CubicI,
    /// Face-centred cubic.
    CubicF,
    /// Simple tetragonal.
    TetragonalP,
}

impl Lattice {
    /// Its name in words ("body-centred cubic").
    pub fn name(self) -> &'static str {
        match self {
            Lattice::CubicP => "simple cubic",
            Lattice::CubicI => "body-centred cubic",
            Lattice::CubicF => "face-centred cubic",
            Lattice::TetragonalP => "simple tetragonal",
        }
    }

    /// The default path through the special points.
    pub fn path(self) -> Vec<Point> {
        let g = point("GAMMA", [0.0; 3]);
        match self {
            Lattice::CubicP => vec![
                g.clone(),
                point("X", [0.0, 0.5, 0.0]),
                point("M", [0.5, 0.5, 0.0]),
                g,
                point("R", [0.5; 3]),
                point("X", [0.0, 0.5, 0.0]),
            ],
            Lattice::CubicI => vec![
                g.clone(),
                point("H", [0.0, 0.0, 1.0]),
                point("N", [0.5, 0.5, 0.0]),
                g,
                point("P", [0.5; 3]),
                point("H", [0.0, 0.0, 1.0]),
            ],
            Lattice::CubicF => vec![
                g.clone(),
                point("X", [0.0, 1.0, 0.0]),
                point("W", [0.5, 1.0, 0.0]),
                point("K", [0.75, 0.75, 0.0]),
                g,
                point("L", [0.5; 3]),
            ],
            Lattice::TetragonalP => vec![
                g.clone(),
                point("X", [0.0, 0.5, 0.0]),
                point("M", [0.5, 0.5, 0.0]),
                g,
                point("Z", [0.0, 0.0, 0.5]),
                point("R", [0.0, 0.5, 0.5]),
                point("A", [0.5; 3]),
                point("Z", [0.0, 0.0, 0.5]),
            ],
        }
    }
}

/// The lattice type of an orthogonal unit cell from its lengths and pure translations; None
/// when no default path applies (then a path must be given).
pub fn lattice_of(unit: &Crystal, primitive: &Primitive) -> Option<Lattice> {
    let c = &unit.cell;
    let len = [norm(c[0]), norm(c[1]), norm(c[2])];
    let close = |a: f64, b: f64| (a - b).abs() < 1e-3 * a.max(b);
    let orthogonal = (0..3).all(|i| (0..3).all(|d| d == i || c[i][d].abs() < 1e-6 * len[i]));
    if !orthogonal {
        return None;
    }
    let has = |t: [f64; 3]| {
        primitive.translations.iter().any(|u| {
            (0..3).all(|k| {
                let d = (u[k] - t[k]).abs();
                d.min(1.0 - d) < 1e-4
            })
        })
    };
    let nt = primitive.translations.len();
    let centring = if nt == 1 {
        'P'
    } else if nt == 2 && has([0.5; 3]) {
        'I'
    } else if nt == 4 && has([0.0, 0.5, 0.5]) && has([0.5, 0.0, 0.5]) && has([0.5, 0.5, 0.0]) {
        'F'
    } else {
        return None;
    };
    let cubic = close(len[0], len[1]) && close(len[1], len[2]);
    let tetragonal = close(len[0], len[1]) && !close(len[1], len[2]);
    match (cubic, tetragonal, centring) {
        (true, _, 'P') => Some(Lattice::CubicP),
        (true, _, 'I') => Some(Lattice::CubicI),
        (true, _, 'F') => Some(Lattice::CubicF),
        (_, true, 'P') => Some(Lattice::TetragonalP),
        _ => None,
    }
}

/// Parses "GAMMA 0 0 0, H 0 0 1, N 0.5 0.5 0": labelled points in reciprocal coordinates of
/// the unit cell, joined by straight segments.
pub fn parse_path(text: &str) -> Result<Vec<Point>> {
    let mut points = Vec::new();
    for part in text.split(',') {
        let words: Vec<&str> = part.split_whitespace().collect();
        check!(Path;
            words.len() == 4,
            "path point '{}' is not LABEL QX QY QZ (e.g. 'GAMMA 0 0 0, H 0 0 1')",
            part.trim()
        );
        let mut q = [0.0; 3];
        for k in 0..3 {
            q[k] = words[k + 1]
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    super::PhononError::Path(format!(
                        "path point '{}': '{}' is not a number",
                        part.trim(),
                        words[k + 1]
                    ))
                })?;
        }
        points.push(point(words[0], q));
    }
    if points.len() < 2 {
        fail!(Path; "a path needs at least two points");
    }
    Ok(points)
}

/// Phonon frequencies along a band path.
#[derive(Clone, Debug, Serialize)]
pub struct Band {
    /// Distance along the path, 1/A (no 2 pi, as phonopy).
    pub distance: Vec<f64>,
    /// The q points, in reciprocal coordinates of the unit cell.
    pub q: Vec<[f64; 3]>,
    /// Frequencies per q point (THz, imaginary negative), ascending.
    pub frequencies_thz: Vec<Vec<f64>>,
    /// Distance and label of every path point.
    pub ticks: Vec<(f64, String)>,
}

/// Frequencies along the path, about `density` q points per 1/A (at least 10 per segment).
pub fn band(dynamical: &Dynamical, path: &[Point], density: f64) -> Band {
    use rayon::prelude::*;
    let mut q = Vec::new();
    let mut distance = Vec::new();
    let mut ticks = vec![(0.0, path[0].label.clone())];
    let mut at = 0.0;
    for (k, w) in path.windows(2).enumerate() {
        let (a, b) = (w[0].q, w[1].q);
        let ca = dynamical.cartesian_q(a);
        let cb = dynamical.cartesian_q(b);
        let length = norm(std::array::from_fn(|d| cb[d] - ca[d]));
        let steps = ((length * density).ceil() as usize).max(10);
        for s in 0..=steps {
            if s == 0 && k > 0 {
                continue;
            }
            let t = s as f64 / steps as f64;
            q.push(std::array::from_fn(|d| a[d] + t * (b[d] - a[d])));
            distance.push(at + t * length);
        }
        at += length;
        ticks.push((at, w[1].label.clone()));
    }
    let frequencies_thz = q.par_iter().map(|&q| dynamical.frequencies(q)).collect();
    Band {
        distance,
        q,
        frequencies_thz,
        ticks,
    }
}
