//! The one interface every layer above uses: [`Store`]. Implementations: [`crate::SledStore`]
//! (sled catalog + HNSW graph, persisted) and [`crate::MemoryStore`] (in memory, exact search,
//! for tests of the layers above).

use std::path::Path;

use crate::types::*;
use crate::Result;

/// An index's catalog (manifest, model, items) and its signatures, with nearest-neighbour
/// search. `Send + Sync`: reads may run from many threads at once; writes are serialised
/// inside. Every write is durable when it returns (a crash later loses nothing it reported).
pub trait Store: Send + Sync {
    /// Where the index lives, for messages.
    fn location(&self) -> &Path;

    // --- what the index is

    /// What the index is: kind, latent size, feature parameters, model hash, extras.
    fn manifest(&self) -> Manifest;
    /// Replaces the manifest, durably. Its `format_version` is the store's own: the current
    /// format is written whatever the one given says.
    fn set_manifest(&self, manifest: &Manifest) -> Result<()>;
    /// The stored model: its config (JSON) and weights, if one was trained.
    fn model(&self) -> Result<Option<(String, Vec<u8>)>>;
    /// Stores a model (its config as JSON and its weights), durably.
    fn set_model(&self, config_json: &str, weights: &[u8]) -> Result<()>;

    // --- items and their signatures

    /// Stores an item and its signatures (`offsets.len()` rows of `latent_dim` values in
    /// `vectors`), all or nothing. The same content hash twice stores nothing and says which
    /// item has it. Values are kept as half floats (11 significant bits): what
    /// [`Store::signatures`] returns and every distance is computed from.
    fn add_item(&self, item: NewItem, offsets: &[u32], vectors: &[f32]) -> Result<AddOutcome>;
    /// Replaces an item's signatures (re-encoding with a new model).
    fn replace_signatures(&self, id: ItemId, offsets: &[u32], vectors: &[f32]) -> Result<()>;
    /// Records how well the model reconstructs an item (`None` forgets it), durably. Moves
    /// the revision: a calibration measures the library's spread of these.
    fn set_reconstruction(&self, id: ItemId, reconstruction: Option<Reconstruction>) -> Result<()>;
    /// For a new model: drops every signature and every item's [`Reconstruction`] (both are
    /// the old model's), keeps the items, and sets the latent size the new signatures will
    /// have.
    fn reset_signatures(&self, latent_dim: usize) -> Result<()>;
    /// Removes an item; its signatures disappear from results at once.
    fn remove(&self, id: ItemId) -> Result<Item>;
    /// A live item, or `None` (never stored, or removed).
    fn item(&self, id: ItemId) -> Result<Option<Item>>;
    /// Live items in id order.
    fn items(&self) -> Result<Vec<Item>>;
    /// The live item with this content hash.
    fn find_hash(&self, content_hash: &str) -> Result<Option<ItemId>>;
    /// The live item stored from this path (as it was given to `add_item`).
    fn find_path(&self, path: &Path) -> Result<Option<ItemId>>;
    /// An item's signatures: offsets and the flat vectors, in offset order.
    fn signatures(&self, id: ItemId) -> Result<(Vec<u32>, Vec<f32>)>;

    // --- search

    /// The `k` nearest live signatures of each query (row-major `queries`), nearest first;
    /// approximate in a [`crate::SledStore`] (see [`crate::SearchParams`]).
    fn search_batch(&self, queries: &[f32], k: usize) -> Result<Vec<Vec<Neighbour>>>;
    /// [`Store::search_batch`] for one query.
    fn search(&self, query: &[f32], k: usize) -> Result<Vec<Neighbour>> {
        Ok(self.search_batch(query, k)?.pop().unwrap_or_default())
    }
    /// Brute force over every live signature: the answer of record that approximate search
    /// is measured against.
    fn search_exact(&self, query: &[f32], k: usize) -> Result<Vec<Neighbour>>;

    // --- housekeeping

    /// Counts and sizes, cheap enough for a status line (never loads a search graph).
    fn stats(&self) -> Result<Stats>;
    /// Grows with every write that changes what a search can find (add, replace, remove,
    /// reset) or an item's reconstruction error; anything derived from them (a calibration)
    /// is stale once it moved.
    fn revision(&self) -> u64;
    /// Makes everything durable, including derived state (a search graph) when it changed.
    fn flush(&self) -> Result<()>;
    /// Readies search now (a [`crate::SledStore`] loads its graph) rather than at the first
    /// search: for a long-lived process that wants its first answer as fast as the others.
    /// Nothing to do for a store that is always ready.
    fn warm(&self) -> Result<()> {
        Ok(())
    }
}
