//! What only the sled store does: persistence across reopening, the HNSW graph as a cache,
//! format versions, other processes.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use latentid_store::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{copy_dir, item, manifest, vectors_for};

/// A store of `items` items with `per` random signatures each.
fn filled(dir: &Path, items: usize, per: usize, dim: usize) -> SledStore {
    let store = SledStore::create(dir, manifest(dim)).unwrap();
    for i in 0..items {
        let h = format!("item{i}");
        let offsets: Vec<u32> = (0..per as u32).map(|o| o * 16).collect();
        store
            .add_item(item(&h), &offsets, &vectors_for(&h, per, dim))
            .unwrap();
    }
    store
}

fn recall_at_10(store: &SledStore, queries: usize, dim: usize) -> f64 {
    let mut rng = StdRng::seed_from_u64(99);
    let mut hit = 0;
    for _ in 0..queries {
        let q: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
        let approx = store.search(&q, 10).unwrap();
        let exact = store.search_exact(&q, 10).unwrap();
        let key = |n: &Neighbour| (n.item, n.offset);
        hit += exact
            .iter()
            .filter(|e| approx.iter().any(|a| key(a) == key(e)))
            .count();
    }
    hit as f64 / (queries * 10) as f64
}

#[test]
fn hnsw_agrees_with_exact_search_within_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path(), 500, 10, 32);
    let r = recall_at_10(&store, 200, 32);
    assert!(r >= 0.98, "recall@10 = {r:.3} against exact search");
}

#[test]
fn where_the_graph_finds_the_true_neighbours_it_reports_the_exact_numbers() {
    // A warm server searches the graph, a one-shot command scans exactly: their answers
    // must print the same, so the same neighbours must come with bit-identical distances.
    let tmp = tempfile::tempdir().unwrap();
    let dim = 16;
    let store = filled(tmp.path(), 30, 20, dim);
    store.warm().unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let mut same_sets = 0;
    for _ in 0..100 {
        let q: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
        let graph = store.search(&q, 10).unwrap();
        let exact = store.search_exact(&q, 10).unwrap();
        let key = |n: &Neighbour| (n.item, n.offset);
        if graph.iter().map(key).eq(exact.iter().map(key)) {
            same_sets += 1;
            let bits = |v: &[Neighbour]| v.iter().map(|n| n.distance.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&graph), bits(&exact));
        }
    }
    assert!(
        same_sets >= 90,
        "the graph found the exact top 10 for {same_sets} of 100"
    );
}

#[test]
fn an_index_survives_closing_and_answers_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let q = vectors_for("probe", 1, 16);
    let recon = Reconstruction {
        error: 0.3,
        worst: 0.9,
        worst_offset: 48,
    };
    // A picture's sketch comes back byte for byte, every value a byte can hold.
    let sketch = Sketch((0..=255u8).chain(0..=255).collect());
    let tint = Sketch((0..48u8).map(|v| v * 5).collect());
    let before = {
        let store = filled(dir.path(), 50, 8, 16);
        store.set_reconstruction(3, Some(recon)).unwrap();
        let picture = NewItem {
            sketch: Some(sketch.clone()),
            tint: Some(tint.clone()),
            ..item("picture")
        };
        store
            .add_item(picture, &[0], &vectors_for("picture", 1, 16))
            .unwrap();
        store.flush().unwrap();
        store.search(&q, 5).unwrap()
    };
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.search(&q, 5).unwrap(), before);
    assert_eq!(store.items().unwrap().len(), 51);
    assert_eq!(store.item(3).unwrap().unwrap().reconstruction, Some(recon));
    let picture = store.find_hash("picture").unwrap().unwrap();
    let stored = store.item(picture).unwrap().unwrap();
    assert_eq!((stored.sketch, stored.tint), (Some(sketch), Some(tint)));
    assert_eq!(store.item(3).unwrap().unwrap().sketch, None);
    let (offsets, vectors) = store.signatures(3).unwrap();
    assert_eq!(offsets, (0..8).map(|o| o * 16).collect::<Vec<u32>>());
    assert_eq!(vectors, vectors_for("item3", 8, 16));
}

