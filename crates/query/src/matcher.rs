use std::path::{Path, PathBuf};
use std::time::Instant;

use latentid_index::Index;
use latentid_media::{load_image, media_kind, DynamicImage, MediaKind};
use latentid_store::{ItemId, ItemKind, Store};
use serde::{Deserialize, Serialize};

use crate::vote::{vote, votes, VoteParams};
use crate::{QueryError, Result};

/// How a query is answered; the binary builds it from its flags.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryConfig {
    /// Candidates to report.
    pub top: usize,
    /// Neighbours looked up per query patch.
    pub neighbours: usize,
    /// Query patches start every this many frames (3 frames ≈ 0.1 s): dense, so some patch
    /// always lands close to an indexed one.
    pub hop_frames: usize,
    /// Overrides the calibrated threshold (audio): a match needs at least this confidence.
    pub min_confidence: Option<f32>,
    /// Overrides the calibrated threshold (images): a match must be at most this far.
    pub max_distance: Option<f32>,
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            top: 5,
            neighbours: 10,
            hop_frames: 3,
            min_confidence: None,
            max_distance: None,
        }
    }
}

/// One stored item proposed as the answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: ItemId,
    /// The indexed file's path, as stored.
    pub path: PathBuf,
    pub name: String,
    /// Audio: where in the track the clip starts, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset_s: Option<f32>,
    /// 0..1; 0.5 is the calibrated threshold between "no match" and a match.
    pub confidence: f32,
    /// Audio: share of query patches whose neighbours agree on this track and offset
    /// (confidence grows with it and with the number of patches).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement: Option<f32>,
    /// Audio: (agreement − the best other track's agreement) × √patches; confidence is
    /// evidence / (evidence + calibrated threshold).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<f32>,
    /// Images: Euclidean distance between the signatures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<f32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    /// The answer, or `None` for "no match".
    #[serde(rename = "match")]
    pub matched: Option<Candidate>,
    /// The best candidates, best first, whether or not they clear the threshold.
    pub candidates: Vec<Candidate>,
    /// Query patches (audio) or 1 (image).
    pub patches: usize,
    pub seconds: f32,
}

/// One query's answer as `latentid query --json` prints it (and the server answers).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Answer {
    /// The file asked about.
    pub query: PathBuf,
    #[serde(flatten)]
    pub result: QueryResult,
}

/// Answers queries against one opened index. Cheap (it borrows the index); share it across
/// threads (`&self`).
#[derive(Clone, Copy, Debug)]
pub struct Matcher<'a> {
    index: &'a Index,
}

impl<'a> Matcher<'a> {
    /// A matcher over `index`; [`QueryError`] when the index has no model yet.
    pub fn new(index: &'a Index) -> Result<Self> {
        index.model()?;
        Ok(Self { index })
    }

    pub fn index(&self) -> &'a Index {
        self.index
    }

    fn store(&self) -> &'a dyn Store {
        self.index.store()
    }

    /// Identifies a file: a clip for an audio index, a picture for an image index.
    pub fn query_path(&self, path: &Path, cfg: &QueryConfig) -> Result<QueryResult> {
        let started = Instant::now();
        let wrong_kind = || QueryError::WrongKind {
            path: path.to_path_buf(),
            index_kind: self.index.kind().name(),
        };
        let mut result = match (self.index.kind(), media_kind(path)) {
            (ItemKind::Audio, Some(MediaKind::Image))
            | (ItemKind::Image, Some(MediaKind::Audio)) => return Err(wrong_kind()),
            (ItemKind::Audio, _) => {
                let audio = self.index.decode_audio(path)?;
                self.query_samples(&audio.samples, cfg)?
                    .ok_or_else(|| QueryError::Silent {
                        path: path.to_path_buf(),
                    })?
            }
            (ItemKind::Image, _) => self.query_image(&load_image(path)?, cfg)?,
        };
        result.seconds = started.elapsed().as_secs_f32();
        Ok(result)
    }

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
        let clip = self.index.encode_clip(samples, cfg.hop_frames)?;
        if clip.is_empty() {
            return Ok(None);
        }
        let k = cfg.neighbours.max(1);
        let mut neighbours = self
            .store()
            .search_batch(&clip.codes, if exclude.is_some() { 2 * k } else { k })?;
        if let Some(x) = exclude {
            for list in &mut neighbours {
                list.retain(|n| n.item != x);
                list.truncate(k);
            }
        }
        let frames: Vec<usize> = clip.frames.iter().map(|&f| f as usize).collect();
        let mut result = self.tally(&neighbours, &frames, None, cfg)?;
        result.seconds = started.elapsed().as_secs_f32();
        Ok(Some(result))
    }

    /// Votes neighbours of query patches into ranked candidates. `exclude` leaves one item
    /// out (for "similar to this stored item").
    fn tally(
        &self,
        neighbours: &[Vec<latentid_store::Neighbour>],
        frames: &[usize],
        exclude: Option<ItemId>,
        cfg: &QueryConfig,
    ) -> Result<QueryResult> {
        let params = VoteParams {
            tolerance_frames: (self.index.features().index_hop_frames as i64 / 2).max(1),
        };
        let mut vs = votes(neighbours, frames);
        if let Some(x) = exclude {
            vs.retain(|v| v.item != x);
        }
        let tallies = vote(&vs, params);
        let n = frames.len().max(1) as f32;
        let tau = self
            .index
            .calibration()
            .evidence_for(frames.len())
            .max(1e-6);
        let min_conf = cfg.min_confidence.unwrap_or(0.5);
        let frame_s = self.index.features().audio.frame_seconds();
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
            let rival = if i == 0 { agreement(1) } else { agreement(0) };
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
            seconds: 0.0,
        })
    }

    /// Identifies a decoded picture: nearest stored images by signature distance.
    pub fn query_image(&self, img: &DynamicImage, cfg: &QueryConfig) -> Result<QueryResult> {
        let started = Instant::now();
        let (code, _) = self.index.encode_image(img)?;
        let neighbours = self.store().search(&code, cfg.top.max(1))?;
        let mut result = self.rank_images(&neighbours, None, cfg)?;
        result.seconds = started.elapsed().as_secs_f32();
        Ok(result)
    }

    fn rank_images(
        &self,
        neighbours: &[latentid_store::Neighbour],
        exclude: Option<ItemId>,
        cfg: &QueryConfig,
    ) -> Result<QueryResult> {
        let tau = cfg
            .max_distance
            .unwrap_or(self.index.calibration().distance)
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
            seconds: 0.0,
        })
    }

    /// Items most like a stored one (by its own signatures), the item itself left out.
    pub fn similar(&self, id: ItemId, cfg: &QueryConfig) -> Result<QueryResult> {
        let started = Instant::now();
        let (offsets, vectors) = self.store().signatures(id)?;
        let mut result = match self.index.kind() {
            ItemKind::Image => {
                let neighbours = self.store().search(&vectors, cfg.top.max(1) + 1)?;
                self.rank_images(&neighbours, Some(id), cfg)?
            }
            ItemKind::Audio => {
                // Each signature's neighbours besides the item itself, voted like a clip.
                let neighbours = self
                    .store()
                    .search_batch(&vectors, cfg.neighbours.max(1) + 1)?;
                let frames: Vec<usize> = offsets.iter().map(|&o| o as usize).collect();
                self.tally(&neighbours, &frames, Some(id), cfg)?
            }
        };
        result.seconds = started.elapsed().as_secs_f32();
        Ok(result)
    }
}
