//! The MSD line fits and their uncertainties.
//!
//! Estimator: generalised least squares of the all-origins MSD against the lag, with the
//! covariance *shape* of Gaussian increments (data-independent weights: a lag whose MSD happens
//! to fluctuate low never gets a higher weight).
//!
//! Uncertainty: the fitted slope is a fixed linear combination of the MSDs, so its variance is
//! that combination of their covariance, which we take from the data, not from a model:
//! - tracer: each atom's own contribution to the slope is one independent sample (atoms of all
//!   runs), so the variance is their empirical variance. This holds for any displacement
//!   statistics (rare hops on top of vibrations as well as Gaussian walks, where it is an
//!   unbiased estimate of the exact Gaussian result) and does not depend on the slope's value
//!   or sign. Atoms are not independent in real MD (a few vacancies carry every hop, so the
//!   hop rate rises and falls for all ions at once): the design effect over time blocks
//!   ([`together_factor`]) widens it when it says so;
//! - collective: the squared sum of displacements is each atom's own square plus pair
//!   products. The first part is taken per atom from the data as above; the pair part's
//!   covariance, for independent atoms, needs only second moments, which come from the
//!   measured MSD tensor at every lag (vibrational plateau included), see
//!   [`moments::pair_covariance`].
use super::gls::{self, LineFit};
use super::moments::{self, Projection, Sym};

/// One state's moment sums at the fit lags.
#[derive(Clone)]
pub struct Data<'a> {
    /// Frames per run.
    pub frames: Vec<usize>,
    /// Time between frames, ps.
    pub dt: f64,
    /// Fit lags, frames.
    pub lags: &'a [usize],
    /// per_atom[run][atom][lag]: origin sums of dr dr^T.
    pub per_atom: &'a [Vec<Vec<Sym>>],
    /// collective[run][lag]: origin sums of the summed displacement's dR dR^T.
    pub collective: &'a [Vec<Sym>],
    /// Mean per-atom MSD tensor at every lag 0..frames of the longest run.
    pub msd: &'a [Sym],
    /// blocks[run][atom][block]: origin sums of dr dr^T at a short lag over blocks of origins
    /// (see [`together_factor`]).
    pub blocks: &'a [Vec<Vec<Sym>>],
}

fn times_ps(d: &Data) -> Vec<f64> {
    d.lags.iter().map(|&k| k as f64 * d.dt).collect()
}

/// GLS weights for `particles[r]` particles per run (Gaussian covariance shape, pooled lag by
/// lag with the runs' origin counts), and those counts' totals per lag (particles x origins).
fn weights(d: &Data, particles: &[f64]) -> Option<([Vec<f64>; 2], Vec<f64>)> {
    let kk = d.lags.len();
    let counts: Vec<Vec<f64>> = d
        .frames
        .iter()
        .zip(particles)
        .map(|(&n, &p)| d.lags.iter().map(|&k| p * (n - k) as f64).collect())
        .collect();
    let totals: Vec<f64> = (0..kk).map(|a| counts.iter().map(|c| c[a]).sum()).collect();
    let mut cov = vec![0.0; kk * kk];
    for (r, &n) in d.frames.iter().enumerate() {
        let shape = gls::brownian_shape(d.lags, n);
        for a in 0..kk {
            for b in 0..kk {
                cov[a * kk + b] += counts[r][a] / totals[a] * counts[r][b] / totals[b]
                    * shape[a * kk + b]
                    / particles[r];
            }
        }
    }
    Some((gls::gls_weights(&times_ps(d), &cov)?, totals))
}

fn outer_add(cov: &mut [[f64; 2]; 2], c: [f64; 2], f: f64) {
    for i in 0..2 {
        for j in 0..2 {
            cov[i][j] += f * c[i] * c[j];
        }
    }
}

/// Pooled mean of the projected per-atom moments at each fit lag.
fn tracer_mean(d: &Data, p: &Projection) -> Vec<f64> {
    (0..d.lags.len())
        .map(|a| {
            let (mut s, mut c) = (0.0, 0.0);
            for (run, &n) in d.per_atom.iter().zip(&d.frames) {
                for atom in run {
                    s += p.trace(&atom[a]);
                }
                c += (run.len() * (n - d.lags[a])) as f64;
            }
            s / c
        })
        .collect()
}

