//! allegro-tools: what turns LAMMPS output into the observables of a solid-electrolyte study,
//! and the structures that go in.
//!
//! * [`trajectory`]: LAMMPS dumps (text, gzip, binary) and logs; [`extxyz`]: extended XYZ.
//! * [`unwrap`], [`diffusion`]: NPT-safe unwrapping; MSDs and diffusion coefficients.
//! * [`lattice`], [`dihedral`], [`arrhenius`]: the other analyses; [`plot`]: their figures.
//! * [`structure`]: Na3SbS4 supercells with W and vacancies.

// Index loops over the 3 Cartesian components read better than iterator chains here.
#![allow(clippy::needless_range_loop)]

pub mod arrhenius;
pub mod cli;
pub mod diffusion;
pub mod dihedral;
pub mod extxyz;
pub mod finite;
pub mod lattice;
pub mod phonon;
pub mod plot;
pub mod rng;
pub mod stats;
pub mod structure;
pub mod study;
pub mod trajectory;
pub mod units;
pub mod unwrap;

/// Version of the tools.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
