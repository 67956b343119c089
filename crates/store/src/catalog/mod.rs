//! The sled catalog, typed: the source of truth for the manifest, the model, the items and
//! their signature rows. Every read decodes through [`codec`], every write goes through a
//! [`Batch`] that [`Catalog::commit`] applies atomically and flushes, so a write is durable
//! when it returns. The model lives in a tree of its own ([`codec::MODEL_TREE`]), so that the
//! commits of an ingest, which rewrite the main tree's small records, never rewrite it. It
//! knows nothing of the graph; whoever writes holds the store's writers' lock, which the
//! catalog does not see.

mod codec;
mod migrate;
mod seal;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;

use codec::*;
pub(crate) use codec::{as_stored, widen, Block, Counters, ItemRecord};

use crate::types::{ItemId, Manifest, FORMAT_VERSION};
use crate::{Result, StoreError};

pub(crate) struct Catalog {
    /// The index directory (the database is in `catalog/` under it), for messages.
    dir: PathBuf,
    db: sled::Db,
    /// The model's tree ([`MODEL_TREE`]).
    model: sled::Tree,
    /// Commits applied so far (`m:commits`); held through each commit, which bumps it.
    commits: Mutex<u64>,
}

fn db_dir(dir: &Path) -> PathBuf {
    dir.join("catalog")
}

/// A decoded signature row.
pub(crate) struct SigRow<'a> {
    pub id: u64,
    pub item: ItemId,
    pub offset: u32,
    pub vector: &'a [f32],
}

impl Catalog {
    /// Whether a catalog lives under `dir` (opening it may still fail).
    pub fn exists(dir: &Path) -> bool {
        db_dir(dir).join("conf").exists() || db_dir(dir).join("db").exists()
    }

    /// A new catalog at `dir` holding `manifest` and zeroed counters.
    pub fn create(dir: &Path, manifest: &Manifest) -> Result<Catalog> {
        fs_err::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let db = open_db(dir)?;
        // A seal left by a catalog that was deleted: this one starts counting afresh.
        seal::remove(&seal::path(&db_dir(dir))).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let catalog = Catalog::on(dir, db)?;
        let mut batch = catalog.batch();
        batch.manifest(manifest)?;
        batch.counters(&Counters::default())?;
        catalog.commit(batch)?;
        Ok(catalog)
    }

    /// Opens the catalog at `dir`, upgrading a catalog of an older format to the current one,
    /// one format at a time. A catalog that holds fewer commits than its seal records has
    /// lost writes to a damaged file: it is refused.
    pub fn open(dir: &Path) -> Result<Catalog> {
        let mut catalog = Catalog::on(dir, open_db(dir)?)?;
        let held = catalog.held_commits()?;
        catalog.commits = Mutex::new(held);
        catalog.check_seal(held)?;
        loop {
            match catalog.format_version()? {
                FORMAT_VERSION => return Ok(catalog),
                1 => migrate::from_v1(&catalog)?,
                2 => migrate::from_v2(&catalog)?,
                3 => migrate::from_v3(&catalog)?,
                found => {
                    return Err(StoreError::FormatVersion {
                        path: dir.to_path_buf(),
                        found,
                        expected: FORMAT_VERSION,
                    })
                }
            }
        }
    }

    /// The catalog in `db` (at `dir`), its commit count not yet read.
    fn on(dir: &Path, db: sled::Db) -> Result<Catalog> {
        let model = db.open_tree(MODEL_TREE).map_err(|source| StoreError::Db {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Catalog {
            dir: dir.to_path_buf(),
            db,
            model,
            commits: Mutex::new(0),
        })
    }

    /// The commits the catalog holds (0 for one written before they were counted).
    fn held_commits(&self) -> Result<u64> {
        self.get(COMMITS)?
            .map(|v| {
                decode_id_value(&v).ok_or_else(|| self.corrupt("the commit count is unreadable"))
            })
            .transpose()
            .map(|n| n.unwrap_or(0))
    }

    /// Refuses a catalog that holds fewer commits than its seal records.
    fn check_seal(&self, held: u64) -> Result<()> {
        match seal::read(&seal::path(&db_dir(&self.dir))) {
            Ok(Some(sealed)) if sealed > held => Err(self.corrupt(format!(
                "its catalog has lost writes: {sealed} were made, it holds {held}; a file \
                 under {} was damaged or truncated",
                db_dir(&self.dir).display()
            ))),
            Ok(_) => Ok(()),
            Err(reason) => {
                tracing::warn!(
                    "the index at {} cannot check that its catalog is whole ({reason}); the \
                     next write records a new seal",
                    self.dir.display()
                );
                Ok(())
            }
        }
    }

    /// The manifest's version, read alone: a manifest of another version may not parse as
    /// this one.
    fn format_version(&self) -> Result<u32> {
        let bytes = self
            .get(MANIFEST)?
            .ok_or_else(|| self.corrupt("no manifest"))?;
        decode_manifest_version(&bytes)
            .ok_or_else(|| self.corrupt("the manifest has no readable format_version"))
    }

    pub fn corrupt(&self, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: self.dir.clone(),
            reason: reason.into(),
        }
    }

