//! Allegro's layers (`allegro`): the two-body scalars are projected to [x^0, environment
//! weights of layer 0]; then, per layer l, the environment sum A^l of each centre (harmonics
//! weighted by the layer's environment weights, summed over the centre's edges), the tensor
//! product V^{l+1} = TP(V^l, A^l) per edge, and the latent MLP of [x^0 .. x^l, scalars of
//! V^{l+1}] to [x^{l+1}, environment weights of layer l + 1].
use super::archive::{ArchiveError, LoadResult, Module};
use super::evaluate::{chunks, chunks_mut, sized, zeroed, Block, Edges};
use super::gemm::{whole, Epilogue, Operand};
use super::isa::Isa;
use super::mlp::{Linear, Mlp, MlpCache, OutBlock};
use super::network::per_type;
use super::real::{cast, Real};
use super::tensor_product::TensorProduct;
use super::weighting::{Weighter, Weights};

#[derive(Clone, Debug)]
pub struct AllegroLayer<T> {
    pub tp: TensorProduct<T>,
    /// [x^0 .. x^l, scalars of V^{l+1}] -> [x^{l+1}, environment weights of layer l + 1].
    pub mlp: Mlp<T>,
}

#[derive(Clone, Debug)]
pub struct Allegro<T> {
    pub num_scalar: usize,
    pub num_tensor: usize,
    /// Two-body scalars -> [x^0, environment weights of layer 0].
    pub proj: Linear<T>,
    pub weighter: Weighter<T>,
    /// 1/sqrt(avg_num_neighbors) of the environment sums: one value or one per centre type.
    pub norm: Vec<T>,
    pub layers: Vec<AllegroLayer<T>>,
}

/// One layer's activations.
#[derive(Default)]
pub struct LayerBuffers<T> {
    /// Environment sums, [centre][component][channel].
    a: Vec<T>,
    /// V^{l+1}, [edge][component][channel].
    v: Vec<T>,
    /// The latent MLP's output: [x^{l+1}, environment weights of layer l + 1].
    pub(super) latent: Vec<T>,
    cache: MlpCache<T>,
}

/// Gradients flowing back through the layers.
#[derive(Default)]
pub struct LayerGrads<T> {
    /// dE/dx^l of every scalar block x^0 .. x^L (the readout writes them).
    pub dx: Vec<Vec<T>>,
    /// dE/dV^{l+1} (into layer l) and dE/dV^l (out of it); dE/dV^0 at the end.
    d_v_out: Vec<T>,
    d_v_in: Vec<T>,
    d_a: Vec<T>,
    /// dE/d(environment weights) of layer l (out) and of layer l + 1 (in).
    d_env: Vec<T>,
    d_env_next: Vec<T>,
}

#[derive(Default)]
pub struct AllegroBuffers<T> {
    centre_norm: Vec<T>,
    /// [x^0, environment weights of layer 0] per edge.
    pub(super) proj: Vec<T>,
    pub(super) layers: Vec<LayerBuffers<T>>,
    pub grads: LayerGrads<T>,
}

/// `1/sqrt(avg_num_neighbors)` of an AvgNumNeighborsNorm: one value or one per type.
pub fn avg_num_neighbors_norm<T: Real>(m: &Module, num_types: usize) -> LoadResult<Vec<T>> {
    m.expect_class(&["AvgNumNeighborsNorm"])?;
    let c = m.tensor("norm_const")?;
    let shortcut = m.bool("norm_shortcut")?;
    match (shortcut, c.data.len()) {
        (true, 1) => Ok(cast(&c.data)),
        (false, n) if n == num_types => Ok(cast(&c.data)),
        _ => Err(ArchiveError::layout(format!(
            "{}: norm_const has {} values (norm_shortcut {shortcut})",
            m.path,
            c.data.len()
        ))),
    }
}

