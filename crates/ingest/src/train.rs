//! Training the index's encoder on a bounded sample of the library.

use std::path::PathBuf;
use std::time::Instant;

use latentid_index::Index;
use latentid_media::augment::{AudioAugment, ImageAugment};
use latentid_media::{contain, load_image, FeatureParams, MediaError};
use latentid_model::{train, AeConfig, Model, TrainingData};
use latentid_store::ItemKind;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;

use crate::training::{segment_starts, AudioTrainingSet, ImageTrainingSet};
use crate::{Event, IngestConfig, IngestError, Progress, Result, Stage, TrainSummary};

/// Picks the training files (spread over the library, bounded), samples them and trains a
/// model of latent size `latent_dim` for `index`'s kind on inputs made as `features` say (the
/// index's own, or a variant of them: [`crate::held_out_reconstructions`]). A file that cannot be
/// read for the sample is left out and logged; the encoding pass reports it with its cause.
pub(crate) fn train_model(
    index: &Index,
    features: &FeatureParams,
    pool: &[PathBuf],
    latent_dim: usize,
    cfg: &IngestConfig,
    progress: &dyn Progress,
    failed_so_far: usize,
) -> Result<(Model, TrainSummary)> {
    let kind = index.kind();
    let mut rng = StdRng::seed_from_u64(cfg.train.seed);
    let mut chosen: Vec<PathBuf> = pool.to_vec();
    chosen.shuffle(&mut rng);
    chosen.truncate(cfg.max_training_files.max(1));
    chosen.sort();
    let mut ae = match kind {
        ItemKind::Audio => {
            let p = &features.audio;
            AeConfig::audio(p.n_mels, p.patch_frames, latent_dim)
        }
        ItemKind::Image => {
            let p = &features.image;
            AeConfig::image(p.input.channels(), p.size as usize, latent_dim)
        }
    };
    let sizes = cfg.train.sizes_for(&ae.input);
    let examples = sizes.examples;
    let per_file = examples.div_ceil(chosen.len()).max(1);
    progress.event(Event::Start {
        stage: Stage::Sample,
        total: chosen.len() as u64,
    });
    let unreadable = |e: MediaError| {
        tracing::warn!("left out of the training sample: {e}");
    };
    let data: Box<dyn TrainingData> = match kind {
        ItemKind::Audio => {
            let p = &features.audio;
            let seg_len = AudioTrainingSet::segment_len(p);
            let per_track: Vec<Vec<Vec<f32>>> = chosen
                .par_iter()
                .enumerate()
                .map(|(i, path)| {
                    let out = contain(path, || index.decode_audio(path))
                        .map(|audio| {
                            let mut rng =
                                StdRng::seed_from_u64(cfg.train.seed.wrapping_add(i as u64 + 1));
                            segment_starts(&audio.samples, seg_len, per_file, &mut rng)
                                .into_iter()
                                .map(|s| audio.samples[s..s + seg_len].to_vec())
                                .collect()
                        })
                        .unwrap_or_else(|e| {
                            unreadable(e);
                            Vec::new()
                        });
                    progress.event(Event::Advance {
                        stage: Stage::Sample,
                        path: Some(path),
                    });
                    out
                })
                .collect();
            let mut segments: Vec<Vec<f32>> = per_track.into_iter().flatten().collect();
            segments.truncate(examples);
            Box::new(AudioTrainingSet::new(segments, p, AudioAugment::default()))
        }
        ItemKind::Image => {
            let p = &features.image;
            let keep = p.size * 2;
            let images: Vec<_> = chosen
                .par_iter()
                .filter_map(|path| {
                    let img = contain(path, || load_image(path)).map_err(unreadable).ok();
                    progress.event(Event::Advance {
                        stage: Stage::Sample,
                        path: Some(path),
                    });
                    img.map(|i| i.thumbnail(keep, keep))
                })
                .collect();
            Box::new(ImageTrainingSet::new(
                images,
                p,
                ImageAugment::default(),
                examples,
            ))
        }
    };
    ae.kind = cfg.encoder.clone();
    // A contrastive encoder compares codes by angle: its signatures are stored at unit length,
    // so that Euclidean search ranks them by that angle.
    ae.normalize = cfg.train.contrastive_weight_for(&ae.input) > 0.0;
    progress.event(Event::Finish {
        stage: Stage::Sample,
    });
    if data.is_empty() {
        return Err(IngestError::NothingToTrain {
            kind: kind.name(),
            failed: failed_so_far + chosen.len(),
        });
    }
    progress.event(Event::Start {
        stage: Stage::Train,
        total: sizes.epochs as u64,
    });
    let started = Instant::now();
    let mut epochs = 0;
    let mut val_loss = f32::NAN;
    let model = train(&ae, &cfg.train, data.as_ref(), &mut |r| {
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
        model_hash: model.hash()?,
        param_count: model.param_count(),
    };
    Ok((model, summary))
}
