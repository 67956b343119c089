//! The Milvus backend (`--backend milvus://host:port`) against a milvus-lite server that the
//! test starts itself: the fixture flow answers as the local store does, and a server killed
//! during `index` loses nothing that was acknowledged.
//!
//! milvus-lite is found at `$LATENTID_MILVUS_LITE` (the `milvus-lite` program of a virtualenv,
//! as `.ci/run` installs it) or on the PATH. Without it these tests say so loudly and pass, so
//! that `cargo test --workspace` passes on a fresh machine; with `LATENTID_REQUIRE_MILVUS=1`
//! (as `.ci/run` sets) a missing milvus-lite fails them.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

fn milvus_lite() -> Option<PathBuf> {
    let required = std::env::var("LATENTID_REQUIRE_MILVUS").is_ok_and(|v| v == "1");
    let from_env = std::env::var_os("LATENTID_MILVUS_LITE").map(PathBuf::from);
    let found = from_env.filter(|p| p.is_file()).or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join("milvus-lite"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !required,
            "LATENTID_REQUIRE_MILVUS=1 but milvus-lite is missing (set LATENTID_MILVUS_LITE to the \
             milvus-lite program of a virtualenv with `pip install pymilvus milvus-lite`)"
        );
        eprintln!(
            "\n!!!!!!!!!! SKIPPED the Milvus backend test: milvus-lite is not installed (set \
             LATENTID_MILVUS_LITE=/path/to/venv/bin/milvus-lite; LATENTID_REQUIRE_MILVUS=1 makes this a failure) !!!!!!!!!!\n"
        );
    }
    found
}

/// A milvus-lite server on a free loopback port, killed when dropped.
struct MilvusLite {
    program: PathBuf,
    data: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl MilvusLite {
    fn start(program: &Path, data: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = Self {
            program: program.to_path_buf(),
            data: data.to_path_buf(),
            port,
            child: None,
        };
        server.restart();
        server
    }

    /// Starts the server (again) on the same port and data directory.
    fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        let log = std::fs::File::create(self.data.with_extension("log")).unwrap();
        let mut child = Command::new(&self.program)
            .args(["server", "--data-dir"])
            .arg(&self.data)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.program.display()));
        // Bounded wait for the port (the server imports numpy, faiss and grpc first).
        for _ in 0..600 {
            if let Some(status) = child.try_wait().unwrap() {
                let log = std::fs::read_to_string(self.data.with_extension("log"));
                panic!("milvus-lite exited at start ({status}): {log:?}");
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.child = Some(child);
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = child.kill();
        panic!("milvus-lite did not listen on port {}", self.port);
    }

    /// SIGKILL: no chance to flush anything.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn backend(&self) -> String {
        format!("milvus://{}", self.address())
    }
}

impl Drop for MilvusLite {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `latentid ARGS --backend BACKEND --index INDEX`.
fn on(backend: &str, index: &Path, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--backend", backend]);
    latentid(index, &all)
}

/// Noisy 5 s clips of every fixture track.
fn clips(dir: &Path) -> Vec<PathBuf> {
    fixture_files("audio")
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let clip = dir.join(format!("clip{i}.wav"));
            excerpt(t, 6.0, 5.0, Some(10.0), &clip);
            clip
        })
        .collect()
}

fn query_args(clips: &[PathBuf]) -> Vec<&str> {
    let mut args = vec!["query", "--json", "--top", "5"];
    args.extend(clips.iter().map(|c| s(c)));
    args
}

/// The same command on the Milvus index and on its local twin: both succeed and print the
/// same JSON.
fn same(milvus: &(String, PathBuf), local: &Path, args: &[&str]) -> Vec<Value> {
    let m = on(&milvus.0, &milvus.1, args);
    assert_eq!(m.code, 0, "{args:?} on Milvus\n{m}");
    let l = on("local", local, args);
    assert_eq!(l.code, 0, "{args:?} locally\n{l}");
    // Answers say how long they took, items when they were added (the re-indexed one, a
    // moment apart): the rest must be the same.
    let strip = |mut v: Vec<Value>| {
        for a in &mut v {
            if let Some(o) = a.as_object_mut() {
                o.remove("seconds");
                o.remove("added_unix");
            }
        }
        v
    };
    let (m, l) = (strip(m.json_lines()), strip(l.json_lines()));
    assert_eq!(
        m, l,
        "{args:?}: Milvus and the local store answer differently"
    );
    m
}

