use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{AeConfig, Autoencoder, EncoderKind, ModelError, Result};

/// Rows encoded per forward pass.
const ENCODE_BATCH: usize = 512;

/// Codes and reconstruction errors of `n` inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    pub dim: usize,
    /// `n * dim`, row-major.
    pub codes: Vec<f32>,
    /// Mean squared reconstruction error per input: high for things unlike the library.
    pub recon_error: Vec<f32>,
    /// Variance of what each input's reconstruction was measured against (the input, or the
    /// pooled image): `recon_error / target_var` is the share of it the model failed to
    /// rebuild (1 − R²), which does not depend on how much there was to rebuild.
    pub target_var: Vec<f32>,
}

pub(crate) enum Inner {
    Ae { vars: VarMap, ae: Autoencoder },
    Pca { mean: Tensor, components: Tensor },
}

/// A trained encoder: the autoencoder or the PCA baseline. `Send + Sync`.
pub struct Model {
    pub(crate) config: AeConfig,
    pub(crate) inner: Inner,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// A freshly initialised autoencoder, weights drawn from `seed` (PyTorch-style uniform
    /// ±1/sqrt(fan_in), zero biases), so the same seed always gives the same model.
    pub(crate) fn init_autoencoder(cfg: &AeConfig, seed: u64) -> Result<Self> {
        let vars = VarMap::new();
        let vb = VarBuilder::from_varmap(&vars, DType::F32, &Device::Cpu);
        let ae = Autoencoder::new(vb, cfg)?;
        let mut rng = StdRng::seed_from_u64(seed);
        let data = vars.data().lock().map_err(|_| ModelError::Weights {
            reason: "poisoned variable map".into(),
        })?;
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        for name in names {
            let var = &data[name];
            let dims = var.dims().to_vec();
            let n: usize = dims.iter().product();
            let values: Vec<f32> = if name.ends_with("weight") {
                let bound = 1.0 / (dims[1] as f32).sqrt();
                (0..n).map(|_| rng.random_range(-bound..bound)).collect()
            } else {
                vec![0.0; n]
            };
            var.set(&Tensor::from_vec(values, dims, &Device::Cpu)?)?;
        }
        drop(data);
        Ok(Self {
            config: cfg.clone(),
            inner: Inner::Ae { vars, ae },
        })
    }

    pub fn config(&self) -> &AeConfig {
        &self.config
    }

    fn check_inputs(&self, inputs: &[f32]) -> Result<usize> {
        let len = self.config.input_len();
        if inputs.is_empty() || inputs.len() % len != 0 {
            return Err(ModelError::InputLength {
                expected: len,
                got: inputs.len(),
            });
        }
        Ok(inputs.len() / len)
    }

    /// Encodes `n` inputs (`n * input_len` floats, row-major), in batches. Deterministic.
    pub fn encode(&self, inputs: &[f32]) -> Result<Encoded> {
        let n = self.check_inputs(inputs)?;
        let len = self.config.input_len();
        let dim = self.config.latent_dim;
        let mut codes = Vec::with_capacity(n * dim);
        let mut recon_error = Vec::with_capacity(n);
        let mut target_var = Vec::with_capacity(n);
        for chunk in inputs.chunks(ENCODE_BATCH * len) {
            let rows = chunk.len() / len;
            let x = Tensor::from_slice(chunk, (rows, len), &Device::Cpu)?;
            let (z, rec, target) = self.forward(&x)?;
            codes.extend(z.flatten_all()?.to_vec1::<f32>()?);
            let err = (rec - &target)?.sqr()?.mean(1)?;
            recon_error.extend(err.to_vec1::<f32>()?);
            let centred = target.broadcast_sub(&target.mean_keepdim(1)?)?;
            target_var.extend(centred.sqr()?.mean(1)?.to_vec1::<f32>()?);
        }
        Ok(Encoded {
            dim,
            codes,
            recon_error,
            target_var,
        })
    }

