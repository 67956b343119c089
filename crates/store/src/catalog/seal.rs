//! The seal: how many commits the catalog had when the last one returned, kept in a small file
//! beside sled's (`catalog/latentid-commits`) as well as in the catalog (`m:commits`).
//!
//! sled checks every record it reads, but when a file of its log is damaged (a blob truncated,
//! bytes overwritten) it recovers by cutting the log at the damage: the catalog opens without
//! an error, as it was some writes ago, and acknowledged items (or the model) are silently
//! gone. The seal turns that into a refusal: a catalog holding fewer commits than the seal
//! records has lost writes.
//!
//! The seal is written after the commit is durable, with a rename, so a killed writer leaves
//! the old seal or the new one; a seal behind the catalog (a kill between the two, or a seal
//! that could not be written) is harmless and is caught up by the next commit. A seal that
//! cannot be read is not trusted either way: the index opens, with a warning.

use std::io::Write;
use std::path::{Path, PathBuf};

const FILE: &str = "latentid-commits";

/// The seal file of the sled database in `db_dir`.
pub(super) fn path(db_dir: &Path) -> PathBuf {
    db_dir.join(FILE)
}

/// The seal's text: the count, then its complement (a damaged seal rarely keeps both).
fn encode(commits: u64) -> String {
    format!("{commits} {}\n", !commits)
}

fn decode(text: &str) -> Option<u64> {
    let mut words = text.split_ascii_whitespace();
    let commits: u64 = words.next()?.parse().ok()?;
    let check: u64 = words.next()?.parse().ok()?;
    (check == !commits && words.next().is_none()).then_some(commits)
}

/// The commits the seal at `path` records: `Ok(None)` when there is no seal (an index written
/// before seals, or a new one), `Err(reason)` when it cannot be read.
pub(super) fn read(path: &Path) -> Result<Option<u64>, String> {
    match std::fs::read(path) {
        Ok(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(decode)
            .map(Some)
            .ok_or_else(|| format!("{} is not a seal", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Records `commits` in the seal at `path`: a new file renamed over the old one.
pub(super) fn write(path: &Path, commits: u64) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(encode(commits).as_bytes())?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// Removes a seal left by a catalog that is no longer there.
pub(super) fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_round_trips_and_a_damaged_one_is_unreadable() {
        let tmp = tempfile::tempdir().unwrap();
        let p = path(tmp.path());
        assert_eq!(read(&p), Ok(None));
        write(&p, 42).unwrap();
        assert_eq!(read(&p), Ok(Some(42)));
        write(&p, 43).unwrap();
        assert_eq!(read(&p), Ok(Some(43)));
        for damaged in [
            "",
            "43",
            "44 18446744073709551572",
            "43 1",
            "43 x\n",
            "\u{fffd}",
        ] {
            std::fs::write(&p, damaged).unwrap();
            assert!(read(&p).is_err(), "{damaged:?}");
        }
        remove(&p).unwrap();
        remove(&p).unwrap();
        assert_eq!(read(&p), Ok(None));
    }
}
