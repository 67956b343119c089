#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use latentid_store::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn manifest(dim: usize) -> Manifest {
    Manifest::new(ItemKind::Audio, dim, "{}".into())
}

fn item(hash: &str) -> NewItem {
    NewItem {
        path: format!("/music/{hash}.ogg").into(),
        name: hash.into(),
        content_hash: hash.into(),
        kind: ItemKind::Audio,
        duration_s: Some(10.0),
        width: None,
        height: None,
    }
}

/// Deterministic vectors for an item, so another process can recompute them.
fn vectors_for(hash: &str, n: usize, dim: usize) -> Vec<f32> {
    let seed = hash.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ b as u64).wrapping_mul(1099511628211)
    });
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n * dim).map(|_| rng.random_range(-1.0..1.0)).collect()
}

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
fn an_index_survives_closing_and_answers_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let q = vectors_for("probe", 1, 16);
    let before = {
        let store = filled(dir.path(), 50, 8, 16);
        store.flush().unwrap();
        store.search(&q, 5).unwrap()
    };
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.search(&q, 5).unwrap(), before);
    assert_eq!(store.items().unwrap().len(), 50);
    let (offsets, vectors) = store.signatures(3).unwrap();
    assert_eq!(offsets, (0..8).map(|o| o * 16).collect::<Vec<u32>>());
    assert_eq!(vectors, vectors_for("item3", 8, 16));
}

#[test]
fn removed_items_never_come_back_in_results() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(dir.path(), 40, 5, 8);
    let removed: Vec<ItemId> = (0..40).step_by(3).collect();
    for &id in &removed {
        store.remove(id).unwrap();
    }
    let check = |store: &SledStore| {
        for i in 0..40 {
            let q = &vectors_for(&format!("item{i}"), 5, 8)[..8];
            for n in store.search(q, 20).unwrap() {
                assert!(
                    !removed.contains(&n.item),
                    "tombstoned item {} returned",
                    n.item
                );
            }
        }
    };
    check(&store);
    assert!(matches!(
        store.remove(0),
        Err(StoreError::NotFound { id: 0, .. })
    ));
    store.flush().unwrap();
    drop(store);
    let store = SledStore::open(dir.path()).unwrap();
    check(&store);
    assert_eq!(store.items().unwrap().len(), 40 - removed.len());
    assert!(store.find_hash("item0").unwrap().is_none());
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

#[test]
fn the_same_content_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create(dir.path(), manifest(4)).unwrap();
    let a = store
        .add_item(item("same"), &[0], &[1.0, 2.0, 3.0, 4.0])
        .unwrap();
    let mut other_name = item("same");
    other_name.path = "/elsewhere/copy.ogg".into();
    let b = store
        .add_item(other_name, &[0], &[1.0, 2.0, 3.0, 4.0])
        .unwrap();
    assert_eq!(a, AddOutcome::Added(0));
    assert_eq!(b, AddOutcome::Duplicate(0));
    assert_eq!(store.items().unwrap().len(), 1);
    assert_eq!(store.stats().unwrap().signatures, 1);
}

#[test]
fn vectors_of_the_wrong_length_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create(dir.path(), manifest(4)).unwrap();
    assert!(matches!(
        store.add_item(item("x"), &[0], &[1.0, 2.0, 3.0]),
        Err(StoreError::DimensionMismatch {
            expected: 4,
            got: 3,
            ..
        })
    ));
    assert!(matches!(
        store.add_item(item("x"), &[0, 1], &[1.0, 2.0, 3.0, 4.0]),
        Err(StoreError::OffsetCount {
            offsets: 2,
            vectors: 1,
            ..
        })
    ));
    assert!(matches!(
        store.search(&[1.0; 5], 1),
        Err(StoreError::DimensionMismatch {
            expected: 4,
            got: 5,
            ..
        })
    ));
    assert!(
        store.items().unwrap().is_empty(),
        "a refused add must store nothing"
    );
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
        let db = sled::open(dir.path().join("catalog")).unwrap();
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
        "child_process",
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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The golden index of format 1 (fixtures/golden/README.md), copied: opening upgrades it.
fn golden_v1_copy(tmp: &Path) -> std::path::PathBuf {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/v1-audio");
    let dir = tmp.join("v1-audio");
    copy_dir(&golden, &dir);
    dir
}

