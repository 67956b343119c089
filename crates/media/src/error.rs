use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, MediaError>;

/// Why a file could not be turned into arrays. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: the file is empty (0 bytes)")]
    Empty { path: PathBuf },
    #[error("{path}: not a recognised audio or image file ({reason})")]
    NotMedia { path: PathBuf, reason: String },
    #[error("{path}: unsupported codec {codec} (latentid decodes MP3, Vorbis, FLAC, WAV/PCM, AAC, ALAC)")]
    UnsupportedCodec { path: PathBuf, codec: String },
    #[error("{path}: cannot decode: {reason}")]
    Decode { path: PathBuf, reason: String },
    #[error("{path}: internal error while processing this file ({message}); the file is probably malformed")]
    Panic { path: PathBuf, message: String },
    #[error("{path}: too short: {seconds:.2} s of audio, at least {needed:.2} s needed")]
    TooShort {
        path: PathBuf,
        seconds: f32,
        needed: f32,
    },
    #[error("{path}: the audio is silent")]
    Silent { path: PathBuf },
    #[error("{path}: image refused: {reason}")]
    ImageLimits { path: PathBuf, reason: String },
}

/// Runs `f` on one file, turning a panic anywhere inside (decoders can panic on malformed
/// files) into [`MediaError::Panic`] for that file: the one place latentid contains panics.
pub fn contain<T, E: From<MediaError>>(
    path: &std::path::Path,
    f: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => Err(E::from(MediaError::Panic {
            path: path.to_path_buf(),
            message: p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into()),
        })),
    }
}
