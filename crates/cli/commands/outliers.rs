//! `latentid outliers`: the items the model rebuilds worst, most unlike the library first.

use anyhow::Result;
use latentid_ingest::{backfill_reconstructions, held_out_reconstructions, IngestConfig};
use latentid_query::{calibrate_if_needed, outliers as rank, CalibrationConfig};

use super::{clock, json_line, open};
use crate::args::OutliersCmd;
use crate::progress::Bars;
use crate::Outcome;

pub fn outliers(cmd: OutliersCmd) -> Result<Outcome> {
    let json = cmd.common.json;
    let mut index = open(&cmd.common.index)?;
    // Items stored before the index kept their errors are measured once, from their files.
    let backfill = backfill_reconstructions(&index, &Bars::new(json))?;
    if backfill.measured > 0 {
        eprintln!(
            "measured the reconstruction error of {} items stored before latentid kept it ({:.1} s)",
            backfill.measured, backfill.seconds
        );
    }
    for f in &backfill.failed {
        eprintln!("warning: {f} (left out of the ranking)");
    }
    // Queries score themselves against the library's spread: keep it current.
    calibrate_if_needed(&mut index, &CalibrationConfig::default())?;
    // Each item measured by a model trained without it: what the rest of the library is not.
    let held_out = if cmd.no_held_out {
        Default::default()
    } else {
        let mut cfg = IngestConfig::default();
        cmd.training.apply(&mut cfg.train);
        // Files gone or unreadable leave the held-out models nothing to train on: the ranking
        // then rests on the index model alone, as with --no-held-out.
        let held = held_out_reconstructions(&index, &cfg, &Bars::new(json)).unwrap_or_else(|e| {
            eprintln!(
                "warning: no held-out measurement ({e}); ranked by the index model's error only"
            );
            Default::default()
        });
        if held.seconds > 0.0 {
            eprintln!(
                "measured {} items with models trained without them ({:.1} s; kept until the library changes)",
                held.errors.len(),
                held.seconds
            );
        }
        for f in &held.failed {
            eprintln!("warning: {f} (ranked by the index model's error only)");
        }
        held.errors
    };
    let found = rank(&index, &held_out)?;
    let top = &found.ranked[..cmd.top.min(found.ranked.len())];
    if json {
        for o in top {
            json_line(o)?;
        }
    } else {
        let audio = top.iter().any(|o| o.worst_at_s.is_some());
        let worst = if audio { "  worst at" } else { "" };
        println!("rank   score   error{worst}     id  name  [path]");
        for o in top {
            let at = match o.worst_at_s {
                Some(s) => format!("  {:>8}", clock(s)),
                None => String::new(),
            };
            println!(
                "{:>4}  {:>6.1}  {:>6.3}{at}  {:>5}  {}  [{}]",
                o.rank,
                o.score,
                o.error,
                o.id,
                o.name,
                o.path.display()
            );
        }
    }
    if let Some(s) = found.scale {
        eprintln!(
            "{} items ranked; score = how far an item's error lies above the library's median ({:.3}), in robust standard deviations (median absolute deviation of log error), under the index's model or one trained without the item, whichever is higher; above 3.5 is far out",
            found.ranked.len(),
            s.median()
        );
    }
    Ok(if backfill.failed.is_empty() {
        Outcome::Success
    } else {
        Outcome::SomeFailed
    })
}
