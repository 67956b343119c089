//! [`MilvusStore`]: the catalog stays in the index folder (a [`SledStore`]: items, manifest,
//! model, and every signature row, the source of truth), while nearest-neighbour search runs
//! in a Milvus collection that mirrors the live signatures, as the HNSW graph does locally.
//!
//! The collection (one per index, named in the folder's `milvus.json`) holds one row per
//! signature: `id` (the catalog's signature id, int64 primary key), `vector`, `item` and
//! `frame_offset`. Writes go to the catalog first (durable when they return, as with the local
//! store) and then to Milvus: inserts are buffered and sent in bounded batches at the next
//! search or flush, removals are deleted at once with literal filters. `milvus.json` records
//! the catalog revision the collection last matched; an index opened at another revision, or
//! whose collection does not hold as many rows as the catalog has live signatures, is
//! reconciled window by window over signature ids: rows of removed signatures (and duplicate
//! rows, from an insert retried after its answer was lost) are deleted, missing ones sent
//! again from the catalog. So a Milvus that was down, slow or restarted mid-ingest costs a
//! clear error naming its address and nothing else: what the catalog acknowledged reaches
//! Milvus on the next open, and no signature is stored twice.
//!
//! Written to the subset of the protocol that both Milvus and milvus-lite accept: indexes are
//! created without waiting (`sync(false)`) and confirmed with `describe_index`; filters are
//! literal (`id in [..]`, `item == N`), never templates; `list_collections` is not used;
//! telemetry is off; reads are strongly consistent.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::milvus::v2::prelude::{
    ClientV2, CollectionSchema, ConnectConfig, ConsistencyLevel, CreateCollectionRequest,
    CreateIndexRequest, DataType, DeleteRequest, DescribeIndexRequest, DropCollectionRequest,
    FieldData, FieldSchema, HasCollectionRequest, Ids, IndexParam, IndexType, InsertRequest,
    LoadCollectionRequest, MetricType, QueryRequest, RetryConfig, SearchRequest, SearchVectors,
    TelemetryConfig,
};
use serde::{Deserialize, Serialize};

use crate::search::exact::squared_distance;
use crate::search::SearchParams;
use crate::sled_store::SledStore;
use crate::types::*;
use crate::{Result, Store, StoreError};

/// Where an index's signatures are searched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The index folder alone: sled catalog and HNSW graph.
    Local,
    /// A Milvus server (`host:port`) for signatures and search; the catalog, model and
    /// calibration stay in the folder.
    Milvus { address: String },
}

impl FromStr for Backend {
    type Err = String;

    /// `local`, or `milvus://host:port`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if s == "local" {
            return Ok(Backend::Local);
        }
        let Some(address) = s.strip_prefix("milvus://") else {
            return Err(format!(
                "unknown backend {s:?}: expected `local` or `milvus://host:port`"
            ));
        };
        let address = address.trim_end_matches('/');
        let port_ok = address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(format!(
                "backend {s:?}: expected `milvus://host:port`, such as milvus://127.0.0.1:19530"
            ));
        }
        Ok(Backend::Milvus {
            address: address.to_string(),
        })
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Local => write!(f, "local"),
            Backend::Milvus { address } => write!(f, "milvus://{address}"),
        }
    }
}

/// Opens the index at `dir` on `backend`; `None` keeps the one the folder was last used with
/// (Milvus if it has a `milvus.json`, else local). Never creates an index.
pub fn open_store(
    dir: &Path,
    backend: Option<&Backend>,
    params: SearchParams,
) -> Result<Box<dyn Store>> {
    match backend {
        Some(Backend::Local) => Ok(Box::new(SledStore::open_with(dir, params)?)),
        Some(Backend::Milvus { address }) => {
            Ok(Box::new(MilvusStore::open(dir, Some(address), params)?))
        }
        None if MilvusStore::configured(dir) => Ok(Box::new(MilvusStore::open(dir, None, params)?)),
        None => Ok(Box::new(SledStore::open_with(dir, params)?)),
    }
}

/// Creates a new, empty index at `dir` on `backend` (`None`: local).
pub fn create_store(
    dir: &Path,
    manifest: Manifest,
    backend: Option<&Backend>,
) -> Result<Box<dyn Store>> {
    match backend {
        None | Some(Backend::Local) => Ok(Box::new(SledStore::create(dir, manifest)?)),
        Some(Backend::Milvus { address }) => {
            Ok(Box::new(MilvusStore::create(dir, manifest, address)?))
        }
    }
}

