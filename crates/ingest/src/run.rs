//! The ingest flow: walk, open or create the index, hash, train when needed, encode, store.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use latentid_index::{EncodedFile, Failure, FileError, Index, NewIndex};
use latentid_store::{AddOutcome, ItemId, ItemKind, SearchParams};
use rayon::prelude::*;

use crate::train::train_model;
use crate::{
    walk, Classified, Duplicate, Event, IngestConfig, IngestError, IngestReport, Progress, Result,
    Stage, DEFAULT_LATENT_DIM,
};

/// Indexes the media under `paths` into the index at `dir`, creating it (and training its
/// encoder) on first use. Returns the opened index, so the caller can calibrate and query it
/// without opening it again.
pub fn ingest(
    dir: &Path,
    paths: &[PathBuf],
    cfg: &IngestConfig,
    progress: &dyn Progress,
) -> Result<(Index, IngestReport)> {
    let started = Instant::now();
    let files = walk(paths)?;
    let existing = if Index::exists(dir) {
        Some(Index::open(dir, SearchParams::default())?)
    } else {
        None
    };
    let kind = match (cfg.kind, &existing) {
        (Some(k), _) => k,
        (None, Some(index)) => index.kind(),
        (None, None) if files.images.len() > files.audio.len() => ItemKind::Image,
        (None, None) => ItemKind::Audio,
    };
    let mut index = match existing {
        Some(index) if index.kind() != kind => {
            return Err(IngestError::KindMismatch {
                index: dir.to_path_buf(),
                index_kind: index.kind().name(),
                asked: kind.name(),
            })
        }
        Some(index) => index,
        None => {
            if files.of_kind(kind).is_empty() {
                // Creating an empty index with no model would only defer the disappointment.
                return Err(IngestError::NoMedia {
                    kind: kind.name(),
                    paths: paths.to_vec(),
                    skipped: files.len(),
                });
            }
            let new = NewIndex {
                kind,
                latent_dim: cfg.latent_dim.unwrap_or(DEFAULT_LATENT_DIM),
                features: cfg.features.clone(),
            };
            Index::create(dir, &new)?
        }
    };
    let report = add_files(&mut index, files, cfg, progress, started)?;
    Ok((index, report))
}

/// [`ingest`] into an index that is already open (a server adding uploaded files).
pub fn ingest_into(
    index: &mut Index,
    paths: &[PathBuf],
    cfg: &IngestConfig,
    progress: &dyn Progress,
) -> Result<IngestReport> {
    let started = Instant::now();
    let files = walk(paths)?;
    add_files(index, files, cfg, progress, started)
}

/// What the encoding pass does with one file.
enum Job {
    New { path: PathBuf, hash: String },
    Again { id: ItemId, path: PathBuf },
}

impl Job {
    fn path(&self) -> &PathBuf {
        match self {
            Job::New { path, .. } | Job::Again { path, .. } => path,
        }
    }
}

enum JobOutcome {
    Failed(Failure),
    Added {
        id: ItemId,
        path: PathBuf,
        seconds: Option<f32>,
    },
    Duplicate {
        path: PathBuf,
        existing: ItemId,
    },
    Reencoded,
}

