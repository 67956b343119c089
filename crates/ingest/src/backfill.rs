//! Reconstruction errors for items stored before the index kept them.

use std::time::Instant;

use latentid_index::{EncodedFile, Failure, FileError, Index};
use latentid_store::Item;
use rayon::prelude::*;

use crate::{content_hash, Event, Progress, Result, Stage};

/// What [`backfill_reconstructions`] did.
#[derive(Debug, Default)]
pub struct Backfill {
    /// Items whose error was measured and stored now.
    pub measured: usize,
    /// Items whose file could not be measured (gone, changed, unreadable): they stay
    /// without an error, and the next run tries again.
    pub failed: Vec<Failure>,
    pub seconds: f64,
}

/// Measures and stores the reconstruction error of every item that has none (stored before
/// the index kept it), from its file, with the index's model: files are decoded and encoded in
/// parallel, a chunk at a time, as an ingest does. A file that is gone or changed since it was
/// indexed is a [`Failure`], never an abort.
pub fn backfill_reconstructions(index: &Index, progress: &dyn Progress) -> Result<Backfill> {
    let started = Instant::now();
    let missing: Vec<Item> = index
        .store()
        .items()?
        .into_iter()
        .filter(|i| i.reconstruction.is_none())
        .collect();
    let mut done = Backfill::default();
    if missing.is_empty() {
        return Ok(done);
    }
    index.model()?;
    progress.event(Event::Start {
        stage: Stage::Encode,
        total: missing.len() as u64,
    });
    let chunk = 4 * rayon::current_num_threads().max(1);
    for batch in missing.chunks(chunk) {
        let encoded: Vec<std::result::Result<EncodedFile, FileError>> = batch
            .par_iter()
            .map(|item| encode_unchanged(index, item))
            .collect();
        for (item, enc) in batch.iter().zip(encoded) {
            match enc.and_then(|enc| index.store_reconstruction(item.id, &item.path, &enc)) {
                Ok(()) => done.measured += 1,
                Err(e) => done.failed.push(Failure::new(item.path.clone(), e)),
            }
            progress.event(Event::Advance {
                stage: Stage::Encode,
                path: Some(&item.path),
            });
        }
    }
    progress.event(Event::Finish {
        stage: Stage::Encode,
    });
    index.flush()?;
    done.seconds = started.elapsed().as_secs_f64();
    Ok(done)
}

/// The item's file encoded, if it still holds what was indexed.
fn encode_unchanged(index: &Index, item: &Item) -> std::result::Result<EncodedFile, FileError> {
    let hash = content_hash(&item.path).map_err(|source| latentid_media::MediaError::Io {
        path: item.path.clone(),
        source,
    })?;
    if hash != item.content_hash {
        return Err(FileError::Changed {
            path: item.path.clone(),
        });
    }
    index.encode_file(&item.path)
}
