//! The instruction set the engine's kernels run with, chosen once per model at load: the best
//! the CPU has, or a lower one forced by `ALLEGRO_ISA` (tests and benchmarks compare them).
use crate::error::{Error, Result};

/// Kernel families, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// 512-bit vectors with FMA (x86-64 AVX-512F).
    Avx512,
    /// 256-bit vectors with FMA (x86-64 AVX2 + FMA).
    Avx2,
    /// Portable code, no FMA contraction: runs on any CPU.
    Baseline,
}

impl Isa {
    /// The name `ALLEGRO_ISA` takes: "avx512", "avx2" or "baseline".
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Baseline => "baseline",
        }
    }

    /// Whether this CPU can run the kernels of `self`.
    ///
    /// ```
    /// use allegro::Isa;
    /// assert!(Isa::Baseline.available()); // portable code runs anywhere
    /// assert_eq!(Isa::Avx512.name(), "avx512");
    /// ```
    pub fn available(self) -> bool {
        match self {
            Isa::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The best instruction set of this CPU.
    pub fn best() -> Isa {
        [Isa::Avx512, Isa::Avx2]
            .into_iter()
            .find(|isa| isa.available())
            .unwrap_or(Isa::Baseline)
    }

    /// `ALLEGRO_ISA` when set (it may only lower the choice), else the best of this CPU.
    pub fn from_env() -> Result<Isa> {
        match std::env::var("ALLEGRO_ISA") {
            Ok(value) if !value.is_empty() => value.parse(),
            _ => Ok(Isa::best()),
        }
    }
}

impl std::str::FromStr for Isa {
    type Err = Error;
    fn from_str(s: &str) -> Result<Isa> {
        let isa = match s {
            "avx512" => Isa::Avx512,
            "avx2" => Isa::Avx2,
            "baseline" => Isa::Baseline,
            _ => {
                return Err(Error::Input(format!(
                    "ALLEGRO_ISA={s}: expected avx512, avx2 or baseline"
                )))
            }
        };
        if !isa.available() {
            return Err(Error::Input(format!(
                "ALLEGRO_ISA={s}: this CPU lacks it (best here: {})",
                Isa::best().name()
            )));
        }
        Ok(isa)
    }
}

#[cfg(test)]
mod tests {
    use super::Isa;

    #[test]
    fn names_round_trip_and_unknown_is_refused() {
        for isa in [Isa::Avx512, Isa::Avx2, Isa::Baseline] {
            if isa.available() {
                assert_eq!(isa.name().parse::<Isa>().unwrap(), isa);
            }
        }
        assert!("sse9".parse::<Isa>().is_err());
        assert!(Isa::Baseline.available());
    }
}