fn add_files(
    index: &mut Index,
    files: Classified,
    cfg: &IngestConfig,
    progress: &dyn Progress,
    started: Instant,
) -> Result<IngestReport> {
    let kind = index.kind();
    let (candidates, mut skipped) = files.split(kind);
    skipped.sort();
    let mut failed = Vec::new();
    let Hashed {
        new_files,
        mut duplicates,
    } = hash_new_files(index, candidates, &mut failed, progress)?;

    // The model: reuse the index's, or train one (first ingest, or --retrain).
    let mut trained = None;
    let reencode: Vec<(ItemId, PathBuf)>;
    if index.has_model() && !cfg.retrain {
        if let Some(dim) = cfg.latent_dim {
            if dim != index.latent_dim() {
                return Err(IngestError::LatentDimChange {
                    index: index.location().to_path_buf(),
                    stored: index.latent_dim(),
                    asked: dim,
                });
            }
        }
        // Items without signatures were left by a retrain that was interrupted (killed,
        // or the disk filled) before it encoded them again: this run finishes the job.
        reencode = unencoded(index)?;
    } else {
        let stored: Vec<(ItemId, PathBuf)> = index
            .store()
            .items()?
            .into_iter()
            .map(|i| (i.id, i.path))
            .collect();
        if !stored.is_empty() && !cfg.retrain {
            return Err(IngestError::NoModel {
                index: index.location().to_path_buf(),
            });
        }
        let mut pool: Vec<PathBuf> = stored.iter().map(|(_, p)| p.clone()).collect();
        pool.extend(new_files.iter().map(|(p, _)| p.clone()));
        if pool.is_empty() {
            // Nothing to learn from and nothing stored: an empty run.
            index.flush()?;
            return Ok(report(
                index,
                Vec::new(),
                duplicates,
                failed,
                skipped,
                0,
                None,
                started,
                0.0,
            ));
        }
        let dim = cfg.latent_dim.unwrap_or(index.latent_dim());
        let (model, summary) = train_model(
            index,
            index.features(),
            &pool,
            dim,
            cfg,
            progress,
            failed.len(),
        )?;
        index.install_model(model)?;
        trained = Some(summary);
        reencode = stored;
    }

    // Decode + encode + store, file by file in parallel; a bad file is a Failure, never an abort.
    let encode_started = Instant::now();
    progress.event(Event::Start {
        stage: Stage::Encode,
        total: (new_files.len() + reencode.len()) as u64,
    });
    let jobs: Vec<Job> = reencode
        .into_iter()
        .map(|(id, path)| Job::Again { id, path })
        .chain(
            new_files
                .into_iter()
                .map(|(path, hash)| Job::New { path, hash }),
        )
        .collect();
    // Files are decoded and encoded in parallel, a chunk at a time, and stored in path
    // order: item and signature ids do not depend on which thread finished first (a rerun
    // builds the same index), and at most a chunk's signatures wait in memory.
    let chunk = 4 * rayon::current_num_threads().max(1);
    let mut outcomes: Vec<JobOutcome> = Vec::with_capacity(jobs.len());
    for batch in jobs.chunks(chunk) {
        let encoded: Vec<std::result::Result<EncodedFile, FileError>> = batch
            .par_iter()
            .map(|job| index.encode_file(job.path()))
            .collect();
        for (job, enc) in batch.iter().zip(encoded) {
            let out = enc
                .and_then(|enc| store_job(index, job, &enc))
                .unwrap_or_else(|e| JobOutcome::Failed(Failure::new(job.path().clone(), e)));
            progress.event(Event::Advance {
                stage: Stage::Encode,
                path: Some(job.path()),
            });
            outcomes.push(out);
        }
    }
    progress.event(Event::Finish {
        stage: Stage::Encode,
    });
    index.flush()?;
    let encode_seconds = encode_started.elapsed().as_secs_f64();

    let mut added = Vec::new();
    let mut reencoded = 0;
    for o in outcomes {
        match o {
            JobOutcome::Added { id, path, seconds } => added.push((id, path, seconds)),
            JobOutcome::Reencoded => reencoded += 1,
            JobOutcome::Duplicate { path, existing } => duplicates.push(Duplicate {
                path,
                existing: Some(existing),
                same_as: None,
            }),
            JobOutcome::Failed(f) => failed.push(f),
        }
    }
    Ok(report(
        index,
        added,
        duplicates,
        failed,
        skipped,
        reencoded,
        trained,
        started,
        encode_seconds,
    ))
}

