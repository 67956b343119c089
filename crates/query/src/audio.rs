//! Audio queries: patches of the clip -> nearest stored signatures -> offset-consistent vote.

use std::time::Instant;

use latentid_store::{ItemId, Neighbour};

use crate::vote::{vote, vote_tolerance, votes, VoteParams};
use crate::{Candidate, Familiarity, Matcher, QueryConfig, QueryResult, Result};

impl Matcher<'_> {
    /// Identifies mono samples at the index's analysis rate. `None` when the clip has no
    /// audible patch (silence, or shorter than one patch).
    pub fn query_samples(&self, samples: &[f32], cfg: &QueryConfig) -> Result<Option<QueryResult>> {
        self.query_samples_excluding(samples, cfg, None)
    }

    /// [`Matcher::query_samples`] as if `exclude` were not in the index: how a song that is not
    /// in the library looks to this library (used to calibrate "no match").
    pub fn query_samples_excluding(
        &self,
        samples: &[f32],
        cfg: &QueryConfig,
        exclude: Option<ItemId>,
    ) -> Result<Option<QueryResult>> {
        let started = Instant::now();
        let Some((neighbours, frames, familiarity)) =
            self.clip_neighbours(samples, cfg, exclude.is_some())?
        else {
            return Ok(None);
        };
        let mut result = self.tally(&without(neighbours, exclude, cfg), &frames, None, cfg)?;
        result.reconstruction = familiarity;
        result.seconds = started.elapsed().as_secs_f32();
        Ok(Some(result))
    }

    /// The clip queried twice from one encoding and one search: as it is, and as if `exclude`
    /// were not in the index (a calibration probe).
    pub fn query_samples_with_and_without(
        &self,
        samples: &[f32],
        cfg: &QueryConfig,
        exclude: ItemId,
    ) -> Result<Option<(QueryResult, QueryResult)>> {
        let Some((neighbours, frames, familiarity)) = self.clip_neighbours(samples, cfg, true)?
        else {
            return Ok(None);
        };
        let k = cfg.neighbours.max(1);
        let with: Vec<Vec<Neighbour>> = neighbours
            .iter()
            .map(|l| l.iter().take(k).cloned().collect())
            .collect();
        let mut with = self.tally(&with, &frames, None, cfg)?;
        let mut without =
            self.tally(&without(neighbours, Some(exclude), cfg), &frames, None, cfg)?;
        with.reconstruction = familiarity;
        without.reconstruction = familiarity;
        Ok(Some((with, without)))
    }

    /// Encodes the clip and finds its patches' neighbours (twice as many when some are to be
    /// left out); `None` when it has no audible patch.
    fn clip_neighbours(
        &self,
        samples: &[f32],
        cfg: &QueryConfig,
        spare: bool,
    ) -> Result<Option<Probe>> {
        let clip = self.index().encode_clip(samples, cfg.hop_frames)?;
        if clip.is_empty() {
            return Ok(None);
        }
        let k = cfg.neighbours.max(1);
        let neighbours = self
            .store()
            .search_batch(&clip.codes, if spare { 2 * k } else { k })?;
        let frames = clip.frames.iter().map(|&f| f as usize).collect();
        let familiarity = self.familiarity(clip.reconstruction());
        Ok(Some((neighbours, frames, familiarity)))
    }
}

/// A clip's patches' neighbours, their frames, and how familiar the clip is to the model.
type Probe = (Vec<Vec<Neighbour>>, Vec<usize>, Option<Familiarity>);

/// Each patch's `k` nearest neighbours once `exclude` is left out.
fn without(
    mut neighbours: Vec<Vec<Neighbour>>,
    exclude: Option<ItemId>,
    cfg: &QueryConfig,
) -> Vec<Vec<Neighbour>> {
    if let Some(x) = exclude {
        let k = cfg.neighbours.max(1);
        for list in &mut neighbours {
            list.retain(|n| n.item != x);
            list.truncate(k);
        }
    }
    neighbours
}

impl Matcher<'_> {
    /// Votes neighbours of query patches into ranked candidates. `exclude` leaves one item
    /// out (for "similar to this stored item").
    pub(crate) fn tally(
        &self,
        neighbours: &[Vec<Neighbour>],
        frames: &[usize],
        exclude: Option<ItemId>,
        cfg: &QueryConfig,
    ) -> Result<QueryResult> {
        let params = VoteParams {
            tolerance_frames: vote_tolerance(self.index().features().index_hop_frames),
        };
        let mut vs = votes(neighbours, frames);
        if let Some(x) = exclude {
            vs.retain(|v| v.item != x);
        }
        let tallies = vote(&vs, params);
        let n = frames.len().max(1) as f32;
        let calibration = self.index().calibration();
        let tau = calibration.evidence_for(frames.len()).max(1e-6);
        let min_conf = cfg.min_confidence.unwrap_or(0.5);
        let frame_s = self.index().features().audio.frame_seconds();
        let agreement = |i: usize| tallies.get(i).map_or(0.0, |t| t.score / n);
        let mut candidates = Vec::new();
        for (i, t) in tallies.iter().take(cfg.top.max(1)).enumerate() {
            let Some(item) = self.store().item(t.item)? else {
                continue;
            };
            // Evidence is the lead over the best other track: a song that is not in the
            // library spreads chance votes over several tracks, so no track leads by much,
            // however noisy the clip. Chance leads shrink like 1/sqrt(n), so scaling by
            // sqrt(n) puts 2 s and 10 s clips on one scale, and longer clips earn more; the
            // threshold is still calibrated per length, since short clips' chance leads vary
            // more than that.
            // Variants of one tune (found at calibration) are not rivals: a clip of either
            // rightly agrees with both.
            let rival = tallies
                .iter()
                .enumerate()
                .find(|&(j, o)| j != i && !calibration.are_variants(o.item, t.item))
                .map_or(0.0, |(j, _)| agreement(j));
            let evidence = ((agreement(i) - rival) * n.sqrt()).max(0.0);
            candidates.push(Candidate {
                id: item.id,
                path: item.path,
                name: item.name,
                offset_s: Some((t.delta as f32 * frame_s).max(0.0)),
                confidence: evidence / (evidence + tau),
                agreement: Some(agreement(i)),
                evidence: Some(evidence),
                distance: None,
            });
        }
        let matched = candidates
            .first()
            .filter(|c| c.confidence >= min_conf)
            .cloned();
        Ok(QueryResult {
            matched,
            candidates,
            patches: frames.len(),
            reconstruction: None,
            seconds: 0.0,
        })
    }
}