#[test]
fn search_effort_zero_is_exact_search() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), 300, 10, 16).flush().unwrap();
    let reopen = |ef| {
        SledStore::open_with(
            dir.path(),
            SearchParams {
                ef,
                ..SearchParams::default()
            },
        )
        .unwrap()
    };
    let mut rng = StdRng::seed_from_u64(5);
    let queries: Vec<Vec<f32>> = (0..100)
        .map(|_| (0..16).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    let answers = |store: &SledStore| -> Vec<Vec<Neighbour>> {
        queries
            .iter()
            .map(|q| store.search(q, 10).unwrap())
            .collect()
    };
    let store = reopen(1);
    let exact: Vec<_> = queries
        .iter()
        .map(|q| store.search_exact(q, 10).unwrap())
        .collect();
    assert_ne!(
        answers(&store),
        exact,
        "one cell per query should miss some"
    );
    drop(store);
    assert_eq!(answers(&reopen(0)), exact);
}

#[test]
fn removed_items_never_come_back_in_results() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path(), 40, 5, 8);
    // The dump holds every signature: what is removed now must be hidden by tombstones.
    store.flush().unwrap();
    let check = |store: &SledStore, removed: &[ItemId]| {
        for i in 0..40 {
            let q = &vectors_for(&format!("item{i}"), 5, 8)[..8];
            let hits = store.search(q, 20).unwrap();
            assert_eq!(hits.len(), 20, "removed signatures took live ones' places");
            for n in hits {
                assert!(
                    !removed.contains(&n.item),
                    "removed item {} returned",
                    n.item
                );
            }
        }
    };
    // 7 items of 40: under a fifth of the graph, so tombstones stay, across reopening too.
    let mut removed: Vec<ItemId> = (0..40).step_by(6).collect();
    for &id in &removed {
        store.remove(id).unwrap();
    }
    check(&store, &removed);
    assert!(matches!(
        store.remove(0),
        Err(StoreError::NotFound { id: 0, .. })
    ));
    store.flush().unwrap();
    drop(store);
    let store = SledStore::open(dir.path()).unwrap();
    check(&store, &removed);
    assert_eq!(store.stats().unwrap().tombstoned, 35);
    assert_eq!(store.items().unwrap().len(), 33);
    assert!(store.find_hash("item0").unwrap().is_none());
    // The dump that still holds the removed signatures, kept to play a crash below.
    let stale = dir.path().join("stale-graph");
    copy_dir(&dir.path().join("graph"), &stale);
    // Two more pass a fifth: the next flush rebuilds the graph without them.
    for id in [1, 7] {
        store.remove(id).unwrap();
        removed.push(id);
    }
    check(&store, &removed);
    store.flush().unwrap();
    assert_eq!(store.stats().unwrap().tombstoned, 0);
    check(&store, &removed);
    drop(store);
    let store = SledStore::open(dir.path()).unwrap();
    check(&store, &removed);
    // A crash after the rebuild cleared the tombstones but before its dump replaced the old
    // one: the old dump holds signatures the catalog no longer has, and is not trusted.
    drop(store);
    std::fs::remove_dir_all(dir.path().join("graph")).unwrap();
    std::fs::rename(&stale, dir.path().join("graph")).unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    check(&store, &removed);
}

