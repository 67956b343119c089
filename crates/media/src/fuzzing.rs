//! The two paths the fuzz targets (`fuzz/`) drive, shared with the test that replays what
//! fuzzing found (`crates/media/tests/fuzz_replay.rs`): bytes in, the arrays the encoder
//! would see out. Errors are expected answers; a panic that escapes [`crate::contain`], an
//! abort, an unbounded allocation or a hang is a finding.

use std::path::Path;

use crate::{
    decode_audio_bytes, image_views, load_image_bytes, patches, AudioParams, ImageParams,
    MelExtractor, View,
};

/// Audio bytes (any container, probed by content) -> log-mel patches as indexing cuts them.
/// Returns the number of patches (0 when the bytes are refused).
pub fn audio(bytes: &[u8]) -> usize {
    let p = AudioParams::default();
    let Ok(audio) = decode_audio_bytes(bytes.to_vec(), Path::new("fuzz-input"), p.sample_rate)
    else {
        return 0;
    };
    let mel = MelExtractor::new(&p).compute(&audio.samples);
    patches(&mel, &p, 8).len()
}

/// Image bytes -> the encoder's input for every stored view and the mirrored picture.
/// Returns the number of values (0 when the bytes are refused).
pub fn image(bytes: &[u8]) -> usize {
    let Ok(img) = load_image_bytes(bytes, Path::new("fuzz-input")) else {
        return 0;
    };
    let p = ImageParams::default();
    let mut views: Vec<View> = p
        .views()
        .into_iter()
        .map(|rect| View {
            rect,
            mirrored: false,
            robust: false,
        })
        .collect();
    views.push(View::MIRRORED);
    image_views(&img, &p, &views).len()
}
