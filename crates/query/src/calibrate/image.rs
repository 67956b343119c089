//! The picture "no match" distance, set by what a picture from outside the library looks
//! like to it.
//!
//! Every probed picture is queried as everyday copies of it (crops, resizes, re-compression,
//! colour and greyscale, small rotations, mirroring, blur, captions, noise) and as itself.
//! The distance to its own picture is a positive; the distance to the nearest *other*
//! picture is a negative — exactly what a picture that is not in the library, but looks
//! like this library, meets. The threshold keeps all but `1 - negative_quantile` of the
//! negatives out, with `margin`; how many positives it names is reported beside it.
//!
//! Two thresholds are measured this way, as a query applies them (named by either): a plain
//! distance, and a ratio (the nearest picture's distance as a share of the [`RATIO_RANK`](latentid_index::RATIO_RANK)-th
//! nearest's). The ratio carries most matches: a few featureless pictures (gradients, blank
//! pages, smooth wallpapers) sit almost on top of each other, and their probes alone keep the
//! distance threshold so tight that most cropped or turned photos fail it (benches/RESULTS.md,
//! pictures); the distance still names a copy of a picture the library holds several times.

use latentid_index::Calibration;
use latentid_media::augment::ImageAugment;
use latentid_media::load_image;
use latentid_store::{Item, ItemId};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{share, CalibrationConfig};
use crate::image::ratio_reference;
use crate::{Matcher, QueryConfig, Result};

/// Everyday copies queried per probed picture (the unaltered picture is one more negative).
const COPIES: usize = 4;

/// Side the probed pictures are scaled to before they are altered: the encoder sees the
/// picture at 64 px, and the index cuts its views from 256 px (`image_views`).
const PROBE_SIDE: u32 = 256;

/// What a query of a probed picture met with its own picture left out: the nearest other
/// picture's distance, and its ratio to the [`RATIO_RANK`](latentid_index::RATIO_RANK)-th's (infinite when fewer came back).
type Negative = (f32, f32);

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
    // Per copy of a probed picture: its own picture's distance anywhere among the candidates
    // (for the twin rule below), and (distance, ratio) when it comes back first.
    let mut own_distance: Vec<f32> = Vec::new();
    let mut positives: Vec<(f32, f32)> = Vec::new();
    // Per probed picture: its negatives and how near its two nearest other stored pictures are.
    let mut probes: Vec<(Vec<Negative>, f32, f32)> = Vec::new();
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
            let distances = |own: Option<ItemId>| -> Vec<f32> {
                r.candidates
                    .iter()
                    .filter(|c| Some(c.id) != own)
                    .filter_map(|c| c.distance)
                    .collect()
            };
            if copy < COPIES {
                let own = r.candidates.iter().find(|c| c.id == item.id);
                own_distance.push(own.and_then(|c| c.distance).unwrap_or(f32::INFINITY));
                let first = r.candidates.first().filter(|c| c.id == item.id);
                positives.push(match first.and_then(|c| c.distance) {
                    Some(d) => (d, ratio(&distances(None), d)),
                    None => (f32::INFINITY, f32::INFINITY),
                });
            }
            // The probe's own picture left out: what a stranger like it meets.
            let others = distances(Some(item.id));
            if let Some(&d) = others.first() {
                neg.push((d, ratio(&others, d)));
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
    own_distance.sort_by(f32::total_cmp);
    // A picture stored twice (resized, re-compressed, cropped) has a twin: naming the twin is
    // right, so its probes are not strangers. A twin is nearer than the median copy, or
    // stands out: much nearer than the next other picture (a stranger's nearest pictures
    // are about as near as each other).
    let median_pos = own_distance
        .get(own_distance.len() / 2)
        .copied()
        .unwrap_or(0.0);
    let strangers: Vec<Negative> = probes
        .into_iter()
        .filter(|&(_, twin, next)| {
            twin > median_pos && !(next.is_finite() && twin < TWIN_RATIO * next)
        })
        .flat_map(|(n, _, _)| n)
        .collect();
    // The ratio carries the matches and keeps out `negative_quantile` of the strangers; the
    // distance, a backstop for very near copies that look-alikes crowd (a picture stored
    // several times), lets in at most half as many more. Both halves of the ratio's share
    // cost the ratio too much: its strongest strangers are copies turned featureless (a
    // brightened pale wallpaper lands on another at distance ~0).
    let backstop = 1.0 - (1.0 - cfg.negative_quantile) / 2.0;
    let margin = cfg.margin.max(1.0);
    calib.distance = match quantile(strangers.iter().map(|s| s.0), backstop) {
        Some(d) => d / margin,
        // No stranger to keep out (one picture): the loosest copy that came back, with room.
        None => {
            let loosest = own_distance.iter().rev().find(|d| d.is_finite()).copied();
            loosest.unwrap_or(0.5).max(1e-3) * 2.0
        }
    };
    // 0: too few pictures for a ratio; queries decide by distance.
    let ratio_max =
        quantile(strangers.iter().map(|s| s.1), cfg.negative_quantile).map_or(0.0, |r| r / margin);
    calib.distance_ratio = Some(ratio_max);
    let named = |&(d, r): &(f32, f32)| d <= calib.distance || r <= ratio_max;
    calib.positives = positives.len();
    calib.negatives = strangers.len();
    calib.positive_recall = share(positives.iter().map(named));
    calib.negative_pass = share(strangers.iter().map(named));
    Ok(())
}

/// `distance` as a share of the ratio test's reference among `distances` (nearest first);
/// infinite when there is none.
fn ratio(distances: &[f32], distance: f32) -> f32 {
    ratio_reference(distances).map_or(f32::INFINITY, |reference| distance / reference)
}

/// The value below which a share `1 - keep_out` of the finite `values` lies (the smallest
/// when there are too few), `None` for none.
fn quantile(values: impl Iterator<Item = f32>, keep_out: f32) -> Option<f32> {
    let mut v: Vec<f32> = values.filter(|x| x.is_finite()).collect();
    v.sort_by(f32::total_cmp);
    let q = (1.0 - keep_out).clamp(0.0, 1.0);
    v.get((v.len() as f32 * q) as usize).or(v.last()).copied()
}
