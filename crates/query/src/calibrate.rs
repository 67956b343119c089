//! The "no match" threshold, learned from the library itself.
//!
//! A threshold that is right for one library is wrong for another (more tracks means more
//! chance agreement), so it is measured at index time: clips of indexed tracks under noise
//! are the positives; the same clips queried with their own track left out of the votes are
//! the negatives — exactly what a song that is not in the library, but sounds like this
//! library, looks like. (Reversed or sped-up clips are not: they still share patches, and
//! offsets, with their source.) The threshold sits above every negative, with a margin.

use latentid_media::augment::{mix_at_snr, pink_noise, ImageAugment};
use latentid_media::{decode_audio, load_image};
use latentid_store::{ItemKind, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::{Matcher, QueryConfig, Result};

const KEY: &str = "calibration";

/// Thresholds stored in the index manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Audio: the evidence ((agreement − best other agreement) × √patches) at which
    /// confidence is 0.5.
    pub evidence: f32,
    /// Images: the signature distance at which confidence is 0.5.
    pub distance: f32,
    /// Probes it was measured on, and how they fared at the chosen threshold.
    pub positives: usize,
    pub negatives: usize,
    pub positive_recall: f32,
    pub negative_pass: f32,
}

impl Default for Calibration {
    /// Used only for an index that was never calibrated.
    fn default() -> Self {
        Self {
            evidence: 1.0,
            distance: 1.0,
            positives: 0,
            negatives: 0,
            positive_recall: f32::NAN,
            negative_pass: f32::NAN,
        }
    }
}

impl Calibration {
    pub fn load(store: &Store) -> Option<Self> {
        store
            .manifest()
            .extra
            .get(KEY)
            .and_then(|s| serde_json::from_str(s).ok())
    }

    pub fn save(&self, store: &Store) -> Result<()> {
        let mut m = store.manifest();
        m.extra.insert(
            KEY.into(),
            serde_json::to_string(self).unwrap_or_else(|_| "{}".into()),
        );
        store.set_manifest(&m)?;
        Ok(())
    }
}

#[derive(Clone, Debug)]
pub struct CalibrationConfig {
    /// Items probed (spread over the library).
    pub items: usize,
    /// Clip lengths of the probes, seconds.
    pub lengths: Vec<f32>,
    /// SNR of the pink noise on positive probes.
    pub snr_db: f32,
    /// Threshold = margin × the `negative_quantile` of the negatives' evidence.
    pub margin: f32,
    /// Which negative sets the threshold: 0.99 aims at at most 1% false matches. Not the
    /// strongest: games and albums hold variants of one tune ("victory" and "victory2"), and
    /// a clip of one, left out, rightly finds the other — a single such pair must not raise
    /// the bar for every query.
    pub negative_quantile: f32,
    pub seed: u64,
}

impl Default for CalibrationConfig {
    fn default() -> Self {
        Self {
            items: 24,
            lengths: vec![2.0, 5.0, 10.0],
            snr_db: 10.0,
            margin: 1.1,
            negative_quantile: 0.99,
            seed: 7,
        }
    }
}

