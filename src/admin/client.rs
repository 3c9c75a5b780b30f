//! The CLI half of the admin API: a blocking HTTP client (ureq) that asks
//! the running daemon and hands back the API's JSON unchanged.

use std::time::Duration;

use serde_json::Value;
use thiserror::Error;
use tracing::debug;

use super::TokenError;
use crate::config::{Config, ConfigError};

/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a whole request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read (a raw message of the largest accepted size,
/// as text and as base64, fits).
const MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;

/// Why the CLI could not get an answer. The display is the whole message
/// (there is no separate source to print after it).
#[derive(Debug, Error)]
pub enum ClientError {
    /// Nothing answered at the address (connection refused, timed out,
    /// reset): the daemon is not running there. The CLI exits 2.
    #[error(
        "no admin API answers at {addr} ({reason}); is the daemon running, and is [admin] listen the same in its configuration?"
    )]
    Unreachable {
        /// The address tried.
        addr: String,
        /// What happened.
        reason: String,
    },
    /// The configuration file was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The token file could not be read.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The API refused the request for want of the right token.
    #[error("the admin API at {addr} refused the request: {message}")]
    Unauthorized {
        /// The address asked.
        addr: String,
        /// The API's sentence.
        message: String,
    },
    /// A rule refused the change (`422`): the sentence says which.
    #[error("refused: {message}")]
    Refused {
        /// The API's sentence.
        message: String,
    },
    /// The API found nothing (`404`).
    #[error("{message}")]
    NotFound {
        /// The API's sentence.
        message: String,
    },
    /// The API answered with another error (`400` for a bad query, `500`
    /// when the store failed).
    #[error("the admin API at {addr} answered {status}: {message}")]
    Api {
        /// The address asked.
        addr: String,
        /// The HTTP status.
        status: u16,
        /// The API's sentence.
        message: String,
    },
    /// Something answered, but not as the admin API does (not HTTP, not
    /// JSON, too large).
    #[error("the answer from {addr} is not the admin API's: {reason}")]
    Protocol {
        /// The address asked.
        addr: String,
        /// What was wrong.
        reason: String,
    },
    /// The output could not be written.
    #[error("cannot write the output: {reason}")]
    Output {
        /// The operating system's reason.
        reason: String,
    },
}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> ClientError {
        ClientError::Output {
            reason: e.to_string(),
        }
    }
}

/// The filters of `/messages` (see the [module documentation](super)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessagesQuery {
    /// The business key contains this text.
    pub key: Option<String>,
    /// The message type, exactly (`CEB311`).
    pub ty: Option<String>,
    /// The current status, exactly, or a prefix ending in `:`.
    pub status: Option<String>,
    /// The sender's name, exactly.
    pub sender: Option<String>,
    /// Received at or after: ms since the epoch, `YYYY-MM-DD` or
    /// `YYYY-MM-DDThh:mm:ss` (UTC).
    pub since: Option<String>,
    /// At most this many documents (the API's default is 100).
    pub limit: Option<u32>,
}

/// A client of one admin API.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    addr: String,
    token: Option<String>,
}

impl Client {
    /// A client of the API at `addr` (`127.0.0.1:8470`), sending `token`
    /// as the bearer token when given.
    pub fn new(addr: &str, token: Option<String>) -> Client {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            // Error answers carry a JSON sentence worth showing.
            .http_status_as_error(false)
            // A local address: never through an HTTP proxy from the environment.
            .proxy(None)
            .build()
            .new_agent();
        Client {
            agent,
            addr: addr.to_owned(),
            token,
        }
    }

    /// A client of the API a configuration names: `[admin] listen`, and the
    /// token in `[admin] token_file` when there is one.
    pub fn from_config(config: &Config) -> Result<Client, ClientError> {
        let token = match &config.admin.token_file {
            Some(path) => Some(super::read_token(path)?),
            None => None,
        };
        Ok(Client::new(&config.admin.listen, token))
    }

    /// The address this client asks.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `GET /status`.
    pub fn status(&self) -> Result<Value, ClientError> {
        self.get("/status", &[])
    }

    /// `GET /messages` with the given filters.
    pub fn messages(&self, query: &MessagesQuery) -> Result<Value, ClientError> {
        let limit = query.limit.map(|n| n.to_string());
        let pairs = [
            ("key", query.key.as_deref()),
            ("type", query.ty.as_deref()),
            ("status", query.status.as_deref()),
            ("sender", query.sender.as_deref()),
            ("since", query.since.as_deref()),
            ("limit", limit.as_deref()),
        ];
        let pairs: Vec<(&str, &str)> = pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        self.get("/messages", &pairs)
    }

    /// `GET /documents/{id}`: a document by id (`12.0`) or business key;
    /// with `raw`, the message's bytes too. Nothing found is
    /// [`ClientError::NotFound`].
    pub fn document(&self, id: &str, raw: bool) -> Result<Value, ClientError> {
        let path = format!("/documents/{}", encode_segment(id));
        let query: &[(&str, &str)] = if raw { &[("raw", "true")] } else { &[] };
        self.get(&path, query)
    }

    /// `GET /orphans`.
    pub fn orphans(&self, limit: Option<u32>) -> Result<Value, ClientError> {
        let limit = limit.map(|n| n.to_string());
        let pairs: Vec<(&str, &str)> = limit.iter().map(|l| ("limit", l.as_str())).collect();
        self.get("/orphans", &pairs)
    }

    /// `GET /subscriptions`.
    pub fn subscriptions(&self) -> Result<Value, ClientError> {
        self.get("/subscriptions", &[])
    }

