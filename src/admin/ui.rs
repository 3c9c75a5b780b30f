//! The admin dashboard's routes (`GET /`, `/ui/search`, `/ui/documents/{id}`,
//! `POST /ui/login`): thin handlers that read the store off the async
//! workers and hand what they found to [`super::dashboard`] to render.
//!
//! # Authentication
//!
//! With `[admin] token_file`, a page takes either the API's
//! `Authorization: Bearer <token>`, or the dashboard's cookie. A browser
//! gets the cookie by giving the token once: through the form of the page
//! every unauthenticated request is answered with (`POST /ui/login`), or
//! as `?token=` on any page (the answer is a redirect to the same page
//! without it). The cookie (`customs_gateway_dashboard`, `HttpOnly`,
//! `SameSite=Strict`, `Path=/`, for the browser session) holds a SHA-256
//! digest of the token, not the token: it opens the dashboard's pages
//! only, never the JSON API. Tokens and cookies are compared in constant
//! time and never logged.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use tracing::{info, warn};

use super::api::{AdminState, ApiError, blocking, listed, show, status};
use super::dashboard::{self, ClientRow, Overview, ParkedRow, Reason, Refusal, SenderRow};
use crate::store::records::Disposition;
use crate::store::{
    DocId, DocumentRecord, ForwardRecord, InboxRecord, MessageRecord, OutboxEntry, SetRecord,
    Store, StoreError, key,
};
use crate::track::status as st;

/// The newest messages (and documents) the overview reads for the
/// senders' counts and the latest refusals.
pub const WINDOW: usize = 2000;
/// The refusals the overview lists.
pub const REFUSALS: usize = 30;
/// The parked pushes the overview lists.
pub const PARKED: usize = 100;
/// The documents a search lists.
pub const HITS: usize = 100;

/// The dashboard cookie's name.
pub const COOKIE: &str = "customs_gateway_dashboard";

/// The dashboard's routes (the API's router adds them).
pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/", get(home))
        .route("/ui/search", get(search))
        .route("/ui/documents/{id}", get(document))
        .route("/ui/login", post(login))
}

/// Whether `path` is one of the dashboard's pages.
fn is_page(path: &str) -> bool {
    path == "/" || path.starts_with("/ui/")
}

/// The cookie value for `token`: a digest, so the cookie does not carry
/// the API's token.
fn cookie_value(token: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"customs-gateway dashboard cookie\n");
    h.update(token);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two byte strings are equal, in constant time (the length is
/// not secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// The dashboard cookie's value in a request, if any.
fn cookie_of(req: &Request) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
}

/// The `token` parameter of a query, and the query without it.
fn split_token(query: &str) -> (Option<String>, String) {
    let mut token = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name == "token" {
            token = Some(percent_decode(value));
        } else {
            rest.push(pair);
        }
    }
    (token, rest.join("&"))
}

