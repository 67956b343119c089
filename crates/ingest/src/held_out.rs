//! Held-out reconstruction errors: how well a model that never saw an item rebuilds it.
//!
//! The index's own model is trained on the whole library, planted oddities included, and
//! learns whatever is easy: a file of steady noise is rebuilt *better* than music once the
//! model has trained on it. A model trained on the rest of the library only rebuilds what the
//! rest is made of. So the library is split in two folds (by item id); a model trained on one
//! fold measures every item of the other. `latentid outliers` ranks by this error beside the
//! index model's own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use latentid_index::{Failure, Index};
use latentid_store::{Item, ItemId};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::train::train_model;
use crate::{Event, IngestConfig, Progress, Result, Stage};

/// Folds the library is split into: each item is measured by a model trained on the others.
const FOLDS: u64 = 2;

/// The sidecar (in the index folder) that keeps the last measurement, for as long as the
/// library holds the same items with the same contents.
const SIDECAR: &str = "held-out-errors.json";

/// What [`held_out_reconstructions`] measured.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct HeldOut {
    /// Per item: its error (summarised as an item's is) under the model of the other fold.
    pub errors: BTreeMap<ItemId, f32>,
    /// Items that could not be measured (file gone or unreadable).
    #[serde(skip)]
    pub failed: Vec<Failure>,
    /// Seconds spent (0 when the saved measurement was reused).
    #[serde(skip)]
    pub seconds: f64,
    /// The items (id and content hash) the measurement is of.
    library: Vec<(ItemId, String)>,
}

/// Measures every item with a model trained without it (see the module doc): two (`FOLDS`)
/// models, each trained as `cfg` says on the items of the other folds (the index's latent
/// size, kind and features), then every item's file encoded by its fold's model. Reuses the
/// measurement saved in the index folder when the library is unchanged. A library of fewer
/// than four items is not measured (empty result).
pub fn held_out_reconstructions(
    index: &Index,
    cfg: &IngestConfig,
    progress: &dyn Progress,
) -> Result<HeldOut> {
    let items = index.store().items()?;
    let library: Vec<(ItemId, String)> = items
        .iter()
        .map(|i| (i.id, i.content_hash.clone()))
        .collect();
    let sidecar = index.location().join(SIDECAR);
    if let Some(saved) = load(&sidecar) {
        if saved.library == library {
            return Ok(saved);
        }
    }
    let mut out = HeldOut {
        library,
        ..HeldOut::default()
    };
    if items.len() < 2 * FOLDS as usize {
        return Ok(out);
    }
    let started = Instant::now();
    // The held-out models are of the index model's kind (autoencoder or PCA), trained as
    // long as the outlier scores were measured with (pictures: not the identification's
    // longer training).
    let mut cfg = IngestConfig {
        train: cfg.train.clone().with_audio_sizes(),
        ..cfg.clone()
    };
    if let Ok(model) = index.model() {
        cfg.encoder = model.config().kind.clone();
    }
    // Trained on the plain standardisation only: an item's error is its plain whole view's
    // (a picture's robust copies are for finding it, not for measuring it), and a model that
    // spends half its examples on the other standardisation rebuilds that view less well.
    let mut features = index.features().clone();
    features.image.robust_views = false;
    for fold in 0..FOLDS {
        let (measured, trained_on): (Vec<&Item>, Vec<&Item>) =
            items.iter().partition(|i| i.id % FOLDS == fold);
        let pool: Vec<PathBuf> = trained_on.iter().map(|i| i.path.clone()).collect();
        let (model, _) = train_model(
            index,
            &features,
            &pool,
            index.latent_dim(),
            &cfg,
            progress,
            0,
        )?;
        progress.event(Event::Start {
            stage: Stage::Encode,
            total: measured.len() as u64,
        });
        let errors: Vec<_> = measured
            .par_iter()
            .map(|item| {
                let r = index.encode_file_with(&model, &item.path);
                progress.event(Event::Advance {
                    stage: Stage::Encode,
                    path: Some(&item.path),
                });
                r.map(|enc| enc.reconstruction().map(|r| r.error))
            })
            .collect();
        progress.event(Event::Finish {
            stage: Stage::Encode,
        });
        for (item, r) in measured.iter().zip(errors) {
            match r {
                Ok(Some(e)) => {
                    out.errors.insert(item.id, e);
                }
                Ok(None) => {}
                Err(e) => out.failed.push(Failure::new(item.path.clone(), e)),
            }
        }
    }
    out.seconds = started.elapsed().as_secs_f64();
    if out.failed.is_empty() {
        // Kept for the next run; an index folder that cannot be written is measured again.
        if let Err(e) = save(&sidecar, &out) {
            tracing::warn!(
                "could not keep the held-out errors in {}: {e}",
                sidecar.display()
            );
        }
    }
    Ok(out)
}

fn load(path: &Path) -> Option<HeldOut> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Written whole to a temporary file and renamed over the old one: never half-written.
fn save(path: &Path, held: &HeldOut) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(held)?)?;
    std::fs::rename(&tmp, path)
}
