//! Argument checks that every [`crate::Store`] applies the same way.

use std::path::Path;

use crate::{Result, StoreError};

/// The number of signatures in `vectors` (rows of `dim` values), one per offset.
pub(crate) fn signatures(
    path: &Path,
    dim: usize,
    offsets: &[u32],
    vectors: &[f32],
) -> Result<usize> {
    if dim == 0 || vectors.len() % dim != 0 {
        return Err(StoreError::DimensionMismatch {
            path: path.to_path_buf(),
            expected: dim,
            // The length of one vector, as far as it can be told.
            got: if offsets.len() <= 1 {
                vectors.len()
            } else {
                vectors.len() / offsets.len()
            },
        });
    }
    let n = vectors.len() / dim;
    if n != offsets.len() {
        return Err(StoreError::OffsetCount {
            path: path.to_path_buf(),
            offsets: offsets.len(),
            vectors: n,
        });
    }
    Ok(n)
}

/// The number of queries in `queries` (rows of `dim` values).
pub(crate) fn queries(path: &Path, dim: usize, queries: &[f32]) -> Result<usize> {
    if dim == 0 || queries.len() % dim != 0 {
        return Err(StoreError::DimensionMismatch {
            path: path.to_path_buf(),
            expected: dim,
            got: queries.len(),
        });
    }
    Ok(queries.len() / dim)
}

pub(crate) fn not_found(path: &Path, id: u64) -> StoreError {
    StoreError::NotFound {
        path: path.to_path_buf(),
        id,
    }
}
