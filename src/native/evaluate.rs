//! Forward and hand-written backward pass of the Allegro network over a block of centre atoms.
//!
//! Allegro is strictly local: the only coupling between edges is the environment sum of their
//! common centre atom. A block of whole centres is therefore evaluated exactly on its own, with
//! every activation kept in the block's workspace for the backward pass. Per-edge rows are
//! laid out edge-major; tensor features as [edge][component][channel] (channels contiguous).
use super::gemm::{Epilogue, Operand};
use super::geometry::{bessel, polynomial_cutoff, spherical_harmonics, spherical_harmonics_grad};
use super::isa::Isa;
use super::mlp::{MlpCache, OutBlock};
use super::network::Network;
use super::real::Real;
use super::weighting::Weights;

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

/// Scratch buffers of one block, reused between calls.
#[derive(Default)]
pub struct Workspace<T> {
    centre_of: Vec<usize>,
    r: Vec<f64>,
    unit: Vec<[f64; 3]>,
    bes: Vec<f64>,
    dbes: Vec<f64>,
    env: Vec<f64>,
    denv: Vec<f64>,
    sh: Vec<T>,
    e0: Vec<T>,
    basis: Vec<T>,
    h0: Vec<T>,
    h: Vec<T>,
    w_env: Vec<T>,
    proj: Vec<T>,
    /// Input of each layer's tensor product (V^0, V^1, ...) and its output of the last layer.
    v: Vec<Vec<T>>,
    /// Environment sums per layer, [centre][component][channel].
    a: Vec<Vec<T>>,
    /// 1/sqrt(avg_num_neighbors) of each centre of the block.
    centre_norm: Vec<T>,
    /// Output of each latent MLP: [x^{l+1}, environment weights of layer l + 1].
    lat: Vec<Vec<T>>,
    caches: Vec<MlpCache<T>>,
    scalar_cache: MlpCache<T>,
    readout_cache: MlpCache<T>,
    eps: Vec<T>,
    // gradients
    /// dE/dx^l of every scalar block x^0 .. x^L.
    dx: Vec<Vec<T>>,
    dv_out: Vec<T>,
    dv_in: Vec<T>,
    da: Vec<T>,
    denvw: Vec<T>,
    denvw_next: Vec<T>,
    dsh: Vec<T>,
    dh: Vec<T>,
    dw_env: Vec<T>,
    dh0: Vec<T>,
    dbasis: Vec<T>,
    de0: Vec<T>,
}

/// Sets the length to `n` and zeroes it (accumulators).
fn zeroed<T: Real>(v: &mut Vec<T>, n: usize) {
    v.clear();
    v.resize(n, T::ZERO);
}

