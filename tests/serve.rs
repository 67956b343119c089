//! `latentid serve`: the real binary on a free loopback port, against the CLI's own answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

/// A running `latentid serve`, stopped (SIGTERM) when dropped.
pub struct Server {
    child: Option<Child>,
    pub url: String,
}

impl Server {
    /// Starts a server on `index` on a free loopback port and waits until it answers.
    pub fn start(index: &Path, extra: &[&str]) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_latentid"))
            .args(["serve", "--bind", "127.0.0.1:0", "--index"])
            .arg(index)
            .args(extra)
            .env_remove("LATENTID_INDEX")
            .env("LATENTID_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start latentid serve");
        let mut server = Server {
            child: Some(child),
            url: String::new(),
        };
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("latentid serve exited early: {status}");
            }
            if let Ok(text) = std::fs::read_to_string(index.join("serve.json")) {
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    server.url = v["url"].as_str().unwrap().to_string();
                    if get(&server.url, "/api/v1/health").0 == 200 {
                        return server;
                    }
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "latentid serve did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then its exit code.
    pub fn stop(mut self) -> i32 {
        let mut child = self.child.take().unwrap();
        terminate(&mut child)
    }
}

fn terminate(child: &mut Child) -> i32 {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("latentid serve did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
        }
    }
}

/// Status and JSON body of a response.
fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
    let mut r = r.expect("the server answers");
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, v)
}

pub fn get(url: &str, path: &str) -> (u16, Value) {
    match agent().get(format!("{url}{path}")).call() {
        Ok(r) => answer(Ok(r)),
        Err(_) => (0, Value::Null),
    }
}

fn identify(url: &str, name: &str, bytes: &[u8]) -> (u16, Value) {
    answer(
        agent()
            .post(format!("{url}/api/v1/identify"))
            .query("name", name)
            .content_type("application/octet-stream")
            .send(bytes),
    )
}

/// A multipart/form-data body with one file field.
fn multipart(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "latentid-test-boundary-7d3f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A JSON answer without the measured time, which differs from run to run.
fn timeless(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("seconds");
    }
    v
}

fn timeless_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| timeless(serde_json::from_str(l).unwrap()))
        .collect()
}

