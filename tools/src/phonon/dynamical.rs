//! Dynamical matrices and frequencies at any q. Force constants are spread over the periodic
//! images of the supercell as phonopy does: a pair's constant goes to the shortest vectors
//! between the two atoms among the supercell images, shared equally when several tie.
use super::force_constants::ForceConstants;
use super::linalg::{hermitian_eigen, norm, reciprocal, to_cartesian, Mat3};

pub use crate::units::THZ;

/// Vectors ties within this many A count as the same length.
const TIE: f64 = 1e-4;

/// The dynamical matrix of a set of force constants, for any q.
#[derive(Clone, Debug)]
pub struct Dynamical {
    /// Primitive atoms' masses, amu.
    masses: Vec<f64>,
    /// Reciprocal rows of the unit cell (no 2 pi): q_cart = sum_k q_k recip[k].
    recip: Mat3,
    /// (a, b, block, images): the constant between primitive atoms a and b of one supercell
    /// pair, and the shortest vectors (A) it is shared over.
    terms: Vec<(usize, usize, Mat3, Vec<[f64; 3]>)>,
}

/// Frequencies (THz, imaginary ones negative) and eigenvectors (complex, length 3 x atoms,
/// mass-weighted normal-mode coordinates) at one q.
#[derive(Clone, Debug)]
pub struct Modes {
    /// Eigenvalues of the dynamical matrix, ascending, eV/A^2/amu.
    pub eigenvalues: Vec<f64>,
    /// The same as frequencies, THz (imaginary ones negative).
    pub frequencies: Vec<f64>,
    /// Eigenvector of each mode, (real, imaginary) per component, normalised.
    pub vectors: Vec<Vec<(f64, f64)>>,
}

impl Dynamical {
    /// Shares the constants of `fc` over the shortest supercell images of each pair.
    pub fn new(fc: &ForceConstants) -> Dynamical {
        let sc = &fc.supercell;
        let unit_len = fc.unit.len();
        let mut terms = Vec::new();
        for (a, &atom) in fc.primitive.atoms.iter().enumerate() {
            for (j, block) in fc.phi[a].iter().enumerate() {
                let b = fc.primitive.class[j % unit_len];
                let d: [f64; 3] =
                    std::array::from_fn(|k| sc.positions[j][k] - sc.positions[atom][k]);
                let mut images: Vec<[f64; 3]> = Vec::new();
                let mut best = f64::MAX;
                for n in super::crystal::neighbours(2) {
                    let shift = to_cartesian(&sc.cell, n.map(|v| v as f64));
                    let v: [f64; 3] = std::array::from_fn(|k| d[k] + shift[k]);
                    let len = norm(v);
                    if len < best - TIE {
                        best = len;
                        images.retain(|w| norm(*w) <= best + TIE);
                    }
                    if len <= best + TIE {
                        images.push(v);
                    }
                }
                terms.push((a, b, *block, images));
            }
        }
        Dynamical {
            masses: fc
                .primitive
                .atoms
                .iter()
                .map(|&i| fc.unit.masses[i])
                .collect(),
            recip: reciprocal(&fc.unit.cell),
            terms,
        }
    }

    /// Number of atoms in the primitive cell.
    pub fn atoms(&self) -> usize {
        self.masses.len()
    }

    /// q in reciprocal coordinates of the unit cell (the cell the calculation was set up in).
    pub fn cartesian_q(&self, q: [f64; 3]) -> [f64; 3] {
        to_cartesian(&self.recip, q)
    }

    /// The Hermitian dynamical matrix (real, imaginary parts; 3n x 3n, eV/A^2/amu).
    pub fn matrix(&self, q: [f64; 3]) -> (Vec<f64>, Vec<f64>) {
        let qc = self.cartesian_q(q);
        let n = 3 * self.atoms();
        let (mut re, mut im) = (vec![0.0; n * n], vec![0.0; n * n]);
        for (a, b, block, images) in &self.terms {
            let (mut c, mut s) = (0.0, 0.0);
            for v in images {
                let phase =
                    2.0 * std::f64::consts::PI * (qc[0] * v[0] + qc[1] * v[1] + qc[2] * v[2]);
                c += phase.cos();
                s += phase.sin();
            }
            let w = 1.0 / (images.len() as f64 * (self.masses[*a] * self.masses[*b]).sqrt());
            for x in 0..3 {
                for y in 0..3 {
                    let k = (3 * a + x) * n + 3 * b + y;
                    re[k] += block[x][y] * c * w;
                    im[k] += block[x][y] * s * w;
                }
            }
        }
        // Hermitian part: finite differences leave a small asymmetry.
        for i in 0..n {
            for j in i..n {
                let r = 0.5 * (re[i * n + j] + re[j * n + i]);
                let m = 0.5 * (im[i * n + j] - im[j * n + i]);
                re[i * n + j] = r;
                re[j * n + i] = r;
                im[i * n + j] = m;
                im[j * n + i] = -m;
            }
        }
        (re, im)
    }

    /// Frequencies alone (THz, ascending, imaginary negative): faster than [`Self::modes`].
    pub fn frequencies(&self, q: [f64; 3]) -> Vec<f64> {
        let (re, im) = self.matrix(q);
        super::linalg::hermitian_eigenvalues(3 * self.atoms(), &re, &im)
            .into_iter()
            .map(to_thz)
            .collect()
    }

    /// Frequencies and eigenvectors at q (reciprocal coordinates of the unit cell).
    pub fn modes(&self, q: [f64; 3]) -> Modes {
        let (re, im) = self.matrix(q);
        let (eigenvalues, vectors) = hermitian_eigen(3 * self.atoms(), &re, &im);
        let frequencies = eigenvalues.iter().map(|&l| to_thz(l)).collect();
        Modes {
            eigenvalues,
            frequencies,
            vectors,
        }
    }
}

/// Eigenvalue (eV/A^2/amu) to frequency (THz); imaginary frequencies are negative.
pub fn to_thz(eigenvalue: f64) -> f64 {
    eigenvalue.signum() * eigenvalue.abs().sqrt() * THZ
}
