//! One function per subcommand: build the library config, run, print. Each opens its
//! index once.

mod index;
mod library;
mod outliers;
mod query;
mod tune;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use latentid_index::Index;
use latentid_query::Candidate;
use latentid_store::{ItemId, SearchParams};

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
        Command::Outliers(c) => outliers::outliers(c),
    }
}

/// Opens an index for a one-shot command: a few searches answer by exact scan sooner than
/// the HNSW graph could be loaded; a long batch moves on to the graph by itself.
fn open(dir: &Path) -> Result<Index> {
    Ok(Index::open(dir, SearchParams::one_shot())?)
}

/// 12 hex digits name a model well enough for people.
fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
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
    let path = PathBuf::from(item);
    let canonical =
        std::fs::canonicalize(&path).unwrap_or_else(|_| std::path::absolute(&path).unwrap_or(path));
    match store.find_path(&canonical)? {
        Some(id) => Ok(id),
        None => bail!(
            "{item}: no such item in the index at {} (see `latentid list`)",
            index.location().display()
        ),
    }
}

/// Prints one JSON line.
fn json_line(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}
