//! The engine's dense products, for its own shapes: a block of edges (a few hundred rows) times
//! a weight matrix of 8..512 rows and 1..512 columns, with the epilogue of the layer fused.
//!
//! `C (rows x n) = [A_1 | A_2 | ..] @ B`: the left operand is a list of column blocks read in
//! place (a concatenated MLP input is never copied together), row-major with their own row
//! strides; `B` is row-major (the weights, laid out once at load). No packing per call: each
//! register tile broadcasts one element of A per row and multiplies a row of B held in vector
//! registers, so the activations are read straight from the block's buffers.
//!
//! One micro-kernel, written once over a small vector abstraction ([`Lanes`]) and compiled per
//! instruction set: AVX-512 (16 f32 / 8 f64 lanes, 32 registers), AVX2 + FMA (8 / 4 lanes, 16
//! registers) and a portable baseline without FMA. Every output element sums its products in
//! the same order (A's columns in turn) on every path, so AVX-512 and AVX2 products agree bit
//! for bit (the SiLU's reciprocal starts from a 14-bit estimate on one, a 12-bit one on the
//! other, so activations may differ in the last bit); the baseline rounds each product
//! separately. Nothing depends on the thread count.
use super::isa::Isa;
use super::real::Real;

/// A column block of the left operand: `rows x cols`, element (r, k) at `data[r * ld + k]`.
#[derive(Clone, Copy)]
pub struct Operand<'a, T> {
    /// The elements, row-major with stride `ld`.
    pub data: &'a [T],
    /// Row stride (leading dimension) of `data`.
    pub ld: usize,
    /// Columns of this block.
    pub cols: usize,
}

impl<'a, T> Operand<'a, T> {
    /// A block of `cols` columns of rows `ld` apart.
    pub fn new(data: &'a [T], ld: usize, cols: usize) -> Operand<'a, T> {
        Operand { data, ld, cols }
    }
}

/// A buffer of rows of width `w` as one operand block.
pub fn whole<T>(x: &[T], w: usize) -> [Operand<'_, T>; 1] {
    [Operand::new(x, w, w)]
}

/// What the product does with each output element `z` (extra buffers share C's layout).
pub enum Epilogue<'a, T> {
    /// `C = z`
    Store,
    /// `C += z`
    Add,
    /// `C = silu(z) = z sigmoid(z)` and `deriv = silu'(z) = s (1 + z (1 - s))`, `s = sigmoid(z)`.
    Silu(&'a mut [T]),
    /// `C = z * scale` (the backward pass through a SiLU: `scale` is its stored derivative).
    Scale(&'a [T]),
}

/// The arguments of one product, checked, as the kernels read them.
pub struct Raw<'a, T> {
    rows: usize,
    a: &'a [Operand<'a, T>],
    b: *const T,
    ldb: usize,
    n: usize,
    c: *mut T,
    ldc: usize,
    ep: RawEpilogue<T>,
    /// Add the product to what C holds before the epilogue (the later blocks of a split K).
    preload: bool,
}

/// Depth of one pass over B: a panel of 4 vectors x 128 rows of f32 (32 KB) stays in L1 while
/// every row tile streams past it; deeper products (paper-size layers) run in several passes.
const KC: usize = 128;

#[derive(Clone, Copy)]
enum RawEpilogue<T> {
    Store,
    Add,
    Silu(*mut T),
    Scale(*const T),
}

/// Whether a `rows x cols` matrix with row stride `ld` fits in `len` elements.
fn fits(len: usize, rows: usize, ld: usize, cols: usize) -> bool {
    rows == 0 || cols == 0 || (cols <= ld || rows == 1) && (rows - 1) * ld + cols <= len
}

