//! The admin subcommands (`status`, `messages`, `show`): their arguments
//! and their output. They ask the running daemon through [`Client`]; text
//! output is for people (aligned columns, times as ISO-8601 UTC), `--json`
//! prints the API's answer exactly, pretty-printed.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::api::DEFAULT_LIMIT;
use super::client::{Client, ClientError, MessagesQuery};
use super::time::iso_utc;
use crate::config::Config;

/// The admin subcommands, for the binary's command enum
/// (`#[command(flatten)] Admin(AdminCommand)`).
#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Show the running daemon's state: uptime, documents by status, open and
    /// overdue order sets, queue depths, store size.
    ///
    /// Asks the daemon's admin API ([admin] listen in the configuration).
    /// Exit status: 0, or 2 when the daemon cannot be reached.
    Status(StatusArgs),
    /// List stored documents, newest first: id, received, type, status,
    /// sender, business key.
    ///
    /// Exit status: 0, or 2 when the daemon cannot be reached or refuses a
    /// filter.
    Messages(MessagesArgs),
    /// Show one document: its set and verdict, its whole status history and
    /// the customs receipts filed against it.
    ///
    /// Exit status: 0, 1 when no document matches, 2 when the daemon cannot
    /// be reached.
    Show(ShowArgs),
    /// Manage subscriptions (报关单数据订阅): list, add, cancel, extend. The
    /// same rules as the subscriptions of the configuration: exactly one
    /// registered client, of the subscribing enterprise; valid at most a
    /// year from today; cancel and extend only while valid.
    ///
    /// Exit status: 0, 1 when a rule refuses the change or the
    /// subscription does not exist, 2 when the daemon cannot be reached.
    Subscriptions(SubscriptionsArgs),
    /// Show the clients' push queues: queued, parked, delivered, the oldest
    /// entry and the last error; with --client or --parked, the entries.
    ///
    /// Exit status: 0, 1 for an unknown client, 2 when the daemon cannot be
    /// reached.
    Outbox(OutboxArgs),
    /// Queue a client's entries again: parked ones (--parked), those whose
    /// business key, file or document id contains K (--key), or those
    /// queued or delivered since TIME (--since).
    ///
    /// Exit status: 0, 1 for an unknown client, 2 when the daemon cannot be
    /// reached.
    Replay(ReplayArgs),
    /// List the customs receipts delivered to no one: their owner or their
    /// status is unknown.
    ///
    /// Exit status: 0, or 2 when the daemon cannot be reached.
    Unrouted(UnroutedArgs),
}

/// `subscriptions`.
#[derive(Debug, Clone, Args)]
pub struct SubscriptionsArgs {
    /// Output and configuration.
    #[command(flatten)]
    pub common: CommonArgs,
    /// What to do.
    #[command(subcommand)]
    pub action: SubscriptionAction,
}

/// `subscriptions list|add|cancel|extend`.
#[derive(Debug, Clone, Subcommand)]
pub enum SubscriptionAction {
    /// Every subscription with its state today (生效, 已取消, 已失效).
    List,
    /// Make a subscription.
    Add {
        /// The one client receiving it (its id in the configuration).
        #[arg(long, value_name = "ID")]
        client: String,
        /// The subscribing enterprise (default: the client's own; any other is refused).
        #[arg(long, value_name = "CODE")]
        enterprise: Option<String>,
        /// receipts (状态回执), data (申报数据), or both: receipts,data.
        #[arg(
            long,
            value_name = "LIST",
            value_delimiter = ',',
            default_value = "receipts"
        )]
        content: Vec<String>,
        /// The receipt statuses, comma-separated: 入库 退单 审结 删单 放行 结案 查验通知.
        #[arg(long, value_name = "LIST", value_delimiter = ',')]
        statuses: Vec<String>,
        /// The last valid day, YYYY-MM-DD: at most one year from today.
        #[arg(long, value_name = "DATE")]
        valid_until: String,
        /// 录入人: who makes it.
        #[arg(long, value_name = "NAME")]
        by: String,
    },
    /// Cancel a valid subscription.
    Cancel {
        /// Its id.
        id: String,
        /// Who cancels it.
        #[arg(long, value_name = "NAME")]
        by: String,
    },
    /// Extend a valid subscription to a later day within a year from today.
    Extend {
        /// Its id.
        id: String,
        /// The new last valid day, YYYY-MM-DD.
        #[arg(long, value_name = "DATE")]
        valid_until: String,
        /// Who extends it.
        #[arg(long, value_name = "NAME")]
        by: String,
    },
}

