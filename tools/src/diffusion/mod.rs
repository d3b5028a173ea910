//! Tracer and charge (collective) diffusion from unwrapped trajectories, with uncertainties.
//!
//! MSDs are averaged over all atoms and all time origins on a grid of lags; D comes from a
//! generalised-least-squares fit of MSD(t) = 2 d D t + c over the diffusive range, weighted by
//! the covariance shape of the all-origins MSD of Gaussian increments (see [`gls`]). Independent
//! runs of one state are pooled lag by lag. The uncertainties come from the data, for any
//! displacement statistics (see `fit`); within a run atoms are treated as independent.
mod fit;
pub mod gls;
pub mod load;
pub mod moments;

use rayon::prelude::*;
use serde::Serialize;

pub use load::{load_run, Selection};
use moments::{Projection, Sym};

pub use crate::units::A2_PER_PS_TO_CM2_PER_S;
use crate::units::{E_CHARGE, K_B};

/// One run of one state: unwrapped positions of the diffusing atoms (A), drift removed.
#[derive(Clone, Debug)]
pub struct Run {
    /// Time between frames, ps.
    pub dt: f64,
    /// `positions[atom][frame]`: unwrapped position of each diffusing atom in each frame, A.
    pub positions: Vec<Vec<[f64; 3]>>,
    /// Mean cell volume, A^3.
    pub volume: f64,
    /// Mean cell vectors (rows), A.
    pub cell: [[f64; 3]; 3],
}

impl Run {
    /// Frames of the run (0 without atoms).
    pub fn n_frames(&self) -> usize {
        self.positions.first().map_or(0, |p| p.len())
    }
}

/// How the MSDs are fitted, and the charge and temperature of the conductivities.
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

/// A value with its standard uncertainty.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Its standard uncertainty (one standard deviation).
    pub std: f64,
}

/// One-sided 95 % normal quantile.
pub const Z95: f64 = 1.644_853_626_951_472_2;

/// A diffusion coefficient, conductivity or Haven ratio: value, standard uncertainty, and
/// whether the data support the value at all. A D that is negative or within 1.645 std of zero
/// is not significant: only its upper bound at 95 % (value, or 0 if negative, + 1.645 std) is
/// meaningful. A Haven ratio is significant when both D and D_sigma are; otherwise it carries
/// the one-sided bound that follows from the significant one, if any.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Coefficient {
    /// Best estimate: cm^2/s for D and D_sigma, mS/cm for a conductivity, none for a Haven ratio.
    pub value: f64,
    /// Standard uncertainty, in the same unit.
    pub std: f64,
    /// Whether the data support the value: more than 1.645 std above zero, in the diffusive
    /// regime (a Haven ratio: both D and D_sigma significant).
    pub significant: bool,
    /// One-sided 95 % upper bound where the value is not significant (a Haven ratio: where only
    /// D_sigma is significant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upper_bound_95: Option<f64>,
    /// One-sided 95 % lower bound of a Haven ratio whose D is significant and D_sigma not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower_bound_95: Option<f64>,
}

impl Coefficient {
    /// A coefficient from its value and standard uncertainty: significant when the value exceeds
    /// 1.645 std (and std is finite), else with its 95 % upper bound.
    pub fn new(value: f64, std: f64) -> Coefficient {
        let significant = value > Z95 * std && std.is_finite();
        Coefficient {
            value,
            std,
            significant,
            upper_bound_95: (!significant).then(|| value.max(0.0) + Z95 * std),
            lower_bound_95: None,
        }
    }

    /// The same value and error with no claim of significance: only the 95 % upper bound, for
    /// a fit outside the diffusive regime.
    fn unclaimed(self) -> Coefficient {
        Coefficient {
            significant: false,
            upper_bound_95: Some(self.value.max(0.0) + Z95 * self.std),
            lower_bound_95: None,
            ..self
        }
    }

    /// Times a positive factor (a unit or a conductivity prefactor).
    fn scale(self, f: f64) -> Coefficient {
        Coefficient {
            value: self.value * f,
            std: self.std * f,
            upper_bound_95: self.upper_bound_95.map(|u| u * f),
            lower_bound_95: self.lower_bound_95.map(|l| l * f),
            ..self
        }
    }

