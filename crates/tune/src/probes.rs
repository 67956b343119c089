//! The distorted queries a sweep asks of every latent size: made once, from a fixed,
//! seeded split of the library into indexed and held-out items.

use std::path::{Path, PathBuf};

use latentid_index::Failure;
use latentid_media::augment::{mix_at_snr, pink_noise, ImageAugment};
use latentid_media::{decode_audio, load_image, DynamicImage, MediaError};
use latentid_store::ItemKind;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;

use crate::{Result, TuneConfig, TuneError};

pub(crate) enum Input {
    Audio(Vec<f32>),
    Image(DynamicImage),
}

/// One distorted query, made once and asked of every size.
pub(crate) struct Probe {
    pub path: PathBuf,
    /// In the index (its own item must be named) or held out (nothing must be).
    pub indexed: bool,
    /// Audio: the analysis frame of the track where the clip starts (a multiple of the
    /// index hop, so the clip's patches line up with stored signatures).
    pub start_frame: u32,
    pub input: Input,
}

/// Keeps a fixed, seeded share of the items out of every index.
pub(crate) fn split(
    mut items: Vec<PathBuf>,
    share: f32,
    seed: u64,
    kind: ItemKind,
) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    const NEEDED: usize = 3;
    if items.len() < NEEDED {
        return Err(TuneError::TooFewItems {
            kind: kind.name(),
            found: items.len(),
            needed: NEEDED,
        });
    }
    let n = items.len();
    let held = ((n as f32 * share.clamp(0.0, 1.0)).round() as usize).clamp(1, n - 2);
    items.sort();
    items.shuffle(&mut StdRng::seed_from_u64(seed));
    let mut heldout = items.split_off(n - held);
    items.sort();
    heldout.sort();
    Ok((items, heldout))
}

/// At most `max` of `items`, evenly spread.
pub(crate) fn spread(items: &[PathBuf], max: usize) -> Vec<PathBuf> {
    let n = items.len();
    let k = max.max(1).min(n);
    (0..k).map(|i| items[i * n / k].clone()).collect()
}

fn probe_seed(seed: u64, file: usize, held: bool) -> u64 {
    seed ^ ((file as u64 + 1) << 1 | held as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Distorted clips (or altered copies) of the queried items, and clean and distorted
/// ones of the held-out items. Decoded once, in parallel, each file with its own seed.
pub(crate) fn make_probes(
    queried: &[PathBuf],
    heldout: &[PathBuf],
    kind: ItemKind,
    cfg: &TuneConfig,
) -> (Vec<Probe>, Vec<Failure>) {
    let jobs: Vec<(usize, &PathBuf, bool)> = queried
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p, true))
        .chain(heldout.iter().enumerate().map(|(i, p)| (i, p, false)))
        .collect();
    let made: Vec<std::result::Result<Vec<Probe>, Failure>> = jobs
        .into_par_iter()
        .map(|(i, path, indexed)| {
            let mut rng = StdRng::seed_from_u64(probe_seed(cfg.seed, i, !indexed));
            let r = match kind {
                ItemKind::Audio => audio_probes(path, indexed, cfg, &mut rng),
                ItemKind::Image => image_probes(path, indexed, cfg, &mut rng),
            };
            r.map_err(|e| Failure::new(path.clone(), e))
        })
        .collect();
    let mut probes = Vec::new();
    let mut failed = Vec::new();
    for m in made {
        match m {
            Ok(p) => probes.extend(p),
            Err(f) => failed.push(f),
        }
    }
    (probes, failed)
}

fn audio_probes(
    path: &Path,
    indexed: bool,
    cfg: &TuneConfig,
    rng: &mut StdRng,
) -> std::result::Result<Vec<Probe>, MediaError> {
    let p = &cfg.features.audio;
    let audio = decode_audio(path, p.sample_rate)?;
    let len = ((cfg.clip_s * p.sample_rate as f32) as usize).min(audio.samples.len());
    // Clip starts on the index's grid: the clip's patches are then the stored ones, distorted.
    let grid = p.hop * cfg.features.index_hop_frames.max(1);
    let positions = (audio.samples.len() - len) / grid + 1;
    let starts =
        rand::seq::index::sample(rng, positions, cfg.clips_per_item.clamp(1, positions)).into_vec();
    let mut out = Vec::new();
    for s in starts {
        let start = s * grid;
        let clean = &audio.samples[start..start + len];
        let mut noisy = clean.to_vec();
        mix_at_snr(&mut noisy, &pink_noise(len, rng), cfg.snr_db);
        let start_frame = (s * cfg.features.index_hop_frames) as u32;
        if !indexed {
            // A song that is not in the library must not be named, noisy or not.
            out.push(Probe {
                path: path.to_path_buf(),
                indexed,
                start_frame,
                input: Input::Audio(clean.to_vec()),
            });
        }
        out.push(Probe {
            path: path.to_path_buf(),
            indexed,
            start_frame,
            input: Input::Audio(noisy),
        });
    }
    Ok(out)
}

fn image_probes(
    path: &Path,
    indexed: bool,
    cfg: &TuneConfig,
    rng: &mut StdRng,
) -> std::result::Result<Vec<Probe>, MediaError> {
    // Alterations are drawn on a bounded copy: wallpapers can be 8K, the encoder sees 64 px.
    let keep = cfg.features.image.size.max(64) * 8;
    let img = load_image(path)?.thumbnail(keep, keep);
    let augment = ImageAugment::default();
    let mut out: Vec<Probe> = (0..cfg.clips_per_item.max(1))
        .map(|_| Probe {
            path: path.to_path_buf(),
            indexed,
            start_frame: 0,
            input: Input::Image(augment.apply(&img, rng)),
        })
        .collect();
    if !indexed {
        out.push(Probe {
            path: path.to_path_buf(),
            indexed,
            start_frame: 0,
            input: Input::Image(img),
        });
    }
    Ok(out)
}
