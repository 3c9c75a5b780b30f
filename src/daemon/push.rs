//! Push: one delivery worker per registered client, reading the client's
//! durable outbox (key `Q`, filled by the pipeline in the same atomic write
//! that stored the receipt) in order, delivering by folder, TCP or email,
//! retrying with exponential backoff and jitter, and parking an entry after
//! `max_attempts` attempts or `max_age_hours` (it moves to the client's
//! parked list, key `P`, so the queue's head is always the next to try).
//!
//! Each worker is its own task and waits only for its own client: a full
//! disk, a missing share, a silent mail server or a disconnected platform
//! holds up that client's queue and no other. A worker reads only entries
//! the store has flushed (the pipeline publishes its watermark after each
//! flush), so nothing is delivered that a crash could take back. Delivered
//! entries move to the client's delivered log (key `D`), kept
//! `keep_delivered_days` for `replay --since`; the log and the queue are
//! written only by the client's worker (replays are sent to it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::files::{NewFile, write_in_order};
use super::now_ms;
use super::pipeline::forward_bytes;
use super::tcp::Hub;
use crate::codec::{self, Limits};
use crate::config::{Config, Delivery, PushConfig, SmtpConfig};
use crate::store::records::VERSION;
use crate::store::{InboxRecord, OutboxEntry, Store, StoreError, key};

/// The most entries one delivery round takes.
const ROUND: usize = 64;

/// Why push could not start.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The mail server settings are not usable.
    #[error("smtp: {0}")]
    Smtp(String),
}

/// Which entries a replay re-queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Every parked entry.
    Parked,
    /// Entries (queued, parked or delivered) whose business key, file
    /// name or document id contains this text.
    Key(String),
    /// Entries queued or delivered at or after this time (ms since the epoch).
    Since(u64),
}

/// What a replay did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Replayed {
    /// Parked entries given a fresh start in their place.
    pub unparked: usize,
    /// Delivered entries queued again at the end of the queue.
    pub requeued: usize,
}

enum Command {
    Replay(Selector, oneshot::Sender<Result<Replayed, String>>),
}

struct ClientHandle {
    id: String,
    wake: Arc<Notify>,
    commands: mpsc::UnboundedSender<Command>,
    /// What its worker was built from: a reload restarts the worker only
    /// when this changed.
    signature: String,
    /// Asks the worker to stop between two rounds (a reload replaces or
    /// removes it); a delivery under way is finished and recorded first.
    retire: CancellationToken,
    /// The worker's task; it returns the entries it wrote and flushed
    /// itself (replays), which its successor takes over.
    done: Option<tokio::task::JoinHandle<BTreeSet<u64>>>,
}

/// What workers are started with.
struct Ctx {
    store: Store,
    hub: Arc<Hub>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

/// The running workers, as the pipeline and the admin API see them.
pub struct Push {
    clients: std::sync::RwLock<Vec<ClientHandle>>,
    /// Entries with a lower sequence number are flushed.
    flushed: Arc<AtomicU64>,
    /// `None`: an API served without a daemon (no workers ever).
    ctx: Option<Ctx>,
    /// One reconfiguration at a time.
    reconfiguring: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Push {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Push")
            .field(
                "clients",
                &self.clients.read().map(|c| c.len()).unwrap_or(0),
            )
            .finish_non_exhaustive()
    }
}

impl Push {
    /// No workers (no clients): for an API served without a daemon.
    pub fn idle() -> Arc<Push> {
        Arc::new(Push {
            clients: std::sync::RwLock::new(Vec::new()),
            flushed: Arc::new(AtomicU64::new(0)),
            ctx: None,
            reconfiguring: tokio::sync::Mutex::new(()),
        })
    }

    /// Every entry below `seq` is on disk.
    pub fn flushed_below(&self, seq: u64) {
        self.flushed.fetch_max(seq, Ordering::Release);
    }

    /// New entries wait for these clients.
    pub fn wake<'a>(&self, clients: impl IntoIterator<Item = &'a String>) {
        let Ok(list) = self.clients.read() else {
            return;
        };
        for id in clients {
            if let Some(c) = list.iter().find(|c| &c.id == id) {
                c.wake.notify_one();
            }
        }
    }

    /// Re-queues a client's entries (its worker does it, between deliveries).
    pub async fn replay(&self, client: &str, selector: Selector) -> Result<Replayed, String> {
        let commands = self
            .clients
            .read()
            .ok()
            .and_then(|list| {
                list.iter()
                    .find(|c| c.id == client)
                    .map(|c| c.commands.clone())
            })
            .ok_or_else(|| format!("`{client}` is not a registered client"))?;
        let (tx, rx) = oneshot::channel();
        commands
            .send(Command::Replay(selector, tx))
            .map_err(|_| "the client's worker has stopped".to_owned())?;
        rx.await
            .map_err(|_| "the client's worker has stopped".to_owned())?
    }

