//! The TCP wire protocol platforms speak to the gateway (`PROTOCOL.md`):
//! frames, their headers and how they are laid out in bytes. Pure: no I/O,
//! no clock; the daemon's TCP source and the `send` client move the bytes.
//!
//! A frame is a 4-byte big-endian length `N`, then `N` bytes: a JSON object
//! on one line (the header, its `type` says what the frame is), a newline
//! (0x0A), and the body (the XML message of a `SUBMIT` or `RECEIPT`, in
//! whatever encoding it declares; empty for the other frames).

#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The protocol versions this build speaks, oldest first.
pub const VERSIONS: &[u32] = &[1];

/// The largest header (the JSON line), in bytes.
pub const MAX_HEADER: usize = 64 * 1024;

/// The longest message id a platform may choose, in bytes.
pub const MAX_ID: usize = 128;

/// The size of the length prefix.
pub const PREFIX: usize = 4;

/// Why a frame could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// No newline ends the header.
    #[error("the frame has no newline after its JSON header")]
    NoHeader,
    /// The header is longer than [`MAX_HEADER`].
    #[error("the frame's header is {0} bytes, over the limit of {MAX_HEADER}")]
    HeaderTooLong(usize),
    /// The header is not a frame this version knows.
    #[error("the frame's header is not valid: {0}")]
    Header(String),
    /// A message id that is empty, too long or holds control characters.
    #[error("the message id {0:?} must be 1 to {MAX_ID} bytes of UTF-8 without control characters")]
    BadId(String),
    /// A frame whose body must be empty carries one.
    #[error("a {0} frame carries no body")]
    UnexpectedBody(&'static str),
}

/// A secret that prints as `***` in logs and debug output.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// One finding in an acknowledgement: a rule, where, and the sentence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule's stable code (`FIELD_REQUIRED`, `SENDER_SCOPE`, …).
    pub rule: String,
    /// `error` or `warning`.
    pub severity: String,
    /// The element path (`/ceb:CEB311Message/ceb:Order/ceb:OrderHead/ceb:orderNo`); empty for the whole message.
    pub path: String,
    /// The sentence.
    pub message: String,
}

/// One document of an acknowledged message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AckDocument {
    /// Its position in the message (0-based).
    pub index: u32,
    /// Its business key (`orderNo` of an order, …).
    pub key: String,
    /// Its status when the message was stored (`received`, `waiting`,
    /// `refused`, `passed`, …; see the README's status table).
    pub status: String,
    /// Why it was refused (every error), empty otherwise.
    pub findings: Vec<Diagnostic>,
}

/// What became of a message: `accepted`, `refused` or `duplicate`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Stored; its documents go on to the cross-document check and customs.
    Accepted,
    /// Stored and refused: it goes no further (the findings say why).
    Refused,
    /// This message id was submitted before: `first` is that answer, and
    /// nothing was processed again.
    Duplicate,
}

/// The result of one stored message, as first acknowledged.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stored {
    /// `accepted` or `refused`.
    pub result: Outcome,
    /// The gateway's number for the message (`customs-gateway show N`).
    pub message: u64,
    /// The message type (`CEB311Message`), empty when it could not be read.
    #[serde(rename = "messageType")]
    pub message_type: String,
    /// When it was stored (milliseconds since the Unix epoch).
    pub stored_ms: u64,
    /// Findings about the whole message (it could not be read, …).
    pub findings: Vec<Diagnostic>,
    /// Its documents.
    pub documents: Vec<AckDocument>,
}

/// A frame's header.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type")]
pub enum Header {
    /// Client → gateway, first: who it is and which versions it speaks.
    #[serde(rename = "HELLO")]
    Hello {
        /// The versions the client speaks.
        versions: Vec<u32>,
        /// The platform id (`[[platform]] id`).
        platform: String,
        /// The platform's token.
        token: Secret,
        /// Whether this connection takes the platform's receipts (default true).
        #[serde(default = "yes")]
        receipts: bool,
    },
    /// Gateway → client: authenticated, with the version chosen and the limits.
    #[serde(rename = "WELCOME")]
    Welcome {
        /// The version both speak (the highest in common).
        version: u32,
        /// The gateway's name and release.
        server: String,
        /// The largest SUBMIT body, in bytes.
        max_body: u64,
        /// The largest frame (after the length prefix), in bytes.
        max_frame: u64,
        /// How many SUBMITs may wait for their ACK.
        max_in_flight: u64,
        /// An idle connection is closed after this many seconds (send `PING`).
        idle_timeout_secs: u64,
    },
    /// Client → gateway: one XML message in the body.
    #[serde(rename = "SUBMIT")]
    Submit {
        /// The platform's id for the message: its idempotency key.
        id: String,
    },
    /// Gateway → client: a SUBMIT is stored and flushed.
    #[serde(rename = "ACK")]
    Ack {
        /// The SUBMIT's id.
        id: String,
        /// `accepted`, `refused` or `duplicate`.
        result: Outcome,
        /// What was stored: this message's result, or for a duplicate the
        /// first one's.
        stored: Box<Stored>,
    },
    /// Gateway → client: a receipt for one of the platform's documents (body: the XML).
    #[serde(rename = "RECEIPT")]
    Receipt {
        /// Its sequence number: confirm it with `RECEIVED`.
        seq: u64,
        /// A file name for it.
        file: String,
    },
    /// Client → gateway: a RECEIPT is safely kept; it is not sent again.
    #[serde(rename = "RECEIVED")]
    Received {
        /// The RECEIPT's sequence number.
        seq: u64,
    },
    /// Either way: are you there? Answered with `PONG`.
    #[serde(rename = "PING")]
    Ping,
    /// The answer to `PING`.
    #[serde(rename = "PONG")]
    Pong,
    /// Gateway → client: something is wrong with the connection; `fatal`
    /// errors close it.
    #[serde(rename = "ERROR")]
    Error {
        /// `VERSION`, `AUTH`, `HANDSHAKE`, `FRAME`, `TOO_LARGE`, `BUSY`,
        /// `TIMEOUT`, `SHUTDOWN`.
        code: String,
        /// The sentence.
        message: String,
        /// Whether the gateway closes the connection after it.
        fatal: bool,
        /// The versions the gateway speaks (`VERSION` only).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        supported: Vec<u32>,
    },
}

