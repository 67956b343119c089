#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use latentid_media::augment::*;
use latentid_media::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use realfft::RealFftPlanner;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}

fn sine(freq: f32, rate: u32, seconds: f32) -> Vec<f32> {
    (0..(rate as f32 * seconds) as usize)
        .map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
        .collect()
}

/// Writes a 16-bit mono WAV by hand (the test must not depend on the decoder it tests).
fn write_wav(path: &Path, samples: &[f32], rate: u32) {
    let data: Vec<u8> = samples
        .iter()
        .flat_map(|x| ((x.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes())
        .collect();
    let mut b = Vec::new();
    b.extend(b"RIFF");
    b.extend((36 + data.len() as u32).to_le_bytes());
    b.extend(b"WAVEfmt ");
    b.extend(16u32.to_le_bytes());
    b.extend(1u16.to_le_bytes());
    b.extend(1u16.to_le_bytes());
    b.extend(rate.to_le_bytes());
    b.extend((rate * 2).to_le_bytes());
    b.extend(2u16.to_le_bytes());
    b.extend(16u16.to_le_bytes());
    b.extend(b"data");
    b.extend((data.len() as u32).to_le_bytes());
    b.extend(data);
    std::fs::write(path, b).unwrap();
}

#[test]
fn every_fixture_format_decodes_to_its_length() {
    // Each library fixture is a 20 s excerpt, whatever its container and codec.
    for name in [
        "legends_of_the_north.ogg",
        "northerners.mp3",
        "knolls.flac",
        "wanderer.wav",
        "the_city_falls.m4a",
    ] {
        let a = decode_audio(&fixture(&format!("audio/{name}")), 8000).unwrap();
        assert_eq!(a.sample_rate, 8000);
        assert!(
            (a.duration_s() - 20.0).abs() < 0.06,
            "{name}: {} s",
            a.duration_s()
        );
        assert!(
            a.source_rate == 44100 || a.source_rate == 22050 || a.source_rate == 48000,
            "{name}"
        );
    }
}

#[test]
fn patch_count_and_offsets_of_a_known_length_file() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("ten.wav");
    write_wav(&wav, &sine(440.0, 16000, 10.0), 16000);
    let p = AudioParams::default();
    let (audio, patches) = audio_patches(&wav, &p, 16).unwrap();
    assert_eq!(audio.samples.len(), 80_000);
    let frames = 1 + (80_000 - p.n_fft) / p.hop;
    assert_eq!(patches.len(), (frames - p.patch_frames) / 16 + 1);
    for (i, patch) in patches.iter().enumerate() {
        assert_eq!(patch.frame, 16 * i);
        assert!((patch.offset_s - 16.0 * i as f32 * 0.032).abs() < 1e-4);
        assert_eq!(patch.data.len(), p.patch_len());
    }
}

#[test]
fn resampling_keeps_a_sine_at_its_frequency() {
    let out = resample(&sine(1000.0, 44100, 1.0), 44100, 8000).unwrap();
    assert_eq!(out.len(), 8000);
    let n = 8000;
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
    let mut input = out.clone();
    let mut spec = fft.make_output_vec();
    fft.process(&mut input, &mut spec).unwrap();
    let peak = spec
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.norm().total_cmp(&b.1.norm()))
        .unwrap()
        .0;
    // 1 Hz per bin at 8000 points and 8 kHz.
    assert!((peak as i32 - 1000).abs() <= 1, "peak at {peak} Hz");
    // Amplitude survives too (no gain error in the resampler).
    let rms = (out[1000..7000].iter().map(|x| x * x).sum::<f32>() / 6000.0).sqrt();
    assert!((rms - 0.5 / 2f32.sqrt()).abs() < 0.02, "rms {rms}");
}

#[test]
fn mel_has_the_promised_shape_and_peaks_where_the_tone_is() {
    let p = AudioParams::default();
    let mel = MelExtractor::new(&p).compute(&sine(1000.0, 8000, 2.0));
    assert_eq!(mel.n_mels, 64);
    assert_eq!(mel.n_frames, 1 + (16000 - 1024) / 256);
    assert_eq!(mel.data.len(), mel.n_frames * 64);
    let frame = &mel.data[10 * 64..11 * 64];
    let loudest = (0..64)
        .max_by(|&a, &b| frame[a].total_cmp(&frame[b]))
        .unwrap();
    // HTK mel of 300..4000 Hz: 1000 Hz sits about a third of the way up.
    assert!((15..28).contains(&loudest), "band {loudest}");
}

