//! Forward and hand-written backward pass of the Allegro network over a block of centre atoms,
//! stage by stage (each stage's forward and backward live in its own module).
//!
//! Allegro is strictly local: the only coupling between edges is the environment sum of their
//! common centre atom. A block of whole centres is therefore evaluated exactly on its own, with
//! every activation kept in the stages' buffers for the backward pass. Per-edge rows are
//! laid out edge-major; tensor features as [edge][component][channel] (channels contiguous).
use super::allegro_layer::AllegroBuffers;
use super::isa::Isa;
use super::network::Network;
use super::radial_embed::RadialBuffers;
use super::readout::ReadoutBuffers;
use super::real::Real;
use super::tensor_embed::TensorEmbedBuffers;
use super::two_body::TwoBodyBuffers;

/// A block of centre atoms and their edges, grouped by centre.
pub struct Block<'a> {
    /// Model type of each centre.
    pub centre_types: &'a [usize],
    /// Edges of centre c are `offsets[c]..offsets[c + 1]`.
    pub offsets: &'a [usize],
    /// Model type of each edge's neighbour.
    pub neighbour_types: &'a [usize],
    /// Neighbour position minus centre position, per edge (Angstrom).
    pub vectors: &'a [[f64; 3]],
}

/// What every stage reads of an edge: its centre within the block, length and direction (f64).
#[derive(Default)]
pub struct Edges {
    pub centre_of: Vec<usize>,
    pub r: Vec<f64>,
    pub unit: Vec<[f64; 3]>,
}

impl Edges {
    fn fill(&mut self, block: &Block) {
        self.centre_of.clear();
        for (c, w) in block.offsets.windows(2).enumerate() {
            self.centre_of.extend(std::iter::repeat_n(c, w[1] - w[0]));
        }
        self.r.clear();
        self.unit.clear();
        for v in block.vectors {
            let r = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            let inv = 1.0 / r.max(1e-12);
            self.r.push(r);
            self.unit.push([v[0] * inv, v[1] * inv, v[2] * inv]);
        }
    }

    pub fn len(&self) -> usize {
        self.r.len()
    }
}

/// The buffers of one block, per stage, reused between calls.
#[derive(Default)]
pub struct Workspace<T> {
    edges: Edges,
    radial: RadialBuffers<T>,
    two_body: TwoBodyBuffers<T>,
    tensor_embed: TensorEmbedBuffers<T>,
    allegro: AllegroBuffers<T>,
    readout: ReadoutBuffers<T>,
}

/// Sets the length to `n` and zeroes it (accumulators).
pub fn zeroed<T: Real>(v: &mut Vec<T>, n: usize) {
    v.clear();
    v.resize(n, T::ZERO);
}

/// Sets the length to `n`, contents unspecified (buffers every element of which is written).
pub fn sized<T: Real>(v: &mut Vec<T>, n: usize) {
    v.resize(n, T::ZERO);
}

/// A buffer as chunks of `CH` (its length is a multiple of `CH` by construction).
#[inline(always)]
pub fn chunks<T, const CH: usize>(x: &[T]) -> &[[T; CH]] {
    let (c, rest) = x.as_chunks::<CH>();
    debug_assert!(rest.is_empty());
    c
}

#[inline(always)]
pub fn chunks_mut<T, const CH: usize>(x: &mut [T]) -> &mut [[T; CH]] {
    let (c, rest) = x.as_chunks_mut::<CH>();
    debug_assert!(rest.is_empty());
    c
}

/// The block evaluation compiled with the target features of one instruction set.
macro_rules! per_isa {
    ($name:ident, $features:literal) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $name(
            &self,
            ws: &mut Workspace<T>,
            block: &Block,
            energy: &mut [f64],
            grad: &mut [[f64; 3]],
        ) {
            self.evaluate_chunked(ws, block, energy, grad);
        }
    };
}

impl<T: Real> Network<T> {
    /// Evaluates the block: the energy of every centre (eV, with its scale and shift) and
    /// dE/d(vector) of every edge. Compiled once per instruction set, so that the elementwise
    /// loops vectorise as wide as the CPU allows (no FMA contraction there: the kernels of the
    /// dense products are where the instruction sets round differently).
    pub fn evaluate(
        &self,
        ws: &mut Workspace<T>,
        block: &Block,
        energy: &mut [f64],
        grad: &mut [[f64; 3]],
    ) {
        match self.isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the ISA was checked against the CPU when the model was loaded.
            Isa::Avx512 => unsafe { self.evaluate_avx512(ws, block, energy, grad) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Isa::Avx2 => unsafe { self.evaluate_avx2(ws, block, energy, grad) },
            _ => self.evaluate_chunked(ws, block, energy, grad),
        }
    }