impl<T: Real> Allegro<T> {
    /// The Allegro_Module for harmonics of `irrep_of` (component -> irrep).
    pub fn load(m: &Module, irrep_of: &[usize], num_types: usize) -> LoadResult<Allegro<T>> {
        let num_scalar = m.int("num_scalar_features")? as usize;
        let num_tensor = m.int("num_tensor_features")? as usize;
        let num_layers = m.int("num_layers")? as usize;
        let (weighter, stored) = Weighter::load(&m.child("_env_weighter")?)?;
        if stored.is_some_and(|map| map != irrep_of) {
            return Err(ArchiveError::layout(
                "the two MakeWeightedChannels disagree",
            ));
        }
        let n_irreps = irrep_of.last().map_or(0, |&i| i + 1);
        let mut proj = Linear::load_single(&m.child("first_layer_env_embed_projection")?)?;
        if num_layers == 0
            || !weighter.fits(n_irreps)
            || weighter.mul != num_tensor
            || proj.n_out != num_scalar + weighter.width
        {
            return Err(ArchiveError::layout("Allegro module sizes do not chain"));
        }
        let norm = avg_num_neighbors_norm(&m.child("avg_num_neighbors_norm")?, num_types)?;
        let n_scalar_outs = m.ints("_n_scalar_outs")?;
        let latents = m.child_of("latents", "ModuleList")?.numbered_children()?;
        let tps = m.child_of("tps", "ModuleList")?.numbered_children()?;
        if latents.len() != num_layers
            || tps.len() != num_layers
            || n_scalar_outs.len() != num_layers
        {
            return Err(ArchiveError::layout(
                "num_layers does not match the latent MLPs and tensor products",
            ));
        }
        let mut layers: Vec<AllegroLayer<T>> = Vec::new();
        for l in 0..num_layers {
            let tp = TensorProduct::load(&tps[l], n_scalar_outs[l] as usize)?;
            let mlp = Mlp::load(&latents[l])?;
            let want_in = num_scalar * (l + 1) + tp.mul * tp.n_scalar_out;
            let want_out = num_scalar
                + if l + 1 < num_layers {
                    weighter.width
                } else {
                    0
                };
            let want_d1 = layers.last().map_or(irrep_of.len(), |p| p.tp.dout);
            if tp.mul != num_tensor
                || tp.d2 != irrep_of.len()
                || tp.d1 != want_d1
                || mlp.n_in() != want_in
                || mlp.n_out() != want_out
            {
                return Err(ArchiveError::layout(format!(
                    "layer {l}: sizes do not chain (tensor product {}x{}x{} for {} channels, \
                     MLP {} -> {}; expected {want_d1}x{}, {num_tensor} channels, MLP {want_in} -> {want_out})",
                    tp.d1,
                    tp.d2,
                    tp.dout,
                    tp.mul,
                    mlp.n_in(),
                    mlp.n_out(),
                    irrep_of.len()
                )));
            }
            layers.push(AllegroLayer { tp, mlp });
        }
        // Channel-contiguous layouts for the hot loops: environment weights as [irrep][channel]
        // (see Weighter::offset), tensor-product scalars fed to the latent MLPs as
        // [component][channel]. Only the order of weight columns/rows changes, not the maths.
        if let Some(perm) = weighter.irrep_major() {
            proj.permute_outputs(num_scalar, &perm);
            for layer in &mut layers[..num_layers - 1] {
                let last = layer.mlp.layers.last_mut().unwrap();
                last.permute_outputs(num_scalar, &perm);
            }
        }
        for (l, layer) in layers.iter_mut().enumerate() {
            let nso = layer.tp.n_scalar_out;
            let perm: Vec<usize> = (0..num_tensor * nso)
                .map(|p| (p % num_tensor) * nso + p / num_tensor)
                .collect();
            layer.mlp.layers[0].permute_inputs(num_scalar * (l + 1), &perm);
        }
        Ok(Allegro {
            num_scalar,
            num_tensor,
            proj,
            weighter,
            norm,
            layers,
        })
    }

    /// Width of the rows the environment weights of layer `l` are read from.
    fn env_row(&self, l: usize) -> usize {
        if l == 0 {
            self.proj.n_out
        } else {
            self.layers[l - 1].mlp.n_out()
        }
    }

