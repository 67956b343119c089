//! Decode + log-mel throughput on the fixture music, per format, on one thread.
//! `cargo bench -p latentid-media --bench decode`; times-real-time = 20 s of audio / time.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use latentid_media::{decode_audio, AudioParams, MelExtractor};

fn decode_mel(c: &mut Criterion) {
    let p = AudioParams::default();
    let mel = MelExtractor::new(&p);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/audio");
    let mut group = c.benchmark_group("decode+mel");
    group.sample_size(20);
    for name in [
        "northerners.mp3",
        "battle.ogg",
        "knolls.flac",
        "the_city_falls.m4a",
        "wanderer.wav",
    ] {
        let path = dir.join(name);
        // Throughput in "elements" = milliseconds of audio, so criterion's rate / 1000 is x real time.
        let ms = (decode_audio(&path, p.sample_rate)
            .map(|a| a.duration_s())
            .unwrap_or(20.0)
            * 1000.0) as u64;
        group.throughput(Throughput::Elements(ms));
        group.bench_function(name, |b| {
            b.iter(|| {
                let a = decode_audio(&path, p.sample_rate)
                    .map(|a| a.samples)
                    .unwrap_or_default();
                mel.compute(&a).n_frames
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode_mel);
criterion_main!(benches);
