//! Periodic cells: rows of `h` are the cell vectors a, b, c (A); `origin` is the lower corner.

/// A periodic cell.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Cell {
    /// Rows are the cell vectors a, b, c, A.
    pub h: [[f64; 3]; 3],
    /// Lower corner of the box, A.
    pub origin: [f64; 3],
}

pub use allegro::vec3::{cross, dot};

impl Cell {
    /// A LAMMPS (restricted triclinic) box: a = (lx,0,0), b = (xy,ly,0), c = (xz,yz,lz).
    pub fn from_lammps(lo: [f64; 3], hi: [f64; 3], tilt: [f64; 3]) -> Cell {
        let [xy, xz, yz] = tilt;
        Cell {
            h: [
                [hi[0] - lo[0], 0.0, 0.0],
                [xy, hi[1] - lo[1], 0.0],
                [xz, yz, hi[2] - lo[2]],
            ],
            origin: lo,
        }
    }

    /// Volume, A^3.
    pub fn volume(&self) -> f64 {
        dot(self.h[0], cross(self.h[1], self.h[2])).abs()
    }

    /// |a|, |b|, |c|.
    pub fn lengths(&self) -> [f64; 3] {
        self.h.map(|v| dot(v, v).sqrt())
    }

    /// Rows r_k with s_k = r_k . (x - origin): the reciprocal vectors without 2 pi.
    pub fn reciprocal(&self) -> [[f64; 3]; 3] {
        let v = dot(self.h[0], cross(self.h[1], self.h[2]));
        [
            cross(self.h[1], self.h[2]).map(|x| x / v),
            cross(self.h[2], self.h[0]).map(|x| x / v),
            cross(self.h[0], self.h[1]).map(|x| x / v),
        ]
    }

    /// Fractional coordinates of a Cartesian point.
    pub fn to_fractional(&self, x: [f64; 3]) -> [f64; 3] {
        let r = self.reciprocal();
        let d = [
            x[0] - self.origin[0],
            x[1] - self.origin[1],
            x[2] - self.origin[2],
        ];
        [dot(r[0], d), dot(r[1], d), dot(r[2], d)]
    }

    /// Cartesian point of fractional coordinates.
    pub fn to_cartesian(&self, s: [f64; 3]) -> [f64; 3] {
        std::array::from_fn(|d| {
            self.origin[d] + s[0] * self.h[0][d] + s[1] * self.h[1][d] + s[2] * self.h[2][d]
        })
    }

    /// Cartesian vector of a fractional displacement (no origin).
    pub fn vector(&self, s: [f64; 3]) -> [f64; 3] {
        std::array::from_fn(|d| s[0] * self.h[0][d] + s[1] * self.h[1][d] + s[2] * self.h[2][d])
    }

    /// Minimum-image version of a Cartesian displacement in this cell.
    pub fn minimum_image(&self, d: [f64; 3]) -> [f64; 3] {
        let r = self.reciprocal();
        let s = [dot(r[0], d), dot(r[1], d), dot(r[2], d)].map(|f| f - f.round());
        let mut best = self.vector(s);
        // In strongly skewed cells rounding the fractional coordinates is not always the
        // shortest image: check the neighbouring images too.
        let mut best2 = dot(best, best);
        for i in -1..=1 {
            for j in -1..=1 {
                for k in -1..=1 {
                    let v = self.vector([s[0] + i as f64, s[1] + j as f64, s[2] + k as f64]);
                    let v2 = dot(v, v);
                    if v2 < best2 - 1e-12 {
                        best = v;
                        best2 = v2;
                    }
                }
            }
        }
        best
    }

    /// Whether the volume is finite and positive (a right-handed, non-degenerate cell).
    pub fn is_valid(&self) -> bool {
        let v = dot(self.h[0], cross(self.h[1], self.h[2]));
        v.is_finite() && v > 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_round_trip_triclinic() {
        let c = Cell::from_lammps([1.0, -2.0, 0.5], [11.0, 7.0, 8.5], [1.5, -0.7, 2.0]);
        let x = [3.3, 4.4, -5.5];
        let back = c.to_cartesian(c.to_fractional(x));
        for d in 0..3 {
            assert!((back[d] - x[d]).abs() < 1e-12);
        }
        assert!((c.volume() - 10.0 * 9.0 * 8.0).abs() < 1e-9);
    }

    #[test]
    fn minimum_image_is_shortest() {
        let c = Cell::from_lammps([0.0; 3], [10.0, 10.0, 10.0], [4.9, -3.0, 2.0]);
        for d in [[9.0, 9.5, 0.2], [-14.0, 3.0, 7.7], [0.1, -0.2, 0.3]] {
            let got = c.minimum_image(d);
            // brute force over images
            let mut best = f64::MAX;
            for i in -3..=3 {
                for j in -3..=3 {
                    for k in -3..=3 {
                        let v = c.vector([i as f64, j as f64, k as f64]);
                        let e = [d[0] + v[0], d[1] + v[1], d[2] + v[2]];
                        best = best.min(dot(e, e));
                    }
                }
            }
            assert!((dot(got, got) - best).abs() < 1e-9, "{d:?}: {got:?}");
        }
    }
}