/// Sets the length to `n`, contents unspecified (buffers every element of which is written).
fn sized<T: Real>(v: &mut Vec<T>, n: usize) {
    v.resize(n, T::ZERO);
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
    fn rmax_recip(&self, ti: usize, tj: usize) -> f64 {
        if self.rmax_recip.len() == 1 {
            self.rmax_recip[0]
        } else {
            self.rmax_recip[ti * self.num_types + tj]
        }
    }

    /// The value of type `t` from a per-type table, or the single shared value.
    pub(super) fn per_type<V: Copy>(values: &[V], t: usize) -> V {
        if values.len() == 1 {
            values[0]
        } else {
            values[t]
        }
    }

    /// The per-edge environment weights of layer `l`, in chunks: the columns after the scalars
    /// of the two-body projection (layer 0) or of the previous latent MLP's output.
    #[inline(always)]
    fn env_weights_of_layer<'a, const CH: usize>(
        &'a self,
        l: usize,
        sh: &'a [T],
        proj: &'a [T],
        lat: &'a [Vec<T>],
    ) -> Weights<'a, T, CH> {
        let s_n = self.num_scalar;
        let (rows, ld) = if l == 0 {
            (proj, s_n + self.env_weighter.width)
        } else {
            (&lat[l - 1][..], self.layers[l - 1].mlp.n_out())
        };
        Weights {
            sh,
            irrep_of: &self.irrep_of,
            w: &chunks::<T, CH>(rows)[s_n / CH..],
            ldq: ld / CH,
        }
    }

    /// The per-edge weights of the initial tensor features, in chunks: the rows of the tensor
    /// embedding's linear layer.
    #[inline(always)]
    fn embed_weights<'a, const CH: usize>(
        &'a self,
        sh: &'a [T],
        w_env: &'a [T],
    ) -> Weights<'a, T, CH> {
        Weights {
            sh,
            irrep_of: &self.irrep_of,
            w: chunks::<T, CH>(w_env),
            ldq: self.embed_weighter.width / CH,
        }
    }

    /// The scalar blocks [x^0, x^1, ..] the latent MLPs and the readout read: x^0 from the
    /// two-body projection, x^{l+1} from the first columns of latent MLP l's output.
    fn scalar_blocks<'a>(&self, proj: &'a [T], lat: &'a [Vec<T>]) -> Vec<Operand<'a, T>> {
        let s_n = self.num_scalar;
        let mut blocks = vec![Operand::new(proj, s_n + self.env_weighter.width, s_n)];
        for (l, out) in lat.iter().enumerate() {
            blocks.push(Operand::new(&out[..], self.layers[l].mlp.n_out(), s_n));
        }
        blocks
    }

    /// `out[e] = t_e (.) x[e]`, with `t_e` = [centre type embedding, neighbour type embedding].
    #[inline(always)]
    fn type_product(&self, block: &Block, centre_of: &[usize], x: &[T], out: &mut Vec<T>) {
        let h = self.half;
        sized(out, x.len());
        for ((row, x), (&c, &tj)) in out
            .chunks_exact_mut(2 * h)
            .zip(x.chunks_exact(2 * h))
            .zip(centre_of.iter().zip(block.neighbour_types))
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
        let chunked = self.num_tensor.is_multiple_of(8) && self.num_scalar.is_multiple_of(8);
        match (chunked, self.num_tensor) {
            (true, 8) => self.evaluate_any::<8, 1>(ws, block, energy, grad),
            (true, _) => self.evaluate_any::<8, 0>(ws, block, energy, grad),
            _ => self.evaluate_any::<1, 0>(ws, block, energy, grad),
        }
    }

    #[inline(always)]
    fn evaluate_any<const CH: usize, const NQ: usize>(
        &self,
        ws: &mut Workspace<T>,
        block: &Block,
        energy: &mut [f64],
        grad: &mut [[f64; 3]],
    ) {
        let n_c = block.centre_types.len();
        let n = block.vectors.len();
        let (b_n, d, u_n, s_n) = (
            self.bessel_weights.len(),
            self.irrep_of.len(),
            self.num_tensor,
            self.num_scalar,
        );
        let c_n = 2 * self.half;
        let l_n = self.layers.len();
        let envw_w = self.env_weighter.width;
        let (ew, embed_w) = (&self.embed_weighter, self.embed_weighter.width);

        // Geometry, radial basis and harmonics in f64; the network's inputs cast to T.
        ws.centre_of.clear();
        for c in 0..n_c {
            ws.centre_of.extend(std::iter::repeat_n(
                c,
                block.offsets[c + 1] - block.offsets[c],
            ));
        }
        ws.r.clear();
        ws.unit.clear();
        ws.bes.resize(n * b_n, 0.0);
        ws.dbes.resize(n * b_n, 0.0);
        ws.env.clear();
        ws.denv.clear();
        sized(&mut ws.sh, n * d);
        sized(&mut ws.e0, n * b_n);
        let mut y = [0.0; 16];
        for e in 0..n {
            let v = block.vectors[e];
            let r = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            let ti = block.centre_types[ws.centre_of[e]];
            let x = r * self.rmax_recip(ti, block.neighbour_types[e]);
            let (bes, dbes) = (
                &mut ws.bes[e * b_n..(e + 1) * b_n],
                &mut ws.dbes[e * b_n..(e + 1) * b_n],
            );
            bessel(x, &self.bessel_weights, self.bessel_integer, bes, dbes);
            let (u, du) = polynomial_cutoff(x, self.cutoff_p);
            let uc = T::from_f64(u);
            for (e0, &b) in ws.e0[e * b_n..(e + 1) * b_n].iter_mut().zip(bes.iter()) {
                *e0 = T::from_f64(b) * uc;
            }
            let inv = 1.0 / r.max(1e-12);
            let unit = [v[0] * inv, v[1] * inv, v[2] * inv];
            spherical_harmonics(self.l_max, unit, &mut y);
            for (s, &ym) in ws.sh[e * d..(e + 1) * d].iter_mut().zip(&y) {
                *s = T::from_f64(ym);
            }
            ws.r.push(r);
            ws.unit.push(unit);
            ws.env.push(u);
            ws.denv.push(du);
        }

        // Two-body scalar embedding.
        let isa = self.isa;
        sized(&mut ws.basis, n * c_n);
        self.basis.forward(
            isa,
            n,
            &whole::<T>(&ws.e0, b_n),
            &mut ws.basis,
            c_n,
            Epilogue::Store,
        );
        self.type_product(block, &ws.centre_of, &ws.basis, &mut ws.h0);
        sized(&mut ws.h, n * s_n);
        self.scalar_mlp.forward(
            isa,
            n,
            &whole::<T>(&ws.h0, c_n),
            &mut ws.h,
            s_n,
            &mut ws.scalar_cache,
        );

        // Initial tensor features V^0[e][m][u] = Y[e][m] w[e](u, irrep(m)).
        sized(&mut ws.w_env, n * embed_w);
        self.env_embed.forward(
            isa,
            n,
            &whole::<T>(&ws.h, s_n),
            &mut ws.w_env,
            embed_w,
            Epilogue::Store,
        );
        ws.v.resize_with(l_n + 1, Vec::new);
        let embed = self.embed_weights::<CH>(&ws.sh, &ws.w_env);
        sized(&mut ws.v[0], n * d * u_n);
        ew.weight::<CH, NQ>(&embed, chunks_mut(&mut ws.v[0]));

        // Allegro layers.
        let proj_w = s_n + envw_w;
        sized(&mut ws.proj, n * proj_w);
        self.proj.forward(
            isa,
            n,
            &whole::<T>(&ws.h, s_n),
            &mut ws.proj,
            proj_w,
            Epilogue::Store,
        );
        ws.a.resize_with(l_n, Vec::new);
        ws.centre_norm.clear();
        ws.centre_norm.extend(
            block
                .centre_types
                .iter()
                .map(|&t| Self::per_type(&self.env_norm, t)),
        );
        ws.lat.resize_with(l_n, Vec::new);
        ws.caches.resize_with(l_n, MlpCache::default);
        for (l, layer) in self.layers.iter().enumerate() {
            let env = self.env_weights_of_layer::<CH>(l, &ws.sh, &ws.proj, &ws.lat);
            let a = &mut ws.a[l];
            sized(a, n_c * d * u_n);
            self.env_weighter.sum_to_centres::<CH, NQ>(
                &env,
                &ws.centre_of,
                &ws.centre_norm,
                chunks_mut(a),
            );
            // Tensor product V^{l+1} = TP(V^l, A of the centre).
            let tp = &layer.tp;
            let (vin, vout) = split_pair(&mut ws.v, l);
            sized(vout, n * tp.dout * u_n);
            tp.forward::<CH, NQ>(chunks(vin), chunks(a), &ws.centre_of, chunks_mut(vout));
            // Latent MLP on [x^0 .. x^l, scalars of V^{l+1}] (scalars as [component][channel],
            // the order the MLP's input rows were permuted to at load), read in place.
            let ns = tp.n_scalar_out * u_n;
            let (done, rest) = ws.lat.split_at_mut(l);
            let mut input = self.scalar_blocks(&ws.proj, done);
            input.push(Operand::new(&vout[..], tp.dout * u_n, ns));
            let out_w = layer.mlp.n_out();
            let lat = &mut rest[0];
            sized(lat, n * out_w);
            layer
                .mlp
                .forward(isa, n, &input, lat, out_w, &mut ws.caches[l]);
        }

        // Edge energies, summed to the centres.
        sized(&mut ws.eps, n);
        let input = self.scalar_blocks(&ws.proj, &ws.lat);
        self.readout
            .forward(isa, n, &input, &mut ws.eps, 1, &mut ws.readout_cache);
        let mut d_eps_of_centre = Vec::with_capacity(n_c);
        for c in 0..n_c {
            let ti = block.centre_types[c];
            let mut sum = T::ZERO;
            for e in block.offsets[c]..block.offsets[c + 1] {
                sum += ws.eps[e];
            }
            let norm = Self::per_type(&self.readout_norm, ti);
            let raw = sum * norm / self.readout_divisor;
            let (scale, shift) = (
                Self::per_type(&self.scales, ti),
                Self::per_type(&self.shifts, ti),
            );
            energy[c] = shift + scale * raw.to_f64();
            d_eps_of_centre.push(T::from_f64(scale) * norm / self.readout_divisor);
        }

        // ---- backward ----
        for e in 0..n {
            ws.eps[e] = d_eps_of_centre[ws.centre_of[e]];
        }
        ws.dx.resize_with(l_n + 1, Vec::new);
        {
            let mut blocks: Vec<OutBlock<T>> = ws
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
                .collect();
            self.readout.backward(
                isa,
                n,
                &whole::<T>(&ws.eps, 1),
                &mut blocks,
                &mut ws.readout_cache,
            );
        }
        zeroed(&mut ws.dsh, n * d);
        ws.denvw_next.clear();
        for l in (0..l_n).rev() {
            let layer = &self.layers[l];
            let tp = &layer.tp;
            let out_w = layer.mlp.n_out();
            let ns = tp.n_scalar_out * u_n;
            // dV^{l+1}: from layer l + 1's tensor product (dv_in of the last iteration) plus scalars.
            if l + 1 == l_n {
                zeroed(&mut ws.dv_out, n * tp.dout * u_n);
            } else {
                std::mem::swap(&mut ws.dv_out, &mut ws.dv_in);
            }
            // d(latent output) = [dx^{l+1}, d envw^{l+1} from layer l + 1]; its input gradient
            // goes to dx^0 .. dx^l and to the scalars of dV^{l+1}.
            {
                let (before, after) = ws.dx.split_at_mut(l + 1);
                let mut dy = vec![Operand::new(&after[0][..], s_n, s_n)];
                if out_w > s_n {
                    dy.push(Operand::new(&ws.denvw_next[..], envw_w, envw_w));
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
                    data: &mut ws.dv_out[..],
                    ld: tp.dout * u_n,
                    cols: ns,
                    add: true,
                });
                layer
                    .mlp
                    .backward(isa, n, &dy, &mut blocks, &mut ws.caches[l]);
            }
            // Tensor product backward: dV^l per edge, dA per centre.
            sized(&mut ws.dv_in, n * tp.d1 * u_n);
            zeroed(&mut ws.da, n_c * d * u_n);
            tp.backward::<CH, NQ>(
                chunks(&ws.v[l]),
                chunks(&ws.a[l]),
                &ws.centre_of,
                chunks(&ws.dv_out),
                chunks_mut(&mut ws.dv_in),
                chunks_mut(&mut ws.da),
            );
            // Environment sum backward: d envw^l per edge and dY.
            let env = self.env_weights_of_layer::<CH>(l, &ws.sh, &ws.proj, &ws.lat);
            sized(&mut ws.denvw, n * envw_w);
            self.env_weighter.sum_backward::<CH, NQ>(
                &env,
                &ws.centre_of,
                &ws.centre_norm,
                chunks(&ws.da),
                chunks_mut(&mut ws.denvw),
                &mut ws.dsh,
            );
            std::mem::swap(&mut ws.denvw, &mut ws.denvw_next);
        }
        // Projection of the two-body embedding: [x^0, envw^0].
        sized(&mut ws.dh, n * s_n);
        let dproj = [
            Operand::new(&ws.dx[0][..], s_n, s_n),
            Operand::new(&ws.denvw_next[..], envw_w, envw_w),
        ];
        self.proj
            .backward(isa, n, &dproj, 0, s_n, &mut ws.dh, s_n, Epilogue::Store);
        // V^0 backward (ws.dv_in now holds dV^0).
        let embed = self.embed_weights::<CH>(&ws.sh, &ws.w_env);
        sized(&mut ws.dw_env, n * embed_w);
        ew.weight_backward::<CH, NQ>(
            &embed,
            chunks(&ws.dv_in),
            chunks_mut(&mut ws.dw_env),
            &mut ws.dsh,
        );
        self.env_embed.backward(
            isa,
            n,
            &whole::<T>(&ws.dw_env, embed_w),
            0,
            s_n,
            &mut ws.dh,
            s_n,
            Epilogue::Add,
        );
        sized(&mut ws.dh0, n * c_n);
        let mut dh0 = [OutBlock {
            data: &mut ws.dh0[..],
            ld: c_n,
            cols: c_n,
            add: false,
        }];
        self.scalar_mlp.backward(
            isa,
            n,
            &whole::<T>(&ws.dh, s_n),
            &mut dh0,
            &mut ws.scalar_cache,
        );
        // h0 = t (.) basis is linear in basis: its backward is the same product.
        self.type_product(block, &ws.centre_of, &ws.dh0, &mut ws.dbasis);
        sized(&mut ws.de0, n * b_n);
        self.basis.backward(
            isa,
            n,
            &whole::<T>(&ws.dbasis, c_n),
            0,
            b_n,
            &mut ws.de0,
            b_n,
            Epilogue::Store,
        );

        // Back to the edge vectors, in f64.
        let mut dy64 = [0.0; 16];
        for e in 0..n {
            let ti = block.centre_types[ws.centre_of[e]];
            let rr = self.rmax_recip(ti, block.neighbour_types[e]);
            let uc = T::from_f64(ws.env[e]);
            let mut d_env = T::ZERO;
            let mut dx = 0.0;
            let (de0, bes, dbes) = (
                &ws.de0[e * b_n..(e + 1) * b_n],
                &ws.bes[e * b_n..(e + 1) * b_n],
                &ws.dbes[e * b_n..(e + 1) * b_n],
            );
            for ((&g, &b), &db) in de0.iter().zip(bes).zip(dbes) {
                dx += (g * uc).to_f64() * db;
                d_env += g * T::from_f64(b);
            }
            dx += d_env.to_f64() * ws.denv[e];
            let dr = dx * rr;
            for (o, &g) in dy64.iter_mut().zip(&ws.dsh[e * d..(e + 1) * d]) {
                *o = g.to_f64();
            }
            let gu = spherical_harmonics_grad(self.l_max, ws.unit[e], &dy64[..d]);
            let u = ws.unit[e];
            let radial = gu[0] * u[0] + gu[1] * u[1] + gu[2] * u[2];
            let inv = 1.0 / ws.r[e].max(1e-12);
            for k in 0..3 {
                grad[e][k] = (gu[k] - u[k] * radial) * inv + dr * u[k];
            }
        }
        if let Some(zbl) = &self.zbl {
            for e in 0..n {
                let c = ws.centre_of[e];
                let (ti, tj) = (block.centre_types[c], block.neighbour_types[e]);
                let (energy_e, de_dr) = zbl.edge(ti, tj, ws.r[e], self.rmax_recip(ti, tj));
                energy[c] += energy_e;
                for k in 0..3 {
                    grad[e][k] += de_dr * ws.unit[e][k];
                }
            }
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

/// A buffer as chunks of `CH` (its length is a multiple of `CH` by construction).
#[inline(always)]
fn chunks<T, const CH: usize>(x: &[T]) -> &[[T; CH]] {
    let (c, rest) = x.as_chunks::<CH>();
    debug_assert!(rest.is_empty());
    c
}

#[inline(always)]
fn chunks_mut<T, const CH: usize>(x: &mut [T]) -> &mut [[T; CH]] {
    let (c, rest) = x.as_chunks_mut::<CH>();
    debug_assert!(rest.is_empty());
    c
}

/// A buffer of rows of width `w` as one operand block.
fn whole<T>(x: &[T], w: usize) -> [Operand<'_, T>; 1] {
    [Operand::new(x, w, w)]
}

/// `(&v[l], &mut v[l + 1])`.
fn split_pair<T>(v: &mut [Vec<T>], l: usize) -> (&Vec<T>, &mut Vec<T>) {
    let (a, b) = v.split_at_mut(l + 1);
    (&a[l], &mut b[0])
}
