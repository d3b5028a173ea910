//! Per-edge functions of the geometry, in f64 as nequip evaluates them: the Bessel basis, the
//! polynomial cutoff envelope and e3nn's real spherical harmonics, each with its derivative.

/// Bessel basis of nequip: `w_n * sinc(w_n x)` with torch's normalised `sinc(t) = sin(pi t)/(pi t)`,
/// and its derivative in x. With the default weights 1, 2, .., B (`integer_weights`), sin and cos
/// of n pi x come from one sincos by the angle-addition recurrence.
#[inline(always)]
pub fn bessel(
    x: f64,
    weights: &[f64],
    integer_weights: bool,
    value: &mut [f64],
    deriv: &mut [f64],
) {
    use std::f64::consts::PI;
    if integer_weights && x != 0.0 {
        // w sinc(w x) = sin(n pi x) / (pi x) and its derivative (w cos(n pi x) - value) / x:
        // one division per edge instead of two per basis function.
        let (s1, c1) = (PI * x).sin_cos();
        let (mut s, mut c) = (s1, c1);
        let inv_x = 1.0 / x;
        let inv_pi_x = inv_x / PI;
        for (n, (v, d)) in value.iter_mut().zip(deriv.iter_mut()).enumerate() {
            let w = (n + 1) as f64;
            *v = s * inv_pi_x;
            *d = (w * c - *v) * inv_x;
            (s, c) = (s * c1 + c * s1, c * c1 - s * s1);
        }
        return;
    }
    for ((w, v), d) in weights.iter().zip(value.iter_mut()).zip(deriv.iter_mut()) {
        let t = x * w;
        if t == 0.0 {
            *v = *w;
            *d = 0.0;
        } else {
            let sinc = (PI * t).sin() / (PI * t);
            *v = sinc * w;
            *d = w * w * ((PI * t).cos() - sinc) / t;
        }
    }
}

/// DimeNet's polynomial envelope of degree p, 0 at and beyond x = 1; (value, derivative).
#[inline(always)]
pub fn polynomial_cutoff(x: f64, p: f64) -> (f64, f64) {
    if x >= 1.0 {
        return (0.0, 0.0);
    }
    let c1 = (p + 1.0) * (p + 2.0) / 2.0;
    let c2 = p * (p + 2.0);
    let c3 = p * (p + 1.0) / 2.0;
    // x^(p-1) once; the other powers follow by multiplication (p is a float in nequip).
    let xpm1 = if p.fract() == 0.0 && p.abs() < 64.0 {
        x.powi(p as i32 - 1)
    } else {
        x.powf(p - 1.0)
    };
    let xp = xpm1 * x;
    let xp1 = xp * x;
    let value = 1.0 - c1 * xp + c2 * xp1 - c3 * xp1 * x;
    let deriv = -c1 * p * xpm1 + c2 * (p + 1.0) * xp - c3 * (p + 2.0) * xp1;
    (value, deriv)
}

/// Largest degree of spherical harmonics implemented.
pub const MAX_L: usize = 3;

const SQRT3: f64 = 1.7320508075688772;
const SQRT5: f64 = 2.23606797749979;
const SQRT15: f64 = 3.872983346207417;

/// e3nn 0.6's real spherical harmonics of the unit vector (x, y, z), "component" normalisation,
/// degrees 0..=l_max concatenated ((l_max + 1)^2 values; y is e3nn's polar axis for l >= 2).
#[inline(always)]
pub fn spherical_harmonics(l_max: usize, [x, y, z]: [f64; 3], out: &mut [f64]) {
    out[0] = 1.0;
    if l_max == 0 {
        return;
    }
    out[1] = x * SQRT3;
    out[2] = y * SQRT3;
    out[3] = z * SQRT3;
    if l_max == 1 {
        return;
    }
    let s20 = x * SQRT15 * z;
    let s24 = 0.5 * SQRT15 * (z * z - x * x);
    let y2 = y * y;
    let x2z2 = x * x + z * z;
    out[4] = s20;
    out[5] = x * SQRT15 * y;
    out[6] = SQRT5 * (y2 - 0.5 * x2z2);
    out[7] = SQRT15 * y * z;
    out[8] = s24;
    if l_max == 2 {
        return;
    }
    let s42 = 42f64.sqrt() / 6.0;
    let s7 = 7f64.sqrt();
    let s168 = 168f64.sqrt() / 8.0;
    out[9] = s42 * (s20 * z + s24 * x);
    out[10] = s7 * s20 * y;
    out[11] = s168 * (4.0 * y2 - x2z2) * x;
    out[12] = 0.5 * s7 * y * (2.0 * y2 - 3.0 * x2z2);
    out[13] = s168 * z * (4.0 * y2 - x2z2);
    out[14] = s7 * s24 * y;
    out[15] = s42 * (s24 * z - s20 * x);
}