/// Per-atom contributions to (slope, intercept) of a fit with weights `w` and per-lag
/// normalisations `totals`, centred on what the pooled mean `mean` predicts.
fn atom_contributions<'b>(
    d: &'b Data,
    p: &'b Projection,
    w: &'b [Vec<f64>; 2],
    totals: &'b [f64],
    mean: &'b [f64],
) -> impl Iterator<Item = (usize, [f64; 2])> + 'b {
    d.per_atom.iter().enumerate().flat_map(move |(r, run)| {
        run.iter().map(move |atom| {
            let mut c = [0.0; 2];
            for (a, &k) in d.lags.iter().enumerate() {
                let e = (p.trace(&atom[a]) - (d.frames[r] - k) as f64 * mean[a]) / totals[a];
                c[0] += w[0][a] * e;
                c[1] += w[1][a] * e;
            }
            (r, c)
        })
    })
}

/// Hop noise (the non-Gaussian part of the variance) grows linearly with D, like a Poisson
/// count's: it is taken one std above the estimate, so an estimate that came out low because
/// few hops happened does not also get a small error (factor capped at 3).
fn poisson_factor(slope: f64, var: f64) -> f64 {
    if slope > 0.0 {
        (1.0 + var.max(0.0).sqrt() / slope).min(3.0)
    } else {
        1.0
    }
}

/// Sum over runs of the pair covariances `pair[run]` weighted into (slope, intercept) space,
/// each run's times `run_factor(atoms in the run)`.
fn weighted_pairs(
    d: &Data,
    w: &[Vec<f64>; 2],
    totals: &[f64],
    pair: &[&[f64]],
    run_factor: impl Fn(f64) -> f64,
) -> [[f64; 2]; 2] {
    let kk = d.lags.len();
    let mut g = [[0.0; 2]; 2];
    for (pr, atoms) in pair.iter().zip(d.per_atom) {
        let f = run_factor(atoms.len() as f64);
        for a in 0..kk {
            for b in 0..kk {
                let x = pr[a * kk + b] / (totals[a] * totals[b]) * f;
                for i in 0..2 {
                    for j in 0..2 {
                        g[i][j] += w[i][a] * w[j][b] * x;
                    }
                }
            }
        }
    }
    g
}

/// What the atoms' own origin sums would contribute to the fit covariance if their
/// displacements were Gaussian with the measured MSD: per atom 2 x the pair covariance, i.e.
/// the run's pair term (2 N (N - 1) pair covariances) / (N - 1).
fn gaussian_own(d: &Data, w: &[Vec<f64>; 2], totals: &[f64], pair: &[&[f64]]) -> [[f64; 2]; 2] {
    weighted_pairs(d, w, totals, pair, |n| 1.0 / (n - 1.0).max(1.0))
}

/// Tracer fit of the projected MSD (per-dimension rate = slope / dims).
pub fn tracer(d: &Data, p: &Projection, pair: &[&[f64]]) -> Option<LineFit> {
    let particles: Vec<f64> = d.per_atom.iter().map(|r| r.len() as f64).collect();
    let (w, totals) = weights(d, &particles)?;
    let mean = tracer_mean(d, p);
    let dot = |w: &[f64]| w.iter().zip(&mean).map(|(a, b)| a * b).sum::<f64>();
    let n_atoms: f64 = particles.iter().sum();
    let mut cov = [[0.0; 2]; 2];
    for (_, c) in atom_contributions(d, p, &w, &totals, &mean) {
        outer_add(&mut cov, c, n_atoms / (n_atoms - 1.0).max(1.0));
    }
    let slope = dot(&w[0]);
    let gauss = gaussian_own(d, &w, &totals, pair);
    // Never below what Gaussian displacements with the measured MSD would give (hop noise
    // only adds to it); the hop-noise excess is taken one std up; the covariance keeps the
    // empirical shape.
    let excess = (cov[0][0] - gauss[0][0]).max(0.0);
    let var = (gauss[0][0] + excess * poisson_factor(slope, cov[0][0])) * together_factor(d, p);
    let cov = if cov[0][0] > 0.0 {
        cov.map(|row| row.map(|c| c * var / cov[0][0]))
    } else {
        gauss
    };
    Some(LineFit {
        slope,
        intercept: dot(&w[1]),
        cov,
    })
}

