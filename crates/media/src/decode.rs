//! Audio decoding: any container/codec symphonia supports, to mono f32 at the analysis rate.

use std::io::Cursor;
use std::path::Path;

use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use crate::error::contain;
use crate::mel::MelExtractor;
use crate::resample::StreamResampler;
use crate::tags::Tags;
use crate::{MediaError, Result};

/// Decoded audio: mono samples at `sample_rate`.
#[derive(Clone, Debug)]
pub struct Audio {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    /// The file's own rate and channel count, before mixing and resampling.
    pub source_rate: u32,
    pub source_channels: usize,
    pub codec: String,
    /// Title, artist and album from the file's tags, where it has them.
    pub tags: Tags,
}

impl Audio {
    pub fn duration_s(&self) -> f32 {
        self.samples.len() as f32 / self.sample_rate as f32
    }
}

/// Below this RMS (about -70 dBFS) a file is treated as silence.
const SILENCE_RMS: f32 = 3e-4;
/// Give up on a file when this many packets in a row fail to decode.
const MAX_BAD_PACKETS_IN_A_ROW: usize = 32;
/// Source sample rates outside this range are refused: no recording is made at them, and the
/// resampler's buffers grow with the ratio (a header claiming 4 GHz would ask for gigabytes).
pub const MIN_SOURCE_RATE: u32 = 4_000;
pub const MAX_SOURCE_RATE: u32 = 768_000;
/// More channels than this are refused (a damaged header; 7.1 is 8, Ambisonics 3rd order 16).
pub const MAX_CHANNELS: usize = 32;
/// Audio longer than this is refused: the decoded track is held in memory at the analysis
/// rate (12 h at 8 kHz is 1.4 GB), and a few kilobytes of crafted FLAC can declare days.
pub const MAX_DURATION_S: f64 = 12.0 * 3600.0;

