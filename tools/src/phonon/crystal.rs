//! The crystal a phonon calculation starts from, its primitive cell (found from the pure
//! translations that map the structure onto itself) and its supercells.
use super::error::Result;

use super::linalg::{det, norm, reciprocal, to_cartesian, to_fractional, Mat3};

/// Distance below which two positions are the same site, A.
pub const SITE_TOLERANCE: f64 = 1e-3;

/// A periodic structure with masses: what the phonon calculation works on.
#[derive(Clone, Debug, PartialEq)]
pub struct Crystal {
    /// Rows are the lattice vectors, A.
    pub cell: Mat3,
    /// Cartesian positions, A.
    pub positions: Vec<[f64; 3]>,
    /// Element symbol of each atom.
    pub symbols: Vec<String>,
    /// Atomic masses, amu.
    pub masses: Vec<f64>,
}

/// The primitive cell of a crystal, as a view of the crystal it came from.
#[derive(Clone, Debug)]
pub struct Primitive {
    /// Rows are the primitive lattice vectors, A.
    pub cell: Mat3,
    /// Indices of the atoms (in the crystal) that make up the primitive cell.
    pub atoms: Vec<usize>,
    /// For every atom of the crystal, the index into `atoms` of the atom it is a copy of.
    pub class: Vec<usize>,
    /// Pure translations of the crystal (fractional coordinates of its cell), zero first.
    pub translations: Vec<[f64; 3]>,
}

/// Standard atomic weights (amu) of the elements a solid-electrolyte study meets; others need
/// `--mass`.
const MASSES: &[(&str, f64)] = &[
    ("H", 1.008),
    ("Li", 6.94),
    ("B", 10.81),
    ("C", 12.011),
    ("N", 14.007),
    ("O", 15.999),
    ("F", 18.998403163),
    ("Na", 22.98976928),
    ("Mg", 24.305),
    ("Al", 26.9815385),
    ("Si", 28.085),
    ("P", 30.973761998),
    ("S", 32.06),
    ("Cl", 35.45),
    ("K", 39.0983),
    ("Ca", 40.078),
    ("Ti", 47.867),
    ("Fe", 55.845),
    ("Cu", 63.546),
    ("Zn", 65.38),
    ("Ga", 69.723),
    ("Ge", 72.630),
    ("As", 74.921595),
    ("Se", 78.971),
    ("Br", 79.904),
    ("Rb", 85.4678),
    ("Zr", 91.224),
    ("Nb", 92.90637),
    ("Mo", 95.95),
    ("Ag", 107.8682),
    ("Sn", 118.710),
    ("Sb", 121.760),
    ("Te", 127.60),
    ("I", 126.90447),
    ("Cs", 132.90545196),
    ("Ba", 137.327),
    ("La", 138.90547),
    ("Ta", 180.94788),
    ("W", 183.84),
    ("Pb", 207.2),
    ("Bi", 208.98040),
];

/// Standard atomic weight of an element symbol, amu.
pub fn standard_mass(symbol: &str) -> Option<f64> {
    MASSES.iter().find(|m| m.0 == symbol).map(|m| m.1)
}

fn wrap(f: f64) -> f64 {
    let w = f - f.round();
    if w <= -0.5 + 1e-12 {
        w + 1.0
    } else {
        w
    }
}

impl Crystal {
    /// Number of atoms.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Whether there are no atoms.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Cell volume, A^3.
    pub fn volume(&self) -> f64 {
        det(&self.cell).abs()
    }