const MARKER: &str = "milvus.json";
const ID: &str = "id";
const VECTOR: &str = "vector";
const ITEM: &str = "item";
const OFFSET: &str = "frame_offset";
/// Signature ids per reconciliation window (a query returns at most 16384 rows; a window
/// holding a duplicate of each of its rows still fits).
const WINDOW: u64 = 8192;
/// Queries per search request.
const QUERIES_PER_REQUEST: usize = 256;
/// Ids per literal `id in [..]` filter.
const IDS_PER_FILTER: usize = 2048;

/// What the index folder remembers of its collection (`milvus.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Marker {
    /// The server last used, `host:port`.
    address: String,
    collection: String,
    /// The catalog generation the collection was made for (a new model drops it).
    generation: u64,
    latent_dim: usize,
    /// The catalog revision the collection last matched, if it did.
    synced_revision: Option<u64>,
}

/// Buffered inserts and whether this process saw Milvus fail.
#[derive(Default)]
struct Pending {
    ids: Vec<i64>,
    items: Vec<i64>,
    offsets: Vec<i64>,
    vectors: Vec<Vec<f32>>,
    /// A Milvus call failed since the collection last matched the catalog: the marker must
    /// not claim it matches until a reconciliation says so.
    failed: bool,
}

/// An index folder whose signatures are searched in Milvus (see the module documentation).
pub struct MilvusStore {
    inner: SledStore,
    address: String,
    client: ClientV2,
    runtime: tokio::runtime::Runtime,
    params: SearchParams,
    /// Guards the marker and the insert buffer; taken after the catalog's writers' lock.
    state: Mutex<(Marker, Pending)>,
    batch_rows: usize,
}

impl std::fmt::Debug for MilvusStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MilvusStore")
            .field("dir", &self.inner.location())
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

fn marker_path(dir: &Path) -> PathBuf {
    dir.join(MARKER)
}

fn read_marker(dir: &Path) -> Result<Option<Marker>> {
    let path = marker_path(dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path: path.clone(),
                reason: format!("unreadable {MARKER}: {e}"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Io { path, source }),
    }
}

fn write_marker(dir: &Path, marker: &Marker) -> Result<()> {
    let path = marker_path(dir);
    let tmp = dir.join(format!("{MARKER}.tmp"));
    let json = serde_json::to_vec_pretty(marker).map_err(|e| StoreError::Encode {
        path: dir.to_path_buf(),
        what: MARKER.into(),
        reason: e.to_string(),
    })?;
    let io = |source| StoreError::Io {
        path: path.clone(),
        source,
    };
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&json).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, &path).map_err(io)
}

/// A collection name of its own for a new index folder.
fn new_collection_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    format!(
        "latentid_{:016x}",
        nanos ^ (u64::from(std::process::id()) << 40)
    )
}

