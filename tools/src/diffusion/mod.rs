//! Tracer and charge (collective) diffusion from unwrapped trajectories, with uncertainties.
//!
//! MSDs are averaged over all atoms and all time origins on a grid of lags; D comes from a
//! generalised-least-squares fit of MSD(t) = 2 d D t + c over the diffusive range, with the
//! covariance of the all-origins MSD of Gaussian increments (see [`gls`]). Independent runs of
//! one state are pooled lag by lag. The tracer covariance treats atoms as independent, as kinisi
//! does; the collective one has a single "particle", the sum over all atoms.
pub mod gls;
pub mod load;

use rayon::prelude::*;
use serde::Serialize;

pub use load::{load_run, Selection};

/// Elementary charge (C), Boltzmann constant (J/K).
const E_CHARGE: f64 = 1.602_176_634e-19;
const K_B: f64 = 1.380_649e-23;
/// 1 A^2/ps = 1e-4 cm^2/s.
pub const A2_PER_PS_TO_CM2_PER_S: f64 = 1e-4;

/// One run of one state: unwrapped positions of the diffusing atoms (A), drift removed.
#[derive(Clone, Debug)]
pub struct Run {
    /// Time between frames, ps.
    pub dt: f64,
    /// positions[atom][frame]
    pub positions: Vec<Vec<[f64; 3]>>,
    /// Mean cell volume, A^3.
    pub volume: f64,
    /// Mean cell vectors (rows), A.
    pub cell: [[f64; 3]; 3],
}

impl Run {
    pub fn n_frames(&self) -> usize {
        self.positions.first().map_or(0, |p| p.len())
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// Start of the diffusive range, ps (default: a tenth of the shortest run).
    pub start: Option<f64>,
    /// End of the fitted range as a fraction of the shortest run (default 0.5).
    pub end_fraction: f64,
    /// Number of lags in the fitted range (default 40; fewer if the run is short).
    pub n_lags: usize,
    /// Index (0, 1, 2) of the cell vector taken as the unique c axis; detected if None.
    pub c_axis: Option<usize>,
    /// Charge of the diffusing ion, in e.
    pub charge: f64,
    /// Temperature (K) for conductivities.
    pub temperature: Option<f64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            start: None,
            end_fraction: 0.5,
            n_lags: 40,
            c_axis: None,
            charge: 1.0,
            temperature: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub value: f64,
    pub std: f64,
}

impl Estimate {
    fn ratio(a: Estimate, b: Estimate) -> Estimate {
        let value = a.value / b.value;
        let rel = ((a.std / a.value).powi(2) + (b.std / b.value).powi(2)).sqrt();
        Estimate {
            value,
            std: (value * rel).abs(),
        }
    }

