//! The picture "no match" distance: between how far everyday altered copies land from
//! their originals and how close two distinct pictures of the library sit.

use latentid_index::Calibration;
use latentid_media::augment::ImageAugment;
use latentid_media::load_image;
use latentid_store::Item;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{share, CalibrationConfig};
use crate::{Matcher, QueryConfig, Result};

pub(super) fn measure(
    matcher: &Matcher<'_>,
    items: &[Item],
    cfg: &CalibrationConfig,
    calib: &mut Calibration,
) -> Result<()> {
    let store = matcher.index().store();
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let qcfg = QueryConfig::default();
    let mut pos: Vec<f32> = Vec::new();
    let mut other: Vec<f32> = Vec::new();
    for item in items {
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
    Ok(())
}
