//! Deployed nequip/Allegro models and the calling contract of pair_allegro.
//!
//! The caller gives positions of local and ghost atoms (periodic images are explicit ghosts,
//! there is no cell), model type indices and a neighbour list of the local atoms. The model
//! keeps the edges inside the per-type-pair cutoff, runs the backend and returns per-atom
//! energies of local atoms, forces on all atoms (ghosts included, the caller folds them back)
//! and the global virial. Units are those of the training data: eV and Angstrom here.

#[cfg(feature = "torch")]
mod aoti;
mod metadata;
#[cfg(feature = "torch")]
mod torchscript;

use std::path::Path;

use crate::error::{Error, Result};
use crate::native::{Isa, Native};
pub use metadata::{Metadata, ModelDtype};

/// Neighbours of the local atoms in compressed-row form: the neighbours of local atom `i` are
/// `indices[offsets[i]..offsets[i + 1]]`, indices into the positions of local + ghost atoms.
#[derive(Clone, Copy, Debug)]
pub struct NeighbourList<'a> {
    /// `n_local + 1` offsets into `indices`, starting at 0.
    pub offsets: &'a [i64],
    /// Neighbour atom indices.
    pub indices: &'a [i32],
}

/// One evaluation request: atoms `0..n_local` are local (they own energy and are edge centres),
/// the rest are ghosts.
#[derive(Clone, Copy, Debug)]
pub struct System<'a> {
    /// Positions of local then ghost atoms (A).
    pub positions: &'a [[f64; 3]],
    /// Model type index of every atom.
    pub types: &'a [i32],
    /// Number of local atoms.
    pub n_local: usize,
    /// Neighbours of the local atoms (pairs beyond the model's cutoffs are dropped).
    pub neighbours: NeighbourList<'a>,
}

/// Result of one evaluation, in eV, eV/A and eV.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// Energies of the local atoms.
    pub atom_energy: Vec<f64>,
    /// Forces on all atoms, ghosts included.
    pub forces: Vec<[f64; 3]>,
    /// Global virial W = -sum r (x) dE/dr, row-major 3x3 (LAMMPS sign: pressure = W/V + kinetic).
    pub virial: [f64; 9],
}

impl Output {
    /// Total energy of the local atoms.
    pub fn energy(&self) -> f64 {
        self.atom_energy.iter().sum()
    }
}

/// Raw inputs for a backend, in the deployed-model contract's layout.
#[derive(Default)]
pub(crate) struct Graph {
    /// (n, 3) row-major.
    pub pos: Vec<f64>,
    /// (n,)
    pub types: Vec<i64>,
    /// (2, E) row-major: centres then neighbours.
    pub edge_index: Vec<i64>,
    /// Working space of the graph's construction.
    scratch: Vec<i64>,
}

/// Outputs a backend writes into caller buffers.
pub(crate) struct BackendOutput<'a> {
    /// (n,) energies of all nodes; only the first n_local are used.
    pub atom_energy: &'a mut [f64],
    /// (n, 3)
    pub forces: &'a mut [[f64; 3]],
    pub virial: &'a mut [f64; 9],
    /// (n, 9) per-atom virials, row-major 3x3 each, when asked for (native backend only).
    pub atom_virial: Option<&'a mut [[f64; 9]]>,
}

pub(crate) trait Engine: Send {
    fn run(&mut self, graph: &Graph, out: BackendOutput<'_>) -> Result<()>;
    /// The instruction set of the native engine's kernels; `None` for libtorch.
    fn isa(&self) -> Option<Isa> {
        None
    }
}

/// Which engine evaluates a model.
///
/// ```
/// use allegro::BackendChoice;
/// assert_eq!("native".parse::<BackendChoice>().unwrap(), BackendChoice::Native);
/// let err = "cuda".parse::<BackendChoice>().unwrap_err();
/// assert!(err.to_string().contains("expected auto, native or torch"));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendChoice {
    /// The native engine when it supports the model, else libtorch when built in.
    #[default]
    Auto,
    /// The native Rust engine (`.nequip.pth` only); an error if the model is unsupported.
    Native,
    /// libtorch: TorchScript for `.nequip.pth`, AOTInductor for `.nequip.pt2`.
    Torch,
}

