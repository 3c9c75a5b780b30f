//! The customs sink: writes accepted declarations into the gateway's own
//! import client's OutBox, and watches what the client does with them.
//!
//! - A batch is written durably at once ([`super::files::write_all`]: one
//!   `syncfs`, then renames), orders, payments and waybills before
//!   inventories (customs matches when the inventory arrives).
//! - A file already in the OutBox, SentBox or FailBox under its name was
//!   written before a crash: it is not written again (looked for only for
//!   jobs that may have been written: those found queued at start and
//!   writes that failed; a name queued in this run is new).
//! - A written file the client moved to its SentBox was sent; one it moved
//!   to its FailBox failed (the pipeline writes it again or parks it). The
//!   OutBox is listed once a check; only files no longer in it are looked
//!   for in the SentBox and FailBox.
//! - A write that fails (the OutBox is not writable) is retried every scan
//!   interval; it never blocks the ingest of senders' files.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use tracing::{debug, info, warn};

use super::files::{NewFile, write_all};
use super::pipeline::{ForwardJob, forward_bytes};
use crate::codec::Limits;
use crate::store::Store;

/// The customs import client's folders, as the forwarder uses them.
#[derive(Debug, Clone)]
pub struct CustomsDirs {
    /// Where forwarded files go.
    pub outbox: PathBuf,
    /// Where the client moves what it sent.
    pub sentbox: PathBuf,
    /// Where the client moves what failed.
    pub failbox: PathBuf,
    /// The staging folder (same filesystem as the OutBox).
    pub staging: PathBuf,
}

/// What the forwarder reports to the pipeline.
#[derive(Debug)]
pub enum Report {
    /// Written into the OutBox (durably).
    Written(Vec<ForwardJob>),
    /// The client sent these messages / moved these to its FailBox.
    Transmission {
        /// Sent.
        sent: Vec<u64>,
        /// Failed.
        failed: Vec<u64>,
    },
}

/// The gateway's signer (`[signing]`), shared between the pipeline, which
/// sets it at start and at every reload, and the forwarder, which signs
/// with it.
pub type SignerSlot = std::sync::Arc<std::sync::RwLock<Option<std::sync::Arc<crate::sig::Signer>>>>;

/// The forwarder's state.
#[derive(Debug)]
pub struct Forwarder {
    dirs: CustomsDirs,
    store: Store,
    limits: Limits,
    /// `[signing]`'s signer, as the last reload left it.
    signer: SignerSlot,
    /// Jobs not yet written (a failed write waits here).
    pending: Vec<ForwardJob>,
    /// Written files to watch: message → file name.
    watching: BTreeMap<u64, String>,
}

impl Forwarder {
    /// A forwarder writing `store`'s messages into `dirs`.
    pub fn new(dirs: CustomsDirs, store: Store, limits: Limits, signer: SignerSlot) -> Forwarder {
        Forwarder {
            dirs,
            store,
            limits,
            signer,
            pending: Vec::new(),
            watching: BTreeMap::new(),
        }
    }

    /// Watches a file written by an earlier run.
    pub fn watch(&mut self, msg: u64, file: String) {
        self.watching.insert(msg, file);
    }

    /// Adds jobs to write.
    pub fn add(&mut self, jobs: Vec<ForwardJob>) {
        self.pending.extend(jobs);
    }

    /// Whether jobs wait.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// How many wait to be written.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// How many are written and not yet seen sent or failed.
    pub fn watching(&self) -> usize {
        self.watching.len()
    }

    /// Writes up to `max` pending jobs (inventories after everything else,
    /// otherwise in the order queued); returns those now in the OutBox.
    /// A backlog goes in chunks, each reported as soon as it is written, so
    /// a daemon that keeps being stopped still makes progress.
    pub fn write_pending(&mut self, max: usize) -> Vec<ForwardJob> {
        let started = std::time::Instant::now();
        let mut all = std::mem::take(&mut self.pending);
        all.sort_by_key(|j| j.ty == "CEB621");
        let rest = all.split_off(max.min(all.len()));
        let jobs = all;
        self.pending = rest;
        let mut done = Vec::new();
        let mut files = Vec::new();
        let mut writing = Vec::new();
        for job in jobs {
            let already = job.check_written
                && [&self.dirs.outbox, &self.dirs.sentbox, &self.dirs.failbox]
                    .iter()
                    .any(|d| d.join(&job.file).exists());
            if already {
                done.push(job);
                continue;
            }
            let raw = match self.store.raw(job.msg) {
                Ok(Some(r)) => r,
                Ok(None) => {
                    warn!(
                        message = "A queued message has no stored bytes; not forwarded.",
                        msg = job.msg
                    );
                    continue;
                }
                Err(error) => {
                    warn!(message = "Cannot read a queued message; will retry.", msg = job.msg, %error);
                    self.pending.push(ForwardJob {
                        check_written: true,
                        ..job
                    });
                    continue;
                }
            };
            let signer = self.signer.read().ok().and_then(|s| s.clone());
            match forward_bytes(&raw, &self.limits, signer.as_deref()) {
                Ok(bytes) => {
                    files.push(NewFile {
                        dir: self.dirs.outbox.clone(),
                        name: job.file.clone(),
                        bytes,
                    });
                    writing.push(job);
                }
                Err(error) => {
                    warn!(message = "A queued message cannot be written for customs; not forwarded.", msg = job.msg, %error);
                }
            }
        }
        let prepared = std::time::Instant::now();
        if !files.is_empty() {
            let results = write_all(&self.dirs.staging, &files);
            for (job, r) in writing.into_iter().zip(results) {
                match r {
                    Ok(()) => done.push(job),
                    Err(error) => {
                        warn!(
                            message = "Cannot write into the customs OutBox; will retry.",
                            file = %job.file,
                            %error
                        );
                        self.pending.push(ForwardJob {
                            check_written: true,
                            ..job
                        });
                    }
                }
            }
        }
        for job in &done {
            self.watching.insert(job.msg, job.file.clone());
        }
        if !done.is_empty() {
            info!(message = "Forwarded to customs.", files = done.len());
        }
        debug!(
            message = "Forward batch written.",
            files = done.len(),
            prepare_ms = (prepared - started).as_secs_f64() * 1000.0,
            write_ms = prepared.elapsed().as_secs_f64() * 1000.0
        );
        done
    }

    /// Looks for written files the client moved on.
    pub fn check(&mut self) -> (Vec<u64>, Vec<u64>) {
        let mut sent = Vec::new();
        let mut failed = Vec::new();
        if self.watching.is_empty() {
            return (sent, failed);
        }
        // What is still in the OutBox has not been taken yet (one listing
        // instead of two lookups a file).
        let waiting: HashSet<std::ffi::OsString> = match std::fs::read_dir(&self.dirs.outbox) {
            Ok(rd) => rd.filter_map(Result::ok).map(|e| e.file_name()).collect(),
            Err(_) => HashSet::new(),
        };
        for (msg, file) in &self.watching {
            if waiting.contains(std::ffi::OsStr::new(file)) {
                continue;
            }
            if self.dirs.sentbox.join(file).exists() {
                sent.push(*msg);
            } else if self.dirs.failbox.join(file).exists() {
                failed.push(*msg);
            }
        }
        for m in sent.iter().chain(&failed) {
            self.watching.remove(m);
        }
        (sent, failed)
    }
}
