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
pub mod reload;
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
    /// A reloaded configuration, applied between two batches. The answer:
    /// Err when the pipeline refused it (nothing changed); else what the
    /// configuration's subscriptions changed, or why they could not be
    /// brought in line (the rest of the configuration is in force).
    Reconfigure(
        Box<Reconfig>,
        tokio::sync::oneshot::Sender<Result<Result<Vec<String>, String>, String>>,
    ),
    /// Payers' actions from the admin API, answered once durable.
    Actions(Vec<(pipeline::MailAction, pipeline::ActionReply)>),
}

/// How the admin API hands a payer's action to the pipeline (and waits for
/// its answer, given once the action is durable).
#[derive(Debug, Clone)]
pub struct ActionSender(mpsc::Sender<Event>);

impl ActionSender {
    /// Carries out `action`: `Ok(answer)`, or `Err` with the sentence of a
    /// refusal (or of a stopping daemon).
    pub async fn ask(&self, action: pipeline::MailAction) -> Result<serde_json::Value, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.0
            .send(Event::Actions(vec![(action, tx)]))
            .await
            .map_err(|_| "the gateway is stopping".to_owned())?;
        rx.await.map_err(|_| "the gateway is stopping".to_owned())?
    }
}

/// What the pipeline task takes from a reloaded configuration.
#[derive(Debug)]
struct Reconfig {
    /// The configuration as it runs from now on (its subscriptions).
    config: Config,
    /// What the pipeline takes.
    settings: pipeline::Settings,
    /// The effects' folders for the sender slots.
    dirs: Dirs,
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
            Event::Actions(l) => l.len(),
            Event::Forwarder(_) | Event::Delivered { .. } | Event::Reconfigure(..) => 0,
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
    /// By sender slot.
    senders: Vec<SenderDirs>,
    archive: PathBuf,
    hub: Arc<tcp::Hub>,
    push: Arc<push::Push>,
}

impl Dirs {
    fn new(
        senders: &[crate::config::SenderConfig],
        archive: PathBuf,
        hub: Arc<tcp::Hub>,
        push: Arc<push::Push>,
    ) -> Dirs {
        Dirs {
            senders: senders
                .iter()
                .map(|s| SenderDirs {
                    sent: s.root.join("SentBox"),
                    failed: s.root.join("FailBox"),
                    inbox: s.root.join("InBox"),
                    staging: s.root.join("TempBox").join(".staging"),
                })
                .collect(),
            archive,
            hub,
            push,
        }
    }
}

/// Runs the daemon until `shutdown` is cancelled: then it stops taking
/// new files, stores and flushes what it claimed, and returns.
///
/// `config` goes through the start-up path ([`reload::Built`]) once the
/// store is open; a reload goes through it again (SIGHUP, or a change to
/// the configuration's files).
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), DaemonError> {
    run_with(config, shutdown, hangups()).await
}

/// SIGHUP as a stream of reload requests. Taken as early as possible:
/// the signal's default action would end the process.
pub fn hangups() -> Option<tokio::signal::unix::Signal> {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(error) => {
            warn!(message = "SIGHUP cannot be taken; reload by changing the files.", %error);
            None
        }
    }
}

