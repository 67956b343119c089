//! The store's tests: what every [`Store`] does, run on both implementations (`behaviour`);
//! what only the sled store does: persistence, the graph, processes (`sled_store`); indexes of
//! older formats (`golden`).

#![allow(clippy::unwrap_used)]

mod behaviour;
mod golden;
mod sled_store;

use std::path::Path;

use latentid_store::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub fn manifest(dim: usize) -> Manifest {
    Manifest::new(ItemKind::Audio, dim, "{}".into())
}

pub fn item(hash: &str) -> NewItem {
    NewItem {
        path: format!("/music/{hash}.ogg").into(),
        name: hash.into(),
        content_hash: hash.into(),
        kind: ItemKind::Audio,
        duration_s: Some(10.0),
        width: None,
        height: None,
        title: None,
        artist: None,
        album: None,
        sketch: None,
        tint: None,
    }
}

/// Deterministic vectors for an item, so another process can recompute them.
pub fn vectors_for(hash: &str, n: usize, dim: usize) -> Vec<f32> {
    let seed = hash.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ b as u64).wrapping_mul(1099511628211)
    });
    let mut rng = StdRng::seed_from_u64(seed);
    // Half floats, as stores keep them: what goes in comes back equal.
    (0..n * dim)
        .map(|_| half::f16::from_f32(rng.random_range(-1.0..1.0)).to_f32())
        .collect()
}

/// Copies the folder `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
