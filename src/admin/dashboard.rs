//! The admin dashboard's HTML: pure rendering of what [`super::ui`]
//! gathers (no I/O, no clock: the time is given).
//!
//! Every page is one self-contained document: inline CSS, no script, no
//! font or image from anywhere. Labels are bilingual side by side (`拒收
//! Refused`). Everything that comes from a message, a file name, a
//! configuration or the store goes through [`esc`] (text and attribute
//! values alike) or [`pct`] (URL parts, then [`esc`]); only the constant
//! markup of this module is written as is.

use std::fmt::Write as _;

use serde_json::Value;

use super::time::iso_utc;

/// Escapes text for HTML element content and for quoted attribute values.
pub use crate::formats::html_escape as esc;

/// Percent-encodes text for one URL path segment or query value (every
/// byte but ASCII letters, digits and `-._~`).
pub fn pct(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The dashboard page's link to a document (an id or a business key).
pub fn document_href(id: &str) -> String {
    format!("/ui/documents/{}", pct(id))
}

/// One sender or platform, as the newest stored messages and the queues
/// show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SenderRow {
    /// `sender`, `tcp` (a platform) or `customs`.
    pub kind: String,
    /// The sender's or platform's name.
    pub name: String,
    /// The newest message received from it (ms since the epoch).
    pub last_ms: Option<u64>,
    /// That message's file.
    pub last_file: String,
    /// Messages among the newest ones scanned.
    pub received: usize,
    /// Of those, refused (in part or as a whole).
    pub refused: usize,
    /// Messages on their way to customs: queued.
    pub forward_queued: usize,
    /// Written to the customs OutBox, not yet seen sent.
    pub forward_written: usize,
    /// Parked after transmission failures (or failed, waiting for a retry).
    pub forward_parked: usize,
    /// Receipts waiting to be written into its InBox (or sent).
    pub inbox_pending: usize,
}

/// One client's push queue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientRow {
    /// The client id.
    pub id: String,
    /// Its enterprise.
    pub enterprise: String,
    /// `folder …`, `tcp …` or `email …`.
    pub delivery: String,
    /// Entries queued (not parked).
    pub queued: usize,
    /// Entries parked.
    pub parked: usize,
    /// Entries in the delivered log.
    pub delivered: usize,
    /// The newest entry of the delivered log: when, and what.
    pub last_delivered: Option<(u64, String)>,
    /// The oldest queued entry (ms since the epoch).
    pub oldest_ms: Option<u64>,
    /// The last delivery error.
    pub last_error: String,
}

/// One reason a refusal gives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reason {
    /// Rule code.
    pub rule: String,
    /// Element path (may be empty).
    pub field: String,
    /// One sentence.
    pub message: String,
}

/// A refused file or document, or a failed order set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Refusal {
    /// When (ms since the epoch).
    pub at_ms: u64,
    /// `file` (refused as a whole), `document` or `set` (failed the
    /// cross-document check).
    pub what: String,
    /// The sender (or senders, of a set).
    pub sender: String,
    /// The file name (empty for a set).
    pub file: String,
    /// The message type (empty when unknown).
    pub ty: String,
    /// The business key or the set key (empty when unknown).
    pub key: String,
    /// The document page's id (empty: no document to show).
    pub doc: String,
    /// Why.
    pub reasons: Vec<Reason>,
}

/// A parked push.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParkedRow {
    /// The client.
    pub client: String,
    /// Its place in the queue.
    pub seq: u64,
    /// The document id.
    pub doc: String,
    /// Its message type.
    pub ty: String,
    /// Its business key.
    pub key: String,
    /// The subscribed status (入库 …), empty for data.
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub queued_ms: u64,
    /// The last error.
    pub error: String,
}

/// Everything the overview page shows.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    /// `GET /status`, as the API answers it.
    pub status: Value,
    /// Senders, platforms and customs.
    pub senders: Vec<SenderRow>,
    /// How many of the newest messages the senders' counts cover.
    pub window: usize,
    /// The registered clients.
    pub clients: Vec<ClientRow>,
    /// The latest refusals, newest first.
    pub refusals: Vec<Refusal>,
    /// The parked pushes.
    pub parked: Vec<ParkedRow>,
    /// Now (ms since the epoch), for ages.
    pub now_ms: u64,
}

