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
use std::sync::{Arc, OnceLock};

use rust_decimal::Decimal;

use crate::schema::{Dec, Field, FieldKind, Int, MessageSpec, MessageType, RecordSpec, Text};

/// One field's value, as a record hands it out: text borrowed from the
/// record's buffer, numbers by value. Two words and a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Value<'a> {
    /// Absent, or present but empty.
    #[default]
    Absent,
    /// Text (also used for verbatim XML content).
    Text(&'a str),
    /// An exact decimal; the scale of the source text is kept (`10.50`).
    Dec(Decimal),
    /// An integer.
    Int(i64),
    /// Text that does not parse as the field's type; kept so the sender sees it.
    Invalid(&'a str),
}

impl<'a> Value<'a> {
    /// Whether the field is absent or empty.
    pub fn is_absent(&self) -> bool {
        matches!(self, Value::Absent)
    }

    /// Converts source text to the value type of `kind`. Empty text is absent.
    pub fn parse(kind: FieldKind, text: &'a str) -> Value<'a> {
        let trimmed = text.trim();
        match kind {
            FieldKind::Text | FieldKind::Xml => {
                if trimmed.is_empty() {
                    Value::Absent
                } else {
                    Value::Text(text)
                }
            }
            _ if trimmed.is_empty() => Value::Absent,
            FieldKind::Decimal { .. } => parse_decimal(trimmed)
                .map(Value::Dec)
                .unwrap_or(Value::Invalid(text)),
            FieldKind::Int { .. } => parse_int(trimmed)
                .map(Value::Int)
                .unwrap_or(Value::Invalid(text)),
        }
    }
}

/// Parses a plain integer literal (`-12`), as `i64::from_str` does.
fn parse_int(s: &str) -> Option<i64> {
    s.parse::<i64>().ok()
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

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Absent => Ok(()),
            Value::Text(s) | Value::Invalid(s) => f.write_str(s),
            Value::Dec(d) => write!(f, "{d}"),
            Value::Int(i) => write!(f, "{i}"),
        }
    }
}

/// Where a text value sits in its record's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

/// One stored value: 20 bytes (the text of a text value is in the record's
/// buffer; an integer is kept as two halves so the slot needs no 8-byte
/// alignment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Slot {
    #[default]
    Absent,
    Text(Span),
    Dec(Decimal),
    Int([u32; 2]),
    Invalid(Span),
}

impl Slot {
    fn span(self) -> Option<Span> {
        match self {
            Slot::Text(s) | Slot::Invalid(s) => Some(s),
            _ => None,
        }
    }
}

fn split_int(i: i64) -> [u32; 2] {
    let bits = i.to_le_bytes();
    let [a, b, c, d, e, f, g, h] = bits;
    [
        u32::from_le_bytes([a, b, c, d]),
        u32::from_le_bytes([e, f, g, h]),
    ]
}

fn join_int([lo, hi]: [u32; 2]) -> i64 {
    let [a, b, c, d] = lo.to_le_bytes();
    let [e, f, g, h] = hi.to_le_bytes();
    i64::from_le_bytes([a, b, c, d, e, f, g, h])
}

/// Appends `text` to `buf` and returns where it went; `None` when the
/// buffer would pass 4 GiB (inputs are bounded far below that).
fn append(buf: &mut String, text: &str) -> Option<Span> {
    let start = u32::try_from(buf.len()).ok()?;
    let len = u32::try_from(text.len()).ok()?;
    start.checked_add(len)?;
    buf.push_str(text);
    Some(Span { start, len })
}

fn stored(buf: &mut String, value: Value<'_>) -> Slot {
    match value {
        Value::Absent => Slot::Absent,
        Value::Dec(d) => Slot::Dec(d),
        Value::Int(i) => Slot::Int(split_int(i)),
        Value::Text(t) => append(buf, t).map_or(Slot::Absent, Slot::Text),
        Value::Invalid(t) => append(buf, t).map_or(Slot::Absent, Slot::Invalid),
    }
}

/// The values of one message's records (or of one record built on its
/// own): their slots one after the other, and all their text in one buffer.
#[derive(Debug, Clone, Default)]
struct Arena {
    slots: Vec<Slot>,
    text: String,
}

