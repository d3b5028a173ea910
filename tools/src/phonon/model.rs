//! The deployed Allegro model as a [`ForceModel`], evaluated in-process (no LAMMPS).
use anyhow::{anyhow, ensure, Result};

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
                meta.type_index(s).map(|t| t as i32).ok_or_else(|| {
                    anyhow!(
                        "atom {}: element {s} is not a type of the model (its types: {})",
                        i + 1,
                        meta.type_names.join(" ")
                    )
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
        ensure!(
            energy.is_finite() && forces.iter().flatten().all(|f| f.is_finite()),
            "the model gave a non-finite energy or force"
        );
        Ok((energy, forces))
    }
}