    /// D / D_sigma, the errors combined as if independent.
    fn haven(d: Coefficient, ds: Coefficient) -> Coefficient {
        let value = d.value / ds.value;
        let rel = ((d.std / d.value).powi(2) + (ds.std / ds.value).powi(2)).sqrt();
        let (mut lower, mut upper) = (None, None);
        match (d.significant, ds.significant) {
            (true, false) => lower = ds.upper_bound_95.map(|u| d.value / u),
            (false, true) => upper = d.upper_bound_95.map(|u| u / ds.value),
            _ => {}
        }
        Coefficient {
            value,
            std: (value * rel).abs(),
            significant: d.significant && ds.significant,
            upper_bound_95: upper,
            lower_bound_95: lower,
        }
    }
}

/// Results along one direction set: all three (xyz), one axis, the ab plane or the c axis.
/// Read back from JSON, only the name and the two coefficients are required.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Directional {
    /// Name of the direction set: `xyz`, `x`, `y`, `z`, `ab` or `c`.
    pub direction: String,
    /// Dimensions of the set: 3, 2 or 1.
    #[serde(default)]
    pub dimensions: usize,
    /// cm^2/s
    #[serde(rename = "D")]
    pub d: Coefficient,
    /// cm^2/s
    #[serde(rename = "D_sigma")]
    pub d_sigma: Coefficient,
    /// Haven ratio D / D_sigma along this set.
    #[serde(default)]
    pub haven_ratio: Coefficient,
    /// Excess kurtosis of the tracer displacements at the end of the fit window, relative to a
    /// Gaussian of this dimension (0 for a Gaussian walk; large for rare hops).
    #[serde(default)]
    pub excess_kurtosis: f64,
    /// Estimated number of ion hops the tracer D rests on, over all runs: N (diffusive MSD)^2 /
    /// (non-Gaussian fourth moment) at the end of the fit window, times run length / lag. Exact
    /// for rare hops of one length; 0 when D is not significant; null when the displacements are
    /// Gaussian (many small steps).
    #[serde(default)]
    pub effective_hops: Option<f64>,
    /// False when the fit window is not diffusive (vibration alone, free flight, or a run of a
    /// few vibrational periods): then no hop count can be estimated, and no D is claimed.
    #[serde(default)]
    pub hops_estimable: bool,
}

/// What `analyse` finds (`allegro-diffusion --json`). Field names carry their units (JSON
/// keys), hence the capitals. Read back from JSON (as `allegro-arrhenius` does), only
/// `directions` is required; the rest defaults.
#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Analysis {
    /// Tracer diffusion coefficient, cm^2/s (3D).
    #[serde(rename = "D")]
    #[serde(default)]
    pub d: Coefficient,
    /// Charge (collective) diffusion coefficient, cm^2/s (3D).
    #[serde(rename = "D_sigma")]
    #[serde(default)]
    pub d_sigma: Coefficient,
    /// Haven ratio D / D_sigma (3D).
    #[serde(default)]
    pub haven_ratio: Coefficient,
    /// Collective conductivity N q^2 D_sigma / (V k_B T), mS/cm (None without a temperature).
    #[serde(default)]
    pub conductivity_mS_cm: Option<Coefficient>,
    /// Nernst-Einstein conductivity n q^2 D / (k_B T), mS/cm.
    #[serde(default)]
    pub conductivity_nernst_einstein_mS_cm: Option<Coefficient>,
    /// Results along xyz, x, y, z, the ab plane and the c axis.
    pub directions: Vec<Directional>,
    /// What a reader must know before using the numbers (also printed).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Slope of log MSD against log lag over the fit window: 1 when diffusive, near 0 when the
    /// MSD is still the vibrational plateau.
    #[serde(default)]
    pub msd_loglog_slope: f64,
    /// Fitted range, ps.
    #[serde(default)]
    pub fit_range_ps: [f64; 2],
    /// Lags of the fit, ps.
    #[serde(default)]
    pub fit_lags_ps: Vec<f64>,
    /// Cell vector used as c (0 = a, 1 = b, 2 = c of the simulation cell) and its relative
    /// length difference from the mean of the other two.
    #[serde(default)]
    pub c_axis: usize,
    /// Relative length difference of the c axis from the mean of the other two.
    #[serde(default)]
    pub c_axis_anisotropy: f64,
    /// Diffusing atoms per run.
    #[serde(default)]
    pub atoms: usize,
    /// Runs pooled.
    #[serde(default)]
    pub runs: usize,
    /// Frames of each run.
    #[serde(default)]
    pub frames: Vec<usize>,
    /// Time between frames, ps.
    #[serde(default)]
    pub timestep_between_frames_ps: f64,
    /// Mean cell volume over the runs, A^3.
    #[serde(default)]
    pub volume_A3: f64,
    /// Temperature of the conductivities, K (None: not given).
    #[serde(default)]
    pub temperature_K: Option<f64>,
    /// MSD curves for plots: lag (ps), tracer MSD (A^2), collective MSD / N (A^2), fitted lines.
    #[serde(default)]
    pub curves: Curves,
}

