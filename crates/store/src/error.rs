use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no index at {path}")]
    NoIndex { path: PathBuf },
    #[error("an index already exists at {path}")]
    Exists { path: PathBuf },
    #[error("index at {path} is in use by another process")]
    InUse { path: PathBuf },
    #[error("index at {path} has format version {found}, this latentid reads version {expected}: re-index it (delete the directory and run `latentid index` again)")]
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
    #[error("vector of length {got} where the index stores {expected}-dimensional signatures")]
    DimensionMismatch { expected: usize, got: usize },
    #[error("{offsets} offsets for {vectors} vectors")]
    OffsetCount { offsets: usize, vectors: usize },
    #[error("no item {id} in the index")]
    NotFound { id: u64 },
    #[error("index at {path} is damaged ({reason}); re-index it")]
    Corrupt { path: PathBuf, reason: String },
    #[error("index at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("index at {path}: database error: {source}")]
    Db { path: PathBuf, source: sled::Error },
}
