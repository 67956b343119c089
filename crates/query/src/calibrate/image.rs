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
//! Four thresholds are measured this way, as a query applies them (named by any): the view
//! vote's score ([`crate::view_vote`]), a ratio (the nearest picture's distance as a share of
//! the [`RATIO_RANK`](latentid_index::RATIO_RANK)-th nearest's), a plain distance, and the
//! likeness of the likest of the first candidates' sketches to the query's. The vote carries
//! turned, recoloured, captioned and noisy copies, the ratio crops, the likeness copies whose
//! colours or noise moved their signatures too far for the other two; the distance
//! alone would be useless as the rule: a few featureless pictures (gradients, blank pages,
//! smooth wallpapers) sit almost on top of each other, and their probes alone keep it so
//! tight that most cropped or turned photos fail it (benches/RESULTS.md, pictures). It still
//! names a copy of a picture the library holds several times.

use std::collections::{BTreeMap, BTreeSet};

use latentid_index::Calibration;
use latentid_media::augment::ImageAugment;
use latentid_media::load_image;
use latentid_store::{Item, ItemId};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{pair, share, CalibrationConfig};
use crate::image::{ratio_reference, Found};
use crate::view_vote::ties;
use crate::{Matcher, QueryConfig, Result};

/// Everyday copies queried per probed picture (the unaltered picture is one more negative).
const COPIES: usize = 4;

/// Side the probed pictures are scaled to before they are altered: the encoder sees the
/// picture at 64 px, and the index cuts its views from 256 px (`image_views`).
const PROBE_SIDE: u32 = 256;

/// The lowest likeness a calibration may set: a gradient correlation of 0.5 between two
/// sketches is more than a picture from elsewhere reached with any of its first candidates
/// on the image benchmark (benches/RESULTS.md, "The likeness check").
const MIN_LIKENESS: f32 = 0.5;

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
    // Per copy of a probed picture: its own picture's distance anywhere among the found
    // pictures (for the twin rule below), and (distance, ratio, view-vote score) by the rule
    // that puts it first (infinite distance and ratio, score 0, when that rule does not).
    let mut own_distance: Vec<f32> = Vec::new();
    let mut positives: Vec<Probe> = Vec::new();
    // Per probed picture: its negatives and how near its two nearest other stored pictures are.
    let mut probes: Vec<(ItemId, Vec<Probe>, f32, f32)> = Vec::new();
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
            let probe = matcher.probe_image(&altered, &qcfg, true)?;
            if copy < COPIES {
                let found = probe.found(None);
                let own = found.nearest.iter().find(|(id, _)| *id == item.id);
                own_distance.push(own.map_or(f32::INFINITY, |(_, d)| *d));
                let likest = matcher.likest(&probe, &found.ranked())?;
                positives.push(Probe::of(&found, Some(item.id)).liking(likest, Some(item.id)));
            }
            // The probe's own picture left out: what a stranger like it meets.
            let found = probe.found(Some(item.id));
            let likest = matcher.likest(&probe, &found.ranked())?;
            neg.push(Probe::of(&found, None).liking(likest, None));
        }
        let others = matcher.similar(item.id, &qcfg)?.candidates;
        let at = |i: usize| {
            others
                .get(i)
                .and_then(|c| c.distance)
                .unwrap_or(f32::INFINITY)
        };
        probes.push((item.id, neg, at(0), at(1)));
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
    let strangers: Vec<(ItemId, Probe)> = probes
        .into_iter()
        .filter(|&(_, _, twin, next)| {
            twin > median_pos && !(next.is_finite() && twin < TWIN_RATIO * next)
        })
        .flat_map(|(id, n, _, _)| n.into_iter().map(move |p| (id, p)))
        .collect();
    // The ratio and the view vote carry the matches and each keeps out `negative_quantile`
    // of the strangers; the distance, a backstop for very near copies that look-alikes crowd
    // (a picture stored several times), lets in at most half as many more. Both halves of
    // the ratio's share cost the ratio too much: its strongest strangers are copies turned
    // featureless (a brightened pale wallpaper lands on another at distance ~0).
    let backstop = 1.0 - (1.0 - cfg.negative_quantile) / 2.0;
    let margin = cfg.margin.max(1.0);
    calib.distance = match quantile(strangers.iter().map(|(_, s)| s.distance), backstop) {
        Some(d) => d / margin,
        // No stranger to keep out (one picture): the loosest copy that came back, with room.
        None => {
            let loosest = own_distance.iter().rev().find(|d| d.is_finite()).copied();
            loosest.unwrap_or(0.5).max(1e-3) * 2.0
        }
    };
    // 0: too few pictures for a ratio or a vote; queries decide by distance.
    let ratio_max = quantile(
        strangers.iter().map(|(_, s)| s.ratio),
        cfg.negative_quantile,
    )
    .map_or(0.0, |r| r / margin);
    calib.distance_ratio = Some(ratio_max);
    let variants = variant_pairs(&strangers, &positives, cfg);
    // The look-alike pairs' hits are not strangers' (as variants of one tune are not).
    let kept: Vec<&Probe> = strangers
        .iter()
        .filter(|(id, s)| !is_variant(*id, s, &variants))
        .map(|(_, s)| s)
        .collect();
    // No margin on the vote: its strangers are probes of library pictures with their
    // look-alikes in the library, harder than pictures from elsewhere (benches/RESULTS.md,
    // "The scale pyramid": on the main set, with the margin of 1.2 the other rules keep,
    // 2.3 points fewer copies were named, and one held-out picture fewer of 912).
    let min_score = quantile(kept.iter().map(|s| -s.score), cfg.negative_quantile)
        .map_or(0.0, |s| (-s).min(1.0));
    calib.view_votes = Some(min_score);
    // The likeness, as the vote, without margin; its look-alike pairs set aside by the picture
    // they found alike; never below a floor (a small library's strangers may all be unlike).
    let min_likeness = quantile(
        strangers
            .iter()
            .filter(|(id, s)| !s.liked.is_some_and(|f| variants.contains(&pair(*id, f))))
            .map(|(_, s)| -s.likeness),
        cfg.negative_quantile,
    )
    .map(|l| (-l).max(MIN_LIKENESS));
    calib.likeness = min_likeness;
    let named = |p: &Probe| {
        p.distance <= calib.distance
            || p.ratio <= ratio_max
            || (min_score > 0.0 && p.score >= min_score)
            || min_likeness.is_some_and(|l| p.likeness >= l)
    };
    calib.positives = positives.len();
    calib.negatives = kept.len();
    calib.positive_recall = share(positives.iter().map(named));
    calib.negative_pass = share(kept.into_iter().map(named));
    calib.variant_pairs = variants.into_iter().collect();
    Ok(())
}