/// MSD curves for plots, and the tracer fit through them.
#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize, serde::Deserialize, Default)]
pub struct Curves {
    /// Lags, ps (log-spaced to the end of the fit, and the fitted lags).
    pub lag_ps: Vec<f64>,
    /// Tracer MSD (3D) at each lag, A^2.
    pub msd_A2: Vec<f64>,
    /// MSD of the summed displacement of the diffusing atoms, over their number, A^2.
    pub collective_msd_per_atom_A2: Vec<f64>,
    /// Slope of the 3D tracer fit, A^2/ps.
    pub fit_slope_A2_per_ps: f64,
    /// Intercept of the 3D tracer fit, A^2.
    pub fit_intercept_A2: f64,
    /// Covariance of the fit's (slope, intercept).
    pub fit_cov: [[f64; 2]; 2],
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

/// Why the runs cannot be analysed.
#[derive(Debug, thiserror::Error)]
pub enum DiffusionError {
    /// The runs or settings do not allow an analysis; the message says why.
    #[error("{0}")]
    Input(String),
    /// The GLS fit of the named direction failed: the MSD covariance is singular.
    #[error(
        "the {0} fit failed: the MSD covariance is singular (too few frames in the fitted range?)"
    )]
    Fit(String),
}

/// Analyses runs of one state (same atoms, same frame spacing).
pub fn analyse(runs: &[Run], settings: &Settings) -> Result<Analysis, DiffusionError> {
    let (n_atoms, dt, n_min) = check_runs(runs)?;
    let lags = choose_lags(runs, settings, n_min, dt)?;
    let mean_cell = mean_cell(runs);
    let (detected, _) = unique_axis(&mean_cell);
    let c_axis = settings.c_axis.unwrap_or(detected);
    let directions = directions(mean_cell[c_axis]);
    let projections: Vec<Projection> = directions.iter().map(|d| d.1).collect();
    let sums = Sums::measure(runs, &lags);
    let data = fit::Data {
        frames: runs.iter().map(Run::n_frames).collect(),
        dt,
        lags: &lags.fit,
        per_atom: &sums.per_atom_fit,
        collective: &sums.collective_fit,
        msd: &sums.msd,
        blocks: &sums.blocks,
    };
    let pair = fit::pair_terms(&data, &projections);

    let mut results = Vec::new();
    let mut main_fit = None;
    for (pi, (name, p)) in directions.iter().enumerate() {
        let pair_p: Vec<&[f64]> = pair.iter().map(|r| r[pi].as_slice()).collect();
        let (result, tracer) = fit_direction(name, p, runs, &data, &pair_p, &lags)?;
        if *name == "xyz" {
            main_fit = Some(tracer);
        }
        results.push(result);
    }
    let fit = main_fit.unwrap();
    let fit_msd: Vec<f64> = lags
        .fit
        .iter()
        .map(|&k| {
            let m = sums.totals[lags.position(k)];
            (m[0] + m[1] + m[2]) / atom_origins(runs, k)
        })
        .collect();
    let msd_loglog_slope = loglog_slope(&lags.fit, &fit_msd);
    let longest_ps = runs
        .iter()
        .map(|r| (r.n_frames() - 1) as f64)
        .fold(0.0, f64::max)
        * dt;
    let regime = regime(msd_loglog_slope, longest_ps);
    if regime.as_ref().is_some_and(|r| r.1) {
        // Outside the diffusive regime a slope is no diffusion coefficient: no claims.
        for r in &mut results {
            r.d = r.d.unclaimed();
            r.d_sigma = r.d_sigma.unclaimed();
            r.haven_ratio = Coefficient::haven(r.d, r.d_sigma);
            r.hops_estimable = false;
            r.effective_hops = None;
        }
    }
    let total3 = results[0].clone();
    let warnings = regime_warnings(&total3, regime.map(|r| r.0), runs.len());
    let volume = runs.iter().map(|r| r.volume).sum::<f64>() / runs.len() as f64;
    let conductivity = |d: Coefficient, t: f64| {
        // sigma = N q^2 D / (V k_B T): D cm^2/s -> m^2/s, V A^3 -> m^3, S/m -> mS/cm (x10)
        let q = settings.charge * E_CHARGE;
        let f = n_atoms as f64 * q * q / (volume * 1e-30 * K_B * t) * 1e-4 * 10.0;
        d.scale(f)
    };
    let k_last = *lags.fit.last().unwrap();
    Ok(Analysis {
        d: total3.d,
        d_sigma: total3.d_sigma,
        haven_ratio: total3.haven_ratio,
        conductivity_mS_cm: settings
            .temperature
            .map(|t| conductivity(total3.d_sigma, t)),
        conductivity_nernst_einstein_mS_cm: settings.temperature.map(|t| conductivity(total3.d, t)),
        directions: results,
        warnings,
        msd_loglog_slope,
        fit_range_ps: [lags.fit[0] as f64 * dt, k_last as f64 * dt],
        fit_lags_ps: lags.fit.iter().map(|&k| k as f64 * dt).collect(),
        c_axis,
        c_axis_anisotropy: axis_deviation(&mean_cell, c_axis),
        atoms: n_atoms,
        runs: runs.len(),
        frames: runs.iter().map(Run::n_frames).collect(),
        timestep_between_frames_ps: dt,
        volume_A3: volume,
        temperature_K: settings.temperature,
        curves: curves(runs, &lags, &sums, &fit, dt),
    })
}

