//! Na(3-x)W(x)Sb(1-x)S4 structures: cubic (I-43m) and tetragonal (P-421c) conventional cells,
//! supercells, W on Sb sites (special quasirandom structure or seeded random) and Na vacancies;
//! written as LAMMPS data files and extended XYZ.
mod recipe;
mod sqs;
mod write;

pub use recipe::{Phase, Variant};
pub use sqs::{pair_correlation_error, sqs_sublattice, SqsReport};
pub use write::{write_extxyz, write_lammps_data};

use crate::rng::Rng;

/// Elements, in the fixed LAMMPS type order of every data file: 1 Na, 2 Sb, 3 W, 4 S. The
/// pair_coeff line that matches is `pair_coeff * * MODEL Na Sb W S`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Element {
    /// Sodium, type 1.
    Na = 1,
    /// Antimony, type 2.
    Sb = 2,
    /// Tungsten, type 3.
    W = 3,
    /// Sulfur, type 4.
    S = 4,
}

impl Element {
    /// All elements, in LAMMPS type order.
    pub const ALL: [Element; 4] = [Element::Na, Element::Sb, Element::W, Element::S];

    /// Chemical symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Element::Na => "Na",
            Element::Sb => "Sb",
            Element::W => "W",
            Element::S => "S",
        }
    }

    /// Standard atomic weight, g/mol.
    pub fn mass(self) -> f64 {
        match self {
            Element::Na => 22.98977,
            Element::Sb => 121.760,
            Element::W => 183.84,
            Element::S => 32.06,
        }
    }

    /// LAMMPS atom type (1 to 4).
    pub fn lammps_type(self) -> usize {
        self as usize
    }
}

/// A periodic structure: cell, and element and position of each atom.
#[derive(Clone, Debug, PartialEq)]
pub struct Structure {
    /// Rows are the cell vectors (A); orthogonal here.
    pub cell: [[f64; 3]; 3],
    /// Element of each atom.
    pub elements: Vec<Element>,
    /// Cartesian positions, A, inside the cell.
    pub positions: Vec<[f64; 3]>,
}

/// Cubic Na3SbS4, I-43m (No. 217), Z = 2: Sb 2a (0,0,0); Na 6b (0,1/2,1/2); S 8c (x,x,x)
/// with x = 0.187 (ICSD 44707; docs/observables.md). a = 7.15 A unless given.
pub const CUBIC_A: f64 = 7.15;
/// Fractional x of S 8c (x,x,x) in the cubic cell.
pub const CUBIC_S_X: f64 = 0.187;

/// Tetragonal Na3SbS4, P-421c (No. 114): Sb 2a (0,0,0); Na 2b (0,0,1/2); Na 4d (0,1/2,z);
/// S 8e (x,y,z). No published coordinates could be reached from this project's machines, so
/// these are the teacher's (SevenNet-MF-0, R2SCAN head) relaxed parameters under P-421c
/// symmetry, from `models/derive_tetragonal.py`: a = 7.1423, c = 7.2837 A (experiment 7.16 /
/// 7.29), Na 4d z = 0.57976, S 8e (0.21178, 0.16764, 0.18354).
pub const TETRAGONAL_A: f64 = 7.1423;
/// Tetragonal lattice parameter c, A.
pub const TETRAGONAL_C: f64 = 7.2837;
/// Fractional z of Na 4d (0,1/2,z) in the tetragonal cell.
pub const TETRAGONAL_NA_Z: f64 = 0.57976;
/// Fractional (x,y,z) of S 8e in the tetragonal cell.
pub const TETRAGONAL_S: [f64; 3] = [0.21178, 0.16764, 0.18354];

/// The 8 symmetry operations of P-421c: fractional p -> R p + t.
const P421C: [([[i8; 3]; 3], [f64; 3]); 8] = [
    ([[1, 0, 0], [0, 1, 0], [0, 0, 1]], [0.0; 3]),
    ([[-1, 0, 0], [0, -1, 0], [0, 0, 1]], [0.0; 3]),
    ([[0, 1, 0], [-1, 0, 0], [0, 0, -1]], [0.0; 3]),
    ([[0, -1, 0], [1, 0, 0], [0, 0, -1]], [0.0; 3]),
    ([[-1, 0, 0], [0, 1, 0], [0, 0, -1]], [0.5; 3]),
    ([[1, 0, 0], [0, -1, 0], [0, 0, -1]], [0.5; 3]),
    ([[0, 1, 0], [1, 0, 0], [0, 0, 1]], [0.5; 3]),
    ([[0, -1, 0], [-1, 0, 0], [0, 0, 1]], [0.5; 3]),
];

fn orbit(p: [f64; 3]) -> Vec<[f64; 3]> {
    let mut out: Vec<[f64; 3]> = Vec::new();
    for (r, t) in P421C {
        let q: [f64; 3] = std::array::from_fn(|i| {
            let v = (0..3).map(|j| r[i][j] as f64 * p[j]).sum::<f64>() + t[i];
            v - v.floor()
        });
        let same = |o: &[f64; 3]| {
            (0..3).all(|i| {
                let d = (q[i] - o[i]).abs();
                d.min(1.0 - d) < 1e-6
            })
        };
        if !out.iter().any(same) {
            out.push(q);
        }
    }
    out
}