#[test]
fn normalised_patches_are_zero_mean_unit_variance_and_silence_is_flagged() {
    let mut x: Vec<f32> = (0..100).map(|i| (i as f32).sin() * 3.0 + 7.0).collect();
    normalise_patch(&mut x);
    let mean = x.iter().sum::<f32>() / 100.0;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 100.0;
    assert!(mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3);
    assert!(!is_silent_patch(&x));
    let mut flat = vec![-13.8f32; 100];
    normalise_patch(&mut flat);
    assert!(is_silent_patch(&flat));
}

#[test]
fn a_steady_colour_in_each_band_barely_moves_the_encoder_input() {
    // A phone line, a room or steady noise tilts each band by its own amount for the whole
    // second: with the bands centred, the encoder sees the music's movement, not the tilt.
    let p = AudioParams::default();
    let (bands, frames) = (p.n_mels, p.patch_frames);
    let music: Vec<f32> = (0..bands * frames)
        .map(|i| ((i % bands) as f32 * 0.37 + (i / bands) as f32 * 1.3).sin() * 2.0)
        .collect();
    let tilted: Vec<f32> = music
        .iter()
        .enumerate()
        .map(|(i, v)| v + 3.0 - 0.1 * (i % bands) as f32)
        .collect();
    let moved = |params: &AudioParams| {
        let (mut a, mut b) = (music.clone(), tilted.clone());
        params.normalise(&mut a);
        params.normalise(&mut b);
        assert!(!is_silent_patch(&a));
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    };
    let with = |band_centering| AudioParams {
        band_centering,
        ..p.clone()
    };
    // Centred in full, the tilt is gone; by default (most of it) it moves the input a
    // fraction of what it moves an uncentred one.
    assert!(moved(&with(1.0)) < 1e-4);
    assert!(
        moved(&p) < 0.5 * moved(&with(0.0)),
        "{} vs {}",
        moved(&p),
        moved(&with(0.0))
    );
    // Indexes made before the bands were centred (0) keep their inputs.
    let (mut c, mut d) = (music.clone(), music);
    with(0.0).normalise(&mut c);
    normalise_patch(&mut d);
    assert_eq!(c, d);
}

#[test]
fn noise_is_mixed_at_the_asked_snr() {
    let music = decode_audio(&fixture("audio/northerners.mp3"), 8000)
        .unwrap()
        .samples;
    let other = decode_audio(&fixture("audio/battle.ogg"), 8000)
        .unwrap()
        .samples;
    let clean = &music[8000..48000];
    let mut rng = StdRng::seed_from_u64(3);
    for snr in [0.0, 5.0, 10.0, 20.0] {
        for noise in [
            white_noise(clean.len(), &mut rng),
            pink_noise(clean.len(), &mut rng),
            other.clone(),
        ] {
            let mut noisy = clean.to_vec();
            mix_at_snr(&mut noisy, &noise, snr);
            let got = snr_db(clean, &noisy);
            assert!((got - snr).abs() < 0.5, "asked {snr} dB, got {got}");
        }
    }
}

#[test]
fn augmentations_are_deterministic_under_a_seed_and_do_what_they_say() {
    let clean = decode_audio(&fixture("audio/wanderer.wav"), 8000)
        .unwrap()
        .samples[..16000]
        .to_vec();
    let aug = AudioAugment::default();
    let a = aug.apply(&clean, 8000, None, &mut StdRng::seed_from_u64(9));
    let b = aug.apply(&clean, 8000, None, &mut StdRng::seed_from_u64(9));
    let c = aug.apply(&clean, 8000, None, &mut StdRng::seed_from_u64(10));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.len(), clean.len());

    // Band limiting to the phone band removes a 100 Hz tone and keeps a 1 kHz one.
    let mut low = sine(100.0, 8000, 1.0);
    band_limit(&mut low, 8000, 300.0, 3400.0);
    let mut mid = sine(1000.0, 8000, 1.0);
    band_limit(&mut mid, 8000, 300.0, 3400.0);
    let rms =
        |x: &[f32]| (x[2000..].iter().map(|v| v * v).sum::<f32>() / (x.len() - 2000) as f32).sqrt();
    assert!(rms(&low) < 0.05 * 0.354, "100 Hz kept at rms {}", rms(&low));
    assert!(rms(&mid) > 0.8 * 0.354, "1 kHz lost: rms {}", rms(&mid));

    let mut g = vec![0.5f32; 10];
    gain_db(&mut g, -20.0);
    assert!((g[0] - 0.05).abs() < 1e-6);
    assert_eq!(time_shift(&[1.0, 2.0, 3.0], 1), vec![0.0, 1.0, 2.0]);
    let wet = reverb(&clean, 8000, 0.5, 0.5, &mut StdRng::seed_from_u64(1));
    assert_eq!(wet.len(), clean.len());
    assert!(snr_db(&clean, &wet) < 10.0, "reverb changed too little");
}

