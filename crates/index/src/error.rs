use std::path::PathBuf;

use latentid_media::MediaError;
use latentid_model::ModelError;
use latentid_store::StoreError;

pub type Result<T> = std::result::Result<T, IndexError>;

/// Why an index cannot be opened, created or used as a whole. Problems with one file are
/// [`FileError`]s instead.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("the index at {index} has no model yet: index some files first (latentid index)")]
    NoModel { index: PathBuf },
    #[error("the index at {index} is unreadable ({reason}); re-index it with `latentid index --retrain`")]
    BadIndex { index: PathBuf, reason: String },
    #[error("the index at {index} holds {index_kind} items, but {asked} was asked; one index holds one kind (use another --index)")]
    KindMismatch {
        index: PathBuf,
        index_kind: &'static str,
        asked: &'static str,
    },
    #[error("cannot write the {what} of the index at {index}: {reason}")]
    Encode {
        index: PathBuf,
        what: &'static str,
        reason: String,
    },
}

/// Why one file could not be indexed (or queried). Every variant names the file; the run
/// that met it goes on with the other files.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading, decoding, or an internal error contained while processing the file.
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("{path}: the index at {index} has no model to encode it with")]
    NoModel { path: PathBuf, index: PathBuf },
    #[error("{path}: no audible patch to index (only silence)")]
    Silent { path: PathBuf },
    #[error("{path}: the file changed since it was indexed (index it again)")]
    Changed { path: PathBuf },
    #[error("{path}: encoding failed: {source}")]
    Model { path: PathBuf, source: ModelError },
    #[error("{path}: storing failed: {source}")]
    Store { path: PathBuf, source: StoreError },
}

/// A file that could not be indexed, and why (boxed: failures travel in result lists).
#[derive(Debug)]
pub struct Failure {
    pub path: PathBuf,
    pub error: Box<FileError>,
}

impl Failure {
    pub fn new(path: impl Into<PathBuf>, error: impl Into<FileError>) -> Self {
        Self {
            path: path.into(),
            error: Box::new(error.into()),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Every FileError names its file already.
        self.error.fmt(f)
    }
}
