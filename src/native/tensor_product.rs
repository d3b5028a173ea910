//! The tensor product of an Allegro layer, forward and backward, over a block of edges.
//!
//! Features are stored [edge][component][channel] and walked in chunks of `CH` channels
//! (8 when the channel count allows, else 1): each coupling (i, j, k) is then a few whole
//! vector operations instead of a loop of unknown length per component.
use super::archive::{ArchiveError, LoadResult, Module};
use super::pickle::Tensor;
use super::real::Real;
use super::weighting::row_chunks;

/// One tensor product of the Allegro layers ("Contracter"), without channel mixing:
/// `out[k][u] = sum over couplings (i, j, k) of x1[i][u] * x2[j][u] * weight[coupling][u]`.
#[derive(Clone, Debug)]
pub struct TensorProduct<T> {
    pub mul: usize,
    pub d1: usize,
    pub d2: usize,
    pub dout: usize,
    /// Non-zero couplings (i, j, k) of the Wigner-3j tables.
    pub couplings: Vec<[usize; 3]>,
    /// `mul` weights per coupling (path weights times Wigner-3j), coupling-major.
    pub weights: Vec<T>,
    /// Leading scalar components of the output per channel.
    pub n_scalar_out: usize,
    /// The couplings (and their weights) ordered by output component, stably, with the run of
    /// each component: the forward pass sums one output in registers.
    pub by_output: Vec<[usize; 3]>,
    pub weights_by_output: Vec<T>,
    pub output_runs: Vec<std::ops::Range<usize>>,
    /// Runs of `couplings` with the same first input (they are ordered so): the backward pass
    /// sums one input gradient in registers.
    pub input_runs: Vec<std::ops::Range<usize>>,
}

impl<T: Real> TensorProduct<T> {
    /// A tensor product of `mul` channels, component counts `[d1, d2, dout]`, the non-zero
    /// couplings in input-major order and `mul` weights per coupling.
    pub fn new(
        mul: usize,
        [d1, d2, dout]: [usize; 3],
        couplings: Vec<[usize; 3]>,
        weights: Vec<T>,
        n_scalar_out: usize,
    ) -> TensorProduct<T> {
        let mut order: Vec<usize> = (0..couplings.len()).collect();
        order.sort_by_key(|&c| couplings[c][2]);
        let by_output: Vec<[usize; 3]> = order.iter().map(|&c| couplings[c]).collect();
        let weights_by_output = order
            .iter()
            .flat_map(|&c| weights[c * mul..(c + 1) * mul].iter().copied())
            .collect();
        let runs = |key: &dyn Fn(usize) -> usize, n: usize| {
            let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
            for c in 0..n {
                match runs.last_mut() {
                    Some(r) if key(r.start) == key(c) => r.end = c + 1,
                    _ => runs.push(c..c + 1),
                }
            }
            runs
        };
        let output_runs = runs(&|c| by_output[c][2], by_output.len());
        let input_runs = runs(&|c| couplings[c][0], couplings.len());
        TensorProduct {
            mul,
            d1,
            d2,
            dout,
            couplings,
            weights,
            n_scalar_out,
            by_output,
            weights_by_output,
            output_runs,
            input_runs,
        }
    }

    /// A Contracter with `n_scalar_out` leading scalar output components.
    pub fn load(m: &Module, n_scalar_out: usize) -> LoadResult<TensorProduct<T>> {
        m.expect_class(&["Contracter"])?;
        let mul = m.int("mul")? as usize;
        let d1 = m.int("base_dim1")? as usize;
        let d2 = m.int("base_dim2")? as usize;
        let diagonal = m.bool("w3j_is_ij_diagonal")?;
        let spec = m.string("_weight_w3j_einstr")?;
        let (w, w3j) = (m.tensor("weights")?, m.tensor("w3j")?);
        let bad = || {
            ArchiveError::layout(format!(
                "{}: weights/w3j/einsum '{spec}' do not fit together",
                m.path
            ))
        };
        let (labels, shape, ww) = einsum2(&spec, &w, &w3j).ok_or_else(bad)?;
        // Bring the combined weights to [u][i][j][k] (or [u][i][k] when diagonal).
        let want = if diagonal { "ik" } else { "ijk" };
        let (per_channel, rest) = match labels.strip_prefix('u') {
            Some(rest) => (true, rest),
            None => (false, labels.as_str()),
        };
        if rest != want || (per_channel && shape[0] != mul) {
            return Err(bad());
        }
        let dims = &shape[per_channel as usize..];
        if dims[0] != d1 || (!diagonal && dims[1] != d2) || (diagonal && d1 != d2) {
            return Err(bad());
        }
        let dout = *dims.last().unwrap();
        let inner: usize = dims.iter().product();
        let mut couplings = Vec::new();
        let mut weights = Vec::new();
        for flat in 0..inner {
            let (i, j, k) = if diagonal {
                (flat / dout, flat / dout, flat % dout)
            } else {
                (flat / (d2 * dout), flat / dout % d2, flat % dout)
            };
            let values: Vec<f64> = (0..mul)
                .map(|u| ww[if per_channel { u * inner } else { 0 } + flat])
                .collect();
            if values.iter().all(|&v| v == 0.0) {
                continue;
            }
            couplings.push([i, j, k]);
            weights.extend(values.iter().map(|&v| T::from_f64(v)));
        }
        if n_scalar_out > dout {
            return Err(bad());
        }
        Ok(TensorProduct::new(
            mul,
            [d1, d2, dout],
            couplings,
            weights,
            n_scalar_out,
        ))
    }
}