    /// Checks what every calculation relies on: a cell with volume, finite positions, no two
    /// atoms on one site.
    pub fn validate(&self) -> Result<()> {
        check!(Structure; !self.is_empty(), "the structure has no atoms");
        check!(Structure;
            self.symbols.len() == self.len() && self.masses.len() == self.len(),
            "the structure has {} positions but {} symbols and {} masses",
            self.len(),
            self.symbols.len(),
            self.masses.len()
        );
        check!(Structure;
            self.cell.iter().flatten().all(|v| v.is_finite()) && det(&self.cell) > 1e-6,
            "the cell has no positive volume ({:.4} A^3; rows are the lattice vectors, right-handed)",
            det(&self.cell)
        );
        for (i, p) in self.positions.iter().enumerate() {
            check!(Structure;
                p.iter().all(|v| v.is_finite()),
                "atom {} has a non-finite position",
                i + 1
            );
        }
        for (i, m) in self.masses.iter().enumerate() {
            check!(Structure; *m > 0.0 && m.is_finite(), "atom {} has mass {m}", i + 1);
        }
        let recip = reciprocal(&self.cell);
        for i in 0..self.len() {
            for j in 0..i {
                let d = self.min_image(&recip, self.positions[i], self.positions[j]);
                if norm(d) < 0.1 {
                    fail!(Structure;
                        "atoms {} and {} are {:.4} A apart (the same site?)",
                        j + 1,
                        i + 1,
                        norm(d)
                    );
                }
            }
        }
        Ok(())
    }

    /// Shortest periodic image of `b - a` (exact for cells that are not very skewed).
    fn min_image(&self, recip: &Mat3, a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
        let d: [f64; 3] = std::array::from_fn(|k| b[k] - a[k]);
        let f = to_fractional(recip, d).map(wrap);
        let mut best = to_cartesian(&self.cell, f);
        for n in neighbours(1) {
            let g: [f64; 3] = std::array::from_fn(|k| f[k] + n[k] as f64);
            let c = to_cartesian(&self.cell, g);
            if norm(c) < norm(best) {
                best = c;
            }
        }
        best
    }

    /// The atom at Cartesian position `x` (any periodic image) with this symbol and mass.
    fn site_of(&self, recip: &Mat3, x: [f64; 3], symbol: &str, mass: f64) -> Option<usize> {
        (0..self.len()).find(|&k| {
            self.symbols[k] == symbol
                && (self.masses[k] - mass).abs() < 1e-6
                && norm(self.min_image(recip, x, self.positions[k])) < SITE_TOLERANCE
        })
    }

    /// n1 x n2 x n3 supercell; atom `i` of cell image (l1, l2, l3) has index
    /// `((l1 * n2 + l2) * n3 + l3) * len + i`.
    pub fn supercell(&self, n: [usize; 3]) -> Crystal {
        let mut out = Crystal {
            cell: std::array::from_fn(|k| self.cell[k].map(|v| v * n[k] as f64)),
            positions: Vec::new(),
            symbols: Vec::new(),
            masses: Vec::new(),
        };
        for l1 in 0..n[0] {
            for l2 in 0..n[1] {
                for l3 in 0..n[2] {
                    let shift = to_cartesian(&self.cell, [l1 as f64, l2 as f64, l3 as f64]);
                    for i in 0..self.len() {
                        out.positions
                            .push(std::array::from_fn(|d| self.positions[i][d] + shift[d]));
                        out.symbols.push(self.symbols[i].clone());
                        out.masses.push(self.masses[i]);
                    }
                }
            }
        }
        out
    }