const STYLE: &str = "\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI','Noto Sans CJK SC','PingFang SC','WenQuanYi Micro Hei',sans-serif;margin:0;color:#1d2330;background:#f4f6f9}\
header{background:#1f3a5f;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center;flex-wrap:wrap}\
header a{color:#fff;text-decoration:none;font-weight:600;font-size:16px}\
header form{margin-left:auto;display:flex;gap:6px}\
input[type=text],input[type=password]{padding:5px 8px;border:1px solid #9aa7b8;border-radius:4px;min-width:24em;font:inherit}\
button{padding:5px 12px;border:0;border-radius:4px;background:#2f6fb3;color:#fff;font:inherit;cursor:pointer}\
main{padding:12px 20px 30px;max-width:1400px}\
h1{font-size:20px;margin:10px 0}h2{font-size:16px;margin:22px 0 8px;border-bottom:2px solid #c9d3e0;padding-bottom:3px}\
table{border-collapse:collapse;background:#fff;width:100%;margin:4px 0 8px}\
th,td{border:1px solid #d9e0ea;padding:4px 8px;text-align:left;vertical-align:top}\
td{overflow-wrap:break-word}td code,td a{overflow-wrap:anywhere}.t{white-space:nowrap}th{background:#e8edf4;font-weight:600}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
.cards{display:flex;flex-wrap:wrap;gap:8px}\
.card{background:#fff;border:1px solid #d9e0ea;border-radius:6px;padding:6px 12px;min-width:9em}\
.card b{display:block;font-size:18px}.card i{font-style:normal;color:#5b6678;font-size:12px}\
.bad{color:#b3261e;font-weight:600}.ok{color:#1e7b34;font-weight:600}.warn{color:#9a6700;font-weight:600}\
.muted{color:#6b7585}code,pre{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:13px}\
pre{background:#fff;border:1px solid #d9e0ea;padding:8px;overflow:auto;white-space:pre-wrap;word-break:break-all}\
ul.r{margin:0;padding-left:1.2em}\
footer{padding:10px 20px;color:#6b7585;font-size:12px}";

/// A whole page around `body`. `refresh`: reload every this many seconds.
pub fn page(title: &str, body: &str, refresh: Option<u32>) -> String {
    let mut out = String::with_capacity(body.len().saturating_add(4096));
    out.push_str("<!DOCTYPE html>\n<html lang=\"zh-Hans\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    if let Some(secs) = refresh {
        let _ = write!(out, "<meta http-equiv=\"refresh\" content=\"{secs}\">");
    }
    let _ = write!(
        out,
        "<title>{} · customs-gateway</title><style>{STYLE}</style></head><body>",
        esc(title)
    );
    out.push_str(
        "<header><a href=\"/\">customs-gateway 管理面板 Dashboard</a>\
         <form method=\"get\" action=\"/ui/search\" role=\"search\">\
         <input type=\"text\" name=\"q\" id=\"q\" \
         placeholder=\"orderNo / logisticsNo / copNo / CUS_CIQ_NO / 12.0\" \
         aria-label=\"业务编号 Business key\">\
         <button type=\"submit\">查询 Search</button></form></header><main>",
    );
    out.push_str(body);
    out.push_str(
        "</main><footer>时间为 UTC · Times are UTC · \
         <span class=\"muted\">customs-gateway</span></footer></body></html>\n",
    );
    out
}

/// `7925` seconds as `2 h 12 min 5 s`.
fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) => format!("{m} min {s} s"),
        (0, _, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

/// A byte count for people.
fn bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB {
        format!("{}.{} MiB", n / MIB, n % MIB * 10 / MIB)
    } else {
        format!("{} KiB", n.div_ceil(1024))
    }
}

/// A time as UTC text (kept on one line).
fn time(ms: u64) -> String {
    format!("<span class=\"t\">{}</span>", iso_utc(ms))
}

/// A time as UTC text, or a dash.
fn when(ms: Option<u64>) -> String {
    ms.map_or_else(|| "—".to_owned(), time)
}

/// A gateway status with its Chinese name (customs' codes as they are).
pub fn status_label(status: &str) -> String {
    let zh = match status {
        "received" => "已接收",
        "refused" => "已拒收",
        "waiting" => "等待配套",
        "duplicate" => "重复",
        "set_failed" => "对碰失败",
        "set_passed" => "对碰通过",
        "deleted" => "已删除",
        "replaced" => "已替换",
        "forwarded" => "已转发",
        "transmitted" => "已发送",
        "transmission_failed" => "发送失败",
        "parked" => "已暂停",
        "receipt" => "回执",
        "orphan" => "无主回执",
        s if s.starts_with("customs:") => "海关",
        s if s.starts_with("channel:") => "通道",
        _ => "",
    };
    if zh.is_empty() {
        esc(status)
    } else {
        format!("{zh} {}", esc(status))
    }
}

/// The CSS class of a status: refusals and failures stand out.
fn status_class(status: &str) -> &'static str {
    match status {
        "refused" | "set_failed" | "transmission_failed" | "parked" | "orphan" | "fail" => "bad",
        "set_passed" | "transmitted" | "pass" => "ok",
        "waiting" | "incomplete" => "warn",
        _ => "",
    }
}

fn status_cell(status: &str) -> String {
    format!(
        "<td class=\"{}\">{}</td>",
        status_class(status),
        status_label(status)
    )
}

/// A link to a document's page, showing `text`.
fn doc_link(id: &str, text: &str) -> String {
    if id.is_empty() {
        return esc(text);
    }
    format!("<a href=\"{}\">{}</a>", esc(&document_href(id)), esc(text))
}

/// A figure and its label. `value` is markup (escaped by the caller).
fn card(out: &mut String, value: &str, label: &str) {
    card_class(out, value, label, "");
}

fn card_class(out: &mut String, value: &str, label: &str, class: &str) {
    let _ = write!(
        out,
        "<div class=\"card\"><b class=\"{class}\">{value}</b><i>{label}</i></div>"
    );
}

fn num(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A JSON value as short text (strings without quotes).
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".to_owned(),
        v => v.to_string(),
    }
}

/// The `/status` keys the health section lays out; any other key (a later
/// addition) is listed as it is.
const KNOWN_STATUS: [&str; 17] = [
    "config",
    "uptime_secs",
    "started_ms",
    "documents",
    "messages",
    "open_sets",
    "overdue_sets",
    "overdue",
    "pending_waybills",
    "queues",
    "orphans",
    "store_bytes",
    "batches",
    "files",
    "flushes",
    "tcp",
    "v",
];

fn health(out: &mut String, s: &Value) {
    out.push_str("<h2 id=\"health\">运行状况 Health</h2><div class=\"cards\">");
    card(out, &duration(num(s, "uptime_secs")), "运行时间 Uptime");
    card(out, &iso_utc(num(s, "started_ms")), "启动于 Started");
    card(out, &bytes(num(s, "store_bytes")), "存储 Store size");
    card(out, &num(s, "messages").to_string(), "报文 Messages");
    card(out, &num(s, "orphans").to_string(), "无主回执 Orphans");
    card(out, &num(s, "open_sets").to_string(), "未结配套 Open sets");
    let overdue = num(s, "overdue_sets");
    card_class(
        out,
        &overdue.to_string(),
        "超时配套 Overdue sets",
        if overdue > 0 { "bad" } else { "" },
    );
    card(
        out,
        &num(s, "pending_waybills").to_string(),
        "待配运单 Waiting waybills",
    );
    match s.get("tcp").and_then(|t| t.get("connections")) {
        Some(c) => card(out, &esc(&plain(c)), "TCP 连接 Platform connections"),
        None => card(out, "—", "TCP 未启用 No TCP source"),
    }
    let _ = write!(out, "</div><div class=\"cards\" style=\"margin-top:8px\">");
    let q = s.get("queues").cloned().unwrap_or(Value::Null);
    for (key, label) in [
        ("claimed", "认领中 Claimed files"),
        ("forward_queued", "待转发海关 Queued for customs"),
        ("forward_written", "已写出待发送 Written, not yet sent"),
        ("parked", "已暂停(海关) Parked for customs"),
        ("inbox_pending", "待写回执 Receipts to write"),
    ] {
        card(out, &num(&q, key).to_string(), label);
    }
    for (key, label) in [
        ("batches", "批次 Batches"),
        ("files", "文件 Files"),
        ("flushes", "落盘 Flushes"),
    ] {
        card(out, &num(s, key).to_string(), label);
    }
    out.push_str("</div>");
    configuration(out, s.get("config").unwrap_or(&Value::Null));
    // Documents by status.
    out.push_str(
        "<table style=\"width:auto\"><tr><th>状态 Status</th><th>单证 Documents</th></tr>",
    );
    if let Some(Value::Object(docs)) = s.get("documents") {
        for (status, n) in docs {
            let _ = write!(
                out,
                "<tr>{}<td class=\"n\">{}</td></tr>",
                status_cell(status),
                esc(&plain(n))
            );
        }
        if docs.is_empty() {
            out.push_str("<tr><td colspan=\"2\" class=\"muted\">无 None</td></tr>");
        }
    }
    out.push_str("</table>");
    // Anything else /status says (a configuration reload error, say).
    if let Value::Object(all) = s {
        let extra: Vec<_> = all
            .iter()
            .filter(|(k, _)| !KNOWN_STATUS.contains(&k.as_str()))
            .collect();
        if !extra.is_empty() {
            out.push_str(
                "<table style=\"width:auto\"><tr><th>状态项 Status item</th><th>值 Value</th></tr>",
            );
            for (k, v) in extra {
                let _ = write!(
                    out,
                    "<tr><th>{}</th><td><code>{}</code></td></tr>",
                    esc(k),
                    esc(&plain(v))
                );
            }
            out.push_str("</table>");
        }
    }
}

/// The configuration in force (`/status`'s `config`): its generation, the
/// reloads, the last refused one and the keys waiting for a restart.
fn configuration(out: &mut String, c: &Value) {
    if !c.is_object() {
        return;
    }
    out.push_str("<div class=\"cards\" style=\"margin-top:8px\">");
    card(
        out,
        &num(c, "generation").to_string(),
        "配置版本 Configuration generation",
    );
    card(out, &time(num(c, "applied_ms")), "生效于 Applied");
    card(out, &num(c, "reloads").to_string(), "重载 Reloads");
    let failures = num(c, "failures");
    card_class(
        out,
        &failures.to_string(),
        "重载被拒 Refused reloads",
        if failures > 0 { "bad" } else { "" },
    );
    out.push_str("</div>");
    let _ = write!(
        out,
        "<p class=\"muted\">配置文件 Configuration file: <code>{}</code></p>",
        esc(text(c, "source"))
    );
    if let Some(e) = c.get("error").filter(|e| e.is_object()) {
        let _ = write!(
            out,
            "<p class=\"bad\" id=\"reload-error\">配置重载被拒，仍用原配置 The last reload was refused; \
             the running configuration stays ({}): {}</p>",
            time(num(e, "at_ms")),
            esc(text(e, "message"))
        );
    }
    let waiting: Vec<String> = c
        .get("restart_needed")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|k| esc(&plain(k))).collect())
        .unwrap_or_default();
    if !waiting.is_empty() {
        let _ = write!(
            out,
            "<p class=\"warn\">需重启才生效 Waiting for a restart: <code>{}</code></p>",
            waiting.join("</code>, <code>")
        );
    }
}

fn senders(out: &mut String, o: &Overview) {
    let _ = write!(
        out,
        "<h2 id=\"senders\">发送方 Senders</h2>\
         <p class=\"muted\">收到、拒收按最近 {w} 份报文计 · Received and refused count the newest {w} messages.</p>\
         <table><tr><th>发送方 Sender</th><th>来源 Source</th><th>最近收到 Last received</th>\
         <th>文件 File</th><th>收到 Received</th><th>拒收 Refused</th>\
         <th>待转发 Queued for customs</th><th>已写出 Written</th><th>已暂停 Parked</th>\
         <th>待写回执 Receipts to write</th></tr>",
        w = o.window
    );
    for r in &o.senders {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>\
             <td class=\"n\">{}</td><td class=\"n{}\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n{}\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&r.name),
            esc(&r.kind),
            when(r.last_ms),
            esc(&r.last_file),
            r.received,
            if r.refused > 0 { " bad" } else { "" },
            r.refused,
            r.forward_queued,
            r.forward_written,
            if r.forward_parked > 0 { " bad" } else { "" },
            r.forward_parked,
            r.inbox_pending,
        );
    }
    if o.senders.is_empty() {
        out.push_str(
            "<tr><td colspan=\"10\" class=\"muted\">尚未收到报文 Nothing received yet</td></tr>",
        );
    }
    out.push_str("</table>");
}

