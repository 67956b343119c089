use std::io::Read;
use std::path::Path;

use crate::{IngestError, Result};

/// Hex BLAKE3 of the file's bytes, streamed: the same bytes under any name dedupe to one item.
pub fn content_hash(path: &Path) -> Result<String> {
    let io = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs_err::File::open(path).map_err(io)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}
