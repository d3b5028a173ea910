//! What can go wrong in a study, by where it went wrong.
use std::path::PathBuf;

/// Why a study could not be planned, run or reported.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// The study file or preset: an unknown preset, a field with an impossible value.
    #[error("{0}")]
    Config(String),
    /// A study file that is not a study in TOML.
    #[error("{path}: {what}")]
    File {
        /// The study file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// A file or folder operation that failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done: "read", "create", "write" ...
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A run that cannot be prepared or whose output cannot be used.
    #[error("{run}: {what}")]
    Run {
        /// The run's id.
        run: String,
        /// What went wrong.
        what: String,
    },
    /// Interrupted by SIGINT or SIGTERM: the number of running runs that were stopped.
    #[error(
        "interrupted: {0} running run(s) stopped; run again to resume (finished runs are kept)"
    )]
    Interrupted(usize),
    /// An output that could not be written.
    #[error(transparent)]
    Write(#[from] crate::cli::WriteError),
    /// A LAMMPS dump or log that could not be read.
    #[error(transparent)]
    Read(#[from] crate::trajectory::ReadError),
    /// The lattice analysis of a run failed.
    #[error(transparent)]
    Lattice(#[from] crate::lattice::LatticeError),
    /// The dihedral analysis of a run failed.
    #[error(transparent)]
    Dihedral(#[from] crate::dihedral::DihedralError),
    /// A trajectory that could not be loaded for diffusion.
    #[error(transparent)]
    Load(#[from] crate::diffusion::load::LoadError),
    /// The diffusion analysis failed.
    #[error(transparent)]
    Diffusion(#[from] crate::diffusion::DiffusionError),
    /// A figure that could not be drawn or written.
    #[error(transparent)]
    Plot(#[from] crate::plot::PlotError),
    /// A phonon calculation failed.
    #[error(transparent)]
    Phonon(#[from] crate::phonon::PhononError),
    /// The force-field model could not be loaded or evaluated.
    #[error(transparent)]
    Model(#[from] allegro::Error),
    /// JSON that could not be read or written.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The study could not be written as TOML.
    #[error("cannot express the study as TOML: {0}")]
    Toml(#[from] toml::ser::Error),
}

/// Result of the study's steps.
pub type Result<T> = std::result::Result<T, StudyError>;

/// An I/O error with what was being done and to which path.
pub fn io(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> StudyError {
    let path = path.into();
    move |source| StudyError::Io {
        action,
        path,
        source,
    }
}
