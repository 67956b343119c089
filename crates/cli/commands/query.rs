//! `latentid query`, `similar` and `duplicates`: questions answered by the matcher.

use std::path::Path;

use anyhow::Result;
use latentid_media::{media_kind, MediaError, MediaKind};
use latentid_query::{Answer, DuplicatesConfig, Matcher, QueryConfig, QueryError, QueryResult};
use latentid_serve::{Client, ClientError};
use latentid_store::ItemKind;
use serde::Serialize;

use super::{describe, item_path, json_line, resolve, server_item_error, source, Source};
use crate::args::{DuplicatesCmd, QueryCmd, SimilarCmd};
use crate::Outcome;

/// `query --json` for a file that could not be asked about.
#[derive(Serialize)]
struct QueryFailure<'a> {
    #[serde(serialize_with = "latentid_store::paths::serialize")]
    query: &'a Path,
    error: String,
}

pub fn query(cmd: QueryCmd) -> Result<Outcome> {
    let source = source(&cmd.common.index)?;
    let matcher = match &source {
        Source::Local(index) => {
            warn_unencoded(index)?;
            Some(Matcher::new(index)?)
        }
        Source::Server(_) => None,
    };
    let kind = match &source {
        Source::Local(index) => index.kind(),
        Source::Server(server) => server.kind(),
    };
    let defaults = QueryConfig::default();
    let cfg = QueryConfig {
        top: cmd.top,
        min_confidence: cmd.min_confidence,
        max_distance: cmd.max_distance,
        neighbours: cmd.neighbours.unwrap_or(defaults.neighbours),
        ..defaults
    };
    let mut failed = false;
    for file in &cmd.files {
        let answer = match (&matcher, &source) {
            (Some(matcher), _) => matcher.query_path(file, &cfg).map_err(|e| e.to_string()),
            (None, Source::Server(server)) => ask_server(server, file, &cfg)?,
            (None, Source::Local(_)) => unreachable!("a local index has a matcher"),
        };
        match answer {
            Ok(result) if cmd.common.json => json_line(&Answer {
                query: file.clone(),
                result,
            })?,
            Ok(result) => print_human(file, &result, kind),
            Err(e) => {
                failed = true;
                if cmd.common.json {
                    json_line(&QueryFailure {
                        query: file,
                        error: e.to_string(),
                    })?;
                } else {
                    eprintln!("error: {e}");
                }
            }
        }
    }
    Ok(if failed {
        Outcome::SomeFailed
    } else {
        Outcome::Success
    })
}

/// Says when some items cannot be found because a retrain was interrupted before it
/// encoded them again (`latentid index` finishes it).
fn warn_unencoded(index: &latentid_index::Index) -> Result<()> {
    let missing = latentid_ingest::unencoded(index)?;
    if !missing.is_empty() {
        eprintln!(
            "warning: {} of the items in {} are not encoded yet (an `index --retrain` or \
             `tune --apply` was interrupted), so queries cannot find them; run \
             `latentid index` on the library to finish",
            missing.len(),
            index.location().display()
        );
    }
    Ok(())
}

/// One file asked of the server: its answer, or why this file could not be asked about
/// (worded as the local path words it); `Err` when the server itself failed.
fn ask_server(
    server: &Client,
    file: &Path,
    cfg: &QueryConfig,
) -> Result<std::result::Result<QueryResult, String>> {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(source) => {
            // The local path checks the kind before it reads the file.
            let wrong_kind = matches!(
                (server.kind(), media_kind(file)),
                (ItemKind::Audio, Some(MediaKind::Image))
                    | (ItemKind::Image, Some(MediaKind::Audio))
            );
            let e = if wrong_kind {
                QueryError::WrongKind {
                    path: file.to_path_buf(),
                    index_kind: server.kind().name(),
                }
            } else {
                QueryError::Media(MediaError::Io {
                    path: file.to_path_buf(),
                    source,
                })
            };
            return Ok(Err(e.to_string()));
        }
    };
    let name = file.to_string_lossy();
    let mut tries = 0;
    loop {
        match server.identify(&name, &bytes, cfg) {
            Ok(r) => return Ok(Ok(r)),
            // Busy: it already waited there; wait a little more here.
            Err(ClientError::Refused(r)) if r.status == 503 && tries < 5 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
            Err(ClientError::Refused(r)) if r.status != 503 => return Ok(Err(r.message)),
            Err(e) => return Err(e.into()),
        }
    }
}

fn print_human(query: &Path, r: &QueryResult, kind: ItemKind) {
    // Said only beside "no match": a noisy recording of a song in the library is rebuilt
    // worse too, and its match is the better answer.
    let unlike = match r.reconstruction {
        Some(f) if f.unlike_library => match kind {
            ItemKind::Audio => format!(
                "; this does not sound like your library (score {:.1})",
                f.score
            ),
            ItemKind::Image => format!(
                "; this does not look like your library (score {:.1})",
                f.score
            ),
        },
        _ => String::new(),
    };
    match (&r.matched, r.candidates.first()) {
        (Some(m), _) => println!(
            "{}: {}  [{}]",
            query.display(),
            describe(m),
            m.path.display()
        ),
        (None, Some(best)) => println!(
            "{}: no match (closest: {}){unlike}",
            query.display(),
            describe(best)
        ),
        (None, None) => println!("{}: no match{unlike}", query.display()),
    }
}

pub fn similar(cmd: SimilarCmd) -> Result<Outcome> {
    let r = match source(&cmd.common.index)? {
        Source::Local(index) => {
            let id = resolve(&index, &cmd.item)?;
            let cfg = QueryConfig {
                top: cmd.top,
                ..QueryConfig::default()
            };
            Matcher::new(&index)?.similar(id, &cfg)?
        }
        Source::Server(server) => server
            .similar(&cmd.item, &item_path(&cmd.item), cmd.top)
            .map_err(|e| server_item_error(e, &cmd.item, &cmd.common.index))?,
    };
    for c in &r.candidates {
        if cmd.common.json {
            json_line(c)?;
        } else {
            println!("{:>5}  {}  [{}]", c.id, describe(c), c.path.display());
        }
    }
    Ok(Outcome::Success)
}

pub fn duplicates(cmd: DuplicatesCmd) -> Result<Outcome> {
    let (found, kind) = match source(&cmd.common.index)? {
        Source::Local(index) => {
            let cfg = DuplicatesConfig {
                threshold: cmd.threshold,
                ..Default::default()
            };
            let found = latentid_query::duplicates(&Matcher::new(&index)?, &cfg)?;
            (found, index.kind())
        }
        Source::Server(server) => (server.duplicates(cmd.threshold)?, server.kind()),
    };
    for (i, g) in found.groups.iter().enumerate() {
        if cmd.common.json {
            json_line(g)?;
            continue;
        }
        let spread = match g.max_distance {
            Some(d) => format!(", at most distance {d:.3} apart"),
            None => String::new(),
        };
        println!("group {}: {} items{spread}", i + 1, g.members.len());
        for m in &g.members {
            println!("{:>7}  {}  [{}]", m.id, m.name, m.path.display());
        }
        println!();
    }
    let within = match kind {
        ItemKind::Image => format!("signature distance at most {:.3}", found.threshold),
        ItemKind::Audio => format!("confidence at least {:.2}", found.threshold),
    };
    let grouped: usize = found.groups.iter().map(|g| g.members.len()).sum();
    eprintln!(
        "{} groups of near-duplicates ({grouped} of {} items; {within})",
        found.groups.len(),
        found.items
    );
    Ok(Outcome::Success)
}
