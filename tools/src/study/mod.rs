//! The paper's protocol as a program: a study file (or preset) becomes a plan of LAMMPS runs
//! (coarse and fine NPT temperature scans for T_C, dihedral runs, NVT + NVE diffusion runs at the
//! NPT-averaged cell with a lattice band, several runs per temperature for the Haven ratio).
pub mod config;
mod error;
pub mod execute;
pub mod phase;
pub mod plan;
pub mod probe;
pub mod report;
pub mod slurm;

pub use config::Study;
pub use error::StudyError;
pub use plan::{plan, Run, Stage};
