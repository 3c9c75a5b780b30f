//! The configuration as the daemon runs it, and live reload.
//!
//! [`Built::load`] is the start-up path: it reads the configuration file
//! (with the environment's overrides), the files it names (registry,
//! tokens, the mail password, the TLS files) and checks every rule, folder
//! and subscription, without changing anything. `serve` starts from it;
//! `config check` prints it; a reload goes through it again and applies
//! the result as a whole, or nothing of it.
//!
//! A reload is asked for by a change to the configuration file or a file
//! it names (the folders holding them are watched, so an editor's or a
//! deployment's rename-into-place is seen too) and by SIGHUP. What needs a
//! restart (listen addresses, the store, the customs folders, `[ingest]`,
//! the simulator, a sender's root) keeps its running value and is named in
//! the log and in `status`.
//!
//! Senders and platforms live in slot lists: a name keeps its index for
//! the daemon's life, and a removed one keeps its slot (inactive), so a
//! file or a submission in flight finishes under the sender or platform
//! it came from.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::Digest as _;

use super::subs::Subscriptions;
use crate::config::{Config, ConfigError, Override, PlatformConfig, SenderConfig};
use crate::engine::Registry;

/// A configuration read and checked through the start-up path.
#[derive(Debug, Clone)]
pub struct Built {
    /// The configuration (paths resolved, overrides applied).
    pub config: Config,
    /// The enterprise registry it names (with its certificates).
    pub registry: Option<Registry>,
    /// `[signing]`'s signer.
    pub signer: Option<std::sync::Arc<crate::sig::Signer>>,
    /// `[admin] token_file`'s token.
    pub admin_token: Option<String>,
    /// Each platform's token, in `config.platform`'s order.
    pub platform_tokens: Vec<String>,
    /// What the configuration's subscriptions would change in the store.
    pub subscription_changes: Vec<String>,
    /// What is usable but will fail until mended: a client's folder that
    /// cannot be made (a share not mounted) is that client's delivery
    /// failure, not the configuration's.
    pub warnings: Vec<String>,
    /// A digest of every file read and every override: equal digests, the
    /// same configuration.
    pub fingerprint: [u8; 32],
}

impl Built {
    /// Reads `path` and everything it names, and checks it all; the
    /// subscriptions are checked against `subs` at `now_ms` (what is in
    /// the store; `config check` has none: see [`Built::from_config`]).
    pub fn load(
        path: &Path,
        subs: Option<&Subscriptions>,
        now_ms: u64,
    ) -> Result<Built, ConfigError> {
        let config = Config::load(path)?;
        Built::from_config(config, subs, now_ms)
    }

