#![allow(clippy::unwrap_used)]

use std::path::Path;

use latentid_media::augment::{mix_at_snr, pink_noise};
use latentid_media::{decode_audio, normalise_patch, AudioParams, MelExtractor};
use latentid_model::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Smooth random "spectrogram" rows with additive noise as the corruption.
struct Synthetic {
    rows: Vec<Vec<f32>>,
}

impl Synthetic {
    fn new(n: usize, len: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(1);
        let rows = (0..n)
            .map(|_| {
                let (a, f, p) = (
                    rng.random_range(0.5..2.0),
                    rng.random_range(0.05..0.4),
                    rng.random_range(0.0..6.0),
                );
                let mut r: Vec<f32> = (0..len).map(|j| a * (f * j as f32 + p).sin()).collect();
                normalise_patch(&mut r);
                r
            })
            .collect();
        Self { rows }
    }
}

impl TrainingData for Synthetic {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn input_len(&self) -> usize {
        self.rows[0].len()
    }
    fn pair(&self, index: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
        let mut rng = StdRng::seed_from_u64(seed ^ index as u64);
        let clean = self.rows[index].clone();
        let noisy = clean
            .iter()
            .map(|x| x + rng.random_range(-0.3..0.3))
            .collect();
        (clean, noisy)
    }
}

fn small(latent: usize) -> AeConfig {
    AeConfig {
        hidden: vec![64, 32],
        ..AeConfig::audio(8, 8, latent)
    }
}

#[test]
fn training_lowers_the_loss() {
    let data = Synthetic::new(400, 64);
    let mut reports = Vec::new();
    // Reconstruction alone: the contrastive term has a test of its own.
    let tc = TrainConfig {
        max_epochs: Some(8),
        patience: 8,
        contrastive_weight: Some(0.0),
        ..TrainConfig::tiny()
    };
    train(&small(8), &tc, &data, &mut |r| reports.push(r.clone())).unwrap();
    assert!(reports.len() >= 2);
    let (first, last) = (&reports[0], reports.last().unwrap());
    assert!(
        last.val_loss < 0.8 * first.val_loss,
        "val loss {} -> {}",
        first.val_loss,
        last.val_loss
    );
    assert!(last.recon_loss < first.recon_loss);
}

#[test]
fn the_same_seed_trains_the_same_model_and_encoding_is_deterministic() {
    let data = Synthetic::new(100, 64);
    let a = train(&small(4), &TrainConfig::tiny(), &data, &mut |_| {}).unwrap();
    let b = train(&small(4), &TrainConfig::tiny(), &data, &mut |_| {}).unwrap();
    assert_eq!(a.hash().unwrap(), b.hash().unwrap());
    let x: Vec<f32> = data.rows[..10].concat();
    assert_eq!(a.encode(&x).unwrap(), a.encode(&x).unwrap());
    let e = a.encode(&x).unwrap();
    assert_eq!((e.dim, e.codes.len(), e.recon_error.len()), (4, 40, 10));
}

#[test]
fn saved_weights_load_to_bit_identical_codes() {
    let data = Synthetic::new(100, 64);
    for kind in [EncoderKind::Autoencoder, EncoderKind::Pca] {
        let cfg = AeConfig {
            kind: kind.clone(),
            ..small(6)
        };
        let m = train(&cfg, &TrainConfig::tiny(), &data, &mut |_| {}).unwrap();
        let bytes = m.to_bytes().unwrap();
        let back = Model::from_bytes(&cfg, &bytes).unwrap();
        let json = serde_json::to_string(&cfg).unwrap();
        let stored = Model::from_stored(&json, &bytes).unwrap();
        let x: Vec<f32> = data.rows[..20].concat();
        assert_eq!(m.encode(&x).unwrap(), back.encode(&x).unwrap(), "{kind:?}");
        assert_eq!(
            m.encode(&x).unwrap(),
            stored.encode(&x).unwrap(),
            "{kind:?}"
        );
        assert_eq!(m.hash().unwrap(), back.hash().unwrap());
        assert_eq!(m.param_count(), back.param_count());
    }
}

