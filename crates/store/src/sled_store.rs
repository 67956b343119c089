//! [`SledStore`]: the catalog (sled) and the search over its signatures (an HNSW graph kept as
//! a cache, exact search over a flat copy), behind the [`Store`] trait.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, RwLock};

use rayon::prelude::*;

use crate::catalog::{dir_size, Batch, Catalog, Counters, ItemRecord};
use crate::check;
use crate::search::cache::GraphCache;
use crate::search::exact::{ExactCache, Flat};
use crate::search::SearchParams;
use crate::types::*;
use crate::{Result, Store, StoreError};

/// An index on disk: sled is the source of truth, the HNSW graph a cache of it (see the crate
/// documentation). `Send + Sync`: searches run from many threads at once, writes one at a time.
pub struct SledStore {
    dir: PathBuf,
    catalog: Catalog,
    /// The writers' lock, and the counters writers take ids from. Held through every catalog
    /// write (ids, batch, flush, then the caches told) and through every graph catch-up, which
    /// must read a catalog nobody is writing to; updated once a write is durable.
    writer: Mutex<Counters>,
    /// The manifest, read by every search; replaced with `writer` held, once durable.
    manifest: RwLock<Manifest>,
    graph: GraphCache,
    exact: ExactCache,
    params: SearchParams,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("dir", &self.dir)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl SledStore {
    /// Whether an index lives at `dir` (opening it may still fail).
    pub fn exists(dir: &Path) -> bool {
        Catalog::exists(dir)
    }

    /// Creates a new, empty index at `dir` (its format version is this crate's).
    pub fn create(dir: &Path, manifest: Manifest) -> Result<SledStore> {
        if Self::exists(dir) {
            return Err(StoreError::Exists {
                path: dir.to_path_buf(),
            });
        }
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            ..manifest
        };
        let store = SledStore {
            dir: dir.to_path_buf(),
            catalog: Catalog::create(dir, &manifest)?,
            writer: Mutex::new(Counters::default()),
            graph: GraphCache::empty(dir, manifest.latent_dim, 0),
            manifest: RwLock::new(manifest),
            exact: ExactCache::default(),
            params: SearchParams::default(),
        };
        store.flush()?;
        Ok(store)
    }

    /// Opens the index at `dir` with the default search parameters; never creates one.
    pub fn open(dir: &Path) -> Result<SledStore> {
        Self::open_with(dir, SearchParams::default())
    }

    /// Opens the index at `dir`, searching it as `params` say (e.g. [`SearchParams::one_shot`]
    /// for a process that answers a few queries and exits); never creates one. An index of an
    /// older format is upgraded in place first.
    pub fn open_with(dir: &Path, params: SearchParams) -> Result<SledStore> {
        if !Self::exists(dir) {
            return Err(StoreError::NoIndex {
                path: dir.to_path_buf(),
            });
        }
        let catalog = Catalog::open(dir)?;
        Ok(SledStore {
            dir: dir.to_path_buf(),
            writer: Mutex::new(catalog.counters()?),
            manifest: RwLock::new(catalog.manifest()?),
            catalog,
            graph: GraphCache::not_loaded(dir),
            exact: ExactCache::default(),
            params,
        })
    }

    /// The same store, searched as `params` say from now on: for a benchmark comparing
    /// settings on one loaded graph. A command chooses them when it opens the index
    /// ([`SledStore::open_with`]).
    pub fn with_search_params(self, params: SearchParams) -> SledStore {
        SledStore { params, ..self }
    }

    /// Loads the search graph now rather than at the first search that needs it (rebuilding it
    /// if its dump is missing or stale, inserting what the catalog gained since): for a process
    /// that wants its first query fast, or a benchmark timing the load.
    pub fn load_graph(&self) -> Result<()> {
        let counters = self.writer();
        self.graph.update(&self.catalog, self.dim(), &counters)
    }

    fn writer(&self) -> MutexGuard<'_, Counters> {
        // A writer that panicked left the counters as they were before its batch, or after it
        // was durable: both consistent with the catalog.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn dim(&self) -> usize {
        self.manifest
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .latent_dim
    }

    /// Commits `batch` with `next` counters, durably; the writer's counters follow.
    fn commit(&self, writer: &mut Counters, mut batch: Batch<'_>, next: Counters) -> Result<()> {
        batch.counters(&next)?;
        self.catalog.commit(batch)?;
        *writer = next;
        Ok(())
    }

    fn record(&self, id: ItemId) -> Result<ItemRecord> {
        self.catalog
            .record(id)?
            .ok_or_else(|| check::not_found(&self.dir, id))
    }

    fn build_flat(&self, dim: usize) -> Result<Flat> {
        let mut flat = Flat::default();
        self.catalog.each_signature(0..u64::MAX, dim, |row| {
            flat.owners.push((row.item, row.offset));
            flat.vectors.extend_from_slice(row.vector);
        })?;
        Ok(flat)
    }

    /// Approximate search: distances and ties come out as exact search computes and orders
    /// them (the same half floats, widened the same way, summed in the same order), so where
    /// the index finds the true neighbours a warm process answers exactly what a one-shot
    /// exact scan does, to the last bit.
    fn search_graph(&self, query: &[f32], k: usize) -> Result<Vec<Neighbour>> {
        loop {
            if let Some(hits) = self.graph.search(query, k, self.params.ef) {
                return Ok(hits);
            }
            self.load_graph()?;
        }
    }

    fn check_query(&self, query: &[f32]) -> Result<()> {
        let dim = self.dim();
        if query.len() != dim {
            return Err(StoreError::DimensionMismatch {
                path: self.dir.clone(),
                expected: dim,
                got: query.len(),
            });
        }
        Ok(())
    }
}

