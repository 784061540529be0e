//! The original messages, kept as files beside the database: each batch of tracked messages is
//! one pack file (`messages/<id>.pack`, the messages one after the other), written and synced to
//! disk before the transaction that refers to it (`email_raw`: pack, offset, length) commits.
//! A message is thus written once, not twice as SQLite's write-ahead log would write it, and a
//! pack whose transaction never committed (the process died in between) refers to nothing; it is
//! removed the next time an engine opens the data directory, once it is a day old.

use crate::{Error, ErrorKind, Result};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Where a message is in its pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    pub pack: String,
    pub offset: u64,
    pub length: u64,
}

fn failed(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Storage, "storage.messages_failed").with_detail(e)
}

/// A pack's name is its file name: letters, digits and dashes only, so that a name read from the
/// database can never point outside the folder.
fn is_pack_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 100 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn pack_path(dir: &Path, pack: &str) -> Result<PathBuf> {
    if !is_pack_name(pack) {
        return Err(failed(format!("not a pack name: {pack:?}")));
    }
    Ok(dir.join(format!("{pack}.pack")))
}

/// Writes `messages` into a new pack in `dir` and syncs it (and the folder) to disk; returns where
/// each one is.
pub fn write_pack(dir: &Path, messages: &[&[u8]]) -> Result<Vec<Slice>> {
    std::fs::create_dir_all(dir).map_err(failed)?;
    let pack = uuid::Uuid::new_v4().simple().to_string();
    let path = pack_path(dir, &pack)?;
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(failed)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut offset = 0u64;
    let mut slices = Vec::with_capacity(messages.len());
    for m in messages {
        w.write_all(m).map_err(failed)?;
        slices.push(Slice { pack: pack.clone(), offset, length: m.len() as u64 });
        offset += m.len() as u64;
    }
    let file = w.into_inner().map_err(failed)?;
    file.sync_all().map_err(failed)?;
    // The new file's name must survive a power loss too.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(slices)
}

/// Reads one message back.
pub fn read(dir: &Path, slice: &Slice) -> Result<Vec<u8>> {
    let mut f = std::fs::File::open(pack_path(dir, &slice.pack)?).map_err(failed)?;
    f.seek(SeekFrom::Start(slice.offset)).map_err(failed)?;
    let len = usize::try_from(slice.length).map_err(failed)?;
    let mut buf = vec![0u8; len];
    f.read_exact(&mut buf).map_err(failed)?;
    Ok(buf)
}

/// Removes the packs that no row refers to (`referenced`) and that are older than `min_age`:
/// left by a transaction that never committed. Returns how many.
pub fn remove_orphans(dir: &Path, referenced: &std::collections::BTreeSet<String>, min_age: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pack) = name.strip_suffix(".pack") else { continue };
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age >= min_age));
        if is_pack_name(pack) && old && !referenced.contains(pack) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_back_byte_for_byte() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let slices = write_pack(dir.path(), &[b"first\r\n", b"", b"third message"])?;
        assert_eq!(read(dir.path(), &slices[0])?, b"first\r\n");
        assert_eq!(read(dir.path(), &slices[1])?, b"");
        assert_eq!(read(dir.path(), &slices[2])?, b"third message");
        Ok(())
    }

    #[test]
    fn a_name_from_the_database_cannot_leave_the_folder() {
        let slice = Slice { pack: "../../etc/passwd".into(), offset: 0, length: 1 };
        assert!(read(Path::new("/tmp"), &slice).is_err());
    }

    #[test]
    fn only_old_unreferenced_packs_are_removed() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let kept = write_pack(dir.path(), &[b"a"])?.remove(0).pack;
        let orphan = write_pack(dir.path(), &[b"b"])?.remove(0).pack;
        let referenced = [kept.clone()].into_iter().collect();
        assert_eq!(remove_orphans(dir.path(), &referenced, Duration::from_secs(3600)), 0, "too young");
        assert_eq!(remove_orphans(dir.path(), &referenced, Duration::ZERO), 1);
        assert!(dir.path().join(format!("{kept}.pack")).exists());
        assert!(!dir.path().join(format!("{orphan}.pack")).exists());
        Ok(())
    }
}
