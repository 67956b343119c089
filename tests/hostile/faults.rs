//! Faults: every writer killed (SIGKILL) at random moments, a full disk, a read-only index,
//! damaged graph and catalog files, a second writer. After each, the index opens or says
//! clearly why not, every acknowledged item is there and answers queries, and nothing
//! half-written is visible.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::util::*;

/// Kills per writer: a few in CI, more from the bench script (LATENTID_KILLS).
fn kills(default: usize) -> usize {
    std::env::var("LATENTID_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A run that is this slow has hung.
const BOUND: Duration = Duration::from_secs(600);

/// The first four fixture songs: the acknowledged library of every kill test.
fn base_songs() -> Vec<PathBuf> {
    fixture_files("audio").into_iter().take(4).collect()
}

/// The other songs, added while a writer is killed.
fn more_songs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fixture_files("audio").into_iter().skip(4).collect();
    v.extend(fixture_files("audio-heldout"));
    v
}

/// A library folder holding copies of `songs`; their stored paths are these copies.
fn library(dir: &Path, songs: &[PathBuf]) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    songs
        .iter()
        .map(|f| {
            let to = dir.join(f.file_name().unwrap());
            std::fs::copy(f, &to).unwrap();
            to
        })
        .collect()
}

/// An index of the base songs (stored under a fixed library folder), built once per run.
fn base() -> &'static (tempfile::TempDir, PathBuf, Vec<PathBuf>) {
    static BASE: OnceLock<(tempfile::TempDir, PathBuf, Vec<PathBuf>)> = OnceLock::new();
    BASE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let songs = library(&tmp.path().join("lib"), &base_songs());
        let index = tmp.path().join("index");
        let lib = tmp.path().join("lib");
        let mut args = vec!["index", s(&lib), "--json"];
        args.extend_from_slice(TINY_TRAINING);
        let run = latentid(&index, &args);
        assert_eq!(run.code, 0, "{run}");
        (tmp, index, songs)
    })
}

/// A private copy of the base index in `dir`.
fn own_base(dir: &Path) -> PathBuf {
    let index = dir.join("index");
    copy_dir(&base().1, &index);
    index
}

fn spawn(index: &Path, args: &[OsString], out: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_latentid"))
        .args(args)
        .arg("--index")
        .arg(index)
        .env_remove("LATENTID_INDEX")
        .env("LATENTID_LOG", "error")
        .stdout(std::fs::File::create(out.with_extension("out")).unwrap())
        .stderr(std::fs::File::create(out.with_extension("err")).unwrap())
        .spawn()
        .unwrap()
}

/// Runs `latentid ARGS` and SIGKILLs it after `after` unless it finished first: `None` if it
/// was killed, else how long it took.
fn run_and_kill(
    index: &Path,
    args: &[OsString],
    after: Duration,
    scratch: &Path,
) -> Option<Duration> {
    let started = Instant::now();
    let mut child = spawn(index, args, scratch);
    let deadline = started + after;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let err = std::fs::read_to_string(scratch.with_extension("err")).unwrap();
            assert!(
                matches!(status.code(), Some(0 | 1)),
                "an unkilled run failed: {status}\n{err}"
            );
            return Some(started.elapsed());
        }
        if Instant::now() >= deadline {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// How long `latentid ARGS` takes on a fresh copy made by `prepare`, measured once: kills
/// are spread over that time.
fn duration_of(prepare: &dyn Fn(&Path) -> PathBuf, args: &[OsString], tmp: &Path) -> Duration {
    let dir = tmp.join("timing");
    let index = prepare(&dir);
    let started = Instant::now();
    let mut child = spawn(&index, args, &dir.join("run"));
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed() < BOUND, "latentid {args:?} hung");
        std::thread::sleep(Duration::from_millis(5));
    };
    let err = std::fs::read_to_string(dir.join("run.err")).unwrap_or_default();
    assert!(status.success(), "latentid {args:?}: {status}\n{err}");
    let d = started.elapsed();
    std::fs::remove_dir_all(&dir).unwrap();
    d
}

/// The stored paths of an index (`list` must work).
fn listed(index: &Path) -> Vec<PathBuf> {
    let run = latentid(index, &["list", "--json"]);
    assert_eq!(run.code, 0, "the index must open after a kill\n{run}");
    run.json_lines()
        .iter()
        .map(|l| PathBuf::from(l["path"].as_str().unwrap()))
        .collect()
}