/// [`run`] with SIGHUP already taken (`serve` takes it before it reads
/// the configuration).
pub async fn run_with(
    config: Config,
    shutdown: CancellationToken,
    hangups: Option<tokio::signal::unix::Signal>,
) -> Result<(), DaemonError> {
    let senders = reload::Slots::new(&config.sender);
    let platforms = reload::Slots::new(&config.platform);
    let folders = create_folders(&config, &senders)?;
    let store_path = config.store.path.clone();
    let cache = config.store.cache_mb.saturating_mul(1024 * 1024);
    let store =
        Store::open_with_cache(&store_path, cache).map_err(|source| DaemonError::Store {
            path: store_path.clone(),
            source,
        })?;
    // Subscriptions: the store's, to be brought in line with the configuration's.
    let subscriptions = Arc::new(subs::Subscriptions::load(&store, now_ms()).map_err(
        |source| DaemonError::Store {
            path: store_path.clone(),
            source,
        },
    )?);
    let built = reload::Built::from_config(config, Some(&subscriptions), now_ms())?;
    let config = built.config.clone();
    for o in config.overrides() {
        info!(message = "Configuration key set by the environment.", var = %o.var, key = %o.key);
    }
    for w in &built.warnings {
        warn!(message = "Configuration warning.", warning = %w);
    }
    let registry = built.registry.clone();
    let limits = config.limits();
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
                &platforms.items,
                &reload::tokens_by_slot(&platforms, &built),
                limits.max_bytes,
                hub.clone(),
                store.clone(),
                &shutdown,
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
    let tcp_shared = tcp_source.as_ref().map(tcp::TcpSource::shared);
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
    log_subscription_changes(&changes);
    let mut pipeline = Pipeline::new(
        store.clone(),
        pipeline::Settings::new(
            &config,
            registry,
            built.signer.clone(),
            senders.items.clone(),
            platforms.items.clone(),
            subscriptions.clone(),
        ),
    )?;
    let signer = pipeline.signer_slot();
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
    let pusher = push::start(
        &config,
        &platforms.items,
        &store,
        hub.clone(),
        &tracker,
        &shutdown,
    )
    .await?;
    pusher.flushed_below(store.next_id().map_err(|source| DaemonError::Store {
        path: store_path.clone(),
        source,
    })?);

    let dirs = Dirs::new(
        &senders.items,
        config.customs.archive_dir(),
        hub.clone(),
        pusher.clone(),
    );
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
        signer,
    );
    for f in written {
        forwarder.watch(f.msg, f.file);
    }
    let scanner = Scanner::new(
        folders.clone(),
        Duration::from_millis(config.ingest.settle_ms),
    );
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

    // What a reload changes for the admin API.
    let status = reload::ReloadStatus {
        source: config
            .source()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        generation: 1,
        applied_ms: t0,
        overrides: config.overrides().to_vec(),
        ..reload::ReloadStatus::default()
    };
    let (live_tx, live_rx) = watch::channel(Arc::new(crate::admin::api::AdminLive {
        token: built.admin_token.clone(),
        clients: config.client.clone(),
        sources: sources(&config),
        reload: status.clone(),
        tax: config.tax_tables(),
    }));

    // The admin API.
    let ready = Arc::new(crate::admin::health::Readiness::new(config.tcp.is_some()));
    ready.mark(crate::admin::health::Part::Store);
    ready.mark(crate::admin::health::Part::Push);
    let admin_state = crate::admin::api::AdminState {
        store: store.clone(),
        started,
        started_ms: t0,
        stats: stats_rx,
        live: live_rx,
        subs: subscriptions.clone(),
        push: pusher.clone(),
        ready: ready.clone(),
        actions: Some(ActionSender(ev_tx.clone())),
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

    // The scanner, woken by filesystem events and by its timer; a reload
    // hands it a new list of folders.
    let (folders_tx, folders_rx) = watch::channel(Arc::new(folders));
    {
        let shutdown = shutdown.clone();
        let ev_tx = ev_tx.clone();
        let g = gauges.clone();
        let batch = config.ingest.batch;
        tracker.spawn(scan_task(
            scanner, folders_rx, ev_tx, g, interval, batch, shutdown,
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
    // Live reload.
    {
        let reloader = Reloader {
            seen: built.fingerprint,
            pending: Vec::new(),
            built,
            running: config.clone(),
            senders,
            platforms,
            status,
            subs: subscriptions,
            events: ev_tx.clone(),
            folders: folders_tx,
            tcp: tcp_shared,
            push: pusher,
            hub,
            live: live_tx,
            shutdown: shutdown.clone(),
        };
        tracker.spawn(reload_task(reloader, hangups));
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

/// The configured sources, as the store names them.
fn sources(config: &Config) -> Vec<(String, String)> {
    let senders = config
        .sender
        .iter()
        .map(|s| ("sender".to_owned(), s.name.clone()));
    let platforms = config
        .platform
        .iter()
        .map(|p| ("tcp".to_owned(), p.id.clone()));
    senders.chain(platforms).collect()
}

fn log_subscription_changes(changes: &[String]) {
    for change in changes {
        let (action, id) = change.split_once(' ').unwrap_or((change.as_str(), ""));
        info!(message = "Subscription from the configuration.", action = %action, subscription = %id);
    }
}

/// The reload task's state: the configuration running and every part a
/// reload reconfigures.
struct Reloader {
    /// What runs, as the start-up path built it.
    built: reload::Built,
    /// The digest of the configuration's files at the last look.
    seen: [u8; 32],
    /// The files a refused configuration names (looked at and watched too).
    pending: Vec<PathBuf>,
    /// The configuration in force: `built.config` with the keys that need
    /// a restart at their running values.
    running: Config,
    senders: reload::Slots<crate::config::SenderConfig>,
    platforms: reload::Slots<crate::config::PlatformConfig>,
    status: reload::ReloadStatus,
    subs: Arc<subs::Subscriptions>,
    events: mpsc::Sender<Event>,
    folders: watch::Sender<Arc<Vec<Folder>>>,
    tcp: Option<Arc<tcp::Shared>>,
    push: Arc<push::Push>,
    hub: Arc<tcp::Hub>,
    live: watch::Sender<Arc<crate::admin::api::AdminLive>>,
    shutdown: CancellationToken,
}

/// Waits for a reason to reload (a change to one of the configuration's
/// files, SIGHUP) and reloads, until the daemon stops.
async fn reload_task(mut r: Reloader, mut hangups: Option<tokio::signal::unix::Signal>) {
    let (hint_tx, mut hints) = mpsc::unbounded_channel::<()>();
    let watched = |r: &Reloader| {
        if r.running.admin.watch_config {
            r.looked_at()
        } else {
            Vec::new()
        }
    };
    let mut files = watched(&r);
    let mut watcher = watch_files(&files, hint_tx.clone());
    // A change made before the watcher was set up is found by a first
    // look; events are hints, and a look every few seconds is the truth
    // (an event may be missed: a network filesystem, an overflow).
    let _ = hint_tx.send(());
    let mut look = tokio::time::interval(Duration::from_secs(5));
    look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let forced = tokio::select! {
            _ = r.shutdown.cancelled() => break,
            Some(()) = hints.recv() => false,
            _ = look.tick(), if !files.is_empty() => false,
            Some(()) = async {
                match &mut hangups {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            } => true,
        };
        // An editor writes in steps, a deployment swaps several files:
        // wait until the files are quiet (200 ms; 2 s at most).
        let quiet_by = Instant::now() + Duration::from_secs(2);
        loop {
            match tokio::time::timeout(Duration::from_millis(200), hints.recv()).await {
                Ok(Some(())) if Instant::now() < quiet_by => continue,
                _ => break,
            }
        }
        // A reload stops with the daemon (a folder check on a hung mount
        // does not hold up the stop).
        let stop = r.shutdown.clone();
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = r.reload(forced) => {}
        }
        let now_files = watched(&r);
        if now_files != files {
            files = now_files;
            watcher = watch_files(&files, hint_tx.clone());
        }
    }
    drop(watcher);
}

impl Reloader {
    /// Loads the configuration again and applies it, or keeps the running
    /// one and says why. `forced` (SIGHUP) reloads even when no file changed.
    async fn reload(&mut self, forced: bool) {
        let Some(path) = self.built.config.source().map(Path::to_path_buf) else {
            return;
        };
        // Nothing changed since the last look: nothing to do (a refused
        // file is not refused again until it, or a file it names, changes).
        let files = self.looked_at();
        let overrides = self.built.config.overrides().to_vec();
        let look = {
            let files = files.clone();
            tokio::task::spawn_blocking(move || reload::digest_files(&files, &overrides, None))
                .await
                .unwrap_or([0; 32])
        };
        if !forced && look == self.seen {
            return;
        }
        self.seen = look;
        let subs = self.subs.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            let config = Config::load(&path).map_err(|e| (e, Vec::new()))?;
            let named = reload::named_files(&config);
            reload::Built::from_config(config, Some(&subs), now_ms()).map_err(|e| (e, named))
        })
        .await;
        let built = match loaded {
            Ok(Ok(b)) => b,
            Ok(Err((e, named))) => {
                if named != self.pending {
                    // Look at the files the refused configuration names
                    // from now on: the one missing may appear.
                    self.pending = named;
                    let files = self.looked_at();
                    let overrides = self.built.config.overrides().to_vec();
                    self.seen = tokio::task::spawn_blocking(move || {
                        reload::digest_files(&files, &overrides, None)
                    })
                    .await
                    .unwrap_or([0; 32]);
                }
                return self.refused(e.to_string());
            }
            Err(e) => return self.refused(format!("the reload failed: {e}")),
        };
        self.pending.clear();
        if built.fingerprint == self.built.fingerprint && self.status.error.is_none() {
            if forced {
                info!(message = "Configuration unchanged; nothing to reload.");
            }
            return;
        }
        if let Err(message) = self.apply(built).await {
            self.refused(message);
        }
    }

    /// The files a look reads: the running configuration's, and those a
    /// refused one names (it may be waiting for one of them to appear).
    fn looked_at(&self) -> Vec<PathBuf> {
        let mut files = reload::named_files(&self.built.config);
        for f in &self.pending {
            if !files.contains(f) {
                files.push(f.clone());
            }
        }
        files
    }

    /// Keeps the running configuration: logged, counted, shown by `status`.
    fn refused(&mut self, message: String) {
        error!(message = "Configuration not reloaded; the running one stays.", reason = %message);
        crate::metrics::reload(false);
        self.status.failures = self.status.failures.saturating_add(1);
        self.status.error = Some(reload::ReloadError {
            at_ms: now_ms(),
            message,
        });
        self.publish();
    }

    fn publish(&self) {
        self.live.send_modify(|l| {
            *l = Arc::new(crate::admin::api::AdminLive {
                token: self.built.admin_token.clone(),
                clients: self.running.client.clone(),
                sources: sources(&self.running),
                reload: self.status.clone(),
                tax: self.running.tax_tables(),
            });
        });
    }

    /// Applies a configuration that went through the start-up path: the
    /// pipeline first (between two batches: senders, platforms, clients,
    /// routing, limits, engine and registry, and the subscriptions), then
    /// the folders scanned, the platforms admitted, the push workers and
    /// the admin API. Err before the pipeline took it: nothing changed.
    async fn apply(&mut self, built: reload::Built) -> Result<(), String> {
        let restart = reload::restart_needed(&self.running, &built.config, &self.senders);
        let config = reload::running(&self.running, &built.config, &self.senders);
        let (senders, platforms) = reload::slots_for(&self.senders, &self.platforms, &config);
        reload::check_roots(&senders)?;
        let created = {
            let (config, senders) = (config.clone(), senders.clone());
            tokio::task::spawn_blocking(move || create_folders(&config, &senders))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?
        };
        let (reply_tx, reply_rx) = tokio::sync::oneshot::channel();
        let re = Reconfig {
            config: config.clone(),
            settings: pipeline::Settings::new(
                &config,
                built.registry.clone(),
                built.signer.clone(),
                senders.items.clone(),
                platforms.items.clone(),
                self.subs.clone(),
            ),
            dirs: Dirs::new(
                &senders.items,
                config.customs.archive_dir(),
                self.hub.clone(),
                self.push.clone(),
            ),
        };
        self.events
            .send(Event::Reconfigure(Box::new(re), reply_tx))
            .await
            .map_err(|_| "the pipeline has stopped".to_owned())?;
        let subs_changes = reply_rx
            .await
            .map_err(|_| "the pipeline has stopped".to_owned())??;
        // From here on the new configuration is in force. Its subscriptions
        // were checked before; one changed through the API meanwhile may
        // still refuse: said, and the rest goes on.
        let mut partial: Vec<String> = Vec::new();
        let subs_changes = match subs_changes {
            Ok(c) => c,
            Err(reason) => {
                error!(message = "Subscriptions of the reloaded configuration not applied.", %reason);
                partial.push(format!("its subscriptions: {reason}"));
                Vec::new()
            }
        };
        log_subscription_changes(&subs_changes);
        let _ = self.folders.send(Arc::new(created));
        let mut tcp_changes = Vec::new();
        if let (Some(t), Some(tcp)) = (&self.tcp, &config.tcp) {
            tcp_changes = t.reconfigure(
                &platforms.items,
                &reload::tokens_by_slot(&platforms, &built),
                config.limits.max_bytes,
                tcp,
                &self.shutdown,
            );
        }
        let push_changes = match self.push.reconfigure(&config, &platforms.items).await {
            Ok(c) => c,
            Err(error) => {
                error!(message = "Push workers not reconfigured.", %error);
                partial.push(format!("its push workers: {error}"));
                Vec::new()
            }
        };
        for r in &restart {
            warn!(message = "A configured value waits for a restart.", key = %r);
        }
        for w in &built.warnings {
            warn!(message = "Configuration warning.", warning = %w);
        }
        info!(
            message = "Configuration reloaded.",
            generation = self.status.generation.saturating_add(1),
            senders = %names(senders.live().map(|(_, s)| s.name.as_str())),
            platforms = %tcp_changes.join(", "),
            clients = %push_changes.join(", "),
            subscriptions = subs_changes.len(),
            restart_needed = restart.len()
        );
        self.senders = senders;
        self.platforms = platforms;
        self.running = config;
        self.built = built;
        self.status.generation = self.status.generation.saturating_add(1);
        self.status.reloads = self.status.reloads.saturating_add(1);
        crate::metrics::reload(true);
        self.status.applied_ms = now_ms();
        // Applied, but not all of it: shown and counted like a refusal, and
        // tried again at the next SIGHUP (or change).
        self.status.error = (!partial.is_empty()).then(|| reload::ReloadError {
            at_ms: now_ms(),
            message: format!(
                "{}: applied, except {}",
                self.built
                    .config
                    .source()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                partial.join("; ")
            ),
        });
        if !partial.is_empty() {
            self.status.failures = self.status.failures.saturating_add(1);
            crate::metrics::reload(false);
        }
        self.status.restart_needed = restart;
        self.status.overrides = self.running.overrides().to_vec();
        self.publish();
        Ok(())
    }
}

fn names<'a>(list: impl Iterator<Item = &'a str>) -> String {
    list.collect::<Vec<_>>().join(", ")
}

/// A watcher on the folders holding `files` (an editor or a deployment
/// may replace a file rather than write it): a change to one of them is
/// a hint to reload.
fn watch_files(
    files: &[PathBuf],
    hint: mpsc::UnboundedSender<()>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher as _;
    if files.is_empty() {
        return None;
    }
    // Matched by name: a same-named file elsewhere costs a reload that
    // finds nothing changed.
    let names: Vec<std::ffi::OsString> = files
        .iter()
        .filter_map(|f| f.file_name().map(std::ffi::OsStr::to_os_string))
        .collect();
    let mut watcher =
        match notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(ev) = res else {
                let _ = hint.send(());
                return;
            };
            if matches!(ev.kind, notify::EventKind::Access(_)) {
                return;
            }
            if ev.need_rescan()
                || ev
                    .paths
                    .iter()
                    .any(|p| p.file_name().is_some_and(|n| names.iter().any(|x| x == n)))
            {
                let _ = hint.send(());
            }
        }) {
            Ok(w) => w,
            Err(error) => {
                warn!(message = "Configuration files not watched; reload with SIGHUP.", %error);
                return None;
            }
        };
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .map(|d| {
            if d.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                d
            }
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        if let Err(error) = watcher.watch(&d, notify::RecursiveMode::NonRecursive) {
            warn!(message = "Cannot watch a configuration folder; reload with SIGHUP.", dir = %d.display(), %error);
        }
    }
    Some(watcher)
}

