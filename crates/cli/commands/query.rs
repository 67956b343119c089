//! `latentid query`, `similar` and `duplicates`: questions answered by the matcher.

use std::path::Path;

use anyhow::Result;
use latentid_query::{Answer, DuplicatesConfig, Matcher, QueryConfig, QueryResult};
use latentid_store::ItemKind;
use serde::Serialize;

use super::{describe, json_line, open, resolve};
use crate::args::{DuplicatesCmd, QueryCmd, SimilarCmd};
use crate::Outcome;

/// `query --json` for a file that could not be asked about.
#[derive(Serialize)]
struct QueryFailure<'a> {
    query: &'a Path,
    error: String,
}

pub fn query(cmd: QueryCmd) -> Result<Outcome> {
    let index = open(&cmd.common.index)?;
    let matcher = Matcher::new(&index)?;
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
        match matcher.query_path(file, &cfg) {
            Ok(result) if cmd.common.json => json_line(&Answer {
                query: file.clone(),
                result,
            })?,
            Ok(result) => print_human(file, &result, index.kind()),
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
    let index = open(&cmd.common.index)?;
    let id = resolve(&index, &cmd.item)?;
    let cfg = QueryConfig {
        top: cmd.top,
        ..QueryConfig::default()
    };
    let r = Matcher::new(&index)?.similar(id, &cfg)?;
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
    let index = open(&cmd.common.index)?;
    let cfg = DuplicatesConfig {
        threshold: cmd.threshold,
        ..Default::default()
    };
    let found = latentid_query::duplicates(&Matcher::new(&index)?, &cfg)?;
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
    let within = match index.kind() {
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