    /// Brings the workers in line with `config` (`platforms` is the slot
    /// list a `tcp` client's platform is looked up in): a worker whose
    /// client, delivery, mail server, `[push]` or limits changed is stopped
    /// between two rounds and started again; a removed client's worker is
    /// stopped (its queue stays in the store); a new client's is started.
    /// Everything is built before anything is stopped, so a refusal
    /// changes nothing. Returns what it did, one line each.
    pub async fn reconfigure(
        &self,
        config: &Config,
        platforms: &[crate::config::PlatformConfig],
    ) -> Result<Vec<String>, PushError> {
        let Some(ctx) = &self.ctx else {
            return Ok(Vec::new());
        };
        let _one = self.reconfiguring.lock().await;
        let built = build_workers(config, platforms, ctx, &self.flushed)?;
        let mut changes = Vec::new();
        let Ok(mut list) = self.clients.write() else {
            return Ok(changes);
        };
        let mut next: Vec<ClientHandle> = Vec::new();
        // Each client on its own: a worker is replaced only when its own
        // settings changed, and the replacement waits for its predecessor
        // alone (which finishes the round under way, its folder write
        // included), so a slow client holds up no other, nor the reload.
        let mut old: Vec<ClientHandle> = list.drain(..).collect();
        for (signature, worker) in built {
            let before = old
                .iter()
                .position(|h| h.id == worker.id)
                .map(|i| old.swap_remove(i));
            if let Some(h) = before {
                if h.signature == signature {
                    next.push(h);
                    continue;
                }
                changes.push(format!("restarted {}", worker.id));
                next.push(spawn_worker(ctx, signature, worker, Some(h)));
            } else {
                changes.push(format!("started {}", worker.id));
                next.push(spawn_worker(ctx, signature, worker, None));
            }
        }
        for mut h in old {
            changes.push(format!("stopped {}", h.id));
            h.retire.cancel();
            // Its task ends on its own; the tracker waits for it at shutdown.
            drop(h.done.take());
        }
        *list = next;
        Ok(changes)
    }
}

/// Starts `worker` on the tracker, after `before` (the worker it
/// replaces) has finished its round: its replays' entries carry over.
fn spawn_worker(
    ctx: &Ctx,
    signature: String,
    worker: Worker,
    before: Option<ClientHandle>,
) -> ClientHandle {
    let wake = Arc::new(Notify::new());
    let (tx, rx) = mpsc::unbounded_channel();
    let retire = ctx.shutdown.child_token();
    let id = worker.id.clone();
    let (run_wake, run_retire, shutdown) = (wake.clone(), retire.clone(), ctx.shutdown.clone());
    let previous = before.map(|mut h| {
        h.retire.cancel();
        h.done.take()
    });
    let done = ctx.tracker.spawn(async move {
        let mut worker = worker;
        if let Some(Some(previous)) = previous
            && let Ok(own) = previous.await
        {
            worker.own = own;
        }
        worker.run(run_wake, rx, shutdown, run_retire).await
    });
    ClientHandle {
        id,
        wake,
        commands: tx,
        signature,
        retire,
        done: Some(done),
    }
}

/// How one client's deliveries go.
enum Sink {
    Folder {
        dir: PathBuf,
        staging: PathBuf,
    },
    Tcp {
        platform: usize,
        name: String,
        hub: Arc<Hub>,
    },
    Email {
        to: Vec<lettre::message::Mailbox>,
        mailer: Arc<Mailer>,
    },
    Sms {
        phone: String,
        gateway: Arc<dyn SmsGateway>,
    },
}

/// Where SMS texts go. The gateway connects no real SMS gateway: the one
/// implementation writes the texts to a file ([`FileSms`]), for tests and
/// rehearsal; a real one implements this trait.
pub trait SmsGateway: Send + Sync {
    /// Sends `text` to `phone`; `Err` with the reason.
    fn send(&self, phone: &str, text: &str) -> Result<(), String>;
}

/// SMS texts appended to a file, one line each (`phone<TAB>text`), synced
/// before the delivery counts.
#[derive(Debug)]
pub struct FileSms {
    path: PathBuf,
}

impl FileSms {
    /// Texts into `path` (its folder is created).
    pub fn new(path: PathBuf) -> FileSms {
        FileSms { path }
    }
}

impl SmsGateway for FileSms {
    fn send(&self, phone: &str, text: &str) -> Result<(), String> {
        use std::io::Write as _;
        let shown = self.path.display().to_string();
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{shown}: {e}"))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| format!("{shown}: {e}"))?;
        let line = format!("{phone}\t{}\n", text.replace(['\n', '\t'], " "));
        f.write_all(line.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("{shown}: {e}"))
    }
}

/// The SMS text of a pushed entry: what it is, which item, its status.
pub fn sms_text(e: &OutboxEntry) -> String {
    let key = e
        .key
        .split(';')
        .map(|k| k.trim().split_once('=').map_or(k.trim(), |(_, v)| v))
        .collect::<Vec<_>>()
        .join(" ");
    format!("【海关】{} {}：{}", type_name(&e.ty), key, e.status)
}

/// The mail transport and sender.
pub struct Mailer {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
}

