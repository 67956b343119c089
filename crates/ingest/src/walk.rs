use std::path::PathBuf;

use latentid_media::{media_kind, MediaKind};
use latentid_store::ItemKind;
use walkdir::WalkDir;

use crate::{IngestError, Result};

/// The files of a walk, split by what they are.
#[derive(Clone, Debug, Default)]
pub struct Classified {
    pub audio: Vec<PathBuf>,
    pub images: Vec<PathBuf>,
    /// Files that are not media at all (cover sheets, playlists, .nfo …).
    pub other: Vec<PathBuf>,
}

impl Classified {
    /// Every file found.
    pub fn len(&self) -> usize {
        self.audio.len() + self.images.len() + self.other.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The files an index of `kind` takes.
    pub fn of_kind(&self, kind: ItemKind) -> &[PathBuf] {
        match kind {
            ItemKind::Audio => &self.audio,
            ItemKind::Image => &self.images,
        }
    }

    /// The files an index of `kind` takes, and the rest (skipped, not failures).
    pub fn split(self, kind: ItemKind) -> (Vec<PathBuf>, Vec<PathBuf>) {
        match kind {
            ItemKind::Audio => (self.audio, [self.images, self.other].concat()),
            ItemKind::Image => (self.images, [self.audio, self.other].concat()),
        }
    }
}

/// Walks files and folders recursively (symlinked files are followed, symlinked folders
/// are not, so no folder is walked twice), returning canonical paths in sorted order so
/// runs are reproducible. Hidden files and folders are skipped.
pub fn walk(paths: &[PathBuf]) -> Result<Classified> {
    let mut files = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(IngestError::Missing { path: p.clone() });
        }
        let root = fs_err::canonicalize(p).map_err(|source| IngestError::Io {
            path: p.clone(),
            source,
        })?;
        let hidden = |e: &walkdir::DirEntry| {
            e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.')
        };
        for entry in WalkDir::new(&root).into_iter().filter_entry(|e| !hidden(e)) {
            let entry = entry.map_err(|e| IngestError::Io {
                path: e.path().map_or_else(|| root.clone(), |p| p.to_path_buf()),
                source: e.into(),
            })?;
            let t = entry.file_type();
            if t.is_file() {
                files.push(entry.into_path());
            } else if t.is_symlink() {
                // A linked file counts (as its target); a linked folder is walked only
                // when it is itself given on the command line.
                if let Ok(target) = std::fs::canonicalize(entry.path()) {
                    if target.is_file() {
                        files.push(target);
                    }
                }
            }
        }
    }
    files.sort();
    files.dedup();
    let mut out = Classified::default();
    for f in files {
        match media_kind(&f) {
            Some(MediaKind::Audio) => out.audio.push(f),
            Some(MediaKind::Image) => out.images.push(f),
            None => out.other.push(f),
        }
    }
    Ok(out)
}