/// Measures thresholds for the index behind `matcher`, stores them, and returns them.
pub fn calibrate(matcher: &mut Matcher<'_>, cfg: &CalibrationConfig) -> Result<Calibration> {
    let store = matcher.store();
    let mut items = store.items()?;
    let step = (items.len() as f32 / cfg.items.max(1) as f32).max(1.0);
    items = (0..cfg.items.min(items.len()))
        .map(|i| items[(i as f32 * step) as usize].clone())
        .collect();
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let qcfg = QueryConfig::default();
    let mut calib = matcher.calibration().clone();
    match matcher.kind() {
        ItemKind::Audio => {
            let rate = matcher.features().audio.sample_rate;
            let mut pos: Vec<(bool, f32)> = Vec::new();
            let mut neg: Vec<f32> = Vec::new();
            for item in &items {
                let Ok(audio) = decode_audio(&item.path, rate) else {
                    continue;
                };
                for &len_s in &cfg.lengths {
                    let len = (len_s * rate as f32) as usize;
                    if audio.samples.len() <= len {
                        continue;
                    }
                    let start = rng.random_range(0..audio.samples.len() - len);
                    let clip = &audio.samples[start..start + len];
                    let mut noisy = clip.to_vec();
                    mix_at_snr(&mut noisy, &pink_noise(len, &mut rng), cfg.snr_db);
                    if let Some(r) = matcher.query_samples(&noisy, &qcfg)? {
                        let own = r.candidates.iter().find(|c| c.id == item.id);
                        let best_is_own = r.candidates.first().is_some_and(|c| c.id == item.id);
                        pos.push((best_is_own, own.and_then(|c| c.evidence).unwrap_or(0.0)));
                    }
                    for probe in [clip, noisy.as_slice()] {
                        if let Some(r) =
                            matcher.query_samples_excluding(probe, &qcfg, Some(item.id))?
                        {
                            neg.push(r.candidates.first().and_then(|c| c.evidence).unwrap_or(0.0));
                        }
                    }
                }
            }
            neg.sort_by(f32::total_cmp);
            let q = ((neg.len() as f32 * cfg.negative_quantile) as usize)
                .min(neg.len().saturating_sub(1));
            let strong = neg.get(q).copied().unwrap_or(0.0);
            calib.evidence = (strong * cfg.margin).max(0.3);
            calib.positives = pos.len();
            calib.negatives = neg.len();
            calib.positive_recall = share(pos.iter().map(|&(own, e)| own && e >= calib.evidence));
            calib.negative_pass = share(neg.iter().map(|&e| e >= calib.evidence));
        }
        ItemKind::Image => {
            let mut pos: Vec<f32> = Vec::new();
            let mut other: Vec<f32> = Vec::new();
            for item in &items {
                let (_, own) = store.signatures(item.id)?;
                if let Some(n) = store
                    .search(&own, 2)?
                    .into_iter()
                    .find(|n| n.item != item.id)
                {
                    other.push(n.distance);
                }
                let Ok(img) = load_image(&item.path) else {
                    continue;
                };
                // The alterations people make: crops, resizes, re-compression, colour, noise.
                for _ in 0..4 {
                    let altered = ImageAugment::everyday().apply(&img, &mut rng);
                    let cfg = QueryConfig {
                        top: 10,
                        ..qcfg.clone()
                    };
                    let r = matcher.query_image(&altered, &cfg)?;
                    let own = r.candidates.iter().find(|c| c.id == item.id);
                    pos.push(own.and_then(|c| c.distance).unwrap_or(f32::INFINITY));
                }
            }
            pos.sort_by(f32::total_cmp);
            let far_pos = pos
                .get((pos.len() as f32 * 0.95) as usize)
                .or(pos.last())
                .copied()
                .unwrap_or(1.0);
            // Two stored pictures as close as altered copies come to their originals, and far
            // closer than pictures of the library usually are, are one picture stored twice
            // (resized, re-compressed): naming either is right, so they are not the strangers
            // the threshold must keep out — and `duplicates` must be able to group them.
            other.sort_by(f32::total_cmp);
            let typical_other = other.get(other.len() / 2).copied().unwrap_or(f32::INFINITY);
            other.retain(|&d| d > far_pos.min(0.25 * typical_other));
            let near_other = other.first().copied().unwrap_or(f32::INFINITY);
            // Between the loosest copy and the closest two distinct pictures, leaning to the
            // copies, and never past half that closest pair: a picture from outside the library
            // can sit nearer to one of ours than any two of ours sit to each other, and naming
            // it would be worse than missing a heavily altered copy.
            calib.distance = (far_pos * near_other).sqrt().min(0.5 * near_other);
            if !calib.distance.is_finite() {
                // No stranger to keep out (one picture), or copies that never came back: the
                // loosest copy that did, with room.
                let loosest = pos.iter().rev().find(|d| d.is_finite()).copied();
                calib.distance = loosest.unwrap_or(0.5).max(1e-3) * 2.0;
            }
            calib.positives = pos.len();
            calib.negatives = other.len();
            calib.positive_recall = share(pos.iter().map(|&d| d <= calib.distance));
            calib.negative_pass = share(other.iter().map(|&d| d <= calib.distance));
        }
    }
    calib.save(store)?;
    matcher.set_calibration(calib.clone());
    Ok(calib)
}

fn share(it: impl Iterator<Item = bool>) -> f32 {
    let (mut yes, mut n) = (0usize, 0usize);
    for b in it {
        n += 1;
        yes += b as usize;
    }
    if n == 0 {
        f32::NAN
    } else {
        yes as f32 / n as f32
    }
}
