//! "What song is this?" from noisy clips, against an index of the fixture library.

use std::path::Path;

use crate::util::*;

fn canonical(p: &Path) -> String {
    std::fs::canonicalize(p).unwrap().display().to_string()
}

#[test]
fn noisy_excerpts_find_their_track_and_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let tracks = fixture_files("audio");
    let start = 6.0;
    let mut clips = Vec::new();
    for (i, t) in tracks.iter().enumerate() {
        let clip = tmp.path().join(format!("clip{i}.wav"));
        excerpt(t, start, 5.0, Some(10.0), &clip);
        clips.push(clip);
    }
    let mut args = vec!["query", "--json"];
    args.extend(clips.iter().map(|c| s(c)));
    let run = latentid(&index, &args);
    assert_eq!(run.code, 0, "{run}");
    let results = run.json_lines();
    assert_eq!(results.len(), tracks.len(), "{run}");
    for (r, t) in results.iter().zip(&tracks) {
        let m = &r["match"];
        assert!(
            !m.is_null(),
            "no match for a noisy clip of {}\n{r:#}",
            t.display()
        );
        assert_eq!(
            m["path"].as_str().unwrap(),
            canonical(t),
            "wrong track\n{r:#}"
        );
        let offset = m["offset_s"].as_f64().unwrap();
        assert!(
            (offset - start as f64).abs() <= 0.5,
            "offset {offset} for a clip starting at {start}\n{r:#}"
        );
        let conf = m["confidence"].as_f64().unwrap();
        assert!((0.5..=1.0).contains(&conf), "confidence {conf}");
    }
}

#[test]
fn a_song_not_in_the_library_is_not_named() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    for (i, t) in fixture_files("audio-heldout").iter().enumerate() {
        for (j, snr) in [None, Some(10.0)].into_iter().enumerate() {
            let clip = tmp.path().join(format!("held{i}-{j}.wav"));
            excerpt(t, 3.0, 5.0, snr, &clip);
            let run = latentid(&index, &["query", s(&clip), "--json"]);
            assert_eq!(run.code, 0, "{run}");
            let r = run.json();
            assert!(
                r["match"].is_null(),
                "named a song that is not in the library\n{r:#}"
            );
            // The human output says so too.
            let human = latentid(&index, &["query", s(&clip)]);
            assert!(human.stdout.contains("no match"), "{human}");
        }
    }
}

#[test]
fn indexing_the_same_folder_again_skips_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let lib = fixtures().join("audio");
    let run = latentid(&index, &["index", s(&lib), "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let r = run.json();
    assert_eq!(r["added"].as_array().unwrap().len(), 0, "{r:#}");
    assert_eq!(
        r["duplicates"].as_array().unwrap().len(),
        fixture_files("audio").len(),
        "{r:#}"
    );
    assert!(
        r["trained"].is_null(),
        "re-indexing must reuse the model\n{r:#}"
    );
}

#[test]
fn a_removed_track_is_gone_from_results() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let track = &fixture_files("audio")[0];
    let clip = tmp.path().join("clip.wav");
    excerpt(track, 4.0, 5.0, None, &clip);
    let before = latentid(&index, &["query", s(&clip), "--json"]).json();
    assert_eq!(
        before["match"]["path"].as_str().unwrap(),
        canonical(track),
        "{before:#}"
    );

    let run = latentid(&index, &["remove", &canonical(track)]);
    assert_eq!(run.code, 0, "{run}");
    let after = latentid(&index, &["query", s(&clip), "--json", "--top", "10"]).json();
    for c in after["candidates"].as_array().unwrap() {
        assert_ne!(
            c["path"].as_str().unwrap(),
            canonical(track),
            "removed track still returned\n{after:#}"
        );
    }
    let listed = latentid(&index, &["list", "--json"]).json_lines();
    assert_eq!(listed.len(), fixture_files("audio").len() - 1);
    assert!(listed
        .iter()
        .all(|i| i["path"].as_str().unwrap() != canonical(track)));
}

#[test]
fn stats_and_list_describe_the_index() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let st = latentid(&index, &["stats", "--json"]).json();
    let n = fixture_files("audio").len() as u64;
    assert_eq!(st["items"].as_u64().unwrap(), n, "{st:#}");
    assert!(st["signatures"].as_u64().unwrap() > 10 * n, "{st:#}");
    assert_eq!(st["latent_dim"].as_u64().unwrap(), 32);
    assert!(st["model"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(st["bytes"].as_u64().unwrap() > 0);
    let list = latentid(&index, &["list", "--json"]).json_lines();
    assert_eq!(list.len() as u64, n);
    for item in list {
        assert_eq!(item["kind"], "audio");
        assert!(Path::new(item["path"].as_str().unwrap()).is_absolute());
        assert!(item["id"].is_u64() && item["name"].is_string());
    }
}

#[test]
fn an_index_made_before_band_centring_says_how_to_get_it() {
    let tmp = tempfile::tempdir().unwrap();
    // An audio index as latentid made them before it centred the bands: features fixed at 0.
    let old = tmp.path().join("old");
    let tracks = fixture_files("audio");
    let mut cfg = latentid_ingest::IngestConfig {
        train: latentid_model::TrainConfig::tiny(),
        ..Default::default()
    };
    cfg.features.audio.band_centering = 0.0;
    latentid_ingest::ingest(&old, &tracks[..2], &cfg, &latentid_ingest::NoProgress).unwrap();
    let stats = latentid(&old, &["stats"]);
    assert!(stats.stdout.contains("band centring 0\n"), "{stats}");
    assert!(
        stats.stdout.contains("index the library into a new folder"),
        "{stats}"
    );
    // Adding to it keeps its front end (its signatures must stay comparable) and says so.
    let run = latentid(&old, &["index", s(&tracks[2])]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stderr
            .contains("made before latentid centred each mel band"),
        "{run}"
    );
    let st = latentid(&old, &["stats", "--json"]).json();
    assert_eq!(st["features"]["audio"]["band_centering"], 0.0, "{st:#}");

    // A current index has it, and no note.
    let new = own_audio_index(tmp.path());
    let stats = latentid(&new, &["stats"]);
    assert!(stats.stdout.contains("band centring 0.75\n"), "{stats}");
    assert!(!stats.stdout.contains("note"), "{stats}");
}
