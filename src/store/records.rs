//! The values the store keeps, each a JSON object with its layout version
//! `v` (so a later release can read an older store, and refuses a newer one).

use serde::{Deserialize, Serialize};

/// The version written into every record.
pub const VERSION: u32 = 1;

/// A document's identity: the inbound message and its position in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocId {
    /// The gateway message id.
    pub msg: u64,
    /// The document's position in the message (0-based).
    pub doc: u32,
}

impl std::fmt::Display for DocId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.msg, self.doc)
    }
}

impl std::str::FromStr for DocId {
    type Err = ();
    fn from_str(s: &str) -> Result<DocId, ()> {
        let (m, d) = s.split_once('.').unwrap_or((s, "0"));
        Ok(DocId {
            msg: m.parse().map_err(|_| ())?,
            doc: d.parse().map_err(|_| ())?,
        })
    }
}

/// Where an inbound message came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// `sender` (a sender's OutBox), `customs` (the customs InBox), later `tcp`.
    pub kind: String,
    /// The sender's or platform's name; `customs` for customs.
    pub name: String,
    /// The file name as dropped (`a.zip!inner.xml` for a zip entry).
    pub file: String,
}

/// How the gateway answered an inbound message as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Every document was taken.
    Accepted,
    /// At least one document (or the whole file) was refused.
    Refused,
    /// A customs message, filed.
    Receipt,
}

/// One finding, as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Rule code.
    pub rule: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    /// Element path, empty when about the whole message.
    pub field: String,
    /// One sentence.
    pub message: String,
}

/// One inbound message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Layout version.
    pub v: u32,
    /// The gateway message id.
    pub id: u64,
    /// Where it came from.
    pub source: Source,
    /// When it was received (ms since the Unix epoch).
    pub received_ms: u64,
    /// SHA-256 of the raw bytes, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The charset it was read in (`UTF-8`, `GBK` …), empty when unreadable.
    pub encoding: String,
    /// Message type (`CEB311`), the root element of an unmodelled message,
    /// empty when unreadable.
    #[serde(rename = "type")]
    pub ty: String,
    /// How many documents it holds.
    pub documents: u32,
    /// How the gateway answered it.
    pub disposition: Disposition,
    /// Message-level findings (unreadable, refused as a whole).
    pub findings: Vec<Finding>,
    /// Whether it carries a `ds:Signature` (forwarded byte for byte).
    pub signed: bool,
}

/// One document and where it stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocumentRecord {
    /// Layout version.
    pub v: u32,
    /// Its identity.
    pub id: DocId,
    /// Message type.
    #[serde(rename = "type")]
    pub ty: String,
    /// The business key (`orderNo=…,ebpCode=…`).
    pub key: String,
    /// appType (`1`, `2`, `3`), empty for receipts.
    pub app_type: String,
    /// Its sender's name (`customs` for receipts).
    pub sender: String,
    /// When it was received.
    pub received_ms: u64,
    /// The order set it belongs to (`orderNo`, `ebpCode`).
    pub set: Option<(String, String)>,
    /// The current status.
    pub status: String,
    /// Where the current customs status sorts (status never moves back).
    pub customs: Option<crate::track::ReceiptOrder>,
    /// For a customs receipt: the document it answers.
    pub answers: Option<DocId>,
    /// The next history sequence number.
    pub next_event: u32,
    /// The enterprise it belongs to (named in the role that declares its
    /// type), when known: who may subscribe to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// One entry of a document's status history (append-only).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// Layout version.
    pub v: u32,
    /// When it happened (ms since the Unix epoch).
    pub at_ms: u64,
    /// The status it records.
    pub status: String,
    /// A sentence.
    pub info: String,
    /// Findings (why it was refused, why its set failed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// For a customs receipt: the receipt document and what it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<ReceiptEvent>,
}

/// A customs receipt in a history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReceiptEvent {
    /// The receipt document.
    pub doc: DocId,
    /// Its message type.
    #[serde(rename = "type")]
    pub ty: String,
    /// returnStatus or CHANNEL.
    pub code: String,
    /// returnTime.
    pub time: String,
    /// returnInfo.
    pub info: String,
    /// Whether it became the current status (else it sorted before it).
    pub current: bool,
}

/// One order set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetRecord {
    /// Layout version.
    pub v: u32,
    /// `incomplete`, `pass` or `fail`.
    pub status: String,
    /// The current members, in set order.
    pub members: Vec<DocId>,
    /// The last verdict's violations.
    pub findings: Vec<Finding>,
    /// When it was last evaluated.
    pub at_ms: u64,
}

/// A message on its way to customs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForwardRecord {
    /// Layout version.
    pub v: u32,
    /// The message.
    pub msg: u64,
    /// Message type (the inventory goes last).
    #[serde(rename = "type")]
    pub ty: String,
    /// `queued`, `written`, `transmitted`, `failed` or `parked`.
    pub state: String,
    /// Attempts so far (1 for the first write).
    pub attempt: u32,
    /// The file name in the customs OutBox.
    pub file: String,
    /// When the state last changed.
    pub at_ms: u64,
}

/// A receipt file waiting to be written into a sender's InBox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InboxRecord {
    /// Layout version.
    pub v: u32,
    /// The sender.
    pub sender: String,
    /// The file name.
    pub file: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// The first answer to a platform's message id (the TCP idempotency index).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmissionRecord {
    /// Layout version.
    pub v: u32,
    /// What was stored, as the first ACK said.
    pub stored: crate::protocol::Stored,
}

