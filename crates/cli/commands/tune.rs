//! `latentid tune`: the latent-size sweep, its table, plot and `--apply`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use latentid_index::{Calibration, Index};
use latentid_ingest::{Event, Progress};
use latentid_store::ItemKind;
use latentid_tune::{Encoder, Row, Step, TuneConfig, TuneProgress, TuneReport};
use serde::Serialize;

use super::{json_line, open};
use crate::args::TuneCmd;
use crate::progress::Bars;
use crate::Outcome;

/// Sweep progress: ingest's bars while training and indexing, and one line per step and
/// per finished row on stderr (sweeps are long; the lines also serve logs). With --json
/// the rows go to stdout as they complete.
struct TuneBars {
    bars: Bars,
    json: bool,
}

impl Progress for TuneBars {
    fn event(&self, event: Event<'_>) {
        self.bars.event(event);
    }
}

impl TuneProgress for TuneBars {
    fn step(&self, dim: usize, encoder: Encoder, step: Step) {
        match step {
            Step::Probes { items } => {
                eprintln!("tune: decoding and distorting clips of {items} items")
            }
            Step::Index => eprintln!(
                "tune: latent size {dim}, {}: training and indexing",
                encoder.name()
            ),
            Step::Calibrate | Step::Query { .. } => {}
        }
    }

    fn row(&self, r: &Row) {
        if self.json {
            if let Err(e) = json_line(r) {
                eprintln!("error: {e}");
            }
        }
        eprintln!(
            "tune: latent size {}, {}: top-1 {}, false matches {}, nearest is own {}, in {:.0} s{}",
            r.latent_dim,
            r.encoder.name(),
            pct(Some(r.top1)),
            pct(r.false_match),
            pct(r.sig_nn_own),
            r.seconds,
            if r.meets_target {
                " (meets the target)"
            } else {
                ""
            }
        );
    }
}

fn pct(v: Option<f32>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{:.1}%", v * 100.0))
}

/// What `--apply` did.
#[derive(Serialize)]
struct Applied {
    index: PathBuf,
    latent_dim: usize,
    reencoded: usize,
    added: usize,
    failed: usize,
    calibration: Calibration,
}

/// The last line of `tune --json`.
#[derive(Serialize)]
struct SummaryJson<'a> {
    summary: Summary<'a>,
}

#[derive(Serialize)]
struct Summary<'a> {
    kind: ItemKind,
    /// Items indexed at every size.
    library: usize,
    heldout: &'a [PathBuf],
    chosen: Option<usize>,
    pca_first: Option<usize>,
    target: f32,
    max_false_match: f32,
    seconds: f64,
    failed: Vec<FailureJson<'a>>,
    plot: Option<&'a Path>,
    applied: Option<Applied>,
}

#[derive(Serialize)]
struct FailureJson<'a> {
    path: &'a Path,
    reason: String,
}

pub fn tune(cmd: TuneCmd) -> Result<Outcome> {
    let json = cmd.common.json;
    let mut cfg = TuneConfig {
        from: cmd.from,
        to: cmd.to,
        target: cmd.target,
        max_false_match: cmd.max_false_match,
        ..TuneConfig::default()
    };
    cfg.train.time_budget_s = Some(cmd.budget);
    cmd.training.apply(&mut cfg.train);
    if let Some(s) = cmd.training.seed {
        cfg.seed = s;
    }
    // Opened once for the whole command (the sweep itself works on temporary indexes).
    let mut index = if Index::exists(&cmd.common.index) {
        Some(open(&cmd.common.index)?)
    } else {
        None
    };
    // No paths: the library is what the index holds.
    let paths: Vec<PathBuf> = match (&index, cmd.paths.is_empty()) {
        (_, false) => cmd.paths.clone(),
        (Some(index), true) => {
            cfg.kind = Some(index.kind());
            let items = index.store().items()?;
            items
                .into_iter()
                .map(|i| i.path)
                .filter(|p| p.exists())
                .collect()
        }
        (None, true) => bail!(
            "nothing to tune: give library files or folders, or an --index that holds items (there is no index at {})",
            cmd.common.index.display()
        ),
    };
    let progress = TuneBars {
        bars: Bars::new(json),
        json,
    };
    let report = latentid_tune::tune(&paths, &cfg, &progress)?;
    if let Some(plot) = &cmd.plot {
        latentid_tune::write_plot(&report, plot)?;
    }
    if !json {
        print_table(&report);
    }
    let mut applied = None;
    if cmd.apply {
        let Some(dim) = report.chosen else {
            if json {
                print_summary(&report, cmd.plot.as_deref(), None)?;
            }
            bail!(
                "--apply: no latent size from {} to {} met the target; the index at {} was left as it was",
                cmd.from,
                cmd.to,
                cmd.common.index.display()
            );
        };
        let bars = Bars::new(json);
        let (r, c) = match index.as_mut() {
            Some(index) => latentid_tune::apply(&cmd.paths, index, dim, &cfg, &bars)?,
            None => latentid_tune::apply_new(&cmd.paths, &cmd.common.index, dim, &cfg, &bars)?,
        };
        if !json {
            println!(
                "applied: {} re-indexed at latent size {dim} ({} items re-encoded, {} added; calibration: a match needs evidence {})",
                r.index.display(),
                r.reencoded,
                r.added.len(),
                c.evidence_summary()
            );
        }
        applied = Some(Applied {
            index: r.index,
            latent_dim: dim,
            reencoded: r.reencoded,
            added: r.added.len(),
            failed: r.failed.len(),
            calibration: c,
        });
    }
    if json {
        print_summary(&report, cmd.plot.as_deref(), applied)?;
    }
    Ok(if report.failed.is_empty() {
        Outcome::Success
    } else {
        Outcome::SomeFailed
    })
}

