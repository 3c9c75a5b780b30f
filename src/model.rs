//! The typed model of every customs message.
//!
//! A [`Message`] holds one or more business [`Document`]s; each document is a
//! head [`Record`] plus its lines. Records store typed values ([`Value`]) in the
//! field order of their [`RecordSpec`]; the typed handles in
//! [`crate::schema::fields`] read them (`head.dec(order_head::ACTURAL_PAID)`).
//! Nothing here does I/O.

// Pure core: no input may panic here. Slicing, indexing and unchecked
// arithmetic are refused at compile time (see ARCHITECTURE.md, Invariants).
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::fmt;

use rust_decimal::Decimal;

use crate::schema::{Dec, Field, FieldKind, Int, MessageSpec, MessageType, RecordSpec, Text};

/// One field's value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Value {
    /// Absent, or present but empty.
    #[default]
    Absent,
    /// Text (also used for verbatim XML content).
    Text(String),
    /// An exact decimal; the scale of the source text is kept (`10.50`).
    Dec(Decimal),
    /// An integer.
    Int(i64),
    /// Text that does not parse as the field's type; kept so the sender sees it.
    Invalid(String),
}

impl Value {
    /// Whether the field is absent or empty.
    pub fn is_absent(&self) -> bool {
        matches!(self, Value::Absent)
    }

    /// Converts source text to the value type of `kind`. Empty text is absent.
    pub fn parse(kind: FieldKind, text: &str) -> Value {
        let trimmed = text.trim();
        match kind {
            FieldKind::Text | FieldKind::Xml => {
                if trimmed.is_empty() {
                    Value::Absent
                } else {
                    Value::Text(text.to_owned())
                }
            }
            _ if trimmed.is_empty() => Value::Absent,
            FieldKind::Decimal { .. } => parse_decimal(trimmed)
                .map(Value::Dec)
                .unwrap_or_else(|| Value::Invalid(text.to_owned())),
            FieldKind::Int { .. } => trimmed
                .parse::<i64>()
                .map(Value::Int)
                .unwrap_or_else(|_| Value::Invalid(text.to_owned())),
        }
    }
}

/// Parses a plain decimal literal (`-12.50`): digits with an optional sign and
/// point, no exponent, no thousands separators.
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let mut seen_digit = false;
    let mut seen_point = false;
    for b in body.bytes() {
        match b {
            b'0'..=b'9' => seen_digit = true,
            b'.' if !seen_point => seen_point = true,
            _ => return None,
        }
    }
    if !seen_digit {
        return None;
    }
    s.parse::<Decimal>().ok()
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Absent => Ok(()),
            Value::Text(s) | Value::Invalid(s) => f.write_str(s),
            Value::Dec(d) => write!(f, "{d}"),
            Value::Int(i) => write!(f, "{i}"),
        }
    }
}

/// An element with simple children, e.g. `OrderHead`, `OrderList`, `BaseTransfer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    spec: &'static RecordSpec,
    values: Vec<Value>,
}

impl Record {
    /// An empty record of the given kind.
    pub fn new(spec: &'static RecordSpec) -> Record {
        Record {
            spec,
            values: vec![Value::Absent; spec.fields.len()],
        }
    }

