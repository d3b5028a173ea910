//! Arrhenius fits D = A exp(-Ea / (k_B T)) by weighted least squares in ln D vs 1/T.
use serde::Serialize;

use crate::diffusion::Estimate;

/// Boltzmann constant in eV/K.
pub use crate::units::K_B_EV;

/// One measured value (a diffusion coefficient, a conductivity ...) at one temperature.
#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    /// Temperature, K.
    pub temperature_K: f64,
    /// The value, in its own unit (cm^2/s for D); must be positive.
    pub value: f64,
    /// Its standard uncertainty, same unit.
    pub std: f64,
}

/// The fitted activation energy and prefactor, with their uncertainties.
#[allow(non_snake_case)]
#[derive(Clone, Debug, Serialize)]
pub struct ArrheniusFit {
    /// Activation energy, eV.
    pub Ea_eV: Estimate,
    /// Prefactor, in the unit of the values (cm^2/s for D).
    pub A: Estimate,
    /// Natural log of the prefactor (of its value in the values' unit).
    pub ln_A: Estimate,
    /// Correlation of (ln A, Ea) estimates, for bands on plots.
    pub correlation: f64,
    /// Reduced chi^2 of the fit (null with 2 points: a line through two points has no scatter
    /// to measure).
    pub reduced_chi2: Option<f64>,
    /// Factor the errors of Ea, A and ln A were widened by: sqrt(reduced chi^2) when above 1
    /// (the points scatter more than their own errors allow), else 1.
    pub error_scale: f64,
    /// The points fitted.
    pub points: Vec<Point>,
    /// Notes on the fit (errors widened for scatter).
    pub warnings: Vec<String>,
}

impl ArrheniusFit {
    /// The fitted line at `x` = 1000 / T (1/K): ln of the value there, and its standard
    /// deviation from the (ln A, Ea) covariance (the band of an Arrhenius plot).
    ///
    /// ```
    /// use allegro_tools::arrhenius::{fit, Point};
    /// // D = 1e-3 exp(-0.3 eV / k_B T) at three temperatures, 5 % errors
    /// let d = |t: f64| 1e-3 * (-0.3 / (allegro_tools::arrhenius::K_B_EV * t)).exp();
    /// let points: Vec<Point> = [500.0, 600.0, 700.0]
    ///     .map(|t| Point { temperature_K: t, value: d(t), std: 0.05 * d(t) })
    ///     .to_vec();
    /// let f = fit(&points).unwrap();
    /// assert!((f.Ea_eV.value - 0.3).abs() < 1e-9);
    /// let (ln_d, sd) = f.line(1000.0 / 600.0);
    /// assert!((ln_d - d(600.0).ln()).abs() < 1e-9 && sd > 0.0);
    /// ```
    pub fn line(&self, x: f64) -> (f64, f64) {
        let (sa, se) = (self.ln_A.std, self.Ea_eV.std);
        let g = -x / (1000.0 * K_B_EV);
        let mean = self.ln_A.value + g * self.Ea_eV.value;
        let sd = (sa * sa + g * g * se * se + 2.0 * g * self.correlation * sa * se)
            .max(0.0)
            .sqrt();
        (mean, sd)
    }
}

/// Points that cannot be fitted.
#[derive(Debug, thiserror::Error)]
pub enum ArrheniusError {
    /// Fewer than two points (the count).
    #[error("need at least 2 temperatures, got {0}")]
    TooFew(usize),
    /// A value or std not positive and finite, or a temperature not positive (that K).
    #[error("point at {0} K: value and std must be positive and finite")]
    BadPoint(f64),
    /// Every point at the same temperature (K).
    #[error("all points are at {0} K: need two different temperatures")]
    SameTemperature(f64),
}

