use std::path::{Path, PathBuf};

use latentid_media::{media_kind, MediaKind};

use crate::{IngestError, Result};

/// A file found under the given paths, with its canonical absolute path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    pub path: PathBuf,
    pub kind: Option<MediaKind>,
}

/// The files of a walk, split by what they are.
#[derive(Clone, Debug, Default)]
pub struct Classified {
    pub audio: Vec<PathBuf>,
    pub images: Vec<PathBuf>,
    /// Files that are not media at all (cover sheets, playlists, .nfo …).
    pub other: Vec<PathBuf>,
}

/// Walks files and folders (recursively, not following symlinked folders twice), returning
/// canonical paths in sorted order so runs are reproducible. Hidden files are skipped.
pub fn walk(paths: &[PathBuf]) -> Result<Classified> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|_| IngestError::Missing { path: p.clone() })?;
        let canonical = fs_err::canonicalize(p).map_err(|source| IngestError::Io {
            path: p.clone(),
            source,
        })?;
        if meta.is_dir() {
            walk_dir(&canonical, &mut files)?;
        } else {
            files.push(canonical);
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

fn walk_dir(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = fs_err::read_dir(dir).map_err(|source| IngestError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // file_type() does not follow symlinks: a linked folder is walked via its
        // canonical target only if it is itself given on the command line.
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk_dir(&path, out)?,
            Ok(t) if t.is_file() => out.push(path),
            Ok(t) if t.is_symlink() => {
                if let Ok(target) = std::fs::canonicalize(&path) {
                    if target.is_file() {
                        out.push(target);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}