    /// The record's rules.
    pub fn spec(&self) -> &'static RecordSpec {
        self.spec
    }

    /// The value of field `index`.
    pub fn value(&self, index: usize) -> &Value {
        self.values.get(index).unwrap_or(&Value::Absent)
    }

    /// All values, in schema order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Sets field `index` (ignored when out of range).
    pub fn set_value(&mut self, index: usize, value: Value) {
        if let Some(slot) = self.values.get_mut(index) {
            *slot = value;
        }
    }

    /// Sets a field from source text, converting it to the field's type.
    pub fn set_text(&mut self, index: usize, text: &str) {
        if let Some(f) = self.spec.fields.get(index) {
            self.set_value(index, Value::parse(f.kind, text));
        }
    }

    /// Sets a field by element name from source text; false if the record has no such field.
    pub fn set_by_name(&mut self, name: &str, text: &str) -> bool {
        match self.spec.field_index(name) {
            Some(i) => {
                self.set_text(i, text);
                true
            }
            None => false,
        }
    }

    /// The text of a text field, `None` when absent (or when the handle belongs to another record).
    pub fn text(&self, field: Field<Text>) -> Option<&str> {
        if !std::ptr::eq(field.record, self.spec) {
            return None;
        }
        match self.value(field.index) {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a text field, or `""`.
    pub fn str(&self, field: Field<Text>) -> &str {
        self.text(field).unwrap_or("")
    }

    /// The value of a decimal field, `None` when absent or invalid.
    pub fn dec(&self, field: Field<Dec>) -> Option<Decimal> {
        if !std::ptr::eq(field.record, self.spec) {
            return None;
        }
        match self.value(field.index) {
            Value::Dec(d) => Some(*d),
            _ => None,
        }
    }

    /// The value of an integer field, `None` when absent or invalid.
    pub fn int(&self, field: Field<Int>) -> Option<i64> {
        if !std::ptr::eq(field.record, self.spec) {
            return None;
        }
        match self.value(field.index) {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Sets a text field.
    pub fn set(&mut self, field: Field<Text>, text: impl Into<String>) {
        if std::ptr::eq(field.record, self.spec) {
            let text = text.into();
            let value = if text.trim().is_empty() {
                Value::Absent
            } else {
                Value::Text(text)
            };
            self.set_value(field.index, value);
        }
    }

    /// Sets a decimal field.
    pub fn set_dec(&mut self, field: Field<Dec>, value: Decimal) {
        if std::ptr::eq(field.record, self.spec) {
            self.set_value(field.index, Value::Dec(value));
        }
    }

    /// Sets an integer field.
    pub fn set_int(&mut self, field: Field<Int>, value: i64) {
        if std::ptr::eq(field.record, self.spec) {
            self.set_value(field.index, Value::Int(value));
        }
    }
}

/// One business document: a head and its lines (`OrderHead` + `OrderList`s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The head record.
    pub head: Record,
    /// The lines, in document order.
    pub lines: Vec<Record>,
}

/// `ds:Signature`, kept byte for byte as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The element's source text.
    pub xml: String,
    /// The prefix it used, if any, so the writer can declare it when the
    /// declaration sat on an ancestor.
    pub prefix: Option<String>,
    /// Whether the element declared its own namespace.
    pub self_declared: bool,
}

/// The DXP transport envelope around a business message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DxpEnvelope {
    /// `TransInfo` (CopMsgId, SenderId, CreatTime, MsgType).
    pub trans_info: Record,
    /// `TransInfo/ReceiverIds/ReceiverId`.
    pub receiver_ids: Vec<String>,
    /// `AddInfo` (FileName, IcCard), if present.
    pub add_info: Option<Record>,
    /// `AddInfo/BizKey/Key` name/value pairs.
    pub biz_keys: Vec<(String, String)>,
    /// The decoded `Data` bytes.
    pub data: Vec<u8>,
    /// The message inside `Data`, when it is one.
    pub inner: Option<Box<Message>>,
}

/// One customs message as read from (or written to) one file or frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The message type's rules.
    pub spec: &'static MessageSpec,
    /// Root attribute `guid` (CEB messages).
    pub guid: Option<String>,
    /// Root attribute `version` (CEB messages; `ver` on DxpMsg).
    pub version: Option<String>,
    /// Business documents.
    pub documents: Vec<Document>,
    /// Plain fields directly under the root (legacy `DEC_DATA`).
    pub root_fields: Option<Record>,
    /// `BaseTransfer`.
    pub transfer: Option<Record>,
    /// `BaseSubscribe` (0..5).
    pub subscribe: Vec<Record>,
    /// `ExtendMessage`.
    pub extend: Option<Record>,
    /// `ds:Signature`.
    pub signature: Option<Signature>,
    /// The DXP envelope, for a `DxpMsg`.
    pub dxp: Option<Box<DxpEnvelope>>,
}

impl Message {
    /// An empty message of the given type.
    pub fn new(spec: &'static MessageSpec) -> Message {
        Message {
            spec,
            guid: None,
            version: None,
            documents: Vec::new(),
            root_fields: None,
            transfer: None,
            subscribe: Vec::new(),
            extend: None,
            signature: None,
            dxp: None,
        }
    }

    /// The message type.
    pub fn ty(&self) -> MessageType {
        self.spec.ty
    }

    /// The message that carries the business documents: the inner message of a
    /// DXP envelope, else this one.
    pub fn business(&self) -> &Message {
        match self.dxp.as_ref().and_then(|d| d.inner.as_deref()) {
            Some(inner) => inner.business(),
            None => self,
        }
    }

    /// The business key of document `index`, e.g. `orderNo=X,ebpCode=Y`.
    pub fn document_key(&self, index: usize) -> String {
        self.documents
            .get(index)
            .map(|d| document_key(self.spec, d))
            .unwrap_or_default()
    }
}

/// The business key of a document: the first key alternative whose fields are all present.
pub fn document_key(spec: &MessageSpec, doc: &Document) -> String {
    business_key(spec, |i| doc.head.value(i).clone())
}

/// The business key from the head's values, read through `value` (field
/// index → value): `name=value` for the first key alternative whose fields
/// are all present, joined by `,`; empty when none is.
pub fn business_key(spec: &MessageSpec, value: impl Fn(usize) -> Value) -> String {
    for alt in spec.key {
        let parts: Vec<(usize, Value)> = alt.iter().map(|&i| (i, value(i))).collect();
        if parts.iter().all(|(_, v)| !v.is_absent()) {
            return parts
                .iter()
                .map(|(i, v)| {
                    let name = spec.head.fields.get(*i).map_or("", |f| f.name);
                    format!("{name}={v}")
                })
                .collect::<Vec<_>>()
                .join(",");
        }
    }
    String::new()
}