/// Every file in `files` is identified as itself.
fn answers(index: &Path, files: &[PathBuf], when: &str) {
    if files.is_empty() {
        return;
    }
    let mut args: Vec<&str> = vec!["query", "--json"];
    args.extend(files.iter().map(|f| s(f)));
    let run = latentid(index, &args);
    assert_eq!(run.code, 0, "{when}: queries must be answered\n{run}");
    for (line, f) in run.json_lines().iter().zip(files) {
        assert_eq!(
            line["match"]["path"].as_str(),
            Some(s(f)),
            "{when}: {} is not identified as itself: {line}",
            f.display()
        );
    }
}

/// After a kill: the index opens, every acknowledged file is stored and answers, and every
/// stored item is complete (answers a query of its own file).
fn check_after_kill(index: &Path, acked: &[PathBuf], when: &str) -> Vec<PathBuf> {
    let stored = listed(index);
    for a in acked {
        assert!(
            stored.contains(a),
            "{when}: acknowledged {} lost; stored: {stored:?}",
            a.display()
        );
    }
    answers(index, &stored, when);
    stored
}

/// After a retrain is killed: every acknowledged item is still stored; a query finds it,
/// or (its signatures dropped for the new model and not written again yet) the user is told
/// why it cannot and how to finish; `latentid index` on the library then finishes the job.
fn check_after_retrain_kill(index: &Path, acked: &[PathBuf], when: &str) {
    let stored = listed(index);
    for a in acked {
        assert!(
            stored.contains(a),
            "{when}: acknowledged {} lost",
            a.display()
        );
    }
    let mut args: Vec<&str> = vec!["query", "--json"];
    args.extend(stored.iter().map(|f| s(f)));
    let run = latentid(index, &args);
    assert_eq!(run.code, 0, "{when}: queries must be answered\n{run}");
    let told = run.stderr.contains("are not encoded yet") && run.stderr.contains("latentid index");
    for (line, f) in run.json_lines().iter().zip(&stored) {
        assert!(
            line["match"]["path"].as_str() == Some(s(f)) || told,
            "{when}: {} is not identified and the user is not told why: {line}\n{run}",
            f.display()
        );
    }
    let lib = acked[0].parent().unwrap();
    let resume = latentid(index, &["index", s(lib), "--json"]);
    assert_eq!(resume.code, 0, "{when}, then `index` to finish\n{resume}");
    check_after_kill(index, acked, &format!("{when}, then `index` to finish"));
}

fn os_args(v: &[&str]) -> Vec<OsString> {
    v.iter().map(OsString::from).collect()
}