impl std::str::FromStr for BackendChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<BackendChoice> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "native" => Ok(BackendChoice::Native),
            "torch" => Ok(BackendChoice::Torch),
            _ => Err(Error::Input(format!(
                "unknown backend '{s}': expected auto, native or torch"
            ))),
        }
    }
}

/// The engine a loaded model runs on ([`Model::backend`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The native Rust engine.
    Native,
    /// libtorch running the TorchScript file.
    TorchScript,
    /// libtorch running an AOTInductor package.
    Aoti,
}

impl Backend {
    /// "native", "torchscript" or "aoti".
    pub fn name(self) -> &'static str {
        match self {
            Backend::Native => "native",
            Backend::TorchScript => "torchscript",
            Backend::Aoti => "aoti",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How to load a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Which engine to run the model on.
    pub backend: BackendChoice,
    /// Threads of the native engine's pool (the libtorch backends use [`set_threads`]).
    pub threads: usize,
    /// Instruction set of the native engine's kernels; `None`: `ALLEGRO_ISA` when set, else
    /// the best of this CPU.
    pub isa: Option<Isa>,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            backend: BackendChoice::Auto,
            threads: 1,
            isa: None,
        }
    }
}

/// A loaded model, ready to evaluate. One per thread of work (not `Sync`).
pub struct Model {
    metadata: Metadata,
    engine: Box<dyn Engine>,
    backend: Backend,
    /// Why this backend: "requested", or what `backend auto` found.
    backend_reason: String,
    /// Scratch of energies for all nodes, reused between calls.
    node_energy: Vec<f64>,
    /// The backend's inputs, rebuilt in place every call (no allocation, no fresh pages, per MD
    /// step).
    graph: Graph,
}

