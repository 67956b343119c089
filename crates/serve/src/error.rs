use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, ServeError>;

/// Why a server could not start or stopped badly (a request's failure is an HTTP answer,
/// never one of these).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Index(#[from] latentid_index::IndexError),
    #[error(transparent)]
    Store(#[from] latentid_store::StoreError),
    #[error("{index}: the index has no model yet; index a library first (latentid index)")]
    NoModel { index: PathBuf },
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the server failed: {0}")]
    Runtime(std::io::Error),
}