type Transport = lettre::AsyncSmtpTransport<lettre::Tokio1Executor>;

/// The transport's builder for `[smtp]` (nothing connects yet), and the
/// sender address.
fn smtp_builder(
    m: &SmtpConfig,
    timeout: Duration,
) -> Result<
    (
        lettre::transport::smtp::AsyncSmtpTransportBuilder,
        lettre::message::Mailbox,
    ),
    PushError,
> {
    use lettre::transport::smtp::authentication::Credentials;
    type T = Transport;
    let builder = match m.tls.as_str() {
        "tls" => T::relay(&m.host).map_err(|e| PushError::Smtp(e.to_string()))?,
        "starttls" => T::starttls_relay(&m.host).map_err(|e| PushError::Smtp(e.to_string()))?,
        _ => T::builder_dangerous(&m.host),
    };
    let mut builder = builder.port(m.port).timeout(Some(timeout));
    if let Some(user) = &m.username {
        let password = match &m.password_file {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| PushError::Smtp(format!("password_file {}: {e}", p.display())))?
                .trim()
                .to_owned(),
            None => String::new(),
        };
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    let from = m
        .from
        .parse()
        .map_err(|e| PushError::Smtp(format!("from `{}`: {e}", m.from)))?;
    Ok((builder, from))
}

impl Mailer {
    fn new(m: &SmtpConfig, timeout: Duration) -> Result<Mailer, PushError> {
        let (builder, from) = smtp_builder(m, timeout)?;
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }
}

/// A folder write still running after its round gave up waiting for it.
type FolderJob = tokio::task::JoinHandle<Vec<Result<(), String>>>;

/// One client's worker.
struct Worker {
    id: String,
    /// The client's enterprise: an entry queued for another (the client was
    /// given to another enterprise since) is parked, never delivered.
    enterprise: String,
    sink: Sink,
    /// The previous folder write, if it outlived its timeout: awaited
    /// before the next one (one blocking write per client at a time).
    folder_job: Option<FolderJob>,
    /// Entries of the last round whose connection went away or never was:
    /// not the entries' failure; they go again at once, on the next one.
    lost: BTreeSet<u64>,
    store: Store,
    limits: Limits,
    cfg: PushConfig,
    flushed: Arc<AtomicU64>,
    /// Entries this worker wrote and flushed itself (replays).
    own: BTreeSet<u64>,
}

/// Starts one worker per client on `tracker`; they stop with `shutdown`.
/// A reload goes through [`Push::reconfigure`], the same path.
pub async fn start(
    config: &Config,
    platforms: &[crate::config::PlatformConfig],
    store: &Store,
    hub: Arc<Hub>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) -> Result<Arc<Push>, PushError> {
    let push = Arc::new(Push {
        clients: std::sync::RwLock::new(Vec::new()),
        flushed: Arc::new(AtomicU64::new(0)),
        ctx: Some(Ctx {
            store: store.clone(),
            hub,
            tracker: tracker.clone(),
            shutdown: shutdown.clone(),
        }),
        reconfiguring: tokio::sync::Mutex::new(()),
    });
    push.reconfigure(config, platforms).await?;
    Ok(push)
}

/// Checks `[smtp]` as far as can be done without a connection: the
/// address, the TLS mode with the host, the password file.
pub fn check_smtp(m: &SmtpConfig) -> Result<(), PushError> {
    smtp_builder(m, Duration::from_secs(1)).map(|_| ())
}

/// A worker for every client with a delivery, each with its signature.
fn build_workers(
    config: &Config,
    platforms: &[crate::config::PlatformConfig],
    ctx: &Ctx,
    flushed: &Arc<AtomicU64>,
) -> Result<Vec<(String, Worker)>, PushError> {
    let timeout = Duration::from_secs(config.push.timeout_secs);
    let mailer = match &config.smtp {
        Some(m) if config.client.iter().any(|c| c.email.is_some()) => {
            Some(Arc::new(Mailer::new(m, timeout)?))
        }
        _ => None,
    };
    let mut out = Vec::new();
    for c in &config.client {
        let mut signature = format!(
            "{c:?}|{:?}|{:?}|{:?}",
            config.push, config.limits.max_bytes, config.limits.max_depth
        );
        let sink = match c.delivery(platforms) {
            Some(Delivery::Folder(dir)) => Sink::Folder {
                staging: staging_for(&dir),
                dir,
            },
            Some(Delivery::Tcp(platform)) => {
                signature.push_str(&format!("|tcp {platform}"));
                Sink::Tcp {
                    platform,
                    name: platforms
                        .get(platform)
                        .map(|p| p.id.clone())
                        .unwrap_or_default(),
                    hub: ctx.hub.clone(),
                }
            }
            Some(Delivery::Sms(path)) => Sink::Sms {
                phone: c.enterprise.clone(),
                gateway: Arc::new(FileSms::new(path)),
            },
            Some(Delivery::Email(list)) => {
                let Some(mailer) = mailer.clone() else {
                    return Err(PushError::Smtp(format!(
                        "client `{}` is delivered by email and there is no [smtp]",
                        c.id
                    )));
                };
                // The password file's content too: a rotated password
                // restarts the email workers.
                let password = config
                    .smtp
                    .as_ref()
                    .and_then(|m| m.password_file.as_ref())
                    .and_then(|p| std::fs::read(p).ok())
                    .map(|b| {
                        use sha2::Digest as _;
                        let d: [u8; 32] = sha2::Sha256::digest(&b).into();
                        d.iter().map(|x| format!("{x:02x}")).collect::<String>()
                    });
                signature.push_str(&format!("|{:?}|{password:?}", config.smtp));
                let mut to = Vec::new();
                for a in list {
                    to.push(
                        a.parse()
                            .map_err(|e| PushError::Smtp(format!("client `{}`: {a}: {e}", c.id)))?,
                    );
                }
                Sink::Email { to, mailer }
            }
            None => continue,
        };
        let worker = Worker {
            id: c.id.clone(),
            enterprise: c.enterprise.clone(),
            sink,
            folder_job: None,
            lost: BTreeSet::new(),
            store: ctx.store.clone(),
            limits: config.limits(),
            cfg: config.push.clone(),
            flushed: flushed.clone(),
            own: BTreeSet::new(),
        };
        out.push((signature, worker));
    }
    Ok(out)
}

