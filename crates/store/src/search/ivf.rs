//! Approximate search: an inverted file over the signatures. The signatures are split into
//! cells of about [`CELL_SIZE`] around centroids, and an HNSW graph (hnsw_rs, Euclidean) over
//! the centroids finds the cells nearest a query; every signature in the `nprobe` nearest cells
//! is then scored exactly. The graph holds one point per cell, not one per signature: hnsw_rs
//! keeps ~3.4 KB per point in memory and takes ~25 µs per point to reload, which at one point
//! per signature (14,000 per audio hour) would be 48 MB and 0.35 s per hour of music. The cells
//! hold the signatures as half floats (64 bytes at 32 dimensions) with their ids and owners.
//!
//! Centroids are signatures sampled evenly over the index when it is trained (the first time
//! it is searched or flushed with signatures, and again whenever it has grown
//! [`REGROW`]-fold since): on real signatures, recall@10 against exact search is 0.98 at
//! `nprobe` 64 while scoring ~2000 signatures per query (benches/RESULTS.md, "A 1000-hour
//! library"). Signatures added later join the cell of their nearest centroid.

use std::collections::{BinaryHeap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use hnsw_rs::prelude::{AnnT, DistL2, Hnsw, HnswIo};
use serde::{Deserialize, Serialize};

use super::exact::squared_distance;
use crate::catalog::{widen, Catalog};
use crate::types::{ItemId, Neighbour};
use crate::Result;

/// Signatures per cell, on average, when the index is trained.
const CELL_SIZE: usize = 32;
/// The index is trained again once it holds this many times the signatures it was trained on.
const REGROW: usize = 4;
/// Beam width when a new signature looks for its cell.
const ASSIGN_EF: usize = 32;

/// Graph build parameters, fixed so that a rebuilt index answers like the original: 16 links
/// per node, a construction beam of 100, hnsw_rs's usual layer cap. Batches of at least
/// [`PARALLEL_MIN`] centroids (or signatures looking for their cell) are handled on all cores;
/// smaller ones serially, which is reproducible under hnsw_rs's fixed level seed.
const MAX_CONNECTIONS: usize = 16;
const EF_CONSTRUCTION: usize = 100;
const PARALLEL_MIN: usize = 1024;
const MAX_LAYER: usize = 16;
const BASENAME: &str = "centroids";
const SIDECAR: &str = "graph.json";
const CELLS: &str = "cells.bin";

/// What a dump holds, written after the dump files so a half-written dump is never trusted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Sidecar {
    pub basename: String,
    pub generation: u64,
    /// Every signature id below this that existed when it was inserted is in a cell.
    pub high_water: u64,
    /// Signatures in the cells.
    pub points: usize,
    pub dim: usize,
    /// Cells (centroids in the graph).
    #[serde(default)]
    pub cells: usize,
    /// Signatures the centroids were chosen from.
    #[serde(default)]
    pub trained_for: usize,
    /// Each dump file's name, length and content hash: hnsw_rs exits the whole process on
    /// some damaged dumps (a truncated data file), so a dump is checked before it is handed
    /// over.
    #[serde(default)]
    pub files: Vec<(String, u64, u64)>,
}

/// Length and content hash of a file, read in pieces.
fn fingerprint(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::hash::Hasher;
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.write(&buf[..n]);
        len += n as u64;
    }
    Ok((len, h.finish()))
}

/// Signatures read from the catalog: ids, owners and half-float codes, in id order.
#[derive(Default)]
pub(crate) struct Rows {
    pub sigs: Vec<u64>,
    pub items: Vec<ItemId>,
    pub offsets: Vec<u32>,
    /// `2 * dim` bytes per row.
    pub codes: Vec<u8>,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.sigs.len()
    }

    /// Every signature of the catalog with an id in `ids`.
    pub fn read(catalog: &Catalog, ids: std::ops::Range<u64>, dim: usize) -> Result<Rows> {
        let mut rows = Rows::default();
        catalog.each_block(ids.clone(), dim, |first, block| {
            for i in 0..block.len() {
                let sig = first + i as u64;
                if ids.contains(&sig) {
                    rows.sigs.push(sig);
                    rows.items.push(block.item);
                    rows.offsets.push(block.offset(i));
                    rows.codes.extend_from_slice(block.code(i));
                }
            }
        })?;
        Ok(rows)
    }
}

/// One cell's signatures.
#[derive(Default)]
struct Cell {
    sigs: Vec<u64>,
    items: Vec<ItemId>,
    offsets: Vec<u32>,
    codes: Vec<u8>,
}

