//! Allegro's radial-chemical embedding (`edge_norm` + `radial_chemical_embed`): each edge's
//! length, normalised by its type pair's cutoff, expanded in the Bessel basis times the
//! polynomial cutoff, through a linear layer, then multiplied by the type embeddings of the
//! centre (first half) and the neighbour (second half).
use super::archive::{ArchiveError, LoadResult, Module};
use super::evaluate::{sized, Block, Edges};
use super::gemm::{whole, Epilogue};
use super::geometry::{bessel, polynomial_cutoff};
use super::isa::Isa;
use super::mlp::Linear;
use super::network::per_type;
use super::real::{cast, Real};

#[derive(Clone, Debug)]
pub struct RadialChemicalEmbed<T> {
    /// 1 / cutoff, one value or one per (centre type, neighbour type).
    pub rmax_recip: Vec<f64>,
    pub num_types: usize,
    pub bessel_weights: Vec<f64>,
    /// The Bessel weights are exactly 1, 2, .., B (nequip's default, not trained).
    pub bessel_integer: bool,
    pub cutoff_p: f64,
    /// Type embeddings (num_types x half).
    pub center_embed: Vec<T>,
    pub neighbor_embed: Vec<T>,
    pub half: usize,
    pub basis: Linear<T>,
}

/// The embedding's activations and gradients for one block.
#[derive(Default)]
pub struct RadialBuffers<T> {
    /// Bessel basis and its derivative per edge (f64).
    bes: Vec<f64>,
    dbes: Vec<f64>,
    /// Cutoff envelope and its derivative per edge.
    env: Vec<f64>,
    denv: Vec<f64>,
    /// Bessel basis times envelope, the linear layer's input.
    basis_in: Vec<T>,
    basis_out: Vec<T>,
    /// The edge embedding, `2 half` per edge.
    pub out: Vec<T>,
    /// dE/d(edge embedding), written by the next stage.
    pub d_out: Vec<T>,
    d_basis_out: Vec<T>,
    d_basis_in: Vec<T>,
}

impl<T: Real> RadialChemicalEmbed<T> {
    pub fn load(
        edge_norm: &Module,
        radial: &Module,
        num_types: usize,
    ) -> LoadResult<RadialChemicalEmbed<T>> {
        let rmax = edge_norm.tensor("_rmax_recip")?;
        let per_edge = edge_norm.bool("_per_edge_type")?;
        if (per_edge && rmax.data.len() != num_types * num_types)
            || (!per_edge && rmax.data.len() != 1)
        {
            return Err(ArchiveError::layout(
                "edge_norm._rmax_recip does not match the number of types",
            ));
        }
        let bessel = radial.child_of("bessel_encode", "BesselEdgeLengthEncoding")?;
        let bessel_weights = bessel.tensor("bessel_weights")?.data.clone();
        let cutoff = bessel.child_of("cutoff", "PolynomialCutoff")?;
        let type_embed = radial.child_of("type_embed", "ProductTypeEmbedding")?;
        let center = type_embed
            .child_of("center_embed", "Embedding")?
            .tensor("weight")?;
        let neighbor = type_embed
            .child_of("neighbor_embed", "Embedding")?
            .tensor("weight")?;
        let basis = Linear::load_single(&type_embed.child("basis_linear")?)?;
        let half = center.shape.get(1).copied().unwrap_or(0);
        if center.shape != [num_types, half]
            || neighbor.shape != [num_types, half]
            || basis.n_in != bessel_weights.len()
            || basis.n_out != 2 * half
        {
            return Err(ArchiveError::layout(
                "type embedding and radial basis sizes do not fit",
            ));
        }
        Ok(RadialChemicalEmbed {
            rmax_recip: rmax.data.clone(),
            num_types,
            bessel_integer: bessel_weights
                .iter()
                .enumerate()
                .all(|(n, &w)| w == (n + 1) as f64),
            bessel_weights,
            cutoff_p: cutoff.float("p")?,
            center_embed: cast(&center.data),
            neighbor_embed: cast(&neighbor.data),
            half,
            basis,
        })
    }

    /// Width of the edge embedding.
    pub fn width(&self) -> usize {
        2 * self.half
    }

    /// 1 / cutoff of an edge from type `ti` to type `tj`.
    pub fn rmax_recip(&self, ti: usize, tj: usize) -> f64 {
        per_type(&self.rmax_recip, ti * self.num_types + tj)
    }

