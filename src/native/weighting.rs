//! MakeWeightedChannels and the environment sum: spherical-harmonic component m of an edge
//! times a per-edge weight of its irrep (one per channel), for the initial tensor features
//! (per edge) and for the environment of each layer (summed over the edges of a centre).
//!
//! Weights are rows of a dense layer's output, read in place: `w[e * ldq + ..]` in chunks of
//! `CH` channels, [irrep][channel] (the columns were reordered so at load).
use super::archive::{ArchiveError, LoadResult, Module};
use super::real::Real;

/// MakeWeightedChannels: multiplies spherical-harmonic component m by a per-edge weight, one
/// per (channel, irrep) (`individual`) or one per channel times a constant `alpha`.
#[derive(Clone, Debug)]
pub struct Weighter<T> {
    pub individual: bool,
    pub alpha: T,
    /// Weights per edge: channels x irreps, or channels.
    pub width: usize,
    /// Channels.
    pub mul: usize,
}

impl<T: Real> Weighter<T> {
    /// Offset of the channel weights of irrep `irrep`. The linear layers producing individual
    /// weights have their columns reordered at load from nequip's [channel][irrep] to
    /// [irrep][channel], so that the channels of one irrep are contiguous.
    #[inline(always)]
    pub fn offset(&self, irrep: usize) -> usize {
        if self.individual {
            irrep * self.mul
        } else {
            0
        }
    }

    /// Column order [irrep][channel] as a permutation of nequip's [channel][irrep].
    pub fn irrep_major(&self) -> Option<Vec<usize>> {
        let n_irreps = self.width / self.mul;
        self.individual.then(|| {
            (0..self.width)
                .map(|p| (p % self.mul) * n_irreps + p / self.mul)
                .collect()
        })
    }

    /// Whether the width is one weight per channel (and irrep, of `n_irreps`, when individual).
    pub fn fits(&self, n_irreps: usize) -> bool {
        self.width == self.mul * if self.individual { n_irreps } else { 1 }
    }

    /// A MakeWeightedChannels and, when it weights irreps individually, its 0/1 map from irreps
    /// to spherical-harmonic components (`_rtoi`, n_irreps x dim) as the irrep of each component.
    pub fn load(m: &Module) -> LoadResult<(Weighter<T>, Option<Vec<usize>>)> {
        m.expect_class(&["MakeWeightedChannels"])?;
        let mul = m.int("multiplicity_out")? as usize;
        if !m.bool("weight_individual_irreps")? {
            let w = Weighter {
                individual: false,
                alpha: T::from_f64(m.float("alpha")?),
                width: mul,
                mul,
            };
            return Ok((w, None));
        }
        let rtoi = m.tensor("_rtoi")?;
        let [n_irreps, dim] = rtoi.shape[..] else {
            return Err(ArchiveError::layout(format!(
                "{}: _rtoi is not a matrix",
                m.path
            )));
        };
        let mut irrep_of = vec![usize::MAX; dim];
        for r in 0..n_irreps {
            for c in 0..dim {
                let v = rtoi.data[r * dim + c];
                if v == 1.0 && irrep_of[c] == usize::MAX {
                    irrep_of[c] = r;
                } else if v != 0.0 {
                    return Err(ArchiveError::layout(format!(
                        "{}: _rtoi is not a 0/1 assignment",
                        m.path
                    )));
                }
            }
        }
        if irrep_of.contains(&usize::MAX) {
            return Err(ArchiveError::layout(format!(
                "{}: _rtoi leaves a component out",
                m.path
            )));
        }
        let w = Weighter {
            individual: true,
            alpha: T::ONE,
            width: mul * n_irreps,
            mul,
        };
        Ok((w, Some(irrep_of)))
    }
}

/// `sum a * b` over chunks, lanes added in a fixed order at the end.
#[inline(always)]
fn dot<T: Real, const CH: usize>(a: &[[T; CH]], b: &[[T; CH]]) -> T {
    let mut acc = [T::ZERO; CH];
    for (&a, &b) in a.iter().zip(b) {
        for l in 0..CH {
            acc[l] += a[l] * b[l];
        }
    }
    let mut sum = T::ZERO;
    for x in acc {
        sum += x;
    }
    sum
}

/// Chunks of `CH` channels per feature row: `NQ` when it is known when compiling (the common
/// 8-channel models: 1), else computed from the channel count (`NQ` = 0).
#[inline(always)]
pub fn row_chunks<const CH: usize, const NQ: usize>(channels: usize) -> usize {
    if NQ == 0 {
        channels / CH
    } else {
        NQ
    }
}

/// `o + s * g` lane by lane, on copies (so that it vectorises whatever the buffers alias).
#[inline(always)]
fn add_scaled<T: Real, const CH: usize>(o: [T; CH], s: T, g: [T; CH]) -> [T; CH] {
    let mut o = o;
    for l in 0..CH {
        o[l] += s * g[l];
    }
    o
}

/// The inputs every weighting reads: harmonics (edge-major, `d` per edge), the component ->
/// irrep map and the weight rows.
pub struct Weights<'a, T, const CH: usize> {
    pub sh: &'a [T],
    pub irrep_of: &'a [usize],
    pub w: &'a [[T; CH]],
    /// Row stride of `w`, in chunks.
    pub ldq: usize,
}