    /// [`Built::load`] for a configuration already parsed. Without the
    /// store's `subs` (`config check`: the daemon may hold the store), each
    /// subscription is checked as if made today, except that a dated
    /// `valid_until` already past is a warning (in a store it is simply
    /// expired; only a new one would be refused).
    pub fn from_config(
        config: Config,
        subs: Option<&Subscriptions>,
        now_ms: u64,
    ) -> Result<Built, ConfigError> {
        // Taken before the files are read for use: a file changed meanwhile
        // differs from this at the next look, and is loaded then.
        let fingerprint = digest_files(
            &named_files(&config),
            config.overrides(),
            config.source().map(|p| (p, config.text_digest())),
        );
        let name = config.source().map_or_else(
            || "the configuration".to_owned(),
            |p| p.display().to_string(),
        );
        let invalid = |message: String| ConfigError::Invalid {
            path: name.clone(),
            message,
        };
        let registry = config.load_registry()?;
        let signer = config.load_signer()?;
        let signer_warning = signer.as_ref().and_then(|s| {
            let c = s.certificate();
            let now = now_ms / 1000;
            (!c.valid_at(now)).then(|| {
                format!(
                    "signing.certificate: serial {} is valid from {} to {}, not today: customs refuses what it signs (1002 数字签名过期)",
                    c.serial(),
                    crate::subscribe::Date::cst(c.not_before().saturating_mul(1000)),
                    crate::subscribe::Date::cst(c.not_after().saturating_mul(1000))
                )
            })
        });
        let admin_token = match &config.admin.token_file {
            Some(f) => Some(
                crate::admin::read_token(f)
                    .map_err(|e| invalid(format!("admin.token_file: {e}")))?,
            ),
            None => None,
        };
        let mut platform_tokens = Vec::new();
        for (i, p) in config.platform.iter().enumerate() {
            platform_tokens.push(
                crate::admin::read_token(&p.token_file)
                    .map_err(|e| invalid(format!("platform[{i}].token_file: {e}")))?,
            );
        }
        if let Some(t) = &config.tcp
            && let (Some(cert), Some(key)) = (&t.tls_cert, &t.tls_key)
        {
            super::tcp::check_tls(cert, key).map_err(|e| invalid(e.to_string()))?;
        }
        if let Some(m) = &config.smtp {
            super::push::check_smtp(m).map_err(|e| invalid(e.to_string()))?;
        }
        check_folders(&config).map_err(invalid)?;
        let mut warnings: Vec<String> = config
            .client
            .iter()
            .enumerate()
            .filter_map(|(i, cl)| {
                let f = cl.folder.as_ref()?;
                check_folder(f).err().map(|reason| {
                    format!(
                        "client[{i}].folder: `{}` {reason}; client `{}`'s deliveries wait until it can be written",
                        f.display(),
                        cl.id
                    )
                })
            })
            .collect();
        warnings.extend(signer_warning);
        let subscription_changes = match subs {
            Some(subs) => subs.plan_config(&config, now_ms),
            None => {
                let today = super::subs::today(now_ms);
                let mut planned = config.clone();
                planned.subscription.retain(|s| {
                    let past = crate::subscribe::Date::parse(s.valid_until.trim())
                        .is_some_and(|d| d < today);
                    if past {
                        warnings.push(format!(
                            "subscription `{}`: valid_until {} is past: expired if it is in the store, refused if it is new",
                            s.id(),
                            s.valid_until.trim()
                        ));
                    }
                    !past
                });
                Subscriptions::default().plan_config(&planned, now_ms)
            }
        }
        .map_err(|e| invalid(e.to_string()))?;
        Ok(Built {
            config,
            registry,
            signer,
            admin_token,
            platform_tokens,
            subscription_changes,
            warnings,
            fingerprint,
        })
    }
}

/// Every file a configuration consists of: the file itself and the files
/// it names (their changes ask for a reload).
pub fn named_files(c: &Config) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    out.extend(c.source().map(Path::to_path_buf));
    out.extend(c.registry.clone());
    out.extend(c.registry_certificate_files());
    if let Some(g) = &c.signing {
        out.push(g.key.clone());
        out.push(g.certificate.clone());
    }
    out.extend(c.tax.rates.clone());
    out.extend(c.admin.token_file.clone());
    out.extend(c.platform.iter().map(|p| p.token_file.clone()));
    if let Some(m) = &c.smtp {
        out.extend(m.password_file.clone());
    }
    if let Some(t) = &c.tcp {
        out.extend(t.tls_cert.clone());
        out.extend(t.tls_key.clone());
    }
    out
}

