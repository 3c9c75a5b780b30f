//! Configuration files (TOML): the gateway's configuration and the enterprise
//! registry it names.
//!
//! This module is an edge: [`Config::load`] and [`Config::load_registry`] read
//! files. Unknown keys are refused so a typo never silently falls back to a
//! default, and every refusal is one sentence naming the file, the position
//! and the key, with the keys or values that would have been accepted
//! (`gateway.toml:2:1: limits.max_byte: unknown key `max_byte`, expected
//! `max_bytes` or `max_depth``).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::codec::Limits;
use crate::engine::{EngineConfig, EngineError, Registry};

/// Why a configuration or registry file was refused. The display is the
/// whole message (there is no separate source to print after it).
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read {what}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// `the configuration file`, `the registry (named by …)`.
        what: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The file is not valid TOML, or a key or value is not one the gateway
    /// knows.
    #[error("{path}{location}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// `:line:column: key` where known, else empty.
        location: String,
        /// What is wrong, with what would be accepted.
        message: String,
    },
    /// A value is out of range.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Input bounds (`[limits]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest accepted message, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted element nesting.
    pub max_depth: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let l = Limits::default();
        LimitsConfig {
            max_bytes: l.max_bytes,
            max_depth: l.max_depth,
        }
    }
}

/// Where the daemon keeps its store (`[store]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The sled database folder.
    pub path: PathBuf,
    /// sled's page cache, in MiB (bounds the daemon's memory on a large store).
    pub cache_mb: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("var/store"),
            cache_mb: 64,
        }
    }
}

/// The local admin API (`[admin]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// The address it listens on (`127.0.0.1:8470`).
    pub listen: String,
    /// A file holding the bearer token clients must send; without one the
    /// API takes no token (it listens on a local address).
    pub token_file: Option<PathBuf>,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: "127.0.0.1:8470".to_owned(),
            token_file: None,
        }
    }
}

/// The gateway's own single-window import client (`[customs]`): the
/// folders of its IMPCEB form.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CustomsConfig {
    /// Where forwarded declarations are written for the client to send.
    pub outbox: PathBuf,
    /// Where the client puts customs receipts.
    pub inbox: PathBuf,
    /// Where the client moves what it could not send.
    pub failbox: PathBuf,
    /// Where the client moves what it sent.
    pub sentbox: PathBuf,
    /// Where ingested receipts are archived (default: `Archive` beside the InBox).
    pub archive: Option<PathBuf>,
    /// The gateway's work folder, on the same filesystem as the OutBox and
    /// the InBox (default: `GatewayTemp` beside the InBox).
    pub work: Option<PathBuf>,
    /// How often a file the client moved to its FailBox is written again
    /// before it is parked.
    pub retries: u32,
}

impl Default for CustomsConfig {
    fn default() -> Self {
        let base = PathBuf::from("var/customs");
        CustomsConfig {
            outbox: base.join("OutBox"),
            inbox: base.join("InBox"),
            failbox: base.join("FailBox"),
            sentbox: base.join("SentBox"),
            archive: None,
            work: None,
            retries: 3,
        }
    }
}

impl CustomsConfig {
    /// The archive of ingested customs receipts.
    pub fn archive_dir(&self) -> PathBuf {
        self.archive
            .clone()
            .unwrap_or_else(|| sibling(&self.inbox, "Archive"))
    }

    /// The gateway's work folder for the customs side.
    pub fn work_dir(&self) -> PathBuf {
        self.work
            .clone()
            .unwrap_or_else(|| sibling(&self.inbox, "GatewayTemp"))
    }
}

/// `name` beside `path` (in its parent folder).
fn sibling(path: &Path, name: &str) -> PathBuf {
    path.parent()
        .map_or_else(|| PathBuf::from(name), |p| p.join(name))
}

/// One sender (`[[sender]]`): an enterprise, its import client or an
/// integration, with a folder tree like the single-window import client's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderConfig {
    /// A unique name (shown in logs, the store and the CLI).
    pub name: String,
    /// The folder holding `OutBox`, `SentBox`, `FailBox` and `InBox`.
    pub root: PathBuf,
    /// The enterprise codes it may declare for.
    pub codes: Vec<String>,
}

