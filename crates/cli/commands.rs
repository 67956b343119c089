//! One function per subcommand: build the library config, run, print.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use latentid_ingest::{ingest, load_model, IngestConfig, IngestReport};
use latentid_model::EncoderKind;
use latentid_query::{
    calibrate, Calibration, CalibrationConfig, Candidate, Matcher, QueryConfig, QueryResult,
};
use latentid_store::{ItemId, ItemKind, SearchParams, SledStore};
use serde_json::json;

use crate::args::DuplicatesCmd;
use crate::args::TuneCmd;
use crate::args::{Command, EncoderArg, IndexCmd, KindArg, QueryCmd, RemoveCmd, SimilarCmd};
use crate::progress::Bars;
use crate::Outcome;

pub fn run(command: Command) -> Result<Outcome> {
    match command {
        Command::Index(c) => index(c),
        Command::Query(c) => query(c),
        Command::List(c) => list(&c.common.index, c.common.json),
        Command::Remove(c) => remove(c),
        Command::Stats(c) => stats(&c.common.index, c.common.json),
        Command::Similar(c) => similar(c),
        Command::Duplicates(c) => duplicates(c),
        Command::Tune(c) => tune(c),
    }
}

fn kind_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Audio => "audio",
        ItemKind::Image => "image",
    }
}

fn ingest_config(cmd: &IndexCmd) -> IngestConfig {
    let mut cfg = IngestConfig::new(cmd.common.index.clone());
    cfg.kind = cmd.kind.map(|k| match k {
        KindArg::Audio => ItemKind::Audio,
        KindArg::Image => ItemKind::Image,
    });
    cfg.latent_dim = cmd.latent_dim;
    cfg.retrain = cmd.retrain;
    cfg.encoder = match cmd.encoder {
        EncoderArg::Ae => EncoderKind::Autoencoder,
        EncoderArg::Pca => EncoderKind::Pca,
    };
    cmd.training.apply(&mut cfg.train);
    if cmd.train_budget.is_some() {
        cfg.train.time_budget_s = cmd.train_budget;
    }
    if let Some(w) = cmd.invariance_weight {
        cfg.train.invariance_weight = Some(w);
    }
    cfg
}

fn index(cmd: IndexCmd) -> Result<Outcome> {
    let cfg = ingest_config(&cmd);
    let json = cmd.common.json;
    let report = ingest(&cmd.paths, &cfg, &Bars::new(json))?;
    // The "no match" threshold depends on the whole library: measure it again when it changed.
    let calibration =
        if report.trained.is_some() || !report.added.is_empty() || report.reencoded > 0 {
            let store = SledStore::open(&cfg.index_dir)?;
            let mut matcher = Matcher::new(&store)?;
            let c = calibrate(&mut matcher, &CalibrationConfig::default())?;
            store.flush()?;
            Some(c)
        } else {
            None
        };
    if json {
        print_index_json(&report, calibration.as_ref());
    } else {
        print_index_human(&report, calibration.as_ref());
    }
    Ok(if report.failed.is_empty() {
        Outcome::Success
    } else {
        Outcome::SomeFailed
    })
}

fn print_index_json(r: &IngestReport, c: Option<&Calibration>) {
    let v = json!({
        "index": r.index,
        "kind": kind_name(r.kind),
        "added": r.added.iter().map(|(id, p)| json!({"id": id, "path": p})).collect::<Vec<_>>(),
        "duplicates": r.duplicates.iter().map(|d| json!({"path": d.path, "existing": d.existing, "same_as": d.same_as})).collect::<Vec<_>>(),
        "failed": r.failed.iter().map(|f| json!({"path": f.path, "reason": f.reason})).collect::<Vec<_>>(),
        "skipped": r.skipped,
        "reencoded": r.reencoded,
        "audio_hours": r.audio_seconds / 3600.0,
        "images": r.images,
        "seconds": r.seconds,
        "encode_seconds": r.encode_seconds,
        "trained": r.trained.as_ref().map(|t| json!({
            "examples": t.examples, "epochs": t.epochs, "val_loss": t.val_loss,
            "seconds": t.seconds, "model": t.model_hash, "parameters": t.param_count,
        })),
        "calibration": c,
    });
    println!("{v}");
}