impl Arena {
    fn view(&self, slot: Slot) -> Value<'_> {
        let text = |s: Span| {
            let start = usize::try_from(s.start).unwrap_or(usize::MAX);
            let end = start.saturating_add(usize::try_from(s.len).unwrap_or(usize::MAX));
            self.text.get(start..end).unwrap_or("")
        };
        match slot {
            Slot::Absent => Value::Absent,
            Slot::Text(s) => Value::Text(text(s)),
            Slot::Invalid(s) => Value::Invalid(text(s)),
            Slot::Dec(d) => Value::Dec(d),
            Slot::Int(parts) => Value::Int(join_int(parts)),
        }
    }
}

/// An arena shared by the records of one message: set once, when the
/// reader has finished the message.
type Shared = Arc<OnceLock<Arena>>;

/// An element with simple children, e.g. `OrderHead`, `OrderList`, `BaseTransfer`.
///
/// Its values are stored compactly: the records of one message read from
/// bytes share one arena of slots (20 bytes a field) and one buffer of text
/// (a text field is a range of it), so a record costs no allocation of its
/// own and cloning one is cheap. A record that is changed first takes a
/// private copy of its own values.
#[derive(Clone)]
pub struct Record {
    spec: &'static RecordSpec,
    shared: Shared,
    /// Index of the record's first slot in the arena.
    first: usize,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (field, value) in self.spec.fields.iter().zip(self.values()) {
            if !value.is_absent() {
                m.entry(&field.name, &value);
            }
        }
        m.finish()
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Record) -> bool {
        std::ptr::eq(self.spec, other.spec) && self.values().eq(other.values())
    }
}

impl Eq for Record {}

impl Record {
    /// An empty record of the given kind.
    pub fn new(spec: &'static RecordSpec) -> Record {
        let arena = Arena {
            slots: vec![Slot::Absent; spec.fields.len()],
            text: String::new(),
        };
        Record {
            spec,
            shared: Arc::new(OnceLock::from(arena)),
            first: 0,
        }
    }

