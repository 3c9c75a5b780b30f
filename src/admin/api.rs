//! The admin API's server half: an axum router over the store and the
//! pipeline's published stats. Routes and JSON shapes are described in the
//! [module documentation](super).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use thiserror::Error;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::time::{iso_utc, parse_since};
use crate::daemon::stats::PipelineStats;
use crate::engine::SetKey;
use crate::schema::MESSAGES;
use crate::store::{DocId, DocumentRecord, MessageRecord, SetRecord, Store, StoreError, key};

/// The default number of documents `/messages` and `/orphans` list.
pub const DEFAULT_LIMIT: usize = 100;
/// The most documents one `/messages` or `/orphans` request may ask for.
pub const MAX_LIMIT: usize = 10_000;

/// What the API reads: the store, the pipeline's stats and the start time.
#[derive(Clone)]
pub struct AdminState {
    /// The store (reads only).
    pub store: Store,
    /// When the daemon started (for the uptime).
    pub started: Instant,
    /// When the daemon started, in ms since the Unix epoch.
    pub started_ms: u64,
    /// The pipeline's stats, as last published.
    pub stats: watch::Receiver<PipelineStats>,
    /// What a reload changes: the token, the clients, the reload status.
    pub live: watch::Receiver<Arc<AdminLive>>,
    /// The subscriptions (changed through the API under their rules).
    pub subs: Arc<crate::daemon::subs::Subscriptions>,
    /// The push workers (replays go to them).
    pub push: Arc<crate::daemon::push::Push>,
    /// Which parts of the daemon run (`/ready`).
    pub ready: Arc<super::health::Readiness>,
    /// Where payers' actions go (`None`: an API without a pipeline).
    pub actions: Option<crate::daemon::ActionSender>,
}

/// The part of the API's state a configuration reload replaces.
#[derive(Debug, Clone, Default)]
pub struct AdminLive {
    /// The bearer token every request must carry; `None` takes none.
    pub token: Option<String>,
    /// The registered clients.
    pub clients: Vec<crate::config::ClientConfig>,
    /// The configured sources: (`sender`, name) and (`tcp`, platform id),
    /// shown by the dashboard even when they sent nothing lately.
    pub sources: Vec<(String, String)>,
    /// The configuration's generation, reloads, last refusal and the keys
    /// waiting for a restart.
    pub reload: crate::daemon::reload::ReloadStatus,
    /// The tax rate tables `/tax/…` computes with.
    pub tax: Option<Arc<crate::tax::Tables>>,
}

impl AdminLive {
    /// A fixed state (an API served without a daemon, tests).
    pub fn fixed(
        token: Option<String>,
        clients: Vec<crate::config::ClientConfig>,
    ) -> watch::Receiver<Arc<AdminLive>> {
        let (tx, rx) = watch::channel(Arc::new(AdminLive {
            token,
            clients,
            sources: Vec::new(),
            reload: Default::default(),
            tax: crate::tax::Tables::builtin(),
        }));
        // The sender may go: the receiver keeps the last value.
        drop(tx);
        rx
    }
}

impl AdminState {
    fn clients(&self) -> Vec<crate::config::ClientConfig> {
        self.live.borrow().clients.clone()
    }
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState")
            .field("store", &self.store)
            .field("started_ms", &self.started_ms)
            .field(
                "token",
                &self.live.borrow().token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// Serves the API on `listener` until `shutdown` is cancelled; requests in
/// flight are answered first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AdminState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    {
        // Not ready once stopping (for requests still answered meanwhile).
        let (ready, shutdown) = (state.ready.clone(), shutdown.clone());
        tokio::spawn(async move {
            shutdown.cancelled().await;
            ready.stopping();
        });
    }
    info!(
        message = "Admin API listening.",
        %addr,
        token = state.live.borrow().token.is_some()
    );
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    info!(message = "Admin API stopped.", %addr);
    Ok(())
}

/// The routes answered without the token: liveness and readiness, for
/// load balancers, orchestrators and systemd (they tell nothing but
/// whether the gateway runs).
pub const OPEN_ROUTES: [&str; 2] = ["/health", "/ready"];

/// The API's routes, behind the token check (see [`serve`]) except
/// [`OPEN_ROUTES`].
pub fn router(state: AdminState) -> Router {
    let live = state.live.clone();
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/messages", get(messages))
        .route("/documents/{id}", get(document))
        .route("/orphans", get(orphans))
        .route("/subscriptions", get(subscriptions).post(subscribe))
        .route("/subscriptions/{id}/cancel", post(cancel_subscription))
        .route("/subscriptions/{id}/extend", post(extend_subscription))
        .route("/outbox", get(outbox))
        .route("/replay", post(replay))
        .route("/unrouted", get(unrouted))
        .route("/tax-bills", get(tax_bills))
        .route("/tax-bills/{tax_no}", get(tax_bill))
        .route("/tax/capitals", get(tax_capitals))
        .route("/tax/cbec", get(tax_cbec))
        .route("/tax/postal", post(tax_postal))
        .route("/tax/rates", get(tax_rates))
        .route("/mail", get(mail_items))
        .route("/mail/{mail_no}", get(mail_item))
        .route("/mail/{mail_no}/request", post(mail_request))
        .route("/mail/declarations", post(mail_declare))
        .route("/tax/certificates", get(certificates))
        .route("/tax/certificates/{no}", get(certificate))
        .route("/tax/certificates/{no}/print", get(certificate_print))
        .route("/tax/agreements", get(agreements).post(sign_agreement))
        .route("/tax/agreements/{no}/cancel", post(cancel_agreement))
        .route("/tax/certificates/{no}/pay", post(pay_certificate))
        .route("/tax/certificates/{no}/repay", post(repay_certificate))
        .merge(super::ui::routes())
        .fallback(|req: Request| async move {
            ApiError::NotFound(format!("no route {} {}", req.method(), req.uri().path()))
        })
        .with_state(state)
        .layer(middleware::from_fn_with_state(live, authorize))
}