/// For each run, the pair-term covariance of its collective origin sums at the fit lags, for
/// every projection: pair[run][projection][a * K + b].
pub fn pair_terms(d: &Data, projections: &[Projection]) -> Vec<Vec<Vec<f64>>> {
    use rayon::prelude::*;
    let kk = d.lags.len();
    d.frames
        .iter()
        .zip(d.per_atom)
        .map(|(&n, atoms)| {
            let n_atoms = atoms.len() as f64;
            // ordered pairs i != j, each product appearing twice in |sum dr|^2
            let f = 2.0 * n_atoms * (n_atoms - 1.0);
            let entries: Vec<(usize, usize, Vec<f64>)> = (0..kk)
                .flat_map(|a| (a..kk).map(move |b| (a, b)))
                .collect::<Vec<_>>()
                .into_par_iter()
                .map(|(a, b)| {
                    let v =
                        moments::pair_covariance(&d.msd[..n], projections, d.lags[a], d.lags[b]);
                    (a, b, v)
                })
                .collect();
            let mut out = vec![vec![0.0; kk * kk]; projections.len()];
            for (a, b, v) in entries {
                for (m, x) in out.iter_mut().zip(v) {
                    m[a * kk + b] = f * x;
                    m[b * kk + a] = f * x;
                }
            }
            out
        })
        .collect()
}

/// Collective fit of the projected MSD of the summed displacement (per-dimension rate =
/// slope / dims = 2 N D_sigma). `pair[run]` is this projection's entry of [`pair_terms`];
/// `tracer_slope` the tracer fit's slope in the same projection.
///
/// Correlated motion (ions that move together) makes the collective MSD noisier than for
/// independent ions: by f^2 in its Gaussian part and f^3 in its non-Gaussian part for groups of
/// f ions moving together, where f = D_sigma / D. f is taken as the part of the measured ratio
/// that the data support at two standard deviations, and never below 1.
pub fn collective(d: &Data, p: &Projection, pair: &[&[f64]], tracer_slope: f64) -> Option<LineFit> {
    let kk = d.lags.len();
    let ones = vec![1.0; d.frames.len()];
    let (w, totals) = weights(d, &ones)?;
    let y: Vec<f64> = (0..kk)
        .map(|a| d.collective.iter().map(|c| p.trace(&c[a])).sum::<f64>() / totals[a])
        .collect();
    let dot = |w: &[f64]| w.iter().zip(&y).map(|(a, b)| a * b).sum::<f64>();
    let mean = tracer_mean(d, p);
    // each atom's own squared displacement: empirical, per run
    let mut own = [[0.0; 2]; 2];
    for (r, c) in atom_contributions(d, p, &w, &totals, &mean) {
        let n = d.per_atom[r].len() as f64;
        outer_add(&mut own, c, n / (n - 1.0).max(1.0));
    }
    // pair products of independent atoms, from the MSD tensor; `gaussian` is what the own
    // part would be for Gaussian displacements with the same MSD
    let pairs = weighted_pairs(d, &w, &totals, pair, |_| 1.0);
    let gaussian = gaussian_own(d, &w, &totals, pair);
    let slope = dot(&w[0]);
    let n_atoms = d.per_atom.first().map_or(1, Vec::len) as f64;
    let independent_std = (own[0][0] + pairs[0][0]).max(0.0).sqrt();
    let f = if tracer_slope > 0.0 {
        ((slope - 2.0 * independent_std) / (n_atoms * tracer_slope)).max(1.0)
    } else {
        1.0
    };
    let cov: [[f64; 2]; 2] = std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            let excess = if own[0][0] > gaussian[0][0] {
                own[i][j] - gaussian[i][j]
            } else {
                0.0
            };
            f * f * (pairs[i][j] + gaussian[i][j]) + f * f * f * excess
        })
    });
    Some(LineFit {
        slope,
        intercept: dot(&w[1]),
        cov,
    })
}