/// `outbox`.
#[derive(Debug, Clone, Args)]
pub struct OutboxArgs {
    /// Output and configuration.
    #[command(flatten)]
    pub common: CommonArgs,
    /// This client's entries.
    #[arg(long, value_name = "ID")]
    pub client: Option<String>,
    /// Parked entries only.
    #[arg(long)]
    pub parked: bool,
    /// At most N entries (default 100).
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
}

/// `replay`.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["key", "since", "parked"])))]
pub struct ReplayArgs {
    /// Output and configuration.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The client.
    #[arg(long, value_name = "ID")]
    pub client: String,
    /// Entries whose business key, file name or document id contains K.
    #[arg(long, value_name = "K")]
    pub key: Option<String>,
    /// Entries queued or delivered at or after TIME (YYYY-MM-DD,
    /// YYYY-MM-DDThh:mm:ss UTC, or ms since the epoch).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Every parked entry.
    #[arg(long)]
    pub parked: bool,
}

/// `unrouted`.
#[derive(Debug, Clone, Args)]
pub struct UnroutedArgs {
    /// Output and configuration.
    #[command(flatten)]
    pub common: CommonArgs,
    /// At most N receipts, newest first (default 100).
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
}

/// What every admin subcommand takes.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Print the admin API's JSON answer, pretty-printed.
    #[arg(long, global = true)]
    pub json: bool,
    /// Configuration file (TOML): where the daemon's admin API listens
    /// ([admin] listen) and the file holding its token ([admin] token_file).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "conf/gateway.toml",
        global = true
    )]
    pub config: PathBuf,
}

/// `status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Output and configuration.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `messages`.
#[derive(Debug, Clone, Args)]
pub struct MessagesArgs {
    /// Output and configuration.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Only documents whose business key contains K (case-sensitive).
    #[arg(long, value_name = "K")]
    pub key: Option<String>,
    /// Only documents of this message type (CEB311).
    #[arg(long = "type", value_name = "T")]
    pub ty: Option<String>,
    /// Only documents with this current status; a prefix ending in `:`
    /// (customs:) takes every status that starts with it.
    #[arg(long, value_name = "S")]
    pub status: Option<String>,
    /// Only documents from this sender.
    #[arg(long, value_name = "NAME")]
    pub sender: Option<String>,
    /// Only documents received at or after TIME: YYYY-MM-DD,
    /// YYYY-MM-DDThh:mm:ss (UTC) or milliseconds since the epoch.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// At most N documents (1 to 10000; default 100).
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
}

/// `show`.
#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    /// Output and configuration.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Print the raw message too (as text in the charset it was read in).
    #[arg(long)]
    pub raw: bool,
    /// A document id (12.0) or a business key (orderNo=…,ebpCode=…).
    #[arg(value_name = "ID|KEY")]
    pub id: String,
}

impl AdminCommand {
    /// The options every subcommand takes.
    pub fn common(&self) -> &CommonArgs {
        match self {
            AdminCommand::Status(a) => &a.common,
            AdminCommand::Messages(a) => &a.common,
            AdminCommand::Show(a) => &a.common,
            AdminCommand::Subscriptions(a) => &a.common,
            AdminCommand::Outbox(a) => &a.common,
            AdminCommand::Replay(a) => &a.common,
            AdminCommand::Unrouted(a) => &a.common,
        }
    }
}