/// The staging folder for a client's InBox: beside it, on the same
/// filesystem, so the final rename is atomic and the client never sees a
/// partial file.
fn staging_for(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.parent()
        .unwrap_or(Path::new(""))
        .join(".customs-gateway")
        .join(name)
}

/// What a round found in the queue.
struct Due {
    /// Entries to deliver now, in order.
    now: Vec<OutboxEntry>,
    /// Parked during the scan (too old).
    parked: Vec<OutboxEntry>,
    /// When the head entry is due, if it is not yet.
    next_ms: Option<u64>,
}

impl Worker {
    async fn run(
        mut self,
        wake: Arc<Notify>,
        mut commands: mpsc::UnboundedReceiver<Command>,
        shutdown: CancellationToken,
        retire: CancellationToken,
    ) -> BTreeSet<u64> {
        let taker = match &self.sink {
            Sink::Tcp { platform, hub, .. } => Some(hub.taker_changed(*platform)),
            _ => None,
        };
        let mut last_prune = 0u64;
        // The receipts connection changed: the head is tried at once.
        let mut force = false;
        loop {
            if shutdown.is_cancelled() || retire.is_cancelled() {
                break;
            }
            while let Ok(c) = commands.try_recv() {
                self.command(c).await;
            }
            let now = now_ms();
            if now.saturating_sub(last_prune) > 3_600_000 {
                last_prune = now;
                self.prune(now).await;
            }
            // No connection takes the platform's receipts: nothing is
            // tried (an outage is not the entries' failure); wait for one.
            let connected = match &self.sink {
                Sink::Tcp { platform, hub, .. } => hub.has_taker(*platform),
                _ => true,
            };
            let due = if !connected {
                Ok(Due {
                    now: Vec::new(),
                    parked: Vec::new(),
                    next_ms: Some(now.saturating_add(5_000)),
                })
            } else {
                self.due(now, std::mem::take(&mut force)).await
            };
            let due = match due {
                Ok(d) => d,
                Err(error) => {
                    warn!(message = "Cannot read a client's outbox.", client = %self.id, %error);
                    Due {
                        now: Vec::new(),
                        parked: Vec::new(),
                        next_ms: Some(now.saturating_add(5_000)),
                    }
                }
            };
            if !due.parked.is_empty() {
                crate::metrics::pushed(&self.id, 0, 0, due.parked.len());
                self.record(Vec::new(), Vec::new(), due.parked, now).await;
            }
            if due.now.is_empty() {
                let wait = due.next_ms.map_or(Duration::from_secs(5), |t| {
                    Duration::from_millis(t.saturating_sub(now).clamp(1, 5_000))
                });
                let taken = async {
                    match &taker {
                        Some(n) => n.notified().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = retire.cancelled() => break,
                    _ = wake.notified() => {}
                    _ = taken => force = true,
                    c = commands.recv() => match c {
                        Some(c) => self.command(c).await,
                        None => break,
                    },
                    _ = tokio::time::sleep(wait) => {}
                }
                continue;
            }
            let entries = due.now;
            let outcome = tokio::select! {
                _ = shutdown.cancelled() => break,
                o = self.deliver(&entries) => o,
            };
            let now = now_ms();
            let (done, failed, parked) = self.settle(entries, outcome, now);
            self.record(done, failed, parked, now).await;
        }
        if !shutdown.is_cancelled() {
            // Retired by a reload: replays already asked of it are done,
            // and a folder write still running ends before the successor
            // writes (one blocking write per client at a time).
            while let Ok(c) = commands.try_recv() {
                self.command(c).await;
            }
            if let Some(job) = self.folder_job.take() {
                let _ = job.await;
            }
        }
        debug!(message = "Push worker stopped.", client = %self.id);
        self.own
    }

    /// The entries due now, in order: up to the first one not yet due (or
    /// not yet flushed). Entries past `max_age_hours` are parked here.
    async fn due(&self, now: u64, force: bool) -> Result<Due, String> {
        let enterprise = self.enterprise.clone();
        let store = self.store.clone();
        let prefix = key::outbox_prefix(&self.id);
        let flushed = self.flushed.load(Ordering::Acquire);
        let own = self.own.clone();
        let max_age = self.cfg.max_age_hours.saturating_mul(3_600_000);
        tokio::task::spawn_blocking(move || {
            let list = store
                .scan_first::<OutboxEntry>(&prefix, ROUND)
                .map_err(|e| e.to_string())?;
            let mut due = Due {
                now: Vec::new(),
                parked: Vec::new(),
                next_ms: None,
            };
            for (_, mut e) in list {
                if e.seq >= flushed && !own.contains(&e.seq) {
                    break;
                }
                if !e.owner.is_empty() && e.owner != enterprise {
                    e.parked = true;
                    e.error = format!(
                        "queued for enterprise {}, but the client now belongs to {enterprise}: not delivered",
                        e.owner
                    );
                    due.parked.push(e);
                    continue;
                }
                // Age counts once an entry has been tried (an outage of the
                // gateway itself is not the entry's failure).
                if e.attempts > 0 && now.saturating_sub(e.queued_ms) >= max_age {
                    e.parked = true;
                    e.error = format!(
                        "undelivered after {} h (push.max_age_hours); last error: {}",
                        max_age / 3_600_000,
                        if e.error.is_empty() { "none" } else { &e.error }
                    );
                    due.parked.push(e);
                    continue;
                }
                // After a reconnect every unconfirmed entry goes again at once.
                if e.next_ms > now && !force {
                    due.next_ms = Some(e.next_ms);
                    break;
                }
                due.now.push(e);
                if due.now.len() >= ROUND {
                    break;
                }
            }
            Ok(due)
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Delivers entries in order; per entry, Ok or why not. After the first
    /// failure the rest are not tried (they keep their place).
    async fn deliver(&mut self, entries: &[OutboxEntry]) -> Vec<Result<(), String>> {
        self.lost.clear();
        if let Some(job) = self.folder_job.take() {
            // The previous write outlived its timeout: it finishes first.
            let _ = job.await;
        }
        let timeout = Duration::from_secs(self.cfg.timeout_secs);
        let store = self.store.clone();
        let limits = self.limits;
        let list = entries.to_vec();
        let built = tokio::task::spawn_blocking(move || {
            list.iter()
                .map(|e| bytes_of(&store, &limits, e))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_else(|e| entries.iter().map(|_| Err(e.to_string())).collect());
        let mut out: Vec<Result<(), String>> = Vec::with_capacity(entries.len());
        // Entries whose bytes cannot be built fail on their own; the others
        // go out in order up to the first of them.
        let mut ready: Vec<(&OutboxEntry, Vec<u8>)> = Vec::new();
        let mut stop: Option<String> = None;
        for (e, b) in entries.iter().zip(built) {
            match b {
                Ok(b) if stop.is_none() => ready.push((e, b)),
                Ok(_) => {}
                Err(why) => {
                    stop.get_or_insert(why);
                }
            }
        }
        let results = match &self.sink {
            Sink::Folder { dir, staging } => {
                let files: Vec<NewFile> = ready
                    .iter()
                    .map(|(e, b)| NewFile {
                        dir: dir.clone(),
                        name: e.file.clone(),
                        bytes: b.clone(),
                    })
                    .collect();
                let staging = staging.clone();
                let shown = dir.display().to_string();
                let n = files.len();
                let mut job = tokio::task::spawn_blocking(move || {
                    if let Err(e) = std::fs::create_dir_all(&staging) {
                        return (0..n)
                            .map(|_| {
                                Err(format!(
                                    "{shown}: cannot create its staging folder {}: {e}",
                                    staging.display()
                                ))
                            })
                            .collect();
                    }
                    write_in_order(&staging, &files)
                        .into_iter()
                        .map(|r| r.map_err(|e| format!("{shown}: {e}")))
                        .collect::<Vec<_>>()
                });
                match tokio::time::timeout(timeout, &mut job).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(e)) => (0..n).map(|_| Err(e.to_string())).collect(),
                    Err(_) => {
                        self.folder_job = Some(job);
                        (0..n)
                            .map(|_| {
                                Err(format!(
                                    "the folder write did not finish in {}s",
                                    timeout.as_secs()
                                ))
                            })
                            .collect()
                    }
                }
            }
            Sink::Tcp {
                platform,
                name,
                hub,
            } => {
                let list: Vec<(u64, InboxRecord)> = ready
                    .iter()
                    .map(|(e, b)| {
                        (
                            e.seq,
                            InboxRecord {
                                v: VERSION,
                                sender: name.clone(),
                                file: e.file.clone(),
                                bytes: b.clone(),
                            },
                        )
                    })
                    .collect();
                let n = list.len();
                let seqs: Vec<u64> = ready.iter().map(|(e, _)| e.seq).collect();
                match hub.push(*platform, list) {
                    None => {
                        self.lost.extend(seqs);
                        (0..n)
                            .map(|_| {
                                Err(format!(
                                    "platform `{name}` has no connection taking receipts"
                                ))
                            })
                            .collect()
                    }
                    Some(waiters) => {
                        let mut r = Vec::with_capacity(n);
                        let deadline = tokio::time::Instant::now() + timeout;
                        for (w, seq) in waiters.into_iter().zip(seqs) {
                            match tokio::time::timeout_at(deadline, w).await {
                                Ok(Ok(())) => r.push(Ok(())),
                                Ok(Err(_)) => {
                                    // Its connection closed before it confirmed.
                                    self.lost.insert(seq);
                                    r.push(Err(format!(
                                        "platform `{name}`'s connection closed before it confirmed"
                                    )));
                                }
                                Err(_) => r.push(Err(format!(
                                    "platform `{name}` did not confirm (RECEIVED) within {}s",
                                    timeout.as_secs()
                                ))),
                            }
                        }
                        r
                    }
                }
            }
            Sink::Sms { phone, gateway } => {
                let texts: Vec<String> = ready.iter().map(|(e, _)| sms_text(e)).collect();
                let (phone, gateway) = (phone.clone(), gateway.clone());
                tokio::task::spawn_blocking(move || {
                    let mut r = Vec::with_capacity(texts.len());
                    for t in &texts {
                        let res = gateway.send(&phone, t);
                        let failed = res.is_err();
                        r.push(res);
                        if failed {
                            break;
                        }
                    }
                    r
                })
                .await
                .unwrap_or_else(|e| vec![Err(e.to_string())])
            }
            Sink::Email { to, mailer } => {
                let mut r = Vec::with_capacity(ready.len());
                for (e, b) in &ready {
                    let res = send_mail(mailer, to, e, b, timeout).await;
                    let failed = res.is_err();
                    r.push(res);
                    if failed {
                        break;
                    }
                }
                r
            }
        };
        // Over TCP each entry stands alone (order was kept on the wire, and
        // the platform confirms each); elsewhere a failure stops the round.
        let each = matches!(self.sink, Sink::Tcp { .. });
        let mut failed = false;
        for r in results {
            if failed && !each {
                break;
            }
            failed |= r.is_err();
            out.push(r);
        }
        if !failed && let Some(why) = stop {
            out.push(Err(why));
        }
        out
    }

    /// Sorts a round's entries by outcome: delivered, failed (with their
    /// next attempt), parked. Entries after the first failure are left
    /// untouched (they keep their place and are tried next round).
    fn settle(
        &mut self,
        entries: Vec<OutboxEntry>,
        outcome: Vec<Result<(), String>>,
        now: u64,
    ) -> (Vec<OutboxEntry>, Vec<OutboxEntry>, Vec<OutboxEntry>) {
        let (mut done, mut failed, mut parked) = (Vec::new(), Vec::new(), Vec::new());
        let mut lost = 0usize;
        for (mut e, r) in entries.into_iter().zip(outcome) {
            if r.is_err() && self.lost.remove(&e.seq) {
                lost = lost.saturating_add(1);
                // Not tried for real: no attempt counted, no backoff.
                if let Err(why) = r {
                    e.error = why;
                }
                e.next_ms = now;
                failed.push(e);
                continue;
            }
            e.attempts = e.attempts.saturating_add(1);
            match r {
                Ok(()) => {
                    e.delivered_ms = Some(now);
                    e.error.clear();
                    done.push(e);
                }
                Err(why) => {
                    warn!(message = "Push failed.", client = %self.id, file = %e.file, attempt = e.attempts, error = %why);
                    e.error = why;
                    if e.attempts >= self.cfg.max_attempts {
                        e.parked = true;
                        warn!(message = "Push parked.", client = %self.id, file = %e.file, attempts = e.attempts);
                        parked.push(e);
                    } else {
                        e.next_ms = now.saturating_add(backoff(&self.cfg, e.attempts));
                        failed.push(e);
                    }
                }
            }
        }
        let tried = failed.len().saturating_sub(lost);
        crate::metrics::pushed(&self.id, done.len(), tried, parked.len());
        (done, failed, parked)
    }

    /// Writes a round's outcome: delivered entries leave the queue for the
    /// delivered log; failed and parked ones are updated in place.
    async fn record(
        &self,
        done: Vec<OutboxEntry>,
        failed: Vec<OutboxEntry>,
        parked: Vec<OutboxEntry>,
        now: u64,
    ) {
        let store = self.store.clone();
        let client = self.id.clone();
        let n = done.len();
        let r = tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
            let mut tx = store.begin();
            for e in &done {
                tx.remove(key::outbox(&client, e.seq));
                tx.put(key::delivered(&client, e.seq), e)?;
            }
            for e in &failed {
                tx.put(key::outbox(&client, e.seq), e)?;
            }
            for e in &parked {
                tx.remove(key::outbox(&client, e.seq));
                tx.put(key::parked(&client, e.seq), e)?;
            }
            tx.commit()
        })
        .await;
        match r {
            Ok(Ok(())) => {
                if n > 0 {
                    debug!(message = "Pushed.", client = %self.id, entries = n, at_ms = now);
                }
            }
            Ok(Err(error)) => {
                warn!(message = "Cannot record a push; it may be delivered again.", client = %self.id, %error);
            }
            Err(error) => {
                warn!(message = "Cannot record a push; it may be delivered again.", client = %self.id, %error);
            }
        }
    }

    async fn command(&mut self, c: Command) {
        match c {
            Command::Replay(selector, reply) => {
                let store = self.store.clone();
                let client = self.id.clone();
                let now = now_ms();
                let r =
                    tokio::task::spawn_blocking(move || replay(&store, &client, &selector, now))
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|r| r.map_err(|e| e.to_string()));
                let r = r.map(|(replayed, seqs)| {
                    self.own.extend(seqs);
                    info!(message = "Replayed.", client = %self.id, unparked = replayed.unparked, requeued = replayed.requeued);
                    replayed
                });
                let _ = reply.send(r);
            }
        }
    }

    /// Drops delivered-log entries older than `keep_delivered_days`.
    async fn prune(&self, now: u64) {
        let store = self.store.clone();
        let prefix = key::delivered_prefix(&self.id);
        let keep = self.cfg.keep_delivered_days.saturating_mul(86_400_000);
        let r = tokio::task::spawn_blocking(move || -> Result<usize, StoreError> {
            let mut tx = store.begin();
            let mut n = 0usize;
            for (k, e) in store.scan::<OutboxEntry>(&prefix)? {
                if now.saturating_sub(e.delivered_ms.unwrap_or(now)) > keep {
                    tx.remove(k);
                    n = n.saturating_add(1);
                }
            }
            tx.commit()?;
            Ok(n)
        })
        .await;
        if let Ok(Ok(n)) = r
            && n > 0
        {
            debug!(message = "Delivered log pruned.", client = %self.id, entries = n);
        }
    }
}

/// The wait before attempt `attempts + 1`: `backoff_ms` doubled per
/// attempt, at most `backoff_max_ms`, with full jitter over its upper half.
fn backoff(cfg: &PushConfig, attempts: u32) -> u64 {
    let exp = attempts.saturating_sub(1).min(30);
    let base = cfg
        .backoff_ms
        .saturating_mul(1u64 << exp)
        .min(cfg.backoff_max_ms);
    let half = base / 2;
    half.saturating_add(fastrand::u64(0..=half))
}

/// The bytes delivered for an entry: the stored message as it is (a
/// declaration as forwarded to customs), or one document of it alone.
fn bytes_of(store: &Store, limits: &Limits, e: &OutboxEntry) -> Result<Vec<u8>, String> {
    let raw = store
        .raw(e.doc.msg)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("message {} is no longer in the store", e.doc.msg))?;
    // A postal-items message goes to a person: account and ID numbers masked.
    let mail = crate::schema::MessageSpec::by_name(&e.ty)
        .is_some_and(|s| s.namespace == crate::schema::Namespace::Mail);
    if mail && e.part.is_none() {
        let decoded = codec::decode_with(&raw, limits).map_err(|e| e.to_string())?;
        let mut message = decoded.message;
        crate::mail::mask::mask_message(&mut message);
        return codec::encode(&message, &codec::EncodeOptions::default())
            .map_err(|e| e.to_string());
    }
    match (e.content.as_str(), e.part) {
        ("data", None) => forward_bytes(&raw, limits, None),
        (_, None) => Ok(raw),
        (_, Some(i)) => {
            let decoded = codec::decode_with(&raw, limits).map_err(|e| e.to_string())?;
            let business = decoded.message.business();
            let doc = usize::try_from(i)
                .ok()
                .and_then(|i| business.documents.get(i))
                .ok_or_else(|| format!("message {} has no document {i}", e.doc.msg))?;
            let mut one = business.clone();
            one.documents = vec![doc.clone()];
            // A signature covers the whole message: it no longer holds.
            one.signature = None;
            one.dxp = None;
            codec::encode(&one, &codec::EncodeOptions::default()).map_err(|e| e.to_string())
        }
    }
}

