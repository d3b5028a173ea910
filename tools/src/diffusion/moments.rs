//! Displacement moments: per-atom sums over time origins, direction projections, and the
//! covariance of the collective MSD's pair terms from the measured MSD tensor.

/// A symmetric 3x3 tensor as (xx, yy, zz, xy, xz, yz).
pub type Sym = [f64; 6];

/// A set of directions: all three, one Cartesian axis, a unit vector, or the plane normal to one.
#[derive(Clone, Copy, Debug)]
pub enum Projection {
    /// All three directions.
    All,
    /// One Cartesian axis (0, 1, 2 for x, y, z).
    Axis(usize),
    /// Along a unit vector.
    Line([f64; 3]),
    /// The plane normal to a unit vector.
    Plane([f64; 3]),
}

fn quad(m: &Sym, u: &[f64; 3]) -> f64 {
    m[0] * u[0] * u[0]
        + m[1] * u[1] * u[1]
        + m[2] * u[2] * u[2]
        + 2.0 * (m[3] * u[0] * u[1] + m[4] * u[0] * u[2] + m[5] * u[1] * u[2])
}

fn times(m: &Sym, u: &[f64; 3]) -> [f64; 3] {
    [
        m[0] * u[0] + m[3] * u[1] + m[4] * u[2],
        m[3] * u[0] + m[1] * u[1] + m[5] * u[2],
        m[4] * u[0] + m[5] * u[1] + m[2] * u[2],
    ]
}

impl Projection {
    /// Number of dimensions spanned: 3, 2 or 1.
    pub fn dims(&self) -> usize {
        match self {
            Projection::All => 3,
            Projection::Plane(_) => 2,
            Projection::Axis(_) | Projection::Line(_) => 1,
        }
    }

    /// tr(P M): the squared displacement within the projection.
    pub fn trace(&self, m: &Sym) -> f64 {
        match self {
            Projection::All => m[0] + m[1] + m[2],
            Projection::Axis(k) => m[*k],
            Projection::Line(u) => quad(m, u),
            Projection::Plane(u) => m[0] + m[1] + m[2] - quad(m, u),
        }
    }

    /// tr((P G P)^2) for symmetric G.
    pub fn trace_squared(&self, g: &Sym) -> f64 {
        let tr_g2 = g[0] * g[0]
            + g[1] * g[1]
            + g[2] * g[2]
            + 2.0 * (g[3] * g[3] + g[4] * g[4] + g[5] * g[5]);
        match self {
            Projection::All => tr_g2,
            Projection::Axis(k) => g[*k] * g[*k],
            Projection::Line(u) => quad(g, u).powi(2),
            Projection::Plane(u) => {
                let gu = times(g, u);
                tr_g2 - 2.0 * (gu[0] * gu[0] + gu[1] * gu[1] + gu[2] * gu[2]) + quad(g, u).powi(2)
            }
        }
    }

    /// (P d)·(P d) for a displacement d.
    pub fn squared(&self, d: &[f64; 3]) -> f64 {
        let all = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        match self {
            Projection::All => all,
            Projection::Axis(k) => d[*k] * d[*k],
            Projection::Line(u) => (d[0] * u[0] + d[1] * u[1] + d[2] * u[2]).powi(2),
            Projection::Plane(u) => all - (d[0] * u[0] + d[1] * u[1] + d[2] * u[2]).powi(2),
        }
    }
}

fn outer(d: &[f64; 3]) -> Sym {
    [
        d[0] * d[0],
        d[1] * d[1],
        d[2] * d[2],
        d[0] * d[1],
        d[0] * d[2],
        d[1] * d[2],
    ]
}

fn add(a: &mut Sym, b: &Sym) {
    for c in 0..6 {
        a[c] += b[c];
    }
}

/// Sums over time origins of dr dr^T at each lag, for one series of positions.
pub fn origin_sums(p: &[[f64; 3]], lags: &[usize]) -> Vec<Sym> {
    lags.iter()
        .map(|&k| {
            let mut m = [0.0; 6];
            for o in 0..p.len().saturating_sub(k) {
                let d = std::array::from_fn(|c| p[o + k][c] - p[o][c]);
                add(&mut m, &outer(&d));
            }
            m
        })
        .collect()
}

/// Element-wise sum of per-particle moment lists.
pub fn total(per_particle: &[Vec<Sym>]) -> Vec<Sym> {
    let mut sum = vec![[0.0; 6]; per_particle.first().map_or(0, Vec::len)];
    for m in per_particle {
        for (s, x) in sum.iter_mut().zip(m) {
            add(s, x);
        }
    }
    sum
}

/// The mean per-atom MSD tensor at every lag 0..n, linearly interpolated between `lags`
/// (sorted, all > 0) from the `mean` values there; constant beyond the last.
pub fn msd_table(lags: &[usize], mean: &[Sym], n: usize) -> Vec<Sym> {
    let mut table = vec![[0.0; 6]; n];
    let mut prev = (0usize, [0.0; 6]);
    let mut next = 0;
    for (tau, slot) in table.iter_mut().enumerate().skip(1) {
        while next < lags.len() && lags[next] < tau {
            prev = (lags[next], mean[next]);
            next += 1;
        }
        *slot = if next == lags.len() {
            prev.1
        } else {
            let (k1, m1) = (lags[next], &mean[next]);
            let f = (tau - prev.0) as f64 / (k1 - prev.0) as f64;
            std::array::from_fn(|c| prev.1[c] + f * (m1[c] - prev.1[c]))
        };
    }
    table
}

