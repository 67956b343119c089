//! Picture queries: the picture and its mirror image -> nearest stored views (each picture is
//! stored as a few views: the whole and overlapping parts) -> pictures ranked by their
//! nearest view. The nearest is named when it stands out from the crowd — its distance is a
//! small enough share of the [`RATIO_RANK`]-th nearest picture's (a ratio test) — or is very
//! near. Both thresholds are calibrated per library; the ratio carries most matches, because
//! a distance alone is not comparable across pictures: featureless pictures all sit close
//! together, while a cropped photo sits far from its original.

use std::collections::HashMap;
use std::time::Instant;

use latentid_index::{summarise, RATIO_RANK};
use latentid_media::{DynamicImage, View};
use latentid_store::{ItemId, Neighbour};

use crate::{Candidate, Matcher, QueryConfig, QueryResult, Result};

impl Matcher<'_> {
    /// Identifies a decoded picture: the stored pictures nearest to it or to its mirror
    /// image, each at the distance of its nearest stored view.
    pub fn query_image(&self, img: &DynamicImage, cfg: &QueryConfig) -> Result<QueryResult> {
        let started = Instant::now();
        let enc = self
            .index()
            .encode_views(img, &[View::WHOLE, View::MIRRORED])?;
        let neighbours = self
            .store()
            .search_batch(&enc.codes, self.views_for(cfg.top.max(RATIO_RANK)))?;
        let mut result = self.rank_images(&neighbours.concat(), None, cfg)?;
        // The whole view's error, as a stored picture's is.
        result.reconstruction = self.familiarity(summarise(
            &[0],
            enc.recon_error.get(..1).unwrap_or_default(),
        ));
        result.seconds = started.elapsed().as_secs_f32();
        Ok(result)
    }

    /// Stored pictures most like stored picture `id` (by its whole-picture signature), the
    /// picture itself left out.
    pub(crate) fn similar_image(
        &self,
        id: ItemId,
        offsets: &[u32],
        vectors: &[f32],
        cfg: &QueryConfig,
    ) -> Result<QueryResult> {
        let whole = whole_signature(offsets, vectors);
        let neighbours = self
            .store()
            .search(whole, self.views_for(cfg.top.max(RATIO_RANK) + 1))?;
        self.rank_images(&neighbours, Some(id), cfg)
    }

    /// Neighbours to look up per query signature so that `top` distinct pictures come back
    /// even when every view of the nearest ones is among them.
    fn views_for(&self, top: usize) -> usize {
        top.max(1) * self.index().features().image.views().len()
    }

    /// Pictures of `neighbours` (signatures of any view), each at its nearest, nearest first;
    /// the first is the match when [`Decision::accepts`] it.
    pub(crate) fn rank_images(
        &self,
        neighbours: &[Neighbour],
        exclude: Option<ItemId>,
        cfg: &QueryConfig,
    ) -> Result<QueryResult> {
        let mut nearest: HashMap<ItemId, f32> = HashMap::new();
        for nb in neighbours.iter().filter(|nb| Some(nb.item) != exclude) {
            let d = nearest.entry(nb.item).or_insert(f32::INFINITY);
            *d = d.min(nb.distance);
        }
        let mut ranked: Vec<(ItemId, f32)> = nearest.into_iter().collect();
        ranked.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let mut found = Vec::new();
        for (id, distance) in ranked {
            if found.len() >= cfg.top.max(RATIO_RANK) {
                break;
            }
            if let Some(item) = self.store().item(id)? {
                found.push((item, distance));
            }
        }
        let distances: Vec<f32> = found.iter().map(|(_, d)| *d).collect();
        let decision = Decision::new(self.index().calibration(), cfg, &distances);
        let candidates: Vec<Candidate> = found
            .into_iter()
            .take(cfg.top.max(1))
            .map(|(item, distance)| Candidate {
                id: item.id,
                path: item.path,
                name: item.name,
                offset_s: None,
                confidence: decision.confidence(distance),
                agreement: None,
                evidence: None,
                distance: Some(distance),
            })
            .collect();
        let matched = candidates
            .first()
            .filter(|c| c.distance.is_some_and(|d| decision.accepts(d)))
            .cloned();
        Ok(QueryResult {
            matched,
            candidates,
            patches: 1,
            reconstruction: None,
            seconds: 0.0,
        })
    }
}

/// How a picture query's distances become a confidence (0.5 at the threshold): a picture is
/// accepted when it is within the distance, or within the ratio of the [`RATIO_RANK`]-th
/// nearest picture's distance.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Decision {
    max_distance: f32,
    /// (the [`RATIO_RANK`]-th nearest picture's distance, the largest share of it accepted),
    /// when the index is calibrated for it and that many pictures came back.
    ratio: Option<(f32, f32)>,
}