/// The Chinese name of a message type, for mail subjects.
fn type_name(ty: &str) -> &'static str {
    match ty {
        "CEB311" => "电子订单",
        "CEB312" => "电子订单回执",
        "CEB411" => "支付凭证",
        "CEB412" => "支付凭证回执",
        "CEB511" => "物流运单",
        "CEB512" => "物流运单回执",
        "CEB513" => "运单状态",
        "CEB514" => "运单状态回执",
        "CEB621" => "进口清单",
        "CEB622" => "进口清单回执",
        "CEB623" => "撤销申请单",
        "CEB624" => "撤销申请单回执",
        "MailNotice" => "邮件",
        "MailDeclarationResult" => "补充申报",
        "TaxCertificate" => "缴纳证",
        "AgreementResult" => "三方协议",
        "PaymentResult" => "税款支付",
        "CEB816" => "电子税单",
        "CEB818" => "电子税单状态",
        "CEB900" => "报文格式校验回执",
        "DEC_RESULT" | "DEC_DATA" => "报关单回执",
        "DecImportResponse" => "报关单导入回执",
        _ => "海关报文",
    }
}

/// The subject of a push mail: what, which document, which status.
pub fn mail_subject(e: &OutboxEntry) -> String {
    if e.content == "data" {
        format!("【申报数据】{} {}", type_name(&e.ty), e.key)
    } else {
        let status = if e.status.is_empty() {
            "状态回执"
        } else {
            &e.status
        };
        format!("【海关回执】{} {} {}", type_name(&e.ty), status, e.key)
    }
}