/// `C (rows x n, row stride ldc) = [A_1 | A_2 | ..] @ B (K x n, row stride ldb)` followed by
/// the epilogue, with K the total width of the operands. Panics when a buffer is too short
/// (a bug of the caller, never of the input).
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Real>(
    isa: Isa,
    rows: usize,
    a: &[Operand<'_, T>],
    b: &[T],
    ldb: usize,
    n: usize,
    c: &mut [T],
    ldc: usize,
    ep: Epilogue<'_, T>,
) {
    if rows == 0 || n == 0 {
        return;
    }
    let k: usize = a.iter().map(|o| o.cols).sum();
    for o in a {
        assert!(
            fits(o.data.len(), rows, o.ld, o.cols),
            "gemm: A block too short"
        );
    }
    assert!(fits(b.len(), k, ldb, n), "gemm: B too short");
    assert!(fits(c.len(), rows, ldc, n), "gemm: C too short");
    let ep = match ep {
        Epilogue::Store => RawEpilogue::Store,
        Epilogue::Add => RawEpilogue::Add,
        Epilogue::Silu(d) => {
            assert!(
                fits(d.len(), rows, ldc, n),
                "gemm: SiLU derivative too short"
            );
            RawEpilogue::Silu(d.as_mut_ptr())
        }
        Epilogue::Scale(s) => {
            assert!(fits(s.len(), rows, ldc, n), "gemm: scale too short");
            RawEpilogue::Scale(s.as_ptr())
        }
    };
    if k <= KC {
        let raw = Raw {
            rows,
            a,
            b: b.as_ptr(),
            ldb,
            n,
            c: c.as_mut_ptr(),
            ldc,
            ep,
            preload: false,
        };
        // SAFETY: every buffer was checked above to hold the elements the product touches,
        // and `T::gemm_kernel` runs the kernels of `isa` only when the CPU has them (checked
        // at load).
        unsafe { T::gemm_kernel(isa, &raw) };
        return;
    }
    // Passes of at most KC columns of A (rows of B): the first stores (or adds), the middle
    // ones add, the last adds and applies the epilogue.
    let mut passes: Vec<Vec<Operand<'_, T>>> = vec![Vec::new()];
    let mut width = 0;
    for o in a {
        let mut from = 0;
        while from < o.cols {
            if width == KC {
                passes.push(Vec::new());
                width = 0;
            }
            let w = (o.cols - from).min(KC - width);
            if let Some(pass) = passes.last_mut() {
                pass.push(Operand::new(&o.data[from..], o.ld, w));
            }
            width += w;
            from += w;
        }
    }
    let mut done = 0;
    let count = passes.len();
    for (p, pieces) in passes.iter().enumerate() {
        let (first, last) = (p == 0, p + 1 == count);
        let raw = Raw {
            rows,
            a: pieces,
            b: b[done * ldb..].as_ptr(),
            ldb,
            n,
            c: c.as_mut_ptr(),
            ldc,
            ep: pass_epilogue(ep, first, last),
            preload: last && !first && !matches!(ep, RawEpilogue::Add),
        };
        // SAFETY: as above; the pieces are sub-blocks of checked operands and B's rows from
        // `done` on lie inside the checked B.
        unsafe { T::gemm_kernel(isa, &raw) };
        done += pieces.iter().map(|o| o.cols).sum::<usize>();
    }
}

/// The epilogue of one pass of a split product.
fn pass_epilogue<T>(ep: RawEpilogue<T>, first: bool, last: bool) -> RawEpilogue<T> {
    match (first, last, ep) {
        (_, _, RawEpilogue::Add) => RawEpilogue::Add,
        (_, true, ep) => ep,
        (true, false, _) => RawEpilogue::Store,
        (false, false, _) => RawEpilogue::Add,
    }
}

/// A vector of `N` lanes of `T` and the operations the micro-kernel needs.
pub trait Lanes: Copy {
    type T: Real;
    const N: usize;
    /// 32 vector registers (tiles may be twice as large) rather than 16.
    const WIDE: bool;
    type Mask: Copy;
    unsafe fn mask(valid: usize) -> Self::Mask;
    unsafe fn zero() -> Self;
    unsafe fn splat(x: Self::T) -> Self;
    unsafe fn load(p: *const Self::T) -> Self;
    unsafe fn load_masked(p: *const Self::T, m: Self::Mask) -> Self;
    unsafe fn store(self, p: *mut Self::T);
    unsafe fn store_masked(self, p: *mut Self::T, m: Self::Mask);
    /// `a * b + c`
    unsafe fn fma(a: Self, b: Self, c: Self) -> Self;
    unsafe fn add(a: Self, b: Self) -> Self;
    unsafe fn mul(a: Self, b: Self) -> Self;
    unsafe fn sub(a: Self, b: Self) -> Self;
    unsafe fn div(a: Self, b: Self) -> Self;
    /// `1 / x` to the type's precision (f32: the hardware estimate refined by one Newton
    /// step, a division costs as much as a tile's worth of FMAs).
    #[inline(always)]
    unsafe fn recip(x: Self) -> Self {
        Self::div(Self::splat(Real::ONE), x)
    }
    /// `exp(-x)`, as [`Real::exp_neg`] per lane.
    unsafe fn exp_neg(self) -> Self;
}

/// Loads (masked on the panel's last vector when it is partial) and stores of one tile row.
#[inline(always)]
unsafe fn load_at<V: Lanes, const MASKED: bool>(
    p: *const V::T,
    v: usize,
    last: usize,
    m: V::Mask,
) -> V {
    if MASKED && v == last {
        V::load_masked(p, m)
    } else {
        V::load(p)
    }
}

#[inline(always)]
unsafe fn store_at<V: Lanes, const MASKED: bool>(
    x: V,
    p: *mut V::T,
    v: usize,
    last: usize,
    m: V::Mask,
) {
    if MASKED && v == last {
        x.store_masked(p, m)
    } else {
        x.store(p)
    }
}

/// One register tile: rows `r0..r0 + MR`, vectors `NV` of the columns from `col0`.
#[inline(always)]
unsafe fn tile<V: Lanes, const NV: usize, const MR: usize, const MASKED: bool>(
    g: &Raw<V::T>,
    r0: usize,
    col0: usize,
    m: V::Mask,
) {
    let last = NV - 1;
    let mut acc = [[V::zero(); NV]; MR];
    let mut bp = g.b.add(col0);
    for seg in g.a {
        let ap = seg.data.as_ptr().add(r0 * seg.ld);
        for k in 0..seg.cols {
            let mut bv = [V::zero(); NV];
            for (v, b) in bv.iter_mut().enumerate() {
                *b = load_at::<V, MASKED>(bp.add(v * V::N), v, last, m);
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let a = V::splat(*ap.add(i * seg.ld + k));
                for (x, &b) in row.iter_mut().zip(&bv) {
                    *x = V::fma(a, b, *x);
                }
            }
            bp = bp.add(g.ldb);
        }
    }
    // The epilogue indexes its tile at run time; reading it from a copy keeps `acc` itself in
    // registers through the loop above (indexing `acc` directly made the compiler spill every
    // accumulator on every step of k).
    let mut out = [[V::zero(); NV]; MR];
    for i in 0..MR {
        for v in 0..NV {
            out[i][v] = acc[i][v];
        }
    }
    let one = V::splat(Real::ONE);
    for (i, row) in out.iter().enumerate() {
        let off = (r0 + i) * g.ldc + col0;
        for (v, &z) in row.iter().enumerate() {
            let o = off + v * V::N;
            let c = g.c.add(o);
            let z = if g.preload {
                V::add(load_at::<V, MASKED>(c, v, last, m), z)
            } else {
                z
            };
            match g.ep {
                RawEpilogue::Store => store_at::<V, MASKED>(z, c, v, last, m),
                RawEpilogue::Add => {
                    let old = load_at::<V, MASKED>(c, v, last, m);
                    store_at::<V, MASKED>(V::add(old, z), c, v, last, m)
                }
                RawEpilogue::Silu(d) => {
                    let s = V::recip(V::add(one, z.exp_neg()));
                    store_at::<V, MASKED>(V::mul(z, s), c, v, last, m);
                    let ds = V::mul(s, V::fma(z, V::sub(one, s), one));
                    store_at::<V, MASKED>(ds, d.add(o), v, last, m);
                }
                RawEpilogue::Scale(s) => {
                    let s = load_at::<V, MASKED>(s.add(o), v, last, m);
                    store_at::<V, MASKED>(V::mul(z, s), c, v, last, m)
                }
            }
        }
    }
}

/// All rows of one column panel of `NV` vectors: tiles of `MR` rows, then of 4, then single rows.
#[inline(always)]
unsafe fn panel<V: Lanes, const NV: usize, const MR: usize>(
    g: &Raw<V::T>,
    col0: usize,
    valid: usize,
) {
    let m = V::mask(valid);
    let masked = valid < V::N;
    let mut r = 0;
    while r + MR <= g.rows {
        if masked {
            tile::<V, NV, MR, true>(g, r, col0, m)
        } else {
            tile::<V, NV, MR, false>(g, r, col0, m)
        }
        r += MR;
    }
    while r + 4 <= g.rows {
        if masked {
            tile::<V, NV, 4, true>(g, r, col0, m)
        } else {
            tile::<V, NV, 4, false>(g, r, col0, m)
        }
        r += 4;
    }
    while r < g.rows {
        if masked {
            tile::<V, NV, 1, true>(g, r, col0, m)
        } else {
            tile::<V, NV, 1, false>(g, r, col0, m)
        }
        r += 1;
    }
}
/// The whole product: column panels of up to 4 vectors (3 with 16 registers), each with the
/// largest tile that keeps its accumulators, one row of B and the broadcast in registers.
#[inline(always)]
pub unsafe fn driver<V: Lanes>(g: &Raw<V::T>) {
    let nvec = g.n.div_ceil(V::N);
    let widest = if V::WIDE { 4 } else { 3 };
    let mut v0 = 0;
    while v0 < nvec {
        let left = nvec - v0;
        // Even panels: 5 vectors as 3 + 2 rather than 4 + 1.
        let nv = if left <= widest {
            left
        } else if left < 2 * widest {
            left.div_ceil(2)
        } else {
            widest
        };
        let col0 = v0 * V::N;
        let valid = (g.n - col0).min(nv * V::N) - (nv - 1) * V::N;
        match (V::WIDE, nv) {
            (true, 1) => panel::<V, 1, 16>(g, col0, valid),
            (true, 2) => panel::<V, 2, 12>(g, col0, valid),
            (true, 3) => panel::<V, 3, 8>(g, col0, valid),
            (true, _) => panel::<V, 4, 6>(g, col0, valid),
            (false, 1) => panel::<V, 1, 12>(g, col0, valid),
            (false, 2) => panel::<V, 2, 6>(g, col0, valid),
            (false, _) => panel::<V, 3, 4>(g, col0, valid),
        }
        v0 += nv;
    }
}

/// The portable baseline: 8 lanes as a plain array (the compiler vectorises what it can for
/// the CPU it targets), multiply and add rounded separately.
#[derive(Clone, Copy)]
pub struct Base<T>([T; 8]);

impl<T: Real> Lanes for Base<T> {
    type T = T;
    const N: usize = 8;
    const WIDE: bool = false;
    type Mask = usize;
    #[inline(always)]
    unsafe fn mask(valid: usize) -> usize {
        valid
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        Base([T::ZERO; 8])
    }
    #[inline(always)]
    unsafe fn splat(x: T) -> Self {
        Base([x; 8])
    }
    #[inline(always)]
    unsafe fn load(p: *const T) -> Self {
        Base(std::ptr::read_unaligned(p as *const [T; 8]))
    }
    #[inline(always)]
    unsafe fn load_masked(p: *const T, m: usize) -> Self {
        let mut x = [T::ZERO; 8];
        std::ptr::copy_nonoverlapping(p, x.as_mut_ptr(), m);
        Base(x)
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut T) {
        std::ptr::write_unaligned(p as *mut [T; 8], self.0)
    }
    #[inline(always)]
    unsafe fn store_masked(self, p: *mut T, m: usize) {
        std::ptr::copy_nonoverlapping(self.0.as_ptr(), p, m);
    }
    #[inline(always)]
    unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
        Base(std::array::from_fn(|i| a.0[i] * b.0[i] + c.0[i]))
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        Base(std::array::from_fn(|i| a.0[i] + b.0[i]))
    }
    #[inline(always)]
    unsafe fn mul(a: Self, b: Self) -> Self {
        Base(std::array::from_fn(|i| a.0[i] * b.0[i]))
    }
    #[inline(always)]
    unsafe fn sub(a: Self, b: Self) -> Self {
        Base(std::array::from_fn(|i| a.0[i] - b.0[i]))
    }
    #[inline(always)]
    unsafe fn div(a: Self, b: Self) -> Self {
        Base(std::array::from_fn(|i| a.0[i] / b.0[i]))
    }
    #[inline(always)]
    unsafe fn exp_neg(self) -> Self {
        Base(self.0.map(|x| x.exp_neg()))
    }
}