/// Runs an admin subcommand against the daemon its configuration names,
/// writing to `out`. The exit status is 0, or 1 when `show` finds nothing;
/// every error (the CLI exits 2 on it) is returned.
pub fn run(cmd: &AdminCommand, out: &mut impl Write) -> Result<u8, ClientError> {
    let config = Config::load(&cmd.common().config)?;
    let client = Client::from_config(&config)?;
    let json = cmd.common().json;
    let answer = match cmd {
        AdminCommand::Status(_) => client.status(),
        AdminCommand::Messages(a) => client.messages(&a.query()),
        AdminCommand::Show(a) => client.document(&a.id, a.raw),
        AdminCommand::Subscriptions(a) => match &a.action {
            SubscriptionAction::List => client.subscriptions(),
            SubscriptionAction::Add {
                client: id,
                enterprise,
                content,
                statuses,
                valid_until,
                by,
            } => {
                let mut body = serde_json::json!({
                    "client": id, "content": content, "statuses": statuses,
                    "valid_until": valid_until, "by": by,
                });
                if let (Some(e), Value::Object(m)) = (enterprise, &mut body) {
                    m.insert("enterprise".into(), Value::from(e.clone()));
                }
                client.subscribe(&body)
            }
            SubscriptionAction::Cancel { id, by } => client.cancel_subscription(id, by),
            SubscriptionAction::Extend {
                id,
                valid_until,
                by,
            } => client.extend_subscription(id, valid_until, by),
        },
        AdminCommand::Outbox(a) => client.outbox(a.client.as_deref(), a.parked, a.limit),
        AdminCommand::Replay(a) => {
            let mut body = serde_json::json!({ "client": a.client });
            if let Value::Object(m) = &mut body {
                if let Some(k) = &a.key {
                    m.insert("key".into(), Value::from(k.clone()));
                }
                if let Some(t) = &a.since {
                    m.insert("since".into(), Value::from(t.clone()));
                }
                if a.parked {
                    m.insert("parked".into(), Value::from(true));
                }
            }
            client.replay(&body)
        }
        AdminCommand::Unrouted(a) => client.unrouted(a.limit),
    };
    let answer = match (cmd, answer) {
        (
            AdminCommand::Subscriptions(_) | AdminCommand::Outbox(_) | AdminCommand::Replay(_),
            Err(ClientError::Refused { message } | ClientError::NotFound { message }),
        ) => {
            if json {
                print_json(out, &serde_json::json!({ "error": message }))?;
            } else {
                writeln!(out, "refused: {message}")?;
            }
            return Ok(1);
        }
        (AdminCommand::Show(_), Err(ClientError::NotFound { message })) => {
            if json {
                print_json(out, &serde_json::json!({ "error": message }))?;
            } else {
                writeln!(out, "{message}")?;
            }
            return Ok(1);
        }
        (_, answer) => answer?,
    };
    if json {
        print_json(out, &answer)?;
        return Ok(0);
    }
    match cmd {
        AdminCommand::Status(_) => render_status(out, &answer)?,
        AdminCommand::Messages(a) => {
            let limit = a.limit.map_or(DEFAULT_LIMIT, |n| n as usize);
            render_list(out, &answer, limit)?;
        }
        AdminCommand::Show(_) => render_document(out, &answer)?,
        AdminCommand::Subscriptions(a) => match a.action {
            SubscriptionAction::List => render_subscriptions(out, &answer)?,
            _ => {
                let one = answer.get("subscription").cloned().unwrap_or_default();
                render_subscriptions(out, &serde_json::json!({ "subscriptions": [one] }))?;
            }
        },
        AdminCommand::Outbox(_) => render_outbox(out, &answer)?,
        AdminCommand::Replay(_) => writeln!(
            out,
            "{}: {} parked entries queued again, {} delivered entries queued again",
            text(&answer, "client"),
            number(&answer, "unparked"),
            number(&answer, "requeued")
        )?,
        AdminCommand::Unrouted(_) => render_unrouted(out, &answer)?,
    }
    Ok(0)
}

