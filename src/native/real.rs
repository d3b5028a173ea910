//! The float type the network runs in: f32 for float32 models, f64 for float64 models.
use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

pub trait Real:
    Copy
    + Debug
    + Default
    + PartialOrd
    + Send
    + Sync
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + 'static
{
    const ZERO: Self;
    const ONE: Self;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn exp(self) -> Self;

    /// SiLU over a slice: `act = z * sigmoid(z)`, keeping `sig = sigmoid(z)` for the backward pass.
    #[inline(always)]
    fn silu(pre: &[Self], act: &mut [Self], sig: &mut [Self]) {
        for ((z, a), s) in pre.iter().zip(act.iter_mut()).zip(sig.iter_mut()) {
            *s = Self::ONE / (Self::ONE + (-*z).exp());
            *a = *z * *s;
        }
    }

    /// C (m x n) = A (m x k) B (k x n) + beta C, with explicit row/column strides.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: &[Self],
        rsa: usize,
        csa: usize,
        b: &[Self],
        rsb: usize,
        csb: usize,
        beta: Self,
        c: &mut [Self],
        rsc: usize,
    );
}

macro_rules! impl_real {
    ($t:ty, $gemm:path $(, $silu:item)?) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            $($silu)?
            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                a: &[Self],
                rsa: usize,
                csa: usize,
                b: &[Self],
                rsb: usize,
                csb: usize,
                beta: Self,
                c: &mut [Self],
                rsc: usize,
            ) {
                if m == 0 || n == 0 {
                    return;
                }
                // Bounds of every operand, so that the unsafe call below stays inside them.
                assert!(k == 0 || a.len() > (m - 1) * rsa + (k - 1) * csa);
                assert!(k == 0 || b.len() > (k - 1) * rsb + (n - 1) * csb);
                assert!(c.len() > (m - 1) * rsc + (n - 1));
                // SAFETY: the asserts above keep every index of A, B and C in bounds.
                unsafe {
                    $gemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        rsa as isize,
                        csa as isize,
                        b.as_ptr(),
                        rsb as isize,
                        csb as isize,
                        beta,
                        c.as_mut_ptr(),
                        rsc as isize,
                        1,
                    )
                }
            }
        }
    };
}

impl_real!(
    f32,
    matrixmultiply::sgemm,
    #[inline(always)]
    fn silu(pre: &[f32], act: &mut [f32], sig: &mut [f32]) {
        for ((z, a), s) in pre.iter().zip(act.iter_mut()).zip(sig.iter_mut()) {
            *s = 1.0 / (1.0 + exp_f32(-*z));
            *a = *z * *s;
        }
    }
);
impl_real!(f64, matrixmultiply::dgemm);

/// exp for f32 without branches or calls, so that slice loops vectorise: Cody-Waite range
/// reduction and Cephes' polynomial (relative error ~2e-7, as libm's expf within a few ulp).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const MAGIC: f32 = 12582912.0; // 1.5 * 2^23: adding it rounds to an integer
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + MAGIC;
    let n = t - MAGIC;
    let f = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * f + 1.398_199_9e-3) * f + 8.333_452e-3) * f + 4.166_579_6e-2) * f
        + 1.666_666_5e-1)
        * f
        + 0.5;
    let e = p * f * f + f + 1.0;
    let k = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    e * f32::from_bits(((k + 127) << 23) as u32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn fast_exp_is_accurate() {
        let mut worst = 0.0f64;
        for i in -8700..=8800 {
            let x = i as f32 * 0.01;
            let want = (x as f64).exp();
            let rel = ((super::exp_f32(x) as f64 - want) / want).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 5e-7, "worst relative error {worst:e}");
    }
}
