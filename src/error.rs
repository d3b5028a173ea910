//! Library errors. Every message names what was wrong and, where there is one, the file.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read model file '{path}': {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("'{path}' is not a deployed nequip model: {reason}")]
    BadModel { path: PathBuf, reason: String },
    /// A sound model with a module or feature the native engine does not implement (`backend
    /// auto` runs it on libtorch when the library has it).
    #[error("'{path}': {reason}")]
    NotNative { path: PathBuf, reason: String },
    #[error("model file '{path}': unsupported extension, expected .nequip.pth (TorchScript) or .nequip.pt2 (AOTInductor)")]
    UnknownFormat { path: PathBuf },
    #[error("'{path}' needs the libtorch backends, but this library was built without the `torch` feature")]
    NoTorch { path: PathBuf },
    #[error("invalid input: {0}")]
    Input(String),
    #[error("model evaluation failed: {0}")]
    Backend(String),
}

pub type Result<T> = std::result::Result<T, Error>;