    fn db_err(&self) -> impl Fn(sled::Error) -> StoreError + '_ {
        |source| StoreError::Db {
            path: self.dir.clone(),
            source,
        }
    }

    fn get(&self, key: &[u8]) -> Result<Option<sled::IVec>> {
        self.db.get(key).map_err(self.db_err())
    }

    fn decode<T: DeserializeOwned>(&self, what: &str, bytes: &[u8]) -> Result<T> {
        decode_record(bytes).map_err(|e| self.corrupt(format!("{what} is unreadable: {e}")))
    }

    fn keys(&self, prefix: &[u8]) -> impl Iterator<Item = Result<sled::IVec>> + '_ {
        self.db
            .scan_prefix(prefix)
            .keys()
            .map(|k| k.map_err(self.db_err()))
    }

    // ---------------------------------------------------------------- reads

    pub fn manifest(&self) -> Result<Manifest> {
        let bytes = self
            .get(MANIFEST)?
            .ok_or_else(|| self.corrupt("no manifest"))?;
        decode_manifest(&bytes)
            .map_err(|e| self.corrupt(format!("the manifest is unreadable: {e}")))
    }

    pub fn counters(&self) -> Result<Counters> {
        let bytes = self
            .get(COUNTERS)?
            .ok_or_else(|| self.corrupt("no counters"))?;
        self.decode("the counters", &bytes)
    }

    pub fn model(&self) -> Result<Option<(String, Vec<u8>)>> {
        let get = |key: &[u8]| self.model.get(key).map_err(self.db_err());
        self.decode_model(get(MODEL_CONFIG)?, get(MODEL_WEIGHTS)?)
    }

    /// A model's stored config and weights (wherever the format keeps them), checked: none
    /// unless both are there.
    fn decode_model(
        &self,
        config: Option<sled::IVec>,
        weights: Option<sled::IVec>,
    ) -> Result<Option<(String, Vec<u8>)>> {
        match (config, weights) {
            (Some(config), Some(weights)) => {
                let config = String::from_utf8(config.to_vec())
                    .map_err(|_| self.corrupt("the model config is not UTF-8"))?;
                Ok(Some((config, weights.to_vec())))
            }
            _ => Ok(None),
        }
    }

    pub fn record(&self, id: ItemId) -> Result<Option<ItemRecord>> {
        self.get(&item_key(id))?
            .map(|b| self.decode(&format!("item {id}"), &b))
            .transpose()
    }

    /// Every item record, in id order.
    pub fn records(&self) -> impl Iterator<Item = Result<ItemRecord>> + '_ {
        self.db.scan_prefix(ITEM).map(|kv| {
            let (k, v) = kv.map_err(self.db_err())?;
            let what = key_id(ITEM, &k).map_or("an item record".into(), |id| format!("item {id}"));
            self.decode(&what, &v)
        })
    }

    pub fn find_hash(&self, content_hash: &str) -> Result<Option<ItemId>> {
        self.lookup(&hash_key(content_hash))
    }

    pub fn find_path(&self, path: &Path) -> Result<Option<ItemId>> {
        self.lookup(&path_key(path))
    }

    fn lookup(&self, key: &[u8]) -> Result<Option<ItemId>> {
        self.get(key)?
            .map(|v| decode_id_value(&v).ok_or_else(|| self.corrupt("an item id is unreadable")))
            .transpose()
    }

    /// Calls `f` on every signature block holding an id in `ids`, in id order, with the
    /// block's first signature id; each vector must have `dim` values.
    pub fn each_block(
        &self,
        ids: std::ops::Range<u64>,
        dim: usize,
        mut f: impl FnMut(u64, Block<'_>),
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        // The block holding `ids.start` may begin before it.
        let from = match self
            .db
            .range(block_key(0)..=block_key(ids.start))
            .next_back()
        {
            Some(kv) => {
                let (k, _) = kv.map_err(self.db_err())?;
                key_id(BLOCK, &k).ok_or_else(|| self.corrupt("a signature key is unreadable"))?
            }
            None => ids.start,
        };
        for kv in self.db.range(block_key(from)..block_key(ids.end)) {
            let (k, v) = kv.map_err(self.db_err())?;
            let first =
                key_id(BLOCK, &k).ok_or_else(|| self.corrupt("a signature key is unreadable"))?;
            let block = decode_block(&v, dim).ok_or_else(|| {
                self.corrupt(format!(
                    "the signatures from {first} are not rows of {dim} values"
                ))
            })?;
            if first + block.len() as u64 > ids.start {
                f(first, block);
            }
        }
        Ok(())
    }

    /// Calls `f` on every signature with an id in `ids`, in id order; each vector must have
    /// `dim` values.
    pub fn each_signature(
        &self,
        ids: std::ops::Range<u64>,
        dim: usize,
        mut f: impl FnMut(SigRow<'_>),
    ) -> Result<()> {
        let mut vector = Vec::with_capacity(dim);
        self.each_block(ids.clone(), dim, |first, block| {
            for i in 0..block.len() {
                let id = first + i as u64;
                if !ids.contains(&id) {
                    continue;
                }
                block.vector(i, &mut vector);
                f(SigRow {
                    id,
                    item: block.item,
                    offset: block.offset(i),
                    vector: &vector,
                });
            }
        })
    }

    /// Signature `sig`'s item, offset and vector (into `vector`, cleared first); `None` once
    /// it is removed.
    pub fn signature(
        &self,
        sig: u64,
        dim: usize,
        vector: &mut Vec<f32>,
    ) -> Result<Option<(ItemId, u32)>> {
        vector.clear();
        let mut found = None;
        self.each_block(sig..sig + 1, dim, |first, block| {
            let i = (sig - first) as usize;
            if i < block.len() {
                block.vector(i, vector);
                found = Some((block.item, block.offset(i)));
            }
        })?;
        Ok(found)
    }

    /// Ids of removed signatures that a graph may still hold.
    pub fn tombstones(&self) -> Result<Vec<u64>> {
        self.keys(TOMB)
            .map(|k| key_id(TOMB, &k?).ok_or_else(|| self.corrupt("a tombstone is unreadable")))
            .collect()
    }

    pub fn count_items(&self) -> usize {
        self.db.scan_prefix(ITEM).count()
    }

    /// Live signatures: the sum over item records (never reads a signature).
    pub fn count_signatures(&self) -> Result<usize> {
        self.records().map(|r| r.map(|r| r.item.signatures)).sum()
    }

    pub fn count_tombstones(&self) -> usize {
        self.db.scan_prefix(TOMB).count()
    }

    // ---------------------------------------------------------------- writes

    pub fn batch(&self) -> Batch<'_> {
        Batch {
            catalog: self,
            inner: sled::Batch::default(),
            model: None,
        }
    }

    /// Applies `batch` atomically and flushes it to disk before returning; then seals the
    /// new commit count ([`seal`]). A batch that writes the model is one transaction over the
    /// main tree and the model's.
    pub fn commit(&self, mut batch: Batch<'_>) -> Result<()> {
        let mut commits = self.commits();
        let next = *commits + 1;
        batch.inner.insert(COMMITS, &id_value(next));
        match &batch.model {
            None => self.db.apply_batch(batch.inner).map_err(self.db_err())?,
            Some(model) => {
                use sled::transaction::{ConflictableTransactionError, TransactionError};
                use sled::Transactional;
                (&*self.db, &self.model)
                    .transaction(|(main, model_tree)| {
                        main.apply_batch(&batch.inner)?;
                        model_tree.apply_batch(model)?;
                        Ok::<_, ConflictableTransactionError<()>>(())
                    })
                    .map_err(|e| match e {
                        TransactionError::Storage(source) => self.db_err()(source),
                        TransactionError::Abort(()) => self.corrupt("a model write was aborted"),
                    })?
            }
        }
        self.flush()?;
        *commits = next;
        // The commit is durable: a seal that cannot be written stays behind the catalog, which
        // only means the damage it guards against goes unnoticed until the next one is.
        if let Err(e) = seal::write(&seal::path(&db_dir(&self.dir)), next) {
            tracing::warn!(
                "the index at {}: could not record its commit count ({e})",
                self.dir.display()
            );
        }
        Ok(())
    }

    fn commits(&self) -> MutexGuard<'_, u64> {
        // A commit that panicked left the count as it was, or bumped once durable.
        self.commits.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn flush(&self) -> Result<()> {
        self.db.flush().map(drop).map_err(self.db_err())
    }

    /// A batch removing every signature and tombstone.
    pub fn drop_all_signatures(&self) -> Result<Batch<'_>> {
        let mut batch = self.batch();
        for k in self.keys(BLOCK).chain(self.keys(TOMB)) {
            batch.inner.remove(k?);
        }
        Ok(batch)
    }
}