#[test]
fn the_music_share_decides_how_often_other_audio_is_the_noise() {
    let clean = decode_audio(&fixture("audio/wanderer.wav"), 8000)
        .unwrap()
        .samples[..8000]
        .to_vec();
    let other = sine(440.0, 8000, 1.0);
    let only_noise = |p_music: f32| AudioAugment {
        max_shift: 0,
        p_speed: 0.0,
        p_noise: 1.0,
        p_music,
        p_reverb: 0.0,
        p_band: 0.0,
        p_gain: 0.0,
        ..AudioAugment::default()
    };
    // How much of what was added is the other audio (cosine of the residual with it).
    let share_of_other = |aug: &AudioAugment, seed: u64| {
        let noisy = aug.apply(&clean, 8000, Some(&other), &mut StdRng::seed_from_u64(seed));
        let added: Vec<f32> = noisy.iter().zip(&clean).map(|(n, c)| n - c).collect();
        let dot: f32 = added.iter().zip(&other).map(|(a, o)| a * o).sum();
        let norm = |x: &[f32]| x.iter().map(|v| v * v).sum::<f32>().sqrt();
        dot / (norm(&added) * norm(&other))
    };
    let music_mixes = |p_music: f32| {
        (0..40)
            .filter(|&seed| share_of_other(&only_noise(p_music), seed) > 0.99)
            .count()
    };
    assert_eq!(music_mixes(1.0), 40);
    assert_eq!(music_mixes(0.0), 0);
    let default = music_mixes(AudioAugment::default().p_music);
    assert!(
        (16..=32).contains(&default),
        "{default} of 40 at the default share"
    );
}

#[test]
fn image_augmentations_change_pictures_deterministically() {
    let img = load_image(&fixture("images/astronaut.png")).unwrap();
    let mut r1 = StdRng::seed_from_u64(4);
    let mut r2 = StdRng::seed_from_u64(4);
    let aug = ImageAugment::default();
    assert_eq!(
        aug.apply(&img, &mut r1).to_rgb8(),
        aug.apply(&img, &mut r2).to_rgb8()
    );
    let cropped = crop(&img, 0.5, &mut r1);
    assert_eq!(cropped.width(), img.width() / 2);
    assert_eq!(rescale(&img, 0.5).width(), img.width() / 2);
    let j = jpeg(&img, 20).unwrap();
    assert_eq!((j.width(), j.height()), (img.width(), img.height()));
    let bright = brightness_contrast(&img, 0.2, 1.0).to_rgb8();
    let mean =
        |b: &image::RgbImage| b.pixels().map(|p| p[0] as f64).sum::<f64>() / b.len() as f64 * 3.0;
    assert!(mean(&bright) > mean(&img.to_rgb8()));
    let _ = image_noise(&img, 0.05, &mut r1);
}

/// Root mean square difference of two input tensors.
fn rms(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f32>() / a.len() as f32).sqrt()
}

