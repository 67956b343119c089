//! Upgrades from older formats, one step at a time. Format 1 stored counters and item records
//! with bincode 2 (standard config); format 2 stores them as JSON and adds a revision to the
//! counters. Format 3 stores each item's signatures as one block of half floats instead of one
//! f32 row per signature. Format 4 moves the model out of the main tree into its own. Manifest,
//! hash/path keys and tombstones are the same in all.

use std::path::PathBuf;

use serde::Deserialize;

use super::codec::{block_key, decode_sig, encode_block, key_id, Counters, ItemRecord};
use super::codec::{COUNTERS, ITEM, MODEL_CONFIG_V3, MODEL_WEIGHTS_V3, SIG};
use super::Catalog;
use crate::types::{Item, ItemId, ItemKind};

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
/// (The next step, [`from_v2`], follows when the catalog is opened.)
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
                sketch: None,
                tint: None,
            },
            first_sig: old.first_sig,
        })?;
        items += 1;
    }
    batch.counters(&counters)?;
    let mut manifest = catalog.manifest()?;
    manifest.format_version = 2;
    batch.manifest(&manifest)?;
    catalog.commit(batch)?;
    tracing::info!(
        "upgraded the index at {} from format 1 to 2 ({items} items)",
        catalog.dir.display()
    );
    Ok(())
}

/// Rewrites a format-2 catalog's signature rows as one block per item (consecutive rows of
/// one item), and its manifest's version, in one atomic batch, flushed.
pub(super) fn from_v2(catalog: &Catalog) -> crate::Result<()> {
    let dim = catalog.manifest()?.latent_dim;
    let mut batch = catalog.batch();
    // The block being gathered: its first id, item, offsets and vectors.
    let mut run: Option<(u64, ItemId, Vec<u32>, Vec<f32>)> = None;
    let mut next_id = 0;
    let mut blocks = 0;
    let mut flush = |run: &mut Option<(u64, ItemId, Vec<u32>, Vec<f32>)>,
                     batch: &mut super::Batch<'_>| {
        if let Some((first, item, offsets, vectors)) = run.take() {
            batch
                .inner
                .insert(block_key(first), encode_block(item, &offsets, &vectors));
            blocks += 1;
        }
    };
    for kv in catalog.db.scan_prefix(SIG) {
        let (k, v) = kv.map_err(catalog.db_err())?;
        let id = key_id(SIG, &k).ok_or_else(|| catalog.corrupt("a signature key is unreadable"))?;
        let mut vector = Vec::with_capacity(dim);
        let (item, offset) = decode_sig(&v, dim, &mut vector).ok_or_else(|| {
            catalog.corrupt(format!("signature {id} is not a row of {dim} values"))
        })?;
        let continues = matches!(&run, Some((_, i, _, _)) if *i == item && id == next_id);
        if !continues {
            flush(&mut run, &mut batch);
            run = Some((id, item, Vec::new(), Vec::new()));
        }
        if let Some((_, _, offsets, vectors)) = &mut run {
            offsets.push(offset);
            vectors.extend_from_slice(&vector);
        }
        batch.inner.remove(k);
        next_id = id + 1;
    }
    flush(&mut run, &mut batch);
    let mut manifest = catalog.manifest()?;
    manifest.format_version = 3;
    batch.manifest(&manifest)?;
    catalog.commit(batch)?;
    tracing::info!(
        "upgraded the index at {} from format 2 to 3 ({blocks} signature blocks)",
        catalog.dir.display()
    );
    Ok(())
}

/// Moves a format-3 catalog's model (config and weights) from the main tree into the model's
/// own, and bumps its manifest's version, in one transaction, flushed. The copies of the
/// weights sled wrote before are its to reclaim as it reuses its log.
pub(super) fn from_v3(catalog: &Catalog) -> crate::Result<()> {
    let mut batch = catalog.batch();
    let model = catalog.decode_model(
        catalog.get(MODEL_CONFIG_V3)?,
        catalog.get(MODEL_WEIGHTS_V3)?,
    )?;
    if let Some((config, weights)) = &model {
        batch.model(config, weights);
    }
    batch.inner.remove(MODEL_CONFIG_V3);
    batch.inner.remove(MODEL_WEIGHTS_V3);
    let mut manifest = catalog.manifest()?;
    manifest.format_version = 4;
    batch.manifest(&manifest)?;
    catalog.commit(batch)?;
    tracing::info!(
        "upgraded the index at {} from format 3 to 4 (the model in a tree of its own)",
        catalog.dir.display()
    );
    Ok(())
}
