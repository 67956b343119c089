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
    /// Images: the encoder sees the picture averaged over `pool x pool` pixel blocks and the
    /// decoder rebuilds that averaged picture. 1 (audio, and models stored before this field):
    /// every input value as it is.
    #[serde(default = "one")]
    pub pool: usize,
    /// Signatures are the codes scaled to unit length, so they compare by angle: what the
    /// contrastive term of training shapes. Models stored before this field: raw codes.
    #[serde(default)]
    pub normalize: bool,
}

fn one() -> usize {
    1
}

impl AeConfig {
    pub fn audio(n_mels: usize, n_frames: usize, latent_dim: usize) -> Self {
        Self {
            input: InputShape::Audio { n_mels, n_frames },
            latent_dim,
            kind: EncoderKind::Autoencoder,
            hidden: vec![512, 256],
            pool: 1,
            normalize: false,
        }
    }

    /// The encoder looks at 4 x 4 pixel averages (16 x 16 for 64 px inputs), as perceptual
    /// hashes do: fine detail is what JPEG, noise and resizing change, and a small shift or
    /// crop moves it most; the layout of colours and shapes is what stays. Sixteen times
    /// fewer inputs also let the training budget run to many more epochs
    /// (benches/RESULTS.md, images).
    ///
    /// `channels`: planes of the input (1 for luminance). Signatures are unit-length: the
    /// contrastive term shapes them by angle.
    pub fn image(channels: usize, size: usize, latent_dim: usize) -> Self {
        Self {
            input: InputShape::Image { channels, size },
            latent_dim,
            kind: EncoderKind::Autoencoder,
            hidden: vec![512, 256],
            pool: if size % 4 == 0 { 4 } else { 1 },
            normalize: true,
        }
    }

    pub fn input_len(&self) -> usize {
        match self.input {
            InputShape::Audio { n_mels, n_frames } => n_mels * n_frames,
            InputShape::Image { channels, size } => channels * size * size,
        }
    }

    /// `(channels, size, pool)` when an image input is pooled before the encoder.
    pub(crate) fn image_pool(&self) -> Option<(usize, usize, usize)> {
        match self.input {
            InputShape::Image { channels, size } if self.pool > 1 && size % self.pool == 0 => {
                Some((channels, size, self.pool))
            }
            _ => None,
        }
    }

    /// Values the encoder's first layer sees (and the decoder rebuilds).
    pub fn encoder_input_len(&self) -> usize {
        match self.image_pool() {
            Some((c, s, p)) => c * (s / p) * (s / p),
            None => self.input_len(),
        }
    }
}

/// How much training: examples per epoch, at most so many epochs, and a time budget
/// (checked between epochs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainSizes {
    pub examples: usize,
    pub epochs: usize,
    pub budget_s: f32,
}

impl TrainSizes {
    /// Audio: 4,000 patches, at most 40 epochs, 150 s (three times as much was within one
    /// training's spread, benches/RESULTS.md, 1000-hour library).
    pub const AUDIO: Self = Self {
        examples: 4000,
        epochs: 40,
        budget_s: 150.0,
    };

    /// Pictures: three times the audio's examples and epochs (each picture of the sample
    /// altered anew for each of its examples), which trained 44-60 epochs in 390-531 s on two
    /// cores. Chosen on the image benchmark's main set, where it named 93.7 / 94.1% of the
    /// altered copies against 93.0 / 92.8% (two seeds; text captions and 70% crops gained
    /// 3-10 points), and judged on its second set (99.9% either way); benches/RESULTS.md,
    /// pictures.
    pub const IMAGE: Self = Self {
        examples: 12_000,
        epochs: 60,
        budget_s: 600.0,
    };

    /// What measured best for inputs of this shape.
    pub fn for_input(input: &InputShape) -> Self {
        match input {
            InputShape::Audio { .. } => Self::AUDIO,
            InputShape::Image { .. } => Self::IMAGE,
        }
    }
}

