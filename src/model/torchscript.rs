//! TorchScript backend (`.nequip.pth`) through tch.
use std::path::Path;

use tch::{CModule, Device, IValue, Kind, Tensor};

use super::{BackendOutput, Engine, Graph, Metadata};
use crate::error::{Error, Result};

pub(crate) struct TorchScript {
    module: CModule,
}

impl TorchScript {
    pub fn load(path: &Path, _metadata: &Metadata) -> Result<TorchScript> {
        let mut module =
            CModule::load_on_device(path, Device::Cpu).map_err(|e| Error::BadModel {
                path: path.to_owned(),
                reason: format!(
                    "TorchScript load failed: {}",
                    super::first_line_of(&e.to_string())
                ),
            })?;
        module.set_eval();
        Ok(TorchScript { module })
    }
}

fn tensor_to_f64(t: &Tensor, expected: usize, what: &str) -> Result<Vec<f64>> {
    let t = t.to_kind(Kind::Double).contiguous().view([-1]);
    let v = Vec::<f64>::try_from(&t).map_err(|e| Error::Backend(format!("{what}: {e}")))?;
    if v.len() != expected {
        return Err(Error::Backend(format!(
            "{what} has {} values, expected {expected}",
            v.len()
        )));
    }
    Ok(v)
}

impl Engine for TorchScript {
    fn run(&mut self, graph: &Graph, out: BackendOutput<'_>) -> Result<()> {
        let n = graph.types.len() as i64;
        let e = graph.edge_index.len() as i64 / 2;
        let input = IValue::GenericDict(vec![
            (
                IValue::String("pos".into()),
                IValue::Tensor(Tensor::from_slice(&graph.pos).view([n, 3])),
            ),
            (
                IValue::String("edge_index".into()),
                IValue::Tensor(Tensor::from_slice(&graph.edge_index).view([2, e])),
            ),
            (
                IValue::String("atom_types".into()),
                IValue::Tensor(Tensor::from_slice(&graph.types)),
            ),
        ]);
        let result = self
            .module
            .forward_is(&[input])
            .map_err(|e| Error::Backend(super::first_line_of(&e.to_string())))?;
        let IValue::GenericDict(items) = result else {
            return Err(Error::Backend("model did not return a dict".into()));
        };
        let find = |key: &str| {
            items
                .iter()
                .find_map(|(k, v)| match (k, v) {
                    (IValue::String(k), IValue::Tensor(t)) if k == key => Some(t),
                    _ => None,
                })
                .ok_or_else(|| Error::Backend(format!("model output has no '{key}'")))
        };
        let n = n as usize;
        let energy = tensor_to_f64(find("atomic_energy")?, n, "atomic_energy")?;
        out.atom_energy.copy_from_slice(&energy);
        let forces = tensor_to_f64(find("forces")?, 3 * n, "forces")?;
        for (f, chunk) in out.forces.iter_mut().zip(forces.chunks_exact(3)) {
            *f = [chunk[0], chunk[1], chunk[2]];
        }
        let virial = tensor_to_f64(find("virial")?, 9, "virial")?;
        out.virial.copy_from_slice(&virial);
        Ok(())
    }
}