#[test]
fn the_graph_is_loaded_only_when_a_search_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path(), 30, 6, 8).flush().unwrap();
    let graph = dir.path().join("graph");
    std::fs::remove_dir_all(&graph).unwrap();
    // Counting and flushing without a write leave the (missing) dump alone.
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.stats().unwrap().signatures, 180);
    store.flush().unwrap();
    assert!(!graph.exists(), "stats or flush loaded the graph");
    drop(store);
    // A one-shot process answers a few queries exactly, without the graph...
    let store = SledStore::open_with(dir.path(), SearchParams::one_shot()).unwrap();
    for i in 0..5 {
        let q = vectors_for(&format!("q{i}"), 1, 8);
        assert_eq!(
            store.search(&q, 7).unwrap(),
            store.search_exact(&q, 7).unwrap()
        );
    }
    store.flush().unwrap();
    assert!(!graph.exists(), "a one-shot query loaded the graph");
    // ...and moves on to the graph (rebuilt here) once exact search would cost more.
    let many = vectors_for("many", 5000, 8);
    let hits = store.search_batch(&many, 1).unwrap();
    assert_eq!(hits.len(), 5000);
    store.flush().unwrap();
    assert!(graph.join("graph.json").exists(), "the graph was not built");
}

#[test]
fn searches_and_writes_from_many_threads_agree_with_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path(), 20, 4, 8);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..3 {
            let (store, done) = (&store, &done);
            s.spawn(move || {
                let q = vectors_for(&format!("t{t}"), 8, 8);
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    assert_eq!(store.search_batch(&q, 5).unwrap().len(), 8);
                    store.search_exact(&q[..8], 5).unwrap();
                }
            });
        }
        for i in 20..60 {
            let h = format!("item{i}");
            store
                .add_item(item(&h), &[0, 16], &vectors_for(&h, 2, 8))
                .unwrap();
            if i % 10 == 0 {
                store.remove(i as u64 / 10).unwrap();
                store.flush().unwrap();
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    for i in 20..60 {
        let v = vectors_for(&format!("item{i}"), 2, 8);
        let hit = store.search(&v[8..], 1).unwrap();
        assert_eq!((hit[0].item, hit[0].offset), (i, 16), "item{i}");
    }
    let stats = store.stats().unwrap();
    assert_eq!(
        (stats.items, stats.signatures),
        (56, 20 * 4 - 4 * 4 + 40 * 2)
    );
}

#[test]
fn deleting_the_graph_files_rebuilds_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let queries: Vec<Vec<f32>> = (0..20)
        .map(|i| vectors_for(&format!("q{i}"), 1, 16))
        .collect();
    let before: Vec<_> = {
        let store = filled(dir.path(), 100, 6, 16);
        store.flush().unwrap();
        queries
            .iter()
            .map(|q| store.search(q, 10).unwrap())
            .collect()
    };
    std::fs::remove_dir_all(dir.path().join("graph")).unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let after: Vec<_> = queries
        .iter()
        .map(|q| store.search(q, 10).unwrap())
        .collect();
    assert_eq!(
        after, before,
        "a rebuilt graph must answer like the original"
    );
    // A damaged dump is treated like a missing one.
    store.flush().unwrap();
    drop(store);
    std::fs::write(dir.path().join("graph").join("graph.json"), b"{ not json").unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        queries
            .iter()
            .map(|q| store.search(q, 10).unwrap())
            .collect::<Vec<_>>(),
        before
    );
}

/// Bytes of the files under `dir`.
fn bytes_under(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                bytes_under(&e.path())
            } else {
                e.metadata().unwrap().len()
            }
        })
        .sum()
}

/// sled rewrites a leaf whole when one of its keys changes. The weights once shared a leaf with
/// the records every commit writes, and each ingest left copies of them behind (a six-track
/// index took 64 MB for 9.5 MB of weights). They are written when the model changes, only.
#[test]
fn the_model_is_stored_once_however_many_commits_follow() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("index");
    let mut rng = StdRng::seed_from_u64(5);
    let weights: Vec<u8> = (0..2 << 20).map(|_| rng.random()).collect();
    {
        let store = SledStore::create(&dir, manifest(4)).unwrap();
        store.set_model("{\"first\":1}", &weights[..1000]).unwrap();
        store.set_model("{\"kind\":\"test\"}", &weights).unwrap();
        for i in 0..60 {
            let h = format!("item{i}");
            store
                .add_item(item(&h), &[0, 16], &vectors_for(&h, 2, 4))
                .unwrap();
            if i % 10 == 0 {
                store.set_manifest(&store.manifest()).unwrap();
            }
        }
        store.flush().unwrap();
    }
    let on_disk = bytes_under(&dir.join("catalog"));
    assert!(
        on_disk < 2 * weights.len() as u64,
        "{on_disk} bytes on disk for {} bytes of weights",
        weights.len()
    );
    let store = SledStore::open(&dir).unwrap();
    let (config, stored) = store.model().unwrap().unwrap();
    assert_eq!(
        (config.as_str(), stored == weights),
        ("{\"kind\":\"test\"}", true)
    );
    assert_eq!(store.items().unwrap().len(), 60);
}

