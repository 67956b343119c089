//! The search index ([`Ivf`]: cells of signatures, an HNSW graph over their centroids) as a
//! cache of the catalog: what state it is in, and how it moves between states. Writers report
//! what they did ([`GraphCache::added`], [`GraphCache::removed`], [`GraphCache::reset`]) and
//! never touch the index itself; the next search or flush brings it up to date in one batch
//! ([`GraphCache::update`]), so an ingest builds it once.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{OnceLock, RwLock, RwLockWriteGuard};

use super::ivf::{Ivf, Rows};
use crate::catalog::{Catalog, Counters};
use crate::types::Neighbour;
use crate::{Result, StoreError};

/// The graph is rebuilt from the catalog when more than this share of it is tombstoned.
const MAX_TOMBSTONE_SHARE: f64 = 0.2;

enum GraphState {
    /// Not read from its dump yet: a one-shot process may never need it. `written`: this
    /// process changed signatures since it opened the index, so `flush` must load the graph
    /// to bring the dump up to date.
    NotLoaded { written: bool },
    /// Loaded, but the catalog has signatures from `graph.high_water` on that it lacks.
    Behind(Loaded),
    /// Loaded and holding every signature of the catalog.
    Fresh(Loaded),
}

struct Loaded {
    graph: Ivf,
    /// Removed signatures the graph still holds (the catalog's tombstones), filtered out of
    /// every search.
    dead: HashSet<u64>,
}

impl Loaded {
    fn too_dead(&self) -> bool {
        !self.dead.is_empty()
            && self.dead.len() as f64 > MAX_TOMBSTONE_SHARE * self.graph.points as f64
    }
}

/// Lock order: the store's writers' lock, then this one. Searches take it alone, shared.
pub(crate) struct GraphCache {
    /// Where the dump lives (`DIR/graph`).
    dir: PathBuf,
    state: RwLock<GraphState>,
}

impl GraphCache {
    /// The graph of an index just opened: its dump is read when first needed.
    pub fn not_loaded(index_dir: &Path) -> Self {
        Self {
            dir: index_dir.join("graph"),
            state: RwLock::new(GraphState::NotLoaded { written: false }),
        }
    }

    /// The graph of a new index: empty, and not dumped yet.
    pub fn empty(index_dir: &Path, dim: usize, generation: u64) -> Self {
        let cache = Self::not_loaded(index_dir);
        cache.reset(dim, generation, 0);
        cache
    }