/// Stored items that have no signatures: what an interrupted retrain left to encode.
pub fn unencoded(index: &Index) -> Result<Vec<(ItemId, PathBuf)>> {
    Ok(index
        .store()
        .items()?
        .into_iter()
        .filter(|i| i.signatures == 0)
        .map(|i| (i.id, i.path))
        .collect())
}

/// Candidates split by their content hash.
struct Hashed {
    /// Files whose bytes are not stored yet, with their hashes.
    new_files: Vec<(PathBuf, String)>,
    duplicates: Vec<Duplicate>,
}

/// Hashes the candidates (in parallel): files already stored, or seen earlier in this run,
/// are duplicates and are not decoded.
fn hash_new_files(
    index: &Index,
    candidates: Vec<PathBuf>,
    failed: &mut Vec<Failure>,
    progress: &dyn Progress,
) -> Result<Hashed> {
    progress.event(Event::Start {
        stage: Stage::Hash,
        total: candidates.len() as u64,
    });
    let hashed: Vec<(PathBuf, std::io::Result<String>)> = candidates
        .into_par_iter()
        .map(|p| {
            let h = crate::content_hash(&p);
            progress.event(Event::Advance {
                stage: Stage::Hash,
                path: Some(&p),
            });
            (p, h)
        })
        .collect();
    progress.event(Event::Finish { stage: Stage::Hash });
    let mut duplicates = Vec::new();
    let mut new_files = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for (path, hash) in hashed {
        let hash = match hash {
            Ok(h) => h,
            Err(source) => {
                let error = latentid_media::MediaError::Io {
                    path: path.clone(),
                    source,
                };
                failed.push(Failure::new(path, error));
                continue;
            }
        };
        if let Some(id) = index.store().find_hash(&hash)? {
            duplicates.push(Duplicate {
                path,
                existing: Some(id),
                same_as: None,
            });
        } else if let Some(first) = seen.get(&hash) {
            duplicates.push(Duplicate {
                path,
                existing: None,
                same_as: Some(first.clone()),
            });
        } else {
            seen.insert(hash.clone(), path.clone());
            new_files.push((path, hash));
        }
    }
    Ok(Hashed {
        new_files,
        duplicates,
    })
}

fn store_job(
    index: &Index,
    job: &Job,
    enc: &EncodedFile,
) -> std::result::Result<JobOutcome, FileError> {
    match job {
        Job::Again { id, path } => {
            index.replace_file(*id, path, enc)?;
            Ok(JobOutcome::Reencoded)
        }
        Job::New { path, hash } => match index.add_file(path, hash, enc)? {
            AddOutcome::Added(id) => Ok(JobOutcome::Added {
                id,
                path: path.clone(),
                seconds: enc.duration_s,
            }),
            AddOutcome::Duplicate(existing) => Ok(JobOutcome::Duplicate {
                path: path.clone(),
                existing,
            }),
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    index: &Index,
    mut added: Vec<(ItemId, PathBuf, Option<f32>)>,
    mut duplicates: Vec<Duplicate>,
    mut failed: Vec<Failure>,
    skipped: Vec<PathBuf>,
    reencoded: usize,
    trained: Option<crate::TrainSummary>,
    started: Instant,
    encode_seconds: f64,
) -> IngestReport {
    let audio_seconds = added
        .iter()
        .filter_map(|a| a.2)
        .map(|s| s as f64)
        .sum::<f64>();
    let images = added.iter().filter(|a| a.2.is_none()).count();
    added.sort_by(|a, b| a.1.cmp(&b.1));
    failed.sort_by(|a, b| a.path.cmp(&b.path));
    duplicates.sort_by(|a, b| a.path.cmp(&b.path));
    IngestReport {
        index: index.location().to_path_buf(),
        kind: index.kind(),
        added: added
            .into_iter()
            .map(|(id, path, _)| crate::Added { id, path })
            .collect(),
        duplicates,
        failed,
        skipped,
        reencoded,
        audio_seconds,
        images,
        trained,
        seconds: started.elapsed().as_secs_f64(),
        encode_seconds,
    }
}
