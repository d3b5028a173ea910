//! Allegro's two-body scalar embedding (`scalar_embed_mlp`): an MLP from each edge's
//! radial-chemical embedding to its first scalar latent features, which the tensor embedding
//! and the first layer's projection read.
use super::archive::{LoadResult, Module};
use super::evaluate::sized;
use super::gemm::whole;
use super::isa::Isa;
use super::mlp::{Mlp, MlpCache, OutBlock};
use super::real::Real;

#[derive(Clone, Debug)]
pub struct TwoBodyEmbed<T> {
    pub mlp: Mlp<T>,
}

#[derive(Default)]
pub struct TwoBodyBuffers<T> {
    cache: MlpCache<T>,
    /// The two-body scalar features per edge.
    pub out: Vec<T>,
    /// dE/d(features), written by the stages that read them.
    pub d_out: Vec<T>,
}

impl<T: Real> TwoBodyEmbed<T> {
    pub fn load(scalar_embed: &Module) -> LoadResult<TwoBodyEmbed<T>> {
        Ok(TwoBodyEmbed {
            mlp: Mlp::load(&scalar_embed.child("mlp_module")?)?,
        })
    }

    #[inline(always)]
    pub fn forward(&self, isa: Isa, x: &[T], b: &mut TwoBodyBuffers<T>) {
        let rows = x.len() / self.mlp.n_in();
        let width = self.mlp.n_out();
        sized(&mut b.out, rows * width);
        self.mlp.forward(
            isa,
            rows,
            &whole(x, self.mlp.n_in()),
            &mut b.out,
            width,
            &mut b.cache,
        );
    }

    /// Given `b.d_out`, writes dE/d(input) into `dx`.
    #[inline(always)]
    pub fn backward(&self, isa: Isa, b: &mut TwoBodyBuffers<T>, dx: &mut Vec<T>) {
        let (n_in, width) = (self.mlp.n_in(), self.mlp.n_out());
        let rows = b.d_out.len() / width;
        sized(dx, rows * n_in);
        let mut dx = [OutBlock {
            data: &mut dx[..],
            ld: n_in,
            cols: n_in,
            add: false,
        }];
        self.mlp
            .backward(isa, rows, &whole(&b.d_out, width), &mut dx, &mut b.cache);
    }
}
