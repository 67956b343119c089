//! The picture view vote: many views of a query picture, each finding its nearest stored view,
//! agree on one stored picture *and on where the query lies in it*.
//!
//! A picture is stored as several views (the whole and overlapping windows, see
//! [`latentid_media::ImageParams::views`]), and a query is cut into the same views. A query
//! view's nearest stored view says "this part of the query is that part of picture P": a
//! placement of the query in P (where its centre lands, and at what scale). Copies of P —
//! turned a little, recoloured, captioned, noisy — put most of their views at one placement;
//! a stranger's views land on several pictures and, within one, at scattered places, as a
//! song that is not in the library spreads its votes over offsets ([`crate::vote`]).
//!
//! Each view's vote is weighed by how much its nearest picture stands out: 1 − d₁/d₂, with
//! d₁ the distance to its nearest stored view and d₂ to the nearest view of any other picture
//! (Lowe's ratio test, soft). A stranger's view is about as near to many pictures (weight near
//! 0); a copy's view is much nearer to its own. A picture's score is the weight of the views
//! agreeing on its best placement, as a share of the views (0..1). A picture stored more than
//! once (the same pixels in other files: its twins) puts the very same views at the very same
//! distances; twins are one picture here, each given the vote, and d₂ is measured beyond them.
//!
//! Chosen on the image benchmark's main set (`benches/images/`, RESULTS.md): the placement
//! tolerance (6% of the side, 15% in scale; 8% / 25% named a held-out stranger), and the soft
//! ratio weight (a flat vote per view separates nothing: a stranger's views all find *some*
//! nearest picture, usually one and the same, at the same windows).

use std::collections::HashMap;

use latentid_store::{ItemId, Neighbour};

/// Neighbours looked up per query view: enough to find the nearest view of another picture
/// (d₂) past the nearest picture's own overlapping windows.
pub const VIEW_NEIGHBOURS: usize = 10;

/// Two distances are one (the same stored view, stored twice) within this share.
const TIE: f32 = 1e-5;

/// Whether a neighbour at `distance` is as near as the `nearest` one: a twin of it.
pub fn ties(distance: f32, nearest: f32) -> bool {
    distance <= nearest + TIE * nearest
}

/// Whether every neighbour in `list` (nearest first) is as near as the first: twins fill it,
/// and the nearest view of any other picture (d₂) lies beyond it. Such a list is looked up
/// again, deeper.
pub fn tied_throughout(list: &[Neighbour]) -> bool {
    match (list.first(), list.last()) {
        (Some(first), Some(last)) => list.len() > 1 && ties(last.distance, first.distance),
        _ => false,
    }
}

/// Placements agree when their centres lie within this share of the side of each other...
const POSITION_TOLERANCE: f32 = 0.06;
/// ...and their scales within this (natural log: about 16%).
const SCALE_TOLERANCE: f32 = 0.15;

/// One view's vote: query view `view` lands in a stored picture with its centre at
/// (`x`, `y`) and at scale `ln_scale` (log of the stored side per query side), weighing `weight`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Placement {
    view: usize,
    x: f32,
    y: f32,
    ln_scale: f32,
    weight: f32,
}

impl Placement {
    /// Where query view `q` lands when it is stored view `s` (both `(x, y, w, h)` fractions
    /// of their pictures' sides): the query's scale in the stored picture and where its
    /// centre goes.
    fn of(view: usize, q: [f32; 4], s: [f32; 4], weight: f32) -> Self {
        let sx = s[2] / q[2].max(1e-6);
        let sy = s[3] / q[3].max(1e-6);
        Self {
            view,
            x: s[0] + s[2] / 2.0 - (q[0] + q[2] / 2.0) * sx + sx / 2.0,
            y: s[1] + s[3] / 2.0 - (q[1] + q[3] / 2.0) * sy + sy / 2.0,
            ln_scale: sx.max(1e-6).ln(),
            weight,
        }
    }

    fn agrees(&self, o: &Placement) -> bool {
        (self.x - o.x).abs() <= POSITION_TOLERANCE
            && (self.y - o.y).abs() <= POSITION_TOLERANCE
            && (self.ln_scale - o.ln_scale).abs() <= SCALE_TOLERANCE
    }
}

