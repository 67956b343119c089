//! Streaming mono resampling with rubato's synchronous FFT resampler.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler, WindowFunction};

/// Input frames per chunk: about a tenth of a second, at least 4096. The FFT resampler's
/// filter is as sharp as its output block is long, so the block must grow with the input
/// rate for the pass band to reach 3.8 kHz at 96 kHz as it does at 44.1 kHz.
fn chunk_for(rate: u32) -> usize {
    (rate as usize / 10).max(4096)
}

/// Feeds mono samples in arbitrary pieces and collects the resampled output, so a long
/// track is never held at its source rate. Output is aligned with the input (the
/// resampler's delay is trimmed) and exactly `round(input * ratio)` long at the end.
pub(crate) struct StreamResampler {
    inner: Option<Fft<f32>>,
    pending: Vec<f32>,
    chunk: usize,
    scratch: Vec<f32>,
    to_skip: usize,
    consumed: usize,
    ratio: f64,
    pub(crate) out: Vec<f32>,
    /// Output already handed on by [`StreamResampler::take`].
    emitted: usize,
}

impl StreamResampler {
    pub(crate) fn new(from: u32, to: u32) -> std::result::Result<Self, String> {
        let inner = if from == to {
            None
        } else {
            Some(
                Fft::<f32>::new_custom(
                    from as usize,
                    to as usize,
                    chunk_for(from),
                    1,
                    1,
                    WindowFunction::BlackmanHarris2,
                    FixedSync::Input,
                )
                .map_err(|e| format!("cannot resample {from} Hz to {to} Hz: {e}"))?,
            )
        };
        let (to_skip, scratch) = match &inner {
            Some(r) => (r.output_delay(), vec![0.0; r.output_frames_max()]),
            None => (0, Vec::new()),
        };
        Ok(Self {
            inner,
            pending: Vec::with_capacity(2 * chunk_for(from)),
            chunk: chunk_for(from),
            scratch,
            to_skip,
            consumed: 0,
            ratio: to as f64 / from as f64,
            out: Vec::new(),
            emitted: 0,
        })
    }

    pub(crate) fn push(&mut self, samples: &[f32]) -> std::result::Result<(), String> {
        self.consumed += samples.len();
        if self.inner.is_none() {
            self.out.extend_from_slice(samples);
            return Ok(());
        }
        self.pending.extend_from_slice(samples);
        let mut start = 0;
        while self.pending.len() - start >= self.chunk {
            self.run(start, None)?;
            start += self.chunk;
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Processes `chunk` frames of `pending` from `start` (or `partial` valid ones).
    fn run(&mut self, start: usize, partial: Option<usize>) -> std::result::Result<(), String> {
        let Some(r) = self.inner.as_mut() else {
            return Ok(());
        };
        let need = r.input_frames_next();
        let mut chunk_buf;
        let input: &[f32] = if self.pending.len() >= start + need {
            &self.pending[start..start + need]
        } else {
            chunk_buf = vec![0.0; need];
            let have = self.pending.len().saturating_sub(start);
            chunk_buf[..have].copy_from_slice(&self.pending[start..start + have]);
            &chunk_buf
        };
        let inbuf = InterleavedSlice::new(input, 1, need).map_err(|e| e.to_string())?;
        let frames_out = r.output_frames_next();
        let mut outbuf = InterleavedSlice::new_mut(&mut self.scratch, 1, frames_out)
            .map_err(|e| e.to_string())?;
        let idx = partial.map(|n| Indexing {
            input_offset: 0,
            output_offset: 0,
            partial_len: Some(n),
            active_channels_mask: None,
        });
        let (_, produced) = r
            .process_into_buffer(&inbuf, &mut outbuf, idx.as_ref())
            .map_err(|e| e.to_string())?;
        let skip = self.to_skip.min(produced);
        self.to_skip -= skip;
        self.out.extend_from_slice(&self.scratch[skip..produced]);
        Ok(())
    }

    /// The output so far, handed on (a streaming consumer keeps memory flat).
    pub(crate) fn take(&mut self) -> Vec<f32> {
        self.emitted += self.out.len();
        std::mem::take(&mut self.out)
    }

    /// Flushes the tail and returns the resampled signal not yet taken.
    pub(crate) fn finish(mut self) -> std::result::Result<Vec<f32>, String> {
        if self.inner.is_none() {
            return Ok(self.out);
        }
        let expected = (self.consumed as f64 * self.ratio).round() as usize;
        let expected = expected.saturating_sub(self.emitted);
        let tail = self.pending.len();
        self.run(0, Some(tail))?;
        self.pending.clear();
        // Push silence through until the delayed tail has come out.
        let mut guard = 0;
        while self.out.len() < expected && guard < 64 {
            self.run(0, Some(0))?;
            guard += 1;
        }
        self.out.truncate(expected);
        Ok(self.out)
    }
}

/// Resamples a whole mono signal (convenience for tests, probes and tools).
pub fn resample(samples: &[f32], from: u32, to: u32) -> std::result::Result<Vec<f32>, String> {
    let mut r = StreamResampler::new(from, to)?;
    r.push(samples)?;
    r.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Clicks one second apart come out one second apart, whatever the source rate: a clip
    /// decoded at 48 or 32 kHz must line up with the same song decoded at 44.1 kHz.
    #[test]
    fn timing_is_kept_at_every_common_rate() {
        for from in [8000u32, 11025, 16000, 22050, 32000, 44100, 48000, 96000] {
            let n = from as usize * 20;
            let mut x = vec![0.0f32; n];
            for k in 1..20 {
                x[k * from as usize] = 1.0;
            }
            // Fed in odd-sized pieces, as packets come.
            let mut r = StreamResampler::new(from, 8000).expect("resampler");
            for piece in x.chunks(1153) {
                r.push(piece).expect("push");
            }
            let y = r.finish().expect("finish");
            assert_eq!(y.len(), 8000 * 20, "{from} Hz: length");
            for k in 1..20 {
                let lo = k * 8000 - 40;
                let peak = (lo..lo + 80)
                    .max_by(|&a, &b| y[a].abs().total_cmp(&y[b].abs()))
                    .expect("a window");
                assert!(
                    peak.abs_diff(k * 8000) <= 1,
                    "{from} Hz: click {k} at {peak}, expected {}",
                    k * 8000
                );
            }
        }
    }

    /// The pass band is the same whatever the source rate: flat (within 1 dB) up to 3.8 kHz.
    /// A 48 kHz song and a 22.05 kHz clip of it must give the same spectrum, or their
    /// patches (normalised over all bands) differ and the clip is not recognised.
    #[test]
    fn pass_band_is_flat_to_3800_hz_at_every_common_rate() {
        for from in [11025u32, 16000, 22050, 32000, 44100, 48000, 96000] {
            for f in [500.0f32, 1000.0, 2000.0, 3000.0, 3400.0, 3600.0, 3800.0] {
                let n = from as usize * 2;
                let x: Vec<f32> = (0..n)
                    .map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / from as f32).sin())
                    .collect();
                let y = resample(&x, from, 8000).expect("resample");
                let mid = &y[2000..14000];
                let rms = (mid.iter().map(|v| v * v).sum::<f32>() / mid.len() as f32).sqrt();
                let db = 20.0 * (rms * 2f32.sqrt()).log10();
                assert!(db.abs() < 1.0, "{from} Hz -> 8 kHz: {f} Hz at {db:.1} dB");
            }
        }
    }
}
