//! The measured peak of one core: a register-resident loop of independent FMA chains per
//! instruction set and float type, the ceiling the engine's speed is reported against.
//! `cargo run --release --example peak_flops [-- --json]`; prints GFLOP/s (2 FLOPs per lane
//! and FMA), the best of several short runs.
use std::time::Instant;

/// Independent accumulators: enough to cover the FMA latency on two FMA units.
const CHAINS: usize = 12;
const ITERS: u64 = 20_000_000;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{CHAINS, ITERS};
    use std::arch::x86_64::*;

    macro_rules! probe {
        ($name:ident, $feat:literal, $reg:ty, $set1:ident, $fma:ident, $add:ident, $red:expr, $t:ty) => {
            /// # Safety
            /// The CPU must have the features named.
            #[target_feature(enable = $feat)]
            pub unsafe fn $name() -> f64 {
                // Opaque inputs: the compiler must not evaluate the loop itself.
                let a: $reg = $set1(std::hint::black_box(0.999_999 as $t));
                let b: $reg = $set1(std::hint::black_box(1e-7 as $t));
                let mut acc: [$reg; CHAINS] = [$set1(std::hint::black_box(1.0 as $t)); CHAINS];
                for _ in 0..std::hint::black_box(ITERS) {
                    for x in acc.iter_mut() {
                        *x = $fma(*x, a, b);
                    }
                }
                let mut s = acc[0];
                for x in &acc[1..] {
                    s = $add(s, *x);
                }
                $red(s)
            }
        };
    }
    probe!(
        avx512_f32,
        "avx512f,fma",
        __m512,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_add_ps,
        |s| _mm512_reduce_add_ps(s) as f64,
        f32
    );
    probe!(
        avx512_f64,
        "avx512f,fma",
        __m512d,
        _mm512_set1_pd,
        _mm512_fmadd_pd,
        _mm512_add_pd,
        |s| _mm512_reduce_add_pd(s),
        f64
    );
    probe!(
        avx2_f32,
        "avx2,fma",
        __m256,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        _mm256_add_ps,
        |s: __m256| {
            let mut v = [0f32; 8];
            _mm256_storeu_ps(v.as_mut_ptr(), s);
            v.iter().sum::<f32>() as f64
        },
        f32
    );
    probe!(
        avx2_f64,
        "avx2,fma",
        __m256d,
        _mm256_set1_pd,
        _mm256_fmadd_pd,
        _mm256_add_pd,
        |s: __m256d| {
            let mut v = [0f64; 4];
            _mm256_storeu_pd(v.as_mut_ptr(), s);
            v.iter().sum::<f64>()
        },
        f64
    );
}

/// GFLOP/s of `f` (which runs `ITERS x CHAINS` FMAs of `lanes` lanes), best of 5.
fn measure(lanes: usize, f: impl Fn() -> f64) -> f64 {
    let mut best = f64::INFINITY;
    let mut sink = 0.0;
    for _ in 0..5 {
        let t0 = Instant::now();
        sink += f();
        best = best.min(t0.elapsed().as_secs_f64());
    }
    std::hint::black_box(sink);
    (ITERS as f64 * CHAINS as f64 * lanes as f64 * 2.0) / best / 1e9
}

fn main() {
    let json = std::env::args().any(|a| a == "--json");
    let mut rows: Vec<(&str, &str, f64)> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        let fma = is_x86_feature_detected!("fma");
        if fma && is_x86_feature_detected!("avx512f") {
            // SAFETY: the features were detected just above.
            rows.push((
                "avx512",
                "f32",
                measure(16, || unsafe { x86::avx512_f32() }),
            ));
            rows.push(("avx512", "f64", measure(8, || unsafe { x86::avx512_f64() })));
        }
        if fma && is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            rows.push(("avx2", "f32", measure(8, || unsafe { x86::avx2_f32() })));
            rows.push(("avx2", "f64", measure(4, || unsafe { x86::avx2_f64() })));
        }
    }
    if json {
        let items: Vec<String> = rows
            .iter()
            .map(|(isa, t, g)| {
                format!("{{\"isa\": \"{isa}\", \"dtype\": \"{t}\", \"gflops\": {g:.2}}}")
            })
            .collect();
        println!("[{}]", items.join(", "));
    } else {
        println!("{:>8} {:>5} {:>12}", "isa", "dtype", "GFLOP/s/core");
        for (isa, t, g) in rows {
            println!("{isa:>8} {t:>5} {g:12.1}");
        }
    }
}
