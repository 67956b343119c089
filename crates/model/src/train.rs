use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;

use crate::model::{Inner, Model};
use crate::{pca, AeConfig, EncoderKind, ModelError, Result, TrainConfig};

/// Where training pairs come from: the ingest crate builds them from real audio or images
/// (corruption in the signal domain, as a phone would hear it); tests build synthetic ones.
pub trait TrainingData: Sync {
    /// Distinct clean examples available.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn input_len(&self) -> usize;
    /// `(clean, corrupted)` for example `index`; a different corruption for each `seed`.
    fn pair(&self, index: usize, seed: u64) -> (Vec<f32>, Vec<f32>);
}

#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    pub epoch: usize,
    pub max_epochs: usize,
    pub train_loss: f32,
    pub val_loss: f32,
    pub recon_loss: f32,
    pub invariance_loss: f32,
    pub contrastive_loss: f32,
    pub elapsed_s: f32,
    pub improved: bool,
}

/// Pairs for `indices`, made in parallel: `(clean rows, corrupted rows)`, flat.
fn make_pairs(data: &dyn TrainingData, indices: &[usize], seed: u64) -> (Vec<f32>, Vec<f32>) {
    let pairs: Vec<(Vec<f32>, Vec<f32>)> =
        indices.par_iter().map(|&i| data.pair(i, seed)).collect();
    let mut clean = Vec::with_capacity(pairs.len() * data.input_len());
    let mut noisy = Vec::with_capacity(pairs.len() * data.input_len());
    for (c, n) in pairs {
        clean.extend(c);
        noisy.extend(n);
    }
    (clean, noisy)
}

/// The terms of the training loss, each a scalar tensor.
struct Losses {
    /// Mean squared error of the clean target rebuilt from the corrupted input.
    recon: Tensor,
    /// Squared distance between the codes of the two copies over the variance of clean
    /// codes in the batch — scale-free, so shrinking all codes does not lower it.
    invariance: Tensor,
    /// NT-Xent, both ways: each corrupted copy must pick its own clean code out of the
    /// batch's clean codes by cosine similarity over `temperature`, and each clean code
    /// its own copy. Zero when not asked for.
    contrastive: Tensor,
}

impl Losses {
    fn total(&self, w_inv: f64, w_con: f64) -> Result<Tensor> {
        Ok(((&self.recon + self.invariance.affine(w_inv, 0.0)?)?
            + self.contrastive.affine(w_con, 0.0)?)?)
    }
}

fn losses(
    model: &Model,
    clean: &Tensor,
    noisy: &Tensor,
    temperature: Option<f64>,
) -> Result<Losses> {
    let Inner::Ae { ae, .. } = &model.inner else {
        return Err(ModelError::NoTrainingData);
    };
    let clean = ae.target(clean)?;
    let zc = ae.encode_target(&clean)?;
    let zn = ae.encode(noisy)?;
    let recon = (ae.decode(&zn)? - &clean)?.sqr()?.mean_all()?;
    let spread = zc.var_keepdim(0)?.mean_all()?.affine(1.0, 1e-4)?;
    let invariance = ((&zn - &zc)?.sqr()?.mean_all()? / spread)?;
    let contrastive = match temperature {
        Some(t) => nt_xent(&zn, &zc, t)?,
        None => Tensor::zeros((), candle_core::DType::F32, &Device::Cpu)?,
    };
    Ok(Losses {
        recon,
        invariance,
        contrastive,
    })
}

/// Rows scaled to unit length (the small epsilon keeps a zero code finite).
pub(crate) fn unit_rows(z: &Tensor) -> Result<Tensor> {
    let norm = z.sqr()?.sum_keepdim(1)?.affine(1.0, 1e-12)?.sqrt()?;
    Ok(z.broadcast_div(&norm)?)
}

fn nt_xent(a: &Tensor, b: &Tensor, temperature: f64) -> Result<Tensor> {
    let n = a.dim(0)?;
    let logits = (unit_rows(a)?.matmul(&unit_rows(b)?.t()?)? / temperature)?;
    let own = Tensor::arange(0u32, n as u32, &Device::Cpu)?;
    let rows = candle_nn::loss::cross_entropy(&logits, &own)?;
    let cols = candle_nn::loss::cross_entropy(&logits.t()?.contiguous()?, &own)?;
    Ok(((rows + cols)? * 0.5)?)
}

