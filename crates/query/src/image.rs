//! Picture queries. A picture is stored as many views (the whole and overlapping windows of
//! 85% down to 50% of its sides); a query is cut into the whole and its larger windows, and
//! its mirror image too. Three rules name a picture, the third only when the first two do not:
//! - the view vote ([`crate::view_vote`]): the query's views find views of one stored picture
//!   and agree on where the query lies in it — carries copies that are cropped, turned,
//!   recoloured, captioned or noisy;
//! - the nearest picture to the whole query (or its mirror image) stands out from the crowd:
//!   its distance is a small enough share of the [`RATIO_RANK`]-th nearest picture's (a ratio
//!   test), or is very near — a backstop for copies whose views agree too little;
//! - the likeness check: among the first [`LIKENESS_CANDIDATES`] pictures these found, the one
//!   whose stored sketch is likest the query's ([`latentid_media::likeness`]: gradients of a
//!   32 x 32 luminance sketch, as it is, mirrored or turned back a little, and past a caption's
//!   band) when it is alike enough — carries copies whose colours, compression, noise, turn or
//!   caption moved their signatures, but not their picture, out of reach of the other two;
//! - the sketch search, when none of these named one: the query's sketch (as it is) against
//!   every stored sketch, naming the likest when it is alike ([`SEARCH_LIKENESS`]) and alone in
//!   being so ([`SEARCH_RATIO`]) — carries copies whose signatures lost their picture so far
//!   that it is not among the first candidates (fine paper grain re-compressed or noised).
//!
//! Whichever of these named it, a picture with a colour twin among the first candidates
//! (another picture with the same sketch: [`TWIN_SKETCHES`]) gives way to the twin when the
//! query's colours are clearly the twin's ([`latentid_media::tint_likeness`], [`TINT_MARGIN`]):
//! the signatures and the sketch see a picture and its colour variant as one. (A copy the whole
//! settles, below, is answered before any of them: a twin accepted beside it sends it to the
//! views.)
//!
//! Each threshold is calibrated per library (`calibrate`): a distance alone is not comparable
//! across pictures (featureless pictures all sit close together, while a cropped photo sits
//! far from its original), and neither is a raw count of agreeing views.
//!
//! A query looks at its whole first: when that settles the answer ([`Decision::settles`]: a
//! resized, re-compressed, recoloured or mirrored copy stands out from every other picture),
//! no view is cut; the views and their vote are for what the whole does not settle
//! (benches/RESULTS.md, "The whole first").

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Instant;

use latentid_index::{summarise, RATIO_RANK};
use latentid_media::augment::rotate;
use latentid_media::{
    fit_within, likeness, tint, tint_likeness, turned_sketches, view_source, DynamicImage,
    TurnedSketch, View,
};
use latentid_store::{Item, ItemId, Neighbour};

use crate::view_vote::{tied_throughout, ties, view_votes, VIEW_NEIGHBOURS};
use crate::{Candidate, Matcher, QueryConfig, QueryResult, Result};

/// Turns (degrees) a picture query is also looked at in: a copy turned by up to about 5°
/// finds its original as it is, and these take over beyond (benches/RESULTS.md, "Turned
/// queries").
const QUERY_TURNS: &[f32] = &[-8.0, 8.0];

/// Turns (degrees) the query's sketch is also taken at for the likeness check, besides as it
/// is: a copy turned a few degrees keeps its gradients in place only when turned back (and
/// compared inside the corners its turns blanked: [`latentid_media::turn_margin`]).
const SKETCH_TURNS: &[f32] = &[-10.0, -5.0, 5.0, 10.0];

/// The pictures, in answer order, whose sketches the likeness check compares with the query's.
pub const LIKENESS_CANDIDATES: usize = 5;

/// The sketch search's bar: below the likeness check's (its ratio test does most of the work),
/// low enough for a fine-grained picture re-compressed or noised, whose sketch keeps only its
/// larger strokes (0.41-0.63 to its own picture on the image benchmark).
pub const SEARCH_LIKENESS: f32 = 0.4;

/// The sketch search names the likest stored sketch only when the next picture's likeness is
/// at most this share of it: a ratio test, as a hash's nearest neighbour lacks. A stranger
/// somewhat like one picture is about as like others (0.36 and more on the image benchmark);
/// a copy whose fine detail is gone still matches its own picture's larger strokes and no
/// other's (0.27 and less; benches/RESULTS.md, "The sketch search").
pub const SEARCH_RATIO: f32 = 0.3;

/// Two stored pictures whose sketches are at least this alike are one picture in two colourings
/// (two paper textures that differ only in colour, on the image benchmark 0.73-0.81); their
/// signatures cannot tell them apart, their tints can.
const TWIN_SKETCHES: f32 = 0.7;