/// Gradient with respect to (x, y, z) of `sum_m g[m] Y_m(x, y, z)`, the harmonics taken as the
/// polynomials above (the projection onto the sphere is the caller's).
#[inline(always)]
pub fn spherical_harmonics_grad(l_max: usize, [x, y, z]: [f64; 3], g: &[f64]) -> [f64; 3] {
    let mut d = [0.0; 3];
    if l_max == 0 {
        return d;
    }
    d[0] += SQRT3 * g[1];
    d[1] += SQRT3 * g[2];
    d[2] += SQRT3 * g[3];
    if l_max == 1 {
        return d;
    }
    // l = 2
    d[0] += SQRT15 * (z * g[4] + y * g[5]) - SQRT5 * x * g[6] - SQRT15 * x * g[8];
    d[1] += SQRT15 * x * g[5] + 2.0 * SQRT5 * y * g[6] + SQRT15 * z * g[7];
    d[2] += SQRT15 * (x * g[4] + y * g[7]) - SQRT5 * z * g[6] + SQRT15 * z * g[8];
    if l_max == 2 {
        return d;
    }
    // l = 3, each as c * f(x, y, z) with f a cubic
    let c9 = 42f64.sqrt() / 6.0 * SQRT15; // Y9 = c9 (3/2 x z^2 - 1/2 x^3), Y15 = c9 (z^3/2 - 3/2 x^2 z)
    let c10 = 7f64.sqrt() * SQRT15; // Y10 = c10 x y z
    let c11 = 168f64.sqrt() / 8.0; // Y11 = c11 (4 x y^2 - x^3 - x z^2), Y13 = c11 (4 y^2 z - x^2 z - z^3)
    let c12 = 7f64.sqrt() / 2.0; // Y12 = c12 (2 y^3 - 3 x^2 y - 3 y z^2)
    let c14 = 7f64.sqrt() * SQRT15 / 2.0; // Y14 = c14 (z^2 - x^2) y
    let (x2, y2, z2) = (x * x, y * y, z * z);
    d[0] += c9 * 1.5 * (z2 - x2) * g[9]
        + c10 * y * z * g[10]
        + c11 * (4.0 * y2 - 3.0 * x2 - z2) * g[11]
        - c12 * 6.0 * x * y * g[12]
        - c11 * 2.0 * x * z * g[13]
        - c14 * 2.0 * x * y * g[14]
        - c9 * 3.0 * x * z * g[15];
    d[1] += c10 * x * z * g[10]
        + c11 * 8.0 * x * y * g[11]
        + c12 * (6.0 * y2 - 3.0 * x2 - 3.0 * z2) * g[12]
        + c11 * 8.0 * y * z * g[13]
        + c14 * (z2 - x2) * g[14];
    d[2] += c9 * 3.0 * x * z * g[9] + c10 * x * y * g[10]
        - c11 * 2.0 * x * z * g[11]
        - c12 * 6.0 * y * z * g[12]
        + c11 * (4.0 * y2 - x2 - 3.0 * z2) * g[13]
        + c14 * 2.0 * y * z * g[14]
        + c9 * 1.5 * (z2 - x2) * g[15];
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every derivative against central differences.
    #[test]
    fn derivatives_match_finite_differences() {
        let h = 1e-6;
        let w: Vec<f64> = (1..=8).map(|n| n as f64 * 1.07).collect();
        for &x in &[0.05, 0.3, 0.71, 0.98] {
            let (mut v, mut d) = (vec![0.0; 8], vec![0.0; 8]);
            let (mut vp, mut vm, mut junk) = (vec![0.0; 8], vec![0.0; 8], vec![0.0; 8]);
            bessel(x, &w, false, &mut v, &mut d);
            bessel(x + h, &w, false, &mut vp, &mut junk);
            bessel(x - h, &w, false, &mut vm, &mut junk);
            // the recurrence for integer weights agrees with direct evaluation
            let ints: Vec<f64> = (1..=8).map(|n| n as f64).collect();
            let (mut a, mut da, mut b, mut db) =
                (vec![0.0; 8], vec![0.0; 8], vec![0.0; 8], vec![0.0; 8]);
            bessel(x, &ints, true, &mut a, &mut da);
            bessel(x, &ints, false, &mut b, &mut db);
            for n in 0..8 {
                assert!(
                    (a[n] - b[n]).abs() < 1e-13 && (da[n] - db[n]).abs() < 1e-11,
                    "recurrence {n} at {x}"
                );
            }
            for n in 0..8 {
                let fd = (vp[n] - vm[n]) / (2.0 * h);
                assert!(
                    (fd - d[n]).abs() < 1e-6 * (1.0 + fd.abs()),
                    "bessel {n} at {x}"
                );
            }
            for p in [5.0, 6.0, 7.5] {
                let fd =
                    (polynomial_cutoff(x + h, p).0 - polynomial_cutoff(x - h, p).0) / (2.0 * h);
                let d = polynomial_cutoff(x, p).1;
                assert!(
                    (fd - d).abs() < 1e-7 * (1.0 + fd.abs()),
                    "cutoff p={p} at {x}"
                );
            }
        }
        let u = [0.3, -0.5, 0.81];
        let g: Vec<f64> = (0..16)
            .map(|m| ((m * 7 % 5) as f64 - 2.0) * 0.3 + 0.1)
            .collect();
        let f = |p: [f64; 3]| {
            let mut y = [0.0; 16];
            spherical_harmonics(3, p, &mut y);
            y.iter().zip(&g).map(|(a, b)| a * b).sum::<f64>()
        };
        let d = spherical_harmonics_grad(3, u, &g);
        for c in 0..3 {
            let (mut p, mut m) = (u, u);
            p[c] += h;
            m[c] -= h;
            let fd = (f(p) - f(m)) / (2.0 * h);
            assert!((fd - d[c]).abs() < 1e-7, "sh grad {c}: {fd} vs {}", d[c]);
        }
    }

    /// Component normalisation: sum_m Y_lm^2 = 2l + 1 on the unit sphere.
    #[test]
    fn harmonics_are_component_normalised() {
        let v = [0.48, -0.6, 0.64];
        let mut y = [0.0; 16];
        spherical_harmonics(3, v, &mut y);
        for l in 0..=3usize {
            let s: f64 = y[l * l..(l + 1) * (l + 1)].iter().map(|a| a * a).sum();
            assert!((s - (2 * l + 1) as f64).abs() < 1e-12, "l={l}: {s}");
        }
    }
}