#[cfg(target_arch = "x86_64")]
pub mod x86 {
    //! The AVX-512 and AVX2 + FMA vectors, and the products compiled for each.
    use super::{driver, Lanes, Raw};
    use std::arch::x86_64::*;

    /// The constants of [`crate::native::real::exp_f32`], for the vector versions.
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const MAGIC: f32 = 12582912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const P: [f32; 6] = [
        1.987_569_1e-4,
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ];

    macro_rules! lanes {
        ($name:ident, $t:ty, $n:expr, $wide:expr, $reg:ty, $mask:ty, $feat:literal,
         mask: $maskf:expr, zero: $zero:path, splat: $splat:path, load: $load:path,
         load_masked: $loadm:expr, store: $store:path, store_masked: $storem:expr,
         fma: $fma:path, add: $add:path, mul: $mul:path, sub: $sub:path, div: $div:path,
         exp_neg: $exp:expr $(, recip: $recip:expr)?) => {
            #[derive(Clone, Copy)]
            pub struct $name($reg);
            impl Lanes for $name {
                type T = $t;
                const N: usize = $n;
                const WIDE: bool = $wide;
                type Mask = $mask;
                #[inline(always)]
                unsafe fn mask(valid: usize) -> $mask {
                    $maskf(valid)
                }
                #[inline(always)]
                unsafe fn zero() -> Self {
                    $name($zero())
                }
                #[inline(always)]
                unsafe fn splat(x: $t) -> Self {
                    $name($splat(x))
                }
                #[inline(always)]
                unsafe fn load(p: *const $t) -> Self {
                    $name($load(p))
                }
                #[inline(always)]
                unsafe fn load_masked(p: *const $t, m: $mask) -> Self {
                    $name($loadm(p, m))
                }
                #[inline(always)]
                unsafe fn store(self, p: *mut $t) {
                    $store(p, self.0)
                }
                #[inline(always)]
                unsafe fn store_masked(self, p: *mut $t, m: $mask) {
                    $storem(p, m, self.0)
                }
                #[inline(always)]
                unsafe fn fma(a: Self, b: Self, c: Self) -> Self {
                    $name($fma(a.0, b.0, c.0))
                }
                #[inline(always)]
                unsafe fn add(a: Self, b: Self) -> Self {
                    $name($add(a.0, b.0))
                }
                #[inline(always)]
                unsafe fn mul(a: Self, b: Self) -> Self {
                    $name($mul(a.0, b.0))
                }
                #[inline(always)]
                unsafe fn sub(a: Self, b: Self) -> Self {
                    $name($sub(a.0, b.0))
                }
                #[inline(always)]
                unsafe fn div(a: Self, b: Self) -> Self {
                    $name($div(a.0, b.0))
                }
                #[inline(always)]
                unsafe fn exp_neg(self) -> Self {
                    $name($exp(self.0))
                }
                $(
                #[inline(always)]
                unsafe fn recip(x: Self) -> Self {
                    $name($recip(x.0))
                }
                )?
            }
        };
    }