/// Trains an encoder: see the crate docs. PCA (`cfg.kind == Pca`) is fitted on clean examples.
pub fn train(
    cfg: &AeConfig,
    tc: &TrainConfig,
    data: &dyn TrainingData,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<Model> {
    let sizes = tc.sizes_for(&cfg.input);
    let n = data.len().min(sizes.examples.max(1));
    if n == 0 {
        return Err(ModelError::NoTrainingData);
    }
    if data.input_len() != cfg.input_len() {
        return Err(ModelError::InputLength {
            expected: cfg.input_len(),
            got: data.input_len(),
        });
    }
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(tc.seed);
    let mut all: Vec<usize> = (0..data.len()).collect();
    all.shuffle(&mut rng);
    all.truncate(n);
    if cfg.kind == EncoderKind::Pca {
        let (clean, _) = make_pairs(data, &all, tc.seed);
        let model = pca::fit(cfg, &clean, tc.seed)?;
        on_epoch(&EpochReport {
            epoch: 0,
            max_epochs: 1,
            train_loss: 0.0,
            val_loss: 0.0,
            recon_loss: 0.0,
            invariance_loss: 0.0,
            contrastive_loss: 0.0,
            elapsed_s: started.elapsed().as_secs_f32(),
            improved: true,
        });
        return Ok(model);
    }

    let n_val =
        ((n as f32 * tc.val_fraction) as usize).clamp(usize::from(n > 1), n.saturating_sub(1));
    let (val_idx, train_idx) = all.split_at(n_val);
    let len = cfg.input_len();
    let model = Model::init_autoencoder(cfg, tc.seed)?;
    let Inner::Ae { vars, .. } = &model.inner else {
        return Err(ModelError::NoTrainingData);
    };
    let mut opt = AdamW::new(
        vars.all_vars(),
        ParamsAdamW {
            lr: tc.lr,
            weight_decay: tc.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    // Validation pairs are fixed, so val loss is comparable across epochs.
    let (val_clean, val_noisy) = make_pairs(data, val_idx, tc.seed ^ 0x5eed);
    let w_inv = tc.invariance_weight_for(&cfg.input) as f64;
    let w_con = tc.contrastive_weight_for(&cfg.input) as f64;
    let temperature = (w_con > 0.0).then_some(tc.temperature.max(1e-3) as f64);
    let mut best = f32::INFINITY;
    let mut best_weights: Option<Vec<Tensor>> = None;
    let mut stale = 0;
    let batch = tc.batch_size.max(2);
    let max_epochs = sizes.epochs.max(1);
    for epoch in 0..max_epochs {
        let (clean, noisy) = make_pairs(data, train_idx, tc.seed.wrapping_add(1 + epoch as u64));
        let mut order: Vec<usize> = (0..train_idx.len()).collect();
        order.shuffle(&mut rng);
        let (mut sum_loss, mut sum_rec, mut sum_inv, mut sum_con, mut batches) =
            (0f32, 0f32, 0f32, 0f32, 0usize);
        for chunk in order.chunks(batch) {
            if chunk.len() < 2 {
                continue;
            }
            let gather = |src: &[f32]| -> Vec<f32> {
                chunk
                    .iter()
                    .flat_map(|&i| src[i * len..(i + 1) * len].iter().copied())
                    .collect()
            };
            let c = Tensor::from_vec(gather(&clean), (chunk.len(), len), &Device::Cpu)?;
            let x = Tensor::from_vec(gather(&noisy), (chunk.len(), len), &Device::Cpu)?;
            let l = losses(&model, &c, &x, temperature)?;
            let loss = l.total(w_inv, w_con)?;
            opt.backward_step(&loss)?;
            sum_loss += loss.to_scalar::<f32>()?;
            sum_rec += l.recon.to_scalar::<f32>()?;
            sum_inv += l.invariance.to_scalar::<f32>()?;
            sum_con += l.contrastive.to_scalar::<f32>()?;
            batches += 1;
        }
        let val_loss = if val_idx.len() >= 2 {
            let c = Tensor::from_slice(&val_clean, (val_idx.len(), len), &Device::Cpu)?;
            let x = Tensor::from_slice(&val_noisy, (val_idx.len(), len), &Device::Cpu)?;
            losses(&model, &c, &x, temperature)?
                .total(w_inv, w_con)?
                .to_scalar::<f32>()?
        } else {
            sum_loss / batches.max(1) as f32
        };
        let improved = val_loss < best;
        if improved {
            best = val_loss;
            stale = 0;
            best_weights = Some(
                vars.all_vars()
                    .iter()
                    .map(|v| v.as_tensor().copy())
                    .collect::<candle_core::Result<_>>()?,
            );
        } else {
            stale += 1;
        }
        let b = batches.max(1) as f32;
        on_epoch(&EpochReport {
            epoch,
            max_epochs,
            train_loss: sum_loss / b,
            val_loss,
            recon_loss: sum_rec / b,
            invariance_loss: sum_inv / b,
            contrastive_loss: sum_con / b,
            elapsed_s: started.elapsed().as_secs_f32(),
            improved,
        });
        let out_of_time = started.elapsed().as_secs_f32() >= sizes.budget_s;
        if stale >= tc.patience.max(1) || out_of_time {
            break;
        }
    }
    if let Some(weights) = best_weights {
        for (v, t) in vars.all_vars().iter().zip(weights) {
            v.set(&t)?;
        }
    }
    Ok(model)
}
