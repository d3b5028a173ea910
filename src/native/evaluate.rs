//! Forward and hand-written backward pass of the Allegro network over a block of centre atoms.
//!
//! Allegro is strictly local: the only coupling between edges is the environment sum of their
//! common centre atom. A block of whole centres is therefore evaluated exactly on its own, with
//! every activation kept in the block's workspace for the backward pass. Per-edge rows are
//! laid out edge-major; tensor features as [edge][component][channel] (channels contiguous).
use super::geometry::{bessel, polynomial_cutoff, spherical_harmonics, spherical_harmonics_grad};
use super::mlp::MlpCache;
use super::network::Network;
use super::real::Real;

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
    cat: Vec<T>,
    /// Input of each layer's tensor product (V^0, V^1, ...) and its output of the last layer.
    v: Vec<Vec<T>>,
    /// Environment sums per layer, [centre][component][channel].
    a: Vec<Vec<T>>,
    lin: Vec<Vec<T>>,
    lat: Vec<Vec<T>>,
    caches: Vec<MlpCache<T>>,
    scalar_cache: MlpCache<T>,
    readout_cache: MlpCache<T>,
    eps: Vec<T>,
    // gradients
    dcat: Vec<T>,
    dlat: Vec<T>,
    dlin: Vec<T>,
    dv_out: Vec<T>,
    dv_in: Vec<T>,
    da: Vec<T>,
    denvw: Vec<T>,
    denvw_next: Vec<T>,
    dsh: Vec<T>,
    dproj: Vec<T>,
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

/// `out += a * b * w`, elementwise over one channel row.
#[inline(always)]
fn fma3<T: Real>(out: &mut [T], a: &[T], b: &[T], w: &[T]) {
    for (((o, &a), &b), &w) in out.iter_mut().zip(a).zip(b).zip(w) {
        *o += a * b * w;
    }
}

/// `out += s * a`.
#[inline(always)]
fn axpy<T: Real>(out: &mut [T], s: T, a: &[T]) {
    for (o, &a) in out.iter_mut().zip(a) {
        *o += s * a;
    }
}