/// Decodes `%XX` and `+` of a query value (invalid escapes kept as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| {
            bytes
                .get(j)
                .and_then(|c| char::from(*c).to_digit(16))
                .and_then(|d| u8::try_from(d).ok())
        };
        match (b, hex(i.saturating_add(1)), hex(i.saturating_add(2))) {
            (b'%', Some(h), Some(l)) => {
                out.push(h.saturating_mul(16).saturating_add(l));
                i = i.saturating_add(3);
            }
            (b'+', _, _) => {
                out.push(b' ');
                i = i.saturating_add(1);
            }
            _ => {
                out.push(b);
                i = i.saturating_add(1);
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A local path to go to after signing in: `/` unless `next` is a path of
/// this server (not `//host`, no backslash or control character).
fn local_path(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if ok { next } else { "/" }
}

/// An HTML answer, with headers that keep the page to itself: nothing
/// loads from elsewhere, no script runs, nothing is cached or framed.
fn html(code: StatusCode, body: String) -> Response {
    (
        code,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                 frame-ancestors 'none'; base-uri 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        body,
    )
        .into_response()
}

/// A `303 See Other` to `to`, setting the dashboard cookie for `token`.
fn signed_in(to: &str, token: &[u8]) -> Response {
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        cookie_value(token)
    );
    let mut r = StatusCode::SEE_OTHER.into_response();
    let location = HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/"));
    r.headers_mut().insert(header::LOCATION, location);
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// For a request without a valid bearer token, when a token is
/// configured: `None` when it is not for a dashboard page (the API refuses
/// it); `Some(Ok)` to serve it (the cookie is valid, or it is the sign-in
/// form's post); `Some(Err(answer))` otherwise: the redirect that sets the
/// cookie for a valid `?token=`, or the sign-in page (401).
pub(super) fn admit(req: &Request, token: &[u8]) -> Option<Result<(), Response>> {
    let path = req.uri().path();
    if !is_page(path) {
        return None;
    }
    if path == "/ui/login" && req.method() == Method::POST {
        return Some(Ok(()));
    }
    let (given, rest) = split_token(req.uri().query().unwrap_or(""));
    let here = if rest.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{rest}")
    };
    if let Some(given) = given {
        if same(given.trim().as_bytes(), token) {
            info!(message = "Dashboard signed in with ?token.", path);
            return Some(Err(signed_in(&here, token)));
        }
        warn!(message = "Dashboard request refused: wrong token.", path);
        return Some(Err(html(
            StatusCode::UNAUTHORIZED,
            dashboard::login(&here, true),
        )));
    }
    if cookie_of(req).is_some_and(|c| same(c.as_bytes(), cookie_value(token).as_bytes())) {
        return Some(Ok(()));
    }
    warn!(
        message = "Dashboard request refused: no valid cookie or bearer token.",
        path
    );
    Some(Err(html(
        StatusCode::UNAUTHORIZED,
        dashboard::login(&here, false),
    )))
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: String,
}

async fn login(
    State(s): State<AdminState>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let (token, next) = form.map_or((String::new(), String::new()), |Form(f)| (f.token, f.next));
    let next = local_path(&next).to_owned();
    let want = s.live.borrow().token.clone();
    match &want {
        None => signed_in(&next, b""),
        Some(want) if same(token.trim().as_bytes(), want.as_bytes()) => {
            info!(message = "Dashboard signed in.");
            signed_in(&next, want.as_bytes())
        }
        Some(_) => {
            warn!(message = "Dashboard sign-in refused: wrong token.");
            html(StatusCode::UNAUTHORIZED, dashboard::login(&next, true))
        }
    }
}

/// An API error as an HTML page.
fn failed(e: ApiError) -> Response {
    let (code, zh, en) = match &e {
        ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "请求有误", "Bad request"),
        ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "没有找到", "Not found"),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "内部错误",
            "Internal error",
        ),
    };
    if code == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(message = "Dashboard request failed.", error = %e);
    }
    html(
        code,
        dashboard::error(code.as_u16(), zh, en, &e.to_string()),
    )
}

async fn home(State(s): State<AdminState>) -> Response {
    let status = match status(State(s.clone())).await {
        Ok(axum::Json(v)) => v,
        Err(e) => return failed(e),
    };
    let overdue_now = crate::daemon::now_ms();
    let store = s.store.clone();
    let (clients, sources) = {
        let live = s.live.borrow();
        (live.clients.clone(), live.sources.clone())
    };
    match blocking(move || Ok(gather(&store, &clients, &sources)?)).await {
        Ok((senders, client_rows, refusals, parked)) => {
            let o = Overview {
                status,
                senders,
                window: WINDOW,
                clients: client_rows,
                refusals,
                parked,
                now_ms: overdue_now,
            };
            html(StatusCode::OK, dashboard::overview(&o))
        }
        Err(e) => failed(e),
    }
}

type Gathered = (Vec<SenderRow>, Vec<ClientRow>, Vec<Refusal>, Vec<ParkedRow>);

