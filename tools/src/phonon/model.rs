//! The deployed Allegro model as a [`ForceModel`], evaluated in-process (no LAMMPS).
use super::error::{PhononError, Result};

use allegro::graph::PeriodicGraph;
use allegro::Model;

use super::crystal::Crystal;
use super::force_constants::ForceModel;

pub struct Allegro {
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
        let graph = PeriodicGraph::build(
            crystal.cell,
            &crystal.positions,
            &types,
            self.model.metadata().r_max,
        )?;
        let out = self.model.compute(&graph.system())?;
        let forces = graph.fold_forces(&out.forces);
        let energy = out.energy();
        if !(energy.is_finite() && forces.iter().flatten().all(|f| f.is_finite())) {
            return Err(PhononError::NonFinite);
        }
        Ok((energy, forces))
    }
}
