//! nequip's bias-free MLPs: `y = x @ (W * alpha)` per layer, SiLU between layers (none after the
//! last), with the activations kept for the backward pass.
use super::archive::{ArchiveError, LoadResult, Module};
use super::gemm::{gemm, Epilogue, Operand};
use super::isa::Isa;
use super::pickle::Value;
use super::real::Real;

/// A linear layer with its `alpha` already folded into the weights (as nequip does, in the
/// model's dtype), laid out for the kernels: `w` (in, out) row-major with row stride `ldw`, and
/// `wt` transposed (out, in) with row stride `ldt`, for the backward pass.
#[derive(Clone, Debug)]
pub struct Linear<T> {
    pub n_in: usize,
    pub n_out: usize,
    w: Vec<T>,
    ldw: usize,
    wt: Vec<T>,
    ldt: usize,
}

/// Row stride for a weight matrix of `n` columns: rows of a multiple of 128 floats would map a
/// kernel's column panel onto a few L1 sets (a 512-wide layer ran at half speed); one vector
/// of padding spreads them.
fn padded(n: usize) -> usize {
    if n >= 128 && n.is_multiple_of(128) {
        n + 16
    } else {
        n
    }
}

impl<T: Real> Linear<T> {
    /// A ScalarMLPFunction of one linear layer.
    pub fn load_single(m: &Module) -> LoadResult<Linear<T>> {
        let mlp = Mlp::<T>::load(m)?;
        if mlp.layers.len() != 1 {
            return Err(ArchiveError::layout(format!(
                "{}: expected one linear layer",
                m.path
            )));
        }
        Ok(mlp.layers.into_iter().next().unwrap())
    }

    /// A layer from its weights `w`, (in, out) row-major.
    pub fn new(n_in: usize, n_out: usize, w: Vec<T>) -> Linear<T> {
        let ldw = padded(n_out);
        let mut wp = vec![T::ZERO; n_in * ldw];
        for r in 0..n_in {
            wp[r * ldw..r * ldw + n_out].copy_from_slice(&w[r * n_out..(r + 1) * n_out]);
        }
        let mut layer = Linear {
            n_in,
            n_out,
            w: wp,
            ldw,
            wt: Vec::new(),
            ldt: padded(n_in),
        };
        layer.transpose();
        layer
    }

    /// `wt` from `w`.
    fn transpose(&mut self) {
        self.wt = vec![T::ZERO; self.n_out * self.ldt];
        for r in 0..self.n_in {
            for c in 0..self.n_out {
                self.wt[c * self.ldt + r] = self.w[r * self.ldw + c];
            }
        }
    }

    /// Reorders output columns `from..`: new column `from + c` is old column `from + perm[c]`.
    pub fn permute_outputs(&mut self, from: usize, perm: &[usize]) {
        let old = self.w.clone();
        for r in 0..self.n_in {
            for (c, &p) in perm.iter().enumerate() {
                self.w[r * self.ldw + from + c] = old[r * self.ldw + from + p];
            }
        }
        self.transpose();
    }

    /// Reorders input rows `from..`: new row `from + c` is old row `from + perm[c]`.
    pub fn permute_inputs(&mut self, from: usize, perm: &[usize]) {
        let old = self.w.clone();
        let n = self.ldw;
        for (c, &p) in perm.iter().enumerate() {
            self.w[(from + c) * n..(from + c + 1) * n]
                .copy_from_slice(&old[(from + p) * n..(from + p + 1) * n]);
        }
        self.transpose();
    }

    /// `y (rows x n_out, row stride ldy) = [x_1 | x_2 | ..] @ W`, then the epilogue.
    pub fn forward(
        &self,
        isa: Isa,
        rows: usize,
        x: &[Operand<'_, T>],
        y: &mut [T],
        ldy: usize,
        ep: Epilogue<'_, T>,
    ) {
        gemm(isa, rows, x, &self.w, self.ldw, self.n_out, y, ldy, ep);
    }

    /// Columns `from..from + n` of `dy @ W^T` into `dx` (row stride ldx), then the epilogue.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        isa: Isa,
        rows: usize,
        dy: &[Operand<'_, T>],
        from: usize,
        n: usize,
        dx: &mut [T],
        ldx: usize,
        ep: Epilogue<'_, T>,
    ) {
        gemm(isa, rows, dy, &self.wt[from..], self.ldt, n, dx, ldx, ep);
    }
}

/// A block of columns of an MLP's input gradient: `rows x cols` with row stride `ld`, written
/// or (`add`) accumulated.
pub struct OutBlock<'a, T> {
    pub data: &'a mut [T],
    pub ld: usize,
    pub cols: usize,
    pub add: bool,
}