#[test]
fn opening_where_there_is_no_index_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none");
    let e = SledStore::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::NoIndex { .. }));
    assert_eq!(e.to_string(), format!("no index at {}", path.display()));
    assert!(!path.exists());
    SledStore::create(&path, manifest(2)).unwrap();
    assert!(matches!(
        SledStore::create(&path, manifest(2)),
        Err(StoreError::Exists { .. })
    ));
}

#[test]
fn an_index_of_another_format_version_says_to_reindex() {
    let dir = tempfile::tempdir().unwrap();
    drop(SledStore::create(dir.path(), manifest(2)).unwrap());
    {
        // sled lets go of the lock a moment after the store is dropped.
        let db = (0..50)
            .find_map(|_| {
                let db = sled::open(dir.path().join("catalog")).ok();
                if db.is_none() {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                db
            })
            .unwrap();
        let mut m: serde_json::Value =
            serde_json::from_slice(&db.get(b"m:manifest").unwrap().unwrap()).unwrap();
        m["format_version"] = serde_json::json!(FORMAT_VERSION + 1);
        db.insert(b"m:manifest", serde_json::to_vec(&m).unwrap())
            .unwrap();
        db.flush().unwrap();
    }
    let e = SledStore::open(dir.path()).unwrap_err();
    assert!(matches!(e, StoreError::FormatVersion { .. }), "{e}");
    assert!(e.to_string().contains("re-index"), "{e}");
}

/// sled recovers from a damaged log file by cutting the log at the damage, so the catalog opens
/// as it was some writes ago. Simulated by putting back a copy of the catalog taken earlier
/// under the later seal: the index is refused as damaged, naming its folder. An index with no
/// seal (written before seals) or an unreadable one opens; the next write seals it again.
#[test]
fn a_catalog_that_lost_writes_is_refused_as_damaged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("index");
    let catalog = dir.join("catalog");
    let seal = catalog.join("latentid-commits");
    let early = tmp.path().join("early");
    drop(filled(&dir, 2, 3, 4));
    copy_dir(&catalog, &early);
    {
        let store = SledStore::open(&dir).unwrap();
        let h = "later";
        store
            .add_item(item(h), &[0, 16], &vectors_for(h, 2, 4))
            .unwrap();
    }
    let later_seal = std::fs::read(&seal).unwrap();
    std::fs::remove_dir_all(&catalog).unwrap();
    copy_dir(&early, &catalog);
    std::fs::write(&seal, &later_seal).unwrap();
    let e = SledStore::open(&dir).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&dir.display().to_string())
            && msg.contains("damaged")
            && msg.contains("lost writes"),
        "{msg}"
    );
    for unchecked in [Some(&b"garbage"[..]), Some(&b""[..]), None] {
        match unchecked {
            Some(bytes) => std::fs::write(&seal, bytes).unwrap(),
            None => std::fs::remove_file(&seal).unwrap(),
        }
        let store = SledStore::open(&dir).unwrap();
        assert_eq!(store.items().unwrap().len(), 2);
    }
    // Sealed again by the next write: losing it is refused again.
    std::fs::remove_dir_all(&early).unwrap();
    copy_dir(&catalog, &early);
    {
        let store = SledStore::open(&dir).unwrap();
        store.remove(0).unwrap();
    }
    let later_seal = std::fs::read(&seal).unwrap();
    std::fs::remove_dir_all(&catalog).unwrap();
    copy_dir(&early, &catalog);
    std::fs::write(&seal, &later_seal).unwrap();
    assert!(matches!(
        SledStore::open(&dir),
        Err(StoreError::Corrupt { .. })
    ));
}

