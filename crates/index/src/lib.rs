//! latentid-index: an index directory opened once, and everything every command needs of it.
//!
//! An [`Index`] owns the [`Store`](latentid_store::Store) (sled + HNSW on disk, or in memory
//! in tests), the feature parameters the signatures were computed with, the encoder and the
//! "no match" [`Calibration`], all read from the manifest once when it is opened. It is the
//! one encode path: [`Index::encode_clip`] (samples -> patches -> silent ones dropped ->
//! signatures) serves indexing, querying, calibration and tuning alike, and
//! [`Index::encode_file`] turns a library file into what the store keeps, a panic inside
//! contained to that file ([`FileError`]).
//!
//! It sits on media, model and store; ingest, query, tune and the server use it, and it
//! knows none of them (nor the command line).
//!
//! ```no_run
//! use latentid_index::Index;
//! use latentid_store::SearchParams;
//! let index = Index::open("indexes/default".as_ref(), SearchParams::one_shot())?;
//! let audio = index.decode_audio("clip.mp3".as_ref())?;
//! let clip = index.encode_clip(&audio.samples, 3)?;
//! println!("{} patches, {} values", clip.len(), clip.codes.len());
//! # Ok::<(), latentid_index::IndexError>(())
//! ```

mod calibration;
mod encode;
mod error;
mod index;
mod reconstruction;
mod summary;

pub use calibration::{rule_for, Calibration, PICTURE_RULE, RATIO_RANK, VOTE_RULE};
pub use encode::{Clip, EncodedFile};
pub use error::{Failure, FileError, IndexError, Result};
pub use index::{Index, NewIndex};
pub use reconstruction::{quantile, summarise, ReconstructionScale, ITEM_QUANTILE};
pub use summary::Summary;
