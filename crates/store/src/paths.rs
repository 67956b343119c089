//! File paths that are not UTF-8 (a Latin-1 name from an old disk, say) in stored records
//! (items are stored as JSON) and in `--json` output. serde writes a path as a string and
//! refuses one that is not UTF-8; here a UTF-8 path is written as before, and any other as
//! a NUL (which no path can hold) followed by its bytes in hex: read back exactly.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    match path.to_str() {
        Some(text) => s.serialize_str(text),
        None => s.serialize_str(&format!("\0{}", to_hex(path.as_os_str().as_bytes()))),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    let text = String::deserialize(d)?;
    let Some(hex) = text.strip_prefix('\0') else {
        return Ok(PathBuf::from(text));
    };
    from_hex(hex)
        .map(|b| PathBuf::from(OsString::from_vec(b)))
        .ok_or_else(|| serde::de::Error::custom("a stored path is damaged"))
}

/// Bytes as lower-case hex, two digits each: how stored records write raw bytes (a path that
/// is not UTF-8, a picture's sketch).
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(2 * bytes.len());
    for b in bytes {
        text.push_str(&format!("{b:02x}"));
    }
    text
}

/// [`to_hex`]'s bytes back; `None` for anything it cannot have written.
pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// [`serialize`] for an optional path.
pub fn serialize_opt<S: Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match path {
        Some(p) => s.serialize_some(&AnyPath(p)),
        None => s.serialize_none(),
    }
}

/// [`serialize`] for a list of paths.
pub fn serialize_vec<S: Serializer>(paths: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(paths.iter().map(|p| AnyPath(p)))
}

/// A path that serialises as [`serialize`] writes it.
#[derive(Debug)]
pub struct AnyPath<'a>(pub &'a Path);

impl serde::Serialize for AnyPath<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize(self.0, s)
    }
}