fn clients(out: &mut String, o: &Overview) {
    out.push_str(
        "<h2 id=\"clients\">客户端 Clients</h2>\
         <table><tr><th>客户端 Client</th><th>企业 Enterprise</th><th>投递 Delivery</th>\
         <th>排队 Queued</th><th>已暂停 Parked</th><th>已送达 Delivered</th>\
         <th>最近送达 Last delivered</th><th>最早排队 Oldest queued</th><th>最近错误 Last error</th></tr>",
    );
    for c in &o.clients {
        let last = match &c.last_delivered {
            Some((at, what)) => format!(
                "{}<br><span class=\"muted\">{}</span>",
                time(*at),
                esc(what)
            ),
            None => "—".to_owned(),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td class=\"n\">{}</td>\
             <td class=\"n{}\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"bad\">{}</td></tr>",
            esc(&c.id),
            esc(&c.enterprise),
            esc(&c.delivery),
            c.queued,
            if c.parked > 0 { " bad" } else { "" },
            c.parked,
            c.delivered,
            last,
            when(c.oldest_ms),
            esc(&c.last_error),
        );
    }
    if o.clients.is_empty() {
        out.push_str(
            "<tr><td colspan=\"9\" class=\"muted\">没有登记的客户端 No client registered</td></tr>",
        );
    }
    out.push_str("</table>");
}

