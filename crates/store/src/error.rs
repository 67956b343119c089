use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, StoreError>;

/// Everything that can go wrong in a store. Every variant names the index it is about (its
/// directory, or `memory:` for a [`crate::MemoryStore`]) and the reason.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no index at {path}")]
    NoIndex { path: PathBuf },
    #[error("an index already exists at {path}")]
    Exists { path: PathBuf },
    #[error("index at {path} is in use by another process")]
    InUse { path: PathBuf },
    #[error("index at {path} has format version {found}, this latentid reads versions 1 to {expected}: re-index it (delete the directory and run `latentid index` again)")]
    FormatVersion {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("index at {path} has latent size {found}, not {expected}: re-index with `latentid index --retrain --latent-dim {expected}`")]
    LatentDim {
        path: PathBuf,
        found: usize,
        expected: usize,
    },
    #[error(
        "index at {path} stores {expected}-dimensional signatures, not vectors of length {got}"
    )]
    DimensionMismatch {
        path: PathBuf,
        expected: usize,
        got: usize,
    },
    #[error("index at {path}: {offsets} offsets for {vectors} vectors")]
    OffsetCount {
        path: PathBuf,
        offsets: usize,
        vectors: usize,
    },
    #[error("index at {path} has no item {id}")]
    NotFound { path: PathBuf, id: u64 },
    #[error("index at {path} is damaged ({reason}); re-index it")]
    Corrupt { path: PathBuf, reason: String },
    /// A value could not be serialised for storage (nothing was written).
    #[error("index at {path}: could not encode {what}: {reason}")]
    Encode {
        path: PathBuf,
        what: String,
        reason: String,
    },
    #[error("index at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The Milvus server holding the index's signatures failed or could not be reached.
    #[error("index at {path}: Milvus at {address}: {reason}")]
    Backend {
        path: PathBuf,
        address: String,
        reason: String,
    },
    #[error("index at {path}: database error: {source}")]
    Db { path: PathBuf, source: sled::Error },
}
