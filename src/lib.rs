//! allegro-rs: the Allegro machine-learning force field for LAMMPS (the engine the plugin links).
//!
//! * [`model`]: deployed nequip/Allegro models behind one [`model::Model`] type: the native
//!   Rust engine (`.nequip.pth`, no libtorch) and, under the `torch` feature, the libtorch
//!   backends (TorchScript `.nequip.pth`, AOTInductor `.nequip.pt2`).
//! * [`graph`]: ghost atoms and neighbour lists for periodic cells (what LAMMPS does for the plugin).
//! * [`c_api`]: the C ABI used by the LAMMPS plugin in `cpp/`.

// Index loops over the 3 Cartesian components read better than iterator chains here.
#![allow(clippy::needless_range_loop)]

pub mod c_api;
pub mod error;
pub mod graph;
pub mod model;
mod native;
pub mod vec3;

pub use error::Error;
pub use model::{
    BackendChoice, LoadOptions, Metadata, Model, ModelDtype, NeighbourList, Output, System,
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