async fn send_mail(
    mailer: &Mailer,
    to: &[lettre::message::Mailbox],
    e: &OutboxEntry,
    bytes: &[u8],
    timeout: Duration,
) -> Result<(), String> {
    use lettre::AsyncTransport as _;
    use lettre::message::{Attachment, MultiPart, SinglePart, header::ContentType};
    let body = if e.content == "data" {
        format!(
            "您订阅的申报数据：\n单证类型：{}（{}）\n业务编号：{}\n报文见附件 {}。\n\n—— customs-gateway",
            type_name(&e.ty),
            e.ty,
            e.key,
            e.file
        )
    } else {
        format!(
            "您订阅的海关状态回执：\n单证类型：{}（{}）\n业务编号：{}\n状态：{}（海关代码 {}）\n回执见附件 {}。\n\n—— customs-gateway",
            type_name(&e.ty),
            e.ty,
            e.key,
            if e.status.is_empty() {
                "未归类"
            } else {
                &e.status
            },
            e.code,
            e.file
        )
    };
    let xml = ContentType::parse("application/xml").map_err(|e| e.to_string())?;
    let mut builder = lettre::Message::builder()
        .from(mailer.from.clone())
        .subject(mail_subject(e));
    for t in to {
        builder = builder.to(t.clone());
    }
    let message = builder
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(body))
                .singlepart(Attachment::new(e.file.clone()).body(bytes.to_vec(), xml)),
        )
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(timeout, mailer.transport.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(format!("the mail server refused: {err}")),
        Err(_) => Err(format!(
            "the mail server did not answer within {}s",
            timeout.as_secs()
        )),
    }
}

