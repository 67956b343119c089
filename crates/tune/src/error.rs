use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, TuneError>;

/// Errors that stop a sweep. Files that fail to decode do not: ingest skips them and the
/// report lists them.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    #[error(transparent)]
    Ingest(#[from] latentid_ingest::IngestError),
    #[error(transparent)]
    Query(#[from] latentid_query::QueryError),
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
    #[error("a sweep needs at least {needed} {kind} items (some to index, some held out as songs that are not in the library); found {found}")]
    TooFewItems {
        kind: &'static str,
        found: usize,
        needed: usize,
    },
    #[error("latent sizes {from}..={to}: --from must be at least 1 and at most --to")]
    BadRange { from: usize, to: usize },
    #[error("{path}: the plot must be a .png or .svg file")]
    PlotFormat { path: PathBuf },
    #[error("{path}: drawing the plot failed: {reason}")]
    Plot { path: PathBuf, reason: String },
}
