//! The names people know a song by: title, artist and album from the file's own tags (ID3,
//! Vorbis comments, MP4 atoms, as symphonia reads them).

use serde::{Deserialize, Serialize};
use symphonia::core::meta::{MetadataRevision, StandardTag, Tag};

/// What a file's tags say it is; every field `None` when it has none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tags {
    pub title: Option<String>,
    pub artist: Option<String>,
    pub album: Option<String>,
}

impl Tags {
    /// "Artist – Title", or the title alone; `None` without a title (a file called by its
    /// artist alone would name every song of that artist the same).
    pub fn display_name(&self) -> Option<String> {
        let title = self.title.as_deref()?;
        Some(match self.artist.as_deref() {
            Some(artist) => format!("{artist} – {title}"),
            None => title.to_string(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.artist.is_none() && self.album.is_none()
    }

    /// Takes what one metadata revision says (media-level and per-track tags); a later
    /// revision overrides an earlier one, the track artist wins over the album artist.
    pub(crate) fn read(&mut self, rev: &MetadataRevision) {
        let mut album_artist = None;
        let tags = rev
            .media
            .tags
            .iter()
            .chain(rev.per_track.iter().flat_map(|t| t.metadata.tags.iter()));
        for tag in tags {
            let Tag { std: Some(std), .. } = tag else {
                continue;
            };
            let (slot, value) = match std {
                StandardTag::TrackTitle(v) => (&mut self.title, v),
                StandardTag::Artist(v) => (&mut self.artist, v),
                StandardTag::Album(v) => (&mut self.album, v),
                StandardTag::AlbumArtist(v) => (&mut album_artist, v),
                _ => continue,
            };
            let value = value.trim();
            if !value.is_empty() {
                *slot = Some(value.to_string());
            }
        }
        if self.artist.is_none() {
            self.artist = album_artist;
        }
    }
}
