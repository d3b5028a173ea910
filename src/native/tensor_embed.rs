//! Allegro's tensor embedding (`tensor_embed`): each edge's spherical harmonics Y(unit vector),
//! weighted per channel and irrep by a linear layer of its two-body scalar features, are the
//! initial tensor features V^0[e][m][u] = Y[e][m] w[e](u, irrep(m)).
use super::archive::{ArchiveError, LoadResult, Module};
use super::evaluate::{chunks, chunks_mut, sized, zeroed, Edges};
use super::gemm::{whole, Epilogue};
use super::geometry::{spherical_harmonics, spherical_harmonics_grad, MAX_L};
use super::isa::Isa;
use super::mlp::Linear;
use super::real::Real;
use super::weighting::{Weighter, Weights};

#[derive(Clone, Debug)]
pub struct TensorEmbed<T> {
    pub l_max: usize,
    /// For every spherical-harmonic component, the index of its irrep (degree).
    pub irrep_of: Vec<usize>,
    pub weighter: Weighter<T>,
    /// Two-body scalars -> channel weights, columns [irrep][channel].
    pub linear: Linear<T>,
}

#[derive(Default)]
pub struct TensorEmbedBuffers<T> {
    /// Spherical harmonics per edge, `(l_max + 1)^2` components.
    pub sh: Vec<T>,
    /// dE/dY, summed over this stage and every layer's environment sum.
    pub d_sh: Vec<T>,
    weights: Vec<T>,
    d_weights: Vec<T>,
    /// V^0, [edge][component][channel].
    pub out: Vec<T>,
}

impl<T: Real> TensorEmbed<T> {
    pub fn load(tensor_embed: &Module) -> LoadResult<TensorEmbed<T>> {
        let sh = tensor_embed.child_of("sh", "SphericalHarmonics")?;
        let l_max = sh.int("_lmax")? as usize;
        if l_max > MAX_L {
            return Err(ArchiveError::NotImplemented(format!(
                "l_max {l_max} (the native engine implements l_max <= {MAX_L})"
            )));
        }
        if !sh.bool("normalize")?
            || sh.string("normalization")? != "component"
            || !sh.bool("_is_range_lmax")?
        {
            return Err(ArchiveError::NotImplemented(
                "spherical harmonics other than normalised, component-normalised 0..l_max".into(),
            ));
        }
        let (weighter, stored) = Weighter::load(&tensor_embed.child("_edge_weighter")?)?;
        // The component -> irrep map follows from l_max; a stored one must agree.
        let dim = (l_max + 1) * (l_max + 1);
        let irrep_of: Vec<usize> = (0..dim).map(|m| (m as f64).sqrt() as usize).collect();
        if stored.is_some_and(|map| map != irrep_of) {
            return Err(ArchiveError::layout("_rtoi does not match l_max"));
        }
        let mut linear = Linear::load_single(&tensor_embed.child("env_embed_linear")?)?;
        if linear.n_out != weighter.width || !weighter.fits(l_max + 1) {
            return Err(ArchiveError::layout("tensor embedding sizes do not chain"));
        }
        if let Some(perm) = weighter.irrep_major() {
            linear.permute_outputs(0, &perm);
        }
        Ok(TensorEmbed {
            l_max,
            irrep_of,
            weighter,
            linear,
        })
    }

    /// Components of the harmonics.
    pub fn dim(&self) -> usize {
        self.irrep_of.len()
    }

    fn weights<'a, const CH: usize>(&'a self, b: &'a TensorEmbedBuffers<T>) -> Weights<'a, T, CH> {
        Weights {
            sh: &b.sh,
            irrep_of: &self.irrep_of,
            w: chunks::<T, CH>(&b.weights),
            ldq: self.weighter.width / CH,
        }
    }

    /// Harmonics and V^0 of every edge from the two-body features `scalars`.
    #[inline(always)]
    pub fn forward<const CH: usize, const NQ: usize>(
        &self,
        isa: Isa,
        edges: &Edges,
        scalars: &[T],
        b: &mut TensorEmbedBuffers<T>,
    ) {
        let (n, d) = (edges.len(), self.dim());
        sized(&mut b.sh, n * d);
        let mut y = [0.0; 16];
        for (sh, &unit) in b.sh.chunks_exact_mut(d).zip(&edges.unit) {
            spherical_harmonics(self.l_max, unit, &mut y);
            for (s, &ym) in sh.iter_mut().zip(&y) {
                *s = T::from_f64(ym);
            }
        }
        // Every layer's backward adds to dE/dY.
        zeroed(&mut b.d_sh, n * d);
        let width = self.weighter.width;
        sized(&mut b.weights, n * width);
        let n_in = self.linear.n_in;
        self.linear.forward(
            isa,
            n,
            &whole(scalars, n_in),
            &mut b.weights,
            width,
            Epilogue::Store,
        );
        sized(&mut b.out, n * d * self.weighter.mul);
        let mut out = std::mem::take(&mut b.out);
        self.weighter
            .weight::<CH, NQ>(&self.weights::<CH>(b), chunks_mut(&mut out));
        b.out = out;
    }

    /// Given dE/dV^0, adds dE/d(scalars) to `d_scalars` and dE/dY to `b.d_sh`.
    #[inline(always)]
    pub fn backward<const CH: usize, const NQ: usize>(
        &self,
        isa: Isa,
        d_out: &[T],
        b: &mut TensorEmbedBuffers<T>,
        d_scalars: &mut [T],
    ) {
        let n = b.sh.len() / self.dim();
        let width = self.weighter.width;
        let mut d_weights = std::mem::take(&mut b.d_weights);
        let mut d_sh = std::mem::take(&mut b.d_sh);
        sized(&mut d_weights, n * width);
        self.weighter.weight_backward::<CH, NQ>(
            &self.weights::<CH>(b),
            chunks(d_out),
            chunks_mut(&mut d_weights),
            &mut d_sh,
        );
        let n_in = self.linear.n_in;
        self.linear.backward(
            isa,
            n,
            &whole(&d_weights, width),
            0,
            n_in,
            d_scalars,
            n_in,
            Epilogue::Add,
        );
        b.d_weights = d_weights;
        b.d_sh = d_sh;
    }

    /// Adds the angular part of dE/d(edge vector), from `b.d_sh`, to `grad`.
    #[inline(always)]
    pub fn harmonics_backward(
        &self,
        edges: &Edges,
        b: &TensorEmbedBuffers<T>,
        grad: &mut [[f64; 3]],
    ) {
        let d = self.dim();
        let mut g64 = [0.0; 16];
        for (e, g) in grad.iter_mut().enumerate() {
            for (o, &g) in g64.iter_mut().zip(&b.d_sh[e * d..(e + 1) * d]) {
                *o = g.to_f64();
            }
            let u = edges.unit[e];
            let gu = spherical_harmonics_grad(self.l_max, u, &g64[..d]);
            // Only the part of dE/d(unit) orthogonal to the unit vector changes its direction.
            let radial = gu[0] * u[0] + gu[1] * u[1] + gu[2] * u[2];
            let inv = 1.0 / edges.r[e].max(1e-12);
            for k in 0..3 {
                g[k] += (gu[k] - u[k] * radial) * inv;
            }
        }
    }
}