    /// The record's rules.
    pub fn spec(&self) -> &'static RecordSpec {
        self.spec
    }

    fn slots(&self) -> (&[Slot], Option<&Arena>) {
        let Some(arena) = self.shared.get() else {
            return (&[], None);
        };
        let end = self.first.saturating_add(self.spec.fields.len());
        (arena.slots.get(self.first..end).unwrap_or(&[]), Some(arena))
    }

    /// The value of field `index`.
    pub fn value(&self, index: usize) -> Value<'_> {
        match self.slots() {
            (slots, Some(arena)) => slots
                .get(index)
                .map_or(Value::Absent, |&slot| arena.view(slot)),
            (_, None) => Value::Absent,
        }
    }

    /// All values, in schema order (absent ones included).
    pub fn values(&self) -> impl Iterator<Item = Value<'_>> + '_ {
        (0..self.spec.fields.len()).map(|i| self.value(i))
    }

    /// The record's own arena and the offset of its first slot there, its
    /// values copied out of a shared arena first (`None` is never returned:
    /// the copy is the record's alone).
    fn own(&mut self) -> Option<(&mut Arena, usize)> {
        let private = Arc::get_mut(&mut self.shared)
            .and_then(OnceLock::get_mut)
            .is_some();
        if !private {
            let mut arena = Arena {
                slots: Vec::with_capacity(self.spec.fields.len()),
                text: String::new(),
            };
            for value in self.values() {
                let slot = stored(&mut arena.text, value);
                arena.slots.push(slot);
            }
            self.shared = Arc::new(OnceLock::from(arena));
            self.first = 0;
        }
        let first = self.first;
        Arc::get_mut(&mut self.shared)
            .and_then(OnceLock::get_mut)
            .map(|arena| (arena, first))
    }

    /// Sets field `index` (ignored when out of range).
    pub fn set_value(&mut self, index: usize, value: Value<'_>) {
        if index >= self.spec.fields.len() {
            return;
        }
        // `own` may move the record to an arena of its own: the offset of
        // its first slot comes with the arena.
        let Some((arena, first)) = self.own() else {
            return;
        };
        let at = first.saturating_add(index);
        let Some(&old) = arena.slots.get(at) else {
            return;
        };
        // The text of the value replaced is dropped when it ends the buffer
        // (a field set twice in a row); otherwise it stays unreferenced.
        if let Some(span) = old.span()
            && u32::try_from(arena.text.len()).ok() == span.start.checked_add(span.len)
            && let Ok(start) = usize::try_from(span.start)
        {
            arena.text.truncate(start);
        }
        let slot = stored(&mut arena.text, value);
        if let Some(s) = arena.slots.get_mut(at) {
            *s = slot;
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
            Value::Dec(d) => Some(d),
            _ => None,
        }
    }

    /// The value of an integer field, `None` when absent or invalid.
    pub fn int(&self, field: Field<Int>) -> Option<i64> {
        if !std::ptr::eq(field.record, self.spec) {
            return None;
        }
        match self.value(field.index) {
            Value::Int(i) => Some(i),
            _ => None,
        }
    }

    /// Sets a text field.
    pub fn set(&mut self, field: Field<Text>, text: impl AsRef<str>) {
        if std::ptr::eq(field.record, self.spec) {
            let text = text.as_ref();
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

/// The values of one message as it is read: every record's slots and text
/// go into one arena, which the records share once [`MessageValues::seal`]
/// has been called (until then they read as absent).
#[derive(Debug)]
pub struct MessageValues {
    shared: Shared,
    arena: Arena,
}

/// A record being read into [`MessageValues`].
#[derive(Debug, Clone, Copy)]
pub struct RecordDraft {
    spec: &'static RecordSpec,
    first: usize,
}

impl RecordDraft {
    /// The record's rules.
    pub fn spec(&self) -> &'static RecordSpec {
        self.spec
    }
}

impl MessageValues {
    /// Room for about `fields` values and `text` bytes of text.
    pub fn with_capacity(fields: usize, text: usize) -> MessageValues {
        MessageValues {
            shared: Arc::new(OnceLock::new()),
            arena: Arena {
                slots: Vec::with_capacity(fields),
                text: String::with_capacity(text),
            },
        }
    }

    /// Starts a record of `spec`, all its fields absent.
    pub fn draft(&mut self, spec: &'static RecordSpec) -> RecordDraft {
        let first = self.arena.slots.len();
        self.arena
            .slots
            .resize(first.saturating_add(spec.fields.len()), Slot::Absent);
        RecordDraft { spec, first }
    }

    /// Whether field `index` of `draft` has a value yet.
    pub fn is_set(&self, draft: RecordDraft, index: usize) -> bool {
        index < draft.spec.fields.len()
            && self
                .arena
                .slots
                .get(draft.first.saturating_add(index))
                .is_some_and(|s| !matches!(s, Slot::Absent))
    }

    /// Sets field `index` of `draft`.
    pub fn set_value(&mut self, draft: RecordDraft, index: usize, value: Value<'_>) {
        if index >= draft.spec.fields.len() {
            return;
        }
        let slot = stored(&mut self.arena.text, value);
        if let Some(s) = self.arena.slots.get_mut(draft.first.saturating_add(index)) {
            *s = slot;
        }
    }

    /// The record of `draft` (its values readable once sealed).
    pub fn record(&self, draft: RecordDraft) -> Record {
        Record {
            spec: draft.spec,
            shared: Arc::clone(&self.shared),
            first: draft.first,
        }
    }

    /// Hands the arena to the records made from it.
    pub fn seal(self) {
        let _ = self.shared.set(self.arena);
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
    business_key(spec, |i| doc.head.value(i))
}

/// The business key from the head's values, read through `value` (field
/// index → value): `name=value` for the first key alternative whose fields
/// are all present, joined by `,`; empty when none is.
pub fn business_key<'v>(spec: &MessageSpec, value: impl Fn(usize) -> Value<'v>) -> String {
    for alt in spec.key {
        let parts: Vec<(usize, Value<'v>)> = alt.iter().map(|&i| (i, value(i))).collect();
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
