use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rayon::prelude::*;

use crate::catalog::*;
use crate::graph::Graph;
use crate::types::*;
use crate::{Result, Store, StoreError};

/// The graph is rebuilt from the catalog when more than this share of it is tombstoned.
const MAX_TOMBSTONE_SHARE: f64 = 0.2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchParams {
    /// Search beam width; wider finds more true neighbours, slower.
    pub ef: usize,
    /// Exact (brute-force) search is used while the graph is not loaded and the work stays
    /// under this many distance computations per stored signature. Loading the graph costs
    /// about as much as 4000 of them per signature, so a one-shot query of a few seconds of
    /// audio answers sooner, and exactly, without it; a long batch switches to the graph.
    /// 0 (the default) always uses the graph.
    pub exact_budget: u64,
}

impl Default for SearchParams {
    fn default() -> Self {
        Self {
            ef: 64,
            exact_budget: 0,
        }
    }
}

impl SearchParams {
    /// Exact search while it is cheaper than loading the graph (for one-shot processes).
    pub fn one_shot() -> Self {
        Self {
            exact_budget: 4000,
            ..Self::default()
        }
    }
}

/// Every live signature in one array, for exact search: owners and vectors (row-major).
struct Flat {
    owners: Vec<(ItemId, u32)>,
    vectors: Vec<f32>,
}

