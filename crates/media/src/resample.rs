//! Streaming mono resampling with rubato's synchronous FFT resampler.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

const CHUNK: usize = 1024;

/// Feeds mono samples in arbitrary pieces and collects the resampled output, so a long
/// track is never held at its source rate. Output is aligned with the input (the
/// resampler's delay is trimmed) and exactly `round(input * ratio)` long at the end.
pub(crate) struct StreamResampler {
    inner: Option<Fft<f32>>,
    pending: Vec<f32>,
    scratch: Vec<f32>,
    to_skip: usize,
    consumed: usize,
    ratio: f64,
    pub(crate) out: Vec<f32>,
}

impl StreamResampler {
    pub(crate) fn new(from: u32, to: u32) -> std::result::Result<Self, String> {
        let inner = if from == to {
            None
        } else {
            Some(
                Fft::<f32>::new(from as usize, to as usize, CHUNK, 1, FixedSync::Input)
                    .map_err(|e| format!("cannot resample {from} Hz to {to} Hz: {e}"))?,
            )
        };
        let (to_skip, scratch) = match &inner {
            Some(r) => (r.output_delay(), vec![0.0; r.output_frames_max()]),
            None => (0, Vec::new()),
        };
        Ok(Self {
            inner,
            pending: Vec::with_capacity(2 * CHUNK),
            scratch,
            to_skip,
            consumed: 0,
            ratio: to as f64 / from as f64,
            out: Vec::new(),
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
        while self.pending.len() - start >= CHUNK {
            self.run(start, None)?;
            start += CHUNK;
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Processes `CHUNK` frames of `pending` from `start` (or `partial` valid ones).
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

    /// Flushes the tail and returns the whole resampled signal.
    pub(crate) fn finish(mut self) -> std::result::Result<Vec<f32>, String> {
        if self.inner.is_none() {
            return Ok(self.out);
        }
        let expected = (self.consumed as f64 * self.ratio).round() as usize;
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
