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

/// The tax rate tables (`[tax]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaxConfig {
    /// A rate file of the shape of `schemas/tax-rates.toml` (relative to
    /// this configuration file); without one the built-in copy of that
    /// file is used. `SET_TAX_TOTAL`, `tax …` and the admin API's `/tax/…`
    /// compute with it.
    pub rates: Option<PathBuf>,
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
    /// Reload when the configuration file or a file it names changes
    /// (their folders are watched); `false`: on SIGHUP only (a network
    /// filesystem that reports no changes, a deployment that signals).
    pub watch_config: bool,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: "127.0.0.1:8470".to_owned(),
            token_file: None,
            watch_config: true,
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
    /// The enterprise this import client declares for: a `DEC_RESULT`
    /// names none, so the receipts arriving here belong to it.
    pub enterprise: Option<String>,
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
            enterprise: None,
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
    /// Its signature mode (`off`, `warn`, `require`), instead of
    /// `[signature] mode`.
    #[serde(default)]
    pub signature: Option<crate::sig::Mode>,
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
    /// Its signature mode (`off`, `warn`, `require`), instead of
    /// `[signature] mode`.
    #[serde(default)]
    pub signature: Option<crate::sig::Mode>,
}

/// A registered import client (`[[client]]`): receipts and data its
/// enterprise subscribed to are pushed to it by exactly one delivery.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The import client's id.
    pub id: String,
    /// The enterprise that owns it: it receives that enterprise's
    /// declarations only.
    pub enterprise: String,
    /// The operator's IC card number (shown, not used).
    #[serde(default)]
    pub operator_card: Option<String>,
    /// Delivery into a folder (its InBox).
    #[serde(default)]
    pub folder: Option<PathBuf>,
    /// Delivery over this platform's TCP connection.
    #[serde(default)]
    pub tcp: Option<String>,
    /// Delivery by email to these addresses (with `[smtp]`).
    #[serde(default)]
    pub email: Option<Vec<String>>,
    /// Delivery by SMS to the client's enterprise, a recipient's phone:
    /// the texts are appended to this file (the gateway's SMS interface has
    /// a file-writing implementation only, for tests and rehearsal; no
    /// real SMS gateway is connected).
    #[serde(default)]
    pub sms: Option<PathBuf>,
}

/// How a client's deliveries go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Into a folder.
    Folder(PathBuf),
    /// Over a platform's connection (index into the platforms).
    Tcp(usize),
    /// By email.
    Email(Vec<String>),
    /// By SMS, written to a file.
    Sms(PathBuf),
}

impl ClientConfig {
    /// Its delivery in words: `folder PATH`, `tcp PLATFORM`, `email A, B`.
    pub fn delivery_text(&self) -> String {
        if let Some(f) = &self.folder {
            format!("folder {}", f.display())
        } else if let Some(t) = &self.tcp {
            format!("tcp {t}")
        } else if let Some(s) = &self.sms {
            format!("sms {}", s.display())
        } else {
            format!(
                "email {}",
                self.email.clone().unwrap_or_default().join(", ")
            )
        }
    }

    /// Its delivery (the configuration was checked: exactly one is set).
    pub fn delivery(&self, platforms: &[PlatformConfig]) -> Option<Delivery> {
        if let Some(f) = &self.folder {
            return Some(Delivery::Folder(f.clone()));
        }
        if let Some(t) = &self.tcp {
            return platforms.iter().position(|p| &p.id == t).map(Delivery::Tcp);
        }
        if let Some(s) = &self.sms {
            return Some(Delivery::Sms(s.clone()));
        }
        self.email.clone().map(Delivery::Email)
    }
}

/// The mail server email deliveries go through (`[smtp]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Its host name.
    pub host: String,
    /// Its port (25 by default; 465 for `tls`, 587 for `starttls` usually).
    #[serde(default = "SmtpConfig::default_port")]
    pub port: u16,
    /// `none` (plain, for a local relay), `starttls` or `tls`.
    #[serde(default = "SmtpConfig::default_tls")]
    pub tls: String,
    /// The login, if the server asks for one.
    #[serde(default)]
    pub username: Option<String>,
    /// The file holding the password (never logged).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// The sender address.
    pub from: String,
}

impl SmtpConfig {
    fn default_port() -> u16 {
        25
    }
    fn default_tls() -> String {
        "starttls".to_owned()
    }
}

