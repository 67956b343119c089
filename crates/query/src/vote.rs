//! Offset-consistent voting: the step that turns noisy per-patch neighbours into one answer.

use std::collections::{BTreeMap, HashMap};

use latentid_store::{ItemId, Neighbour};

/// One neighbour's vote: query patch `query` says "this clip starts `delta` frames into `item`".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vote {
    pub item: ItemId,
    pub delta: i64,
    pub query: usize,
    pub weight: f32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VoteParams {
    /// Votes whose deltas lie within twice this many frames of each other agree (a quarter
    /// of the index's hop: `vote_tolerance`).
    pub tolerance_frames: i64,
}

/// The vote tolerance for an index that stores a signature every `index_hop_frames`: a
/// quarter of the hop. A query patch can sit up to half a hop from the nearest stored one, but
/// a window that wide also gathers twice the chance votes of a song that is not there; replayed
/// offline on both evaluation corpora (`benches/eval/decide.py --tolerance`), windows of +-1 and +-2
/// frames named more clips than +-4 at the same false-match rate (corpus A 86.6% / 86.6% /
/// 85.1%, B 90.0% / 88.9% / 88.1%), +-6 fewer (A 83.6%); the quarter keeps some room for
/// speed-changed clips, whose offsets drift. Thresholds are measured under this rule: a change
/// here moves `latentid_index::VOTE_RULE`, so existing indexes are recalibrated.
pub fn vote_tolerance(index_hop_frames: usize) -> i64 {
    (index_hop_frames as i64 / 4).max(1)
}

/// The best-agreeing alignment of one item.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tally {
    pub item: ItemId,
    /// Sum over query patches of their best vote weight inside the winning window.
    pub score: f32,
    /// Query patches that voted inside the winning window.
    pub patches: usize,
    /// Estimated start of the clip in the item, in frames (weighted median of the window).
    pub delta: i64,
}

/// Turns per-patch neighbour lists into votes. `query_frames[j]` is the start frame of
/// query patch j; neighbours are ranked, and a neighbour at rank r weighs 1/(1+r), so a
/// patch's first choice counts most but near misses still help under heavy noise.
pub fn votes(neighbours: &[Vec<Neighbour>], query_frames: &[usize]) -> Vec<Vote> {
    let mut out = Vec::new();
    for (j, list) in neighbours.iter().enumerate() {
        for (r, n) in list.iter().enumerate() {
            let w = 1.0 / (1.0 + r as f32);
            out.push(Vote {
                item: n.item,
                delta: n.offset as i64 - query_frames[j] as i64,
                query: j,
                weight: w,
            });
        }
    }
    out
}

/// Tallies votes per item: for each item, the window of deltas (width 2·tolerance) where the
/// most query patches agree, each patch counted once with its best weight there. Sorted best first.
pub fn vote(votes: &[Vote], params: VoteParams) -> Vec<Tally> {
    let mut by_item: HashMap<ItemId, Vec<Vote>> = HashMap::new();
    for v in votes {
        by_item.entry(v.item).or_default().push(*v);
    }
    let width = 2 * params.tolerance_frames;
    let mut tallies: Vec<Tally> = by_item
        .into_iter()
        .map(|(item, mut vs)| {
            vs.sort_by_key(|v| v.delta);
            let mut best = Tally {
                item,
                score: 0.0,
                patches: 0,
                delta: vs[0].delta,
            };
            let mut hi = 0;
            // Ordered, so that the score is summed in one order: the same votes give the same
            // score to the last bit in every process.
            let mut per_query: BTreeMap<usize, f32> = BTreeMap::new();
            for lo in 0..vs.len() {
                if lo > 0 && vs[lo].delta == vs[lo - 1].delta {
                    continue;
                }
                while hi < vs.len() && vs[hi].delta - vs[lo].delta <= width {
                    hi += 1;
                }
                per_query.clear();
                for v in &vs[lo..hi] {
                    let e = per_query.entry(v.query).or_insert(0.0);
                    *e = e.max(v.weight);
                }
                let score: f32 = per_query.values().sum();
                if score > best.score {
                    best = Tally {
                        item,
                        score,
                        patches: per_query.len(),
                        delta: weighted_median(&vs[lo..hi]),
                    };
                }
            }
            best
        })
        .collect();
    tallies.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));
    tallies
}

fn weighted_median(sorted: &[Vote]) -> i64 {
    let total: f32 = sorted.iter().map(|v| v.weight).sum();
    let mut acc = 0.0;
    for v in sorted {
        acc += v.weight;
        if acc >= total / 2.0 {
            return v.delta;
        }
    }
    sorted.last().map_or(0, |v| v.delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(item: ItemId, offset: u32) -> Neighbour {
        Neighbour {
            item,
            offset,
            distance: 0.0,
        }
    }

    #[test]
    fn agreeing_offsets_beat_scattered_ones() {
        // Item 1: every patch points at a clip start of 100 frames (± jitter).
        // Item 2: as many first-choice votes, but at random offsets.
        let frames: Vec<usize> = (0..10).map(|j| j * 3).collect();
        let lists: Vec<Vec<Neighbour>> = frames
            .iter()
            .enumerate()
            .map(|(j, &f)| {
                let jitter = (j % 3) as u32;
                if j % 2 == 0 {
                    vec![n(1, 100 + f as u32 + jitter), n(2, 37 * j as u32)]
                } else {
                    vec![n(2, 500 + 91 * j as u32), n(1, 100 + f as u32 + jitter)]
                }
            })
            .collect();
        let t = vote(
            &votes(&lists, &frames),
            VoteParams {
                tolerance_frames: 8,
            },
        );
        assert_eq!(t[0].item, 1);
        assert_eq!(t[0].patches, 10);
        assert!((t[0].delta - 100).abs() <= 2, "delta {}", t[0].delta);
        assert!(t[1].score < t[0].score / 3.0);
    }

    #[test]
    fn one_patch_counts_once_per_window() {
        let frames = vec![0];
        let lists = vec![vec![n(1, 10), n(1, 11), n(1, 12)]];
        let t = vote(
            &votes(&lists, &frames),
            VoteParams {
                tolerance_frames: 8,
            },
        );
        assert_eq!(t[0].patches, 1);
        assert!((t[0].score - 1.0).abs() < 1e-6);
    }
}
