//! The "no match" thresholds an index was calibrated with (measured by `latentid-query`).

use latentid_store::ItemKind;
use serde::{Deserialize, Serialize};

use crate::ReconstructionScale;

/// Thresholds kept in the index manifest. Measured on the library itself when it changes
/// (`latentid_query::calibrate`); [`crate::Index::needs_calibration`] says when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Audio: the evidence ((agreement − best other agreement) × √patches) at which
    /// confidence is 0.5, over all probe lengths.
    pub evidence: f32,
    /// Audio: the same threshold measured per probe length, as (query patches, evidence),
    /// ascending. Short clips need a higher bar: their chance leads vary more than √patches
    /// makes up for. Queries between lengths interpolate; empty (an index calibrated before
    /// this existed) falls back to `evidence`.
    #[serde(default)]
    pub evidence_by_patches: Vec<(f32, f32)>,
    /// Images: the signature distance at which confidence is 0.5 when the ratio below cannot
    /// be taken (fewer than [`RATIO_RANK`] pictures come back, or an index calibrated before
    /// it was kept); also the default link of `latentid duplicates`.
    pub distance: f32,
    /// Images: a match's distance is at most this share of the distance to the
    /// [`RATIO_RANK`]-th nearest picture (a ratio test: a copy of a stored picture stands out
    /// from the crowd of its neighbours, a stranger does not). `None`: calibrated before this
    /// was kept; the index is recalibrated at its next `latentid index`.
    #[serde(default)]
    pub distance_ratio: Option<f32>,
    /// Images: a picture is named when its view-vote score (the share of the query's views
    /// that agree on it and on where the query lies in it) reaches this. `None`: calibrated
    /// before the view vote; the index is recalibrated at its next `latentid index`. 0: too
    /// few pictures to measure it (the distance rules decide alone).
    #[serde(default)]
    pub view_votes: Option<f32>,
    /// Images: a picture the signatures found among a query's first candidates is named when
    /// its sketch's likeness to the query's reaches this (`latentid_media::likeness`).
    /// `None`: calibrated before the likeness check, or too few pictures to measure it.
    #[serde(default)]
    pub likeness: Option<f32>,
    /// Probes it was measured on, and how they fared at the chosen threshold.
    pub positives: usize,
    pub negatives: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub positive_recall: f32,
    #[serde(deserialize_with = "nan_if_null")]
    pub negative_pass: f32,
    /// Pairs of items found to be variants of one tune, or look-alike pictures (their probes,
    /// left out, find each other again and again), whose hits did not set the threshold.
    #[serde(default)]
    pub variant_pairs: Vec<(u64, u64)>,
    /// The library's spread of reconstruction errors, against which a query's error becomes
    /// a score; `None` when no item's error was measured (an index stored before it was
    /// kept, until `latentid outliers` measures them).
    #[serde(default)]
    pub reconstruction: Option<ReconstructionScale>,
    /// The store's revision it was measured at: stale once the library changed.
    #[serde(default)]
    pub revision: u64,
    /// The rule the thresholds were measured under ([`rule_for`] the index's kind): an index
    /// calibrated under an older rule (0: before this was kept) is recalibrated.
    #[serde(default)]
    pub rule: u32,
}

/// The audio vote rule's version. Evidence is measured from votes; when the way votes are
/// counted changes, thresholds measured the old way no longer fit, so this moves with it.
/// 1: votes agree within a quarter of the index hop (was: half). 2: the vote's best tracks are
/// rechecked against the whole clip, and a track moved ahead of a better-voted one has no lead.
pub const VOTE_RULE: u32 = 2;

/// The picture rule's version, as [`VOTE_RULE`] is audio's. 2: the view vote counts turned
/// orientations of the query and its threshold is the strangers' quantile without margin
/// (picture calibrations were stamped with the audio rule's 1 before). 3: pictures stored
/// more than once (twins, at one distance) count once in the view vote and the ratio test,
/// and a copy's twin found first counts as found. 4: the likeness check
/// ([`Calibration::likeness`]). 5: the query's sketch is also turned by 10°, and its turned
/// sketches are compared inside the corners the turn blanked. 6: the sketch as it is is also
/// compared without its most different band of rows (a caption).
pub const PICTURE_RULE: u32 = 6;

/// The rule a calibration of an index of `kind` is measured under today.
pub fn rule_for(kind: ItemKind) -> u32 {
    match kind {
        ItemKind::Audio => VOTE_RULE,
        ItemKind::Image => PICTURE_RULE,
    }
}

/// Images: the rank of the picture a match's distance is compared with (see
/// [`Calibration::distance_ratio`]). The third, not the second: a library may hold a picture
/// twice (a burst, an edited copy), and a copy of one must still stand out from the rest.
pub const RATIO_RANK: usize = 3;