#[test]
fn luminance_input_barely_moves_under_colour_edits_unlike_rgb() {
    let img = load_image(&fixture("images/chelsea.webp")).unwrap();
    let luma = ImageParams::default();
    assert_eq!(luma.input, ImageInput::Luma);
    let rgb = ImageParams {
        input: ImageInput::Rgb,
        ..ImageParams::default()
    };
    let chroma = ImageParams {
        input: ImageInput::LumaChroma,
        ..ImageParams::default()
    };
    let edits = [
        ("greyscale", greyscale(&img)),
        ("cast", colour_cast(&img, [1.15, 1.0, 0.8])),
        ("brightness", brightness_contrast(&img, 0.1, 1.2)),
    ];
    for (what, edited) in &edits {
        let l = rms(&image_tensor(&img, &luma), &image_tensor(edited, &luma));
        let c = rms(&image_tensor(&img, &chroma), &image_tensor(edited, &chroma));
        let r = rms(&image_tensor(&img, &rgb), &image_tensor(edited, &rgb));
        // Unit-variance planes: an unrelated picture is ~1.4 away.
        assert!(l < 0.12, "{what}: luminance moved {l}");
        assert!(c < 0.3, "{what}: luminance + chroma moved {c}");
        if *what == "greyscale" {
            assert!(r > 4.0 * l, "{what}: rgb {r} vs luminance {l}");
        }
    }
    let other = load_image(&fixture("images/astronaut.png")).unwrap();
    assert!(rms(&image_tensor(&img, &luma), &image_tensor(&other, &luma)) > 1.0);
}

#[test]
fn stored_views_cover_the_picture_and_geometry_edits_keep_the_size() {
    let p = ImageParams::default();
    let views = p.views();
    let queried = p.query_views();
    assert_eq!(queried.len(), 1 + 16 + 25, "whole, 4x4 at 85%, 5x5 at 70%");
    assert_eq!(
        views[..queried.len()],
        queried[..],
        "a query's views come first"
    );
    assert!(
        views.len() > queried.len(),
        "smaller parts are stored as well"
    );
    assert_eq!(views[0], [0.0, 0.0, 1.0, 1.0]);
    for [x, y, w, h] in &views {
        assert!(*x >= 0.0 && *y >= 0.0 && x + w <= 1.0 + 1e-6 && y + h <= 1.0 + 1e-6);
    }
    // A part of any stored size, anywhere, lies within half its grid's step of a stored
    // window of that size (85%: 2.5% of the side, 70%: 3.75%): misalignment is what moves
    // the encoder's code.
    for r in p.regions.iter().chain(&p.stored_only) {
        let (scale, bound) = (r.scale, (1.0 - r.scale) / (r.grid - 1) as f32 / 2.0);
        assert!(bound <= 0.05, "{r:?}");
        for i in 0..=30 {
            for j in 0..=30 {
                let (cx, cy) = (
                    (1.0 - scale) * i as f32 / 30.0,
                    (1.0 - scale) * j as f32 / 30.0,
                );
                let off = views
                    .iter()
                    .filter(|v| (v[2] - scale).abs() < 1e-6)
                    .map(|v| (v[0] - cx).abs().max((v[1] - cy).abs()))
                    .fold(f32::INFINITY, f32::min);
                assert!(off <= bound + 1e-6, "{scale} at ({cx}, {cy}): {off}");
            }
        }
    }
    let img = load_image(&fixture("images/astronaut.png")).unwrap();
    let rects: Vec<View> = views
        .iter()
        .map(|&rect| View {
            rect,
            mirrored: false,
            robust: false,
        })
        .collect();
    let t = image_views(&img, &p, &rects);
    assert_eq!(t.len(), views.len() * p.input_len());
    // Cut from the picture scaled once (as a query does before cutting its views in several
    // calls), the views are the very same as from the picture itself.
    let scaled = view_source(&img, &p);
    assert!(
        scaled.width() < img.width(),
        "the fixture is larger than the views' source"
    );
    assert_eq!(image_views(&scaled, &p, &rects), t);
    // The first view is the whole picture; the mirrored whole is the mirror's whole.
    assert_eq!(&t[..p.input_len()], image_tensor(&img, &p).as_slice());
    let m = image_views(&img, &p, &[View::MIRRORED]);
    // Not bit-equal: the view is mirrored after the picture is scaled (u8 rounding).
    let mr = rms(&m, &image_tensor(&flip(&img), &p));
    assert!(mr < 1e-3, "mirrored whole vs whole of the mirror: {mr}");
    assert_eq!(flip(&flip(&img)).to_rgb8(), img.to_rgb8());
    let r = rotate(&img, 10.0);
    assert_eq!((r.width(), r.height()), (img.width(), img.height()));
    assert!(
        rms(
            &image_tensor(&rotate(&img, 0.0), &p),
            &image_tensor(&img, &p)
        ) < 1e-3
    );
    let mut rng = StdRng::seed_from_u64(1);
    for edited in [
        blur(&img, 2.0),
        overlay(&img, 0.8, &mut rng),
        saturation(&img, 0.5),
    ] {
        assert_eq!(
            (edited.width(), edited.height()),
            (img.width(), img.height())
        );
    }
}

