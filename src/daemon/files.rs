//! File moves and durable writes shared by the sinks.
//!
//! Durable writes are batched like the store's flushes: every file of a
//! batch is written under a temporary name in a staging folder, one
//! `syncfs` makes them all durable, then each is renamed into place (in the
//! order given) and the target folders are synced. A rewrite of the same
//! name replaces the file: a retry after a crash never doubles it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// One file to write: folder, name, bytes.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// The folder it goes into.
    pub dir: PathBuf,
    /// Its name.
    pub name: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// Writes every file durably through `staging` (on the same filesystem as
/// the targets). Returns, per file, whether it was written.
pub fn write_all(staging: &Path, files: &[NewFile]) -> Vec<std::io::Result<()>> {
    write_files(staging, files, false)
}

/// Like [`write_all`], but the files appear in order or not at all: after
/// the first file that cannot be written, none of the later ones is renamed
/// into place (each is reported as not written). For a client that must see
/// its deliveries in queue order.
pub fn write_in_order(staging: &Path, files: &[NewFile]) -> Vec<std::io::Result<()>> {
    write_files(staging, files, true)
}

fn write_files(staging: &Path, files: &[NewFile], in_order: bool) -> Vec<std::io::Result<()>> {
    let started = std::time::Instant::now();
    let mut results: Vec<std::io::Result<()>> = Vec::with_capacity(files.len());
    let mut staged: Vec<Option<PathBuf>> = Vec::with_capacity(files.len());
    for f in files {
        let tmp = staging.join(format!("{}.tmp", f.name));
        let r = std::fs::File::create(&tmp).and_then(|mut file| file.write_all(&f.bytes));
        match r {
            Ok(()) => {
                staged.push(Some(tmp));
                results.push(Ok(()));
            }
            Err(e) => {
                staged.push(None);
                results.push(Err(e));
            }
        }
    }
    let written = std::time::Instant::now();
    if let Err(e) = sync_filesystem(staging) {
        return files.iter().map(|_| Err(clone_err(&e))).collect();
    }
    let synced = std::time::Instant::now();
    let mut dirs: Vec<&Path> = Vec::new();
    let mut stopped = false;
    for ((f, tmp), r) in files.iter().zip(staged).zip(results.iter_mut()) {
        if stopped {
            if r.is_ok() {
                *r = Err(std::io::Error::other(
                    "not renamed into place: an earlier file of the round failed",
                ));
            }
            continue;
        }
        let Some(tmp) = tmp else {
            stopped = in_order;
            continue;
        };
        if let Err(e) = std::fs::rename(&tmp, f.dir.join(&f.name)) {
            *r = Err(e);
            stopped = in_order;
            continue;
        }
        if !dirs.contains(&f.dir.as_path()) {
            dirs.push(&f.dir);
        }
    }
    for d in dirs {
        let _ = sync_dir(d);
    }
    tracing::debug!(
        message = "Files written durably.",
        files = files.len(),
        write_ms = ms(written - started),
        sync_ms = ms(synced - written),
        rename_ms = ms(synced.elapsed())
    );
    results
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn clone_err(e: &std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), e.to_string())
}

/// Makes everything written on the filesystem holding `path` durable: one
/// `syncfs(2)` on Linux (many files, one sync), else a sync of the folder.
pub fn sync_filesystem(path: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        let dir = std::fs::File::open(path)?;
        // SAFETY: `dir` is an open file descriptor for the whole call.
        let rc = unsafe { libc::syncfs(dir.as_raw_fd()) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        sync_dir(path)
    }
}

/// fsyncs a folder (its entries: names created or renamed in it).
pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// A name not yet taken in `dir`: `name`, else `stem.2.ext`, `stem.3.ext` ….
pub fn free_name(dir: &Path, name: &std::ffi::OsStr) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let path = Path::new(name);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let mut n: u32 = 2;
    loop {
        let candidate = dir.join(format!("{stem}.{n}{ext}"));
        if !candidate.exists() {
            return candidate;
        }
        n = n.saturating_add(1);
    }
}

/// Moves `from` into `dir` under a free name, first writing `reason` (if
/// any) as `NAME.reason.txt` beside it. Returns where it went.
pub fn move_into(from: &Path, dir: &Path, reason: Option<&str>) -> std::io::Result<PathBuf> {
    let name = from
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"))?;
    let target = free_name(dir, name);
    if let Some(text) = reason {
        let mut reason_name = target.clone().into_os_string();
        reason_name.push(".reason.txt");
        let reason_path = PathBuf::from(reason_name);
        let tmp = dir.join(format!(
            ".{}.tmp",
            reason_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &reason_path)?;
    }
    std::fs::rename(from, &target)?;
    Ok(target)
}

#[cfg(test)]
mod order_tests {
    use super::*;

    #[test]
    fn in_order_stops_at_the_first_failure_and_all_does_not() {
        for in_order in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let (staging, good) = (dir.path().join("s"), dir.path().join("in"));
            std::fs::create_dir_all(&staging).unwrap();
            std::fs::create_dir_all(&good).unwrap();
            let file = |d: &Path, n: &str| NewFile {
                dir: d.to_owned(),
                name: n.to_owned(),
                bytes: n.as_bytes().to_vec(),
            };
            let files = [
                file(&good, "1.xml"),
                file(&dir.path().join("missing"), "2.xml"),
                file(&good, "3.xml"),
            ];
            let r = write_files(&staging, &files, in_order);
            assert!(r[0].is_ok() && r[1].is_err());
            assert_eq!(r[2].is_ok(), !in_order);
            assert_eq!(good.join("3.xml").exists(), !in_order);
            assert!(good.join("1.xml").exists());
        }
    }
}