impl Model {
    /// Loads `*.nequip.pth` or `*.nequip.pt2` with the default options (auto backend, 1 thread).
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        Model::load_with(path, LoadOptions::default())
    }

    /// Loads `*.nequip.pth` (native engine or TorchScript) or `*.nequip.pt2` (AOTInductor).
    ///
    /// ```
    /// use allegro::{Backend, BackendChoice, LoadOptions, Model};
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/nawsbs.nequip.pth");
    /// let options = LoadOptions { backend: BackendChoice::Native, threads: 1, ..LoadOptions::default() };
    /// let model = Model::load_with(path, options).unwrap();
    /// assert_eq!(model.backend(), Backend::Native);
    /// assert_eq!(model.metadata().type_names, ["Na", "Sb", "W", "S"]);
    /// assert_eq!(model.metadata().r_max, 5.5);
    ///
    /// // A missing file is an error that names it, never a crash.
    /// let err = Model::load("no/such.nequip.pth").err().unwrap();
    /// assert!(err.to_string().contains("no/such.nequip.pth"));
    /// ```
    pub fn load_with(path: impl AsRef<Path>, options: LoadOptions) -> Result<Model> {
        let path = path.as_ref();
        std::fs::metadata(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        if options.threads == 0 {
            return Err(Error::Input("threads must be at least 1".into()));
        }
        // More threads than cores only slows the engine down; thousands take minutes to start.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if options.threads > 4 * cores {
            return Err(Error::Input(format!(
                "{} threads is more than 4 x the {cores} cores of this machine (use at most {cores})",
                options.threads
            )));
        }
        // A bad ALLEGRO_ISA is the user's error on every backend (auto must not hide it).
        let isa = match options.isa {
            Some(isa) if !isa.available() => {
                return Err(Error::Input(format!(
                    "instruction set {} is not available on this CPU",
                    isa.name()
                )))
            }
            Some(isa) => isa,
            None => Isa::from_env()?,
        };
        let name = path.to_string_lossy();
        let requested = "requested".to_owned();
        let (metadata, engine, backend, backend_reason) = if name.ends_with(".pth") {
            let metadata = Metadata::from_torchscript_archive(path)?;
            match options.backend {
                BackendChoice::Torch => {
                    crate::native::check_archive(path, &metadata)?;
                    let backend = load_torchscript(path, &metadata)?;
                    (metadata, backend, Backend::TorchScript, requested)
                }
                BackendChoice::Native => {
                    let backend = Native::load(path, &metadata, options.threads, isa)?;
                    let backend = Box::new(backend) as Box<dyn Engine>;
                    (metadata, backend, Backend::Native, requested)
                }
                BackendChoice::Auto => match Native::load(path, &metadata, options.threads, isa) {
                    Ok(backend) => (
                        metadata,
                        Box::new(backend) as Box<dyn Engine>,
                        Backend::Native,
                        "auto: the native engine implements every module of this model".into(),
                    ),
                    // Only a module or feature the native engine lacks goes to libtorch (when
                    // built in); a damaged or inconsistent file is an error on every backend.
                    Err(Error::NotNative { reason, .. }) if cfg!(feature = "torch") => {
                        let backend = load_torchscript(path, &metadata).map_err(|e| {
                            let torch = match e {
                                Error::BadModel { reason, .. } => reason,
                                other => other.to_string(),
                            };
                            Error::BadModel {
                                path: path.to_owned(),
                                reason: format!("{reason}; libtorch cannot run it either: {torch}"),
                            }
                        })?;
                        let why = format!("auto: {reason}; libtorch runs it");
                        (metadata, backend, Backend::TorchScript, why)
                    }
                    Err(native_error) => return Err(native_error),
                },
            }
        } else if name.ends_with(".pt2") {
            if options.backend == BackendChoice::Native {
                return Err(Error::BadModel {
                    path: path.to_owned(),
                    reason: "the native engine reads .nequip.pth files; an AOTInductor package \
                             (.nequip.pt2) needs `backend torch`"
                        .into(),
                });
            }
            let (metadata, backend) = load_aoti(path)?;
            let why = match options.backend {
                BackendChoice::Auto => "auto: an AOTInductor package runs on libtorch".into(),
                _ => requested,
            };
            (metadata, backend, Backend::Aoti, why)
        } else {
            return Err(Error::UnknownFormat {
                path: path.to_owned(),
            });
        };
        Ok(Model {
            metadata,
            engine,
            backend,
            backend_reason,
            node_energy: Vec::new(),
            graph: Graph::default(),
        })
    }

    /// The engine evaluating this model.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Why the model runs on its backend: "requested", or what `backend auto` found (one line).
    pub fn backend_reason(&self) -> &str {
        &self.backend_reason
    }

    /// The instruction set the native engine's kernels use for this model (`None` on libtorch).
    pub fn isa(&self) -> Option<Isa> {
        self.engine.isa()
    }

    /// Cutoffs, type names and precision of the model.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Evaluates `system`, allocating the output. This is the LAMMPS contract: the caller
    /// supplies ghost atoms and the neighbour list ([`Model::compute_periodic`] makes them).
    ///
    /// ```
    /// use allegro::{Model, NeighbourList, System};
    /// let mut model = Model::load(concat!(env!("CARGO_MANIFEST_DIR"), "/models/nawsbs.nequip.pth")).unwrap();
    /// // An Na-S pair 2.9 A apart, both local, each the other's neighbour; no cell.
    /// let positions = [[0.0, 0.0, 0.0], [2.9, 0.0, 0.0]];
    /// let system = System {
    ///     positions: &positions,
    ///     types: &[0, 3],
    ///     n_local: 2,
    ///     neighbours: NeighbourList { offsets: &[0, 1, 2], indices: &[1, 0] },
    /// };
    /// let out = model.compute(&system).unwrap();
    /// // Newton's third law, and the virial of a pair along x is r_x f_x.
    /// assert!((out.forces[0][0] + out.forces[1][0]).abs() < 1e-5);
    /// assert!((out.virial[0] - 2.9 * out.forces[1][0]).abs() < 1e-4);
    /// ```
    pub fn compute(&mut self, system: &System<'_>) -> Result<Output> {
        let mut out = Output {
            atom_energy: vec![0.0; system.n_local],
            forces: vec![[0.0; 3]; system.positions.len()],
            virial: [0.0; 9],
        };
        self.compute_into(
            system,
            &mut out.atom_energy,
            &mut out.forces,
            &mut out.virial,
            None,
        )?;
        Ok(out)
    }

    /// Evaluates `system` into caller buffers: `atom_energy` has `n_local` entries, `forces` one
    /// per atom (local and ghost), `atom_virial` (optional, native backend only) one 3x3 virial
    /// per atom (local and ghost): each edge's `-r (x) dE/dr` split equally between its two
    /// atoms, so that they sum to the global virial. Buffers are overwritten, not accumulated.
    pub fn compute_into(
        &mut self,
        system: &System<'_>,
        atom_energy: &mut [f64],
        forces: &mut [[f64; 3]],
        virial: &mut [f64; 9],
        mut atom_virial: Option<&mut [[f64; 9]]>,
    ) -> Result<()> {
        let n = system.positions.len();
        check_lengths(system, atom_energy.len(), forces.len())?;
        if let Some(av) = &mut atom_virial {
            if self.backend != Backend::Native {
                return Err(Error::Input(format!(
                    "per-atom virials need the native backend; this model runs on {}",
                    self.backend
                )));
            }
            if av.len() != n {
                return Err(Error::Input(format!(
                    "per-atom virial buffer has {} entries, expected {n}",
                    av.len()
                )));
            }
            av.fill([0.0; 9]);
        }
        atom_energy.fill(0.0);
        forces.fill([0.0; 3]);
        virial.fill(0.0);
        if system.n_local == 0 {
            // An MPI rank that owns no atoms contributes nothing; no model call.
            return Ok(());
        }
        fill_graph(&self.metadata, system, &mut self.graph)?;
        let graph = &self.graph;
        self.node_energy.clear();
        self.node_energy.resize(n, 0.0);
        self.engine.run(
            graph,
            BackendOutput {
                atom_energy: &mut self.node_energy,
                forces,
                virial,
                atom_virial,
            },
        )?;
        atom_energy.copy_from_slice(&self.node_energy[..system.n_local]);
        check_finite(atom_energy, forces, virial)
    }
}