const CACHE_BYTES: u64 = 64 << 20;

/// Opens the database. A lock held by someone else is reported within half a second: latentid opens an
/// index once per command, so a held lock means another process is using it.
fn open_db(dir: &Path) -> Result<sled::Db> {
    // sled releases its file lock from a background thread a moment after the last handle is
    // dropped, so a process that closes and reopens an index may find its own lock for a few
    // milliseconds; another process's lock is still reported, after this grace.
    let mut waited = std::time::Duration::ZERO;
    loop {
        match open_db_once(dir) {
            Err(StoreError::InUse { .. }) if waited < LOCK_GRACE => {
                std::thread::sleep(LOCK_POLL);
                waited += LOCK_POLL;
            }
            other => return other,
        }
    }
}

const LOCK_GRACE: std::time::Duration = std::time::Duration::from_millis(500);
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(20);

fn open_db_once(dir: &Path) -> Result<sled::Db> {
    sled::Config::new()
        .path(db_dir(dir))
        // sled's page cache defaults to 1 GB; signature blocks are read in sequential scans
        // that gain nothing from keeping them, and a large library's index must stay small in
        // memory (benches/RESULTS.md, "A 1000-hour library").
        .cache_capacity(CACHE_BYTES)
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

/// Writes to the catalog, typed; nothing happens until [`Catalog::commit`].
pub(crate) struct Batch<'c> {
    catalog: &'c Catalog,
    inner: sled::Batch,
    /// Writes to the model's tree, if any.
    model: Option<sled::Batch>,
}