/// Checks that the runs are of one state; returns their diffusing atoms, frame spacing (ps)
/// and the frames of the shortest.
fn check_runs(runs: &[Run]) -> Result<(usize, f64, usize), DiffusionError> {
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
    Ok((n_atoms, dt, n_min))
}

/// The lags (in frames) each part of the analysis uses.
struct Lags {
    /// The fitted range.
    fit: Vec<usize>,
    /// The MSD plot: log-spaced from the first frame to the end of the fit.
    plot: Vec<usize>,
    /// The MSD tensor for the collective covariance: every lag up to 32 frames (vibrations),
    /// then geometric to the end of the longest run.
    table: Vec<usize>,
    /// All of the above, sorted, without repeats: where the moments are measured.
    all: Vec<usize>,
}

impl Lags {
    /// Where lag `k` is in `all`.
    fn position(&self, k: usize) -> usize {
        self.all.binary_search(&k).unwrap()
    }
}

fn choose_lags(
    runs: &[Run],
    settings: &Settings,
    n_min: usize,
    dt: f64,
) -> Result<Lags, DiffusionError> {
    let total = (n_min - 1) as f64 * dt;
    let start_ps = settings.start.unwrap_or(total / 10.0);
    let end_lag = ((n_min - 1) as f64 * settings.end_fraction).floor() as usize;
    let start_lag = ((start_ps / dt).round() as usize).max(1);
    if start_ps.is_nan() || start_ps < 0.0 || start_lag + 2 > end_lag {
        return Err(DiffusionError::Input(format!(
            "the fit would start at {start_ps} ps but must end by {:.4} ps ({} of the {total:.4} ps run): choose an earlier --start",
            end_lag as f64 * dt,
            settings.end_fraction
        )));
    }
    let fit = lag_grid(start_lag, end_lag, settings.n_lags);
    let mut plot: Vec<usize> = (0..60)
        .map(|i| (end_lag as f64).powf(i as f64 / 59.0).round() as usize)
        .chain(fit.iter().copied())
        .collect();
    plot.sort_unstable();
    plot.dedup();
    let n_max = runs.iter().map(Run::n_frames).max().unwrap();
    let mut table: Vec<usize> = (1..n_max.min(33)).collect();
    let mut k = 32.0f64;
    while (k as usize) < n_max - 1 {
        k *= 1.06;
        table.push((k as usize).min(n_max - 1));
    }
    table.dedup();
    let mut all: Vec<usize> = fit.iter().chain(&plot).chain(&table).copied().collect();
    all.sort_unstable();
    all.dedup();
    Ok(Lags {
        fit,
        plot,
        table,
        all,
    })
}