    /// Codes, reconstructions and what was reconstructed (the inputs, or pooled images).
    pub(crate) fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        match &self.inner {
            Inner::Ae { ae, .. } => {
                let target = ae.target(x)?;
                let z = ae.encode_target(&target)?;
                let rec = ae.decode(&z)?;
                let z = if self.config.normalize {
                    crate::train::unit_rows(&z)?
                } else {
                    z
                };
                Ok((z, rec, target))
            }
            Inner::Pca { mean, components } => {
                let centred = x.broadcast_sub(mean)?;
                let z = centred.matmul(&components.t()?)?;
                let rec = z.matmul(components)?.broadcast_add(mean)?;
                Ok((z, rec, x.clone()))
            }
        }
    }

    fn tensors(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out: Vec<(String, Tensor)> = match &self.inner {
            Inner::Ae { vars, .. } => {
                let data = vars.data().lock().map_err(|_| ModelError::Weights {
                    reason: "poisoned variable map".into(),
                })?;
                data.iter()
                    .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
                    .collect()
            }
            Inner::Pca { mean, components } => vec![
                ("pca.mean".into(), mean.clone()),
                ("pca.components".into(), components.clone()),
            ],
        };
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The weights as safetensors bytes (the config travels separately, as JSON).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let tensors = self.tensors()?;
        safetensors::tensor::serialize(tensors.iter().map(|(k, t)| (k.as_str(), t)), None).map_err(
            |e| ModelError::Weights {
                reason: e.to_string(),
            },
        )
    }

    /// Loads weights saved by [`Model::to_bytes`], checking every tensor's name and shape
    /// against what `cfg` builds; a mismatch says what differs.
    pub fn from_bytes(cfg: &AeConfig, bytes: &[u8]) -> Result<Model> {
        let loaded = candle_core::safetensors::load_buffer(bytes, &Device::Cpu).map_err(|e| {
            ModelError::Weights {
                reason: e.to_string(),
            }
        })?;
        let expected = match cfg.kind {
            EncoderKind::Autoencoder => Self::init_autoencoder(cfg, 0)?,
            EncoderKind::Pca => Self {
                config: cfg.clone(),
                inner: Inner::Pca {
                    mean: Tensor::zeros((1, cfg.input_len()), DType::F32, &Device::Cpu)?,
                    components: Tensor::zeros(
                        (cfg.latent_dim, cfg.input_len()),
                        DType::F32,
                        &Device::Cpu,
                    )?,
                },
            },
        };
        // Sorted (tensors() sorts), so the first difference reported is always the same one.
        let want_sorted: Vec<(String, Vec<usize>)> = expected
            .tensors()?
            .into_iter()
            .map(|(k, t)| (k, t.dims().to_vec()))
            .collect();
        let want: HashMap<String, Vec<usize>> = want_sorted.iter().cloned().collect();
        for (name, dims) in &want_sorted {
            match loaded.get(name) {
                None => {
                    return Err(ModelError::ConfigMismatch {
                        what: format!("tensor {name} (shape {dims:?}) is missing from the weights"),
                    })
                }
                Some(t) if t.dims() != dims.as_slice() => {
                    return Err(ModelError::ConfigMismatch {
                        what: format!(
                            "{name}: config says shape {dims:?}, weights have {:?}",
                            t.dims()
                        ),
                    })
                }
                _ => {}
            }
        }
        if let Some(extra) = loaded.keys().find(|k| !want.contains_key(*k)) {
            return Err(ModelError::ConfigMismatch {
                what: format!("the weights have a tensor {extra} that the config does not"),
            });
        }
        match expected.inner {
            Inner::Ae { vars, ae } => {
                {
                    let data = vars.data().lock().map_err(|_| ModelError::Weights {
                        reason: "poisoned variable map".into(),
                    })?;
                    for (name, var) in data.iter() {
                        var.set(&loaded[name])?;
                    }
                }
                Ok(Model {
                    config: cfg.clone(),
                    inner: Inner::Ae { vars, ae },
                })
            }
            Inner::Pca { .. } => Ok(Model {
                config: cfg.clone(),
                inner: Inner::Pca {
                    mean: loaded["pca.mean"].clone(),
                    components: loaded["pca.components"].clone(),
                },
            }),
        }
    }

    /// Loads a model from its stored JSON config and weight bytes.
    pub fn from_stored(config_json: &str, weights: &[u8]) -> Result<Model> {
        let cfg: AeConfig = serde_json::from_str(config_json).map_err(|e| ModelError::Config {
            reason: e.to_string(),
        })?;
        Self::from_bytes(&cfg, weights)
    }

    /// A stable hex digest (BLAKE3) of the config and weights: names a model in manifests
    /// and lets an index notice that its graph was built by another model.
    pub fn hash(&self) -> Result<String> {
        let config = serde_json::to_vec(&self.config).map_err(|e| ModelError::Config {
            reason: e.to_string(),
        })?;
        let mut h = blake3::Hasher::new();
        h.update(&config);
        h.update(&self.to_bytes()?);
        Ok(h.finalize().to_hex()[..16].to_string())
    }

    pub fn param_count(&self) -> usize {
        self.tensors()
            .map(|ts| ts.iter().map(|(_, t)| t.elem_count()).sum())
            .unwrap_or(0)
    }
}
