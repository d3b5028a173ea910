//! GFLOP/s of one core on the engine's product shapes: rows = a block of edges (256), K x N
//! of each dense layer of the shipped model (forward, and backward as dy @ W^T) and of the
//! paper-size model. Columns: the engine's kernels (AVX-512, AVX2, with the layer's epilogue:
//! SiLU for hidden layers forward, the stored SiLU derivative backward), matrixmultiply 0.3.11
//! and gemm 0.19 (both without epilogue), and the best as a fraction of the measured peak.
//! `cargo run --release --manifest-path bench/gemm-shapes/Cargo.toml [-- PEAK_GFLOPS]`
use allegro::kernels::{gemm, Epilogue, Operand};
use allegro::Isa;
use std::time::Instant;

const ROWS: usize = 256;

/// (what, K, N, SiLU epilogue)
const SHAPES: &[(&str, usize, usize, bool)] = &[
    ("shipped basis 8->32", 8, 32, false),
    ("shipped scalar MLP 32->32", 32, 32, true),
    ("shipped env embed 32->16", 32, 16, false),
    ("shipped projection 32->48", 32, 48, false),
    ("shipped latent 0 40->32", 40, 32, true),
    ("shipped latent 0 32->48", 32, 48, false),
    ("shipped latent 1 72->32", 72, 32, true),
    ("shipped readout 96->32", 96, 32, true),
    ("shipped readout 32->1", 32, 1, false),
    ("shipped bwd readout 32->96", 32, 96, false),
    ("shipped bwd latent 32->72", 32, 72, false),
    ("shipped bwd proj 64->32", 64, 32, false),
    ("paper two-body 128->256", 128, 256, true),
    ("paper latent 1056->512", 1056, 512, true),
    ("paper latent 512->512", 512, 512, false),
    ("paper bwd latent 512->1056", 512, 1056, false),
];

fn fill(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
        })
        .collect()
}

/// Best seconds per call of `f` over repeated calls (about 0.2 s of work).
fn time(mut f: impl FnMut()) -> f64 {
    f();
    let t0 = Instant::now();
    let mut calls = 0;
    while t0.elapsed().as_secs_f64() < 0.05 {
        f();
        calls += 1;
    }
    let reps = (calls / 5).max(1);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    best
}

fn main() {
    let peak: Option<f64> = std::env::args().nth(1).and_then(|a| a.parse().ok());
    println!(
        "{:30} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "shape (256 rows)", "ours-512", "ours-avx2", "matmul", "gemm", "% peak"
    );
    println!("{:30} {:>9} {:>9} {:>9} {:>9} {:>7}", "", "GFLOP/s", "GFLOP/s", "GFLOP/s", "GFLOP/s", "ours");
    for &(what, k, n, silu) in SHAPES {
        let a = fill(ROWS * k, 1);
        let b = fill(k * n, 2);
        let mut c = vec![0.0f32; ROWS * n];
        let mut d = vec![0.0f32; ROWS * n];
        let flops = 2.0 * (ROWS * k * n) as f64;
        let mut ours = |isa: Isa| {
            if !isa.available() {
                return f64::NAN;
            }
            let ops = [Operand::new(&a[..], k, k)];
            flops
                / time(|| {
                    let ep = if silu { Epilogue::Silu(&mut d[..]) } else { Epilogue::Store };
                    gemm(isa, ROWS, &ops, &b, n, n, &mut c, n, ep)
                })
                / 1e9
        };
        let (o512, o2) = (ours(Isa::Avx512), ours(Isa::Avx2));
        let mm = flops
            / time(|| unsafe {
                // SAFETY: every matrix is as large as its dimensions and strides say.
                matrixmultiply::sgemm(
                    ROWS, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), n as isize, 1, 0.0,
                    c.as_mut_ptr(), n as isize, 1,
                )
            })
            / 1e9;
        let gm = flops
            / time(|| unsafe {
                // SAFETY: as above (gemm's column-major convention: strides given explicitly).
                gemm::gemm(
                    ROWS, n, k, c.as_mut_ptr(), 1, n as isize, false, a.as_ptr(), 1, k as isize,
                    b.as_ptr(), 1, n as isize, 0.0, 1.0, false, false, false, gemm::Parallelism::None,
                )
            })
            / 1e9;
        let best = if o512.is_nan() { o2 } else { o512 };
        let pct = peak.map_or("-".into(), |p| format!("{:.0}%", 100.0 * best / p));
        println!("{what:30} {o512:9.1} {o2:9.1} {mm:9.1} {gm:9.1} {pct:>7}");
    }
}