#[derive(Clone, Debug)]
pub struct Mlp<T> {
    pub layers: Vec<Linear<T>>,
}

/// Activations of one MLP call: every hidden layer's SiLU output and derivative.
#[derive(Default)]
pub struct MlpCache<T> {
    /// `act[k]`: SiLU of linear k's output, the input of linear k + 1.
    act: Vec<Vec<T>>,
    /// `deriv[k]`: SiLU'(linear k's output).
    deriv: Vec<Vec<T>>,
    grad: Vec<T>,
    grad2: Vec<T>,
}

impl<T: Real> Mlp<T> {
    /// A ScalarMLPFunction: Sequential of ScalarLinearLayer, SiLU, ..., ScalarLinearLayer.
    pub fn load(m: &Module) -> LoadResult<Mlp<T>> {
        m.expect_class(&["ScalarMLPFunction"])?;
        let seq = m.child_of("mlp", "Sequential")?;
        let children = seq.numbered_children()?;
        let mut layers = Vec::new();
        for (k, child) in children.iter().enumerate() {
            if k % 2 == 1 {
                child.expect_class(&["SiLU"])?;
                continue;
            }
            child.expect_class(&["ScalarLinearLayer"])?;
            let w = child.tensor("weight")?;
            let alpha = child.tensor("alpha")?;
            if w.shape.len() != 2 || alpha.data.len() != 1 {
                return Err(ArchiveError::layout(format!(
                    "{}: weight/alpha of unexpected shape",
                    child.path
                )));
            }
            if let Ok(Value::Tensor(_)) = child.attr("bias") {
                return Err(ArchiveError::layout(format!(
                    "{}: a bias, which allegro 0.8 never has",
                    child.path
                )));
            }
            // The weights are stored in the model's dtype (extra/model_dtype says which).
            let f64_weights = w.dtype == super::pickle::DType::F64;
            if f64_weights != (std::mem::size_of::<T>() == 8)
                || !matches!(
                    w.dtype,
                    super::pickle::DType::F32 | super::pickle::DType::F64
                )
            {
                return Err(ArchiveError::layout(format!(
                    "{}: weights stored as {:?} in a {} model (extra/model_dtype contradicts the weights)",
                    child.path,
                    w.dtype,
                    if std::mem::size_of::<T>() == 8 { "float64" } else { "float32" }
                )));
            }
            // nequip multiplies W by alpha in the weights' dtype before the product.
            let a = T::from_f64(alpha.data[0]);
            layers.push(Linear::new(
                w.shape[0],
                w.shape[1],
                w.data.iter().map(|&x| T::from_f64(x) * a).collect(),
            ));
        }
        if layers.is_empty() || children.len() % 2 == 0 {
            return Err(ArchiveError::layout(format!(
                "{}: an MLP that does not end in a linear layer",
                m.path
            )));
        }
        for pair in layers.windows(2) {
            if pair[0].n_out != pair[1].n_in {
                return Err(ArchiveError::layout(format!(
                    "{}: layer widths do not chain",
                    m.path
                )));
            }
        }
        Ok(Mlp { layers })
    }

    pub fn n_in(&self) -> usize {
        self.layers[0].n_in
    }

    pub fn n_out(&self) -> usize {
        self.layers.last().unwrap().n_out
    }

    /// `y (rows x n_out, row stride ldy) = MLP([x_1 | x_2 | ..])`; SiLU fused into the products.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        isa: Isa,
        rows: usize,
        x: &[Operand<'_, T>],
        y: &mut [T],
        ldy: usize,
        cache: &mut MlpCache<T>,
    ) {
        let hidden = self.layers.len() - 1;
        cache.act.resize_with(hidden, Vec::new);
        cache.deriv.resize_with(hidden, Vec::new);
        for (k, layer) in self.layers.iter().enumerate() {
            let (done, rest) = cache.act.split_at_mut(k.min(hidden));
            let prev;
            let input: &[Operand<'_, T>] = if k == 0 {
                x
            } else {
                prev = [Operand::new(&done[k - 1][..], layer.n_in, layer.n_in)];
                &prev
            };
            if k == hidden {
                layer.forward(isa, rows, input, y, ldy, Epilogue::Store);
            } else {
                let (act, deriv) = (&mut rest[0], &mut cache.deriv[k]);
                act.resize(rows * layer.n_out, T::ZERO);
                deriv.resize(rows * layer.n_out, T::ZERO);
                layer.forward(isa, rows, input, act, layer.n_out, Epilogue::Silu(deriv));
            }
        }
    }

