//! The README's main job, and indexes written by earlier versions (fixtures/golden).

use serde_json::Value;

use crate::util::*;

/// `latentid query fixtures/queries/*` as the README runs it, as JSON Lines.
fn query_demo_clips(index: &std::path::Path) -> Vec<Value> {
    let clips = fixture_files("queries");
    let mut args = vec!["query", "--json"];
    args.extend(clips.iter().map(|c| s(c)));
    let run = latentid(index, &args);
    assert_eq!(run.code, 0, "{run}");
    let answers = run.json_lines();
    assert_eq!(answers.len(), clips.len(), "{run}");
    answers
}

/// The README's promise: the noisy clip and the phone clip are named with the offset they
/// were cut at (fixtures/make_fixtures.sh), the song that is not in the library is not.
fn assert_demo_answers(answers: &[Value]) {
    let by_file = |stem: &str| {
        answers
            .iter()
            .find(|a| a["query"].as_str().unwrap().contains(stem))
            .unwrap_or_else(|| panic!("no answer for {stem}: {answers:#?}"))
    };
    for (clip, track, offset) in [
        ("noisy-northerners", "northerners", 8.0),
        ("phone-knolls", "knolls", 5.0),
    ] {
        let a = by_file(clip);
        let m = &a["match"];
        assert_eq!(m["name"], track, "{clip}\n{a:#}");
        let got = m["offset_s"].as_f64().unwrap();
        assert!((got - offset).abs() <= 0.5, "{clip}: offset {got}\n{a:#}");
    }
    let stranger = by_file("not-in-library-vengeful");
    assert!(stranger["match"].is_null(), "{stranger:#}");
}

#[test]
fn the_readme_main_job_names_the_demo_clips() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    assert_demo_answers(&query_demo_clips(&index));
    // The human form the README shows.
    let clips = fixture_files("queries");
    let mut args = vec!["query"];
    args.extend(clips.iter().map(|c| s(c)));
    let run = latentid(&index, &args);
    assert!(run.stdout.contains("northerners at 0:0"), "{run}");
    assert!(run.stdout.contains("no match"), "{run}");
}

#[test]
fn indexes_of_formats_1_and_3_still_open_and_answer() {
    // Format 1 predates reading tags: its items are named by file stem.
    let stems = [
        "battle",
        "knolls",
        "legends_of_the_north",
        "northerners",
        "the_city_falls",
        "wanderer",
    ];
    let tagged = [
        "Aleksi Aubry-Carlson – Battle Music",
        "Mattias Westlund – Legends of the North",
        "knolls",
        "northerners",
        "the_city_falls",
        "wanderer",
    ];
    for (golden, names) in [("v1-audio", stems), ("v3-audio", tagged)] {
        let tmp = tempfile::tempdir().unwrap();
        let index = tmp.path().join(golden);
        copy_dir(&fixtures().join("golden").join(golden), &index);
        an_older_index_opens_and_answers(&index, &names);
    }
}

fn an_older_index_opens_and_answers(index: &std::path::Path, names: &[&str]) {
    let list = latentid(index, &["list", "--json"]);
    assert_eq!(list.code, 0, "{list}");
    let mut listed: Vec<String> = list
        .json_lines()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, names, "{list}");
    assert_demo_answers(&query_demo_clips(index));
    let stats = latentid(index, &["stats", "--json"]).json();
    assert_eq!(stats["latent_dim"], 8, "{stats:#}");
    assert_eq!(stats["kind"], "audio", "{stats:#}");
}
