//! Log-mel spectrogram and fixed-length, per-patch-normalised patches.

use std::path::Path;
use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

use crate::{decode_audio, Audio, AudioParams, MediaError, Result};

/// A log-mel spectrogram, frame-major: frame `t` is `data[t * n_mels .. (t + 1) * n_mels]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Mel {
    pub n_mels: usize,
    pub n_frames: usize,
    pub data: Vec<f32>,
}

/// Added to mel power before the log: silence maps to a constant, not -inf.
const LOG_FLOOR: f32 = 1e-6;

/// Computes log-mel spectrograms with a planned FFT, window and filterbank built once.
/// `Send + Sync`: share one across threads.
pub struct MelExtractor {
    params: AudioParams,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Per mel band: first FFT bin and the triangle's weights from there.
    filters: Vec<(usize, Vec<f32>)>,
}

fn hz_to_mel(f: f32) -> f32 {
    2595.0 * (1.0 + f / 700.0).log10()
}

fn mel_to_hz(m: f32) -> f32 {
    700.0 * (10f32.powf(m / 2595.0) - 1.0)
}

impl MelExtractor {
    pub fn new(p: &AudioParams) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(p.n_fft);
        // Periodic Hann window.
        let window = (0..p.n_fft)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / p.n_fft as f32).cos())
            .collect();
        // HTK mel scale, triangular filters with unit peak.
        let bins = p.n_fft / 2 + 1;
        let bin_hz = p.sample_rate as f32 / p.n_fft as f32;
        let (lo, hi) = (
            hz_to_mel(p.fmin),
            hz_to_mel(p.fmax.min(p.sample_rate as f32 / 2.0)),
        );
        let edges: Vec<f32> = (0..p.n_mels + 2)
            .map(|i| mel_to_hz(lo + (hi - lo) * i as f32 / (p.n_mels + 1) as f32))
            .collect();
        let filters = (0..p.n_mels)
            .map(|m| {
                let (l, c, r) = (edges[m], edges[m + 1], edges[m + 2]);
                let weights: Vec<(usize, f32)> = (0..bins)
                    .filter_map(|k| {
                        let f = k as f32 * bin_hz;
                        let w = if f > l && f <= c {
                            (f - l) / (c - l)
                        } else if f > c && f < r {
                            (r - f) / (r - c)
                        } else {
                            0.0
                        };
                        (w > 0.0).then_some((k, w))
                    })
                    .collect();
                // A band narrower than one bin still gets the nearest bin.
                if weights.is_empty() {
                    let k = ((c / bin_hz).round() as usize).min(bins - 1);
                    (k, vec![1.0])
                } else {
                    (weights[0].0, weights.iter().map(|&(_, w)| w).collect())
                }
            })
            .collect();
        Self {
            params: p.clone(),
            fft,
            window,
            filters,
        }
    }

    pub fn params(&self) -> &AudioParams {
        &self.params
    }

    /// Frames cover `[t * hop, t * hop + n_fft)`; a trailing partial frame is dropped.
    pub fn compute(&self, samples: &[f32]) -> Mel {
        let p = &self.params;
        let n_frames = if samples.len() >= p.n_fft {
            1 + (samples.len() - p.n_fft) / p.hop
        } else {
            0
        };
        let mut data = Vec::with_capacity(n_frames * p.n_mels);
        let mut bufs = self.bufs();
        for t in 0..n_frames {
            self.frame(
                &samples[t * p.hop..t * p.hop + p.n_fft],
                &mut bufs,
                &mut data,
            );
        }
        Mel {
            n_mels: p.n_mels,
            n_frames,
            data,
        }
    }

    /// A spectrogram computed as samples arrive ([`MelStream::push`]): the same frames as
    /// [`MelExtractor::compute`] on all of them, without holding them all.
    pub fn stream(&self) -> MelStream<'_> {
        MelStream {
            ex: self,
            pending: Vec::new(),
            start: 0,
            bufs: self.bufs(),
            data: Vec::new(),
        }
    }

    fn bufs(&self) -> FrameBufs {
        let spectrum = self.fft.make_output_vec();
        FrameBufs {
            input: self.fft.make_input_vec(),
            power: vec![0f32; spectrum.len()],
            spectrum,
            scratch: self.fft.make_scratch_vec(),
        }
    }

    /// Appends the log-mel frame of `frame` (`n_fft` samples) to `data`.
    fn frame(&self, frame: &[f32], b: &mut FrameBufs, data: &mut Vec<f32>) {
        let p = &self.params;
        for ((x, s), w) in b.input.iter_mut().zip(frame).zip(&self.window) {
            *x = s * w;
        }
        // Lengths come from the plan itself, so this cannot fail.
        if self
            .fft
            .process_with_scratch(&mut b.input, &mut b.spectrum, &mut b.scratch)
            .is_err()
        {
            data.resize(data.len() + p.n_mels, LOG_FLOOR.ln());
            return;
        }
        for (pw, c) in b.power.iter_mut().zip(&b.spectrum) {
            *pw = c.norm_sqr();
        }
        for (start, weights) in &self.filters {
            let e: f32 = weights
                .iter()
                .zip(&b.power[*start..])
                .map(|(w, x)| w * x)
                .sum();
            data.push((e + LOG_FLOOR).ln());
        }
    }
}