/// A raw HTTP exchange, for what a well-behaved client would not send.
fn raw(url: &str, request: &[u8], then_wait: Duration) -> String {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // The server may answer and close before all of it is written.
    let _ = s.write_all(request);
    std::thread::sleep(then_wait);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends `request`, closes the sending side (the client has no more to say), and reads the
/// answer.
fn raw_half_closed(url: &str, request: &[u8]) -> String {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = s.write_all(request);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(raw_response: &str) -> u16 {
    raw_response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {raw_response:?}"))
}

fn assert_json_error(raw_response: &str, status: u16) {
    assert_eq!(status_of(raw_response), status, "{raw_response}");
    let body = raw_response.split("\r\n\r\n").nth(1).unwrap_or("");
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {raw_response}"));
    assert!(v["error"].is_string(), "{raw_response}");
}

#[test]
fn the_api_and_the_cli_through_it_answer_as_the_cli_does() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let clips = fixture_files("queries");
    let clip_args: Vec<&str> = clips.iter().map(|c| s(c)).collect();
    let with = |first: &[&str], more: &[&str]| -> Vec<String> {
        first.iter().chain(more).map(|x| x.to_string()).collect()
    };
    let run = |args: &[String]| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        latentid(&index, &a)
    };
    // The CLI on its own.
    let commands = [
        with(&["query", "--json"], &clip_args),
        with(&["query"], &clip_args),
        with(&["list", "--json"], &[]),
        with(&["list"], &[]),
        with(&["stats", "--json"], &[]),
        with(&["stats"], &[]),
        with(&["similar", "1", "--json"], &[]),
        with(&["similar", "1"], &[]),
        with(&["duplicates", "--json"], &[]),
        with(&["similar", "999"], &[]),
    ];
    let direct: Vec<Run> = commands.iter().map(|c| run(c)).collect();
    for r in &direct[..9] {
        assert_eq!(r.code, 0, "{r}");
    }

    let server = Server::start(&index, &[]);
    let url = server.url.clone();

    // The API's answers are the CLI's objects.
    let direct_answers = timeless_lines(&direct[0].stdout);
    for (clip, want) in clips.iter().zip(&direct_answers) {
        let bytes = std::fs::read(clip).unwrap();
        let (status, got) = identify(&url, s(clip), &bytes);
        assert_eq!(status, 200, "{got}");
        assert_eq!(timeless(got), *want, "{}", clip.display());
        // The same upload as multipart/form-data (the answer names the part's file name).
        let (ctype, body) = multipart("clip.wav", &bytes);
        let (status, got) = answer(
            agent()
                .post(format!("{url}/api/v1/identify"))
                .content_type(ctype)
                .send(&body[..]),
        );
        assert_eq!(status, 200, "{got}");
        assert_eq!(got["query"], "clip.wav");
        assert_eq!(got["match"]["id"], want["match"]["id"], "{got}");
    }
    let (status, items) = get(&url, "/api/v1/items");
    assert_eq!(status, 200);
    assert_eq!(items.as_array().unwrap(), &direct[2].json_lines());
    let (status, stats) = get(&url, "/api/v1/stats");
    assert_eq!(status, 200);
    let direct_stats = direct[4].json();
    for key in [
        "kind",
        "items",
        "signatures",
        "latent_dim",
        "model",
        "calibration",
    ] {
        assert_eq!(stats[key], direct_stats[key], "{key}");
    }
    let (status, similar) = get(&url, "/api/v1/similar?item=1");
    assert_eq!(status, 200);
    assert_eq!(
        similar["candidates"].as_array().unwrap(),
        &direct[6].json_lines()
    );
    let (status, dups) = get(&url, "/api/v1/duplicates");
    assert_eq!(status, 200);
    assert_eq!(dups["groups"].as_array().unwrap(), &direct[8].json_lines());
    let first = &items[0];
    let (status, one) = get(&url, &format!("/api/v1/items/{}", first["id"]));
    assert_eq!((status, &one), (200, first));
    assert_eq!(get(&url, "/api/v1/items/999").0, 404);

    // The CLI goes through the server (the index is held: opening it would fail) and prints
    // the same, byte for byte (but for the measured time in query --json).
    let routed: Vec<Run> = commands.iter().map(|c| run(c)).collect();
    for (i, (d, r)) in direct.iter().zip(&routed).enumerate() {
        assert_eq!(r.code, d.code, "{:?}\n{r}", commands[i]);
        if i == 0 {
            assert_eq!(timeless_lines(&r.stdout), direct_answers, "{r}");
        } else if commands[i][0] == "stats" {
            // The size on disk moves while a server runs (sled's files).
            let strip = |t: &str| -> String {
                t.lines()
                    .filter(|l| !l.starts_with("on disk"))
                    .map(|l| {
                        let mut v: Value = match serde_json::from_str(l) {
                            Ok(v) => v,
                            Err(_) => return l.to_string(),
                        };
                        v.as_object_mut().unwrap().remove("bytes");
                        v.to_string()
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            assert_eq!(strip(&r.stdout), strip(&d.stdout), "{:?}", commands[i]);
        } else {
            assert_eq!(r.stdout, d.stdout, "{:?}", commands[i]);
        }
        assert_eq!(r.stderr, d.stderr, "{:?}", commands[i]);
    }

    // remove goes through the server too, with the token from the index folder.
    let track = fixture_files("audio")[0].clone();
    let gone = latentid(&index, &["remove", s(&track), "--json"]);
    assert_eq!(gone.code, 0, "{gone}");
    let stored = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == s(&track.canonicalize().unwrap()))
        .unwrap_or_else(|| panic!("{} is not listed: {items}", track.display()));
    assert_eq!(gone.json()["removed"], stored["id"], "{gone}");
    assert_eq!(gone.json()["name"], stored["name"], "{gone}");
    let missing = latentid(&index, &["remove", "nothing-like-this.ogg"]);
    assert_eq!(missing.code, 1, "{missing}");
    assert!(
        missing
            .stderr
            .contains("nothing-like-this.ogg: no such item in the index at"),
        "{missing}"
    );
    assert_eq!(latentid(&index, &["list", "--json"]).json_lines().len(), 5);

    // A graceful stop: exit 0, the address file gone, the index usable directly again.
    assert_eq!(server.stop(), 0);
    assert!(!index.join("serve.json").exists());
    let after = latentid(&index, &["list", "--json"]);
    assert_eq!(after.code, 0, "{after}");
    assert_eq!(after.json_lines().len(), 5);
}

#[test]
fn writes_need_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let server = Server::start(&index, &[]);
    let url = &server.url;
    let token_file = index.join("serve.token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the token must be readable by its owner only"
        );
    }
    let token = std::fs::read_to_string(&token_file).unwrap();
    let song = fixtures().join("audio-heldout").join("vengeful.ogg");
    let bytes = std::fs::read(&song).unwrap();
    let add = |auth: Option<&str>| {
        let mut req = agent()
            .post(format!("{url}/api/v1/items"))
            .query("name", "vengeful.ogg")
            .content_type("audio/ogg");
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        answer(req.send(&bytes[..]))
    };
    let del = |auth: Option<&str>| {
        let mut req = agent().delete(format!("{url}/api/v1/items/1"));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        answer(req.call())
    };
    let (status, body) = add(None);
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].as_str().unwrap().contains("serve.token"));
    assert_eq!(add(Some("Bearer not-the-token")).0, 403);
    assert_eq!(del(None).0, 401);
    assert_eq!(del(Some("Bearer nope")).0, 403);
    assert_eq!(get(url, "/api/v1/items").1.as_array().unwrap().len(), 6);

    // With the token: the song is added under the name its tags give, and searched at once.
    // (The tiny model never trained on it, so a clip of it is its top candidate rather than
    // a confident match.)
    let clip = tmp.path().join("held.wav");
    excerpt(&song, 3.0, 5.0, None, &clip);
    let clip = std::fs::read(&clip).unwrap();
    let top = |a: &Value| {
        a["candidates"][0]["name"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let vengeful = "Jeremy Nicoll – Vengeful Pursuit";
    let (status, before) = identify(url, "held.wav", &clip);
    assert_eq!(status, 200, "{before}");
    assert_ne!(top(&before), vengeful, "{before:#}");
    let (status, body) = add(Some(&format!("Bearer {token}")));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["added"].as_array().unwrap().len(), 1, "{body}");
    let added = body["added"][0]["id"].as_u64().unwrap();
    let (status, a) = identify(url, "held.wav", &clip);
    assert_eq!(status, 200, "{a}");
    assert_eq!(top(&a), vengeful, "{a:#}");
    assert_eq!(a["candidates"][0]["id"], added, "{a:#}");
    let (status, body) = del(Some(&format!("Bearer {token}")));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["removed"], 1);
    assert_eq!(del(Some(&format!("Bearer {token}"))).0, 404);
    let (status, item) = answer(
        agent()
            .delete(format!("{url}/api/v1/items/{added}"))
            .header("Authorization", &format!("Bearer {token}"))
            .call(),
    );
    assert_eq!(status, 200, "{item}");
    let (_, a) = identify(url, "held.wav", &clip);
    assert_ne!(top(&a), vengeful, "{a:#}");
}