fn render_subscriptions(out: &mut impl Write, v: &Value) -> std::io::Result<()> {
    let list = items(v, "subscriptions");
    if list.is_empty() {
        return writeln!(out, "no subscriptions");
    }
    let join = |s: &Value, f: &str| -> String {
        items(s, f)
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|s| {
            vec![
                text(s, "id"),
                text(s, "client"),
                text(s, "enterprise"),
                join(s, "content"),
                join(s, "statuses"),
                format!("{} {}", text(s, "state"), text(s, "state_label")),
                text(s, "made"),
                text(s, "valid_until"),
                text(s, "by"),
            ]
        })
        .collect();
    table(
        out,
        "",
        &[
            "ID",
            "CLIENT",
            "ENTERPRISE",
            "CONTENT",
            "STATUSES",
            "STATE",
            "MADE",
            "VALID UNTIL",
            "BY",
        ],
        &rows,
    )
}

fn render_outbox(out: &mut impl Write, v: &Value) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = items(v, "clients")
        .iter()
        .map(|c| {
            vec![
                text(c, "client"),
                text(c, "enterprise"),
                text(c, "delivery"),
                number(c, "queued").to_string(),
                number(c, "parked").to_string(),
                number(c, "delivered").to_string(),
                text(c, "oldest"),
                text(c, "last_error"),
            ]
        })
        .collect();
    if rows.is_empty() {
        writeln!(out, "no clients")?;
    } else {
        table(
            out,
            "",
            &[
                "CLIENT",
                "ENTERPRISE",
                "DELIVERY",
                "QUEUED",
                "PARKED",
                "DELIVERED",
                "OLDEST",
                "LAST ERROR",
            ],
            &rows,
        )?;
    }
    let entries = items(v, "entries");
    if !entries.is_empty() {
        writeln!(out)?;
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                vec![
                    number(e, "seq").to_string(),
                    text(e, "client"),
                    text(e, "file"),
                    format!("{} {}", text(e, "status"), text(e, "code")),
                    text(e, "queued"),
                    number(e, "attempts").to_string(),
                    if e.get("parked").and_then(Value::as_bool) == Some(true) {
                        "parked".to_owned()
                    } else {
                        text(e, "next")
                    },
                    text(e, "error"),
                ]
            })
            .collect();
        table(
            out,
            "",
            &[
                "SEQ", "CLIENT", "FILE", "STATUS", "QUEUED", "ATTEMPTS", "NEXT", "ERROR",
            ],
            &rows,
        )?;
    }
    Ok(())
}

fn render_unrouted(out: &mut impl Write, v: &Value) -> std::io::Result<()> {
    let list = items(v, "receipts");
    writeln!(out, "{} receipts delivered to no one", number(v, "count"))?;
    if list.is_empty() {
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            vec![
                text(r, "document"),
                text(r, "at"),
                text(r, "type"),
                text(r, "code"),
                text(r, "owner"),
                text(r, "reason"),
            ]
        })
        .collect();
    table(
        out,
        "",
        &["ID", "AT", "TYPE", "CODE", "OWNER", "REASON"],
        &rows,
    )
}

impl MessagesArgs {
    /// The API query these arguments ask.
    pub fn query(&self) -> MessagesQuery {
        MessagesQuery {
            key: self.key.clone(),
            ty: self.ty.clone(),
            status: self.status.clone(),
            sender: self.sender.clone(),
            since: self.since.clone(),
            limit: self.limit,
        }
    }
}

fn print_json(out: &mut impl Write, value: &Value) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// A field as text: strings as they are, numbers printed, null and
/// absence empty.
fn text(v: &Value, field: &str) -> String {
    match v.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn number(v: &Value, field: &str) -> u64 {
    v.get(field).and_then(Value::as_u64).unwrap_or(0)
}

fn items<'a>(v: &'a Value, field: &str) -> &'a [Value] {
    v.get(field)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Rows under a header, every column but the last padded to its widest