struct FrameBufs {
    input: Vec<f32>,
    spectrum: Vec<realfft::num_complex::Complex<f32>>,
    scratch: Vec<realfft::num_complex::Complex<f32>>,
    power: Vec<f32>,
}

/// A log-mel spectrogram fed samples in pieces: see [`MelExtractor::stream`].
pub struct MelStream<'a> {
    ex: &'a MelExtractor,
    /// Samples not yet past every frame that needs them, from `start` on.
    pending: Vec<f32>,
    start: usize,
    bufs: FrameBufs,
    /// Frames computed and not yet taken.
    data: Vec<f32>,
}

impl MelStream<'_> {
    pub fn push(&mut self, samples: &[f32]) {
        let (n_fft, hop) = (self.ex.params.n_fft, self.ex.params.hop);
        self.pending.extend_from_slice(samples);
        while self.pending.len() - self.start >= n_fft {
            let frame = &self.pending[self.start..self.start + n_fft];
            self.ex.frame(frame, &mut self.bufs, &mut self.data);
            self.start += hop;
        }
        if self.start >= 1 << 16 {
            self.pending.drain(..self.start);
            self.start = 0;
        }
    }

    /// The frames computed since the last take (frame-major): a consumer that cuts patches
    /// as frames arrive ([`PatchCutter`]) keeps memory bounded however long the recording.
    pub fn take(&mut self) -> Vec<f32> {
        std::mem::take(&mut self.data)
    }

    /// The spectrogram of the frames not taken (all of them if [`MelStream::take`] was
    /// never called).
    pub fn finish(self) -> Mel {
        let n_mels = self.ex.params.n_mels;
        Mel {
            n_mels,
            n_frames: self.data.len() / n_mels,
            data: self.data,
        }
    }
}

/// One encoder input: `patch_frames` frames from `frame`, flattened frame-major, normalised.
#[derive(Clone, Debug, PartialEq)]
pub struct Patch {
    pub frame: usize,
    pub offset_s: f32,
    /// Mean log-mel power before normalising (how loud the patch was).
    pub loudness: f32,
    /// Nothing to hear: silence or a constant floor ([`is_silent_patch`] of the patch
    /// normalised without centring its bands, so steady noise, which centring flattens, still
    /// counts as sound).
    pub silent: bool,
    pub data: Vec<f32>,
}

/// Standard deviations below this are not amplified: near-constant (silent) patches stay ~0.
const STD_FLOOR: f32 = 0.5;

/// Zero mean, unit variance — removes gain, so a quiet recording matches a loud one.
pub fn normalise_patch(data: &mut [f32]) {
    normalise_above(data, STD_FLOOR);
}

/// Zero mean, and unit variance unless the standard deviation is below `floor`.
pub(crate) fn normalise_above(data: &mut [f32], floor: f32) {
    let (mean, var) = moments(data);
    let scale = 1.0 / var.sqrt().max(floor);
    for x in data.iter_mut() {
        *x = (*x - mean) * scale;
    }
}

/// Mean and variance of `data`.
fn moments(data: &[f32]) -> (f32, f32) {
    let n = data.len().max(1) as f32;
    let mean = data.iter().sum::<f32>() / n;
    let var = data.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n;
    (mean, var)
}

/// Below this mean square a normalised patch is silent.
const SILENT_ENERGY: f32 = 0.05;

