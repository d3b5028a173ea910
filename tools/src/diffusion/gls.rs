//! Generalised least squares for MSD(t) = slope * t + intercept with the covariance of an MSD
//! averaged over all time origins.
//!
//! For Gaussian increments the covariance of the all-origins MSD is exact and known: with
//! per-dimension step variance s^2 and lags k, l (in frames) over n frames,
//! Cov(|dr_k|^2, |dr_l|^2) summed over origins = 2 s^4 sum_{o,o'} overlap(o,k,o',l)^2, since
//! Cov(X^2, Y^2) = 2 Cov(X, Y)^2 and Cov(X, Y) is s^2 times the overlap of the two intervals.
//! This is the covariance kinisi approximates (McCluskey et al., JCTC 2025) without its
//! approximation; it scales as s^4, so the GLS weights do not depend on s. Here it only sets
//! the weights; the uncertainty is taken from the data (see `fit`).

/// Covariance of the per-dimension mean squared displacement at `lags` for one particle and
/// unit step variance: Cov(k, l) = 2 sum overlap^2 / ((n - k)(n - l)). Row-major K x K.
pub fn brownian_shape(lags: &[usize], n_frames: usize) -> Vec<f64> {
    let kk = lags.len();
    let n = n_frames as i64;
    let mut cov = vec![0.0; kk * kk];
    for a in 0..kk {
        for b in a..kk {
            let (k, l) = (lags[a] as i64, lags[b] as i64);
            let mut sum = 0.0;
            // o' = o + delta; intervals [o, o+k) and [o', o'+l) overlap for -l < delta < k
            for delta in (1 - l)..k {
                let overlap = (k.min(delta + l) - delta.max(0)) as f64;
                let lo = 0i64.max(-delta);
                let hi = (n - k - 1).min(n - l - 1 - delta);
                if hi >= lo {
                    sum += (hi - lo + 1) as f64 * overlap * overlap;
                }
            }
            let v = 2.0 * sum / (((n - k) * (n - l)) as f64);
            cov[a * kk + b] = v;
            cov[b * kk + a] = v;
        }
    }
    cov
}

/// A fitted line y = slope t + intercept (for an MSD in A^2 against time in ps: A^2/ps and A^2).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LineFit {
    /// dy/dt.
    pub slope: f64,
    /// y at t = 0.
    pub intercept: f64,
    /// Covariance of (slope, intercept).
    pub cov: [[f64; 2]; 2],
}

/// In-place Cholesky factor (lower) of a symmetric positive-definite matrix; None if it is not.
fn cholesky(a: &mut [f64], n: usize) -> Option<()> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    Some(())
}

/// Solves L z = b for lower-triangular L (Cholesky factor) in place.
fn forward(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
}

/// The GLS estimator as linear weights: slope = `w[0]·y`, intercept = `w[1]·y`, for the line fit
/// with covariance `cov` (only its shape matters). None if `cov` is not positive definite.
pub fn gls_weights(t: &[f64], cov: &[f64]) -> Option<[Vec<f64>; 2]> {
    let n = t.len();
    let mut l = cov.to_vec();
    cholesky(&mut l, n)?;
    let mut xt = t.to_vec();
    let mut x1 = vec![1.0; n];
    forward(&l, n, &mut xt);
    forward(&l, n, &mut x1);
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let (a, b, c) = (dot(&xt, &xt), dot(&xt, &x1), dot(&x1, &x1));
    let det = a * c - b * b;
    if det <= 0.0 || !det.is_finite() {
        return None;
    }
    // w = inv (X^T C^-1) = inv (L^-1 X)^T L^-1: back-substitute L^T z = (L^-1 X) column by column
    let back = |mut z: Vec<f64>| {
        for i in (0..n).rev() {
            let mut s = z[i];
            for k in i + 1..n {
                s -= l[k * n + i] * z[k];
            }
            z[i] = s / l[i * n + i];
        }
        z
    };
    let (zt, z1) = (back(xt), back(x1));
    let slope = (0..n).map(|i| (c * zt[i] - b * z1[i]) / det).collect();
    let intercept = (0..n).map(|i| (-b * zt[i] + a * z1[i]) / det).collect();
    Some([slope, intercept])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force covariance of the origin-averaged squared displacement for small n.
    #[test]
    fn shape_matches_brute_force_overlaps() {
        let n = 9;
        let lags = [1, 3, 4];
        let shape = brownian_shape(&lags, n);
        for (a, &k) in lags.iter().enumerate() {
            for (b, &l) in lags.iter().enumerate() {
                let mut sum = 0.0;
                for o in 0..n - k {
                    for p in 0..n - l {
                        let ov = (o + k).min(p + l) as f64 - o.max(p) as f64;
                        sum += ov.max(0.0).powi(2);
                    }
                }
                let want = 2.0 * sum / ((n - k) * (n - l)) as f64;
                assert!((shape[a * 3 + b] - want).abs() < 1e-12);
            }
        }
        // single origin, lag = whole trajectory: Var(X^2) = 2 k^2 for unit steps
        let s = brownian_shape(&[8], 9);
        assert!((s[0] - 128.0).abs() < 1e-12);
    }

    fn dot(w: &[f64], y: &[f64]) -> f64 {
        w.iter().zip(y).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn weights_recover_exact_line() {
        let t = [1.0, 2.0, 3.0, 4.0];
        let y: Vec<f64> = t.iter().map(|x| 2.5 * x - 1.0).collect();
        let cov = brownian_shape(&[1, 2, 3, 4], 20);
        let [ws, wi] = gls_weights(&t, &cov).unwrap();
        assert!((dot(&ws, &y) - 2.5).abs() < 1e-10 && (dot(&wi, &y) + 1.0).abs() < 1e-10);
    }

    /// With an identity covariance GLS is ordinary least squares, whose closed form is known.
    #[test]
    fn weights_with_identity_covariance_are_ordinary_least_squares() {
        let t = [1.0, 2.0, 3.0, 5.0];
        let y = [2.0, 2.9, 4.4, 6.1];
        let mut eye = vec![0.0; 16];
        for i in 0..4 {
            eye[i * 5] = 1.0;
        }
        let [ws, wi] = gls_weights(&t, &eye).unwrap();
        let (mt, my) = (t.iter().sum::<f64>() / 4.0, y.iter().sum::<f64>() / 4.0);
        let sxy: f64 = t.iter().zip(&y).map(|(a, b)| (a - mt) * (b - my)).sum();
        let sxx: f64 = t.iter().map(|a| (a - mt).powi(2)).sum();
        let slope = sxy / sxx;
        assert!((dot(&ws, &y) - slope).abs() < 1e-12);
        assert!((dot(&wi, &y) - (my - slope * mt)).abs() < 1e-12);
    }
}