/// Reads what the overview shows besides `/status`.
fn gather(
    store: &Store,
    clients: &[crate::config::ClientConfig],
    sources: &[(String, String)],
) -> Result<Gathered, StoreError> {
    // The configured sources, even those silent lately; then the newest
    // messages: per source, and the refused ones.
    let mut by_source: BTreeMap<(String, String), SenderRow> = sources
        .iter()
        .map(|(kind, name)| {
            (
                (kind.clone(), name.clone()),
                SenderRow {
                    kind: kind.clone(),
                    name: name.clone(),
                    ..SenderRow::default()
                },
            )
        })
        .collect();
    let mut source_of: BTreeMap<u64, (String, String)> = BTreeMap::new();
    let mut refused: Vec<MessageRecord> = Vec::new();
    let mut seen = 0usize;
    store.scan_rev::<MessageRecord>(b"m", |m| {
        let src = (m.source.kind.clone(), m.source.name.clone());
        let row = by_source.entry(src.clone()).or_insert_with(|| SenderRow {
            kind: src.0.clone(),
            name: src.1.clone(),
            ..SenderRow::default()
        });
        // The newest message comes first.
        if row.last_ms.is_none() {
            row.last_ms = Some(m.received_ms);
            row.last_file = m.source.file.clone();
        }
        row.received = row.received.saturating_add(1);
        if m.disposition == Disposition::Refused {
            row.refused = row.refused.saturating_add(1);
            if refused.len() < REFUSALS {
                refused.push(m.clone());
            }
        }
        source_of.insert(m.id, src);
        seen = seen.saturating_add(1);
        seen < WINDOW
    })?;
    // What waits for customs, and the receipts waiting for a sender.
    for (_, f) in store.scan::<ForwardRecord>(b"f")? {
        let src = match source_of.get(&f.msg) {
            Some(s) => s.clone(),
            None => match store.get::<MessageRecord>(&key::message(f.msg))? {
                Some(m) => (m.source.kind, m.source.name),
                None => continue,
            },
        };
        let row = by_source.entry(src.clone()).or_insert_with(|| SenderRow {
            kind: src.0,
            name: src.1,
            ..SenderRow::default()
        });
        match f.state.as_str() {
            "queued" => row.forward_queued = row.forward_queued.saturating_add(1),
            "written" => row.forward_written = row.forward_written.saturating_add(1),
            _ => row.forward_parked = row.forward_parked.saturating_add(1),
        }
    }
    for (_, r) in store.scan::<InboxRecord>(b"r")? {
        let row = by_source
            .iter_mut()
            .find(|((kind, name), _)| kind != "customs" && *name == r.sender)
            .map(|(_, row)| row);
        match row {
            Some(row) => row.inbox_pending = row.inbox_pending.saturating_add(1),
            None => {
                by_source.insert(
                    ("sender".to_owned(), r.sender.clone()),
                    SenderRow {
                        kind: "sender".to_owned(),
                        name: r.sender,
                        inbox_pending: 1,
                        ..SenderRow::default()
                    },
                );
            }
        }
    }
    // Senders and platforms first, customs last.
    let mut senders: Vec<SenderRow> = by_source.into_values().collect();
    senders.sort_by(|a, b| (a.kind == "customs", &a.name).cmp(&(b.kind == "customs", &b.name)));

    let mut refusals = Vec::new();
    for m in &refused {
        refusals.extend(refusals_of(store, m)?);
    }
    refusals.extend(failed_sets(store)?);
    refusals.sort_by_key(|r| std::cmp::Reverse(r.at_ms));
    refusals.truncate(REFUSALS);

    let (client_rows, parked) = outboxes(store, clients)?;
    Ok((senders, client_rows, refusals, parked))
}