/// Scores stored pictures by the views of one query. `per_view` holds each query view's
/// neighbours (nearest first), in orientations of `queried.len()` views each (the views as
/// they are, then mirrored); `queried` are the query views' rectangles and `stored` the
/// stored views' (a stored signature's offset indexes them). `exclude` is left out as if not
/// stored. A picture's score is the better of its orientations'. Sorted best first.
pub fn view_votes(
    per_view: &[Vec<Neighbour>],
    queried: &[[f32; 4]],
    stored: &[[f32; 4]],
    exclude: Option<ItemId>,
) -> Vec<(ItemId, f32)> {
    let n = queried.len().max(1);
    let mut best: HashMap<ItemId, f32> = HashMap::new();
    for orientation in per_view.chunks(n) {
        let mut placements: HashMap<ItemId, Vec<Placement>> = HashMap::new();
        for (view, list) in orientation.iter().enumerate() {
            let mut list: Vec<&Neighbour> =
                list.iter().filter(|nb| Some(nb.item) != exclude).collect();
            let Some(&first) = list.first() else {
                continue;
            };
            // The nearest picture and its twins: a picture stored more than once (one photo
            // in two folders) puts the very same view at the very same distance. They share
            // the vote rather than cancel it (each as near as the other), and each twin
            // beyond the first widens the neighbours looked at by one.
            let twins: Vec<ItemId> = list
                .iter()
                .take_while(|nb| ties(nb.distance, first.distance))
                .map(|nb| nb.item)
                .collect();
            list.truncate(VIEW_NEIGHBOURS + twins.len().saturating_sub(1));
            // d₂: the nearest view of a picture beyond them, or the farthest neighbour looked
            // up when they are all theirs (d₂ is at least that).
            let d2 = list
                .iter()
                .find(|nb| !twins.contains(&nb.item))
                .or(list.last())
                .map_or(0.0, |nb| nb.distance);
            if d2 <= 0.0 {
                continue;
            }
            let weight = (1.0 - first.distance / d2).max(0.0);
            if weight == 0.0 {
                continue;
            }
            for nb in list.iter().filter(|nb| twins.contains(&nb.item)) {
                if let Some(&s) = stored.get(nb.offset as usize) {
                    placements.entry(nb.item).or_default().push(Placement::of(
                        view,
                        queried[view],
                        s,
                        weight,
                    ));
                }
            }
        }
        for (item, ps) in placements {
            let score = best_agreement(&ps) / n as f32;
            let b = best.entry(item).or_insert(0.0);
            *b = b.max(score);
        }
    }
    let mut out: Vec<(ItemId, f32)> = best.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// The largest total weight of placements that agree with one of them, each view counted
/// once (with its best weight there).
fn best_agreement(ps: &[Placement]) -> f32 {
    let mut best = 0.0f32;
    let mut per_view: HashMap<usize, f32> = HashMap::new();
    for anchor in ps {
        per_view.clear();
        for p in ps.iter().filter(|p| anchor.agrees(p)) {
            let w = per_view.entry(p.view).or_insert(0.0);
            *w = w.max(p.weight);
        }
        // Summed in view order, so the same votes give the same score to the last bit.
        let mut ws: Vec<(usize, f32)> = per_view.iter().map(|(&v, &w)| (v, w)).collect();
        ws.sort_by_key(|&(v, _)| v);
        best = best.max(ws.iter().map(|&(_, w)| w).sum());
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nb(item: ItemId, offset: u32, distance: f32) -> Neighbour {
        Neighbour {
            item,
            offset,
            distance,
        }
    }

    /// The whole, and four windows of 60% in the corners.
    fn rects() -> Vec<[f32; 4]> {
        let mut r = vec![[0.0, 0.0, 1.0, 1.0]];
        for (x, y) in [(0.0, 0.0), (0.4, 0.0), (0.0, 0.4), (0.4, 0.4)] {
            r.push([x, y, 0.6, 0.6]);
        }
        r
    }

    #[test]
    fn views_that_agree_on_where_the_query_lies_outscore_scattered_ones() {
        let rects = rects();
        // Picture 1: every query view finds its own view of picture 1, well ahead of
        // picture 2. Picture 2: as near to each view as 1 is in the other case, but each
        // view at a different, inconsistent place.
        let copy: Vec<Vec<Neighbour>> = (0..5)
            .map(|v| vec![nb(1, v as u32, 0.1), nb(2, 0, 0.4)])
            .collect();
        let scattered: Vec<Vec<Neighbour>> = (0..5)
            .map(|v| vec![nb(2, ((v + 2) % 5) as u32, 0.1), nb(1, 0, 0.4)])
            .collect();
        let a = view_votes(&copy, &rects, &rects, None);
        assert_eq!(a[0].0, 1);
        assert!((a[0].1 - 0.75).abs() < 1e-5, "{a:?}");
        let b = view_votes(&scattered, &rects, &rects, None);
        assert_eq!(b[0].0, 2);
        assert!(b[0].1 < 0.4, "{b:?}");
    }

    #[test]
    fn a_view_as_near_to_another_picture_weighs_nothing_and_the_left_out_one_is_gone() {
        let rects = rects();
        let tie: Vec<Vec<Neighbour>> = (0..5)
            .map(|v| vec![nb(1, v as u32, 0.3), nb(2, v as u32, 0.3)])
            .collect();
        assert!(view_votes(&tie, &rects, &rects, None).is_empty());
        // With 1 left out, 2 stands out against 3.
        let lists: Vec<Vec<Neighbour>> = (0..5)
            .map(|v| vec![nb(1, v as u32, 0.05), nb(2, v as u32, 0.2), nb(3, 0, 0.8)])
            .collect();
        let without = view_votes(&lists, &rects, &rects, Some(1));
        assert_eq!(without[0].0, 2);
        assert!((without[0].1 - 0.75).abs() < 1e-5, "{without:?}");
    }

    #[test]
    fn twins_share_the_vote_a_single_copy_would_get() {
        let rects = rects();
        // Pictures 1 and 2 are one picture stored twice: every query view finds the same
        // view of each at the same distance, picture 3 further off.
        let twins: Vec<Vec<Neighbour>> = (0..5)
            .map(|v| vec![nb(1, v as u32, 0.1), nb(2, v as u32, 0.1), nb(3, 0, 0.4)])
            .collect();
        let votes = view_votes(&twins, &rects, &rects, None);
        assert_eq!(votes.len(), 2, "{votes:?}");
        for (item, (id, score)) in [1, 2].into_iter().zip(&votes) {
            assert_eq!(*id, item);
            assert!((score - 0.75).abs() < 1e-5, "{votes:?}");
        }
        // Twins that fill the whole list leave d₂ unknown: no vote, and the list is one to
        // look up again deeper.
        let filled: Vec<Neighbour> = (1..=4).map(|i| nb(i, 0, 0.1)).collect();
        assert!(tied_throughout(&filled));
        assert!(view_votes(&vec![filled; 5], &rects, &rects, None).is_empty());
        assert!(!tied_throughout(&twins[0]));
    }

    #[test]
    fn a_query_window_that_finds_a_stored_only_part_votes_where_that_part_lies() {
        // The query is the original's bottom-right 60%: its whole finds stored view 4 (that
        // window), and its own bottom-right window, 36% of the original, finds a part stored
        // but never cut from a query (offset 5). Both place the query at one spot.
        let queried = rects();
        let mut stored = rects();
        stored.push([0.64, 0.64, 0.36, 0.36]);
        let mut lists: Vec<Vec<Neighbour>> = vec![Vec::new(); 5];
        lists[0] = vec![nb(1, 4, 0.1), nb(2, 0, 0.4)];
        lists[4] = vec![nb(1, 5, 0.1), nb(2, 0, 0.4)];
        let both = view_votes(&lists, &queried, &stored, None);
        assert_eq!(both[0].0, 1);
        assert!((both[0].1 - 2.0 * 0.75 / 5.0).abs() < 1e-5, "{both:?}");
        // Without that part stored, the window's neighbour places nothing.
        let whole_only = view_votes(&lists, &queried, &queried, None);
        assert!(
            (whole_only[0].1 - 0.75 / 5.0).abs() < 1e-5,
            "{whole_only:?}"
        );
    }

    #[test]
    fn a_cropped_query_places_its_views_at_one_spot_inside_the_original() {
        // The query is the original's top-left 60% window: its whole is stored view 1, and
        // its views land, at scale 0.6, centred at 0.3 / 0.3 of the original.
        let p = Placement::of(0, [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.6, 0.6], 1.0);
        assert!((p.x - 0.3).abs() < 1e-6 && (p.y - 0.3).abs() < 1e-6);
        assert!((p.ln_scale - 0.6f32.ln()).abs() < 1e-6);
        // Identity: the whole on the whole, a window on the same window.
        let whole = Placement::of(0, [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], 1.0);
        let window = Placement::of(1, [0.4, 0.4, 0.6, 0.6], [0.4, 0.4, 0.6, 0.6], 1.0);
        assert!(whole.agrees(&window), "{whole:?} {window:?}");
        assert!((whole.x - 0.5).abs() < 1e-6 && whole.ln_scale.abs() < 1e-6);
        // A window matched to a different window is somewhere else.
        let off = Placement::of(1, [0.4, 0.4, 0.6, 0.6], [0.0, 0.0, 0.6, 0.6], 1.0);
        assert!(!whole.agrees(&off));
    }
}
