//! allegro-rs: the Allegro machine-learning force field for LAMMPS (the engine the plugin links).
//!
//! * [`model`]: deployed nequip/Allegro models behind one [`model::Model`] type: the native
//!   Rust engine (`.nequip.pth`, no libtorch) and, under the `torch` feature, the libtorch
//!   backends (TorchScript `.nequip.pth`, AOTInductor `.nequip.pt2`).
//! * [`graph`]: ghost atoms and neighbour lists for periodic cells (what LAMMPS does for the plugin).
//! * [`cell`]: a periodic cell in, energies and folded forces out ([`Model::compute_periodic`]).
//! * [`c_api`]: the C ABI used by the LAMMPS plugin in `cpp/`.
//!
//! Units are the model's: eV and Angstrom for every model of this project.
//!
//! # Example: energy and forces of a periodic cell
//!
//! ```
//! use allegro::{Cell, Model};
//!
//! # fn main() -> Result<(), allegro::Error> {
//! // The project's default Na-Sb-W-S model (native engine, no libtorch).
//! let mut model = Model::load(concat!(env!("CARGO_MANIFEST_DIR"), "/models/nawsbs.nequip.pth"))?;
//! let meta = model.metadata();
//! let (na, s) = (meta.type_index("Na").unwrap() as i32, meta.type_index("S").unwrap() as i32);
//!
//! // Rock-salt NaS, a = 5.6 A, 8 atoms, one atom nudged so that the forces are not all zero.
//! let a = 5.6;
//! let mut positions = Vec::new();
//! let mut types = Vec::new();
//! for f in [[0.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]] {
//!     positions.push(f.map(|x| x * a));
//!     types.push(na);
//!     positions.push(f.map(|x| (x + 0.5) * a));
//!     types.push(s);
//! }
//! positions[0][0] += 0.1;
//! let lattice = [[a, 0.0, 0.0], [0.0, a, 0.0], [0.0, 0.0, a]];
//!
//! let out = model.compute_periodic(&Cell::periodic(lattice, &positions, &types))?;
//! assert_eq!(out.forces.len(), 8);
//! assert!(out.energy.is_finite());
//! // Forces are minus the gradient of one energy: they sum to zero in a periodic cell.
//! let total: f64 = (0..3).map(|k| out.forces.iter().map(|f| f[k]).sum::<f64>().abs()).sum();
//! assert!(total < 1e-4, "{total}");
//! assert!(out.forces[0][0].abs() > 1e-3);
//! # Ok(())
//! # }
//! ```

// Index loops over the 3 Cartesian components read better than iterator chains here.
#![allow(clippy::needless_range_loop)]
#![warn(missing_docs)]

pub mod c_api;
pub mod cell;
pub mod error;
pub mod graph;
pub mod model;
mod native;
pub mod vec3;

pub use cell::{Cell, CellOutput};
pub use error::Error;
pub use model::{
    Backend, BackendChoice, LoadOptions, Metadata, Model, ModelDtype, NeighbourList, Output, System,
};
pub use native::Isa;

/// The engine's dense-product kernels, public for the shape benchmark in `bench/gemm-shapes`
/// only (not a stable API).
#[doc(hidden)]
pub mod kernels {
    pub use crate::native::gemm::{gemm, Epilogue, Operand};
}

/// Version of this library, also returned by `allegro_version()` in the C ABI.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
