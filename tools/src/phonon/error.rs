//! What can go wrong in a phonon calculation, by where it went wrong.
use std::path::PathBuf;

/// Why a phonon calculation failed.
#[derive(Debug, thiserror::Error)]
pub enum PhononError {
    /// The structure itself: empty, overlapping atoms, no primitive cell...
    #[error("{0}")]
    Structure(String),
    /// A structure file that cannot be read as one.
    #[error(transparent)]
    Read(#[from] crate::trajectory::ReadError),
    /// A structure file that reads but does not describe a usable structure.
    #[error("{path}: {what}")]
    DataFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// A user-given band path.
    #[error("--path: {0}")]
    Path(String),
    /// Settings that cannot work (too thin a supercell, too few scan points...).
    #[error("{0}")]
    Settings(String),
    /// The model could not build its graph or evaluate.
    #[error(transparent)]
    Model(#[from] allegro::Error),
    /// An atom whose element the model has no type for.
    #[error("atom {atom}: element {element} is not a type of the model (its types: {types})")]
    UnknownElement {
        /// Number of the atom, from 1.
        atom: usize,
        /// Its element.
        element: String,
        /// The model's types, listed.
        types: String,
    },
    /// The model returned a NaN or infinite energy or force.
    #[error("the model gave a non-finite energy or force")]
    NonFinite,
}

/// Result of the phonon steps.
pub type Result<T> = std::result::Result<T, PhononError>;

/// `check!(Kind; condition, "format", args)`: an early `PhononError::Kind(message)`.
macro_rules! check {
    ($kind:ident; $cond:expr, $($msg:tt)+) => {
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        if !($cond) {
            return Err($crate::phonon::PhononError::$kind(format!($($msg)+)));
        }
    };
}

/// `fail!(Kind; "format", args)`: return `PhononError::Kind(message)`.
macro_rules! fail {
    ($kind:ident; $($msg:tt)+) => {
        return Err($crate::phonon::PhononError::$kind(format!($($msg)+)))
    };
}
