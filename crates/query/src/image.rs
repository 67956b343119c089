//! Picture queries: the picture and its mirror image -> nearest stored views (each picture is
//! stored as a few views: the whole and overlapping parts) -> pictures ranked by their
//! nearest view.

use std::collections::HashMap;
use std::time::Instant;

use latentid_index::summarise;
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
            .search_batch(&enc.codes, self.views_for(cfg.top))?;
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
        let neighbours = self.store().search(whole, self.views_for(cfg.top + 1))?;
        self.rank_images(&neighbours, Some(id), cfg)
    }

    /// Neighbours to look up per query signature so that `top` distinct pictures come back
    /// even when every view of the nearest ones is among them.
    fn views_for(&self, top: usize) -> usize {
        top.max(1) * self.index().features().image.views().len()
    }

    /// Pictures of `neighbours` (signatures of any view), each at its nearest, nearest first.
    pub(crate) fn rank_images(
        &self,
        neighbours: &[Neighbour],
        exclude: Option<ItemId>,
        cfg: &QueryConfig,
    ) -> Result<QueryResult> {
        let tau = cfg
            .max_distance
            .unwrap_or(self.index().calibration().distance)
            .max(1e-6);
        let mut nearest: HashMap<ItemId, f32> = HashMap::new();
        for nb in neighbours.iter().filter(|nb| Some(nb.item) != exclude) {
            let d = nearest.entry(nb.item).or_insert(f32::INFINITY);
            *d = d.min(nb.distance);
        }
        let mut ranked: Vec<(ItemId, f32)> = nearest.into_iter().collect();
        ranked.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let mut candidates = Vec::new();
        for (id, distance) in ranked {
            if candidates.len() >= cfg.top.max(1) {
                break;
            }
            let Some(item) = self.store().item(id)? else {
                continue;
            };
            candidates.push(Candidate {
                id: item.id,
                path: item.path,
                name: item.name,
                offset_s: None,
                confidence: tau / (tau + distance),
                agreement: None,
                evidence: None,
                distance: Some(distance),
            });
        }
        let matched = candidates
            .first()
            .filter(|c| c.distance.is_some_and(|d| d <= tau))
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
