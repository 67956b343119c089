//! What does not belong in the library: items ranked by how badly the model rebuilds them,
//! and the same score for a query ("this does not sound like your library").

use std::collections::BTreeMap;
use std::path::PathBuf;

use latentid_index::{Index, ReconstructionScale};
use latentid_store::{Item, ItemId, ItemKind, Reconstruction};
use serde::{Deserialize, Serialize};

use crate::Result;

/// Provisional.
const UNLIKE_SCORE: f32 = 3.5;

/// One item as `latentid outliers` ranks it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outlier {
    /// 1 for the item the model rebuilds worst.
    pub rank: usize,
    pub id: ItemId,
    pub name: String,
    pub path: PathBuf,
    /// How unlike the library it is: the larger of [`Outlier::reconstruction_score`] and
    /// [`Outlier::held_out_score`]; above ~3.5 is far out, whatever the library.
    pub score: f32,
    /// A robust z-score of its error under the index's model against the library's items'
    /// ([`ReconstructionScale`]). High for what the model cannot learn even from the item
    /// itself (speech among songs, a damaged rip).
    pub reconstruction_score: f32,
    /// The same score of its error under a model trained without it (the held-out error):
    /// high for what the rest of the library is not made of, however easy it is to learn
    /// (steady noise, another genre). `None` when not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_out_score: Option<f32>,
    /// Its held-out error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_out_error: Option<f32>,
    /// Its reconstruction error: the 0.9 quantile of its signatures' errors (audio), the
    /// picture's own error.
    pub error: f32,
    /// The error of its worst-rebuilt signature.
    pub worst_error: f32,
    /// Audio: where that worst second starts, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst_at_s: Option<f32>,
}

/// The library's items, most unlike the library first.
#[derive(Clone, Debug, PartialEq)]
pub struct Outliers {
    /// Every item with a measured error, ranked.
    pub ranked: Vec<Outlier>,
    /// The library's spread the scores are measured against; `None` when no item has an
    /// error yet.
    pub scale: Option<ReconstructionScale>,
    /// Items without a measured error (their files could not be read when it was measured).
    pub unmeasured: Vec<ItemId>,
}

/// Ranks the items of `index` by their stored reconstruction errors (items stored before the
/// index kept them have none: `latentid_ingest::backfill_reconstructions` measures them) and,
/// where given, their held-out errors (`latentid_ingest::held_out_reconstructions`): an item
/// scores the larger of the two robust z-scores, each against the library's own spread.
pub fn outliers(index: &Index, held_out: &BTreeMap<ItemId, f32>) -> Result<Outliers> {
    let items = index.store().items()?;
    let scale = library_scale(&items);
    let held_scale = ReconstructionScale::of(&held_out.values().copied().collect::<Vec<_>>());
    let frame_s = index.features().audio.frame_seconds();
    let mut unmeasured = Vec::new();
    let mut ranked = Vec::new();
    for item in items {
        let (Some(r), Some(scale)) = (item.reconstruction, scale) else {
            unmeasured.push(item.id);
            continue;
        };
        let held_out_error = held_out.get(&item.id).copied();
        let held_out_score = held_scale.zip(held_out_error).map(|(s, e)| s.score(e));
        let reconstruction_score = scale.score(r.error);
        ranked.push(Outlier {
            rank: 0,
            id: item.id,
            name: item.name,
            path: item.path,
            score: held_out_score.map_or(reconstruction_score, |h| h.max(reconstruction_score)),
            reconstruction_score,
            held_out_score,
            held_out_error,
            error: r.error,
            worst_error: r.worst,
            worst_at_s: (index.kind() == ItemKind::Audio)
                .then_some(r.worst_offset as f32 * frame_s),
        });
    }
    // Worst first; equal scores in id order, so a rerun prints the same list.
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    for (i, o) in ranked.iter_mut().enumerate() {
        o.rank = i + 1;
    }
    Ok(Outliers {
        ranked,
        scale,
        unmeasured,
    })
}

/// The spread of the items' reconstruction errors (those measured).
pub(crate) fn library_scale(items: &[Item]) -> Option<ReconstructionScale> {
    let errors: Vec<f32> = items
        .iter()
        .filter_map(|i| i.reconstruction.map(|r| r.error))
        .collect();
    ReconstructionScale::of(&errors)
}

/// How a query's clip or picture compares with the library, as the model rebuilds it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Familiarity {
    /// Its reconstruction error, summarised as an item's is.
    pub error: f32,
    /// The same score `latentid outliers` gives items.
    pub score: f32,
    /// The model rebuilds it worse than it rebuilds the library's own clips under everyday
    /// distortion: it is unlike anything the model was trained on.
    pub unlike_library: bool,
}

impl crate::Matcher<'_> {
    /// How a query's reconstruction compares with the library's calibrated spread; `None`
    /// when the index has none yet.
    pub(crate) fn familiarity(&self, r: Option<Reconstruction>) -> Option<Familiarity> {
        let calib = self.index().calibration();
        let (r, scale) = (r?, calib.reconstruction?);
        let score = scale.score(r.error);
        Some(Familiarity {
            error: r.error,
            score,
            unlike_library: score > UNLIKE_SCORE,
        })
    }
}
