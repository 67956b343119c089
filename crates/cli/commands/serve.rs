//! `latentid serve`: the index opened once, answering over HTTP until Ctrl-C or SIGTERM.

use std::time::Duration;

use anyhow::Result;
use latentid_serve::{ServeConfig, Started};
use latentid_store::ItemKind;

use crate::args::ServeCmd;
use crate::Outcome;

pub fn serve(cmd: ServeCmd) -> Result<Outcome> {
    let defaults = ServeConfig::default();
    let cfg = ServeConfig {
        bind: cmd.bind,
        workers: cmd.workers.unwrap_or(defaults.workers).max(1),
        max_upload_bytes: cmd.max_upload_mb.saturating_mul(1 << 20),
        queue: cmd.queue.unwrap_or(defaults.queue),
        queue_wait: cmd
            .queue_wait_ms
            .map_or(defaults.queue_wait, Duration::from_millis),
        upload_timeout: cmd
            .upload_timeout_s
            .map_or(defaults.upload_timeout, Duration::from_secs),
    };
    let dir = &cmd.common.index;
    latentid_serve::run(dir, &cfg, |s: &Started| {
        let what = match s.kind {
            ItemKind::Audio => format!("{} tracks", s.items),
            ItemKind::Image => format!("{} images", s.items),
        };
        println!("latentid: serving {} ({what}) at {}", dir.display(), s.url);
        if s.loopback {
            println!("reachable from this machine only; Ctrl-C stops");
        } else {
            println!(
                "listening on {} as --bind asked: reachable from other machines on the network; Ctrl-C stops",
                s.address
            );
        }
        println!(
            "writes over the API need the token in {}",
            s.token_file.display()
        );
    })?;
    eprintln!("latentid: stopped; {} flushed", dir.display());
    Ok(Outcome::Success)
}
