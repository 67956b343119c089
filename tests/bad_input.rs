//! One bad file never stops a library ingest; every failure names the file and the reason.

use crate::util::*;

#[test]
fn a_folder_with_broken_files_indexes_the_good_ones_and_reports_the_bad() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    copy_dir(&fixtures().join("audio"), &lib.join("good"));
    copy_dir(&fixtures().join("broken"), &lib.join("broken"));
    std::fs::write(lib.join("good").join("playlist.m3u"), "a.ogg\n").unwrap();
    let index = tmp.path().join("index");
    let mut args = vec!["index", s(&lib), "--json"];
    args.extend_from_slice(TINY_TRAINING);
    let run = latentid(&index, &args);
    assert_eq!(
        run.code, 1,
        "some inputs failed, so the exit code is 1\n{run}"
    );
    let r = run.json();
    let good = fixture_files("audio").len();
    assert_eq!(r["added"].as_array().unwrap().len(), good, "{r:#}");
    let failed = r["failed"].as_array().unwrap();
    let broken_audio: Vec<_> = fixture_files("broken")
        .into_iter()
        .filter(|p| latentid_media::media_kind(p) == Some(latentid_media::MediaKind::Audio))
        .collect();
    assert_eq!(failed.len(), broken_audio.len(), "{r:#}");
    for f in failed {
        let path = f["path"].as_str().unwrap();
        let reason = f["reason"].as_str().unwrap();
        assert!(
            reason.contains(path),
            "the reason must name the file: {reason}"
        );
        assert!(
            reason.len() > path.len() + 5,
            "the reason must say why: {reason}"
        );
    }
    // The playlist and the broken images are skipped, not failures.
    let skipped: Vec<&str> = r["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(skipped.iter().any(|p| p.ends_with("playlist.m3u")), "{r:#}");
    // The index that was built works.
    let st = latentid(&index, &["stats", "--json"]).json();
    assert_eq!(st["items"].as_u64().unwrap() as usize, good);
}