    fn scale(self, f: f64) -> Estimate {
        Estimate {
            value: self.value * f,
            std: (self.std * f).abs(),
        }
    }
}

/// Results along one direction set: all three (xyz), one axis, the ab plane or the c axis.
#[derive(Clone, Debug, Serialize)]
pub struct Directional {
    pub direction: String,
    pub dimensions: usize,
    /// cm^2/s
    #[serde(rename = "D")]
    pub d: Estimate,
    /// cm^2/s
    #[serde(rename = "D_sigma")]
    pub d_sigma: Estimate,
    pub haven_ratio: Estimate,
}

/// Field names carry their units (JSON keys), hence the capitals.
#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize)]
pub struct Analysis {
    /// Tracer diffusion coefficient, cm^2/s (3D).
    #[serde(rename = "D")]
    pub d: Estimate,
    /// Charge (collective) diffusion coefficient, cm^2/s (3D).
    #[serde(rename = "D_sigma")]
    pub d_sigma: Estimate,
    pub haven_ratio: Estimate,
    /// Collective conductivity N q^2 D_sigma / (V k_B T), mS/cm (None without a temperature).
    pub conductivity_mS_cm: Option<Estimate>,
    /// Nernst-Einstein conductivity n q^2 D / (k_B T), mS/cm.
    pub conductivity_nernst_einstein_mS_cm: Option<Estimate>,
    pub directions: Vec<Directional>,
    /// Fitted range, ps.
    pub fit_range_ps: [f64; 2],
    pub fit_lags_ps: Vec<f64>,
    /// Cell vector used as c (0 = a, 1 = b, 2 = c of the simulation cell) and its relative
    /// length difference from the mean of the other two.
    pub c_axis: usize,
    pub c_axis_anisotropy: f64,
    pub atoms: usize,
    pub runs: usize,
    pub frames: Vec<usize>,
    pub timestep_between_frames_ps: f64,
    pub volume_A3: f64,
    pub temperature_K: Option<f64>,
    /// MSD curves for plots: lag (ps), tracer MSD (A^2), collective MSD / N (A^2), fitted lines.
    pub curves: Curves,
}

#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize)]
pub struct Curves {
    pub lag_ps: Vec<f64>,
    pub msd_A2: Vec<f64>,
    pub collective_msd_per_atom_A2: Vec<f64>,
    pub fit_slope_A2_per_ps: f64,
    pub fit_intercept_A2: f64,
    pub fit_cov: [[f64; 2]; 2],
}

/// Sums over atoms and origins of dr_i dr_j (xx yy zz xy xz yz) at each lag.
fn moments(series: &[Vec<[f64; 3]>], lags: &[usize]) -> Vec<[f64; 6]> {
    let per_atom = |p: &Vec<[f64; 3]>| -> Vec<[f64; 6]> {
        lags.iter()
            .map(|&k| {
                let mut m = [0.0; 6];
                for o in 0..p.len().saturating_sub(k) {
                    let d = [
                        p[o + k][0] - p[o][0],
                        p[o + k][1] - p[o][1],
                        p[o + k][2] - p[o][2],
                    ];
                    m[0] += d[0] * d[0];
                    m[1] += d[1] * d[1];
                    m[2] += d[2] * d[2];
                    m[3] += d[0] * d[1];
                    m[4] += d[0] * d[2];
                    m[5] += d[1] * d[2];
                }
                m
            })
            .collect()
    };
    series.par_iter().map(per_atom).reduce(
        || vec![[0.0; 6]; lags.len()],
        |mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                for c in 0..6 {
                    x[c] += y[c];
                }
            }
            a
        },
    )
}

/// tr(P M) for a symmetric projector P and moments M (xx yy zz xy xz yz).
fn project(p: &[[f64; 3]; 3], m: &[f64; 6]) -> f64 {
    p[0][0] * m[0]
        + p[1][1] * m[1]
        + p[2][2] * m[2]
        + 2.0 * (p[0][1] * m[3] + p[0][2] * m[4] + p[1][2] * m[5])
}

/// Lags (frames) of the fit: up to `n_lags` distinct values evenly spread over [start, end].
fn lag_grid(start: usize, end: usize, n_lags: usize) -> Vec<usize> {
    let n = n_lags.max(2);
    let mut lags: Vec<usize> = (0..n)
        .map(|i| start + ((end - start) as f64 * i as f64 / (n - 1) as f64).round() as usize)
        .collect();
    lags.dedup();
    lags
}

/// The cell vector whose length differs most from the mean of the other two.
pub fn unique_axis(cell: &[[f64; 3]; 3]) -> (usize, f64) {
    (0..3)
        .map(|k| (k, axis_deviation(cell, k)))
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .unwrap()
}

/// Relative length difference of cell vector `k` from the mean of the other two.
pub fn axis_deviation(cell: &[[f64; 3]; 3], k: usize) -> f64 {
    let len = cell.map(|v| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt());
    let others = (len[(k + 1) % 3] + len[(k + 2) % 3]) / 2.0;
    (len[k] - others) / others
}

#[derive(Debug, thiserror::Error)]
pub enum DiffusionError {
    #[error("{0}")]
    Input(String),
    #[error(
        "the {0} fit failed: the MSD covariance is singular (too few frames in the fitted range?)"
    )]
    Fit(String),
}

/// A direction set: projector, its rank, and how much anisotropy widens its variance.
#[derive(Clone, Copy)]
struct Projection {
    p: [[f64; 3]; 3],
    dims: usize,
    variance_factor: f64,
}

struct Fitted {
    per_dim_rate: Estimate,
    fit: gls::LineFit,
}

