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

/// Decodes `path` to mono at `sample_rate`. Downmixing and resampling happen packet by
/// packet, so only the output is held in memory, never the full-rate multichannel track.
pub fn decode_audio(path: &Path, sample_rate: u32) -> Result<Audio> {
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
    let audio = contain(path, || decode_inner(source, path, sample_rate))?;
    let rms = (audio.samples.iter().map(|x| x * x).sum::<f32>()
        / audio.samples.len().max(1) as f32)
        .sqrt();
    if audio.samples.is_empty() {
        return Err(MediaError::Decode {
            path: path.to_path_buf(),
            reason: "no audio could be decoded (truncated or damaged file)".into(),
        });
    }
    if rms < SILENCE_RMS {
        return Err(MediaError::Silent {
            path: path.to_path_buf(),
        });
    }
    Ok(audio)
}

fn decode_inner(source: Box<dyn MediaSource>, path: &Path, sample_rate: u32) -> Result<Audio> {
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
            resampler = Some(StreamResampler::new(rate, sample_rate).map_err(&decode_err)?);
        } else if rate != source_rate {
            return Err(decode_err(format!(
                "the sample rate changes mid-stream ({source_rate} -> {rate} Hz)"
            )));
        }
        buf.copy_to_vecs_planar::<f32>(&mut planes);
        let frames = buf.frames();
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
    let samples = match resampler {
        Some(r) => r.finish().map_err(&decode_err)?,
        None if last_error.is_empty() => Vec::new(),
        None => return Err(decode_err(last_error)),
    };
    Ok(Audio {
        samples,
        sample_rate,
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
