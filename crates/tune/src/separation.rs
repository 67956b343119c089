//! Signature-level separation: where a distorted signature lands among the stored ones.

use std::collections::HashMap;

use latentid_index::Index;
use latentid_store::{ItemId, Store};

use crate::{Encoder, Result, Scatter};

/// One distorted signature against the stored ones.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Separation {
    /// Its nearest stored signature is its own clean one (same item, same offset).
    pub nearest_is_own: bool,
    /// Its nearest stored signature belongs to its own item (any offset).
    pub nearest_is_item: bool,
    /// Nearest other item's distance over the distance to its own clean signature.
    pub ratio: f32,
}

/// Every stored signature, in memory: exact nearest neighbours for a few thousand
/// distorted signatures cost one pass each, and the answer must not depend on the graph.
pub struct SignatureTable {
    dim: usize,
    items: Vec<ItemId>,
    vectors: Vec<f32>,
    index: HashMap<(ItemId, u32), usize>,
}

impl SignatureTable {
    pub fn load(store: &dyn Store) -> Result<Self> {
        let dim = store.manifest().latent_dim;
        let mut t = Self {
            dim,
            items: Vec::new(),
            vectors: Vec::new(),
            index: HashMap::new(),
        };
        for item in store.items()? {
            let (offsets, vectors) = store.signatures(item.id)?;
            for (off, v) in offsets.iter().zip(vectors.chunks_exact(dim)) {
                t.index.insert((item.id, *off), t.items.len());
                t.items.push(item.id);
                t.vectors.extend_from_slice(v);
            }
        }
        Ok(t)
    }

    fn vector(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    /// Separation of the distorted `codes` of item `own` taken at `offsets`; signatures
    /// with no stored counterpart (silent patches are not stored) are skipped.
    pub fn separation(&self, own: ItemId, offsets: &[u32], codes: &[f32]) -> Vec<Separation> {
        let mut out = Vec::new();
        for (off, code) in offsets.iter().zip(codes.chunks_exact(self.dim)) {
            let Some(&own_idx) = self.index.get(&(own, *off)) else {
                continue;
            };
            let d_own = distance(code, self.vector(own_idx));
            let mut nearest = (f32::INFINITY, usize::MAX);
            let mut other = f32::INFINITY;
            for (i, v) in self.vectors.chunks_exact(self.dim).enumerate() {
                let d = distance(code, v);
                if d < nearest.0 {
                    nearest = (d, i);
                }
                if self.items[i] != own && d < other {
                    other = d;
                }
            }
            out.push(Separation {
                nearest_is_own: nearest.1 == own_idx || nearest.0 >= d_own,
                nearest_is_item: other > nearest.0,
                ratio: other / d_own.max(1e-9),
            });
        }
        out
    }

    /// The signatures as 2-D points coloured by item (only meaningful at latent size 2).
    pub fn scatter(
        &self,
        store: &dyn Store,
        encoder: Encoder,
        max_points: usize,
    ) -> Result<Scatter> {
        let items = store.items()?;
        let slot: HashMap<ItemId, usize> =
            items.iter().enumerate().map(|(i, it)| (it.id, i)).collect();
        let mut sums = vec![[0f64; 3]; items.len()];
        let n = self.items.len();
        let stride = n.div_ceil(max_points.max(1)).max(1);
        let mut points = Vec::new();
        let mut item = Vec::new();
        for (i, id) in self.items.iter().enumerate() {
            let Some(&k) = slot.get(id) else { continue };
            let v = self.vector(i);
            let (x, y) = (v[0], v.get(1).copied().unwrap_or(0.0));
            sums[k][0] += x as f64;
            sums[k][1] += y as f64;
            sums[k][2] += 1.0;
            if i % stride == 0 {
                points.push([x, y]);
                item.push(k);
            }
        }
        Ok(Scatter {
            encoder,
            items: items.into_iter().map(|i| i.name).collect(),
            points,
            item,
            centroids: sums
                .iter()
                .map(|s| {
                    let c = s[2].max(1.0);
                    [(s[0] / c) as f32, (s[1] / c) as f32]
                })
                .collect(),
        })
    }
}

fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// Codes of a clip's patches on the index's grid, with the track offsets (frames) they
/// would be stored at; the clip starts at track frame `start_frame`.
pub fn signature_codes(
    index: &Index,
    samples: &[f32],
    start_frame: u32,
) -> Result<(Vec<u32>, Vec<f32>)> {
    let clip = index.encode_clip(samples, index.features().index_hop_frames)?;
    let offsets = clip.frames.iter().map(|f| start_frame + f).collect();
    Ok((offsets, clip.codes))
}
