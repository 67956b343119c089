use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use latentid_index::{Calibration, Failure, Index};
use latentid_ingest::{
    ingest, ingest_into, walk, IngestConfig, IngestReport, NoProgress, Progress,
};
use latentid_query::{calibrate, calibrate_if_needed, Matcher};
use latentid_store::{ItemId, ItemKind};
use rayon::prelude::*;
use serde::Serialize;

use crate::probes::{make_probes, split, spread, Input, Probe};
use crate::separation::{signature_codes, SignatureTable};
use crate::{sizes, Encoder, Result, TuneConfig, TuneError};

/// What one (latent size, encoder) pair achieved. Shares are 0..1.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub latent_dim: usize,
    pub encoder: Encoder,
    /// Distorted clips of indexed items that were named as their own item.
    pub top1: f32,
    /// ... whose best candidate was their own item, whether or not it cleared the
    /// calibrated "no match" threshold.
    pub top1_candidate: f32,
    /// ... that were named as another item.
    pub wrong_item: f32,
    /// Clips of held-out items (not in the index) that were named at all; `None` when
    /// nothing was held out.
    pub false_match: Option<f32>,
    /// Distorted queries of indexed items, and of held-out items.
    pub queries: usize,
    pub non_match_queries: usize,
    /// Distorted signatures whose nearest stored signature is their own clean one (same
    /// item, same offset).
    pub sig_nn_own: Option<f32>,
    /// ... whose nearest stored signature is of their own item, at any offset (stored
    /// signatures overlap: a neighbour 0.26 s away shares most of the patch).
    pub sig_nn_item: Option<f32>,
    /// Median over distorted signatures of (nearest other item's signature distance) /
    /// (distance to their own clean signature): above 1, the items separate.
    pub sig_ratio_median: Option<f32>,
    /// Distorted signatures measured.
    pub sig_count: usize,
    pub train_seconds: f32,
    pub epochs: usize,
    pub train_examples: usize,
    pub signatures: usize,
    /// Raw signature vectors: signatures x latent_dim x 4 bytes.
    pub signature_bytes: u64,
    /// The whole index directory (catalog, graph, model).
    pub index_bytes: u64,
    /// Indexing, calibrating and querying this row, seconds.
    pub seconds: f64,
    /// top1 >= target and false_match <= max_false_match.
    pub meets_target: bool,
}

/// The library's signatures at latent size 2, for drawing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scatter {
    pub encoder: Encoder,
    /// Item names; `item` below indexes this.
    pub items: Vec<String>,
    /// A spread subsample of the library's signatures (every one when few).
    pub points: Vec<[f32; 2]>,
    pub item: Vec<usize>,
    /// Each item's mean signature, over all its signatures.
    pub centroids: Vec<[f32; 2]>,
}

#[derive(Debug, Serialize)]
pub struct TuneReport {
    pub kind: ItemKind,
    /// Indexed at every size.
    pub library: Vec<PathBuf>,
    /// Never indexed: the songs (or pictures) that are not in the library.
    pub heldout: Vec<PathBuf>,
    pub rows: Vec<Row>,
    /// The first size at which the autoencoder met the target.
    pub chosen: Option<usize>,
    /// The first size at which PCA met it (among those tried).
    pub pca_first: Option<usize>,
    pub target: f32,
    pub max_false_match: f32,
    pub seconds: f64,
    #[serde(skip)]
    pub scatter: Vec<Scatter>,
    /// Files that could not be decoded (left out of the sweep).
    #[serde(skip)]
    pub failed: Vec<Failure>,
}

/// What a sweep is doing, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// Decoding the query clips (once per sweep).
    Probes {
        items: usize,
    },
    /// Training and indexing at this size.
    Index,
    Calibrate,
    Query {
        probes: usize,
    },
}

/// Receives the sweep's progress: ingest events (training, encoding) and its own.
pub trait TuneProgress: Progress {
    fn step(&self, _latent_dim: usize, _encoder: Encoder, _step: Step) {}
    /// A row is complete (rows arrive in order).
    fn row(&self, _row: &Row) {}
}

impl TuneProgress for NoProgress {}

