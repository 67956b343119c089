//! `latentid tune`: the latent-size sweep on the fixture library, with a tiny budget.

use serde_json::Value;

use crate::util::*;

/// Out of reach (top-1 is at most 1): the sweep must try every size up to --to.
const TARGET: f64 = 1.01;
const MAX_FALSE: f64 = 0.01;

fn f(row: &Value, key: &str) -> f64 {
    row[key]
        .as_f64()
        .unwrap_or_else(|| panic!("row without a number for {key}: {row:#}"))
}

#[test]
fn tune_grows_the_latent_size_from_2_until_the_target_and_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let plot = tmp.path().join("sweep.png");
    let lib = fixtures().join("audio");
    let target = TARGET.to_string();
    let run = latentid(
        &tmp.path().join("unused-index"),
        &[
            "tune",
            s(&lib),
            "--to",
            "4",
            "--target",
            &target,
            "--budget",
            "10",
            "--epochs",
            "3",
            "--train-examples",
            "400",
            "--seed",
            "1",
            "--plot",
            s(&plot),
            "--json",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    let mut lines = run.json_lines();
    let summary = lines.pop().unwrap();
    let summary = &summary["summary"];
    assert!(summary.is_object(), "last line is the summary\n{run}");
    let rows = lines;
    assert!(!rows.is_empty(), "{run}");

    // Rows come in (autoencoder, PCA) pairs per size, sizes start at 2 and grow.
    assert_eq!(rows.len() % 2, 0, "{run}");
    let mut sizes = Vec::new();
    for pair in rows.chunks(2) {
        assert_eq!(pair[0]["encoder"], "ae", "{run}");
        assert_eq!(pair[1]["encoder"], "pca", "{run}");
        assert_eq!(pair[0]["latent_dim"], pair[1]["latent_dim"], "{run}");
        sizes.push(pair[0]["latent_dim"].as_u64().unwrap());
    }
    // Nothing meets an unreachable target: every size from 2 to --to is tried.
    assert_eq!(sizes, [2, 3, 4], "{run}");

    // Every metric is there and in range.
    let held = summary["heldout"].as_array().unwrap().len();
    assert!(
        held >= 1,
        "some items are held out as songs not in the library\n{summary:#}"
    );
    for r in &rows {
        for key in [
            "top1",
            "top1_candidate",
            "wrong_item",
            "false_match",
            "sig_nn_own",
            "sig_nn_item",
        ] {
            let v = f(r, key);
            assert!((0.0..=1.0).contains(&v), "{key} = {v}\n{r:#}");
        }
        assert!(f(r, "sig_ratio_median") > 0.0, "{r:#}");
        assert!(f(r, "sig_count") > 0.0, "{r:#}");
        assert!(
            f(r, "queries") > 0.0 && f(r, "non_match_queries") > 0.0,
            "{r:#}"
        );
        assert!(f(r, "train_seconds") >= 0.0, "{r:#}");
        assert!(f(r, "index_bytes") > 0.0, "{r:#}");
        let dim = f(r, "latent_dim");
        assert_eq!(
            f(r, "signature_bytes"),
            f(r, "signatures") * dim * 4.0,
            "{r:#}"
        );
        // The target is what the row says it is.
        let meets = f(r, "top1") >= TARGET && f(r, "false_match") <= MAX_FALSE;
        assert_eq!(r["meets_target"].as_bool().unwrap(), meets, "{r:#}");
    }

    assert!(summary["chosen"].is_null(), "{summary:#}");

    // The plot is a real picture: curves above, the 2-D scatters below.
    let img = latentid_media::load_image(&plot).unwrap();
    assert_eq!((img.width(), img.height()), (1200, 1000));
    let rgb = img.to_rgb8();
    let non_white = rgb.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    assert!(
        non_white > 1200 * 1000 / 50,
        "the plot is almost blank ({non_white} drawn pixels)"
    );
}

#[test]
fn tune_without_a_library_says_what_to_give() {
    let tmp = tempfile::tempdir().unwrap();
    let run = latentid(&tmp.path().join("no-index"), &["tune"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("nothing to tune"), "{run}");
}

#[test]
fn tune_apply_reindexes_the_index_at_the_chosen_size() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let before = latentid(&index, &["stats", "--json"]).json();
    assert_eq!(before["latent_dim"], 32, "{before:#}");
    // Any accuracy and any false-match rate will do: the first size tried (3) is chosen,
    // and applied to the index's own items.
    let run = latentid(
        &index,
        &[
            "tune",
            "--apply",
            "--from",
            "3",
            "--to",
            "4",
            "--target",
            "0",
            "--max-false-match",
            "1",
            "--budget",
            "5",
            "--epochs",
            "2",
            "--train-examples",
            "300",
            "--seed",
            "1",
            "--json",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    let lines = run.json_lines();
    let summary = &lines.last().expect("a summary line")["summary"];
    assert_eq!(summary["chosen"], 3, "{run}");
    // Size 3 met the target, so 4 was never tried.
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|r| r["latent_dim"] == 3),
        "went on past the chosen size\n{run}"
    );
    assert_eq!(summary["applied"]["latent_dim"], 3, "{run}");
    let after = latentid(&index, &["stats", "--json"]).json();
    assert_eq!(after["latent_dim"], 3, "{after:#}");
    assert_eq!(after["items"], before["items"], "{after:#}");
    assert!(after["signatures"].as_u64().unwrap() > 0, "{after:#}");
    // The re-indexed index still answers.
    let clip = tmp.path().join("clip.wav");
    excerpt(&fixture_files("audio")[0], 4.0, 5.0, None, &clip);
    let q = latentid(&index, &["query", s(&clip), "--json"]);
    assert_eq!(q.code, 0, "{q}");
    assert!(
        !q.json()["candidates"].as_array().unwrap().is_empty(),
        "{q}"
    );
}
