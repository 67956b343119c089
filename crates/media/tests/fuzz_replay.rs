//! Replays what fuzzing found (fixtures/fuzz/<target>/crashers: inputs that once crashed,
//! aborted, hung or allocated without bound, fixed since) and a sample of its corpus
//! (fixtures/fuzz/<target>/corpus) through the fuzzed paths, so that CI guards them on
//! stable Rust. benches/fuzz/run.sh does the fuzzing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Any one input may take this long (a debug build) before it counts as a hang.
const BOUND: Duration = Duration::from_secs(120);

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/fuzz")
        .join(target);
    let mut v = Vec::new();
    for sub in ["crashers", "corpus"] {
        let Ok(dir) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        for e in dir {
            let p = e.unwrap().path();
            if p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.') {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

fn replay(target: &str, run: fn(&[u8]) -> usize) {
    let files = inputs(target);
    assert!(
        !files.is_empty(),
        "fixtures/fuzz/{target} holds the saved crashers and a corpus sample"
    );
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let (tx, rx) = mpsc::channel();
        let name = f.display().to_string();
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(|| run(&bytes));
            let _ = tx.send(r.is_ok());
        });
        match rx.recv_timeout(BOUND) {
            Ok(true) => {}
            Ok(false) => panic!("{name}: a panic escaped containment"),
            Err(_) => panic!("{name}: still running after {BOUND:?} (a hang)"),
        }
    }
}

#[test]
fn audio_inputs_found_by_fuzzing_decode_or_fail_cleanly() {
    replay("audio_decode", latentid_media::fuzzing::audio);
}

#[test]
fn image_inputs_found_by_fuzzing_decode_or_fail_cleanly() {
    replay("image_load", latentid_media::fuzzing::image);
}
