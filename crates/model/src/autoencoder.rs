use candle_core::{Module, Tensor};
use candle_nn::{linear, Linear, VarBuilder};

use crate::{AeConfig, Result};

/// A multilayer-perceptron autoencoder: fast on a CPU, and within the training budget the best
/// audio encoder measured — a convolution over time in front of it named 3-5 points fewer
/// song clips (benches/RESULTS.md, "A convolutional front and a longer patch").
pub struct Autoencoder {
    encoder: Vec<Linear>,
    decoder: Vec<Linear>,
    /// `(channels, size, pool)`: images are block-averaged first (see [`AeConfig::pool`]).
    pool: Option<(usize, usize, usize)>,
}

impl Autoencoder {
    pub fn new(vb: VarBuilder, cfg: &AeConfig) -> Result<Self> {
        let mut widths = vec![cfg.encoder_input_len()];
        widths.extend(&cfg.hidden);
        widths.push(cfg.latent_dim);
        let encoder = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| linear(w[0], w[1], vb.pp(format!("enc.{i}"))))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let rev: Vec<usize> = widths.iter().rev().copied().collect();
        let decoder = rev
            .windows(2)
            .enumerate()
            .map(|(i, w)| linear(w[0], w[1], vb.pp(format!("dec.{i}"))))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            encoder,
            decoder,
            pool: cfg.image_pool(),
        })
    }

    /// What the encoder sees of `(batch, input_len)` inputs, and what the decoder rebuilds:
    /// the inputs themselves, or CHW images averaged over `pool x pool` blocks.
    pub fn target(&self, x: &Tensor) -> Result<Tensor> {
        let Some((c, s, p)) = self.pool else {
            return Ok(x.clone());
        };
        let (b, o) = (x.dim(0)?, s / p);
        Ok(x.reshape((b, c, o, p, o, p))?
            .mean(5)?
            .mean(3)?
            .reshape((b, c * o * o))?)
    }

    fn run(layers: &[Linear], x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, l) in layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i + 1 < layers.len() {
                h = h.relu()?;
            }
        }
        Ok(h)
    }

    /// `(batch, input_len)` -> `(batch, latent_dim)`.
    pub fn encode(&self, x: &Tensor) -> Result<Tensor> {
        self.encode_target(&self.target(x)?)
    }

    /// Codes of inputs already made into [`Self::target`]s (so callers that also need the
    /// target for the reconstruction error pool once).
    pub fn encode_target(&self, t: &Tensor) -> Result<Tensor> {
        Self::run(&self.encoder, t)
    }

    /// `(batch, latent_dim)` -> `(batch, encoder_input_len)`: a reconstruction of [`Self::target`].
    pub fn decode(&self, z: &Tensor) -> Result<Tensor> {
        Self::run(&self.decoder, z)
    }
}