/// Kills `latentid ARGS` at random moments over its run, each time on a fresh index made by
/// `prepare`, until `n` SIGKILLs have landed (a run that finishes before its moment is not a
/// kill; it is checked all the same, later moments are drawn over the quickest run seen, and at
/// most `2n + 2` rounds are tried); `check` runs
/// after each. Returns the kills that landed and the rounds run, and prints them.
fn kill_rounds(
    name: &str,
    prepare: &dyn Fn(&Path) -> PathBuf,
    args: &[OsString],
    n: usize,
    seed: u64,
    check: &dyn Fn(&Path, &str),
) -> (usize, usize) {
    let tmp = tempfile::tempdir().unwrap();
    let mut t = duration_of(prepare, args, tmp.path());
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut killed, mut rounds) = (0, 0);
    while killed < n && rounds < 2 * n + 2 {
        let dir = tmp.path().join(format!("round{rounds}"));
        let index = prepare(&dir);
        let after = t.mul_f64(rng.random_range(0.02..1.0));
        let finished = run_and_kill(&index, args, after, &dir.join("run"));
        let landed = finished.is_none();
        // A run that beat its moment took less than `t` (the machine got quieter): later
        // moments are drawn over the quickest run seen, so they land inside a run.
        if let Some(took) = finished {
            t = t.min(took);
        }
        killed += usize::from(landed);
        rounds += 1;
        let what = if landed {
            "killed"
        } else {
            "finished before its kill"
        };
        check(&index, &format!("{name} {what} at {after:?} of {t:?}"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!("{name}: {killed} kills landed in {rounds} runs (a run takes {t:?}); nothing lost");
    (killed, rounds)
}

/// Kills a writer that works on a copy of the base index; after each kill the index is
/// checked, the writer runs again to completion, and the index is checked again.
fn kill_writer(name: &str, args: &[OsString], n: usize, seed: u64, retrains: bool) {
    let (_, _, acked) = base();
    let check = |index: &Path, when: &str| {
        if retrains {
            check_after_retrain_kill(index, acked, when);
        } else {
            check_after_kill(index, acked, when);
        }
        // The writer runs again to completion on what the kill left.
        let run = latentid(
            index,
            &args.iter().map(|a| a.to_str().unwrap()).collect::<Vec<_>>(),
        );
        assert!(
            run.code == 0 || run.code == 1,
            "{when}, then run again\n{run}"
        );
        check_after_kill(index, acked, &format!("{when}, then run again"));
    };
    kill_rounds(name, &own_base, args, n, seed, &check);
}

#[test]
fn killing_index_while_it_adds_songs_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("more");
    let added = library(&lib, &more_songs());
    let args = vec![
        OsString::from("index"),
        lib.clone().into_os_string(),
        "--json".into(),
    ];
    kill_writer("index (adding)", &args, kills(2), 1, false);
    // After a completed run the new songs are stored and answer too.
    let dir = tmp.path().join("done");
    let index = own_base(&dir);
    let run = latentid(&index, &["index", s(&lib), "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let stored = check_after_kill(&index, &base().2, "after adding");
    for a in &added {
        assert!(stored.contains(a));
    }
}

#[test]
fn killing_index_retrain_loses_nothing() {
    let lib = base().0.path().join("lib");
    let mut args = os_args(&["index", s(&lib), "--json", "--retrain"]);
    args.extend(os_args(&[
        "--epochs",
        "6",
        "--train-examples",
        "800",
        "--seed",
        "3",
    ]));
    kill_writer("index --retrain", &args, kills(2), 2, true);
}

#[test]
fn killing_remove_loses_nothing_but_what_it_removed() {
    let (_, _, songs) = base();
    let args = os_args(&["remove", s(&songs[1]), s(&songs[2]), "--json"]);
    let keep = [songs[0].clone(), songs[3].clone()];
    let check = |index: &Path, when: &str| {
        check_after_kill(index, &keep, when);
    };
    kill_rounds("remove", &own_base, &args, kills(2), 3, &check);
}

#[test]
fn killing_tune_apply_loses_nothing() {
    let args = os_args(&[
        "tune",
        "--apply",
        "--from",
        "32",
        "--to",
        "32",
        "--target",
        "0",
        "--max-false-match",
        "1",
        "--budget",
        "20",
        "--epochs",
        "6",
        "--train-examples",
        "800",
        "--seed",
        "4",
    ]);
    kill_writer("tune --apply", &args, kills(2), 4, true);
}

#[test]
fn killing_the_first_index_leaves_no_index_or_one_that_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let songs = library(&tmp.path().join("lib"), &base_songs());
    let lib = tmp.path().join("lib");
    let mut args = os_args(&["index", s(&lib), "--json"]);
    args.extend(os_args(TINY_TRAINING));
    let fresh = |dir: &Path| {
        std::fs::create_dir_all(dir).unwrap();
        dir.join("index")
    };
    let check = |index: &Path, when: &str| {
        // Nothing was acknowledged: the index is absent, or opens (perhaps empty).
        let st = latentid(index, &["stats", "--json"]);
        assert!(
            st.code == 0 || st.stderr.contains("no index at"),
            "{when}: the index must open or be absent\n{st}"
        );
        // Indexing again finishes the job.
        let run = latentid(
            index,
            &args.iter().map(|a| a.to_str().unwrap()).collect::<Vec<_>>(),
        );
        assert_eq!(run.code, 0, "{when}, then run again\n{run}");
        check_after_kill(index, &songs, &format!("{when}, then run again"));
    };
    kill_rounds("index (first run)", &fresh, &args, kills(2), 5, &check);
}

#[test]
fn a_second_writer_is_told_the_index_is_in_use() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_base(tmp.path());
    let lib = tmp.path().join("more");
    library(&lib, &more_songs());
    let mut first = spawn(
        &index,
        &os_args(&["index", s(&lib), "--json"]),
        &tmp.path().join("first"),
    );
    // Wait until the first writer holds the index (its catalog lock).
    std::thread::sleep(Duration::from_millis(1000));
    let second = latentid(&index, &["remove", s(&base().2[0])]);
    let first_done = first.try_wait().unwrap().is_some();
    let status = first.wait().unwrap();
    assert!(status.success(), "{status}");
    if first_done {
        eprintln!("the first writer finished before the second started: nothing to check");
        return;
    }
    assert_eq!(second.code, 2, "{second}");
    assert!(
        second.stderr.contains("in use by another process") && second.stderr.contains(s(&index)),
        "the second writer must be told why: {second}"
    );
    check_after_kill(&index, &base().2, "after two writers");
}

/// Runs `sh -c SCRIPT` and says whether it worked.
fn sh(script: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A tmpfs of `size` at `dir`, unmounted on drop; `None` (the test skips) where mounting
/// is not allowed, unless LATENTID_REQUIRE_MOUNT=1.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        if sh(&format!(
            "mount -t tmpfs -o size={size} tmpfs '{}'",
            dir.display()
        )) {
            return Some(Tmpfs(dir.to_path_buf()));
        }
        assert!(
            std::env::var("LATENTID_REQUIRE_MOUNT").is_err(),
            "cannot mount a tmpfs at {} (LATENTID_REQUIRE_MOUNT is set)",
            dir.display()
        );
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); set LATENTID_REQUIRE_MOUNT=1 to fail instead");
        None
    }

    fn read_only(&self) -> bool {
        sh(&format!("mount -o remount,ro '{}'", self.0.display()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        sh(&format!("umount -l '{}'", self.0.display()));
    }
}

fn dir_size(p: &Path) -> u64 {
    walk(p)
        .iter()
        .map(|f| f.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn a_full_disk_fails_the_run_with_a_clear_message_and_keeps_what_was_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let size = dir_size(&base().1);
    // Room for the index as it is and a little more: adding songs fills it.
    let mnt = tmp.path().join("disk");
    let Some(_disk) = Tmpfs::mount(&mnt, &format!("{}k", size / 1024 + 256)) else {
        return;
    };
    let index = mnt.join("index");
    copy_dir(&base().1, &index);
    let lib = tmp.path().join("more");
    library(&lib, &more_songs());
    let run = latentid(&index, &["index", s(&lib), "--json"]);
    assert_ne!(run.code, 0, "the disk was full\n{run}");
    assert!(
        run.stderr.contains("No space left on device")
            || run.stdout.contains("No space left on device"),
        "the user must be told the disk is full\n{run}"
    );
    assert!(!run.stderr.contains("panicked"), "{run}");
    // The catalog needs room to open, so with the disk still full the index says why not.
    let st = latentid(&index, &["stats"]);
    assert!(
        st.code == 0
            || (st.stderr.contains(s(&index)) && st.stderr.contains("No space left on device")),
        "with the disk full, the index opens or says why not\n{st}"
    );
    // Once there is room again, everything stored before is there and answers, and every
    // item stored is whole.
    assert!(
        sh(&format!("mount -o remount,size=512m '{}'", mnt.display())),
        "grow the tmpfs"
    );
    check_after_kill(&index, &base().2, "after the disk filled and was freed");
}

/// sled opens its files for writing, so a read-only index cannot be opened at all, even to
/// query: the user is told which index and why, for reads and writes alike.
#[test]
fn a_read_only_index_is_refused_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("ro");
    let Some(disk) = Tmpfs::mount(&mnt, "256m") else {
        return;
    };
    let index = mnt.join("index");
    copy_dir(&base().1, &index);
    assert!(disk.read_only(), "remount read-only");
    for args in [
        vec!["query", "--json", s(&base().2[0])],
        vec!["remove", s(&base().2[0])],
        vec!["index", s(base().2[0].parent().unwrap())],
    ] {
        let run = latentid(&index, &args);
        assert_eq!(run.code, 2, "{args:?}: {run}");
        assert!(
            run.stderr.contains(s(&index)) && run.stderr.contains("Read-only file system"),
            "{args:?}: the user must be told the index is on a read-only file system: {run}"
        );
    }
}

/// The graph dump is a cache: damaged or missing, it is rebuilt from the catalog, the user
/// is told, and answers are unchanged.
#[test]
fn a_damaged_graph_file_is_rebuilt_and_answers_are_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let graph_files: Vec<PathBuf> = walk(&base().1)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("graph"))
        .collect();
    assert!(!graph_files.is_empty(), "the index has a graph dump");
    let damages: Vec<(&str, Damage)> = vec![
        ("truncated to half", Box::new(|p| truncate(p, 2))),
        ("truncated to nothing", Box::new(|p| truncate(p, 0))),
        ("bytes flipped", Box::new(|p| flip(p, 97))),
        ("huge counts", Box::new(|p| stamp(p, &[0xFF; 8]))),
        ("removed", Box::new(|p| std::fs::remove_file(p).unwrap())),
    ];
    for (what, damage) in &damages {
        for g in &graph_files {
            let rel = g.strip_prefix(&base().1).unwrap();
            let dir = tmp
                .path()
                .join(format!("{what}-{}", rel.display()).replace('/', "_"));
            let index = own_base(&dir);
            damage(&index.join(rel));
            let when = format!("{} {what}", rel.display());
            let run = Command::new(env!("CARGO_BIN_EXE_latentid"))
                .args(["query", "--json", "--index", s(&index)])
                .args(&base().2)
                .env_remove("LATENTID_INDEX")
                .env_remove("LATENTID_LOG")
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&run.stderr);
            let stdout = String::from_utf8_lossy(&run.stdout);
            assert_eq!(run.status.code(), Some(0), "{when}: {stdout}\n{stderr}");
            assert!(!stderr.contains("panicked"), "{when}: {stderr}");
            for (line, f) in String::from_utf8_lossy(&run.stdout).lines().zip(&base().2) {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                assert_eq!(v["match"]["path"].as_str(), Some(s(f)), "{when}: {line}");
            }
            // And the index still takes writes.
            let more = tmp.path().join(format!("{what}-more"));
            library(&more, &fixture_files("audio-heldout"));
            let add = latentid(&index, &["index", s(&more), "--json"]);
            assert_eq!(add.code, 0, "{when}: {add}");
            check_after_kill(&index, &base().2, &when);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

/// A way of damaging a file.
type Damage = Box<dyn Fn(&Path)>;

fn truncate(p: &Path, div: u64) {
    let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len.checked_div(div).unwrap_or(0)).unwrap();
}

