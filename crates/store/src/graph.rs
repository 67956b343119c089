//! The HNSW graph: a cache of the catalog's signatures, dumped beside it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use hnsw_rs::prelude::{AnnT, DistL2, Hnsw, HnswIo};
use serde::{Deserialize, Serialize};

/// Build parameters, fixed so that a rebuilt graph answers like the original: 16 links per
/// node, a construction beam of 100 (200 builds at half the speed for ~1 point of recall@10 on
/// random vectors, none measurable on real signatures: benches/RESULTS.md, "Signature store"),
/// and hnsw_rs's usual layer cap.
const MAX_CONNECTIONS: usize = 16;
const EF_CONSTRUCTION: usize = 100;
/// Batches at least this large are inserted on all cores (`parallel_insert_slice`); smaller
/// ones serially, which is reproducible under hnsw_rs's fixed level seed. Parallel insertion
/// can, under contention, leave a point with weaker links than a serial build would; the
/// store benchmark measures recall and self-retrieval of parallel-built graphs.
const PARALLEL_MIN: usize = 1024;
const MAX_LAYER: usize = 16;
const BASENAME: &str = "latentid";
const SIDECAR: &str = "graph.json";

/// What a dump holds, written after the dump files so a half-written dump is never trusted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Sidecar {
    pub basename: String,
    pub generation: u64,
    /// Every signature id below this that existed when it was inserted is in the graph.
    pub high_water: u64,
    pub points: usize,
    pub dim: usize,
}

pub(crate) struct Graph {
    pub hnsw: Hnsw<'static, f32, DistL2>,
    pub generation: u64,
    pub high_water: u64,
    pub points: usize,
    pub dim: usize,
    /// Changed since the last dump.
    pub dirty: bool,
}

impl Graph {
    pub fn new(dim: usize, capacity: usize, generation: u64) -> Self {
        Self {
            hnsw: Hnsw::new(
                MAX_CONNECTIONS,
                capacity.max(1024),
                MAX_LAYER,
                EF_CONSTRUCTION,
                DistL2 {},
            ),
            generation,
            high_water: 0,
            points: 0,
            dim,
            dirty: true,
        }
    }

    /// Inserts `ids.len()` vectors (row-major in `vectors`): in parallel when the batch is
    /// large (a rebuild, or catching up after an ingest), serially otherwise.
    pub fn insert_batch(&mut self, vectors: &[f32], ids: &[u64]) {
        let items: Vec<(&[f32], usize)> = vectors
            .chunks_exact(self.dim)
            .zip(ids)
            .map(|(v, &id)| (v, id as usize))
            .collect();
        if items.len() >= PARALLEL_MIN {
            self.hnsw.parallel_insert_slice(&items);
        } else {
            for &item in &items {
                self.hnsw.insert_slice(item);
            }
        }
        self.points += items.len();
        if let Some(&last) = ids.iter().max() {
            self.high_water = self.high_water.max(last + 1);
        }
        self.dirty |= !items.is_empty();
    }

    /// Loads the dump in `dir` if it is there, whole, and of this generation and size.
    pub fn load(dir: &Path, generation: u64, dim: usize) -> Option<Self> {
        let sidecar: Sidecar =
            serde_json::from_slice(&std::fs::read(dir.join(SIDECAR)).ok()?).ok()?;
        if sidecar.generation != generation || sidecar.dim != dim {
            tracing::info!(
                "graph dump is stale (generation {} vs {generation}, dim {} vs {dim})",
                sidecar.generation,
                sidecar.dim
            );
            return None;
        }
        if sidecar.points == 0 {
            let mut g = Self::new(dim, 1024, generation);
            g.dirty = false;
            return Some(g);
        }
        let dir = dir.to_path_buf();
        let basename = sidecar.basename.clone();
        // The reloaded graph borrows its loader for its whole life; the loader is a few
        // paths and options, leaked once per open so the graph can be 'static inside Store.
        let hnsw = catch_unwind(AssertUnwindSafe(move || {
            let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(&dir, &basename)));
            io.load_hnsw::<f32, DistL2>().ok()
        }))
        .ok()
        .flatten()?;
        if hnsw.get_nb_point() != sidecar.points {
            tracing::warn!(
                "graph dump holds {} points, its sidecar says {}",
                hnsw.get_nb_point(),
                sidecar.points
            );
            return None;
        }
        Some(Self {
            hnsw,
            generation,
            high_water: sidecar.high_water,
            points: sidecar.points,
            dim,
            dirty: false,
        })
    }

    /// Dumps into a fresh directory, then swaps it in with renames: a crash leaves either the
    /// old dump, the new one, or none (rebuilt on open) — never a mix.
    pub fn dump(&mut self, dir: &Path) -> std::io::Result<()> {
        let parent = dir.parent().unwrap_or(Path::new("."));
        let tmp = parent.join("graph.tmp");
        let old = parent.join("graph.old");
        let _ = std::fs::remove_dir_all(&tmp);
        let _ = std::fs::remove_dir_all(&old);
        std::fs::create_dir_all(&tmp)?;
        let basename = if self.points > 0 {
            self.hnsw
                .file_dump(&tmp, BASENAME)
                .map_err(|e| std::io::Error::other(e.to_string()))?
        } else {
            BASENAME.to_string()
        };
        for entry in std::fs::read_dir(&tmp)? {
            std::fs::File::open(entry?.path())?.sync_all()?;
        }
        let sidecar = Sidecar {
            basename,
            generation: self.generation,
            high_water: self.high_water,
            points: self.points,
            dim: self.dim,
        };
        let body = serde_json::to_vec_pretty(&sidecar).map_err(std::io::Error::other)?;
        std::fs::write(tmp.join(SIDECAR), body)?;
        std::fs::File::open(tmp.join(SIDECAR))?.sync_all()?;
        if dir.exists() {
            std::fs::rename(dir, &old)?;
        }
        std::fs::rename(&tmp, dir)?;
        let _ = std::fs::remove_dir_all(&old);
        self.dirty = false;
        Ok(())
    }
}