#[test]
fn bad_requests_get_json_errors_and_the_server_keeps_answering() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let server = Server::start(&index, &["--max-upload-mb", "1", "--upload-timeout-s", "2"]);
    let url = &server.url;
    let host = url.trim_start_matches("http://");
    // Declared too large: refused before the body is read.
    let r = raw(
        url,
        format!("POST /api/v1/identify?name=big.wav HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5000000\r\nConnection: close\r\n\r\n").as_bytes(),
        Duration::ZERO,
    );
    assert_json_error(&r, 413);
    // Too large without a declared length (chunked): refused once it grows past the limit.
    let mut req = format!("POST /api/v1/identify?name=big.wav HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n").into_bytes();
    let chunk = vec![7u8; 256 * 1024];
    for _ in 0..8 {
        req.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend(&chunk);
        req.extend(b"\r\n");
    }
    req.extend(b"0\r\n\r\n");
    assert_json_error(&raw(url, &req, Duration::ZERO), 413);
    // A slow upload that stalls: 408 once the upload time is up.
    let r = raw(
        url,
        format!("POST /api/v1/identify?name=slow.wav HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1000\r\nConnection: close\r\n\r\nRIFF").as_bytes(),
        Duration::ZERO,
    );
    assert_json_error(&r, 408);
    // An upload the client gives up on: half of the body, then its side of the connection
    // closed (400, the upload broke off) or the connection dropped outright (no one to
    // answer); either way the server goes on.
    let r = raw_half_closed(
        url,
        format!("POST /api/v1/identify?name=cut.wav HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100000\r\nConnection: close\r\n\r\nRIFF....WAVEfmt ").as_bytes(),
    );
    assert_json_error(&r, 400);
    assert!(r.contains("broke off"), "{r}");
    for _ in 0..3 {
        let mut s = TcpStream::connect(host).unwrap();
        let _ = s.write_all(
            format!("POST /api/v1/identify?name=cut.wav HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100000\r\n\r\n").as_bytes(),
        );
        let _ = s.write_all(&[1u8; 4000]);
        drop(s);
    }
    assert_eq!(get(url, "/api/v1/health").0, 200);
    // Bytes that are no media at all.
    let garbage: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let (status, body) = identify(url, "noise.mp3", &garbage);
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("noise.mp3"),
        "{body}"
    );
    for broken in fixture_files("broken") {
        let (status, body) = identify(url, s(&broken), &std::fs::read(&broken).unwrap());
        assert!(
            (400..500).contains(&status),
            "{}: {status} {body}",
            broken.display()
        );
        assert!(body["error"].is_string());
    }
    // Wrong content types, the wrong kind of media, bad parameters, unknown places.
    let (status, body) = answer(
        agent()
            .post(format!("{url}/api/v1/identify"))
            .content_type("application/json")
            .send("{\"clip\": 1}"),
    );
    assert_eq!(status, 415, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("application/json is not media")),
        "{body}"
    );
    let picture = &fixture_files("images")[0];
    let (status, body) = identify(url, s(picture), &std::fs::read(picture).unwrap());
    assert_eq!(status, 415, "{body}");
    assert_eq!(get(url, "/api/v1/similar?item=1&top=lots").0, 400);
    assert_eq!(get(url, "/api/v1/similar").0, 400);
    assert_eq!(get(url, "/api/v1/nothing").0, 404);
    assert_eq!(get(url, "/nothing").0, 404);
    let (status, body) = answer(agent().delete(format!("{url}/api/v1/stats")).call());
    assert_eq!(status, 405, "{body}");
    // And it still answers.
    assert_eq!(get(url, "/api/v1/health").0, 200);
    let clip = &fixture_files("queries")[0];
    let (status, a) = identify(url, s(clip), &std::fs::read(clip).unwrap());
    assert_eq!(status, 200, "{a}");
    assert!(!a["match"].is_null(), "{a}");
    // The page is there too.
    let mut page = agent().get(format!("{url}/")).call().unwrap();
    assert!(page
        .body_mut()
        .read_to_string()
        .unwrap()
        .contains("id=\"listen\""));
}