fn yes() -> bool {
    true
}

impl Header {
    /// The frame's type, as written on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Header::Hello { .. } => "HELLO",
            Header::Welcome { .. } => "WELCOME",
            Header::Submit { .. } => "SUBMIT",
            Header::Ack { .. } => "ACK",
            Header::Receipt { .. } => "RECEIPT",
            Header::Received { .. } => "RECEIVED",
            Header::Ping => "PING",
            Header::Pong => "PONG",
            Header::Error { .. } => "ERROR",
        }
    }

    /// A fatal error frame.
    pub fn fatal(code: &str, message: impl Into<String>) -> Header {
        Header::Error {
            code: code.to_owned(),
            message: message.into(),
            fatal: true,
            supported: Vec::new(),
        }
    }
}

/// The largest frame (after the prefix) for a body limit of `max_body`.
pub fn max_frame(max_body: usize) -> usize {
    max_body.saturating_add(MAX_HEADER).saturating_add(1)
}

/// A whole frame, with its length prefix.
pub fn encode(header: &Header, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len().saturating_add(256));
    out.extend_from_slice(&[0; PREFIX]);
    encode_payload_into(header, body, &mut out);
    let n = u32::try_from(out.len().saturating_sub(PREFIX)).unwrap_or(u32::MAX);
    if let Some(prefix) = out.get_mut(..PREFIX) {
        prefix.copy_from_slice(&n.to_be_bytes());
    }
    out
}

/// A frame's payload (what follows the length prefix), appended to `out`.
pub fn encode_payload_into(header: &Header, body: &[u8], out: &mut Vec<u8>) {
    // Serializing these types cannot fail (no maps with non-string keys,
    // no custom serializers that error); an empty object is never sent.
    if serde_json::to_writer(&mut *out, header).is_err() {
        out.extend_from_slice(b"{}");
    }
    out.push(b'\n');
    out.extend_from_slice(body);
}

/// Splits a payload into its header and body.
pub fn decode(payload: &[u8]) -> Result<(Header, &[u8]), ProtocolError> {
    let Some(nl) = payload.iter().position(|&b| b == b'\n') else {
        return Err(if payload.len() > MAX_HEADER {
            ProtocolError::HeaderTooLong(payload.len())
        } else {
            ProtocolError::NoHeader
        });
    };
    if nl > MAX_HEADER {
        return Err(ProtocolError::HeaderTooLong(nl));
    }
    let (head, rest) = payload.split_at(nl);
    let body = rest.get(1..).unwrap_or_default();
    let header: Header =
        serde_json::from_slice(head).map_err(|e| ProtocolError::Header(e.to_string()))?;
    match &header {
        Header::Submit { id } => check_id(id)?,
        Header::Receipt { .. } => {}
        other if !body.is_empty() => return Err(ProtocolError::UnexpectedBody(other.name())),
        _ => {}
    }
    Ok((header, body))
}

/// Checks a platform's message id.
pub fn check_id(id: &str) -> Result<(), ProtocolError> {
    if id.is_empty() || id.len() > MAX_ID || id.chars().any(char::is_control) {
        return Err(ProtocolError::BadId(id.to_owned()));
    }
    Ok(())
}

/// The highest version both sides speak.
pub fn negotiate(client: &[u32]) -> Option<u32> {
    VERSIONS.iter().rev().find(|v| client.contains(v)).copied()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let h = Header::Submit { id: "a-1".into() };
        let f = encode(&h, b"<x/>");
        let n = u32::from_be_bytes(f[..4].try_into().unwrap()) as usize;
        assert_eq!(n, f.len() - 4);
        let (back, body) = decode(&f[4..]).unwrap();
        assert_eq!(back, h);
        assert_eq!(body, b"<x/>");
    }

    #[test]
    fn refusals() {
        assert_eq!(decode(b"{}"), Err(ProtocolError::NoHeader));
        assert!(matches!(decode(b"{}\n"), Err(ProtocolError::Header(_))));
        assert!(matches!(
            decode(b"{\"type\":\"SUBMIT\",\"id\":\"\"}\n<x/>"),
            Err(ProtocolError::BadId(_))
        ));
        assert_eq!(
            decode(b"{\"type\":\"PING\"}\nxx"),
            Err(ProtocolError::UnexpectedBody("PING"))
        );
        let long = vec![b' '; MAX_HEADER + 2];
        assert!(matches!(
            decode(&long),
            Err(ProtocolError::HeaderTooLong(_))
        ));
    }

    #[test]
    fn hello_token_is_not_printed() {
        let (h, _) = decode(
            b"{\"type\":\"HELLO\",\"versions\":[1],\"platform\":\"p\",\"token\":\"s3cret\"}\n",
        )
        .unwrap();
        assert!(!format!("{h:?}").contains("s3cret"));
        assert!(matches!(h, Header::Hello { receipts: true, .. }));
    }

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(&[1, 2]), Some(1));
        assert_eq!(negotiate(&[2]), None);
    }
}