fn reasons(list: &[Reason]) -> String {
    let mut out = String::from("<ul class=\"r\">");
    for r in list {
        let field = if r.field.is_empty() {
            String::new()
        } else {
            format!(" <code>{}</code>", esc(&r.field))
        };
        let _ = write!(
            out,
            "<li><b>[{}]</b>{field} {}</li>",
            esc(&r.rule),
            esc(&r.message)
        );
    }
    out.push_str("</ul>");
    out
}

fn refusals(out: &mut String, o: &Overview) {
    out.push_str(
        "<h2 id=\"refusals\">最近拒收 Latest refusals</h2>\
         <table><tr><th>时间 When</th><th>类别 What</th><th>发送方 Sender</th><th>文件 File</th>\
         <th>类型 Type</th><th>业务编号 Business key</th><th>原因 Reasons</th></tr>",
    );
    for r in &o.refusals {
        let what = match r.what.as_str() {
            "file" => "整个文件 Whole file",
            "document" => "单证 Document",
            "set" => "对碰失败 Set failed",
            _ => "",
        };
        let _ = write!(
            out,
            "<tr class=\"refusal\"><td>{}</td><td>{what}</td><td>{}</td><td><code>{}</code></td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            time(r.at_ms),
            esc(&r.sender),
            esc(&r.file),
            esc(&r.ty),
            doc_link(&r.doc, &r.key),
            reasons(&r.reasons),
        );
    }
    if o.refusals.is_empty() {
        out.push_str("<tr><td colspan=\"7\" class=\"muted\">无 None</td></tr>");
    }
    out.push_str("</table>");
}

