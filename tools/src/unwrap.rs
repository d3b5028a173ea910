//! Unwrapping that is right at constant pressure: each frame's step is the minimum image of the
//! change of the wrapped position in that frame's own (possibly triclinic) cell — the "TOR"
//! scheme of Bullerjahn et al. (2023). The common x + image * box(t) scheme is wrong when the box
//! fluctuates: an atom that crossed the boundary n times moves with n * dL(t), which inflates D
//! (von Bulow et al. 2020). See `naive_unwrap` for that scheme, kept for tests and comparison.
use crate::trajectory::{Cell, Frame};

/// Largest fractional step between frames that can be unwrapped unambiguously.
pub const MAX_FRACTIONAL_STEP: f64 = 0.4;

/// Unwraps a trajectory frame by frame with the TOR scheme: the state is the previous wrapped
/// and the current unwrapped positions (A).
pub struct Unwrapper {
    previous: Vec<[f64; 3]>,
    unwrapped: Vec<[f64; 3]>,
}

/// Position wrapped into the cell.
pub fn wrap(cell: &Cell, x: [f64; 3]) -> [f64; 3] {
    cell.to_cartesian(cell.to_fractional(x).map(|s| s - s.floor()))
}

impl Unwrapper {
    /// Starts from the first frame's positions wrapped into its cell.
    pub fn new(first: &Frame) -> Unwrapper {
        let wrapped: Vec<[f64; 3]> = first
            .positions
            .iter()
            .map(|&x| wrap(&first.cell, x))
            .collect();
        Unwrapper {
            unwrapped: wrapped.clone(),
            previous: wrapped,
        }
    }

    /// Adds the next frame (same atoms, same order); returns the unwrapped positions, or the
    /// index of an atom whose step is too large to unwrap.
    pub fn push(&mut self, frame: &Frame) -> Result<&[[f64; 3]], usize> {
        let reciprocal = frame.cell.reciprocal();
        for (i, &x) in frame.positions.iter().enumerate() {
            let w = wrap(&frame.cell, x);
            let d = [
                w[0] - self.previous[i][0],
                w[1] - self.previous[i][1],
                w[2] - self.previous[i][2],
            ];
            let mut s = reciprocal.map(|r| r[0] * d[0] + r[1] * d[1] + r[2] * d[2]);
            s = s.map(|f| f - f.round());
            if s.iter().any(|f| f.abs() > MAX_FRACTIONAL_STEP) {
                return Err(i);
            }
            let step = frame.cell.vector(s);
            for k in 0..3 {
                self.unwrapped[i][k] += step[k];
            }
            self.previous[i] = w;
        }
        Ok(&self.unwrapped)
    }

    /// The unwrapped positions after the last frame added, A.
    pub fn positions(&self) -> &[[f64; 3]] {
        &self.unwrapped
    }
}

/// x + image * box of the frame itself: what `xu` columns and most tools do. Wrong under NPT.
pub fn naive_unwrap(frame: &Frame) -> Option<Vec<[f64; 3]>> {
    let images = frame.images.as_ref()?;
    Some(
        frame
            .positions
            .iter()
            .zip(images)
            .map(|(&x, im)| {
                let w = wrap(&frame.cell, x);
                let shift = frame.cell.vector(im.map(|v| v as f64));
                [w[0] + shift[0], w[1] + shift[1], w[2] + shift[2]]
            })
            .collect(),
    )
}
