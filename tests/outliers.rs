//! `latentid outliers`: what does not belong in the library ranks first.

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::util::*;

/// 20 s of white noise, as a 22.05 kHz mono WAV.
fn write_noise(out: &Path) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut rng = StdRng::seed_from_u64(7);
    let mut w = hound::WavWriter::create(out, spec).unwrap();
    for _ in 0..20 * 22_050 {
        w.write_sample((rng.random_range(-0.3f32..0.3) * 32767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// `latentid outliers ARGS`, its held-out models trained as the fixtures' index's model is.
pub fn outliers_args<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["outliers"];
    v.extend_from_slice(args);
    v.extend_from_slice(TINY_TRAINING);
    v
}

#[test]
fn a_planted_noise_file_ranks_first() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let noise = tmp.path().join("static.wav");
    write_noise(&noise);
    let add = latentid(&index, &["index", s(&noise)]);
    assert_eq!(add.code, 0, "{add}");

    let run = latentid(&index, &outliers_args(&["--json"]));
    assert_eq!(run.code, 0, "{run}");
    let ranked = run.json_lines();
    assert_eq!(ranked.len(), 7, "{run}");
    // Every item is also measured by a model trained without it, and scores the higher of
    // the two.
    assert!(run.stderr.contains("models trained without them"), "{run}");
    for r in &ranked {
        let (score, own, held) = (
            r["score"].as_f64().unwrap(),
            r["reconstruction_score"].as_f64().unwrap(),
            r["held_out_score"].as_f64().unwrap(),
        );
        assert!((score - own.max(held)).abs() < 1e-4, "{r}");
    }
    assert_eq!(ranked[0]["name"], "static", "{run}");
    assert_eq!(ranked[0]["rank"], 1, "{run}");
    let score = |i: usize| ranked[i]["score"].as_f64().unwrap();
    assert!(score(0) > score(1), "{run}");
    let at = ranked[0]["worst_at_s"].as_f64().unwrap();
    assert!((0.0..20.0).contains(&at), "{run}");

    // --top, and the human table.
    // The held-out measurement is kept until the library changes.
    let top = latentid(&index, &outliers_args(&["--top", "2"]));
    assert_eq!(top.code, 0, "{top}");
    assert!(!top.stderr.contains("models trained without them"), "{top}");
    let rows: Vec<&str> = top.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{top}");
    assert!(rows[0].contains("static"), "{top}");

    // A query reports the same score for an unknown clip: noise is far from the library,
    // a song of the library is not.
    let q = latentid(&index, &["query", s(&noise), "--json"]).json();
    let song = fixtures().join("audio").join("knolls.flac");
    let known = latentid(&index, &["query", s(&song), "--json"]).json();
    let qs = |v: &serde_json::Value| v["reconstruction"]["score"].as_f64().unwrap();
    assert!(qs(&q) > qs(&known) + 1.0, "{q:#}\n{known:#}");

    // --no-held-out ranks by the index model alone, without training.
    let own = latentid(&index, &["outliers", "--json", "--no-held-out"]);
    assert_eq!(own.code, 0, "{own}");
    for r in own.json_lines() {
        assert!(r.get("held_out_score").is_none(), "{r}");
        assert_eq!(r["score"], r["reconstruction_score"], "{r}");
    }

    // Once the library changes, the kept measurement is of another library: measured again.
    let gone = latentid(&index, &["remove", s(&noise)]);
    assert_eq!(gone.code, 0, "{gone}");
    let again = latentid(&index, &outliers_args(&["--json"]));
    assert_eq!(again.code, 0, "{again}");
    assert!(
        again.stderr.contains("models trained without them"),
        "{again}"
    );
    assert_eq!(again.json_lines().len(), 6, "{again}");
}

#[test]
fn an_index_of_format_1_is_measured_before_it_is_ranked() {
    // Its items were stored before the error was kept: `outliers` measures them from their
    // files (where they still are), and whatever it cannot measure is a warning, not a failure
    // of the whole command.
    let tmp = tempfile::tempdir().unwrap();
    let index = tmp.path().join("v1-audio");
    copy_dir(&fixtures().join("golden").join("v1-audio"), &index);
    let run = latentid(&index, &outliers_args(&["--json"]));
    assert!(run.code == 0 || run.code == 1, "{run}");
    let ranked = run.json_lines();
    if run.code == 0 {
        assert_eq!(ranked.len(), 6, "{run}");
        // Measured once: the next run has nothing to measure.
        let again = latentid(&index, &outliers_args(&["--json"]));
        assert_eq!(again.code, 0, "{again}");
        assert!(!again.stderr.contains("measured"), "{again}");
    } else {
        assert!(run.stderr.contains("left out of the ranking"), "{run}");
    }
    let list = latentid(&index, &["list", "--json"]);
    assert_eq!(list.code, 0, "{list}");
}

#[test]
fn a_library_whose_files_are_gone_is_ranked_by_the_index_model_alone() {
    // The library was moved after indexing: nothing to train held-out models on. The stored
    // errors still rank it, and the user is told why there is no held-out measurement.
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    for f in fixture_files("audio").into_iter().take(4) {
        std::fs::copy(&f, lib.join(f.file_name().unwrap())).unwrap();
    }
    let index = tmp.path().join("index");
    let mut args = vec!["index", s(&lib)];
    args.extend_from_slice(TINY_TRAINING);
    let run = latentid(&index, &args);
    assert_eq!(run.code, 0, "{run}");
    std::fs::remove_dir_all(&lib).unwrap();
    let run = latentid(&index, &outliers_args(&["--json"]));
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.contains("no held-out measurement"), "{run}");
    let ranked = run.json_lines();
    assert_eq!(ranked.len(), 4, "{run}");
    for r in &ranked {
        assert!(r.get("held_out_score").is_none(), "{r}");
    }
}