/// A digest of `files`' contents and the overrides: a reload that finds
/// the same digest has nothing to do. `parsed` gives one file's content
/// digest as it was read for use (the configuration's text) instead of
/// reading it again.
pub fn digest_files(
    files: &[PathBuf],
    overrides: &[Override],
    parsed: Option<(&Path, [u8; 32])>,
) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    for f in files {
        h.update(f.as_os_str().as_encoded_bytes());
        h.update([0]);
        match parsed {
            Some((p, d)) if p == f.as_path() => h.update(d),
            _ => match std::fs::read(f) {
                Ok(bytes) => h.update(sha2::Sha256::digest(&bytes)),
                Err(e) => h.update(e.to_string().as_bytes()),
            },
        }
        h.update([0]);
    }
    for o in overrides {
        h.update(o.var.as_bytes());
        h.update([0]);
        h.update(o.value.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

/// Every folder the daemon would create or write: a folder, or a path
/// whose nearest existing ancestor is a writable folder.
fn check_folders(c: &Config) -> Result<(), String> {
    let mut dirs: Vec<(String, PathBuf)> = Vec::new();
    for (i, s) in c.sender.iter().enumerate() {
        dirs.push((format!("sender[{i}].root"), s.root.clone()));
    }
    let k = &c.customs;
    for (key, p) in [
        ("customs.outbox", k.outbox.clone()),
        ("customs.inbox", k.inbox.clone()),
        ("customs.failbox", k.failbox.clone()),
        ("customs.sentbox", k.sentbox.clone()),
        ("customs.archive", k.archive_dir()),
        ("customs.work", k.work_dir()),
        ("store.path", c.store.path.clone()),
    ] {
        dirs.push((key.to_owned(), p));
    }
    for (key, dir) in dirs {
        check_folder(&dir).map_err(|reason| format!("{key}: `{}` {reason}", dir.display()))?;
    }
    Ok(())
}

/// Whether `dir` is (or can be made) a folder the daemon may write.
fn check_folder(dir: &Path) -> Result<(), String> {
    let mut at = dir;
    loop {
        match std::fs::metadata(at) {
            Ok(m) if m.is_dir() => {
                return if writable(at) {
                    Ok(())
                } else if at == dir {
                    Err("is not writable by this user".to_owned())
                } else {
                    Err(format!(
                        "does not exist and cannot be made: `{}` is not writable by this user",
                        at.display()
                    ))
                };
            }
            Ok(_) if at == dir => return Err("is a file, not a folder".to_owned()),
            Ok(_) => {
                return Err(format!(
                    "cannot be made: `{}` is a file, not a folder",
                    at.display()
                ));
            }
            Err(_) => match at.parent() {
                Some(p) if !p.as_os_str().is_empty() => at = p,
                // A relative path whose first part does not exist: made in
                // the working folder.
                _ => return Ok(()),
            },
        }
    }
}

/// Whether this process may create files in `dir`.
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// The keys whose change needs a restart, with what `new` says, when it
/// differs from what runs (`old`).
pub fn restart_needed(old: &Config, new: &Config, senders: &Slots<SenderConfig>) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |key: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{key} (running {a}, configured {b})"));
        }
    };
    differ(
        "store.path",
        old.store.path.display().to_string(),
        new.store.path.display().to_string(),
    );
    differ(
        "store.cache_mb",
        old.store.cache_mb.to_string(),
        new.store.cache_mb.to_string(),
    );
    differ(
        "admin.listen",
        old.admin.listen.clone(),
        new.admin.listen.clone(),
    );
    match (&old.tcp, &new.tcp) {
        (Some(a), Some(b)) => {
            differ("tcp.listen", a.listen.clone(), b.listen.clone());
            differ(
                "tcp.tls_cert",
                format!("{:?}", a.tls_cert),
                format!("{:?}", b.tls_cert),
            );
            differ(
                "tcp.tls_key",
                format!("{:?}", a.tls_key),
                format!("{:?}", b.tls_key),
            );
            for (key, x, y) in [
                (
                    "tcp.max_connections",
                    a.max_connections as u64,
                    b.max_connections as u64,
                ),
                (
                    "tcp.max_in_flight",
                    a.max_in_flight as u64,
                    b.max_in_flight as u64,
                ),
                (
                    "tcp.max_in_flight_mb",
                    a.max_in_flight_mb,
                    b.max_in_flight_mb,
                ),
                (
                    "tcp.idle_timeout_secs",
                    a.idle_timeout_secs,
                    b.idle_timeout_secs,
                ),
                (
                    "tcp.frame_timeout_secs",
                    a.frame_timeout_secs,
                    b.frame_timeout_secs,
                ),
            ] {
                differ(key, x.to_string(), y.to_string());
            }
        }
        (a, b) => differ(
            "tcp",
            if a.is_some() { "on" } else { "off" }.to_owned(),
            if b.is_some() { "on" } else { "off" }.to_owned(),
        ),
    }
    let (a, b) = (&old.customs, &new.customs);
    for (key, x, y) in [
        ("customs.outbox", &a.outbox, &b.outbox),
        ("customs.inbox", &a.inbox, &b.inbox),
        ("customs.failbox", &a.failbox, &b.failbox),
        ("customs.sentbox", &a.sentbox, &b.sentbox),
        ("customs.archive", &a.archive_dir(), &b.archive_dir()),
        ("customs.work", &a.work_dir(), &b.work_dir()),
    ] {
        differ(key, x.display().to_string(), y.display().to_string());
    }
    let (a, b) = (&old.ingest, &new.ingest);
    differ(
        "ingest.settle_ms",
        a.settle_ms.to_string(),
        b.settle_ms.to_string(),
    );
    differ(
        "ingest.scan_interval_ms",
        a.scan_interval_ms.to_string(),
        b.scan_interval_ms.to_string(),
    );
    differ("ingest.batch", a.batch.to_string(), b.batch.to_string());
    differ(
        "simulator",
        format!("{:?}", old.simulator),
        format!("{:?}", new.simulator),
    );
    // A sender's root, against the one it runs with (also one removed in
    // this run and configured again).
    for s in &new.sender {
        if let Some(o) = senders.items.iter().find(|o| o.name == s.name) {
            differ(
                &format!("sender `{}` root", s.name),
                o.root.display().to_string(),
                s.root.display().to_string(),
            );
        }
    }
    out
}

