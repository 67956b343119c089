//! Approximate search: an inverted file over the signatures. The signatures are split into
//! cells of about [`CELL_SIZE`] around centroids, and an HNSW graph (hnsw_rs, Euclidean) over
//! the centroids finds the cells nearest a query; every signature in the `nprobe` nearest cells
//! is then scored exactly. The graph holds one point per cell, not one per signature: hnsw_rs
//! keeps ~3.4 KB per point in memory and takes ~25 µs per point to reload, which at one point
//! per signature (14,000 per audio hour) would be 48 MB and 0.35 s per hour of music. The cells
//! hold the signatures as half floats (64 bytes at 32 dimensions) with their ids and owners,
//! and are dumped whole beside the graph (a second copy of the catalog's codes on disk, ~84
//! bytes per signature, for a load that reads files in sequence instead of the catalog).
//!
//! Centroids are signatures sampled evenly over the index when it is trained (the first time
//! it is searched or flushed with signatures, and again whenever it has grown
//! [`REGROW`]-fold since), then moved by [`KMEANS_STEPS`] k-means steps to the middle of the
//! signatures nearest them. On 4.27 M real signatures of the centred audio front end, recall@10
//! against exact search at `nprobe` 128 (the default) / 256 / 384 / 512 is 0.898 / 0.940 /
//! 0.959 / 0.972 with the steps and 0.848 / 0.912 / 0.940 / 0.956 without: sampled centroids
//! split a query's true neighbours over more cells (benches/RESULTS.md, "A 1000-hour library").
//! Signatures added later join the cell of their nearest centroid.

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
/// k-means steps that move the sampled centroids to the middle of their cells when the index
/// is trained, on about this many sampled signatures per cell.
const KMEANS_STEPS: usize = 3;
const KMEANS_SAMPLE: usize = 8;

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
/// The layout of [`CELLS`]: every cell's rows (see [`write_cells`]).
const LAYOUT: u32 = 2;

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
    /// How [`CELLS`] is laid out ([`LAYOUT`]); 0 in dumps that listed only each signature's
    /// cell.
    #[serde(default)]
    pub layout: u32,
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
            let step = (n / (KMEANS_SAMPLE * k)).max(1);
            for _ in 0..KMEANS_STEPS {
                let graph = centroid_graph(&centroids, dim);
                let nearest = assign(&graph, &rows, step, dim);
                centroids = means(&rows, step, &nearest, centroids, dim);
            }
            ivf.coarse = Some(centroid_graph(&centroids, dim));
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
        let cells = assign(coarse, &rows, 1, dim);
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

    /// Loads the dump in `dir` if it is there, whole, of this generation and size, and holding
    /// exactly `catalog`'s live signatures below its high-water mark besides those in `dead`
    /// (the catalog's tombstones, which searches skip); `None` (with the reason logged) means
    /// it must be rebuilt.
    /// The dump holds the cells' rows themselves, so a load reads three files in sequence and
    /// never a signature from the catalog.
    pub fn load(
        dir: &Path,
        generation: u64,
        dim: usize,
        catalog: &Catalog,
        dead: &HashSet<u64>,
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
        let started = std::time::Instant::now();
        let mut ivf = Self::new(dim, generation);
        ivf.high_water = sidecar.high_water;
        ivf.trained_for = sidecar.trained_for;
        ivf.dirty = false;
        if sidecar.cells == 0 {
            return Ok((sidecar.points == 0).then_some(ivf));
        }
        if sidecar.layout != LAYOUT {
            tracing::info!(
                "search index dump in {} has an older layout: rebuilding it",
                dir.display()
            );
            return Ok(None);
        }
        if sidecar.files.is_empty() {
            tracing::info!("search index dump in {} lists no files", dir.display());
            return Ok(None);
        }
        // The cells, the largest file by far, are checked as they are read.
        let Some(&(_, _, cells_hash)) = sidecar.files.iter().find(|(name, ..)| name == CELLS)
        else {
            tracing::info!("search index dump in {} lists no {CELLS}", dir.display());
            return Ok(None);
        };
        for (name, len, hash) in sidecar.files.iter().filter(|(name, ..)| name != CELLS) {
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
        let cells = match read_cells(
            &dir.join(CELLS),
            (sidecar.cells, sidecar.points, dim),
            cells_hash,
        ) {
            Ok(cells) => cells,
            Err(e) => {
                tracing::warn!("search index dump in {} unreadable: {e}", dir.display());
                return Ok(None);
            }
        };
        // The dump must hold exactly the catalog's live signatures below its high-water mark
        // once the tombstoned ones are left out: anything else (a dump older than a retrain
        // that cleared the tombstones of signatures it still holds, say) is rebuilt.
        let held = cells
            .iter()
            .flat_map(|c| &c.sigs)
            .filter(|s| !dead.contains(s))
            .count();
        let mut live = 0usize;
        for record in catalog.records() {
            let ids = record?.sig_ids();
            live += ids.end.min(sidecar.high_water).saturating_sub(ids.start) as usize;
        }
        if held != live {
            tracing::warn!(
                "search index dump in {} holds {held} live signatures below {}, the catalog {live}",
                dir.display(),
                sidecar.high_water
            );
            return Ok(None);
        }
        ivf.coarse = Some(coarse);
        ivf.points = sidecar.points;
        ivf.cells = cells;
        tracing::info!(
            "search index loaded from {}: {} signatures in {} cells, {:.2} s",
            dir.display(),
            ivf.points,
            sidecar.cells,
            started.elapsed().as_secs_f64()
        );
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
        write_cells(&tmp.join(CELLS), &self.cells)?;
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
            points: self.points,
            dim: self.dim,
            cells: self.cells.len(),
            trained_for: self.trained_for,
            layout: LAYOUT,
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

/// Writes every cell's rows to `path`, column by column so that a load reads each column of
/// each cell in one piece: the rows per cell (u32 each), then every cell's signature ids
/// (u64), owners (u64), offsets (u32) and half-float codes (`2 * dim` bytes), all little
/// endian, cells in order.
fn write_cells(path: &Path, cells: &[Cell]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, fs_err::File::create(path)?);
    for c in cells {
        out.write_all(&(c.sigs.len() as u32).to_le_bytes())?;
    }
    for c in cells {
        c.sigs
            .iter()
            .try_for_each(|s| out.write_all(&s.to_le_bytes()))?;
    }
    for c in cells {
        c.items
            .iter()
            .try_for_each(|i| out.write_all(&i.to_le_bytes()))?;
    }
    for c in cells {
        c.offsets
            .iter()
            .try_for_each(|o| out.write_all(&o.to_le_bytes()))?;
    }
    for c in cells {
        out.write_all(&c.codes)?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// The cells [`write_cells`] wrote, read in one sequential pass; the file must hold exactly
/// `cells` cells of `points` rows of `dim` values in all, and hash to `hash` as
/// [`fingerprint`] hashes it.
fn read_cells(
    path: &Path,
    (cells, points, dim): (usize, usize, usize),
    hash: u64,
) -> std::io::Result<Vec<Cell>> {
    use std::hash::Hasher;
    use std::io::Read;
    let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let file = fs_err::File::open(path)?;
    let expected = 4 * cells as u64 + points as u64 * (8 + 8 + 4 + 2 * dim as u64);
    let len = file.metadata()?.len();
    if len != expected {
        return Err(bad(format!(
            "{} holds {len} bytes, expected {expected}",
            path.display()
        )));
    }
    let hashing = Hashing {
        inner: file,
        hasher: std::collections::hash_map::DefaultHasher::new(),
    };
    let mut input = std::io::BufReader::with_capacity(1 << 20, hashing);
    let mut buf = vec![0u8; 4 * cells];
    input.read_exact(&mut buf)?;
    let counts: Vec<usize> = buf
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    if counts.iter().sum::<usize>() != points {
        return Err(bad(format!(
            "{}: its cells do not add up to {points} rows",
            path.display()
        )));
    }
    let mut out: Vec<Cell> = counts
        .iter()
        .map(|&n| Cell {
            sigs: Vec::with_capacity(n),
            items: Vec::with_capacity(n),
            offsets: Vec::with_capacity(n),
            codes: vec![0; 2 * dim * n],
        })
        .collect();
    let mut column = |width: usize, push: &mut dyn FnMut(&mut Cell, &[u8])| {
        for (cell, &n) in out.iter_mut().zip(&counts) {
            buf.resize(width * n, 0);
            input.read_exact(&mut buf)?;
            push(cell, &buf);
        }
        std::io::Result::Ok(())
    };
    column(8, &mut |c, b| {
        c.sigs
            .extend(b.chunks_exact(8).map(|x| u64::from_le_bytes(le8(x))))
    })?;
    column(8, &mut |c, b| {
        c.items
            .extend(b.chunks_exact(8).map(|x| u64::from_le_bytes(le8(x))))
    })?;
    column(4, &mut |c, b| {
        c.offsets.extend(
            b.chunks_exact(4)
                .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]])),
        )
    })?;
    column(2 * dim, &mut |c, b| c.codes.copy_from_slice(b))?;
    // Every byte of the file has been read (its length is the one expected), so hashed.
    if input.into_inner().hasher.finish() != hash {
        return Err(bad(format!("{} does not hash as written", path.display())));
    }
    Ok(out)
}