    per_isa!(evaluate_avx512, "avx512f,fma");
    per_isa!(evaluate_avx2, "avx2,fma");

    /// Channels in chunks of 8 when every row width allows it, else one by one; the 8-channel
    /// case (one chunk per row) compiled on its own.
    #[inline(always)]
    fn evaluate_chunked(
        &self,
        ws: &mut Workspace<T>,
        block: &Block,
        energy: &mut [f64],
        grad: &mut [[f64; 3]],
    ) {
        let (s_n, u_n) = (self.allegro.num_scalar, self.allegro.num_tensor);
        let chunked = u_n.is_multiple_of(8) && s_n.is_multiple_of(8);
        match (chunked, u_n) {
            (true, 8) => self.evaluate_stages::<8, 1>(ws, block, energy, grad),
            (true, _) => self.evaluate_stages::<8, 0>(ws, block, energy, grad),
            _ => self.evaluate_stages::<1, 0>(ws, block, energy, grad),
        }
    }

    /// The stages in order, forward then backward.
    #[inline(always)]
    fn evaluate_stages<const CH: usize, const NQ: usize>(
        &self,
        ws: &mut Workspace<T>,
        block: &Block,
        energy: &mut [f64],
        grad: &mut [[f64; 3]],
    ) {
        let isa = self.isa;
        let (edges, radial, two_body, tensor, allegro, readout) = (
            &mut ws.edges,
            &mut ws.radial,
            &mut ws.two_body,
            &mut ws.tensor_embed,
            &mut ws.allegro,
            &mut ws.readout,
        );
        edges.fill(block);
        let n = edges.len();
        let te = &self.tensor_embed;

        self.radial.forward(isa, block, edges, radial);
        self.two_body.forward(isa, &radial.out, two_body);
        te.forward::<CH, NQ>(isa, edges, &two_body.out, tensor);
        let harmonics = (&tensor.sh[..], &te.irrep_of[..]);
        self.allegro.forward::<CH, NQ>(
            isa,
            block,
            edges,
            &two_body.out,
            harmonics,
            &tensor.out,
            allegro,
        );
        let x = self
            .allegro
            .scalar_blocks(allegro, self.allegro.layers.len());
        self.readout.forward(isa, block, &x, energy, readout);

        let mut dx = self.allegro.scalar_grads(allegro, n);
        self.readout.backward(isa, edges, readout, &mut dx);
        let mut d_sh = std::mem::take(&mut tensor.d_sh);
        self.allegro.backward::<CH, NQ>(
            isa,
            block,
            edges,
            (&tensor.sh, &te.irrep_of),
            &tensor.out,
            allegro,
            &mut d_sh,
            &mut two_body.d_out,
        );
        tensor.d_sh = d_sh;
        te.backward::<CH, NQ>(isa, self.allegro.d_v0(allegro), tensor, &mut two_body.d_out);
        self.two_body.backward(isa, two_body, &mut radial.d_out);
        self.radial.backward(isa, block, edges, radial, grad);
        te.harmonics_backward(edges, tensor, grad);
        if let Some(zbl) = &self.zbl {
            zbl.add(&self.radial, block, edges, energy, grad);
        }
    }
}