/// `new` with the values of the keys that need a restart taken from `old`
/// (what keeps running until the restart).
pub fn running(old: &Config, new: &Config, senders: &Slots<SenderConfig>) -> Config {
    let mut run = new.clone();
    run.store = old.store.clone();
    run.admin.listen = old.admin.listen.clone();
    run.tcp = old.tcp.clone();
    let (c, o) = (&mut run.customs, &old.customs);
    c.outbox = o.outbox.clone();
    c.inbox = o.inbox.clone();
    c.failbox = o.failbox.clone();
    c.sentbox = o.sentbox.clone();
    c.archive = Some(o.archive_dir());
    c.work = Some(o.work_dir());
    run.ingest = old.ingest.clone();
    run.simulator = old.simulator.clone();
    for s in &mut run.sender {
        if let Some(o) = senders.items.iter().find(|o| o.name == s.name) {
            s.root = o.root.clone();
        }
    }
    run
}

/// The active senders' roots, as they run, are each one sender's: a root
/// kept for a restart must not be one another sender is given now.
pub fn check_roots(senders: &Slots<SenderConfig>) -> Result<(), String> {
    let live: Vec<&SenderConfig> = senders.live().map(|(_, s)| s).collect();
    for (i, s) in live.iter().enumerate() {
        if let Some(o) = live.iter().take(i).find(|o| o.root == s.root) {
            return Err(format!(
                "senders `{}` and `{}` would both run on `{}` (a sender keeps its running root until a restart); restart, or give one of them another root",
                o.name,
                s.name,
                s.root.display()
            ));
        }
    }
    Ok(())
}

/// A list whose indices never change meaning: each name keeps its slot,
/// a removed one stays inactive in its place, a new one is appended.
#[derive(Debug, Clone)]
pub struct Slots<T> {
    /// Every entry ever configured in this run, latest values.
    pub items: Vec<T>,
    /// Whether each is configured now.
    pub active: Vec<bool>,
}

impl<T: Clone> Slots<T> {
    /// The first configuration's list: every entry active.
    pub fn new(items: &[T]) -> Slots<T> {
        Slots {
            items: items.to_vec(),
            active: vec![true; items.len()],
        }
    }

    /// The slots after a reload to `next`, entries matched by `name`.
    pub fn merge(&self, next: &[T], name: impl Fn(&T) -> &str) -> Slots<T> {
        let mut items = Vec::with_capacity(self.items.len().max(next.len()));
        let mut active = Vec::with_capacity(items.capacity());
        for old in &self.items {
            match next.iter().find(|n| name(n) == name(old)) {
                Some(n) => {
                    items.push(n.clone());
                    active.push(true);
                }
                None => {
                    items.push(old.clone());
                    active.push(false);
                }
            }
        }
        for n in next {
            if !self.items.iter().any(|o| name(o) == name(n)) {
                items.push(n.clone());
                active.push(true);
            }
        }
        Slots { items, active }
    }

