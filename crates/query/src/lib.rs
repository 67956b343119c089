//! latentid-query: "what is this?" for an unknown clip or picture.
//!
//! Audio: the clip is cut into patches at a dense hop, each patch is encoded and its
//! nearest stored signatures are looked up; every neighbour votes for a (track, time
//! offset) pair, and only votes whose offsets agree in time add up. The vote's best tracks
//! are rechecked against the whole clip (every patch's distance to the track where the voted
//! offset puts it) and ordered by it; the first wins when its lead in the vote clears a
//! threshold calibrated on the library itself
//! ([`calibrate`]); otherwise the answer is "no match" — a song that is not in the library
//! must not be named. Images: the query's views (the whole and overlapping windows, as it
//! is, mirrored and turned a little) vote for the stored pictures whose views they find, and only views that agree on
//! where the query lies in a picture add up (`view_vote.rs`); a picture is named when its
//! vote, or its distance to the whole query against the crowd's, clears a calibrated
//! threshold. [`duplicates`] groups the items of an index that are
//! near-duplicates of each other.
//!
//! It reads the store and the model; it must not write items (that is `latentid-ingest`,
//! which it never uses) nor know about the command line.
//!
//! ```no_run
//! use latentid_query::{Matcher, QueryConfig};
//! use latentid_store::SearchParams;
//! let index = latentid_index::Index::open("indexes/default".as_ref(), SearchParams::one_shot())?;
//! let matcher = Matcher::new(&index)?;
//! let result = matcher.query_path("clip.mp3".as_ref(), &QueryConfig::default())?;
//! match result.matched {
//!     Some(m) => println!("{} at {:.1} s", m.name, m.offset_s.unwrap_or(0.0)),
//!     None => println!("no match"),
//! }
//! # Ok::<(), latentid_query::QueryError>(())
//! ```

mod audio;
mod calibrate;
mod duplicates;
mod error;
mod image;
mod matcher;
mod outliers;
mod view_vote;
mod vote;

pub use calibrate::{calibrate, calibrate_if_needed, CalibrationConfig};
pub use duplicates::{duplicates, DuplicateGroup, Duplicates, DuplicatesConfig, Link, Member};
pub use error::{QueryError, Result};
pub use image::{LIKENESS_CANDIDATES, SEARCH_LIKENESS, SEARCH_RATIO};
pub use matcher::{Answer, Candidate, Matcher, QueryConfig, QueryResult};
pub use outliers::{outliers, Familiarity, Outlier, Outliers};
pub use vote::{vote, votes, Tally, Vote, VoteParams};