/// GLS fit of pooled MSDs projected with `p` (a projector of rank `dims`). `moments[r][k]` are
/// the moment sums of run r at the fit lags, `particles[r]` the number of independent particles
/// (atoms, or 1 for the collective MSD).
fn fit_pooled(
    runs: &[Run],
    lags: &[usize],
    moments: &[Vec<[f64; 6]>],
    particles: &[f64],
    projection: &Projection,
    what: &str,
) -> Result<Fitted, DiffusionError> {
    let Projection {
        p,
        dims,
        variance_factor: anisotropy,
    } = *projection;
    let p = &p;
    let kk = lags.len();
    let dt = runs[0].dt;
    let counts: Vec<Vec<f64>> = runs
        .iter()
        .zip(particles)
        .map(|(r, &n)| {
            lags.iter()
                .map(|&k| n * (r.n_frames() - k) as f64)
                .collect()
        })
        .collect();
    let totals: Vec<f64> = (0..kk).map(|a| counts.iter().map(|c| c[a]).sum()).collect();
    // pooled mean moments, lag by lag
    let mean: Vec<[f64; 6]> = (0..kk)
        .map(|a| std::array::from_fn(|c| moments.iter().map(|m| m[a][c]).sum::<f64>() / totals[a]))
        .collect();
    let t: Vec<f64> = lags.iter().map(|&k| k as f64 * dt).collect();
    let y: Vec<f64> = mean.iter().map(|m| project(p, m)).collect();
    let mut cov = vec![0.0; kk * kk];
    for (r, run) in runs.iter().enumerate() {
        let shape = gls::brownian_shape(lags, run.n_frames());
        for a in 0..kk {
            let wa = counts[r][a] / totals[a];
            for b in 0..kk {
                let wb = counts[r][b] / totals[b];
                cov[a * kk + b] += wa * wb * shape[a * kk + b] / particles[r];
            }
        }
    }
    let fit = gls::gls(&t, &y, &cov).ok_or_else(|| DiffusionError::Fit(what.into()))?;
    // `cov` was for unit step variance. Gaussian steps of covariance Q give the projected
    // squared displacement a variance tr((P Q)^2) times that: dims s^4 when isotropic in the
    // projection (s^2 = per-dimension rate x dt, from this fit), times `anisotropy` =
    // dims tr((P Q)^2) / tr(P Q)^2 otherwise.
    let s2 = fit.slope / dims as f64 * dt;
    let scale = anisotropy * dims as f64 * s2 * s2;
    let fit = gls::LineFit {
        cov: fit.cov.map(|row| row.map(|c| c * scale)),
        ..fit
    };
    Ok(Fitted {
        per_dim_rate: Estimate {
            value: fit.slope / dims as f64,
            std: fit.cov[0][0].sqrt() / dims as f64,
        },
        fit,
    })
}

