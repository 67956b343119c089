//! The "no match" threshold, learned from the library itself.
//!
//! A threshold that is right for one library is wrong for another (more tracks means more
//! chance agreement), so it is measured at index time: clips of indexed tracks under noise
//! are the positives; the same clips queried with their own track left out of the votes are
//! the negatives — exactly what a song that is not in the library, but sounds like this
//! library, looks like. (Reversed or sped-up clips are not: they still share patches, and
//! offsets, with their source.) The threshold sits above every negative, with a margin.

mod audio;
mod image;

use latentid_index::{Calibration, Index};
use latentid_store::{ItemId, ItemKind};

use crate::{Matcher, Result};

#[derive(Clone, Debug)]
pub struct CalibrationConfig {
    /// Tracks probed (spread over the library).
    pub audio_items: usize,
    /// Audio: clips per probe length, spread over the probed items (each is queried clean and
    /// under noise with its track left out, and under noise with it in place).
    pub probes_per_length: usize,
    /// Pictures probed (an image index; spread over the library): each probe is cheap,
    /// and the threshold rests on the nearest of their negatives, so it takes many.
    pub pictures: usize,
    /// Clip lengths of the probes, seconds.
    pub lengths: Vec<f32>,
    /// SNR of the pink noise on positive probes.
    pub snr_db: f32,
    /// Threshold = margin × the `negative_quantile` of the negatives' evidence (pictures:
    /// the distance and ratio rules; the view vote's is the quantile itself).
    pub margin: f32,
    /// Which negative sets the threshold: 0.99 aims at at most 1% false matches. Not the
    /// strongest: games and albums hold variants of one tune ("victory" and "victory2"), and
    /// a clip of one, left out, rightly finds the other — a single such pair must not raise
    /// the bar for every query.
    pub negative_quantile: f32,
    /// A pair of items whose left-out probes find each other above a first threshold this
    /// many times is a pair of variants (of one tune; look-alike pictures); those hits do not
    /// set the threshold.
    pub variant_hits: usize,
    /// Audio: the evidence threshold is never below this.
    pub floor: f32,
    pub seed: u64,
}

impl Default for CalibrationConfig {
    fn default() -> Self {
        Self {
            audio_items: 200,
            probes_per_length: 500,
            pictures: 200,
            lengths: vec![2.0, 3.0, 5.0, 10.0],
            snr_db: 10.0,
            margin: 1.2,
            negative_quantile: 0.99,
            variant_hits: 3,
            floor: 0.3,
            seed: 7,
        }
    }
}

/// Calibrates `index` when [`Index::needs_calibration`] says so (the library or the model
/// changed since it was last calibrated): the step that follows every ingest.
pub fn calibrate_if_needed(
    index: &mut Index,
    cfg: &CalibrationConfig,
) -> Result<Option<Calibration>> {
    if !index.needs_calibration() {
        return Ok(None);
    }
    Ok(Some(calibrate(index, cfg)?))
}

/// Measures thresholds for `index`, stores them in it, and returns them.
pub fn calibrate(index: &mut Index, cfg: &CalibrationConfig) -> Result<Calibration> {
    let calib = measure(&Matcher::new(index)?, cfg)?;
    index.set_calibration(calib)?;
    index.flush()?;
    Ok(index.calibration().clone())
}
fn measure(matcher: &Matcher<'_>, cfg: &CalibrationConfig) -> Result<Calibration> {
    let index = matcher.index();
    let mut items = index.store().items()?;
    let mut calib = index.calibration().clone();
    // Over every item, before the probes are chosen.
    calib.reconstruction = crate::outliers::library_scale(&items);
    let probed = match index.kind() {
        ItemKind::Audio => cfg.audio_items,
        ItemKind::Image => cfg.pictures,
    };
    let step = (items.len() as f32 / probed.max(1) as f32).max(1.0);
    items = (0..probed.min(items.len()))
        .map(|i| items[(i as f32 * step) as usize].clone())
        .collect();
    match index.kind() {
        ItemKind::Audio => audio::measure(matcher, &items, cfg, &mut calib)?,
        ItemKind::Image => image::measure(matcher, &items, cfg, &mut calib)?,
    }
    Ok(calib)
}

/// A pair of items, in one order whichever found the other.
pub(crate) fn pair(a: ItemId, b: ItemId) -> (ItemId, ItemId) {
    (a.min(b), a.max(b))
}

pub(crate) fn share(it: impl Iterator<Item = bool>) -> f32 {
    let (mut yes, mut n) = (0usize, 0usize);
    for b in it {
        n += 1;
        yes += b as usize;
    }
    if n == 0 {
        f32::NAN
    } else {
        yes as f32 / n as f32
    }
}