/// An opened index. `Send + Sync`: reads may run from many threads at once.
pub struct SledStore {
    dir: PathBuf,
    db: sled::Db,
    manifest: RwLock<Manifest>,
    /// The HNSW graph, loaded from its dump on first need (`graph_loaded`), not on open: a
    /// one-shot query may never need it.
    graph: RwLock<Graph>,
    graph_loaded: AtomicBool,
    /// Signatures were written since the graph last caught up with the catalog. Writes do not
    /// touch the graph: the next search or flush inserts everything new in one batch, on all
    /// cores, so an ingest builds its graph once at the end instead of a track at a time.
    graph_behind: AtomicBool,
    /// Signatures written since open: `flush` must then load the graph and dump it.
    wrote: AtomicBool,
    flat: RwLock<Option<Arc<Flat>>>,
    exact_spent: AtomicU64,
    tombstones: RwLock<HashSet<u64>>,
    /// Serialises writers: id allocation, batches and graph inserts happen in one order.
    write: Mutex<Counters>,
    search: SearchParams,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn catalog_dir(dir: &Path) -> PathBuf {
    dir.join("catalog")
}

fn graph_dir(dir: &Path) -> PathBuf {
    dir.join("graph")
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn poisoned<T>(r: std::sync::LockResult<T>) -> T {
    // A panic while holding a lock leaves the data as consistent as sled left it.
    r.unwrap_or_else(|e| e.into_inner())
}

impl SledStore {
    /// Whether an index lives at `dir` (opening it may still fail).
    pub fn exists(dir: &Path) -> bool {
        catalog_dir(dir).join("conf").exists() || catalog_dir(dir).join("db").exists()
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Opens the catalog. A lock held by someone else is reported at once: latentid opens an
    /// index once per command, so a held lock means another process is using it.
    fn open_db(dir: &Path) -> Result<sled::Db> {
        sled::Config::new()
            .path(catalog_dir(dir))
            .open()
            .map_err(|e| match e {
                // sled reports a held lock as an `Other` I/O error "could not acquire lock on …".
                sled::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::WouldBlock
                        || io.to_string().contains("lock") =>
                {
                    StoreError::InUse {
                        path: dir.to_path_buf(),
                    }
                }
                source => StoreError::Db {
                    path: dir.to_path_buf(),
                    source,
                },
            })
    }

    fn db_err(&self) -> impl Fn(sled::Error) -> StoreError + '_ {
        |source| StoreError::Db {
            path: self.dir.clone(),
            source,
        }
    }

    fn corrupt(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: self.dir.clone(),
            reason: reason.into(),
        }
    }

    /// Creates a new, empty index at `dir`.
    pub fn create(dir: &Path, manifest: Manifest) -> Result<SledStore> {
        if Self::exists(dir) {
            return Err(StoreError::Exists {
                path: dir.to_path_buf(),
            });
        }
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let db = Self::open_db(dir)?;
        let err = |source| StoreError::Db {
            path: dir.to_path_buf(),
            source,
        };
        let mut batch = sled::Batch::default();
        batch.insert(MANIFEST, serde_json::to_vec(&manifest).unwrap_or_default());
        batch.insert(COUNTERS, encode(&Counters::default()));
        db.apply_batch(batch).map_err(err)?;
        db.flush().map_err(err)?;
        let graph = Graph::new(manifest.latent_dim, 1024, 0);
        let store = SledStore {
            dir: dir.to_path_buf(),
            db,
            manifest: RwLock::new(manifest),
            graph: RwLock::new(graph),
            graph_loaded: AtomicBool::new(true),
            graph_behind: AtomicBool::new(false),
            wrote: AtomicBool::new(false),
            flat: RwLock::new(None),
            exact_spent: AtomicU64::new(0),
            tombstones: RwLock::new(HashSet::new()),
            write: Mutex::new(Counters::default()),
            search: SearchParams::default(),
        };
        store.flush()?;
        Ok(store)
    }

    /// Opens the index at `dir` with the default search parameters; never creates one.
    pub fn open(dir: &Path) -> Result<SledStore> {
        Self::open_with(dir, SearchParams::default())
    }

    /// Opens the index at `dir`, searching it as `params` say (e.g. [`SearchParams::one_shot`]
    /// for a process that answers a few queries and exits); never creates one.
    pub fn open_with(dir: &Path, params: SearchParams) -> Result<SledStore> {
        if !Self::exists(dir) {
            return Err(StoreError::NoIndex {
                path: dir.to_path_buf(),
            });
        }
        let db = Self::open_db(dir)?;
        let corrupt = |reason: &str| StoreError::Corrupt {
            path: dir.to_path_buf(),
            reason: reason.into(),
        };
        let err = |source| StoreError::Db {
            path: dir.to_path_buf(),
            source,
        };
        let manifest_bytes = db
            .get(MANIFEST)
            .map_err(err)?
            .ok_or_else(|| corrupt("no manifest"))?;
        // Read the version alone first: a future manifest may not parse as this one.
        let version: Option<u32> = serde_json::from_slice::<serde_json::Value>(&manifest_bytes)
            .ok()
            .and_then(|v| v.get("format_version")?.as_u64())
            .map(|v| v as u32);
        match version {
            Some(FORMAT_VERSION) => {}
            Some(found) => {
                return Err(StoreError::FormatVersion {
                    path: dir.to_path_buf(),
                    found,
                    expected: FORMAT_VERSION,
                })
            }
            None => return Err(corrupt("unreadable manifest")),
        }
        let manifest: Manifest =
            serde_json::from_slice(&manifest_bytes).map_err(|e| corrupt(&e.to_string()))?;
        let counters: Counters = db
            .get(COUNTERS)
            .map_err(err)?
            .and_then(|b| decode(&b))
            .ok_or_else(|| corrupt("unreadable counters"))?;
        let mut tombstones = HashSet::new();
        for kv in db.scan_prefix(TOMB) {
            let (k, _) = kv.map_err(err)?;
            if let Some(id) = id_from_key(TOMB, &k) {
                tombstones.insert(id);
            }
        }
        let store = SledStore {
            dir: dir.to_path_buf(),
            graph: RwLock::new(Graph::new(manifest.latent_dim, 1024, counters.generation)),
            graph_loaded: AtomicBool::new(false),
            graph_behind: AtomicBool::new(false),
            wrote: AtomicBool::new(false),
            flat: RwLock::new(None),
            exact_spent: AtomicU64::new(0),
            db,
            manifest: RwLock::new(manifest),
            tombstones: RwLock::new(tombstones),
            write: Mutex::new(counters),
            search: params,
        };
        Ok(store)
    }

    /// The same store, searched as `params` say from now on: for a benchmark comparing
    /// settings on one loaded graph. A command chooses them when it opens the index
    /// ([`SledStore::open_with`]).
    pub fn with_search_params(self, params: SearchParams) -> SledStore {
        SledStore {
            search: params,
            ..self
        }
    }

    /// Loads the search graph now rather than at the first search that needs it (rebuilding it
    /// if its dump is missing or stale, inserting what the catalog gained since): for a process
    /// that wants its first query fast, or a benchmark timing the load.
    pub fn load_graph(&self) -> Result<()> {
        self.ensure_graph()
    }

    /// Loads the graph if it is not loaded yet and inserts what the catalog gained since it
    /// last caught up. Holds the writers' lock meanwhile, so nothing lands between the
    /// catch-up scan and clearing `graph_behind`.
    fn ensure_graph(&self) -> Result<()> {
        if self.graph_loaded.load(Ordering::Acquire) && !self.graph_behind.load(Ordering::Acquire) {
            return Ok(());
        }
        let counters = self.counters();
        if !self.graph_loaded.load(Ordering::Acquire) {
            self.prepare_graph(*counters)?;
            self.graph_loaded.store(true, Ordering::Release);
        } else if self.graph_behind.load(Ordering::Acquire) {
            let mut g = poisoned(self.graph.write());
            self.catch_up(&mut g)?;
        }
        self.graph_behind.store(false, Ordering::Release);
        Ok(())
    }

    /// Inserts every catalog signature from the graph's high-water mark on, in batches.
    fn catch_up(&self, g: &mut Graph) -> Result<()> {
        const BATCH: usize = 65_536;
        let from = g.high_water;
        let mut vectors = Vec::with_capacity(BATCH * g.dim);
        let mut ids = Vec::with_capacity(BATCH);
        for kv in self.db.range(id_key(SIG, from)..id_key(SIG, u64::MAX)) {
            let (k, v) = kv.map_err(self.db_err())?;
            let id = id_from_key(SIG, &k).ok_or_else(|| self.corrupt("bad signature key"))?;
            let vector = sig_vector(&v);
            if vector.len() != g.dim {
                return Err(self.corrupt(format!("signature {id} has {} values", vector.len())));
            }
            vectors.extend_from_slice(&vector);
            ids.push(id);
            if ids.len() == BATCH {
                g.insert_batch(&vectors, &ids);
                vectors.clear();
                ids.clear();
            }
        }
        g.insert_batch(&vectors, &ids);
        if g.high_water > from {
            tracing::info!("graph caught up from signature {from} to {}", g.high_water);
        }
        Ok(())
    }

    /// Loads the dumped graph and inserts whatever the catalog gained since; rebuilds when
    /// the dump is missing, stale or unreadable. Called with the writers' lock held.
    fn prepare_graph(&self, counters: Counters) -> Result<()> {
        let dim = self.manifest().latent_dim;
        match Graph::load(&graph_dir(&self.dir), counters.generation, dim) {
            Some(mut g) => {
                self.catch_up(&mut g)?;
                *poisoned(self.graph.write()) = g;
            }
            None => {
                tracing::info!(
                    "rebuilding the graph of {} from the catalog",
                    self.dir.display()
                );
                self.rebuild_graph(counters)?;
            }
        }
        Ok(())
    }

    /// A fresh graph from every live signature; tombstones are no longer needed after it.
    /// Called with the writers' lock held.
    fn rebuild_graph(&self, counters: Counters) -> Result<()> {
        let dim = self.manifest().latent_dim;
        let mut g = Graph::new(dim, self.db.scan_prefix(SIG).count(), counters.generation);
        self.catch_up(&mut g)?;
        g.high_water = g.high_water.max(counters.next_sig);
        let mut tomb = poisoned(self.tombstones.write());
        let mut batch = sled::Batch::default();
        for id in tomb.iter() {
            batch.remove(id_key(TOMB, *id));
        }
        self.db.apply_batch(batch).map_err(self.db_err())?;
        tomb.clear();
        *poisoned(self.graph.write()) = g;
        self.graph_loaded.store(true, Ordering::Release);
        self.graph_behind.store(false, Ordering::Release);
        Ok(())
    }

    fn counters(&self) -> MutexGuard<'_, Counters> {
        poisoned(self.write.lock())
    }