/// A subscription (报关单数据订阅): one client receives the receipts (of
/// some statuses) and/or the declaration data of its own enterprise.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SubscriptionRecord {
    /// Layout version.
    pub v: u32,
    /// Its id (`cfg-…` from the configuration, `sub-…` from the API,
    /// `msg-…` from a message's BaseSubscribe).
    pub id: String,
    /// The client receiving it.
    pub client: String,
    /// The client's enterprise: whose declarations it covers.
    pub enterprise: String,
    /// `receipts` and/or `data`.
    pub content: Vec<String>,
    /// The receipt statuses (入库 退单 审结 删单 放行 结案 查验通知).
    pub statuses: Vec<String>,
    /// The last valid day, `YYYY-MM-DD` (China Standard Time).
    pub valid_until: String,
    /// 订阅日期: the day it was made, `YYYY-MM-DD`.
    pub made: String,
    /// When it was made (ms since the Unix epoch).
    pub made_ms: u64,
    /// 录入人: who made it.
    pub by: String,
    /// `config`, `api` or `message`.
    pub origin: String,
    /// For a BaseSubscribe: the message whose documents it covers alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<u64>,
    /// Cancelled (已取消).
    pub cancelled: bool,
    /// Every change, oldest first.
    pub history: Vec<SubscriptionEvent>,
    /// For one from the configuration: what the configuration said when it
    /// was last applied (`valid_until` as written, `cancelled`). A restart
    /// acts only when the configuration changed, so changes made through
    /// the API stand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<(String, bool)>,
}

/// One change of a subscription.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SubscriptionEvent {
    /// When (ms since the Unix epoch).
    pub at_ms: u64,
    /// `made`, `extended`, `cancelled`.
    pub action: String,
    /// Who.
    pub by: String,
    /// The valid-until date after the change.
    pub valid_until: String,
}

/// One delivery to a client: a receipt or a declaration, queued in the
/// client's outbox in the same atomic write that stored it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutboxEntry {
    /// Layout version.
    pub v: u32,
    /// The client.
    pub client: String,
    /// Its place in the client's queue (a store id: increasing).
    pub seq: u64,
    /// `receipts` or `data`.
    pub content: String,
    /// The document delivered (a receipt, or a declaration).
    pub doc: DocId,
    /// Its message type.
    #[serde(rename = "type")]
    pub ty: String,
    /// Its business key.
    pub key: String,
    /// The enterprise it belongs to (the client's when it was queued).
    #[serde(default)]
    pub owner: String,
    /// The subscribed status (入库 …), empty for data.
    pub status: String,
    /// The customs code (returnStatus or CHANNEL), empty for data.
    pub code: String,
    /// The file name delivered (derived from the document's id, so a
    /// repeated delivery replaces instead of doubling).
    pub file: String,
    /// `None`: the stored message as it is (a declaration as forwarded);
    /// `Some(i)`: its document `i` alone (a message holding documents of
    /// several enterprises).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<u32>,
    /// When it was queued.
    pub queued_ms: u64,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Not before (ms since the Unix epoch): the backoff.
    pub next_ms: u64,
    /// The last failure.
    #[serde(default)]
    pub error: String,
    /// Parked after too many attempts or too long: waits for a replay.
    pub parked: bool,
    /// When it was delivered (in the delivered log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_ms: Option<u64>,
}

/// An electronic tax bill (CEB816 电子税单, its CEB818 status): the bill as
/// its receipts left it, the inventory it bills and the receipts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaxBillRecord {
    /// Layout version.
    pub v: u32,
    /// The bill.
    pub bill: crate::tax::TaxBill,
    /// The inventory (CEB621) it bills, once found.
    pub inventory: Option<DocId>,
    /// The CEB816/CEB818 documents, in arrival order.
    pub receipts: Vec<DocId>,
}

/// A personal postal item (by mail number).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MailRecord {
    /// Layout version.
    pub v: u32,
    /// The item and its status history.
    pub item: crate::mail::item::MailItem,
    /// 收件人姓名.
    pub name: String,
    /// 收件人电话 (kept whole; masked in every output).
    pub phone: String,
    /// Its certificates' numbers.
    pub certificates: Vec<String>,
    /// The messages about it, in arrival order.
    pub docs: Vec<DocId>,
}

/// A personal-items tax certificate (by certificate number).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CertificateRecord {
    /// Layout version.
    pub v: u32,
    /// The certificate and its payments.
    pub certificate: crate::mail::certificate::Certificate,
    /// The messages about it, in arrival order.
    pub docs: Vec<DocId>,
}

/// A three-party agreement (by agreement number).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AgreementRecord {
    /// Layout version.
    pub v: u32,
    /// The agreement and its steps.
    pub agreement: crate::mail::agreement::Agreement,
    /// The messages about it, in arrival order.
    pub docs: Vec<DocId>,
}

/// A receipt delivered to no one: its owner or its status is unknown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnroutedRecord {
    /// Layout version.
    pub v: u32,
    /// The receipt document.
    pub doc: DocId,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: String,
    /// Its business key.
    pub key: String,
    /// returnStatus or CHANNEL.
    pub code: String,
    /// The owner, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Why no one received it.
    pub reason: String,
    /// When.
    pub at_ms: u64,
}