/// Evaluates a two-operand einsum such as `up,pijk->uijk` on dense row-major tensors.
fn einsum2(spec: &str, a: &Tensor, b: &Tensor) -> Option<(String, Vec<usize>, Vec<f64>)> {
    let (inputs, out) = spec.split_once("->")?;
    let (la, lb) = inputs.split_once(',')?;
    let (la, lb): (Vec<char>, Vec<char>) = (la.chars().collect(), lb.chars().collect());
    if la.len() != a.shape.len() || lb.len() != b.shape.len() {
        return None;
    }
    let mut size = std::collections::BTreeMap::new();
    for (l, &s) in la.iter().zip(&a.shape).chain(lb.iter().zip(&b.shape)) {
        if *size.entry(*l).or_insert(s) != s {
            return None;
        }
    }
    let labels: Vec<char> = size.keys().copied().collect();
    let out_labels: Vec<char> = out.chars().collect();
    if out_labels.iter().any(|l| !size.contains_key(l)) {
        return None;
    }
    let out_shape: Vec<usize> = out_labels.iter().map(|l| size[l]).collect();
    let mut result = vec![0.0; out_shape.iter().product()];
    let flat = |labs: &[char], shape: &[usize], idx: &std::collections::BTreeMap<char, usize>| {
        labs.iter()
            .zip(shape)
            .fold(0, |acc, (l, &s)| acc * s + idx[l])
    };
    let total: usize = labels.iter().map(|l| size[l]).product();
    let mut idx: std::collections::BTreeMap<char, usize> = labels.iter().map(|&l| (l, 0)).collect();
    for _ in 0..total {
        let va = a.data[flat(&la, &a.shape, &idx)];
        let vb = b.data[flat(&lb, &b.shape, &idx)];
        result[flat(&out_labels, &out_shape, &idx)] += va * vb;
        for l in labels.iter().rev() {
            let i = idx.get_mut(l).unwrap();
            *i += 1;
            if *i < size[l] {
                break;
            }
            *i = 0;
        }
    }
    Some((out.to_owned(), out_shape, result))
}

impl<T: Real> TensorProduct<T> {
    /// `out[e][k] = sum over couplings (i, j, k) of x1[e][i] * x2[centre(e)][j] * w` for every
    /// edge, with `x2` (the environment sums) per centre.
    #[inline(always)]
    pub fn forward<const CH: usize, const NQ: usize>(
        &self,
        x1: &[[T; CH]],
        x2: &[[T; CH]],
        centre_of: &[usize],
        out: &mut [[T; CH]],
    ) {
        let nq = row_chunks::<CH, NQ>(self.mul);
        let (s1, s2, so) = (self.d1 * nq, self.d2 * nq, self.dout * nq);
        let weights = self.weights_by_output.as_chunks::<CH>().0;
        for (e, &c) in centre_of.iter().enumerate() {
            let x1 = &x1[e * s1..(e + 1) * s1];
            let x2 = &x2[c * s2..(c + 1) * s2];
            let out = &mut out[e * so..(e + 1) * so];
            out.fill([T::ZERO; CH]);
            // One output component at a time, summed in registers (chunks copied in: with the
            // buffers' aliasing out of the picture the lane loops become vector instructions).
            for run in &self.output_runs {
                let k = self.by_output[run.start][2];
                for q in 0..nq {
                    let mut o = [T::ZERO; CH];
                    for p in run.clone() {
                        let [i, j, _] = self.by_output[p];
                        let (a, b, w) = (x1[i * nq + q], x2[j * nq + q], weights[p * nq + q]);
                        for l in 0..CH {
                            o[l] += a[l] * b[l] * w[l];
                        }
                    }
                    out[k * nq + q] = o;
                }
            }
        }
    }

    /// Given `dout = dE/dout`, writes `dx1 = dE/dx1` per edge and adds `dE/dx2` per centre.
    #[inline(always)]
    pub fn backward<const CH: usize, const NQ: usize>(
        &self,
        x1: &[[T; CH]],
        x2: &[[T; CH]],
        centre_of: &[usize],
        dout: &[[T; CH]],
        dx1: &mut [[T; CH]],
        dx2: &mut [[T; CH]],
    ) {
        let nq = row_chunks::<CH, NQ>(self.mul);
        let (s1, s2, so) = (self.d1 * nq, self.d2 * nq, self.dout * nq);
        let weights = self.weights.as_chunks::<CH>().0;
        for (e, &c) in centre_of.iter().enumerate() {
            let x1 = &x1[e * s1..(e + 1) * s1];
            let x2 = &x2[c * s2..(c + 1) * s2];
            let dout = &dout[e * so..(e + 1) * so];
            let dx1 = &mut dx1[e * s1..(e + 1) * s1];
            let dx2 = &mut dx2[c * s2..(c + 1) * s2];
            dx1.fill([T::ZERO; CH]);
            // One first input at a time: its gradient summed in registers.
            for run in &self.input_runs {
                let i = self.couplings[run.start][0];
                for q in 0..nq {
                    let a = x1[i * nq + q];
                    // Added to what dx1 holds, so that the result needs no particular order
                    // of the couplings (they come input-major: one run per input).
                    let mut da = dx1[i * nq + q];
                    for p in run.clone() {
                        let [_, j, k] = self.couplings[p];
                        let (b, w, o) = (x2[j * nq + q], weights[p * nq + q], dout[k * nq + q]);
                        let mut db = dx2[j * nq + q];
                        for l in 0..CH {
                            let g = o[l] * w[l];
                            da[l] += g * b[l];
                            db[l] += g * a[l];
                        }
                        dx2[j * nq + q] = db;
                    }
                    dx1[i * nq + q] = da;
                }
            }
        }
    }
}