/// The backend's inputs for `system` into `graph`'s buffers: edges from local centres to
/// neighbours inside the per-type-pair cutoff.
fn fill_graph(metadata: &Metadata, system: &System<'_>, graph: &mut Graph) -> Result<()> {
    {
        let n = system.positions.len();
        let num_types = metadata.type_names.len();
        let types = &mut graph.types;
        types.clear();
        for (i, &t) in system.types.iter().enumerate() {
            if t < 0 || t as usize >= num_types {
                return Err(Error::Input(format!(
                    "atom {i} has type index {t}, the model has {num_types} types (0..{})",
                    num_types - 1
                )));
            }
            types.push(t as i64);
        }
        let cut2: Vec<f64> = metadata.cutoffs.iter().map(|c| c * c).collect();
        let offsets = system.neighbours.offsets;
        let centres = &mut graph.edge_index;
        centres.clear();
        // Neighbours go after the centres once both are known; gathered here meanwhile.
        let neighbours = &mut graph.scratch;
        neighbours.clear();
        for i in 0..system.n_local {
            let (start, end) = (offsets[i], offsets[i + 1]);
            if start < 0 || end < start || end as usize > system.neighbours.indices.len() {
                return Err(Error::Input(format!(
                    "neighbour list offsets of atom {i} ({start}..{end}) are not increasing inside 0..{}",
                    system.neighbours.indices.len()
                )));
            }
            let xi = system.positions[i];
            let row = types[i] as usize * num_types;
            for &j in &system.neighbours.indices[start as usize..end as usize] {
                if j < 0 || j as usize >= n {
                    return Err(Error::Input(format!(
                        "neighbour index {j} of atom {i} is outside 0..{n}"
                    )));
                }
                let j = j as usize;
                if j == i {
                    continue;
                }
                let xj = system.positions[j];
                let d = [xj[0] - xi[0], xj[1] - xi[1], xj[2] - xi[2]];
                let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                if r2 < MIN_DISTANCE * MIN_DISTANCE {
                    return Err(Error::Input(format!(
                        "atoms {i} and {j} (0-based, local then ghost) are {:.3e} A apart: \
                         overlapping atoms give no meaningful energy",
                        r2.sqrt()
                    )));
                }
                if r2 < cut2[row + types[j] as usize] {
                    centres.push(i as i64);
                    neighbours.push(j as i64);
                }
            }
        }
        centres.extend_from_slice(neighbours);
        graph.pos.clear();
        graph.pos.extend(system.positions.iter().flatten().copied());
        Ok(())
    }
}

/// Closer than this (Angstrom), two atoms are refused: no model has data there, and at 0 the
/// edge direction is undefined.
pub const MIN_DISTANCE: f64 = 1e-2;