/// The TCP source for e-commerce platforms (`[tcp]`; off when absent).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpConfig {
    /// The address it listens on (`127.0.0.1:8471`).
    pub listen: String,
    /// The server certificate chain (PEM); with `tls_key`, TLS is required.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// The server's private key (PEM).
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// The most connections served at once; the excess is told `BUSY` and closed.
    #[serde(default = "TcpConfig::default_max_connections")]
    pub max_connections: usize,
    /// The most messages one connection may have submitted and not yet
    /// had acknowledged; past it the gateway stops reading that socket.
    #[serde(default = "TcpConfig::default_max_in_flight")]
    pub max_in_flight: usize,
    /// The most MiB of messages in flight on all connections together;
    /// past it every reader waits (a message larger than this takes it all).
    #[serde(default = "TcpConfig::default_max_in_flight_mb")]
    pub max_in_flight_mb: u64,
    /// A connection with nothing in flight and no frame for this long is closed.
    #[serde(default = "TcpConfig::default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    /// A frame must be complete this long after its first byte arrived.
    #[serde(default = "TcpConfig::default_frame_timeout_secs")]
    pub frame_timeout_secs: u64,
}

impl TcpConfig {
    fn default_max_connections() -> usize {
        256
    }
    fn default_max_in_flight() -> usize {
        128
    }
    fn default_max_in_flight_mb() -> u64 {
        64
    }
    fn default_idle_timeout_secs() -> u64 {
        300
    }
    fn default_frame_timeout_secs() -> u64 {
        30
    }
}

/// One e-commerce platform allowed to submit over TCP (`[[platform]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformConfig {
    /// Its id, sent in the handshake (shown in logs, the store and the CLI).
    pub id: String,
    /// The file holding its secret token (never logged).
    pub token_file: PathBuf,
    /// The enterprise codes it may submit for.
    pub codes: Vec<String>,
}

/// How folders are watched (`[ingest]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// How long a file must keep its size and mtime before it is taken.
    pub settle_ms: u64,
    /// How often every folder is scanned in full (filesystem events only
    /// make a scan come sooner).
    pub scan_interval_ms: u64,
    /// The most files stored under one flush.
    pub batch: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            settle_ms: 1000,
            scan_interval_ms: 2000,
            batch: 512,
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The store.
    pub store: StoreConfig,
    /// The admin API.
    pub admin: AdminConfig,
    /// The gateway's import client towards customs.
    pub customs: CustomsConfig,
    /// The senders.
    pub sender: Vec<SenderConfig>,
    /// Folder watching.
    pub ingest: IngestConfig,
    /// The TCP source (off when absent).
    pub tcp: Option<TcpConfig>,
    /// The platforms that may submit over TCP.
    pub platform: Vec<PlatformConfig>,
    /// Input bounds.
    pub limits: LimitsConfig,
    /// Tolerances and limits of the cross-document check.
    pub engine: EngineConfig,
    /// The enterprise registry file (relative paths are relative to this
    /// configuration file). Without one the registration rule is skipped.
    pub registry: Option<PathBuf>,
    /// The customs simulator (`simulate-customs`; inside `serve` when enabled).
    #[serde(default)]
    pub simulator: crate::simulate::SimulatorConfig,
    /// The configuration file this was loaded from, if any (for messages).
    #[serde(skip)]
    source: Option<PathBuf>,
}