#[test]
fn weights_of_another_config_are_refused_with_what_differs() {
    let data = Synthetic::new(50, 64);
    let m = train(&small(6), &TrainConfig::tiny(), &data, &mut |_| {}).unwrap();
    let bytes = m.to_bytes().unwrap();
    let e = Model::from_bytes(&small(7), &bytes).unwrap_err();
    assert!(matches!(e, ModelError::ConfigMismatch { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("config says shape [") && msg.contains("7") && msg.contains("weights have"),
        "{msg}"
    );
    let wider = AeConfig {
        hidden: vec![64, 48],
        ..small(6)
    };
    assert!(matches!(
        Model::from_bytes(&wider, &bytes),
        Err(ModelError::ConfigMismatch { .. })
    ));
    assert!(matches!(
        Model::from_bytes(&small(6), b"not safetensors"),
        Err(ModelError::Weights { .. })
    ));
    assert!(matches!(
        m.encode(&[0.0; 63]),
        Err(ModelError::InputLength {
            expected: 64,
            got: 63
        })
    ));
}

#[test]
fn pca_reconstructs_better_than_a_random_projection() {
    let data = Synthetic::new(300, 64);
    let cfg = AeConfig {
        kind: EncoderKind::Pca,
        ..small(4)
    };
    let pca = train(&cfg, &TrainConfig::tiny(), &data, &mut |_| {}).unwrap();
    let x: Vec<f32> = data.rows.concat();
    let pca_err: f32 = pca.encode(&x).unwrap().recon_error.iter().sum();
    // An untrained autoencoder is a random (nonlinear) projection of the same size.
    let random = train(
        &small(4),
        &TrainConfig {
            max_epochs: Some(1),
            max_examples: Some(2),
            ..TrainConfig::tiny()
        },
        &data,
        &mut |_| {},
    )
    .unwrap();
    let rand_err: f32 = random.encode(&x).unwrap().recon_error.iter().sum();
    assert!(
        pca_err < 0.5 * rand_err,
        "pca {pca_err} vs random {rand_err}"
    );
}

/// Real patches of the fixture music with light noise: the property matching relies on.
struct FixturePatches {
    segments: Vec<Vec<f32>>,
    mel: MelExtractor,
    p: AudioParams,
}

impl FixturePatches {
    fn patch(&self, samples: &[f32]) -> Vec<f32> {
        let mut d = self.mel.compute(&samples[..self.p.patch_samples()]).data;
        d.truncate(self.p.patch_len());
        normalise_patch(&mut d);
        d
    }
}

impl TrainingData for FixturePatches {
    fn len(&self) -> usize {
        self.segments.len()
    }
    fn input_len(&self) -> usize {
        self.p.patch_len()
    }
    fn pair(&self, index: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
        let mut rng = StdRng::seed_from_u64(seed ^ index as u64);
        let seg = &self.segments[index];
        let mut noisy = seg.clone();
        mix_at_snr(
            &mut noisy,
            &pink_noise(seg.len(), &mut rng),
            rng.random_range(5.0..20.0),
        );
        (self.patch(seg), self.patch(&noisy))
    }
}

#[test]
fn a_lightly_corrupted_patch_stays_closer_than_another_patch() {
    let p = AudioParams::default();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/audio");
    let mut segments = Vec::new();
    for name in [
        "battle.ogg",
        "northerners.mp3",
        "knolls.flac",
        "wanderer.wav",
    ] {
        let a = decode_audio(&dir.join(name), p.sample_rate)
            .unwrap()
            .samples;
        for s in (0..a.len() - p.patch_samples()).step_by(2000) {
            segments.push(a[s..s + p.patch_samples()].to_vec());
        }
    }
    let data = FixturePatches {
        segments,
        mel: MelExtractor::new(&p),
        p: p.clone(),
    };
    let cfg = AeConfig::audio(p.n_mels, p.patch_frames, 16);
    let tc = TrainConfig {
        max_examples: Some(300),
        ..TrainConfig::tiny()
    };
    let model = train(&cfg, &tc, &data, &mut |_| {}).unwrap();
    let dist = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f32>()
            .sqrt()
    };
    let (mut same, mut other) = (0f32, 0f32);
    let probes: Vec<usize> = (0..data.len()).step_by(data.len() / 20).collect();
    for (k, &i) in probes.iter().enumerate() {
        let (clean, _) = data.pair(i, 0);
        let mut noisy_wave = data.segments[i].clone();
        let noise = pink_noise(noisy_wave.len(), &mut StdRng::seed_from_u64(i as u64));
        mix_at_snr(&mut noisy_wave, &noise, 20.0);
        let noisy = data.patch(&noisy_wave);
        let j = probes[(k + probes.len() / 2) % probes.len()];
        let (far, _) = data.pair(j, 0);
        let codes = model.encode(&[clean, noisy, far].concat()).unwrap().codes;
        same += dist(&codes[..16], &codes[16..32]);
        other += dist(&codes[..16], &codes[32..]);
    }
    assert!(
        same * 2.0 < other,
        "corrupted copies at mean distance {} vs other patches {}",
        same,
        other
    );
}

#[test]
fn the_contrastive_term_makes_copies_find_their_own_code_and_codes_unit_length() {
    let data = Synthetic::new(256, 64);
    let cfg = AeConfig {
        normalize: true,
        ..small(8)
    };
    let tc = TrainConfig {
        max_epochs: Some(10),
        patience: 10,
        contrastive_weight: Some(1.0),
        ..TrainConfig::tiny()
    };
    let mut reports = Vec::new();
    let model = train(&cfg, &tc, &data, &mut |r| reports.push(r.clone())).unwrap();
    let (first, last) = (&reports[0], reports.last().unwrap());
    assert!(
        last.contrastive_loss < 0.7 * first.contrastive_loss,
        "contrastive loss {} -> {}",
        first.contrastive_loss,
        last.contrastive_loss
    );
    // Signatures are unit vectors, and a corrupted copy's nearest clean code is its own.
    let clean: Vec<f32> = data.rows.concat();
    let codes = model.encode(&clean).unwrap().codes;
    for c in codes.chunks(8) {
        let norm = c.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
    let mut own = 0;
    for i in 0..64 {
        let noisy = model.encode(&data.pair(i, 99).1).unwrap().codes;
        let nearest = codes
            .chunks(8)
            .enumerate()
            .map(|(j, c)| {
                (
                    c.iter()
                        .zip(&noisy)
                        .map(|(a, b)| (a - b).powi(2))
                        .sum::<f32>(),
                    j,
                )
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap()
            .1;
        own += (nearest == i) as usize;
    }
    assert!(own >= 48, "{own} of 64 copies found their own clean code");
}