/// `path` opened for reading; an empty file is refused by name.
fn open_nonempty(path: &Path) -> Result<std::fs::File> {
    let io = |source| MediaError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    if file.metadata().map_err(io)?.len() == 0 {
        return Err(MediaError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(file)
}

/// Decodes `path` to mono at `sample_rate`. Downmixing and resampling happen packet by
/// packet, so only the output is held in memory, never the full-rate multichannel track.
pub fn decode_audio(path: &Path, sample_rate: u32) -> Result<Audio> {
    let file = open_nonempty(path)?;
    decode_source(Box::new(file), path, sample_rate)
}

/// Decodes in-memory bytes; `path` is used for the format hint and error messages.
pub fn decode_audio_bytes(bytes: Vec<u8>, path: &Path, sample_rate: u32) -> Result<Audio> {
    if bytes.is_empty() {
        return Err(MediaError::Empty {
            path: path.to_path_buf(),
        });
    }
    decode_source(Box::new(Cursor::new(bytes)), path, sample_rate)
}

fn decode_source(source: Box<dyn MediaSource>, path: &Path, sample_rate: u32) -> Result<Audio> {
    let mut samples = Vec::new();
    let info = decode_each(source, path, sample_rate, &mut |x| {
        samples.extend_from_slice(x)
    })?;
    Ok(Audio {
        samples,
        sample_rate,
        source_rate: info.source_rate,
        source_channels: info.source_channels,
        codec: info.codec,
        tags: info.tags,
    })
}

/// The one decode loop behind every decode function: `source` decoded (a decoder panic
/// contained to `path`), its samples handed to `sink` as they come, then refused if nothing
/// audible came.
fn decode_each(
    source: Box<dyn MediaSource>,
    path: &Path,
    sample_rate: u32,
    sink: &mut dyn FnMut(&[f32]),
) -> Result<AudioInfo> {
    let info = contain(path, || decode_inner(source, path, sample_rate, sink))?;
    info.check(path)?;
    Ok(AudioInfo {
        samples: info.samples,
        sample_rate,
        source_rate: info.source_rate,
        source_channels: info.source_channels,
        codec: info.codec,
        tags: info.tags,
    })
}

/// What decoding a track found, besides what it handed on: [`decode_audio_frames`].
#[derive(Clone, Debug)]
pub struct AudioInfo {
    /// Samples at the analysis rate (the duration, times the rate).
    pub samples: usize,
    pub sample_rate: u32,
    pub source_rate: u32,
    pub source_channels: usize,
    pub codec: String,
    pub tags: Tags,
}

impl AudioInfo {
    pub fn duration_s(&self) -> f32 {
        self.samples as f32 / self.sample_rate as f32
    }
}

/// Decodes `path` and hands `on_frames` its log-mel frames (frame-major, whole frames) as
/// they are computed: neither the samples nor the spectrogram are ever held whole, so a
/// consumer that cuts and encodes patches as they arrive ([`crate::PatchCutter`]) indexes a
/// three-hour recording in the memory of a five-minute one. A silent or empty track is an
/// error once decoding ends (after its frames were handed on).
pub fn decode_audio_frames(
    path: &Path,
    mel: &MelExtractor,
    on_frames: &mut dyn FnMut(&[f32]),
) -> Result<AudioInfo> {
    let mut stream = mel.stream();
    decode_audio_with(path, mel.params().sample_rate, &mut |x| {
        stream.push(x);
        on_frames(&stream.take());
    })
}

/// Decodes `path` and keeps only the samples inside `windows` (sample ranges at
/// `sample_rate`; they may overlap): a few clips of a long recording without holding it. A
/// window past the end comes back short.
pub fn decode_audio_windows(
    path: &Path,
    sample_rate: u32,
    windows: &[std::ops::Range<usize>],
) -> Result<(Vec<Vec<f32>>, AudioInfo)> {
    let mut clips: Vec<Vec<f32>> = windows
        .iter()
        .map(|w| Vec::with_capacity(w.len()))
        .collect();
    let mut at = 0usize;
    let info = decode_audio_with(path, sample_rate, &mut |x| {
        let piece = at..at + x.len();
        for (w, clip) in windows.iter().zip(clips.iter_mut()) {
            let (from, to) = (w.start.max(piece.start), w.end.min(piece.end));
            if from < to {
                clip.extend_from_slice(&x[from - at..to - at]);
            }
        }
        at = piece.end;
    })?;
    Ok((clips, info))
}

/// Decodes `path` to mono at `sample_rate`, handing the samples to `on_samples` in pieces
/// as they are decoded; what decoding found comes back. An empty or silent track is an error
/// once decoding ends.
pub fn decode_audio_with(
    path: &Path,
    sample_rate: u32,
    on_samples: &mut dyn FnMut(&[f32]),
) -> Result<AudioInfo> {
    let file = open_nonempty(path)?;
    decode_each(Box::new(file), path, sample_rate, on_samples)
}

/// What decoding found besides the samples it handed on.
struct Decoded {
    samples: usize,
    sum_sq: f32,
    source_rate: u32,
    source_channels: usize,
    codec: String,
    tags: Tags,
}

impl Decoded {
    /// Nothing decoded, or silence, is an error for the file.
    fn check(&self, path: &Path) -> Result<()> {
        if self.samples == 0 {
            return Err(MediaError::Decode {
                path: path.to_path_buf(),
                reason: "no audio could be decoded (truncated or damaged file)".into(),
            });
        }
        let rms = (self.sum_sq / self.samples as f32).sqrt();
        if rms < SILENCE_RMS {
            return Err(MediaError::Silent {
                path: path.to_path_buf(),
            });
        }
        Ok(())
    }
}

/// Resampled output is handed on in pieces of about this many samples.
const HAND_ON: usize = 1 << 16;

fn decode_inner(
    source: Box<dyn MediaSource>,
    path: &Path,
    sample_rate: u32,
    sink: &mut dyn FnMut(&[f32]),
) -> Result<Decoded> {
    let mut samples = 0usize;
    let mut sum_sq = 0f32;
    let mut hand_on = |x: &[f32]| {
        samples += x.len();
        for v in x {
            sum_sq += v * v;
        }
        sink(x);
    };
    let p = || path.to_path_buf();
    let decode_err = |reason: String| MediaError::Decode { path: p(), reason };
    let mss = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| match e {
            SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                decode_err("the file ends before its header does (truncated)".into())
            }
            other => MediaError::NotMedia {
                path: p(),
                reason: other.to_string(),
            },
        })?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| decode_err("the file has no audio track".into()))?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|c| c.audio())
        .ok_or_else(|| decode_err("the audio track has no codec parameters".into()))?
        .clone();
    let codec_name = codec_name(&params.codec);
    // A header's claims are checked before a decoder sizes its buffers by them.
    if let Some(rate) = params.sample_rate {
        if !(MIN_SOURCE_RATE..=MAX_SOURCE_RATE).contains(&rate) {
            return Err(decode_err(format!(
                "sample rate {rate} Hz is outside what latentid decodes \
                 ({MIN_SOURCE_RATE} to {MAX_SOURCE_RATE} Hz)"
            )));
        }
    }
    if let Some(n) = params.channels.as_ref().map(|c| c.count()) {
        if n > MAX_CHANNELS {
            return Err(decode_err(format!(
                "{n} channels (latentid decodes 1 to {MAX_CHANNELS})"
            )));
        }
    }
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| match e {
            SymError::Unsupported(_) => MediaError::UnsupportedCodec {
                path: p(),
                codec: codec_name.clone(),
            },
            other => decode_err(other.to_string()),
        })?;

    let mut resampler: Option<StreamResampler> = None;
    let mut source_rate = params.sample_rate.unwrap_or(0);
    let mut source_channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(0);
    let mut planes: Vec<Vec<f32>> = Vec::new();
    let mut mono: Vec<f32> = Vec::new();
    let mut bad_in_a_row = 0;
    let mut decoded_frames = 0u64;
    let mut last_error = String::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // A chained stream or a file that simply stops: keep what was decoded.
            Err(SymError::ResetRequired) => break,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => {
                bad_in_a_row += 1;
                last_error = e.to_string();
                if bad_in_a_row > MAX_BAD_PACKETS_IN_A_ROW {
                    break;
                }
                continue;
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        let buf = match decoder.decode(&packet) {
            Ok(buf) => buf,
            Err(SymError::DecodeError(e)) => {
                bad_in_a_row += 1;
                last_error = e.to_string();
                if bad_in_a_row > MAX_BAD_PACKETS_IN_A_ROW {
                    return Err(decode_err(format!(
                        "too many damaged packets in a row ({last_error})"
                    )));
                }
                continue;
            }
            Err(SymError::IoError(_)) => continue,
            Err(e) => return Err(decode_err(e.to_string())),
        };
        bad_in_a_row = 0;
        if buf.frames() == 0 {
            continue;
        }
        let spec = buf.spec();
        let rate = spec.rate();
        if resampler.is_none() {
            source_rate = rate;
            source_channels = spec.channels().count();
            if !(MIN_SOURCE_RATE..=MAX_SOURCE_RATE).contains(&rate) {
                return Err(decode_err(format!(
                    "sample rate {rate} Hz is outside what latentid decodes \
                     ({MIN_SOURCE_RATE} to {MAX_SOURCE_RATE} Hz)"
                )));
            }
            if source_channels == 0 || source_channels > MAX_CHANNELS {
                return Err(decode_err(format!(
                    "{source_channels} channels (latentid decodes 1 to {MAX_CHANNELS})"
                )));
            }
            resampler = Some(StreamResampler::new(rate, sample_rate).map_err(&decode_err)?);
        } else if rate != source_rate {
            return Err(decode_err(format!(
                "the sample rate changes mid-stream ({source_rate} -> {rate} Hz)"
            )));
        }
        let frames = buf.frames();
        decoded_frames += frames as u64;
        if decoded_frames as f64 > MAX_DURATION_S * source_rate as f64 {
            return Err(decode_err(format!(
                "longer than {} hours, the longest recording latentid indexes",
                MAX_DURATION_S / 3600.0
            )));
        }
        buf.copy_to_vecs_planar::<f32>(&mut planes);
        let n = planes.len().max(1) as f32;
        mono.clear();
        mono.resize(frames, 0.0);
        for plane in &planes {
            for (m, x) in mono.iter_mut().zip(&plane[..frames]) {
                *m += x;
            }
        }
        for m in mono.iter_mut() {
            *m /= n;
        }
        if let Some(r) = resampler.as_mut() {
            r.push(&mono).map_err(&decode_err)?;
            if r.out.len() >= HAND_ON {
                hand_on(&r.take());
            }
        }
    }
    // Read last: some formats log tags met while reading packets (a chained Ogg stream).
    let mut tags = Tags::default();
    let mut log = format.metadata();
    loop {
        if let Some(rev) = log.current() {
            tags.read(rev);
        }
        if log.pop().is_none() {
            break;
        }
    }
    match resampler {
        Some(r) => hand_on(&r.finish().map_err(&decode_err)?),
        None if last_error.is_empty() => {}
        None => return Err(decode_err(last_error)),
    }
    Ok(Decoded {
        samples,
        sum_sq,
        source_rate,
        source_channels,
        codec: codec_name,
        tags,
    })
}

fn codec_name(id: &symphonia::core::codecs::audio::AudioCodecId) -> String {
    if *id == CODEC_ID_OPUS {
        return "Opus".into();
    }
    symphonia::default::get_codecs()
        .get_audio_decoder(*id)
        .map(|d| d.codec.info.short_name.to_string())
        .unwrap_or_else(|| format!("id {id}"))
}