/// A named picture's colour twin is named instead when its tint is this much more like the
/// query's (a cosine: a copy's own is near 1, its twin's colouring often below 0).
const TINT_MARGIN: f32 = 0.5;

/// How much deeper a view is looked up again when twins fill its neighbours
/// ([`Matcher::deepen_tied`]).
const TIED_DEPTH: usize = 8;

/// What the whole query picture found, as it is and mirrored: enough for the distance rules.
pub(crate) struct WholeProbe {
    /// The wholes' codes (as it is and mirrored, once per standardisation the index stores:
    /// [`Matcher::whole_views`]).
    codes: Vec<f32>,
    /// Their neighbours, each list deep enough for the ratio test.
    lists: Vec<Vec<Neighbour>>,
    recon_error: Option<f32>,
}

impl WholeProbe {
    /// The pictures found, nearest first, as if `exclude` were not stored.
    fn nearest(&self, exclude: Option<ItemId>) -> Vec<(ItemId, f32)> {
        nearest_pictures(self.lists.iter().flatten(), exclude)
    }
}

/// The pictures of `neighbours` (signatures of any view), each at the distance of its nearest
/// view, nearest first, `exclude` left out.
fn nearest_pictures<'n>(
    neighbours: impl IntoIterator<Item = &'n Neighbour>,
    exclude: Option<ItemId>,
) -> Vec<(ItemId, f32)> {
    let mut nearest: HashMap<ItemId, f32> = HashMap::new();
    for nb in neighbours {
        if Some(nb.item) != exclude {
            let d = nearest.entry(nb.item).or_insert(f32::INFINITY);
            *d = d.min(nb.distance);
        }
    }
    let mut nearest: Vec<(ItemId, f32)> = nearest.into_iter().collect();
    nearest.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    nearest
}

/// What one picture query found, before any decision: the neighbours of the whole picture
/// (as it is and mirrored) and of each of its views.
pub(crate) struct PictureProbe {
    wholes: WholeProbe,
    per_view: Vec<Vec<Neighbour>>,
    /// The query's views' rectangles (one orientation), and the stored views'.
    queried: Vec<[f32; 4]>,
    stored: Vec<[f32; 4]>,
    /// The query scaled down as its turned views are cut from, kept for its sketches.
    picture: DynamicImage,
    /// The query's sketches: as it is, then turned by each of [`SKETCH_TURNS`]; made the
    /// first time the likeness check needs them (most queries are named without it, and the
    /// turns are most of their cost).
    sketches: OnceLock<Vec<TurnedSketch>>,
}

/// The pictures a probe points at, as if `exclude` were not stored: by distance of their
/// nearest view to the whole query (nearest first), and by view vote (best first).
pub(crate) struct Found {
    pub nearest: Vec<(ItemId, f32)>,
    pub votes: Vec<(ItemId, f32)>,
}

impl PictureProbe {
    pub(crate) fn found(&self, exclude: Option<ItemId>) -> Found {
        Found {
            nearest: self.wholes.nearest(exclude),
            votes: view_votes(&self.per_view, &self.queried, &self.stored, exclude),
        }
    }

    /// The query's sketches: as it is first, then turned by each of [`SKETCH_TURNS`].
    fn sketches(&self) -> &[TurnedSketch] {
        self.sketches
            .get_or_init(|| turned_sketches(&self.picture, SKETCH_TURNS))
    }

    /// How alike a stored picture's sketch is to the query's (the best of its sketches);
    /// `None` for a picture stored without one.
    fn likeness(&self, item: &Item) -> Option<f32> {
        let stored = &item.sketch.as_ref()?.0;
        self.sketches()
            .iter()
            .filter_map(|q| q.likeness(stored))
            .reduce(f32::max)
    }
}

impl Found {
    /// The picture's view-vote score (0 when no view found it).
    pub(crate) fn score(&self, id: ItemId) -> f32 {
        self.votes
            .iter()
            .find(|(i, _)| *i == id)
            .map_or(0.0, |(_, s)| *s)
    }

    /// The distance of the picture's nearest view to the whole query, when it came back.
    fn distance(&self, id: ItemId) -> Option<f32> {
        self.nearest.iter().find(|(i, _)| *i == id).map(|(_, d)| *d)
    }

    /// The pictures in answer order: by view vote, then those only the distance found.
    pub(crate) fn ranked(&self) -> Vec<ItemId> {
        let mut out: Vec<ItemId> = self.votes.iter().map(|(id, _)| *id).collect();
        for (id, _) in &self.nearest {
            if !out.contains(id) {
                out.push(*id);
            }
        }
        out
    }
}

