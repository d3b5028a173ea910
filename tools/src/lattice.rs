//! Lattice parameters and the tetragonal/cubic phase of NPT runs; T_C over a set of runs.
//!
//! Per run: cell lengths per conventional cell over time, an equilibration cut (detected by
//! maximising the effective number of independent samples of the volume, as pymbar's
//! detectEquilibration does, or given), a moving average, and per smoothed row the
//! tetragonality tau = largest relative deviation of one length from the middle one. Rows with
//! tau above the threshold are tetragonal; a run is tetragonal or cubic when at least 90 % of its
//! rows agree, mixed otherwise (it switches).
use serde::Serialize;

/// A time average of a correlated series: the mean, the spread of the series about it (how much
/// the quantity fluctuates), and the standard error of the mean (how well the mean is known:
/// spread x sqrt(g / n), g the statistical inefficiency of the series).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct TimeAverage {
    pub value: f64,
    pub spread: f64,
    pub standard_error: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Tetragonal,
    Cubic,
    Mixed,
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// Conventional cells per supercell direction.
    pub reps: [f64; 3],
    /// Fraction of each run discarded as equilibration; detected when None.
    pub equilibration: Option<f64>,
    /// Relative length difference above which a row is tetragonal (default 0.5 %).
    pub threshold: f64,
    /// Moving-average window in rows; default n/50.
    pub window: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            reps: [1.0; 3],
            equilibration: None,
            threshold: 0.005,
            window: None,
        }
    }
}

/// Input series of one run: temperature (K) and the three cell lengths (A) per row.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub temperature: Vec<f64>,
    pub lengths: Vec<[f64; 3]>,
}

#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    pub name: String,
    pub temperature_K: TimeAverage,
    /// a, b, c per conventional cell (A), ordered so that c is the unique axis.
    pub a_A: TimeAverage,
    pub b_A: TimeAverage,
    pub c_A: TimeAverage,
    pub c_over_a: f64,
    /// Which box direction (0 = x/a, 1 = y/b, 2 = z/c) is unique, most of the time.
    pub unique_axis: usize,
    pub phase: Phase,
    pub start_phase: Phase,
    pub tetragonal_fraction: f64,
    pub rows: usize,
    pub equilibration_rows: usize,
    /// Smoothed per-row lattice parameters after equilibration, for plots.
    #[serde(skip)]
    pub smoothed: Vec<[f64; 3]>,
}

#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize)]
pub struct TransitionTemperature {
    pub value: f64,
    pub halfwidth: f64,
}

#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize)]
pub struct LatticeResult {
    pub runs: Vec<RunResult>,
    pub T_C: Option<TransitionTemperature>,
    pub warnings: Vec<String>,
}

fn time_average(v: &[f64]) -> TimeAverage {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    TimeAverage {
        value: m,
        spread: var.sqrt(),
        standard_error: (var * statistical_inefficiency(v) / n).sqrt(),
    }
}

/// Statistical inefficiency g = 1 + 2 sum_t (1 - t/n) C(t), summed until C drops below 0.
pub fn statistical_inefficiency(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 3 {
        return 1.0;
    }
    let m = x.iter().sum::<f64>() / n as f64;
    let var = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n as f64;
    if var <= 0.0 {
        return 1.0;
    }
    let mut g = 1.0;
    for t in 1..n - 1 {
        let c = x[..n - t]
            .iter()
            .zip(&x[t..])
            .map(|(a, b)| (a - m) * (b - m))
            .sum::<f64>()
            / ((n - t) as f64 * var);
        if c <= 0.0 {
            break;
        }
        g += 2.0 * c * (1.0 - t as f64 / n as f64);
    }
    g.max(1.0)
}

/// Start of production: the cut (among 20 candidates over the first half) that maximises the
/// number of effectively independent samples of `x` after it.
pub fn detect_equilibration(x: &[f64]) -> usize {
    let n = x.len();
    (0..20)
        .map(|k| k * n / 40)
        .map(|t0| (t0, (n - t0) as f64 / statistical_inefficiency(&x[t0..])))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0, |(t0, _)| t0)
}

fn moving_average(rows: &[[f64; 3]], window: usize) -> Vec<[f64; 3]> {
    let w = window.max(1).min(rows.len());
    (0..=rows.len() - w)
        .map(|i| {
            let mut s = [0.0; 3];
            for r in &rows[i..i + w] {
                for d in 0..3 {
                    s[d] += r[d] / w as f64;
                }
            }
            s
        })
        .collect()
}

/// (tetragonality, unique axis) of one row of lengths.
fn tetragonality(l: &[f64; 3]) -> (f64, usize) {
    let mut idx = [0, 1, 2];
    idx.sort_by(|&a, &b| l[a].total_cmp(&l[b]));
    let mid = l[idx[1]];
    let (hi, lo) = ((l[idx[2]] - mid) / mid, (mid - l[idx[0]]) / mid);
    if hi >= lo {
        (hi, idx[2])
    } else {
        (lo, idx[0])
    }
}

fn phase_of(rows: &[[f64; 3]], threshold: f64) -> (Phase, f64) {
    let tet = rows
        .iter()
        .filter(|l| tetragonality(l).0 > threshold)
        .count() as f64
        / rows.len() as f64;
    let phase = if tet >= 0.9 {
        Phase::Tetragonal
    } else if tet <= 0.1 {
        Phase::Cubic
    } else {
        Phase::Mixed
    };
    (phase, tet)
}

