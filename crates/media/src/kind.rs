use std::path::Path;

/// What a file is, judged by its extension (cheap: a library walk calls this per file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum MediaKind {
    Audio,
    Image,
}

const AUDIO: &[&str] = &[
    "mp3", "mp2", "mp1", "ogg", "oga", "flac", "wav", "wave", "m4a", "aac", "mp4", "m4b", "alac",
    "opus", "aif", "aiff", "aifc", "caf", "mka", "webm",
];
const IMAGE: &[&str] = &["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"];

/// `None` for files that are not media (playlists, cue sheets, .nfo, text …).
pub fn media_kind(path: &Path) -> Option<MediaKind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    if AUDIO.contains(&ext.as_str()) {
        Some(MediaKind::Audio)
    } else if IMAGE.contains(&ext.as_str()) {
        Some(MediaKind::Image)
    } else {
        None
    }
}
