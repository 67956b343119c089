//! Thousands of damaged files through `latentid index` and `query`: each gets its own error
//! naming it and the reason, nothing escapes containment, aborts or hangs, and the good
//! files beside them are indexed.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::corpus::{absurd_wavs, lying_images, mutants, write_all, Mutant};
use crate::util::*;

/// A run over the whole corpus may take this long before it counts as a hang.
const RUN_BOUND: Duration = Duration::from_secs(900);
/// Address space a run may use: far above what indexing a library needs.
const MEM_BOUND_MB: u64 = 6_144;

/// Mutants per fixture, from the environment (the bench script asks for more).
fn per_source(default: usize) -> usize {
    std::env::var("LATENTID_BAD_PER_SOURCE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// Checks an `index --json` report over `lib`: every file is accounted for once, every
/// failure names its file and says why, and `good` are all added. Returns (added, failed,
/// contained panics).
fn check_report(
    run: &Run,
    lib: &Path,
    files: &[PathBuf],
    good: &[PathBuf],
) -> (usize, usize, usize) {
    // An escaped panic would exit with 101, an abort with a signal (latentid_bounded fails
    // on those); a contained one is a failure for its file, counted below.
    assert!(
        run.code == 0 || run.code == 1,
        "index must finish (0) or report failed files (1)\n{}",
        tail(run)
    );
    let r = run.json();
    let mut seen: BTreeMap<PathBuf, &str> = BTreeMap::new();
    let mut note = |p: &str, how: &'static str| {
        let prev = seen.insert(PathBuf::from(p), how);
        assert!(prev.is_none(), "{p} reported twice ({prev:?}, {how})");
    };
    let added = r["added"].as_array().unwrap();
    for a in added {
        note(a["path"].as_str().unwrap(), "added");
    }
    let failed = r["failed"].as_array().unwrap();
    let mut panics = 0;
    for f in failed {
        let path = f["path"].as_str().unwrap();
        let reason = f["reason"].as_str().unwrap();
        note(path, "failed");
        assert!(
            reason.contains(path),
            "the reason must name the file: {reason}"
        );
        assert!(
            reason.len() > path.len() + 10,
            "the reason must say why: {reason}"
        );
        if reason.contains("internal error") {
            panics += 1;
            eprintln!("contained panic: {reason}");
        }
    }
    for d in r["duplicates"].as_array().unwrap() {
        note(d["path"].as_str().unwrap(), "duplicate");
    }
    for s in r["skipped"].as_array().unwrap() {
        note(s.as_str().unwrap(), "skipped");
    }
    for f in files {
        assert!(
            seen.contains_key(f),
            "{} is not in the report (under {})",
            f.display(),
            lib.display()
        );
    }
    assert_eq!(
        seen.len(),
        files.len(),
        "the report names files that are not there"
    );
    for g in good {
        assert_eq!(
            seen.get(g).copied(),
            Some("added"),
            "the good file {} must be indexed",
            g.display()
        );
    }
    (added.len(), failed.len(), panics)
}

/// The last lines of a run's output (a corpus run's report is long).
fn tail(run: &Run) -> String {
    let cut = |s: &str| {
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    format!(
        "exit code {}\n--- stdout (tail)\n{}\n--- stderr (tail)\n{}",
        run.code,
        cut(&run.stdout),
        cut(&run.stderr)
    )
}

/// Asks about every file in `asked` in one `query` run: each gets an answer or an error
/// naming it, and `good` get answers that name themselves.
fn check_queries(index: &Path, asked: &[PathBuf], good: &[PathBuf]) {
    let mut args = vec![os("query"), os("--json")];
    args.extend(asked.iter().map(|p| p.as_os_str()));
    let run = latentid_bounded(index, &args, RUN_BOUND, MEM_BOUND_MB);
    assert!(run.code == 0 || run.code == 1, "{}", tail(&run));
    let lines = run.json_lines();
    assert_eq!(
        lines.len(),
        asked.len(),
        "one line per file asked\n{}",
        tail(&run)
    );
    for (line, file) in lines.iter().zip(asked) {
        let f = file.to_str().unwrap();
        assert_eq!(line["query"].as_str(), Some(f), "{line}");
        if let Some(e) = line["error"].as_str() {
            assert!(e.contains(f), "the error must name the file: {e}");
            assert!(!good.contains(file), "a good file failed: {e}");
        } else {
            assert!(line.get("candidates").is_some(), "{line}");
        }
    }
    for g in good {
        let i = asked.iter().position(|a| a == g).unwrap();
        let m: &Value = &lines[i]["match"];
        assert!(
            m["path"]
                .as_str()
                .is_some_and(|p| p.ends_with(g.file_name().unwrap().to_str().unwrap())),
            "{} must find itself: {}",
            g.display(),
            lines[i]
        );
    }
}

fn every_nth(v: &[PathBuf], n: usize) -> Vec<PathBuf> {
    v.iter().step_by(n.max(1)).cloned().collect()
}

#[test]
fn thousands_of_damaged_songs_each_fail_alone_and_the_good_one_is_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let lib = tmp.path().join("lib");
    let mut corpus: Vec<Mutant> = mutants(&fixture_files("audio"), per_source(200), 96 << 10, 18);
    corpus.extend(mutants(
        &fixture_files("broken"),
        per_source(200) / 10,
        32 << 10,
        19,
    ));
    corpus.extend(absurd_wavs(20));
    let files = write_all(&lib, &corpus);
    let good = lib.join("good-vengeful.ogg");
    std::fs::copy(fixtures().join("audio-heldout/vengeful.ogg"), &good).unwrap();
    assert!(files.len() >= 1_200, "{} mutants", files.len());

    let failed = index_and_query(&index, &lib, &files, &good, "songs", 8);
    assert!(failed > files.len() / 2, "most of the corpus is unreadable");
}

#[test]
fn hundreds_of_damaged_pictures_each_fail_alone_and_the_good_one_is_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    for f in fixture_files("images") {
        if !f.ends_with("hubble.gif") {
            std::fs::copy(&f, photos.join(f.file_name().unwrap())).unwrap();
        }
    }
    let index = tmp.path().join("index");
    let run = latentid(
        &index,
        &[
            "index",
            s(&photos),
            "--json",
            "--epochs",
            "4",
            "--train-examples",
            "200",
            "--seed",
            "1",
        ],
    );
    assert_eq!(run.code, 0, "{run}");

    let lib = tmp.path().join("lib");
    let images = fixtures().join("images");
    let mut corpus = mutants(&fixture_files("images"), per_source(130), 256 << 10, 21);
    corpus.extend(lying_images(&images));
    let files = write_all(&lib, &corpus);
    let good = lib.join("good-hubble.gif");
    std::fs::copy(images.join("hubble.gif"), &good).unwrap();
    assert!(files.len() >= 800, "{} mutants", files.len());

    index_and_query(&index, &lib, &files, &good, "pictures", 6);
}

/// Indexes `lib` (the damaged `files` and one `good` file) into `index` within the run's time
/// and memory bounds, checks the report (every file accounted for, each failure naming the
/// file and the reason, the good one added) and queries every `nth` damaged file and the good
/// one; returns how many files failed.
fn index_and_query(
    index: &Path,
    lib: &Path,
    files: &[PathBuf],
    good: &Path,
    what: &str,
    nth: usize,
) -> usize {
    let mut all = files.to_vec();
    all.push(good.to_path_buf());
    all.sort();
    let run = latentid_bounded(
        index,
        &[os("index"), lib.as_os_str(), os("--json")],
        RUN_BOUND,
        MEM_BOUND_MB,
    );
    let good = good.to_path_buf();
    let (added, failed, panics) = check_report(&run, lib, &all, std::slice::from_ref(&good));
    eprintln!(
        "{} damaged {what}: {added} added, {failed} failed ({panics} contained panics)",
        files.len()
    );
    let mut asked = every_nth(files, nth);
    asked.push(good.clone());
    check_queries(index, &asked, &[good]);
    failed
}
