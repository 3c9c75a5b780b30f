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
//! - Claimed files are handed on in chunks as the scan goes (a burst of
//!   thousands is stored batch by batch while the rest is still being
//!   claimed, and each folder is listed once a scan).

use std::collections::{HashMap, HashSet};
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
    /// Every work folder this scanner has claimed into (its files in
    /// flight are the pipeline's, never recovered twice).
    owned: HashSet<PathBuf>,
}

/// What an earlier run left claimed in `f`'s work folder.
fn left_in(f: &Folder) -> Vec<Claimed> {
    regular_files(&f.work)
        .into_iter()
        .map(|(name, path)| Claimed {
            origin: f.origin,
            name,
            path,
            recovered: true,
        })
        .collect()
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
            owned: folders.iter().map(|f| f.work.clone()).collect(),
            folders,
            settle,
            seen: HashMap::new(),
        }
    }

    /// Scans `folders` from now on (a reload). Returns what the work
    /// folders this scanner never claimed into hold from an earlier run
    /// (as [`Scanner::recover`] does at start); a folder it already
    /// claimed into, even one removed and added again, is not looked at:
    /// its files are in flight.
    pub fn set_folders(&mut self, folders: Vec<Folder>) -> Vec<Claimed> {
        let mut out = Vec::new();
        for f in &folders {
            if self.owned.insert(f.work.clone()) {
                out.extend(left_in(f));
            }
        }
        self.seen
            .retain(|path, _| folders.iter().any(|f| path.starts_with(&f.dir)));
        self.folders = folders;
        out
    }

    /// Files left in the work folders by an earlier run (claimed, maybe
    /// stored, not yet moved on): the pipeline takes them first.
    pub fn recover(&self) -> Vec<Claimed> {
        self.folders.iter().flat_map(left_in).collect()
    }

    /// Scans every folder once at `now`: claims the settled files, hands
    /// them to `emit` in chunks of at most `chunk` (and the rest at the
    /// end), and says when the next file still settling will be due.
    /// `emit` returning false stops the claiming (what is claimed stays in
    /// the work folder, for the next start).
    pub fn scan(
        &mut self,
        now: Instant,
        chunk: usize,
        emit: &mut dyn FnMut(Vec<Claimed>) -> bool,
    ) -> Option<Instant> {
        let chunk = chunk.max(1);
        let mut claimed = Vec::new();
        let mut next: Option<Instant> = None;
        let mut present: HashSet<PathBuf> = HashSet::new();
        let mut open = true;
        for f in &self.folders {
            for (name, path) in regular_files(&f.dir) {
                if !open {
                    break;
                }
                if ignored(&name) {
                    continue;
                }
                // Without a settle time there is nothing to compare.
                let look = if self.settle.is_zero() {
                    None
                } else {
                    match look(&path) {
                        Some(l) => Some(l),
                        None => continue,
                    }
                };
                present.insert(path.clone());
                let settled = match look.and_then(|l| self.seen.get(&path).map(|s| (l, s))) {
                    None if self.settle.is_zero() => true,
                    Some((look, (prev, since))) if *prev == look => {
                        let due = since.checked_add(self.settle).unwrap_or(now);
                        if now >= due {
                            true
                        } else {
                            next = Some(next.map_or(due, |n| n.min(due)));
                            false
                        }
                    }
                    _ => {
                        if let Some(look) = look {
                            self.seen.insert(path.clone(), (look, now));
                        }
                        let due = now.checked_add(self.settle).unwrap_or(now);
                        next = Some(next.map_or(due, |n| n.min(due)));
                        false
                    }
                };
                if !settled {
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
                        if claimed.len() >= chunk {
                            open = emit(std::mem::take(&mut claimed));
                        }
                    }
                    // Taken away since the folder was listed.
                    Err(error)
                        if error.kind() == std::io::ErrorKind::NotFound
                            && std::fs::symlink_metadata(&path).is_err() => {}
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
        if open && !claimed.is_empty() {
            emit(claimed);
        }
        // Forget files that went away (taken by someone else, renamed).
        if open && !self.seen.is_empty() {
            self.seen.retain(|p, _| present.contains(p));
        }
        next
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
