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
fn an_index_of_format_1_still_opens_and_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let index = tmp.path().join("v1-audio");
    copy_dir(&fixtures().join("golden").join("v1-audio"), &index);
    let list = latentid(&index, &["list", "--json"]);
    assert_eq!(list.code, 0, "{list}");
    let mut names: Vec<String> = list
        .json_lines()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "battle",
            "knolls",
            "legends_of_the_north",
            "northerners",
            "the_city_falls",
            "wanderer"
        ],
        "{list}"
    );
    assert_demo_answers(&query_demo_clips(&index));
    let stats = latentid(&index, &["stats", "--json"]).json();
    assert_eq!(stats["latent_dim"], 8, "{stats:#}");
    assert_eq!(stats["kind"], "audio", "{stats:#}");
}