/// Sweeps the latent size over the media under `paths`: see the crate docs.
pub fn tune<P: TuneProgress>(
    paths: &[PathBuf],
    cfg: &TuneConfig,
    progress: &P,
) -> Result<TuneReport> {
    let started = Instant::now();
    let ladder = sizes(cfg.from, cfg.to);
    if ladder.is_empty() {
        return Err(TuneError::BadRange {
            from: cfg.from,
            to: cfg.to,
        });
    }
    let files = walk(paths)?;
    let kind = match cfg.kind {
        Some(k) => k,
        None if files.images.len() > files.audio.len() => ItemKind::Image,
        None => ItemKind::Audio,
    };
    let items = match kind {
        ItemKind::Audio => files.audio,
        ItemKind::Image => files.images,
    };
    let (library, heldout) = split(items, cfg.heldout_share, cfg.seed, kind)?;

    let queried = spread(&library, cfg.max_query_items);
    progress.step(
        0,
        Encoder::Ae,
        Step::Probes {
            items: queried.len() + heldout.len(),
        },
    );
    let (probes, mut failed) = make_probes(&queried, &heldout, kind, cfg);

    let mut rows = Vec::new();
    let mut scatter = Vec::new();
    let mut chosen = None;
    let mut pca_first = None;
    let work = match &cfg.work_dir {
        Some(d) => tempfile::Builder::new()
            .prefix("latentid-tune-")
            .tempdir_in(d),
        None => tempfile::Builder::new().prefix("latentid-tune-").tempdir(),
    }
    .map_err(|source| TuneError::Io {
        path: cfg.work_dir.clone().unwrap_or_else(std::env::temp_dir),
        source,
    })?;
    for &dim in &ladder {
        for encoder in [Encoder::Ae, Encoder::Pca] {
            let dir = work.path().join(format!("{}-{dim}", encoder.name()));
            let (row, sc, report) =
                measure(&library, &probes, &dir, dim, encoder, kind, cfg, progress)?;
            for f in report.failed {
                if !failed.iter().any(|g: &Failure| g.path == f.path) {
                    failed.push(f);
                }
            }
            if let Some(sc) = sc {
                scatter.push(sc);
            }
            if row.meets_target && encoder == Encoder::Pca && pca_first.is_none() {
                pca_first = Some(dim);
            }
            if row.meets_target && encoder == Encoder::Ae {
                chosen = Some(dim);
            }
            progress.row(&row);
            rows.push(row);
            // Indexes of finished sizes are not needed again: free the disk (and, with the
            // Milvus backend, the server's collection) as we go.
            if let Err(e) = latentid_store::drop_milvus_collection(&dir) {
                tracing::warn!("tune: {e}");
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
        if chosen.is_some() {
            break;
        }
    }
    failed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(TuneReport {
        kind,
        library,
        heldout,
        rows,
        chosen,
        pca_first,
        target: cfg.target,
        max_false_match: cfg.max_false_match,
        seconds: started.elapsed().as_secs_f64(),
        scatter,
        failed,
    })
}

/// Re-indexes `index` with the autoencoder at `latent_dim` (training again and re-encoding
/// every stored item; new files under `paths` are added), then calibrates it.
pub fn apply(
    paths: &[PathBuf],
    index: &mut Index,
    latent_dim: usize,
    cfg: &TuneConfig,
    progress: &dyn Progress,
) -> Result<(IngestReport, Calibration)> {
    let mut icfg = ingest_config(latent_dim, Encoder::Ae, cfg);
    icfg.retrain = true;
    let report = ingest_into(index, paths, &icfg, progress)?;
    let calibration = calibrate(index, &cfg.calibration)?;
    Ok((report, calibration))
}

/// [`apply`] where there is no index yet: creates it at `index_dir` from `paths` with the
/// autoencoder at `latent_dim`, and calibrates it.
pub fn apply_new(
    paths: &[PathBuf],
    index_dir: &Path,
    latent_dim: usize,
    cfg: &TuneConfig,
    progress: &dyn Progress,
) -> Result<(IngestReport, Calibration)> {
    let icfg = ingest_config(latent_dim, Encoder::Ae, cfg);
    let (mut index, report) = ingest(index_dir, paths, &icfg, progress)?;
    let calibration = calibrate(&mut index, &cfg.calibration)?;
    Ok((report, calibration))
}

fn ingest_config(dim: usize, encoder: Encoder, cfg: &TuneConfig) -> IngestConfig {
    IngestConfig {
        kind: cfg.kind,
        latent_dim: Some(dim),
        encoder: encoder.kind(),
        retrain: false,
        train: cfg.train.clone(),
        features: cfg.features.clone(),
        max_training_files: cfg.max_training_files,
    }
}

/// Indexes the library at one size with one encoder, calibrates, and asks every probe.
#[allow(clippy::too_many_arguments)]
fn measure<P: TuneProgress>(
    library: &[PathBuf],
    probes: &[Probe],
    dir: &Path,
    dim: usize,
    encoder: Encoder,
    kind: ItemKind,
    cfg: &TuneConfig,
    progress: &P,
) -> Result<(Row, Option<Scatter>, IngestReport)> {
    let started = Instant::now();
    progress.step(dim, encoder, Step::Index);
    let mut icfg = ingest_config(dim, encoder, cfg);
    icfg.kind = Some(kind);
    let (mut index, report) = ingest(dir, library, &icfg, progress)?;
    progress.step(dim, encoder, Step::Calibrate);
    calibrate_if_needed(&mut index, &cfg.calibration)?;
    let matcher = Matcher::new(&index)?;
    let store = index.store();

    let mut ids: HashMap<PathBuf, ItemId> = HashMap::new();
    for item in store.items()? {
        ids.insert(item.path.clone(), item.id);
    }
    let table = SignatureTable::load(store)?;
    progress.step(
        dim,
        encoder,
        Step::Query {
            probes: probes.len(),
        },
    );
    let outcomes: Vec<Option<Outcome>> = probes
        .par_iter()
        .map(|probe| ask(&matcher, &table, &ids, probe, cfg))
        .collect::<Result<_>>()?;

    let (mut lib, mut named_own, mut best_own, mut named_other) = (0usize, 0, 0, 0);
    let (mut held, mut held_named) = (0usize, 0);
    let mut nn_own = Vec::new();
    let mut nn_item = Vec::new();
    let mut ratios = Vec::new();
    for o in outcomes.iter().flatten() {
        match o.own {
            Some(own) => {
                lib += 1;
                named_own += (o.named == Some(own)) as usize;
                best_own += (o.best == Some(own)) as usize;
                named_other += o.named.is_some_and(|n| n != own) as usize;
            }
            None => {
                held += 1;
                held_named += o.named.is_some() as usize;
            }
        }
        for s in &o.separation {
            nn_own.push(s.nearest_is_own);
            nn_item.push(s.nearest_is_item);
            ratios.push(s.ratio);
        }
    }
    let share = |k: usize, n: usize| if n == 0 { 0.0 } else { k as f32 / n as f32 };
    let top1 = share(named_own, lib);
    let false_match = (held > 0).then(|| share(held_named, held));
    let stats = store.stats()?;
    let trained = report.trained.clone();
    let scatter = if dim == 2 {
        Some(table.scatter(store, encoder, cfg.max_scatter_points)?)
    } else {
        None
    };
    let row = Row {
        latent_dim: dim,
        encoder,
        top1,
        top1_candidate: share(best_own, lib),
        wrong_item: share(named_other, lib),
        false_match,
        queries: lib,
        non_match_queries: held,
        sig_nn_own: (!nn_own.is_empty())
            .then(|| share(nn_own.iter().filter(|&&b| b).count(), nn_own.len())),
        sig_nn_item: (!nn_item.is_empty())
            .then(|| share(nn_item.iter().filter(|&&b| b).count(), nn_item.len())),
        sig_ratio_median: median(&mut ratios),
        sig_count: ratios.len(),
        train_seconds: trained.as_ref().map_or(0.0, |t| t.seconds),
        epochs: trained.as_ref().map_or(0, |t| t.epochs),
        train_examples: trained.as_ref().map_or(0, |t| t.examples),
        signatures: stats.signatures,
        signature_bytes: (stats.signatures * dim * 4) as u64,
        index_bytes: stats.bytes_on_disk,
        seconds: started.elapsed().as_secs_f64(),
        meets_target: lib > 0
            && top1 >= cfg.target
            && false_match.is_none_or(|f| f <= cfg.max_false_match),
    };
    Ok((row, scatter, report))
}

struct Outcome {
    /// The probe's own item, `None` for a held-out one.
    own: Option<ItemId>,
    /// The item named (cleared the threshold), and the best candidate.
    named: Option<ItemId>,
    best: Option<ItemId>,
    separation: Vec<crate::separation::Separation>,
}

fn ask(
    matcher: &Matcher<'_>,
    table: &SignatureTable,
    ids: &HashMap<PathBuf, ItemId>,
    probe: &Probe,
    cfg: &TuneConfig,
) -> Result<Option<Outcome>> {
    // An indexed file that ingest could not store has no item: nothing to measure.
    let own = match (probe.indexed, ids.get(&probe.path)) {
        (true, Some(&id)) => Some(id),
        (true, None) => return Ok(None),
        (false, _) => None,
    };
    let result = match &probe.input {
        Input::Audio(samples) => matcher.query_samples(samples, &cfg.query)?,
        Input::Image(img) => Some(matcher.query_image(img, &cfg.query)?),
    };
    let named = result
        .as_ref()
        .and_then(|r| r.matched.as_ref())
        .map(|m| m.id);
    let best = result
        .as_ref()
        .and_then(|r| r.candidates.first())
        .map(|c| c.id);
    let separation = match own {
        Some(id) => {
            let index = matcher.index();
            let (offsets, codes) = match &probe.input {
                Input::Audio(samples) => signature_codes(index, samples, probe.start_frame)?,
                Input::Image(img) => (vec![0], index.encode_image(img)?.0),
            };
            table.separation(id, &offsets, &codes)
        }
        None => Vec::new(),
    };
    Ok(Some(Outcome {
        own,
        named,
        best,
        separation,
    }))
}

fn median(v: &mut [f32]) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}
