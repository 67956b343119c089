//! Picture queries: the picture's signature -> nearest stored pictures.

use std::time::Instant;

use latentid_index::summarise;
use latentid_media::DynamicImage;
use latentid_store::{ItemId, Neighbour};

use crate::{Candidate, Matcher, QueryConfig, QueryResult, Result};

impl Matcher<'_> {
    /// Identifies a decoded picture: nearest stored images by signature distance.
    pub fn query_image(&self, img: &DynamicImage, cfg: &QueryConfig) -> Result<QueryResult> {
        let started = Instant::now();
        let (code, error) = self.index().encode_image(img)?;
        let neighbours = self.store().search(&code, cfg.top.max(1))?;
        let mut result = self.rank_images(&neighbours, None, cfg)?;
        result.reconstruction = self.familiarity(summarise(&[0], &[error]));
        result.seconds = started.elapsed().as_secs_f32();
        Ok(result)
    }

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
        let mut candidates = Vec::new();
        for nb in neighbours.iter().filter(|nb| Some(nb.item) != exclude) {
            let Some(item) = self.store().item(nb.item)? else {
                continue;
            };
            candidates.push(Candidate {
                id: item.id,
                path: item.path,
                name: item.name,
                offset_s: None,
                confidence: tau / (tau + nb.distance),
                agreement: None,
                evidence: None,
                distance: Some(nb.distance),
            });
        }
        candidates.truncate(cfg.top.max(1));
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
