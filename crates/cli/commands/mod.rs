//! One function per subcommand: build the library config, run, print. Each opens its
//! index once — or, while `latentid serve` holds it, asks that server ([`Source`]), and
//! prints the same either way.

mod index;
mod library;
mod outliers;
mod query;
mod serve;
mod tune;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use latentid_index::{Index, IndexError};
use latentid_media::FeatureParams;
use latentid_query::Candidate;
use latentid_serve::{Client, ServerFile};
use latentid_store::{ItemId, ItemKind, SearchParams, StoreError};

use crate::args::Command;
use crate::Outcome;

pub fn run(command: Command) -> Result<Outcome> {
    match command {
        Command::Index(c) => index::index(c),
        Command::Query(c) => query::query(c),
        Command::List(c) => library::list(&c.common.index, c.common.json),
        Command::Remove(c) => library::remove(c),
        Command::Stats(c) => library::stats(&c.common.index, c.common.json),
        Command::Similar(c) => query::similar(c),
        Command::Duplicates(c) => query::duplicates(c),
        Command::Tune(c) => tune::tune(c),
        Command::Serve(c) => serve::serve(c),
        Command::Outliers(c) => outliers::outliers(c),
    }
}

/// Opens an index for a one-shot command: a few searches answer by exact scan sooner than
/// the HNSW graph could be loaded; a long batch moves on to the graph by itself.
fn open(dir: &Path) -> Result<Index> {
    Index::open(dir, SearchParams::one_shot()).map_err(|e| match (&e, ServerFile::read(dir)) {
        (IndexError::Store(StoreError::InUse { .. }), Some(f)) => anyhow!(
            "{e} (a latentid server at {} holds it but does not answer; `query`, `list`, `stats`, `similar`, `duplicates` and `remove` go through a running server, other commands need it stopped)",
            f.url
        ),
        (IndexError::Store(StoreError::InUse { .. }), None) => anyhow!(
            "{e} (if it is `latentid serve`, `query`, `list`, `stats`, `similar`, `duplicates` and `remove` go through it; other commands need it stopped)"
        ),
        _ => e.into(),
    })
}

/// Where a reading command's questions go: the index itself, or the `latentid serve` that
/// holds it (found by its address file in the index folder, and answering).
// One per command: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
enum Source {
    Local(Index),
    Server(Client),
}

fn source(dir: &Path) -> Result<Source> {
    match Client::discover(dir) {
        Some(client) => {
            tracing::info!("asking the latentid server at {}", client.url());
            Ok(Source::Server(client))
        }
        None => Ok(Source::Local(open(dir)?)),
    }
}

/// 12 hex digits name a model well enough for people.
fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// For an audio index made before latentid centred each mel band (its features say 0): what
/// re-indexing would gain, and how. Features are fixed when an index is made, so `--retrain`
/// keeps them; only a new index gets the current front end.
fn older_front_end(kind: ItemKind, features: &FeatureParams) -> Option<&'static str> {
    (kind == ItemKind::Audio && features.audio.band_centering == 0.0).then_some(
        "this index was made before latentid centred each mel band, which names more noisy \
         and overlapped song clips (about 2 points more on both evaluation corpora); to use \
         it, index the library into a new folder (`latentid index DIR --index NEW_FOLDER`)",
    )
}

/// `m:ss.s`
fn clock(s: f32) -> String {
    let s = s.max(0.0);
    format!("{}:{:04.1}", (s / 60.0) as u32, s % 60.0)
}

/// A candidate in one line: the name, where in the track, how sure.
fn describe(c: &Candidate) -> String {
    match (c.offset_s, c.distance) {
        (Some(o), _) => format!(
            "{} at {} (confidence {:.2})",
            c.name,
            clock(o),
            c.confidence
        ),
        (_, Some(d)) => format!(
            "{} (distance {d:.3}, confidence {:.2})",
            c.name, c.confidence
        ),
        _ => c.name.clone(),
    }
}

/// An item named on the command line: its id, or a path as stored (relative paths are
/// resolved against the current directory, as `index` stored them).
fn resolve(index: &Index, item: &str) -> Result<ItemId> {
    let store = index.store();
    if let Ok(id) = item.parse::<ItemId>() {
        if store.item(id)?.is_some() {
            return Ok(id);
        }
    }
    match store.find_path(&item_path(item))? {
        Some(id) => Ok(id),
        None => Err(no_such_item(item, index.location())),
    }
}

/// The path an item argument stands for, as `index` stored paths.
fn item_path(item: &str) -> PathBuf {
    let path = PathBuf::from(item);
    std::fs::canonicalize(&path).unwrap_or_else(|_| std::path::absolute(&path).unwrap_or(path))
}

fn no_such_item(item: &str, index: &Path) -> anyhow::Error {
    anyhow!(
        "{item}: no such item in the index at {} (see `latentid list`)",
        index.display()
    )
}

/// A server's refusal of an item it does not hold, worded as the local lookup words it.
fn server_item_error(e: latentid_serve::ClientError, item: &str, index: &Path) -> anyhow::Error {
    match e {
        latentid_serve::ClientError::Refused(r) if r.status == 404 => no_such_item(item, index),
        other => other.into(),
    }
}

/// Prints one JSON line.
fn json_line(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}