    /// `POST /subscriptions`: makes one (`{client, content, statuses,
    /// valid_until, by, enterprise?}`); a rule's refusal is
    /// [`ClientError::Refused`].
    pub fn subscribe(&self, body: &Value) -> Result<Value, ClientError> {
        self.post("/subscriptions", body)
    }

    /// `POST /subscriptions/{id}/cancel`.
    pub fn cancel_subscription(&self, id: &str, by: &str) -> Result<Value, ClientError> {
        let path = format!("/subscriptions/{}/cancel", encode_segment(id));
        self.post(&path, &serde_json::json!({ "by": by }))
    }

    /// `POST /subscriptions/{id}/extend`.
    pub fn extend_subscription(
        &self,
        id: &str,
        valid_until: &str,
        by: &str,
    ) -> Result<Value, ClientError> {
        let path = format!("/subscriptions/{}/extend", encode_segment(id));
        self.post(
            &path,
            &serde_json::json!({ "by": by, "valid_until": valid_until }),
        )
    }

    /// `GET /outbox`.
    pub fn outbox(
        &self,
        client: Option<&str>,
        parked: bool,
        limit: Option<u32>,
    ) -> Result<Value, ClientError> {
        let limit = limit.map(|n| n.to_string());
        let mut q: Vec<(&str, &str)> = Vec::new();
        if let Some(c) = client {
            q.push(("client", c));
        }
        if parked {
            q.push(("parked", "true"));
        }
        if let Some(l) = &limit {
            q.push(("limit", l));
        }
        self.get("/outbox", &q)
    }

    /// `POST /replay` (`{client, key | since | parked}`).
    pub fn replay(&self, body: &Value) -> Result<Value, ClientError> {
        self.post("/replay", body)
    }

    /// `GET /unrouted`.
    pub fn unrouted(&self, limit: Option<u32>) -> Result<Value, ClientError> {
        let limit = limit.map(|n| n.to_string());
        let pairs: Vec<(&str, &str)> = limit.iter().map(|l| ("limit", l.as_str())).collect();
        self.get("/unrouted", &pairs)
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        let url = format!("http://{}{path}", self.addr);
        debug!(message = "Asking the admin API.", url);
        let mut request = self.agent.post(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let response = request.send_json(body).map_err(|e| self.transport(e))?;
        self.answer(response)
    }

    /// `POST path` with a JSON body: the JSON answer (a payer's action).
    pub fn post_json(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.post(path, body)
    }

    /// `GET path?query…`: the JSON answer (for the postal-items views).
    pub fn get_json(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, ClientError> {
        self.get(path, query)
    }

    /// `GET path?query…` of a page: its text, or the error the API's JSON
    /// answer stands for.
    pub fn get_page(&self, path: &str, query: &[(&str, &str)]) -> Result<String, ClientError> {
        let url = format!("http://{}{path}", self.addr);
        let mut request = self.agent.get(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (k, v) in query {
            request = request.query(*k, *v);
        }
        let mut response = request.call().map_err(|e| self.transport(e))?;
        if response.status().as_u16() != 200 {
            return self.answer(response).map(|v| v.to_string());
        }
        response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|e| self.transport(e))
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, ClientError> {
        let url = format!("http://{}{path}", self.addr);
        debug!(message = "Asking the admin API.", url, query = ?query);
        let mut request = self.agent.get(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (k, v) in query {
            request = request.query(*k, *v);
        }
        let response = request.call().map_err(|e| self.transport(e))?;
        self.answer(response)
    }

    /// The JSON of an answer, or the error its status stands for.
    fn answer(&self, mut response: ureq::http::Response<ureq::Body>) -> Result<Value, ClientError> {
        let status = response.status().as_u16();
        let body: Value = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_json()
            .map_err(|e| match e {
                ureq::Error::Json(e) => ClientError::Protocol {
                    addr: self.addr.clone(),
                    reason: format!("status {status}, not JSON: {e}"),
                },
                e => self.transport(e),
            })?;
        if status == 200 {
            return Ok(body);
        }
        let message = body
            .get("error")
            .and_then(Value::as_str)
            .map_or_else(|| body.to_string(), str::to_owned);
        Err(match status {
            401 => ClientError::Unauthorized {
                addr: self.addr.clone(),
                message,
            },
            404 => ClientError::NotFound { message },
            422 => ClientError::Refused { message },
            status => ClientError::Api {
                addr: self.addr.clone(),
                status,
                message,
            },
        })
    }

    /// A transport failure: nothing listening, or no answer in time, is
    /// [`ClientError::Unreachable`]; anything else a protocol failure.
    fn transport(&self, e: ureq::Error) -> ClientError {
        match e {
            ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound => ClientError::Unreachable {
                addr: self.addr.clone(),
                reason: e.to_string(),
            },
            e => ClientError::Protocol {
                addr: self.addr.clone(),
                reason: e.to_string(),
            },
        }
    }
}

/// Percent-encodes one path segment (everything but RFC 3986's unreserved
/// characters), so a business key with `/`, `%` or `?` stays one segment.
fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments() {
        for (text, want) in [
            ("12.0", "12.0"),
            (
                "orderNo=GW1,ebpCode=3301960A01",
                "orderNo%3DGW1%2CebpCode%3D3301960A01",
            ),
            ("a/b?c%d e", "a%2Fb%3Fc%25d%20e"),
            ("订单", "%E8%AE%A2%E5%8D%95"),
        ] {
            assert_eq!(encode_segment(text), want, "{text}");
        }
    }
}