impl<T: Real> Weighter<T> {
    /// Offset, in chunks, of one irrep's weights within a weight row.
    #[inline(always)]
    fn chunk_offset<const CH: usize>(&self, irrep: usize) -> usize {
        self.offset(irrep) / CH
    }

    /// `out[e][m] = Y[e][m] alpha w[e](irrep(m))` for every edge.
    #[inline(always)]
    pub fn weight<const CH: usize, const NQ: usize>(
        &self,
        x: &Weights<T, CH>,
        out: &mut [[T; CH]],
    ) {
        let d = x.irrep_of.len();
        let nq = row_chunks::<CH, NQ>(self.mul);
        for (e, out) in out.chunks_exact_mut(d * nq).enumerate() {
            let w = &x.w[e * x.ldq..];
            for (m, row) in out.chunks_exact_mut(nq).enumerate() {
                let off = self.chunk_offset::<CH>(x.irrep_of[m]);
                let s = x.sh[e * d + m] * self.alpha;
                for (o, &w) in row.iter_mut().zip(&w[off..off + nq]) {
                    *o = w.map(|w| s * w);
                }
            }
        }
    }

    /// Backward of [`Weighter::weight`] given `g = dE/dout`: writes `dw` (rows of
    /// `self.width / CH` chunks) and adds to `dsh`.
    #[inline(always)]
    pub fn weight_backward<const CH: usize, const NQ: usize>(
        &self,
        x: &Weights<T, CH>,
        g: &[[T; CH]],
        dw: &mut [[T; CH]],
        dsh: &mut [T],
    ) {
        let d = x.irrep_of.len();
        let nq = row_chunks::<CH, NQ>(self.mul);
        let wq = self.width / CH;
        for (e, g) in g.chunks_exact(d * nq).enumerate() {
            let w = &x.w[e * x.ldq..];
            let dw = &mut dw[e * wq..(e + 1) * wq];
            dw.fill([T::ZERO; CH]);
            for (m, g) in g.chunks_exact(nq).enumerate() {
                let off = self.chunk_offset::<CH>(x.irrep_of[m]);
                let s = x.sh[e * d + m] * self.alpha;
                for (o, &g) in dw[off..off + nq].iter_mut().zip(g) {
                    *o = add_scaled(*o, s, g);
                }
                dsh[e * d + m] += dot(g, &w[off..off + nq]) * self.alpha;
            }
        }
    }

    /// The environment sums `A[c][m] = norm[c] sum_{e of c} Y[e][m] alpha w[e](irrep(m))`.
    #[inline(always)]
    pub fn sum_to_centres<const CH: usize, const NQ: usize>(
        &self,
        x: &Weights<T, CH>,
        centre_of: &[usize],
        norm: &[T],
        a: &mut [[T; CH]],
    ) {
        let d = x.irrep_of.len();
        let nq = row_chunks::<CH, NQ>(self.mul);
        a.fill([T::ZERO; CH]);
        for (e, &c) in centre_of.iter().enumerate() {
            let w = &x.w[e * x.ldq..];
            let out = &mut a[c * d * nq..(c + 1) * d * nq];
            for (m, row) in out.chunks_exact_mut(nq).enumerate() {
                let off = self.chunk_offset::<CH>(x.irrep_of[m]);
                let s = x.sh[e * d + m] * self.alpha;
                for (o, &w) in row.iter_mut().zip(&w[off..off + nq]) {
                    *o = add_scaled(*o, s, w);
                }
            }
        }
        for (row, &norm) in a.chunks_exact_mut(d * nq).zip(norm) {
            for o in row {
                *o = o.map(|x| x * norm);
            }
        }
    }

    /// Backward of [`Weighter::sum_to_centres`] given `da = dE/dA` per centre: writes `dw`
    /// per edge and adds to `dsh`.
    #[inline(always)]
    pub fn sum_backward<const CH: usize, const NQ: usize>(
        &self,
        x: &Weights<T, CH>,
        centre_of: &[usize],
        norm: &[T],
        da: &[[T; CH]],
        dw: &mut [[T; CH]],
        dsh: &mut [T],
    ) {
        let d = x.irrep_of.len();
        let nq = row_chunks::<CH, NQ>(self.mul);
        let wq = self.width / CH;
        for (e, &c) in centre_of.iter().enumerate() {
            let w = &x.w[e * x.ldq..];
            let da = &da[c * d * nq..(c + 1) * d * nq];
            let dw = &mut dw[e * wq..(e + 1) * wq];
            dw.fill([T::ZERO; CH]);
            for (m, dam) in da.chunks_exact(nq).enumerate() {
                let off = self.chunk_offset::<CH>(x.irrep_of[m]);
                let s = x.sh[e * d + m] * self.alpha * norm[c];
                for (o, &g) in dw[off..off + nq].iter_mut().zip(dam) {
                    *o = add_scaled(*o, s, g);
                }
                dsh[e * d + m] += dot(dam, &w[off..off + nq]) * norm[c] * self.alpha;
            }
        }
    }
}
