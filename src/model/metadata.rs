//! Metadata that nequip stores in deployed models (TorchScript extra files, AOTI metadata).
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The floating-point precision a model was trained and deployed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelDtype {
    /// Single precision (`model_dtype: float32`).
    Float32,
    /// Double precision (`model_dtype: float64`).
    Float64,
}

/// What a deployed model says about itself: cutoffs, types and precision.
#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    /// Largest cutoff, in Angstrom.
    pub r_max: f64,
    /// Model type names, in type-index order.
    pub type_names: Vec<String>,
    /// Cutoff per (centre type, neighbour type), row-major `num_types x num_types`, Angstrom.
    pub cutoffs: Vec<f64>,
    /// Precision of the model's weights and arithmetic.
    pub dtype: ModelDtype,
}

impl Metadata {
    /// Number of model types (chemical species).
    pub fn num_types(&self) -> usize {
        self.type_names.len()
    }

    /// Cutoff between a centre of type `centre` and a neighbour of type `neighbour`.
    pub fn cutoff(&self, centre: usize, neighbour: usize) -> f64 {
        self.cutoffs[centre * self.num_types() + neighbour]
    }

    /// Index of a model type name.
    ///
    /// ```
    /// let model = allegro::Model::load(concat!(env!("CARGO_MANIFEST_DIR"), "/models/nawsbs.nequip.pth")).unwrap();
    /// assert_eq!(model.metadata().type_index("W"), Some(2));
    /// assert_eq!(model.metadata().type_index("Xe"), None);
    /// ```
    pub fn type_index(&self, name: &str) -> Option<usize> {
        self.type_names.iter().position(|t| t == name)
    }

    /// Parses the key/value strings nequip writes (`r_max`, `type_names`, `num_types`,
    /// `per_edge_type_cutoff`, `model_dtype`). `path` only names the file in errors.
    pub fn from_map(path: &Path, map: &HashMap<String, String>) -> Result<Metadata> {
        let bad = |reason: String| Error::BadModel {
            path: path.to_owned(),
            reason,
        };
        let get = |key: &str| {
            map.get(key)
                .map(|v| v.trim())
                .ok_or_else(|| bad(format!("metadata has no '{key}'")))
        };
        let r_max: f64 = get("r_max")?.parse().map_err(|_| {
            bad(format!(
                "metadata r_max '{}' is not a number",
                get("r_max").unwrap_or("")
            ))
        })?;
        if !(r_max.is_finite() && r_max > 0.0) {
            return Err(bad(format!("metadata r_max {r_max} is not positive")));
        }
        let type_names: Vec<String> = get("type_names")?
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let n = type_names.len();
        if n == 0 {
            return Err(bad("metadata type_names is empty".into()));
        }
        for (k, name) in type_names.iter().enumerate() {
            if type_names[..k].contains(name) {
                return Err(bad(format!(
                    "metadata type_names '{}' names type '{name}' twice",
                    type_names.join(" ")
                )));
            }
        }
        if let Ok(num_types) = get("num_types") {
            if num_types.parse::<usize>() != Ok(n) {
                return Err(bad(format!(
                    "metadata num_types '{num_types}' does not match the {n} type_names"
                )));
            }
        }
        let cutoffs = match map.get("per_edge_type_cutoff").map(|s| s.trim()) {
            None | Some("") => vec![r_max; n * n],
            Some(text) => {
                let values: Vec<f64> = text
                    .split_whitespace()
                    .map(|v| v.parse::<f64>())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|_| {
                        bad(format!(
                            "metadata per_edge_type_cutoff '{text}' is not a list of numbers"
                        ))
                    })?;
                if values.len() != n * n {
                    return Err(bad(format!(
                        "metadata per_edge_type_cutoff has {} values, expected num_types^2 = {}",
                        values.len(),
                        n * n
                    )));
                }
                if values.iter().any(|&c| !(c > 0.0 && c <= r_max)) {
                    return Err(bad(format!(
                        "metadata per_edge_type_cutoff '{text}' has values outside (0, r_max]"
                    )));
                }
                values
            }
        };
        let dtype = match get("model_dtype")? {
            "float32" => ModelDtype::Float32,
            "float64" => ModelDtype::Float64,
            other => {
                return Err(bad(format!(
                    "metadata model_dtype '{other}' is neither float32 nor float64"
                )))
            }
        };
        Ok(Metadata {
            r_max,
            type_names,
            cutoffs,
            dtype,
        })
    }

    /// Reads the extra files (`<archive>/extra/<key>`) of a TorchScript zip archive.
    pub fn from_torchscript_archive(path: &Path) -> Result<Metadata> {
        let bad = |reason: String| Error::BadModel {
            path: path.to_owned(),
            reason,
        };
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut archive = zip::ZipArchive::new(file)
            .map_err(|e| bad(format!("not a TorchScript zip archive ({e})")))?;
        let mut map = HashMap::new();
        for i in 0..archive.len() {
            let mut entry = archive
                .by_index(i)
                .map_err(|e| bad(format!("damaged zip archive ({e})")))?;
            let Some((_, key)) = entry.name().rsplit_once("/extra/") else {
                continue;
            };
            let key = key.to_owned();
            // A metadata value is a short line; more is a damaged (or crafted) entry.
            let mut value = String::new();
            (&mut entry)
                .take(1 << 20)
                .read_to_string(&mut value)
                .map_err(|e| bad(format!("cannot read metadata '{key}' ({e})")))?;
            map.insert(key, value);
        }
        Metadata::from_map(path, &map)
    }
}
