//! `latentid index`: ingest, then calibrate what changed.

use anyhow::Result;
use latentid_index::{Calibration, RATIO_RANK};
use latentid_ingest::{ingest, IngestConfig, IngestReport};
use latentid_model::EncoderKind;
use latentid_query::{
    calibrate_if_needed, CalibrationConfig, LIKENESS_CANDIDATES, SEARCH_LIKENESS, SEARCH_RATIO,
};
use latentid_store::ItemKind;
use serde::Serialize;

use super::{json_line, older_front_end, short};
use crate::args::{EncoderArg, IndexCmd, KindArg};
use crate::progress::Bars;
use crate::Outcome;

fn ingest_config(cmd: &IndexCmd) -> IngestConfig {
    let mut cfg = IngestConfig {
        kind: cmd.kind.map(|k| match k {
            KindArg::Audio => ItemKind::Audio,
            KindArg::Image => ItemKind::Image,
        }),
        latent_dim: cmd.latent_dim,
        retrain: cmd.retrain,
        encoder: match cmd.encoder {
            EncoderArg::Ae => EncoderKind::Autoencoder,
            EncoderArg::Pca => EncoderKind::Pca,
        },
        ..IngestConfig::default()
    };
    cmd.training.apply(&mut cfg.train);
    if cmd.train_budget.is_some() {
        cfg.train.time_budget_s = cmd.train_budget;
    }
    if let Some(w) = cmd.invariance_weight {
        cfg.train.invariance_weight = Some(w);
    }
    if let Some(w) = cmd.contrastive_weight {
        cfg.train.contrastive_weight = Some(w);
    }
    cfg
}

/// `index --json`: the ingest report and the calibration it led to.
#[derive(Serialize)]
struct IndexJson<'a> {
    #[serde(flatten)]
    report: &'a IngestReport,
    calibration: Option<&'a Calibration>,
}

pub fn index(cmd: IndexCmd) -> Result<Outcome> {
    let cfg = ingest_config(&cmd);
    let json = cmd.common.json;
    let (mut index, report) = ingest(&cmd.common.index, &cmd.paths, &cfg, &Bars::new(json))?;
    // The "no match" threshold depends on the whole library: measure it again when it changed.
    let calibration = calibrate_if_needed(&mut index, &CalibrationConfig::default())?;
    if let Some(note) = older_front_end(index.kind(), index.features()) {
        eprintln!("note: {note}");
    }
    if json {
        json_line(&IndexJson {
            report: &report,
            calibration: calibration.as_ref(),
        })?;
    } else {
        print_human(&report, calibration.as_ref());
    }
    Ok(if report.failed.is_empty() {
        Outcome::Success
    } else {
        Outcome::SomeFailed
    })
}

fn print_human(r: &IngestReport, c: Option<&Calibration>) {
    let what = match r.kind {
        ItemKind::Audio => format!("{:.2} h of audio", r.audio_seconds / 3600.0),
        ItemKind::Image => format!("{} images", r.images),
    };
    println!(
        "{}: added {} ({what}), {} already stored, {} skipped (not {}), {} failed, in {:.1} s",
        r.index.display(),
        r.added.len(),
        r.duplicates.len(),
        r.skipped.len(),
        r.kind.name(),
        r.failed.len(),
        r.seconds
    );
    if r.reencoded > 0 {
        println!("re-encoded {} stored items with the new model", r.reencoded);
    }
    if r.kind == ItemKind::Audio && r.encode_seconds > 0.0 && r.audio_seconds > 0.0 {
        println!(
            "ingest speed: {:.0}x real time (decode + encode + store)",
            r.audio_seconds / r.encode_seconds
        );
    }
    if let Some(t) = &r.trained {
        println!(
            "model: trained on {} examples, {} epochs, validation loss {:.4}, {:.1} s, {} parameters (model {})",
            t.examples,
            t.epochs,
            t.val_loss,
            t.seconds,
            t.param_count,
            short(&t.model_hash)
        );
    }
    if let Some(c) = c {
        print_calibration(r.kind, c);
    }
    for d in &r.duplicates {
        match (&d.existing, &d.same_as) {
            (Some(id), _) => println!("  already stored: {} (item {id})", d.path.display()),
            (None, Some(p)) => println!(
                "  duplicate: {} (same bytes as {})",
                d.path.display(),
                p.display()
            ),
            _ => {}
        }
    }
    for f in &r.failed {
        println!("  failed: {f}");
    }
}

pub(super) fn print_calibration(kind: ItemKind, c: &Calibration) {
    match kind {
        ItemKind::Audio => println!(
            "calibration: a match needs evidence {} (lead in agreeing patches over the next track x sqrt(patches)); {} noisy clips of indexed tracks: {:.0}% found; {} clips with their track left out: {:.0}% named{}",
            c.evidence_summary(),
            c.positives,
            c.positive_recall * 100.0,
            c.negatives,
            c.negative_pass * 100.0,
            match c.variant_pairs.len() {
                0 => String::new(),
                n => format!("; {n} pairs of tracks sound like variants of one tune"),
            }
        ),
        ItemKind::Image => println!(
            "calibration: a match must {}{}{}; {} altered copies {:.0}% found, {} strangers (their own picture left out) {:.0}% named{}",
            match c.picture_votes() {
                Some(v) => format!("have {:.0}% of the views agreeing on it, or be ", v * 100.0),
                None => "be ".into(),
            },
            match c.picture_ratio() {
                Some(r) => format!(
                    "within distance {:.3}, or at most {r:.3} x as far as the picture ranked {RATIO_RANK}",
                    c.distance
                ),
                None => format!("within distance {:.3}", c.distance),
            },
            match c.likeness {
                Some(l) => format!(
                    ", or be among the first {LIKENESS_CANDIDATES} candidates and look {l:.2} alike (sketches), \
                     or be the one picture in the library that looks {SEARCH_LIKENESS:.2} alike \
                     (the next at most {SEARCH_RATIO:.1} of that)"
                ),
                None => String::new(),
            },
            c.positives,
            c.positive_recall * 100.0,
            c.negatives,
            c.negative_pass * 100.0,
            match c.variant_pairs.len() {
                0 => String::new(),
                n => format!("; {n} pairs of pictures look alike (set aside)"),
            }
        ),
    }
}