/// The runs' mean cell vectors (rows, A).
fn mean_cell(runs: &[Run]) -> [[f64; 3]; 3] {
    let mut c = [[0.0; 3]; 3];
    for r in runs {
        for i in 0..3 {
            for j in 0..3 {
                c[i][j] += r.cell[i][j] / runs.len() as f64;
            }
        }
    }
    c
}

/// The directions reported, given the unique axis' cell vector `c`.
fn directions(c: [f64; 3]) -> [(&'static str, Projection); 6] {
    let norm = (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]).sqrt();
    let u = c.map(|x| x / norm);
    [
        ("xyz", Projection::All),
        ("x", Projection::Axis(0)),
        ("y", Projection::Axis(1)),
        ("z", Projection::Axis(2)),
        ("ab", Projection::Plane(u)),
        ("c", Projection::Line(u)),
    ]
}

/// Atom-origin pairs at lag `k` over all runs (the MSD's normalisation).
fn atom_origins(runs: &[Run], k: usize) -> f64 {
    runs.iter()
        .map(|r| (r.positions.len() * r.n_frames().saturating_sub(k)) as f64)
        .sum()
}

/// Sums of squared displacements over time origins, what every fit and curve is made of.
struct Sums {
    /// [run][lag of `all`], of the summed displacement of all diffusing atoms.
    collective: Vec<Vec<Sym>>,
    /// `per_atom` at the fitted lags.
    per_atom_fit: Vec<Vec<Vec<Sym>>>,
    /// `collective` at the fitted lags.
    collective_fit: Vec<Vec<Sym>>,
    /// Over runs and atoms, [lag of `all`].
    totals: Vec<Sym>,
    /// The mean MSD tensor at the table lags.
    msd: Vec<Sym>,
    /// Squared displacements over half the fit start, in blocks of as many origins: enough
    /// blocks in one run to see whether the atoms move together. [run][atom][block]
    blocks: Vec<Vec<Vec<Sym>>>,
}

impl Sums {
    fn measure(runs: &[Run], lags: &Lags) -> Sums {
        let index: Vec<usize> = lags.fit.iter().map(|&k| lags.position(k)).collect();
        let per_atom: Vec<Vec<Vec<Sym>>> = runs
            .iter()
            .map(|r| {
                r.positions
                    .par_iter()
                    .map(|p| moments::origin_sums(p, &lags.all))
                    .collect()
            })
            .collect();
        let collective: Vec<Vec<Sym>> = runs
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
                moments::origin_sums(&sum, &lags.all)
            })
            .collect();
        let per_atom_fit: Vec<Vec<Vec<Sym>>> = per_atom
            .iter()
            .map(|run| {
                run.iter()
                    .map(|atom| index.iter().map(|&i| atom[i]).collect())
                    .collect()
            })
            .collect();
        let collective_fit: Vec<Vec<Sym>> = collective
            .iter()
            .map(|run| index.iter().map(|&i| run[i]).collect())
            .collect();
        let totals = moments::total(
            &per_atom
                .iter()
                .map(|r| moments::total(r))
                .collect::<Vec<_>>(),
        );
        let table_mean: Vec<Sym> = lags
            .table
            .iter()
            .map(|&k| {
                let c = atom_origins(runs, k).max(1.0);
                totals[lags.position(k)].map(|x| x / c)
            })
            .collect();
        let n_max = runs.iter().map(Run::n_frames).max().unwrap();
        let msd = moments::msd_table(&lags.table, &table_mean, n_max);
        let block_lag = (lags.fit[0] / 2).max(1);
        let blocks: Vec<Vec<Vec<Sym>>> = runs
            .iter()
            .map(|r| {
                r.positions
                    .par_iter()
                    .map(|x| moments::block_sums(x, block_lag, block_lag))
                    .collect()
            })
            .collect();
        Sums {
            collective,
            per_atom_fit,
            collective_fit,
            totals,
            msd,
            blocks,
        }
    }
}

