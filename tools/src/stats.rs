//! Statistics of time series shared by the analyses: mean and sample spread, and the
//! statistical inefficiency of a correlated series (how many rows make one independent sample).

/// Mean and sample standard deviation (n - 1); the spread is 0 for fewer than two values.
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, var.sqrt())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_spread_of_a_known_set() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        assert!((s - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(mean_std(&[7.0]), (7.0, 0.0));
    }

    /// Uncorrelated values: g = 1; a series repeating each value k times: g close to k.
    #[test]
    fn inefficiency_counts_repeated_rows() {
        let mut rng = crate::rng::Rng::new(3);
        let white: Vec<f64> = (0..20_000).map(|_| rng.normal()).collect();
        assert!((statistical_inefficiency(&white) - 1.0).abs() < 0.1);
        let k = 8;
        let blocky: Vec<f64> = white
            .iter()
            .flat_map(|&x| std::iter::repeat_n(x, k))
            .collect();
        let g = statistical_inefficiency(&blocky);
        assert!((g / k as f64 - 1.0).abs() < 0.15, "{g}");
    }
}