fn print_table(r: &TuneReport) {
    println!(
        "  latent enc   top-1  best-cand  wrong  false  nn-own  nn-item  ratio  train s  epochs  index MB  sig KB"
    );
    for row in &r.rows {
        let mark = if Some(row.latent_dim) == r.chosen && row.encoder == Encoder::Ae {
            "*"
        } else {
            " "
        };
        println!(
            "{mark} {:>6} {:<4} {:>6} {:>10} {:>6} {:>6} {:>7} {:>8} {:>6} {:>8.1} {:>7} {:>9.1} {:>7.0}",
            row.latent_dim,
            row.encoder.name(),
            pct(Some(row.top1)),
            pct(Some(row.top1_candidate)),
            pct(Some(row.wrong_item)),
            pct(row.false_match),
            pct(row.sig_nn_own),
            pct(row.sig_nn_item),
            row.sig_ratio_median
                .map_or_else(|| "-".into(), |v| format!("{v:.2}")),
            row.train_seconds,
            row.epochs,
            row.index_bytes as f64 / 1e6,
            row.signature_bytes as f64 / 1e3,
        );
    }
    let first = r.rows.first().map_or(0, |x| x.latent_dim);
    let last = r.rows.last().map_or(0, |x| x.latent_dim);
    let goal = format!(
        "top-1 >= {:.1}% on 5 s clips with pink noise at 10 dB, <= {:.1}% false matches",
        r.target * 100.0,
        r.max_false_match * 100.0
    );
    match r.chosen {
        Some(d) => println!("* smallest latent size that separates: {d} ({goal})"),
        None => println!("no latent size from {first} to {last} met the target ({goal})"),
    }
    match r.pca_first {
        Some(d) => println!("PCA first met the target at latent size {d}"),
        None => println!("PCA did not meet the target at any size tried"),
    }
    let queries = r.rows.first().map_or(0, |x| x.queries);
    let non = r.rows.first().map_or(0, |x| x.non_match_queries);
    println!(
        "{} items indexed, {} held out as not in the library; {queries} distorted queries and {non} non-matches per row; {:.1} s in all",
        r.library.len(),
        r.heldout.len(),
        r.seconds
    );
    for f in &r.failed {
        println!("  failed: {f}");
    }
}

fn print_summary(r: &TuneReport, plot: Option<&Path>, applied: Option<Applied>) -> Result<()> {
    json_line(&SummaryJson {
        summary: Summary {
            kind: r.kind,
            library: r.library.len(),
            heldout: &r.heldout,
            chosen: r.chosen,
            pca_first: r.pca_first,
            target: r.target,
            max_false_match: r.max_false_match,
            seconds: r.seconds,
            failed: r
                .failed
                .iter()
                .map(|f| FailureJson {
                    path: &f.path,
                    reason: f.to_string(),
                })
                .collect(),
            plot,
            applied,
        },
    })
}