/// How much the atoms' squared displacements move together: the long-run variance over time
/// blocks of their sum over atoms, over the sum of each atom's own long-run variance. 1 for
/// independent atoms; above 1 when ions hop together or their hop rate rises and falls for all
/// of them at once (few vacancies carrying every hop), which the atoms-as-samples variance
/// cannot see. Returns (ratio, degrees of freedom).
fn design_effect(blocks: &[Vec<Vec<Sym>>], p: &Projection) -> Option<(f64, f64)> {
    let (mut num, mut den, mut dof) = (0.0, 0.0, 0.0);
    for run in blocks {
        let nb = run.first().map_or(0, Vec::len);
        if nb < 2 {
            continue;
        }
        let window = bartlett_window(nb);
        let per_atom: Vec<Vec<f64>> = run
            .iter()
            .map(|a| a.iter().map(|m| p.trace(m)).collect())
            .collect();
        let total: Vec<f64> = (0..nb)
            .map(|b| per_atom.iter().map(|a| a[b]).sum())
            .collect();
        num += long_run_variance(&total, window);
        den += per_atom
            .iter()
            .map(|a| long_run_variance(a, window))
            .sum::<f64>();
        // Bartlett-kernel estimates carry about 1.5 n / (window + 1) degrees of freedom
        dof += 1.5 * nb as f64 / (window + 1) as f64;
    }
    (den > 0.0 && dof > 0.0).then_some((num / den, dof))
}

/// A third of the blocks: long enough to see a rate that stays up or down for several blocks,
/// short enough to leave a few degrees of freedom in one run.
fn bartlett_window(n: usize) -> usize {
    (n / 3).min(n - 1)
}

/// Variance of a series' sum per element, with its autocovariances up to `window` (Bartlett
/// weights), so a rate that stays high or low over several blocks counts in full.
fn long_run_variance(v: &[f64], window: usize) -> f64 {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let gamma = |k: usize| {
        v.iter()
            .zip(&v[k..])
            .map(|(a, b)| (a - m) * (b - m))
            .sum::<f64>()
            / n
    };
    gamma(0)
        + 2.0
            * (1..=window)
                .map(|k| (1.0 - k as f64 / (window + 1) as f64) * gamma(k))
                .sum::<f64>()
}

/// The factor the tracer variance is widened by for atoms that move together: the design
/// effect when it is above 1 by more than its own standard error (sqrt(2 / dof) for
/// independent atoms), else 1, so independent atoms keep their calibrated error.
pub fn together_factor(d: &Data, p: &Projection) -> f64 {
    match design_effect(d.blocks, p) {
        Some((r, dof)) if r > 1.0 + (2.0 / dof).sqrt() => r,
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Block sums a_ib = c_b + e_ib: a part shared by all atoms that persists in time (AR(1),
    /// coefficient phi) plus an own part: the design effect is the ratio of long-run variances,
    /// (N^2 L_c + N var e) / (N (L_c + var e)) with L_c = var c (1 + phi) / (1 - phi), and 1
    /// without the shared part.
    #[test]
    fn design_effect_of_a_shared_persistent_component() {
        let (atoms, blocks, runs, phi) = (40, 30, 300, 0.3);
        let mut rng = Rng::new(5);
        for shared in [0.0, 0.5] {
            let data: Vec<Vec<Vec<Sym>>> = (0..runs)
                .map(|_| {
                    let mut c = vec![shared * rng.normal()];
                    for _ in 1..blocks {
                        let next = phi * c.last().unwrap()
                            + shared * (1.0 - phi * phi).sqrt() * rng.normal();
                        c.push(next);
                    }
                    // the trace of [a, 0, 0, ...] under Projection::All is a
                    (0..atoms)
                        .map(|_| {
                            (0..blocks)
                                .map(|b| [10.0 + c[b] + rng.normal(), 0.0, 0.0, 0.0, 0.0, 0.0])
                                .collect()
                        })
                        .collect()
                })
                .collect();
            let (r, _) = design_effect(&data, &Projection::All).unwrap();
            let n = atoms as f64;
            let lc = shared * shared * (1.0 + phi) / (1.0 - phi);
            let want = (n * n * lc + n) / (n * (lc + 1.0));
            // Bartlett weights and the run mean bias a finite window low by a few per cent
            assert!(
                (r / want - 1.0).abs() < 0.15,
                "shared {shared}: {r} vs {want}"
            );
        }
    }
}