/// Every number a backend returned is finite, or the call fails (nothing non-finite reaches MD).
fn check_finite(atom_energy: &[f64], forces: &[[f64; 3]], virial: &[f64; 9]) -> Result<()> {
    if let Some(i) = atom_energy.iter().position(|e| !e.is_finite()) {
        return Err(Error::Backend(format!(
            "the model returned a non-finite energy for atom {i}"
        )));
    }
    // Finite per-atom energies can still sum to infinity.
    if !atom_energy.iter().sum::<f64>().is_finite() {
        return Err(Error::Backend(
            "the model's total energy is not finite (per-atom energies beyond 1e300 eV)".into(),
        ));
    }
    if let Some(i) = forces.iter().position(|f| f.iter().any(|x| !x.is_finite())) {
        return Err(Error::Backend(format!(
            "the model returned a non-finite force on atom {i}"
        )));
    }
    if virial.iter().any(|x| !x.is_finite()) {
        return Err(Error::Backend(
            "the model returned a non-finite virial".into(),
        ));
    }
    Ok(())
}

fn check_lengths(system: &System<'_>, n_energy: usize, n_forces: usize) -> Result<()> {
    let n = system.positions.len();
    let bad = |what: String| Err(Error::Input(what));
    if system.n_local > n {
        return bad(format!(
            "{} local atoms but only {n} positions",
            system.n_local
        ));
    }
    if system.types.len() != n {
        return bad(format!("{} types for {n} atoms", system.types.len()));
    }
    if system.neighbours.offsets.len() != system.n_local + 1 {
        return bad(format!(
            "neighbour offsets have {} entries, expected n_local + 1 = {}",
            system.neighbours.offsets.len(),
            system.n_local + 1
        ));
    }
    if n_energy != system.n_local {
        return bad(format!(
            "energy buffer has {n_energy} entries, expected {}",
            system.n_local
        ));
    }
    if n_forces != n {
        return bad(format!("force buffer has {n_forces} entries, expected {n}"));
    }
    if let Some(i) = system
        .positions
        .iter()
        .position(|p| p.iter().any(|x| !x.is_finite()))
    {
        return bad(format!("atom {i} has a non-finite position"));
    }
    Ok(())
}

/// libtorch errors carry a C++ backtrace; the first non-empty line is the message.
#[cfg(feature = "torch")]
pub(crate) fn first_line_of(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or(text.trim());
    // tch puts its own header ("Internal torch error:") on a line before libtorch's message.
    match lines.next() {
        Some(next) if first.ends_with(':') => format!("{first} {next}"),
        _ => first.to_owned(),
    }
}

/// Sets the number of threads the libtorch backends use in this process (default 1).
pub fn set_threads(n: usize) {
    #[cfg(feature = "torch")]
    tch::set_num_threads(n.max(1) as i32);
    #[cfg(not(feature = "torch"))]
    let _ = n;
}

#[cfg(feature = "torch")]
fn load_torchscript(path: &Path, metadata: &Metadata) -> Result<Box<dyn Engine>> {
    let backend = torchscript::TorchScript::load(path, metadata)?;
    Ok(Box::new(backend))
}

#[cfg(feature = "torch")]
fn load_aoti(path: &Path) -> Result<(Metadata, Box<dyn Engine>)> {
    let (metadata, backend) = aoti::Aoti::load(path)?;
    Ok((metadata, Box::new(backend)))
}

#[cfg(not(feature = "torch"))]
fn load_torchscript(path: &Path, _: &Metadata) -> Result<Box<dyn Engine>> {
    Err(Error::NoTorch {
        path: path.to_owned(),
    })
}

#[cfg(not(feature = "torch"))]
fn load_aoti(path: &Path) -> Result<(Metadata, Box<dyn Engine>)> {
    Err(Error::NoTorch {
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finite per-atom energies whose sum overflows are refused like a non-finite one.
    #[test]
    fn a_total_energy_beyond_f64_is_an_error() {
        let forces = [[0.0; 3]; 2];
        assert!(check_finite(&[1e300, 2.0], &forces, &[0.0; 9]).is_ok());
        let e = check_finite(&[1e308, 1e308], &forces, &[0.0; 9]).unwrap_err();
        assert!(e.to_string().contains("total energy is not finite"), "{e}");
        let e = check_finite(&[f64::NAN, 0.0], &forces, &[0.0; 9]).unwrap_err();
        assert!(e.to_string().contains("atom 0"), "{e}");
    }
}
