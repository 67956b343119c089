use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use latentid_media::augment::{AudioAugment, ImageAugment};
use latentid_media::{
    audio_patches, decode_audio, image_tensor, load_image, FeatureParams, MediaError,
};
use latentid_model::{train, AeConfig, EncoderKind, Model, TrainConfig, TrainingData};
use latentid_store::{AddOutcome, ItemId, ItemKind, Manifest, NewItem, SledStore};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;

use crate::training::{segment_starts, AudioTrainingSet, ImageTrainingSet};
use crate::{walk, Event, IngestError, Progress, Result, Stage};

/// Everything an ingest needs to know; the binary builds it from its flags.
#[derive(Clone, Debug)]
pub struct IngestConfig {
    pub index_dir: PathBuf,
    /// Audio or images; chosen from the files (or the existing index) when `None`.
    pub kind: Option<ItemKind>,
    /// Latent size for a new model; `None` keeps the index's (or the default for a new one).
    pub latent_dim: Option<usize>,
    pub encoder: EncoderKind,
    /// Train a new model and re-encode every stored item with it.
    pub retrain: bool,
    pub train: TrainConfig,
    pub features: FeatureParams,
    /// At most this many files are decoded for the training sample (training cost is bounded).
    pub max_training_files: usize,
}

/// Default latent size of a new index; `latentid tune` finds the smallest that works.
pub const DEFAULT_LATENT_DIM: usize = 32;

impl IngestConfig {
    pub fn new(index_dir: PathBuf) -> Self {
        Self {
            index_dir,
            kind: None,
            latent_dim: None,
            encoder: EncoderKind::Autoencoder,
            retrain: false,
            train: TrainConfig::default(),
            features: FeatureParams::default(),
            max_training_files: 64,
        }
    }
}

/// A file that could not be added, and why (the reason names the problem, the path the file).
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub path: PathBuf,
    pub reason: String,
}

/// A file whose bytes are already stored (or appear twice in this run).
#[derive(Clone, Debug, PartialEq)]
pub struct Duplicate {
    pub path: PathBuf,
    /// The stored item with the same content, when it was stored before this run.
    pub existing: Option<ItemId>,
    /// The file seen first in this run with the same content, otherwise.
    pub same_as: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct TrainSummary {
    pub examples: usize,
    pub epochs: usize,
    pub val_loss: f32,
    pub seconds: f32,
    pub model_hash: String,
    pub param_count: usize,
}

#[derive(Clone, Debug)]
pub struct IngestReport {
    pub index: PathBuf,
    pub kind: ItemKind,
    pub added: Vec<(ItemId, PathBuf)>,
    pub duplicates: Vec<Duplicate>,
    pub failed: Vec<Failure>,
    /// Media of the other kind, or not media at all: skipped, not failures.
    pub skipped: Vec<PathBuf>,
    /// Stored items re-encoded by `--retrain`.
    pub reencoded: usize,
    pub audio_seconds: f64,
    pub images: usize,
    pub trained: Option<TrainSummary>,
    pub seconds: f64,
    /// Seconds spent decoding, encoding and storing (excludes training).
    pub encode_seconds: f64,
}

/// Opens the index at `cfg.index_dir`, or creates it for `kind` when there is none.
pub fn open_or_create(cfg: &IngestConfig, kind: ItemKind) -> Result<SledStore> {
    if SledStore::exists(&cfg.index_dir) {
        let store = SledStore::open(&cfg.index_dir)?;
        let m = store.manifest();
        if m.kind != kind {
            return Err(IngestError::KindMismatch {
                index: cfg.index_dir.clone(),
                index_kind: kind_name(m.kind).into(),
                what: kind_name(kind).into(),
            });
        }
        return Ok(store);
    }
    let features =
        serde_json::to_string(&cfg.features).map_err(|e| IngestError::FeatureParams {
            index: cfg.index_dir.clone(),
            reason: e.to_string(),
        })?;
    let dim = cfg.latent_dim.unwrap_or(DEFAULT_LATENT_DIM);
    Ok(SledStore::create(
        &cfg.index_dir,
        Manifest::new(kind, dim, features),
    )?)
}

/// The feature parameters an index was built with (they must be reused for every query).
pub fn feature_params(store: &SledStore) -> Result<FeatureParams> {
    serde_json::from_str(&store.manifest().feature_params).map_err(|e| IngestError::FeatureParams {
        index: store.path().to_path_buf(),
        reason: e.to_string(),
    })
}

/// Loads the index's encoder, checking its config against its weights.
pub fn load_model(store: &SledStore) -> Result<Option<Model>> {
    let Some((config_json, weights)) = store.model()? else {
        return Ok(None);
    };
    let cfg: AeConfig =
        serde_json::from_str(&config_json).map_err(|e| IngestError::FeatureParams {
            index: store.path().to_path_buf(),
            reason: format!("model config: {e}"),
        })?;
    Ok(Some(Model::from_bytes(&cfg, &weights)?))
}

pub(crate) fn kind_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Audio => "audio",
        ItemKind::Image => "image",
    }
}

