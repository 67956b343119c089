//! What a server leaves in its index folder: its address (while it runs) and the write token.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Result, ServeError};

/// The running server's address, in the index folder; removed when it stops.
pub const ADDRESS_FILE: &str = "serve.json";
/// The bearer token for writes, in the index folder, mode 0600; kept across restarts.
pub const TOKEN_FILE: &str = "serve.token";
/// Where uploaded files that were added to the index are kept, in the index folder.
pub const UPLOADS_DIR: &str = "uploads";

/// The contents of [`ADDRESS_FILE`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerFile {
    /// `http://host:port`
    pub url: String,
    pub address: std::net::SocketAddr,
    pub pid: u32,
}

impl ServerFile {
    /// What the folder says, if anything readable: it may be stale (a killed server), which
    /// only an answer from the address can tell.
    pub fn read(index: &Path) -> Option<ServerFile> {
        let text = std::fs::read_to_string(index.join(ADDRESS_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Written whole or not at all (a temporary file renamed), so a reader never sees half.
    pub(crate) fn write(&self, index: &Path) -> Result<()> {
        let path = index.join(ADDRESS_FILE);
        let tmp = index.join(format!("{ADDRESS_FILE}.{}.tmp", self.pid));
        let json = serde_json::to_string_pretty(self).unwrap_or_default();
        fs_err::write(&tmp, json + "\n").map_err(|e| io(&tmp, e))?;
        fs_err::rename(&tmp, &path).map_err(|e| io(&path, e))
    }

    /// Removes the file if it is still this server's (a newer server may have replaced it).
    pub(crate) fn remove(&self, index: &Path) {
        if ServerFile::read(index).is_some_and(|f| f.pid == self.pid) {
            let _ = std::fs::remove_file(index.join(ADDRESS_FILE));
        }
    }
}

fn io(path: &Path, e: std::io::Error) -> ServeError {
    ServeError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(e.kind(), e.to_string()),
    }
}

/// The index's write token: read from [`TOKEN_FILE`], or made (32 random bytes, hex) and
/// written there readable by its owner only.
pub(crate) fn ensure_token(index: &Path) -> Result<String> {
    if let Some(t) = read_token(index) {
        return Ok(t);
    }
    let bytes: [u8; 32] = rand::random();
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let path = index.join(TOKEN_FILE);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&path).map_err(|e| io(&path, e))?;
    f.write_all(token.as_bytes()).map_err(|e| io(&path, e))?;
    Ok(token)
}

/// The token in `index`'s folder, if there is one and this user may read it.
pub fn read_token(index: &Path) -> Option<String> {
    let t = std::fs::read_to_string(index.join(TOKEN_FILE)).ok()?;
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Where an uploaded file is kept: a fresh name in [`UPLOADS_DIR`] that keeps the upload's
/// own name (its extension tells the decoder the format; its stem names the item).
pub(crate) fn upload_path(index: &Path, name: &str) -> PathBuf {
    let dir = index.join(UPLOADS_DIR);
    let clean: String = Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_control() || c == '/' || c == '\\' {
                '_'
            } else {
                c
            }
        })
        .collect();
    let clean = if clean.is_empty() || clean.starts_with('.') {
        format!("upload{clean}")
    } else {
        clean
    };
    let mut path = dir.join(&clean);
    let mut n = 1;
    while path.exists() {
        n += 1;
        let p = Path::new(&clean);
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default();
        path = match p.extension() {
            Some(ext) => dir.join(format!("{stem}-{n}.{}", ext.to_string_lossy())),
            None => dir.join(format!("{stem}-{n}")),
        };
    }
    path
}
