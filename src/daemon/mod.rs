//! The daemon: sources (sender folders, the customs InBox), the pipeline
//! (decode → validate → store → engine → outcome) and sinks (the customs
//! OutBox, the senders' InBoxes), started from the configuration.
//!
//! # A file's way
//!
//! 1. [`folder::Scanner`] finds a settled file in a sender's `OutBox` and
//!    renames it into the sender's `TempBox` (claimed).
//! 2. The pipeline task gathers what is claimed into a batch and hands it
//!    to [`pipeline::Pipeline::process`] on a blocking thread: the batch's
//!    writes go into the store as one atomic batch (so every file's writes
//!    are all there or none are).
//! 3. One flush of the store for the whole batch (group commit).
//! 4. Only then the effects: originals move to `SentBox` or `FailBox`
//!    (with `NAME.reason.txt`), receipts are written into senders'
//!    `InBox`es, passed messages go to the [`forward::Forwarder`].
//! 5. The forwarder writes them into the customs `OutBox` (one `syncfs`
//!    per batch) and reports back; it watches the client's `SentBox` and
//!    `FailBox` for what became of them.
//!
//! The customs `InBox` goes through the same scanner and pipeline; its
//! files are archived in the customs `Archive`.

pub mod files;
pub mod folder;
pub mod forward;
pub mod pipeline;
pub mod push;
pub mod stats;
pub mod subs;
pub mod tcp;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use crate::config::{Config, ConfigError};
use crate::store::{Store, StoreError};
use files::{NewFile, move_into, write_all};
use folder::{Folder, Scanner};
use forward::{CustomsDirs, Forwarder, Report};
use pipeline::{
    Claimed, Destination, Effects, ForwardJob, Origin, Outgoing, Pipeline, PipelineError,
    Submission,
};
use stats::{Gauges, PipelineStats};

