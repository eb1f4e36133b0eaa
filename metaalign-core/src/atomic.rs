//! Writing files and folders so that no reader (and no crash) ever sees
//! half of one: everything is written beside its final name and renamed
//! into place, and a failed write leaves the old content untouched.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// `NAME.tmp` beside `path`. The whole name is kept, so `report.json` and
/// `report.md` never share a temporary.
pub fn tmp_sibling(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Runs `write` on the temporary sibling of `path` (it creates the file),
/// then renames it over `path`. On failure the temporary is removed.
pub fn write_via_tmp(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = tmp_sibling(path);
    let done =
        write(&tmp).and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_via_tmp(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| Error::io(tmp, e))
    })
}

/// Writes `path` atomically through a buffered writer (one JSON line per
/// record, say); `fill` may return I/O or serialisation errors.
pub fn write_buffered(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
) -> Result<()> {
    write_via_tmp(path, |tmp| {
        let file = File::create(tmp).map_err(|e| Error::io(tmp, e))?;
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        w.flush().map_err(|e| Error::io(tmp, e))
    })
}

/// Moves the folder `tmp` to `dir`, replacing an existing `dir`: the old
/// one is moved aside first, restored if the move fails, and removed after.
pub fn move_dir_into_place(tmp: &Path, dir: &Path) -> Result<()> {
    if !dir.exists() {
        return std::fs::rename(tmp, dir).map_err(|e| Error::io(dir, e));
    }
    let mut old_name = std::ffi::OsString::from(".");
    old_name.push(dir.file_name().unwrap_or_default());
    old_name.push(format!(".old-{}", std::process::id()));
    let old = dir.with_file_name(old_name);
    std::fs::rename(dir, &old).map_err(|e| Error::io(dir, e))?;
    if let Err(e) = std::fs::rename(tmp, dir) {
        let _ = std::fs::rename(&old, dir);
        return Err(Error::io(dir, e));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// Runs `write` on a fresh temporary folder beside `dir`, then puts it in
/// place of `dir` ([`move_dir_into_place`]); on failure the temporary
/// folder is removed and `dir` is untouched.
pub fn replace_dir(dir: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = dir.file_name().ok_or_else(|| {
        Error::data(format!(
            "{}: the path has no final component",
            dir.display()
        ))
    })?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tmp = parent.join(format!(
        ".{}.tmp-{}-{nonce}",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let done = write(&tmp).and_then(|()| move_dir_into_place(&tmp, dir));
    if done.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_keeps_the_old_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_atomic(&path, b"old").unwrap();
        let err = write_buffered(&path, |w| {
            w.write_all(b"half").map_err(|e| Error::io(&path, e))?;
            Err(Error::data("boom"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert!(!tmp_sibling(&path).exists());
        write_buffered(&path, |w| {
            w.write_all(b"new").map_err(|e| Error::io(&path, e))
        })
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn replace_dir_swaps_whole_folders() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("model");
        replace_dir(&dir, |t| {
            std::fs::write(t.join("a"), b"1").map_err(|e| Error::io(t, e))
        })
        .unwrap();
        let failed = replace_dir(&dir, |t| {
            std::fs::write(t.join("b"), b"2").map_err(|e| Error::io(t, e))?;
            Err(Error::data("boom"))
        });
        assert!(failed.is_err());
        assert!(dir.join("a").exists() && !dir.join("b").exists());
        replace_dir(&dir, |t| {
            std::fs::write(t.join("b"), b"2").map_err(|e| Error::io(t, e))
        })
        .unwrap();
        assert!(!dir.join("a").exists() && dir.join("b").exists());
        let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "temporaries left behind");
    }
}