/// cell, each line indented by `indent`.
fn table(
    out: &mut impl Write,
    indent: &str,
    header: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::from(indent);
        let last = row.len().saturating_sub(1);
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            line.push_str(cell);
            if i < last {
                let pad = w.saturating_sub(cell.chars().count()).saturating_add(2);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// `2h 13m 5s`.
fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m {s}s"),
        _ => format!("{d}d {h}h {m}m"),
    }
}

/// `1.3 MiB`.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // Display only: the precision of f64 is plenty.
    #[allow(clippy::cast_precision_loss)]
    let mut n = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in UNITS.iter().skip(1) {
        if n < 1024.0 {
            break;
        }
        n /= 1024.0;
        unit = u;
    }
    format!("{n:.1} {unit}")
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn render_status(out: &mut impl Write, s: &Value) -> std::io::Result<()> {
    let n = |f: &str| number(s, f);
    let q = |f: &str| s.get("queues").map_or(0, |q| number(q, f));
    let counts: Vec<(&String, u64)> = s
        .get("documents")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k, v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    let line =
        |out: &mut dyn Write, label: &str, value: String| writeln!(out, "{label:<10} {value}");
    line(
        out,
        "uptime",
        format!(
            "{} (started {})",
            duration(n("uptime_secs")),
            iso_utc(n("started_ms"))
        ),
    )?;
    line(
        out,
        "documents",
        counts.iter().map(|(_, c)| c).sum::<u64>().to_string(),
    )?;
    let width = counts.iter().map(|(k, _)| k.chars().count()).max();
    let width = width.unwrap_or(0);
    for (status, count) in &counts {
        writeln!(out, "  {status:<width$}  {count}")?;
    }
    line(
        out,
        "messages",
        format!(
            "{}, {}",
            n("messages"),
            plural(n("orphans"), "orphan receipt", "orphan receipts")
        ),
    )?;
    line(
        out,
        "sets",
        format!(
            "{} open, {} overdue; {}",
            n("open_sets"),
            n("overdue_sets"),
            plural(n("pending_waybills"), "waybill waiting", "waybills waiting")
        ),
    )?;
    if let Some(list) = s.get("overdue").and_then(|o| o.as_array()) {
        for o in list {
            let text = |k: &str| o.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
            let join = |k: &str| {
                o.get(k)
                    .and_then(|x| x.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default()
            };
            let key = match text("key") {
                k if k.is_empty() => "(a waybill without its set)".to_owned(),
                k => k,
            };
            writeln!(
                out,
                "  overdue {key}: waiting {} s for {} (has {})",
                o.get("waited_secs").and_then(|x| x.as_u64()).unwrap_or(0),
                join("missing"),
                join("members")
            )?;
        }
    }
    line(
        out,
        "queues",
        format!(
            "{} claimed, {} forward queued, {} forward written, {} parked, {} inbox pending",
            q("claimed"),
            q("forward_queued"),
            q("forward_written"),
            q("parked"),
            q("inbox_pending")
        ),
    )?;
    if let Some(c) = s
        .get("tcp")
        .and_then(|t| t.get("connections"))
        .and_then(Value::as_u64)
    {
        line(
            out,
            "tcp",
            plural(c, "platform connection", "platform connections"),
        )?;
    }
    line(
        out,
        "store",
        format!(
            "{}; since start {}, {}, {}",
            size(n("store_bytes")),
            plural(n("batches"), "batch", "batches"),
            plural(n("files"), "file", "files"),
            plural(n("flushes"), "flush", "flushes")
        ),
    )?;
    render_config(out, s.get("config").unwrap_or(&Value::Null))
}

/// The `config` part of `status`: the generation in force, the last
/// refused reload, what waits for a restart, the environment's overrides.
fn render_config(out: &mut impl Write, c: &Value) -> std::io::Result<()> {
    if c.is_null() {
        return Ok(());
    }
    let n = |f: &str| number(c, f);
    writeln!(
        out,
        "{:<10} {} generation {}, applied {}; {}, {}",
        "config",
        text(c, "source"),
        n("generation"),
        iso_utc(n("applied_ms")),
        plural(n("reloads"), "reload", "reloads"),
        plural(n("failures"), "refused", "refused")
    )?;
    if let Some(e) = c.get("error").filter(|e| !e.is_null()) {
        writeln!(
            out,
            "  NOT RELOADED at {}, the running configuration stays: {}",
            iso_utc(number(e, "at_ms")),
            text(e, "message")
        )?;
    }
    for r in c
        .get("restart_needed")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        writeln!(out, "  restart needed: {}", r.as_str().unwrap_or(""))?;
    }
    for o in c
        .get("overrides")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        writeln!(
            out,
            "  environment: {} sets {}",
            text(o, "var"),
            text(o, "key")
        )?;
    }
    Ok(())
}