fn overdue(out: &mut String, status: &Value, now_ms: u64) {
    out.push_str(
        "<h2 id=\"overdue\">超时配套 Overdue sets</h2>\
         <table><tr><th>配套 Set</th><th>已到 Present</th><th>缺少 Missing</th>\
         <th>等待自 Waiting since</th><th>已等待 Waited</th></tr>",
    );
    let list = status
        .get("overdue")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for s in &list {
        let join = |k: &str| {
            s.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(plain).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        };
        let since = num(s, "since_ms");
        let key = text(s, "key");
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"bad\">{}</td><td>{}</td><td>{}</td></tr>",
            if key.is_empty() {
                "<span class=\"muted\">运单无配套 Waybill without a set</span>".to_owned()
            } else {
                doc_link(key, key)
            },
            esc(&join("members")),
            esc(&join("missing")),
            time(since),
            duration(now_ms.saturating_sub(since) / 1000),
        );
    }
    if list.is_empty() {
        out.push_str("<tr><td colspan=\"5\" class=\"muted\">无 None</td></tr>");
    }
    out.push_str("</table>");
}

fn parked(out: &mut String, o: &Overview) {
    out.push_str(
        "<h2 id=\"parked\">已暂停推送 Parked pushes</h2>\
         <p class=\"muted\">重新排队 Queue again: <code>customs-gateway replay --client ID --parked</code></p>\
         <table><tr><th>客户端 Client</th><th>序号 Seq</th><th>单证 Document</th><th>类型 Type</th>\
         <th>业务编号 Business key</th><th>状态 Status</th><th>尝试 Attempts</th>\
         <th>排队于 Queued</th><th>错误 Error</th></tr>",
    );
    for p in &o.parked {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"n\">{}</td><td>{}</td><td class=\"bad\">{}</td></tr>",
            esc(&p.client),
            p.seq,
            doc_link(&p.doc, &p.doc),
            esc(&p.ty),
            esc(&p.key),
            esc(&p.status),
            p.attempts,
            time(p.queued_ms),
            esc(&p.error),
        );
    }
    if o.parked.is_empty() {
        out.push_str("<tr><td colspan=\"9\" class=\"muted\">无 None</td></tr>");
    }
    out.push_str("</table>");
}

/// The overview page (`GET /`), reloading itself every 30 seconds.
pub fn overview(o: &Overview) -> String {
    let mut body = String::with_capacity(16 * 1024);
    body.push_str("<h1>运行概览 Overview</h1>");
    health(&mut body, &o.status);
    senders(&mut body, o);
    clients(&mut body, o);
    refusals(&mut body, o);
    overdue(&mut body, &o.status, o.now_ms);
    parked(&mut body, o);
    page("管理面板 Dashboard", &body, Some(30))
}