/// A subscription declared in the configuration (`[[subscription]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionConfig {
    /// Its id (default: derived from the client, content and statuses).
    #[serde(default)]
    pub id: Option<String>,
    /// The one client receiving it.
    pub client: OneOrMany,
    /// The subscribing enterprise (default: the client's); it must be the
    /// client's own.
    #[serde(default)]
    pub enterprise: Option<String>,
    /// `receipts` and/or `data`.
    pub content: Vec<String>,
    /// The receipt statuses (入库 退单 审结 删单 放行 结案 查验通知).
    #[serde(default)]
    pub statuses: Vec<String>,
    /// The last valid day (`YYYY-MM-DD`), at most one year after the day
    /// it is made.
    pub valid_until: String,
    /// 录入人: who made it.
    pub by: String,
    /// Cancel it (only while valid).
    #[serde(default)]
    pub cancelled: bool,
}

/// A string or a list of them (a list is refused with a sentence where one
/// is expected, rather than with a type error).
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl SubscriptionConfig {
    /// Its id: the configured one, or one derived from what it covers.
    pub fn id(&self) -> String {
        if let Some(id) = &self.id {
            return id.clone();
        }
        let client = match &self.client {
            OneOrMany::One(c) => c.clone(),
            OneOrMany::Many(l) => l.join("+"),
        };
        let mut content = self.content.clone();
        content.sort();
        let mut statuses = self.statuses.clone();
        statuses.sort();
        let digest = {
            use sha2::Digest as _;
            let mut h = sha2::Sha256::new();
            h.update(content.join(",").as_bytes());
            h.update(b"|");
            h.update(statuses.join(",").as_bytes());
            h.finalize()
        };
        let tag: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        format!("cfg-{client}-{tag}")
    }
}

/// Pushing to clients (`[push]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushConfig {
    /// The first retry waits this long; each next one twice as long (with
    /// jitter), up to `backoff_max_ms`.
    pub backoff_ms: u64,
    /// The longest wait between two attempts.
    pub backoff_max_ms: u64,
    /// After this many failed attempts an entry is parked.
    pub max_attempts: u32,
    /// An entry still undelivered this many hours after it was queued is parked.
    pub max_age_hours: u64,
    /// One delivery attempt (a folder write, an email, a TCP confirmation)
    /// is given up after this long.
    pub timeout_secs: u64,
    /// A receipt whose code maps onto no subscription status goes to the
    /// subscribers of all seven statuses (else it is kept and listed).
    pub unmapped_to_all: bool,
    /// Delivered entries are kept this many days (for `replay --since`).
    pub keep_delivered_days: u64,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            backoff_ms: 1000,
            backoff_max_ms: 300_000,
            max_attempts: 12,
            max_age_hours: 72,
            timeout_secs: 30,
            unmapped_to_all: false,
            keep_delivered_days: 30,
        }
    }
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

/// What the gateway does with the signatures of inbound declarations
/// (`[signature]`).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignatureConfig {
    /// `off`, `warn` (the default) or `require`; a sender's or platform's
    /// `signature` key overrides it for that source.
    pub mode: crate::sig::Mode,
}

/// The gateway's own signing key (`[signing]`): it signs the messages it
/// writes itself (never a message it received signed).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningConfig {
    /// The private key file (PEM or DER; PKCS#8, or PKCS#1 for RSA and
    /// SEC1 for SM2).
    pub key: PathBuf,
    /// The key's certificate (PEM or DER).
    pub certificate: PathBuf,
    /// `rsa-sha1` or `sm2-sm3`.
    pub algorithm: crate::sig::Algorithm,
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
    /// The registered import clients receipts are pushed to.
    pub client: Vec<ClientConfig>,
    /// The subscriptions declared here.
    pub subscription: Vec<SubscriptionConfig>,
    /// The mail server (for email deliveries).
    pub smtp: Option<SmtpConfig>,
    /// Pushing to clients.
    pub push: PushConfig,
    /// Input bounds.
    pub limits: LimitsConfig,
    /// Tolerances and limits of the cross-document check.
    pub engine: EngineConfig,
    /// The enterprise registry file (relative paths are relative to this
    /// configuration file). Without one the registration rule is skipped.
    pub registry: Option<PathBuf>,
    /// The tax rate tables (`[tax]`).
    pub tax: TaxConfig,
    /// Verifying the signatures of inbound declarations.
    pub signature: SignatureConfig,
    /// The gateway's own signing key (off when absent).
    pub signing: Option<SigningConfig>,
    /// The customs simulator (`simulate-customs`; inside `serve` when enabled).
    #[serde(default)]
    pub simulator: crate::simulate::SimulatorConfig,
    /// The configuration file this was loaded from, if any (for messages).
    #[serde(skip)]
    source: Option<PathBuf>,
    /// The environment variables that overrode keys of the file.
    #[serde(skip)]
    overrides: Vec<Override>,
    /// SHA-256 of the file's text as parsed (what a reload compares).
    #[serde(skip)]
    text_digest: [u8; 32],
}