    /// `e^(x - n ln 2)` for integer-valued `n` (|x - n ln 2| <= ln 2 / 2): `exp_f32`'s
    /// two-part reduction and polynomial, with FMAs; the caller scales by 2^n.
    #[inline(always)]
    unsafe fn exp_reduced<V: Lanes<T = f32>>(x: V, n: V) -> V {
        let f = V::fma(n, V::splat(-LN2_HI), x);
        let f = V::fma(n, V::splat(-LN2_LO), f);
        let mut p = V::splat(P[0]);
        for &c in &P[1..] {
            p = V::fma(p, f, V::splat(c));
        }
        V::fma(V::mul(p, f), f, V::add(f, V::splat(1.0)))
    }

    /// exp(-x) of 16 f32 lanes: the reduction and polynomial of `exp_f32`, with FMAs, the
    /// rounding by `vrndscaleps` and the scaling by 2^n by `vscalefps` (no integer tricks).
    #[inline(always)]
    unsafe fn exp_neg_z16(x: __m512) -> __m512 {
        let x = _mm512_min_ps(
            _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), x), _mm512_set1_ps(-87.0)),
            _mm512_set1_ps(88.0),
        );
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm512_mul_ps(x, _mm512_set1_ps(LOG2E)),
        );
        let e = exp_reduced(Z16(x), Z16(n)).0;
        _mm512_scalef_ps(e, n)
    }

    /// exp(-x) of 8 f32 lanes, as [`exp_neg_z16`].
    #[inline(always)]
    unsafe fn exp_neg_y8(x: __m256) -> __m256 {
        let x = _mm256_min_ps(
            _mm256_max_ps(_mm256_sub_ps(_mm256_setzero_ps(), x), _mm256_set1_ps(-87.0)),
            _mm256_set1_ps(88.0),
        );
        let t = _mm256_fmadd_ps(x, _mm256_set1_ps(LOG2E), _mm256_set1_ps(MAGIC));
        let n = _mm256_sub_ps(t, _mm256_set1_ps(MAGIC));
        let e = exp_reduced(Y8(x), Y8(n)).0;
        let k = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B40_0000));
        let scale = _mm256_slli_epi32::<23>(_mm256_add_epi32(k, _mm256_set1_epi32(127)));
        _mm256_mul_ps(e, _mm256_castsi256_ps(scale))
    }

    /// 1/x of 16 f32 lanes: the 14-bit estimate and one Newton step (relative error ~1e-8).
    #[inline(always)]
    unsafe fn recip_z16(x: __m512) -> __m512 {
        let r = _mm512_rcp14_ps(x);
        _mm512_mul_ps(r, _mm512_fnmadd_ps(x, r, _mm512_set1_ps(2.0)))
    }

    /// 1/x of 8 f32 lanes: the 12-bit estimate and one Newton step (relative error ~1e-7).
    #[inline(always)]
    unsafe fn recip_y8(x: __m256) -> __m256 {
        let r = _mm256_rcp_ps(x);
        _mm256_mul_ps(r, _mm256_fnmadd_ps(x, r, _mm256_set1_ps(2.0)))
    }

    /// exp(-x) of f64 lanes through libm: float64 models keep its accuracy.
    macro_rules! exp_neg_f64 {
        ($name:ident, $reg:ty, $n:expr, $load:path, $store:path) => {
            #[inline(always)]
            unsafe fn $name(x: $reg) -> $reg {
                let mut v = [0.0f64; $n];
                $store(v.as_mut_ptr(), x);
                for e in &mut v {
                    *e = (-*e).exp();
                }
                $load(v.as_ptr())
            }
        };
    }
    exp_neg_f64!(exp_neg_z8, __m512d, 8, _mm512_loadu_pd, _mm512_storeu_pd);
    exp_neg_f64!(exp_neg_y4, __m256d, 4, _mm256_loadu_pd, _mm256_storeu_pd);

    #[inline(always)]
    unsafe fn mask8_i32(valid: usize) -> __m256i {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(valid as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }

    #[inline(always)]
    unsafe fn mask4_i64(valid: usize) -> __m256i {
        _mm256_cmpgt_epi64(
            _mm256_set1_epi64x(valid as i64),
            _mm256_setr_epi64x(0, 1, 2, 3),
        )
    }

    lanes!(Z16, f32, 16, true, __m512, __mmask16, "avx512f",
        mask: |v: usize| ((1u32 << v) - 1) as __mmask16,
        zero: _mm512_setzero_ps, splat: _mm512_set1_ps, load: _mm512_loadu_ps,
        load_masked: |p, m| _mm512_maskz_loadu_ps(m, p), store: _mm512_storeu_ps,
        store_masked: _mm512_mask_storeu_ps,
        fma: _mm512_fmadd_ps, add: _mm512_add_ps, mul: _mm512_mul_ps, sub: _mm512_sub_ps,
        div: _mm512_div_ps, exp_neg: exp_neg_z16, recip: recip_z16);
    lanes!(Z8, f64, 8, true, __m512d, __mmask8, "avx512f",
        mask: |v: usize| ((1u32 << v) - 1) as __mmask8,
        zero: _mm512_setzero_pd, splat: _mm512_set1_pd, load: _mm512_loadu_pd,
        load_masked: |p, m| _mm512_maskz_loadu_pd(m, p), store: _mm512_storeu_pd,
        store_masked: _mm512_mask_storeu_pd,
        fma: _mm512_fmadd_pd, add: _mm512_add_pd, mul: _mm512_mul_pd, sub: _mm512_sub_pd,
        div: _mm512_div_pd, exp_neg: exp_neg_z8);
    lanes!(Y8, f32, 8, false, __m256, __m256i, "avx2",
        mask: mask8_i32,
        zero: _mm256_setzero_ps, splat: _mm256_set1_ps, load: _mm256_loadu_ps,
        load_masked: |p, m| _mm256_maskload_ps(p, m), store: _mm256_storeu_ps,
        store_masked: _mm256_maskstore_ps,
        fma: _mm256_fmadd_ps, add: _mm256_add_ps, mul: _mm256_mul_ps, sub: _mm256_sub_ps,
        div: _mm256_div_ps, exp_neg: exp_neg_y8, recip: recip_y8);
    lanes!(Y4, f64, 4, false, __m256d, __m256i, "avx2",
        mask: mask4_i64,
        zero: _mm256_setzero_pd, splat: _mm256_set1_pd, load: _mm256_loadu_pd,
        load_masked: |p, m| _mm256_maskload_pd(p, m), store: _mm256_storeu_pd,
        store_masked: _mm256_maskstore_pd,
        fma: _mm256_fmadd_pd, add: _mm256_add_pd, mul: _mm256_mul_pd, sub: _mm256_sub_pd,
        div: _mm256_div_pd, exp_neg: exp_neg_y4);

    /// The product compiled for one instruction set and float type.
    macro_rules! product {
        ($name:ident, $t:ty, $lanes:ty, $features:literal) => {
            /// # Safety
            #[doc = concat!("The CPU must have ", $features, "; `g` must be a checked [`Raw`].")]
            #[target_feature(enable = $features)]
            pub unsafe fn $name(g: &Raw<$t>) {
                driver::<$lanes>(g)
            }
        };
    }
    product!(avx512_f32, f32, Z16, "avx512f,fma");
    product!(avx512_f64, f64, Z8, "avx512f,fma");
    product!(avx2_f32, f32, Y8, "avx2,fma");
    product!(avx2_f64, f64, Y4, "avx2,fma");
}

