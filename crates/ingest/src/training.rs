//! Bounded training samples drawn from the library, served as (clean, corrupted) pairs.

use latentid_media::augment::{AudioAugment, ImageAugment};
use latentid_media::{image_views, AudioParams, DynamicImage, ImageParams, MelExtractor, View};
use latentid_model::TrainingData;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Waveform segments of the library. Corruption happens in the waveform domain (noise,
/// reverb, band limit, shift), as a real recording would, and a fresh corruption is drawn
/// for every (example, seed), so each epoch sees new distortions of the same music.
pub struct AudioTrainingSet {
    segments: Vec<Vec<f32>>,
    params: AudioParams,
    mel: MelExtractor,
    augment: AudioAugment,
    margin: usize,
}

impl AudioTrainingSet {
    /// Samples kept around the patch window so shifts and reverb tails come from real audio.
    pub fn margin(params: &AudioParams) -> usize {
        params.sample_rate as usize / 4
    }

    /// Length of one stored segment: one patch's samples plus a margin each side.
    pub fn segment_len(params: &AudioParams) -> usize {
        params.patch_samples() + 2 * Self::margin(params)
    }

    pub fn new(segments: Vec<Vec<f32>>, params: &AudioParams, augment: AudioAugment) -> Self {
        Self {
            segments,
            mel: MelExtractor::new(params),
            params: params.clone(),
            augment,
            margin: Self::margin(params),
        }
    }

    fn patch_of(&self, samples: &[f32]) -> Vec<f32> {
        let window = &samples[self.margin..self.margin + self.params.patch_samples()];
        let mel = self.mel.compute(window);
        let mut data = mel.data;
        data.truncate(self.params.patch_len());
        data.resize(self.params.patch_len(), 0.0);
        self.params.normalise(&mut data);
        data
    }
}

impl TrainingData for AudioTrainingSet {
    fn len(&self) -> usize {
        self.segments.len()
    }

    fn input_len(&self) -> usize {
        self.params.patch_len()
    }

    fn pair(&self, index: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
        let mut rng =
            StdRng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let seg = &self.segments[index];
        // Other music from the library is the most realistic "noise" a phone hears besides hiss.
        let other = if self.segments.len() > 1 {
            let mut j = rng.random_range(0..self.segments.len() - 1);
            if j >= index {
                j += 1;
            }
            Some(self.segments[j].as_slice())
        } else {
            None
        };
        let corrupted = self
            .augment
            .apply(seg, self.params.sample_rate, other, &mut rng);
        (self.patch_of(seg), self.patch_of(&corrupted))
    }
}

/// Decoded images (kept small) with image augmentations for the corrupted copy. A photo
/// library is small next to an hour of audio's patches, so each picture serves as several
/// examples, each drawn with its own alterations.
pub struct ImageTrainingSet {
    images: Vec<DynamicImage>,
    params: ImageParams,
    augment: ImageAugment,
    examples: usize,
}

impl ImageTrainingSet {
    /// `examples`: how many (picture, alteration) examples to offer, at least one per picture.
    pub fn new(
        images: Vec<DynamicImage>,
        params: &ImageParams,
        augment: ImageAugment,
        examples: usize,
    ) -> Self {
        let examples = examples.max(images.len());
        Self {
            images,
            params: params.clone(),
            augment,
            examples,
        }
    }
}

impl TrainingData for ImageTrainingSet {
    fn len(&self) -> usize {
        if self.images.is_empty() {
            0
        } else {
            self.examples
        }
    }

    fn input_len(&self) -> usize {
        self.params.input_len()
    }

    fn pair(&self, index: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
        let mut rng =
            StdRng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let whole = &self.images[index % self.images.len()];
        // Half the examples start from one of the parts of the picture the index stores
        // beside the whole (ImageParams::views), so those signatures are trained on too.
        let views = self.params.views();
        let img = if views.len() > 1 && rng.random::<bool>() {
            let [x, y, w, h] = views[rng.random_range(1..views.len())];
            let (pw, ph) = (whole.width() as f32, whole.height() as f32);
            whole.crop_imm(
                (x * pw) as u32,
                (y * ph) as u32,
                ((w * pw) as u32).max(1),
                ((h * ph) as u32).max(1),
            )
        } else {
            whole.clone()
        };
        let corrupted = self.augment.apply(&img, &mut rng);
        // Half the examples standardised as the second copy of every stored view is.
        let view = if self.params.robust_views && rng.random::<bool>() {
            View::WHOLE.robust()
        } else {
            View::WHOLE
        };
        (
            image_views(&img, &self.params, &[view]),
            image_views(&corrupted, &self.params, &[view]),
        )
    }
}

/// Picks `count` segment starts spread over a track, skipping near-silent stretches.
pub(crate) fn segment_starts(
    samples: &[f32],
    seg_len: usize,
    count: usize,
    rng: &mut impl Rng,
) -> Vec<usize> {
    if samples.len() < seg_len || count == 0 {
        return Vec::new();
    }
    let span = samples.len() - seg_len;
    let mut starts = Vec::with_capacity(count);
    let mut tries = 0;
    while starts.len() < count && tries < count * 4 {
        tries += 1;
        let s = rng.random_range(0..=span);
        let seg = &samples[s..s + seg_len];
        let power = seg.iter().map(|x| x * x).sum::<f32>() / seg_len as f32;
        if power > 1e-6 {
            starts.push(s);
        }
    }
    starts
}