#[test]
fn every_image_format_loads_and_exif_orientation_is_applied() {
    for name in [
        "astronaut.png",
        "coffee.jpg",
        "chelsea.webp",
        "rocket.bmp",
        "motorcycle.tiff",
        "hubble.gif",
    ] {
        let img = load_image(&fixture(&format!("images/{name}"))).unwrap();
        assert!(img.width() > 50 && img.height() > 50, "{name}");
        let t = image_tensor(&img, &ImageParams::default());
        assert_eq!(t.len(), ImageParams::default().input_len());
        assert!(t.iter().all(|v| v.is_finite()));
    }
    // Stored 240x160 with Orientation=6 (rotate 90°): upright it is 160x240.
    let img = load_image(&fixture("images/coffee-rotated-exif.jpg")).unwrap();
    assert_eq!((img.width(), img.height()), (160, 240));
}

fn assert_names_path(e: &MediaError, path: &Path) {
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "error does not name the file: {msg}"
    );
}

#[test]
fn bad_audio_inputs_give_typed_errors_that_name_the_file() {
    let p = AudioParams::default();
    type Check = fn(&MediaError) -> bool;
    let cases: Vec<(&str, Check)> = vec![
        ("broken/empty.mp3", |e| {
            matches!(e, MediaError::Empty { .. })
        }),
        ("broken/truncated.ogg", |e| {
            matches!(e, MediaError::Decode { .. })
        }),
        ("broken/notes.mp3", |e| {
            matches!(e, MediaError::NotMedia { .. })
        }),
        (
            "broken/unsupported-opus.ogg",
            |e| matches!(e, MediaError::UnsupportedCodec { codec, .. } if codec == "Opus"),
        ),
        ("broken/too-short.wav", |e| {
            matches!(e, MediaError::TooShort { .. })
        }),
        ("broken/silence.wav", |e| {
            matches!(e, MediaError::Silent { .. })
        }),
    ];
    for (rel, ok) in cases {
        let path = fixture(rel);
        let e = audio_patches(&path, &p, 16).unwrap_err();
        assert!(ok(&e), "{rel}: unexpected error {e:?}");
        assert_names_path(&e, &path);
    }
    let missing = fixture("audio/no-such-file.ogg");
    let e = decode_audio(&missing, 8000).unwrap_err();
    assert!(matches!(e, MediaError::Io { .. }));
    assert_names_path(&e, &missing);
}

#[test]
fn bad_images_give_typed_errors_that_name_the_file() {
    let err = |rel: &str| {
        let path = fixture(rel);
        match load_image(&path) {
            Ok(img) => panic!("{rel} decoded to a {}x{} image", img.width(), img.height()),
            Err(e) => {
                assert_names_path(&e, &path);
                e
            }
        }
    };
    assert!(matches!(
        err("broken/bomb.png"),
        MediaError::ImageLimits { .. }
    ));
    assert!(matches!(
        err("broken/truncated.png"),
        MediaError::Decode { .. }
    ));
    assert!(matches!(
        err("broken/notes.mp3"),
        MediaError::NotMedia { .. }
    ));
}

#[test]
fn media_kind_tells_music_from_pictures_and_from_everything_else() {
    assert_eq!(media_kind(Path::new("a/B.MP3")), Some(MediaKind::Audio));
    assert_eq!(media_kind(Path::new("x.flac")), Some(MediaKind::Audio));
    assert_eq!(media_kind(Path::new("cover.jpg")), Some(MediaKind::Image));
    for other in ["album.cue", "list.m3u", "info.nfo", "README", "notes.txt"] {
        assert_eq!(media_kind(Path::new(other)), None, "{other}");
    }
}

/// An ID3v2.4 tag (UTF-8 text frames) in front of an MP3 stream, as taggers write it.
fn with_id3(mp3: &[u8], frames: &[(&str, &str)]) -> Vec<u8> {
    let syncsafe = |n: usize| -> [u8; 4] {
        [
            ((n >> 21) & 0x7f) as u8,
            ((n >> 14) & 0x7f) as u8,
            ((n >> 7) & 0x7f) as u8,
            (n & 0x7f) as u8,
        ]
    };
    let mut body = Vec::new();
    for (id, text) in frames {
        let mut content = vec![3u8]; // UTF-8
        content.extend(text.as_bytes());
        body.extend(id.as_bytes());
        body.extend(syncsafe(content.len()));
        body.extend([0, 0]);
        body.extend(content);
    }
    let mut out = b"ID3\x04\x00\x00".to_vec();
    out.extend(syncsafe(body.len()));
    out.extend(body);
    out.extend(mp3);
    out
}

