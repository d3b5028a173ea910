//! Relaxation of the positions at fixed cell (FIRE, Bitzek et al. 2006), so that the force
//! constants are those of a minimum.
use super::error::Result;

use super::crystal::Crystal;
use super::force_constants::ForceModel;

/// How a relaxation went.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Relaxation {
    /// FIRE steps taken.
    pub steps: usize,
    /// Whether every force ended below the threshold.
    pub converged: bool,
    /// Largest force before, eV/A.
    pub initial_max_force: f64,
    /// Largest force after, eV/A.
    pub final_max_force: f64,
    /// Final minus initial energy, eV.
    pub energy_change_ev: f64,
}

fn max_force(f: &[[f64; 3]]) -> f64 {
    f.iter()
        .map(|v| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt())
        .fold(0.0, f64::max)
}

/// Moves the atoms until every force is below `fmax` (eV/A) or `max_steps` pass.
pub fn relax(
    crystal: &mut Crystal,
    fmax: f64,
    max_steps: usize,
    model: &mut dyn ForceModel,
) -> Result<Relaxation> {
    let (dt_max, max_step) = (1.0, 0.1);
    let (mut dt, mut alpha, mut since_negative) = (0.1, 0.1, 0usize);
    let n = crystal.len();
    let mut v = vec![[0.0; 3]; n];
    let (e0, mut f) = model.evaluate(crystal)?;
    let initial_max_force = max_force(&f);
    let mut energy = e0;
    let mut steps = 0;
    while max_force(&f) > fmax && steps < max_steps {
        let power: f64 = (0..n)
            .map(|i| (0..3).map(|d| f[i][d] * v[i][d]).sum::<f64>())
            .sum();
        if power > 0.0 {
            let vn = v.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
            let fnorm = f
                .iter()
                .flatten()
                .map(|x| x * x)
                .sum::<f64>()
                .sqrt()
                .max(1e-300);
            for i in 0..n {
                for d in 0..3 {
                    v[i][d] = (1.0 - alpha) * v[i][d] + alpha * f[i][d] / fnorm * vn;
                }
            }
            since_negative += 1;
            if since_negative > 5 {
                dt = (dt * 1.1f64).min(dt_max);
                alpha *= 0.99;
            }
        } else {
            v = vec![[0.0; 3]; n];
            dt *= 0.5;
            alpha = 0.1;
            since_negative = 0;
        }
        for i in 0..n {
            for d in 0..3 {
                v[i][d] += dt * f[i][d];
            }
        }
        let step: Vec<[f64; 3]> = v.iter().map(|x| x.map(|c| c * dt)).collect();
        let longest = step
            .iter()
            .map(|s| (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]).sqrt())
            .fold(0.0, f64::max);
        let scale = if longest > max_step {
            max_step / longest
        } else {
            1.0
        };
        for i in 0..n {
            for d in 0..3 {
                crystal.positions[i][d] += step[i][d] * scale;
            }
        }
        let (e, fnew) = model.evaluate(crystal)?;
        energy = e;
        f = fnew;
        steps += 1;
    }
    Ok(Relaxation {
        steps,
        converged: max_force(&f) <= fmax,
        initial_max_force,
        final_max_force: max_force(&f),
        energy_change_ev: energy - e0,
    })
}
