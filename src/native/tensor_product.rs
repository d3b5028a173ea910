//! The tensor product of an Allegro layer, forward and backward, over a block of edges.
//!
//! Features are stored [edge][component][channel] and walked in chunks of `CH` channels
//! (8 when the channel count allows, else 1): each coupling (i, j, k) is then a few whole
//! vector operations instead of a loop of unknown length per component.
use super::network::TensorProduct;
use super::real::Real;
use super::weighting::row_chunks;

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
