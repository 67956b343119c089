//! The catalog's keys and value encodings, all in one place (indexes/README.md, "catalog").
//!
//! Records that may grow (the manifest, counters, item records) are JSON: a field added later
//! with `#[serde(default)]` needs no format bump. Signatures are binary, one block per item
//! (its offsets, then its vectors as IEEE half floats): there are millions of them, and a row
//! per signature cost sled ~180 bytes of bookkeeping each (format 2).

use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::types::{Item, ItemId, Manifest};

pub(crate) const MANIFEST: &[u8] = b"m:manifest";
/// Format 3's model keys in the main tree (read only to upgrade them): sled rewrites a leaf
/// whole when any key in it changes, and these shared one with the keys every commit writes,
/// so each rewrite left another multi-megabyte copy of the weights on disk.
pub(crate) const MODEL_CONFIG_V3: &[u8] = b"m:model_config";
pub(crate) const MODEL_WEIGHTS_V3: &[u8] = b"m:model_weights";
/// The sled tree that holds the model, alone: written only when the model changes.
pub(crate) const MODEL_TREE: &[u8] = b"model";
/// In [`MODEL_TREE`]: the encoder's configuration (JSON) and its weights (safetensors).
pub(crate) const MODEL_CONFIG: &[u8] = b"config";
pub(crate) const MODEL_WEIGHTS: &[u8] = b"weights";
pub(crate) const COUNTERS: &[u8] = b"m:counters";
/// Commits applied to the catalog so far (u64 BE; absent before the first commit that wrote
/// it): checked against the seal file ([`super::seal`]) when the catalog is opened.
pub(crate) const COMMITS: &[u8] = b"m:commits";

pub(crate) const ITEM: &[u8] = b"i:";
const HASH: &[u8] = b"h:";
const PATH: &[u8] = b"p:";
/// Format 2's signature rows, one per signature (read only to upgrade them).
pub(crate) const SIG: &[u8] = b"s:";
/// Signature blocks: one per item, keyed by its first signature id.
pub(crate) const BLOCK: &[u8] = b"b:";
pub(crate) const TOMB: &[u8] = b"t:";

fn key(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    [prefix, rest].concat()
}

/// Big-endian ids so that sled's byte order is numeric order: an item's signatures are one
/// range of keys.
fn id_key(prefix: &[u8], id: u64) -> Vec<u8> {
    key(prefix, &id.to_be_bytes())
}

pub(crate) fn item_key(id: ItemId) -> Vec<u8> {
    id_key(ITEM, id)
}

pub(crate) fn hash_key(content_hash: &str) -> Vec<u8> {
    key(HASH, content_hash.as_bytes())
}

pub(crate) fn path_key(path: &Path) -> Vec<u8> {
    key(PATH, path.as_os_str().as_encoded_bytes())
}

pub(crate) fn block_key(first_sig: u64) -> Vec<u8> {
    id_key(BLOCK, first_sig)
}

pub(crate) fn tomb_key(sig: u64) -> Vec<u8> {
    id_key(TOMB, sig)
}

/// The id in a key made by [`id_key`] with `prefix`.
pub(crate) fn key_id(prefix: &[u8], k: &[u8]) -> Option<u64> {
    let rest = k.strip_prefix(prefix)?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

/// The value of the `h:` and `p:` keys: an item id, big-endian.
pub(crate) fn id_value(id: ItemId) -> [u8; 8] {
    id.to_be_bytes()
}

pub(crate) fn decode_id_value(v: &[u8]) -> Option<ItemId> {
    Some(u64::from_be_bytes(v.try_into().ok()?))
}

/// Encodes a record (counters, item record); the error is the reason.
pub(crate) fn encode_record<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec(value).map_err(|e| e.to_string())
}

pub(crate) fn decode_record<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

pub(crate) fn encode_manifest(manifest: &Manifest) -> Result<Vec<u8>, String> {
    encode_record(manifest)
}

pub(crate) fn decode_manifest(bytes: &[u8]) -> Result<Manifest, String> {
    decode_record(bytes)
}

/// The manifest's `format_version` alone: a manifest of another version may not parse as a
/// [`Manifest`].
pub(crate) fn decode_manifest_version(bytes: &[u8]) -> Option<u32> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    u32::try_from(v.get("format_version")?.as_u64()?).ok()
}

/// Ids handed out so far, the graph generation and the revision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Counters {
    pub next_item: u64,
    pub next_sig: u64,
    /// Bumped when every signature is dropped (a new model): a graph dump of another
    /// generation is stale.
    pub generation: u64,
    /// Bumped by every write that changes what a search can find (`Store::revision`).
    pub revision: u64,
}

/// An item row: the public item plus where its signatures are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ItemRecord {
    pub item: Item,
    /// Signature ids `first_sig .. first_sig + item.signatures`.
    pub first_sig: u64,
}

impl ItemRecord {
    pub fn sig_ids(&self) -> Range<u64> {
        self.first_sig..self.first_sig + self.item.signatures as u64
    }
}

