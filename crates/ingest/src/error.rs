use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, IngestError>;

/// Errors that stop an ingest as a whole. Per-file problems are not errors: they are
/// collected in [`crate::IngestReport::failed`] and the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Index(#[from] latentid_index::IndexError),
    #[error(transparent)]
    Store(#[from] latentid_store::StoreError),
    #[error(transparent)]
    Model(#[from] latentid_model::ModelError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the index at {index} has latent size {stored}, not {asked}; re-index with --retrain to change it")]
    LatentDimChange {
        index: PathBuf,
        stored: usize,
        asked: usize,
    },
    #[error("no {kind} files found in {} ({skipped} other files skipped); nothing was indexed", .paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NoMedia {
        kind: &'static str,
        paths: Vec<PathBuf>,
        skipped: usize,
    },
    #[error("{path}: no such file or directory")]
    Missing { path: PathBuf },
    #[error("the index at {index} holds {index_kind} items, but {asked} was asked; one index holds one kind (use another --index)")]
    KindMismatch {
        index: PathBuf,
        index_kind: &'static str,
        asked: &'static str,
    },
    #[error("no {kind} files to learn from: the encoder needs at least one decodable file ({failed} failed)")]
    NothingToTrain { kind: &'static str, failed: usize },
    #[error("the index at {index} has no model although it holds items; re-index with --retrain")]
    NoModel { index: PathBuf },
}
