//! latentid-media: from files to the arrays the encoder learns from.
//!
//! It owns decoding (symphonia for audio, `image` for pictures), the analysis front end
//! (mono, resampling with rubato, log-mel spectrogram with realfft, fixed-length patches
//! with per-patch normalisation, image tensors) and the augmentations used by training,
//! evaluation and tests. Every error names the file and the reason; a decoder that panics
//! on a malformed file is contained here and becomes [`MediaError::Panic`].
//!
//! It must not know about models, indexes or the command line.
//!
//! ```no_run
//! use latentid_media::{audio_patches, AudioParams};
//! let params = AudioParams::default();
//! let (audio, patches) = audio_patches("song.ogg".as_ref(), &params, 16)?;
//! println!("{:.1} s -> {} patches of {} values", audio.duration_s(), patches.len(), params.patch_len());
//! # Ok::<(), latentid_media::MediaError>(())
//! ```

pub mod augment;
mod decode;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod image_io;
mod kind;
mod mel;
mod params;
mod resample;
mod sketch;
mod tags;

pub use decode::{
    decode_audio, decode_audio_bytes, decode_audio_frames, decode_audio_windows, decode_audio_with,
    Audio, AudioInfo,
};
pub use error::{contain, MediaError, Result};
pub use image::DynamicImage;
pub use image_io::{
    fit_within, image_tensor, image_views, load_image, load_image_bytes, view_source, View,
};
pub use kind::{media_kind, MediaKind};
pub use mel::{
    audio_patches, is_silent_patch, normalise_patch, patches, Mel, MelExtractor, MelStream, Patch,
    PatchCutter,
};
pub use params::{
    AudioParams, FeatureParams, ImageInput, ImageParams, ImageRegions, CHROMA_WEIGHT,
};
pub use resample::resample;
pub use sketch::{
    likeness, sketch, sketch_and_tint, tint, tint_likeness, turn_margin, turned_sketches,
    TurnedSketch, SKETCH_SIDE, TINT_SIDE,
};
pub use tags::Tags;
