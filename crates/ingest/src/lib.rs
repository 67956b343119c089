//! latentid-ingest: walk a library, decode, train the encoder when needed, encode, store.
//!
//! It owns the *library side* of the data flow: finding media files, hashing them for
//! dedupe, sampling a bounded training set, and turning every file into signatures in the
//! index ([`latentid_index::Index::encode_file`]). One bad file never stops a run: each
//! failure is contained (decoder panics included) and reported with its path and typed
//! reason ([`latentid_index::Failure`]).
//!
//! It must not know about querying (that is `latentid-query`; the two never use each
//! other) nor about the command line (the binary maps `IngestConfig` from its flags).
//!
//! ```no_run
//! use latentid_ingest::{ingest, IngestConfig, NoProgress};
//! let (index, report) = ingest(
//!     "indexes/default".as_ref(),
//!     &["/music".into()],
//!     &IngestConfig::default(),
//!     &NoProgress,
//! )?;
//! println!("added {} tracks to {}", report.added.len(), index.location().display());
//! # Ok::<(), latentid_ingest::IngestError>(())
//! ```

mod backfill;
mod config;
mod error;
mod hash;
mod held_out;
mod progress;
mod run;
mod train;
mod training;
mod walk;

pub use backfill::{backfill_reconstructions, Backfill};
pub use config::{Added, Duplicate, IngestConfig, IngestReport, TrainSummary, DEFAULT_LATENT_DIM};
pub use error::{IngestError, Result};
pub use hash::content_hash;
pub use held_out::{held_out_reconstructions, HeldOut};
pub use progress::{Event, NoProgress, Progress, Stage};
pub use run::{ingest, ingest_into, unencoded};
pub use training::{AudioTrainingSet, ImageTrainingSet};
pub use walk::{walk, Classified};
