//! allegro-tools: what turns LAMMPS output into the observables of a solid-electrolyte study,
//! and the structures that go in. Each analysis lives here once; the `allegro-*` binaries parse
//! their options, call it and print, and the study report calls the same functions.
//!
//! * [`trajectory`]: LAMMPS dumps (text, gzip, binary) and logs; [`extxyz`]: extended XYZ.
//! * [`unwrap`], [`diffusion`]: NPT-safe unwrapping; MSDs, tracer and charge diffusion, Haven
//!   ratio; [`arrhenius`]: activation energies.
//! * [`lattice`]: lattice parameters, the phase of a run and T_C; [`dihedral`]: SbS4 dihedrals
//!   and the dihedral signature of the phase.
//! * [`phonon`]: phonons and the soft mode with the model in-process (finite displacements).
//! * [`eval`]: a model's errors against labelled structures.
//! * [`structure`]: Na3SbS4 supercells with W and vacancies.
//! * [`study`]: the paper's protocol as one program: plan, runs, Slurm scripts, report.
//! * [`plot`]: the figures; [`stats`], [`units`], [`rng`], [`finite`], [`cli`]: shared helpers.

// Index loops over the 3 Cartesian components read better than iterator chains here.
#![allow(clippy::needless_range_loop)]
#![warn(missing_docs)]

pub mod arrhenius;
pub mod cli;
pub mod diffusion;
pub mod dihedral;
pub mod eval;
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