/// A reader that hashes what passes through it, as [`fingerprint`] hashes a file.
struct Hashing<R> {
    inner: R,
    hasher: std::collections::hash_map::DefaultHasher,
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::hash::Hasher;
        let n = self.inner.read(buf)?;
        self.hasher.write(&buf[..n]);
        Ok(n)
    }
}

fn le8(b: &[u8]) -> [u8; 8] {
    b.try_into().unwrap_or_default()
}

/// An HNSW graph over `centroids` (ids = their order).
fn centroid_graph(centroids: &[f32], dim: usize) -> Hnsw<'static, f32, DistL2> {
    let k = centroids.len() / dim;
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
    hnsw
}

/// The cell (nearest centroid in `graph`) of every `step`-th row of `rows` (0, step, ...).
fn assign(graph: &Hnsw<'static, f32, DistL2>, rows: &Rows, step: usize, dim: usize) -> Vec<usize> {
    on_all_cores(rows.len().div_ceil(step), |range| {
        let mut v = Vec::with_capacity(dim);
        range
            .map(|i| {
                let r = i * step;
                widen(&rows.codes[2 * dim * r..2 * dim * (r + 1)], &mut v);
                graph.search(&v, 1, ASSIGN_EF).first().map_or(0, |h| h.d_id)
            })
            .collect()
    })
}

/// One k-means step: each centroid moves to the mean of the rows nearest it among every
/// `step`-th (`nearest`, from [`assign`]); one that none is nearest stays where it is.
fn means(rows: &Rows, step: usize, nearest: &[usize], old: Vec<f32>, dim: usize) -> Vec<f32> {
    let k = old.len() / dim;
    let mut sum = vec![0f64; k * dim];
    let mut count = vec![0usize; k];
    let mut v = Vec::with_capacity(dim);
    for (i, &c) in nearest.iter().enumerate() {
        let (r, c) = (i * step, c.min(k - 1));
        widen(&rows.codes[2 * dim * r..2 * dim * (r + 1)], &mut v);
        for (s, x) in sum[c * dim..(c + 1) * dim].iter_mut().zip(&v) {
            *s += f64::from(*x);
        }
        count[c] += 1;
    }
    let mut out = old;
    for c in 0..k {
        if count[c] > 0 {
            for d in 0..dim {
                out[c * dim + d] = (sum[c * dim + d] / count[c] as f64) as f32;
            }
        }
    }
    out
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
