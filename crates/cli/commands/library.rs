//! `latentid list`, `remove` and `stats`: what the index holds.

use std::path::Path;

use anyhow::Result;
use latentid_store::ItemKind;
use serde::Serialize;

use super::{clock, json_line, open, resolve, short};
use crate::args::RemoveCmd;
use crate::Outcome;

pub fn list(dir: &Path, json: bool) -> Result<Outcome> {
    let index = open(dir)?;
    for item in index.store().items()? {
        if json {
            json_line(&item)?;
            continue;
        }
        let size = match (item.duration_s, item.width, item.height) {
            (Some(d), _, _) => clock(d),
            (_, Some(w), Some(h)) => format!("{w}x{h}"),
            _ => String::new(),
        };
        println!(
            "{:>5}  {:>9}  {}  {}",
            item.id,
            size,
            item.name,
            item.path.display()
        );
    }
    Ok(Outcome::Success)
}

/// `remove --json`, one line per removed item.
#[derive(Serialize)]
struct Removed<'a> {
    removed: u64,
    path: &'a Path,
    name: &'a str,
}

pub fn remove(cmd: RemoveCmd) -> Result<Outcome> {
    let index = open(&cmd.common.index)?;
    let mut failed = false;
    for it in &cmd.items {
        match resolve(&index, it).and_then(|id| Ok(index.store().remove(id)?)) {
            Ok(item) if cmd.common.json => json_line(&Removed {
                removed: item.id,
                path: &item.path,
                name: &item.name,
            })?,
            Ok(item) => println!(
                "removed {} {} ({})",
                item.id,
                item.name,
                item.path.display()
            ),
            Err(e) => {
                failed = true;
                eprintln!("error: {e:#}");
            }
        }
    }
    index.flush()?;
    Ok(if failed {
        Outcome::SomeFailed
    } else {
        Outcome::Success
    })
}

pub fn stats(dir: &Path, json: bool) -> Result<Outcome> {
    let index = open(dir)?;
    let s = index.summary()?;
    if json {
        json_line(&s)?;
        return Ok(Outcome::Success);
    }
    println!("index       {}", s.index.display());
    println!("kind        {}", s.kind.name());
    match s.kind {
        ItemKind::Audio => println!(
            "items       {} tracks, {:.2} h of audio",
            s.items, s.audio_hours
        ),
        ItemKind::Image => println!("items       {} images", s.items),
    }
    println!("signatures  {} ({} tombstoned)", s.signatures, s.tombstoned);
    println!("latent size {}", s.latent_dim);
    match (&s.model, s.parameters) {
        (Some(h), Some(p)) => println!("model       {} ({p} parameters)", short(h)),
        _ => println!("model       none yet"),
    }
    println!("on disk     {:.1} MB", s.bytes as f64 / 1e6);
    Ok(Outcome::Success)
}