fn canonical(p: &Path) -> String {
    std::fs::canonicalize(p).unwrap().display().to_string()
}

/// The collection's row count, as `stats` reports it with the backend.
fn milvus_rows(backend: &str, index: &Path) -> (u64, u64) {
    let st = on(backend, index, &["stats", "--json"]);
    assert_eq!(st.code, 0, "{st}");
    let st = st.json();
    let described = st["backend"].as_str().unwrap().to_string();
    assert!(
        described.starts_with(backend) && described.contains("collection latentid_"),
        "stats must name the server and the collection\n{st:#}"
    );
    let rows = described
        .rsplit(", ")
        .next()
        .and_then(|r| r.strip_suffix(" rows"))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no row count in {described:?}"));
    (rows, st["signatures"].as_u64().unwrap())
}

#[test]
fn the_fixture_flow_on_milvus_answers_as_the_local_store_does() {
    let Some(program) = milvus_lite() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let server = MilvusLite::start(&program, &tmp.path().join("milvus"));
    let backend = server.backend();
    let lib = fixtures().join("audio");
    let tracks = fixture_files("audio");

    // index (training the encoder) straight into Milvus.
    let milvus_index = tmp.path().join("on-milvus");
    let mut args = vec!["index", s(&lib), "--json"];
    args.extend_from_slice(TINY_TRAINING);
    let run = on(&backend, &milvus_index, &args);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        run.json()["added"].as_array().unwrap().len(),
        tracks.len(),
        "{run}"
    );
    let (rows, signatures) = milvus_rows(&backend, &milvus_index);
    assert_eq!(
        rows, signatures,
        "every signature is in the collection once"
    );

    // Its local twin: the same catalog, searched by the folder's own graph / exact scan.
    let local = tmp.path().join("local");
    copy_dir(&milvus_index, &local);
    let m = (backend.clone(), milvus_index.clone());

    // query
    let clips = clips(tmp.path());
    let answers = same(&m, &local, &query_args(&clips));
    for (a, t) in answers.iter().zip(&tracks) {
        assert_eq!(
            a["match"]["path"].as_str(),
            Some(canonical(t).as_str()),
            "{a:#}"
        );
    }
    same(&m, &local, &["list", "--json"]);

    // remove
    let gone = canonical(&tracks[0]);
    same(&m, &local, &["remove", &gone, "--json"]);
    let answers = same(&m, &local, &query_args(&clips));
    for a in &answers {
        for c in a["candidates"].as_array().unwrap() {
            assert_ne!(
                c["path"].as_str(),
                Some(gone.as_str()),
                "removed track found\n{a:#}"
            );
        }
    }
    let (rows, signatures) = milvus_rows(&backend, &milvus_index);
    assert_eq!(
        rows, signatures,
        "the removed track's signatures left the collection"
    );

    // re-index: the removed track comes back (under the same new id), the others are
    // duplicates. Reports carry timings and the index path: compare what was done.
    let mut done = Vec::new();
    for (b, dir) in [(backend.as_str(), &milvus_index), ("local", &local)] {
        let run = on(b, dir, &["index", s(&lib), "--json"]);
        assert_eq!(run.code, 0, "{run}");
        let r = run.json();
        done.push((r["added"].clone(), r["duplicates"].clone()));
    }
    assert_eq!(done[0], done[1], "re-indexing on Milvus and locally differ");
    assert_eq!(done[0].0.as_array().unwrap().len(), 1, "{done:?}");
    let answers = same(&m, &local, &query_args(&clips));
    assert_eq!(
        answers[0]["match"]["path"].as_str(),
        Some(gone.as_str()),
        "{:#}",
        answers[0]
    );

    // similar and duplicates
    let listed = same(&m, &local, &["list", "--json"]);
    for item in &listed {
        let id = item["id"].as_u64().unwrap().to_string();
        same(&m, &local, &["similar", &id, "--top", "3", "--json"]);
    }
    same(&m, &local, &["duplicates", "--json"]);
    let (rows, signatures) = milvus_rows(&backend, &milvus_index);
    assert_eq!(rows, signatures);

    // The folder remembers its server: without --backend it goes on using Milvus.
    let st = latentid(&milvus_index, &["stats", "--json"]).json();
    assert!(
        st["backend"].as_str().unwrap().starts_with(&backend),
        "{st:#}"
    );
}