impl Matcher<'_> {
    /// Identifies a decoded picture: the stored pictures its whole or its views find, best
    /// first.
    pub fn query_image(&self, img: &DynamicImage, cfg: &QueryConfig) -> Result<QueryResult> {
        let started = Instant::now();
        // Scaled once for every view cut from it (a phone photo's resize is most of a query
        // that the whole settles).
        let scaled = view_source(img, &self.index().features().image);
        let wholes = self.probe_wholes(&scaled, cfg, false)?;
        // The whole view's error, as a stored picture's is.
        let reconstruction = self.familiarity(summarise(&[0], wholes.recon_error.as_slice()));
        // A copy the whole settles needs no views.
        let nearest = wholes.nearest(None);
        let distances: Vec<f32> = nearest.iter().map(|(_, d)| *d).collect();
        let decision = Decision::new(self.index().calibration(), cfg, &distances);
        let mut result = if decision.settles(&distances) {
            self.rank_images(nearest, cfg)?
        } else {
            let probe = self.probe_views(img, &scaled, wholes, false)?;
            self.decide_image(&probe, cfg)?
        };
        result.reconstruction = reconstruction;
        result.seconds = started.elapsed().as_secs_f32();
        Ok(result)
    }

    /// Everything a picture query can look at: [`Self::probe_wholes`], then
    /// [`Self::probe_views`].
    pub(crate) fn probe_image(
        &self,
        img: &DynamicImage,
        cfg: &QueryConfig,
        spare: bool,
    ) -> Result<PictureProbe> {
        let scaled = view_source(img, &self.index().features().image);
        let wholes = self.probe_wholes(&scaled, cfg, spare)?;
        self.probe_views(img, &scaled, wholes, spare)
    }

    /// Encodes the whole picture (`scaled`: as [`view_source`] makes it), as it is and
    /// mirrored, and looks up its neighbours deep enough for the ratio test; `spare` looks up
    /// more, so that one picture can be left out afterwards ([`PictureProbe::found`]).
    fn probe_wholes(
        &self,
        scaled: &DynamicImage,
        cfg: &QueryConfig,
        spare: bool,
    ) -> Result<WholeProbe> {
        let enc = self.index().encode_views(scaled, &self.whole_views())?;
        let extra = if spare { self.stored_per_picture() } else { 0 };
        let lists = self
            .store()
            .search_batch(&enc.codes, self.views_for(cfg.top.max(RATIO_RANK)) + extra)?;
        Ok(WholeProbe {
            codes: enc.codes,
            lists,
            recon_error: enc.recon_error.first().copied(),
        })
    }

    /// Encodes the picture's views (the index's query views, as they are, mirrored and
    /// turned by each of [`QUERY_TURNS`]) and looks up their neighbours; the wholes as they
    /// are and mirrored are `wholes`' (their first neighbours vote, as the windows' do).
    /// The windows are cut from `scaled` ([`view_source`] of `img`), the turns from `img`.
    /// `spare` as for [`Self::probe_wholes`].
    fn probe_views(
        &self,
        img: &DynamicImage,
        scaled: &DynamicImage,
        wholes: WholeProbe,
        spare: bool,
    ) -> Result<PictureProbe> {
        let queried = self.index().query_views();
        let n = queried.len();
        let small = fit_within(img, 4 * self.index().features().image.size);
        let image = &self.index().features().image;
        let count = image.standardisations();
        // The windows (every view but the whole), as they are and mirrored.
        let mut windows = queried[1..].to_vec();
        windows.extend(queried[1..].iter().map(|v| View {
            mirrored: true,
            ..*v
        }));
        // Per source picture, all standardisations in one call (a part is cut once): the
        // windows from `scaled`, then the query's views once more for each turn, cut from the
        // picture turned back (scaled down first, as the views are; the corners that come in
        // are black).
        let mut by_source = vec![
            self.index()
                .encode_views(scaled, &image.standardised(&windows))?
                .codes,
        ];
        for &degrees in QUERY_TURNS {
            let turned = rotate(&small, degrees);
            by_source.push(
                self.index()
                    .encode_views(&turned, &image.standardised(&queried))?
                    .codes,
            );
        }
        let mut codes = Vec::new();
        for standardisation in 0..count {
            for source in &by_source {
                let per = source.len() / count;
                codes
                    .extend_from_slice(&source[standardisation * per..(standardisation + 1) * per]);
            }
        }
        // In view order, orientation by orientation (as they are, mirrored, then each turn:
        // `n` views each), once per standardisation; the wholes as they are and mirrored
        // (view 0 of the first two orientations of each standardisation) taken from `wholes`.
        let k = if spare { 3 } else { 1 } * VIEW_NEIGHBOURS;
        let mut lists = self.store().search_batch(&codes, k)?;
        self.deepen_tied(&codes, &mut lists, k)?;
        let mut found = lists.into_iter();
        let per_standardisation = 2 + QUERY_TURNS.len();
        let per_view = (0..n * per_standardisation * count)
            .map(|i| {
                let (standardisation, orientation) =
                    (i / n / per_standardisation, i / n % per_standardisation);
                let whole = (i % n == 0 && orientation < 2)
                    .then(|| wholes.lists.get(2 * standardisation + orientation))
                    .flatten();
                match whole {
                    Some(list) => Some(list.iter().take(k).cloned().collect()),
                    None => found.next(),
                }
            })
            .map(Option::unwrap_or_default)
            .collect();
        Ok(PictureProbe {
            wholes,
            per_view,
            queried: queried.iter().map(|v| v.rect).collect(),
            stored: image.stored_rects(),
            picture: small.into_owned(),
            sketches: OnceLock::new(),
        })
    }

    /// Looks up again, [`TIED_DEPTH`] times deeper, the views whose `k` neighbours (`lists`,
    /// of `codes`) are all one view of twins ([`tied_throughout`]: a picture stored many
    /// times over), so that the view vote finds a picture beyond them.
    fn deepen_tied(&self, codes: &[f32], lists: &mut [Vec<Neighbour>], k: usize) -> Result<()> {
        let dim = codes.len() / lists.len().max(1);
        let tied: Vec<usize> = (0..lists.len())
            .filter(|&i| lists[i].len() >= k && tied_throughout(&lists[i]))
            .collect();
        if tied.is_empty() {
            return Ok(());
        }
        let again: Vec<f32> = tied
            .iter()
            .flat_map(|&i| codes[i * dim..(i + 1) * dim].iter().copied())
            .collect();
        let deeper = self.store().search_batch(&again, k * TIED_DEPTH)?;
        for (i, list) in tied.into_iter().zip(deeper) {
            lists[i] = list;
        }
        Ok(())
    }

    /// How alike the sketches of the first [`LIKENESS_CANDIDATES`] of `ranked` are to the
    /// query's, in that order (pictures stored without a sketch left out).
    fn likenesses(&self, probe: &PictureProbe, ranked: &[ItemId]) -> Result<Vec<(ItemId, f32)>> {
        let mut out = Vec::new();
        for &id in ranked.iter().take(LIKENESS_CANDIDATES) {
            if let Some(l) = self
                .store()
                .item(id)?
                .and_then(|item| probe.likeness(&item))
            {
                out.push((id, l));
            }
        }
        Ok(out)
    }

    /// The picture among the first [`LIKENESS_CANDIDATES`] of `ranked` whose sketch is likest
    /// the query's (the earlier of equals), and its likeness; `None` when none has a sketch.
    pub(crate) fn likest(
        &self,
        probe: &PictureProbe,
        ranked: &[ItemId],
    ) -> Result<Option<(ItemId, f32)>> {
        Ok(likest(&self.likenesses(probe, ranked)?))
    }

    /// The sketch search: every stored picture's sketch against the query's as it is; the
    /// likest and its likeness when it stands alone ([`alone_likest`]).
    fn search_sketches(&self, probe: &PictureProbe) -> Result<Option<(ItemId, f32)>> {
        let Some(query) = probe.sketches().first() else {
            return Ok(None);
        };
        let likenesses = self.store().items()?.into_iter().filter_map(|item| {
            let l = query.likeness(&item.sketch.as_ref()?.0)?;
            Some((item.id, l))
        });
        Ok(alone_likest(likenesses))
    }

    /// The colour twin of `named` among the first [`LIKENESS_CANDIDATES`] of `order` (its
    /// stored sketch at least [`TWIN_SKETCHES`] alike) whose tint is likest the query's, when
    /// that is at least [`TINT_MARGIN`] more like it than `named`'s; `None` when there is none,
    /// when the query is grey, or when the pictures were stored without tints.
    fn recoloured(
        &self,
        probe: &PictureProbe,
        named: ItemId,
        order: &[ItemId],
    ) -> Result<Option<ItemId>> {
        let Some(item) = self.store().item(named)? else {
            return Ok(None);
        };
        let (Some(sketch), Some(own)) = (item.sketch, item.tint) else {
            return Ok(None);
        };
        let query = tint(&probe.picture);
        let Some(own) = tint_likeness(&query, &own.0) else {
            return Ok(None);
        };
        let mut twin: Option<(ItemId, f32)> = None;
        for &id in order.iter().take(LIKENESS_CANDIDATES) {
            let Some(other) = self.store().item(id)?.filter(|_| id != named) else {
                continue;
            };
            let (Some(s), Some(t)) = (other.sketch, other.tint) else {
                continue;
            };
            if !likeness(&sketch.0, &s.0).is_some_and(|l| l >= TWIN_SKETCHES) {
                continue;
            }
            let Some(l) = tint_likeness(&query, &t.0) else {
                continue;
            };
            if l >= own + TINT_MARGIN && twin.is_none_or(|(_, best)| l > best) {
                twin = Some((id, l));
            }
        }
        Ok(twin.map(|(id, _)| id))
    }

    /// The answer to a picture query from what it found: candidates in vote order; the
    /// first named when its vote clears the calibrated score, or else the nearest picture
    /// when its distance passes [`Decision::accepts`], or else the likest of the first
    /// candidates when its likeness clears the calibrated one, or else the sketch search's;
    /// the named gives way to its colour twin when the query's colours are the twin's
    /// ([`Self::recoloured`]), and comes first.
    fn decide_image(&self, probe: &PictureProbe, cfg: &QueryConfig) -> Result<QueryResult> {
        let found = &probe.found(None);
        let calib = self.index().calibration();
        let distances: Vec<f32> = found.nearest.iter().map(|(_, d)| *d).collect();
        let decision = Decision::new(calib, cfg, &distances);
        // An asked-for distance decides alone.
        let min_score = calib.picture_votes().filter(|_| cfg.max_distance.is_none());
        let voted = found
            .votes
            .first()
            .filter(|(_, s)| min_score.is_some_and(|m| *s >= m))
            .map(|(id, _)| *id);
        let near = found
            .nearest
            .first()
            .filter(|(_, d)| decision.accepts(*d))
            .map(|(id, _)| *id);
        let mut order = found.ranked();
        // Neither rule named one: the likest of the first candidates, when alike enough.
        let min_likeness = calib.likeness.filter(|_| cfg.max_distance.is_none());
        let mut likenesses = match min_likeness {
            Some(_) if voted.or(near).is_none() => self.likenesses(probe, &order)?,
            _ => Vec::new(),
        };
        let liked = likest(&likenesses)
            .zip(min_likeness)
            .filter(|&((_, l), bar)| l >= bar)
            .map(|((id, _), _)| id);
        // Still none: the sketch search, where the likeness check is calibrated (an index
        // calibrated before it has its pictures stored without sketches).
        let searched = match min_likeness {
            Some(_) if voted.or(near).or(liked).is_none() => self.search_sketches(probe)?,
            _ => None,
        };
        if let Some((id, l)) = searched {
            likenesses.retain(|&(i, _)| i != id);
            likenesses.push((id, l));
        }
        let named = match voted.or(near).or(liked).or(searched.map(|(id, _)| id)) {
            Some(id) => Some(self.recoloured(probe, id, &order)?.unwrap_or(id)),
            None => None,
        };
        if let Some(id) = named {
            order.retain(|&i| i != id);
            order.insert(0, id);
        }
        let mut candidates = Vec::new();
        for id in order {
            if candidates.len() >= cfg.top.max(1) {
                break;
            }
            let Some(item) = self.store().item(id)? else {
                continue;
            };
            // A picture only the views found: its distance measured here, as the others'.
            let distance = match found.distance(id) {
                Some(d) => Some(d),
                None => {
                    let (_, vectors) = self.store().signatures(id)?;
                    let dim = self.index().latent_dim();
                    Some(nearest_distance(&probe.wholes.codes, &vectors, dim))
                }
            };
            let score = found.score(id);
            let by_votes = min_score.map_or(0.0, |m| score / (score + m));
            let by_distance = distance.map_or(0.0, |d| decision.confidence(d));
            let likeness = likenesses.iter().find(|(i, _)| *i == id).map(|&(_, l)| l);
            let by_likeness = likeness
                .zip(min_likeness)
                .map_or(0.0, |(l, bar)| l.max(0.0) / (l.max(0.0) + bar));
            let mut candidate = picture_candidate(
                item,
                by_votes.max(by_distance).max(by_likeness),
                Some(score),
                distance,
            );
            candidate.likeness = likeness;
            candidates.push(candidate);
        }
        let matched = candidates.first().filter(|c| Some(c.id) == named).cloned();
        Ok(picture_result(matched, candidates))
    }

    /// Stored pictures most like stored picture `id` (by its whole-picture signature), the
    /// picture itself left out.
    pub(crate) fn similar_image(
        &self,
        id: ItemId,
        offsets: &[u32],
        vectors: &[f32],
        cfg: &QueryConfig,
    ) -> Result<QueryResult> {
        let whole = whole_signature(offsets, vectors);
        let neighbours = self
            .store()
            .search(whole, self.views_for(cfg.top.max(RATIO_RANK) + 1))?;
        self.rank_images(nearest_pictures(&neighbours, Some(id)), cfg)
    }

    /// Neighbours to look up per query signature so that `top` distinct pictures come back
    /// even when every view of the nearest ones is among them.
    fn views_for(&self, top: usize) -> usize {
        top.max(1) * self.stored_per_picture()
    }

    /// Signatures stored per picture: every view, once per standardisation.
    fn stored_per_picture(&self) -> usize {
        self.index().features().image.stored_rects().len()
    }

    /// The whole query picture as it is and mirrored, once per standardisation the index
    /// stores (in that order: [`PictureProbe`]'s wholes).
    fn whole_views(&self) -> Vec<View> {
        self.index()
            .features()
            .image
            .standardised(&[View::WHOLE, View::MIRRORED])
    }

    /// The answer by distance alone: pictures `ranked` nearest first (as [`nearest_pictures`]
    /// makes them); the first is the match when [`Decision::accepts`] it.
    pub(crate) fn rank_images(
        &self,
        ranked: Vec<(ItemId, f32)>,
        cfg: &QueryConfig,
    ) -> Result<QueryResult> {
        let mut found = Vec::new();
        let mut distances: Vec<f32> = Vec::new();
        for (id, distance) in ranked {
            // Enough for the answer and for the ratio test's reference (twins count once).
            if found.len() >= cfg.top.max(1) && ratio_reference(&distances).is_some() {
                break;
            }
            if let Some(item) = self.store().item(id)? {
                found.push((item, distance));
                distances.push(distance);
            }
        }
        let decision = Decision::new(self.index().calibration(), cfg, &distances);
        let candidates: Vec<Candidate> = found
            .into_iter()
            .take(cfg.top.max(1))
            .map(|(item, distance)| {
                picture_candidate(item, decision.confidence(distance), None, Some(distance))
            })
            .collect();
        let matched = candidates
            .first()
            .filter(|c| c.distance.is_some_and(|d| decision.accepts(d)))
            .cloned();
        Ok(picture_result(matched, candidates))
    }
}

