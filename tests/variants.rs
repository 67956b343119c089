//! A library may hold the same tune twice (a game's "victory" and "victory2", an album track
//! and its single edit). That is no false match, and it must not raise the "no match" bar so
//! high that clean clips of the other tracks go unnamed.

use std::path::PathBuf;

use crate::util::*;

#[test]
fn a_library_with_one_tune_twice_still_names_its_other_tracks() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("library");
    std::fs::create_dir_all(&lib).unwrap();
    let tracks = fixture_files("audio");
    for t in &tracks {
        std::fs::copy(t, lib.join(t.file_name().unwrap())).unwrap();
    }
    // The twin: the whole of one track again, as a 22.05 kHz WAV (other bytes, same tune).
    let twinned = tracks
        .iter()
        .find(|t| {
            t.file_name()
                .is_some_and(|n| n == "legends_of_the_north.ogg")
        })
        .expect("fixture track");
    let seconds = latentid_media::decode_audio(twinned, 8000)
        .unwrap()
        .duration_s();
    let twin = lib.join("legends_of_the_north (single edit).wav");
    excerpt(twinned, 0.0, seconds - 0.1, None, &twin);

    let index = tmp.path().join("index");
    let mut args = vec!["index", s(&lib), "--json"];
    args.extend_from_slice(TINY_TRAINING);
    let run = latentid(&index, &args);
    assert_eq!(run.code, 0, "{run}");
    let added = run.json()["added"].as_array().unwrap().len();
    assert_eq!(
        added,
        tracks.len() + 1,
        "the twin is stored as its own item\n{run}"
    );

    let mut clips: Vec<(PathBuf, String)> = Vec::new();
    for (i, t) in tracks.iter().enumerate() {
        let clip = tmp.path().join(format!("clip{i}.wav"));
        excerpt(t, 6.0, 5.0, None, &clip);
        clips.push((clip, t.file_stem().unwrap().to_string_lossy().into_owned()));
    }
    let mut args = vec!["query", "--json"];
    args.extend(clips.iter().map(|(c, _)| s(c)));
    let run = latentid(&index, &args);
    assert_eq!(run.code, 0, "{run}");
    for (r, (_, stem)) in run.json_lines().iter().zip(&clips) {
        let path = r["match"]["path"]
            .as_str()
            .unwrap_or_else(|| panic!("a clean clip of {stem} was not named\n{r:#}"));
        let file = std::path::Path::new(path).file_name().unwrap();
        assert!(
            file.to_string_lossy().starts_with(stem.as_str()),
            "a clean clip of {stem} was named {path}\n{r:#}"
        );
    }
}