fn findings_list(v: &Value) -> String {
    let list: Vec<Reason> = v
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| Reason {
                    rule: text(f, "rule").to_owned(),
                    field: text(f, "field").to_owned(),
                    message: text(f, "message").to_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    if list.is_empty() {
        String::new()
    } else {
        reasons(&list)
    }
}

fn row(out: &mut String, label: &str, value: &str) {
    let _ = write!(out, "<tr><th>{label}</th><td>{value}</td></tr>");
}

/// A list of documents (`{"id", "type", "key", "status", "sender"}`).
fn members(out: &mut String, list: &[Value], current: &str) {
    out.push_str(
        "<table><tr><th>单证 Document</th><th>类型 Type</th><th>业务编号 Business key</th>\
         <th>状态 Status</th><th>发送方 Sender</th></tr>",
    );
    for m in list {
        let id = text(m, "id");
        let mark = if id == current { " ◀" } else { "" };
        let _ = write!(
            out,
            "<tr><td>{}{mark}</td><td>{}</td><td>{}</td>{}<td>{}</td></tr>",
            doc_link(id, id),
            esc(text(m, "type")),
            esc(text(m, "key")),
            status_cell(text(m, "status")),
            esc(text(m, "sender")),
        );
    }
    out.push_str("</table>");
}

/// A document's page, from `GET /documents/{id}`'s answer (`raw`: with
/// the message's text).
pub fn document(v: &Value) -> String {
    let id = text(v, "id");
    let d = v.get("document").cloned().unwrap_or(Value::Null);
    let m = v.get("message").cloned().unwrap_or(Value::Null);
    let mut b = String::with_capacity(8 * 1024);
    let _ = write!(
        b,
        "<h1>单证 Document {} <span class=\"muted\">{}</span></h1>",
        esc(id),
        esc(text(&d, "type"))
    );
    if let Some(list) = v.get("matches").and_then(Value::as_array) {
        b.push_str("<p>此编号对应多个单证 This key names several documents: ");
        let links: Vec<String> = list
            .iter()
            .map(|x| {
                let x = plain(x);
                doc_link(&x, &x)
            })
            .collect();
        b.push_str(&links.join(", "));
        b.push_str("</p>");
    }
    b.push_str("<table style=\"width:auto\">");
    row(
        &mut b,
        "业务编号 Business key",
        &format!("<code>{}</code>", esc(text(&d, "key"))),
    );
    let status = text(&d, "status");
    row(
        &mut b,
        "当前状态 Status",
        &format!(
            "<span class=\"{}\">{}</span>",
            status_class(status),
            status_label(status)
        ),
    );
    row(&mut b, "发送方 Sender", &esc(text(&d, "sender")));
    if let Some(owner) = d.get("owner").and_then(Value::as_str) {
        row(&mut b, "所属企业 Owner", &esc(owner));
    }
    let app = text(&d, "app_type");
    if !app.is_empty() {
        row(&mut b, "申报类型 appType", &esc(app));
    }
    row(&mut b, "收到 Received", &time(num(&d, "received_ms")));
    if !m.is_null() {
        let source = m.get("source").cloned().unwrap_or(Value::Null);
        row(
            &mut b,
            "文件 File",
            &format!(
                "<code>{}</code> <span class=\"muted\">({} {})</span>",
                esc(text(&source, "file")),
                esc(text(&source, "kind")),
                esc(text(&source, "name"))
            ),
        );
        row(
            &mut b,
            "报文 Message",
            &format!(
                "{} · {} B · {} · {} · sha256 <code>{}</code>",
                num(&m, "id"),
                num(&m, "size"),
                esc(text(&m, "encoding")),
                esc(text(&m, "disposition")),
                esc(text(&m, "sha256"))
            ),
        );
        let f = findings_list(m.get("findings").unwrap_or(&Value::Null));
        if !f.is_empty() {
            row(&mut b, "报文问题 Message findings", &f);
        }
    }
    if let Some(a) = v.get("answers").filter(|a| !a.is_null()) {
        let aid = text(a, "id");
        row(
            &mut b,
            "回执针对 Answers",
            &format!(
                "{} {} <code>{}</code>",
                doc_link(aid, aid),
                esc(text(a, "type")),
                esc(text(a, "key"))
            ),
        );
    }
    b.push_str("</table>");

    // The set.
    b.push_str("<h2 id=\"set\">配套 Order set</h2>");
    match v.get("set").filter(|s| !s.is_null()) {
        Some(set) => {
            let st = text(set, "status");
            let _ = write!(
                b,
                "<p><code>{}</code> · <span class=\"{}\">{}</span> · {}</p>",
                esc(text(set, "key")),
                status_class(st),
                esc(st),
                time(num(set, "at_ms"))
            );
            b.push_str(&findings_list(set.get("findings").unwrap_or(&Value::Null)));
            let list = set
                .get("members")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            members(&mut b, &list, id);
        }
        None => b.push_str("<p class=\"muted\">不属于配套 In no order set</p>"),
    }

    // The history.
    b.push_str(
        "<h2 id=\"history\">状态历史 Status history</h2>\
         <table><tr><th>时间 When</th><th>状态 Status</th><th>说明 Info</th><th>问题 Findings</th></tr>",
    );
    for e in v
        .get("history")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let _ = write!(
            b,
            "<tr class=\"event\"><td>{}</td>{}<td>{}</td><td>{}</td></tr>",
            time(num(e, "at_ms")),
            status_cell(text(e, "status")),
            esc(text(e, "info")),
            findings_list(e.get("findings").unwrap_or(&Value::Null)),
        );
    }
    b.push_str("</table>");

    // The receipts.
    b.push_str(
        "<h2 id=\"receipts\">海关回执 Customs receipts</h2>\
         <table><tr><th>回执 Receipt</th><th>类型 Type</th><th>代码 Code</th><th>状态 Status</th>\
         <th>回执时间 Time</th><th>说明 Info</th><th>当前 Current</th></tr>",
    );
    let receipts = v
        .get("receipts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for r in &receipts {
        let rid = text(r, "id");
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td><td>{}</td><td>{}</td></tr>",
            doc_link(rid, rid),
            esc(text(r, "type")),
            esc(text(r, "code")),
            status_cell(text(r, "status")),
            esc(text(r, "time")),
            esc(text(r, "info")),
            if r.get("current").and_then(Value::as_bool) == Some(true) {
                "是 yes"
            } else {
                "否 no"
            },
        );
    }
    if receipts.is_empty() {
        b.push_str("<tr><td colspan=\"7\" class=\"muted\">尚无回执 No receipt yet</td></tr>");
    }
    b.push_str("</table>");

    // The message's text, on demand.
    match v.get("raw") {
        Some(Value::String(raw)) => {
            let _ = write!(
                b,
                "<h2 id=\"raw\">报文原文 Message text</h2><pre>{}</pre>",
                esc(raw)
            );
        }
        Some(_) => b.push_str("<p class=\"muted\">原文已不在 The message's bytes are gone.</p>"),
        None => {
            let _ = write!(
                b,
                "<p><a href=\"{}?raw=true#raw\">显示报文原文 Show the message text</a></p>",
                esc(&document_href(id))
            );
        }
    }
    page(&format!("单证 Document {id}"), &b, None)
}

