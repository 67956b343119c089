//! Index location, usage errors and exit codes.

use crate::util::*;

#[test]
fn a_missing_index_is_named_and_not_created() {
    let tmp = tempfile::tempdir().unwrap();
    let index = tmp.path().join("nothing-here");
    for args in [&["stats"][..], &["list"], &["query", "x.wav"]] {
        let run = latentid(&index, args);
        assert_eq!(run.code, 2, "{run}");
        assert!(run.stderr.contains("no index at"), "{run}");
        assert!(run.stderr.contains("nothing-here"), "{run}");
    }
    assert!(!index.exists(), "a read command must not create an index");
}

#[test]
fn a_query_of_the_other_kind_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let image = &fixture_files("images")[0];
    let run = latentid(&index, &["query", s(image)]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains(s(image)) && run.stderr.contains("audio"),
        "{run}"
    );
}

#[test]
fn an_index_in_use_is_refused_not_corrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    // Hold the index open from this process, as another latentid would.
    let store = latentid_store::SledStore::open(&index).unwrap();
    let run = latentid(&index, &["stats"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("in use"), "{run}");
    drop(store);
    // sled lets go of its file lock from its own threads, a moment after the drop.
    let mut run = latentid(&index, &["stats"]);
    for _ in 0..40 {
        if run.code == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        run = latentid(&index, &["stats"]);
    }
    assert_eq!(run.code, 0, "{run}");
}

#[test]
fn usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let run = latentid(tmp.path(), &["query"]);
    assert_eq!(run.code, 2, "{run}");
    let run = latentid(tmp.path(), &["frobnicate"]);
    assert_eq!(run.code, 2, "{run}");
}

#[test]
fn a_reader_that_stops_early_ends_the_listing_quietly() {
    // `latentid list | head -1`: the reader closes the pipe; latentid must stop as other
    // command-line tools do, not panic about a failed print.
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_latentid"))
        .args(["list", "--json", "--index"])
        .arg(&index)
        .env("LATENTID_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run latentid");
    // Closed before latentid has opened the index, let alone printed.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for latentid");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && out.status.code() != Some(101),
        "{:?}\n{stderr}",
        out.status
    );
}
