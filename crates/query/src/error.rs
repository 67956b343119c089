use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, QueryError>;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Store(#[from] latentid_store::StoreError),
    #[error(transparent)]
    Model(#[from] latentid_model::ModelError),
    #[error(transparent)]
    Media(#[from] latentid_media::MediaError),
    #[error("the index at {index} has no model yet: index some files first (latentid index)")]
    NoModel { index: PathBuf },
    #[error("the index at {index} is unreadable ({reason}); re-index with --retrain")]
    BadIndex { index: PathBuf, reason: String },
    #[error("{path}: this index holds {index_kind}, and this file is not {index_kind}")]
    WrongKind { path: PathBuf, index_kind: String },
    #[error("{path}: no audible audio to match (only silence)")]
    Silent { path: PathBuf },
}
