//! The picture "no match" distance, set by what a picture from outside the library looks
//! like to it.
//!
//! Every probed picture is queried as everyday copies of it (crops, resizes, re-compression,
//! colour and greyscale, small rotations, mirroring, blur, captions, noise) and as itself.
//! The distance to its own picture is a positive; the distance to the nearest *other*
//! picture is a negative — exactly what a picture that is not in the library, but looks
//! like this library, meets. The threshold keeps all but `1 - negative_quantile` of the
//! negatives out, with `margin`; how many positives it names is reported beside it.

use latentid_index::Calibration;
use latentid_media::augment::ImageAugment;
use latentid_media::load_image;
use latentid_store::{Item, ItemId};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{share, CalibrationConfig};
use crate::{Matcher, QueryConfig, Result};

/// Everyday copies queried per probed picture (the unaltered picture is one more negative).
const COPIES: usize = 4;

/// Side the probed pictures are scaled to before they are altered: the encoder sees the
/// picture at 64 px, and the index cuts its views from 256 px (`image_views`).
const PROBE_SIDE: u32 = 256;

/// A stored picture nearer than this share of the next other picture's distance is a twin
/// of the probed picture (the same picture stored twice), not a stranger to it.
const TWIN_RATIO: f32 = 0.5;

pub(super) fn measure(
    matcher: &Matcher<'_>,
    items: &[Item],
    cfg: &CalibrationConfig,
    calib: &mut Calibration,
) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let qcfg = QueryConfig {
        top: 10,
        ..QueryConfig::default()
    };
    let everyday = ImageAugment::everyday();
    let mut pos: Vec<f32> = Vec::new();
    // Per probed picture: its negatives and how near its two nearest other stored pictures are.
    let mut probes: Vec<(Vec<f32>, f32, f32)> = Vec::new();
    for item in items {
        let Ok(img) = load_image(&item.path) else {
            continue;
        };
        let img = img.thumbnail(PROBE_SIDE, PROBE_SIDE);
        let mut neg = Vec::new();
        for copy in 0..=COPIES {
            let altered = if copy < COPIES {
                everyday.apply(&img, &mut rng)
            } else {
                img.clone()
            };
            let r = matcher.query_image(&altered, &qcfg)?;
            if copy < COPIES {
                let own = r.candidates.iter().find(|c| c.id == item.id);
                pos.push(own.and_then(|c| c.distance).unwrap_or(f32::INFINITY));
            }
            if let Some(d) = nearest_other(&r.candidates, item.id) {
                neg.push(d);
            }
        }
        let others = matcher.similar(item.id, &qcfg)?.candidates;
        let at = |i: usize| {
            others
                .get(i)
                .and_then(|c| c.distance)
                .unwrap_or(f32::INFINITY)
        };
        probes.push((neg, at(0), at(1)));
    }
    pos.sort_by(f32::total_cmp);
    // A picture stored twice (resized, re-compressed, cropped) has a twin: naming the twin is
    // right, so its probes are not strangers. A twin is nearer than the median copy, or
    // stands out: much nearer than the next other picture (a stranger's nearest pictures
    // are about as near as each other).
    let median_pos = pos.get(pos.len() / 2).copied().unwrap_or(0.0);
    let mut neg: Vec<f32> = probes
        .into_iter()
        .filter(|&(_, twin, next)| {
            twin > median_pos && !(next.is_finite() && twin < TWIN_RATIO * next)
        })
        .flat_map(|(n, _, _)| n)
        .collect();
    neg.sort_by(f32::total_cmp);
    let q = (1.0 - cfg.negative_quantile).clamp(0.0, 1.0);
    calib.distance = match neg.get((neg.len() as f32 * q) as usize).or(neg.last()) {
        Some(&d) => d / cfg.margin.max(1.0),
        // No stranger to keep out (one picture): the loosest copy that came back, with room.
        None => {
            let loosest = pos.iter().rev().find(|d| d.is_finite()).copied();
            loosest.unwrap_or(0.5).max(1e-3) * 2.0
        }
    };
    calib.positives = pos.len();
    calib.negatives = neg.len();
    calib.positive_recall = share(pos.iter().map(|&d| d <= calib.distance));
    calib.negative_pass = share(neg.iter().map(|&d| d <= calib.distance));
    Ok(())
}

fn nearest_other(candidates: &[crate::Candidate], own: ItemId) -> Option<f32> {
    candidates
        .iter()
        .filter(|c| c.id != own)
        .filter_map(|c| c.distance)
        .reduce(f32::min)
}
