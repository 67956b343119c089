//! Exact search: every live signature in one flat array, scanned in full. The answer of record
//! that approximate search is measured against, and the cheaper answer for a process that asks
//! a few queries and exits (loading the search index costs about as much as 100 scans of it).

use std::sync::{Arc, Mutex};

use crate::types::{ItemId, Neighbour};
use crate::Result;

/// Every live signature: owners and vectors (row-major).
#[derive(Default)]
pub(crate) struct Flat {
    pub owners: Vec<(ItemId, u32)>,
    pub vectors: Vec<f32>,
}

impl Flat {
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    /// The `k` nearest rows to `query`, nearest first (ties in row order).
    pub fn top_k(&self, query: &[f32], k: usize) -> Vec<Neighbour> {
        let dim = query.len();
        if dim == 0 || k == 0 {
            return Vec::new();
        }
        let mut all: Vec<(f32, usize)> = self
            .vectors
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, v)| (squared_distance(v, query), i))
            .collect();
        let k = k.min(all.len());
        if k == 0 {
            return Vec::new();
        }
        let order = |a: &(f32, usize), b: &(f32, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        all.select_nth_unstable_by(k - 1, order);
        all.truncate(k);
        all.sort_by(order);
        all.into_iter()
            .map(|(d2, i)| {
                let (item, offset) = self.owners[i];
                Neighbour {
                    item,
                    offset,
                    distance: d2.sqrt(),
                }
            })
            .collect()
    }
}

/// Squared Euclidean distance, summed in order: the one formula every reported distance comes
/// from, so that the graph's answers carry the same numbers as an exact scan's.
pub fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The flat copy of a store's signatures, built on first need, and what one-shot searches have
/// spent on it. Rule: every write that changes signatures calls [`ExactCache::invalidate`] after
/// it is durable; a copy is built with the lock held, so it never outlives such a write.
#[derive(Default)]
pub(crate) struct ExactCache {
    state: Mutex<ExactState>,
}

#[derive(Default)]
struct ExactState {
    flat: Option<Arc<Flat>>,
    /// Distance computations done by searches that chose exact search over the graph.
    spent: u64,
}

impl ExactCache {
    pub fn invalidate(&self) {
        lock(&self.state).flat = None;
    }

    /// The flat copy, built by `build` if there is none.
    pub fn flat(&self, build: impl FnOnce() -> Result<Flat>) -> Result<Arc<Flat>> {
        let mut state = lock(&self.state);
        Self::get_or_build(&mut state, build)
    }

    fn get_or_build(
        state: &mut ExactState,
        build: impl FnOnce() -> Result<Flat>,
    ) -> Result<Arc<Flat>> {
        if let Some(f) = &state.flat {
            return Ok(f.clone());
        }
        let f = Arc::new(build()?);
        state.flat = Some(f.clone());
        Ok(f)
    }

    /// The flat copy, if `queries` more exact searches keep everything exact searches have
    /// done within `budget` distance computations per stored signature.
    pub fn within_budget(
        &self,
        queries: usize,
        budget: u64,
        build: impl FnOnce() -> Result<Flat>,
    ) -> Result<Option<Arc<Flat>>> {
        let mut state = lock(&self.state);
        let flat = Self::get_or_build(&mut state, build)?;
        let n = flat.len() as u64;
        state.spent = state
            .spent
            .saturating_add((queries as u64).saturating_mul(n));
        Ok((state.spent <= budget.saturating_mul(n)).then_some(flat))
    }
}

/// A panic while holding the lock leaves a copy that is either whole or absent.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn top_k_is_nearest_first_and_stops_at_what_there_is() {
        let flat = Flat {
            owners: vec![(1, 0), (1, 16), (2, 0)],
            vectors: vec![0.0, 0.0, 3.0, 4.0, 1.0, 0.0],
        };
        let hits = flat.top_k(&[0.0, 0.0], 5);
        let got: Vec<_> = hits
            .iter()
            .map(|n| (n.item, n.offset, n.distance))
            .collect();
        assert_eq!(got, [(1, 0, 0.0), (2, 0, 1.0), (1, 16, 5.0)]);
        assert!(flat.top_k(&[0.0, 0.0], 0).is_empty());
    }

    #[test]
    fn the_budget_runs_out() {
        let cache = ExactCache::default();
        let build = || {
            Ok(Flat {
                owners: vec![(0, 0); 10],
                vectors: vec![0.0; 10],
            })
        };
        // A budget of 3 scans: 2 queries fit, 2 more do not, and what was offered stays spent.
        assert!(cache.within_budget(2, 3, build).unwrap().is_some());
        assert!(cache.within_budget(2, 3, build).unwrap().is_none());
        assert!(cache.within_budget(1, 3, build).unwrap().is_none());
    }
}