/// Weighted fit of ln value = ln A - Ea / (k_B T), weights from the relative uncertainties.
pub fn fit(points: &[Point]) -> Result<ArrheniusFit, ArrheniusError> {
    if points.len() < 2 {
        return Err(ArrheniusError::TooFew(points.len()));
    }
    for p in points {
        if !(p.value > 0.0
            && p.std > 0.0
            && p.value.is_finite()
            && p.std.is_finite()
            && p.temperature_K > 0.0)
        {
            return Err(ArrheniusError::BadPoint(p.temperature_K));
        }
    }
    if points
        .iter()
        .all(|p| p.temperature_K == points[0].temperature_K)
    {
        return Err(ArrheniusError::SameTemperature(points[0].temperature_K));
    }
    // y = ln v, x = -1/(k T): y = ln A + Ea x
    let (mut sw, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for p in points {
        let w = (p.value / p.std).powi(2);
        let x = -1.0 / (K_B_EV * p.temperature_K);
        let y = p.value.ln();
        sw += w;
        sx += w * x;
        sy += w * y;
        sxx += w * x * x;
        sxy += w * x * y;
    }
    let det = sw * sxx - sx * sx;
    let ea = (sw * sxy - sx * sy) / det;
    let ln_a = (sxx * sy - sx * sxy) / det;
    let (var_ea, var_ln_a, cov) = (sw / det, sxx / det, -sx / det);
    let chi2: f64 = points
        .iter()
        .map(|p| {
            let pred = ln_a - ea / (K_B_EV * p.temperature_K);
            ((p.value.ln() - pred) * p.value / p.std).powi(2)
        })
        .sum();
    let dof = points.len() as f64 - 2.0;
    let reduced_chi2 = (dof > 0.0).then(|| chi2 / dof);
    // Points scattering beyond their errors (Birge ratio > 1): the parameter errors from the
    // point errors alone would be too small, so widen them by the observed scatter.
    let mut warnings = Vec::new();
    let error_scale = match reduced_chi2 {
        Some(r) if r > 1.0 => {
            warnings.push(format!(
                "reduced chi^2 = {r:.2}: the points scatter more than their errors \
                 (errors too small, or not Arrhenius over this range); the errors of Ea and A are \
                 widened by sqrt(chi^2) = {:.2}",
                r.sqrt()
            ));
            r.sqrt()
        }
        _ => 1.0,
    };
    let (var_ea, var_ln_a) = (var_ea * error_scale.powi(2), var_ln_a * error_scale.powi(2));
    Ok(ArrheniusFit {
        Ea_eV: Estimate {
            value: ea,
            std: var_ea.sqrt(),
        },
        A: Estimate {
            value: ln_a.exp(),
            std: ln_a.exp() * var_ln_a.sqrt(),
        },
        ln_A: Estimate {
            value: ln_a,
            std: var_ln_a.sqrt(),
        },
        correlation: cov / (var_ea * var_ln_a).sqrt(),
        reduced_chi2,
        error_scale,
        points: points.to_vec(),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_points_give_exact_parameters() {
        let (ea, a) = (0.15, 2e-3);
        let pts: Vec<Point> = [400.0, 500.0, 650.0]
            .iter()
            .map(|&t| {
                let v = a * (-ea / (K_B_EV * t)).exp();
                Point {
                    temperature_K: t,
                    value: v,
                    std: 0.05 * v,
                }
            })
            .collect();
        let f = fit(&pts).unwrap();
        assert!((f.Ea_eV.value - ea).abs() < 1e-12);
        assert!((f.A.value / a - 1.0).abs() < 1e-10);
        // two points: the line through them, with propagated uncertainty
        let f2 = fit(&pts[..2]).unwrap();
        assert!((f2.Ea_eV.value - ea).abs() < 1e-12 && f2.Ea_eV.std > 0.0);
        let (t1, t2) = (400.0, 500.0);
        let want = (2.0f64).sqrt() * 0.05 / (1.0 / (K_B_EV * t1) - 1.0 / (K_B_EV * t2));
        assert!((f2.Ea_eV.std / want - 1.0).abs() < 1e-9);
        assert!(f.error_scale == 1.0 && f.warnings.is_empty());
    }

    #[test]
    fn scatter_beyond_the_errors_widens_them() {
        let (ea, a) = (0.2, 1e-3);
        let at = |t: f64, kick: f64, rel: f64| {
            let v = a * (-ea / (K_B_EV * t)).exp() * (1.0 + kick * rel);
            Point {
                temperature_K: t,
                value: v,
                std: rel * v,
            }
        };
        // points 4 std off, alternating: reduced chi^2 well above 1
        let kicks = [4.0, -4.0, 4.0, -4.0, 4.0];
        let temps = [400.0, 450.0, 500.0, 550.0, 600.0];
        let pts: Vec<Point> = temps
            .iter()
            .zip(kicks)
            .map(|(&t, k)| at(t, k, 0.02))
            .collect();
        let f = fit(&pts).unwrap();
        let chi2 = f.reduced_chi2.unwrap();
        assert!(chi2 > 5.0, "{chi2}");
        assert!((f.error_scale - chi2.sqrt()).abs() < 1e-12);
        assert!(f.warnings[0].contains("widened"), "{:?}", f.warnings);
        // reference: the same points with errors already sqrt(chi^2) larger fit with chi^2 = 1,
        // no widening, and the same parameter errors
        let wide: Vec<Point> = pts
            .iter()
            .map(|p| Point {
                std: p.std * f.error_scale,
                ..p.clone()
            })
            .collect();
        let g = fit(&wide).unwrap();
        assert!((g.reduced_chi2.unwrap() - 1.0).abs() < 1e-9 && g.error_scale == 1.0);
        assert!((f.Ea_eV.std / g.Ea_eV.std - 1.0).abs() < 1e-9);
        assert!((f.ln_A.std / g.ln_A.std - 1.0).abs() < 1e-9);
        assert!((f.Ea_eV.value - g.Ea_eV.value).abs() < 1e-12);
    }
}