/// Each stage's backward pass against central differences of the energy, with the stages
/// after it run forward again: a wrong backward shows up at the first cut whose check fails.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::archive::Archive;
    use std::path::Path;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Where the forward pass restarts: the stage the perturbed buffer is the input of.
    #[derive(Clone, Copy, PartialEq, PartialOrd)]
    enum From {
        Edges,
        TwoBody,
        TensorEmbed,
        Allegro,
        Readout,
    }

    /// The total energy with the buffers before `from` as they are.
    fn energy_from(net: &Network<f64>, ws: &mut Workspace<f64>, block: &Block, from: From) -> f64 {
        let isa = net.isa;
        let mut energy = vec![0.0; block.centre_types.len()];
        if from <= From::Edges {
            ws.edges.fill(block);
            net.radial.forward(isa, block, &ws.edges, &mut ws.radial);
        }
        if from <= From::TwoBody {
            net.two_body.forward(isa, &ws.radial.out, &mut ws.two_body);
        }
        if from <= From::TensorEmbed {
            let te = &net.tensor_embed;
            te.forward::<1, 0>(isa, &ws.edges, &ws.two_body.out, &mut ws.tensor_embed);
        }
        if from <= From::Allegro {
            let t = &ws.tensor_embed;
            net.allegro.forward::<1, 0>(
                isa,
                block,
                &ws.edges,
                &ws.two_body.out,
                (&t.sh, &net.tensor_embed.irrep_of),
                &t.out,
                &mut ws.allegro,
            );
        }
        let x = net
            .allegro
            .scalar_blocks(&ws.allegro, net.allegro.layers.len());
        net.readout
            .forward(isa, block, &x, &mut energy, &mut ws.readout);
        if from <= From::Edges {
            if let Some(zbl) = &net.zbl {
                let mut grad = vec![[0.0; 3]; ws.edges.len()];
                zbl.add(&net.radial, block, &ws.edges, &mut energy, &mut grad);
            }
        }
        energy.iter().sum()
    }

    /// Compares `analytic[k]` with the central difference of the energy in `buffer(ws)[k]` for
    /// a sample of k.
    fn check(
        what: &str,
        net: &Network<f64>,
        ws: &mut Workspace<f64>,
        block: &Block,
        from: From,
        analytic: &[f64],
        buffer: fn(&mut Workspace<f64>) -> &mut [f64],
    ) {
        let scale = analytic.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        assert!(scale > 0.0, "{what}: the gradient is zero");
        let h = 1e-5;
        let step = (analytic.len() / 40).max(1);
        for k in (0..analytic.len()).step_by(step) {
            let x = buffer(ws)[k];
            buffer(ws)[k] = x + h;
            let plus = energy_from(net, ws, block, from);
            buffer(ws)[k] = x - h;
            let minus = energy_from(net, ws, block, from);
            buffer(ws)[k] = x;
            let fd = (plus - minus) / (2.0 * h);
            assert!(
                (fd - analytic[k]).abs() < 1e-6 * scale,
                "{what}[{k}] on {:?}: backward {} vs finite difference {fd}",
                net.isa,
                analytic[k]
            );
        }
        energy_from(net, ws, block, from);
    }

    fn stages_match_finite_differences(model: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/models")
            .join(model);
        let metadata = crate::model::Metadata::from_torchscript_archive(&path).unwrap();
        let archive = Archive::read(&path).unwrap();
        let types = metadata.num_types();
        let mut rng = Rng(11);
        // Three centres with 3, 5 and 4 edges, lengths 1.6 A .. 0.95 r_max.
        let offsets = [0, 3, 8, 12];
        let centre_types: Vec<usize> = (0..3)
            .map(|_| (rng.next() * types as f64) as usize)
            .collect();
        let neighbour_types: Vec<usize> = (0..12)
            .map(|_| (rng.next() * types as f64) as usize)
            .collect();
        let mut vectors = Vec::new();
        for _ in 0..12 {
            let d = [rng.next() - 0.5, rng.next() - 0.5, rng.next() - 0.5];
            let n = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            let r = 1.6 + rng.next() * (0.95 * metadata.r_max - 1.6);
            vectors.push(d.map(|x| x / n * r));
        }
        for isa in [Isa::Avx512, Isa::Avx2, Isa::Baseline] {
            if !isa.available() {
                continue;
            }
            let net = Network::<f64>::from_root(&archive.root, &archive.code, types, isa).unwrap();
            let mut ws = Workspace::default();
            let block = Block {
                centre_types: &centre_types,
                offsets: &offsets,
                neighbour_types: &neighbour_types,
                vectors: &vectors,
            };
            energy_from(&net, &mut ws, &block, From::Edges);
            let n = ws.edges.len();
            let (al, te) = (&net.allegro, &net.tensor_embed);

            // Readout: dE/dx^l, each checked through the buffer it is read from.
            let mut dx = al.scalar_grads(&mut ws.allegro, n);
            net.readout
                .backward(isa, &ws.edges, &mut ws.readout, &mut dx);
            let dx: Vec<Vec<f64>> = ws.allegro.grads.dx.clone();
            let s_n = al.num_scalar;
            let widths: Vec<usize> = std::iter::once(al.proj.n_out)
                .chain(al.layers.iter().map(|l| l.mlp.n_out()))
                .collect();
            for (l, dx) in dx.iter().enumerate() {
                // dE/d(whole row) with zeros beyond the scalars: the readout reads only those.
                let mut full = vec![0.0; n * widths[l]];
                for e in 0..n {
                    full[e * widths[l]..e * widths[l] + s_n]
                        .copy_from_slice(&dx[e * s_n..(e + 1) * s_n]);
                }
                let buffer: fn(&mut Workspace<f64>) -> &mut [f64] = match l {
                    0 => |ws| &mut ws.allegro.proj,
                    1 => |ws| &mut ws.allegro.layers[0].latent,
                    2 => |ws| &mut ws.allegro.layers[1].latent,
                    _ => |ws| &mut ws.allegro.layers[2].latent,
                };
                check(
                    "readout dE/dx",
                    &net,
                    &mut ws,
                    &block,
                    From::Readout,
                    &full,
                    buffer,
                );
            }

            // Allegro layers alone: dE/d(two-body scalars), dE/dY and dE/dV^0.
            let mut ws2 = Workspace::default();
            energy_from(&net, &mut ws2, &block, From::Edges);
            let mut dx = al.scalar_grads(&mut ws2.allegro, n);
            net.readout
                .backward(isa, &ws2.edges, &mut ws2.readout, &mut dx);
            let mut d_sh = vec![0.0; ws2.tensor_embed.sh.len()];
            let mut d_scalars = Vec::new();
            let t = &ws2.tensor_embed;
            al.backward::<1, 0>(
                isa,
                &block,
                &ws2.edges,
                (&t.sh, &te.irrep_of),
                &t.out,
                &mut ws2.allegro,
                &mut d_sh,
                &mut d_scalars,
            );
            let d_v0 = al.d_v0(&ws2.allegro).to_vec();
            check(
                "allegro dE/dV0",
                &net,
                &mut ws2,
                &block,
                From::Allegro,
                &d_v0,
                |ws| &mut ws.tensor_embed.out,
            );
            check(
                "allegro dE/dY",
                &net,
                &mut ws2,
                &block,
                From::Allegro,
                &d_sh,
                |ws| &mut ws.tensor_embed.sh,
            );
            check(
                "allegro dE/dh",
                &net,
                &mut ws2,
                &block,
                From::Allegro,
                &d_scalars,
                |ws| &mut ws.two_body.out,
            );

            // Tensor embedding: everything downstream of the two-body scalars.
            let mut ws3 = Workspace::default();
            let mut energy = vec![0.0; 3];
            let mut grad = vec![[0.0; 3]; n];
            net.evaluate(&mut ws3, &block, &mut energy, &mut grad);
            let d_h = ws3.two_body.d_out.clone();
            let d_e = ws3.radial.d_out.clone();
            check(
                "tensor embed dE/dh",
                &net,
                &mut ws3,
                &block,
                From::TensorEmbed,
                &d_h,
                |ws| &mut ws.two_body.out,
            );
            // Two-body MLP: dE/d(radial-chemical embedding).
            check(
                "two-body dE/d(embedding)",
                &net,
                &mut ws3,
                &block,
                From::TwoBody,
                &d_e,
                |ws| &mut ws.radial.out,
            );
            // Radial embedding, harmonics and ZBL: dE/d(edge vectors).
            let flat: Vec<f64> = grad.iter().flatten().copied().collect();
            let h = 1e-5;
            for (k, &g) in flat.iter().enumerate() {
                let mut at = |dx: f64| {
                    let mut v = vectors.clone();
                    v[k / 3][k % 3] += dx;
                    let moved = Block {
                        vectors: &v,
                        ..block
                    };
                    energy_from(&net, &mut ws3, &moved, From::Edges)
                };
                let fd = (at(h) - at(-h)) / (2.0 * h);
                assert!(
                    (fd - g).abs() < 1e-6 * (1.0 + g.abs()),
                    "dE/dr[{k}] on {isa:?}: {g} vs {fd}"
                );
            }
        }
    }

    #[test]
    fn stages_of_the_test_model_match_finite_differences() {
        stages_match_finite_differences("allegro_float64.nequip.pth");
    }

    #[test]
    fn stages_of_the_l2_model_match_finite_differences() {
        stages_match_finite_differences("allegro_l2_float64.nequip.pth");
    }

    #[test]
    fn stages_of_the_zbl_model_match_finite_differences() {
        stages_match_finite_differences("allegro_zbl_float64.nequip.pth");
    }
}
