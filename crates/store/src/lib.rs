//! latentid-store: where signatures live between runs.
//!
//! Everything above this crate uses one trait, [`Store`]: an index's manifest, model, items and
//! their signatures, and nearest-neighbour search over the signatures. Two implementations:
//!
//! - [`SledStore`], an index directory. sled is the source of truth (the catalog): items,
//!   their signatures (offsets and vectors, one block of half floats per item), the model
//!   weights and the manifest, written in atomic batches and flushed before any call that
//!   changes them returns. The search index is a cache of the catalog's signatures: an
//!   inverted file (cells of ~32 signatures) whose centroids are found by an HNSW graph
//!   (hnsw_rs, Euclidean), so that the graph holds one point per cell rather than one per
//!   signature and a large library fits in memory. It is dumped beside the catalog for a fast
//!   start, loaded only when a search needs it, caught up or rebuilt when it is behind, missing
//!   or unreadable. Writes go to the catalog only; the index takes in everything new at the next
//!   search or flush, in one batch on all cores, so an ingest builds it once. Removed
//!   signatures are tombstoned and filtered out of results until a flush finds them over a
//!   fifth of the index and rebuilds it. A process that asks a few queries and exits
//!   ([`SearchParams::one_shot`]) is answered by exact search instead, which is cheaper than
//!   loading the index. Opening an index of an older format upgrades it in place
//!   (indexes/README.md).
//! - [`MilvusStore`], an index directory whose signatures are also held, and searched, in a
//!   Milvus collection (`--backend milvus://host:port`): the catalog stays the source of truth
//!   and the collection is reconciled with it like the search index is (see the module
//!   `milvus_store`).
//! - [`MemoryStore`], in memory with exact search: for testing the layers above without sled.
//!
//! A leaf crate: vectors are `&[f32]` and model weights are bytes; it knows nothing of audio,
//! images or candle.
//!
//! ```
//! use latentid_store::{AddOutcome, ItemKind, Manifest, MemoryStore, NewItem, SledStore, Store};
//!
//! let dir = tempfile::tempdir().expect("temp dir");
//! let manifest = Manifest::new(ItemKind::Audio, 2, "{}".into());
//! let on_disk = SledStore::create(dir.path(), manifest.clone())?;
//! let in_memory = MemoryStore::new(manifest);
//! for store in [&on_disk as &dyn Store, &in_memory] {
//!     let item = NewItem { path: "/music/a.ogg".into(), name: "a".into(),
//!         content_hash: "ab12".into(), kind: ItemKind::Audio, duration_s: Some(1.0),
//!         width: None, height: None, title: None, artist: None, album: None, sketch: None,
//!         tint: None };
//!     // Two signatures of two values each, taken at frames 0 and 16.
//!     let id = match store.add_item(item, &[0, 16], &[0.0, 1.0, 0.5, 0.5])? {
//!         AddOutcome::Added(id) => id,
//!         AddOutcome::Duplicate(id) => id,
//!     };
//!     let hits = store.search(&[0.0, 0.9], 1)?;
//!     assert_eq!((hits[0].item, hits[0].offset), (id, 0));
//!     store.flush()?;
//! }
//! # Ok::<(), latentid_store::StoreError>(())
//! ```

mod api;
mod catalog;
mod check;
mod error;
mod memory;
mod milvus_store;
pub mod paths;
mod search;
mod sled_store;
mod types;

pub use api::Store;
pub use error::{Result, StoreError};
pub use memory::MemoryStore;
pub use milvus_store::{create_store, drop_milvus_collection, open_store, Backend, MilvusStore};
pub use search::exact::squared_distance;
pub use search::SearchParams;
pub use sled_store::SledStore;
pub use types::{
    AddOutcome, Item, ItemId, ItemKind, Manifest, Neighbour, NewItem, Reconstruction, Sketch,
    Stats, FORMAT_VERSION,
};
