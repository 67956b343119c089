//! latentid-ingest: walk a library, decode, train the encoder when needed, encode, store.
//!
//! It owns the *library side* of the data flow: finding media files, hashing them for
//! dedupe, sampling a bounded training set, and turning every file into signatures in
//! the store. One bad file never stops a run: each failure is contained (decoder panics
//! included) and reported with its path and reason.
//!
//! It must not know about querying (that is `latentid-query`; the two never use each
//! other) nor about the command line (the binary maps `IngestConfig` from its flags).
//!
//! ```no_run
//! use latentid_ingest::{ingest, IngestConfig, NoProgress};
//! let cfg = IngestConfig::new("indexes/default".into());
//! let report = ingest(&["/music".into()], &cfg, &NoProgress)?;
//! println!("added {} tracks", report.added.len());
//! # Ok::<(), latentid_ingest::IngestError>(())
//! ```

mod error;
mod hash;
mod pipeline;
mod progress;
mod training;
mod walk;

pub use error::{IngestError, Result};
pub use hash::content_hash;
pub use pipeline::{
    feature_params, ingest, load_model, open_or_create, Duplicate, Failure, IngestConfig,
    IngestReport, TrainSummary, DEFAULT_LATENT_DIM,
};
pub use progress::{Event, NoProgress, Progress, Stage};
pub use training::{AudioTrainingSet, ImageTrainingSet};
pub use walk::{walk, Classified, FileEntry};
