use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The on-disk layout this crate writes, bumped with any change to it (indexes/README.md).
/// Opening an index of an older version upgrades it in place; a newer one is refused.
pub const FORMAT_VERSION: u32 = 4;

/// What an index holds: one kind per index. Serialised as "audio" / "image" (manifests of
/// format 1 say "Audio" / "Image").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    #[serde(alias = "Audio")]
    Audio,
    #[serde(alias = "Image")]
    Image,
}

impl ItemKind {
    /// As users see it: "audio" or "image".
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Audio => "audio",
            ItemKind::Image => "image",
        }
    }
}

/// What an index is: kept beside the data so queries are computed like the index was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The layout the index is written in ([`FORMAT_VERSION`]).
    pub format_version: u32,
    pub kind: ItemKind,
    /// Values per signature.
    pub latent_dim: usize,
    /// Feature parameters as JSON, opaque to the store.
    pub feature_params: String,
    /// Hash of the stored model, once there is one.
    pub model_hash: Option<String>,
    /// Free-form settings, such as the calibrated "no match" threshold.
    pub extra: BTreeMap<String, String>,
}

impl Manifest {
    /// A manifest of the current format, without model or extras.
    pub fn new(kind: ItemKind, latent_dim: usize, feature_params: String) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            kind,
            latent_dim,
            feature_params,
            model_hash: None,
            extra: BTreeMap::new(),
        }
    }
}

/// An item's id: handed out in increasing order, never reused.
pub type ItemId = u64;

/// An item to store, as [`Store::add_item`](crate::Store::add_item) takes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewItem {
    /// Canonical absolute path.
    #[serde(with = "crate::paths")]
    pub path: PathBuf,
    /// What results call it: "Artist – Title" from the file's tags, else the file stem.
    pub name: String,
    /// Hex BLAKE3 of the file's bytes: the same bytes are stored once.
    pub content_hash: String,
    pub kind: ItemKind,
    /// Audio length in seconds.
    pub duration_s: Option<f32>,
    /// Image size in pixels.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// From the file's tags, where it has them.
    pub title: Option<String>,
    pub artist: Option<String>,
    pub album: Option<String>,
    /// Pictures: the sketch a query's likeness check compares (`latentid_media::sketch`).
    pub sketch: Option<Sketch>,
    /// Pictures: their colours, which tell apart two with the same sketch
    /// (`latentid_media::tint`).
    pub tint: Option<Sketch>,
}

impl NewItem {
    /// The stored item: given its id and signature count, added now.
    pub(crate) fn into_item(self, id: ItemId, signatures: usize) -> Item {
        Item {
            id,
            path: self.path,
            name: self.name,
            content_hash: self.content_hash,
            kind: self.kind,
            duration_s: self.duration_s,
            width: self.width,
            height: self.height,
            title: self.title,
            artist: self.artist,
            album: self.album,
            // A clock set before 1970 records the item as added at 0 rather than refusing it.
            added_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            signatures,
            reconstruction: None,
            sketch: self.sketch,
            tint: self.tint,
        }
    }
}

/// A stored item. Stored as JSON: a field added later needs `#[serde(default)]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: ItemId,
    #[serde(with = "crate::paths")]
    pub path: PathBuf,
    pub name: String,
    pub content_hash: String,
    pub kind: ItemKind,
    pub duration_s: Option<f32>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// When it was added, in seconds since 1970.
    pub added_unix: u64,
    /// How many signatures it has.
    pub signatures: usize,
    /// From the file's tags (added in format 2 without a version bump: absent in items
    /// stored before, and in the JSON of items without tags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub album: Option<String>,
    /// How well the model reconstructs it; `None` until measured (items stored before this
    /// field, or whose signatures a new model dropped).
    #[serde(default)]
    pub reconstruction: Option<Reconstruction>,
    /// Pictures: a small luminance sketch of the whole, which a query's likeness check
    /// compares with its own; absent in items stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sketch: Option<Sketch>,
    /// Pictures: the mean colours of a few cells, which tell apart two pictures with the same
    /// sketch; absent in items stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tint: Option<Sketch>,
}

impl Item {
    /// The item as `list --json` and the server's item API show it: without a picture's
    /// sketch and tint (1 KiB, 2 KiB of hex, that only the query reads).
    pub fn shown(self) -> Item {
        Item {
            sketch: None,
            tint: None,
            ..self
        }
    }
}

/// A picture's sketch: its luminance shrunk to a few dozen pixels a side, row by row
/// (`latentid_media::sketch`); or its tint, a few cells' colours (`latentid_media::tint`).
/// Written as hex in stored records ([`Item::shown`] leaves it out of what `list --json` and
/// the server show).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sketch(pub Vec<u8>);

impl Serialize for Sketch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&crate::paths::to_hex(&self.0))
    }
}

impl<'de> Deserialize<'de> for Sketch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        crate::paths::from_hex(&String::deserialize(d)?)
            .map(Sketch)
            .ok_or_else(|| serde::de::Error::custom("a stored sketch is damaged"))
    }
}

/// How well the index's model reconstructs an item: what `latentid outliers` ranks by. An
/// item unlike the rest of the library is rebuilt worse. Measured with the model that made
/// the item's signatures, and dropped with them ([`Store::reset_signatures`](crate::Store::reset_signatures)).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reconstruction {
    /// The item's error: a high quantile of its signatures' errors (audio), so a long track
    /// with one odd passage still shows it; a picture's own error.
    pub error: f32,
    /// The worst signature's error ...
    pub worst: f32,
    /// ... and where it was taken (frames for audio; 0 for pictures).
    pub worst_offset: u32,
}

/// What [`Store::add_item`](crate::Store::add_item) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    /// Stored under this id.
    Added(ItemId),
    /// The same bytes are already stored as this item; nothing was written.
    Duplicate(ItemId),
}

/// A stored signature near a query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbour {
    pub item: ItemId,
    /// Where in the item the signature was taken (frames for audio; 0 for images).
    pub offset: u32,
    pub distance: f32,
}

/// What [`Store::stats`](crate::Store::stats) counts.
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    /// Live items.
    pub items: usize,
    /// Live signatures.
    pub signatures: usize,
    /// Removed signatures still in the graph (filtered out of results).
    pub tombstoned: usize,
    pub latent_dim: usize,
    /// Size of the index directory (0 in memory).
    pub bytes_on_disk: u64,
    /// Where signatures are searched: "local" (the folder's graph), "memory", or
    /// "milvus://host:port collection NAME".
    pub backend: String,
}