    /// The primitive cell: the lattice generated by the cell vectors and every pure translation
    /// of the structure, with the shortest basis among the candidates.
    pub fn primitive(&self) -> Result<Primitive> {
        let recip = reciprocal(&self.cell);
        let frac: Vec<[f64; 3]> = self
            .positions
            .iter()
            .map(|&p| to_fractional(&recip, p))
            .collect();
        let mut translations = vec![[0.0; 3]];
        for j in 1..self.len() {
            if self.symbols[j] != self.symbols[0] || self.masses[j] != self.masses[0] {
                continue;
            }
            let t: [f64; 3] = std::array::from_fn(|k| wrap(frac[j][k] - frac[0][k]));
            let maps = (0..self.len()).all(|i| {
                let x = to_cartesian(&self.cell, std::array::from_fn(|k| frac[i][k] + t[k]));
                self.site_of(&recip, x, &self.symbols[i], self.masses[i])
                    .is_some()
            });
            if maps {
                translations.push(t);
            }
        }
        let nt = translations.len();
        check!(Structure;
            self.len().is_multiple_of(nt),
            "the structure has {} pure translations that do not divide its {} atoms",
            nt,
            self.len()
        );
        let target = self.volume() / nt as f64;
        let mut candidates: Vec<[f64; 3]> = Vec::new();
        for t in &translations {
            for n in neighbours(1) {
                let c = to_cartesian(&self.cell, std::array::from_fn(|k| t[k] + n[k] as f64));
                if norm(c) > 1e-6 {
                    candidates.push(c);
                }
            }
        }
        candidates.sort_by(|a, b| norm(*a).total_cmp(&norm(*b)));
        let mut cell = None;
        'search: for i in 0..candidates.len() {
            for j in i + 1..candidates.len() {
                for k in j + 1..candidates.len() {
                    let m = [candidates[i], candidates[j], candidates[k]];
                    let v = det(&m);
                    if (v.abs() - target).abs() < 1e-6 * target {
                        cell = Some(if v > 0.0 { m } else { [m[0], m[2], m[1]] });
                        break 'search;
                    }
                }
            }
        }
        let Some(cell) = cell else {
            fail!(Structure; "no primitive basis found among the {nt} pure translations");
        };
        // Atoms related by a pure translation are one primitive atom; the first is kept.
        let mut class = vec![usize::MAX; self.len()];
        let mut atoms = Vec::new();
        for i in 0..self.len() {
            if class[i] != usize::MAX {
                continue;
            }
            class[i] = atoms.len();
            for t in &translations[1..] {
                let x = to_cartesian(&self.cell, std::array::from_fn(|k| frac[i][k] + t[k]));
                if let Some(j) = self.site_of(&recip, x, &self.symbols[i], self.masses[i]) {
                    class[j] = atoms.len();
                }
            }
            atoms.push(i);
        }
        check!(Structure;
            atoms.len() * nt == self.len(),
            "the pure translations do not split the atoms evenly (site tolerance {SITE_TOLERANCE} A)"
        );
        Ok(Primitive {
            cell,
            atoms,
            class,
            translations,
        })
    }
}

/// All integer vectors with components in -r..=r.
pub fn neighbours(r: i32) -> impl Iterator<Item = [i32; 3]> {
    (-r..=r).flat_map(move |a| (-r..=r).flat_map(move |b| (-r..=r).map(move |c| [a, b, c])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bcc(a: f64) -> Crystal {
        Crystal {
            cell: [[a, 0.0, 0.0], [0.0, a, 0.0], [0.0, 0.0, a]],
            positions: vec![[0.0; 3], [a / 2.0; 3]],
            symbols: vec!["X".into(); 2],
            masses: vec![1.0; 2],
        }
    }

    #[test]
    fn bcc_primitive_cell_has_half_the_volume() {
        let p = bcc(3.0).primitive().unwrap();
        assert_eq!(p.atoms, vec![0]);
        assert_eq!(p.translations.len(), 2);
        assert!((det(&p.cell) - 13.5).abs() < 1e-9);
        for row in p.cell {
            assert!((norm(row) - 3.0 * 3f64.sqrt() / 2.0).abs() < 1e-9);
        }
    }

    #[test]
    fn a_supercell_reduces_to_the_same_primitive_cell() {
        let p = bcc(3.0).supercell([2, 1, 3]).primitive().unwrap();
        assert_eq!(p.atoms.len(), 1);
        assert_eq!(p.translations.len(), 12);
        assert!((det(&p.cell) - 13.5).abs() < 1e-9);
    }

    #[test]
    fn two_atoms_on_one_site_are_refused() {
        let mut c = bcc(3.0);
        c.positions[1] = [3.0, 0.0, 0.0];
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("atoms 1 and 2"), "{err}");
    }
}
