use std::path::{Path, PathBuf};
use std::time::Instant;

use latentid_index::Index;
use latentid_media::{load_image, media_kind, MediaError, MediaKind};
use latentid_store::{ItemId, ItemKind, Store};
use serde::{Deserialize, Serialize};

use crate::{Familiarity, QueryError, Result};

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
    #[serde(with = "latentid_store::paths")]
    pub path: PathBuf,
    pub name: String,
    /// Audio: where in the track the clip starts, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset_s: Option<f32>,
    /// 0..1; 0.5 is the calibrated threshold between "no match" and a match.
    pub confidence: f32,
    /// Audio: share of query patches whose neighbours agree on this track and offset
    /// (confidence grows with it and with the number of patches). Pictures: share of the
    /// query's views that find this picture and agree on where the query lies in it, each
    /// weighed by how much it stands out (the view vote); absent when the whole picture
    /// settled the answer by distance and no view was cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement: Option<f32>,
    /// Audio: (agreement − the best other track's agreement) × √patches; confidence is
    /// evidence / (evidence + calibrated threshold).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<f32>,
    /// Images: Euclidean distance between the signatures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<f32>,
    /// Images: how alike its sketch is to the query's (-1..1; `latentid_media::likeness`),
    /// measured for the first candidates when neither the view vote nor the distance named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likeness: Option<f32>,
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
    /// How unlike the library the clip or picture is (`None` before the index measured its
    /// items' reconstruction errors).
    pub reconstruction: Option<Familiarity>,
    pub seconds: f32,
}

/// One query's answer as `latentid query --json` prints it (and the server answers).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Answer {
    /// The file asked about.
    #[serde(serialize_with = "latentid_store::paths::serialize")]
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

    pub(crate) fn store(&self) -> &'a dyn Store {
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
                let p = &self.index.features().audio;
                if audio.samples.len() < p.patch_samples() {
                    // Not even one patch: "too short" is the answer, not "silent".
                    return Err(MediaError::TooShort {
                        path: path.to_path_buf(),
                        seconds: audio.duration_s(),
                        needed: p.patch_seconds(),
                    }
                    .into());
                }
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

    /// Items most like a stored one (by its own signatures), the item itself left out.
    pub fn similar(&self, id: ItemId, cfg: &QueryConfig) -> Result<QueryResult> {
        let started = Instant::now();
        let (offsets, vectors) = self.store().signatures(id)?;
        let mut result = match self.index.kind() {
            ItemKind::Image => self.similar_image(id, &offsets, &vectors, cfg)?,
            ItemKind::Audio => {
                // Each signature's neighbours besides the item itself, voted like a clip.
                let neighbours = self
                    .store()
                    .search_batch(&vectors, cfg.neighbours.max(1) + 1)?;
                let frames: Vec<usize> = offsets.iter().map(|&o| o as usize).collect();
                self.tally(&neighbours, &frames, &vectors, Some(id), cfg)?
            }
        };
        result.seconds = started.elapsed().as_secs_f32();
        Ok(result)
    }
}