/// The search page: what was asked and the documents found (`/messages`
/// shapes).
pub fn search(q: &str, hits: &[Value], limit: usize) -> String {
    let mut b = String::new();
    let _ = write!(b, "<h1>查询 Search: <code>{}</code></h1>", esc(q));
    if hits.is_empty() {
        b.push_str(
            "<p>没有找到 Nothing found. 可输入单证编号 (12.0)、完整业务编号 \
             (orderNo=…,ebpCode=…) 或其中一段 · Give a document id, a whole business key or a part of one.</p>",
        );
        return page("查询 Search", &b, None);
    }
    if hits.len() >= limit {
        let _ = write!(
            b,
            "<p class=\"muted\">只显示最新的 {limit} 个 · Only the newest {limit} are shown.</p>"
        );
    }
    b.push_str(
        "<table><tr><th>单证 Document</th><th>收到 Received</th><th>类型 Type</th>\
         <th>业务编号 Business key</th><th>状态 Status</th><th>发送方 Sender</th></tr>",
    );
    for h in hits {
        let id = text(h, "id");
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td></tr>",
            doc_link(id, id),
            time(num(h, "received_ms")),
            esc(text(h, "type")),
            esc(text(h, "key")),
            status_cell(text(h, "status")),
            esc(text(h, "sender")),
        );
    }
    b.push_str("</table>");
    page("查询 Search", &b, None)
}

/// The page asking for the admin token. `next`: where to go after (a
/// local path); `wrong`: a token was given and is not the one.
pub fn login(next: &str, wrong: bool) -> String {
    let mut b = String::from("<h1>需要管理令牌 The admin token is needed</h1>");
    if wrong {
        b.push_str("<p class=\"bad\">令牌不对 That is not the token.</p>");
    }
    let _ = write!(
        b,
        "<p>输入 <code>[admin] token_file</code> 中的令牌。浏览器会在本次会话中记住它\
         (HttpOnly, SameSite=Strict cookie)。<br>Give the token of <code>[admin] token_file</code>; \
         the browser keeps a cookie for this session.</p>\
         <form method=\"post\" action=\"/ui/login\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <input type=\"password\" name=\"token\" autocomplete=\"current-password\" autofocus \
         aria-label=\"令牌 Token\"> <button type=\"submit\">进入 Enter</button></form>",
        esc(next)
    );
    page("登录 Sign in", &b, None)
}