/// Creates every folder the configuration names (the active sender slots'
/// trees); returns the watched ones.
fn create_folders(
    config: &Config,
    senders: &reload::Slots<crate::config::SenderConfig>,
) -> Result<Vec<Folder>, DaemonError> {
    let mkdir = |p: &Path| {
        std::fs::create_dir_all(p).map_err(|source| DaemonError::Folder {
            path: p.to_owned(),
            source,
        })
    };
    let mut folders = Vec::new();
    for (i, s) in senders.live() {
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
fn watch_folders(folders: &[Folder], wake: Arc<Notify>) -> Option<notify::RecommendedWatcher> {
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
    for d in folders.iter().map(|f| &f.dir) {
        if let Err(error) = watcher.watch(d, notify::RecursiveMode::NonRecursive) {
            warn!(message = "Cannot watch a folder; scanning it on the timer.", dir = %d.display(), %error);
        }
    }
    Some(watcher)
}

async fn scan_task(
    mut scanner: Scanner,
    mut folders: watch::Receiver<Arc<Vec<Folder>>>,
    ev_tx: mpsc::Sender<Event>,
    gauges: Arc<Gauges>,
    interval: Duration,
    batch: usize,
    shutdown: CancellationToken,
) {
    let wake = Arc::new(Notify::new());
    let mut watcher = watch_folders(&folders.borrow_and_update(), wake.clone());
    let mut next = Instant::now();
    let mut reloads = true;
    loop {
        let sleep_until = tokio::time::Instant::from_std(next);
        let changed = tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = wake.notified() => false,
            r = async {
                if reloads {
                    folders.changed().await
                } else {
                    std::future::pending().await
                }
            } => {
                reloads = r.is_ok();
                reloads
            }
            _ = tokio::time::sleep_until(sleep_until) => false,
        };
        if changed {
            // A reload: the new list from the next scan on. A sender seen
            // for the first time in this run may have left files in its
            // work folder in an earlier one: they go first.
            let list = folders.borrow_and_update().clone();
            drop(watcher);
            watcher = watch_folders(&list, wake.clone());
            let recovered = scanner.set_folders(list.to_vec());
            if !recovered.is_empty() && ev_tx.send(Event::Files(recovered)).await.is_err() {
                break;
            }
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
    let mut dirs = Arc::new(dirs);
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
        if matches!(queue.front(), Some(Event::Reconfigure(..))) {
            if let Some(Event::Reconfigure(re, reply)) = queue.pop_front() {
                let Reconfig {
                    config,
                    settings,
                    dirs: new_dirs,
                } = *re;
                let subs = settings.routing.subs.clone();
                let (p, result) = tokio::task::spawn_blocking(move || {
                    let r = pipeline
                        .reconfigure(settings)
                        .map_err(|e| e.to_string())
                        .map(|()| subs.sync_config(pipeline.store(), &config, now_ms()));
                    (pipeline, r)
                })
                .await
                .map_err(|e| DaemonError::Task(e.to_string()))?;
                pipeline = p;
                if result.is_ok() {
                    dirs = Arc::new(new_dirs);
                }
                let _ = reply.send(result);
            }
            continue;
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
        if matches!(ev, Event::Reconfigure(..)) {
            // Applied on its own, after this batch.
            queue.push_front(ev);
            break;
        }
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
    // The batch's signatures, verified ahead on every core.
    {
        let (mut files, mut submissions): (Vec<&Claimed>, Vec<&pipeline::Submission>) =
            (Vec::new(), Vec::new());
        for e in &events {
            match e {
                Event::Files(list) => files.extend(list),
                Event::Submits(list) => submissions.extend(list),
                _ => {}
            }
        }
        pipeline.preverify(&files, &submissions, now);
    }
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
            Event::Actions(list) => {
                for (action, reply) in list {
                    pipeline.mail_action(&mut tx, action, reply, now, &mut effects)?;
                }
            }
            Event::Forwarder(Report::Written(jobs)) => pipeline.forwarded(&mut tx, &jobs, now)?,
            Event::Forwarder(Report::Transmission { sent, failed }) => {
                pipeline.transmission(&mut tx, &sent, &failed, now, &mut effects)?;
            }
            // Never part of a batch (`next_batch` stops before one).
            Event::Reconfigure(..) => {}
        }
    }
    pipeline.clear_presigned();
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
    // Payers' actions: what they did is durable now.
    for (reply, answer) in effects.answers {
        let _ = reply.send(answer);
    }
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
