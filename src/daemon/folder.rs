//! The folder source: finds complete files in watched folders and claims
//! them into a work folder for the pipeline.
//!
//! - A filesystem event is a hint; a scan is the truth. Folders are
//!   scanned in full at start, on every event (coalesced), and every
//!   `ingest.scan_interval_ms`.
//! - A file is taken only when complete: names ending `.tmp`, `.part`,
//!   `.filepart`, or starting with `.` or `~`, are never taken, and a file
//!   must keep its size, mtime and inode for `ingest.settle_ms` between two
//!   looks.
//! - It is claimed by `rename` into the work folder (same filesystem, so
//!   atomic): at any moment it is in exactly one place. A name already in
//!   the work folder waits until the pipeline has moved that file on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use tracing::warn;

use super::pipeline::{Claimed, Origin};

/// One watched folder and the work folder its files are claimed into.
#[derive(Debug, Clone)]
pub struct Folder {
    /// Whose folder it is.
    pub origin: Origin,
    /// The folder files are dropped into.
    pub dir: PathBuf,
    /// The private work folder (same filesystem).
    pub work: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Look {
    len: u64,
    mtime: Option<SystemTime>,
    ino: u64,
}

/// The scanner's memory of what it saw, to tell a settled file from one
/// still being written.
#[derive(Debug)]
pub struct Scanner {
    folders: Vec<Folder>,
    settle: Duration,
    seen: HashMap<PathBuf, (Look, Instant)>,
}

/// Whether a name is one a writer uses while still writing.
pub fn ignored(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.starts_with('.')
        || name.starts_with('~')
        || lower.ends_with(".tmp")
        || lower.ends_with(".part")
        || lower.ends_with(".filepart")
}

impl Scanner {
    /// A scanner over `folders`, taking files settled for `settle`.
    pub fn new(folders: Vec<Folder>, settle: Duration) -> Scanner {
        Scanner {
            folders,
            settle,
            seen: HashMap::new(),
        }
    }

    /// Files left in the work folders by an earlier run (claimed, maybe
    /// stored, not yet moved on): the pipeline takes them first.
    pub fn recover(&self) -> Vec<Claimed> {
        let mut out = Vec::new();
        for f in &self.folders {
            for (name, path) in regular_files(&f.work) {
                out.push(Claimed {
                    origin: f.origin,
                    name,
                    path,
                    recovered: true,
                });
            }
        }
        out
    }

    /// Scans every folder once at `now`: claims at most `max` settled files
    /// and says when the next scan is due (at once when it stopped at
    /// `max`; else when the next file still settling will be).
    pub fn scan(&mut self, now: Instant, max: usize) -> (Vec<Claimed>, Option<Instant>) {
        let mut claimed = Vec::new();
        let mut next: Option<Instant> = None;
        let mut present: Vec<PathBuf> = Vec::new();
        for f in &self.folders {
            for (name, path) in regular_files(&f.dir) {
                if ignored(&name) {
                    continue;
                }
                let Some(look) = look(&path) else {
                    continue;
                };
                present.push(path.clone());
                let settled = match self.seen.get(&path) {
                    Some((prev, since)) if *prev == look => {
                        let due = since.checked_add(self.settle).unwrap_or(now);
                        if now >= due {
                            true
                        } else {
                            next = Some(next.map_or(due, |n| n.min(due)));
                            false
                        }
                    }
                    _ => {
                        self.seen.insert(path.clone(), (look, now));
                        if self.settle.is_zero() {
                            true
                        } else {
                            let due = now.checked_add(self.settle).unwrap_or(now);
                            next = Some(next.map_or(due, |n| n.min(due)));
                            false
                        }
                    }
                };
                if !settled {
                    continue;
                }
                if claimed.len() >= max {
                    // Enough for one batch: the rest at the next scan, at
                    // once. What is claimed is what is in flight, so a
                    // stop never waits for a whole backlog.
                    next = Some(now);
                    continue;
                }
                let Some(file_name) = path.file_name() else {
                    continue;
                };
                let target = f.work.join(file_name);
                if target.exists() {
                    // The same name is still being processed; next scan.
                    let due = now.checked_add(Duration::from_millis(50)).unwrap_or(now);
                    next = Some(next.map_or(due, |n| n.min(due)));
                    continue;
                }
                match std::fs::rename(&path, &target) {
                    Ok(()) => {
                        self.seen.remove(&path);
                        claimed.push(Claimed {
                            origin: f.origin,
                            name,
                            path: target,
                            recovered: false,
                        });
                    }
                    Err(error) => {
                        warn!(
                            message = "Cannot claim a file; it stays where it is.",
                            path = %path.display(),
                            %error
                        );
                    }
                }
            }
        }
        // Forget files that went away (taken by someone else, renamed).
        self.seen.retain(|p, _| present.contains(p));
        (claimed, next)
    }
}

fn look(path: &Path) -> Option<Look> {
    use std::os::unix::fs::MetadataExt as _;
    let m = std::fs::symlink_metadata(path).ok()?;
    if !m.file_type().is_file() {
        return None;
    }
    Some(Look {
        len: m.len(),
        mtime: m.modified().ok(),
        ino: m.ino(),
    })
}

/// The regular files directly in `dir`, by name; a folder that cannot be
/// read yields none (and says why).
fn regular_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(error) => {
            warn!(message = "Cannot list a folder.", dir = %dir.display(), %error);
            return Vec::new();
        }
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_names_are_ignored() {
        for n in [
            ".a.xml",
            "~a.xml",
            "a.xml.tmp",
            "a.XML.TMP",
            "a.part",
            "a.filepart",
        ] {
            assert!(ignored(n), "{n}");
        }
        for n in ["a.xml", "a.zip", "tmp.xml", "part.xml"] {
            assert!(!ignored(n), "{n}");
        }
    }
}