    /// The per-edge environment weights of layer `l`, in chunks: the columns after the scalars
    /// of the projection (layer 0) or of the previous latent MLP's output.
    #[inline(always)]
    fn env_weights<'a, const CH: usize>(
        &'a self,
        l: usize,
        sh: &'a [T],
        irrep_of: &'a [usize],
        b: &'a AllegroBuffers<T>,
    ) -> Weights<'a, T, CH> {
        let rows = if l == 0 {
            &b.proj
        } else {
            &b.layers[l - 1].latent
        };
        Weights {
            sh,
            irrep_of,
            w: &chunks::<T, CH>(rows)[self.num_scalar / CH..],
            ldq: self.env_row(l) / CH,
        }
    }

    /// V^l, the input of layer `l`'s tensor product: the tensor embedding's V^0, or the
    /// previous layer's output.
    fn layer_input<'a>(l: usize, v0: &'a [T], b: &'a AllegroBuffers<T>) -> &'a [T] {
        if l == 0 {
            v0
        } else {
            &b.layers[l - 1].v
        }
    }

    /// The scalar blocks [x^0 .. x^k] of the first `k + 1` (all, for the readout) layers'
    /// outputs: x^0 from the projection, x^{l+1} from the first columns of latent MLP l.
    pub fn scalar_blocks<'a>(&self, b: &'a AllegroBuffers<T>, k: usize) -> Vec<Operand<'a, T>> {
        let s_n = self.num_scalar;
        let mut blocks = vec![Operand::new(&b.proj[..], self.proj.n_out, s_n)];
        for (l, lb) in b.layers[..k].iter().enumerate() {
            blocks.push(Operand::new(
                &lb.latent[..],
                self.layers[l].mlp.n_out(),
                s_n,
            ));
        }
        blocks
    }

    /// Every layer, from the two-body scalars, the harmonics `sh` and V^0.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn forward<const CH: usize, const NQ: usize>(
        &self,
        isa: Isa,
        block: &Block,
        edges: &Edges,
        scalars: &[T],
        (sh, irrep_of): (&[T], &[usize]),
        v0: &[T],
        b: &mut AllegroBuffers<T>,
    ) {
        let (n, n_c, d, u_n) = (
            edges.len(),
            block.centre_types.len(),
            irrep_of.len(),
            self.num_tensor,
        );
        let width = self.proj.n_out;
        sized(&mut b.proj, n * width);
        let n_in = self.proj.n_in;
        self.proj.forward(
            isa,
            n,
            &whole(scalars, n_in),
            &mut b.proj,
            width,
            Epilogue::Store,
        );
        b.centre_norm.clear();
        b.centre_norm
            .extend(block.centre_types.iter().map(|&t| per_type(&self.norm, t)));
        b.layers.resize_with(self.layers.len(), Default::default);
        for (l, layer) in self.layers.iter().enumerate() {
            let mut lb = std::mem::take(&mut b.layers[l]);
            let env = self.env_weights::<CH>(l, sh, irrep_of, b);
            sized(&mut lb.a, n_c * d * u_n);
            self.weighter.sum_to_centres::<CH, NQ>(
                &env,
                &edges.centre_of,
                &b.centre_norm,
                chunks_mut(&mut lb.a),
            );
            let tp = &layer.tp;
            let vin = Self::layer_input(l, v0, b);
            sized(&mut lb.v, n * tp.dout * u_n);
            tp.forward::<CH, NQ>(
                chunks(vin),
                chunks(&lb.a),
                &edges.centre_of,
                chunks_mut(&mut lb.v),
            );
            // Latent MLP on [x^0 .. x^l, scalars of V^{l+1}] (scalars as [component][channel],
            // the order the MLP's input rows were permuted to at load), read in place.
            let mut input = self.scalar_blocks(b, l);
            input.push(Operand::new(
                &lb.v[..],
                tp.dout * u_n,
                tp.n_scalar_out * u_n,
            ));
            let out_w = layer.mlp.n_out();
            sized(&mut lb.latent, n * out_w);
            layer
                .mlp
                .forward(isa, n, &input, &mut lb.latent, out_w, &mut lb.cache);
            b.layers[l] = lb;
        }
    }

    /// Sized, unwritten blocks for dE/dx^0 .. dE/dx^L, for the readout's backward to write.
    pub fn scalar_grads<'a>(&self, b: &'a mut AllegroBuffers<T>, n: usize) -> Vec<OutBlock<'a, T>> {
        let s_n = self.num_scalar;
        b.grads.dx.resize_with(self.layers.len() + 1, Vec::new);
        b.grads
            .dx
            .iter_mut()
            .map(|dx| {
                sized(dx, n * s_n);
                OutBlock {
                    data: &mut dx[..],
                    ld: s_n,
                    cols: s_n,
                    add: false,
                }
            })
            .collect()
    }

    /// Given dE/dx^0 .. dE/dx^L in `b.grads.dx`: writes dE/d(two-body scalars) into
    /// `d_scalars`, adds dE/dY to `d_sh` and leaves dE/dV^0 for [`Allegro::d_v0`].
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn backward<const CH: usize, const NQ: usize>(
        &self,
        isa: Isa,
        block: &Block,
        edges: &Edges,
        (sh, irrep_of): (&[T], &[usize]),
        v0: &[T],
        b: &mut AllegroBuffers<T>,
        d_sh: &mut [T],
        d_scalars: &mut Vec<T>,
    ) {
        let (n, n_c, d, u_n, s_n) = (
            edges.len(),
            block.centre_types.len(),
            irrep_of.len(),
            self.num_tensor,
            self.num_scalar,
        );
        let env_w = self.weighter.width;
        let mut g = std::mem::take(&mut b.grads);
        g.d_env_next.clear();
        for (l, layer) in self.layers.iter().enumerate().rev() {
            let tp = &layer.tp;
            let out_w = layer.mlp.n_out();
            // dV^{l+1}: from layer l + 1's tensor product (d_v_in of the last iteration).
            if l + 1 == self.layers.len() {
                zeroed(&mut g.d_v_out, n * tp.dout * u_n);
            } else {
                std::mem::swap(&mut g.d_v_out, &mut g.d_v_in);
            }
            // d(latent output) = [dx^{l+1}, d env^{l+1}]; its input gradient goes to
            // dx^0 .. dx^l and to the scalars of dV^{l+1}.
            {
                let (before, after) = g.dx.split_at_mut(l + 1);
                let mut dy = vec![Operand::new(&after[0][..], s_n, s_n)];
                if out_w > s_n {
                    dy.push(Operand::new(&g.d_env_next[..], env_w, env_w));
                }
                let mut blocks: Vec<OutBlock<T>> = before
                    .iter_mut()
                    .map(|dx| OutBlock {
                        data: &mut dx[..],
                        ld: s_n,
                        cols: s_n,
                        add: true,
                    })
                    .collect();
                blocks.push(OutBlock {
                    data: &mut g.d_v_out[..],
                    ld: tp.dout * u_n,
                    cols: tp.n_scalar_out * u_n,
                    add: true,
                });
                let cache = &mut b.layers[l].cache;
                layer.mlp.backward(isa, n, &dy, &mut blocks, cache);
            }
            // Tensor product backward: dV^l per edge, dA per centre.
            let vin = Self::layer_input(l, v0, b);
            sized(&mut g.d_v_in, n * tp.d1 * u_n);
            zeroed(&mut g.d_a, n_c * d * u_n);
            tp.backward::<CH, NQ>(
                chunks(vin),
                chunks(&b.layers[l].a),
                &edges.centre_of,
                chunks(&g.d_v_out),
                chunks_mut(&mut g.d_v_in),
                chunks_mut(&mut g.d_a),
            );
            // Environment sum backward: d env^l per edge and dY.
            let env = self.env_weights::<CH>(l, sh, irrep_of, b);
            sized(&mut g.d_env, n * env_w);
            self.weighter.sum_backward::<CH, NQ>(
                &env,
                &edges.centre_of,
                &b.centre_norm,
                chunks(&g.d_a),
                chunks_mut(&mut g.d_env),
                d_sh,
            );
            std::mem::swap(&mut g.d_env, &mut g.d_env_next);
        }
        // The projection: [dx^0, d env^0] -> two-body scalars.
        let n_in = self.proj.n_in;
        sized(d_scalars, n * n_in);
        let dproj = [
            Operand::new(&g.dx[0][..], s_n, s_n),
            Operand::new(&g.d_env_next[..], env_w, env_w),
        ];
        self.proj
            .backward(isa, n, &dproj, 0, n_in, d_scalars, n_in, Epilogue::Store);
        b.grads = g;
    }

    /// dE/dV^0 after [`Allegro::backward`].
    pub fn d_v0<'a>(&self, b: &'a AllegroBuffers<T>) -> &'a [T] {
        &b.grads.d_v_in
    }
}