    /// The active entries with their slots.
    pub fn live(&self) -> impl Iterator<Item = (usize, &T)> {
        self.items
            .iter()
            .enumerate()
            .filter(|(i, _)| self.active.get(*i).copied().unwrap_or(false))
    }
}

/// The sender and platform slots of a configuration that replaces one
/// running with `senders` and `platforms`.
pub fn slots_for(
    senders: &Slots<SenderConfig>,
    platforms: &Slots<PlatformConfig>,
    config: &Config,
) -> (Slots<SenderConfig>, Slots<PlatformConfig>) {
    (
        senders.merge(&config.sender, |s| s.name.as_str()),
        platforms.merge(&config.platform, |p| p.id.as_str()),
    )
}

/// The platforms' tokens by slot (`None` for an inactive slot).
pub fn tokens_by_slot(platforms: &Slots<PlatformConfig>, built: &Built) -> Vec<Option<String>> {
    platforms
        .items
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if !platforms.active.get(i).copied().unwrap_or(false) {
                return None;
            }
            built
                .config
                .platform
                .iter()
                .position(|c| c.id == p.id)
                .and_then(|j| built.platform_tokens.get(j).cloned())
        })
        .collect()
}

/// What `status` shows of the configuration.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct ReloadStatus {
    /// The configuration file.
    pub source: String,
    /// 1 for the configuration the daemon started with, one more for each
    /// reload applied.
    pub generation: u64,
    /// When the running configuration was applied (ms since the epoch).
    pub applied_ms: u64,
    /// Reloads applied since the start.
    pub reloads: u64,
    /// Reloads refused since the start.
    pub failures: u64,
    /// The last refused reload, if it came after the last one applied.
    pub error: Option<ReloadError>,
    /// Keys whose configured value waits for a restart.
    pub restart_needed: Vec<String>,
    /// The environment's overrides in force.
    pub overrides: Vec<Override>,
}

/// A refused reload.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ReloadError {
    /// When (ms since the epoch).
    pub at_ms: u64,
    /// The refusal: file, key and sentence.
    pub message: String,
}