/// How to train. Training samples a bounded number of examples, so its cost does not grow
/// with the library: by default under three minutes on two cores for audio, under ten for
/// pictures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Examples (clean input and corrupted copy) trained on per epoch. `None`: what measured
    /// best for the input kind ([`TrainSizes::for_input`]).
    pub max_examples: Option<usize>,
    pub batch_size: usize,
    /// At most this many epochs; the patience usually stops training sooner. `None`: what
    /// measured best for the input kind ([`TrainSizes::for_input`]).
    pub max_epochs: Option<usize>,
    pub lr: f64,
    pub weight_decay: f64,
    pub val_fraction: f32,
    /// Epochs without validation improvement before stopping.
    pub patience: usize,
    pub seed: u64,
    /// Weight of the term that holds a corrupted example's code near its clean code, relative
    /// to reconstruction. `None`: what measured best for the input kind — 0 for audio (the
    /// plain denoising autoencoder: at weight 1 it named the right track for 60% of 5 s clips
    /// at 10 dB SNR against 85% at 0, benches/RESULTS.md, encoder), 1 for images (the image
    /// evaluation was measured at 1).
    pub invariance_weight: Option<f32>,
    /// Weight of the contrastive term (NT-Xent): a corrupted copy's code must be nearer its
    /// own clean code than the clean codes of the other examples of the batch, by angle.
    /// `None`: what measured best for the input kind — 1 for audio (with the resampler fix,
    /// corpus A's named top-1 went from 58% to 87%, top candidate 73% to 94%,
    /// benches/RESULTS.md, song identification), 1 for images.
    pub contrastive_weight: Option<f32>,
    /// Temperature of the contrastive term's softmax over cosine similarities.
    pub temperature: f32,
    /// Stop after this many seconds (checked between epochs). `None`: what suits the input
    /// kind ([`TrainSizes::for_input`]).
    pub time_budget_s: Option<f32>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            max_examples: None,
            batch_size: 128,
            max_epochs: None,
            lr: 1e-3,
            weight_decay: 1e-4,
            val_fraction: 0.1,
            patience: 5,
            seed: 0,
            invariance_weight: None,
            contrastive_weight: None,
            temperature: 0.1,
            time_budget_s: None,
        }
    }
}

impl TrainConfig {
    /// How much to train inputs of this shape: what was given, else [`TrainSizes::for_input`].
    pub fn sizes_for(&self, input: &InputShape) -> TrainSizes {
        let kind = TrainSizes::for_input(input);
        TrainSizes {
            examples: self.max_examples.unwrap_or(kind.examples),
            epochs: self.max_epochs.unwrap_or(kind.epochs),
            budget_s: self.time_budget_s.unwrap_or(kind.budget_s),
        }
    }

    /// This configuration with [`TrainSizes::AUDIO`] wherever the sizes were left to the input
    /// kind: training sized for measuring rather than identifying (the outliers' held-out
    /// models, `latentid tune`'s one model per size), as it was measured.
    pub fn with_audio_sizes(self) -> Self {
        let audio = TrainSizes::AUDIO;
        Self {
            max_examples: self.max_examples.or(Some(audio.examples)),
            max_epochs: self.max_epochs.or(Some(audio.epochs)),
            time_budget_s: self.time_budget_s.or(Some(audio.budget_s)),
            ..self
        }
    }

    /// The invariance weight used for inputs of this shape (see [`Self::invariance_weight`]).
    pub fn invariance_weight_for(&self, input: &InputShape) -> f32 {
        self.invariance_weight.unwrap_or(match input {
            InputShape::Audio { .. } => 0.0,
            InputShape::Image { .. } => 1.0,
        })
    }

    /// The contrastive weight used for inputs of this shape (see
    /// [`Self::contrastive_weight`]).
    pub fn contrastive_weight_for(&self, input: &InputShape) -> f32 {
        self.contrastive_weight.unwrap_or(match input {
            InputShape::Audio { .. } => 1.0,
            // Pictures: an altered copy must land nearer its own original than any other
            // picture, which is what the term asks (benches/RESULTS.md, pictures).
            InputShape::Image { .. } => 1.0,
        })
    }

    /// A few seconds of training, for tests.
    pub fn tiny() -> Self {
        Self {
            max_examples: Some(256),
            batch_size: 32,
            max_epochs: Some(4),
            patience: 4,
            time_budget_s: Some(30.0),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUDIO: InputShape = InputShape::Audio {
        n_mels: 32,
        n_frames: 32,
    };
    const IMAGE: InputShape = InputShape::Image {
        channels: 1,
        size: 64,
    };

    #[test]
    fn pictures_train_longer_unless_told_otherwise() {
        let tc = TrainConfig::default();
        let (audio, image) = (tc.sizes_for(&AUDIO), tc.sizes_for(&IMAGE));
        assert!(image.examples > audio.examples);
        assert!(image.epochs > audio.epochs);
        assert!(image.budget_s > audio.budget_s);
        // What the user gives holds for every kind.
        let told = TrainConfig {
            max_examples: Some(300),
            max_epochs: Some(6),
            time_budget_s: Some(20.0),
            ..TrainConfig::default()
        };
        let given = TrainSizes {
            examples: 300,
            epochs: 6,
            budget_s: 20.0,
        };
        for input in [AUDIO, IMAGE] {
            assert_eq!(told.sizes_for(&input), given);
        }
    }

    #[test]
    fn audio_sizes_fill_only_what_was_left_to_the_kind() {
        let tc = TrainConfig {
            time_budget_s: Some(60.0),
            ..TrainConfig::default()
        }
        .with_audio_sizes();
        let sizes = tc.sizes_for(&IMAGE);
        assert_eq!(sizes.examples, TrainSizes::AUDIO.examples);
        assert_eq!(sizes.epochs, TrainSizes::AUDIO.epochs);
        assert_eq!(sizes.budget_s, 60.0);
    }
}