/// Pairs of look-alike pictures (two renders of one scene, two shots of one galaxy): their
/// probes, each left out, find the other by view vote above a first threshold again and again
/// (`variant_hits` times). Such a pair must not raise the bar for every query, as variants of
/// one tune must not for songs; its votes are set aside. The first threshold is the lower of
/// the quantile rule and half the typical score of copies that found their own picture: in a
/// small library one pair can be a large share of the negatives, and set the quantile itself.
fn variant_pairs(
    strangers: &[(ItemId, Probe)],
    positives: &[Probe],
    cfg: &CalibrationConfig,
) -> BTreeSet<(ItemId, ItemId)> {
    let quantile_rule = quantile(
        strangers.iter().map(|(_, s)| -s.score),
        cfg.negative_quantile,
    )
    .map_or(f32::INFINITY, |s| -s);
    let mut own: Vec<f32> = positives
        .iter()
        .map(|p| p.score)
        .filter(|&s| s > 0.0)
        .collect();
    own.sort_by(f32::total_cmp);
    let provisional = match own.get(own.len() / 2) {
        Some(&median) => quantile_rule.min(0.5 * median),
        None => quantile_rule,
    };
    let mut hits: BTreeMap<(ItemId, ItemId), usize> = BTreeMap::new();
    for (id, s) in strangers {
        if let Some(found) = s.voted.filter(|_| s.score >= provisional) {
            *hits.entry(pair(*id, found)).or_default() += 1;
        }
    }
    hits.into_iter()
        .filter(|&(_, count)| count >= cfg.variant_hits)
        .map(|(p, _)| p)
        .collect()
}

fn is_variant(probe: ItemId, s: &Probe, variants: &BTreeSet<(ItemId, ItemId)>) -> bool {
    s.voted
        .is_some_and(|found| variants.contains(&pair(probe, found)))
}

/// What one probe met, by each rule: the distance and ratio of the nearest picture, and the
/// view-vote score of the best-voted one.
#[derive(Clone, Copy, Debug)]
struct Probe {
    distance: f32,
    ratio: f32,
    score: f32,
    /// The best-voted picture (a stranger's: which picture its score is for).
    voted: Option<ItemId>,
    /// The likeness of the likest of the first candidates' sketches (a copy's: its own
    /// picture's, when that is the likest; -1 when none), and which picture that is.
    likeness: f32,
    liked: Option<ItemId>,
}

impl Probe {
    /// A stranger's view of `found` (`own: None`: the best other picture, by each rule), or a
    /// copy's (`own`: its own picture, by each rule that puts it first, or a twin of it
    /// first: one picture stored again, as near and as voted for).
    fn of(found: &Found, own: Option<ItemId>) -> Self {
        let distances: Vec<f32> = found.nearest.iter().map(|(_, d)| *d).collect();
        let (distance, ratio) = match (found.nearest.first(), own) {
            (Some(&(_, d)), None) => (d, ratio(&distances, d)),
            (Some(&(_, first)), Some(o)) => match found.nearest.iter().find(|(id, _)| *id == o) {
                Some(&(_, d)) if ties(d, first) => (d, ratio(&distances, d)),
                _ => (f32::INFINITY, f32::INFINITY),
            },
            (None, _) => (f32::INFINITY, f32::INFINITY),
        };
        let score = match (found.votes.first(), own) {
            (Some(&(_, s)), None) => s,
            (Some(&(_, best)), Some(o)) => {
                Some(found.score(o)).filter(|&s| s >= best).unwrap_or(0.0)
            }
            (None, _) => 0.0,
        };
        Self {
            distance,
            ratio,
            score,
            voted: found.votes.first().map(|&(id, _)| id),
            likeness: -1.0,
            liked: None,
        }
    }

    /// The probe with what the likeness check found (`likest`, by [`Matcher::likest`]): a
    /// stranger's (`own: None`) likest picture, or a copy's own picture when it is the likest.
    fn liking(self, likest: Option<(ItemId, f32)>, own: Option<ItemId>) -> Self {
        match (likest, own) {
            (Some((id, l)), None) => Self {
                likeness: l,
                liked: Some(id),
                ..self
            },
            (Some((id, l)), Some(o)) if id == o => Self {
                likeness: l,
                liked: Some(id),
                ..self
            },
            _ => self,
        }
    }
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
