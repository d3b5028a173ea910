//! Small 3-vector helpers shared by the engine's periodic graph and the tools' geometry
//! (cells, phonons, dihedrals), so there is one copy of each.

/// A 3x3 matrix as three rows (a cell: one lattice vector per row).
pub type Mat3 = [[f64; 3]; 3];

/// Scalar product.
pub fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Vector product.
pub fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// Difference `a - b`.
pub fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// Euclidean length.
pub fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

/// Determinant of a 3x3 matrix: the signed volume of its rows.
///
/// ```
/// use allegro::vec3::{cross, det, dot};
/// let cell = [[2.0, 0.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 3.0]];
/// assert_eq!(det(&cell), 12.0);
/// assert_eq!(dot(cell[0], cross(cell[1], cell[2])), det(&cell));
/// ```
pub fn det(m: &Mat3) -> f64 {
    dot(m[0], cross(m[1], m[2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_handed_unit_vectors() {
        let (x, y, z) = ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]);
        assert_eq!(cross(x, y), z);
        assert_eq!(det(&[x, y, z]), 1.0);
        assert_eq!(norm(sub([3.0, 4.0, 0.0], [0.0; 3])), 5.0);
    }
}
