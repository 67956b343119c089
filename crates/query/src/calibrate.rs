//! The "no match" threshold, learned from the library itself.
//!
//! A threshold that is right for one library is wrong for another (more tracks means more
//! chance agreement), so it is measured at index time: clips of indexed tracks under noise
//! are the positives; the same clips queried with their own track left out of the votes are
//! the negatives — exactly what a song that is not in the library, but sounds like this
//! library, looks like. (Reversed or sped-up clips are not: they still share patches, and
//! offsets, with their source.) The threshold sits above every negative, with a margin.

use latentid_index::{Calibration, Index};
use latentid_media::augment::{mix_at_snr, pink_noise, ImageAugment};
use latentid_media::load_image;
use latentid_store::ItemKind;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{Matcher, QueryConfig, Result};

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
            items: 48,
            lengths: vec![2.0, 5.0, 10.0],
            snr_db: 10.0,
            margin: 1.1,
            negative_quantile: 0.99,
            seed: 7,
        }
    }
}

/// Calibrates `index` when [`Index::needs_calibration`] says so (the library or the model
/// changed since it was last calibrated): the step that follows every ingest.
pub fn calibrate_if_needed(
    index: &mut Index,
    cfg: &CalibrationConfig,
) -> Result<Option<Calibration>> {
    if !index.needs_calibration() {
        return Ok(None);
    }
    Ok(Some(calibrate(index, cfg)?))
}

/// Measures thresholds for `index`, stores them in it, and returns them.
pub fn calibrate(index: &mut Index, cfg: &CalibrationConfig) -> Result<Calibration> {
    let calib = measure(&Matcher::new(index)?, cfg)?;
    index.set_calibration(calib.clone())?;
    index.flush()?;
    Ok(calib)
}

fn measure(matcher: &Matcher<'_>, cfg: &CalibrationConfig) -> Result<Calibration> {
    let index = matcher.index();
    let store = index.store();
    let mut items = store.items()?;
    let step = (items.len() as f32 / cfg.items.max(1) as f32).max(1.0);
    items = (0..cfg.items.min(items.len()))
        .map(|i| items[(i as f32 * step) as usize].clone())
        .collect();
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let qcfg = QueryConfig::default();
    let mut calib = index.calibration().clone();
    match index.kind() {
        ItemKind::Audio => {
            // (own track first, evidence, query patches); negatives as (evidence, query
            // patches), one list per probe length.
            let mut pos: Vec<(bool, f32, usize)> = Vec::new();
            let mut neg: Vec<Vec<(f32, usize)>> = vec![Vec::new(); cfg.lengths.len()];
            for item in &items {
                let Ok(audio) = index.decode_audio(&item.path) else {
                    continue;
                };
                for (li, &len_s) in cfg.lengths.iter().enumerate() {
                    let len = (len_s * index.features().audio.sample_rate as f32) as usize;
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
                        pos.push((
                            best_is_own,
                            own.and_then(|c| c.evidence).unwrap_or(0.0),
                            r.patches,
                        ));
                    }
                    for probe in [clip, noisy.as_slice()] {
                        if let Some(r) =
                            matcher.query_samples_excluding(probe, &qcfg, Some(item.id))?
                        {
                            neg[li].push((
                                r.candidates.first().and_then(|c| c.evidence).unwrap_or(0.0),
                                r.patches,
                            ));
                        }
                    }
                }
            }
            let threshold = |mut e: Vec<f32>| {
                e.sort_by(f32::total_cmp);
                let q = ((e.len() as f32 * cfg.negative_quantile) as usize)
                    .min(e.len().saturating_sub(1));
                (e.get(q).copied().unwrap_or(0.0) * cfg.margin).max(0.3)
            };
            let all: Vec<(f32, usize)> = neg.iter().flatten().copied().collect();
            calib.evidence = threshold(all.iter().map(|n| n.0).collect());
            // Probes of one length have (nearly) one patch count; their median stands for it.
            calib.evidence_by_patches = neg
                .iter()
                .filter_map(|of_len| {
                    let mut patches: Vec<usize> = of_len.iter().map(|n| n.1).collect();
                    patches.sort_unstable();
                    let mid = *patches.get(patches.len() / 2)?;
                    Some((mid as f32, threshold(of_len.iter().map(|n| n.0).collect())))
                })
                .collect();
            calib
                .evidence_by_patches
                .sort_by(|a, b| a.0.total_cmp(&b.0));
            calib.positives = pos.len();
            calib.negatives = all.len();
            calib.positive_recall = share(
                pos.iter()
                    .map(|&(own, e, n)| own && e >= calib.evidence_for(n)),
            );
            calib.negative_pass = share(all.iter().map(|&(e, n)| e >= calib.evidence_for(n)));
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
