//! Groups of near-duplicate items: the library clustered by signature.
//!
//! Every stored item is looked up like a query with [`Matcher::similar`] (its own signatures,
//! itself left out); each neighbour that would count as a match becomes a link, and linked
//! items form a group (single linkage: connected components). So an item is grouped with
//! exactly the items a query of it would name.
//!
//! - Images: a link is a neighbour at most `threshold` away in signature distance; by
//!   default the index's calibrated "no match" distance, so a near-duplicate is anything an
//!   altered copy of a picture could be.
//! - Audio: a link is the track a query made of the item's signatures would name (offset
//!   voting), with confidence at least `threshold` (default 0.5, the calibrated threshold):
//!   the same recording stored twice, in another encoding or as an excerpt.

use latentid_store::ItemId;
use petgraph::unionfind::UnionFind;
use serde::{Deserialize, Serialize};

use crate::{Matcher, QueryConfig, Result};
use latentid_store::ItemKind;

#[derive(Clone, Debug, PartialEq)]
pub struct DuplicatesConfig {
    /// Images: largest signature distance of a link [default: calibrated]. Audio: smallest
    /// confidence of a link [default: 0.5].
    pub threshold: Option<f32>,
    /// Neighbours looked at per item (images): a group larger than this is still found
    /// through its members' own neighbours.
    pub neighbours: usize,
}

impl Default for DuplicatesConfig {
    fn default() -> Self {
        Self {
            threshold: None,
            neighbours: 10,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: ItemId,
    pub path: std::path::PathBuf,
    pub name: String,
}

/// Two items found alike: `distance` (images) or `confidence` (audio).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub a: ItemId,
    pub b: ItemId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
}

/// One group of near-duplicates, members in id order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DuplicateGroup {
    pub members: Vec<Member>,
    /// The links that joined the group (single linkage), in (a, b) order.
    pub links: Vec<Link>,
    /// Images: the largest distance between any two members, linked or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_distance: Option<f32>,
}

/// What [`duplicates`] found, and with which threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Duplicates {
    pub groups: Vec<DuplicateGroup>,
    pub threshold: f32,
    /// Items looked at.
    pub items: usize,
}

/// Groups the index's near-duplicate items: see the module docs. Groups come largest first,
/// then by their first member's id.
pub fn duplicates(matcher: &Matcher<'_>, cfg: &DuplicatesConfig) -> Result<Duplicates> {
    let store = matcher.index().store();
    let kind = matcher.index().kind();
    let threshold = cfg.threshold.unwrap_or(match kind {
        ItemKind::Image => matcher.index().calibration().distance,
        ItemKind::Audio => 0.5,
    });
    let items = store.items()?;
    let qcfg = match kind {
        ItemKind::Image => QueryConfig {
            top: cfg.neighbours.max(1),
            max_distance: Some(threshold),
            ..QueryConfig::default()
        },
        ItemKind::Audio => QueryConfig {
            top: 1,
            min_confidence: Some(threshold),
            ..QueryConfig::default()
        },
    };
    let mut links: Vec<Link> = Vec::new();
    for item in &items {
        let r = matcher.similar(item.id, &qcfg)?;
        for c in &r.candidates {
            let linked = match kind {
                ItemKind::Image => c.distance.is_some_and(|d| d <= threshold),
                ItemKind::Audio => r.matched.as_ref().is_some_and(|m| m.id == c.id),
            };
            if !linked {
                continue;
            }
            let (a, b) = (item.id.min(c.id), item.id.max(c.id));
            match links.iter_mut().find(|l| l.a == a && l.b == b) {
                // Seen from the other side: keep the closer (more confident) look.
                Some(l) => {
                    l.distance = min_opt(l.distance, c.distance);
                    l.confidence = max_opt(l.confidence, audio_conf(kind, c.confidence));
                }
                None => links.push(Link {
                    a,
                    b,
                    distance: c.distance,
                    confidence: audio_conf(kind, c.confidence),
                }),
            }
        }
    }
    links.sort_by_key(|l| (l.a, l.b));

    let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
    let mut sets = UnionFind::<usize>::new(ids.len());
    let slot = |id: ItemId| ids.binary_search(&id).ok();
    for l in &links {
        if let (Some(x), Some(y)) = (slot(l.a), slot(l.b)) {
            sets.union(x, y);
        }
    }
    let mut by_root: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..ids.len() {
        by_root.entry(sets.find(i)).or_default().push(i);
    }
    let mut groups = Vec::new();
    for slots in by_root.into_values().filter(|s| s.len() > 1) {
        let members: Vec<Member> = slots
            .iter()
            .map(|&i| Member {
                id: items[i].id,
                path: items[i].path.clone(),
                name: items[i].name.clone(),
            })
            .collect();
        let max_distance = match kind {
            ItemKind::Image => Some(max_pairwise(matcher, &members)?),
            ItemKind::Audio => None,
        };
        let group_links = links
            .iter()
            .filter(|l| members.iter().any(|m| m.id == l.a))
            .cloned()
            .collect();
        groups.push(DuplicateGroup {
            members,
            links: group_links,
            max_distance,
        });
    }
    groups.sort_by_key(|g| (std::cmp::Reverse(g.members.len()), g.members[0].id));
    Ok(Duplicates {
        groups,
        threshold,
        items: items.len(),
    })
}

fn audio_conf(kind: ItemKind, confidence: f32) -> Option<f32> {
    (kind == ItemKind::Audio).then_some(confidence)
}

fn min_opt(a: Option<f32>, b: Option<f32>) -> Option<f32> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

fn max_opt(a: Option<f32>, b: Option<f32>) -> Option<f32> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

/// Largest distance between any two members, each pair measured as a query of one would
/// find the other (its whole picture against the other's stored views).
fn max_pairwise(matcher: &Matcher<'_>, members: &[Member]) -> Result<f32> {
    let signatures = members
        .iter()
        .map(|m| Ok(matcher.index().store().signatures(m.id)?))
        .collect::<Result<Vec<(Vec<u32>, Vec<f32>)>>>()?;
    let mut max = 0f32;
    for (i, (oa, va)) in signatures.iter().enumerate() {
        for (ob, vb) in &signatures[i + 1..] {
            max = max.max(crate::image::picture_distance((oa, va), (ob, vb)));
        }
    }
    Ok(max)
}
