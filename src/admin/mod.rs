//! The local admin HTTP API, and the CLI's client for it.
//!
//! sled holds an exclusive lock on the store, so while the daemon runs the
//! CLI cannot open it: the daemon answers its questions over a small HTTP
//! API on a local address (`[admin] listen`, `127.0.0.1:8470` by default).
//! The API reads, except for subscriptions (made, cancelled, extended under
//! their rules) and replays of clients' push queues.
//!
//! - [`api`]: the server half (axum), started by the daemon with
//!   [`api::serve`].
//! - [`client`]: the CLI half, a blocking HTTP client ([`client::Client`]).
//! - [`cli`]: the `status`, `messages`, `show`, `subscriptions`, `outbox`,
//!   `replay` and `unrouted` subcommands
//!   ([`cli::AdminCommand`], [`cli::run`]).
//! - [`ui`] and [`dashboard`]: the dashboard's HTML pages for people
//!   (`GET /`, `/ui/search?q=`, `/ui/documents/{id}`, `POST /ui/login`), on
//!   the same listener; [`dashboard`] renders them (pure).
//!
//! # Authentication
//!
//! Without `[admin] token_file` the API takes no token (it listens on a
//! local address). With one, every request must carry
//! `Authorization: Bearer <token>`, where the token is the file's content
//! without surrounding whitespace ([`read_token`]); anything else is
//! answered `401` with `WWW-Authenticate: Bearer`. The token is compared in
//! constant time and never logged. `/metrics` needs it too (Prometheus
//! sends it with `authorization.credentials_file`); `/health` and `/ready`
//! never do ([`api::OPEN_ROUTES`]): load balancers and systemd probe them,
//! and they tell nothing but whether the gateway runs. The dashboard's
//! pages also take a session cookie a browser gets by giving the token
//! once (see [`ui`]); the cookie opens no JSON route.
//!
//! # Routes
//!
//! Every answer is JSON (but `/metrics` and the dashboard's pages). A refusal is `{"error": "<one sentence>"}` with
//! status `400` (a bad query), `401` (no valid token), `404` (no such
//! document, subscription, client or route), `422` (a subscription rule
//! refuses the change), `500` (the store failed) or `503` (not ready, no
//! metrics recorded). Times are milliseconds
//! since the Unix epoch (`*_ms`) and, where a person reads them, ISO-8601
//! UTC text (`2026-11-22T02:13:14Z`). Document ids are `msg.doc` (the
//! gateway's message id and the document's position in it, from 0).
//!
//! ## `GET /health`
//!
//! `200 {"status": "ok"}` while the process serves (liveness).
//!
//! ## `GET /ready`
//!
//! `200 {"ready": true}` once the store is open and restored, the push
//! workers, the folder scanner and (with `[tcp]`) the TCP source run
//! ([`health::Readiness`]); else `503`:
//!
//! ```json
//! {"ready": false, "reason": "the gateway is starting", "waiting": ["scanner", "tcp"]}
//! ```
//!
//! (`"the gateway is stopping"` with `"waiting": []` once a stop began).
//!
//! ## `GET /metrics`
//!
//! The Prometheus text format (`text/plain; version=0.0.4`): every metric
//! of [`crate::metrics`], listed in the README. `503` when the process
//! records no metrics (an API served without `serve`).
//!
//! ## `GET /status`
//!
//! ```json
//! {"uptime_secs": 7925, "started_ms": 1795313594000,
//!  "documents": {"customs:800": 3, "waiting": 1},
//!  "messages": 12, "open_sets": 1, "overdue_sets": 0, "pending_waybills": 0,
//!  "queues": {"claimed": 0, "forward_queued": 0, "forward_written": 2,
//!             "parked": 0, "inbox_pending": 0},
//!  "orphans": 1, "store_bytes": 524288, "batches": 9, "files": 12, "flushes": 9}
//! ```
//!
//! `documents` counts documents by current status, `messages` inbound
//! messages, `orphans` customs messages that answer no stored document; the
//! sets, waybills, queues, batches, files and flushes are the pipeline's
//! last published [`PipelineStats`](crate::daemon::stats::PipelineStats).
//!
//! ## `GET /messages?key=&type=&status=&sender=&since=&limit=`
//!
//! The documents, newest first (by message id), each
//!
//! ```json
//! {"id": "12.0", "type": "CEB311", "key": "orderNo=GW1,ebpCode=3301960A01",
//!  "status": "customs:800", "sender": "shop-a", "app_type": "1",
//!  "received_ms": 1795313594000, "received": "2026-11-22T02:13:14Z",
//!  "set": "orderNo=GW1,ebpCode=3301960A01"}
//! ```
//!
//! (`set` is `null` outside an order set). Every filter is optional; an
//! empty value is no filter. `key`: the business key contains the text
//! (case-sensitive); `type`: the message type, exactly; `status`: the
//! current status exactly, or every status starting with it when it ends in
//! `:` (`customs:`); `sender`: the sender's name, exactly; `since`: received
//! at or after, as milliseconds since the epoch or UTC `YYYY-MM-DD` or
//! `YYYY-MM-DDThh:mm:ss` (a trailing `Z` is allowed); `limit`: at most this
//! many (1 to 10000, default 100). An unknown parameter is refused.
//!
//! ## `GET /documents/{id}?raw=true`
//!
//! `{id}` is a document id (`12.0`; `12` means `12.0`) or a business key
//! (`orderNo=GW1,ebpCode=3301960A01`, percent-encoded in the path). A key is
//! looked up among every family's links (`order|…`, `payment|…` …), else
//! among the documents whose key is exactly that text. When a key names
//! several documents, the newest declaration (a document that answers no
//! other) is shown, else the newest receipt, and `matches` lists every id,
//! newest first.
//!
//! ```json
//! {"id": "12.0",
//!  "document": {DocumentRecord as stored}, "message": {MessageRecord as stored},
//!  "history": [{"v": 1, "at_ms": …, "status": "received", "info": "…",
//!               "findings": […], "receipt": {…}}, …],
//!  "set": {"key": "orderNo=…,ebpCode=…", "status": "pass", "at_ms": …,
//!          "findings": [{"rule", "severity", "field", "message"}],
//!          "members": [{"id", "type", "key", "status", "sender"}]},
//!  "receipts": [{"id": "13.0", "type": "CEB312", "status": "customs:120",
//!                "code": "120", "time": "20261122101400000", "info": "…",
//!                "current": false, "at_ms": …}],
//!  "answers": null,
//!  "matches": ["12.0", "9.0"]}
//! ```
//!
//! `set` is `null` when the document belongs to no set, `answers` is the
//! document a receipt answers (`{"id", "type", "key", "status", "sender"}`)
//! and `null` for anything else, `matches` is present only when a key named
//! several documents. `receipts` are the customs receipts filed against the
//! document, in its history's order, with the status each recorded and
//! whether it became the current one. With `raw=true` the answer also holds
//! `raw` (the message's bytes as text, decoded in the charset it was read in
//! and with undecodable bytes replaced: for reading, not byte-exact) and
//! `raw_base64` (the exact bytes); both are `null` when the bytes are gone.
//!
//! ## `GET /orphans?limit=`
//!
//! Customs messages that answer no stored document, newest first, in the
//! shape of `/messages`.
//!
//! ## `GET /subscriptions`
//!
//! `{"today": "2026-11-22", "subscriptions": [S, …]}`, each `S` the stored
//! record with its state today:
//!
//! ```json
//! {"id": "sub-1795313594000", "client": "0000009815", "enterprise": "3301960B02",
//!  "content": ["receipts"], "statuses": ["入库", "放行"], "valid_until": "2027-03-25",
//!  "made": "2026-11-22", "made_ms": 1795313594000, "by": "QH0030", "origin": "api",
//!  "cancelled": false, "state": "active", "state_label": "生效",
//!  "history": [{"at_ms": 1795313594000, "action": "made", "by": "QH0030",
//!               "valid_until": "2027-03-25"}]}
//! ```
//!
//! (`origin` is `config`, `api` or `message`; a `message` one also has
//! `"message": 12`.)
//!
//! ## `POST /subscriptions`, `/subscriptions/{id}/cancel`, `/subscriptions/{id}/extend`
//!
//! Bodies `{"client", "content", "statuses", "valid_until", "by",
//! "enterprise"?}`, `{"by"}` and `{"valid_until", "by"}`; the answer is
//! `{"subscription": S}`, or `422` with the rule's sentence.
//!
//! ## `GET /outbox?client=&parked=true&limit=`
//!
//! `{"clients": [C, …], "entries": [E, …]}`: per client
//! `{"client", "enterprise", "delivery", "queued", "parked", "delivered",
//! "oldest", "last_error"}`; with `client` or `parked`, its queued entries
//! `{"client", "seq", "content", "document", "type", "key", "status",
//! "code", "file", "queued", "attempts", "next", "error", "parked",
//! "delivered"}`.
//!
//! ## `POST /replay`
//!
//! `{"client", "key" | "since" | "parked": true}` (exactly one) →
//! `{"client", "unparked", "requeued"}`.
//!
//! ## `GET /unrouted?limit=`
//!
//! `{"count": 3, "receipts": [{"document", "type", "key", "code", "owner",
//! "reason", "at"}, …]}`, newest first: receipts delivered to no client
//! because their owner or their status is unknown.

pub mod api;
pub mod cli;
pub mod client;
pub mod dashboard;
pub mod health;
pub mod mail_cli;
mod time;
pub mod ui;

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Why the token file could not be used. The display is the whole
/// message (there is no separate source to print after it).
#[derive(Debug, Error)]
pub enum TokenError {
    /// The file could not be read.
    #[error("{}: cannot read the token file: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The file holds nothing but whitespace.
    #[error("{}: the token file is empty", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// Reads the bearer token from `[admin] token_file`: the file's content
/// without surrounding whitespace (so a trailing newline does not count).
/// The daemon and the CLI both read it with this function.
pub fn read_token(path: &Path) -> Result<String, TokenError> {
    let text = std::fs::read_to_string(path).map_err(|e| TokenError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(TokenError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(token.to_owned())
}