    /// The edge embedding of every edge of the block, into `b.out`.
    #[inline(always)]
    pub fn forward(&self, isa: Isa, block: &Block, edges: &Edges, b: &mut RadialBuffers<T>) {
        let n = edges.len();
        let b_n = self.bessel_weights.len();
        b.bes.resize(n * b_n, 0.0);
        b.dbes.resize(n * b_n, 0.0);
        b.env.clear();
        b.denv.clear();
        sized(&mut b.basis_in, n * b_n);
        for e in 0..n {
            let ti = block.centre_types[edges.centre_of[e]];
            let x = edges.r[e] * self.rmax_recip(ti, block.neighbour_types[e]);
            let (bes, dbes) = (
                &mut b.bes[e * b_n..(e + 1) * b_n],
                &mut b.dbes[e * b_n..(e + 1) * b_n],
            );
            bessel(x, &self.bessel_weights, self.bessel_integer, bes, dbes);
            let (u, du) = polynomial_cutoff(x, self.cutoff_p);
            let uc = T::from_f64(u);
            for (o, &v) in b.basis_in[e * b_n..(e + 1) * b_n]
                .iter_mut()
                .zip(bes.iter())
            {
                *o = T::from_f64(v) * uc;
            }
            b.env.push(u);
            b.denv.push(du);
        }
        let c_n = self.width();
        sized(&mut b.basis_out, n * c_n);
        self.basis.forward(
            isa,
            n,
            &whole(&b.basis_in, b_n),
            &mut b.basis_out,
            c_n,
            Epilogue::Store,
        );
        self.type_product(block, edges, &b.basis_out, &mut b.out);
    }

    /// Given `b.d_out`, writes the radial part of dE/d(edge vector), `dE/dr * unit`, into `grad`.
    #[inline(always)]
    pub fn backward(
        &self,
        isa: Isa,
        block: &Block,
        edges: &Edges,
        b: &mut RadialBuffers<T>,
        grad: &mut [[f64; 3]],
    ) {
        let n = edges.len();
        let (b_n, c_n) = (self.bessel_weights.len(), self.width());
        // The type product is linear in its input: its backward is the same product.
        self.type_product(block, edges, &b.d_out, &mut b.d_basis_out);
        sized(&mut b.d_basis_in, n * b_n);
        self.basis.backward(
            isa,
            n,
            &whole(&b.d_basis_out, c_n),
            0,
            b_n,
            &mut b.d_basis_in,
            b_n,
            Epilogue::Store,
        );
        for e in 0..n {
            let ti = block.centre_types[edges.centre_of[e]];
            let rr = self.rmax_recip(ti, block.neighbour_types[e]);
            let uc = T::from_f64(b.env[e]);
            let mut d_env = T::ZERO;
            let mut dx = 0.0;
            let (g, bes, dbes) = (
                &b.d_basis_in[e * b_n..(e + 1) * b_n],
                &b.bes[e * b_n..(e + 1) * b_n],
                &b.dbes[e * b_n..(e + 1) * b_n],
            );
            for ((&g, &v), &dv) in g.iter().zip(bes).zip(dbes) {
                dx += (g * uc).to_f64() * dv;
                d_env += g * T::from_f64(v);
            }
            dx += d_env.to_f64() * b.denv[e];
            let dr = dx * rr;
            let u = edges.unit[e];
            grad[e] = [dr * u[0], dr * u[1], dr * u[2]];
        }
    }

    /// `out[e] = t_e (.) x[e]`, with `t_e` = [centre type embedding, neighbour type embedding].
    #[inline(always)]
    fn type_product(&self, block: &Block, edges: &Edges, x: &[T], out: &mut Vec<T>) {
        let h = self.half;
        sized(out, x.len());
        for ((row, x), (&c, &tj)) in out
            .chunks_exact_mut(2 * h)
            .zip(x.chunks_exact(2 * h))
            .zip(edges.centre_of.iter().zip(block.neighbour_types))
        {
            let ti = block.centre_types[c];
            let te = &self.center_embed[ti * h..(ti + 1) * h];
            let tn = &self.neighbor_embed[tj * h..(tj + 1) * h];
            let (r0, r1) = row.split_at_mut(h);
            let (x0, x1) = x.split_at(h);
            mul_into(r0, te, x0);
            mul_into(r1, tn, x1);
        }
    }
}

/// `out = a * b` elementwise, in chunks of 8 copied in and out (so that it vectorises for
/// rows of any length; a plain loop of length 16 ran scalar under a 64-wide unrolled plan).
#[inline(always)]
fn mul_into<T: Real>(out: &mut [T], a: &[T], b: &[T]) {
    let (oc, or) = out.as_chunks_mut::<8>();
    let (ac, ar) = a[..oc.len() * 8 + or.len()].as_chunks::<8>();
    let (bc, br) = b[..ac.len() * 8 + ar.len()].as_chunks::<8>();
    for ((o, &a), &b) in oc.iter_mut().zip(ac).zip(bc) {
        let mut v = [T::ZERO; 8];
        for l in 0..8 {
            v[l] = a[l] * b[l];
        }
        *o = v;
    }
    for ((o, &a), &b) in or.iter_mut().zip(ar).zip(br) {
        *o = a * b;
    }
}
