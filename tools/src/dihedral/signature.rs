//! The dihedral signature of a run: a phase assignment from the tetrahedra themselves.
//!
//! Below T_C each pair of consecutive tetrahedra oscillates about a non-zero dihedral pattern
//! (one large, two small angles); above it every pair's long-time mean is zero, however large
//! and long-lived its excursions (the paper's Fig. 4). The signature is the root mean square,
//! over pairs and their three angles, of each angle's long-time mean: D^2 = mean_j mu_j^2.
//!
//! The square of a sample mean overestimates mu^2 by its own variance, which in a short run of
//! a cubic cell is all there is. So D^2 is estimated without that bias from time blocks: the
//! mean over pairs of products of the means of blocks that are not neighbours (a U-statistic:
//! independent blocks make each product an unbiased estimate of mu_j^2), and its error by the jackknife over the
//! blocks, which keeps the correlation between pairs (a collective rotation moves them all).
//! Blocks are two correlation times of the projection of each frame on the run's pattern long,
//! between 4 and 10 of them; fewer, and the run cannot tell.
use serde::Serialize;

use crate::lattice::{t95, Phase};
use crate::stats::statistical_inefficiency;

/// Dihedral signature (degrees) that separates the phases by default: the tetragonal pattern of
/// the shipped model stands at 8-10 deg below T_C, a cubic run's at 0 (docs/observables.md).
pub const THRESHOLD_DEG: f64 = 3.0;

/// A run's dihedral signature D (degrees) and the phase it assigns.
#[derive(Clone, Debug, Serialize)]
pub struct Signature {
    /// sqrt of the unbiased estimate of D^2 (negative estimates, possible in a cubic run, read
    /// as 0); None when the run is too short to estimate it.
    pub value_deg: Option<f64>,
    /// 95 % interval of D.
    pub interval_deg: Option<[f64; 2]>,
    /// The unbiased estimate of D^2 (deg^2; may be negative).
    pub square_deg2: Option<f64>,
    /// Its jackknife standard error, deg^2.
    pub square_standard_error_deg2: Option<f64>,
    /// Number of time blocks used (0 when too few frames to try).
    pub blocks: usize,
    /// Frames over which the pattern stays correlated (statistical inefficiency).
    pub correlation_frames: Option<f64>,
    /// The phase assigned: tetragonal, cubic or undetermined (see `phase_reason`).
    pub phase: Phase,
    /// Why: the signature against the threshold, or why the run cannot tell.
    pub phase_reason: String,
}

