use serde::{Deserialize, Serialize};

/// What one input is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum InputShape {
    /// A log-mel patch, frame-major.
    Audio { n_mels: usize, n_frames: usize },
    /// A CHW image tensor.
    Image { channels: usize, size: usize },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EncoderKind {
    /// The denoising autoencoder.
    Autoencoder,
    /// Principal components of the clean inputs: the linear baseline.
    Pca,
}

/// The architecture. `latent_dim` is the signature size that `latentid tune` sweeps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AeConfig {
    pub input: InputShape,
    pub latent_dim: usize,
    pub kind: EncoderKind,
    /// Hidden layer widths of the encoder, input side first; the decoder mirrors them.
    pub hidden: Vec<usize>,
}

impl AeConfig {
    pub fn audio(n_mels: usize, n_frames: usize, latent_dim: usize) -> Self {
        Self {
            input: InputShape::Audio { n_mels, n_frames },
            latent_dim,
            kind: EncoderKind::Autoencoder,
            hidden: vec![512, 256],
        }
    }

    pub fn image(size: usize, latent_dim: usize) -> Self {
        Self {
            input: InputShape::Image { channels: 3, size },
            latent_dim,
            kind: EncoderKind::Autoencoder,
            hidden: vec![512, 256],
        }
    }

    pub fn input_len(&self) -> usize {
        match self.input {
            InputShape::Audio { n_mels, n_frames } => n_mels * n_frames,
            InputShape::Image { channels, size } => channels * size * size,
        }
    }
}

/// How to train. The default budget trains in under three minutes on two cores whatever
/// the library size, because it samples a bounded number of examples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub max_examples: usize,
    pub batch_size: usize,
    pub max_epochs: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub val_fraction: f32,
    /// Epochs without validation improvement before stopping.
    pub patience: usize,
    pub seed: u64,
    /// Weight of the code-invariance term relative to reconstruction.
    pub invariance_weight: f32,
    /// Stop after this many seconds (checked between epochs).
    pub time_budget_s: Option<f32>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            max_examples: 4000,
            batch_size: 128,
            max_epochs: 40,
            lr: 1e-3,
            weight_decay: 1e-4,
            val_fraction: 0.1,
            patience: 5,
            seed: 0,
            invariance_weight: 1.0,
            time_budget_s: Some(150.0),
        }
    }
}

impl TrainConfig {
    /// A few seconds of training, for tests.
    pub fn tiny() -> Self {
        Self {
            max_examples: 256,
            batch_size: 32,
            max_epochs: 4,
            patience: 4,
            time_budget_s: Some(30.0),
            ..Self::default()
        }
    }
}