/// A FLAC file with a VORBIS_COMMENT block inserted after its STREAMINFO.
fn with_vorbis_comment(flac: &[u8], comments: &[&str]) -> Vec<u8> {
    assert_eq!(&flac[..4], b"fLaC");
    let streaminfo_len = u32::from_be_bytes([0, flac[5], flac[6], flac[7]]) as usize;
    let was_last = flac[4] & 0x80 != 0;
    let mut block = Vec::new();
    let vendor = b"latentid test";
    block.extend((vendor.len() as u32).to_le_bytes());
    block.extend(vendor);
    block.extend((comments.len() as u32).to_le_bytes());
    for c in comments {
        block.extend((c.len() as u32).to_le_bytes());
        block.extend(c.as_bytes());
    }
    let mut out = b"fLaC".to_vec();
    out.push(flac[4] & 0x7f);
    out.extend(&flac[5..8 + streaminfo_len]);
    out.push(4 | if was_last { 0x80 } else { 0 });
    out.extend(&(block.len() as u32).to_be_bytes()[1..]);
    out.extend(block);
    out.extend(&flac[8 + streaminfo_len..]);
    out
}

#[test]
fn tags_give_title_artist_and_album() {
    // Vorbis comments in Ogg, as the Wesnoth soundtrack ships them (fixtures/make_fixtures.sh
    // keeps the source's tags).
    let battle = decode_audio(&fixture("audio/battle.ogg"), 8000).unwrap();
    assert_eq!(
        battle.tags,
        Tags {
            title: Some("Battle Music".into()),
            artist: Some("Aleksi Aubry-Carlson".into()),
            album: Some("The Battle for Wesnoth OST".into()),
        }
    );
    assert_eq!(
        battle.tags.display_name().as_deref(),
        Some("Aleksi Aubry-Carlson – Battle Music")
    );
    // ID3v2 in front of an MP3 (UTF-8 text survives).
    let tmp = tempfile::tempdir().unwrap();
    let mp3 = std::fs::read(fixture("audio/northerners.mp3")).unwrap();
    let tagged = tmp.path().join("tagged.mp3");
    std::fs::write(
        &tagged,
        with_id3(
            &mp3,
            &[
                ("TIT2", "Northerners"),
                ("TPE1", "Doug Kaufman"),
                ("TALB", "Wesnoth – Røyk"),
            ],
        ),
    )
    .unwrap();
    let a = decode_audio(&tagged, 8000).unwrap();
    assert_eq!(a.tags.title.as_deref(), Some("Northerners"));
    assert_eq!(a.tags.artist.as_deref(), Some("Doug Kaufman"));
    assert_eq!(a.tags.album.as_deref(), Some("Wesnoth – Røyk"));
    // The tag does not change the audio.
    let plain = decode_audio(&fixture("audio/northerners.mp3"), 8000).unwrap();
    assert_eq!(a.samples.len(), plain.samples.len());
    // Vorbis comments in FLAC; a title without an artist is named by the title alone.
    let flac = std::fs::read(fixture("audio/knolls.flac")).unwrap();
    let bytes = with_vorbis_comment(&flac, &["TITLE=The Knolls", "ALBUM=Wesnoth"]);
    let b = decode_audio_bytes(bytes, Path::new("tagged.flac"), 8000).unwrap();
    assert_eq!(b.tags.title.as_deref(), Some("The Knolls"));
    assert_eq!(b.tags.artist, None);
    assert_eq!(b.tags.display_name().as_deref(), Some("The Knolls"));
    // No tags: nothing made up.
    let wav = decode_audio(&fixture("audio/wanderer.wav"), 8000).unwrap();
    assert!(wav.tags.is_empty(), "{:?}", wav.tags);
    assert_eq!(wav.tags.display_name(), None);
}