/// Why a request was refused; answered as `{"error": "…"}`.
#[derive(Debug, Error)]
pub(super) enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// A rule refuses the change (422).
    #[error("{0}")]
    Refused(String),
    #[error("this API needs the bearer token of [admin] token_file")]
    Unauthorized,
    /// Not served by this process (503).
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a store read did not finish: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(_) | ApiError::Task(_) => {
                error!(message = "Admin request failed.", error = %self);
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let body = axum::Json(json!({ "error": self.to_string() }));
        if status == StatusCode::UNAUTHORIZED {
            (status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response()
        } else {
            (status, body).into_response()
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::BadRequest(r.body_text())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        ApiError::BadRequest(r.body_text())
    }
}

impl From<crate::daemon::subs::SubsError> for ApiError {
    fn from(e: crate::daemon::subs::SubsError) -> ApiError {
        use crate::daemon::subs::SubsError as E;
        match e {
            E::Refused(s) => ApiError::Refused(s),
            E::NotFound(id) => ApiError::NotFound(format!("no subscription `{id}`")),
            E::Store(e) => ApiError::Store(e),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::BadRequest(r.body_text())
    }
}

type ApiResult = Result<axum::Json<Value>, ApiError>;

/// Refuses a request without the right bearer token; logs every request.
async fn authorize(
    State(live): State<watch::Receiver<Arc<AdminLive>>>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    // The token in force now (a reload may have changed it).
    let token = live.borrow().token.clone();
    if let Some(token) = token
        && !OPEN_ROUTES.contains(&path.as_str())
    {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer);
        if !given.is_some_and(|g| same(g.as_bytes(), token.as_bytes())) {
            // The dashboard's pages also take its cookie (see `ui::admit`).
            match super::ui::admit(&req, token.as_bytes()) {
                Some(Ok(())) => {}
                Some(Err(answer)) => return answer,
                None => {
                    warn!(
                        message = "Admin request refused: no valid bearer token.",
                        %method,
                        path
                    );
                    return ApiError::Unauthorized.into_response();
                }
            }
        }
    }
    let started = Instant::now();
    let response = next.run(req).await;
    debug!(
        message = "Admin request.",
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis()
    );
    response
}

/// The credentials of an `Authorization: Bearer …` value (the scheme is
/// case-insensitive).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// Whether two byte strings are equal, in time independent of where they
/// differ (the length is not secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Runs synchronous store reads off the async workers.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await?
}

/// Liveness: the process serves.
async fn health() -> axum::Json<Value> {
    axum::Json(json!({ "status": "ok" }))
}

/// Readiness: 200 once the store is open and the sources and push workers
/// run; 503 with the reason before that and while stopping.
async fn ready(State(s): State<AdminState>) -> Response {
    match s.ready.check() {
        Ok(()) => axum::Json(json!({ "ready": true })).into_response(),
        Err((reason, waiting)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "ready": false, "reason": reason, "waiting": waiting })),
        )
            .into_response(),
    }
}

/// The Prometheus metrics; the per-client queues and the pipeline's gauges
/// are brought up to date first.
async fn metrics(State(s): State<AdminState>) -> Result<Response, ApiError> {
    if !crate::metrics::enabled() {
        return Err(ApiError::Unavailable(
            "no metrics are recorded in this process".to_owned(),
        ));
    }
    crate::metrics::pipeline(&s.stats.borrow());
    let store = s.store.clone();
    let clients: Vec<String> = s.clients().iter().map(|c| c.id.clone()).collect();
    let queues = blocking(move || {
        Ok(clients
            .into_iter()
            .map(|c| {
                let queued = store.count(&key::outbox_prefix(&c));
                let parked = store.count(&key::parked_prefix(&c));
                (c, queued, parked)
            })
            .collect::<Vec<_>>())
    })
    .await?;
    for (client, queued, parked) in &queues {
        crate::metrics::outbox(client, *queued, *parked);
    }
    let text = crate::metrics::render().unwrap_or_default();
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

pub(super) async fn status(State(s): State<AdminState>) -> ApiResult {
    let stats = s.stats.borrow().clone();
    let store = s.store.clone();
    let (documents, messages, orphans, store_bytes) = blocking(move || {
        Ok((
            store.status_counts()?,
            store.tally(crate::store::MESSAGES)?,
            store.tally(crate::store::ORPHANS)?,
            store.size_on_disk(),
        ))
    })
    .await?;
    Ok(axum::Json(json!({
        "uptime_secs": s.started.elapsed().as_secs(),
        "started_ms": s.started_ms,
        "documents": documents,
        "messages": messages,
        "open_sets": stats.open_sets,
        "overdue_sets": stats.overdue_sets,
        "overdue": stats.overdue,
        "pending_waybills": stats.pending_waybills,
        "queues": {
            "claimed": stats.claimed,
            "forward_queued": stats.forward_queued,
            "forward_written": stats.forward_written,
            "parked": stats.parked,
            "inbox_pending": stats.inbox_pending,
        },
        "orphans": orphans,
        "store_bytes": store_bytes,
        "batches": stats.batches,
        "files": stats.files,
        "flushes": stats.flushes,
        "tcp": stats.tcp_connections.map(|c| json!({ "connections": c })),
        "config": s.live.borrow().reload.clone(),
    })))
}

/// The query of `/messages` (every value optional; unknown keys refused).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessagesParams {
    key: Option<String>,
    #[serde(rename = "type")]
    ty: Option<String>,
    status: Option<String>,
    sender: Option<String>,
    since: Option<String>,
    limit: Option<String>,
}

/// `/messages` filters, read.
#[derive(Debug)]
struct Filter {
    key: Option<String>,
    ty: Option<String>,
    status: Option<String>,
    sender: Option<String>,
    since: Option<u64>,
    limit: usize,
}

impl Filter {
    fn new(p: MessagesParams) -> Result<Filter, ApiError> {
        let given = |v: Option<String>| v.filter(|v| !v.is_empty());
        Ok(Filter {
            since: given(p.since)
                .map(|s| parse_since(&s))
                .transpose()
                .map_err(ApiError::BadRequest)?,
            limit: limit(p.limit)?,
            key: given(p.key),
            ty: given(p.ty),
            status: given(p.status),
            sender: given(p.sender),
        })
    }

    fn matches(&self, d: &DocumentRecord) -> bool {
        let status_ok = |want: &str| match want.ends_with(':') {
            true => d.status.starts_with(want),
            false => d.status == want,
        };
        self.key.as_ref().is_none_or(|k| d.key.contains(k.as_str()))
            && self.ty.as_ref().is_none_or(|t| d.ty == *t)
            && self.status.as_deref().is_none_or(status_ok)
            && self.sender.as_ref().is_none_or(|s| d.sender == *s)
            && self.since.is_none_or(|t| d.received_ms >= t)
    }
}

