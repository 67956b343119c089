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
}

/// Images become `3 x size x size` tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageParams {
    pub size: u32,
}

impl Default for ImageParams {
    fn default() -> Self {
        Self { size: 64 }
    }
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