/// The prefix of environment variables that override configuration keys:
/// `CUSTOMS_GATEWAY__ADMIN__LISTEN` is `admin.listen`,
/// `CUSTOMS_GATEWAY__SENDER__0__CODES` is `sender[0].codes`.
pub const ENV_PREFIX: &str = "CUSTOMS_GATEWAY__";

/// One key an environment variable set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Override {
    /// The variable (`CUSTOMS_GATEWAY__ADMIN__LISTEN`).
    pub var: String,
    /// The key it sets (`admin.listen`, `sender[0].codes`).
    pub key: String,
    /// The value it gives, as written.
    pub value: String,
}

impl Config {
    /// Loads a TOML file, with the keys this process's environment
    /// overrides ([`ENV_PREFIX`]).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        // A variable whose name or value is not UTF-8 is none of ours.
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Config::load_with_env(path, vars)
    }

    /// Loads a TOML file with the overrides among `vars` (the names that
    /// start with [`ENV_PREFIX`]; others are ignored).
    pub fn load_with_env(
        path: &Path,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = read(path, "the configuration file")?;
        // The file alone first: its own mistakes are named by line and key.
        let mut cfg: Config = parse(&name, &text)?;
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX) && k.len() > ENV_PREFIX.len())
            .collect();
        vars.sort();
        if !vars.is_empty() {
            cfg = with_env(&name, &text, vars)?;
        }
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
        if let Some(rates) = &cfg.tax.rates {
            let text = read(rates, "the tax rate tables (key `tax.rates`)")?;
            let tables =
                crate::tax::Tables::from_toml(&text).map_err(|e| ConfigError::Invalid {
                    path: name.clone(),
                    message: format!("tax.rates: {}: {e}", rates.display()),
                })?;
            cfg.engine.tax = Some(std::sync::Arc::new(tables));
        }
        cfg.source = Some(path.to_owned());
        cfg.text_digest = {
            use sha2::Digest as _;
            sha2::Sha256::digest(text.as_bytes()).into()
        };
        Ok(cfg)
    }

    /// The file this configuration was loaded from.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// The keys environment variables set, in the variables' order.
    pub fn overrides(&self) -> &[Override] {
        &self.overrides
    }

    /// SHA-256 of the configuration file's text as it was parsed.
    pub fn text_digest(&self) -> [u8; 32] {
        self.text_digest
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
        if let Some(e) = &self.customs.enterprise
            && e.trim().is_empty()
        {
            return Err(
                "customs.enterprise: give the enterprise code, or leave the key out".to_owned(),
            );
        }
        self.check_push()
    }

    /// Checks `[[client]]`, `[[subscription]]`, `[smtp]` and `[push]`.
    fn check_push(&self) -> Result<(), String> {
        let mut ids: Vec<&str> = Vec::new();
        for (i, c) in self.client.iter().enumerate() {
            let k = format!("client[{i}]");
            check_name(&format!("{k}.id"), &c.id)?;
            if ids.contains(&c.id.as_str()) {
                return Err(format!("{k}.id: `{}` is used by another client", c.id));
            }
            ids.push(c.id.as_str());
            if c.enterprise.trim().is_empty() {
                return Err(format!(
                    "{k}.enterprise: name the enterprise that owns client `{}`",
                    c.id
                ));
            }
            let n = usize::from(c.folder.is_some())
                + usize::from(c.tcp.is_some())
                + usize::from(c.email.is_some())
                + usize::from(c.sms.is_some());
            if n != 1 {
                return Err(format!(
                    "{k}: client `{}` needs exactly one delivery: folder, tcp, email or sms (it has {n})",
                    c.id
                ));
            }
            if let Some(f) = &c.folder {
                if self
                    .client
                    .iter()
                    .take(i)
                    .any(|o| o.folder.as_ref() == Some(f))
                {
                    return Err(format!(
                        "{k}.folder: `{}` is the folder of another client",
                        f.display()
                    ));
                }
                let watched = self
                    .sender
                    .iter()
                    .map(|s| s.root.join("OutBox"))
                    .chain([self.customs.inbox.clone(), self.customs.outbox.clone()]);
                for w in watched {
                    if &w == f {
                        return Err(format!(
                            "{k}.folder: `{}` is a folder the gateway reads or customs takes from; give the client its own",
                            f.display()
                        ));
                    }
                }
            }
            if let Some(t) = &c.tcp {
                let Some(p) = self.platform.iter().find(|p| &p.id == t) else {
                    return Err(format!("{k}.tcp: `{t}` is not a configured platform"));
                };
                if !p.codes.iter().any(|code| code == &c.enterprise) {
                    return Err(format!(
                        "{k}.tcp: platform `{t}` does not act for enterprise {} (its codes), so it cannot carry client `{}`'s receipts",
                        c.enterprise, c.id
                    ));
                }
            }
            if let Some(list) = &c.email {
                if list.is_empty() {
                    return Err(format!("{k}.email: list at least one address"));
                }
                for a in list {
                    if a.parse::<lettre::Address>().is_err() {
                        return Err(format!("{k}.email: `{a}` is not an email address"));
                    }
                }
                if self.smtp.is_none() {
                    return Err(format!(
                        "{k}.email: client `{}` is delivered by email, but there is no [smtp] section",
                        c.id
                    ));
                }
            }
        }
        if let Some(m) = &self.smtp {
            if m.host.trim().is_empty() {
                return Err("smtp.host: name the mail server".to_owned());
            }
            if !["none", "starttls", "tls"].contains(&m.tls.as_str()) {
                return Err(format!(
                    "smtp.tls: `{}` is none of none, starttls, tls",
                    m.tls
                ));
            }
            if m.from.parse::<lettre::message::Mailbox>().is_err() {
                return Err(format!("smtp.from: `{}` is not an email address", m.from));
            }
            if m.password_file.is_some() && m.username.is_none() {
                return Err("smtp.password_file: give smtp.username too".to_owned());
            }
        }
        let mut sub_ids: Vec<String> = Vec::new();
        for (i, s) in self.subscription.iter().enumerate() {
            let k = format!("subscription[{i}]");
            let client = match &s.client {
                OneOrMany::One(c) => c,
                OneOrMany::Many(l) => {
                    return Err(format!(
                        "{k}.client: a subscription names exactly one client (it names {})",
                        l.len()
                    ));
                }
            };
            let Some(c) = self.client.iter().find(|c| &c.id == client) else {
                return Err(format!(
                    "{k}.client: `{client}` is not a registered [[client]]"
                ));
            };
            if let Some(e) = &s.enterprise
                && e != &c.enterprise
            {
                return Err(format!(
                    "{k}.enterprise: client `{client}` belongs to enterprise {}, not {e}: a subscription delivers only to a client of the subscribing enterprise",
                    c.enterprise
                ));
            }
            crate::subscribe::check_content(&s.content).map_err(|e| format!("{k}.{e}"))?;
            if s.content.iter().any(|c| c.trim() == "receipts") {
                crate::subscribe::check_statuses(&s.statuses).map_err(|e| format!("{k}.{e}"))?;
            } else if !s.statuses.is_empty() {
                return Err(format!(
                    "{k}.statuses: statuses filter receipts; add \"receipts\" to content"
                ));
            }
            if crate::subscribe::resolve(&s.valid_until, crate::subscribe::Date::from_days(0))
                .is_none()
            {
                return Err(format!(
                    "{k}.valid_until: `{}` is not a date (YYYY-MM-DD, or +1y, or +Nd)",
                    s.valid_until
                ));
            }
            if s.by.trim().is_empty() {
                return Err(format!("{k}.by: name who made it (录入人)"));
            }
            let id = s.id();
            check_name(&format!("{k}.id"), &id)?;
            if sub_ids.contains(&id) {
                return Err(format!(
                    "{k}: subscription `{id}` is declared twice (give each an `id`)"
                ));
            }
            sub_ids.push(id);
        }
        let p = &self.push;
        for (key, v) in [
            ("backoff_ms", p.backoff_ms),
            ("backoff_max_ms", p.backoff_max_ms),
            ("max_attempts", u64::from(p.max_attempts)),
            ("max_age_hours", p.max_age_hours),
            ("timeout_secs", p.timeout_secs),
        ] {
            if v == 0 {
                return Err(format!("push.{key} must be positive (is 0)"));
            }
        }
        if p.backoff_max_ms < p.backoff_ms {
            return Err(format!(
                "push.backoff_max_ms ({}) is below push.backoff_ms ({})",
                p.backoff_max_ms, p.backoff_ms
            ));
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
        if let Some(r) = &mut self.tax.rates {
            fix(r);
        }
        if let Some(g) = &mut self.signing {
            fix(&mut g.key);
            fix(&mut g.certificate);
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
        for c in &mut self.client {
            if let Some(f) = &mut c.folder {
                fix(f);
            }
            if let Some(f) = &mut c.sms {
                fix(f);
            }
        }
        if let Some(m) = &mut self.smtp
            && let Some(f) = &mut m.password_file
        {
            fix(f);
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
        let mut registry: Registry = parse(&path.display().to_string(), &text)?;
        let listed: Vec<(String, Vec<PathBuf>)> = registry
            .enterprises()
            .iter()
            .filter(|e| !e.certificates.is_empty())
            .map(|e| (e.code.clone(), e.certificates.clone()))
            .collect();
        for (code, files) in listed {
            let mut certs = Vec::new();
            for file in files {
                let file = relative_to(path, &file);
                let what = format!(
                    "a certificate of enterprise {code} (registry {})",
                    path.display()
                );
                let bytes = std::fs::read(&file).map_err(|e| ConfigError::Read {
                    path: file.display().to_string(),
                    what: what.clone(),
                    reason: e.to_string(),
                })?;
                certs.extend(crate::sig::Certificate::read_all(&bytes).map_err(|e| {
                    ConfigError::Invalid {
                        path: file.display().to_string(),
                        message: format!("{what}: {e}"),
                    }
                })?);
            }
            registry.set_certificates(&code, certs);
        }
        Ok(Some(registry))
    }

    /// The certificate files the registry names (for reloads: a changed
    /// certificate is a changed configuration). Empty when the registry
    /// cannot be read; loading it says why.
    pub fn registry_certificate_files(&self) -> Vec<PathBuf> {
        let Some(path) = &self.registry else {
            return Vec::new();
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return Vec::new();
        };
        let Ok(registry) = Registry::from_toml(&text) else {
            return Vec::new();
        };
        registry
            .enterprises()
            .iter()
            .flat_map(|e| e.certificates.iter().map(|f| relative_to(path, f)))
            .collect()
    }

    /// The gateway's signer (`[signing]`), its key and certificate read.
    pub fn load_signer(&self) -> Result<Option<std::sync::Arc<crate::sig::Signer>>, ConfigError> {
        let Some(g) = &self.signing else {
            return Ok(None);
        };
        let read_bytes = |file: &Path, key: &str| {
            std::fs::read(file).map_err(|e| ConfigError::Read {
                path: file.display().to_string(),
                what: format!("the signing {key} (key `signing.{key}`)"),
                reason: e.to_string(),
            })
        };
        let invalid = |file: &Path, message: String| ConfigError::Invalid {
            path: file.display().to_string(),
            message,
        };
        let cert_bytes = read_bytes(&g.certificate, "certificate")?;
        let mut certs = crate::sig::Certificate::read_all(&cert_bytes)
            .map_err(|e| invalid(&g.certificate, format!("signing.certificate: {e}")))?;
        if certs.len() != 1 {
            return Err(invalid(
                &g.certificate,
                format!(
                    "signing.certificate: {} certificates; the signing key's alone is expected",
                    certs.len()
                ),
            ));
        }
        let cert = certs.remove(0);
        let key = read_bytes(&g.key, "key")?;
        crate::sig::Signer::new(g.algorithm, &key, cert)
            .map(|s| Some(std::sync::Arc::new(s)))
            .map_err(|e| invalid(&g.key, format!("signing.key: {e}")))
    }

    /// The tax rate tables this configuration computes with: `[tax] rates`,
    /// else the built-in ones.
    pub fn tax_tables(&self) -> Option<std::sync::Arc<crate::tax::Tables>> {
        self.engine.tax.clone().or_else(crate::tax::Tables::builtin)
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

/// The file's configuration with the environment's overrides laid over it,
/// through the `config` crate: the variables are collected by its
/// environment source (prefix and separator `__`, keys lower-cased), each
/// becomes an override of its key path (an all-digit segment indexes an
/// array of tables: `SENDER__0__CODES` is `sender[0].codes`), and the
/// merged tree is deserialized. A key whose value in the file is a list
/// takes a comma-separated list. Values stay text until the key's type
/// asks for a number or a boolean, so a code like `0000009815` keeps its
/// zeros.
fn with_env(name: &str, text: &str, vars: Vec<(String, String)>) -> Result<Config, ConfigError> {
    use config::Source as _;
    let invalid = |message: String| ConfigError::Invalid {
        path: format!("{name} (with the environment)"),
        message,
    };
    let file: toml::Table = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let env: config::Map<String, String> = vars.iter().cloned().collect();
    let collected = config::Environment::with_prefix("CUSTOMS_GATEWAY")
        .prefix_separator("__")
        .separator("__")
        .source(Some(env))
        .collect()
        .map_err(|e| invalid(e.to_string()))?;
    let mut builder = config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml));
    let mut overrides = Vec::new();
    for (var, raw) in &vars {
        let Some(rest) = var.get(ENV_PREFIX.len()..) else {
            continue;
        };
        let dotted = rest.to_lowercase().replace("__", ".");
        let Some(value) = collected.get(&dotted) else {
            continue;
        };
        let key = index_path(&dotted);
        // The keys that take a list (by name, whether or not the file has
        // them), and any the file writes as one.
        let last = dotted.rsplit('.').next().unwrap_or("");
        let is_list = LIST_KEYS.contains(&last)
            || matches!(lookup(&file, &dotted), Some(toml::Value::Array(_)));
        let value: config::Value = if is_list {
            let items: Vec<String> = raw
                .split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect();
            items.into()
        } else {
            value.clone()
        };
        builder = builder
            .set_override(key.as_str(), value)
            .map_err(|e| invalid(format!("{var}: {e}")))?;
        overrides.push(Override {
            var: var.clone(),
            key,
            value: raw.clone(),
        });
    }
    let merged = builder.build().map_err(|e| invalid(e.to_string()))?;
    let mut cfg: Config = merged.try_deserialize().map_err(|e| {
        let vars: Vec<&str> = overrides.iter().map(|o| o.var.as_str()).collect();
        invalid(format!(
            "{} (set by {})",
            e.to_string()
                .replacen("unknown field", "unknown key", 1)
                .replacen("unknown variant", "unknown value", 1),
            vars.join(", ")
        ))
    })?;
    cfg.overrides = overrides;
    Ok(cfg)
}

/// The keys whose value is a list (`sender[i].codes`, `platform[i].codes`,
/// `client[i].email`, `subscription[i].content`, `subscription[i].statuses`):
/// an environment variable gives them comma-separated.
const LIST_KEYS: [&str; 4] = ["codes", "email", "content", "statuses"];

/// `sender.0.codes` as the `config` crate's path `sender[0].codes`.
fn index_path(dotted: &str) -> String {
    let mut out = String::new();
    for part in dotted.split('.') {
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(part);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

/// The value at a dotted key of a TOML table (digits index arrays).
fn lookup<'a>(table: &'a toml::Table, dotted: &str) -> Option<&'a toml::Value> {
    let mut parts = dotted.split('.');
    let mut cur = table.get(parts.next()?)?;
    for part in parts {
        cur = match cur {
            toml::Value::Table(t) => t.get(part)?,
            toml::Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
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

/// `file` relative to the folder of `base` (a file), unless absolute.
fn relative_to(base: &Path, file: &Path) -> PathBuf {
    if file.is_relative() {
        base.parent().unwrap_or(Path::new("")).join(file)
    } else {
        file.to_path_buf()
    }
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