/// For two independent atoms with per-atom MSD tensor `msd` (a table from [`msd_table`]):
/// the covariance, over a run of `n` frames, of their origin-summed pair products
/// sum_o (P dr_i)·(P dr_j) at lags k and l: sum over origin pairs of tr((P G P)^2), with G the
/// displacement cross-covariance of the two intervals (from the MSD by stationarity). Exact
/// for any displacement statistics, since only second moments of each atom enter.
pub fn pair_covariance(msd: &[Sym], projections: &[Projection], k: usize, l: usize) -> Vec<f64> {
    let n = msd.len() as i64;
    let (k, l) = (k as i64, l as i64);
    let at = |tau: i64| &msd[tau.unsigned_abs() as usize];
    let mut sums = vec![0.0; projections.len()];
    // o' = o + delta; both intervals inside the run
    for delta in -(n - k - 1)..=(n - l - 1) {
        let lo = 0i64.max(-delta);
        let hi = (n - k - 1).min(n - l - 1 - delta);
        if hi < lo {
            continue;
        }
        let count = (hi - lo + 1) as f64;
        let (a, b, c, d) = (at(k - delta), at(delta + l), at(k - l - delta), at(delta));
        let g: Sym = std::array::from_fn(|i| 0.5 * (a[i] + b[i] - c[i] - d[i]));
        for (s, p) in sums.iter_mut().zip(projections) {
            *s += count * p.trace_squared(&g);
        }
    }
    sums
}

/// Origin sums of dr dr^T at lag k over each block of `block` consecutive origins (complete
/// blocks only).
pub fn block_sums(x: &[[f64; 3]], k: usize, block: usize) -> Vec<Sym> {
    let blocks = x.len().saturating_sub(k) / block.max(1);
    (0..blocks)
        .map(|b| {
            let mut m = [0.0; 6];
            for o in b * block..(b + 1) * block {
                add(
                    &mut m,
                    &outer(&std::array::from_fn(|c| x[o + k][c] - x[o][c])),
                );
            }
            m
        })
        .collect()
}

/// Sum over atoms and origins of ((P dr)·(P dr))^2 and (P dr)·(P dr) at lag k.
pub fn fourth_moment(series: &[Vec<[f64; 3]>], k: usize, p: &Projection) -> (f64, f64) {
    let (mut s2, mut s4) = (0.0, 0.0);
    for x in series {
        for o in 0..x.len().saturating_sub(k) {
            let d: [f64; 3] = std::array::from_fn(|c| x[o + k][c] - x[o][c]);
            let r2 = p.squared(&d);
            s2 += r2;
            s4 += r2 * r2;
        }
    }
    (s2, s4)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// For Brownian motion (MSD linear in the lag) the pair covariance is the overlap sum:
    /// per dimension s^4 sum_{o,o'} overlap^2, i.e. half the single-particle Gaussian
    /// shape of `gls::brownian_shape` times (n-k)(n-l).
    #[test]
    fn pair_covariance_of_brownian_motion_is_the_overlap_sum() {
        let n = 40;
        let msd: Vec<Sym> = (0..n)
            .map(|t| [t as f64, 2.0 * t as f64, 0.5 * t as f64, 0.0, 0.0, 0.0])
            .collect();
        for (k, l) in [(3, 7), (10, 10), (1, 39), (25, 5)] {
            let shape = crate::diffusion::gls::brownian_shape(&[k, l], n);
            let overlap2 = shape[1] / 2.0 * ((n - k) * (n - l)) as f64;
            let got = pair_covariance(&msd, &[Projection::All, Projection::Axis(1)], k, l);
            assert!((got[0] - (1.0 + 4.0 + 0.25) * overlap2).abs() < 1e-9 * got[0]);
            assert!((got[1] - 4.0 * overlap2).abs() < 1e-9 * got[1]);
        }
    }

    #[test]
    fn projections_agree_with_matrices() {
        let u = [0.6, 0.0, 0.8];
        let g: Sym = [1.0, 2.0, 3.0, 0.3, -0.4, 0.5];
        let full = [[1.0, 0.3, -0.4], [0.3, 2.0, 0.5], [-0.4, 0.5, 3.0]];
        for (proj, pm) in [
            (
                Projection::Line(u),
                std::array::from_fn(|i| std::array::from_fn(|j| u[i] * u[j])),
            ),
            (
                Projection::Plane(u),
                std::array::from_fn(|i| {
                    std::array::from_fn(|j| f64::from(u8::from(i == j)) - u[i] * u[j])
                }),
            ),
        ] {
            let pm: [[f64; 3]; 3] = pm;
            let mul = |a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]| -> [[f64; 3]; 3] {
                std::array::from_fn(|i| {
                    std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum())
                })
            };
            let pgp = mul(&mul(&pm, &full), &pm);
            let want: f64 = pgp.iter().flatten().map(|x| x * x).sum();
            assert!((proj.trace_squared(&g) - want).abs() < 1e-12);
            let tr: f64 = (0..3).map(|i| mul(&pm, &full)[i][i]).sum();
            assert!((proj.trace(&g) - tr).abs() < 1e-12);
        }
    }

    #[test]
    fn msd_table_interpolates() {
        let t = msd_table(&[2, 4], &[[2.0; 6], [6.0; 6]], 7);
        let xx: Vec<f64> = t.iter().map(|m| m[0]).collect();
        assert_eq!(xx, vec![0.0, 1.0, 2.0, 4.0, 6.0, 6.0, 6.0]);
    }
}
