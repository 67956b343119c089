//! [`Index`]: an index directory opened once, with everything a command needs from it.

use std::path::Path;
use std::sync::RwLock;

use latentid_media::{FeatureParams, MelExtractor};
use latentid_model::{AeConfig, Model};
use latentid_store::{
    create_store, open_store, Backend, ItemKind, Manifest, MemoryStore, SearchParams, SledStore,
    Store,
};

use crate::calibration::rule_for;
use crate::{Calibration, IndexError, Result};

/// The backend [`Index::open`] and [`Index::create`] use in this process ([`Index::use_backend`]).
static BACKEND: RwLock<Option<Backend>> = RwLock::new(None);

/// The search effort [`Index::open`] uses in this process ([`Index::use_nprobe`]).
static NPROBE: RwLock<Option<usize>> = RwLock::new(None);

/// Key of the calibration in the manifest's `extra` map.
const CALIBRATION_KEY: &str = "calibration";

/// What a new index is.
#[derive(Clone, Debug, PartialEq)]
pub struct NewIndex {
    pub kind: ItemKind,
    pub latent_dim: usize,
    pub features: FeatureParams,
}

/// An opened index: its store, the feature parameters its signatures were computed with,
/// its encoder and its "no match" calibration, read from the manifest once. Every command
/// (ingest, query, tune, the server) works through one of these; nothing else reads those
/// from the manifest. `Send + Sync`: queries may run from many threads at once.
pub struct Index {
    store: Box<dyn Store>,
    kind: ItemKind,
    features: FeatureParams,
    pub(crate) mel: MelExtractor,
    model: Option<Model>,
    /// The manifest names a model that could not be read back (see `from_store`).
    model_lost: bool,
    calibration: Option<Calibration>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("location", &self.store.location())
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Index {
    /// Whether an index lives at `dir` (opening it may still fail).
    pub fn exists(dir: &Path) -> bool {
        SledStore::exists(dir)
    }

    /// Where every later [`Index::open`] and [`Index::create`] of this process keeps its
    /// signatures: set once by the CLI from `--backend` / `LATENTID_BACKEND`. `None` (the
    /// default): a new index is local, an existing one uses the backend it was last used with.
    pub fn use_backend(backend: Option<Backend>) {
        *BACKEND.write().unwrap_or_else(|e| e.into_inner()) = backend;
    }

    fn backend() -> Option<Backend> {
        BACKEND.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The search effort ([`SearchParams::ef`]) of every later [`Index::open`] of this
    /// process, in place of the caller's: set once by the CLI from `--nprobe` /
    /// `LATENTID_NPROBE`. `None` (the default) keeps the caller's.
    pub fn use_nprobe(nprobe: Option<usize>) {
        *NPROBE.write().unwrap_or_else(|e| e.into_inner()) = nprobe;
    }

    /// Opens the index at `dir`. `search` says how searches run (see [`SearchParams`]).
    pub fn open(dir: &Path, mut search: SearchParams) -> Result<Index> {
        if let Some(ef) = *NPROBE.read().unwrap_or_else(|e| e.into_inner()) {
            search.ef = ef;
        }
        Self::from_store(open_store(dir, Self::backend().as_ref(), search)?)
    }

    /// Creates a new, empty index at `dir` (no model yet).
    pub fn create(dir: &Path, new: &NewIndex) -> Result<Index> {
        let manifest = Self::manifest_for(dir, new)?;
        Self::from_store(create_store(dir, manifest, Self::backend().as_ref())?)
    }

    /// A new, empty index held in memory (for tests of the layers above).
    pub fn in_memory(new: &NewIndex) -> Result<Index> {
        let manifest = Self::manifest_for(Path::new("memory:"), new)?;
        Self::from_store(Box::new(MemoryStore::new(manifest)))
    }

    /// The manifest of a new index at `location`.
    pub fn manifest_for(location: &Path, new: &NewIndex) -> Result<Manifest> {
        let features = serde_json::to_string(&new.features).map_err(|e| IndexError::Encode {
            index: location.to_path_buf(),
            what: "feature parameters",
            reason: e.to_string(),
        })?;
        Ok(Manifest::new(new.kind, new.latent_dim, features))
    }

    /// An index over any store (an in-memory one in tests): reads the feature parameters,
    /// the model and the calibration from it.
    pub fn from_store(store: Box<dyn Store>) -> Result<Index> {
        let manifest = store.manifest();
        let bad = |reason: String| IndexError::BadIndex {
            index: store.location().to_path_buf(),
            reason,
        };
        let features: FeatureParams = serde_json::from_str(&manifest.feature_params)
            .map_err(|e| bad(format!("feature parameters: {e}")))?;
        let model = match store.model()? {
            None => None,
            Some((config_json, weights)) => {
                let cfg: AeConfig = serde_json::from_str(&config_json)
                    .map_err(|e| bad(format!("model configuration: {e}")))?;
                Some(Model::from_bytes(&cfg, &weights)?)
            }
        };
        // The calibration is derived data: one that cannot be read back (a NaN written as
        // null) is measured again by the next `index`, never a reason to refuse the index.
        let calibration = match manifest.extra.get(CALIBRATION_KEY) {
            None => None,
            Some(json) => match serde_json::from_str(json) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(
                        "the calibration of {} is unreadable ({e}); defaults are used until \
                         `latentid index` measures it again",
                        store.location().display()
                    );
                    None
                }
            },
        };
        // The manifest names a model, or items are stored (a model is trained before the first
        // item is added), but the catalog has no model: its blob was lost or damaged (sled
        // drops a value whose file it cannot read).
        let model_lost =
            model.is_none() && (manifest.model_hash.is_some() || store.stats()?.items > 0);
        Ok(Index {
            kind: manifest.kind,
            mel: MelExtractor::new(&features.audio),
            features,
            model,
            model_lost,
            calibration,
            store,
        })
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Where the index lives, for messages.
    pub fn location(&self) -> &Path {
        self.store.location()
    }

    pub fn kind(&self) -> ItemKind {
        self.kind
    }

    pub fn latent_dim(&self) -> usize {
        self.store.manifest().latent_dim
    }

    /// The analysis parameters every signature of this index was computed with.
    pub fn features(&self) -> &FeatureParams {
        &self.features
    }

    pub fn has_model(&self) -> bool {
        self.model.is_some()
    }

    /// The encoder; [`IndexError::NoModel`] before the first ingest trained one.
    pub fn model(&self) -> Result<&Model> {
        self.model.as_ref().ok_or_else(|| {
            if self.model_lost {
                IndexError::BadIndex {
                    index: self.location().to_path_buf(),
                    reason: "its model is missing or damaged on disk".into(),
                }
            } else {
                IndexError::NoModel {
                    index: self.location().to_path_buf(),
                }
            }
        })
    }

    /// Makes `model` the index's encoder: every stored signature is dropped (the items stay,
    /// to be encoded again), the weights are stored, and the latent size and model hash go
    /// into the manifest. The calibration is dropped with the signatures it was measured on.
    pub fn install_model(&mut self, model: Model) -> Result<()> {
        let dim = model.config().latent_dim;
        let config = serde_json::to_string(model.config()).map_err(|e| IndexError::Encode {
            index: self.location().to_path_buf(),
            what: "model configuration",
            reason: e.to_string(),
        })?;
        let hash = model.hash()?;
        self.store.reset_signatures(dim)?;
        self.store.set_model(&config, &model.to_bytes()?)?;
        let mut m = self.store.manifest();
        m.latent_dim = dim;
        m.model_hash = Some(hash);
        m.extra.remove(CALIBRATION_KEY);
        self.store.set_manifest(&m)?;
        self.model = Some(model);
        self.model_lost = false;
        self.calibration = None;
        Ok(())
    }

    /// The thresholds queries use: the calibrated ones, or round defaults for an index that
    /// was never calibrated.
    pub fn calibration(&self) -> &Calibration {
        static DEFAULT: std::sync::OnceLock<Calibration> = std::sync::OnceLock::new();
        self.calibration
            .as_ref()
            .unwrap_or_else(|| DEFAULT.get_or_init(Calibration::default))
    }

    /// The calibration it was measured with, `None` if it never was.
    pub fn calibrated(&self) -> Option<&Calibration> {
        self.calibration.as_ref()
    }

    /// True when the index holds a model and its calibration is missing, was measured
    /// before the library last changed, or under an older rule ([`rule_for`]).
    pub fn needs_calibration(&self) -> bool {
        self.has_model()
            && self.calibration.as_ref().is_none_or(|c| {
                c.revision != self.store.revision() || c.rule != rule_for(self.kind)
            })
    }

    /// Stores a freshly measured calibration, stamped with the store's current revision.
    pub fn set_calibration(&mut self, mut calibration: Calibration) -> Result<()> {
        calibration.revision = self.store.revision();
        calibration.rule = rule_for(self.kind);
        let json = serde_json::to_string(&calibration).map_err(|e| IndexError::Encode {
            index: self.location().to_path_buf(),
            what: "calibration",
            reason: e.to_string(),
        })?;
        let mut m = self.store.manifest();
        m.extra.insert(CALIBRATION_KEY.into(), json);
        self.store.set_manifest(&m)?;
        self.calibration = Some(calibration);
        Ok(())
    }

    /// Makes everything durable (see [`Store::flush`]).
    pub fn flush(&self) -> Result<()> {
        Ok(self.store.flush()?)
    }
}
