//! PCA: the linear baseline. A linear autoencoder's codes span the same subspace.

use candle_core::{Device, Tensor, D};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::model::{Inner, Model};
use crate::{AeConfig, ModelError, Result};

/// Subspace-iteration rounds; the leading components of spectrogram patches separate fast.
const ROUNDS: usize = 60;

/// Fits the top `cfg.latent_dim` principal components of `rows` (`n * input_len`).
pub(crate) fn fit(cfg: &AeConfig, rows: &[f32], seed: u64) -> Result<Model> {
    let len = cfg.input_len();
    let n = rows.len() / len;
    if n == 0 {
        return Err(ModelError::NoTrainingData);
    }
    let d = cfg.latent_dim.min(len);
    let x = Tensor::from_slice(rows, (n, len), &Device::Cpu)?;
    let mean = x.mean_keepdim(0)?;
    let xc = x.broadcast_sub(&mean)?;
    let cov = (xc.t()?.matmul(&xc)? / n as f64)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let init: Vec<f32> = (0..len * d).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut q = orthonormal_rows(&Tensor::from_vec(init, (d, len), &Device::Cpu)?)?;
    for _ in 0..ROUNDS {
        q = orthonormal_rows(&q.matmul(&cov)?)?;
    }
    // Order components by explained variance.
    let var: Vec<f32> = q.matmul(&cov)?.mul(&q)?.sum(D::Minus1)?.to_vec1()?;
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|a, b| var[*b].total_cmp(&var[*a]));
    let rows_q: Vec<Vec<f32>> = q.to_vec2()?;
    let mut sorted: Vec<f32> = order.iter().flat_map(|&i| rows_q[i].clone()).collect();
    // Zero components pad a latent size larger than the input (degenerate, but well-defined).
    sorted.resize(cfg.latent_dim * len, 0.0);
    let components = Tensor::from_vec(sorted, (cfg.latent_dim, len), &Device::Cpu)?;
    Ok(Model {
        config: cfg.clone(),
        inner: Inner::Pca { mean, components },
    })
}

/// Gram-Schmidt on the rows of a small `(d, len)` matrix.
fn orthonormal_rows(m: &Tensor) -> Result<Tensor> {
    let mut rows: Vec<Vec<f32>> = m.to_vec2()?;
    let (d, len) = (rows.len(), rows.first().map_or(0, |r| r.len()));
    for i in 0..d {
        for j in 0..i {
            let dot: f32 = rows[i].iter().zip(&rows[j]).map(|(a, b)| a * b).sum();
            let rj = rows[j].clone();
            rows[i].iter_mut().zip(&rj).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = rows[i].iter().map(|a| a * a).sum::<f32>().sqrt();
        if norm > 1e-12 {
            rows[i].iter_mut().for_each(|a| *a /= norm);
        }
    }
    Ok(Tensor::from_vec(rows.concat(), (d, len), &Device::Cpu)?)
}
