use serde::{Deserialize, Serialize};

/// The audio analysis front end. Stored in every index: queries must use the same values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AudioParams {
    /// Analysis rate in Hz; 8 kHz keeps what survives a phone line and costs little.
    pub sample_rate: u32,
    pub n_fft: usize,
    /// Samples between frames.
    pub hop: usize,
    pub n_mels: usize,
    pub fmin: f32,
    /// Top of the mel bands: below the resampler's transition band (flat to 3.8 kHz at every
    /// source rate), so a song and a clip of it sampled at different rates agree.
    pub fmax: f32,
    /// Frames per patch.
    pub patch_frames: usize,
    /// Share of each mel band's mean over the patch taken away before the patch is normalised
    /// (0: none, 1: all). What stays put for a whole second in a band — the colour of steady
    /// noise, a room, a phone line, the timbre of another song playing over it — goes, and
    /// what moves, the music, stays. All of it (1) also throws away what the bands' levels
    /// tell about the music, and leaves loud noise's frame-to-frame flicker as most of the
    /// input: 0.75 named most song clips of the evaluation corpus defaults are chosen on
    /// (benches/RESULTS.md, "Centring the bands"). Indexes stored before this field: 0.
    #[serde(default)]
    pub band_centering: f32,
}

impl Default for AudioParams {
    fn default() -> Self {
        Self {
            sample_rate: 8000,
            n_fft: 1024,
            hop: 256,
            n_mels: 64,
            fmin: 300.0,
            fmax: 3800.0,
            patch_frames: 32,
            band_centering: 0.75,
        }
    }
}

impl AudioParams {
    pub fn frame_seconds(&self) -> f32 {
        self.hop as f32 / self.sample_rate as f32
    }

    /// Values in one patch.
    pub fn patch_len(&self) -> usize {
        self.n_mels * self.patch_frames
    }

    /// Samples covering exactly one patch.
    pub fn patch_samples(&self) -> usize {
        (self.patch_frames - 1) * self.hop + self.n_fft
    }

    pub fn patch_seconds(&self) -> f32 {
        self.patch_samples() as f32 / self.sample_rate as f32
    }

    /// Makes a patch's log-mel frames (frame-major) into the encoder's input: each band's
    /// mean over the patch taken away by [`Self::band_centering`], then zero mean and unit
    /// variance. Without centring that is [`crate::normalise_patch`], whose floor keeps
    /// near-silent patches from being amplified; a centred patch is scaled to unit variance
    /// down to a far lower spread (what is left of music under loud noise is small, and must
    /// still reach the encoder at the scale of a clean patch) — silence is told on the patch
    /// before centring ([`crate::Patch::silent`]).
    pub fn normalise(&self, data: &mut [f32]) {
        let bands = self.n_mels.max(1);
        let frames = data.len() / bands;
        if self.band_centering == 0.0 || frames == 0 {
            crate::normalise_patch(data);
            return;
        }
        for b in 0..bands {
            let mean = (0..frames).map(|f| data[f * bands + b]).sum::<f32>() / frames as f32;
            let shift = self.band_centering * mean;
            for f in 0..frames {
                data[f * bands + b] -= shift;
            }
        }
        crate::mel::normalise_above(data, CENTRED_STD_FLOOR);
    }
}

/// The smallest spread a centred patch is scaled by ([`AudioParams::normalise`]): only keeps
/// a flat patch from being blown up to noise.
const CENTRED_STD_FLOOR: f32 = 0.1;

/// What the encoder sees of a picture's colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageInput {
    /// Red, green and blue, each channel normalised on its own (indexes made before
    /// [`ImageParams::input`] existed). A greyscale copy is a large move: every channel
    /// takes the same values.
    Rgb,
    /// Luminance only, normalised per picture (zero mean, unit variance): greyscale,
    /// desaturation, a colour cast and linear brightness or contrast changes all but vanish,
    /// as they do for perceptual hashes.
    Luma,
    /// Luminance as in [`ImageInput::Luma`], plus two colour-difference planes (blue and red
    /// minus luminance), each with its mean removed (a uniform colour cast is gone),
    /// divided by the luminance's spread and scaled down by [`CHROMA_WEIGHT`]: colour helps
    /// tell pictures apart, but a greyscale copy moves by that weight only.
    LumaChroma,
}

/// The weight of the colour-difference planes in [`ImageInput::LumaChroma`].
pub const CHROMA_WEIGHT: f32 = 0.3;

impl ImageInput {
    /// Planes of the encoder's input.
    pub fn channels(self) -> usize {
        match self {
            ImageInput::Luma => 1,
            ImageInput::Rgb | ImageInput::LumaChroma => 3,
        }
    }

    fn legacy() -> Self {
        ImageInput::Rgb
    }
}

/// Overlapping parts of a picture stored beside the whole: `grid x grid` windows of `scale`
/// of each side, spread evenly from edge to edge (a grid of 1 is the centre window).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageRegions {
    pub scale: f32,
    pub grid: u32,
}

