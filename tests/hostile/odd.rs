//! Odd inputs: a 0.3 s clip, pure silence, a DC offset, file names that are not UTF-8 or
//! are as long as the file system allows.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::process::Command;

use crate::util::*;

fn write_wav(path: &Path, rate: u32, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for x in samples {
        w.write_sample((x.clamp(-1.0, 1.0) * 32767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// `latentid query --json FILE`, FILE given as raw bytes.
fn query(index: &Path, file: &Path) -> Run {
    latentid(index, &["query", "--json", s(file)])
}

#[test]
fn a_short_clip_silence_and_a_dc_offset_get_clear_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let rate = 22_050;

    let short = tmp.path().join("short.wav");
    let tone: Vec<f32> = (0..(rate as f32 * 0.3) as usize)
        .map(|i| 0.5 * (i as f32 * 0.07).sin())
        .collect();
    write_wav(&short, rate, &tone);
    let run = query(&index, &short);
    assert_eq!(run.code, 1, "{run}");
    let e = run.json()["error"].as_str().unwrap().to_string();
    assert!(e.contains(s(&short)) && e.contains("too short"), "{e}");

    let silence = tmp.path().join("silence.wav");
    write_wav(&silence, rate, &vec![0.0; rate as usize * 10]);
    let run = query(&index, &silence);
    assert_eq!(run.code, 1, "{run}");
    let e = run.json()["error"].as_str().unwrap().to_string();
    assert!(e.contains(s(&silence)) && e.contains("silent"), "{e}");

    // A constant: loud by its level, but there is nothing to hear.
    let dc = tmp.path().join("dc.wav");
    write_wav(&dc, rate, &vec![0.4; rate as usize * 10]);
    let run = query(&index, &dc);
    let v = run.json();
    if run.code == 0 {
        assert!(v["match"].is_null(), "a constant matched a song: {v}");
    } else {
        let e = v["error"].as_str().unwrap();
        assert!(e.contains(s(&dc)) && e.contains("silen"), "{e}");
    }

    // A song on a DC offset is still the song.
    let clip = tmp.path().join("clip.wav");
    let song = fixtures().join("audio/northerners.mp3");
    excerpt(&song, 2.0, 8.0, None, &clip);
    let mut r = hound::WavReader::open(&clip).unwrap();
    let spec = r.spec();
    let shifted: Vec<f32> = r
        .samples::<i16>()
        .map(|x| 0.3 + 0.6 * x.unwrap() as f32 / 32768.0)
        .collect();
    let offset = tmp.path().join("offset.wav");
    write_wav(&offset, spec.sample_rate, &shifted);
    let run = query(&index, &offset);
    assert_eq!(run.code, 0, "{run}");
    let m = run.json()["match"]["path"].as_str().map(str::to_string);
    assert!(
        m.as_deref().is_some_and(|p| p.ends_with("northerners.mp3")),
        "a song with a DC offset must still be found: {run}"
    );
}

#[test]
fn file_names_that_are_not_utf8_or_very_long_are_indexed_and_queried() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_audio_index(tmp.path());
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let mut raw = b"caf\xe9-latin1-\xff\xfe".to_vec();
    raw.extend_from_slice(b".ogg");
    let latin1 = lib.join(OsString::from_vec(raw));
    std::fs::copy(fixtures().join("audio-heldout/vengeful.ogg"), &latin1).unwrap();
    // 255 bytes: the longest name ext4 and tmpfs allow, in a deep folder.
    let deep = (0..12).fold(lib.clone(), |p, i| {
        p.join(format!("{i:02}-{}", "d".repeat(60)))
    });
    std::fs::create_dir_all(&deep).unwrap();
    let long = deep.join(format!("{}.wav", "\u{00e9}".repeat(125)));
    assert_eq!(long.file_name().unwrap().as_bytes().len(), 254);
    let noisy = fixtures().join("queries/noisy-northerners.wav");
    std::fs::copy(&noisy, &long).unwrap();

    for json in [false, true] {
        let idx = tmp.path().join(format!("index-{json}"));
        copy_dir(&index, &idx);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_latentid"));
        cmd.arg("index").arg(&lib).arg("--index").arg(&idx);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.env("LATENTID_LOG", "error").output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "json {json}\n{stdout}\n{stderr}"
        );
        if json {
            let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(r["added"].as_array().unwrap().len(), 2, "{r:#}");
        }
        let st = latentid(&idx, &["stats", "--json"]).json();
        assert_eq!(st["items"].as_u64(), Some(8), "{st}");
        // `list` shows both, and a query by the stored path finds the item.
        let list = latentid(&idx, &["list"]);
        assert_eq!(list.code, 0, "{list}");
        assert!(list.stdout.contains("caf"), "{list}");
        for (asked, expect) in [(&latin1, &latin1), (&long, &long)] {
            let out = Command::new(env!("CARGO_BIN_EXE_latentid"))
                .arg("query")
                .arg(asked)
                .arg("--index")
                .arg(&idx)
                .env("LATENTID_LOG", "error")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}\n{stdout}\n{}",
                asked.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            let name = expect.file_name().unwrap().to_string_lossy();
            let start: String = name.chars().take(8).collect();
            assert!(
                stdout.contains(&start),
                "{} must be identified as itself:\n{stdout}",
                asked.display()
            );
        }
        // `list --json` gives the path that is not UTF-8 exactly (NUL, then its bytes in
        // hex), and the item is removed by its id.
        let items = latentid(&idx, &["list", "--json"]).json_lines();
        let hex: String = latin1
            .as_os_str()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let item = items
            .iter()
            .find(|i| i["path"].as_str() == Some(&format!("\0{hex}")))
            .unwrap_or_else(|| panic!("the item is listed with its exact path: {items:?}"));
        let id = item["id"].as_u64().unwrap().to_string();
        let run = latentid(&idx, &["remove", &id]);
        assert_eq!(run.code, 0, "{run}");
        let st = latentid(&idx, &["stats", "--json"]).json();
        assert_eq!(st["items"].as_u64(), Some(7), "{st}");
    }
}