pub(crate) struct Ivf {
    /// The centroids, ids = cell numbers; `None` until trained.
    coarse: Option<Hnsw<'static, f32, DistL2>>,
    cells: Vec<Cell>,
    pub generation: u64,
    /// Every catalog signature below this id is in a cell (unless it was removed first).
    pub high_water: u64,
    /// Signatures in the cells.
    pub points: usize,
    pub dim: usize,
    trained_for: usize,
    /// Changed since the last dump.
    pub dirty: bool,
}

impl Ivf {
    /// An empty, untrained index.
    pub fn new(dim: usize, generation: u64) -> Self {
        Self {
            coarse: None,
            cells: Vec::new(),
            generation,
            high_water: 0,
            points: 0,
            dim,
            trained_for: 0,
            dirty: true,
        }
    }

    /// Trained on `rows` (all the live signatures) and holding them.
    pub fn train(dim: usize, generation: u64, rows: Rows) -> Self {
        let mut ivf = Self::new(dim, generation);
        let n = rows.len();
        if n > 0 {
            let k = n.div_ceil(CELL_SIZE);
            // Evenly over the rows (in id order: over every item and through each one).
            let mut centroids = Vec::with_capacity(k * dim);
            let mut v = Vec::with_capacity(dim);
            for j in 0..k {
                let r = (j * n + n / 2) / k;
                widen(&rows.codes[2 * dim * r..2 * dim * (r + 1)], &mut v);
                centroids.extend_from_slice(&v);
            }
            let hnsw = Hnsw::new(
                MAX_CONNECTIONS,
                k.max(1024),
                MAX_LAYER,
                EF_CONSTRUCTION,
                DistL2 {},
            );
            let points: Vec<(&[f32], usize)> = centroids.chunks_exact(dim).zip(0..).collect();
            on_all_cores(points.len(), |range| {
                for &p in &points[range] {
                    hnsw.insert_slice(p);
                }
                Vec::<()>::new()
            });
            ivf.coarse = Some(hnsw);
            ivf.cells = (0..k).map(|_| Cell::default()).collect();
            ivf.trained_for = n;
        }
        ivf.insert(rows);
        ivf
    }

    /// Whether rows of `incoming` more signatures should go into a freshly trained index
    /// rather than into these cells.
    pub fn should_retrain(&self, incoming: usize) -> bool {
        incoming > 0
            && (self.coarse.is_none() || self.points + incoming > REGROW * self.trained_for)
    }

    /// Adds signatures, each to the cell of its nearest centroid. Untrained, it only moves
    /// the high-water mark (there are no rows, or [`Ivf::should_retrain`] was ignored).
    pub fn insert(&mut self, rows: Rows) {
        if let Some(&last) = rows.sigs.last() {
            self.high_water = self.high_water.max(last + 1);
        }
        let Some(coarse) = &self.coarse else {
            return;
        };
        let dim = self.dim;
        let cells = on_all_cores(rows.len(), |range| {
            let mut v = Vec::with_capacity(dim);
            range
                .map(|r| {
                    widen(&rows.codes[2 * dim * r..2 * dim * (r + 1)], &mut v);
                    coarse
                        .search(&v, 1, ASSIGN_EF)
                        .first()
                        .map_or(0, |h| h.d_id)
                })
                .collect()
        });
        let last = self.cells.len() - 1;
        for (r, &c) in cells.iter().enumerate() {
            let cell = &mut self.cells[c.min(last)];
            cell.sigs.push(rows.sigs[r]);
            cell.items.push(rows.items[r]);
            cell.offsets.push(rows.offsets[r]);
            cell.codes
                .extend_from_slice(&rows.codes[2 * dim * r..2 * dim * (r + 1)]);
        }
        self.points += rows.len();
        self.dirty |= rows.len() > 0;
    }

