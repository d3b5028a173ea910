//! A periodic cell in, energies and folded forces out: the entry point for standalone use
//! (scripts, the tools, the ASE calculator), where no LAMMPS builds the ghost atoms.
use crate::error::Result;
use crate::graph::PeriodicGraph;
use crate::model::Model;

/// Atoms in a cell, in Angstrom. Periodic images are made here, so a cell smaller than twice
/// the cutoff works (atoms see their own images).
#[derive(Clone, Copy, Debug)]
pub struct Cell<'a> {
    /// Lattice vectors, one per row (A).
    pub lattice: [[f64; 3]; 3],
    /// Periodic directions; an open direction's lattice vector is ignored (it may be zero).
    pub pbc: [bool; 3],
    /// Cartesian positions (A); they need not be wrapped into the cell.
    pub positions: &'a [[f64; 3]],
    /// Model type index of each atom ([`crate::Metadata::type_index`] maps names).
    pub types: &'a [i32],
}

impl<'a> Cell<'a> {
    /// A cell periodic in all three directions.
    ///
    /// ```
    /// use allegro::Cell;
    /// let positions = [[0.0, 0.0, 0.0], [1.5, 1.5, 1.5]];
    /// let cell = Cell::periodic([[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 3.0]], &positions, &[0, 1]);
    /// assert_eq!(cell.pbc, [true; 3]);
    /// ```
    pub fn periodic(
        lattice: [[f64; 3]; 3],
        positions: &'a [[f64; 3]],
        types: &'a [i32],
    ) -> Cell<'a> {
        Cell {
            lattice,
            pbc: [true; 3],
            positions,
            types,
        }
    }
}

/// What a model gives for a cell (eV, eV/A), forces on images added to their atoms.
#[derive(Clone, Debug, PartialEq)]
pub struct CellOutput {
    /// Total potential energy.
    pub energy: f64,
    /// Energy of each atom.
    pub atom_energy: Vec<f64>,
    /// Force on each atom.
    pub forces: Vec<[f64; 3]>,
    /// Virial W = -sum r (x) dE/dr, row-major 3x3 (stress = -W / volume).
    pub virial: [f64; 9],
    /// Per-atom virials, row-major 3x3 each, summing to `virial`; only from
    /// [`Model::compute_periodic_with_atom_virial`].
    pub atom_virial: Option<Vec<[f64; 9]>>,
}

impl Model {
    /// Energies, forces and virial of the atoms of `cell`.
    pub fn compute_periodic(&mut self, cell: &Cell<'_>) -> Result<CellOutput> {
        self.compute_cell(cell, false)
    }

    /// Like [`Model::compute_periodic`], with per-atom virials too (native backend only).
    ///
    /// A molecule needs no cell: with every direction open the lattice is ignored.
    ///
    /// ```
    /// use allegro::{Cell, Model};
    /// # fn main() -> Result<(), allegro::Error> {
    /// let mut model = Model::load(concat!(env!("CARGO_MANIFEST_DIR"), "/models/nawsbs.nequip.pth"))?;
    /// let (sb, s) = (1, 3); // type order of this model: Na Sb W S
    /// assert_eq!(model.metadata().type_names[sb as usize], "Sb");
    /// let d = 2.35 / 3f64.sqrt(); // an SbS4 tetrahedron, Sb-S 2.35 A
    /// let positions = [[0.0; 3], [d, d, d], [d, -d, -d], [-d, d, -d], [-d, -d, d]];
    /// let molecule = Cell {
    ///     lattice: [[0.0; 3]; 3],
    ///     pbc: [false; 3],
    ///     positions: &positions,
    ///     types: &[sb, s, s, s, s],
    /// };
    /// let out = model.compute_periodic_with_atom_virial(&molecule)?;
    /// let per_atom = out.atom_virial.unwrap();
    /// // The per-atom virials add up to the global one.
    /// for k in 0..9 {
    ///     let sum: f64 = per_atom.iter().map(|w| w[k]).sum();
    ///     assert!((sum - out.virial[k]).abs() < 1e-9 * (1.0 + out.virial[k].abs()));
    /// }
    /// // By symmetry the Sb atom at the centre feels no force.
    /// assert!(out.forces[0].iter().all(|f| f.abs() < 1e-4));
    /// # Ok(())
    /// # }
    /// ```
    pub fn compute_periodic_with_atom_virial(&mut self, cell: &Cell<'_>) -> Result<CellOutput> {
        self.compute_cell(cell, true)
    }

    fn compute_cell(&mut self, cell: &Cell<'_>, atom_virial: bool) -> Result<CellOutput> {
        let graph = PeriodicGraph::build_with_pbc(
            cell.lattice,
            cell.pbc,
            cell.positions,
            cell.types,
            self.metadata().r_max,
        )?;
        let all = graph.positions.len();
        let mut atom_energy = vec![0.0; graph.n_local];
        let mut forces = vec![[0.0; 3]; all];
        let mut virial = [0.0; 9];
        let mut per_atom = atom_virial.then(|| vec![[0.0; 9]; all]);
        self.compute_into(
            &graph.system(),
            &mut atom_energy,
            &mut forces,
            &mut virial,
            per_atom.as_deref_mut(),
        )?;
        Ok(CellOutput {
            energy: atom_energy.iter().sum(),
            atom_energy,
            forces: graph.fold(&forces),
            virial,
            atom_virial: per_atom.map(|v| graph.fold(&v)),
        })
    }
}