impl Config {
    /// Loads a TOML file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = read(path, "the configuration file")?;
        let mut cfg: Config = parse(&name, &text)?;
        cfg.engine.check().map_err(|e| ConfigError::Invalid {
            path: name.clone(),
            message: format!("engine.{}", engine_message(e)),
        })?;
        if cfg.limits.max_bytes == 0 {
            return Err(ConfigError::Invalid {
                path: name,
                message: "limits.max_bytes must be positive (is 0)".to_owned(),
            });
        }
        if cfg.limits.max_depth < 4 {
            return Err(ConfigError::Invalid {
                path: name,
                message: format!(
                    "limits.max_depth must be at least 4 (is {})",
                    cfg.limits.max_depth
                ),
            });
        }
        cfg.check_daemon().map_err(|message| ConfigError::Invalid {
            path: name.clone(),
            message,
        })?;
        cfg.simulator
            .check()
            .map_err(|message| ConfigError::Invalid {
                path: name.clone(),
                message,
            })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        cfg.resolve(dir);
        cfg.source = Some(path.to_owned());
        Ok(cfg)
    }

    /// The file this configuration was loaded from.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// Checks the daemon's sections: one sentence naming the key.
    fn check_daemon(&self) -> Result<(), String> {
        if self.admin.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(format!(
                "admin.listen: `{}` is not an address and port like `127.0.0.1:8470`",
                self.admin.listen
            ));
        }
        if self.ingest.batch == 0 {
            return Err("ingest.batch must be positive (is 0)".to_owned());
        }
        if self.ingest.scan_interval_ms == 0 {
            return Err("ingest.scan_interval_ms must be positive (is 0)".to_owned());
        }
        let mut names: Vec<&str> = Vec::new();
        for (i, s) in self.sender.iter().enumerate() {
            check_name(&format!("sender[{i}].name"), &s.name)?;
            if names.contains(&s.name.as_str()) {
                return Err(format!(
                    "sender[{i}].name: `{}` is used by another sender",
                    s.name
                ));
            }
            names.push(s.name.as_str());
            check_codes(&format!("sender[{i}].codes"), &s.codes, &s.name, "declare")?;
            if self.sender.iter().take(i).any(|o| o.root == s.root) {
                return Err(format!(
                    "sender[{i}].root: `{}` is the root of another sender",
                    s.root.display()
                ));
            }
        }
        if let Some(t) = &self.tcp {
            if t.listen.parse::<std::net::SocketAddr>().is_err() {
                return Err(format!(
                    "tcp.listen: `{}` is not an address and port like `127.0.0.1:8471`",
                    t.listen
                ));
            }
            if t.tls_cert.is_some() != t.tls_key.is_some() {
                return Err(
                    "tcp.tls_cert and tcp.tls_key: give both (TLS) or neither (plain TCP)"
                        .to_owned(),
                );
            }
            for (k, v) in [
                ("max_connections", t.max_connections as u64),
                ("max_in_flight", t.max_in_flight as u64),
                ("max_in_flight_mb", t.max_in_flight_mb),
                ("idle_timeout_secs", t.idle_timeout_secs),
                ("frame_timeout_secs", t.frame_timeout_secs),
            ] {
                if v == 0 {
                    return Err(format!("tcp.{k} must be positive (is 0)"));
                }
                if v > 1 << 20 {
                    return Err(format!("tcp.{k} must be at most {} (is {v})", 1 << 20));
                }
            }
        }
        let mut ids: Vec<&str> = Vec::new();
        for (i, p) in self.platform.iter().enumerate() {
            check_name(&format!("platform[{i}].id"), &p.id)?;
            if ids.contains(&p.id.as_str()) {
                return Err(format!(
                    "platform[{i}].id: `{}` is used by another platform",
                    p.id
                ));
            }
            if names.contains(&p.id.as_str()) || p.id == "customs" {
                return Err(format!(
                    "platform[{i}].id: `{}` is the name of a sender (or `customs`); the store tells them apart by name",
                    p.id
                ));
            }
            ids.push(p.id.as_str());
            check_codes(&format!("platform[{i}].codes"), &p.codes, &p.id, "submit")?;
        }
        Ok(())
    }

    /// Makes every relative path relative to `dir` (the configuration
    /// file's folder).
    fn resolve(&mut self, dir: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        if let Some(r) = &mut self.registry {
            fix(r);
        }
        fix(&mut self.store.path);
        if let Some(t) = &mut self.admin.token_file {
            fix(t);
        }
        let c = &mut self.customs;
        for p in [&mut c.outbox, &mut c.inbox, &mut c.failbox, &mut c.sentbox] {
            fix(p);
        }
        if let Some(p) = &mut c.archive {
            fix(p);
        }
        if let Some(p) = &mut c.work {
            fix(p);
        }
        for s in &mut self.sender {
            fix(&mut s.root);
        }
        if let Some(t) = &mut self.tcp {
            for p in [&mut t.tls_cert, &mut t.tls_key].into_iter().flatten() {
                fix(p);
            }
        }
        for p in &mut self.platform {
            fix(&mut p.token_file);
        }
    }

    /// Reads the enterprise registry the configuration names, if any.
    pub fn load_registry(&self) -> Result<Option<Registry>, ConfigError> {
        let Some(path) = &self.registry else {
            return Ok(None);
        };
        let what = match &self.source {
            Some(source) => format!(
                "the enterprise registry (key `registry` in {})",
                source.display()
            ),
            None => "the enterprise registry".to_owned(),
        };
        let text = read(path, &what)?;
        parse(&path.display().to_string(), &text).map(Some)
    }

    /// The codec limits this configuration sets.
    pub fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.limits.max_bytes,
            max_depth: self.limits.max_depth,
            ..Limits::default()
        }
    }
}