/// True for a normalised patch with (almost) no structure: silence or a constant tone floor.
/// Such patches would match every other silence, so they are neither indexed nor queried.
pub fn is_silent_patch(data: &[f32]) -> bool {
    let energy = data.iter().map(|x| x * x).sum::<f32>() / data.len().max(1) as f32;
    energy < SILENT_ENERGY
}

/// Patches every `hop_frames` frames; each must fit entirely in the spectrogram.
pub fn patches(mel: &Mel, p: &AudioParams, hop_frames: usize) -> Vec<Patch> {
    let mut cutter = PatchCutter::new(p, hop_frames);
    cutter.push(&mel.data);
    cutter.cut(usize::MAX)
}

impl Patch {
    /// The patch starting at `frame` whose (not yet normalised) log-mel frames are `data`.
    fn new(frame: usize, data: &[f32], p: &AudioParams) -> Patch {
        let mut data = data.to_vec();
        let (loudness, var) = moments(&data);
        // What [`is_silent_patch`] says of the patch [`normalise_patch`]ed, whose mean square
        // is its variance over the floored one: read off the raw patch, before centring.
        let silent = var / var.max(STD_FLOOR * STD_FLOOR) < SILENT_ENERGY;
        p.normalise(&mut data);
        Patch {
            frame,
            offset_s: frame as f32 * p.frame_seconds(),
            loudness,
            silent,
            data,
        }
    }
}

/// Patches cut from a spectrogram whose frames arrive in pieces ([`MelStream::take`]), or
/// whole ([`patches`]): a patch every `hop_frames` frames, each fitting entirely in the frames
/// that arrived. Holds only the frames that patches not yet cut need — so a three-hour
/// recording is cut in the memory of a few seconds.
pub struct PatchCutter {
    params: AudioParams,
    hop_frames: usize,
    /// Frames from frame `first` on, frame-major.
    frames: Vec<f32>,
    first: usize,
    /// The index of the next patch to cut (it starts at frame `next * hop_frames`).
    next: usize,
}

impl PatchCutter {
    /// Patches every `hop_frames` frames (at least 1).
    pub fn new(p: &AudioParams, hop_frames: usize) -> Self {
        PatchCutter {
            params: p.clone(),
            hop_frames: hop_frames.max(1),
            frames: Vec::new(),
            first: 0,
            next: 0,
        }
    }

    /// Appends whole frames (`n_mels` values each).
    pub fn push(&mut self, frames: &[f32]) {
        self.frames.extend_from_slice(frames);
    }

    fn arrived(&self) -> usize {
        self.first + self.frames.len() / self.params.n_mels
    }

    /// How many patches have all their frames and are not cut yet.
    pub fn ready(&self) -> usize {
        let (end, len) = (self.arrived(), self.params.patch_frames);
        if end < len {
            return 0;
        }
        ((end - len) / self.hop_frames + 1).saturating_sub(self.next)
    }

    /// Cuts up to `max` ready patches, in order, and forgets the frames no later patch needs.
    pub fn cut(&mut self, max: usize) -> Vec<Patch> {
        let p = &self.params;
        let n = self.ready().min(max);
        let patches = (self.next..self.next + n)
            .map(|i| {
                let frame = i * self.hop_frames;
                let at = (frame - self.first) * p.n_mels;
                Patch::new(frame, &self.frames[at..at + p.patch_len()], p)
            })
            .collect();
        self.next += n;
        let keep_from = (self.next * self.hop_frames).min(self.arrived());
        self.frames.drain(..(keep_from - self.first) * p.n_mels);
        self.first = keep_from;
        patches
    }
}

/// Decodes a file and cuts it into patches; [`MediaError::TooShort`] when not even one fits.
pub fn audio_patches(
    path: &Path,
    p: &AudioParams,
    hop_frames: usize,
) -> Result<(Audio, Vec<Patch>)> {
    let audio = decode_audio(path, p.sample_rate)?;
    let mel = MelExtractor::new(p).compute(&audio.samples);
    let patches = patches(&mel, p, hop_frames);
    if patches.is_empty() {
        return Err(MediaError::TooShort {
            path: path.to_path_buf(),
            seconds: audio.duration_s(),
            needed: p.patch_seconds(),
        });
    }
    Ok((audio, patches))
}
