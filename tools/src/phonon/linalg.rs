//! 3x3 helpers and a Hermitian eigensolver (cyclic Jacobi on the real symmetric embedding):
//! the matrices here are at most a few hundred rows, where Jacobi is exact to rounding and
//! needs no LAPACK.

pub use allegro::vec3::{cross, det, dot, norm, Mat3};

/// Rows of the result are the reciprocal vectors without 2 pi: `frac_k = dot(x, r[k])`.
pub fn reciprocal(cell: &Mat3) -> Mat3 {
    let v = det(cell);
    [
        cross(cell[1], cell[2]).map(|x| x / v),
        cross(cell[2], cell[0]).map(|x| x / v),
        cross(cell[0], cell[1]).map(|x| x / v),
    ]
}

/// Fractional coordinates of a Cartesian point in a cell (rows = lattice vectors).
pub fn to_fractional(recip: &Mat3, x: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|k| dot(x, recip[k]))
}

/// Cartesian point of fractional coordinates `f` in a cell (rows = lattice vectors).
pub fn to_cartesian(cell: &Mat3, f: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|d| f[0] * cell[0][d] + f[1] * cell[1][d] + f[2] * cell[2][d])
}

/// Perpendicular widths of a cell (distance between opposite faces), A.
pub fn widths(cell: &Mat3) -> [f64; 3] {
    let r = reciprocal(cell);
    std::array::from_fn(|k| 1.0 / norm(r[k]))
}

/// The real symmetric 2n x 2n matrix [[A, -B], [B, A]] of H = A + iB (row-major).
fn real_embedding(n: usize, re: &[f64], im: &[f64]) -> Vec<f64> {
    let m = 2 * n;
    let mut a = vec![0.0; m * m];
    for i in 0..n {
        for j in 0..n {
            let (x, y) = (re[i * n + j], im[i * n + j]);
            a[i * m + j] = x;
            a[(i + n) * m + j + n] = x;
            a[i * m + j + n] = -y;
            a[(i + n) * m + j] = y;
        }
    }
    a
}

/// Eigenvalues (ascending) and eigenvectors of a Hermitian matrix given as real and imaginary
/// parts (n x n, row-major). Eigenvector k is `(re[k], im[k])`, normalised. Each eigenvalue of
/// H appears twice in the real embedding [[A, -B], [B, A]]; one vector of each pair is kept.
pub fn hermitian_eigen(n: usize, re: &[f64], im: &[f64]) -> (Vec<f64>, Vec<Vec<(f64, f64)>>) {
    let m = 2 * n;
    let a = real_embedding(n, re, im);
    let (values, vectors) = symmetric_eigen(m, a);
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&p, &q| values[p].total_cmp(&values[q]));
    // Pairs are adjacent after sorting; within a degenerate group keep the vectors that are
    // most independent as complex vectors (Gram-Schmidt in C^n).
    let mut out_values = Vec::with_capacity(n);
    let mut out_vectors: Vec<Vec<(f64, f64)>> = Vec::with_capacity(n);
    let mut k = 0;
    while k < m {
        let scale = values.iter().fold(1e-12f64, |s, v| s.max(v.abs()));
        let mut end = k + 1;
        while end < m && (values[order[end]] - values[order[k]]).abs() < 1e-9 * scale {
            end += 1;
        }
        let want = (end - k) / 2;
        let mut kept: Vec<Vec<(f64, f64)>> = Vec::new();
        for &col in &order[k..end] {
            if kept.len() == want {
                break;
            }
            let mut v: Vec<(f64, f64)> = (0..n)
                .map(|i| (vectors[i * m + col], vectors[(i + n) * m + col]))
                .collect();
            for u in &kept {
                // <u, v> = sum conj(u) v
                let (mut pr, mut pi) = (0.0, 0.0);
                for (a, b) in u.iter().zip(&v) {
                    pr += a.0 * b.0 + a.1 * b.1;
                    pi += a.0 * b.1 - a.1 * b.0;
                }
                for (a, b) in u.iter().zip(v.iter_mut()) {
                    b.0 -= pr * a.0 - pi * a.1;
                    b.1 -= pr * a.1 + pi * a.0;
                }
            }
            let len = v.iter().map(|c| c.0 * c.0 + c.1 * c.1).sum::<f64>().sqrt();
            if len > 1e-6 {
                kept.push(v.into_iter().map(|c| (c.0 / len, c.1 / len)).collect());
            }
        }
        let value = order[k..end].iter().map(|&c| values[c]).sum::<f64>() / (end - k) as f64;
        for v in kept {
            out_values.push(value);
            out_vectors.push(v);
        }
        k = end;
    }
    (out_values, out_vectors)
}