fn render_list(out: &mut impl Write, list: &Value, limit: usize) -> std::io::Result<()> {
    let docs = list.as_array().map_or(&[][..], Vec::as_slice);
    if docs.is_empty() {
        return writeln!(out, "no documents");
    }
    let rows: Vec<Vec<String>> = docs
        .iter()
        .map(|d| {
            vec![
                text(d, "id"),
                iso_utc(number(d, "received_ms")),
                text(d, "type"),
                text(d, "status"),
                text(d, "sender"),
                text(d, "key"),
            ]
        })
        .collect();
    table(
        out,
        "",
        &["ID", "RECEIVED", "TYPE", "STATUS", "SENDER", "KEY"],
        &rows,
    )?;
    let n = u64::try_from(docs.len()).unwrap_or(u64::MAX);
    if docs.len() >= limit {
        writeln!(
            out,
            "{} (the limit; --limit shows more)",
            plural(n, "document", "documents")
        )
    } else {
        writeln!(out, "{}", plural(n, "document", "documents"))
    }
}

/// A finding as one line: `error SET_PAID_AMOUNT OrderHead/acturalPaid: …`.
fn finding(f: &Value) -> String {
    let field = text(f, "field");
    let at = if field.is_empty() {
        String::new()
    } else {
        format!(" {field}:")
    };
    format!(
        "{} {}{at} {}",
        text(f, "severity"),
        text(f, "rule"),
        text(f, "message")
    )
}