/// What a configuration would run, as `config check --json` prints it
/// (the text form prints the same): every section, the files it names,
/// the subscriptions with their last day, and the environment's overrides.
pub fn describe(b: &Built, now_ms: u64) -> serde_json::Value {
    use serde_json::json;
    let c = &b.config;
    let today = super::subs::today(now_ms);
    let path = |p: &Path| p.display().to_string();
    let senders: Vec<_> = c
        .sender
        .iter()
        .map(|s| {
            json!({
                "name": s.name, "root": path(&s.root), "codes": s.codes,
                "signature": s.signature.unwrap_or(c.signature.mode),
            })
        })
        .collect();
    let platforms: Vec<_> = c
        .platform
        .iter()
        .map(|p| {
            json!({
                "id": p.id, "codes": p.codes, "token_file": path(&p.token_file),
                "signature": p.signature.unwrap_or(c.signature.mode),
            })
        })
        .collect();
    let clients: Vec<_> = c
        .client
        .iter()
        .map(|cl| {
            let delivery = if let Some(f) = &cl.folder {
                json!({ "folder": path(f) })
            } else if let Some(t) = &cl.tcp {
                json!({ "tcp": t })
            } else if let Some(f) = &cl.sms {
                json!({ "sms": path(f) })
            } else {
                json!({ "email": cl.email })
            };
            json!({ "id": cl.id, "enterprise": cl.enterprise, "delivery": delivery })
        })
        .collect();
    let subscriptions: Vec<_> = c
        .subscription
        .iter()
        .map(|s| {
            let last = crate::subscribe::resolve(&s.valid_until, today).map(|d| d.to_string());
            json!({
                "id": s.id(),
                "client": s.client,
                "content": s.content,
                "statuses": s.statuses,
                "valid_until": s.valid_until,
                "last_day": last,
                "cancelled": s.cancelled,
                "by": s.by,
            })
        })
        .collect();
    json!({
        "valid": true,
        "config": c.source().map(path),
        "warnings": b.warnings,
        "overrides": c.overrides(),
        "files": named_files(c).iter().map(|f| path(f)).collect::<Vec<_>>(),
        "store": { "path": path(&c.store.path), "cache_mb": c.store.cache_mb },
        "admin": {
            "listen": c.admin.listen,
            "token_file": c.admin.token_file.as_deref().map(path),
        },
        "customs": {
            "outbox": path(&c.customs.outbox),
            "inbox": path(&c.customs.inbox),
            "failbox": path(&c.customs.failbox),
            "sentbox": path(&c.customs.sentbox),
            "archive": path(&c.customs.archive_dir()),
            "work": path(&c.customs.work_dir()),
            "retries": c.customs.retries,
            "enterprise": c.customs.enterprise,
        },
        "ingest": {
            "settle_ms": c.ingest.settle_ms,
            "scan_interval_ms": c.ingest.scan_interval_ms,
            "batch": c.ingest.batch,
        },
        "senders": senders,
        "tcp": c.tcp.as_ref().map(|t| json!({
            "listen": t.listen,
            "tls": t.tls_cert.is_some(),
            "max_connections": t.max_connections,
            "max_in_flight": t.max_in_flight,
            "max_in_flight_mb": t.max_in_flight_mb,
            "idle_timeout_secs": t.idle_timeout_secs,
            "frame_timeout_secs": t.frame_timeout_secs,
        })),
        "platforms": platforms,
        "clients": clients,
        "subscriptions": subscriptions,
        "smtp": c.smtp.as_ref().map(|m| json!({
            "host": m.host, "port": m.port, "tls": m.tls, "from": m.from,
            "username": m.username,
        })),
        "push": {
            "backoff_ms": c.push.backoff_ms,
            "backoff_max_ms": c.push.backoff_max_ms,
            "max_attempts": c.push.max_attempts,
            "max_age_hours": c.push.max_age_hours,
            "timeout_secs": c.push.timeout_secs,
            "unmapped_to_all": c.push.unmapped_to_all,
            "keep_delivered_days": c.push.keep_delivered_days,
        },
        "limits": { "max_bytes": c.limits.max_bytes, "max_depth": c.limits.max_depth },
        "engine": {
            "amount_tolerance": c.engine.amount_tolerance.to_string(),
            "single_limit": c.engine.single_limit.to_string(),
            "annual_limit": c.engine.annual_limit.to_string(),
            "incomplete_timeout_secs": c.engine.incomplete_timeout_secs,
            "tax_tolerance": c.engine.tax_tolerance.to_string(),
        },
        "tax": {
            "rates": c.tax.rates.as_deref().map_or_else(|| "built-in".to_owned(), path),
        },
        "registry": c.registry.as_deref().map(|r| json!({
            "file": path(r),
            "enterprises": b.registry.as_ref().map_or(0, |g| g.enterprises().len()),
            "certificates": b.registry.as_ref().map_or(0, |g| g
                .enterprises()
                .iter()
                .map(|e| g.certificates(&e.code).len())
                .sum::<usize>()),
        })),
        "signature": { "mode": c.signature.mode },
        "signing": b.signer.as_ref().map(|s| json!({
            "algorithm": s.algorithm().name(),
            "certificate": s.certificate().serial(),
            "subject": s.certificate().subject(),
        })),
        "simulator": { "enabled": c.simulator.enabled },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_keep_their_indices() {
        let s = Slots::new(&["a".to_owned(), "b".to_owned()]);
        let t = s.merge(&["c".to_owned(), "a".to_owned()], |x| x.as_str());
        assert_eq!(t.items, ["a", "b", "c"]);
        assert_eq!(t.active, [true, false, true]);
        let u = t.merge(&["b".to_owned()], |x| x.as_str());
        assert_eq!(u.items, ["a", "b", "c"]);
        assert_eq!(u.active, [false, true, false]);
        let live: Vec<usize> = u.live().map(|(i, _)| i).collect();
        assert_eq!(live, [1]);
    }

    #[test]
    fn a_folder_under_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert!(check_folder(dir.path()).is_ok());
        assert!(check_folder(&dir.path().join("new/deeper")).is_ok());
        assert!(check_folder(&file).unwrap_err().contains("is a file"));
        assert!(
            check_folder(&file.join("sub"))
                .unwrap_err()
                .contains("is a file")
        );
    }
}
