//! Decoding straight into the spectrogram (what indexing does, so a three-hour recording is
//! never held whole) gives exactly the spectrogram of the decoded samples.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use latentid_media::{
    decode_audio, decode_audio_frames, decode_audio_windows, patches, AudioParams, Mel,
    MelExtractor, PatchCutter,
};

/// The spectrogram of `path`, its frames collected as decoding hands them on, and how many
/// samples were decoded.
fn streamed(path: &Path, mel: &MelExtractor) -> (Mel, usize, u32) {
    let mut data = Vec::new();
    let info = decode_audio_frames(path, mel, &mut |f| data.extend_from_slice(f)).unwrap();
    let n_mels = mel.params().n_mels;
    let n_frames = data.len() / n_mels;
    (
        Mel {
            n_mels,
            n_frames,
            data,
        },
        info.samples,
        info.source_rate,
    )
}

#[test]
fn streamed_spectrograms_equal_spectrograms_of_the_whole_track() {
    let p = AudioParams::default();
    let mel = MelExtractor::new(&p);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/audio");
    for f in [
        "northerners.mp3",
        "knolls.flac",
        "wanderer.wav",
        "battle.ogg",
    ] {
        let path = dir.join(f);
        let whole = decode_audio(&path, p.sample_rate).unwrap();
        let (spectrogram, samples, source_rate) = streamed(&path, &mel);
        assert_eq!(samples, whole.samples.len(), "{f}");
        assert_eq!(spectrogram, mel.compute(&whole.samples), "{f}");
        assert_eq!(source_rate, whole.source_rate, "{f}");
    }
}

#[test]
fn a_stream_fed_in_odd_pieces_gives_the_same_frames() {
    let p = AudioParams::default();
    let mel = MelExtractor::new(&p);
    let x: Vec<f32> = (0..200_000)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    let mut s = mel.stream();
    for piece in x.chunks(1237) {
        s.push(piece);
    }
    assert_eq!(s.finish(), mel.compute(&x));
}

#[test]
fn patches_cut_as_frames_arrive_equal_the_patches_of_the_whole_spectrogram() {
    let p = AudioParams::default();
    let mel = MelExtractor::new(&p);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/audio/knolls.flac");
    let (whole, _, _) = streamed(&path, &mel);
    for hop in [1, 8, 16, 40] {
        let mut cutter = PatchCutter::new(&p, hop);
        let mut cut = Vec::new();
        decode_audio_frames(&path, &mel, &mut |frames| {
            cutter.push(frames);
            // Cut in small, uneven batches, leaving some ready patches for later.
            cut.extend(cutter.cut(7));
        })
        .unwrap();
        while cutter.ready() > 0 {
            cut.extend(cutter.cut(7));
        }
        // Every patch that fits, every `hop` frames, each its frames of the whole
        // spectrogram, normalised.
        let fits = (whole.n_frames - p.patch_frames) / hop + 1;
        assert_eq!(cut.len(), fits, "hop {hop}");
        for (i, patch) in cut.iter().enumerate() {
            let at = i * hop * p.n_mels;
            let mut expected = whole.data[at..at + p.patch_len()].to_vec();
            p.normalise(&mut expected);
            assert_eq!(
                (patch.frame, &patch.data),
                (i * hop, &expected),
                "hop {hop}"
            );
        }
        assert_eq!(cut, patches(&whole, &p, hop), "hop {hop}");
    }
}

#[test]
fn windows_decoded_out_of_a_file_equal_the_same_samples_of_the_whole_track() {
    let p = AudioParams::default();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/audio/northerners.mp3");
    let whole = decode_audio(&path, p.sample_rate).unwrap().samples;
    let n = whole.len();
    // Overlapping, out of order, at the very start and end, and one running past the end.
    let windows = [
        1000..9000,
        0..10,
        5000..70_000,
        n - 300..n,
        n / 2..n / 2 + 1,
        n - 100..n + 500,
    ];
    let (clips, info) = decode_audio_windows(&path, p.sample_rate, &windows).unwrap();
    assert_eq!(info.samples, n);
    for (w, clip) in windows.iter().zip(&clips) {
        let end = w.end.min(n);
        assert_eq!(clip.as_slice(), &whole[w.start..end], "{w:?}");
    }
}