    /// Given `dy = dE/dy` of the last [`Mlp::forward`] (as column blocks), writes or adds
    /// `dE/dx` into the column blocks `dx` (which cover the input's columns in order).
    pub fn backward(
        &self,
        isa: Isa,
        rows: usize,
        dy: &[Operand<'_, T>],
        dx: &mut [OutBlock<'_, T>],
        cache: &mut MlpCache<T>,
    ) {
        let mut grad = std::mem::take(&mut cache.grad);
        let mut grad2 = std::mem::take(&mut cache.grad2);
        let last = self.layers.len() - 1;
        // Through linear k and the SiLU before it, for k = last .. 1.
        for k in (1..=last).rev() {
            let layer = &self.layers[k];
            grad2.resize(rows * layer.n_in, T::ZERO);
            let scale = Epilogue::Scale(&cache.deriv[k - 1][..]);
            if k == last {
                layer.backward(isa, rows, dy, 0, layer.n_in, &mut grad2, layer.n_in, scale);
            } else {
                let g = [Operand::new(&grad[..], layer.n_out, layer.n_out)];
                layer.backward(isa, rows, &g, 0, layer.n_in, &mut grad2, layer.n_in, scale);
            }
            std::mem::swap(&mut grad, &mut grad2);
        }
        let first = &self.layers[0];
        let g = [Operand::new(&grad[..], first.n_out, first.n_out)];
        let input: &[Operand<'_, T>] = if last == 0 { dy } else { &g };
        let mut from = 0;
        for block in dx.iter_mut() {
            let ep = if block.add {
                Epilogue::Add
            } else {
                Epilogue::Store
            };
            first.backward(isa, rows, input, from, block.cols, block.data, block.ld, ep);
            from += block.cols;
        }
        debug_assert_eq!(from, first.n_in);
        cache.grad = grad;
        cache.grad2 = grad2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The backward pass of a 3-layer MLP against central differences of sum(g * y), on every
    /// instruction set, with the input read as two column blocks and the gradient written so.
    #[test]
    fn backward_matches_finite_differences() {
        let mut seed = 7u64;
        let mut rand = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let dims = [5, 7, 6, 3];
        let layers = dims
            .windows(2)
            .map(|d| Linear::new(d[0], d[1], (0..d[0] * d[1]).map(|_| rand()).collect()))
            .collect();
        let mlp = Mlp::<f64> { layers };
        let rows = 4;
        let x: Vec<f64> = (0..rows * 5).map(|_| 2.0 * rand()).collect();
        let g: Vec<f64> = (0..rows * 3).map(|_| rand()).collect();
        for isa in [Isa::Avx512, Isa::Avx2, Isa::Baseline] {
            if !isa.available() {
                continue;
            }
            let f = |x: &[f64], cache: &mut MlpCache<f64>| {
                let mut y = vec![0.0; rows * 3];
                let ops = [Operand::new(x, 5, 2), Operand::new(&x[2..], 5, 3)];
                mlp.forward(isa, rows, &ops, &mut y, 3, cache);
                y.iter().zip(&g).map(|(a, b)| a * b).sum::<f64>()
            };
            let mut cache = MlpCache::default();
            f(&x, &mut cache);
            let (mut d0, mut d1) = (vec![0.0; rows * 2], vec![1.0; rows * 3]);
            let mut blocks = [
                OutBlock {
                    data: &mut d0,
                    ld: 2,
                    cols: 2,
                    add: false,
                },
                OutBlock {
                    data: &mut d1,
                    ld: 3,
                    cols: 3,
                    add: true,
                },
            ];
            mlp.backward(
                isa,
                rows,
                &[Operand::new(&g, 3, 3)],
                &mut blocks,
                &mut cache,
            );
            let h = 1e-6;
            for k in 0..x.len() {
                let (mut p, mut m) = (x.clone(), x.clone());
                p[k] += h;
                m[k] -= h;
                let fd =
                    (f(&p, &mut MlpCache::default()) - f(&m, &mut MlpCache::default())) / (2.0 * h);
                let (r, c) = (k / 5, k % 5);
                let got = if c < 2 {
                    d0[r * 2 + c]
                } else {
                    d1[r * 3 + c - 2] - 1.0
                };
                assert!((fd - got).abs() < 1e-8, "{isa:?} x[{k}]: {got} vs {fd}");
            }
        }
    }
}
