//! How well the encoder rebuilds what it is given. A denoising autoencoder trained on one
//! library rebuilds that library's kind of sound or picture and fails on others, so an item's
//! reconstruction error, set against the library's own spread of errors, says how unlike the
//! library it is: what `latentid outliers` ranks by, and what tells a query that its clip or
//! picture is unlike anything the model was trained on.

use latentid_store::Reconstruction;
use serde::{Deserialize, Serialize};

/// The quantile of an audio item's per-signature errors that stands for the whole item: high,
/// so that a long track with one odd minute still shows it, but not the maximum, which one
/// glitch would set.
pub const ITEM_QUANTILE: f32 = 0.9;

/// The narrowest spread a scale assumes (in ln(error)): a library whose items all rebuild
/// equally well would otherwise turn a 1% difference into a large score.
const MIN_SPREAD_LN: f32 = 0.05;

/// 1.4826 × MAD estimates the standard deviation of normally distributed values.
const MAD_TO_SD: f32 = 1.4826;

/// The `q` quantile of `values` (linear between ranks); `None` when there are none.
pub fn quantile(values: &[f32], q: f32) -> Option<f32> {
    let mut v: Vec<f32> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f32;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (pos - lo as f32) * (v[hi] - v[lo]))
}

/// The summary of errors measured at `offsets` (one per signature): the [`ITEM_QUANTILE`]
/// of them, and the worst one and where it was. `None` when there are none.
pub fn summarise(offsets: &[u32], errors: &[f32]) -> Option<Reconstruction> {
    let error = quantile(errors, ITEM_QUANTILE)?;
    let (at, worst) = errors
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, e)| e.is_finite())
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    Some(Reconstruction {
        error,
        worst,
        worst_offset: offsets.get(at).copied().unwrap_or(0),
    })
}

/// The library's spread of item errors, which turns an error into a score: a robust z-score
/// of its logarithm, (ln e − median) / (1.4826 × MAD), over the library's items. Relative to
/// the library itself, so a score means the same in a library that rebuilds well as in one
/// that rebuilds badly, and a few odd items do not move it (median and MAD, not mean and
/// standard deviation). In logarithms, because errors are ratios: twice the typical error is
/// as far above as half is below.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReconstructionScale {
    /// Median of ln(error) over the items.
    pub median_ln: f32,
    /// 1.4826 × the median absolute deviation of ln(error) (at least 0.05).
    pub spread_ln: f32,
    /// Items measured.
    pub items: usize,
}

impl ReconstructionScale {
    /// The scale of these item errors; `None` when there are none.
    pub fn of(errors: &[f32]) -> Option<Self> {
        let logs: Vec<f32> = errors.iter().map(|&e| ln(e)).collect();
        let median_ln = quantile(&logs, 0.5)?;
        let deviations: Vec<f32> = logs.iter().map(|l| (l - median_ln).abs()).collect();
        let mad = quantile(&deviations, 0.5)?;
        Some(Self {
            median_ln,
            spread_ln: (MAD_TO_SD * mad).max(MIN_SPREAD_LN),
            items: logs.len(),
        })
    }

    /// How many spreads `error` lies above the library's median (below: negative).
    pub fn score(&self, error: f32) -> f32 {
        (ln(error) - self.median_ln) / self.spread_ln
    }

    /// The library's typical (median) error.
    pub fn median(&self) -> f32 {
        self.median_ln.exp()
    }
}

fn ln(e: f32) -> f32 {
    e.max(1e-12).ln()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_item_is_summarised_by_a_high_quantile_and_its_worst_moment() {
        let errors: Vec<f32> = (0..100).map(|i| if i == 70 { 9.0 } else { 0.1 }).collect();
        let offsets: Vec<u32> = (0..100).map(|i| i * 8).collect();
        let r = summarise(&offsets, &errors).unwrap();
        // One glitch does not make the item odd, but it is where the worst moment is.
        assert!((r.error - 0.1).abs() < 1e-6, "{r:?}");
        assert_eq!((r.worst, r.worst_offset), (9.0, 560));
        // A passage of a fifth of the item does.
        let errors: Vec<f32> = (0..100).map(|i| if i >= 80 { 2.0 } else { 0.1 }).collect();
        assert_eq!(summarise(&offsets, &errors).unwrap().error, 2.0);
        assert_eq!(summarise(&[], &[]), None);
        assert_eq!(quantile(&[3.0, 1.0], 0.5), Some(2.0));
    }

    #[test]
    fn scores_are_relative_to_the_librarys_own_spread() {
        let quiet: Vec<f32> = (0..50).map(|i| 0.2 * (1.0 + 0.01 * i as f32)).collect();
        let loud: Vec<f32> = quiet.iter().map(|e| 10.0 * e).collect();
        let (a, b) = (
            ReconstructionScale::of(&quiet).unwrap(),
            ReconstructionScale::of(&loud).unwrap(),
        );
        // The same relative oddity scores the same in both libraries.
        assert!((a.score(0.6) - b.score(6.0)).abs() < 1e-3);
        assert!(a.score(0.6) > 5.0, "{a:?}");
        assert!(a.score(a.median()).abs() < 1e-4);
        // A few wild items do not move the scale.
        let mut wild = quiet.clone();
        wild.extend([50.0, 80.0, 100.0]);
        let w = ReconstructionScale::of(&wild).unwrap();
        assert!((w.score(0.6) - a.score(0.6)).abs() < 0.5 * a.score(0.6));
        // Identical items: the spread's floor keeps scores finite.
        let same = ReconstructionScale::of(&[0.3; 5]).unwrap();
        assert!(same.score(0.3 * 1.05).is_finite());
        assert_eq!(ReconstructionScale::of(&[]), None);
    }
}
