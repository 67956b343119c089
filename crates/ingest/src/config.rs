//! What an ingest is asked to do, and what it reports.

use std::path::PathBuf;

use latentid_index::Failure;
use latentid_media::FeatureParams;
use latentid_model::{EncoderKind, TrainConfig};
use latentid_store::paths::AnyPath;
use latentid_store::{ItemId, ItemKind};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// How to ingest; the binary builds it from its flags.
#[derive(Clone, Debug)]
pub struct IngestConfig {
    /// Audio or images; chosen from the files (or the existing index) when `None`.
    pub kind: Option<ItemKind>,
    /// Latent size for a new model; `None` keeps the index's (or the default for a new one).
    pub latent_dim: Option<usize>,
    pub encoder: EncoderKind,
    /// Train a new model and re-encode every stored item with it.
    pub retrain: bool,
    pub train: TrainConfig,
    /// For a new index; an existing one keeps its own.
    pub features: FeatureParams,
    /// At most this many files are decoded for the training sample (training cost is bounded).
    pub max_training_files: usize,
}

/// Default latent size of a new index; `latentid tune` finds the smallest that works.
pub const DEFAULT_LATENT_DIM: usize = 32;

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
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

/// A file whose bytes are already stored (or appear twice in this run).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Duplicate {
    #[serde(serialize_with = "latentid_store::paths::serialize")]
    pub path: PathBuf,
    /// The stored item with the same content, when it was stored before this run.
    pub existing: Option<ItemId>,
    /// The file seen first in this run with the same content, otherwise.
    #[serde(serialize_with = "latentid_store::paths::serialize_opt")]
    pub same_as: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TrainSummary {
    pub examples: usize,
    pub epochs: usize,
    pub val_loss: f32,
    pub seconds: f32,
    #[serde(rename = "model")]
    pub model_hash: String,
    #[serde(rename = "parameters")]
    pub param_count: usize,
}

/// A file stored as a new item.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Added {
    pub id: ItemId,
    #[serde(serialize_with = "latentid_store::paths::serialize")]
    pub path: PathBuf,
}

/// What an ingest did. Serialises as `latentid index --json` prints it (failures as
/// `{path, reason}`, audio as hours).
#[derive(Debug)]
pub struct IngestReport {
    pub index: PathBuf,
    pub kind: ItemKind,
    pub added: Vec<Added>,
    pub duplicates: Vec<Duplicate>,
    /// Files that could not be added, each with its typed reason.
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

impl Serialize for IngestReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct FailureView<'a> {
            path: AnyPath<'a>,
            reason: String,
        }
        let failed: Vec<FailureView> = self
            .failed
            .iter()
            .map(|f| FailureView {
                path: AnyPath(&f.path),
                reason: f.to_string(),
            })
            .collect();
        let mut st = s.serialize_struct("IngestReport", 12)?;
        st.serialize_field("index", &AnyPath(&self.index))?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("added", &self.added)?;
        st.serialize_field("duplicates", &self.duplicates)?;
        st.serialize_field("failed", &failed)?;
        let skipped: Vec<AnyPath> = self.skipped.iter().map(|p| AnyPath(p)).collect();
        st.serialize_field("skipped", &skipped)?;
        st.serialize_field("reencoded", &self.reencoded)?;
        st.serialize_field("audio_hours", &(self.audio_seconds / 3600.0))?;
        st.serialize_field("images", &self.images)?;
        st.serialize_field("trained", &self.trained)?;
        st.serialize_field("seconds", &self.seconds)?;
        st.serialize_field("encode_seconds", &self.encode_seconds)?;
        st.end()
    }
}