#[inline(always)]
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).fold(T::ZERO, |acc, (&x, &y)| acc + x * y)
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

    /// Environment weighting + sum to the centres: `A[c][m][u] = norm_c sum_e Y[e][m] w[e](u, irrep(m))`,
    /// with `w` the rows of `envw` (row stride `ld`).
    #[inline(always)]
    fn env_sum(
        &self,
        sh: &[T],
        envw: &[T],
        ld: usize,
        block: &Block,
        centre_of: &[usize],
        a: &mut Vec<T>,
    ) {
        let (d, u_n) = (self.irrep_of.len(), self.num_tensor);
        let wt = &self.env_weighter;
        let n_centres = block.centre_types.len();
        zeroed(a, n_centres * d * u_n);
        for (e, &c) in centre_of.iter().enumerate() {
            let w = &envw[e * ld..e * ld + wt.width];
            let y = &sh[e * d..(e + 1) * d];
            let out = &mut a[c * d * u_n..(c + 1) * d * u_n];
            for (m, row) in out.chunks_exact_mut(u_n).enumerate() {
                let off = wt.offset(self.irrep_of[m]);
                axpy(row, y[m] * wt.alpha, &w[off..off + u_n]);
            }
        }
        for c in 0..n_centres {
            let norm = Self::per_type(&self.env_norm, block.centre_types[c]);
            for x in &mut a[c * d * u_n..(c + 1) * d * u_n] {
                *x *= norm;
            }
        }
    }

    /// The per-edge environment weights layer `l` uses and their row stride: the columns after
    /// the scalars of the two-body projection (layer 0) or of the previous latent MLP's output.
    #[inline(always)]
    fn env_weights_of_layer<'a>(
        &self,
        l: usize,
        proj: &'a [T],
        lat: &'a [Vec<T>],
    ) -> (&'a [T], usize) {
        let s_n = self.num_scalar;
        if l == 0 {
            (&proj[s_n..], s_n + self.env_weighter.width)
        } else {
            (&lat[l - 1][s_n..], self.layers[l - 1].mlp.n_out())
        }
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
            for ((o, &t), &b) in r0.iter_mut().zip(te).zip(x0) {
                *o = t * b;
            }
            for ((o, &t), &b) in r1.iter_mut().zip(tn).zip(x1) {
                *o = t * b;
            }
        }
    }

    /// Evaluates the block: the energy of every centre (eV, with its scale and shift) and
    /// dE/d(vector) of every edge. Compiled twice: for the baseline CPU and, chosen at run time,
    /// with AVX2 (the elementwise loops vectorise 8-wide; no FMA contraction, so both paths give
    /// the same numbers).
    pub fn evaluate(
        &self,
        ws: &mut Workspace<T>,
        block: &Block,
        energy: &mut [f64],
        grad: &mut [[f64; 3]],
    ) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            unsafe { self.evaluate_avx2(ws, block, energy, grad) };
            return;
        }
        self.evaluate_any(ws, block, energy, grad);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn evaluate_avx2(
        &self,
        ws: &mut Workspace<T>,
        block: &Block,
        energy: &mut [f64],
        grad: &mut [[f64; 3]],
    ) {
        self.evaluate_any(ws, block, energy, grad);
    }

    #[inline(always)]
    fn evaluate_any(
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
        let cat_w = s_n * (l_n + 1);
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
        sized(&mut ws.basis, n * c_n);
        self.basis.forward(n, &ws.e0, b_n, &mut ws.basis);
        self.type_product(block, &ws.centre_of, &ws.basis, &mut ws.h0);
        sized(&mut ws.h, n * s_n);
        self.scalar_mlp
            .forward(n, &ws.h0, c_n, &mut ws.h, &mut ws.scalar_cache);

        // Initial tensor features V^0[e][m][u] = Y[e][m] w[e](u, irrep(m)).
        sized(&mut ws.w_env, n * embed_w);
        self.env_embed.forward(n, &ws.h, s_n, &mut ws.w_env);
        ws.v.resize_with(l_n + 1, Vec::new);
        {
            let v0 = &mut ws.v[0];
            sized(v0, n * d * u_n);
            for e in 0..n {
                let w = &ws.w_env[e * embed_w..(e + 1) * embed_w];
                for (m, row) in v0[e * d * u_n..(e + 1) * d * u_n]
                    .chunks_exact_mut(u_n)
                    .enumerate()
                {
                    let ym = ws.sh[e * d + m] * ew.alpha;
                    let off = ew.offset(self.irrep_of[m]);
                    for (o, &wu) in row.iter_mut().zip(&w[off..off + u_n]) {
                        *o = ym * wu;
                    }
                }
            }
        }

        // Allegro layers.
        let proj_w = s_n + envw_w;
        sized(&mut ws.proj, n * proj_w);
        self.proj.forward(n, &ws.h, s_n, &mut ws.proj);
        sized(&mut ws.cat, n * cat_w);
        for e in 0..n {
            ws.cat[e * cat_w..e * cat_w + s_n]
                .copy_from_slice(&ws.proj[e * proj_w..e * proj_w + s_n]);
        }
        ws.a.resize_with(l_n, Vec::new);
        ws.lin.resize_with(l_n, Vec::new);
        ws.lat.resize_with(l_n, Vec::new);
        ws.caches.resize_with(l_n, MlpCache::default);
        for (l, layer) in self.layers.iter().enumerate() {
            let (envw, ld) = self.env_weights_of_layer(l, &ws.proj, &ws.lat);
            let mut a = std::mem::take(&mut ws.a[l]);
            self.env_sum(&ws.sh, envw, ld, block, &ws.centre_of, &mut a);
            // Tensor product V^{l+1} = TP(V^l, A of the centre).
            let tp = &layer.tp;
            let (vin, vout) = split_pair(&mut ws.v, l);
            zeroed(vout, n * tp.dout * u_n);
            for e in 0..n {
                let c = ws.centre_of[e];
                let x1 = &vin[e * tp.d1 * u_n..(e + 1) * tp.d1 * u_n];
                let x2 = &a[c * d * u_n..(c + 1) * d * u_n];
                let out = &mut vout[e * tp.dout * u_n..(e + 1) * tp.dout * u_n];
                for (&[i, j, k], w) in tp.couplings.iter().zip(tp.weights.chunks_exact(u_n)) {
                    fma3(
                        &mut out[k * u_n..(k + 1) * u_n],
                        &x1[i * u_n..(i + 1) * u_n],
                        &x2[j * u_n..(j + 1) * u_n],
                        w,
                    );
                }
            }
            ws.a[l] = a;
            // Latent MLP on [x^0 .. x^l, scalars of V^{l+1}] (scalars as [component][channel],
            // the order the MLP's input rows were permuted to at load).
            let ns = tp.n_scalar_out * u_n;
            let in_w = layer.mlp.n_in();
            let prefix = s_n * (l + 1);
            let lin = &mut ws.lin[l];
            sized(lin, n * in_w);
            for e in 0..n {
                let row = &mut lin[e * in_w..(e + 1) * in_w];
                row[..prefix].copy_from_slice(&ws.cat[e * cat_w..e * cat_w + prefix]);
                row[prefix..].copy_from_slice(&vout[e * tp.dout * u_n..e * tp.dout * u_n + ns]);
            }
            let out_w = layer.mlp.n_out();
            let lat = &mut ws.lat[l];
            sized(lat, n * out_w);
            layer
                .mlp
                .forward(n, &ws.lin[l], in_w, lat, &mut ws.caches[l]);
            for e in 0..n {
                ws.cat[e * cat_w + prefix..e * cat_w + prefix + s_n]
                    .copy_from_slice(&lat[e * out_w..e * out_w + s_n]);
            }
        }

        // Edge energies, summed to the centres.
        sized(&mut ws.eps, n);
        self.readout
            .forward(n, &ws.cat, cat_w, &mut ws.eps, &mut ws.readout_cache);
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
        sized(&mut ws.dcat, n * cat_w);
        self.readout.backward(
            n,
            &ws.eps,
            &mut ws.dcat,
            cat_w,
            false,
            &mut ws.readout_cache,
        );
        zeroed(&mut ws.dsh, n * d);
        ws.denvw_next.clear();
        for l in (0..l_n).rev() {
            let layer = &self.layers[l];
            let tp = &layer.tp;
            let out_w = layer.mlp.n_out();
            let in_w = layer.mlp.n_in();
            let prefix = s_n * (l + 1);
            let ns = tp.n_scalar_out * u_n;
            // d(latent output) = [dx^{l+1}, d envw^{l+1} from layer l + 1].
            sized(&mut ws.dlat, n * out_w);
            for e in 0..n {
                let row = &mut ws.dlat[e * out_w..(e + 1) * out_w];
                row[..s_n].copy_from_slice(&ws.dcat[e * cat_w + prefix..e * cat_w + prefix + s_n]);
                if out_w > s_n {
                    row[s_n..].copy_from_slice(&ws.denvw_next[e * envw_w..(e + 1) * envw_w]);
                }
            }
            sized(&mut ws.dlin, n * in_w);
            layer
                .mlp
                .backward(n, &ws.dlat, &mut ws.dlin, in_w, false, &mut ws.caches[l]);
            // dV^{l+1}: from layer l + 1's tensor product (dv_in of the last iteration) plus scalars.
            if l + 1 == l_n {
                zeroed(&mut ws.dv_out, n * tp.dout * u_n);
            } else {
                std::mem::swap(&mut ws.dv_out, &mut ws.dv_in);
            }
            for e in 0..n {
                let dlin = &ws.dlin[e * in_w..(e + 1) * in_w];
                for (o, &g) in ws.dcat[e * cat_w..e * cat_w + prefix]
                    .iter_mut()
                    .zip(&dlin[..prefix])
                {
                    *o += g;
                }
                let dv = &mut ws.dv_out[e * tp.dout * u_n..e * tp.dout * u_n + ns];
                for (o, &g) in dv.iter_mut().zip(&dlin[prefix..]) {
                    *o += g;
                }
            }
            // Tensor product backward: dV^l per edge, dA per centre.
            let vin = &ws.v[l];
            let a = &ws.a[l];
            zeroed(&mut ws.dv_in, n * tp.d1 * u_n);
            zeroed(&mut ws.da, n_c * d * u_n);
            let mut g = vec![T::ZERO; u_n];
            for e in 0..n {
                let c = ws.centre_of[e];
                let x1 = &vin[e * tp.d1 * u_n..(e + 1) * tp.d1 * u_n];
                let x2 = &a[c * d * u_n..(c + 1) * d * u_n];
                let dout = &ws.dv_out[e * tp.dout * u_n..(e + 1) * tp.dout * u_n];
                let dx1 = &mut ws.dv_in[e * tp.d1 * u_n..(e + 1) * tp.d1 * u_n];
                let dx2 = &mut ws.da[c * d * u_n..(c + 1) * d * u_n];
                for (&[i, j, k], w) in tp.couplings.iter().zip(tp.weights.chunks_exact(u_n)) {
                    for ((g, &o), &w) in g.iter_mut().zip(&dout[k * u_n..(k + 1) * u_n]).zip(w) {
                        *g = o * w;
                    }
                    mul_add(
                        &mut dx1[i * u_n..(i + 1) * u_n],
                        &g,
                        &x2[j * u_n..(j + 1) * u_n],
                    );
                    mul_add(
                        &mut dx2[j * u_n..(j + 1) * u_n],
                        &g,
                        &x1[i * u_n..(i + 1) * u_n],
                    );
                }
            }
            // Environment sum backward: d envw^l per edge and dY.
            let (envw, ld) = self.env_weights_of_layer(l, &ws.proj, &ws.lat);
            zeroed(&mut ws.denvw, n * envw_w);
            let wt = &self.env_weighter;
            for e in 0..n {
                let c = ws.centre_of[e];
                let norm = Self::per_type(&self.env_norm, block.centre_types[c]);
                let da = &ws.da[c * d * u_n..(c + 1) * d * u_n];
                let w = &envw[e * ld..e * ld + envw_w];
                let dw = &mut ws.denvw[e * envw_w..(e + 1) * envw_w];
                for m in 0..d {
                    let off = wt.offset(self.irrep_of[m]);
                    let ym = ws.sh[e * d + m] * wt.alpha * norm;
                    let dam = &da[m * u_n..(m + 1) * u_n];
                    axpy(&mut dw[off..off + u_n], ym, dam);
                    ws.dsh[e * d + m] += dot(dam, &w[off..off + u_n]) * norm * wt.alpha;
                }
            }
            std::mem::swap(&mut ws.denvw, &mut ws.denvw_next);
        }
        // Projection of the two-body embedding: [x^0, envw^0].
        sized(&mut ws.dproj, n * proj_w);
        for e in 0..n {
            let row = &mut ws.dproj[e * proj_w..(e + 1) * proj_w];
            row[..s_n].copy_from_slice(&ws.dcat[e * cat_w..e * cat_w + s_n]);
            row[s_n..].copy_from_slice(&ws.denvw_next[e * envw_w..(e + 1) * envw_w]);
        }
        sized(&mut ws.dh, n * s_n);
        self.proj.backward(n, &ws.dproj, &mut ws.dh, s_n, false);
        // V^0 backward (ws.dv_in now holds dV^0).
        zeroed(&mut ws.dw_env, n * embed_w);
        for e in 0..n {
            let w = &ws.w_env[e * embed_w..(e + 1) * embed_w];
            let dw = &mut ws.dw_env[e * embed_w..(e + 1) * embed_w];
            for m in 0..d {
                let off = ew.offset(self.irrep_of[m]);
                let ym = ws.sh[e * d + m] * ew.alpha;
                let g = &ws.dv_in[(e * d + m) * u_n..(e * d + m + 1) * u_n];
                axpy(&mut dw[off..off + u_n], ym, g);
                ws.dsh[e * d + m] += dot(g, &w[off..off + u_n]) * ew.alpha;
            }
        }
        self.env_embed
            .backward(n, &ws.dw_env, &mut ws.dh, s_n, true);
        sized(&mut ws.dh0, n * c_n);
        self.scalar_mlp
            .backward(n, &ws.dh, &mut ws.dh0, c_n, false, &mut ws.scalar_cache);
        // h0 = t (.) basis is linear in basis: its backward is the same product.
        self.type_product(block, &ws.centre_of, &ws.dh0, &mut ws.dbasis);
        sized(&mut ws.de0, n * b_n);
        self.basis.backward(n, &ws.dbasis, &mut ws.de0, b_n, false);

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

/// `out += a * b`.
#[inline(always)]
fn mul_add<T: Real>(out: &mut [T], a: &[T], b: &[T]) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *o += a * b;
    }
}

/// `(&v[l], &mut v[l + 1])`.
fn split_pair<T>(v: &mut [Vec<T>], l: usize) -> (&Vec<T>, &mut Vec<T>) {
    let (a, b) = v.split_at_mut(l + 1);
    (&a[l], &mut b[0])
}
