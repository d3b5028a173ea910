//! allegro-rs: the Allegro machine-learning force field for LAMMPS, and analysis tools.
//!
//! * [`model`]: deployed nequip/Allegro models behind one [`model::Model`] type, with
//!   libtorch backends (TorchScript `.nequip.pth`, AOTInductor `.nequip.pt2`) under the
//!   `torch` feature.
//! * [`graph`]: ghost atoms and neighbour lists for periodic cells (what LAMMPS does for the plugin).
//! * [`c_api`]: the C ABI used by the LAMMPS plugin in `cpp/`.

// Index loops over the 3 Cartesian components read better than iterator chains here.
#![allow(clippy::needless_range_loop)]

pub mod arrhenius;
pub mod c_api;
pub mod cli;
pub mod diffusion;
pub mod dihedral;
pub mod error;
pub mod extxyz;
pub mod graph;
pub mod lattice;
pub mod model;
pub mod plot;
pub mod rng;
pub mod structure;
pub mod trajectory;
pub mod unwrap;

pub use error::Error;
pub use model::{Metadata, Model, ModelDtype, NeighbourList, Output, System};

/// Version of this library, also returned by `allegro_version()` in the C ABI.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