    fn graph_read(&self) -> Result<RwLockReadGuard<'_, Graph>> {
        self.ensure_graph()?;
        Ok(poisoned(self.graph.read()))
    }

    fn graph_write(&self) -> Result<RwLockWriteGuard<'_, Graph>> {
        self.ensure_graph()?;
        Ok(poisoned(self.graph.write()))
    }

    /// Signatures changed: the exact-search copy is stale, and `flush` must dump the graph.
    fn changed(&self) {
        self.wrote.store(true, Ordering::Release);
        *poisoned(self.flat.write()) = None;
    }

    /// Freshly written signatures: the graph (if loaded) inserts them at the next search or
    /// flush. Called with the writers' lock held.
    fn mark_graph_behind(&self) {
        self.graph_behind.store(true, Ordering::Release);
    }

    pub fn manifest(&self) -> Manifest {
        poisoned(self.manifest.read()).clone()
    }

    pub fn set_manifest(&self, m: &Manifest) -> Result<()> {
        let _w = self.counters();
        self.db
            .insert(MANIFEST, serde_json::to_vec(m).unwrap_or_default())
            .map_err(self.db_err())?;
        self.db.flush().map_err(self.db_err())?;
        *poisoned(self.manifest.write()) = m.clone();
        Ok(())
    }

    pub fn set_model(&self, config_json: &str, weights: &[u8]) -> Result<()> {
        let _w = self.counters();
        let mut batch = sled::Batch::default();
        batch.insert(MODEL_CONFIG, config_json.as_bytes());
        batch.insert(MODEL_WEIGHTS, weights);
        self.db.apply_batch(batch).map_err(self.db_err())?;
        self.db.flush().map_err(self.db_err())?;
        Ok(())
    }

    /// The stored model: its config (JSON) and weights, if one was trained.
    pub fn model(&self) -> Result<Option<(String, Vec<u8>)>> {
        let cfg = self.db.get(MODEL_CONFIG).map_err(self.db_err())?;
        let w = self.db.get(MODEL_WEIGHTS).map_err(self.db_err())?;
        match (cfg, w) {
            (Some(c), Some(w)) => Ok(Some((String::from_utf8_lossy(&c).into_owned(), w.to_vec()))),
            _ => Ok(None),
        }
    }

    fn check_vectors(&self, offsets: &[u32], vectors: &[f32]) -> Result<usize> {
        let dim = self.manifest().latent_dim;
        if dim == 0 || vectors.len() % dim != 0 {
            return Err(StoreError::DimensionMismatch {
                expected: dim,
                got: if offsets.len() <= 1 {
                    vectors.len()
                } else {
                    vectors.len() / offsets.len().max(1)
                },
            });
        }
        let n = vectors.len() / dim;
        if n != offsets.len() {
            return Err(StoreError::OffsetCount {
                offsets: offsets.len(),
                vectors: n,
            });
        }
        Ok(dim)
    }

    /// Stores an item and its signatures atomically (all or nothing), flushed before it
    /// returns. The same content hash twice stores nothing and says which item has it.
    pub fn add_item(&self, item: NewItem, offsets: &[u32], vectors: &[f32]) -> Result<AddOutcome> {
        let dim = self.check_vectors(offsets, vectors)?;
        let mut counters = self.counters();
        if let Some(id) = self.find_hash(&item.content_hash)? {
            return Ok(AddOutcome::Duplicate(id));
        }
        let id = counters.next_item;
        let first_sig = counters.next_sig;
        let record = ItemRecord {
            item: Item {
                id,
                path: item.path,
                name: item.name,
                content_hash: item.content_hash,
                kind: item.kind,
                duration_s: item.duration_s,
                width: item.width,
                height: item.height,
                added_unix: now_unix(),
                signatures: offsets.len(),
            },
            first_sig,
        };
        let next = Counters {
            next_item: id + 1,
            next_sig: first_sig + offsets.len() as u64,
            generation: counters.generation,
        };
        let mut batch = sled::Batch::default();
        batch.insert(id_key(ITEM, id), encode(&record));
        batch.insert(
            key(HASH, record.item.content_hash.as_bytes()),
            &id.to_be_bytes(),
        );
        batch.insert(
            key(PATH, record.item.path.as_os_str().as_encoded_bytes()),
            &id.to_be_bytes(),
        );
        for (i, (off, v)) in offsets.iter().zip(vectors.chunks_exact(dim)).enumerate() {
            batch.insert(id_key(SIG, first_sig + i as u64), encode_sig(id, *off, v));
        }
        batch.insert(COUNTERS, encode(&next));
        self.db.apply_batch(batch).map_err(self.db_err())?;
        self.db.flush().map_err(self.db_err())?;
        *counters = next;
        self.mark_graph_behind();
        self.changed();
        Ok(AddOutcome::Added(id))
    }

    fn lookup_id(&self, k: Vec<u8>) -> Result<Option<ItemId>> {
        Ok(self
            .db
            .get(k)
            .map_err(self.db_err())?
            .and_then(|v| id_from_value(&v)))
    }

    pub fn find_hash(&self, content_hash: &str) -> Result<Option<ItemId>> {
        self.lookup_id(key(HASH, content_hash.as_bytes()))
    }

    pub fn find_path(&self, path: &Path) -> Result<Option<ItemId>> {
        self.lookup_id(key(PATH, path.as_os_str().as_encoded_bytes()))
    }

    fn record(&self, id: ItemId) -> Result<Option<ItemRecord>> {
        match self.db.get(id_key(ITEM, id)).map_err(self.db_err())? {
            Some(b) => {
                Ok(Some(decode(&b).ok_or_else(|| {
                    self.corrupt(format!("item {id} unreadable"))
                })?))
            }
            None => Ok(None),
        }
    }

    pub fn item(&self, id: ItemId) -> Result<Option<Item>> {
        Ok(self.record(id)?.map(|r| r.item))
    }

    /// Live items in id order.
    pub fn items(&self) -> Result<Vec<Item>> {
        self.db
            .scan_prefix(ITEM)
            .map(|kv| {
                let (_, v) = kv.map_err(self.db_err())?;
                decode::<ItemRecord>(&v)
                    .map(|r| r.item)
                    .ok_or_else(|| self.corrupt("item unreadable"))
            })
            .collect()
    }

    /// Tombstones `record`'s signatures into `batch` (they may still be in the graph).
    fn drop_signatures(&self, record: &ItemRecord, batch: &mut sled::Batch, dead: &mut Vec<u64>) {
        for s in record.first_sig..record.first_sig + record.item.signatures as u64 {
            batch.remove(id_key(SIG, s));
            batch.insert(id_key(TOMB, s), &[]);
            dead.push(s);
        }
    }

    /// Removes an item; its signatures disappear from results at once.
    pub fn remove(&self, id: ItemId) -> Result<Item> {
        let _w = self.counters();
        let record = self.record(id)?.ok_or(StoreError::NotFound { id })?;
        let mut batch = sled::Batch::default();
        batch.remove(id_key(ITEM, id));
        batch.remove(key(HASH, record.item.content_hash.as_bytes()));
        batch.remove(key(PATH, record.item.path.as_os_str().as_encoded_bytes()));
        let mut dead = Vec::new();
        self.drop_signatures(&record, &mut batch, &mut dead);
        self.db.apply_batch(batch).map_err(self.db_err())?;
        self.db.flush().map_err(self.db_err())?;
        poisoned(self.tombstones.write()).extend(dead);
        self.changed();
        Ok(record.item)
    }

    /// An item's signatures: offsets and the flat vectors.
    pub fn signatures(&self, id: ItemId) -> Result<(Vec<u32>, Vec<f32>)> {
        let record = self.record(id)?.ok_or(StoreError::NotFound { id })?;
        let mut offsets = Vec::with_capacity(record.item.signatures);
        let mut vectors = Vec::new();
        let end = record.first_sig + record.item.signatures as u64;
        for kv in self
            .db
            .range(id_key(SIG, record.first_sig)..id_key(SIG, end))
        {
            let (_, v) = kv.map_err(self.db_err())?;
            let (_, off) = sig_owner(&v).ok_or_else(|| self.corrupt("signature unreadable"))?;
            offsets.push(off);
            vectors.extend(sig_vector(&v));
        }
        Ok((offsets, vectors))
    }

    /// For a new model: drops every signature and the graph, keeps the items, and sets the
    /// latent size the new signatures will have.
    pub fn reset_signatures(&self, latent_dim: usize) -> Result<()> {
        let mut counters = self.counters();
        let mut batch = sled::Batch::default();
        for kv in self.db.scan_prefix(SIG).chain(self.db.scan_prefix(TOMB)) {
            let (k, _) = kv.map_err(self.db_err())?;
            batch.remove(k);
        }
        for kv in self.db.scan_prefix(ITEM) {
            let (k, v) = kv.map_err(self.db_err())?;
            let mut r: ItemRecord = decode(&v).ok_or_else(|| self.corrupt("item unreadable"))?;
            r.item.signatures = 0;
            r.first_sig = counters.next_sig;
            batch.insert(k, encode(&r));
        }
        let next = Counters {
            generation: counters.generation + 1,
            ..*counters
        };
        batch.insert(COUNTERS, encode(&next));
        let mut m = self.manifest();
        m.latent_dim = latent_dim;
        batch.insert(MANIFEST, serde_json::to_vec(&m).unwrap_or_default());
        self.db.apply_batch(batch).map_err(self.db_err())?;
        self.db.flush().map_err(self.db_err())?;
        *counters = next;
        *poisoned(self.manifest.write()) = m;
        poisoned(self.tombstones.write()).clear();
        let mut g = Graph::new(latent_dim, 1024, next.generation);
        g.high_water = next.next_sig;
        *poisoned(self.graph.write()) = g;
        self.graph_loaded.store(true, Ordering::Release);
        self.changed();
        Ok(())
    }

    /// Replaces an item's signatures (re-encoding with a new model).
    pub fn replace_signatures(&self, id: ItemId, offsets: &[u32], vectors: &[f32]) -> Result<()> {
        let dim = self.check_vectors(offsets, vectors)?;
        let mut counters = self.counters();
        let mut record = self.record(id)?.ok_or(StoreError::NotFound { id })?;
        let mut batch = sled::Batch::default();
        let mut dead = Vec::new();
        self.drop_signatures(&record, &mut batch, &mut dead);
        let first_sig = counters.next_sig;
        for (i, (off, v)) in offsets.iter().zip(vectors.chunks_exact(dim)).enumerate() {
            batch.insert(id_key(SIG, first_sig + i as u64), encode_sig(id, *off, v));
        }
        record.first_sig = first_sig;
        record.item.signatures = offsets.len();
        batch.insert(id_key(ITEM, id), encode(&record));
        let next = Counters {
            next_sig: first_sig + offsets.len() as u64,
            ..*counters
        };
        batch.insert(COUNTERS, encode(&next));
        self.db.apply_batch(batch).map_err(self.db_err())?;
        self.db.flush().map_err(self.db_err())?;
        *counters = next;
        poisoned(self.tombstones.write()).extend(dead);
        self.mark_graph_behind();
        self.changed();
        Ok(())
    }

    fn check_query(&self, query: &[f32]) -> Result<()> {
        let dim = self.manifest().latent_dim;
        if query.len() != dim {
            return Err(StoreError::DimensionMismatch {
                expected: dim,
                got: query.len(),
            });
        }
        Ok(())
    }

    fn neighbour(&self, sig: u64, distance: f32) -> Result<Option<Neighbour>> {
        Ok(self
            .db
            .get(id_key(SIG, sig))
            .map_err(self.db_err())?
            .and_then(|v| sig_owner(&v))
            .map(|(item, offset)| Neighbour {
                item,
                offset,
                distance,
            }))
    }

    /// The `k` nearest live signatures, nearest first.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<Neighbour>> {
        self.check_query(query)?;
        if let Some(flat) = self.exact_within_budget(1)? {
            return self.exact(&flat, query, k);
        }
        self.search_graph(query, k)
    }

    fn search_graph(&self, query: &[f32], k: usize) -> Result<Vec<Neighbour>> {
        let hits = {
            let g = self.graph_read()?;
            let tomb = poisoned(self.tombstones.read());
            let ef = self.search.ef.max(k);
            if tomb.is_empty() {
                g.hnsw.search(query, k, ef)
            } else {
                let alive = |id: &usize| !tomb.contains(&(*id as u64));
                g.hnsw.search_filter(query, k, ef, Some(&alive))
            }
        };
        let mut out = Vec::with_capacity(hits.len());
        for h in hits {
            if let Some(n) = self.neighbour(h.d_id as u64, h.distance)? {
                out.push(n);
            }
        }
        Ok(out)
    }

    /// [`SledStore::search`] for many queries (flat, row-major), in parallel.
    pub fn search_batch(&self, queries: &[f32], k: usize) -> Result<Vec<Vec<Neighbour>>> {
        let dim = self.manifest().latent_dim;
        if dim == 0 || queries.len() % dim != 0 {
            return Err(StoreError::DimensionMismatch {
                expected: dim,
                got: queries.len(),
            });
        }
        if let Some(flat) = self.exact_within_budget(queries.len() / dim)? {
            return queries
                .par_chunks_exact(dim)
                .map(|q| self.exact(&flat, q, k))
                .collect();
        }
        queries
            .par_chunks_exact(dim)
            .map(|q| self.search_graph(q, k))
            .collect()
    }

    /// Brute force over every live signature: the reference that approximate search is
    /// tested against.
    pub fn search_exact(&self, query: &[f32], k: usize) -> Result<Vec<Neighbour>> {
        self.check_query(query)?;
        let flat = self.flat()?;
        self.exact(&flat, query, k)
    }

    /// The exact-search copy of the signatures when `queries` more exact searches stay within
    /// [`SearchParams::exact_budget`] and the graph is not loaded anyway.
    fn exact_within_budget(&self, queries: usize) -> Result<Option<Arc<Flat>>> {
        if self.search.exact_budget == 0 || self.graph_loaded.load(Ordering::Acquire) {
            return Ok(None);
        }
        let flat = self.flat()?;
        let n = flat.owners.len() as u64;
        let cost = (queries as u64).saturating_mul(n);
        let spent = self.exact_spent.fetch_add(cost, Ordering::AcqRel);
        let budget = self.search.exact_budget.saturating_mul(n);
        Ok((spent.saturating_add(cost) <= budget).then_some(flat))
    }

    fn flat(&self) -> Result<Arc<Flat>> {
        if let Some(f) = poisoned(self.flat.read()).as_ref() {
            return Ok(f.clone());
        }
        let mut slot = poisoned(self.flat.write());
        if let Some(f) = slot.as_ref() {
            return Ok(f.clone());
        }
        let mut owners = Vec::new();
        let mut vectors = Vec::new();
        for kv in self.db.scan_prefix(SIG) {
            let (_, v) = kv.map_err(self.db_err())?;
            owners.push(sig_owner(&v).ok_or_else(|| self.corrupt("signature unreadable"))?);
            vectors.extend(sig_vector(&v));
        }
        let flat = Arc::new(Flat { owners, vectors });
        *slot = Some(flat.clone());
        Ok(flat)
    }

    fn exact(&self, flat: &Flat, query: &[f32], k: usize) -> Result<Vec<Neighbour>> {
        let dim = query.len();
        let mut all: Vec<(f32, usize)> = flat
            .vectors
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, v)| {
                let d2 = v
                    .iter()
                    .zip(query)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f32>();
                (d2, i)
            })
            .collect();
        let k = k.min(all.len());
        if k == 0 {
            return Ok(Vec::new());
        }
        all.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
        all.truncate(k);
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(all
            .into_iter()
            .map(|(d2, i)| {
                let (item, offset) = flat.owners[i];
                Neighbour {
                    item,
                    offset,
                    distance: d2.sqrt(),
                }
            })
            .collect())
    }

    /// Counts from the catalog; never loads the graph.
    pub fn stats(&self) -> Result<Stats> {
        let items = self.db.scan_prefix(ITEM).count();
        let signatures = self.db.scan_prefix(SIG).count();
        let tombstoned = poisoned(self.tombstones.read()).len();
        Ok(Stats {
            items,
            signatures,
            tombstoned,
            latent_dim: self.manifest().latent_dim,
            bytes_on_disk: dir_size(&self.dir),
        })
    }

    /// Makes everything durable: sled is flushed and the graph dumped if it changed (and
    /// rebuilt first when too much of it is tombstoned).
    pub fn flush(&self) -> Result<()> {
        let _w = self.counters();
        self.db.flush().map_err(self.db_err())?;
        drop(_w);
        if !self.graph_loaded.load(Ordering::Acquire) && !self.wrote.load(Ordering::Acquire) {
            // Nothing written since open: the dump on disk is as good as it was.
            return Ok(());
        }
        let too_dead = {
            let g = self.graph_read()?;
            let dead = poisoned(self.tombstones.read()).len();
            g.points > 0 && dead as f64 > MAX_TOMBSTONE_SHARE * g.points as f64
        };
        if too_dead {
            let counters = self.counters();
            self.rebuild_graph(*counters)?;
            drop(counters);
            self.db.flush().map_err(self.db_err())?;
        }
        let mut g = self.graph_write()?;
        if g.dirty {
            g.dump(&graph_dir(&self.dir))
                .map_err(|source| StoreError::Io {
                    path: graph_dir(&self.dir),
                    source,
                })?;
        }
        Ok(())
    }
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

