//! [`MemoryStore`]: a [`Store`] held in memory, with exact search, so that the layers above
//! (ingest, query, tune) can be tested without sled, files or a graph.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use rayon::prelude::*;

use crate::check;
use crate::search::exact::{ExactCache, Flat};
use crate::types::*;
use crate::{Result, Store, StoreError};

/// An index in memory: everything [`Store`] promises except persistence (`flush` does
/// nothing, and it is gone when dropped). Every search is exact. Its [`Store::location`] is
/// `memory:`, which its errors name.
pub struct MemoryStore {
    location: PathBuf,
    state: RwLock<Memory>,
    /// The flat copy searches scan. Rule: invalidated after every write to the signatures,
    /// once `state` is released (the copy is built under this cache's lock, reading `state`).
    exact: ExactCache,
}

struct Memory {
    manifest: Manifest,
    model: Option<(String, Vec<u8>)>,
    items: BTreeMap<ItemId, Entry>,
    next_item: ItemId,
    revision: u64,
}

struct Entry {
    item: Item,
    offsets: Vec<u32>,
    vectors: Vec<f32>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("items", &self.read().items.len())
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty index described by `manifest` (its format version is this crate's).
    pub fn new(manifest: Manifest) -> MemoryStore {
        MemoryStore {
            location: PathBuf::from("memory:"),
            state: RwLock::new(Memory {
                manifest: Manifest {
                    format_version: FORMAT_VERSION,
                    ..manifest
                },
                model: None,
                items: BTreeMap::new(),
                next_item: 0,
                revision: 0,
            }),
            exact: ExactCache::default(),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Memory> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Memory> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a write to the signatures, then drops the stale flat copy.
    fn write_signatures<T>(&self, f: impl FnOnce(&mut Memory) -> Result<T>) -> Result<T> {
        let out = f(&mut self.write());
        self.exact.invalidate();
        out
    }

    fn flat(&self) -> Result<std::sync::Arc<Flat>> {
        self.exact.flat(|| {
            let state = self.read();
            let mut flat = Flat::default();
            for e in state.items.values() {
                flat.owners
                    .extend(e.offsets.iter().map(|&o| (e.item.id, o)));
                flat.vectors.extend_from_slice(&e.vectors);
            }
            Ok(flat)
        })
    }

    fn not_found(&self, id: ItemId) -> StoreError {
        check::not_found(&self.location, id)
    }
}

impl Store for MemoryStore {
    fn location(&self) -> &Path {
        &self.location
    }

    fn manifest(&self) -> Manifest {
        self.read().manifest.clone()
    }

    fn set_manifest(&self, manifest: &Manifest) -> Result<()> {
        self.write().manifest = Manifest {
            format_version: FORMAT_VERSION,
            ..manifest.clone()
        };
        Ok(())
    }

    fn model(&self) -> Result<Option<(String, Vec<u8>)>> {
        Ok(self.read().model.clone())
    }

    fn set_model(&self, config_json: &str, weights: &[u8]) -> Result<()> {
        self.write().model = Some((config_json.to_string(), weights.to_vec()));
        Ok(())
    }

    fn add_item(&self, item: NewItem, offsets: &[u32], vectors: &[f32]) -> Result<AddOutcome> {
        self.write_signatures(|m| {
            let n = check::signatures(&self.location, m.manifest.latent_dim, offsets, vectors)?;
            if let Some(e) = m
                .items
                .values()
                .find(|e| e.item.content_hash == item.content_hash)
            {
                return Ok(AddOutcome::Duplicate(e.item.id));
            }
            let id = m.next_item;
            let entry = Entry {
                item: item.into_item(id, n),
                offsets: offsets.to_vec(),
                vectors: as_stored(vectors),
            };
            m.items.insert(id, entry);
            m.next_item += 1;
            m.revision += 1;
            Ok(AddOutcome::Added(id))
        })
    }

    fn replace_signatures(&self, id: ItemId, offsets: &[u32], vectors: &[f32]) -> Result<()> {
        self.write_signatures(|m| {
            let n = check::signatures(&self.location, m.manifest.latent_dim, offsets, vectors)?;
            let e = m.items.get_mut(&id).ok_or_else(|| self.not_found(id))?;
            e.item.signatures = n;
            e.offsets = offsets.to_vec();
            e.vectors = as_stored(vectors);
            m.revision += 1;
            Ok(())
        })
    }

    fn set_reconstruction(&self, id: ItemId, reconstruction: Option<Reconstruction>) -> Result<()> {
        let mut m = self.write();
        let e = m.items.get_mut(&id).ok_or_else(|| self.not_found(id))?;
        e.item.reconstruction = reconstruction;
        m.revision += 1;
        Ok(())
    }

    fn reset_signatures(&self, latent_dim: usize) -> Result<()> {
        self.write_signatures(|m| {
            for e in m.items.values_mut() {
                e.item.signatures = 0;
                e.item.reconstruction = None;
                e.offsets.clear();
                e.vectors.clear();
            }
            m.manifest.latent_dim = latent_dim;
            m.revision += 1;
            Ok(())
        })
    }

    fn remove(&self, id: ItemId) -> Result<Item> {
        self.write_signatures(|m| {
            let e = m.items.remove(&id).ok_or_else(|| self.not_found(id))?;
            m.revision += 1;
            Ok(e.item)
        })
    }

    fn item(&self, id: ItemId) -> Result<Option<Item>> {
        Ok(self.read().items.get(&id).map(|e| e.item.clone()))
    }

    fn items(&self) -> Result<Vec<Item>> {
        Ok(self.read().items.values().map(|e| e.item.clone()).collect())
    }

    fn find_hash(&self, content_hash: &str) -> Result<Option<ItemId>> {
        let state = self.read();
        let mut items = state.items.values();
        Ok(items
            .find(|e| e.item.content_hash == content_hash)
            .map(|e| e.item.id))
    }

    fn find_path(&self, path: &Path) -> Result<Option<ItemId>> {
        let state = self.read();
        let mut items = state.items.values();
        Ok(items.find(|e| e.item.path == path).map(|e| e.item.id))
    }

    fn signatures(&self, id: ItemId) -> Result<(Vec<u32>, Vec<f32>)> {
        let state = self.read();
        let e = state.items.get(&id).ok_or_else(|| self.not_found(id))?;
        Ok((e.offsets.clone(), e.vectors.clone()))
    }

    fn search_batch(&self, queries: &[f32], k: usize) -> Result<Vec<Vec<Neighbour>>> {
        let dim = self.read().manifest.latent_dim;
        check::queries(&self.location, dim, queries)?;
        let flat = self.flat()?;
        Ok(queries
            .par_chunks_exact(dim)
            .map(|q| flat.top_k(q, k))
            .collect())
    }

    fn search(&self, query: &[f32], k: usize) -> Result<Vec<Neighbour>> {
        self.search_exact(query, k)
    }

    fn search_exact(&self, query: &[f32], k: usize) -> Result<Vec<Neighbour>> {
        let dim = self.read().manifest.latent_dim;
        if query.len() != dim {
            return Err(StoreError::DimensionMismatch {
                path: self.location.clone(),
                expected: dim,
                got: query.len(),
            });
        }
        Ok(self.flat()?.top_k(query, k))
    }

    fn stats(&self) -> Result<Stats> {
        let state = self.read();
        Ok(Stats {
            items: state.items.len(),
            signatures: state.items.values().map(|e| e.offsets.len()).sum(),
            tombstoned: 0,
            latent_dim: state.manifest.latent_dim,
            bytes_on_disk: 0,
            backend: "memory".into(),
        })
    }

    fn revision(&self) -> u64 {
        self.read().revision
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

/// Values as a [`crate::SledStore`] keeps them (half floats), so both stores answer alike.
fn as_stored(vectors: &[f32]) -> Vec<f32> {
    vectors
        .iter()
        .map(|&x| crate::catalog::as_stored(x))
        .collect()
}