/// The naive product the kernels are tested against (f64 accumulation, every epilogue).
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
pub fn reference<T: Real>(
    rows: usize,
    a: &[Operand<'_, T>],
    b: &[T],
    ldb: usize,
    n: usize,
    c: &mut [T],
    ldc: usize,
    ep: Epilogue<'_, T>,
) {
    let mut ep = ep;
    for r in 0..rows {
        for j in 0..n {
            let mut z = 0.0;
            let mut k0 = 0;
            for o in a {
                for k in 0..o.cols {
                    z += o.data[r * o.ld + k].to_f64() * b[(k0 + k) * ldb + j].to_f64();
                }
                k0 += o.cols;
            }
            let at = r * ldc + j;
            match &mut ep {
                Epilogue::Store => c[at] = T::from_f64(z),
                Epilogue::Add => c[at] = T::from_f64(c[at].to_f64() + z),
                Epilogue::Silu(d) => {
                    let s = 1.0 / (1.0 + (-z).exp());
                    c[at] = T::from_f64(z * s);
                    d[at] = T::from_f64(s * (1.0 + z * (1.0 - s)));
                }
                Epilogue::Scale(s) => c[at] = T::from_f64(z * s[at].to_f64()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rand_vec(seed: &mut u64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| {
                *seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((*seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 4.0
            })
            .collect()
    }

    fn isas() -> Vec<Isa> {
        [Isa::Avx512, Isa::Avx2, Isa::Baseline]
            .into_iter()
            .filter(|i| i.available())
            .collect()
    }

    /// Every instruction set, epilogue and the shapes that exercise partial panels, partial
    /// row tiles, several operand blocks and row strides wider than the rows.
    fn check<T: Real>(tol: f64) {
        let mut seed = 11;
        for &(rows, ks, n) in &[
            (1usize, &[1usize][..], 1usize),
            (7, &[8][..], 32),
            (29, &[32][..], 48),
            (13, &[32, 32, 8][..], 32),
            (31, &[96][..], 1),
            (5, &[1][..], 96),
            (40, &[17, 3][..], 71),
            (6, &[40][..], 112),
            (3, &[5][..], 300),
            // Deeper than one pass (KC), cut inside and across blocks.
            (9, &[100, 200][..], 40),
            (17, &[300][..], 20),
            (5, &[128, 128][..], 16),
        ] {
            let k: usize = ks.iter().sum();
            let pad = 3;
            let blocks: Vec<Vec<T>> = ks
                .iter()
                .map(|&kc| {
                    rand_vec(&mut seed, rows * (kc + pad))
                        .into_iter()
                        .map(T::from_f64)
                        .collect()
                })
                .collect();
            let ops: Vec<Operand<T>> = blocks
                .iter()
                .zip(ks)
                .map(|(d, &kc)| Operand::new(d, kc + pad, kc))
                .collect();
            let ldb = n + 2;
            let b: Vec<T> = rand_vec(&mut seed, k * ldb)
                .into_iter()
                .map(|x| T::from_f64(x / (k as f64).sqrt()))
                .collect();
            let ldc = n + 1;
            let start: Vec<T> = rand_vec(&mut seed, rows * ldc)
                .into_iter()
                .map(T::from_f64)
                .collect();
            for isa in isas() {
                for which in 0..4 {
                    let (mut c, mut want) = (start.clone(), start.clone());
                    let (mut d, mut want_d) = (start.clone(), start.clone());
                    let scale = start.clone();
                    let (ep, ep_ref) = match which {
                        0 => (Epilogue::Store, Epilogue::Store),
                        1 => (Epilogue::Add, Epilogue::Add),
                        2 => (Epilogue::Silu(&mut d[..]), Epilogue::Silu(&mut want_d[..])),
                        _ => (Epilogue::Scale(&scale[..]), Epilogue::Scale(&scale[..])),
                    };
                    gemm(isa, rows, &ops, &b, ldb, n, &mut c, ldc, ep);
                    reference(rows, &ops, &b, ldb, n, &mut want, ldc, ep_ref);
                    for (i, (x, y)) in c.iter().zip(&want).enumerate() {
                        let (x, y) = (x.to_f64(), y.to_f64());
                        let inside = i % ldc < n;
                        // Elements outside the product (padding columns) stay untouched.
                        let ok = if inside {
                            (x - y).abs() <= tol * (1.0 + y.abs())
                        } else {
                            x == y
                        };
                        assert!(
                            ok,
                            "{isa:?} rows {rows} k {ks:?} n {n} epilogue {which} at {i}: {x} vs {y}"
                        );
                    }
                    if which == 2 {
                        for (x, y) in d.iter().zip(&want_d) {
                            assert!(
                                (x.to_f64() - y.to_f64()).abs() <= tol * (1.0 + y.to_f64().abs())
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_isa_matches_the_naive_product_f64() {
        check::<f64>(1e-13);
    }

    #[test]
    fn every_isa_matches_the_naive_product_f32() {
        check::<f32>(2e-5);
    }

    /// AVX-512 and AVX2 sum in the same order with the same FMAs: equal bit for bit.
    #[test]
    fn avx512_and_avx2_agree_bitwise() {
        if !(Isa::Avx512.available() && Isa::Avx2.available()) {
            return;
        }
        let mut seed = 3;
        let (rows, k, n) = (37, 72, 32);
        let a: Vec<f32> = rand_vec(&mut seed, rows * k)
            .iter()
            .map(|&x| x as f32)
            .collect();
        let b: Vec<f32> = rand_vec(&mut seed, k * n)
            .iter()
            .map(|&x| x as f32)
            .collect();
        let ops = [Operand::new(&a[..], k, k)];
        let mut out = Vec::new();
        for isa in [Isa::Avx512, Isa::Avx2] {
            let mut c = vec![0.0f32; rows * n];
            gemm(isa, rows, &ops, &b, n, n, &mut c, n, Epilogue::Store);
            let mut d = vec![0.5f32; rows * n];
            gemm(isa, rows, &ops, &b, n, n, &mut d, n, Epilogue::Add);
            out.push((c, d));
        }
        assert!(out[0] == out[1]);
    }
}