/// Indexes the media under `paths`: see the crate docs.
pub fn ingest(
    paths: &[PathBuf],
    cfg: &IngestConfig,
    progress: &dyn Progress,
) -> Result<IngestReport> {
    let started = Instant::now();
    let files = walk(paths)?;
    let kind = match cfg.kind {
        Some(k) => k,
        None if SledStore::exists(&cfg.index_dir) => {
            SledStore::open(&cfg.index_dir)?.manifest().kind
        }
        None if files.images.len() > files.audio.len() => ItemKind::Image,
        None => ItemKind::Audio,
    };
    let (candidates, mut skipped) = match kind {
        ItemKind::Audio => (files.audio, [files.images, files.other].concat()),
        ItemKind::Image => (files.images, [files.audio, files.other].concat()),
    };
    skipped.sort();
    if candidates.is_empty() && !SledStore::exists(&cfg.index_dir) {
        // Creating an empty index with no model would only defer the disappointment.
        return Err(IngestError::NoMedia {
            kind: kind_name(kind).into(),
            paths: paths.to_vec(),
            skipped: skipped.len(),
        });
    }
    let store = open_or_create(cfg, kind)?;
    let features = feature_params(&store)?;

    // Hash first: files already stored are skipped without decoding.
    progress.event(Event::Start {
        stage: Stage::Hash,
        total: candidates.len() as u64,
    });
    let hashed: Vec<(PathBuf, Result<String>)> = candidates
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

    let mut failed = Vec::new();
    let mut duplicates = Vec::new();
    let mut new_files: Vec<(PathBuf, String)> = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for (path, hash) in hashed {
        match hash {
            Err(e) => failed.push(Failure {
                path,
                reason: e.to_string(),
            }),
            Ok(hash) => {
                if let Some(id) = store.find_hash(&hash)? {
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
        }
    }

    // The model: reuse the index's, or train one (first ingest, or --retrain).
    let existing_model = if cfg.retrain {
        None
    } else {
        load_model(&store)?
    };
    let mut trained = None;
    let mut reencode: Vec<(ItemId, PathBuf)> = Vec::new();
    let model = match existing_model {
        Some(m) => {
            if let Some(dim) = cfg.latent_dim {
                if dim != store.manifest().latent_dim {
                    return Err(IngestError::LatentDimChange {
                        index: cfg.index_dir.clone(),
                        stored: store.manifest().latent_dim,
                        asked: dim,
                    });
                }
            }
            m
        }
        None => {
            let stored: Vec<(ItemId, PathBuf)> =
                store.items()?.into_iter().map(|i| (i.id, i.path)).collect();
            if !stored.is_empty() && !cfg.retrain {
                return Err(IngestError::NoModel {
                    index: cfg.index_dir.clone(),
                });
            }
            let mut pool: Vec<PathBuf> = stored.iter().map(|(_, p)| p.clone()).collect();
            pool.extend(new_files.iter().map(|(p, _)| p.clone()));
            if pool.is_empty() {
                // Nothing to learn from and nothing stored: an empty run.
                store.flush()?;
                return Ok(IngestReport {
                    index: cfg.index_dir.clone(),
                    kind,
                    added: Vec::new(),
                    duplicates,
                    failed,
                    skipped,
                    reencoded: 0,
                    audio_seconds: 0.0,
                    images: 0,
                    trained: None,
                    seconds: started.elapsed().as_secs_f64(),
                    encode_seconds: 0.0,
                });
            }
            let dim = cfg.latent_dim.unwrap_or(store.manifest().latent_dim);
            let (model, summary) =
                train_model(kind, &pool, &features, dim, cfg, progress, failed.len())?;
            store.reset_signatures(dim)?;
            store.set_model(
                &serde_json::to_string(model.config()).map_err(|e| IngestError::FeatureParams {
                    index: cfg.index_dir.clone(),
                    reason: e.to_string(),
                })?,
                &model.to_bytes()?,
            )?;
            let mut m = store.manifest();
            m.latent_dim = dim;
            m.model_hash = Some(summary.model_hash.clone());
            store.set_manifest(&m)?;
            trained = Some(summary);
            reencode = stored;
            model
        }
    };

    // Decode + encode + store, file by file in parallel; a bad file is a Failure, never an abort.
    let encode_started = Instant::now();
    progress.event(Event::Start {
        stage: Stage::Encode,
        total: (new_files.len() + reencode.len()) as u64,
    });
    enum Job {
        New(PathBuf, String),
        Again(ItemId, PathBuf),
    }
    let jobs: Vec<Job> = reencode
        .into_iter()
        .map(|(id, p)| Job::Again(id, p))
        .chain(new_files.into_iter().map(|(p, h)| Job::New(p, h)))
        .collect();
    let outcomes: Vec<std::result::Result<JobOutcome, Failure>> = jobs
        .into_par_iter()
        .map(|job| {
            let (path, hash, again) = match &job {
                Job::New(p, h) => (p.clone(), Some(h.clone()), None),
                Job::Again(id, p) => (p.clone(), None, Some(*id)),
            };
            let out = encode_file(kind, &path, &features, &model)
                .and_then(|enc| store_file(&store, &path, hash, again, kind, enc));
            progress.event(Event::Advance {
                stage: Stage::Encode,
                path: Some(&path),
            });
            out.map_err(|reason| Failure { path, reason })
        })
        .collect();
    progress.event(Event::Finish {
        stage: Stage::Encode,
    });
    store.flush()?;

    let mut added = Vec::new();
    let mut reencoded = 0;
    let mut audio_seconds = 0.0;
    let mut images = 0;
    for o in outcomes {
        match o {
            Ok(JobOutcome::Added { id, path, seconds }) => {
                added.push((id, path));
                match seconds {
                    Some(s) => audio_seconds += s as f64,
                    None => images += 1,
                }
            }
            Ok(JobOutcome::Reencoded) => reencoded += 1,
            Ok(JobOutcome::Duplicate { path, existing }) => duplicates.push(Duplicate {
                path,
                existing: Some(existing),
                same_as: None,
            }),
            Err(f) => failed.push(f),
        }
    }
    added.sort_by(|a, b| a.1.cmp(&b.1));
    failed.sort_by(|a, b| a.path.cmp(&b.path));
    duplicates.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(IngestReport {
        index: cfg.index_dir.clone(),
        kind,
        added,
        duplicates,
        failed,
        skipped,
        reencoded,
        audio_seconds,
        images,
        trained,
        seconds: started.elapsed().as_secs_f64(),
        encode_seconds: encode_started.elapsed().as_secs_f64(),
    })
}

enum JobOutcome {
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

/// A file turned into signatures, ready to store.
struct Encoded {
    offsets: Vec<u32>,
    vectors: Vec<f32>,
    duration_s: Option<f32>,
    size: Option<(u32, u32)>,
}

/// Runs `f`, turning a panic anywhere in decoding or encoding into a per-file error.
fn contained<T>(
    path: &Path,
    f: impl FnOnce() -> std::result::Result<T, String>,
) -> std::result::Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!(
                "{}: internal error while processing: {msg}",
                path.display()
            ))
        }
    }
}

