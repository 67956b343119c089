//! latentid-model: the learned encoder (candle, CPU).
//!
//! Signatures are the latent codes of a small autoencoder trained on the user's own
//! library, without labels. Training is *denoising*: the input is a corrupted copy of a
//! clean patch (noise, other music, reverb, phone band, shift — made by the caller, see
//! [`TrainingData`]), the target is the clean patch. Reconstruction alone does not make
//! codes that stay put under distortion, which matching needs, so a second term pulls the
//! code of the corrupted copy towards the code of the clean one, measured relative to the
//! spread of codes in the batch so it cannot be cheated by shrinking every code.
//!
//! [`EncoderKind::Pca`] fits principal components instead: the linear baseline (what a
//! linear autoencoder learns), behind the same [`Model`] API.
//!
//! The crate opens no files: weights travel as safetensors bytes (the store keeps them).
//!
//! ```no_run
//! use latentid_model::{train, AeConfig, TrainConfig, TrainingData};
//! struct Toy;
//! impl TrainingData for Toy {
//!     fn len(&self) -> usize { 64 }
//!     fn input_len(&self) -> usize { 8 }
//!     fn pair(&self, i: usize, _seed: u64) -> (Vec<f32>, Vec<f32>) {
//!         let v: Vec<f32> = (0..8).map(|j| ((i * j) % 7) as f32).collect();
//!         (v.clone(), v)
//!     }
//! }
//! let cfg = AeConfig { hidden: vec![16], ..AeConfig::audio(2, 4, 3) };
//! let model = train(&cfg, &TrainConfig::tiny(), &Toy, &mut |_| {})?;
//! let codes = model.encode(&[0.0; 8])?.codes;
//! assert_eq!(codes.len(), 3);
//! # Ok::<(), latentid_model::ModelError>(())
//! ```

mod autoencoder;
mod config;
mod error;
mod model;
mod pca;
mod train;

pub use autoencoder::Autoencoder;
pub use config::{AeConfig, EncoderKind, InputShape, TrainConfig, TrainSizes};
pub use error::{ModelError, Result};
pub use model::{Encoded, Model};
pub use train::{train, EpochReport, TrainingData};
