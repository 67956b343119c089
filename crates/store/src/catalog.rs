//! Key layout of the sled catalog (one tree; see indexes/README.md) and value encodings.

use serde::{Deserialize, Serialize};

use crate::types::Item;

pub(crate) const MANIFEST: &[u8] = b"m:manifest";
pub(crate) const MODEL_CONFIG: &[u8] = b"m:model_config";
pub(crate) const MODEL_WEIGHTS: &[u8] = b"m:model_weights";
pub(crate) const COUNTERS: &[u8] = b"m:counters";

pub(crate) const ITEM: &[u8] = b"i:";
pub(crate) const HASH: &[u8] = b"h:";
pub(crate) const PATH: &[u8] = b"p:";
pub(crate) const SIG: &[u8] = b"s:";
pub(crate) const TOMB: &[u8] = b"t:";

pub(crate) fn key(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + rest.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(rest);
    k
}

/// Big-endian ids so that sled's byte order is numeric order.
pub(crate) fn id_key(prefix: &[u8], id: u64) -> Vec<u8> {
    key(prefix, &id.to_be_bytes())
}

pub(crate) fn id_from_key(prefix: &[u8], k: &[u8]) -> Option<u64> {
    let rest = k.strip_prefix(prefix)?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

pub(crate) fn id_from_value(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.try_into().ok()?))
}

/// Ids handed out so far and the graph generation (bumped when every signature is dropped).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Counters {
    pub next_item: u64,
    pub next_sig: u64,
    pub generation: u64,
}

/// An item row: the public item plus where its signatures are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ItemRecord {
    pub item: Item,
    /// Signature ids `first_sig .. first_sig + item.signatures`.
    pub first_sig: u64,
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    // Serialising plain structs into a Vec cannot fail.
    bincode::serde::encode_to_vec(v, bincode::config::standard()).unwrap_or_default()
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Option<T> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .ok()
        .map(|(v, _)| v)
}

/// A signature value: item (u64 LE), offset (u32 LE), then the vector as f32 LE.
pub(crate) fn encode_sig(item: u64, offset: u32, v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + 4 * v.len());
    out.extend_from_slice(&item.to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

pub(crate) fn sig_owner(bytes: &[u8]) -> Option<(u64, u32)> {
    if bytes.len() < 12 {
        return None;
    }
    let item = u64::from_le_bytes(bytes[..8].try_into().ok()?);
    let offset = u32::from_le_bytes(bytes[8..12].try_into().ok()?);
    Some((item, offset))
}

pub(crate) fn sig_vector(bytes: &[u8]) -> Vec<f32> {
    bytes
        .get(12..)
        .unwrap_or_default()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