/// A signature row of format 2: item (u64 LE), offset (u32 LE), then the vector as f32 LE.
#[cfg(test)]
pub(crate) fn encode_sig(item: ItemId, offset: u32, vector: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + 4 * vector.len());
    out.extend_from_slice(&item.to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    for x in vector {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// A format-2 signature row of `dim` values: its owner and offset, its vector appended to
/// `out`. `None` (and `out` untouched) when the row is not that long.
pub(crate) fn decode_sig(row: &[u8], dim: usize, out: &mut Vec<f32>) -> Option<(ItemId, u32)> {
    let item = u64::from_le_bytes(row.get(..8)?.try_into().ok()?);
    let offset = u32::from_le_bytes(row.get(8..12)?.try_into().ok()?);
    let values = row.get(12..).filter(|v| v.len() == 4 * dim)?;
    out.extend(
        values
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
    );
    Some((item, offset))
}

/// A signature block: item (u64 LE), count n (u32 LE), n offsets (u32 LE), then n vectors of
/// `dim` values as IEEE binary16 LE. Half precision keeps 11 significant bits: a unit-length
/// 32-value code moves by ~1e-4, a hundredth of the distance between neighbouring patches.
pub(crate) fn encode_block(item: ItemId, offsets: &[u32], vectors: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + 4 * offsets.len() + 2 * vectors.len());
    out.extend_from_slice(&item.to_le_bytes());
    out.extend_from_slice(&(offsets.len() as u32).to_le_bytes());
    for o in offsets {
        out.extend_from_slice(&o.to_le_bytes());
    }
    for &x in vectors {
        out.extend_from_slice(&half::f16::from_f32(x).to_le_bytes());
    }
    out
}

/// A decoded signature block: borrowed from the stored bytes.
pub(crate) struct Block<'a> {
    pub item: ItemId,
    offsets: &'a [u8],
    codes: &'a [u8],
    dim: usize,
}

impl Block<'_> {
    pub fn len(&self) -> usize {
        self.offsets.len() / 4
    }

    pub fn offset(&self, i: usize) -> u32 {
        let b = &self.offsets[4 * i..4 * i + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Vector `i`'s half floats (2 bytes each, LE).
    pub fn code(&self, i: usize) -> &[u8] {
        &self.codes[2 * self.dim * i..2 * self.dim * (i + 1)]
    }

    /// Vector `i`, widened to f32, into `out` (cleared first).
    pub fn vector(&self, i: usize, out: &mut Vec<f32>) {
        widen(self.code(i), out);
    }
}

/// A stored vector's half floats (2 bytes each, LE), widened to f32 into `out` (cleared
/// first): the one conversion every reported distance comes from.
pub(crate) fn widen(code: &[u8], out: &mut Vec<f32>) {
    out.clear();
    out.extend(
        code.chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()),
    );
}

/// `x` as a store keeps it: the nearest half float, widened.
pub(crate) fn as_stored(x: f32) -> f32 {
    half::f16::from_f32(x).to_f32()
}

/// A block of `dim`-value vectors, or `None` when its length says otherwise.
pub(crate) fn decode_block(bytes: &[u8], dim: usize) -> Option<Block<'_>> {
    let item = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let n = u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?) as usize;
    let offsets = bytes.get(12..12 + 4 * n)?;
    let codes = bytes.get(12 + 4 * n..)?;
    (codes.len() == 2 * dim * n).then_some(Block {
        item,
        offsets,
        codes,
        dim,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_block_round_trips_in_half_precision_and_a_short_one_is_refused() {
        let bytes = encode_block(7, &[0, 16], &[1.5, -2.0, 0.1, 1.0 / 3.0]);
        let b = decode_block(&bytes, 2).unwrap();
        assert_eq!((b.item, b.len(), b.offset(1)), (7, 2, 16));
        let mut v = Vec::new();
        b.vector(0, &mut v);
        assert_eq!(v, [1.5, -2.0]);
        b.vector(1, &mut v);
        assert!(
            (v[0] - 0.1).abs() < 1e-4 && (v[1] - 1.0 / 3.0).abs() < 1e-4,
            "{v:?}"
        );
        assert!(decode_block(&bytes, 3).is_none());
        assert!(decode_block(&bytes[..bytes.len() - 1], 2).is_none());
        assert!(decode_block(&bytes[..10], 2).is_none());
    }

    #[test]
    fn a_signature_row_round_trips_and_a_short_one_is_refused() {
        let row = encode_sig(7, 48, &[1.5, -2.0]);
        let mut v = Vec::new();
        assert_eq!(decode_sig(&row, 2, &mut v), Some((7, 48)));
        assert_eq!(v, [1.5, -2.0]);
        assert_eq!(decode_sig(&row, 3, &mut v), None);
        assert_eq!(decode_sig(&row[..10], 0, &mut v), None);
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn records_are_json_and_round_trip() {
        let c = Counters {
            next_item: 3,
            next_sig: 40,
            generation: 1,
            revision: 9,
        };
        let bytes = encode_record(&c).unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"next_item":3,"next_sig":40,"generation":1,"revision":9}"#
        );
        assert_eq!(decode_record::<Counters>(&bytes).unwrap(), c);
    }

    #[test]
    fn id_keys_sort_numerically() {
        assert!(block_key(255) < block_key(256));
        assert_eq!(key_id(BLOCK, &block_key(300)), Some(300));
        assert_eq!(key_id(TOMB, &block_key(300)), None);
    }
}