#[test]
fn a_milvus_killed_during_index_loses_nothing_acknowledged() {
    let Some(program) = milvus_lite() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut server = MilvusLite::start(&program, &tmp.path().join("milvus"));
    let backend = server.backend();
    let tracks = fixture_files("audio");
    let index = tmp.path().join("index");

    // Three tracks indexed and acknowledged (the encoder trained on them).
    let first = tmp.path().join("first");
    std::fs::create_dir_all(&first).unwrap();
    for t in &tracks[..3] {
        std::fs::copy(t, first.join(t.file_name().unwrap())).unwrap();
    }
    let mut args = vec!["index", s(&first), "--json"];
    args.extend_from_slice(TINY_TRAINING);
    let run = on(&backend, &index, &args);
    assert_eq!(run.code, 0, "{run}");
    let acknowledged = on(&backend, &index, &["list", "--json"]).json_lines();
    assert_eq!(acknowledged.len(), 3);

    // The whole library, with the server killed while it runs (wherever it is by then).
    let lib = fixtures().join("audio");
    let child = Command::new(env!("CARGO_BIN_EXE_latentid"))
        .args(["index", s(&lib), "--json", "--backend", &backend, "--index"])
        .arg(&index)
        .env_remove("LATENTID_INDEX")
        .env("LATENTID_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    server.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        assert!(
            stderr.contains(&server.address()),
            "the error must name the server\n{stderr}"
        );
    }

    // While it is down: a clear error naming it, at once.
    let down = on(&backend, &index, &["index", s(&lib)]);
    assert_ne!(down.code, 0, "{down}");
    assert!(down.stderr.contains(&server.address()), "{down}");

    // Restarted on its data: a re-run completes the index.
    server.restart();
    let run = on(&backend, &index, &["index", s(&lib), "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let listed = on(&backend, &index, &["list", "--json"]).json_lines();
    assert_eq!(listed.len(), tracks.len(), "{listed:?}");
    for a in &acknowledged {
        assert!(listed.contains(a), "acknowledged item lost: {a}");
    }
    let (rows, signatures) = milvus_rows(&backend, &index);
    assert_eq!(
        rows, signatures,
        "each signature in the collection exactly once"
    );

    // And it answers as its local twin does.
    let local = tmp.path().join("local");
    copy_dir(&index, &local);
    let clips = clips(tmp.path());
    // The same matches; after a restart milvus-lite may search a segment its index does not
    // cover yet by brute force, so the evidence behind lower candidates can differ slightly.
    let args = query_args(&clips);
    let answers = on(&backend, &index, &args).json_lines();
    let twin = on("local", &local, &args).json_lines();
    assert_eq!(answers.len(), tracks.len(), "one answer per clip");
    assert_eq!(twin.len(), tracks.len(), "one answer per clip");
    for (m, l) in answers.iter().zip(&twin) {
        assert_eq!(m["match"]["path"], l["match"]["path"], "{m:#}\n{l:#}");
        assert_eq!(
            m["match"]["offset_s"], l["match"]["offset_s"],
            "{m:#}\n{l:#}"
        );
    }
    for (a, t) in answers.iter().zip(&tracks) {
        // The first tracks were indexed from their copies.
        let named = Path::new(a["match"]["path"].as_str().unwrap_or_default()).file_name();
        assert_eq!(named, t.file_name(), "{a:#}");
    }
}

#[test]
fn tune_on_milvus_leaves_no_collection_behind() {
    let Some(program) = milvus_lite() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("milvus");
    let server = MilvusLite::start(&program, &data);
    let lib = fixtures().join("audio");
    let run = on(
        &server.backend(),
        &tmp.path().join("unused-index"),
        &[
            "tune",
            s(&lib),
            "--to",
            "2",
            "--target",
            "0.01",
            "--budget",
            "10",
            "--epochs",
            "1",
            "--train-examples",
            "200",
            "--seed",
            "1",
            "--json",
        ],
    );
    assert_eq!(run.code, 0, "{run}");
    // milvus-lite keeps one folder per collection under DATA/collections.
    let left: Vec<_> = std::fs::read_dir(data.join("collections"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "collections left behind: {left:?}\n{run}");
}