/// What a [`crate::MilvusStore`] needs of the catalog it wraps.
impl SledStore {
    /// The writers' lock and the counters it guards.
    pub(crate) fn writer_lock(&self) -> MutexGuard<'_, Counters> {
        self.writer()
    }

    pub(crate) fn counters(&self) -> Counters {
        *self.writer()
    }

    /// Item `id`'s signature ids.
    pub(crate) fn sig_range(&self, id: ItemId) -> Result<std::ops::Range<u64>> {
        Ok(self.record(id)?.sig_ids())
    }

    /// Makes the catalog durable, leaving the graph alone.
    pub(crate) fn flush_catalog(&self) -> Result<()> {
        self.catalog.flush()
    }

    pub(crate) fn count_live_signatures(&self) -> Result<usize> {
        self.catalog.count_signatures()
    }

    /// Calls `f(id, item, offset, vector)` on every live signature with an id in `ids`.
    pub(crate) fn each_live_signature(
        &self,
        ids: std::ops::Range<u64>,
        dim: usize,
        mut f: impl FnMut(u64, ItemId, u32, &[f32]),
    ) -> Result<()> {
        self.catalog
            .each_signature(ids, dim, |row| f(row.id, row.item, row.offset, row.vector))
    }

    /// Signature `sig`'s item and offset, its vector into `vector`; `None` once removed.
    pub(crate) fn signature_row(
        &self,
        sig: u64,
        dim: usize,
        vector: &mut Vec<f32>,
    ) -> Result<Option<(ItemId, u32)>> {
        self.catalog.signature(sig, dim, vector)
    }
}

impl Store for SledStore {
    fn location(&self) -> &Path {
        &self.dir
    }

    fn manifest(&self) -> Manifest {
        self.manifest
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_manifest(&self, manifest: &Manifest) -> Result<()> {
        let _writer = self.writer();
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            ..manifest.clone()
        };
        let mut batch = self.catalog.batch();
        batch.manifest(&manifest)?;
        self.catalog.commit(batch)?;
        *self.manifest.write().unwrap_or_else(|e| e.into_inner()) = manifest;
        Ok(())
    }

    fn model(&self) -> Result<Option<(String, Vec<u8>)>> {
        self.catalog.model()
    }

    fn set_model(&self, config_json: &str, weights: &[u8]) -> Result<()> {
        let _writer = self.writer();
        let mut batch = self.catalog.batch();
        batch.model(config_json, weights);
        self.catalog.commit(batch)
    }

    fn add_item(&self, item: NewItem, offsets: &[u32], vectors: &[f32]) -> Result<AddOutcome> {
        let mut writer = self.writer();
        let dim = self.dim();
        let n = check::signatures(&self.dir, dim, offsets, vectors)?;
        if let Some(id) = self.catalog.find_hash(&item.content_hash)? {
            return Ok(AddOutcome::Duplicate(id));
        }
        let id = writer.next_item;
        let record = ItemRecord {
            item: item.into_item(id, n),
            first_sig: writer.next_sig,
        };
        let mut batch = self.catalog.batch();
        batch.record(&record)?;
        batch.index_item(&record);
        batch.signatures(record.first_sig, id, offsets, vectors);
        let next = Counters {
            next_item: id + 1,
            next_sig: record.first_sig + n as u64,
            revision: writer.revision + 1,
            ..*writer
        };
        self.commit(&mut writer, batch, next)?;
        self.graph.added();
        self.exact.invalidate();
        Ok(AddOutcome::Added(id))
    }

    fn replace_signatures(&self, id: ItemId, offsets: &[u32], vectors: &[f32]) -> Result<()> {
        let mut writer = self.writer();
        let dim = self.dim();
        let n = check::signatures(&self.dir, dim, offsets, vectors)?;
        let mut record = self.record(id)?;
        let old = record.sig_ids();
        let mut batch = self.catalog.batch();
        batch.tombstone(old.clone());
        record.first_sig = writer.next_sig;
        record.item.signatures = n;
        batch.signatures(record.first_sig, id, offsets, vectors);
        batch.record(&record)?;
        let next = Counters {
            next_sig: record.first_sig + n as u64,
            revision: writer.revision + 1,
            ..*writer
        };
        self.commit(&mut writer, batch, next)?;
        self.graph.removed(old);
        self.graph.added();
        self.exact.invalidate();
        Ok(())
    }