/// Re-queues a client's entries; returns what it did and the sequence
/// numbers it wrote (flushed before it returns).
fn replay(
    store: &Store,
    client: &str,
    selector: &Selector,
    now: u64,
) -> Result<(Replayed, Vec<u64>), StoreError> {
    let matches = |e: &OutboxEntry| match selector {
        Selector::Parked => e.parked,
        Selector::Key(k) => {
            e.key.contains(k.as_str()) || e.file.contains(k.as_str()) || e.doc.to_string() == *k
        }
        Selector::Since(t) => e.queued_ms >= *t || e.delivered_ms.is_some_and(|d| d >= *t),
    };
    let mut tx = store.begin();
    let mut done = Replayed::default();
    let mut seqs = Vec::new();
    for (k, mut e) in store.scan::<OutboxEntry>(&key::parked_prefix(client))? {
        if matches(&e) {
            // Back in its place in the queue, with a fresh start.
            e.parked = false;
            e.attempts = 0;
            e.next_ms = now;
            e.queued_ms = now;
            tx.remove(k);
            tx.put(key::outbox(client, e.seq), &e)?;
            seqs.push(e.seq);
            done.unparked = done.unparked.saturating_add(1);
        }
    }
    if *selector != Selector::Parked {
        for (_, e) in store.scan::<OutboxEntry>(&key::delivered_prefix(client))? {
            if !matches(&e) {
                continue;
            }
            let seq = store.next_id()?;
            let again = OutboxEntry {
                seq,
                attempts: 0,
                next_ms: now,
                queued_ms: now,
                error: String::new(),
                parked: false,
                delivered_ms: None,
                ..e
            };
            tx.put(key::outbox(client, seq), &again)?;
            seqs.push(seq);
            done.requeued = done.requeued.saturating_add(1);
        }
    }
    tx.commit()?;
    store.flush_blocking()?;
    Ok((done, seqs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_ceiling() {
        let cfg = PushConfig {
            backoff_ms: 1000,
            backoff_max_ms: 60_000,
            ..PushConfig::default()
        };
        for _ in 0..200 {
            let b1 = backoff(&cfg, 1);
            assert!((500..=1000).contains(&b1), "{b1}");
            let b3 = backoff(&cfg, 3);
            assert!((2000..=4000).contains(&b3), "{b3}");
            let b20 = backoff(&cfg, 20);
            assert!((30_000..=60_000).contains(&b20), "{b20}");
            assert!(backoff(&cfg, u32::MAX) <= 60_000);
        }
    }
}