impl Decision {
    /// The rule for a query whose pictures came back at `distances` (nearest first). An
    /// asked-for `max_distance` decides alone.
    pub(crate) fn new(
        calib: &latentid_index::Calibration,
        cfg: &QueryConfig,
        distances: &[f32],
    ) -> Self {
        let max_distance = cfg.max_distance.unwrap_or(calib.distance).max(1e-6);
        let ratio = match (calib.picture_ratio(), ratio_reference(distances)) {
            _ if cfg.max_distance.is_some() => None,
            (Some(max), Some(reference)) => Some((reference, max)),
            _ => None,
        };
        Self {
            max_distance,
            ratio,
        }
    }

    /// 0..1, 0.5 at the nearer of the two thresholds.
    pub(crate) fn confidence(&self, distance: f32) -> f32 {
        let by_distance = self.max_distance / (self.max_distance + distance);
        let by_ratio = self
            .ratio
            .map_or(0.0, |(reference, max)| max / (max + distance / reference));
        by_distance.max(by_ratio)
    }

    pub(crate) fn accepts(&self, distance: f32) -> bool {
        distance <= self.max_distance
            || self
                .ratio
                .is_some_and(|(reference, max)| distance <= max * reference)
    }
}

/// The distance a picture's is compared with in the ratio test: the [`RATIO_RANK`]-th of
/// `distances` (nearest first), when that many came back at a usable distance.
pub(crate) fn ratio_reference(distances: &[f32]) -> Option<f32> {
    distances
        .get(RATIO_RANK - 1)
        .copied()
        .filter(|&d| d.is_finite() && d > 0.0)
}

/// The whole-picture signature (offset 0) among a picture's stored signatures; the first
/// one when none has offset 0.
pub(crate) fn whole_signature<'v>(offsets: &[u32], vectors: &'v [f32]) -> &'v [f32] {
    let n = offsets.len().max(1);
    let dim = vectors.len() / n;
    let at = offsets.iter().position(|&o| o == 0).unwrap_or(0);
    &vectors[at * dim..(at + 1) * dim]
}

/// How far apart two stored pictures are, as a query of one would find the other: the
/// nearer of (the whole of `a` to any view of `b`) and (the whole of `b` to any view of `a`).
pub(crate) fn picture_distance(a: (&[u32], &[f32]), b: (&[u32], &[f32])) -> f32 {
    let one_way = |(offsets, vectors): (&[u32], &[f32]), views: &[f32]| {
        let q = whole_signature(offsets, vectors);
        views
            .chunks_exact(q.len().max(1))
            .map(|v| {
                q.iter()
                    .zip(v)
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum::<f32>()
                    .sqrt()
            })
            .fold(f32::INFINITY, f32::min)
    };
    one_way(a, b.1).min(one_way(b, a.1))
}

#[cfg(test)]
mod tests {
    use latentid_index::Calibration;

    use super::*;

    fn calibrated(distance: f32, ratio: Option<f32>) -> Calibration {
        Calibration {
            distance,
            distance_ratio: ratio,
            ..Calibration::default()
        }
    }

    #[test]
    fn a_far_copy_that_stands_out_is_named_and_a_close_crowd_is_not() {
        let calib = calibrated(0.05, Some(0.5));
        let cfg = QueryConfig::default();
        // A cropped photo: far by distance, but a third as far as the picture ranked third.
        let copy = Decision::new(&calib, &cfg, &[0.3, 0.85, 0.9, 1.0]);
        assert!(copy.accepts(0.3));
        assert!(copy.confidence(0.3) > 0.5);
        // A stranger among featureless pictures: near-ish, but no nearer than the rest.
        let crowd = Decision::new(&calib, &cfg, &[0.06, 0.07, 0.08]);
        assert!(!crowd.accepts(0.06));
        assert!(crowd.confidence(0.06) < 0.5);
        // A copy of one of a burst of look-alikes: very near, so named by distance.
        let burst = Decision::new(&calib, &cfg, &[0.01, 0.015, 0.02]);
        assert!(burst.accepts(0.01));
        assert!(burst.confidence(0.01) > 0.5);
    }

    #[test]
    fn the_distance_decides_without_a_ratio_or_when_asked_for() {
        let cfg = QueryConfig::default();
        let by_distance = |d: Decision| (d.accepts(0.09), d.accepts(0.11));
        // Too few pictures came back for the ratio.
        let few = Decision::new(&calibrated(0.1, Some(0.5)), &cfg, &[0.08, 0.5]);
        assert_eq!(by_distance(few), (true, false));
        // Calibrated before the ratio was kept, or with too few pictures to measure it.
        for ratio in [None, Some(0.0)] {
            let d = Decision::new(&calibrated(0.1, ratio), &cfg, &[0.08, 0.5, 0.6]);
            assert_eq!(by_distance(d), (true, false));
        }
        // `--max-distance` is a distance, whatever the calibration.
        let asked = QueryConfig {
            max_distance: Some(0.2),
            ..QueryConfig::default()
        };
        let d = Decision::new(&calibrated(0.1, Some(0.9)), &asked, &[0.25, 0.3, 0.35]);
        assert!(!d.accepts(0.25));
        assert!((d.confidence(0.2) - 0.5).abs() < 1e-6);
    }
}