/// The refusals of one refused message: the whole file, or each refused
/// document with the findings its history recorded.
fn refusals_of(store: &Store, m: &MessageRecord) -> Result<Vec<Refusal>, StoreError> {
    let reason = |f: &crate::store::Finding| Reason {
        rule: f.rule.clone(),
        field: f.field.clone(),
        message: f.message.clone(),
    };
    let base = Refusal {
        at_ms: m.received_ms,
        sender: m.source.name.clone(),
        file: m.source.file.clone(),
        ty: m.ty.clone(),
        ..Refusal::default()
    };
    let mut out = Vec::new();
    // Message-level errors refuse the whole file (warnings refuse nothing).
    let errors: Vec<Reason> = m
        .findings
        .iter()
        .filter(|f| f.severity == "error")
        .map(reason)
        .collect();
    if !errors.is_empty() {
        out.push(Refusal {
            what: "file".to_owned(),
            reasons: errors,
            ..base.clone()
        });
    }
    for doc in 0..m.documents {
        let id = DocId { msg: m.id, doc };
        let Some(d) = store.get::<DocumentRecord>(&key::document(id))? else {
            continue;
        };
        let history = store.history(id)?;
        let Some(e) = history.iter().rev().find(|e| e.status == st::REFUSED) else {
            continue;
        };
        out.push(Refusal {
            at_ms: e.at_ms,
            what: "document".to_owned(),
            ty: d.ty.clone(),
            key: d.key.clone(),
            doc: id.to_string(),
            reasons: if e.findings.is_empty() {
                vec![Reason {
                    message: e.info.clone(),
                    ..Reason::default()
                }]
            } else {
                e.findings.iter().map(reason).collect()
            },
            ..base.clone()
        });
    }
    Ok(out)
}

/// The order sets that failed the cross-document check, among the newest
/// documents.
fn failed_sets(store: &Store) -> Result<Vec<Refusal>, StoreError> {
    let mut sets: BTreeMap<(String, String), (DocId, Vec<String>)> = BTreeMap::new();
    let mut seen = 0usize;
    store.scan_rev::<DocumentRecord>(b"d", |d| {
        if d.status == st::SET_FAILED
            && let Some(set) = &d.set
        {
            let entry = sets.entry(set.clone()).or_insert((d.id, Vec::new()));
            if !entry.1.contains(&d.sender) {
                entry.1.push(d.sender.clone());
            }
        }
        seen = seen.saturating_add(1);
        seen < WINDOW
    })?;
    let mut out = Vec::new();
    for ((order, ebp), (doc, senders)) in sets {
        let set = crate::engine::SetKey::new(&order, &ebp);
        let Some(rec) = store.get::<SetRecord>(&key::set(&set))? else {
            continue;
        };
        out.push(Refusal {
            at_ms: rec.at_ms,
            what: "set".to_owned(),
            sender: senders.join(", "),
            key: set.to_string(),
            doc: doc.to_string(),
            reasons: rec
                .findings
                .iter()
                .map(|f| Reason {
                    rule: f.rule.clone(),
                    field: f.field.clone(),
                    message: f.message.clone(),
                })
                .collect(),
            ..Refusal::default()
        });
    }
    Ok(out)
}

/// Each client's queue, parked entries and delivered log.
fn outboxes(
    store: &Store,
    clients: &[crate::config::ClientConfig],
) -> Result<(Vec<ClientRow>, Vec<ParkedRow>), StoreError> {
    let mut rows = Vec::new();
    let mut parked = Vec::new();
    for c in clients {
        let queue = store.scan::<OutboxEntry>(&key::outbox_prefix(&c.id))?;
        let parked_list = store.scan::<OutboxEntry>(&key::parked_prefix(&c.id))?;
        let mut last = None;
        store.scan_rev::<OutboxEntry>(&key::delivered_prefix(&c.id), |e| {
            last = Some((
                e.delivered_ms.unwrap_or(e.queued_ms),
                format!("{} {} {}", e.ty, e.key, e.status).trim().to_owned(),
            ));
            false
        })?;
        let delivery = c.delivery_text();
        rows.push(ClientRow {
            id: c.id.clone(),
            enterprise: c.enterprise.clone(),
            delivery,
            queued: queue.iter().filter(|(_, e)| !e.parked).count(),
            parked: parked_list.len(),
            delivered: store.count(&key::delivered_prefix(&c.id)),
            last_delivered: last,
            oldest_ms: queue
                .iter()
                .filter(|(_, e)| !e.parked)
                .map(|(_, e)| e.queued_ms)
                .min(),
            last_error: queue
                .iter()
                .chain(parked_list.iter())
                .rev()
                .find(|(_, e)| !e.error.is_empty())
                .map(|(_, e)| e.error.clone())
                .unwrap_or_default(),
        });
        for (_, e) in parked_list {
            if parked.len() >= PARKED {
                break;
            }
            parked.push(ParkedRow {
                client: e.client,
                seq: e.seq,
                doc: e.doc.to_string(),
                ty: e.ty,
                key: e.key,
                status: e.status,
                attempts: e.attempts,
                queued_ms: e.queued_ms,
                error: e.error,
            });
        }
    }
    Ok((rows, parked))
}