/// Why the daemon could not start, or stopped.
#[derive(Debug, Error)]
pub enum DaemonError {
    /// The configuration (or the registry it names) is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A folder could not be created.
    #[error("cannot create folder {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store could not be opened or written.
    #[error("{path}: {source}")]
    Store {
        /// The store folder.
        path: PathBuf,
        /// Why.
        source: StoreError,
    },
    /// The pipeline stopped.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The admin API could not listen.
    #[error("admin.listen {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The admin token file could not be read.
    #[error("admin.token_file: {0}")]
    Token(#[from] crate::admin::TokenError),
    /// The TCP source could not start.
    #[error(transparent)]
    Tcp(#[from] tcp::TcpError),
    /// Pushing to clients could not start.
    #[error(transparent)]
    Push(#[from] push::PushError),
    /// A worker task ended abnormally.
    #[error("a worker task failed: {0}")]
    Task(String),
}

/// The most files the forwarder writes under one sync before it reports them.
const FORWARD_CHUNK: usize = 512;

/// What the pipeline task receives.
#[derive(Debug)]
enum Event {
    /// Files claimed by a scanner.
    Files(Vec<Claimed>),
    /// The forwarder's news.
    Forwarder(Report),
    /// Messages platforms submitted over TCP.
    Submits(Vec<Submission>),
    /// Receipts a platform confirmed it keeps.
    Delivered {
        /// The platform (index into the configured platforms).
        platform: usize,
        /// The receipts' queue sequence numbers.
        seqs: Vec<u64>,
    },
}

impl Event {
    /// The event with at most `room` inbound messages, and the rest.
    fn split(self, room: usize) -> (Event, Option<Event>) {
        fn cut<T>(mut list: Vec<T>, room: usize) -> (Vec<T>, Option<Vec<T>>) {
            let rest = (list.len() > room).then(|| list.split_off(room));
            (list, rest)
        }
        match self {
            Event::Files(list) => {
                let (head, rest) = cut(list, room);
                (Event::Files(head), rest.map(Event::Files))
            }
            Event::Submits(list) => {
                let (head, rest) = cut(list, room);
                (Event::Submits(head), rest.map(Event::Submits))
            }
            other => (other, None),
        }
    }

    /// How many inbound messages it carries (what a batch counts).
    fn inbound(&self) -> usize {
        match self {
            Event::Files(l) => l.len(),
            Event::Submits(l) => l.len(),
            Event::Forwarder(_) | Event::Delivered { .. } => 0,
        }
    }
}

/// Milliseconds since the Unix epoch, now: the daemon's one clock.
///
/// `CUSTOMS_GATEWAY_CLOCK_OFFSET_SECS` (signed seconds, read once) moves it,
/// for rehearsing expiry and retention (tests); leave it unset in production.
pub fn now_ms() -> u64 {
    static OFFSET_MS: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let offset = *OFFSET_MS.get_or_init(|| {
        std::env::var("CUSTOMS_GATEWAY_CLOCK_OFFSET_SECS")
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map_or(0, |s| s.saturating_mul(1000))
    });
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    real.saturating_add_signed(offset)
}

/// The folders of one sender.
#[derive(Debug, Clone)]
struct SenderDirs {
    sent: PathBuf,
    failed: PathBuf,
    inbox: PathBuf,
    staging: PathBuf,
}

/// Every folder (and connection) the effects write to.
#[derive(Debug, Clone)]
struct Dirs {
    senders: Vec<SenderDirs>,
    archive: PathBuf,
    hub: Arc<tcp::Hub>,
    push: Arc<push::Push>,
}

/// Runs the daemon until `shutdown` is cancelled: then it stops taking
/// new files, stores and flushes what it claimed, and returns.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), DaemonError> {
    let folders = create_folders(&config)?;
    let store_path = config.store.path.clone();
    let cache = config.store.cache_mb.saturating_mul(1024 * 1024);
    let store =
        Store::open_with_cache(&store_path, cache).map_err(|source| DaemonError::Store {
            path: store_path.clone(),
            source,
        })?;
    let registry = config.load_registry()?;
    let limits = config.limits();
    let token = config
        .admin
        .token_file
        .as_deref()
        .map(crate::admin::read_token)
        .transpose()?;
    let listener = tokio::net::TcpListener::bind(&config.admin.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: config.admin.listen.clone(),
            source,
        })?;
    // Every receipt in the store at start is on disk.
    let hub = Arc::new(tcp::Hub::default());
    hub.flushed_below(store.next_id().map_err(|source| DaemonError::Store {
        path: store_path.clone(),
        source,
    })?);
    let tcp_source = match &config.tcp {
        Some(t) => Some(
            tcp::TcpSource::bind(
                t,
                &config.platform,
                limits.max_bytes,
                hub.clone(),
                store.clone(),
            )
            .await?,
        ),
        None => {
            if !config.platform.is_empty() {
                warn!(message = "Platforms are configured but [tcp] is not: they cannot connect.");
            }
            None
        }
    };
    // Subscriptions: the store's, brought in line with the configuration's.
    let subscriptions = Arc::new(subs::Subscriptions::load(&store, now_ms()).map_err(
        |source| DaemonError::Store {
            path: store_path.clone(),
            source,
        },
    )?);
    let changes = subscriptions
        .sync_config(&store, &config, now_ms())
        .map_err(|message| {
            DaemonError::Config(ConfigError::Invalid {
                path: config.source().map_or_else(
                    || "the configuration".to_owned(),
                    |p| p.display().to_string(),
                ),
                message,
            })
        })?;
    for change in changes {
        let (action, id) = change.split_once(' ').unwrap_or((change.as_str(), ""));
        info!(message = "Subscription from the configuration.", action = %action, subscription = %id);
    }
    let routing = pipeline::Routing {
        clients: config.client.clone(),
        subs: subscriptions.clone(),
        customs_enterprise: config.customs.enterprise.clone(),
        unmapped_to_all: config.push.unmapped_to_all,
    };
    let mut pipeline = Pipeline::new(
        store.clone(),
        config.engine.clone(),
        registry,
        limits,
        config.sender.clone(),
        config.platform.clone(),
        config.customs.retries,
        routing,
    )?;
    let started = Instant::now();
    let t0 = now_ms();
    let (pipeline, recovered) = tokio::task::spawn_blocking(move || {
        let r = pipeline.recover(now_ms());
        (pipeline, r)
    })
    .await
    .map_err(|e| DaemonError::Task(e.to_string()))?;
    let recovered = recovered?;
    let written = pipeline.written()?;
    info!(
        message = "Store opened.",
        path = %store_path.display(),
        restore_ms = now_ms().saturating_sub(t0),
        senders = config.sender.len()
    );

    let tracker = TaskTracker::new();
    // One push worker per client; what the store holds is flushed.
    let pusher = push::start(&config, &store, hub.clone(), &tracker, &shutdown)?;
    pusher.flushed_below(store.next_id().map_err(|source| DaemonError::Store {
        path: store_path.clone(),
        source,
    })?);

    let dirs = Dirs {
        senders: config
            .sender
            .iter()
            .map(|s| SenderDirs {
                sent: s.root.join("SentBox"),
                failed: s.root.join("FailBox"),
                inbox: s.root.join("InBox"),
                staging: s.root.join("TempBox").join(".staging"),
            })
            .collect(),
        archive: config.customs.archive_dir(),
        hub,
        push: pusher.clone(),
    };
    let customs_work = config.customs.work_dir();
    let mut forwarder = Forwarder::new(
        CustomsDirs {
            outbox: config.customs.outbox.clone(),
            sentbox: config.customs.sentbox.clone(),
            failbox: config.customs.failbox.clone(),
            staging: customs_work.join("out"),
        },
        store.clone(),
        limits,
    );
    for f in written {
        forwarder.watch(f.msg, f.file);
    }
    let scanner = Scanner::new(folders, Duration::from_millis(config.ingest.settle_ms));
    let reclaimed = scanner.recover();

    // What the admin API shows before the first batch: the restored sets.
    let restored = pipeline.engine().stats();
    let (stats_tx, stats_rx) = watch::channel(PipelineStats {
        open_sets: restored.sets,
        pending_waybills: restored.pending_waybills,
        ..PipelineStats::default()
    });

    // Few batches in flight: a stop stores what is claimed, not a backlog.
    let (ev_tx, ev_rx) = mpsc::channel::<Event>(4);
    let (fw_tx, fw_rx) = mpsc::unbounded_channel::<Vec<ForwardJob>>();
    let gauges = Arc::new(Gauges::default());
    let interval = Duration::from_millis(config.ingest.scan_interval_ms);

    // The admin API.
    let ready = Arc::new(crate::admin::health::Readiness::new(config.tcp.is_some()));
    ready.mark(crate::admin::health::Part::Store);
    ready.mark(crate::admin::health::Part::Push);
    let admin_state = crate::admin::api::AdminState {
        store: store.clone(),
        started,
        started_ms: t0,
        stats: stats_rx,
        token,
        subs: subscriptions,
        clients: config.client.clone(),
        push: pusher,
        ready: ready.clone(),
    };
    {
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            if let Err(error) = crate::admin::api::serve(listener, admin_state, shutdown).await {
                error!(message = "The admin API stopped.", %error);
            }
        });
    }

    // The forwarder.
    {
        let shutdown = shutdown.clone();
        let ev_tx = ev_tx.clone();
        let g = gauges.clone();
        tracker.spawn(forward_task(forwarder, fw_rx, ev_tx, g, interval, shutdown));
    }
    // The customs simulator, when enabled (rehearsals: it answers the OutBox).
    if config.simulator.enabled {
        let (config, shutdown) = (config.clone(), shutdown.clone());
        tracker.spawn(async move {
            if let Err(error) = crate::simulate::run(&config, shutdown).await {
                error!(message = "The customs simulator stopped.", %error);
            }
        });
    }

    // The scanner, woken by filesystem events and by its timer.
    let wake = Arc::new(Notify::new());
    let _watcher = watch_folders(&config, wake.clone());
    {
        let shutdown = shutdown.clone();
        let ev_tx = ev_tx.clone();
        let g = gauges.clone();
        let batch = config.ingest.batch;
        tracker.spawn(scan_task(
            scanner, ev_tx, wake, g, interval, batch, shutdown,
        ));
        ready.mark(crate::admin::health::Part::Scanner);
    }
    // The TCP source.
    if let Some(source) = tcp_source {
        let shutdown = shutdown.clone();
        let ev_tx = ev_tx.clone();
        let t = tracker.clone();
        tracker.spawn(source.run(ev_tx, t, gauges.clone(), shutdown));
        ready.mark(crate::admin::health::Part::Tcp);
    }
    drop(ev_tx);

    // The pipeline, in this task.
    let batch = config.ingest.batch;
    let result = pipeline_task(
        pipeline,
        reclaimed,
        recovered,
        ev_rx,
        fw_tx,
        dirs,
        stats_tx,
        gauges,
        interval,
        batch,
        shutdown.clone(),
    )
    .await;
    shutdown.cancel();
    tracker.close();
    tracker.wait().await;
    if let Err(e) = store.flush().await {
        error!(message = "Final flush failed.", error = %e);
    }
    info!(message = "Stopped.");
    result
}

