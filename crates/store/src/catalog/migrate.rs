//! Upgrades from older formats. Format 1 stored counters and item records with bincode 2
//! (standard config); format 2 stores them as JSON and adds a revision to the counters.
//! Manifest, model, hash/path keys, signature rows and tombstones are the same in both.

use std::path::PathBuf;

use serde::Deserialize;

use super::codec::{key_id, Counters, ItemRecord, COUNTERS, ITEM};
use super::Catalog;
use crate::types::{Item, ItemKind, FORMAT_VERSION};

/// Format 1's counters, frozen.
#[derive(Deserialize)]
struct CountersV1 {
    next_item: u64,
    next_sig: u64,
    generation: u64,
}

/// Format 1's item record, frozen (field order is the encoding).
#[derive(Deserialize)]
struct ItemRecordV1 {
    item: ItemV1,
    first_sig: u64,
}

#[derive(Deserialize)]
struct ItemV1 {
    id: u64,
    path: PathBuf,
    name: String,
    content_hash: String,
    kind: ItemKind,
    duration_s: Option<f32>,
    width: Option<u32>,
    height: Option<u32>,
    added_unix: u64,
    signatures: usize,
}

fn bincode_v1<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, String> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map(|(v, _)| v)
        .map_err(|e| e.to_string())
}

/// Rewrites a format-1 catalog's counters and item records as format 2, and its manifest's
/// version, in one atomic batch, flushed: a crash leaves version 1 or version 2, never a mix.
pub(super) fn from_v1(catalog: &Catalog) -> crate::Result<()> {
    let bytes = catalog
        .get(COUNTERS)?
        .ok_or_else(|| catalog.corrupt("no counters"))?;
    let old: CountersV1 = bincode_v1(&bytes)
        .map_err(|e| catalog.corrupt(format!("format-1 counters are unreadable: {e}")))?;
    let tombstones = catalog.count_tombstones() as u64;
    let counters = Counters {
        next_item: old.next_item,
        next_sig: old.next_sig,
        generation: old.generation,
        // What `Store::revision` reported for a format-1 index, so that anything stamped with
        // it then is still current.
        revision: old.next_sig + old.next_item + old.generation + tombstones,
    };
    let mut batch = catalog.batch();
    let mut items = 0;
    for kv in catalog.db.scan_prefix(ITEM) {
        let (k, v) = kv.map_err(catalog.db_err())?;
        let id = key_id(ITEM, &k).ok_or_else(|| catalog.corrupt("an item key is unreadable"))?;
        let old: ItemRecordV1 = bincode_v1(&v)
            .map_err(|e| catalog.corrupt(format!("format-1 item {id} is unreadable: {e}")))?;
        let i = old.item;
        batch.record(&ItemRecord {
            item: Item {
                id: i.id,
                path: i.path,
                name: i.name,
                content_hash: i.content_hash,
                kind: i.kind,
                duration_s: i.duration_s,
                width: i.width,
                height: i.height,
                added_unix: i.added_unix,
                signatures: i.signatures,
                title: None,
                artist: None,
                album: None,
                reconstruction: None,
            },
            first_sig: old.first_sig,
        })?;
        items += 1;
    }
    batch.counters(&counters)?;
    let mut manifest = catalog.manifest()?;
    manifest.format_version = FORMAT_VERSION;
    batch.manifest(&manifest)?;
    catalog.commit(batch)?;
    tracing::info!(
        "upgraded the index at {} from format 1 to {FORMAT_VERSION} ({items} items)",
        catalog.dir.display()
    );
    Ok(())
}