/// Tracer and collective fits along one direction, the spread of single runs, and the
/// non-Gaussian statistics at the end of the fitted range; also returns the tracer fit.
fn fit_direction(
    name: &str,
    p: &Projection,
    runs: &[Run],
    data: &fit::Data,
    pair_p: &[&[f64]],
    lags: &Lags,
) -> Result<(Directional, gls::LineFit), DiffusionError> {
    let n_atoms = runs[0].positions.len();
    let k_last = *lags.fit.last().unwrap();
    let t_last = k_last as f64 * data.dt;
    let dims = p.dims() as f64;
    let failed = |what: &str| DiffusionError::Fit(format!("{name} {what}"));
    let fits = |d: &fit::Data, pair: &[&[f64]]| -> Option<(gls::LineFit, gls::LineFit)> {
        let tr = fit::tracer(d, p, pair)?;
        Some((tr, fit::collective(d, p, pair, tr.slope)?))
    };
    let (mut tr, mut co) = fits(data, pair_p).ok_or_else(|| failed("fit"))?;
    if runs.len() >= MIN_RUNS_FOR_SPREAD {
        // independent runs of one state: their spread bounds the error from below
        let mut singles = Vec::new();
        for r in 0..runs.len() {
            let one = fit::Data {
                frames: vec![data.frames[r]],
                per_atom: &data.per_atom[r..=r],
                collective: &data.collective[r..=r],
                blocks: &data.blocks[r..=r],
                ..*data
            };
            singles.push(fits(&one, &pair_p[r..=r]).ok_or_else(|| failed("single-run fit"))?);
        }
        tr = widen_by_spread(tr, singles.iter().map(|s| s.0));
        co = widen_by_spread(co, singles.iter().map(|s| s.1));
    }
    // per-dimension rate = 2 D (tracer) or 2 N D_sigma (collective), A^2/ps
    let to_d = 0.5 / dims * A2_PER_PS_TO_CM2_PER_S;
    let d = Coefficient::new(tr.slope * to_d, tr.cov[0][0].sqrt() * to_d);
    let to_ds = to_d / n_atoms as f64;
    let d_sigma = Coefficient::new(co.slope * to_ds, co.cov[0][0].sqrt() * to_ds);
    // non-Gaussian statistics at the end of the fit window
    let (mut s2, mut s4) = (0.0, 0.0);
    for r in runs {
        let (a, b) = moments::fourth_moment(&r.positions, k_last, p);
        s2 += a;
        s4 += b;
    }
    let c = atom_origins(runs, k_last);
    let (m2, m4) = (s2 / c, s4 / c);
    let gaussian_ratio = (dims + 2.0) / dims;
    let excess_kurtosis = m4 / (gaussian_ratio * m2 * m2) - 1.0;
    let cumulant = m4 - gaussian_ratio * m2 * m2;
    let diffusive = tr.slope * t_last;
    let effective_hops = if diffusive <= 0.0 || !d.significant {
        Some(0.0)
    } else if cumulant <= 0.0 {
        None
    } else {
        Some(
            runs.iter()
                .map(|r| {
                    n_atoms as f64 * diffusive * diffusive / cumulant * (r.n_frames() - 1) as f64
                        / k_last as f64
                })
                .sum(),
        )
    };
    let result = Directional {
        direction: name.to_string(),
        dimensions: p.dims(),
        d,
        d_sigma,
        haven_ratio: Coefficient::haven(d, d_sigma),
        excess_kurtosis,
        effective_hops,
        hops_estimable: true,
    };
    Ok((result, tr))
}

/// The MSD curves of the plot and the tracer fit through them.
fn curves(runs: &[Run], lags: &Lags, sums: &Sums, fit: &gls::LineFit, dt: f64) -> Curves {
    let n_atoms = runs[0].positions.len();
    Curves {
        lag_ps: lags.plot.iter().map(|&k| k as f64 * dt).collect(),
        msd_A2: lags
            .plot
            .iter()
            .map(|&k| {
                let m = sums.totals[lags.position(k)];
                (m[0] + m[1] + m[2]) / atom_origins(runs, k)
            })
            .collect(),
        collective_msd_per_atom_A2: lags
            .plot
            .iter()
            .map(|&k| {
                let i = lags.position(k);
                let s: f64 = sums
                    .collective
                    .iter()
                    .map(|m| m[i][0] + m[i][1] + m[i][2])
                    .sum();
                let c: f64 = runs.iter().map(|r| (r.n_frames() - k) as f64).sum();
                s / c / n_atoms as f64
            })
            .collect(),
        fit_slope_A2_per_ps: fit.slope,
        fit_intercept_A2: fit.intercept,
        fit_cov: fit.cov,
    }
}

/// From this many runs on, their spread can widen the error.
pub const MIN_RUNS_FOR_SPREAD: usize = 3;

