//! What every [`Store`] does, written once over `&dyn Store` and run on a [`SledStore`] and
//! a [`MemoryStore`] alike (the `both!` list at the end).

use std::collections::HashSet;

use latentid_store::*;

use crate::{item, vectors_for};

/// Every store here holds signatures of this size.
pub const DIM: usize = 4;

fn added(outcome: AddOutcome) -> ItemId {
    match outcome {
        AddOutcome::Added(id) => id,
        other => panic!("not added: {other:?}"),
    }
}

/// Adds item `hash` with `n` signatures at offsets 0, 16, 32, …
fn add(store: &dyn Store, hash: &str, n: usize) -> ItemId {
    let offsets: Vec<u32> = (0..n as u32).map(|o| o * 16).collect();
    added(
        store
            .add_item(item(hash), &offsets, &vectors_for(hash, n, DIM))
            .unwrap(),
    )
}

fn keys(hits: &[Neighbour]) -> Vec<(ItemId, u32)> {
    hits.iter().map(|n| (n.item, n.offset)).collect()
}

fn items_are_stored_whole_and_listed_in_id_order(store: &dyn Store) {
    assert!(store.items().unwrap().is_empty());
    let a = add(store, "a", 3);
    let b = add(store, "b", 1);
    store.remove(a).unwrap();
    let c = add(store, "c", 2);
    assert!(a < b && b < c, "ids grow and are not reused: {a} {b} {c}");
    let items = store.items().unwrap();
    let listed: Vec<_> = items.iter().map(|i| (i.id, i.name.as_str())).collect();
    assert_eq!(listed, [(b, "b"), (c, "c")]);
    let got = store.item(c).unwrap().unwrap();
    assert_eq!(got, items[1]);
    let want = item("c");
    assert_eq!(
        (
            got.path,
            got.content_hash,
            got.kind,
            got.duration_s,
            got.signatures
        ),
        (
            want.path.clone(),
            want.content_hash,
            want.kind,
            want.duration_s,
            2
        )
    );
    assert!(got.added_unix > 0);
    assert_eq!(store.find_hash("c").unwrap(), Some(c));
    assert_eq!(store.find_path(&want.path).unwrap(), Some(c));
    assert_eq!(store.find_hash("nothing").unwrap(), None);
    assert_eq!(store.item(a).unwrap(), None);
    let (offsets, vectors) = store.signatures(c).unwrap();
    assert_eq!(offsets, [0, 16]);
    assert_eq!(vectors, vectors_for("c", 2, DIM));
    let stats = store.stats().unwrap();
    assert_eq!(
        (stats.items, stats.signatures, stats.latent_dim),
        (2, 3, DIM)
    );
}

fn values_are_kept_as_half_floats(store: &dyn Store) {
    let v = [0.1f32, 1.0 / 3.0, -2.5, 1e-3];
    let id = added(store.add_item(item("h"), &[0], &v).unwrap());
    let got = store.signatures(id).unwrap().1;
    for (g, x) in got.iter().zip(v) {
        assert_eq!(*g, half::f16::from_f32(x).to_f32());
        assert!((g - x).abs() <= x.abs() / 1024.0, "{g} vs {x}");
    }
    // A query of the original values finds them at the distance the kept values are.
    let hits = store.search(&v, 1).unwrap();
    let hit = &hits[0];
    let d: f32 = got
        .iter()
        .zip(v)
        .map(|(g, x)| (g - x) * (g - x))
        .sum::<f32>()
        .sqrt();
    assert_eq!((hit.item, hit.distance), (id, d));
}

fn the_same_content_is_stored_once(store: &dyn Store) {
    let a = store
        .add_item(item("same"), &[0], &[1.0, 2.0, 3.0, 4.0])
        .unwrap();
    let mut elsewhere = item("same");
    elsewhere.path = "/elsewhere/copy.ogg".into();
    let b = store.add_item(elsewhere, &[0, 16], &[0.0; 8]).unwrap();
    assert_eq!(b, AddOutcome::Duplicate(added(a)));
    assert_eq!(store.items().unwrap().len(), 1);
    assert_eq!(store.stats().unwrap().signatures, 1);
    assert_eq!(
        store.find_path("/elsewhere/copy.ogg".as_ref()).unwrap(),
        None
    );
}

