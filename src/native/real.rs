//! The float type the network runs in: f32 for float32 models, f64 for float64 models.
#[cfg(target_arch = "x86_64")]
use super::gemm::x86;
use super::gemm::{driver, Base, Raw};
use super::isa::Isa;
use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// Values read from the file (f64) in the network's type.
pub fn cast<T: Real>(x: &[f64]) -> Vec<T> {
    x.iter().map(|&v| T::from_f64(v)).collect()
}

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

    /// `exp(-self)`, as the SiLU of this type computes it.
    fn exp_neg(self) -> Self;

    /// Runs one checked product with the kernels of `isa`.
    ///
    /// # Safety
    /// `g` comes from [`super::gemm::gemm`] (its buffers checked) and the CPU has `isa`.
    unsafe fn gemm_kernel(isa: Isa, g: &Raw<'_, Self>);
}

macro_rules! impl_real {
    ($t:ty, $exp_neg:expr, $avx512:path, $avx2:path) => {
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
            fn exp_neg(self) -> Self {
                $exp_neg(self)
            }
            unsafe fn gemm_kernel(isa: Isa, g: &Raw<'_, Self>) {
                match isa {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: the caller guarantees the CPU has the ISA and `g` is checked.
                    Isa::Avx512 => unsafe { $avx512(g) },
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: as above.
                    Isa::Avx2 => unsafe { $avx2(g) },
                    // SAFETY: `g` is checked; the baseline runs anywhere.
                    _ => unsafe { driver::<Base<$t>>(g) },
                }
            }
        }
    };
}

impl_real!(f32, |x: f32| exp_f32(-x), x86::avx512_f32, x86::avx2_f32);
impl_real!(f64, |x: f64| (-x).exp(), x86::avx512_f64, x86::avx2_f64);

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