/// An error page: the status line and one sentence.
pub fn error(code: u16, zh: &str, en: &str, message: &str) -> String {
    let b = format!(
        "<h1>{code} {zh} {en}</h1><p>{}</p><p><a href=\"/\">返回概览 Back to the overview</a></p>",
        esc(message)
    );
    page(&format!("{code} {en}"), &b, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x" + 'y')</script> & more"#),
            "&lt;script&gt;alert(&quot;x&quot; + &#39;y&#39;)&lt;/script&gt; &amp; more"
        );
        assert_eq!(esc("订单 GW1"), "订单 GW1");
    }

    #[test]
    fn percent_encodes_everything_but_unreserved() {
        assert_eq!(pct("12.0"), "12.0");
        assert_eq!(
            pct("orderNo=GW1,ebpCode=A/\"<>"),
            "orderNo%3DGW1%2CebpCode%3DA%2F%22%3C%3E"
        );
        assert_eq!(pct("单"), "%E5%8D%95");
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(duration(5), "5 s");
        assert_eq!(duration(125), "2 min 5 s");
        assert_eq!(duration(7925), "2 h 12 min");
        assert_eq!(duration(90_000), "1 d 1 h");
        assert_eq!(bytes(524_288), "512 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 + 512 * 1024), "3.5 MiB");
    }

    const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'";

    /// Whether the page holds markup from `HOSTILE` (it may only hold its
    /// escaped text).
    fn injected(html: &str) -> bool {
        html.contains("<script") || html.contains("<img") || html.contains("onerror=alert(2)>")
    }

    #[test]
    fn the_overview_escapes_what_comes_from_messages() {
        let o = Overview {
            status: json!({"uptime_secs": 3, "started_ms": 0, "documents": {HOSTILE: 1},
                           "overdue": [{"key": HOSTILE, "members": [HOSTILE], "missing": [HOSTILE],
                                        "since_ms": 0, "waited_secs": 0}],
                           "config": {"source": HOSTILE, "generation": 2, "failures": 1,
                                      "error": {"at_ms": 0, "message": HOSTILE},
                                      "restart_needed": [HOSTILE]},
                           "reload_error": HOSTILE}),
            senders: vec![SenderRow {
                kind: "sender".into(),
                name: HOSTILE.into(),
                last_file: HOSTILE.into(),
                ..SenderRow::default()
            }],
            window: 2000,
            clients: vec![ClientRow {
                id: HOSTILE.into(),
                enterprise: HOSTILE.into(),
                delivery: HOSTILE.into(),
                last_delivered: Some((0, HOSTILE.into())),
                last_error: HOSTILE.into(),
                ..ClientRow::default()
            }],
            refusals: vec![Refusal {
                what: "document".into(),
                sender: HOSTILE.into(),
                file: HOSTILE.into(),
                ty: HOSTILE.into(),
                key: HOSTILE.into(),
                doc: HOSTILE.into(),
                reasons: vec![Reason {
                    rule: HOSTILE.into(),
                    field: HOSTILE.into(),
                    message: HOSTILE.into(),
                }],
                ..Refusal::default()
            }],
            parked: vec![ParkedRow {
                client: HOSTILE.into(),
                doc: HOSTILE.into(),
                key: HOSTILE.into(),
                error: HOSTILE.into(),
                ..ParkedRow::default()
            }],
            now_ms: 0,
        };
        let html = overview(&o);
        assert!(!injected(&html), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // The unknown /status key is shown, escaped; a refused reload stands out.
        assert!(html.contains("reload_error"));
        assert!(html.contains("id=\"reload-error\""));
        // Links carry the id percent-encoded.
        assert!(html.contains("/ui/documents/%3Cscript%3E"));
    }

    #[test]
    fn the_document_page_escapes_what_comes_from_messages() {
        let v = json!({
            "id": HOSTILE,
            "document": {"type": HOSTILE, "key": HOSTILE, "status": HOSTILE, "sender": HOSTILE,
                         "owner": HOSTILE, "app_type": HOSTILE, "received_ms": 0},
            "message": {"id": 1, "source": {"kind": HOSTILE, "name": HOSTILE, "file": HOSTILE},
                        "encoding": HOSTILE, "disposition": HOSTILE, "sha256": HOSTILE,
                        "findings": [{"rule": HOSTILE, "field": HOSTILE, "message": HOSTILE}]},
            "history": [{"at_ms": 0, "status": HOSTILE, "info": HOSTILE,
                         "findings": [{"rule": HOSTILE, "field": "", "message": HOSTILE}]}],
            "set": {"key": HOSTILE, "status": HOSTILE, "at_ms": 0, "findings": [],
                    "members": [{"id": HOSTILE, "type": HOSTILE, "key": HOSTILE,
                                 "status": HOSTILE, "sender": HOSTILE}]},
            "receipts": [{"id": HOSTILE, "type": HOSTILE, "code": HOSTILE, "status": HOSTILE,
                          "time": HOSTILE, "info": HOSTILE, "current": true}],
            "answers": {"id": HOSTILE, "type": HOSTILE, "key": HOSTILE},
            "matches": [HOSTILE],
            "raw": HOSTILE,
        });
        let html = document(&v);
        assert!(!injected(&html), "{html}");
        let hits = [json!({"id": HOSTILE, "type": HOSTILE, "key": HOSTILE,
                           "status": HOSTILE, "sender": HOSTILE})];
        let html = search(HOSTILE, &hits, 100);
        assert!(!injected(&html), "{html}");
        assert!(!injected(&login(HOSTILE, true)));
        assert!(!injected(&error(404, "无", "Not found", HOSTILE)));
    }

    #[test]
    fn statuses_read_in_both_languages() {
        assert_eq!(status_label("refused"), "已拒收 refused");
        assert_eq!(status_label("customs:800"), "海关 customs:800");
        assert_eq!(status_label("<b>"), "&lt;b&gt;");
    }
}
