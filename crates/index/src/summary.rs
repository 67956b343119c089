//! What an index holds, as `latentid stats` shows it.

use std::path::PathBuf;

use latentid_media::FeatureParams;
use latentid_store::ItemKind;
use serde::{Deserialize, Serialize};

use crate::{Calibration, Index, Result};

/// An index at a glance. Serialises as `latentid stats --json` prints it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub index: PathBuf,
    pub kind: ItemKind,
    pub items: usize,
    pub signatures: usize,
    /// Removed signatures still in the search graph (filtered out of results).
    pub tombstoned: usize,
    pub latent_dim: usize,
    /// Hash of the encoder, `None` before the first ingest trained one.
    pub model: Option<String>,
    pub parameters: Option<usize>,
    pub bytes: u64,
    /// Audio indexes: the hours of audio stored.
    pub audio_hours: f64,
    pub format_version: u32,
    pub calibration: Option<Calibration>,
    /// Where signatures are searched: "local", or "milvus://host:port collection NAME" (the
    /// index is then this folder plus that collection).
    #[serde(default)]
    pub backend: String,
    /// The analysis every signature was computed with (fixed when the index was made);
    /// `None` from a server older than this field.
    #[serde(default)]
    pub features: Option<FeatureParams>,
}

impl Index {
    pub fn summary(&self) -> Result<Summary> {
        let stats = self.store().stats()?;
        let manifest = self.store().manifest();
        let audio_hours = self
            .store()
            .items()?
            .iter()
            .filter_map(|i| i.duration_s)
            .map(f64::from)
            .sum::<f64>()
            / 3600.0;
        Ok(Summary {
            index: self.location().to_path_buf(),
            kind: self.kind(),
            items: stats.items,
            signatures: stats.signatures,
            tombstoned: stats.tombstoned,
            latent_dim: manifest.latent_dim,
            model: manifest.model_hash,
            parameters: self.model().ok().map(|m| m.param_count()),
            bytes: stats.bytes_on_disk,
            audio_hours,
            format_version: manifest.format_version,
            calibration: self.calibrated().cloned(),
            backend: stats.backend,
            features: Some(self.features().clone()),
        })
    }
}
