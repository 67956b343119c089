//! Search over the catalog's signatures: an inverted file with an HNSW graph over its
//! centroids ([`ivf`]), kept as a cache of them ([`cache::GraphCache`]), and exact search over
//! a flat copy ([`exact`]). Separate from the
//! catalog so that another backend (a vector database) can take signatures and search over
//! while the catalog keeps items, manifest and model.

pub(crate) mod cache;
pub(crate) mod exact;
mod ivf;

/// How a [`crate::SledStore`] searches, chosen when it is opened ([`crate::SledStore::open_with`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchParams {
    /// Cells scored per query (`nprobe`, ~32 signatures each); more finds more true
    /// neighbours, slower. 0: every signature is scored (exact search, never the index).
    pub ef: usize,
    /// Exact (brute-force) search is used while the search index is not loaded and the work
    /// stays under this many distance computations per stored signature. Loading the index
    /// (its centroid graph, and every signature from the catalog) costs about as much as
    /// 100 of them per signature, so a one-shot query of a few seconds of audio on a small
    /// library answers sooner, and exactly, without it; a long batch or a large library
    /// switches to the index. 0 (the default) always uses the index.
    pub exact_budget: u64,
}

impl Default for SearchParams {
    fn default() -> Self {
        Self {
            ef: 128,
            exact_budget: 0,
        }
    }
}

impl SearchParams {
    /// Exact search while it is cheaper than loading the graph (for one-shot processes).
    pub fn one_shot() -> Self {
        Self {
            exact_budget: 100,
            ..Self::default()
        }
    }
}
