//! The audio "no match" threshold: evidence of clips of indexed tracks queried with their own
//! track left out (negatives: what a song that is not in the library, but sounds like it,
//! looks like), per clip length; noisy clips with their track in place (positives) say how
//! many real queries the threshold lets through.

use std::collections::{BTreeMap, BTreeSet};

use latentid_index::Calibration;
use latentid_media::augment::{mix_at_snr, pink_noise};
use latentid_media::decode_audio_windows;
use latentid_store::{Item, ItemId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::{pair, share, CalibrationConfig};
use crate::{Matcher, QueryConfig, Result};

/// One probe with its own track left out: the strongest other track it found.
#[derive(Clone, Copy)]
struct Negative {
    length: usize,
    evidence: f32,
    patches: usize,
    probe: ItemId,
    found: Option<ItemId>,
}

/// One noisy probe with its own track in place.
struct Positive {
    length: usize,
    own_first: bool,
    evidence: f32,
    patches: usize,
}

/// One probe clip: its length's index in [`CalibrationConfig::lengths`], its samples, and
/// the pink noise its noisy copy gets.
struct Probe {
    length: usize,
    clip: Vec<f32>,
    noise: Vec<f32>,
}

/// The probe clips of one item: per clip length, up to `per_item` clips at random places
/// (no more than the track holds end to end), each with the pink noise its noisy copy gets.
/// Only the clips are decoded out of the file (the item's stored duration places them), so a
/// three-hour recording is probed without holding it. `None` when the file cannot be read.
fn probe_clips(
    index: &latentid_index::Index,
    item: &Item,
    i: usize,
    per_item: usize,
    cfg: &CalibrationConfig,
) -> Option<Vec<Probe>> {
    let rate = index.features().audio.sample_rate;
    // An item stored without its duration (older indexes) is decoded whole, once.
    let (whole, total) = match item.duration_s {
        Some(d) => (None, (f64::from(d) * f64::from(rate)).round() as usize),
        None => {
            let samples = index.decode_audio(&item.path).ok()?.samples;
            let n = samples.len();
            (Some(samples), n)
        }
    };
    let mut rng = StdRng::seed_from_u64(cfg.seed.wrapping_add(i as u64));
    let mut plan = Vec::new();
    for (li, &len_s) in cfg.lengths.iter().enumerate() {
        let len = (len_s * rate as f32) as usize;
        if total <= len {
            continue;
        }
        for _ in 0..per_item.min(total.div_ceil(len)) {
            let start = rng.random_range(0..total - len);
            plan.push((li, start..start + len, pink_noise(len, &mut rng)));
        }
    }
    let windows: Vec<_> = plan.iter().map(|(_, w, _)| w.clone()).collect();
    let clips = match whole {
        Some(samples) => windows
            .iter()
            .map(|w| samples[w.clone()].to_vec())
            .collect(),
        None => decode_audio_windows(&item.path, rate, &windows).ok()?.0,
    };
    Some(
        plan.into_iter()
            .zip(clips)
            // A stored duration a little longer than the decode leaves a clip short.
            .filter(|((_, w, _), clip)| clip.len() == w.len())
            .map(|((length, _, noise), clip)| Probe {
                length,
                clip,
                noise,
            })
            .collect(),
    )
}

pub(super) fn measure(
    matcher: &Matcher<'_>,
    items: &[Item],
    cfg: &CalibrationConfig,
    calib: &mut Calibration,
) -> Result<()> {
    let index = matcher.index();
    let qcfg = QueryConfig::default();
    // Clips per item and length: enough probes that the 0.99 quantile rests on many of them.
    let per_item = cfg.probes_per_length.div_ceil(items.len().max(1)).max(1);
    let probed: Vec<Result<(Vec<Positive>, Vec<Negative>)>> = items
        .par_iter()
        .enumerate()
        .map(|(i, item)| {
            let mut pos = Vec::new();
            let mut neg = Vec::new();
            let Some(probes) = probe_clips(index, item, i, per_item, cfg) else {
                return Ok((pos, neg));
            };
            for Probe {
                length: li,
                clip,
                noise,
            } in probes
            {
                let mut noisy = clip.clone();
                mix_at_snr(&mut noisy, &noise, cfg.snr_db);
                let mut left_out = Vec::new();
                if let Some((with, without)) =
                    matcher.query_samples_with_and_without(&noisy, &qcfg, item.id)?
                {
                    let own = with.candidates.iter().find(|c| c.id == item.id);
                    pos.push(Positive {
                        length: li,
                        own_first: with.candidates.first().is_some_and(|c| c.id == item.id),
                        evidence: own.and_then(|c| c.evidence).unwrap_or(0.0),
                        patches: with.patches,
                    });
                    left_out.push(without);
                }
                if let Some(r) = matcher.query_samples_excluding(&clip, &qcfg, Some(item.id))? {
                    left_out.push(r);
                }
                for r in left_out {
                    let top = r.candidates.first();
                    neg.push(Negative {
                        length: li,
                        evidence: top.and_then(|c| c.evidence).unwrap_or(0.0),
                        patches: r.patches,
                        probe: item.id,
                        found: top.map(|c| c.id),
                    });
                }
            }
            Ok((pos, neg))
        })
        .collect();
    let mut pos = Vec::new();
    let mut neg = Vec::new();
    for r in probed {
        let (p, n) = r?;
        pos.extend(p);
        neg.extend(n);
    }

    // Variants of one tune ("victory" and "victory2", a loop and its intro) find each other
    // when left out, rightly: such a pair must not raise the bar for every query. Pairs whose
    // probes find each other above a first threshold again and again are set aside. That
    // first threshold is the lower of the quantile rule and half the typical evidence of
    // clips that found their own track: in a small library one pair of variants can be a
    // large share of the negatives, and set the quantile itself.
    let provisional: Vec<f32> = thresholds(&neg, cfg, &BTreeSet::new())
        .into_iter()
        .enumerate()
        .map(|(li, t)| {
            let mut found: Vec<f32> = pos
                .iter()
                .filter(|p| p.length == li && p.own_first)
                .map(|p| p.evidence)
                .collect();
            found.sort_by(f32::total_cmp);
            match found.get(found.len() / 2) {
                Some(&median) => t.min((0.5 * median).max(cfg.floor)),
                None => t,
            }
        })
        .collect();
    let mut hits: BTreeMap<(ItemId, ItemId), usize> = BTreeMap::new();
    for n in &neg {
        if let Some(found) = n.found {
            if n.evidence >= provisional[n.length] {
                *hits.entry(pair(n.probe, found)).or_default() += 1;
            }
        }
    }
    let variants: BTreeSet<(ItemId, ItemId)> = hits
        .into_iter()
        .filter(|&(_, count)| count >= cfg.variant_hits)
        .map(|(p, _)| p)
        .collect();
    let by_length = thresholds(&neg, cfg, &variants);
    let kept: Vec<&Negative> = neg.iter().filter(|n| !is_variant(n, &variants)).collect();

    calib.evidence = threshold_of(kept.iter().map(|n| n.evidence).collect(), cfg);
    // Probes of one length have (nearly) one patch count; their median stands for it.
    calib.evidence_by_patches = (0..cfg.lengths.len())
        .filter_map(|li| {
            let mut patches: Vec<usize> = kept
                .iter()
                .filter(|n| n.length == li)
                .map(|n| n.patches)
                .collect();
            patches.sort_unstable();
            let mid = *patches.get(patches.len() / 2)?;
            Some((mid as f32, by_length[li]))
        })
        .collect();
    calib
        .evidence_by_patches
        .sort_by(|a, b| a.0.total_cmp(&b.0));
    calib.variant_pairs = variants.into_iter().collect();
    calib.positives = pos.len();
    calib.negatives = kept.len();
    calib.positive_recall = share(
        pos.iter()
            .map(|p| p.own_first && p.evidence >= calib.evidence_for(p.patches)),
    );
    calib.negative_pass = share(
        kept.iter()
            .map(|n| n.evidence >= calib.evidence_for(n.patches)),
    );
    Ok(())
}

fn is_variant(n: &Negative, variants: &BTreeSet<(ItemId, ItemId)>) -> bool {
    n.found
        .is_some_and(|found| variants.contains(&pair(n.probe, found)))
}

/// The threshold per probe length, the variant pairs' hits left out.
fn thresholds(
    neg: &[Negative],
    cfg: &CalibrationConfig,
    variants: &BTreeSet<(ItemId, ItemId)>,
) -> Vec<f32> {
    (0..cfg.lengths.len())
        .map(|li| {
            threshold_of(
                neg.iter()
                    .filter(|n| n.length == li && !is_variant(n, variants))
                    .map(|n| n.evidence)
                    .collect(),
                cfg,
            )
        })
        .collect()
}

/// `margin` × the `negative_quantile` of the negatives' evidence, never below `floor`.
fn threshold_of(mut evidence: Vec<f32>, cfg: &CalibrationConfig) -> f32 {
    evidence.sort_by(f32::total_cmp);
    let q = ((evidence.len() as f32 * cfg.negative_quantile) as usize)
        .min(evidence.len().saturating_sub(1));
    (evidence.get(q).copied().unwrap_or(0.0) * cfg.margin).max(cfg.floor)
}