#[test]
fn a_format_1_index_is_upgraded_and_answers_as_before() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = golden_v1_copy(tmp.path());
    let check = |store: &SledStore| {
        let m = store.manifest();
        assert_eq!(m.format_version, 2);
        assert_eq!((m.kind, m.latent_dim), (ItemKind::Audio, 8));
        assert!(m.extra.contains_key("calibration"), "{m:?}");
        let (config, weights) = store.model().unwrap().expect("the PCA model");
        assert!(config.contains("Pca") && !weights.is_empty(), "{config}");
        let items = store.items().unwrap();
        let names: Vec<_> = items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "battle",
                "northerners",
                "knolls",
                "the_city_falls",
                "wanderer",
                "legends_of_the_north"
            ]
        );
        for (id, item) in items.iter().enumerate() {
            assert_eq!((item.id, item.signatures), (id as u64, 74), "{item:?}");
            assert!(
                item.added_unix > 0 && item.content_hash.len() == 64,
                "{item:?}"
            );
        }
        assert_eq!(items[0].duration_s, Some(19.991125));
        // The provisional revision of format 1 (signature and item ids, generation) carries over.
        assert_eq!(store.revision(), 444 + 6 + 1);
        let (offsets, vectors) = store.signatures(2).unwrap();
        assert_eq!(offsets, (0..74).map(|i| i * 8).collect::<Vec<u32>>());
        assert_eq!(vectors[0], 1.5749805);
        let q = &vectors[80..88];
        let hits = store.search(q, 3).unwrap();
        assert_eq!(
            (hits[0].item, hits[0].offset, hits[0].distance),
            (2, 80, 0.0)
        );
        assert_eq!(hits, store.search_exact(q, 3).unwrap());
        let stats = store.stats().unwrap();
        assert_eq!(
            (stats.items, stats.signatures, stats.tombstoned),
            (6, 444, 0)
        );
    };
    let store = SledStore::open(&dir).unwrap();
    check(&store);
    drop(store);
    let store = SledStore::open(&dir).unwrap();
    check(&store);
    // And it takes writes like any index of the current format.
    let v = vectors_for("new", 2, 8);
    store.add_item(item("new"), &[0, 8], &v).unwrap();
    assert_eq!(store.revision(), 452);
    assert_eq!(store.search(&v[..8], 1).unwrap()[0].item, 6);
}

/// Every write that changes what a search finds moves the revision; nothing else does.
fn revision_follows_what_search_can_find(store: &dyn Store) {
    let r0 = store.revision();
    let v = vectors_for("a", 2, 4);
    store.add_item(item("a"), &[0, 16], &v).unwrap();
    let r1 = store.revision();
    assert!(r1 > r0);
    store.add_item(item("a"), &[0, 16], &v).unwrap();
    let mut m = store.manifest();
    m.extra.insert("calibration".into(), "{}".into());
    store.set_manifest(&m).unwrap();
    store.set_model("{}", b"weights").unwrap();
    store.search(&v[..4], 1).unwrap();
    store.flush().unwrap();
    assert_eq!(
        store.revision(),
        r1,
        "a duplicate, the manifest, the model, a search, a flush"
    );
    let b = store.add_item(item("b"), &[0], &v[..4]).unwrap();
    let AddOutcome::Added(b) = b else {
        panic!("{b:?}")
    };
    let r2 = store.revision();
    store.replace_signatures(b, &[8], &v[4..]).unwrap();
    let r3 = store.revision();
    store.remove(b).unwrap();
    let r4 = store.revision();
    store.reset_signatures(4).unwrap();
    let r5 = store.revision();
    assert!(
        r1 < r2 && r2 < r3 && r3 < r4 && r4 < r5,
        "{r1} {r2} {r3} {r4} {r5}"
    );
}

#[test]
fn the_revision_moves_with_every_change_to_what_search_finds_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::create(dir.path(), manifest(4)).unwrap();
    revision_follows_what_search_can_find(&store);
    let r = store.revision();
    drop(store);
    assert_eq!(SledStore::open(dir.path()).unwrap().revision(), r);
}