#[test]
fn a_mirrored_view_is_its_partner_window_flipped() {
    // Cut on its own (alone in the call) or flipped from its partner window's input (after
    // it), a mirrored view is the same input.
    let img = load_image(&fixture("images/astronaut.png")).unwrap();
    let p = ImageParams::default();
    for rect in [
        [0.0, 0.0, 1.0, 1.0],
        [0.05, 0.1, 0.85, 0.85],
        [0.3, 0.15, 0.7, 0.7],
    ] {
        let mirrored = View {
            rect,
            mirrored: true,
            robust: false,
        };
        let alone = image_views(&img, &p, &[mirrored]);
        let partner = View {
            rect: [1.0 - rect[0] - rect[2], rect[1], rect[2], rect[3]],
            mirrored: false,
            robust: false,
        };
        let both = image_views(&img, &p, &[partner, mirrored]);
        let flipped = &both[alone.len()..];
        assert_eq!(flipped.len(), alone.len());
        let diff = rms(&alone, flipped);
        assert!(diff < 1e-4, "{rect:?}: rms difference {diff}");
        // Not the partner itself: the flip happened.
        let same = rms(&alone, &both[..alone.len()]);
        assert!(same > 0.1, "{rect:?}: {same}");
    }
}

#[test]
fn a_robust_view_keeps_a_dark_picture_that_a_bright_caption_squashes() {
    let p = ImageParams::default();
    assert!(p.robust_views);
    assert_eq!(p.stored_rects().len(), 2 * p.views().len());
    // A dark picture, and the same with a white band across a tenth of its height.
    let dark = brightness_contrast(
        &load_image(&fixture("images/chelsea.webp")).unwrap(),
        -0.3,
        0.5,
    );
    let mut captioned = dark.to_rgb8();
    let (w, h) = captioned.dimensions();
    for y in (h * 45 / 100)..(h * 55 / 100) {
        for x in 0..w {
            captioned.put_pixel(x, y, image::Rgb([255, 255, 255]));
        }
    }
    let captioned = DynamicImage::ImageRgb8(captioned);
    // How far the input moves outside the band (rows of the 64 x 64 luminance plane).
    let s = p.size as usize;
    let outside = |v: &[f32]| -> Vec<f32> {
        v.chunks_exact(s)
            .enumerate()
            .filter(|(row, _)| *row < s * 40 / 100 || *row >= s * 60 / 100)
            .flat_map(|(_, r)| r.iter().copied())
            .collect()
    };
    let moved = |view: View| {
        rms(
            &outside(&image_views(&dark, &p, &[view])),
            &outside(&image_views(&captioned, &p, &[view])),
        )
    };
    let (plain, robust) = (moved(View::WHOLE), moved(View::WHOLE.robust()));
    // The band sets the deviation and squashes the rest; the MAD hardly moves.
    assert!(robust < 0.5 * plain, "robust {robust}, plain {plain}");
    // Old indexes keep one standardisation.
    let old: ImageParams = serde_json::from_str(r#"{"size": 64, "input": "luma"}"#).unwrap();
    assert!(!old.robust_views);
    assert_eq!(old.stored_rects(), old.views());
}

#[test]
fn a_view_standardised_both_ways_in_one_call_is_each_standardisation_alone() {
    // The second standardisation reuses the part the first cut and resized: the inputs must be
    // those of each view cut on its own, whatever comes before it in the call.
    let img = load_image(&fixture("images/coffee.jpg")).unwrap();
    let p = ImageParams::default();
    let views: Vec<View> = [[0.0, 0.0, 1.0, 1.0], [0.15, 0.0, 0.85, 0.85]]
        .into_iter()
        .flat_map(|rect| {
            let plain = View {
                rect,
                mirrored: false,
                robust: false,
            };
            let mirrored = View {
                mirrored: true,
                ..plain
            };
            [plain, mirrored]
        })
        .collect();
    let mut both = views.clone();
    both.extend(views.iter().map(|v| v.robust()));
    let together = image_views(&img, &p, &both);
    let len = p.input_len();
    for (i, v) in both.iter().enumerate() {
        let alone = image_views(&img, &p, &[*v]);
        let diff = rms(&together[i * len..(i + 1) * len], &alone);
        assert!(diff < 1e-4, "{v:?}: rms difference {diff}");
    }
    // And the two standardisations differ.
    assert!(rms(&together[..len], &together[4 * len..5 * len]) > 0.01);
}