/// Images become `channels x size x size` tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageParams {
    pub size: u32,
    /// Indexes stored before this field: [`ImageInput::Rgb`].
    #[serde(default = "ImageInput::legacy")]
    pub input: ImageInput,
    /// Parts of each picture stored as signatures of their own beside the whole picture, so
    /// a cropped copy finds the part it shows. Indexes stored before this field: none.
    #[serde(default)]
    pub regions: Vec<ImageRegions>,
    /// Smaller parts stored but not cut from a query: a cropped copy's own windows show
    /// parts of the original smaller than any of [`Self::regions`] (a 70% crop's 85% windows
    /// are 60% of the original), and these let them vote too. Indexes stored before this
    /// field: none.
    #[serde(default)]
    pub stored_only: Vec<ImageRegions>,
    /// Every view is stored, and a query looked at, a second time with its luminance
    /// standardised by median and MAD (clipped) instead of mean and deviation, and the model
    /// trains on both: a bright caption over a dark picture sets the deviation and squashes the
    /// rest, but not the MAD; a darkened picture clipped to black keeps its glow only under the
    /// mean and deviation. The nearer of the two is what counts (benches/RESULTS.md, "Each view
    /// standardised twice"). Indexes stored before this field: once.
    #[serde(default)]
    pub robust_views: bool,
}

impl Default for ImageParams {
    /// Luminance only, and besides the whole picture 16 windows of 85% per side and 25 of 70%
    /// (a 4 x 4 and a 5 x 5 grid: a crop of either size lies within 2.5% or 3.75% of the side
    /// of a stored window; benches/RESULTS.md, pictures), and stored only, 49 of 60% and 49 of
    /// 50% (7 x 7 grids: within 3.3% and 4.2%), the sizes a 70% crop's own windows show.
    fn default() -> Self {
        Self {
            size: 64,
            input: ImageInput::Luma,
            regions: vec![
                ImageRegions {
                    scale: 0.85,
                    grid: 4,
                },
                ImageRegions {
                    scale: 0.7,
                    grid: 5,
                },
            ],
            stored_only: vec![
                ImageRegions {
                    scale: 0.6,
                    grid: 7,
                },
                ImageRegions {
                    scale: 0.5,
                    grid: 7,
                },
            ],
            robust_views: true,
        }
    }
}

impl ImageParams {
    /// Values in one input tensor.
    pub fn input_len(&self) -> usize {
        let s = self.size as usize;
        self.input.channels() * s * s
    }

    /// Standardisations every view is stored in: 2 with [`Self::robust_views`], else 1.
    pub fn standardisations(&self) -> usize {
        if self.robust_views {
            2
        } else {
            1
        }
    }

    /// `views` once per standardisation: as they are, then (with [`Self::robust_views`]) all of
    /// them again standardised robustly, the order of the stored signatures' offsets.
    pub fn standardised(&self, views: &[crate::View]) -> Vec<crate::View> {
        let mut out = views.to_vec();
        if self.robust_views {
            out.extend(views.iter().map(|v| v.robust()));
        }
        out
    }

    /// The rectangle of every stored signature, by its offset in the store: [`Self::views`]
    /// once per standardisation (mean and deviation first).
    pub fn stored_rects(&self) -> Vec<[f32; 4]> {
        self.views().repeat(self.standardisations())
    }

    /// The stored views of a picture as `(x, y, w, h)` fractions of its sides: the whole
    /// picture first (offset 0), then each region's windows, row by row, then the
    /// stored-only regions' likewise. A signature's offset in the store is its index here
    /// (in [`Self::stored_rects`] when the views are stored twice).
    pub fn views(&self) -> Vec<[f32; 4]> {
        let mut out = self.query_views();
        out.extend(windows(&self.stored_only));
        out
    }

    /// The views a query is cut into: the first of [`Self::views`] (the whole and the
    /// regions' windows, without the stored-only ones).
    pub fn query_views(&self) -> Vec<[f32; 4]> {
        let mut out = vec![[0.0, 0.0, 1.0, 1.0]];
        out.extend(windows(&self.regions));
        out
    }
}

/// The windows of `regions`, each region's row by row.
fn windows(regions: &[ImageRegions]) -> Vec<[f32; 4]> {
    let mut out = Vec::new();
    for r in regions {
        let scale = r.scale.clamp(0.05, 1.0);
        let g = r.grid.max(1);
        let step = if g > 1 {
            (1.0 - scale) / (g - 1) as f32
        } else {
            0.0
        };
        let first = if g > 1 { 0.0 } else { (1.0 - scale) / 2.0 };
        for j in 0..g {
            for i in 0..g {
                out.push([
                    first + i as f32 * step,
                    first + j as f32 * step,
                    scale,
                    scale,
                ]);
            }
        }
    }
    out
}

/// Everything about features an index must remember, so its queries are computed alike.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureParams {
    pub audio: AudioParams,
    pub image: ImageParams,
    /// One stored signature every this many frames (8 frames of 32 ms ≈ 0.26 s: a query patch
    /// is then never more than 4 frames off a stored one; at 16 frames clean clips lost a
    /// third of their votes to misalignment).
    pub index_hop_frames: usize,
}

impl Default for FeatureParams {
    fn default() -> Self {
        Self {
            audio: AudioParams::default(),
            image: ImageParams::default(),
            index_hop_frames: 8,
        }
    }
}