/// `limit`: 1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
fn limit(text: Option<String>) -> Result<usize, ApiError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(DEFAULT_LIMIT);
    };
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ApiError::BadRequest(format!(
            "limit: `{text}` is not a number from 1 to {MAX_LIMIT}"
        ))),
    }
}

async fn messages(
    State(s): State<AdminState>,
    query: Result<Query<MessagesParams>, QueryRejection>,
) -> ApiResult {
    let Query(params) = query?;
    let filter = Filter::new(params)?;
    let store = s.store;
    let list = blocking(move || {
        let mut out = Vec::new();
        store.scan_rev::<DocumentRecord>(b"d", |d| {
            if filter.matches(&d) {
                out.push(listed(&d));
            }
            out.len() < filter.limit
        })?;
        Ok(out)
    })
    .await?;
    Ok(axum::Json(Value::Array(list)))
}

/// The query of `/orphans`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrphansParams {
    limit: Option<String>,
}

async fn orphans(
    State(s): State<AdminState>,
    query: Result<Query<OrphansParams>, QueryRejection>,
) -> ApiResult {
    let Query(params) = query?;
    let limit = limit(params.limit)?;
    let store = s.store;
    let list = blocking(move || {
        let mut out = Vec::new();
        // `x` keys hold no value: read each orphan's document record.
        for k in store.keys(b"x")?.iter().rev() {
            if out.len() >= limit {
                break;
            }
            let Some(id) = key::doc_id_suffix(k) else {
                continue;
            };
            match store.get::<DocumentRecord>(&key::document(id))? {
                Some(d) => out.push(listed(&d)),
                None => warn!(message = "Orphan without its document record.", id = %id),
            }
        }
        Ok(out)
    })
    .await?;
    Ok(axum::Json(Value::Array(list)))
}

/// The query of `/documents/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentParams {
    raw: Option<bool>,
}

async fn document(
    State(s): State<AdminState>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<DocumentParams>, QueryRejection>,
) -> ApiResult {
    let Path(id) = id?;
    let Query(params) = query?;
    let raw = params.raw.unwrap_or(false);
    let store = s.store;
    blocking(move || show(&store, &id, raw))
        .await
        .map(axum::Json)
}

/// One document as `/messages` lists it.
pub(super) fn listed(d: &DocumentRecord) -> Value {
    json!({
        "id": d.id.to_string(),
        "type": d.ty,
        "key": d.key,
        "status": d.status,
        "sender": d.sender,
        "app_type": d.app_type,
        "received_ms": d.received_ms,
        "received": iso_utc(d.received_ms),
        "set": set_key(d).map(|k| k.to_string()),
    })
}

/// One document as a set member or the document a receipt answers.
fn summary(store: &Store, id: DocId) -> Result<Value, ApiError> {
    Ok(match store.get::<DocumentRecord>(&key::document(id))? {
        Some(d) => json!({
            "id": id.to_string(),
            "type": d.ty,
            "key": d.key,
            "status": d.status,
            "sender": d.sender,
        }),
        None => json!({ "id": id.to_string() }),
    })
}

fn set_key(d: &DocumentRecord) -> Option<SetKey> {
    d.set.as_ref().map(|(order, ebp)| SetKey::new(order, ebp))
}

/// `/documents/{id}`: the document named by `id` (a document id or a
/// business key), with everything filed about it.
pub(super) fn show(store: &Store, id: &str, raw: bool) -> Result<Value, ApiError> {
    let (doc, matches) = match id.parse::<DocId>() {
        Ok(doc_id) => match store.get::<DocumentRecord>(&key::document(doc_id))? {
            Some(d) => (d, Vec::new()),
            None => return Err(ApiError::NotFound(format!("no document {doc_id}"))),
        },
        Err(()) => {
            let mut found = by_key(store, id)?;
            if found.is_empty() {
                return Err(ApiError::NotFound(format!("no document with key {id}")));
            }
            // Newest first; the newest declaration before any receipt.
            found.sort_by_key(|d| std::cmp::Reverse(d.id));
            let ids: Vec<String> = found.iter().map(|d| d.id.to_string()).collect();
            let at = found.iter().position(|d| d.answers.is_none()).unwrap_or(0);
            let doc = found.swap_remove(at);
            (doc, if ids.len() > 1 { ids } else { Vec::new() })
        }
    };
    let message = store.get::<MessageRecord>(&key::message(doc.id.msg))?;
    let history = store.history(doc.id)?;
    let set = match set_key(&doc) {
        Some(k) => match store.get::<SetRecord>(&key::set(&k))? {
            Some(set) => json!({
                "key": k.to_string(),
                "status": set.status,
                "at_ms": set.at_ms,
                "findings": set.findings,
                "members": set
                    .members
                    .iter()
                    .map(|m| summary(store, *m))
                    .collect::<Result<Vec<_>, _>>()?,
            }),
            None => Value::Null,
        },
        None => Value::Null,
    };
    let receipts: Vec<Value> = history
        .iter()
        .filter_map(|e| {
            e.receipt.as_ref().map(|r| {
                json!({
                    "id": r.doc.to_string(),
                    "type": r.ty,
                    "status": e.status,
                    "code": r.code,
                    "time": r.time,
                    "info": r.info,
                    "current": r.current,
                    "at_ms": e.at_ms,
                })
            })
        })
        .collect();
    let answers = match doc.answers {
        Some(a) => summary(store, a)?,
        None => Value::Null,
    };
    let mut out = json!({
        "id": doc.id.to_string(),
        "document": doc,
        "message": message,
        "history": history,
        "set": set,
        "receipts": receipts,
        "answers": answers,
    });
    if let Some(obj) = out.as_object_mut() {
        if !matches.is_empty() {
            obj.insert("matches".to_owned(), json!(matches));
        }
        if raw {
            let bytes = store.raw(doc.id.msg)?;
            let encoding = message.as_ref().map_or("", |m| m.encoding.as_str());
            obj.insert(
                "raw".to_owned(),
                json!(bytes.as_deref().map(|b| as_text(b, encoding))),
            );
            obj.insert(
                "raw_base64".to_owned(),
                json!(
                    bytes
                        .as_deref()
                        .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
                ),
            );
        }
    }
    Ok(out)
}

