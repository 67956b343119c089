//! The page at `/` in headless Chromium, driven through chromedriver (WebDriver over HTTP):
//! a clip uploaded through the page, and a clip heard through Chromium's fake microphone.
//!
//! Without `chromium` and `chromedriver` the test says so loudly and passes, so that
//! `cargo test --workspace` passes on a fresh machine; with `LATENTID_REQUIRE_BROWSER=1` (as
//! `.ci/run` sets, after installing them) a missing browser fails it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::serve::Server;
use crate::util::*;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start(program: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(mut r) = agent().get(format!("{}/status", driver.url)).call() {
                let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
                if v["value"]["ready"] == true {
                    return driver;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chromedriver did not come up on port {port}");
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.url);
        let a = agent();
        let r = match (method, body) {
            ("GET", _) => a.get(&url).call(),
            ("DELETE", _) => a.delete(&url).call(),
            (_, b) => a.post(&url).send_json(b.unwrap_or_else(|| json!({}))),
        };
        let mut r = r.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let v: Value = r.body_mut().read_json().unwrap();
        if v["value"].get("error").is_some() {
            panic!("{method} {path}: {v:#}");
        }
        v["value"].clone()
    }
}

/// One browser session.
struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = agent()
            .delete(format!("{}/session/{}", self.driver.url, self.id))
            .call();
    }
}

impl<'a> Session<'a> {
    fn new(driver: &'a Driver, chromium: &Path, profile: &Path, microphone: &Path) -> Session<'a> {
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--autoplay-policy=no-user-gesture-required".into(),
            format!("--user-data-dir={}", profile.display()),
            "--use-fake-ui-for-media-stream".into(),
            "--use-fake-device-for-media-stream".into(),
            format!("--use-file-for-fake-audio-capture={}", microphone.display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args}
        }}});
        let v = driver.call("POST", "/session", Some(caps));
        Session {
            driver,
            id: v["sessionId"].as_str().unwrap().to_string(),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().unwrap().to_string()
    }

    fn script(&self, js: &str) -> Value {
        self.script_with(js, json!([]))
    }

    fn script_with(&self, js: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": args})),
        )
    }

    /// Waits until the answer panel leaves "idle"/"working"; returns its state and what the
    /// page shows as the track's name.
    fn answer(&self, within: Duration) -> (String, String, String) {
        let started = Instant::now();
        loop {
            let v = self.script(
                "const a = document.querySelector('#answer');
                 return [a.dataset.state, document.querySelector('#match-title').textContent,
                         document.querySelector('#status').textContent];",
            );
            let state = v[0].as_str().unwrap_or("").to_string();
            if state != "idle" && state != "working" {
                return (
                    state,
                    v[1].as_str().unwrap_or("").to_string(),
                    v[2].as_str().unwrap_or("").to_string(),
                );
            }
            assert!(
                started.elapsed() < within,
                "the page showed no answer within {within:?} (state {state}, status {:?})",
                v[2]
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn the_page_names_an_uploaded_clip_and_what_it_hears() {
    let required = std::env::var("LATENTID_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let chromium = find_program(&["chromium", "chromium-browser"]);
    let chromedriver = find_program(&["chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        assert!(
            !required,
            "LATENTID_REQUIRE_BROWSER=1 but chromium or chromedriver is missing (apt-get install chromium chromium-driver)"
        );
        eprintln!(
            "\n!!!!!!!!!! SKIPPED the browser test of the web page: chromium and chromedriver are not \
             installed (apt-get install chromium chromium-driver; LATENTID_REQUIRE_BROWSER=1 makes this a failure) !!!!!!!!!!\n"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let server = Server::start(&index, &[]);
    let driver = Driver::start(&chromedriver);
    let profile = tmp.path().join("chromium-profile");
    // The fake microphone plays an indexed track (looped) into the page.
    let microphone = fixtures().join("audio").join("wanderer.wav");
    let session = Session::new(&driver, &chromium, &profile, &microphone);

    // 1. A clip chosen with the page's file input.
    session.go(&format!("{}/?listen=6", server.url));
    let input = session.find("#file");
    let clip = fixtures().join("queries").join("noisy-northerners.wav");
    session.call(
        "POST",
        &format!("/element/{input}/value"),
        Some(json!({ "text": s(&clip) })),
    );
    let (state, name, status) = session.answer(Duration::from_secs(60));
    assert_eq!(state, "match", "{status}");
    assert_eq!(name, "northerners");
    let offset = session.script("return document.querySelector('#match-offset').textContent;");
    assert!(
        offset.as_str().unwrap().starts_with("0:0"),
        "offset shown: {offset}"
    );

    // 2. A clip dropped on the drop zone (a drop event carrying the file, as a drag from the
    // desktop gives; WebDriver cannot drag from outside the browser).
    session.go(&format!("{}/?listen=6", server.url));
    let dropped = fixtures().join("queries").join("phone-knolls.mp3");
    let bytes = std::fs::read(&dropped).unwrap();
    session.script_with(
        "const file = new File([new Uint8Array(arguments[0])], 'phone-knolls.mp3', {type: 'audio/mpeg'});
         const dt = new DataTransfer();
         dt.items.add(file);
         const zone = document.querySelector('#drop');
         zone.dispatchEvent(new DragEvent('dragenter', {dataTransfer: dt, bubbles: true, cancelable: true}));
         zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));",
        json!([bytes]),
    );
    let (state, name, status) = session.answer(Duration::from_secs(60));
    assert_eq!(state, "match", "{status}");
    assert_eq!(name, "knolls");

    // 3. Listen: a few seconds from the (fake) microphone, recorded as WAV in the page.
    session.go(&format!("{}/?listen=6", server.url));
    let listen = session.find("#listen");
    session.call("POST", &format!("/element/{listen}/click"), None);
    let (state, name, status) = session.answer(Duration::from_secs(90));
    assert_eq!(state, "match", "{status}");
    assert_eq!(name, "wanderer");
}
