//! `latentid list`, `remove` and `stats`: what the index holds.

use std::path::Path;

use anyhow::{anyhow, Result};
use latentid_serve::{read_token, Removed, TOKEN_FILE};
use latentid_store::ItemKind;

use super::{
    clock, item_path, json_line, older_front_end, resolve, server_item_error, short, source, Source,
};
use crate::args::RemoveCmd;
use crate::Outcome;

pub fn list(dir: &Path, json: bool) -> Result<Outcome> {
    let items = match source(dir)? {
        Source::Local(index) => index.store().items()?,
        Source::Server(server) => server.items()?,
    };
    for item in items {
        if json {
            json_line(&item.shown())?;
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

pub fn remove(cmd: RemoveCmd) -> Result<Outcome> {
    let dir = &cmd.common.index;
    let mut failed = false;
    let mut report = |r: Result<Removed>| -> Result<()> {
        match r {
            Ok(item) if cmd.common.json => json_line(&item)?,
            Ok(item) => println!(
                "removed {} {} ({})",
                item.removed,
                item.name,
                item.path.display()
            ),
            Err(e) => {
                failed = true;
                eprintln!("error: {e:#}");
            }
        }
        Ok(())
    };
    match source(dir)? {
        Source::Local(index) => {
            for it in &cmd.items {
                let removed = resolve(&index, it).and_then(|id| Ok(index.store().remove(id)?));
                report(removed.map(|item| Removed {
                    removed: item.id,
                    path: item.path,
                    name: item.name,
                }))?;
            }
            index.flush()?;
        }
        Source::Server(server) => {
            let token = read_token(dir).ok_or_else(|| {
                anyhow!(
                    "a latentid server holds {} and removing through it needs its token, which {} does not give this user",
                    dir.display(),
                    dir.join(TOKEN_FILE).display()
                )
            })?;
            for it in &cmd.items {
                let removed = server
                    .remove(it, &item_path(it), &token)
                    .map_err(|e| server_item_error(e, it, dir));
                report(removed)?;
            }
        }
    }
    Ok(if failed {
        Outcome::SomeFailed
    } else {
        Outcome::Success
    })
}

pub fn stats(dir: &Path, json: bool) -> Result<Outcome> {
    let s = match source(dir)? {
        Source::Local(index) => index.summary()?,
        // The index as this command names it, as the local path prints it.
        Source::Server(server) => latentid_index::Summary {
            index: dir.to_path_buf(),
            ..server.stats()?
        },
    };
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
    if !s.backend.is_empty() {
        println!("backend     {}", s.backend);
    }
    if let Some(f) = s.features.as_ref().filter(|_| s.kind == ItemKind::Audio) {
        println!(
            "front end   {} mel bands, {:.2} s patches, band centring {}",
            f.audio.n_mels,
            f.audio.patch_seconds(),
            f.audio.band_centering
        );
        if let Some(note) = older_front_end(s.kind, f) {
            println!("note        {note}");
        }
    }
    Ok(Outcome::Success)
}
