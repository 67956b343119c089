//! Encode throughput of the default audio encoder (untrained weights cost the same).
//! `cargo bench -p latentid-model --bench encode`: patches per second; at one signature per
//! 0.5 s of audio, times-real-time = patches/s x 0.5.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use latentid_model::{train, AeConfig, TrainConfig, TrainingData};

struct Zeros(usize);

impl TrainingData for Zeros {
    fn len(&self) -> usize {
        4
    }
    fn input_len(&self) -> usize {
        self.0
    }
    fn pair(&self, i: usize, _: u64) -> (Vec<f32>, Vec<f32>) {
        let v: Vec<f32> = (0..self.0).map(|j| ((i + j) % 13) as f32 / 13.0).collect();
        (v.clone(), v)
    }
}

fn encode(c: &mut Criterion) {
    let cfg = AeConfig::audio(64, 32, 32);
    let tc = TrainConfig {
        max_epochs: Some(1),
        ..TrainConfig::tiny()
    };
    let Ok(model) = train(&cfg, &tc, &Zeros(cfg.input_len()), &mut |_| {}) else {
        return;
    };
    let batch = 600; // a 5-minute track at one patch per 0.5 s
    let inputs: Vec<f32> = (0..batch * cfg.input_len())
        .map(|i| (i % 97) as f32 / 97.0)
        .collect();
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(batch as u64));
    group.sample_size(20);
    group.bench_function("audio 64x32 -> 32, 600 patches", |b| {
        b.iter(|| model.encode(&inputs).map(|e| e.codes.len()).unwrap_or(0))
    });
    group.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
