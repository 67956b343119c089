use std::path::Path;

use latentid_model::EpochReport;

/// Which long-running part of an ingest an [`Event`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Hashing files to find those already stored.
    Hash,
    /// Decoding the bounded training sample.
    Sample,
    /// Training the encoder.
    Train,
    /// Decoding, encoding and storing every new file.
    Encode,
}

/// What an ingest reports while it runs; the CLI draws progress bars from these.
#[derive(Debug)]
pub enum Event<'a> {
    /// A stage starts with `total` units of work.
    Start { stage: Stage, total: u64 },
    /// One unit of the stage is done (a file, or an epoch for training).
    Advance {
        stage: Stage,
        path: Option<&'a Path>,
    },
    /// A training epoch ended.
    Epoch(&'a EpochReport),
    /// The stage is over.
    Finish { stage: Stage },
}

/// Receives [`Event`]s; called from worker threads, so implementations must be `Sync`.
pub trait Progress: Sync {
    fn event(&self, event: Event<'_>);
}

/// Discards every event (tests, `--json`, non-terminal runs).
#[derive(Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _event: Event<'_>) {}
}