/// The search box's query (other parameters are ignored).
#[derive(Debug, Default, Deserialize)]
struct SearchParams {
    #[serde(default)]
    q: String,
}

/// A redirect to `to` (a local path).
fn see_other(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// `/ui/search?q=`: a document id or a whole business key opens the
/// document; otherwise the documents whose business key contains the text,
/// newest first (one alone opens directly).
async fn search(
    State(s): State<AdminState>,
    query: Result<Query<SearchParams>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(p)| p.q).unwrap_or_default();
    let q = q.trim().to_owned();
    if q.is_empty() {
        return see_other("/");
    }
    let store = s.store.clone();
    let asked = q.clone();
    let found = blocking(move || {
        match show(&store, &asked, false) {
            Ok(_) => return Ok(None),
            Err(ApiError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let mut hits = Vec::new();
        store.scan_rev::<DocumentRecord>(b"d", |d| {
            if d.key.contains(asked.as_str()) {
                hits.push(listed(&d));
            }
            hits.len() < HITS
        })?;
        Ok(Some(hits))
    })
    .await;
    match found {
        Ok(None) => see_other(&dashboard::document_href(&q)),
        Ok(Some(hits)) if hits.len() == 1 => {
            let id = hits
                .first()
                .and_then(|h| h.get("id"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            see_other(&dashboard::document_href(id))
        }
        Ok(Some(hits)) => html(StatusCode::OK, dashboard::search(&q, &hits, HITS)),
        Err(e) => failed(e),
    }
}

/// The query of a document's page.
#[derive(Debug, Default, Deserialize)]
struct DocumentParams {
    #[serde(default)]
    raw: Option<bool>,
}

/// `/ui/documents/{id}`: what `GET /documents/{id}` answers, as a page.
async fn document(
    State(s): State<AdminState>,
    Path(id): Path<String>,
    query: Result<Query<DocumentParams>, QueryRejection>,
) -> Response {
    let raw = query.ok().and_then(|Query(p)| p.raw).unwrap_or(false);
    let store = s.store.clone();
    match blocking(move || show(&store, &id, raw)).await {
        Ok(v) => html(StatusCode::OK, dashboard::document(&v)),
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_taken_out_of_the_query() {
        assert_eq!(split_token(""), (None, String::new()));
        assert_eq!(
            split_token("token=a%2Bb+c&q=GW1"),
            (Some("a+b c".to_owned()), "q=GW1".to_owned())
        );
        assert_eq!(
            split_token("q=x&raw=true"),
            (None, "q=x&raw=true".to_owned())
        );
        assert_eq!(percent_decode("%E5%8D%95%zz"), "单%zz");
    }

    #[test]
    fn only_local_paths_are_followed_after_signing_in() {
        for (next, want) in [
            ("/", "/"),
            ("/ui/documents/12.0", "/ui/documents/12.0"),
            ("//evil.example/", "/"),
            ("/\\evil.example", "/"),
            ("https://evil.example/", "/"),
            ("", "/"),
            ("/a\r\nSet-Cookie: x", "/"),
        ] {
            assert_eq!(local_path(next), want, "{next}");
        }
    }

    #[test]
    fn the_cookie_is_a_digest_not_the_token() {
        let c = cookie_value(b"secret");
        assert_eq!(c.len(), 64);
        assert!(!c.contains("secret"));
        assert_ne!(c, cookie_value(b"secreT"));
        assert!(same(c.as_bytes(), cookie_value(b"secret").as_bytes()));
    }
}