impl Store for SledStore {
    fn location(&self) -> &Path {
        self.path()
    }
    fn manifest(&self) -> Manifest {
        SledStore::manifest(self)
    }
    fn set_manifest(&self, manifest: &Manifest) -> Result<()> {
        SledStore::set_manifest(self, manifest)
    }
    fn model(&self) -> Result<Option<(String, Vec<u8>)>> {
        SledStore::model(self)
    }
    fn set_model(&self, config_json: &str, weights: &[u8]) -> Result<()> {
        SledStore::set_model(self, config_json, weights)
    }
    fn add_item(&self, item: NewItem, offsets: &[u32], vectors: &[f32]) -> Result<AddOutcome> {
        SledStore::add_item(self, item, offsets, vectors)
    }
    fn replace_signatures(&self, id: ItemId, offsets: &[u32], vectors: &[f32]) -> Result<()> {
        SledStore::replace_signatures(self, id, offsets, vectors)
    }
    fn reset_signatures(&self, latent_dim: usize) -> Result<()> {
        SledStore::reset_signatures(self, latent_dim)
    }
    fn remove(&self, id: ItemId) -> Result<Item> {
        SledStore::remove(self, id)
    }
    fn item(&self, id: ItemId) -> Result<Option<Item>> {
        SledStore::item(self, id)
    }
    fn items(&self) -> Result<Vec<Item>> {
        SledStore::items(self)
    }
    fn find_hash(&self, content_hash: &str) -> Result<Option<ItemId>> {
        SledStore::find_hash(self, content_hash)
    }
    fn find_path(&self, path: &Path) -> Result<Option<ItemId>> {
        SledStore::find_path(self, path)
    }
    fn signatures(&self, id: ItemId) -> Result<(Vec<u32>, Vec<f32>)> {
        SledStore::signatures(self, id)
    }
    fn search_batch(&self, queries: &[f32], k: usize) -> Result<Vec<Vec<Neighbour>>> {
        SledStore::search_batch(self, queries, k)
    }
    fn search(&self, query: &[f32], k: usize) -> Result<Vec<Neighbour>> {
        SledStore::search(self, query, k)
    }
    fn search_exact(&self, query: &[f32], k: usize) -> Result<Vec<Neighbour>> {
        SledStore::search_exact(self, query, k)
    }
    fn stats(&self) -> Result<Stats> {
        SledStore::stats(self)
    }
    fn flush(&self) -> Result<()> {
        SledStore::flush(self)
    }
    fn revision(&self) -> u64 {
        // Provisional (format 1 keeps no revision): signature ids only grow, and a removal
        // leaves a tombstone until the next rebuild.
        let c = *self.counters();
        c.next_sig + c.next_item + c.generation + poisoned(self.tombstones.read()).len() as u64
    }
}