fn flip(p: &Path, every: usize) {
    let mut b = std::fs::read(p).unwrap();
    for i in (7..b.len()).step_by(every) {
        b[i] ^= 0x5A;
    }
    std::fs::write(p, b).unwrap();
}

fn stamp(p: &Path, bytes: &[u8]) {
    let mut b = std::fs::read(p).unwrap();
    for at in (0..b.len().min(256)).step_by(16) {
        let n = bytes.len().min(b.len() - at);
        b[at..at + n].copy_from_slice(&bytes[..n]);
    }
    std::fs::write(p, b).unwrap();
}

/// A damaged catalog is refused with a message naming the index and saying it is damaged, or
/// (the damage hit nothing it holds) answers every query as before: nothing is lost silently,
/// nothing panics, and the process does not abort. sled cuts its log at damage it finds and
/// opens as it was some writes ago; the catalog's seal (crates/store/src/catalog/seal.rs)
/// turns that into the refusal.
#[test]
fn a_damaged_catalog_is_refused_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let catalog_files: Vec<PathBuf> = walk(&base().1)
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("graph") && p.metadata().unwrap().len() > 0)
        .collect();
    let damages: Vec<(&str, Damage)> = vec![
        ("truncated to half", Box::new(|p| truncate(p, 2))),
        ("truncated to nothing", Box::new(|p| truncate(p, 0))),
        ("bytes flipped", Box::new(|p| flip(p, 61))),
        ("header stamped", Box::new(|p| stamp(p, &[0xFF; 8]))),
    ];
    for (what, damage) in &damages {
        for f in &catalog_files {
            let rel = f.strip_prefix(&base().1).unwrap();
            let dir = tmp
                .path()
                .join(format!("{what}-{}", rel.display()).replace('/', "_"));
            let index = own_base(&dir);
            damage(&index.join(rel));
            let when = format!("{} {what}", rel.display());
            let mut args: Vec<&OsStr> = vec![OsStr::new("query"), OsStr::new("--json")];
            args.extend(base().2.iter().map(|p| p.as_os_str()));
            let run = latentid_bounded(&index, &args, BOUND, 4_096);
            assert!(!run.stderr.contains("panicked"), "{when}: {run}");
            if run.code == 0 {
                let lines = run.json_lines();
                assert_eq!(lines.len(), base().2.len(), "{when}: {run}");
                for (line, f) in lines.iter().zip(&base().2) {
                    assert_eq!(
                        line["match"]["path"].as_str(),
                        Some(s(f)),
                        "{when}: silently lost: {} is no longer identified\n{run}",
                        f.display()
                    );
                }
            } else {
                assert_eq!(run.code, 2, "{when}: {run}");
                assert!(
                    run.stderr.contains(s(&index))
                        && (run.stderr.contains("damaged")
                            || run.stderr.contains("database error")),
                    "{when}: the user must be told the index is damaged: {run}"
                );
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