    fn set_reconstruction(&self, id: ItemId, reconstruction: Option<Reconstruction>) -> Result<()> {
        let mut writer = self.writer();
        let mut record = self.record(id)?;
        record.item.reconstruction = reconstruction;
        let mut batch = self.catalog.batch();
        batch.record(&record)?;
        let next = Counters {
            revision: writer.revision + 1,
            ..*writer
        };
        self.commit(&mut writer, batch, next)
    }

    fn reset_signatures(&self, latent_dim: usize) -> Result<()> {
        let mut writer = self.writer();
        let mut batch = self.catalog.drop_all_signatures()?;
        for record in self.catalog.records() {
            let mut record = record?;
            record.item.signatures = 0;
            record.item.reconstruction = None;
            record.first_sig = writer.next_sig;
            batch.record(&record)?;
        }
        let manifest = Manifest {
            latent_dim,
            ..self.manifest()
        };
        batch.manifest(&manifest)?;
        let next = Counters {
            generation: writer.generation + 1,
            revision: writer.revision + 1,
            ..*writer
        };
        self.commit(&mut writer, batch, next)?;
        *self.manifest.write().unwrap_or_else(|e| e.into_inner()) = manifest;
        self.graph.reset(latent_dim, next.generation, next.next_sig);
        self.exact.invalidate();
        Ok(())
    }

    fn remove(&self, id: ItemId) -> Result<Item> {
        let mut writer = self.writer();
        let record = self.record(id)?;
        let mut batch = self.catalog.batch();
        batch.remove_item(&record);
        batch.tombstone(record.sig_ids());
        let next = Counters {
            revision: writer.revision + 1,
            ..*writer
        };
        self.commit(&mut writer, batch, next)?;
        self.graph.removed(record.sig_ids());
        self.exact.invalidate();
        Ok(record.item)
    }

    fn item(&self, id: ItemId) -> Result<Option<Item>> {
        Ok(self.catalog.record(id)?.map(|r| r.item))
    }

    fn items(&self) -> Result<Vec<Item>> {
        self.catalog.records().map(|r| r.map(|r| r.item)).collect()
    }

    fn find_hash(&self, content_hash: &str) -> Result<Option<ItemId>> {
        self.catalog.find_hash(content_hash)
    }

    fn find_path(&self, path: &Path) -> Result<Option<ItemId>> {
        self.catalog.find_path(path)
    }

    fn signatures(&self, id: ItemId) -> Result<(Vec<u32>, Vec<f32>)> {
        let record = self.record(id)?;
        let dim = self.dim();
        let mut offsets = Vec::with_capacity(record.item.signatures);
        let mut vectors = Vec::with_capacity(record.item.signatures * dim);
        self.catalog.each_signature(record.sig_ids(), dim, |row| {
            offsets.push(row.offset);
            vectors.extend_from_slice(row.vector);
        })?;
        Ok((offsets, vectors))
    }

    fn search_batch(&self, queries: &[f32], k: usize) -> Result<Vec<Vec<Neighbour>>> {
        let dim = self.dim();
        let n = check::queries(&self.dir, dim, queries)?;
        let flat = if self.params.ef == 0 {
            Some(self.exact.flat(|| self.build_flat(dim))?)
        } else if self.params.exact_budget > 0 && !self.graph.is_loaded() {
            self.exact
                .within_budget(n, self.params.exact_budget, || self.build_flat(dim))?
        } else {
            None
        };
        if let Some(flat) = flat {
            return Ok(queries
                .par_chunks_exact(dim)
                .map(|q| flat.top_k(q, k))
                .collect());
        }
        queries
            .par_chunks_exact(dim)
            .map(|q| self.search_graph(q, k))
            .collect()
    }

    fn search(&self, query: &[f32], k: usize) -> Result<Vec<Neighbour>> {
        self.check_query(query)?;
        Ok(self.search_batch(query, k)?.pop().unwrap_or_default())
    }

    fn search_exact(&self, query: &[f32], k: usize) -> Result<Vec<Neighbour>> {
        self.check_query(query)?;
        let flat = self.exact.flat(|| self.build_flat(query.len()))?;
        Ok(flat.top_k(query, k))
    }

    fn stats(&self) -> Result<Stats> {
        Ok(Stats {
            items: self.catalog.count_items(),
            signatures: self.catalog.count_signatures()?,
            tombstoned: self.catalog.count_tombstones(),
            latent_dim: self.dim(),
            backend: "local".into(),
            bytes_on_disk: dir_size(&self.dir).map_err(|source| StoreError::Io {
                path: self.dir.clone(),
                source,
            })?,
        })
    }

    fn revision(&self) -> u64 {
        self.writer().revision
    }

    fn flush(&self) -> Result<()> {
        let counters = self.writer();
        self.catalog.flush()?;
        self.graph.flush(&self.catalog, self.dim(), &counters)
    }

    fn warm(&self) -> Result<()> {
        if self.params.ef == 0 {
            return self.exact.flat(|| self.build_flat(self.dim())).map(drop);
        }
        self.load_graph()
    }
}