/// Creates every folder the configuration names; returns the watched ones.
fn create_folders(config: &Config) -> Result<Vec<Folder>, DaemonError> {
    let mkdir = |p: &Path| {
        std::fs::create_dir_all(p).map_err(|source| DaemonError::Folder {
            path: p.to_owned(),
            source,
        })
    };
    let mut folders = Vec::new();
    for (i, s) in config.sender.iter().enumerate() {
        for sub in [
            "OutBox",
            "SentBox",
            "FailBox",
            "InBox",
            "TempBox",
            "TempBox/.staging",
        ] {
            mkdir(&s.root.join(sub))?;
        }
        folders.push(Folder {
            origin: Origin::Sender(i),
            dir: s.root.join("OutBox"),
            work: s.root.join("TempBox"),
        });
    }
    let c = &config.customs;
    let work = c.work_dir();
    for p in [
        &c.outbox,
        &c.inbox,
        &c.failbox,
        &c.sentbox,
        &c.archive_dir(),
        &work.join("in"),
        &work.join("out"),
    ] {
        mkdir(p)?;
    }
    folders.push(Folder {
        origin: Origin::Customs,
        dir: c.inbox.clone(),
        work: work.join("in"),
    });
    // Clients' folders: made when missing; one that cannot be made (a share
    // not mounted) is that client's delivery failure, not the daemon's.
    for c in &config.client {
        if let Some(f) = &c.folder
            && let Err(error) = std::fs::create_dir_all(f)
        {
            warn!(message = "Cannot create a client's folder; its deliveries wait.", client = %c.id, dir = %f.display(), %error);
        }
    }
    if let Some(parent) = config.store.path.parent()
        && !parent.as_os_str().is_empty()
    {
        mkdir(parent)?;
    }
    Ok(folders)
}