/// The likest of pictures' likenesses (the earlier of equals).
fn likest(likenesses: &[(ItemId, f32)]) -> Option<(ItemId, f32)> {
    likenesses
        .iter()
        .copied()
        .reduce(|best, next| if next.1 > best.1 { next } else { best })
}

/// The likest of pictures' likenesses when it stands alone: at least [`SEARCH_LIKENESS`], and
/// every other picture's at most [`SEARCH_RATIO`] of it.
fn alone_likest(likenesses: impl IntoIterator<Item = (ItemId, f32)>) -> Option<(ItemId, f32)> {
    let mut best: Option<(ItemId, f32)> = None;
    let mut next = f32::NEG_INFINITY;
    for (id, l) in likenesses {
        match best {
            Some((_, b)) if l <= b => next = next.max(l),
            _ => {
                next = next.max(best.map_or(f32::NEG_INFINITY, |(_, b)| b));
                best = Some((id, l));
            }
        }
    }
    best.filter(|&(_, l)| l >= SEARCH_LIKENESS && next <= SEARCH_RATIO * l)
}

/// The distance between the nearest of `queries` and the nearest of `stored` (codes of
/// `dim` values, concatenated).
fn nearest_distance(queries: &[f32], stored: &[f32], dim: usize) -> f32 {
    queries
        .chunks_exact(dim.max(1))
        .map(|q| nearest_view(q, stored))
        .fold(f32::INFINITY, f32::min)
}

