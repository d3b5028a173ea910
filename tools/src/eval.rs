//! A model's errors against labelled structures (energies, forces, stresses of a reference
//! method, in extended XYZ): RMSE and MAE per quantity and per element, and parity points.
use std::collections::BTreeMap;

use allegro::{Cell, Model};
use serde::{Deserialize, Serialize};

use crate::extxyz::XyzFrame;
use crate::units::EV_A3_TO_KBAR;

/// Root mean square and mean absolute error of a set of values, in the unit of its field name.
#[derive(Default, Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Metric {
    /// Root mean square error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Number of values compared.
    pub count: usize,
}

/// Sums of squared and absolute errors.
#[derive(Default, Clone, Debug)]
struct Sums {
    sq: f64,
    abs: f64,
    n: usize,
}

impl Sums {
    fn add(&mut self, err: f64) {
        self.sq += err * err;
        self.abs += err.abs();
        self.n += 1;
    }

    fn metric(&self, scale: f64) -> Metric {
        let n = self.n.max(1) as f64;
        Metric {
            rmse: (self.sq / n).sqrt() * scale,
            mae: self.abs / n * scale,
            count: self.n,
        }
    }
}

/// Where a frame keeps its reference values.
#[derive(Clone, Debug)]
pub struct Keys {
    /// Per-frame key of the energy (eV).
    pub energy: String,
    /// Per-atom column of the forces (eV/A).
    pub forces: String,
    /// Per-frame key of the stress (eV/A^3, ASE convention: positive = tensile; optional).
    pub stress: String,
}

/// Why a frame could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// An element the model has no type for.
    #[error("element {0} is not a type of the model")]
    UnknownElement(String),
    /// The model refused the structure or failed on it.
    #[error(transparent)]
    Model(#[from] allegro::Error),
    /// No reference value under the key.
    #[error("no '{0}' value")]
    NoEnergy(String),
    /// A reference energy that is NaN or infinite (it would make every metric NaN).
    #[error("reference '{key}' is {value}")]
    BadEnergy {
        /// The energy key.
        key: String,
        /// Its value.
        value: f64,
    },
    /// No per-atom column of forces under the key.
    #[error("no per-atom '{0}' column of 3 numbers")]
    NoForces(String),
    /// A reference stress with NaN or infinite components.
    #[error("reference '{0}' is not finite")]
    BadStress(String),
}

/// The errors so far, and the (reference, model) pairs of the parity plots.
#[derive(Default, Clone, Debug)]
pub struct Errors {
    energy: Sums,
    forces: Sums,
    stress: Sums,
    per_element: BTreeMap<String, Sums>,
    /// (reference, model) energy per atom, eV.
    pub energy_points: Vec<(f64, f64)>,
    /// (reference, model) force components, eV/A.
    pub force_points: Vec<(f64, f64)>,
    /// (reference, model) stress components, kbar.
    pub stress_points: Vec<(f64, f64)>,
    /// Frames compared.
    pub frames: usize,
    /// Atoms compared.
    pub atoms: usize,
}

impl Errors {
    /// Evaluates `model` on `frame` and adds its errors. Frames without a stress are compared
    /// in energy and forces only.
    pub fn add(
        &mut self,
        model: &mut Model,
        frame: &XyzFrame,
        keys: &Keys,
    ) -> Result<(), EvalError> {
        let types = frame
            .symbols
            .iter()
            .map(|sym| {
                model
                    .metadata()
                    .type_index(sym)
                    .map(|t| t as i32)
                    .ok_or_else(|| EvalError::UnknownElement(sym.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = model.compute_periodic(&Cell::periodic(frame.cell, &frame.positions, &types))?;
        let n = frame.positions.len();
        let e_ref = frame
            .float(&keys.energy)
            .ok_or_else(|| EvalError::NoEnergy(keys.energy.clone()))?;
        if !e_ref.is_finite() {
            return Err(EvalError::BadEnergy {
                key: keys.energy.clone(),
                value: e_ref,
            });
        }
        self.energy.add((out.energy - e_ref) / n as f64);
        self.energy_points
            .push((e_ref / n as f64, out.energy / n as f64));
        let f_ref = frame
            .vectors(&keys.forces)
            .ok_or_else(|| EvalError::NoForces(keys.forces.clone()))?;
        for i in 0..n {
            for d in 0..3 {
                let err = out.forces[i][d] - f_ref[i][d];
                self.forces.add(err);
                self.per_element
                    .entry(frame.symbols[i].clone())
                    .or_default()
                    .add(err);
                self.force_points.push((f_ref[i][d], out.forces[i][d]));
            }
        }
        if let Some(s_ref) = frame.tensor(&keys.stress) {
            if !s_ref.iter().flatten().all(|x| x.is_finite()) {
                return Err(EvalError::BadStress(keys.stress.clone()));
            }
            let volume = allegro::vec3::det(&frame.cell).abs();
            for (k, reference) in s_ref.iter().flatten().enumerate() {
                // ASE stress = -virial / V
                let pred = -out.virial[k] / volume;
                self.stress.add(pred - reference);
                self.stress_points
                    .push((reference * EV_A3_TO_KBAR, pred * EV_A3_TO_KBAR));
            }
        }
        self.frames += 1;
        self.atoms += n;
        Ok(())
    }

    /// The metrics of everything added, for the model named `model`.
    pub fn report(&self, model: String) -> EvalReport {
        EvalReport {
            model,
            frames: self.frames,
            atoms: self.atoms,
            energy_per_atom_meV: self.energy.metric(1000.0),
            forces_meV_per_A: self.forces.metric(1000.0),
            forces_per_element_meV_per_A: self
                .per_element
                .iter()
                .map(|(k, a)| (k.clone(), a.metric(1000.0)))
                .collect(),
            stress_kbar: (self.stress.n > 0).then(|| self.stress.metric(EV_A3_TO_KBAR)),
            warnings: if self.stress.n == 0 {
                vec!["no frame has a reference stress: stresses were not compared".into()]
            } else {
                Vec::new()
            },
        }
    }
}

/// A model's errors (`allegro-eval --json`); field names carry their units.
#[allow(non_snake_case)]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EvalReport {
    /// The model file.
    pub model: String,
    /// Frames compared.
    pub frames: usize,
    /// Atoms compared.
    pub atoms: usize,
    /// Energy per atom.
    pub energy_per_atom_meV: Metric,
    /// Force components.
    pub forces_meV_per_A: Metric,
    /// Force components per element.
    pub forces_per_element_meV_per_A: BTreeMap<String, Metric>,
    /// Stress components (all 9), when any frame has a stress.
    pub stress_kbar: Option<Metric>,
    /// E.g. that no stress was compared.
    pub warnings: Vec<String>,
}