/// The documents a business key names: through every family's links, else
/// the documents whose key is exactly `text`.
fn by_key(store: &Store, text: &str) -> Result<Vec<DocumentRecord>, ApiError> {
    let families: BTreeSet<&str> = MESSAGES
        .iter()
        .map(|m| crate::track::family(m.ty))
        .collect();
    let mut ids: BTreeSet<DocId> = BTreeSet::new();
    for family in families {
        ids.extend(store.linked(&format!("{family}|{text}"))?);
    }
    let mut out = Vec::new();
    if ids.is_empty() {
        store.scan_rev::<DocumentRecord>(b"d", |d| {
            if d.key == text {
                out.push(d);
            }
            true
        })?;
        return Ok(out);
    }
    for id in ids {
        match store.get::<DocumentRecord>(&key::document(id))? {
            Some(d) => out.push(d),
            None => warn!(message = "Link to a missing document.", key = text, id = %id),
        }
    }
    Ok(out)
}

/// Raw message bytes as text, for reading: decoded in the charset the
/// message was read in (UTF-8 when unknown), undecodable bytes replaced.
fn as_text(bytes: &[u8], encoding: &str) -> String {
    let charset =
        encoding_rs::Encoding::for_label(encoding.as_bytes()).unwrap_or(encoding_rs::UTF_8);
    charset.decode(bytes).0.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_values() {
        for (value, want) in [
            ("Bearer abc", Some("abc")),
            ("bearer  abc ", Some("abc")),
            ("BEARER abc", Some("abc")),
            ("Basic abc", None),
            ("Bearer", None),
            ("abc", None),
        ] {
            assert_eq!(bearer(value), want, "{value}");
        }
    }

    #[test]
    fn constant_time_equality() {
        for (a, b, want) in [
            ("", "", true),
            ("token", "token", true),
            ("token", "tokem", false),
            ("token", "token1", false),
            ("", "x", false),
        ] {
            assert_eq!(same(a.as_bytes(), b.as_bytes()), want, "{a} {b}");
        }
    }

    #[test]
    fn limits() {
        for (text, want) in [
            (None, Some(DEFAULT_LIMIT)),
            (Some(""), Some(DEFAULT_LIMIT)),
            (Some("1"), Some(1)),
            (Some("10000"), Some(MAX_LIMIT)),
            (Some("10001"), None),
            (Some("0"), None),
            (Some("-1"), None),
            (Some("ten"), None),
        ] {
            assert_eq!(limit(text.map(str::to_owned)).ok(), want, "{text:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// Subscriptions, outboxes, replays, unrouted receipts.

/// A subscription as the API shows it: the record, with its state today.
fn subscription_json(r: &crate::store::SubscriptionRecord, today: crate::subscribe::Date) -> Value {
    let state = crate::daemon::subs::state_of(r, today);
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.remove("v");
        m.insert("state".into(), json!(state.name()));
        m.insert("state_label".into(), json!(state.label()));
    }
    v
}

async fn subscriptions(State(s): State<AdminState>) -> ApiResult {
    let today = crate::daemon::subs::today(crate::daemon::now_ms());
    let list: Vec<Value> = s
        .subs
        .list()
        .iter()
        .map(|r| subscription_json(r, today))
        .collect();
    Ok(axum::Json(
        json!({ "today": today.to_string(), "subscriptions": list }),
    ))
}

async fn subscribe(
    State(s): State<AdminState>,
    body: Result<axum::Json<crate::daemon::subs::NewSubscription>, JsonRejection>,
) -> ApiResult {
    let axum::Json(req) = body?;
    let now = crate::daemon::now_ms();
    let rec =
        blocking(move || Ok(s.subs.add(&s.store, &s.clients(), &req, None, "api", now)?)).await?;
    info!(message = "Subscription made.", id = %rec.id, client = %rec.client, by = %rec.by);
    let today = crate::daemon::subs::today(now);
    Ok(axum::Json(
        json!({ "subscription": subscription_json(&rec, today) }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    by: String,
    #[serde(default)]
    valid_until: Option<String>,
}

async fn cancel_subscription(
    State(s): State<AdminState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<axum::Json<ChangeBody>, JsonRejection>,
) -> ApiResult {
    let Path(id) = id?;
    let axum::Json(b) = body?;
    if b.by.trim().is_empty() {
        return Err(ApiError::BadRequest("by: name who cancels it".to_owned()));
    }
    let now = crate::daemon::now_ms();
    let rec = blocking(move || Ok(s.subs.cancel(&s.store, &id, &b.by, now)?)).await?;
    info!(message = "Subscription cancelled.", id = %rec.id, by = %b_by(&rec));
    let today = crate::daemon::subs::today(now);
    Ok(axum::Json(
        json!({ "subscription": subscription_json(&rec, today) }),
    ))
}

async fn extend_subscription(
    State(s): State<AdminState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<axum::Json<ChangeBody>, JsonRejection>,
) -> ApiResult {
    let Path(id) = id?;
    let axum::Json(b) = body?;
    let Some(until) = b.valid_until.clone() else {
        return Err(ApiError::BadRequest(
            "valid_until: give the new last valid day (YYYY-MM-DD)".to_owned(),
        ));
    };
    if b.by.trim().is_empty() {
        return Err(ApiError::BadRequest("by: name who extends it".to_owned()));
    }
    let now = crate::daemon::now_ms();
    let rec = blocking(move || Ok(s.subs.extend(&s.store, &id, &until, &b.by, now)?)).await?;
    info!(message = "Subscription extended.", id = %rec.id, valid_until = %rec.valid_until, by = %b_by(&rec));
    let today = crate::daemon::subs::today(now);
    Ok(axum::Json(
        json!({ "subscription": subscription_json(&rec, today) }),
    ))
}

/// Who made the last change of a subscription.
fn b_by(r: &crate::store::SubscriptionRecord) -> String {
    r.history.last().map(|h| h.by.clone()).unwrap_or_default()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutboxParams {
    client: Option<String>,
    parked: Option<bool>,
    limit: Option<String>,
}

/// An outbox entry as the API shows it.
fn entry_json(e: &crate::store::OutboxEntry) -> Value {
    json!({
        "client": e.client,
        "seq": e.seq,
        "content": e.content,
        "document": e.doc.to_string(),
        "type": e.ty,
        "key": e.key,
        "status": e.status,
        "code": e.code,
        "file": e.file,
        "queued": iso_utc(e.queued_ms),
        "attempts": e.attempts,
        "next": iso_utc(e.next_ms),
        "error": e.error,
        "parked": e.parked,
        "delivered": e.delivered_ms.map(iso_utc),
    })
}

async fn outbox(
    State(s): State<AdminState>,
    query: Result<Query<OutboxParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = query?;
    let limit = limit(p.limit)?;
    if let Some(c) = &p.client
        && !s.clients().iter().any(|x| &x.id == c)
    {
        return Err(ApiError::NotFound(format!(
            "`{c}` is not a registered client"
        )));
    }
    let store = s.store.clone();
    let clients = s.clients();
    let v = blocking(move || {
        let mut summary = Vec::new();
        let mut entries = Vec::new();
        for c in &clients {
            let mut queue = store.scan::<crate::store::OutboxEntry>(&key::outbox_prefix(&c.id))?;
            let waiting = queue.len();
            let parked_list =
                store.scan::<crate::store::OutboxEntry>(&key::parked_prefix(&c.id))?;
            let parked = parked_list.len();
            let delivered = store.count(&key::delivered_prefix(&c.id));
            let oldest = queue
                .iter()
                .filter(|(_, e)| !e.parked)
                .map(|(_, e)| e.queued_ms)
                .min();
            let delivery = c.delivery_text();
            summary.push(json!({
                "client": c.id,
                "enterprise": c.enterprise,
                "delivery": delivery,
                "queued": waiting,
                "parked": parked,
                "delivered": delivered,
                "oldest": oldest.map(iso_utc),
                "last_error": queue
                    .iter()
                    .chain(parked_list.iter())
                    .rev()
                    .find(|(_, e)| !e.error.is_empty())
                    .map(|(_, e)| e.error.clone()),
            }));
            if p.client.as_ref().is_some_and(|x| x != &c.id) {
                continue;
            }
            // Parked entries first (they wait for an admin), then the queue.
            queue.splice(0..0, parked_list);
            for (_, e) in &queue {
                if entries.len() >= limit {
                    break;
                }
                if p.parked == Some(true) && !e.parked {
                    continue;
                }
                if p.client.is_some() || p.parked == Some(true) {
                    entries.push(entry_json(e));
                }
            }
        }
        Ok(json!({ "clients": summary, "entries": entries }))
    })
    .await?;
    Ok(axum::Json(v))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayBody {
    client: String,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    parked: bool,
}

async fn replay(
    State(s): State<AdminState>,
    body: Result<axum::Json<ReplayBody>, JsonRejection>,
) -> ApiResult {
    use crate::daemon::push::Selector;
    let axum::Json(b) = body?;
    let selector = match (b.key, b.since, b.parked) {
        (Some(k), None, false) if !k.trim().is_empty() => Selector::Key(k.trim().to_owned()),
        (None, Some(t), false) => Selector::Since(parse_since(&t).map_err(ApiError::BadRequest)?),
        (None, None, true) => Selector::Parked,
        _ => {
            return Err(ApiError::BadRequest(
                "give exactly one of key, since or parked".to_owned(),
            ));
        }
    };
    if !s.clients().iter().any(|c| c.id == b.client) {
        return Err(ApiError::NotFound(format!(
            "`{}` is not a registered client",
            b.client
        )));
    }
    let r = s
        .push
        .replay(&b.client, selector)
        .await
        .map_err(ApiError::Refused)?;
    Ok(axum::Json(
        json!({ "client": b.client, "unparked": r.unparked, "requeued": r.requeued }),
    ))
}

async fn unrouted(
    State(s): State<AdminState>,
    query: Result<Query<OrphansParams>, QueryRejection>,
) -> ApiResult {
    let Query(params) = query?;
    let limit = limit(params.limit)?;
    let store = s.store;
    let v = blocking(move || {
        let mut all: Vec<crate::store::UnroutedRecord> = Vec::new();
        store.scan_rev(b"U", |r| {
            all.push(r);
            all.len() < limit
        })?;
        let list: Vec<Value> = all
            .iter()
            .map(|r| {
                json!({
                    "document": r.doc.to_string(),
                    "type": r.ty,
                    "key": r.key,
                    "code": r.code,
                    "owner": r.owner,
                    "reason": r.reason,
                    "at": iso_utc(r.at_ms),
                })
            })
            .collect();
        Ok(json!({ "count": store.count(b"U"), "receipts": list }))
    })
    .await?;
    Ok(axum::Json(v))
}

/// A tax bill's JSON: the bill (`tax_no`, `invt_no`, `order_no`,
/// `logistics_no`, `status` (1, 2, 3), `status_label`, `ent_duty_no`,
/// `ebc_code`, `amounts`, `history`), the inventory document it bills and
/// its receipt documents.
fn tax_bill_json(r: &crate::store::TaxBillRecord) -> Value {
    let mut v = serde_json::to_value(&r.bill).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("status_label".to_owned(), r.bill.status.zh().into());
        obj.insert(
            "inventory".to_owned(),
            r.inventory.map(|d| d.to_string()).into(),
        );
        obj.insert(
            "receipts".to_owned(),
            r.receipts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .into(),
        );
    }
    v
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxBillsParams {
    limit: Option<String>,
    after: Option<String>,
}

/// `GET /tax-bills?limit=N&after=TAXNO`: the electronic tax bills
/// (CEB816/CEB818) in taxNo order, a page at a time: `next` is the `after`
/// of the next page (absent on the last).
async fn tax_bills(
    State(s): State<AdminState>,
    query: Result<Query<TaxBillsParams>, QueryRejection>,
) -> ApiResult {
    let Query(params) = query?;
    let limit = limit(params.limit)?;
    let store = s.store;
    let v = blocking(move || {
        let all: Vec<(Vec<u8>, crate::store::TaxBillRecord)> = match &params.after {
            Some(after) => store.scan_after(b"T", &crate::store::key::tax_bill(after), limit)?,
            None => store.scan_first(b"T", limit)?,
        };
        let list: Vec<Value> = all.iter().map(|(_, r)| tax_bill_json(r)).collect();
        let next = (all.len() == limit)
            .then(|| all.last().map(|(_, r)| r.bill.tax_no.clone()))
            .flatten();
        Ok(json!({ "count": store.count(b"T"), "tax_bills": list, "next": next }))
    })
    .await?;
    Ok(axum::Json(v))
}

/// `GET /tax-bills/{taxNo}`: one tax bill.
async fn tax_bill(
    State(s): State<AdminState>,
    tax_no: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(tax_no) = tax_no?;
    let store = s.store;
    let v = blocking(move || {
        let rec: Option<crate::store::TaxBillRecord> =
            store.get(&crate::store::key::tax_bill(&tax_no))?;
        match rec {
            Some(r) => Ok(json!({ "tax_bill": tax_bill_json(&r) })),
            None => Err(ApiError::NotFound(format!("no tax bill `{tax_no}`"))),
        }
    })
    .await?;
    Ok(axum::Json(v))
}

/// The tables and the day a `/tax/…` question is answered with.
fn tax_day(
    s: &AdminState,
    date: Option<&str>,
) -> Result<(Arc<crate::tax::Tables>, crate::subscribe::Date), ApiError> {
    let tables = s
        .live
        .borrow()
        .tax
        .clone()
        .ok_or_else(|| ApiError::Unavailable("no tax rate tables are loaded".to_owned()))?;
    let date = match date {
        Some(d) => crate::subscribe::Date::parse(d).ok_or_else(|| {
            ApiError::BadRequest(format!("date \"{d}\" is not a date YYYY-MM-DD"))
        })?,
        None => crate::subscribe::Date::cst(crate::daemon::now_ms()),
    };
    Ok((tables, date))
}

fn amount_param(name: &str, text: &str) -> Result<rust_decimal::Decimal, ApiError> {
    crate::model::parse_decimal(text.trim()).ok_or_else(|| {
        ApiError::BadRequest(format!("{name} \"{text}\" is not a plain decimal number"))
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapitalsParams {
    amount: String,
}

/// `GET /tax/capitals?amount=175.66`: `{"amount", "capitals"}`.
async fn tax_capitals(query: Result<Query<CapitalsParams>, QueryRejection>) -> ApiResult {
    let Query(p) = query?;
    let amount = amount_param("amount", &p.amount)?;
    let capitals = crate::tax::capitals(amount).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(axum::Json(
        json!({ "amount": amount.to_string(), "capitals": capitals }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CbecParams {
    value: String,
    hs: Option<String>,
    vat: Option<String>,
    consumption: Option<String>,
    date: Option<String>,
}

/// `GET /tax/cbec?value=V[&hs=CODE][&vat=R][&consumption=R][&date=D]`: as
/// `customs-gateway tax cbec --json`.
async fn tax_cbec(
    State(s): State<AdminState>,
    query: Result<Query<CbecParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = query?;
    let (tables, date) = tax_day(&s, p.date.as_deref())?;
    let q = crate::tax::query::CbecQuery {
        value: amount_param("value", &p.value)?,
        hs: p.hs,
        vat: p.vat.map(|v| amount_param("vat", &v)).transpose()?,
        consumption: p
            .consumption
            .map(|v| amount_param("consumption", &v))
            .transpose()?,
        date,
    };
    let answer = crate::tax::query::cbec(&tables, &q).map_err(ApiError::BadRequest)?;
    Ok(axum::Json(crate::tax::query::cbec_json(&answer)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostalBody {
    lines: Vec<String>,
    #[serde(default)]
    origin: Option<String>,
    #[serde(default)]
    indivisible: bool,
    #[serde(default)]
    rounding: Option<String>,
    #[serde(default)]
    date: Option<String>,
}

/// `POST /tax/postal` with `{"lines": ["1:100", "01010100:2"], "origin",
/// "indivisible", "rounding", "date"}`: as `customs-gateway tax postal --json`.
async fn tax_postal(
    State(s): State<AdminState>,
    body: Result<axum::Json<PostalBody>, JsonRejection>,
) -> ApiResult {
    let axum::Json(b) = body?;
    let (tables, date) = tax_day(&s, b.date.as_deref())?;
    let rounding = b
        .rounding
        .map(|r| {
            crate::tax::Rounding::parse(&r).ok_or_else(|| {
                ApiError::BadRequest(format!("rounding \"{r}\" is neither line nor parcel"))
            })
        })
        .transpose()?;
    let lines = b
        .lines
        .iter()
        .map(|l| crate::tax::LineInput::parse(l).map_err(|e| ApiError::BadRequest(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let parcel = crate::tax::Parcel {
        date,
        origin: b.origin,
        indivisible: b.indivisible,
        lines,
        rounding,
    };
    let t = crate::tax::postal_tax(&tables, &parcel)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(axum::Json(crate::tax::query::postal_json(&t)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RatesParams {
    date: Option<String>,
}

/// `GET /tax/rates[?date=D]`: as `customs-gateway tax rates --json`.
async fn tax_rates(
    State(s): State<AdminState>,
    query: Result<Query<RatesParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = query?;
    let (tables, date) = tax_day(&s, p.date.as_deref())?;
    Ok(axum::Json(crate::tax::query::rates_json(&tables, date)))
}

// ---------------------------------------------------------------------------
// Personal postal items: what a recipient sees, by their phone.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneParams {
    phone: String,
    #[serde(default)]
    months: Option<String>,
}

/// The phone a request asks as (required, digits compared).
fn asker(p: &PhoneParams) -> Result<String, ApiError> {
    let digits = crate::mail::mask::phone_digits(&p.phone);
    if digits.is_empty() {
        return Err(ApiError::BadRequest(
            "phone: the recipient's phone number is required".to_owned(),
        ));
    }
    Ok(digits)
}

/// The first moment of the calendar month `months − 1` months before now's
/// (China Standard Time), in ms: lists cover `months` calendar months.
fn since_ms(months: &Option<String>, now_ms: u64) -> Result<u64, ApiError> {
    let n: u64 = match months {
        None => 3,
        Some(t) => match t.trim().parse::<u64>() {
            Ok(v @ 1..=24) => v,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "months \"{t}\" is not a number of months from 1 to 24"
                )));
            }
        },
    };
    let today = crate::subscribe::Date::cst(now_ms).to_string();
    let y: u64 = today.get(0..4).and_then(|s| s.parse().ok()).unwrap_or(1970);
    let m: u64 = today.get(5..7).and_then(|s| s.parse().ok()).unwrap_or(1);
    let index = (y * 12 + m - 1).saturating_sub(n - 1);
    let first = format!("{:04}-{:02}-01", index / 12, index % 12 + 1);
    let day = crate::subscribe::Date::parse(&first).map_or(0, |d| d.days_since_epoch());
    Ok((day * 86_400_000).saturating_sub(8 * 3_600_000))
}

fn step_json(status: &str, label: &str, note: &str, at_ms: u64) -> Value {
    json!({ "status": status, "label": label, "note": note, "at": iso_utc(at_ms) })
}

fn mail_json(r: &crate::store::MailRecord) -> Value {
    let item = &r.item;
    json!({
        "mail_no": item.mail_no,
        "status": item.status.code(),
        "status_label": item.status.zh(),
        "recipient": r.name,
        "phone": crate::mail::mask::phone(&r.phone),
        "certificates": r.certificates,
        "history": item.history.iter().map(|s| step_json(s.status.code(), s.status.zh(), &s.reason, s.at_ms)).collect::<Vec<_>>(),
        "updated": item.history.last().map(|s| iso_utc(s.at_ms)),
    })
}

fn certificate_json(r: &crate::store::CertificateRecord) -> Value {
    use crate::mail::mask;
    let c = &r.certificate;
    json!({
        "certificate_no": c.no,
        "mail_no": c.mail_no,
        "port": c.port,
        "name": c.name,
        "phone": mask::phone(&c.phone),
        "kind": c.kind,
        "total": crate::tax::to_fen(c.total).to_string(),
        "capitals": crate::tax::capitals(crate::tax::to_fen(c.total)).ok(),
        "state": c.state.zh(),
        "issued": iso_utc(c.issued_ms),
        "lines": c.lines.iter().map(|l| json!({
            "description": l.description,
            "quantity": l.quantity,
            "value": crate::tax::to_fen(l.value).to_string(),
            "rate": l.rate.to_string(),
            "tax": crate::tax::to_fen(l.tax).to_string(),
        })).collect::<Vec<_>>(),
        "payments": c.payments.iter().map(|p| json!({
            "serial": p.serial,
            "agreement": p.agreement,
            "bank_code": p.bank_code,
            "requested": iso_utc(p.requested_ms),
            "state": p.state.zh(),
            "reason": p.reason,
            "steps": p.steps.iter().map(|s| json!({ "note": s.note, "at": iso_utc(s.at_ms) })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn agreement_json(r: &crate::store::AgreementRecord) -> Value {
    use crate::mail::mask;
    let a = &r.agreement;
    json!({
        "agreement_no": a.no,
        "phone": mask::phone(&a.phone),
        "payer": a.payer,
        "customs": a.customs,
        "bank_code": a.bank_code,
        "account": mask::account(&a.account),
        "state": a.state.zh(),
        "steps": a.steps.iter().map(|s| step_json(s.state.zh(), s.state.zh(), &s.note, s.at_ms)).collect::<Vec<_>>(),
    })
}

/// Every record under `prefix` addressed to `phone`, changed since `since`.
fn owned<T: serde::de::DeserializeOwned>(
    store: &Store,
    prefix: &[u8],
    phone: &str,
    of: impl Fn(&T) -> (&str, u64),
    since: u64,
) -> Result<Vec<T>, ApiError> {
    let all: Vec<(Vec<u8>, T)> = store.scan(prefix)?;
    Ok(all
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| {
            let (p, at) = of(r);
            crate::mail::mask::may_see(phone, p) && at >= since
        })
        .collect())
}

fn mail_updated(r: &crate::store::MailRecord) -> (&str, u64) {
    (&r.phone, r.item.history.last().map_or(0, |s| s.at_ms))
}

fn certificate_updated(r: &crate::store::CertificateRecord) -> (&str, u64) {
    let c = &r.certificate;
    let last = c
        .payments
        .iter()
        .flat_map(|p| p.steps.iter().map(|s| s.at_ms))
        .max()
        .unwrap_or(c.issued_ms);
    (&c.phone, last.max(c.issued_ms))
}

/// `GET /mail?phone=P[&months=N]`: the recipient's mail items changed in
/// the last N calendar months (default 3).
async fn mail_items(
    State(s): State<AdminState>,
    query: Result<Query<PhoneParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = query?;
    let phone = asker(&p)?;
    let since = since_ms(&p.months, crate::daemon::now_ms())?;
    let store = s.store;
    let v = blocking(move || {
        let list = owned(&store, b"Y", &phone, mail_updated, since)?;
        Ok(json!({ "mail": list.iter().map(mail_json).collect::<Vec<_>>() }))
    })
    .await?;
    Ok(axum::Json(v))
}

/// `GET /mail/{mailNo}?phone=P`: one mail item, only for its recipient's phone.
async fn mail_item(
    State(s): State<AdminState>,
    mail_no: Result<Path<String>, PathRejection>,
    query: Result<Query<PhoneParams>, QueryRejection>,
) -> ApiResult {
    let Path(mail_no) = mail_no?;
    let Query(p) = query?;
    let phone = asker(&p)?;
    let store = s.store;
    let v = blocking(move || {
        let rec: Option<crate::store::MailRecord> =
            store.get(&crate::store::key::mail_item(&mail_no))?;
        match rec.filter(|r| crate::mail::mask::may_see(&phone, &r.phone)) {
            Some(r) => Ok(json!({ "mail": mail_json(&r) })),
            // The same answer whether the item exists or is someone else's.
            None => Err(ApiError::NotFound(format!(
                "no mail item {mail_no} addressed to {}",
                crate::mail::mask::phone(&phone)
            ))),
        }
    })
    .await?;
    Ok(axum::Json(v))
}

/// `GET /tax/certificates?phone=P[&months=N]`.
async fn certificates(
    State(s): State<AdminState>,
    query: Result<Query<PhoneParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = query?;
    let phone = asker(&p)?;
    let since = since_ms(&p.months, crate::daemon::now_ms())?;
    let store = s.store;
    let v = blocking(move || {
        let list = owned(&store, b"Z", &phone, certificate_updated, since)?;
        Ok(json!({ "certificates": list.iter().map(certificate_json).collect::<Vec<_>>() }))
    })
    .await?;
    Ok(axum::Json(v))
}

fn held_certificate(
    store: &Store,
    no: &str,
    phone: &str,
) -> Result<crate::store::CertificateRecord, ApiError> {
    let rec: Option<crate::store::CertificateRecord> =
        store.get(&crate::store::key::certificate(no))?;
    rec.filter(|r| crate::mail::mask::may_see(phone, &r.certificate.phone))
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no certificate {no} addressed to {}",
                crate::mail::mask::phone(phone)
            ))
        })
}

/// `GET /tax/certificates/{no}?phone=P`.
async fn certificate(
    State(s): State<AdminState>,
    no: Result<Path<String>, PathRejection>,
    query: Result<Query<PhoneParams>, QueryRejection>,
) -> ApiResult {
    let Path(no) = no?;
    let Query(p) = query?;
    let phone = asker(&p)?;
    let store = s.store;
    let v = blocking(move || {
        let r = held_certificate(&store, &no, &phone)?;
        Ok(json!({ "certificate": certificate_json(&r) }))
    })
    .await?;
    Ok(axum::Json(v))
}

/// `GET /tax/certificates/{no}/print?phone=P`: the printable page.
async fn certificate_print(
    State(s): State<AdminState>,
    no: Result<Path<String>, PathRejection>,
    query: Result<Query<PhoneParams>, QueryRejection>,
) -> Result<axum::response::Html<String>, ApiError> {
    let Path(no) = no?;
    let Query(p) = query?;
    let phone = asker(&p)?;
    let store = s.store;
    let page = blocking(move || {
        let r = held_certificate(&store, &no, &phone)?;
        let c = &r.certificate;
        Ok(crate::mail::print::certificate_html(
            c,
            &crate::mail::messages::printed_date(c.issued_ms),
        ))
    })
    .await?;
    Ok(axum::response::Html(page))
}

/// `GET /tax/agreements?phone=P`: the payer's three-party agreements.
async fn agreements(
    State(s): State<AdminState>,
    query: Result<Query<PhoneParams>, QueryRejection>,
) -> ApiResult {
    let Query(p) = query?;
    let phone = asker(&p)?;
    let store = s.store;
    let v = blocking(move || {
        let list = owned(
            &store,
            b"G",
            &phone,
            |r: &crate::store::AgreementRecord| (r.agreement.phone.as_str(), u64::MAX),
            0,
        )?;
        Ok(json!({ "agreements": list.iter().map(agreement_json).collect::<Vec<_>>() }))
    })
    .await?;
    Ok(axum::Json(v))
}

// ---------------------------------------------------------------------------
// Payers' actions: carried out by the pipeline, answered once durable.

async fn act(s: &AdminState, action: crate::daemon::pipeline::MailAction) -> ApiResult {
    let Some(actions) = &s.actions else {
        return Err(ApiError::Unavailable(
            "this API serves no pipeline: actions are not taken".to_owned(),
        ));
    };
    match actions.ask(action).await {
        Ok(v) => Ok(axum::Json(v)),
        Err(why) => Err(ApiError::Refused(why)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignBody {
    phone: String,
    #[serde(default)]
    payer: String,
    customs: String,
    bank_code: String,
    account: String,
}

/// `POST /tax/agreements` with `{"phone", "payer", "customs", "bank_code",
/// "account"}`: signs a three-party agreement (签约处理中 until the bank answers).
async fn sign_agreement(
    State(s): State<AdminState>,
    body: Result<axum::Json<SignBody>, JsonRejection>,
) -> ApiResult {
    let axum::Json(b) = body?;
    act(
        &s,
        crate::daemon::pipeline::MailAction::Sign {
            phone: b.phone,
            payer: b.payer,
            customs: b.customs,
            bank_code: b.bank_code,
            account: b.account,
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneBody {
    phone: String,
}

/// `POST /tax/agreements/{no}/cancel` with `{"phone"}`: only an agreement in
/// 签约成功 (422 with the reason otherwise).
async fn cancel_agreement(
    State(s): State<AdminState>,
    no: Result<Path<String>, PathRejection>,
    body: Result<axum::Json<PhoneBody>, JsonRejection>,
) -> ApiResult {
    let Path(no) = no?;
    let axum::Json(b) = body?;
    act(
        &s,
        crate::daemon::pipeline::MailAction::Cancel {
            phone: b.phone,
            agreement_no: no,
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayBody {
    phone: String,
    agreement_no: String,
}

/// A payment of certificate `no` (`repay`: a re-payment).
async fn payment(
    s: &AdminState,
    no: Result<Path<String>, PathRejection>,
    body: Result<axum::Json<PayBody>, JsonRejection>,
    repay: bool,
) -> ApiResult {
    use crate::daemon::pipeline::MailAction;
    let Path(certificate_no) = no?;
    let axum::Json(PayBody {
        phone,
        agreement_no,
    }) = body?;
    let action = if repay {
        MailAction::Repay {
            phone,
            certificate_no,
            agreement_no,
        }
    } else {
        MailAction::Pay {
            phone,
            certificate_no,
            agreement_no,
        }
    };
    act(s, action).await
}

/// `POST /tax/certificates/{no}/pay` with `{"phone", "agreement_no"}`: a
/// certificate in 未支付 or 支付失败, under an agreement in 签约成功.
async fn pay_certificate(
    State(s): State<AdminState>,
    no: Result<Path<String>, PathRejection>,
    body: Result<axum::Json<PayBody>, JsonRejection>,
) -> ApiResult {
    payment(&s, no, body, false).await
}

/// `POST /tax/certificates/{no}/repay` with `{"phone", "agreement_no"}`:
/// only a certificate in 支付失败.
async fn repay_certificate(
    State(s): State<AdminState>,
    no: Result<Path<String>, PathRejection>,
    body: Result<axum::Json<PayBody>, JsonRejection>,
) -> ApiResult {
    payment(&s, no, body, true).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestBody {
    phone: String,
    kind: String,
    #[serde(default)]
    reason: String,
}

/// `POST /mail/{mailNo}/request` with `{"phone", "kind", "reason"}`: the
/// recipient asks for a tax review (`review`, while 待缴税), a refund
/// (`refund`, after payment) or a return (`return`).
async fn mail_request(
    State(s): State<AdminState>,
    mail_no: Result<Path<String>, PathRejection>,
    body: Result<axum::Json<RequestBody>, JsonRejection>,
) -> ApiResult {
    let Path(mail_no) = mail_no?;
    let axum::Json(b) = body?;
    act(
        &s,
        crate::daemon::pipeline::MailAction::Request {
            phone: b.phone,
            mail_no,
            kind: b.kind,
            reason: b.reason,
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclareBody {
    phone: String,
    xml: String,
}

/// `POST /mail/declarations` with `{"phone", "xml"}`: the recipient's
/// supplementary declaration (a MailDeclaration message).
async fn mail_declare(
    State(s): State<AdminState>,
    body: Result<axum::Json<DeclareBody>, JsonRejection>,
) -> ApiResult {
    let axum::Json(b) = body?;
    act(
        &s,
        crate::daemon::pipeline::MailAction::Declare {
            phone: b.phone,
            xml: b.xml,
        },
    )
    .await
}