fn media_err(e: MediaError) -> String {
    e.to_string()
}

fn encode_file(
    kind: ItemKind,
    path: &Path,
    features: &FeatureParams,
    model: &Model,
) -> std::result::Result<Encoded, String> {
    contained(path, || match kind {
        ItemKind::Audio => {
            let (audio, patches) = audio_patches(path, &features.audio, features.index_hop_frames)
                .map_err(media_err)?;
            let patches: Vec<_> = patches
                .into_iter()
                .filter(|p| !is_silent(&p.data))
                .collect();
            if patches.is_empty() {
                return Err(format!(
                    "{}: no audible patch to index (silence)",
                    path.display()
                ));
            }
            let mut inputs = Vec::with_capacity(patches.len() * features.audio.patch_len());
            for p in &patches {
                inputs.extend_from_slice(&p.data);
            }
            let enc = model
                .encode(&inputs)
                .map_err(|e| format!("{}: encoding failed: {e}", path.display()))?;
            Ok(Encoded {
                offsets: patches.iter().map(|p| p.frame as u32).collect(),
                vectors: enc.codes,
                duration_s: Some(audio.duration_s()),
                size: None,
            })
        }
        ItemKind::Image => {
            let img = load_image(path).map_err(media_err)?;
            let size = (img.width(), img.height());
            let tensor = image_tensor(&img, &features.image);
            let enc = model
                .encode(&tensor)
                .map_err(|e| format!("{}: encoding failed: {e}", path.display()))?;
            Ok(Encoded {
                offsets: vec![0],
                vectors: enc.codes,
                duration_s: None,
                size: Some(size),
            })
        }
    })
}

/// A normalised patch of silence is (close to) all zeros; it would match every other silence.
pub(crate) fn is_silent(patch: &[f32]) -> bool {
    let energy = patch.iter().map(|x| x * x).sum::<f32>() / patch.len().max(1) as f32;
    energy < 0.05
}