#[test]
fn an_overload_waits_or_gets_503_and_never_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let server = Server::start(
        &index,
        &["--workers", "1", "--queue", "2", "--queue-wait-ms", "200"],
    );
    let url = server.url.clone();
    let clip = std::fs::read(&fixture_files("queries")[0]).unwrap();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|_| scope.spawn(|| identify(&url, "clip.wav", &clip).0))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(
        statuses.contains(&503),
        "a queue of 2 must turn some of 12 away: {statuses:?}"
    );
    assert_eq!(identify(&url, "clip.wav", &clip).0, 200);
}

#[test]
fn a_stale_address_file_is_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    // What a killed server leaves: an address nobody answers at.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        index.join("serve.json"),
        format!("{{\"url\": \"http://127.0.0.1:{port}\", \"address\": \"127.0.0.1:{port}\", \"pid\": 999999}}"),
    )
    .unwrap();
    let run = latentid(&index, &["stats", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.json()["items"], 6);
    // A server started over it takes its place, and removes it when it stops.
    let server = Server::start(&index, &[]);
    assert_eq!(latentid(&index, &["list", "--json"]).json_lines().len(), 6);
    assert_eq!(server.stop(), 0);
    assert!(!index.join("serve.json").exists());
}

#[test]
fn concurrent_writes_go_one_at_a_time_and_a_stop_keeps_them() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let server = Server::start(&index, &[]);
    let url = server.url.clone();
    let bearer = format!(
        "Bearer {}",
        std::fs::read_to_string(index.join("serve.token")).unwrap()
    );
    let song = std::fs::read(fixtures().join("audio-heldout").join("vengeful.ogg")).unwrap();
    let add = || {
        answer(
            agent()
                .post(format!("{url}/api/v1/items"))
                .query("name", "vengeful.ogg")
                .header("Authorization", &bearer)
                .content_type("audio/ogg")
                .send(&song[..]),
        )
    };
    let remove = |id: u64| {
        answer(
            agent()
                .delete(format!("{url}/api/v1/items/{id}"))
                .header("Authorization", &bearer)
                .call(),
        )
    };
    // One addition and three removals at once: each is done, or refused with 409 while
    // another write runs; never a 5xx, never a half-done write.
    type Answer = (u16, Value);
    let (added, removed): (Answer, Vec<(u64, Answer)>) = std::thread::scope(|scope| {
        let a = scope.spawn(add);
        let r: Vec<_> = [2u64, 3, 4]
            .into_iter()
            .map(|id| (id, scope.spawn(move || remove(id))))
            .collect();
        (
            a.join().unwrap(),
            r.into_iter()
                .map(|(id, h)| (id, h.join().unwrap()))
                .collect(),
        )
    });
    let conflict = |(status, body): &(u16, Value)| {
        *status == 409
            && body["error"]
                .as_str()
                .is_some_and(|e| e.contains("another write"))
    };
    assert!(added.0 == 201 || conflict(&added), "{added:?}");
    for (id, r) in &removed {
        assert!(
            (r.0 == 200 && r.1["removed"] == *id) || conflict(r),
            "remove {id}: {r:?}"
        );
    }
    // What was refused goes through once it is asked again on its own.
    if added.0 != 201 {
        let again = add();
        assert_eq!(again.0, 201, "{again:?}");
    }
    for (id, r) in &removed {
        if r.0 != 200 {
            let again = remove(*id);
            assert_eq!(again.0, 200, "remove {id}: {again:?}");
        }
    }
    let names = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .map(|i| i["name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (status, items) = get(&url, "/api/v1/items");
    assert_eq!(status, 200);
    let served = names(items.as_array().unwrap());
    assert_eq!(served.len(), 6 - 3 + 1, "{served:?}");
    assert!(served.contains(&"Jeremy Nicoll – Vengeful Pursuit".to_string()));
    for id in [2, 3, 4] {
        assert_eq!(get(&url, &format!("/api/v1/items/{id}")).0, 404);
    }
    // SIGTERM: exit 0, and the index on disk holds the writes.
    assert_eq!(server.stop(), 0);
    let after = latentid(&index, &["list", "--json"]);
    assert_eq!(after.code, 0, "{after}");
    assert_eq!(names(&after.json_lines()), served);
}