/// A sender's name or a platform's id: what the store, logs and file names
/// carry.
fn check_name(key: &str, name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{key}: `{name}` must be non-empty ASCII letters, digits, `-`, `_` or `.`"
        ))
    }
}

/// A sender's or platform's enterprise codes: at least one, none blank.
fn check_codes(key: &str, codes: &[String], who: &str, verb: &str) -> Result<(), String> {
    if codes.is_empty() || codes.iter().any(|c| c.trim().is_empty()) {
        return Err(format!(
            "{key}: list the enterprise codes `{who}` may {verb} for"
        ));
    }
    Ok(())
}

fn read(path: &Path, what: &str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        what: what.to_owned(),
        reason: e.to_string(),
    })
}

/// The sentence of an engine configuration refusal, without the engine's
/// own prefix.
fn engine_message(e: EngineError) -> String {
    match e {
        EngineError::Config(message) => message,
        other => other.to_string(),
    }
}

/// Deserializes TOML text; an error names the position and the key.
fn parse<T: for<'de> Deserialize<'de>>(path: &str, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let location = e
            .span()
            .and_then(|span| locate(text, span.start))
            .map(|(line, column, key)| match key {
                Some(key) => format!(":{line}:{column}: {key}"),
                None => format!(":{line}:{column}"),
            })
            .unwrap_or_default();
        ConfigError::Parse {
            path: path.to_owned(),
            location,
            // serde says "field" and "variant" for what a TOML file calls a
            // key and a value.
            message: e
                .message()
                .trim_end()
                .replacen("unknown field", "unknown key", 1)
                .replacen("unknown variant", "unknown value", 1),
        }
    })
}

/// The 1-based line and column of byte `offset`, and the dotted key written
/// there (`limits.max_bytes`, `enterprise[1].roles`, `limit` for a table
/// header), when the line has one.
fn locate(text: &str, offset: usize) -> Option<(usize, usize, Option<String>)> {
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i.saturating_add(1));
    let line_no = before.matches('\n').count().saturating_add(1);
    let column = before.get(line_start..)?.chars().count().saturating_add(1);
    // The table the line belongs to: the last header at or above it, with
    // the index of an array-of-tables entry.
    let mut table: Option<String> = None;
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut current_line = "";
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(name) = trimmed
            .strip_prefix("[[")
            .and_then(|r| r.split_once("]]"))
            .map(|(n, _)| n.trim().to_owned())
        {
            let n = counts.entry(name.clone()).or_insert(0);
            table = Some(format!("{name}[{n}]"));
            *n = n.saturating_add(1);
        } else if let Some(name) = trimmed
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .map(|(n, _)| n.trim().to_owned())
        {
            if i.saturating_add(1) == line_no {
                // The error is in the header itself: an unknown table.
                return Some((line_no, column, Some(name)));
            }
            table = Some(name);
        }
        if i.saturating_add(1) == line_no {
            current_line = line;
            break;
        }
    }
    let key = current_line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_owned())
        .filter(|k| !k.is_empty() && !k.starts_with('#'))
        .map(|k| match &table {
            Some(t) => format!("{t}.{k}"),
            None => k,
        });
    Some((line_no, column, key))
}