/// Child half of the process tests; does nothing unless the parent set the variable.
#[test]
#[ignore]
fn child_process() {
    let Ok(dir) = std::env::var("LATENTID_STORE_CHILD") else {
        return;
    };
    let dir = Path::new(&dir);
    match std::env::var("LATENTID_STORE_ROLE").as_deref() {
        Ok("open") => match SledStore::open(dir) {
            Err(e @ StoreError::InUse { .. }) => println!("refused: {e}"),
            Err(e) => println!("other error: {e}"),
            Ok(_) => println!("opened"),
        },
        _ => {
            let store = if SledStore::exists(dir) {
                SledStore::open(dir)
            } else {
                SledStore::create(dir, manifest(8))
            }
            .unwrap();
            let round = std::env::var("LATENTID_STORE_ROUND").unwrap();
            let mut out = std::io::stdout();
            for n in 0.. {
                let h = format!("r{round}-{n}");
                store
                    .add_item(item(&h), &[0, 16, 32], &vectors_for(&h, 3, 8))
                    .unwrap();
                writeln!(out, "ack {h}").unwrap();
                out.flush().unwrap();
                if n % 7 == 6 {
                    store.flush().unwrap();
                }
            }
        }
    }
}

fn child(dir: &Path, role: &str, round: usize) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--exact",
        "sled_store::child_process",
        "--ignored",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env("LATENTID_STORE_CHILD", dir)
    .env("LATENTID_STORE_ROLE", role)
    .env("LATENTID_STORE_ROUND", round.to_string())
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    c
}

#[test]
fn a_second_process_is_refused_while_the_index_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create(dir.path(), manifest(2)).unwrap();
    let started = Instant::now();
    let out = child(dir.path(), "open", 0).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("refused: index at") && text.contains("in use by another process"),
        "{text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the refusal must not hang"
    );
    drop(store);
    let out = child(dir.path(), "open", 0).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("opened"));
}

#[test]
fn killing_a_writer_at_random_moments_never_loses_an_acknowledged_item() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(2024);
    let mut acked: Vec<String> = Vec::new();
    for round in 0..20 {
        let mut proc = child(dir.path(), "write", round).spawn().unwrap();
        let stdout = proc.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::result::Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Let it write for a random while (sometimes killed before its first ack).
        let deadline = Instant::now() + Duration::from_millis(rng.random_range(20..400));
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(5)) {
                if let Some(h) = line.strip_prefix("ack ") {
                    acked.push(h.to_string());
                }
            }
        }
        proc.kill().unwrap(); // SIGKILL
        proc.wait().unwrap();
        while let Ok(line) = rx.try_recv() {
            if let Some(h) = line.strip_prefix("ack ") {
                acked.push(h.to_string());
            }
        }
    }
    assert!(
        acked.len() > 20,
        "the writer should have got some work done ({} acks)",
        acked.len()
    );
    let store = SledStore::open(dir.path()).unwrap();
    for h in &acked {
        let id = store
            .find_hash(h)
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged item {h} lost"));
        // The graph agrees with the catalog: the item's own signature is its nearest neighbour.
        let v = &vectors_for(h, 3, 8)[..8];
        let nearest = store.search(v, 1).unwrap();
        assert_eq!(nearest[0].item, id, "graph does not find {h}");
        assert!(nearest[0].distance < 1e-4);
    }
    let stats = store.stats().unwrap();
    assert_eq!(stats.signatures, 3 * stats.items);
}

#[test]
fn the_revision_moves_with_every_change_to_what_search_finds_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create(dir.path(), manifest(crate::behaviour::DIM)).unwrap();
    crate::behaviour::the_revision_follows_what_search_can_find(&store);
    let r = store.revision();
    drop(store);
    assert_eq!(SledStore::open(dir.path()).unwrap().revision(), r);
}
