//! Helpers for running the real `latentid` binary on fixtures in temporary directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use latentid_media::augment::{mix_at_snr, pink_noise};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::Value;

/// Tiny training so the suite stays fast; accuracy on the fixtures still has to hold.
pub const TINY_TRAINING: &[&str] = &["--epochs", "12", "--train-examples", "1500", "--seed", "1"];

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Files directly inside a fixture folder, sorted.
pub fn fixture_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dir))
        .unwrap_or_else(|e| panic!("fixtures/{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    v.sort();
    v
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Every stdout line as JSON (JSON Lines).
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{self}"))
            })
            .collect()
    }

    pub fn json(&self) -> Value {
        let mut v = self.json_lines();
        assert_eq!(v.len(), 1, "expected one JSON object\n{self}");
        v.remove(0)
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `latentid ARGS --index INDEX` with logs kept quiet.
pub fn latentid(index: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_latentid"))
        .args(args)
        .arg("--index")
        .arg(index)
        .env_remove("LATENTID_INDEX")
        .env("LATENTID_LOG", "error")
        .output()
        .expect("run latentid");
    Run::from(out)
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Copies a directory tree (an index) so that tests can each own one: sled allows one
/// process per index, and some tests modify theirs.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// An audio index of fixtures/audio built once per test run; tests copy it.
pub fn audio_index() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let index = tmp.path().join("index");
        let lib = fixtures().join("audio");
        let mut args = vec!["index", s(&lib), "--json"];
        args.extend_from_slice(TINY_TRAINING);
        let run = latentid(&index, &args);
        assert_eq!(run.code, 0, "indexing the fixture library failed\n{run}");
        (tmp, index)
    })
    .1
}

/// A private copy of the shared audio index inside `tmp`.
pub fn own_audio_index(tmp: &Path) -> PathBuf {
    let dst = tmp.join("index");
    copy_dir(audio_index(), &dst);
    dst
}

/// Writes `len_s` seconds of `src` from `start_s`, with pink noise at `snr_db` (None: clean),
/// as a 22.05 kHz mono WAV: what a phone near a speaker would give.
pub fn excerpt(src: &Path, start_s: f32, len_s: f32, snr_db: Option<f32>, out: &Path) {
    let rate = 22_050;
    let audio = latentid_media::decode_audio(src, rate).unwrap();
    let a = (start_s * rate as f32) as usize;
    let b = ((start_s + len_s) * rate as f32) as usize;
    assert!(
        b <= audio.samples.len(),
        "{}: too short for this excerpt",
        src.display()
    );
    let mut clip = audio.samples[a..b].to_vec();
    if let Some(snr) = snr_db {
        let mut rng = StdRng::seed_from_u64(42);
        let noise = pink_noise(clip.len(), &mut rng);
        mix_at_snr(&mut clip, &noise, snr);
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(out, spec).unwrap();
    for x in clip {
        w.write_sample((x.clamp(-1.0, 1.0) * 32767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// An HTTP client for a server under test: error statuses are answers to check, not errors,
/// and nothing waits forever.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .build()
        .into()
}

/// Runs `latentid ARGS --index INDEX` like [`latentid`], but killed (and the test failed)
/// after `timeout`, with its address space capped at `max_mem_mb` (an allocation beyond it
/// aborts the process, which the caller sees as a signal): a hang or an unbounded
/// allocation on hostile input is a failure, not a stuck or swapping CI machine.
pub fn latentid_bounded(
    index: &Path,
    args: &[&std::ffi::OsStr],
    timeout: std::time::Duration,
    max_mem_mb: u64,
) -> Run {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {} && exec \"$0\" \"$@\"",
            max_mem_mb * 1024
        ))
        .arg(env!("CARGO_BIN_EXE_latentid"))
        .args(args)
        .arg("--index")
        .arg(index)
        .env_remove("LATENTID_INDEX")
        .env("LATENTID_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run latentid");
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = reader(Box::new(child.stdout.take().unwrap()));
    let err = reader(Box::new(child.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            let run = Run {
                code: -1,
                stdout: out.join().unwrap(),
                stderr: err.join().unwrap(),
            };
            panic!("latentid {args:?} ran longer than {timeout:?} (a hang)\n{run}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        panic!("latentid {args:?} was killed by signal {sig} (an abort or a crash)\n{run}");
    }
    run
}