/// The distance from `q` to the nearest of `views` (codes of `q`'s length, concatenated).
fn nearest_view(q: &[f32], views: &[f32]) -> f32 {
    views
        .chunks_exact(q.len().max(1))
        .map(|v| {
            q.iter()
                .zip(v)
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f32>()
                .sqrt()
        })
        .fold(f32::INFINITY, f32::min)
}

fn picture_result(matched: Option<Candidate>, candidates: Vec<Candidate>) -> QueryResult {
    QueryResult {
        matched,
        candidates,
        patches: 1,
        reconstruction: None,
        seconds: 0.0,
    }
}

fn picture_candidate(
    item: Item,
    confidence: f32,
    votes: Option<f32>,
    distance: Option<f32>,
) -> Candidate {
    Candidate {
        id: item.id,
        path: item.path,
        name: item.name,
        offset_s: None,
        confidence,
        agreement: votes,
        evidence: None,
        distance,
        likeness: None,
    }
}

/// How a picture query's distances become a confidence (0.5 at the threshold): a picture is
/// accepted when it is within the distance, or within the ratio of the [`RATIO_RANK`]-th
/// nearest picture's distance.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Decision {
    max_distance: f32,
    /// The distance was asked for (`--max-distance`): it decides alone.
    asked: bool,
    /// (the [`RATIO_RANK`]-th nearest picture's distance, the largest share of it accepted),
    /// when the index is calibrated for it and that many pictures came back.
    ratio: Option<(f32, f32)>,
}

