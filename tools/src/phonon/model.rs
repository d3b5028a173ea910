//! The deployed Allegro model as a [`ForceModel`], evaluated in-process (no LAMMPS).
use super::error::{PhononError, Result};

use allegro::{Cell, Model};

use super::crystal::Crystal;
use super::force_constants::ForceModel;

/// An Allegro model computing energies and forces for phonons.
pub struct Allegro {
    /// The loaded (deployed) model.
    pub model: Model,
}

impl Allegro {
    /// Model type of every atom; an element the model does not know is an error.
    pub fn types(&self, crystal: &Crystal) -> Result<Vec<i32>> {
        let meta = self.model.metadata();
        crystal
            .symbols
            .iter()
            .enumerate()
            .map(|(i, s)| {
                meta.type_index(s)
                    .map(|t| t as i32)
                    .ok_or_else(|| PhononError::UnknownElement {
                        atom: i + 1,
                        element: s.clone(),
                        types: meta.type_names.join(" "),
                    })
            })
            .collect()
    }
}

impl ForceModel for Allegro {
    fn evaluate(&mut self, crystal: &Crystal) -> Result<(f64, Vec<[f64; 3]>)> {
        let types = self.types(crystal)?;
        let out = self.model.compute_periodic(&Cell::periodic(
            crystal.cell,
            &crystal.positions,
            &types,
        ))?;
        let (energy, forces) = (out.energy, out.forces);
        if !(energy.is_finite() && forces.iter().flatten().all(|f| f.is_finite())) {
            return Err(PhononError::NonFinite);
        }
        Ok((energy, forces))
    }
}