    /// The `k` nearest signatures not in `dead` among those of the `nprobe` cells nearest
    /// `query`: (squared distance, signature id, item, offset), nearest first, ties by id.
    /// Distances are those exact search computes, to the last bit.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        nprobe: usize,
        dead: &HashSet<u64>,
    ) -> Vec<Neighbour> {
        let Some(coarse) = &self.coarse else {
            return Vec::new();
        };
        if k == 0 {
            return Vec::new();
        }
        let nprobe = nprobe.max(1);
        let cells = coarse.search(query, nprobe, 2 * nprobe);
        let mut heap: BinaryHeap<Candidate> = BinaryHeap::with_capacity(k + 1);
        let mut v = Vec::with_capacity(self.dim);
        for hit in cells {
            let Some(cell) = self.cells.get(hit.d_id) else {
                continue;
            };
            for (r, code) in cell.codes.chunks_exact(2 * self.dim).enumerate() {
                let sig = cell.sigs[r];
                if dead.contains(&sig) {
                    continue;
                }
                widen(code, &mut v);
                let c = Candidate {
                    d2: squared_distance(&v, query),
                    sig,
                    item: cell.items[r],
                    offset: cell.offsets[r],
                };
                if heap.len() < k {
                    heap.push(c);
                } else if heap.peek().is_some_and(|worst| c < *worst) {
                    heap.pop();
                    heap.push(c);
                }
            }
        }
        heap.into_sorted_vec()
            .into_iter()
            .map(|c| Neighbour {
                item: c.item,
                offset: c.offset,
                distance: c.d2.sqrt(),
            })
            .collect()
    }

    /// What the dump in `dir` holds, if there is a readable one.
    pub fn sidecar(dir: &Path) -> Option<Sidecar> {
        let bytes = match std::fs::read(dir.join(SIDECAR)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!("search index dump in {} unreadable: {e}", dir.display());
                return None;
            }
        };
        serde_json::from_slice(&bytes)
            .inspect_err(|e| {
                tracing::warn!("search index dump in {} unreadable: {e}", dir.display())
            })
            .ok()
    }

    /// Loads the dump in `dir` if it is there, whole, and of this generation and size, with
    /// the signatures it lists read from `catalog` (those removed since are left out); `None`
    /// (with the reason logged) means it must be rebuilt.
    pub fn load(
        dir: &Path,
        generation: u64,
        dim: usize,
        catalog: &Catalog,
    ) -> Result<Option<Self>> {
        let Some(sidecar) = Self::sidecar(dir) else {
            return Ok(None);
        };
        if sidecar.generation != generation || sidecar.dim != dim {
            tracing::info!(
                "search index dump is stale (generation {} vs {generation}, dim {} vs {dim})",
                sidecar.generation,
                sidecar.dim
            );
            return Ok(None);
        }
        let mut ivf = Self::new(dim, generation);
        ivf.high_water = sidecar.high_water;
        ivf.trained_for = sidecar.trained_for;
        ivf.dirty = false;
        if sidecar.cells == 0 {
            return Ok((sidecar.points == 0).then_some(ivf));
        }
        if sidecar.files.is_empty() {
            tracing::info!("search index dump in {} lists no files", dir.display());
            return Ok(None);
        }
        for (name, len, hash) in &sidecar.files {
            match fingerprint(&dir.join(name)) {
                Ok(f) if f == (*len, *hash) => {}
                found => {
                    tracing::warn!(
                        "search index dump in {} is damaged ({name}: {found:?}, expected {len} \
                         bytes): rebuilding it from the catalog",
                        dir.display()
                    );
                    return Ok(None);
                }
            }
        }
        let Some(coarse) = load_graph(dir, &sidecar.basename) else {
            return Ok(None);
        };
        if coarse.get_nb_point() != sidecar.cells {
            tracing::warn!(
                "search index dump holds {} centroids, its sidecar says {}",
                coarse.get_nb_point(),
                sidecar.cells
            );
            return Ok(None);
        }
        let assignment = match std::fs::read(dir.join(CELLS)) {
            Ok(b) if b.len() == 12 * sidecar.points => b,
            Ok(b) => {
                tracing::warn!(
                    "search index dump: {} holds {} bytes, expected {}",
                    CELLS,
                    b.len(),
                    12 * sidecar.points
                );
                return Ok(None);
            }
            Err(e) => {
                tracing::warn!("search index dump in {} unreadable: {e}", dir.display());
                return Ok(None);
            }
        };
        ivf.coarse = Some(coarse);
        ivf.cells = (0..sidecar.cells).map(|_| Cell::default()).collect();
        // Both in id order: walk the assignment alongside the catalog's signatures.
        let mut listed = assignment.chunks_exact(12).map(|r| {
            let sig = u64::from_le_bytes(r[..8].try_into().unwrap_or_default());
            let cell = u32::from_le_bytes(r[8..].try_into().unwrap_or_default());
            (sig, cell as usize)
        });
        let mut next = listed.next();
        let mut consistent = true;
        catalog.each_block(0..sidecar.high_water, dim, |first, block| {
            for i in 0..block.len() {
                let sig = first + i as u64;
                if sig >= sidecar.high_water {
                    break;
                }
                // Signatures listed but gone from the catalog were removed: skipped.
                while next.is_some_and(|(s, _)| s < sig) {
                    next = listed.next();
                }
                match next {
                    Some((s, c)) if s == sig && c < ivf.cells.len() => {
                        let cell = &mut ivf.cells[c];
                        cell.sigs.push(sig);
                        cell.items.push(block.item);
                        cell.offsets.push(block.offset(i));
                        cell.codes.extend_from_slice(block.code(i));
                        ivf.points += 1;
                    }
                    _ => consistent = false,
                }
            }
        })?;
        if !consistent {
            tracing::warn!(
                "search index dump in {} does not list every signature below its high-water mark",
                dir.display()
            );
            return Ok(None);
        }
        Ok(Some(ivf))
    }

    /// Dumps into a fresh directory, then swaps it in with renames: a crash leaves either the
    /// old dump, the new one, or none (rebuilt on open) — never a mix.
    pub fn dump(&mut self, dir: &Path) -> std::io::Result<()> {
        let parent = dir.parent().unwrap_or(Path::new("."));
        let tmp = parent.join("graph.tmp");
        let old = parent.join("graph.old");
        remove_dir_if_there(&tmp)?;
        remove_dir_if_there(&old)?;
        fs_err::create_dir_all(&tmp)?;
        let basename = match &self.coarse {
            Some(coarse) => coarse.file_dump(&tmp, BASENAME).map_err(|e| {
                std::io::Error::other(format!("dumping into {}: {e}", tmp.display()))
            })?,
            None => BASENAME.to_string(),
        };
        let mut assignment: Vec<(u64, u32)> = Vec::with_capacity(self.points);
        for (c, cell) in self.cells.iter().enumerate() {
            assignment.extend(cell.sigs.iter().map(|&s| (s, c as u32)));
        }
        assignment.sort_unstable();
        let mut bytes = Vec::with_capacity(12 * assignment.len());
        for (s, c) in &assignment {
            bytes.extend_from_slice(&s.to_le_bytes());
            bytes.extend_from_slice(&c.to_le_bytes());
        }
        fs_err::write(tmp.join(CELLS), bytes)?;
        let mut files = Vec::new();
        for entry in fs_err::read_dir(&tmp)? {
            let path = entry?.path();
            fs_err::File::open(&path)?.sync_all()?;
            let (len, hash) = fingerprint(&path)?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push((name, len, hash));
        }
        files.sort();
        let sidecar = Sidecar {
            basename,
            generation: self.generation,
            high_water: self.high_water,
            points: assignment.len(),
            dim: self.dim,
            cells: self.cells.len(),
            trained_for: self.trained_for,
            files,
        };
        let body = serde_json::to_vec_pretty(&sidecar).map_err(std::io::Error::other)?;
        fs_err::write(tmp.join(SIDECAR), body)?;
        fs_err::File::open(tmp.join(SIDECAR))?.sync_all()?;
        if dir.exists() {
            fs_err::rename(dir, &old)?;
        }
        fs_err::rename(&tmp, dir)?;
        remove_dir_if_there(&old)?;
        self.dirty = false;
        Ok(())
    }
}