fn vectors_of_the_wrong_length_are_refused(store: &dyn Store) {
    let e = store
        .add_item(item("x"), &[0], &[1.0, 2.0, 3.0])
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::DimensionMismatch {
                expected: 4,
                got: 3,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains(&store.location().display().to_string()),
        "the error names the index: {e}"
    );
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
    assert!(matches!(
        store.search_exact(&[1.0; 8], 1),
        Err(StoreError::DimensionMismatch {
            expected: 4,
            got: 8,
            ..
        })
    ));
    assert!(matches!(
        store.search_batch(&[1.0; 6], 1),
        Err(StoreError::DimensionMismatch {
            expected: 4,
            got: 6,
            ..
        })
    ));
    let id = add(store, "y", 1);
    assert!(matches!(
        store.replace_signatures(id, &[0], &[1.0; 3]),
        Err(StoreError::DimensionMismatch { .. })
    ));
    assert_eq!(
        store.items().unwrap().len(),
        1,
        "a refused add stores nothing"
    );
    assert_eq!(store.signatures(id).unwrap().1, vectors_for("y", 1, DIM));
}

fn search_finds_the_nearest_first(store: &dyn Store) {
    let vectors = [
        [0.0, 0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 3.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 10.0],
    ];
    let a = added(
        store
            .add_item(item("a"), &[0, 16], vectors[..2].as_flattened())
            .unwrap(),
    );
    let b = added(
        store
            .add_item(item("b"), &[0, 16], vectors[2..].as_flattened())
            .unwrap(),
    );
    let q = [0.9, 0.0, 0.0, 0.0];
    for hits in [
        store.search(&q, 3).unwrap(),
        store.search_exact(&q, 3).unwrap(),
    ] {
        assert_eq!(keys(&hits), [(a, 16), (a, 0), (b, 0)]);
        let d: Vec<f32> = hits.iter().map(|n| n.distance).collect();
        assert!(
            (d[0] - 0.1).abs() < 1e-6 && (d[1] - 0.9).abs() < 1e-6,
            "{d:?}"
        );
        assert!((d[2] - (0.81f32 + 9.0).sqrt()).abs() < 1e-5, "{d:?}");
    }
    assert_eq!(store.search(&q, 10).unwrap().len(), 4, "k beyond the index");
    assert!(store.search(&q, 0).unwrap().is_empty());
    let batch = store
        .search_batch(&[q, [0.0, 0.0, 0.0, 9.0]].concat(), 1)
        .unwrap();
    assert_eq!(batch.len(), 2);
    assert_eq!(
        (keys(&batch[0]), keys(&batch[1])),
        (vec![(a, 16)], vec![(b, 16)])
    );
    assert!(store.search_batch(&[], 1).unwrap().is_empty());
}

fn search_agrees_with_exact_search(store: &dyn Store) {
    for i in 0..60 {
        add(store, &format!("item{i}"), 5);
    }
    for i in 0..20 {
        let q = vectors_for(&format!("query{i}"), 1, DIM);
        let approx = keys(&store.search(&q, 5).unwrap());
        let exact = keys(&store.search_exact(&q, 5).unwrap());
        // 300 points under a beam of 64: the graph finds the exact answer.
        assert_eq!(approx, exact, "query {i}");
    }
}

