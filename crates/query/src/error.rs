use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, QueryError>;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Index(#[from] latentid_index::IndexError),
    #[error(transparent)]
    Store(#[from] latentid_store::StoreError),
    #[error(transparent)]
    Model(#[from] latentid_model::ModelError),
    #[error(transparent)]
    Media(#[from] latentid_media::MediaError),
    #[error("{path}: this index holds {index_kind} items, and this file is not {index_kind}")]
    WrongKind {
        path: PathBuf,
        index_kind: &'static str,
    },
    #[error("{path}: no audible audio to match (only silence)")]
    Silent { path: PathBuf },
}