fn print_index_human(r: &IngestReport, c: Option<&Calibration>) {
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
        kind_name(r.kind),
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
        match r.kind {
            ItemKind::Audio => println!(
                "calibration: a match needs evidence {} (lead in agreeing patches over the next track x sqrt(patches)); {} noisy clips of indexed tracks: {:.0}% found; {} clips with their track left out: {:.0}% named",
                c.evidence_summary(),
                c.positives,
                c.positive_recall * 100.0,
                c.negatives,
                c.negative_pass * 100.0
            ),
            ItemKind::Image => println!(
                "calibration: a match must be within distance {:.3}; {} altered copies {:.0}% found, {} nearest strangers {:.0}% within",
                c.distance,
                c.positives,
                c.positive_recall * 100.0,
                c.negatives,
                c.negative_pass * 100.0
            ),
        }
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
        println!("  failed: {}", f.reason);
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

fn open(index: &Path) -> Result<SledStore> {
    Ok(SledStore::open(index)?)
}

fn query(cmd: QueryCmd) -> Result<Outcome> {
    let mut store = open(&cmd.common.index)?;
    // One process, a few clips: exact search over the signatures answers before the HNSW
    // graph could even be loaded; a long list of clips moves on to the graph by itself.
    store.set_search_params(SearchParams::one_shot());
    let matcher = Matcher::new(&store)?;
    let cfg = QueryConfig {
        top: cmd.top,
        min_confidence: cmd.min_confidence,
        max_distance: cmd.max_distance,
        neighbours: cmd.neighbours.unwrap_or(QueryConfig::default().neighbours),
        ..QueryConfig::default()
    };
    let mut failed = false;
    for file in &cmd.files {
        match matcher.query_path(file, &cfg) {
            Ok(r) => print_result(file, &r, cmd.common.json),
            Err(e) => {
                failed = true;
                if cmd.common.json {
                    println!("{}", json!({"query": file, "error": e.to_string()}));
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

fn clock(s: f32) -> String {
    let s = s.max(0.0);
    format!("{}:{:04.1}", (s / 60.0) as u32, s % 60.0)
}

fn print_result(query: &Path, r: &QueryResult, json: bool) {
    if json {
        let mut v = serde_json::to_value(r).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("query".into(), json!(query));
        }
        println!("{v}");
        return;
    }
    match &r.matched {
        Some(m) => println!(
            "{}: {}  [{}]",
            query.display(),
            describe(m),
            m.path.display()
        ),
        None => match r.candidates.first() {
            Some(best) => println!(
                "{}: no match (closest: {})",
                query.display(),
                describe(best)
            ),
            None => println!("{}: no match", query.display()),
        },
    }
}

fn list(index: &Path, json: bool) -> Result<Outcome> {
    let store = open(index)?;
    for item in store.items()? {
        if json {
            println!(
                "{}",
                json!({
                    "id": item.id, "path": item.path, "name": item.name, "kind": kind_name(item.kind),
                    "duration_s": item.duration_s, "width": item.width, "height": item.height,
                    "signatures": item.signatures, "content_hash": item.content_hash, "added_unix": item.added_unix,
                })
            );
        } else {
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
    }
    Ok(Outcome::Success)
}

/// An item named on the command line: its id, or a path as stored (relative paths are
/// resolved against the current directory, as `index` stored them).
fn resolve(store: &SledStore, item: &str) -> Result<ItemId> {
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
            store.path().display()
        ),
    }
}

fn remove(cmd: RemoveCmd) -> Result<Outcome> {
    let store = open(&cmd.common.index)?;
    let mut failed = false;
    for it in &cmd.items {
        match resolve(&store, it).and_then(|id| Ok(store.remove(id)?)) {
            Ok(item) => {
                if cmd.common.json {
                    println!(
                        "{}",
                        json!({"removed": item.id, "path": item.path, "name": item.name})
                    );
                } else {
                    println!(
                        "removed {} {} ({})",
                        item.id,
                        item.name,
                        item.path.display()
                    );
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("error: {e:#}");
            }
        }
    }
    store.flush()?;
    Ok(if failed {
        Outcome::SomeFailed
    } else {
        Outcome::Success
    })
}

fn stats(index: &Path, json: bool) -> Result<Outcome> {
    let store = open(index)?;
    let s = store.stats()?;
    let m = store.manifest();
    let items = store.items()?;
    let hours: f64 = items
        .iter()
        .filter_map(|i| i.duration_s)
        .map(|d| d as f64)
        .sum::<f64>()
        / 3600.0;
    let model = load_model(&store).context("loading the model")?;
    let params = model.as_ref().map(|m| m.param_count());
    let calibration = Calibration::load(&store);
    if json {
        println!(
            "{}",
            json!({
                "index": store.path(), "kind": kind_name(m.kind), "items": s.items, "signatures": s.signatures,
                "tombstoned": s.tombstoned, "latent_dim": s.latent_dim, "model": m.model_hash,
                "parameters": params, "bytes": s.bytes_on_disk, "audio_hours": hours,
                "format_version": m.format_version, "calibration": calibration,
            })
        );
    } else {
        println!("index       {}", store.path().display());
        println!("kind        {}", kind_name(m.kind));
        match m.kind {
            ItemKind::Audio => println!("items       {} tracks, {hours:.2} h of audio", s.items),
            ItemKind::Image => println!("items       {} images", s.items),
        }
        println!("signatures  {} ({} tombstoned)", s.signatures, s.tombstoned);
        println!("latent size {}", s.latent_dim);
        match (&m.model_hash, params) {
            (Some(h), Some(p)) => println!("model       {} ({p} parameters)", short(h)),
            _ => println!("model       none yet"),
        }
        println!("on disk     {:.1} MB", s.bytes_on_disk as f64 / 1e6);
    }
    Ok(Outcome::Success)
}

fn similar(cmd: SimilarCmd) -> Result<Outcome> {
    let store = open(&cmd.common.index)?;
    let id = resolve(&store, &cmd.item)?;
    let matcher = Matcher::new(&store)?;
    let cfg = QueryConfig {
        top: cmd.top,
        ..QueryConfig::default()
    };
    let r = matcher.similar(id, &cfg)?;
    for c in &r.candidates {
        if cmd.common.json {
            println!("{}", serde_json::to_string(c)?);
        } else {
            println!("{:>5}  {}  [{}]", c.id, describe(c), c.path.display());
        }
    }
    Ok(Outcome::Success)
}

fn duplicates(cmd: DuplicatesCmd) -> Result<Outcome> {
    let store = open(&cmd.common.index)?;
    let matcher = Matcher::new(&store)?;
    let cfg = latentid_query::DuplicatesConfig {
        threshold: cmd.threshold,
        ..Default::default()
    };
    let found = latentid_query::duplicates(&matcher, &cfg)?;
    if cmd.common.json {
        for g in &found.groups {
            println!("{}", serde_json::to_string(g)?);
        }
    } else {
        for (i, g) in found.groups.iter().enumerate() {
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
    }
    let within = match matcher.kind() {
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

/// Sweep progress: ingest's bars while training and indexing, and one line per step and
/// per finished row on stderr (sweeps are long; the lines also serve logs). With --json
/// the rows go to stdout as they complete.
struct TuneBars {
    bars: Bars,
    json: bool,
}

impl latentid_ingest::Progress for TuneBars {
    fn event(&self, event: latentid_ingest::Event<'_>) {
        self.bars.event(event);
    }
}

impl latentid_tune::TuneProgress for TuneBars {
    fn step(&self, dim: usize, encoder: latentid_tune::Encoder, step: latentid_tune::Step) {
        use latentid_tune::Step;
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

    fn row(&self, r: &latentid_tune::Row) {
        if self.json {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
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

fn tune(cmd: TuneCmd) -> Result<Outcome> {
    use latentid_tune::{TuneConfig, TuneReport};
    let json = cmd.common.json;
    let mut cfg = TuneConfig {
        from: cmd.from,
        to: cmd.to,
        target: cmd.target,
        ..TuneConfig::default()
    };
    cfg.train.time_budget_s = Some(cmd.budget);
    cmd.training.apply(&mut cfg.train);
    if let Some(s) = cmd.training.seed {
        cfg.seed = s;
    }
    // No paths: the library is what the index holds.
    let paths: Vec<PathBuf> = if cmd.paths.is_empty() {
        if !SledStore::exists(&cmd.common.index) {
            bail!(
                "nothing to tune: give library files or folders, or an --index that holds items (there is no index at {})",
                cmd.common.index.display()
            );
        }
        let store = open(&cmd.common.index)?;
        cfg.kind = Some(store.manifest().kind);
        let items = store.items()?;
        items
            .into_iter()
            .map(|i| i.path)
            .filter(|p| p.exists())
            .collect()
    } else {
        cmd.paths.clone()
    };
    let progress = TuneBars {
        bars: Bars::new(json),
        json,
    };
    let report: TuneReport = latentid_tune::tune(&paths, &cfg, &progress)?;
    if let Some(plot) = &cmd.plot {
        latentid_tune::write_plot(&report, plot)?;
    }
    if !json {
        print_tune_table(&report);
    }
    let mut applied = None;
    if cmd.apply {
        let Some(dim) = report.chosen else {
            if json {
                print_tune_summary(&report, cmd.plot.as_deref(), None);
            }
            bail!(
                "--apply: no latent size from {} to {} met the target; the index at {} was left as it was",
                cmd.from,
                cmd.to,
                cmd.common.index.display()
            );
        };
        let (r, c) =
            latentid_tune::apply(&cmd.paths, &cmd.common.index, dim, &cfg, &Bars::new(json))?;
        if !json {
            println!(
                "applied: {} re-indexed at latent size {dim} ({} items re-encoded, {} added; calibration: a match needs evidence {})",
                r.index.display(),
                r.reencoded,
                r.added.len(),
                c.evidence_summary()
            );
        }
        applied = Some(json!({
            "index": r.index, "latent_dim": dim, "reencoded": r.reencoded, "added": r.added.len(),
            "failed": r.failed.len(), "calibration": c,
        }));
    }
    if json {
        print_tune_summary(&report, cmd.plot.as_deref(), applied);
    }
    Ok(if report.failed.is_empty() {
        Outcome::Success
    } else {
        Outcome::SomeFailed
    })
}

fn print_tune_table(r: &latentid_tune::TuneReport) {
    println!(
        "  latent enc   top-1  best-cand  wrong  false  nn-own  nn-item  ratio  train s  epochs  index MB  sig KB"
    );
    for row in &r.rows {
        let mark = if Some(row.latent_dim) == r.chosen && row.encoder == latentid_tune::Encoder::Ae
        {
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
        println!("  failed: {}", f.reason);
    }
}

fn print_tune_summary(
    r: &latentid_tune::TuneReport,
    plot: Option<&Path>,
    applied: Option<serde_json::Value>,
) {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("rows");
        o.insert("library".into(), json!(r.library.len()));
        o.insert(
            "failed".into(),
            json!(r
                .failed
                .iter()
                .map(|f| json!({"path": f.path, "reason": f.reason}))
                .collect::<Vec<_>>()),
        );
        o.insert("plot".into(), json!(plot));
        o.insert("applied".into(), applied.unwrap_or(serde_json::Value::Null));
    }
    println!("{}", json!({ "summary": v }));
}
