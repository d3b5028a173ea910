//! Library errors. Every message names what was wrong and, where there is one, the file.
use std::path::PathBuf;

/// Everything that can go wrong loading or evaluating a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model file could not be opened or read.
    #[error("cannot read model file '{path}': {source}")]
    Io {
        /// The model file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is damaged or is not a deployed nequip model (no backend should run it).
    #[error("'{path}' is not a deployed nequip model: {reason}")]
    BadModel {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it (one line).
        reason: String,
    },
    /// A sound model with a module or feature the native engine does not implement (`backend
    /// auto` runs it on libtorch when the library has it).
    #[error("'{path}': {reason}")]
    NotNative {
        /// The model file.
        path: PathBuf,
        /// The module or feature the native engine lacks.
        reason: String,
    },
    /// The file name ends neither in `.nequip.pth` nor in `.nequip.pt2`.
    #[error("model file '{path}': unsupported extension, expected .nequip.pth (TorchScript) or .nequip.pt2 (AOTInductor)")]
    UnknownFormat {
        /// The model file.
        path: PathBuf,
    },
    /// A libtorch backend is needed, and this library was built without the `torch` feature.
    #[error("'{path}' needs the libtorch backends, but this library was built without the `torch` feature")]
    NoTorch {
        /// The model file.
        path: PathBuf,
    },
    /// The caller's data are unusable: mismatched lengths, non-finite positions, a bad option.
    #[error("invalid input: {0}")]
    Input(String),
    /// The backend failed while evaluating (libtorch's message, or the engine's own check).
    #[error("model evaluation failed: {0}")]
    Backend(String),
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;