fn store_file(
    store: &SledStore,
    path: &Path,
    hash: Option<String>,
    again: Option<ItemId>,
    kind: ItemKind,
    enc: Encoded,
) -> std::result::Result<JobOutcome, String> {
    if let Some(id) = again {
        store
            .replace_signatures(id, &enc.offsets, &enc.vectors)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(JobOutcome::Reencoded);
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let item = NewItem {
        path: path.to_path_buf(),
        name,
        content_hash: hash.unwrap_or_default(),
        kind,
        duration_s: enc.duration_s,
        width: enc.size.map(|s| s.0),
        height: enc.size.map(|s| s.1),
    };
    match store
        .add_item(item, &enc.offsets, &enc.vectors)
        .map_err(|e| format!("{}: {e}", path.display()))?
    {
        AddOutcome::Added(id) => Ok(JobOutcome::Added {
            id,
            path: path.to_path_buf(),
            seconds: enc.duration_s,
        }),
        AddOutcome::Duplicate(existing) => Ok(JobOutcome::Duplicate {
            path: path.to_path_buf(),
            existing,
        }),
    }
}

/// Picks the training files (spread over the library, bounded), samples them and trains.
fn train_model(
    kind: ItemKind,
    pool: &[PathBuf],
    features: &FeatureParams,
    latent_dim: usize,
    cfg: &IngestConfig,
    progress: &dyn Progress,
    failed_so_far: usize,
) -> Result<(Model, TrainSummary)> {
    let mut rng = StdRng::seed_from_u64(cfg.train.seed);
    let mut chosen: Vec<PathBuf> = pool.to_vec();
    chosen.shuffle(&mut rng);
    chosen.truncate(cfg.max_training_files.max(1));
    chosen.sort();
    let per_file = cfg.train.max_examples.div_ceil(chosen.len()).max(1);
    progress.event(Event::Start {
        stage: Stage::Sample,
        total: chosen.len() as u64,
    });
    let (ae_cfg, data): (AeConfig, Box<dyn TrainingData>) = match kind {
        ItemKind::Audio => {
            let p = &features.audio;
            let seg_len = AudioTrainingSet::segment_len(p);
            let per_track: Vec<Vec<Vec<f32>>> = chosen
                .par_iter()
                .enumerate()
                .map(|(i, path)| {
                    let out = contained(path, || {
                        let audio = decode_audio(path, p.sample_rate).map_err(media_err)?;
                        let mut rng =
                            StdRng::seed_from_u64(cfg.train.seed.wrapping_add(i as u64 + 1));
                        Ok(segment_starts(&audio.samples, seg_len, per_file, &mut rng)
                            .into_iter()
                            .map(|s| audio.samples[s..s + seg_len].to_vec())
                            .collect())
                    })
                    .unwrap_or_default();
                    progress.event(Event::Advance {
                        stage: Stage::Sample,
                        path: Some(path),
                    });
                    out
                })
                .collect();
            let mut segments: Vec<Vec<f32>> = per_track.into_iter().flatten().collect();
            segments.truncate(cfg.train.max_examples);
            let mut ae = AeConfig::audio(p.n_mels, p.patch_frames, latent_dim);
            ae.kind = cfg.encoder.clone();
            (
                ae,
                Box::new(AudioTrainingSet::new(segments, p, AudioAugment::default())),
            )
        }
        ItemKind::Image => {
            let p = &features.image;
            let keep = p.size * 2;
            let images: Vec<_> = chosen
                .par_iter()
                .filter_map(|path| {
                    let img = contained(path, || load_image(path).map_err(media_err)).ok();
                    progress.event(Event::Advance {
                        stage: Stage::Sample,
                        path: Some(path),
                    });
                    img.map(|i| i.thumbnail(keep, keep))
                })
                .collect();
            let mut ae = AeConfig::image(p.size as usize, latent_dim);
            ae.kind = cfg.encoder.clone();
            (
                ae,
                Box::new(ImageTrainingSet::new(
                    images,
                    p,
                    ImageAugment::default(),
                    cfg.train.max_examples,
                )),
            )
        }
    };
    progress.event(Event::Finish {
        stage: Stage::Sample,
    });
    if data.is_empty() {
        return Err(IngestError::NothingToTrain {
            kind: kind_name(kind).into(),
            failed: failed_so_far + chosen.len(),
        });
    }
    progress.event(Event::Start {
        stage: Stage::Train,
        total: cfg.train.max_epochs as u64,
    });
    let started = Instant::now();
    let mut epochs = 0;
    let mut val_loss = f32::NAN;
    let model = train(&ae_cfg, &cfg.train, data.as_ref(), &mut |r| {
        epochs = r.epoch + 1;
        val_loss = r.val_loss;
        progress.event(Event::Epoch(r));
    })?;
    progress.event(Event::Finish {
        stage: Stage::Train,
    });
    let summary = TrainSummary {
        examples: data.len(),
        epochs,
        val_loss,
        seconds: started.elapsed().as_secs_f32(),
        model_hash: model.hash(),
        param_count: model.param_count(),
    };
    Ok((model, summary))
}
