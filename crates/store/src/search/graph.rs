//! The HNSW graph (hnsw_rs, Euclidean) over signature ids, and its dump on disk.

use std::collections::HashSet;
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
    /// Each dump file's name, length and content hash: hnsw_rs exits the whole process on
    /// some damaged dumps (a truncated data file), so a dump is checked before it is handed
    /// over. Empty in dumps written before this was kept (those are trusted).
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

pub(crate) struct Graph {
    hnsw: Hnsw<'static, f32, DistL2>,
    pub generation: u64,
    /// Every catalog signature below this id is in the graph (unless it was removed first).
    pub high_water: u64,
    pub points: usize,
    pub dim: usize,
    /// Changed since the last dump.
    pub dirty: bool,
}

impl Graph {
    /// An empty graph that expects about `capacity` points.
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

    /// The `k` nearest signature ids not in `dead`, with their distances, nearest first.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        dead: &HashSet<u64>,
    ) -> Vec<(u64, f32)> {
        let hits = if dead.is_empty() {
            self.hnsw.search(query, k, ef)
        } else {
            let alive = |id: &usize| !dead.contains(&(*id as u64));
            self.hnsw.search_filter(query, k, ef, Some(&alive))
        };
        hits.into_iter()
            .map(|h| (h.d_id as u64, h.distance))
            .collect()
    }

    /// What the dump in `dir` holds, if there is a readable one.
    pub fn sidecar(dir: &Path) -> Option<Sidecar> {
        let bytes = match std::fs::read(dir.join(SIDECAR)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!("graph dump in {} unreadable: {e}", dir.display());
                return None;
            }
        };
        serde_json::from_slice(&bytes)
            .inspect_err(|e| tracing::warn!("graph dump in {} unreadable: {e}", dir.display()))
            .ok()
    }

    /// Loads the dump in `dir` if it is there, whole, and of this generation and size; `None`
    /// (with the reason logged) means it must be rebuilt.
    pub fn load(dir: &Path, generation: u64, dim: usize) -> Option<Self> {
        let sidecar = Self::sidecar(dir)?;
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
            g.high_water = sidecar.high_water;
            g.dirty = false;
            return Some(g);
        }
        for (name, len, hash) in &sidecar.files {
            match fingerprint(&dir.join(name)) {
                Ok(f) if f == (*len, *hash) => {}
                found => {
                    tracing::warn!(
                        "graph dump in {} is damaged ({name}: {found:?}, expected {len} bytes): \
                         rebuilding it from the catalog",
                        dir.display()
                    );
                    return None;
                }
            }
        }
        let path = dir.to_path_buf();
        let basename = sidecar.basename.clone();
        // The reloaded graph borrows its loader for its whole life; the loader is a few
        // paths and options, leaked once per load so the graph can be 'static. hnsw_rs panics
        // on some damaged dumps: that is one more unreadable dump.
        let loaded = catch_unwind(AssertUnwindSafe(move || {
            let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(&path, &basename)));
            io.load_hnsw::<f32, DistL2>().map_err(|e| e.to_string())
        }));
        let hnsw = match loaded {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                tracing::warn!("graph dump in {} unreadable: {e}", dir.display());
                return None;
            }
            Err(_) => {
                tracing::warn!(
                    "graph dump in {} unreadable (hnsw_rs panicked)",
                    dir.display()
                );
                return None;
            }
        };
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
        remove_dir_if_there(&tmp)?;
        remove_dir_if_there(&old)?;
        fs_err::create_dir_all(&tmp)?;
        let basename = if self.points > 0 {
            self.hnsw.file_dump(&tmp, BASENAME).map_err(|e| {
                std::io::Error::other(format!("dumping into {}: {e}", tmp.display()))
            })?
        } else {
            BASENAME.to_string()
        };
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

fn remove_dir_if_there(dir: &Path) -> std::io::Result<()> {
    match fs_err::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