impl Decision {
    /// The rule for a query whose pictures came back at `distances` (nearest first). An
    /// asked-for `max_distance` decides alone.
    pub(crate) fn new(
        calib: &latentid_index::Calibration,
        cfg: &QueryConfig,
        distances: &[f32],
    ) -> Self {
        let max_distance = cfg.max_distance.unwrap_or(calib.distance).max(1e-6);
        let ratio = match (calib.picture_ratio(), ratio_reference(distances)) {
            _ if cfg.max_distance.is_some() => None,
            (Some(max), Some(reference)) => Some((reference, max)),
            _ => None,
        };
        Self {
            max_distance,
            asked: cfg.max_distance.is_some(),
            ratio,
        }
    }

    /// 0..1, 0.5 at the nearer of the two thresholds.
    pub(crate) fn confidence(&self, distance: f32) -> f32 {
        let by_distance = self.max_distance / (self.max_distance + distance);
        let by_ratio = self
            .ratio
            .map_or(0.0, |(reference, max)| max / (max + distance / reference));
        by_distance.max(by_ratio)
    }

    pub(crate) fn accepts(&self, distance: f32) -> bool {
        distance <= self.max_distance || self.stands_out(distance)
    }

    fn stands_out(&self, distance: f32) -> bool {
        self.ratio
            .is_some_and(|(reference, max)| distance <= max * reference)
    }