/// JSON has no NaN: serde_json writes one as `null` (a rate over no probes), read back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    Ok(<Option<f32> as serde::Deserialize>::deserialize(d)?.unwrap_or(f32::NAN))
}

impl Default for Calibration {
    /// For an index that was never calibrated (queries then use these round values).
    fn default() -> Self {
        Self {
            evidence: 1.0,
            evidence_by_patches: Vec::new(),
            distance: 1.0,
            distance_ratio: None,
            view_votes: None,
            likeness: None,
            positives: 0,
            negatives: 0,
            positive_recall: f32::NAN,
            negative_pass: f32::NAN,
            variant_pairs: Vec::new(),
            reconstruction: None,
            revision: 0,
            rule: 0,
        }
    }
}

impl Calibration {
    /// The audio thresholds in words: per query length when calibrated so, else the one.
    pub fn evidence_summary(&self) -> String {
        if self.evidence_by_patches.is_empty() {
            return format!("{:.2}", self.evidence);
        }
        self.evidence_by_patches
            .iter()
            .map(|(n, e)| format!("{e:.2} at {n:.0} patches"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Images: the calibrated [`Self::distance_ratio`] when there is one to decide by (`None`
    /// for an index calibrated before it was kept, or with too few pictures to measure it,
    /// which is stored as 0).
    pub fn picture_ratio(&self) -> Option<f32> {
        self.distance_ratio.filter(|&r| r > 0.0)
    }

    /// Images: the calibrated [`Self::view_votes`] score when there is one to decide by.
    pub fn picture_votes(&self) -> Option<f32> {
        self.view_votes.filter(|&v| v > 0.0)
    }

    /// Whether two items were found to be variants of one tune.
    pub fn are_variants(&self, a: u64, b: u64) -> bool {
        self.variant_pairs
            .iter()
            .any(|&(x, y)| (x == a && y == b) || (x == b && y == a))
    }

    /// The evidence threshold for a query of `patches` patches: linear in log(patches)
    /// between the calibrated lengths, the nearest one outside them.
    pub fn evidence_for(&self, patches: usize) -> f32 {
        let t = &self.evidence_by_patches;
        let (Some(first), Some(last)) = (t.first(), t.last()) else {
            return self.evidence;
        };
        let n = patches.max(1) as f32;
        if n <= first.0 {
            return first.1;
        }
        if n >= last.0 {
            return last.1;
        }
        for w in t.windows(2) {
            let ((n0, e0), (n1, e1)) = (w[0], w[1]);
            if n <= n1 {
                let f = (n.ln() - n0.ln()) / (n1.ln() - n0.ln()).max(1e-6);
                return e0 + f * (e1 - e0);
            }
        }
        last.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_clips_get_their_own_threshold_and_lengths_between_interpolate() {
        let mut c = Calibration {
            evidence: 1.0,
            ..Calibration::default()
        };
        // Never calibrated per length: the one threshold for every length.
        assert_eq!(c.evidence_for(10), 1.0);
        c.evidence_by_patches = vec![(40.0, 2.0), (400.0, 1.0)];
        assert_eq!(
            c.evidence_for(5),
            2.0,
            "shorter than any probe: the shortest's"
        );
        assert_eq!(
            c.evidence_for(4000),
            1.0,
            "longer than any probe: the longest's"
        );
        // Halfway in log(patches) between 40 and 400 is ~126.
        assert!((c.evidence_for(126) - 1.5).abs() < 0.01);
        assert!(c.evidence_for(60) > c.evidence_for(200));
    }

    #[test]
    fn a_calibration_stored_before_the_vote_rule_reads_as_an_older_rule_without_a_ratio() {
        // What an index written before `rule` existed holds: it must read back (the index
        // opens) and as rule 0, so that `Index::needs_calibration` asks for new thresholds.
        let old = r#"{"evidence":1.5,"evidence_by_patches":[[10.0,1.9]],"distance":1.0,
            "positives":10,"negatives":20,"positive_recall":0.9,"negative_pass":0.0,
            "variant_pairs":[],"revision":161}"#;
        let c: Calibration = serde_json::from_str(old).expect("an old calibration reads back");
        assert_eq!(c.rule, 0);
        assert_ne!(c.rule, VOTE_RULE);
        assert_eq!(c.revision, 161);
        // Nor had it a picture distance ratio: an image index is recalibrated for one.
        assert_eq!(c.distance_ratio, None);
        assert_ne!(c.rule, rule_for(ItemKind::Image));
    }

    #[test]
    fn a_picture_calibration_from_before_turned_queries_is_stale_and_an_audio_one_is_not() {
        // Picture calibrations were stamped with the audio rule (1) until the picture rule
        // had its own version: their vote threshold was measured without turned views.
        assert_eq!(rule_for(ItemKind::Audio), VOTE_RULE);
        assert_ne!(rule_for(ItemKind::Image), VOTE_RULE);
    }
}