/// Scales a pooled fit's covariance by the reduced chi^2 of the single-run slopes about the
/// pooled slope when it exceeds 1 (the runs scatter more than their errors say).
fn widen_by_spread(
    pooled: gls::LineFit,
    singles: impl Iterator<Item = gls::LineFit>,
) -> gls::LineFit {
    let (mut chi2, mut n) = (0.0, 0.0);
    for s in singles {
        chi2 += (s.slope - pooled.slope).powi(2) / s.cov[0][0];
        n += 1.0;
    }
    let factor = (chi2 / (n - 1.0)).max(1.0);
    if !factor.is_finite() {
        return pooled;
    }
    gls::LineFit {
        cov: pooled.cov.map(|row| row.map(|c| c * factor)),
        ..pooled
    }
}

/// Least-squares slope of ln MSD against ln lag (NaN if an MSD is not positive).
fn loglog_slope(lags: &[usize], msd: &[f64]) -> f64 {
    let x: Vec<f64> = lags.iter().map(|&k| (k as f64).ln()).collect();
    let y: Vec<f64> = msd.iter().map(|m| m.ln()).collect();
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    sxy / sxx
}

/// Below this log-log MSD slope the fit window is not diffusive.
pub const MIN_LOGLOG_SLOPE: f64 = 0.6;
/// Below this many effective hops the estimate rests on too little to be taken at face value.
pub const MIN_HOPS: f64 = 20.0;

/// Above this log-log MSD slope the fit window is still ballistic (2 for free flight).
pub const MAX_LOGLOG_SLOPE: f64 = 1.2;
/// Shorter runs (ps) span only a few vibrational periods of the ions (0.2-0.3 ps for Na-S).
pub const MIN_RUN_PS: f64 = 1.0;

/// Below this log-log MSD slope the MSD is vibration alone (rare hops on vibrations give
/// 0.5-0.8 over 20 ps, where D is still estimated without bias): no D is claimed.
pub const VIBRATION_LOGLOG_SLOPE: f64 = 0.25;

/// Why the fit window is not diffusive, if it is not, and whether that rules out any claim
/// (vibration alone, free flight, a run of a few periods) or only asks for care (rare hops).
fn regime(loglog: f64, longest_ps: f64) -> Option<(String, bool)> {
    if loglog.is_nan() || loglog < MIN_LOGLOG_SLOPE {
        Some((format!(
            "the MSD is not diffusive in the fit window (log-log slope {loglog:.2}, 1 when diffusive): it is mostly vibration, so D is not a diffusion coefficient yet; run longer or fit later (--start)"
        ), loglog.is_nan() || loglog < VIBRATION_LOGLOG_SLOPE))
    } else if loglog > MAX_LOGLOG_SLOPE {
        Some((format!(
            "the MSD is still ballistic in the fit window (log-log slope {loglog:.2}, 2 for free flight, 1 when diffusive): D is not a diffusion coefficient yet; run longer"
        ), true))
    } else if longest_ps < MIN_RUN_PS {
        Some((format!(
            "the runs last {longest_ps:.2} ps, a few vibrational periods (0.2-0.3 ps each): too short for diffusion, whatever the MSD's slope; run for tens of ps"
        ), true))
    } else {
        None
    }
}

fn regime_warnings(xyz: &Directional, regime: Option<String>, runs: usize) -> Vec<String> {
    let mut w: Vec<String> = regime.into_iter().collect();
    if !xyz.d.significant {
        w.push(format!(
            "D is not significantly above zero: only D < {:.2e} cm^2/s (95 %) is supported",
            xyz.d.upper_bound_95.unwrap_or(f64::NAN)
        ));
    }
    if !xyz.d_sigma.significant {
        w.push(format!(
            "D_sigma is not significantly above zero: only D_sigma < {:.2e} cm^2/s (95 %) is supported, and the Haven ratio is not determined",
            xyz.d_sigma.upper_bound_95.unwrap_or(f64::NAN)
        ));
    }
    if let Some(h) = xyz
        .effective_hops
        .filter(|h| *h < MIN_HOPS && xyz.d.significant)
    {
        w.push(format!(
            "D rests on about {h:.0} ion hops{}: expect large run-to-run scatter; D_sigma and the Haven ratio rest on even less (the collective displacement is one particle per run)",
            if runs > 1 { " over all runs" } else { "" }
        ));
    }
    w
}