/// `work` over `0..n` split into one contiguous range per core (serially below
/// [`PARALLEL_MIN`]), results in order. Plain threads, not rayon: this runs with the index's
/// write lock held, often from inside a rayon task (a parallel batch of searches that found
/// the index behind); a rayon join there could steal another search of the same batch, which
/// would then wait for the lock its own thread holds.
fn on_all_cores<T: Send>(
    n: usize,
    work: impl Fn(std::ops::Range<usize>) -> Vec<T> + Sync,
) -> Vec<T> {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    if n < PARALLEL_MIN || cores == 1 {
        return work(0..n);
    }
    let chunk = n.div_ceil(cores);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                let work = &work;
                s.spawn(move || work(start..(start + chunk).min(n)))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// The centroid graph dumped in `dir`, or `None` (logged) when it is unreadable.
fn load_graph(dir: &Path, basename: &str) -> Option<Hnsw<'static, f32, DistL2>> {
    let path = dir.to_path_buf();
    let basename = basename.to_string();
    // The reloaded graph borrows its loader for its whole life; the loader is a few paths and
    // options, leaked once per load so the graph can be 'static. hnsw_rs panics on some
    // damaged dumps: that is one more unreadable dump.
    let loaded = catch_unwind(AssertUnwindSafe(move || {
        let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(&path, &basename)));
        io.load_hnsw::<f32, DistL2>().map_err(|e| e.to_string())
    }));
    match loaded {
        Ok(Ok(h)) => Some(h),
        Ok(Err(e)) => {
            tracing::warn!("search index dump in {} unreadable: {e}", dir.display());
            None
        }
        Err(_) => {
            tracing::warn!(
                "search index dump in {} unreadable (hnsw_rs panicked)",
                dir.display()
            );
            None
        }
    }
}

/// A scored signature; ordered by distance, then id (the order exact search reports).
#[derive(Clone, Copy, Debug)]
struct Candidate {
    d2: f32,
    sig: u64,
    item: ItemId,
    offset: u32,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.d2.total_cmp(&other.d2).then(self.sig.cmp(&other.sig))
    }
}

fn remove_dir_if_there(dir: &Path) -> std::io::Result<()> {
    match fs_err::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