/// Eigenvalues (ascending) of a Hermitian matrix, without vectors: Householder reduction of
/// the real embedding to tridiagonal form and implicit QL, ten times faster than Jacobi
/// (densities of states need thousands of q points).
pub fn hermitian_eigenvalues(n: usize, re: &[f64], im: &[f64]) -> Vec<f64> {
    let m = 2 * n;
    let a = real_embedding(n, re, im);
    let mut values = symmetric_eigenvalues(m, a);
    values.sort_by(f64::total_cmp);
    // every eigenvalue of H appears twice in the embedding
    values.chunks(2).map(|p| 0.5 * (p[0] + p[1])).collect()
}

/// Eigenvalues of a real symmetric m x m matrix (row-major), unsorted.
pub fn symmetric_eigenvalues(m: usize, mut a: Vec<f64>) -> Vec<f64> {
    let (mut d, mut e) = (vec![0.0; m], vec![0.0; m]);
    // Householder: a -> tridiagonal (d diagonal, e sub-diagonal).
    for i in (1..m).rev() {
        let l = i - 1;
        let mut h = 0.0;
        if l > 0 {
            let scale: f64 = (0..=l).map(|k| a[i * m + k].abs()).sum();
            if scale == 0.0 {
                e[i] = a[i * m + l];
            } else {
                for k in 0..=l {
                    a[i * m + k] /= scale;
                    h += a[i * m + k] * a[i * m + k];
                }
                let f = a[i * m + l];
                let g = if f >= 0.0 { -h.sqrt() } else { h.sqrt() };
                e[i] = scale * g;
                h -= f * g;
                a[i * m + l] = f - g;
                let mut f = 0.0;
                for j in 0..=l {
                    let mut g = 0.0;
                    for k in 0..=j {
                        g += a[j * m + k] * a[i * m + k];
                    }
                    for k in j + 1..=l {
                        g += a[k * m + j] * a[i * m + k];
                    }
                    e[j] = g / h;
                    f += e[j] * a[i * m + j];
                }
                let hh = f / (h + h);
                for j in 0..=l {
                    let f = a[i * m + j];
                    let g = e[j] - hh * f;
                    e[j] = g;
                    for k in 0..=j {
                        a[j * m + k] -= f * e[k] + g * a[i * m + k];
                    }
                }
            }
        } else {
            e[i] = a[i * m + l];
        }
    }
    for i in 0..m {
        d[i] = a[i * m + i];
    }
    // Implicit QL with Wilkinson shifts on the tridiagonal matrix.
    for i in 1..m {
        e[i - 1] = e[i];
    }
    if m > 0 {
        e[m - 1] = 0.0;
    }
    for l in 0..m {
        for _iteration in 0..100 {
            let mut k = l;
            while k + 1 < m {
                let dd = d[k].abs() + d[k + 1].abs();
                if e[k].abs() <= f64::EPSILON * dd {
                    break;
                }
                k += 1;
            }
            if k == l {
                break;
            }
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let mut r = g.hypot(1.0);
            g = d[k] - d[l] + e[l] / (g + if g >= 0.0 { r.abs() } else { -r.abs() });
            let (mut s, mut c, mut p) = (1.0, 1.0, 0.0);
            let mut underflow = false;
            let mut i = k;
            while i > l {
                i -= 1;
                let f = s * e[i];
                let b = c * e[i];
                r = f.hypot(g);
                e[i + 1] = r;
                if r == 0.0 {
                    d[i + 1] -= p;
                    e[k] = 0.0;
                    underflow = true;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
            }
            if underflow {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[k] = 0.0;
        }
    }
    d
}

/// Cyclic Jacobi for a real symmetric m x m matrix (row-major). Returns eigenvalues and the
/// eigenvectors as columns of a row-major matrix.
pub fn symmetric_eigen(m: usize, mut a: Vec<f64>) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; m * m];
    for i in 0..m {
        v[i * m + i] = 1.0;
    }
    let total = a.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
    for _sweep in 0..100 {
        let off: f64 = (0..m)
            .flat_map(|i| (0..m).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * m + j] * a[i * m + j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-15 * total {
            break;
        }
        for p in 0..m {
            for q in p + 1..m {
                let apq = a[p * m + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[q * m + q] - a[p * m + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..m {
                    let (akp, akq) = (a[k * m + p], a[k * m + q]);
                    a[k * m + p] = c * akp - s * akq;
                    a[k * m + q] = s * akp + c * akq;
                }
                for k in 0..m {
                    let (apk, aqk) = (a[p * m + k], a[q * m + k]);
                    a[p * m + k] = c * apk - s * aqk;
                    a[q * m + k] = s * apk + c * aqk;
                }
                for k in 0..m {
                    let (vkp, vkq) = (v[k * m + p], v[k * m + q]);
                    v[k * m + p] = c * vkp - s * vkq;
                    v[k * m + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..m).map(|i| a[i * m + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hermitian_eigen_of_a_known_matrix() {
        // H = [[2, i], [-i, 2]]: eigenvalues 1 and 3.
        let re = [2.0, 0.0, 0.0, 2.0];
        let im = [0.0, 1.0, -1.0, 0.0];
        let (values, vectors) = hermitian_eigen(2, &re, &im);
        assert_eq!(values.len(), 2);
        assert!((values[0] - 1.0).abs() < 1e-12 && (values[1] - 3.0).abs() < 1e-12);
        // H v = 1 v for the first vector.
        let v = &vectors[0];
        for i in 0..2 {
            let (mut r, mut s) = (0.0, 0.0);
            for j in 0..2 {
                r += re[i * 2 + j] * v[j].0 - im[i * 2 + j] * v[j].1;
                s += re[i * 2 + j] * v[j].1 + im[i * 2 + j] * v[j].0;
            }
            assert!((r - v[i].0).abs() < 1e-12 && (s - v[i].1).abs() < 1e-12);
        }
    }

    #[test]
    fn eigenvalues_alone_match_jacobi() {
        let mut rng = crate::rng::Rng::new(7);
        for n in [1, 2, 5, 24] {
            let mut re = vec![0.0; n * n];
            let mut im = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..=i {
                    let (x, y) = (rng.normal(), if i == j { 0.0 } else { rng.normal() });
                    re[i * n + j] = x;
                    re[j * n + i] = x;
                    im[i * n + j] = y;
                    im[j * n + i] = -y;
                }
            }
            let (want, _) = hermitian_eigen(n, &re, &im);
            let got = hermitian_eigenvalues(n, &re, &im);
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-10, "n {n}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn degenerate_eigenvalues_keep_independent_vectors() {
        let re = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 5.0];
        let im = [0.0; 9];
        let (values, vectors) = hermitian_eigen(3, &re, &im);
        assert_eq!(values.len(), 3);
        assert!((values[0] - 1.0).abs() < 1e-12 && (values[2] - 5.0).abs() < 1e-12);
        let overlap: f64 = {
            let (mut pr, mut pi) = (0.0, 0.0);
            for (a, b) in vectors[0].iter().zip(&vectors[1]) {
                pr += a.0 * b.0 + a.1 * b.1;
                pi += a.0 * b.1 - a.1 * b.0;
            }
            (pr * pr + pi * pi).sqrt()
        };
        assert!(overlap < 1e-9, "degenerate vectors overlap {overlap}");
    }
}