/// Analyses runs of one state (same atoms, same frame spacing).
pub fn analyse(runs: &[Run], settings: &Settings) -> Result<Analysis, DiffusionError> {
    let bad = |s: String| Err(DiffusionError::Input(s));
    if runs.is_empty() {
        return bad("no runs".into());
    }
    let n_atoms = runs[0].positions.len();
    let dt = runs[0].dt;
    if n_atoms == 0 {
        return bad("no atoms of the diffusing species".into());
    }
    for r in runs {
        if r.positions.len() != n_atoms {
            return bad(format!(
                "runs have {} and {} diffusing atoms: pool only runs of one state",
                n_atoms,
                r.positions.len()
            ));
        }
        if ((r.dt - dt) / dt).abs() > 1e-9 {
            return bad(format!("runs have frame spacings {dt} ps and {} ps", r.dt));
        }
    }
    let n_min = runs.iter().map(Run::n_frames).min().unwrap();
    if n_min < 8 {
        return bad(format!(
            "a run has only {n_min} frames; at least 8 are needed"
        ));
    }
    let total = (n_min - 1) as f64 * dt;
    let start_ps = settings.start.unwrap_or(total / 10.0);
    let end_lag = ((n_min - 1) as f64 * settings.end_fraction).floor() as usize;
    let start_lag = ((start_ps / dt).round() as usize).max(1);
    if start_ps.is_nan() || start_ps < 0.0 || start_lag + 2 > end_lag {
        return bad(format!(
            "the fit would start at {start_ps} ps but must end by {:.4} ps ({} of the {total:.4} ps run): choose an earlier --start",
            end_lag as f64 * dt,
            settings.end_fraction
        ));
    }
    let lags = lag_grid(start_lag, end_lag, settings.n_lags);
    // lags for the MSD plot: log-spaced from the first frame to the end of the fit
    let mut plot_lags: Vec<usize> = (0..60)
        .map(|i| (end_lag as f64).powf(i as f64 / 59.0).round() as usize)
        .chain(lags.iter().copied())
        .collect();
    plot_lags.sort_unstable();
    plot_lags.dedup();

    let mean_cell = {
        let mut c = [[0.0; 3]; 3];
        for r in runs {
            for i in 0..3 {
                for j in 0..3 {
                    c[i][j] += r.cell[i][j] / runs.len() as f64;
                }
            }
        }
        c
    };
    let (detected, _) = unique_axis(&mean_cell);
    let c_axis = settings.c_axis.unwrap_or(detected);
    let cv = mean_cell[c_axis];
    let norm = (cv[0] * cv[0] + cv[1] * cv[1] + cv[2] * cv[2]).sqrt();
    let u = cv.map(|x| x / norm);
    let identity = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let uu: [[f64; 3]; 3] = std::array::from_fn(|i| std::array::from_fn(|j| u[i] * u[j]));
    let plane: [[f64; 3]; 3] =
        std::array::from_fn(|i| std::array::from_fn(|j| identity[i][j] - uu[i][j]));
    let axis = |k: usize| -> [[f64; 3]; 3] {
        std::array::from_fn(|i| std::array::from_fn(|j| if i == k && j == k { 1.0 } else { 0.0 }))
    };
    let directions: Vec<(&str, [[f64; 3]; 3], usize)> = vec![
        ("xyz", identity, 3),
        ("x", axis(0), 1),
        ("y", axis(1), 1),
        ("z", axis(2), 1),
        ("ab", plane, 2),
        ("c", uu, 1),
    ];

    let all_lags: Vec<usize> = {
        let mut v: Vec<usize> = lags.iter().chain(&plot_lags).copied().collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let index: Vec<usize> = lags
        .iter()
        .map(|k| all_lags.binary_search(k).unwrap())
        .collect();
    let tracer: Vec<Vec<[f64; 6]>> = runs
        .iter()
        .map(|r| moments(&r.positions, &all_lags))
        .collect();
    let collective: Vec<Vec<[f64; 6]>> = runs
        .iter()
        .map(|r| {
            let sum: Vec<[f64; 3]> = (0..r.n_frames())
                .map(|f| {
                    let mut s = [0.0; 3];
                    for p in &r.positions {
                        for d in 0..3 {
                            s[d] += p[f][d];
                        }
                    }
                    s
                })
                .collect();
            moments(&[sum], &all_lags)
        })
        .collect();

    let at_fit = |m: &Vec<Vec<[f64; 6]>>| -> Vec<Vec<[f64; 6]>> {
        m.iter()
            .map(|run| index.iter().map(|&i| run[i]).collect())
            .collect()
    };
    let (tracer_fit, collective_fit) = (at_fit(&tracer), at_fit(&collective));
    let atoms_w: Vec<f64> = runs.iter().map(|_| n_atoms as f64).collect();
    let ones: Vec<f64> = runs.iter().map(|_| 1.0).collect();
    // Diffusion tensor from the tracer, block-diagonal in (ab plane, c axis): it sets how
    // anisotropy widens each projection's variance (the tracer is far less noisy than the
    // collective MSD, whose variance follows the same tensor up to a factor).
    let rate_of = |p: &[[f64; 3]; 3], dims: usize| {
        let proj = Projection {
            p: *p,
            dims,
            variance_factor: 1.0,
        };
        fit_pooled(runs, &lags, &tracer_fit, &atoms_w, &proj, "anisotropy")
            .map(|f| f.per_dim_rate.value)
    };
    let (r_ab, r_c) = (rate_of(&plane, 2)?, rate_of(&uu, 1)?);
    let q: [[f64; 3]; 3] =
        std::array::from_fn(|i| std::array::from_fn(|j| r_ab * plane[i][j] + r_c * uu[i][j]));
    let variance_factor = |p: &[[f64; 3]; 3], dims: usize| {
        let pq: [[f64; 3]; 3] = std::array::from_fn(|i| {
            std::array::from_fn(|j| (0..3).map(|k| p[i][k] * q[k][j]).sum())
        });
        let tr: f64 = (0..3).map(|i| pq[i][i]).sum();
        let tr2: f64 = (0..3)
            .flat_map(|i| (0..3).map(move |j| (i, j)))
            .map(|(i, j)| pq[i][j] * pq[j][i])
            .sum();
        if tr.abs() > 0.0 {
            (dims as f64 * tr2 / (tr * tr)).max(1.0)
        } else {
            1.0
        }
    };
    let mut results = Vec::new();
    let mut main_fit = None;
    for (name, p, dims) in &directions {
        let proj = Projection {
            p: *p,
            dims: *dims,
            variance_factor: variance_factor(p, *dims),
        };
        let tr = fit_pooled(
            runs,
            &lags,
            &tracer_fit,
            &atoms_w,
            &proj,
            &format!("{name} tracer"),
        )?;
        let co = fit_pooled(
            runs,
            &lags,
            &collective_fit,
            &ones,
            &proj,
            &format!("{name} collective"),
        )?;
        // per-dimension rate = 2 D (tracer) or 2 N D_sigma (collective), A^2/ps
        let d = tr.per_dim_rate.scale(0.5 * A2_PER_PS_TO_CM2_PER_S);
        let d_sigma = co
            .per_dim_rate
            .scale(0.5 / n_atoms as f64 * A2_PER_PS_TO_CM2_PER_S);
        if *name == "xyz" {
            main_fit = Some(tr.fit);
        }
        results.push(Directional {
            direction: name.to_string(),
            dimensions: *dims,
            d,
            d_sigma,
            haven_ratio: Estimate::ratio(d, d_sigma),
        });
    }
    let total3 = &results[0];
    let volume = runs.iter().map(|r| r.volume).sum::<f64>() / runs.len() as f64;
    let conductivity = |d: Estimate, t: f64| {
        // sigma = N q^2 D / (V k_B T): D cm^2/s -> m^2/s, V A^3 -> m^3, S/m -> mS/cm (x10)
        let q = settings.charge * E_CHARGE;
        let f = n_atoms as f64 * q * q / (volume * 1e-30 * K_B * t) * 1e-4 * 10.0;
        d.scale(f)
    };
    let fit = main_fit.unwrap();
    let curves = Curves {
        lag_ps: plot_lags.iter().map(|&k| k as f64 * dt).collect(),
        msd_A2: plot_lags
            .iter()
            .map(|k| {
                let i = all_lags.binary_search(k).unwrap();
                let s: f64 = tracer.iter().map(|m| m[i][0] + m[i][1] + m[i][2]).sum();
                let c: f64 = runs
                    .iter()
                    .map(|r| (n_atoms * (r.n_frames() - k)) as f64)
                    .sum();
                s / c
            })
            .collect(),
        collective_msd_per_atom_A2: plot_lags
            .iter()
            .map(|k| {
                let i = all_lags.binary_search(k).unwrap();
                let s: f64 = collective.iter().map(|m| m[i][0] + m[i][1] + m[i][2]).sum();
                let c: f64 = runs.iter().map(|r| (r.n_frames() - k) as f64).sum();
                s / c / n_atoms as f64
            })
            .collect(),
        fit_slope_A2_per_ps: fit.slope,
        fit_intercept_A2: fit.intercept,
        fit_cov: fit.cov,
    };
    Ok(Analysis {
        d: total3.d,
        d_sigma: total3.d_sigma,
        haven_ratio: total3.haven_ratio,
        conductivity_mS_cm: settings
            .temperature
            .map(|t| conductivity(total3.d_sigma, t)),
        conductivity_nernst_einstein_mS_cm: settings.temperature.map(|t| conductivity(total3.d, t)),
        directions: results,
        fit_range_ps: [lags[0] as f64 * dt, *lags.last().unwrap() as f64 * dt],
        fit_lags_ps: lags.iter().map(|&k| k as f64 * dt).collect(),
        c_axis,
        c_axis_anisotropy: axis_deviation(&mean_cell, c_axis),
        atoms: n_atoms,
        runs: runs.len(),
        frames: runs.iter().map(Run::n_frames).collect(),
        timestep_between_frames_ps: dt,
        volume_A3: volume,
        temperature_K: settings.temperature,
        curves,
    })
}