fn literal_ids(ids: &[i64]) -> String {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("{ID} in [{}]", list.join(", "))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl MilvusStore {
    /// Whether the folder was last used with Milvus.
    pub fn configured(dir: &Path) -> bool {
        marker_path(dir).is_file()
    }

    /// Creates a new, empty index at `dir` whose signatures go to Milvus at `address`.
    pub fn create(dir: &Path, manifest: Manifest, address: &str) -> Result<MilvusStore> {
        let dim = manifest.latent_dim;
        // Reach the server before anything is written: a typo leaves no folder behind.
        let (runtime, client) = connect(dir, address)?;
        let inner = SledStore::create(dir, manifest)?;
        let marker = Marker {
            address: address.to_string(),
            collection: new_collection_name(),
            generation: inner.counters().generation,
            latent_dim: dim,
            synced_revision: None,
        };
        let store = Self::assemble(
            inner,
            address,
            runtime,
            client,
            marker,
            SearchParams::default(),
        );
        store.recreate_collection()?;
        store.reconcile()?;
        Ok(store)
    }

    /// Opens the index at `dir` against Milvus at `address` (`None`: the one its
    /// `milvus.json` names), reconciling the collection with the catalog if they differ.
    pub fn open(dir: &Path, address: Option<&str>, params: SearchParams) -> Result<MilvusStore> {
        if !SledStore::exists(dir) {
            return Err(StoreError::NoIndex {
                path: dir.to_path_buf(),
            });
        }
        let recorded = read_marker(dir)?;
        let address = match (address, &recorded) {
            (Some(a), _) => a.to_string(),
            (None, Some(m)) => m.address.clone(),
            (None, None) => {
                return Err(StoreError::Corrupt {
                    path: dir.to_path_buf(),
                    reason: format!(
                        "no {MARKER}: name the server with --backend milvus://host:port"
                    ),
                })
            }
        };
        let inner = SledStore::open_with(dir, params)?;
        let (runtime, client) = connect(dir, &address)?;
        let counters = inner.counters();
        let dim = inner.manifest().latent_dim;
        let (marker, fresh) = match recorded {
            Some(m) if m.generation == counters.generation && m.latent_dim == dim => {
                let synced = if m.address == address {
                    m.synced_revision
                } else {
                    None
                };
                (
                    Marker {
                        address: address.clone(),
                        synced_revision: synced,
                        ..m
                    },
                    false,
                )
            }
            other => (
                Marker {
                    address: address.clone(),
                    // A new model dropped every signature: the old collection goes with them.
                    collection: other.map_or_else(new_collection_name, |m| m.collection),
                    generation: counters.generation,
                    latent_dim: dim,
                    synced_revision: None,
                },
                true,
            ),
        };
        let store = Self::assemble(inner, &address, runtime, client, marker, params);
        if fresh {
            store.recreate_collection()?;
        } else {
            store.ensure_collection()?;
        }
        store.reconcile()?;
        Ok(store)
    }

    fn assemble(
        inner: SledStore,
        address: &str,
        runtime: tokio::runtime::Runtime,
        client: ClientV2,
        marker: Marker,
        params: SearchParams,
    ) -> MilvusStore {
        let dim = marker.latent_dim.max(1);
        MilvusStore {
            inner,
            address: address.to_string(),
            client,
            runtime,
            params,
            state: Mutex::new((marker, Pending::default())),
            // About 2 MB of vectors per insert, and never more than 4096 rows.
            batch_rows: (2_000_000 / (4 * dim)).clamp(64, 4096),
        }
    }

    /// The server, `host:port`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The collection holding this index's signatures.
    pub fn collection(&self) -> String {
        self.lock().0.collection.clone()
    }

    fn lock(&self) -> MutexGuard<'_, (Marker, Pending)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn dir(&self) -> &Path {
        self.inner.location()
    }

    fn error(&self, doing: &str, e: impl std::fmt::Display) -> StoreError {
        StoreError::Backend {
            path: self.dir().to_path_buf(),
            address: self.address.clone(),
            reason: format!("{doing}: {e}"),
        }
    }

    /// Runs `f` on the store's runtime and waits for it: from plain threads and from inside
    /// another runtime's blocking tasks alike (the server calls stores from those).
    fn run<T: Send + 'static>(
        &self,
        f: impl Future<Output = ::milvus::v2::prelude::Result<T>> + Send + 'static,
    ) -> std::result::Result<T, String> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime.spawn(async move {
            let _ = tx.send(f.await);
        });
        match rx.recv() {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err("the request was dropped".into()),
        }
    }

    /// Runs one Milvus call; a failure is remembered (see [`Pending::failed`]) and named.
    fn call<T: Send + 'static>(
        &self,
        pending: &mut Pending,
        doing: &str,
        f: impl Future<Output = ::milvus::v2::prelude::Result<T>> + Send + 'static,
    ) -> Result<T> {
        self.run(f).map_err(|e| {
            pending.failed = true;
            self.error(doing, e)
        })
    }

    fn collection_exists(&self, pending: &mut Pending, name: &str) -> Result<bool> {
        let c = self.client.clone();
        let n = name.to_string();
        self.call(pending, "checking the collection", async move {
            let r = c
                .has_collection(HasCollectionRequest::builder().collection_name(n).build()?)
                .await?;
            Ok(r.exists())
        })
    }

    /// Drops the collection if it exists and makes it anew for the catalog's latent size.
    fn recreate_collection(&self) -> Result<()> {
        let mut guard = self.lock();
        let (marker, pending) = &mut *guard;
        let name = marker.collection.clone();
        self.call(
            pending,
            "dropping the old collection",
            drop_if_exists(self.client.clone(), name),
        )?;
        *pending = Pending {
            failed: pending.failed,
            ..Pending::default()
        };
        marker.latent_dim = self.inner.manifest().latent_dim;
        marker.generation = self.inner.counters().generation;
        marker.synced_revision = None;
        write_marker(self.dir(), marker)?;
        self.create_collection(marker, pending)
    }

    /// Makes the collection if it is missing (a server that lost it), and loads it.
    fn ensure_collection(&self) -> Result<()> {
        let mut guard = self.lock();
        let (marker, pending) = &mut *guard;
        if self.collection_exists(pending, &marker.collection)? {
            self.load(marker, pending)
        } else {
            marker.synced_revision = None;
            self.create_collection(marker, pending)
        }
    }

    fn create_collection(&self, marker: &Marker, pending: &mut Pending) -> Result<()> {
        let dim = u32::try_from(marker.latent_dim).unwrap_or(u32::MAX);
        let schema = CollectionSchema::new()
            .add_field(
                FieldSchema::new()
                    .name(ID)
                    .data_type(DataType::Int64)
                    .primary_key(true)
                    .auto_id(false),
            )
            .add_field(
                FieldSchema::new()
                    .name(VECTOR)
                    .data_type(DataType::FloatVector)
                    .dimension(dim),
            )
            .add_field(FieldSchema::new().name(ITEM).data_type(DataType::Int64))
            .add_field(FieldSchema::new().name(OFFSET).data_type(DataType::Int64));
        let c = self.client.clone();
        let n = marker.collection.clone();
        self.call(pending, "creating the collection", async move {
            c.create_collection(
                CreateCollectionRequest::builder()
                    .collection_name(n)
                    .schema(schema)
                    .num_shards(1)
                    .consistency_level(ConsistencyLevel::Strong)
                    .build()?,
            )
            .await
            .map(drop)
        })?;
        let c = self.client.clone();
        let n = marker.collection.clone();
        self.call(pending, "creating the vector index", async move {
            c.create_index(
                CreateIndexRequest::builder()
                    .collection_name(n)
                    .index_param(
                        IndexParam::new()
                            .field_name(VECTOR)
                            .index_name(VECTOR)
                            .index_type(IndexType::Hnsw)
                            .metric_type(MetricType::L2)
                            .extra_params(HashMap::from([
                                ("M".into(), "16".into()),
                                ("efConstruction".into(), "200".into()),
                            ])),
                    )
                    // Waiting for the build calls an RPC milvus-lite lacks: describe instead.
                    .sync(false)
                    .build()?,
            )
            .await
            .map(drop)
        })?;
        let c = self.client.clone();
        let n = marker.collection.clone();
        let described = self.call(pending, "describing the vector index", async move {
            let r = c
                .describe_index(
                    DescribeIndexRequest::builder()
                        .collection_name(n)
                        .index_name(VECTOR)
                        .build()?,
                )
                .await?;
            Ok(r.indexes().len())
        })?;
        if described == 0 {
            pending.failed = true;
            return Err(self.error(
                "creating the vector index",
                "the server describes no index on the vector field",
            ));
        }
        self.load(marker, pending)
    }

    fn load(&self, marker: &Marker, pending: &mut Pending) -> Result<()> {
        let c = self.client.clone();
        let n = marker.collection.clone();
        self.call(pending, "loading the collection", async move {
            c.load_collection(
                LoadCollectionRequest::builder()
                    .collection_name(n)
                    .sync(false)
                    .build()?,
            )
            .await
            .map(drop)
        })
    }

    /// Sends the buffered inserts, in batches of at most `batch_rows`.
    fn send_pending(&self, marker: &Marker, pending: &mut Pending) -> Result<()> {
        while !pending.ids.is_empty() {
            let n = pending.ids.len().min(self.batch_rows);
            let columns = vec![
                FieldData::int64(ID, pending.ids[..n].to_vec()),
                FieldData::float_vector(VECTOR, pending.vectors[..n].to_vec()),
                FieldData::int64(ITEM, pending.items[..n].to_vec()),
                FieldData::int64(OFFSET, pending.offsets[..n].to_vec()),
            ];
            let c = self.client.clone();
            let name = marker.collection.clone();
            let inserted = self.call(pending, "inserting signatures", async move {
                let r = c
                    .insert(
                        InsertRequest::builder()
                            .collection_name(name)
                            .columns(columns)
                            .build()?,
                    )
                    .await?;
                Ok(r.insert_count())
            })?;
            if usize::try_from(inserted).ok() != Some(n) {
                pending.failed = true;
                return Err(self.error(
                    "inserting signatures",
                    format!("the server took {inserted} of {n} rows"),
                ));
            }
            pending.ids.drain(..n);
            pending.vectors.drain(..n);
            pending.items.drain(..n);
            pending.offsets.drain(..n);
        }
        Ok(())
    }

    fn delete(&self, marker: &Marker, pending: &mut Pending, filter: String) -> Result<()> {
        let c = self.client.clone();
        let name = marker.collection.clone();
        self.call(pending, "deleting signatures", async move {
            c.delete(
                DeleteRequest::builder()
                    .collection_name(name)
                    .filter(filter)
                    .build()?,
            )
            .await
            .map(drop)
        })
    }

    fn query_ids(
        &self,
        marker: &Marker,
        pending: &mut Pending,
        filter: String,
    ) -> Result<Vec<i64>> {
        let c = self.client.clone();
        let name = marker.collection.clone();
        self.call(pending, "listing signature ids", async move {
            let r = c
                .query(
                    QueryRequest::builder()
                        .collection_name(name)
                        .filter(filter)
                        .output_fields([ID])
                        .limit(16_384)
                        .consistency_level(ConsistencyLevel::Strong)
                        .build()?,
                )
                .await?;
            let mut ids = Vec::new();
            for row in r.results().rows()? {
                ids.push(row.get_i64(ID)?);
            }
            Ok(ids)
        })
    }

    fn count_rows(&self, marker: &Marker, pending: &mut Pending) -> Result<u64> {
        let c = self.client.clone();
        let name = marker.collection.clone();
        self.call(pending, "counting rows", async move {
            let r = c
                .query(
                    QueryRequest::builder()
                        .collection_name(name)
                        .output_fields(["count(*)"])
                        .consistency_level(ConsistencyLevel::Strong)
                        .build()?,
                )
                .await?;
            let mut n = 0;
            for row in r.results().rows()? {
                n = row.get_i64("count(*)")?;
            }
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// Brings the collection to exactly the catalog's live signatures, unless the marker and
    /// the row count already say it holds them; then records that it does.
    fn reconcile(&self) -> Result<()> {
        let writer = self.inner.writer_lock();
        let mut guard = self.lock();
        let (marker, pending) = &mut *guard;
        self.send_pending(marker, pending)?;
        let revision = writer.revision;
        let live = self.inner.count_live_signatures()?;
        let rows = self.count_rows(marker, pending)?;
        if marker.synced_revision == Some(revision) && rows == live as u64 && !pending.failed {
            return Ok(());
        }
        tracing::info!(
            "reconciling Milvus collection {} at {} with {} ({} rows, {} live signatures)",
            marker.collection,
            self.address,
            self.dir().display(),
            rows,
            live
        );
        let next_sig = writer.next_sig;
        let dim = marker.latent_dim;
        let mut start = 0;
        while start < next_sig {
            let end = (start + WINDOW).min(next_sig);
            self.reconcile_window(marker, pending, start..end, dim)?;
            start = end;
        }
        // Rows past the last id handed out: from a catalog older than the collection.
        loop {
            let stray = self.query_ids(marker, pending, format!("{ID} >= {}", to_i64(next_sig)))?;
            if stray.is_empty() {
                break;
            }
            for chunk in stray.chunks(IDS_PER_FILTER) {
                self.delete(marker, pending, literal_ids(chunk))?;
            }
        }
        pending.failed = false;
        marker.synced_revision = Some(revision);
        write_marker(self.dir(), marker)
    }

    fn reconcile_window(
        &self,
        marker: &Marker,
        pending: &mut Pending,
        window: Range<u64>,
        dim: usize,
    ) -> Result<()> {
        let present = self.query_ids(
            marker,
            pending,
            format!(
                "{ID} >= {} and {ID} < {}",
                to_i64(window.start),
                to_i64(window.end)
            ),
        )?;
        let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
        for id in present {
            *seen.entry(id).or_default() += 1;
        }
        let mut drop_ids = Vec::new();
        let mut live_ids = std::collections::BTreeSet::new();
        self.inner
            .each_live_signature(window, dim, |id, item, offset, vector| {
                let id = to_i64(id);
                live_ids.insert(id);
                match seen.get(&id) {
                    Some(1) => {}
                    copies => {
                        if copies.is_some() {
                            // Duplicates: all go, one comes back.
                            drop_ids.push(id);
                        }
                        pending.ids.push(id);
                        pending.items.push(to_i64(item));
                        pending.offsets.push(i64::from(offset));
                        pending.vectors.push(vector.to_vec());
                    }
                }
            })?;
        drop_ids.extend(seen.keys().filter(|id| !live_ids.contains(id)));
        for chunk in drop_ids.chunks(IDS_PER_FILTER) {
            self.delete(marker, pending, literal_ids(chunk))?;
        }
        self.send_pending(marker, pending)
    }

    /// Buffers `range`'s signatures (just committed to the catalog) for Milvus, sending a
    /// batch when the buffer is full.
    fn queue(&self, id: ItemId, range: Range<u64>, offsets: &[u32], vectors: &[f32]) -> Result<()> {
        let dim = self.inner.manifest().latent_dim;
        let mut guard = self.lock();
        let (marker, pending) = &mut *guard;
        for ((sig, &offset), v) in range.zip(offsets).zip(vectors.chunks_exact(dim)) {
            pending.ids.push(to_i64(sig));
            pending.items.push(to_i64(id));
            pending.offsets.push(i64::from(offset));
            pending.vectors.push(v.to_vec());
        }
        if pending.ids.len() >= self.batch_rows {
            self.send_pending(marker, pending)?;
        }
        Ok(())
    }

    fn search_milvus(&self, queries: &[f32], k: usize, dim: usize) -> Result<Vec<Vec<u64>>> {
        {
            let mut guard = self.lock();
            let (marker, pending) = &mut *guard;
            self.send_pending(marker, pending)?;
        }
        let collection = self.collection();
        let ef = self.params.ef.max(k);
        let mut out = Vec::new();
        for chunk in queries.chunks(dim * QUERIES_PER_REQUEST) {
            let vectors: Vec<Vec<f32>> = chunk.chunks_exact(dim).map(<[f32]>::to_vec).collect();
            let c = self.client.clone();
            let name = collection.clone();
            let limit = i64::try_from(k).unwrap_or(16_384).min(16_384);
            let found = self
                .run(async move {
                    let r = c
                        .search(
                            SearchRequest::builder()
                                .collection_name(name)
                                .vector_field(VECTOR)
                                .vectors(SearchVectors::Float(vectors))
                                .limit(limit)
                                .metric_type(MetricType::L2)
                                .extra_params(HashMap::from([("ef".into(), ef.to_string())]))
                                .consistency_level(ConsistencyLevel::Strong)
                                .build()?,
                        )
                        .await?;
                    let mut all = Vec::new();
                    for one in r.results().iter() {
                        let ids = match one.get_ids() {
                            Ids::Int64(ids) => {
                                ids.iter().filter_map(|&i| u64::try_from(i).ok()).collect()
                            }
                            _ => Vec::new(),
                        };
                        all.push(ids);
                    }
                    Ok(all)
                })
                .map_err(|e| self.error("searching", e))?;
            let expected = chunk.len() / dim;
            if found.len() != expected {
                return Err(self.error(
                    "searching",
                    format!("{} result lists for {expected} queries", found.len()),
                ));
            }
            out.extend(found);
        }
        Ok(out)
    }
}

impl Drop for MilvusStore {
    /// A clean close records that the collection matches the catalog, when every write of
    /// this process reached Milvus (writes after the last flush, such as reconstruction
    /// errors, move the revision too). Sends nothing: a server that went away must not hold
    /// up the exit, and the next open reconciles.
    fn drop(&mut self) {
        let revision = self.inner.counters().revision;
        let mut guard = self.lock();
        let (marker, pending) = &mut *guard;
        if pending.ids.is_empty()
            && !pending.failed
            && marker.synced_revision.is_some()
            && marker.synced_revision != Some(revision)
        {
            marker.synced_revision = Some(revision);
            if let Err(e) = write_marker(self.inner.location(), marker) {
                tracing::warn!("{e}");
            }
        }
    }
}

/// Drops the Milvus collection of the index at `dir` if the folder was last used with Milvus
/// (it has a `milvus.json`); the folder itself is left alone. For indexes that are thrown
/// away, such as the ones `tune` measures: deleting the folder alone would leave the
/// collection on the server.
pub fn drop_milvus_collection(dir: &Path) -> Result<()> {
    let Some(marker) = read_marker(dir)? else {
        return Ok(());
    };
    let (runtime, client) = connect(dir, &marker.address)?;
    runtime
        .block_on(drop_if_exists(client, marker.collection.clone()))
        .map_err(|e| StoreError::Backend {
            path: dir.to_path_buf(),
            address: marker.address.clone(),
            reason: format!("dropping collection {}: {e}", marker.collection),
        })
}

/// Drops collection `name` if the server has it.
async fn drop_if_exists(client: ClientV2, name: String) -> ::milvus::v2::prelude::Result<()> {
    let exists = client
        .has_collection(
            HasCollectionRequest::builder()
                .collection_name(name.clone())
                .build()?,
        )
        .await?
        .exists();
    if exists {
        client
            .drop_collection(
                DropCollectionRequest::builder()
                    .collection_name(name)
                    .build()?,
            )
            .await?;
    }
    Ok(())
}

/// A client for `address`, on a runtime of its own, or an error naming the address.
fn connect(dir: &Path, address: &str) -> Result<(tokio::runtime::Runtime, ClientV2)> {
    let fail = |reason: String| StoreError::Backend {
        path: dir.to_path_buf(),
        address: address.to_string(),
        reason,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("latentid-milvus")
        .enable_all()
        .build()
        .map_err(|e| fail(format!("starting the client runtime: {e}")))?;
    let config = ConnectConfig::new()
        .uri(format!("http://{address}"))
        .connect_timeout(Duration::from_secs(10))
        .rpc_timeout(Duration::from_secs(120))
        .retry(
            RetryConfig::new()
                .max_attempts(3)
                .initial_backoff(Duration::from_millis(200))
                .max_backoff(Duration::from_secs(2))
                .max_retry_timeout(Duration::from_secs(30)),
        )
        .telemetry(TelemetryConfig::new().enabled(false));
    let client = runtime
        .block_on(ClientV2::new(&config))
        .map_err(|e| fail(format!("cannot connect: {e}")))?;
    Ok((runtime, client))
}

impl Store for MilvusStore {
    fn location(&self) -> &Path {
        self.inner.location()
    }

    fn manifest(&self) -> Manifest {
        self.inner.manifest()
    }

    fn set_manifest(&self, manifest: &Manifest) -> Result<()> {
        self.inner.set_manifest(manifest)
    }

    fn model(&self) -> Result<Option<(String, Vec<u8>)>> {
        self.inner.model()
    }

    fn set_model(&self, config_json: &str, weights: &[u8]) -> Result<()> {
        self.inner.set_model(config_json, weights)
    }

    fn add_item(&self, item: NewItem, offsets: &[u32], vectors: &[f32]) -> Result<AddOutcome> {
        let outcome = self.inner.add_item(item, offsets, vectors)?;
        if let AddOutcome::Added(id) = outcome {
            let range = self.inner.sig_range(id)?;
            self.queue(id, range, offsets, vectors)?;
        }
        Ok(outcome)
    }

    fn replace_signatures(&self, id: ItemId, offsets: &[u32], vectors: &[f32]) -> Result<()> {
        let old = self.inner.sig_range(id)?;
        self.inner.replace_signatures(id, offsets, vectors)?;
        {
            let mut guard = self.lock();
            let (marker, pending) = &mut *guard;
            self.send_pending(marker, pending)?;
            self.delete(
                marker,
                pending,
                format!(
                    "{ID} >= {} and {ID} < {}",
                    to_i64(old.start),
                    to_i64(old.end)
                ),
            )?;
        }
        let range = self.inner.sig_range(id)?;
        self.queue(id, range, offsets, vectors)
    }

    fn set_reconstruction(&self, id: ItemId, reconstruction: Option<Reconstruction>) -> Result<()> {
        self.inner.set_reconstruction(id, reconstruction)
    }

    fn reset_signatures(&self, latent_dim: usize) -> Result<()> {
        self.inner.reset_signatures(latent_dim)?;
        self.recreate_collection()
    }

    fn remove(&self, id: ItemId) -> Result<Item> {
        let item = self.inner.remove(id)?;
        let mut guard = self.lock();
        let (marker, pending) = &mut *guard;
        self.send_pending(marker, pending)?;
        self.delete(marker, pending, format!("{ITEM} == {}", to_i64(id)))?;
        Ok(item)
    }

    fn item(&self, id: ItemId) -> Result<Option<Item>> {
        self.inner.item(id)
    }

    fn items(&self) -> Result<Vec<Item>> {
        self.inner.items()
    }

    fn find_hash(&self, content_hash: &str) -> Result<Option<ItemId>> {
        self.inner.find_hash(content_hash)
    }

    fn find_path(&self, path: &Path) -> Result<Option<ItemId>> {
        self.inner.find_path(path)
    }

    fn signatures(&self, id: ItemId) -> Result<(Vec<u32>, Vec<f32>)> {
        self.inner.signatures(id)
    }

    fn search_batch(&self, queries: &[f32], k: usize) -> Result<Vec<Vec<Neighbour>>> {
        let dim = self.inner.manifest().latent_dim;
        let n = crate::check::queries(self.dir(), dim, queries)?;
        if k == 0 || n == 0 {
            return Ok(vec![Vec::new(); n]);
        }
        let hits = self.search_milvus(queries, k, dim)?;
        // As the local store does: distances computed again as exact search computes them,
        // ordered as it orders them, and signatures the catalog no longer has left out.
        let mut vector = Vec::with_capacity(dim);
        let mut out = Vec::with_capacity(n);
        for (query, ids) in queries.chunks_exact(dim).zip(hits) {
            let mut found = Vec::with_capacity(ids.len());
            for sig in ids {
                if let Some((item, offset)) = self.inner.signature_row(sig, dim, &mut vector)? {
                    found.push((squared_distance(&vector, query), sig, item, offset));
                }
            }
            found.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            found.dedup_by_key(|f| f.1);
            out.push(
                found
                    .into_iter()
                    .map(|(d2, _, item, offset)| Neighbour {
                        item,
                        offset,
                        distance: d2.sqrt(),
                    })
                    .collect(),
            );
        }
        Ok(out)
    }

    fn search_exact(&self, query: &[f32], k: usize) -> Result<Vec<Neighbour>> {
        self.inner.search_exact(query, k)
    }

    fn stats(&self) -> Result<Stats> {
        let local = self.inner.stats()?;
        let (collection, rows) = {
            let mut guard = self.lock();
            let (marker, pending) = &mut *guard;
            self.send_pending(marker, pending)?;
            (marker.collection.clone(), self.count_rows(marker, pending)?)
        };
        Ok(Stats {
            // Milvus deletes at once; the catalog's tombstones are the local graph's.
            tombstoned: 0,
            backend: format!(
                "milvus://{} collection {collection}, {rows} rows",
                self.address
            ),
            ..local
        })
    }

    fn revision(&self) -> u64 {
        self.inner.revision()
    }

    fn flush(&self) -> Result<()> {
        // The catalog only: the local graph is not kept for an index searched in Milvus.
        let writer = self.inner.writer_lock();
        self.inner.flush_catalog()?;
        let revision = writer.revision;
        let mut guard = self.lock();
        let (marker, pending) = &mut *guard;
        self.send_pending(marker, pending)?;
        if !pending.failed && marker.synced_revision != Some(revision) {
            // Every write since the last match reached Milvus without a failure.
            if marker.synced_revision.is_some() {
                marker.synced_revision = Some(revision);
                write_marker(self.dir(), marker)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!("local".parse::<Backend>(), Ok(Backend::Local));
        assert_eq!(
            "milvus://127.0.0.1:19530".parse::<Backend>(),
            Ok(Backend::Milvus {
                address: "127.0.0.1:19530".into()
            })
        );
        assert_eq!(
            "milvus://db.example:19530/".parse::<Backend>(),
            Ok(Backend::Milvus {
                address: "db.example:19530".into()
            })
        );
        for bad in [
            "milvus://host",
            "milvus://:19530",
            "milvus://h:port",
            "sled",
            "",
        ] {
            let e = bad.parse::<Backend>().expect_err(bad);
            assert!(e.contains("milvus://host:port"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_server_that_is_not_there_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        // Port 1 on loopback: nothing listens there.
        let manifest = Manifest::new(ItemKind::Audio, 4, "{}".into());
        let e = MilvusStore::create(&dir.path().join("index"), manifest, "127.0.0.1:1")
            .expect_err("no server");
        let msg = e.to_string();
        assert!(msg.contains("127.0.0.1:1"), "{msg}");
        assert!(
            !dir.path().join("index").exists(),
            "nothing is written when the server cannot be reached"
        );
    }
}
