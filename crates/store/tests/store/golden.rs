//! Indexes written by earlier versions (fixtures/golden/README.md): they must keep opening and
//! answering. Each test works on a copy; nothing writes into fixtures/.

use std::path::{Path, PathBuf};

use latentid_store::*;

use crate::{copy_dir, item, vectors_for};

/// A golden index (fixtures/golden/README.md), copied: opening upgrades it.
fn golden_copy(tmp: &Path, name: &str) -> PathBuf {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/golden")
        .join(name);
    let dir = tmp.join(name);
    copy_dir(&golden, &dir);
    dir
}

/// What every golden index is once opened: the fixture library's six tracks at the current
/// format, PCA of size 8, calibrated.
fn assert_upgraded(store: &SledStore) {
    let m = store.manifest();
    assert_eq!(m.format_version, FORMAT_VERSION);
    assert_eq!((m.kind, m.latent_dim), (ItemKind::Audio, 8));
    assert!(m.extra.contains_key("calibration"), "{m:?}");
    let (config, weights) = store.model().unwrap().expect("the PCA model");
    assert!(config.contains("Pca") && !weights.is_empty(), "{config}");
    assert_eq!(store.items().unwrap().len(), 6);
}

/// Each item's 11th signature finds itself first, at distance 0, approximately as exactly.
fn assert_each_item_finds_itself(store: &SledStore) {
    for (id, item) in store.items().unwrap().iter().enumerate() {
        let (_, v) = store.signatures(item.id).unwrap();
        let q = &v[8 * 10..8 * 11];
        let hits = store.search(q, 3).unwrap();
        assert_eq!(
            (hits[0].item, hits[0].offset, hits[0].distance),
            (id as u64, 80, 0.0)
        );
        assert_eq!(hits, store.search_exact(q, 3).unwrap());
    }
}

fn golden_v1_copy(tmp: &Path) -> PathBuf {
    golden_copy(tmp, "v1-audio")
}

#[test]
fn a_format_1_index_is_upgraded_and_answers_as_before() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = golden_v1_copy(tmp.path());
    let check = |store: &SledStore| {
        assert_upgraded(store);
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
            // Format 1 measured no reconstruction error: `latentid outliers` backfills it.
            assert_eq!(item.reconstruction, None, "{item:?}");
        }
        assert_eq!(items[0].duration_s, Some(19.991125));
        // The provisional revision of format 1 (signature and item ids, generation) carries over.
        assert_eq!(store.revision(), 444 + 6 + 1);
        let (offsets, vectors) = store.signatures(2).unwrap();
        assert_eq!(offsets, (0..74).map(|i| i * 8).collect::<Vec<u32>>());
        // Stored as half floats since format 3: 11 significant bits.
        assert_eq!(vectors[0], half_float(1.5749805));
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

/// `x` as a half float holds it (the nearest value with 11 significant bits).
fn half_float(x: f32) -> f32 {
    half::f16::from_f32(x).to_f32()
}

#[test]
fn a_format_2_index_has_its_signatures_packed_into_blocks_and_answers_as_before() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = golden_copy(tmp.path(), "v2-audio");
    let check = |store: &SledStore| {
        assert_upgraded(store);
        let items = store.items().unwrap();
        for item in &items {
            assert_eq!(item.signatures, 74, "{item:?}");
            assert!(item.reconstruction.is_some(), "{item:?}");
        }
        let (offsets, vectors) = store.signatures(2).unwrap();
        assert_eq!(offsets, (0..74).map(|i| i * 8).collect::<Vec<u32>>());
        assert_eq!(vectors.len(), 74 * 8);
        // Every value survives as its half float (format 2 held f32).
        assert!(vectors.iter().all(|&v| v == half_float(v)));
        assert_each_item_finds_itself(store);
        let stats = store.stats().unwrap();
        assert_eq!(
            (stats.items, stats.signatures, stats.tombstoned),
            (6, 444, 0)
        );
    };
    let store = SledStore::open(&dir).unwrap();
    check(&store);
    store.flush().unwrap();
    drop(store);
    let store = SledStore::open(&dir).unwrap();
    check(&store);
    let v = vectors_for("new", 2, 8);
    store.add_item(item("new"), &[0, 8], &v).unwrap();
    assert_eq!(store.search(&v[..8], 1).unwrap()[0].item, 6);
}

#[test]
fn a_format_3_index_has_its_model_moved_to_a_tree_of_its_own_and_answers_as_before() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = golden_copy(tmp.path(), "v3-audio");
    let check = |store: &SledStore| {
        assert_upgraded(store);
        let items = store.items().unwrap();
        assert!(items.iter().all(|i| i.signatures == 74), "{items:?}");
        assert_each_item_finds_itself(store);
    };
    let store = SledStore::open(&dir).unwrap();
    check(&store);
    let (config, weights) = store.model().unwrap().unwrap();
    drop(store);
    let store = SledStore::open(&dir).unwrap();
    check(&store);
    // A new model replaces the moved one.
    store
        .set_model(&config, &weights[..weights.len() / 2])
        .unwrap();
    drop(store);
    let store = SledStore::open(&dir).unwrap();
    assert_eq!(store.model().unwrap().unwrap().1.len(), weights.len() / 2);
}
