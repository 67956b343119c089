//! latentid-store: where signatures live between runs.
//!
//! sled is the source of truth: items, their signatures (item, offset, vector), the
//! model weights and the manifest, all in one tree written with atomic batches and
//! flushed before any call that changes them returns. The HNSW graph (hnsw_rs,
//! Euclidean) is a cache of the catalog: dumped to files beside it for fast start,
//! checked on open against what the catalog says it should hold, caught up or rebuilt
//! when it is behind, missing or unreadable. Writes go to the catalog only; the graph
//! takes in everything new at the next search or flush, in one batch on all cores, so an
//! ingest builds its graph once rather than a track at a time. hnsw_rs cannot delete, so removed items'
//! signatures are tombstoned and filtered out of results, and the graph is rebuilt once
//! tombstones pass a fifth of it.
//!
//! A leaf crate: vectors are `&[f32]` and model weights are bytes; it knows nothing of
//! audio, images or candle.
//!
//! ```no_run
//! use latentid_store::{ItemKind, Manifest, NewItem, SledStore, Store};
//! let dir = tempfile::tempdir().expect("temp dir");
//! let store = SledStore::create(dir.path(), Manifest::new(ItemKind::Audio, 2, "{}".into()))?;
//! let item = NewItem { path: "/music/a.ogg".into(), name: "a".into(), content_hash: "ab12".into(),
//!     kind: ItemKind::Audio, duration_s: Some(1.0), width: None, height: None };
//! store.add_item(item, &[0, 16], &[0.0, 1.0, 0.5, 0.5])?;
//! let hits = store.search(&[0.0, 0.9], 1)?;
//! assert_eq!(hits[0].offset, 0);
//! # Ok::<(), latentid_store::StoreError>(())
//! ```

mod api;
mod catalog;
mod check;
mod error;
mod memory;
mod search;
mod sled_store;
mod types;

pub use api::Store;
pub use error::{Result, StoreError};
pub use memory::MemoryStore;
pub use search::SearchParams;
pub use sled_store::SledStore;
pub use types::{
    AddOutcome, Item, ItemId, ItemKind, Manifest, Neighbour, NewItem, Stats, FORMAT_VERSION,
};
