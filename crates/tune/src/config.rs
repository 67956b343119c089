use std::path::PathBuf;

use latentid_media::FeatureParams;
use latentid_model::{EncoderKind, TrainConfig};
use latentid_query::{CalibrationConfig, QueryConfig};
use latentid_store::ItemKind;
use serde::Serialize;

/// Which encoder a row measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoder {
    /// The denoising autoencoder: what `latentid index` trains, and what `--apply` uses.
    Ae,
    /// PCA of the same size on the same sample: the linear baseline.
    Pca,
}

impl Encoder {
    pub fn kind(self) -> EncoderKind {
        match self {
            Encoder::Ae => EncoderKind::Autoencoder,
            Encoder::Pca => EncoderKind::Pca,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoder::Ae => "ae",
            Encoder::Pca => "pca",
        }
    }
}

/// How a sweep runs; the binary builds it from its flags.
#[derive(Clone, Debug)]
pub struct TuneConfig {
    /// Smallest and largest latent size tried (see [`sizes`]).
    pub from: usize,
    pub to: usize,
    /// Top-1 accuracy on distorted clips (5 s, pink noise at 10 dB) a size must reach...
    pub target: f32,
    /// ...while naming at most this share of clips of songs that are not in the library.
    pub max_false_match: f32,
    /// Training for every size and encoder: the same sample (same seed), and
    /// `time_budget_s` is the per-size budget.
    pub train: TrainConfig,
    pub features: FeatureParams,
    /// At most this many files are decoded for the training sample (as in ingest).
    pub max_training_files: usize,
    /// Audio or images; chosen from the files when `None` (as ingest does).
    pub kind: Option<ItemKind>,
    /// Share of the items kept out of every index: their clips are the non-matches.
    pub heldout_share: f32,
    /// Items whose distorted copies are queried (spread over the library).
    pub max_query_items: usize,
    /// Distorted clips (audio) or transformed copies (images) per queried item.
    pub clips_per_item: usize,
    /// Length of an audio clip, seconds.
    pub clip_s: f32,
    /// SNR of the pink noise mixed into audio clips, dB.
    pub snr_db: f32,
    /// Seed of the held-out split, the clip offsets, the noise and the image alterations.
    pub seed: u64,
    pub query: QueryConfig,
    pub calibration: CalibrationConfig,
    /// Points per 2-D scatter in the report (the centroids use every point).
    pub max_scatter_points: usize,
    /// Where the per-size indexes are built (a temporary directory inside it); system temp
    /// when `None`.
    pub work_dir: Option<PathBuf>,
}

impl Default for TuneConfig {
    fn default() -> Self {
        Self {
            from: 2,
            to: 64,
            target: 0.99,
            max_false_match: 0.01,
            train: TrainConfig {
                time_budget_s: Some(60.0),
                ..TrainConfig::default()
            }
            .with_audio_sizes(),
            features: FeatureParams::default(),
            max_training_files: 64,
            kind: None,
            heldout_share: 0.2,
            max_query_items: 64,
            clips_per_item: 4,
            clip_s: 5.0,
            snr_db: 10.0,
            seed: 11,
            query: QueryConfig::default(),
            calibration: CalibrationConfig::default(),
            max_scatter_points: 2500,
            work_dir: None,
        }
    }
}

/// The latent sizes a sweep tries: 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, … (each step
/// about 1.4x the last) within `from..=to`, starting at `from` itself.
pub fn sizes(from: usize, to: usize) -> Vec<usize> {
    let mut out = Vec::new();
    if from == 0 || from > to {
        return out;
    }
    out.push(from);
    let mut base = 1usize;
    while base <= to {
        for s in [2 * base, 3 * base] {
            if s > from && s <= to {
                out.push(s);
            }
        }
        base *= 2;
    }
    if out.last() != Some(&to) && !out.contains(&to) {
        out.push(to);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sizes;

    #[test]
    fn sizes_grow_from_2_like_the_issue_says() {
        assert_eq!(sizes(2, 64), vec![2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]);
        assert_eq!(sizes(5, 20), vec![5, 6, 8, 12, 16, 20]);
        assert_eq!(sizes(3, 3), vec![3]);
        assert!(sizes(4, 2).is_empty());
        assert!(sizes(0, 2).is_empty());
    }
}