fn from_fractional(abc: [f64; 3], sites: Vec<(Element, [f64; 3])>) -> Structure {
    Structure {
        cell: [[abc[0], 0.0, 0.0], [0.0, abc[1], 0.0], [0.0, 0.0, abc[2]]],
        elements: sites.iter().map(|s| s.0).collect(),
        positions: sites
            .iter()
            .map(|s| std::array::from_fn(|d| (s.1[d] - s.1[d].floor()) * abc[d]))
            .collect(),
    }
}

/// The 16-atom cubic conventional cell.
pub fn cubic(a: f64) -> Structure {
    let x = CUBIC_S_X;
    let mut sites = Vec::new();
    for c in [[0.0; 3], [0.5; 3]] {
        sites.push((Element::Sb, c));
        for s in [[x, x, x], [-x, -x, x], [-x, x, -x], [x, -x, -x]] {
            sites.push((Element::S, std::array::from_fn(|d| c[d] + s[d])));
        }
    }
    for p in [
        [0.0, 0.5, 0.5],
        [0.5, 0.0, 0.5],
        [0.5, 0.5, 0.0],
        [0.5, 0.0, 0.0],
        [0.0, 0.5, 0.0],
        [0.0, 0.0, 0.5],
    ] {
        sites.push((Element::Na, p));
    }
    from_fractional([a; 3], sites)
}

/// The 16-atom tetragonal conventional cell (c is the unique axis, along z).
pub fn tetragonal(a: f64, c: f64) -> Structure {
    let mut sites = Vec::new();
    sites.extend(orbit([0.0; 3]).into_iter().map(|p| (Element::Sb, p)));
    sites.extend(orbit(TETRAGONAL_S).into_iter().map(|p| (Element::S, p)));
    sites.extend(orbit([0.0, 0.0, 0.5]).into_iter().map(|p| (Element::Na, p)));
    sites.extend(
        orbit([0.0, 0.5, TETRAGONAL_NA_Z])
            .into_iter()
            .map(|p| (Element::Na, p)),
    );
    from_fractional([a, a, c], sites)
}

impl Structure {
    /// n1 x n2 x n3 supercell.
    pub fn supercell(&self, reps: [usize; 3]) -> Structure {
        let mut out = Structure {
            cell: std::array::from_fn(|k| self.cell[k].map(|v| v * reps[k] as f64)),
            elements: Vec::new(),
            positions: Vec::new(),
        };
        for i in 0..reps[0] {
            for j in 0..reps[1] {
                for k in 0..reps[2] {
                    let shift: [f64; 3] = std::array::from_fn(|d| {
                        i as f64 * self.cell[0][d]
                            + j as f64 * self.cell[1][d]
                            + k as f64 * self.cell[2][d]
                    });
                    for (e, p) in self.elements.iter().zip(&self.positions) {
                        out.elements.push(*e);
                        out.positions.push(std::array::from_fn(|d| p[d] + shift[d]));
                    }
                }
            }
        }
        out
    }

    /// Number of atoms of element `e`.
    pub fn count(&self, e: Element) -> usize {
        self.elements.iter().filter(|&&x| x == e).count()
    }

    /// Indices of the atoms of element `e`, ascending.
    pub fn indices_of(&self, e: Element) -> Vec<usize> {
        (0..self.elements.len())
            .filter(|&i| self.elements[i] == e)
            .collect()
    }

    /// Removes the atoms at `indices`.
    pub fn remove(&mut self, indices: &[usize]) {
        let mut drop = vec![false; self.elements.len()];
        for &i in indices {
            drop[i] = true;
        }
        let mut k = 0;
        self.elements.retain(|_| {
            k += 1;
            !drop[k - 1]
        });
        let mut k = 0;
        self.positions.retain(|_| {
            k += 1;
            !drop[k - 1]
        });
    }

    /// Orders atoms by element type (Na, Sb, W, S), keeping their order within an element.
    pub fn sort_by_type(&mut self) {
        let mut idx: Vec<usize> = (0..self.elements.len()).collect();
        idx.sort_by_key(|&i| self.elements[i]);
        self.elements = idx.iter().map(|&i| self.elements[i]).collect();
        self.positions = idx.iter().map(|&i| self.positions[i]).collect();
    }

    /// Puts `n_w` W on Sb sites, by SQS (`sqs_steps` > 0) or seeded random choice.
    pub fn place_tungsten(
        &mut self,
        n_w: usize,
        sqs_steps: usize,
        rng: &mut Rng,
        progress: &indicatif::ProgressBar,
    ) -> Option<SqsReport> {
        let sb = self.indices_of(Element::Sb);
        if n_w == 0 || sb.is_empty() {
            return None;
        }
        let positions: Vec<[f64; 3]> = sb.iter().map(|&i| self.positions[i]).collect();
        let (chosen, report) = if sqs_steps > 0 {
            let (c, r) = sqs_sublattice(&self.cell, &positions, n_w, sqs_steps, rng, progress);
            (c, Some(r))
        } else {
            let c = rng.choose(&(0..sb.len()).collect::<Vec<_>>(), n_w);
            (c, None)
        };
        for k in chosen {
            self.elements[sb[k]] = Element::W;
        }
        report
    }

    /// Removes `n` randomly chosen Na atoms (the paper removes random Na).
    pub fn remove_sodium(&mut self, n: usize, rng: &mut Rng) {
        let na = self.indices_of(Element::Na);
        let gone = rng.choose(&na, n);
        self.remove(&gone);
    }
}