fn render_document(out: &mut impl Write, a: &Value) -> std::io::Result<()> {
    let doc = a.get("document").cloned().unwrap_or(Value::Null);
    writeln!(
        out,
        "document {}  {}  {}",
        text(a, "id"),
        text(&doc, "type"),
        text(&doc, "key")
    )?;
    let app_type = text(&doc, "app_type");
    let mut facts = vec![
        ("status", text(&doc, "status")),
        (
            "sender",
            if app_type.is_empty() {
                text(&doc, "sender")
            } else {
                format!("{} (appType {app_type})", text(&doc, "sender"))
            },
        ),
        ("received", iso_utc(number(&doc, "received_ms"))),
    ];
    if let Some(m) = a.get("message").filter(|m| !m.is_null()) {
        let source = m.get("source").cloned().unwrap_or(Value::Null);
        let (kind, name) = (text(&source, "kind"), text(&source, "name"));
        let from = if kind == name {
            kind
        } else {
            format!("{kind} {name}")
        };
        let mut what = format!(
            "{} from {from}, file {}, {}",
            text(m, "id"),
            text(&source, "file"),
            plural(number(m, "size"), "byte", "bytes")
        );
        for field in ["encoding", "disposition"] {
            let t = text(m, field);
            if !t.is_empty() {
                what.push_str(", ");
                what.push_str(&t);
            }
        }
        if m.get("signed").and_then(Value::as_bool) == Some(true) {
            what.push_str(", signed");
        }
        facts.push(("message", what));
    }
    if let Some(ans) = a.get("answers").filter(|v| !v.is_null()) {
        facts.push((
            "answers",
            format!(
                "{} {} {} ({})",
                text(ans, "id"),
                text(ans, "type"),
                text(ans, "key"),
                text(ans, "status")
            ),
        ));
    }
    let matches: Vec<String> = items(a, "matches")
        .iter()
        .filter_map(Value::as_str)
        .filter(|id| *id != text(a, "id"))
        .map(str::to_owned)
        .collect();
    if !matches.is_empty() {
        facts.push(("same key", matches.join(", ")));
    }
    for (label, value) in &facts {
        writeln!(out, "  {label:<9} {value}")?;
    }
    if let Some(m) = a.get("message") {
        for f in items(m, "findings") {
            writeln!(out, "  {}", finding(f))?;
        }
    }

    match a.get("set").filter(|s| !s.is_null()) {
        Some(set) => {
            writeln!(
                out,
                "set {}: {} ({})",
                text(set, "key"),
                text(set, "status"),
                iso_utc(number(set, "at_ms"))
            )?;
            let rows: Vec<Vec<String>> = items(set, "members")
                .iter()
                .map(|m| {
                    ["id", "type", "status", "sender", "key"]
                        .iter()
                        .map(|f| text(m, f))
                        .collect()
                })
                .collect();
            table(out, "  ", &["ID", "TYPE", "STATUS", "SENDER", "KEY"], &rows)?;
            for f in items(set, "findings") {
                writeln!(out, "  {}", finding(f))?;
            }
        }
        None => writeln!(out, "set: none")?,
    }

    writeln!(out, "history")?;
    let history = items(a, "history");
    let status_width = history
        .iter()
        .map(|e| text(e, "status").chars().count())
        .max()
        .unwrap_or(0);
    for e in history {
        let (at, status, info) = (
            iso_utc(number(e, "at_ms")),
            text(e, "status"),
            text(e, "info"),
        );
        writeln!(
            out,
            "{}",
            format!("  {at}  {status:<status_width$}  {info}").trim_end()
        )?;
        for f in items(e, "findings") {
            writeln!(out, "  {:20}  {}", "", finding(f))?;
        }
    }

    let receipts = items(a, "receipts");
    if receipts.is_empty() {
        writeln!(out, "receipts: none")?;
    } else {
        writeln!(out, "receipts")?;
        let rows: Vec<Vec<String>> = receipts
            .iter()
            .map(|r| {
                let mut row: Vec<String> = ["id", "type", "status", "code", "time"]
                    .iter()
                    .map(|f| text(r, f))
                    .collect();
                let current = r.get("current").and_then(Value::as_bool) == Some(true);
                row.push(if current { "yes" } else { "" }.to_owned());
                row.push(text(r, "info"));
                row
            })
            .collect();
        table(
            out,
            "  ",
            &["ID", "TYPE", "STATUS", "CODE", "TIME", "CURRENT", "INFO"],
            &rows,
        )?;
    }

    if a.get("raw").is_some() {
        match a.get("raw").and_then(Value::as_str) {
            Some(raw) => {
                writeln!(out, "raw message")?;
                writeln!(out, "{}", raw.trim_end())?;
            }
            None => writeln!(out, "raw message: not in the store")?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (secs, want) in [
            (0, "0s"),
            (59, "59s"),
            (61, "1m 1s"),
            (7925, "2h 12m 5s"),
            (90_061, "1d 1h 1m"),
        ] {
            assert_eq!(duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn sizes() {
        for (bytes, want) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1_572_864, "1.5 MiB"),
            (3 << 30, "3.0 GiB"),
        ] {
            assert_eq!(size(bytes), want, "{bytes}");
        }
    }

    #[test]
    fn tables_align() {
        let mut out = Vec::new();
        let rows = vec![
            vec!["1.0".to_owned(), "CEB311".to_owned(), "k".to_owned()],
            vec!["10.2".to_owned(), "DEC_RESULT".to_owned(), String::new()],
        ];
        table(&mut out, "  ", &["ID", "TYPE", "KEY"], &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "  ID    TYPE        KEY\n  1.0   CEB311      k\n  10.2  DEC_RESULT\n"
        );
    }
}