    fn write(&self) -> RwLockWriteGuard<'_, GraphState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_loaded(&self) -> bool {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        !matches!(*state, GraphState::NotLoaded { .. })
    }

    /// Signatures were added to the catalog. Called with the writers' lock held, once they
    /// are durable.
    pub fn added(&self) {
        let mut state = self.write();
        *state = match std::mem::replace(&mut *state, GraphState::NotLoaded { written: true }) {
            GraphState::Fresh(l) | GraphState::Behind(l) => GraphState::Behind(l),
            GraphState::NotLoaded { .. } => GraphState::NotLoaded { written: true },
        };
    }

    /// Signatures were tombstoned in the catalog. Called with the writers' lock held.
    pub fn removed(&self, sigs: Range<u64>) {
        match &mut *self.write() {
            GraphState::Fresh(l) | GraphState::Behind(l) => l.dead.extend(sigs),
            GraphState::NotLoaded { written } => *written = true,
        }
    }

    /// Every signature was dropped (a new model): an empty graph of `generation` and `dim`
    /// replaces this one; signature ids go on from `next_sig`.
    pub fn reset(&self, dim: usize, generation: u64, next_sig: u64) {
        let mut graph = Ivf::new(dim, generation);
        graph.high_water = next_sig;
        // The graph replaced is dropped here.
        off_the_search_pool(|| {
            *self.write() = GraphState::Fresh(Loaded {
                graph,
                dead: HashSet::new(),
            })
        });
    }

    /// The `k` nearest live signatures among those of the `nprobe` cells nearest the query,
    /// or `None` when the index must first be brought up to date ([`GraphCache::update`]).
    pub fn search(&self, query: &[f32], k: usize, nprobe: usize) -> Option<Vec<Neighbour>> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        match &*state {
            GraphState::Fresh(l) => Some(l.graph.search(query, k, nprobe, &l.dead)),
            _ => None,
        }
    }

    /// Loads the graph if needed (rebuilding it when its dump is missing, stale or
    /// unreadable) and inserts what the catalog gained since. Called with the writers' lock
    /// held, so that nothing lands in the catalog meanwhile.
    pub fn update(&self, catalog: &Catalog, dim: usize, counters: &Counters) -> Result<()> {
        off_the_search_pool(|| {
            self.make_fresh(&mut self.write(), catalog, dim, counters)
                .map(drop)
        })
    }

    /// Brings the dump up to date: if this process changed signatures, the graph is loaded,
    /// caught up, rebuilt when more than a fifth of it is tombstoned, and dumped if it changed.
    /// Called with the writers' lock held.
    pub fn flush(&self, catalog: &Catalog, dim: usize, counters: &Counters) -> Result<()> {
        off_the_search_pool(|| self.flush_here(catalog, dim, counters))
    }

    fn flush_here(&self, catalog: &Catalog, dim: usize, counters: &Counters) -> Result<()> {
        let mut state = self.write();
        if matches!(*state, GraphState::NotLoaded { written: false }) {
            // The dump on disk is as good as it was when the index was opened.
            return Ok(());
        }
        let loaded = self.make_fresh(&mut state, catalog, dim, counters)?;
        if loaded.too_dead() {
            tracing::info!(
                "rebuilding the graph of {}: {} of its {} points are removed",
                self.dir.display(),
                loaded.dead.len(),
                loaded.graph.points
            );
            *loaded = rebuild(catalog, dim, counters)?;
        }
        if loaded.graph.dirty {
            loaded
                .graph
                .dump(&self.dir)
                .map_err(|source| StoreError::Io {
                    path: self.dir.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    fn make_fresh<'s>(
        &self,
        state: &'s mut GraphState,
        catalog: &Catalog,
        dim: usize,
        counters: &Counters,
    ) -> Result<&'s mut Loaded> {
        // Should any step fail, the graph is dropped and read again from its dump next time.
        let loaded = match std::mem::replace(state, GraphState::NotLoaded { written: true }) {
            GraphState::Fresh(l) => l,
            GraphState::Behind(l) => catch_up(catalog, l, dim, counters)?,
            GraphState::NotLoaded { .. } => self.load(catalog, dim, counters)?,
        };
        *state = GraphState::Fresh(loaded);
        match state {
            GraphState::Fresh(l) => Ok(l),
            _ => unreachable!("just set"),
        }
    }

    /// The dumped index, caught up with the catalog; rebuilt when there is no usable dump.
    fn load(&self, catalog: &Catalog, dim: usize, counters: &Counters) -> Result<Loaded> {
        // The dump may hold signatures removed since it was written: their tombstones hide
        // them from searches and count towards a rebuild (which clears them).
        let dead: HashSet<u64> = catalog.tombstones()?.into_iter().collect();
        match Ivf::load(&self.dir, counters.generation, dim, catalog, &dead)? {
            Some(graph) => {
                let loaded = Loaded { graph, dead };
                catch_up(catalog, loaded, dim, counters)
            }
            None => {
                tracing::info!(
                    "rebuilding the search index in {} from the catalog",
                    self.dir.display()
                );
                rebuild(catalog, dim, counters)
            }
        }
    }
}

/// Runs `work`, which takes the graph's lock and changes the graph, on a rayon pool of its own,
/// from a plain thread, and waits for it. hnsw_rs builds (`parallel_insert`) and drops (its
/// `Drop` clears points in parallel) graphs with rayon, and searches run as rayon tasks that
/// take the locks. With a lock held, a wait on the global pool can hang two ways (both seen in
/// the store's test of concurrent searches and writes on a 2-core machine): every worker is a
/// search blocked on that lock, so the graph's own work never runs; or the waiting thread, a
/// worker itself, runs a search meanwhile that blocks on the lock its own thread holds. On a
/// pool of its own no task takes a lock, and a plain thread waits without running tasks.
fn off_the_search_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    let pool = POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("latentid-graph-{i}"))
            .build()
            .ok()
    });
    std::thread::scope(|s| {
        s.spawn(|| match pool {
            Some(pool) => pool.install(work),
            None => work(),
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// Adds every catalog signature from the index's high-water mark on; trains the index afresh
/// on the whole catalog instead when it is untrained or has outgrown its centroids.
fn catch_up(
    catalog: &Catalog,
    mut loaded: Loaded,
    dim: usize,
    counters: &Counters,
) -> Result<Loaded> {
    let from = loaded.graph.high_water;
    let rows = Rows::read(catalog, from..u64::MAX, dim)?;
    if loaded.graph.should_retrain(rows.len()) {
        tracing::info!(
            "training the search index afresh: {} signatures in it, {} more",
            loaded.graph.points,
            rows.len()
        );
        // The index holds every live signature below its high-water mark: holding none, the
        // rows just read are all there are (the first build after an ingest reads them once).
        let rows = if loaded.graph.points == 0 {
            rows
        } else {
            Rows::read(catalog, 0..u64::MAX, dim)?
        };
        return train(catalog, dim, counters, rows);
    }
    loaded.graph.insert(rows);
    if loaded.graph.high_water > from {
        tracing::info!(
            "search index caught up from signature {from} to {}",
            loaded.graph.high_water
        );
    }
    Ok(loaded)
}

/// An index trained on, and holding, every live signature in the catalog; the catalog's
/// tombstones are cleared, as the new index holds none of the signatures they stand for.
fn rebuild(catalog: &Catalog, dim: usize, counters: &Counters) -> Result<Loaded> {
    train(
        catalog,
        dim,
        counters,
        Rows::read(catalog, 0..u64::MAX, dim)?,
    )
}

/// [`rebuild`] with every live signature already read.
fn train(catalog: &Catalog, dim: usize, counters: &Counters, rows: Rows) -> Result<Loaded> {
    let mut graph = Ivf::train(dim, counters.generation, rows);
    graph.high_water = graph.high_water.max(counters.next_sig);
    let mut batch = catalog.batch();
    batch.clear_tombstones(catalog.tombstones()?);
    catalog.commit(batch)?;
    Ok(Loaded {
        graph,
        dead: HashSet::new(),
    })
}