/// A filesystem watcher on every watched folder that only wakes the
/// scanner (events are hints). `None` when watching is not possible: the
/// periodic scan still finds everything.
fn watch_folders(config: &Config, wake: Arc<Notify>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher as _;
    let mut watcher =
        match notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            // The scanner's own listing opens the folder: an open (inotify
            // reports it on the watched folder) must not wake it, or every
            // scan causes the next and the daemon never idles.
            if let Ok(ev) = &res
                && matches!(
                    ev.kind,
                    notify::EventKind::Access(notify::event::AccessKind::Open(_))
                )
                && !ev.need_rescan()
            {
                return;
            }
            // Any other event, an error or an overflow (rescan flag): scan now.
            wake.notify_one();
        }) {
            Ok(w) => w,
            Err(error) => {
                warn!(message = "No filesystem events; scanning on the timer only.", %error);
                return None;
            }
        };
    let mut dirs: Vec<PathBuf> = config
        .sender
        .iter()
        .map(|s| s.root.join("OutBox"))
        .collect();
    dirs.push(config.customs.inbox.clone());
    for d in dirs {
        if let Err(error) = watcher.watch(&d, notify::RecursiveMode::NonRecursive) {
            warn!(message = "Cannot watch a folder; scanning it on the timer.", dir = %d.display(), %error);
        }
    }
    Some(watcher)
}

async fn scan_task(
    mut scanner: Scanner,
    ev_tx: mpsc::Sender<Event>,
    wake: Arc<Notify>,
    gauges: Arc<Gauges>,
    interval: Duration,
    batch: usize,
    shutdown: CancellationToken,
) {
    let mut next = Instant::now();
    loop {
        let sleep_until = tokio::time::Instant::from_std(next);
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = wake.notified() => {}
            _ = tokio::time::sleep_until(sleep_until) => {}
        }
        let events = ev_tx.clone();
        let counted = gauges.clone();
        let (s, (due, open)) = match tokio::task::spawn_blocking(move || {
            let t = Instant::now();
            let mut claimed = 0usize;
            let mut open = true;
            // Each chunk goes to the pipeline at once (waiting while the
            // pipeline is behind), not when the whole scan is done.
            let due = scanner.scan(t, batch, &mut |chunk| {
                claimed = claimed.saturating_add(chunk.len());
                counted.claimed.fetch_add(chunk.len(), Ordering::Relaxed);
                open = events.blocking_send(Event::Files(chunk)).is_ok();
                open
            });
            if claimed > 0 {
                debug!(message = "Scanned.", claimed, ms = ms(t.elapsed()));
            }
            (scanner, (due, open))
        })
        .await
        {
            Ok(r) => r,
            Err(error) => {
                error!(message = "The scanner failed.", %error);
                break;
            }
        };
        scanner = s;
        let now = Instant::now();
        let regular = now.checked_add(interval).unwrap_or(now);
        next = due.map_or(regular, |d| d.min(regular));
        if !open {
            break;
        }
        if shutdown.is_cancelled() {
            break;
        }
    }
}

