//! The audio "no match" threshold: evidence of noisy clips of indexed tracks (positives)
//! against the same clips with their own track left out (negatives), per clip length.

use latentid_index::Calibration;
use latentid_media::augment::{mix_at_snr, pink_noise};
use latentid_store::Item;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{share, CalibrationConfig};
use crate::{Matcher, QueryConfig, Result};

pub(super) fn measure(
    matcher: &Matcher<'_>,
    items: &[Item],
    cfg: &CalibrationConfig,
    calib: &mut Calibration,
) -> Result<()> {
    let index = matcher.index();
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let qcfg = QueryConfig::default();
    // (own track first, evidence, query patches); negatives as (evidence, query
    // patches), one list per probe length.
    let mut pos: Vec<(bool, f32, usize)> = Vec::new();
    let mut neg: Vec<Vec<(f32, usize)>> = vec![Vec::new(); cfg.lengths.len()];
    for item in items {
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
                if let Some(r) = matcher.query_samples_excluding(probe, &qcfg, Some(item.id))? {
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
        let q = ((e.len() as f32 * cfg.negative_quantile) as usize).min(e.len().saturating_sub(1));
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
    Ok(())
}
