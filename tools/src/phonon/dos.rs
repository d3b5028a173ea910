//! Phonon density of states on a Gamma-centred mesh of the primitive cell, Gaussian smearing.
use serde::Serialize;

use super::dynamical::Dynamical;
use super::linalg::{reciprocal, to_cartesian, Mat3};

/// A phonon density of states on a grid of frequencies.
#[derive(Clone, Debug, Serialize)]
pub struct Dos {
    /// q points per reciprocal axis of the primitive cell (m for an m x m x m mesh).
    pub mesh: usize,
    /// Gaussian smearing width, THz.
    pub sigma_thz: f64,
    /// The frequency grid, THz.
    pub frequency_thz: Vec<f64>,
    /// States per THz per primitive cell (integrates to 3 x atoms).
    pub states_per_thz: Vec<f64>,
}

/// DOS on an m x m x m mesh of the primitive cell, smeared by sigma (THz).
pub fn dos(
    dynamical: &Dynamical,
    primitive_cell: &Mat3,
    unit_cell: &Mat3,
    m: usize,
    sigma: f64,
) -> Dos {
    use rayon::prelude::*;
    let recip = reciprocal(primitive_cell);
    let points: Vec<[f64; 3]> = (0..m * m * m)
        .map(|k| {
            let f =
                [(k / (m * m)) as f64, ((k / m) % m) as f64, (k % m) as f64].map(|v| v / m as f64);
            let qc = to_cartesian(&recip, f);
            // to reciprocal coordinates of the unit cell: q_k = q_cart . a_k
            std::array::from_fn(|d| (0..3).map(|x| qc[x] * unit_cell[d][x]).sum())
        })
        .collect();
    let all: Vec<f64> = points
        .par_iter()
        .flat_map_iter(|&q| dynamical.frequencies(q))
        .collect();
    let lo = all.iter().cloned().fold(f64::MAX, f64::min) - 4.0 * sigma;
    let hi = all.iter().cloned().fold(f64::MIN, f64::max) + 4.0 * sigma;
    let bins = 600;
    let step = (hi - lo) / bins as f64;
    let norm = 1.0 / ((m * m * m) as f64 * sigma * (2.0 * std::f64::consts::PI).sqrt());
    let frequency_thz: Vec<f64> = (0..=bins).map(|k| lo + k as f64 * step).collect();
    let states_per_thz = frequency_thz
        .par_iter()
        .map(|&f| {
            all.iter()
                .map(|&w| (-0.5 * ((f - w) / sigma).powi(2)).exp())
                .sum::<f64>()
                * norm
        })
        .collect();
    Dos {
        mesh: m,
        sigma_thz: sigma,
        frequency_thz,
        states_per_thz,
    }
}