pub fn analyse_run(series: &Series, settings: &Settings) -> Result<RunResult, String> {
    let n = series.lengths.len();
    if n < 10 {
        return Err(format!(
            "{}: only {n} thermo rows, need at least 10",
            series.name
        ));
    }
    let per_cell: Vec<[f64; 3]> = series
        .lengths
        .iter()
        .map(|l| std::array::from_fn(|d| l[d] / settings.reps[d]))
        .collect();
    let volume: Vec<f64> = per_cell.iter().map(|l| l[0] * l[1] * l[2]).collect();
    let cut = match settings.equilibration {
        Some(f) => ((n as f64 * f) as usize).min(n - 5),
        None => detect_equilibration(&volume),
    };
    let window = settings.window.unwrap_or((n / 50).max(1));
    let production = &per_cell[cut..];
    let smoothed = moving_average(production, window);
    let (phase, tet_fraction) = phase_of(&smoothed, settings.threshold);
    let start_rows = moving_average(&per_cell[..(n / 20).max(window).min(n)], window);
    let (start_phase, _) = phase_of(&start_rows, settings.threshold);
    // unique axis: the most frequent one among tetragonal rows (or overall)
    let mut votes = [0usize; 3];
    for l in &smoothed {
        votes[tetragonality(l).1] += 1;
    }
    let unique = (0..3).max_by_key(|&k| votes[k]).unwrap();
    let (o1, o2) = ((unique + 1) % 3, (unique + 2) % 3);
    let series_of = |d: usize| production.iter().map(|l| l[d]).collect::<Vec<f64>>();
    let (a, b, c) = (
        time_average(&series_of(o1)),
        time_average(&series_of(o2)),
        time_average(&series_of(unique)),
    );
    Ok(RunResult {
        name: series.name.clone(),
        temperature_K: time_average(&series.temperature[cut..]),
        a_A: a,
        b_A: b,
        c_A: c,
        c_over_a: c.value / ((a.value + b.value) / 2.0),
        unique_axis: unique,
        phase,
        start_phase,
        tetragonal_fraction: tet_fraction,
        rows: n,
        equilibration_rows: cut,
        smoothed,
    })
}

/// T_C as the midpoint between the highest tetragonal and the lowest cubic temperature.
pub fn transition(runs: &[RunResult]) -> (Option<TransitionTemperature>, Vec<String>) {
    let mut warnings = Vec::new();
    let temp = |r: &RunResult| r.temperature_K.value;
    // runs of one temperature (within 2 K) from different starts must agree
    for (i, r) in runs.iter().enumerate() {
        for s in &runs[i + 1..] {
            if (temp(r) - temp(s)).abs() < 2.0 && r.phase != s.phase {
                warnings.push(format!(
                    "runs at {:.1} K disagree: {} (started {:?}) ends {:?}, {} (started {:?}) ends {:?}; that temperature is not assigned",
                    temp(r), r.name, r.start_phase, r.phase, s.name, s.start_phase, s.phase
                ));
            }
        }
    }
    let disputed = |r: &RunResult| {
        runs.iter()
            .any(|s| (temp(r) - temp(s)).abs() < 2.0 && r.phase != s.phase)
    };
    let tet = runs
        .iter()
        .filter(|r| r.phase == Phase::Tetragonal && !disputed(r))
        .map(temp)
        .fold(f64::NAN, f64::max);
    let cub = runs
        .iter()
        .filter(|r| r.phase == Phase::Cubic && !disputed(r))
        .map(temp)
        .fold(f64::NAN, f64::min);
    if tet.is_nan() || cub.is_nan() {
        warnings.push("T_C needs at least one clearly tetragonal and one clearly cubic run".into());
        return (None, warnings);
    }
    if tet >= cub {
        warnings.push(format!(
            "a tetragonal run at {tet:.1} K is hotter than a cubic run at {cub:.1} K: no single transition"
        ));
        return (None, warnings);
    }
    (
        Some(TransitionTemperature {
            value: (tet + cub) / 2.0,
            halfwidth: (cub - tet) / 2.0,
        }),
        warnings,
    )
}

pub fn analyse(series: &[Series], settings: &Settings) -> Result<LatticeResult, String> {
    let mut runs = series
        .iter()
        .map(|s| analyse_run(s, settings))
        .collect::<Result<Vec<_>, _>>()?;
    runs.sort_by(|a, b| a.temperature_K.value.total_cmp(&b.temperature_K.value));
    let (t_c, warnings) = transition(&runs);
    Ok(LatticeResult {
        runs,
        T_C: t_c,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// AR(1) series x_t = phi x_(t-1) + noise with unit variance: spread 1, standard error of
    /// the mean sqrt((1 + phi) / ((1 - phi) n)).
    #[test]
    fn time_average_of_a_correlated_series() {
        let (n, phi) = (200_000, 0.9f64);
        let mut rng = Rng::new(11);
        let mut x = vec![rng.normal()];
        for _ in 1..n {
            let next = phi * x.last().unwrap() + (1.0 - phi * phi).sqrt() * rng.normal();
            x.push(next);
        }
        let t = time_average(&x);
        assert!((t.spread - 1.0).abs() < 0.03, "{t:?}");
        let want = ((1.0 + phi) / ((1.0 - phi) * n as f64)).sqrt();
        assert!(
            (t.standard_error / want - 1.0).abs() < 0.15,
            "{t:?} vs {want}"
        );
    }
}