/// The signature of dihedral series `values[pair][frame] = [angle 1, 2, 3]` (degrees), all of
/// one run's production frames, against `threshold_deg`.
pub fn signature(values: &[Vec<[f64; 3]>], threshold_deg: f64) -> Signature {
    let n = values.first().map_or(0, Vec::len);
    let series: Vec<Vec<f64>> = values
        .iter()
        .flat_map(|v| (0..3).map(move |k| v.iter().map(|d| d[k]).collect::<Vec<f64>>()))
        .collect();
    let undetermined = |reason: String, g: Option<f64>, blocks: usize| Signature {
        value_deg: None,
        interval_deg: None,
        square_deg2: None,
        square_standard_error_deg2: None,
        blocks,
        correlation_frames: g,
        phase: Phase::Undetermined,
        phase_reason: reason,
    };
    if series.is_empty() || n < 8 {
        return undetermined(format!("{n} frames: too few"), None, 0);
    }
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let pattern: Vec<f64> = series.iter().map(|x| mean(x)).collect();
    // each frame projected on the run's pattern: its correlation time sets the blocks
    let projection: Vec<f64> = (0..n)
        .map(|t| {
            series
                .iter()
                .zip(&pattern)
                .map(|(x, m)| x[t] * m)
                .sum::<f64>()
                / series.len() as f64
        })
        .collect();
    let g = statistical_inefficiency(&projection);
    let nb = 10.min((n as f64 / (2.0 * g)) as usize);
    if nb < 4 {
        return undetermined(
            format!(
                "{n} frames hold only {:.1} independent samples of the dihedral pattern \
                 (correlated over {g:.0} frames): run longer",
                n as f64 / g
            ),
            Some(g),
            nb,
        );
    }
    let block_means: Vec<Vec<f64>> = series
        .iter()
        .map(|x| {
            (0..nb)
                .map(|b| mean(&x[b * n / nb..(b + 1) * n / nb]))
                .collect()
        })
        .collect();
    // U-statistic over the blocks in `keep`: mean over series of the products of blocks at
    // least one block apart (neighbouring blocks share the correlation across their boundary)
    let u_of = |keep: &dyn Fn(usize) -> bool| {
        let pairs: Vec<(usize, usize)> = (0..nb)
            .flat_map(|b| (b + 2..nb).map(move |c| (b, c)))
            .filter(|&(b, c)| keep(b) && keep(c))
            .collect();
        block_means
            .iter()
            .map(|m| pairs.iter().map(|&(b, c)| m[b] * m[c]).sum::<f64>())
            .sum::<f64>()
            / (pairs.len() * block_means.len()) as f64
    };
    let u = u_of(&|_| true);
    let leave_one_out: Vec<f64> = (0..nb).map(|i| u_of(&|b| b != i)).collect();
    let jack_mean = mean(&leave_one_out);
    let se = ((nb as f64 - 1.0) / nb as f64
        * leave_one_out
            .iter()
            .map(|v| (v - jack_mean).powi(2))
            .sum::<f64>())
    .sqrt();
    let half = t95(nb - 1) * se;
    let threshold2 = threshold_deg * threshold_deg;
    let phase = if u - half > 0.0 && u >= threshold2 {
        Phase::Tetragonal
    } else if u + half < threshold2 {
        Phase::Cubic
    } else {
        Phase::Undetermined
    };
    let root = |x: f64| x.max(0.0).sqrt();
    let interval = [root(u - half), root(u + half)];
    Signature {
        value_deg: Some(root(u)),
        interval_deg: Some(interval),
        square_deg2: Some(u),
        square_standard_error_deg2: Some(se),
        blocks: nb,
        correlation_frames: Some(g),
        phase,
        phase_reason: format!(
            "dihedral signature {:.1} deg (95 %: {:.1} to {:.1}) against {threshold_deg:.1} deg, \
             {nb} blocks",
            root(u),
            interval[0],
            interval[1]
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Synthetic dihedrals of `pairs` pairs over `frames` frames: a pattern `amplitude` x
    /// (1, -0.3, -0.3) with alternating signs, scaled by a collective order parameter that
    /// fluctuates by 20 % (correlated over ~30 frames), plus per-angle noise of 8 deg correlated
    /// over `tau` frames (long-lived excursions when tau is large).
    fn run(amplitude: f64, pairs: usize, frames: usize, tau: f64, seed: u64) -> Vec<Vec<[f64; 3]>> {
        let mut rng = Rng::new(seed);
        let (phi_c, phi) = ((-1.0f64 / 30.0).exp(), (-1.0 / tau).exp());
        let mut order = 0.0;
        let mut noise = vec![[0.0f64; 3]; pairs];
        for n in noise.iter_mut().flatten() {
            *n = 8.0 * rng.normal();
        }
        let mut out = vec![Vec::with_capacity(frames); pairs];
        for _ in 0..frames {
            order = phi_c * order + 0.2 * (1.0 - phi_c * phi_c).sqrt() * rng.normal();
            for (p, series) in out.iter_mut().enumerate() {
                let sign = if p % 2 == 0 { 1.0 } else { -1.0 };
                let n = &mut noise[p];
                for x in n.iter_mut() {
                    *x = phi * *x + 8.0 * (1.0 - phi * phi).sqrt() * rng.normal();
                }
                let base = [1.0, -0.3, -0.3].map(|w| sign * amplitude * w * (1.0 + order));
                series.push([base[0] + n[0], base[1] + n[1], base[2] + n[2]]);
            }
        }
        out
    }

    /// The signature of a known pattern: rms over the three angles of (1, 0.3, 0.3) x amplitude.
    #[test]
    fn recovers_a_known_pattern_and_calls_the_phases() {
        let amplitude = 9.0;
        let truth = amplitude * ((1.0 + 0.09 + 0.09) / 3.0f64).sqrt();
        let (mut tetragonal, mut covered) = (0, 0);
        for seed in 0..50 {
            let s = signature(&run(amplitude, 54, 1500, 40.0, seed), THRESHOLD_DEG);
            tetragonal += (s.phase == Phase::Tetragonal) as usize;
            covered += s
                .interval_deg
                .is_some_and(|[lo, hi]| lo <= truth && truth <= hi) as usize;
        }
        eprintln!("tetragonal: {tetragonal} of 50 recognised, intervals cover {covered} of 50");
        assert!(
            tetragonal >= 48,
            "{tetragonal} of 50 tetragonal runs recognised"
        );
        assert!(
            covered >= 44,
            "95 % intervals cover the truth {covered} of 50 times"
        );
        // cubic: zero means, long-lived excursions (correlated over 150 frames, a quarter of a
        // block): rarely anything but cubic, never tetragonal by more than chance
        let (mut cubic, mut wrong) = (0, 0);
        for seed in 0..200 {
            let s = signature(&run(0.0, 54, 3000, 150.0, 100 + seed), THRESHOLD_DEG);
            cubic += (s.phase == Phase::Cubic) as usize;
            wrong += (s.phase == Phase::Tetragonal) as usize;
        }
        assert!(wrong <= 5, "{wrong} of 200 cubic runs called tetragonal");
        eprintln!("cubic: {cubic} of 200 recognised, {wrong} called tetragonal");
        assert!(cubic >= 160, "{cubic} of 200 cubic runs recognised");
        // a short run with long excursions cannot tell
        let short = signature(&run(0.0, 54, 300, 150.0, 7), THRESHOLD_DEG);
        assert_eq!(short.phase, Phase::Undetermined, "{}", short.phase_reason);
        assert!(short.phase_reason.contains("run longer"));
    }

    /// A naive rms of the time averages would call a short cubic run tetragonal: its bias is
    /// the noise of each mean, here ~8 deg x sqrt(g / n) ~ 3 deg; the U-statistic removes it.
    #[test]
    fn the_noise_of_the_means_is_not_counted_as_order() {
        let values = run(0.0, 54, 1200, 60.0, 3);
        let naive = {
            let means: Vec<f64> = values
                .iter()
                .flat_map(|v| {
                    (0..3).map(move |k| v.iter().map(|d| d[k]).sum::<f64>() / v.len() as f64)
                })
                .collect();
            (means.iter().map(|m| m * m).sum::<f64>() / means.len() as f64).sqrt()
        };
        let s = signature(&values, THRESHOLD_DEG);
        assert!(naive > 2.0, "naive {naive}");
        assert!(
            s.value_deg.unwrap() < 1.0 && s.phase == Phase::Cubic,
            "{s:?}"
        );
    }
}