async fn forward_task(
    mut forwarder: Forwarder,
    mut jobs: mpsc::UnboundedReceiver<Vec<ForwardJob>>,
    ev_tx: mpsc::Sender<Event>,
    gauges: Arc<Gauges>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut last_check = Instant::now();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            j = jobs.recv() => match j {
                Some(j) => forwarder.add(j),
                None => break,
            },
            _ = tokio::time::sleep(interval) => {}
        }
        while let Ok(j) = jobs.try_recv() {
            forwarder.add(j);
        }
        let mut stopped = false;
        while forwarder.has_pending() && !shutdown.is_cancelled() {
            let Ok((f, done)) = tokio::task::spawn_blocking(move || {
                let done = forwarder.write_pending(FORWARD_CHUNK);
                (forwarder, done)
            })
            .await
            else {
                error!(message = "The forwarder failed.");
                return;
            };
            forwarder = f;
            if done.is_empty() {
                // Nothing could be written: try again at the next tick.
                break;
            }
            if ev_tx
                .send(Event::Forwarder(Report::Written(done)))
                .await
                .is_err()
            {
                stopped = true;
                break;
            }
        }
        if stopped {
            break;
        }
        gauges
            .forward_queued
            .store(forwarder.pending(), Ordering::Relaxed);
        gauges
            .forward_written
            .store(forwarder.watching(), Ordering::Relaxed);
        if last_check.elapsed() >= interval {
            last_check = Instant::now();
            let (sent, failed) = forwarder.check();
            if (!sent.is_empty() || !failed.is_empty())
                && ev_tx
                    .send(Event::Forwarder(Report::Transmission { sent, failed }))
                    .await
                    .is_err()
            {
                break;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn pipeline_task(
    mut pipeline: Pipeline,
    reclaimed: Vec<Claimed>,
    recovered: Effects,
    mut ev_rx: mpsc::Receiver<Event>,
    fw_tx: mpsc::UnboundedSender<Vec<ForwardJob>>,
    dirs: Dirs,
    stats_tx: watch::Sender<PipelineStats>,
    gauges: Arc<Gauges>,
    interval: Duration,
    batch: usize,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    let dirs = Arc::new(dirs);
    let mut stats = PipelineStats::default();
    // First what an earlier run left: its effects, and its claimed files.
    let mut queue: VecDeque<Event> = VecDeque::from([Event::Files(reclaimed)]);
    let mut carried = Some(recovered);
    let mut last_overdue: Option<Instant> = None;
    // Overdue sets and queue depths are recomputed this often.
    let periodic_every = interval.max(Duration::from_secs(1));
    loop {
        if queue.is_empty() && carried.is_none() {
            tokio::select! {
                ev = ev_rx.recv() => match ev {
                    Some(ev) => queue.push_back(ev),
                    None => break,
                },
                // Time passes: sets become overdue without any event.
                _ = tokio::time::sleep(periodic_every) => {}
                _ = shutdown.cancelled() => {
                    // Stop taking new work; store what was claimed.
                    ev_rx.close();
                    while let Ok(ev) = ev_rx.try_recv() {
                        queue.push_back(ev);
                    }
                    if queue.is_empty() {
                        break;
                    }
                }
            }
        }
        let events = next_batch(&mut queue, &mut ev_rx, batch);
        let effects = carried.take().unwrap_or_default();
        let d = dirs.clone();
        let fw = fw_tx.clone();
        let now = now_ms();
        let overdue_due = last_overdue.is_none_or(|t| t.elapsed() >= periodic_every);
        if overdue_due {
            last_overdue = Some(Instant::now());
        }
        let (p, result) = tokio::task::spawn_blocking(move || {
            let r = run_batch(&mut pipeline, events, effects, &d, &fw, now, overdue_due);
            (pipeline, r)
        })
        .await
        .map_err(|e| DaemonError::Task(e.to_string()))?;
        pipeline = p;
        let (n_files, n_claimed, flushed, overdue) = result?;
        gauges.claimed.fetch_sub(
            n_claimed.min(gauges.claimed.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        stats.batches = stats.batches.saturating_add(u64::from(flushed));
        stats.flushes = stats.flushes.saturating_add(u64::from(flushed));
        stats.files = stats
            .files
            .saturating_add(u64::try_from(n_files).unwrap_or(0));
        let es = pipeline.engine().stats();
        stats.open_sets = es.sets;
        stats.pending_waybills = es.pending_waybills;
        stats.claimed = gauges.claimed.load(Ordering::Relaxed);
        stats.forward_queued = gauges.forward_queued.load(Ordering::Relaxed);
        stats.forward_written = gauges.forward_written.load(Ordering::Relaxed);
        stats.tcp_connections = gauges
            .tcp_listening
            .load(Ordering::Relaxed)
            .then(|| gauges.tcp_connections.load(Ordering::Relaxed));
        if let Some(o) = overdue {
            stats.overdue_sets = o.count;
            stats.overdue = o.sets;
            stats.parked = o.parked;
            stats.inbox_pending = o.inbox_pending;
        }
        stats_tx.send_replace(stats.clone());
        if shutdown.is_cancelled() && ev_rx.is_closed() && ev_rx.is_empty() && queue.is_empty() {
            break;
        }
    }
    Ok(())
}

/// The events of the next batch: what waits in `queue`, then what the
/// channel holds, up to `batch` files (a longer list is split, its rest
/// left first in `queue`) and every forwarder report met on the way.
fn next_batch(
    queue: &mut VecDeque<Event>,
    ev_rx: &mut mpsc::Receiver<Event>,
    batch: usize,
) -> Vec<Event> {
    let mut events = Vec::new();
    let mut files = 0usize;
    while files < batch {
        let ev = match queue.pop_front() {
            Some(ev) => ev,
            None => match ev_rx.try_recv() {
                Ok(ev) => ev,
                Err(_) => break,
            },
        };
        let room = batch.saturating_sub(files);
        let (ev, rest) = ev.split(room);
        if let Some(rest) = rest {
            queue.push_front(rest);
        }
        files = files.saturating_add(ev.inbound());
        if ev.inbound() > 0 || matches!(ev, Event::Forwarder(_) | Event::Delivered { .. }) {
            events.push(ev);
        }
    }
    events
}

/// Stores one batch, flushes once, then carries out its effects.
#[allow(clippy::type_complexity)]
fn run_batch(
    pipeline: &mut Pipeline,
    events: Vec<Event>,
    mut effects: Effects,
    dirs: &Dirs,
    fw_tx: &mpsc::UnboundedSender<Vec<ForwardJob>>,
    now: u64,
    overdue_due: bool,
) -> Result<(usize, usize, bool, Option<pipeline::Periodic>), PipelineError> {
    let started = Instant::now();
    let mut n_files = 0usize;
    let mut n_claimed = 0usize;
    let busy = !events.is_empty() || !effects.is_empty();
    let mut tx = pipeline.begin();
    for ev in events {
        n_files = n_files.saturating_add(ev.inbound());
        if let Event::Files(list) = &ev {
            n_claimed = n_claimed.saturating_add(list.len());
        }
        match ev {
            Event::Files(list) => {
                for c in &list {
                    pipeline.process(&mut tx, c, now, &mut effects)?;
                }
            }
            Event::Submits(list) => {
                for s in list {
                    pipeline.submit_message(&mut tx, s, now, &mut effects)?;
                }
            }
            Event::Delivered { platform, seqs } => {
                pipeline.delivered(&mut tx, platform, &seqs, &mut effects)?;
            }
            Event::Forwarder(Report::Written(jobs)) => pipeline.forwarded(&mut tx, &jobs, now)?,
            Event::Forwarder(Report::Transmission { sent, failed }) => {
                pipeline.transmission(&mut tx, &sent, &failed, now, &mut effects)?;
            }
        }
    }
    pipeline.commit(tx)?;
    let processed = Instant::now();
    // Group commit: everything above is durable before anything is
    // acknowledged below.
    let flushed = if busy {
        pipeline.store().flush_blocking()?;
        // Every receipt queued so far has a lower sequence number than a
        // new id, and is on disk now.
        let below = pipeline.store().next_id()?;
        dirs.hub.flushed_below(below);
        dirs.push.flushed_below(below);
        let flushed = Instant::now();
        carry_out(pipeline, effects, dirs, fw_tx)?;
        crate::metrics::ingested(n_files, started.elapsed());
        flushed
    } else {
        Instant::now()
    };
    let periodic = if overdue_due {
        Some(pipeline.periodic(now)?)
    } else {
        None
    };
    if busy {
        debug!(
            message = "Batch stored.",
            files = n_files,
            process_ms = ms(processed - started),
            flush_ms = ms(flushed - processed),
            effects_ms = ms(flushed.elapsed())
        );
    }
    Ok((n_files, n_claimed, busy, periodic))
}

/// A duration in milliseconds, for the logs.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Moves the originals, writes the receipts, hands over the forwards.
fn carry_out(
    pipeline: &mut Pipeline,
    effects: Effects,
    dirs: &Dirs,
    fw_tx: &mpsc::UnboundedSender<Vec<ForwardJob>>,
) -> Result<(), PipelineError> {
    for a in &effects.archives {
        let dir = match (a.claimed.origin, a.to) {
            (Origin::Customs, _) | (_, Destination::Archive) => Some(&dirs.archive),
            (Origin::Sender(i), Destination::Sent) => dirs.senders.get(i).map(|s| &s.sent),
            (Origin::Sender(i), Destination::Failed) => dirs.senders.get(i).map(|s| &s.failed),
            (Origin::Platform(_), _) => None,
        };
        let Some(dir) = dir else { continue };
        match move_into(&a.claimed.path, dir, a.reason.as_deref()) {
            Ok(to) => info!(
                message = "File stored.",
                file = %a.claimed.name,
                to = %to.display()
            ),
            Err(error) => warn!(
                message = "Cannot move a stored file out of the work folder; it is finished at the next start.",
                path = %a.claimed.path.display(),
                %error
            ),
        }
    }
    // New entries in clients' outboxes are durable now.
    dirs.push.wake(&effects.pushes);
    // Confirmed receipts are gone from the store (durably) now.
    dirs.hub.forget_confirmed(&effects.delivered);
    // Acknowledgements: what they answer is durable now.
    for (reply, ack) in effects.acks {
        // The message is stored and its bytes freed: its budget is back;
        // its in-flight place is freed once the ACK is written.
        drop(reply.budget);
        let _ = reply
            .to
            .send(Outgoing::Frame(ack, Vec::new(), vec![reply.permit]));
    }
    if !effects.inbox.is_empty() {
        // Platforms' receipts go to their connections (and stay in the
        // store until the platform confirms them).
        let mut by_platform: std::collections::BTreeMap<
            usize,
            Vec<(u64, crate::store::InboxRecord)>,
        > = std::collections::BTreeMap::new();
        for (seq, r) in &effects.inbox {
            if let Some(i) = pipeline.platforms().iter().position(|p| p.id == r.sender) {
                by_platform.entry(i).or_default().push((*seq, r.clone()));
            }
        }
        for (i, list) in by_platform {
            dirs.hub.deliver(i, list);
        }
        // Receipts by sender, each sender's written through its own staging
        // folder: one sender's broken InBox does not hold up another's.
        let names: Vec<String> = pipeline.senders().iter().map(|s| s.name.clone()).collect();
        let mut done = Vec::new();
        for (i, s) in dirs.senders.iter().enumerate() {
            let Some(name) = names.get(i) else { continue };
            let mine: Vec<&(u64, crate::store::InboxRecord)> = effects
                .inbox
                .iter()
                .filter(|(_, r)| &r.sender == name)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let files: Vec<NewFile> = mine
                .iter()
                .map(|(_, r)| NewFile {
                    dir: s.inbox.clone(),
                    name: r.file.clone(),
                    bytes: r.bytes.clone(),
                })
                .collect();
            for ((seq, r), res) in mine.iter().zip(write_all(&s.staging, &files)) {
                match res {
                    Ok(()) => done.push(*seq),
                    Err(error) => warn!(
                        message = "Cannot write a receipt into a sender's InBox; it is written at the next start.",
                        sender = %name,
                        file = %r.file,
                        %error
                    ),
                }
            }
        }
        pipeline.receipt_written(&done)?;
    }
    if !effects.forwards.is_empty() {
        // The forwarder may have stopped (shutdown): the jobs stay queued
        // in the store and are written at the next start.
        let _ = fw_tx.send(effects.forwards);
    }
    Ok(())
}
