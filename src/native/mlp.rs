//! nequip's bias-free MLPs: `y = x @ (W * alpha)` per layer, SiLU between layers (none after the
//! last), with the activations kept for the backward pass.
use super::real::Real;

/// A linear layer with its `alpha` already folded into the weights (as nequip does, in the
/// model's dtype), stored (in, out) row-major.
#[derive(Clone, Debug)]
pub struct Linear<T> {
    pub n_in: usize,
    pub n_out: usize,
    pub w: Vec<T>,
}

impl<T: Real> Linear<T> {
    /// Reorders output columns `from..`: new column `from + c` is old column `from + perm[c]`.
    pub fn permute_outputs(&mut self, from: usize, perm: &[usize]) {
        let old = self.w.clone();
        for r in 0..self.n_in {
            for (c, &p) in perm.iter().enumerate() {
                self.w[r * self.n_out + from + c] = old[r * self.n_out + from + p];
            }
        }
    }

    /// Reorders input rows `from..`: new row `from + c` is old row `from + perm[c]`.
    pub fn permute_inputs(&mut self, from: usize, perm: &[usize]) {
        let old = self.w.clone();
        let n = self.n_out;
        for (c, &p) in perm.iter().enumerate() {
            self.w[(from + c) * n..(from + c + 1) * n]
                .copy_from_slice(&old[(from + p) * n..(from + p + 1) * n]);
        }
    }

    /// `y (rows x n_out) = x (rows x n_in, row stride ldx) @ W`.
    pub fn forward(&self, rows: usize, x: &[T], ldx: usize, y: &mut [T]) {
        T::gemm(
            rows,
            self.n_in,
            self.n_out,
            x,
            ldx,
            1,
            &self.w,
            self.n_out,
            1,
            T::ZERO,
            y,
            self.n_out,
        );
    }

    /// `dx (rows x n_in, row stride ldx) (+)= dy (rows x n_out) @ W^T`; `accumulate` adds.
    pub fn backward(&self, rows: usize, dy: &[T], dx: &mut [T], ldx: usize, accumulate: bool) {
        let beta = if accumulate { T::ONE } else { T::ZERO };
        T::gemm(
            rows, self.n_out, self.n_in, dy, self.n_out, 1, &self.w, 1, self.n_out, beta, dx, ldx,
        );
    }
}

#[derive(Clone, Debug)]
pub struct Mlp<T> {
    pub layers: Vec<Linear<T>>,
}

/// Activations of one MLP call: pre-activations of every hidden layer and the layer inputs.
#[derive(Default)]
pub struct MlpCache<T> {
    /// `pre[k]`: output of linear k (before SiLU) for the hidden layers.
    pre: Vec<Vec<T>>,
    /// `act[k]`: SiLU(pre[k]), the input of linear k + 1.
    act: Vec<Vec<T>>,
    /// `sig[k]`: sigmoid(pre[k]).
    sig: Vec<Vec<T>>,
    grad: Vec<T>,
    grad2: Vec<T>,
}

impl<T: Real> Mlp<T> {
    pub fn n_in(&self) -> usize {
        self.layers[0].n_in
    }

    pub fn n_out(&self) -> usize {
        self.layers.last().unwrap().n_out
    }

    /// `y (rows x n_out) = MLP(x)`, `x` with row stride `ldx`.
    #[inline(always)]
    pub fn forward(&self, rows: usize, x: &[T], ldx: usize, y: &mut [T], cache: &mut MlpCache<T>) {
        let hidden = self.layers.len() - 1;
        cache.pre.resize_with(hidden, Vec::new);
        cache.act.resize_with(hidden, Vec::new);
        cache.sig.resize_with(hidden, Vec::new);
        for (k, layer) in self.layers.iter().enumerate() {
            if k == hidden {
                let (input, ld) = if k == 0 {
                    (x, ldx)
                } else {
                    (&cache.act[k - 1][..], layer.n_in)
                };
                layer.forward(rows, input, ld, &mut y[..rows * layer.n_out]);
            } else {
                let mut pre = std::mem::take(&mut cache.pre[k]);
                pre.resize(rows * layer.n_out, T::ZERO);
                if k == 0 {
                    layer.forward(rows, x, ldx, &mut pre);
                } else {
                    layer.forward(rows, &cache.act[k - 1], layer.n_in, &mut pre);
                }
                let (act, sig) = (&mut cache.act[k], &mut cache.sig[k]);
                act.resize(pre.len(), T::ZERO);
                sig.resize(pre.len(), T::ZERO);
                T::silu(&pre, act, sig);
                cache.pre[k] = pre;
            }
        }
    }

    /// Given `dy = dE/dy` of the last [`Mlp::forward`], writes (or adds) `dE/dx` into `dx`.
    #[inline(always)]
    pub fn backward(
        &self,
        rows: usize,
        dy: &[T],
        dx: &mut [T],
        ldx: usize,
        accumulate: bool,
        cache: &mut MlpCache<T>,
    ) {
        let mut grad = std::mem::take(&mut cache.grad);
        let mut grad2 = std::mem::take(&mut cache.grad2);
        grad.clear();
        grad.extend_from_slice(&dy[..rows * self.n_out()]);
        for k in (0..self.layers.len()).rev() {
            let layer = &self.layers[k];
            if k == 0 {
                layer.backward(rows, &grad, dx, ldx, accumulate);
            } else {
                // Through linear k, then through SiLU of hidden layer k - 1.
                grad2.resize(rows * layer.n_in, T::ZERO);
                layer.backward(rows, &grad, &mut grad2, layer.n_in, false);
                for ((g, &z), &s) in grad2
                    .iter_mut()
                    .zip(&cache.pre[k - 1])
                    .zip(&cache.sig[k - 1])
                {
                    *g *= s * (T::ONE + z * (T::ONE - s));
                }
                std::mem::swap(&mut grad, &mut grad2);
            }
        }
        cache.grad = grad;
        cache.grad2 = grad2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The backward pass of a 3-layer MLP against central differences of sum(g * y).
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
            .map(|d| Linear {
                n_in: d[0],
                n_out: d[1],
                w: (0..d[0] * d[1]).map(|_| rand()).collect(),
            })
            .collect();
        let mlp = Mlp::<f64> { layers };
        let rows = 4;
        let x: Vec<f64> = (0..rows * 5).map(|_| 2.0 * rand()).collect();
        let g: Vec<f64> = (0..rows * 3).map(|_| rand()).collect();
        let mut cache = MlpCache::default();
        let f = |x: &[f64], cache: &mut MlpCache<f64>| {
            let mut y = vec![0.0; rows * 3];
            mlp.forward(rows, x, 5, &mut y, cache);
            y.iter().zip(&g).map(|(a, b)| a * b).sum::<f64>()
        };
        f(&x, &mut cache);
        let mut dx = vec![0.0; rows * 5];
        mlp.backward(rows, &g, &mut dx, 5, false, &mut cache);
        let h = 1e-6;
        for k in 0..x.len() {
            let (mut p, mut m) = (x.clone(), x.clone());
            p[k] += h;
            m[k] -= h;
            let fd =
                (f(&p, &mut MlpCache::default()) - f(&m, &mut MlpCache::default())) / (2.0 * h);
            assert!((fd - dx[k]).abs() < 1e-8, "x[{k}]: {} vs {fd}", dx[k]);
        }
    }
}