    /// Whether pictures found at `distances` (nearest first) by the whole query settle the
    /// answer, so that no view need be cut: the nearest stands out from the crowd (the ratio
    /// test) and no other picture is accepted. A copy of one of two look-alikes, or one only
    /// the plain distance accepts (featureless pictures sit close together), is left to the
    /// view vote, which comes first (benches/RESULTS.md, "The whole first"). An asked-for
    /// `max_distance` decides alone.
    pub(crate) fn settles(&self, distances: &[f32]) -> bool {
        let Some(&nearest) = distances.first() else {
            return false;
        };
        // Twins of the nearest (at its very distance) are one picture with it.
        let second_accepted = distances
            .iter()
            .find(|&&d| !ties(d, nearest))
            .is_some_and(|&d| self.accepts(d));
        match self.asked {
            true => self.accepts(nearest),
            false => self.stands_out(nearest) && !second_accepted,
        }
    }
}

/// The distance a picture's is compared with in the ratio test: the [`RATIO_RANK`]-th of
/// `distances` (nearest first), when that many came back at a usable distance. Pictures at
/// one distance count once: twins (one picture stored more than once) are one picture, not
/// the crowd it stands out from.
pub(crate) fn ratio_reference(distances: &[f32]) -> Option<f32> {
    let mut rank = 0;
    let mut last: Option<f32> = None;
    for &d in distances {
        if last.is_none_or(|l| !ties(d, l)) {
            rank += 1;
            last = Some(d);
            if rank == RATIO_RANK {
                return Some(d).filter(|&d| d.is_finite() && d > 0.0);
            }
        }
    }
    None
}

/// The whole-picture signature (offset 0) among a picture's stored signatures; the first
/// one when none has offset 0.
pub(crate) fn whole_signature<'v>(offsets: &[u32], vectors: &'v [f32]) -> &'v [f32] {
    let n = offsets.len().max(1);
    let dim = vectors.len() / n;
    let at = offsets.iter().position(|&o| o == 0).unwrap_or(0);
    &vectors[at * dim..(at + 1) * dim]
}

/// How far apart two stored pictures are, as a query of one would find the other: the
/// nearer of (the whole of `a` to any view of `b`) and (the whole of `b` to any view of `a`).
pub(crate) fn picture_distance(a: (&[u32], &[f32]), b: (&[u32], &[f32])) -> f32 {
    let one_way = |(offsets, vectors): (&[u32], &[f32]), views: &[f32]| {
        nearest_view(whole_signature(offsets, vectors), views)
    };
    one_way(a, b.1).min(one_way(b, a.1))
}

#[cfg(test)]
mod tests {
    use latentid_index::Calibration;

    use super::*;

    fn calibrated(distance: f32, ratio: Option<f32>) -> Calibration {
        Calibration {
            distance,
            distance_ratio: ratio,
            ..Calibration::default()
        }
    }

