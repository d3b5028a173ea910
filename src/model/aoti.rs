//! AOTInductor backend (`.nequip.pt2`) through libtorch's AOTIModelPackageLoader, bridged with cxx.
use std::collections::HashMap;
use std::path::Path;

use super::{BackendOutput, Engine, Graph, Metadata};
use crate::error::{Error, Result};

#[cxx::bridge(namespace = "allegro_aoti")]
mod ffi {
    unsafe extern "C++" {
        include!("allegro-rs/src/model/aoti_bridge.h");

        type AotiModel;

        /// Loads a package; throws on failure (becomes `Err`).
        fn aoti_load(path: &str) -> Result<UniquePtr<AotiModel>>;
        /// Metadata as alternating key, value strings; throws on a damaged package (becomes
        /// `Err`, not std::terminate).
        fn aoti_metadata(model: &AotiModel) -> Result<Vec<String>>;
        /// Runs the model on inputs given by name; `input_names` fixes their order.
        #[allow(clippy::too_many_arguments)]
        fn aoti_run(
            model: Pin<&mut AotiModel>,
            input_names: &[String],
            output_names: &[String],
            pos: &[f64],
            edge_index: &[i64],
            atom_types: &[i64],
            atomic_energy: &mut [f64],
            forces: &mut [f64],
            virial: &mut [f64],
        ) -> Result<()>;
    }
}

// SAFETY: the loader is used from one thread at a time (Model is not Sync).
unsafe impl Send for ffi::AotiModel {}

pub(crate) struct Aoti {
    model: cxx::UniquePtr<ffi::AotiModel>,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

fn names(path: &Path, map: &HashMap<String, String>, key: &str) -> Result<Vec<String>> {
    let text = map.get(key).ok_or_else(|| Error::BadModel {
        path: path.to_owned(),
        reason: format!("AOTInductor metadata has no '{key}'"),
    })?;
    Ok(text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

impl Aoti {
    pub fn load(path: &Path) -> Result<(Metadata, Aoti)> {
        let path_str = path.to_str().ok_or_else(|| Error::BadModel {
            path: path.to_owned(),
            reason: "path is not valid UTF-8".into(),
        })?;
        let model = ffi::aoti_load(path_str).map_err(|e| Error::BadModel {
            path: path.to_owned(),
            reason: format!(
                "AOTInductor load failed: {}",
                super::first_line_of(e.what())
            ),
        })?;
        let flat = ffi::aoti_metadata(&model).map_err(|e| Error::BadModel {
            path: path.to_owned(),
            reason: format!(
                "AOTInductor metadata unreadable: {}",
                super::first_line_of(e.what())
            ),
        })?;
        let map: HashMap<String, String> = flat
            .chunks_exact(2)
            .map(|kv| (kv[0].clone(), kv[1].clone()))
            .collect();
        let metadata = Metadata::from_map(path, &map)?;
        let inputs = names(path, &map, "nequip_aoti_inputs")?;
        let outputs = names(path, &map, "nequip_aoti_outputs")?;
        Ok((
            metadata,
            Aoti {
                model,
                inputs,
                outputs,
            },
        ))
    }
}

impl Engine for Aoti {
    fn run(&mut self, graph: &Graph, out: BackendOutput<'_>) -> Result<()> {
        ffi::aoti_run(
            self.model.pin_mut(),
            &self.inputs,
            &self.outputs,
            &graph.pos,
            &graph.edge_index,
            &graph.types,
            out.atom_energy,
            out.forces.as_flattened_mut(),
            out.virial,
        )
        .map_err(|e| Error::Backend(super::first_line_of(e.what())))
    }
}
