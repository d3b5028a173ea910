//! What can go wrong in a study, by where it went wrong.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// The study file or preset: an unknown preset, a field with an impossible value.
    #[error("{0}")]
    Config(String),
    /// A study file that is not a study in TOML.
    #[error("{path}: {what}")]
    File { path: PathBuf, what: String },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A run that cannot be prepared or whose output cannot be used.
    #[error("{run}: {what}")]
    Run { run: String, what: String },
    #[error(
        "interrupted: {0} running run(s) stopped; run again to resume (finished runs are kept)"
    )]
    Interrupted(usize),
    #[error(transparent)]
    Write(#[from] crate::cli::WriteError),
    #[error(transparent)]
    Read(#[from] crate::trajectory::ReadError),
    #[error(transparent)]
    Lattice(#[from] crate::lattice::LatticeError),
    #[error(transparent)]
    Dihedral(#[from] crate::dihedral::DihedralError),
    #[error(transparent)]
    Load(#[from] crate::diffusion::load::LoadError),
    #[error(transparent)]
    Diffusion(#[from] crate::diffusion::DiffusionError),
    #[error(transparent)]
    Plot(#[from] crate::plot::PlotError),
    #[error(transparent)]
    Phonon(#[from] crate::phonon::PhononError),
    #[error(transparent)]
    Model(#[from] allegro::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("cannot express the study as TOML: {0}")]
    Toml(#[from] toml::ser::Error),
}

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