impl Batch<'_> {
    fn encode_err(&self, what: &str) -> impl Fn(String) -> StoreError + '_ {
        let what = what.to_string();
        move |reason| StoreError::Encode {
            path: self.catalog.dir.clone(),
            what: what.clone(),
            reason,
        }
    }

    fn encode<T: Serialize>(&self, what: &str, value: &T) -> Result<Vec<u8>> {
        encode_record(value).map_err(self.encode_err(what))
    }

    pub fn manifest(&mut self, manifest: &Manifest) -> Result<()> {
        let v = encode_manifest(manifest).map_err(self.encode_err("the manifest"))?;
        self.inner.insert(MANIFEST, v);
        Ok(())
    }

    pub fn counters(&mut self, counters: &Counters) -> Result<()> {
        let v = self.encode("the counters", counters)?;
        self.inner.insert(COUNTERS, v);
        Ok(())
    }

    pub fn model(&mut self, config_json: &str, weights: &[u8]) {
        let mut model = sled::Batch::default();
        model.insert(MODEL_CONFIG, config_json.as_bytes());
        model.insert(MODEL_WEIGHTS, weights);
        self.model = Some(model);
    }

    /// Writes an item's record (its hash and path keys are [`Batch::index_item`]'s).
    pub fn record(&mut self, record: &ItemRecord) -> Result<()> {
        let v = self.encode(&format!("item {}", record.item.id), record)?;
        self.inner.insert(item_key(record.item.id), v);
        Ok(())
    }

    /// Makes an item findable by its content hash and path.
    pub fn index_item(&mut self, record: &ItemRecord) {
        let id = id_value(record.item.id);
        self.inner.insert(hash_key(&record.item.content_hash), &id);
        self.inner.insert(path_key(&record.item.path), &id);
    }

    /// Removes an item's record and its hash and path keys (not its signatures).
    pub fn remove_item(&mut self, record: &ItemRecord) {
        self.inner.remove(item_key(record.item.id));
        self.inner.remove(hash_key(&record.item.content_hash));
        self.inner.remove(path_key(&record.item.path));
    }

    /// Stores signatures `first ..` of `item` as one block: one per offset, `vectors`
    /// row-major.
    pub fn signatures(&mut self, first: u64, item: ItemId, offsets: &[u32], vectors: &[f32]) {
        if !offsets.is_empty() {
            self.inner
                .insert(block_key(first), encode_block(item, offsets, vectors));
        }
    }

    /// Removes an item's signatures (`sigs`: all of them, as its record says) and leaves a
    /// tombstone for each (a search structure may still hold them).
    pub fn tombstone(&mut self, sigs: std::ops::Range<u64>) {
        // An item with no signatures owns no block: the key at its `first_sig` may be the
        // block of an item that got its ids later (after a reset every item starts there).
        if !sigs.is_empty() {
            self.inner.remove(block_key(sigs.start));
        }
        for s in sigs {
            self.inner.insert(tomb_key(s), &[]);
        }
    }

    pub fn clear_tombstones(&mut self, sigs: impl IntoIterator<Item = u64>) {
        for s in sigs {
            self.inner.remove(tomb_key(s));
        }
    }
}

/// Bytes under `dir`. Files that vanish while it counts (a graph dump being swapped) count as 0.
pub(crate) fn dir_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let size = match entry.file_type() {
            Ok(t) if t.is_dir() => dir_size(&entry.path()),
            _ => entry.metadata().map(|m| m.len()),
        };
        match size {
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}
