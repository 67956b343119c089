//! Load benchmark of `latentid serve` on loopback: warm latency of a 5 s clip against the
//! one-shot CLI in the same run, sustained queries per second, and what a 10x overload gets.
//! Bounded in requests and time; talks only to 127.0.0.1. Run it through
//! `benches/serve/load.sh`, which makes the clips and a private copy of the index:
//!
//!   LATENTID_BENCH_INDEX=DIR LATENTID_BENCH_CLIPS=DIR cargo bench --bench serve_load
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// Status and (for 200) the named item's path.
fn identify(agent: &ureq::Agent, url: &str, name: &str, bytes: &[u8]) -> (u16, Option<String>) {
    let r = agent
        .post(format!("{url}/api/v1/identify"))
        .query("name", name)
        .content_type("application/octet-stream")
        .send(bytes);
    match r {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
            (status, v["match"]["path"].as_str().map(str::to_string))
        }
        Err(_) => (0, None),
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

fn ms_summary(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        *v.last().unwrap_or(&f64::NAN),
    )
}

fn main() -> Result<()> {
    let index = PathBuf::from(std::env::var("LATENTID_BENCH_INDEX").context(
        "LATENTID_BENCH_INDEX: a private copy of an index (benches/serve/load.sh makes one)",
    )?);
    let clips_dir = PathBuf::from(
        std::env::var("LATENTID_BENCH_CLIPS").context("LATENTID_BENCH_CLIPS: a folder of clips")?,
    );
    let exe = env!("CARGO_BIN_EXE_latentid");
    let mut clips: Vec<PathBuf> = std::fs::read_dir(&clips_dir)?
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    clips.sort();
    if clips.is_empty() {
        bail!("no .wav clips in {}", clips_dir.display());
    }
    let bytes: Vec<Vec<u8>> = clips.iter().map(|c| std::fs::read(c).unwrap()).collect();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());

    // 1. One-shot CLI: a process per clip, as people ran it before the server.
    let one_shot_n = clips.len().min(20);
    let mut cli_ms = Vec::new();
    let mut cli_answers = Vec::new();
    for c in &clips[..one_shot_n] {
        let t = Instant::now();
        let out = Command::new(exe)
            .args(["query", "--json", "--index"])
            .arg(&index)
            .arg(c)
            .env("LATENTID_LOG", "error")
            .output()?;
        cli_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        cli_answers.push(v["match"]["path"].as_str().map(str::to_string));
    }

    // 2. The server: start, wait until it answers (open + graph load timed).
    let t = Instant::now();
    let mut server = Server::start(exe, &index)?;
    let start_s = t.elapsed().as_secs_f64();
    let url = server.url.clone();
    let a = agent();
    for b in bytes.iter().take(3) {
        identify(&a, &url, "warmup.wav", b);
    }

    // 3. Warm latency, one request at a time.
    let sequential = 200.min(clips.len() * 10);
    let mut warm_ms = Vec::new();
    let mut same = 0;
    let mut compared = 0;
    for i in 0..sequential {
        let k = i % clips.len();
        let t = Instant::now();
        let (status, named) = identify(&a, &url, &clips[k].to_string_lossy(), &bytes[k]);
        warm_ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(status, 200, "{}", clips[k].display());
        if let Some(cli) = cli_answers.get(i) {
            compared += 1;
            same += usize::from(named == *cli);
        }
    }

    // 4. Sustained throughput: `clients` at once for a bounded time and count.
    let sustained = |clients: usize, secs: f64, max: usize| {
        let done = AtomicUsize::new(0);
        let failed = AtomicUsize::new(0);
        let busy = AtomicUsize::new(0);
        let t = Instant::now();
        let lat: Vec<f64> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..clients)
                .map(|c| {
                    let (url, bytes, clips, done, failed, busy) =
                        (&url, &bytes, &clips, &done, &failed, &busy);
                    s.spawn(move || {
                        let a = agent();
                        let mut lat = Vec::new();
                        let mut i = c;
                        while t.elapsed().as_secs_f64() < secs && done.load(Ordering::Relaxed) < max
                        {
                            let k = i % clips.len();
                            let t0 = Instant::now();
                            let (status, _) = identify(&a, url, "clip.wav", &bytes[k]);
                            lat.push(t0.elapsed().as_secs_f64() * 1e3);
                            match status {
                                200 => {}
                                503 => {
                                    busy.fetch_add(1, Ordering::Relaxed);
                                }
                                _ => {
                                    failed.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            done.fetch_add(1, Ordering::Relaxed);
                            i += clients;
                        }
                        lat
                    })
                })
                .collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let secs = t.elapsed().as_secs_f64();
        let n = done.load(Ordering::Relaxed);
        (
            n,
            secs,
            busy.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed),
            lat,
        )
    };
    let (n, secs, busy, failed, lat) = sustained(cores, 20.0, 2000);
    let qps = (n - busy - failed) as f64 / secs;
    let (sus_p50, sus_p99, _) = ms_summary(lat);
    // 5. A 10x overload: ten times as many clients as workers.
    let (on, osecs, obusy, ofailed, olat) = sustained(10 * cores, 20.0, 2000);
    let (ov_p50, ov_p99, ov_max) = ms_summary(olat);
    let alive = identify(&a, &url, "after.wav", &bytes[0]).0 == 200;
    let code = server.stop();

    let (c50, c99, cmax) = ms_summary(cli_ms);
    let (w50, w99, wmax) = ms_summary(warm_ms);
    println!("| measure | value |");
    println!("| --- | ---: |");
    println!("| clips (5 s, from library tracks) | {} |", clips.len());
    println!("| one-shot CLI `latentid query` per clip, median / p99 / max ({} runs) | {c50:.0} / {c99:.0} / {cmax:.0} ms |", one_shot_n);
    println!("| server start (open + graph load) until it answers | {start_s:.2} s |");
    println!("| warm server, one request at a time, median / p99 / max ({sequential} requests) | {w50:.1} / {w99:.1} / {wmax:.1} ms |");
    println!("| same answer as the one-shot CLI | {same} of {compared} |");
    println!("| sustained, {cores} clients ({cores} workers): queries/s | {qps:.1} ({n} requests in {secs:.1} s, median {sus_p50:.1} ms, p99 {sus_p99:.1} ms) |");
    println!("| 10x overload, {} clients: answered / 503 / failed | {} / {obusy} / {ofailed} ({on} requests in {osecs:.1} s; latency median {ov_p50:.0} ms, p99 {ov_p99:.0} ms, max {ov_max:.0} ms) |", 10 * cores, on - obusy - ofailed);
    println!("| errors in the sustained run | {failed} failed, {busy} busy (503) |");
    println!("| server answering after the overload; exit code on SIGTERM | {alive}; {code} |");
    Ok(())
}

struct Server {
    child: Option<Child>,
    url: String,
}

impl Server {
    fn start(exe: &str, index: &Path) -> Result<Server> {
        let _ = std::fs::remove_file(index.join("serve.json"));
        let child = Command::new(exe)
            .args(["serve", "--bind", "127.0.0.1:0", "--index"])
            .arg(index)
            .env("LATENTID_LOG", "error")
            .stdout(Stdio::null())
            .spawn()?;
        let mut s = Server {
            child: Some(child),
            url: String::new(),
        };
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(600) {
            if let Ok(text) = std::fs::read_to_string(index.join("serve.json")) {
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if let Some(u) = v["url"].as_str() {
                    if agent().get(format!("{u}/api/v1/health")).call().is_ok() {
                        s.url = u.to_string();
                        return Ok(s);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("the server did not come up")
    }

    fn stop(&mut self) -> i32 {
        let Some(mut child) = self.child.take() else {
            return -1;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().map_or(-1, |s| s.code().unwrap_or(-1))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