    #[test]
    fn twins_of_the_nearest_are_not_the_crowd_it_stands_out_from() {
        let calib = calibrated(0.05, Some(0.5));
        let cfg = QueryConfig::default();
        // A turned copy of a picture stored three times: its twins at its very distance
        // count once, the reference is the next two pictures beyond them.
        let twins = [0.3, 0.3, 0.3, 0.85, 0.9, 1.0];
        assert_eq!(ratio_reference(&twins), Some(0.9));
        let d = Decision::new(&calib, &cfg, &twins);
        assert!(d.accepts(0.3) && d.settles(&twins));
        // Pictures merely near each other are each one of the crowd.
        assert_eq!(ratio_reference(&[0.3, 0.31, 0.32, 0.9]), Some(0.32));
    }

    #[test]
    fn a_far_copy_that_stands_out_is_named_and_a_close_crowd_is_not() {
        let calib = calibrated(0.05, Some(0.5));
        let cfg = QueryConfig::default();
        // A cropped photo: far by distance, but a third as far as the picture ranked third.
        let copy = Decision::new(&calib, &cfg, &[0.3, 0.85, 0.9, 1.0]);
        assert!(copy.accepts(0.3));
        assert!(copy.confidence(0.3) > 0.5);
        // A stranger among featureless pictures: near-ish, but no nearer than the rest.
        let crowd = Decision::new(&calib, &cfg, &[0.06, 0.07, 0.08]);
        assert!(!crowd.accepts(0.06));
        assert!(crowd.confidence(0.06) < 0.5);
        // A copy of one of a burst of look-alikes: very near, so named by distance.
        let burst = Decision::new(&calib, &cfg, &[0.01, 0.015, 0.02]);
        assert!(burst.accepts(0.01));
        assert!(burst.confidence(0.01) > 0.5);
    }

    #[test]
    fn only_a_copy_that_stands_out_alone_is_settled_by_the_whole() {
        let calib = calibrated(0.05, Some(0.5));
        let cfg = QueryConfig::default();
        let settles = |d: &[f32]| Decision::new(&calib, &cfg, d).settles(d);
        // Stands out from the crowd, and nothing else is accepted.
        assert!(settles(&[0.2, 0.8, 0.9]));
        // Two look-alikes both stand out: the views decide which.
        assert!(!settles(&[0.1, 0.12, 0.9]));
        // Accepted by the plain distance only, among a crowd of near pictures.
        assert!(!settles(&[0.04, 0.06, 0.07]));
        // Not accepted at all.
        assert!(!settles(&[0.6, 0.8, 0.9]));
        assert!(!settles(&[]));
        // An asked-for distance decides alone, as it names.
        let asked = QueryConfig {
            max_distance: Some(0.05),
            ..QueryConfig::default()
        };
        let d = [0.04, 0.045, 0.07];
        assert!(Decision::new(&calib, &asked, &d).settles(&d));
    }

    #[test]
    fn the_distance_decides_without_a_ratio_or_when_asked_for() {
        let cfg = QueryConfig::default();
        let by_distance = |d: Decision| (d.accepts(0.09), d.accepts(0.11));
        // Too few pictures came back for the ratio.
        let few = Decision::new(&calibrated(0.1, Some(0.5)), &cfg, &[0.08, 0.5]);
        assert_eq!(by_distance(few), (true, false));
        // Calibrated before the ratio was kept, or with too few pictures to measure it.
        for ratio in [None, Some(0.0)] {
            let d = Decision::new(&calibrated(0.1, ratio), &cfg, &[0.08, 0.5, 0.6]);
            assert_eq!(by_distance(d), (true, false));
        }
        // `--max-distance` is a distance, whatever the calibration.
        let asked = QueryConfig {
            max_distance: Some(0.2),
            ..QueryConfig::default()
        };
        let d = Decision::new(&calibrated(0.1, Some(0.9)), &asked, &[0.25, 0.3, 0.35]);
        assert!(!d.accepts(0.25));
        assert!((d.confidence(0.2) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn the_sketch_search_names_only_a_picture_alike_and_alone_in_being_so() {
        // A copy whose grain is gone: like its own picture, hardly like any other.
        let found = alone_likest([(1, 0.12), (2, 0.55), (3, 0.15), (4, -0.3)]);
        assert_eq!(found, Some((2, 0.55)));
        // Two pictures alike (a picture and its colour variant): neither stands alone.
        assert_eq!(alone_likest([(1, 0.9), (2, 0.85)]), None);
        assert_eq!(alone_likest([(1, 0.6), (2, 0.2), (3, 0.1)]), None);
        // Alone, but not alike enough.
        assert_eq!(alone_likest([(1, 0.35), (2, 0.05)]), None);
        // One picture in the library, or none with a sketch.
        assert_eq!(alone_likest([(7, 0.7)]), Some((7, 0.7)));
        assert_eq!(alone_likest([]), None);
    }
}