fn removed_items_are_gone_from_everything(store: &dyn Store) {
    let ids: Vec<ItemId> = (0..10)
        .map(|i| add(store, &format!("item{i}"), 4))
        .collect();
    let gone: HashSet<ItemId> = [ids[2], ids[5], ids[7]].into();
    // A search first, so that a graph holds what is then removed.
    assert_eq!(store.search(&[0.0; DIM], 40).unwrap().len(), 40);
    for &id in &gone {
        assert_eq!(store.remove(id).unwrap().id, id);
    }
    for i in 0..10 {
        let q = &vectors_for(&format!("item{i}"), 4, DIM)[..DIM];
        for hits in [
            store.search(q, 40).unwrap(),
            store.search_exact(q, 40).unwrap(),
        ] {
            assert_eq!(hits.len(), 28, "every live signature, and only those");
            assert!(hits.iter().all(|n| !gone.contains(&n.item)), "{hits:?}");
        }
        // Removed signatures do not take the places of live ones.
        assert_eq!(store.search(q, 10).unwrap().len(), 10);
    }
    let e = store.remove(ids[2]).unwrap_err();
    assert!(
        matches!(e, StoreError::NotFound { id, .. } if id == ids[2]),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains(&store.location().display().to_string()),
        "{e}"
    );
    assert!(matches!(
        store.signatures(ids[2]),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.find_hash("item2").unwrap(), None);
    assert_eq!(store.find_path(&item("item2").path).unwrap(), None);
    assert_eq!(store.items().unwrap().len(), 7);
    assert_eq!(store.stats().unwrap().signatures, 28);
    // The same content can come back, as a new item.
    let again = add(store, "item2", 4);
    assert!(again > ids[9]);
}

fn replaced_signatures_answer_instead_of_the_old(store: &dyn Store) {
    let id = add(store, "a", 3);
    let other = add(store, "b", 3);
    let old = vectors_for("a", 3, DIM);
    let new = vectors_for("a-reencoded", 2, DIM);
    store.replace_signatures(id, &[0, 8], &new).unwrap();
    assert_eq!(store.signatures(id).unwrap(), (vec![0, 8], new.clone()));
    assert_eq!(store.item(id).unwrap().unwrap().signatures, 2);
    let hit = store.search(&new[DIM..], 1).unwrap();
    assert_eq!((keys(&hit), hit[0].distance), (vec![(id, 8)], 0.0));
    let near_old = store.search(&old[..DIM], 10).unwrap();
    assert!(
        near_old.iter().all(|n| n.item != id || n.offset != 16),
        "an old signature came back: {near_old:?}"
    );
    assert_eq!(store.stats().unwrap().signatures, 5);
    assert_eq!(store.signatures(other).unwrap().1, vectors_for("b", 3, DIM));
    assert!(matches!(
        store.replace_signatures(99, &[0], &new[..DIM]),
        Err(StoreError::NotFound { id: 99, .. })
    ));
}

fn a_reset_drops_every_signature_and_keeps_the_items(store: &dyn Store) {
    let a = add(store, "a", 3);
    let b = add(store, "b", 2);
    store.reset_signatures(6).unwrap();
    assert_eq!(store.manifest().latent_dim, 6);
    let items = store.items().unwrap();
    assert_eq!(
        items
            .iter()
            .map(|i| (i.id, i.signatures))
            .collect::<Vec<_>>(),
        [(a, 0), (b, 0)]
    );
    assert_eq!(store.signatures(a).unwrap(), (vec![], vec![]));
    let stats = store.stats().unwrap();
    assert_eq!((stats.items, stats.signatures, stats.latent_dim), (2, 0, 6));
    assert!(store.search(&[0.0; 6], 5).unwrap().is_empty());
    assert!(matches!(
        store.search(&[0.0; DIM], 5),
        Err(StoreError::DimensionMismatch { expected: 6, .. })
    ));
    let v = vectors_for("b6", 2, 6);
    store.replace_signatures(b, &[0, 16], &v).unwrap();
    assert_eq!(keys(&store.search(&v[6..], 1).unwrap()), [(b, 16)]);
    assert_eq!(keys(&store.search_exact(&v[6..], 1).unwrap()), [(b, 16)]);
    // Re-encoding the other item (it had none since the reset) leaves b's signatures alone.
    let w = vectors_for("a6", 1, 6);
    store.replace_signatures(a, &[8], &w).unwrap();
    assert_eq!(store.signatures(b).unwrap(), (vec![0, 16], v.clone()));
    assert_eq!(keys(&store.search(&v[6..], 1).unwrap()), [(b, 16)]);
    assert_eq!(keys(&store.search(&w, 1).unwrap()), [(a, 8)]);
}

fn an_items_reconstruction_is_kept_until_a_new_model(store: &dyn Store) {
    let a = add(store, "a", 3);
    let b = add(store, "b", 2);
    assert_eq!(store.item(a).unwrap().unwrap().reconstruction, None);
    let r = Reconstruction {
        error: 0.25,
        worst: 0.5,
        worst_offset: 16,
    };
    let before = store.revision();
    store.set_reconstruction(a, Some(r)).unwrap();
    assert!(store.revision() > before, "a calibration reads these");
    assert_eq!(store.item(a).unwrap().unwrap().reconstruction, Some(r));
    let listed: Vec<_> = store
        .items()
        .unwrap()
        .into_iter()
        .map(|i| (i.id, i.reconstruction))
        .collect();
    assert_eq!(listed, [(a, Some(r)), (b, None)]);
    // Nothing else about the item changes, and its signatures are the same.
    let got = store.item(a).unwrap().unwrap();
    assert_eq!((got.name.as_str(), got.signatures), ("a", 3));
    assert_eq!(store.signatures(a).unwrap().1, vectors_for("a", 3, DIM));
    assert_eq!(store.find_hash("a").unwrap(), Some(a));
    // Re-encoding with the same model keeps it until the caller measures again.
    store
        .replace_signatures(a, &[0], &vectors_for("a2", 1, DIM))
        .unwrap();
    assert_eq!(store.item(a).unwrap().unwrap().reconstruction, Some(r));
    store.set_reconstruction(b, Some(r)).unwrap();
    store.set_reconstruction(b, None).unwrap();
    assert_eq!(store.item(b).unwrap().unwrap().reconstruction, None);
    // A new model: every item's error was the old model's.
    store.set_reconstruction(b, Some(r)).unwrap();
    store.reset_signatures(DIM).unwrap();
    assert!(store
        .items()
        .unwrap()
        .iter()
        .all(|i| i.reconstruction.is_none()));
    assert!(matches!(
        store.set_reconstruction(99, Some(r)),
        Err(StoreError::NotFound { id: 99, .. })
    ));
    store.remove(a).unwrap();
    assert!(matches!(
        store.set_reconstruction(a, Some(r)),
        Err(StoreError::NotFound { .. })
    ));
}

fn the_manifest_and_the_model_are_kept(store: &dyn Store) {
    assert_eq!(store.model().unwrap(), None);
    store.set_model(r#"{"kind":"Pca"}"#, &[1, 2, 3]).unwrap();
    assert_eq!(
        store.model().unwrap(),
        Some((r#"{"kind":"Pca"}"#.to_string(), vec![1, 2, 3]))
    );
    let mut m = store.manifest();
    assert_eq!((m.format_version, m.latent_dim), (FORMAT_VERSION, DIM));
    m.model_hash = Some("ab12".into());
    m.extra.insert("calibration".into(), "{}".into());
    store.set_manifest(&m).unwrap();
    assert_eq!(store.manifest(), m);
}

/// Every write that changes what a search finds moves the revision; nothing else does.
pub fn the_revision_follows_what_search_can_find(store: &dyn Store) {
    let r0 = store.revision();
    let v = vectors_for("a", 2, DIM);
    store.add_item(item("a"), &[0, 16], &v).unwrap();
    let r1 = store.revision();
    assert!(r1 > r0);
    store.add_item(item("a"), &[0, 16], &v).unwrap();
    let mut m = store.manifest();
    m.extra.insert("calibration".into(), "{}".into());
    store.set_manifest(&m).unwrap();
    store.set_model("{}", b"weights").unwrap();
    store.search(&v[..DIM], 1).unwrap();
    store.flush().unwrap();
    assert!(store.remove(99).is_err());
    assert_eq!(
        store.revision(),
        r1,
        "a duplicate, the manifest, the model, a search, a flush, a failed remove"
    );
    let b = add(store, "b", 1);
    let r2 = store.revision();
    store.replace_signatures(b, &[8], &v[DIM..]).unwrap();
    let r3 = store.revision();
    store.remove(b).unwrap();
    let r4 = store.revision();
    store.reset_signatures(DIM).unwrap();
    let r5 = store.revision();
    assert!(
        r1 < r2 && r2 < r3 && r3 < r4 && r4 < r5,
        "{r1} {r2} {r3} {r4} {r5}"
    );
}

/// A `#[test]` per function, for each implementation.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[test]
                fn $name() {
                    let store = latentid_store::MemoryStore::new(crate::manifest(super::DIM));
                    super::$name(&store);
                }
            )*
        }

        mod sled {
            $(
                #[test]
                fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let store =
                        latentid_store::SledStore::create(dir.path(), crate::manifest(super::DIM))
                            .unwrap();
                    super::$name(&store);
                }
            )*
        }
    };
}

both!(
    items_are_stored_whole_and_listed_in_id_order,
    values_are_kept_as_half_floats,
    the_same_content_is_stored_once,
    vectors_of_the_wrong_length_are_refused,
    search_finds_the_nearest_first,
    search_agrees_with_exact_search,
    removed_items_are_gone_from_everything,
    replaced_signatures_answer_instead_of_the_old,
    a_reset_drops_every_signature_and_keeps_the_items,
    an_items_reconstruction_is_kept_until_a_new_model,
    the_manifest_and_the_model_are_kept,
    the_revision_follows_what_search_can_find,
);
