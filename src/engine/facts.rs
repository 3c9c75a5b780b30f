//! What an open set keeps of a document: the fields the rules, the set key,
//! the reports and the receipts read, and nothing else, packed into one
//! text buffer per record kind ([`Table`]).
//!
//! A document's whole model (every field as a [`Value`], one allocation per
//! text) costs several kilobytes; the engine holds one per document of
//! every open set, and a daemon holds a million open sets. A [`Table`]
//! keeps the trimmed text of the kept fields of all its rows in one
//! `Box<str>` and their end offsets in one `Box<[u32]>`; a decimal or an
//! integer is kept as the text it was read from and parsed when a rule
//! reads it. Which fields are kept is one list per record kind ([`KEEP`]);
//! reading a field that is not kept is a programming error caught by the
//! test suite (a debug assertion), never a wrong verdict in silence: the
//! suite runs every rule on every field it reads.

use std::collections::HashMap;
use std::fmt;

use rust_decimal::Decimal;

use super::{DocKind, EngineError};
use crate::model::{Document, Record, Value, business_key, parse_decimal};
use crate::schema::fields::{
    inventory_head as ih, inventory_list as il, logistics_head as lh, order_head as oh,
    order_list as ol, payment_head as ph,
};
use crate::schema::{
    Dec, Field, FieldKind, Int, REC_INVENTORY_HEAD, REC_INVENTORY_LIST, REC_LOGISTICS_HEAD,
    REC_ORDER_HEAD, REC_ORDER_LIST, REC_PAYMENT_HEAD, RecordSpec, Text,
};

/// The fields kept of one record kind, and where each is kept.
#[derive(Debug)]
pub(crate) struct Keep {
    spec: &'static RecordSpec,
    /// Field indices of `spec`, in kept order.
    fields: &'static [usize],
    /// For each field index of `spec`: its position in `fields`, or `NONE`.
    slot: &'static [u8],
    /// For each position in `fields`: its place among the shared fields
    /// (kept once in [`Strings`]), or `NONE`.
    shared: &'static [u8],
    /// How many shared fields a row has.
    n_shared: usize,
    /// For each position in `fields`: its place among the decimal fields
    /// (kept as numbers, see [`Packed`]), or `NONE`.
    dec: &'static [u8],
    /// How many decimal fields a row has.
    n_dec: usize,
}

const NONE: u8 = u8::MAX;

/// The inverse of a kept-field list, computed at compile time (an index out
/// of range or a list over 254 fields fails the build, not a run).
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn slots<const N: usize>(fields: &[usize]) -> [u8; N] {
    let mut out = [NONE; N];
    let mut i = 0;
    while i < fields.len() {
        assert!(i < NONE as usize && out[fields[i]] == NONE);
        out[fields[i]] = i as u8;
        i += 1;
    }
    out
}

/// For each kept field, its place among the shared ones (compile time; a
/// shared field that is not kept fails the build).
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn shared_slots<const K: usize>(fields: &[usize], shared: &[usize]) -> [u8; K] {
    let mut out = [NONE; K];
    let mut s = 0;
    while s < shared.len() {
        let mut i = 0;
        let mut found = false;
        while i < fields.len() {
            if fields[i] == shared[s] {
                out[i] = s as u8;
                found = true;
            }
            i += 1;
        }
        assert!(found && s < NONE as usize);
        s += 1;
    }
    out
}

/// For each kept field, its place among the decimal ones (compile time).
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn dec_slots<const K: usize>(spec: &RecordSpec, fields: &[usize]) -> ([u8; K], usize) {
    let mut out = [NONE; K];
    let mut n = 0;
    let mut i = 0;
    while i < fields.len() {
        if let FieldKind::Decimal { .. } = spec.fields[fields[i]].kind {
            out[i] = n as u8;
            n += 1;
        }
        i += 1;
    }
    (out, n)
}

macro_rules! keep {
    ($name:ident, $spec:expr, [$($field:expr),* $(,)?], shared [$($shared:expr),* $(,)?]) => {
        pub(crate) static $name: Keep = {
            const FIELDS: &[usize] = &[$($field.index),*];
            const SHARED: &[usize] = &[$($shared.index),*];
            const N: usize = $spec.fields.len();
            const K: usize = FIELDS.len();
            const SLOT: [u8; N] = slots::<N>(FIELDS);
            const SHARED_SLOT: [u8; K] = shared_slots::<K>(FIELDS, SHARED);
            const DEC: ([u8; K], usize) = dec_slots::<K>(&$spec, FIELDS);
            Keep {
                spec: &$spec,
                fields: FIELDS,
                slot: &SLOT,
                shared: &SHARED_SLOT,
                n_shared: SHARED.len(),
                dec: &DEC.0,
                n_dec: DEC.1,
            }
        };
    };
}

// What the rules, the set key, the reports and the receipts read. Enterprise
// codes and names repeat across millions of documents: they are shared.
keep!(ORDER_HEAD, REC_ORDER_HEAD, [
    oh::GUID, oh::APP_TIME, oh::ORDER_NO, oh::EBP_CODE, oh::EBP_NAME, oh::EBC_CODE, oh::EBC_NAME,
    oh::GOODS_VALUE, oh::FREIGHT, oh::DISCOUNT, oh::TAX_TOTAL, oh::ACTURAL_PAID, oh::BUYER_NAME,
    oh::BUYER_TELEPHONE, oh::BUYER_ID_TYPE, oh::BUYER_ID_NUMBER, oh::PAY_CODE, oh::PAY_NAME,
    oh::PAY_TRANSACTION_ID, oh::CONSIGNEE, oh::CONSIGNEE_TELEPHONE, oh::CONSIGNEE_ADDRESS,
], shared [
    oh::EBP_CODE, oh::EBP_NAME, oh::EBC_CODE, oh::EBC_NAME, oh::PAY_CODE, oh::PAY_NAME,
]);
keep!(ORDER_LIST, REC_ORDER_LIST, [
    ol::GNUM, ol::ITEM_NO, ol::ITEM_NAME, ol::UNIT, ol::QTY, ol::TOTAL_PRICE,
], shared []);
keep!(PAYMENT_HEAD, REC_PAYMENT_HEAD, [
    ph::GUID, ph::ORDER_NO, ph::EBP_CODE, ph::EBP_NAME, ph::PAY_CODE, ph::PAY_NAME,
    ph::PAY_TRANSACTION_ID, ph::PAYER_NAME, ph::PAYER_ID_TYPE, ph::PAYER_ID_NUMBER,
    ph::AMOUNT_PAID,
], shared [ph::EBP_CODE, ph::EBP_NAME, ph::PAY_CODE, ph::PAY_NAME]);
keep!(LOGISTICS_HEAD, REC_LOGISTICS_HEAD, [
    lh::GUID, lh::ORDER_NO, lh::LOGISTICS_CODE, lh::LOGISTICS_NAME, lh::LOGISTICS_NO,
    lh::CONSIGNEE, lh::CONSIGNEE_TELEPHONE, lh::CONSIGNEE_ADDRESS, lh::PACK_NO,
], shared [lh::LOGISTICS_CODE, lh::LOGISTICS_NAME]);
keep!(INVENTORY_HEAD, REC_INVENTORY_HEAD, [
    ih::GUID, ih::ORDER_NO, ih::EBP_CODE, ih::EBP_NAME, ih::EBC_CODE, ih::EBC_NAME,
    ih::LOGISTICS_CODE, ih::LOGISTICS_NAME, ih::LOGISTICS_NO, ih::COP_NO, ih::PRE_NO,
    ih::INVT_NO, ih::CUSTOMS_CODE, ih::AGENT_CODE, ih::AGENT_NAME, ih::BUYER_NAME,
    ih::BUYER_TELEPHONE, ih::BUYER_ID_TYPE, ih::BUYER_ID_NUMBER, ih::DECL_TIME, ih::FREIGHT,
    ih::INSURED_FEE, ih::PACK_NO, ih::GROSS_WEIGHT, ih::NET_WEIGHT,
], shared [
    ih::EBP_CODE, ih::EBP_NAME, ih::EBC_CODE, ih::EBC_NAME, ih::LOGISTICS_CODE,
    ih::LOGISTICS_NAME, ih::CUSTOMS_CODE, ih::AGENT_CODE, ih::AGENT_NAME,
]);
keep!(INVENTORY_LIST, REC_INVENTORY_LIST, [
    il::GNUM, il::ITEM_NO, il::ITEM_NAME, il::GCODE, il::UNIT, il::QTY, il::TOTAL_PRICE,
    il::UNIT1, il::QTY1, il::UNIT2, il::QTY2,
], shared []);

/// Strings many documents share (enterprise codes and names), each kept
/// once. Bounded: past [`Strings::MAX`] distinct strings new ones are kept
/// in their documents instead.
#[derive(Debug, Clone, Default)]
pub(crate) struct Strings {
    ids: HashMap<Box<str>, u32>,
    all: Vec<Box<str>>,
    /// `Strings::MAX`, lower in tests.
    cap: Option<usize>,
}

/// The id of a shared cell kept in its document instead (or absent).
const NO_ID: u32 = u32::MAX;

impl Strings {
    /// At most this many distinct shared strings.
    pub const MAX: usize = 1 << 20;

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        if self.all.len() >= self.cap.unwrap_or(Strings::MAX) {
            return NO_ID;
        }
        let Ok(id) = u32::try_from(self.all.len()) else {
            return NO_ID;
        };
        self.all.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    fn get(&self, id: u32) -> Option<&str> {
        self.all.get(usize::try_from(id).ok()?).map(|s| &**s)
    }

    /// How many distinct strings are kept.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Bytes of kept text (twice: the index and the list).
    pub fn heap_bytes(&self) -> usize {
        self.all
            .iter()
            .map(|s| s.len())
            .fold(0usize, usize::saturating_add)
            .saturating_mul(2)
    }
}

/// What is kept of each kind: (head, lines).
fn keep_of(kind: DocKind) -> (&'static Keep, Option<&'static Keep>) {
    match kind {
        DocKind::Order => (&ORDER_HEAD, Some(&ORDER_LIST)),
        DocKind::Payment => (&PAYMENT_HEAD, None),
        DocKind::Waybill => (&LOGISTICS_HEAD, None),
        DocKind::Inventory => (&INVENTORY_HEAD, Some(&INVENTORY_LIST)),
    }
}

/// The kept fields of the rows of one record kind.
#[derive(Clone)]
pub(crate) struct Table {
    keep: &'static Keep,
    /// Every kept cell's trimmed text, row after row.
    text: Box<str>,
    /// Each cell's end offset in `text`; `keep.fields.len()` cells a row.
    ends: Ends,
    /// The shared cells' ids in [`Strings`] (`NO_ID`: kept in `text`);
    /// `keep.n_shared` a row.
    ids: Box<[u32]>,
    /// The decimal cells, packed (`Packed::NONE`: kept in `text`, or
    /// absent); `keep.n_dec` a row.
    decs: Box<[u64]>,
}

/// A decimal kept as a number, so the rules read it without parsing: 56
/// bits of mantissa, 5 of scale, 1 of sign. A decimal that does not fit
/// (over 16 digits, or a negative zero) is kept as text.
struct Packed;

impl Packed {
    const NONE: u64 = u64::MAX;
    const MANTISSA: u64 = (1 << 56) - 1;

    fn pack(d: Decimal) -> u64 {
        let m = d.mantissa();
        let Ok(magnitude) = u64::try_from(m.unsigned_abs()) else {
            return Packed::NONE;
        };
        if magnitude > Packed::MANTISSA || (m == 0 && d.is_sign_negative()) || d.scale() > 28 {
            return Packed::NONE;
        }
        let sign = if m < 0 { 1u64 << 61 } else { 0 };
        magnitude | (u64::from(d.scale()) << 56) | sign
    }

    fn unpack(p: u64) -> Option<Decimal> {
        if p == Packed::NONE {
            return None;
        }
        let magnitude = p & Packed::MANTISSA;
        let scale = u32::try_from((p >> 56) & 0x1f).unwrap_or(0);
        let lo = u32::try_from(magnitude & 0xffff_ffff).unwrap_or(0);
        let mid = u32::try_from(magnitude >> 32).unwrap_or(0);
        Some(Decimal::from_parts(lo, mid, 0, p & (1 << 61) != 0, scale))
    }
}

/// End offsets: two bytes each while the text fits in 64 KiB (it nearly
/// always does), four otherwise.
#[derive(Clone)]
enum Ends {
    Short(Box<[u16]>),
    Long(Box<[u32]>),
}

impl Ends {
    fn of(ends: Vec<usize>, kind: DocKind) -> Result<Ends, EngineError> {
        let last = ends.last().copied().unwrap_or(0);
        if u16::try_from(last).is_ok() {
            Ok(Ends::Short(
                ends.into_iter()
                    .map(|e| u16::try_from(e).unwrap_or(u16::MAX))
                    .collect(),
            ))
        } else if u32::try_from(last).is_ok() {
            Ok(Ends::Long(
                ends.into_iter()
                    .map(|e| u32::try_from(e).unwrap_or(u32::MAX))
                    .collect(),
            ))
        } else {
            Err(EngineError::TooLarge { kind })
        }
    }

    fn len(&self) -> usize {
        match self {
            Ends::Short(e) => e.len(),
            Ends::Long(e) => e.len(),
        }
    }

    /// Where cell `n` starts and ends in the text.
    #[inline]
    fn range(&self, n: usize) -> Option<(usize, usize)> {
        fn pair<T: Copy>(e: &[T], n: usize, f: impl Fn(T) -> usize) -> Option<(usize, usize)> {
            let end = f(*e.get(n)?);
            let start = match n.checked_sub(1) {
                Some(p) => e.get(p).map_or(0, |&x| f(x)),
                None => 0,
            };
            Some((start, end))
        }
        match self {
            Ends::Short(e) => pair(e, n, usize::from),
            Ends::Long(e) => pair(e, n, |x| usize::try_from(x).unwrap_or(usize::MAX)),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Ends::Short(e) => e.len().saturating_mul(2),
            Ends::Long(e) => e.len().saturating_mul(4),
        }
    }
}

impl Table {
    fn build<'r>(
        kind: DocKind,
        keep: &'static Keep,
        rows: impl Iterator<Item = &'r Record>,
        strings: &mut Strings,
    ) -> Result<Table, EngineError> {
        use std::fmt::Write as _;
        let rows: Vec<&Record> = rows.collect();
        let mut text = String::with_capacity(rows.len().saturating_mul(64));
        let mut ends = Vec::with_capacity(rows.len().saturating_mul(keep.fields.len()));
        let mut ids = Vec::with_capacity(rows.len().saturating_mul(keep.n_shared));
        let mut decs = Vec::with_capacity(rows.len().saturating_mul(keep.n_dec));
        for rec in rows {
            for ((&i, &shared), &dec) in keep.fields.iter().zip(keep.shared).zip(keep.dec) {
                if dec != NONE {
                    let packed = match rec.value(i) {
                        Value::Dec(d) => Packed::pack(d),
                        _ => Packed::NONE,
                    };
                    decs.push(packed);
                    if packed != Packed::NONE {
                        ends.push(text.len());
                        continue;
                    }
                }
                if shared != NONE {
                    let id = match rec.value(i) {
                        Value::Text(s) if !s.trim().is_empty() => strings.intern(s.trim()),
                        _ => NO_ID,
                    };
                    ids.push(id);
                    if id != NO_ID {
                        ends.push(text.len());
                        continue;
                    }
                }
                // Text that does not parse as the field's type is kept as
                // text: it does not parse when read back either.
                match rec.value(i) {
                    Value::Absent => {}
                    Value::Text(s) | Value::Invalid(s) => text.push_str(s.trim()),
                    Value::Dec(d) => {
                        let _ = write!(text, "{d}");
                    }
                    Value::Int(n) => {
                        let _ = write!(text, "{n}");
                    }
                }
                ends.push(text.len());
            }
        }
        Ok(Table {
            keep,
            text: text.into_boxed_str(),
            ends: Ends::of(ends, kind)?,
            ids: ids.into_boxed_slice(),
            decs: decs.into_boxed_slice(),
        })
    }

    fn width(&self) -> usize {
        self.keep.fields.len()
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.ends.len().checked_div(self.width()).unwrap_or(0)
    }

    /// Every row, in document order.
    pub fn rows<'a>(
        &'a self,
        strings: &'a Strings,
    ) -> impl ExactSizeIterator<Item = Row<'a>> + Clone {
        (0..self.len()).map(move |row| Row {
            table: self,
            row,
            strings,
        })
    }

    /// The decimal of a decimal cell kept as a number; `None` when it is
    /// kept as text (or absent, or not a decimal field).
    #[inline]
    fn packed(&self, row: usize, field: usize) -> Option<Decimal> {
        let slot = *self.keep.slot.get(field)?;
        let dec = *self.keep.dec.get(usize::from(slot))?;
        if dec == NONE {
            return None;
        }
        let at = row
            .checked_mul(self.keep.n_dec)?
            .checked_add(usize::from(dec))?;
        Packed::unpack(*self.decs.get(at)?)
    }

    /// The cell's text; `None` when the field is not kept.
    #[inline]
    fn cell<'a>(&'a self, row: usize, field: usize, strings: &'a Strings) -> Option<&'a str> {
        let slot = *self.keep.slot.get(field)?;
        if slot == NONE {
            return None;
        }
        let shared = *self.keep.shared.get(usize::from(slot))?;
        if shared != NONE {
            let at = row
                .checked_mul(self.keep.n_shared)?
                .checked_add(usize::from(shared))?;
            let id = *self.ids.get(at)?;
            if id != NO_ID {
                return strings.get(id);
            }
        }
        let n = row
            .checked_mul(self.width())?
            .checked_add(usize::from(slot))?;
        let (start, end) = self.ends.range(n)?;
        self.text.get(start..end)
    }

    /// Bytes this table holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.text
            .len()
            .saturating_add(self.ends.bytes())
            .saturating_add(self.ids.len().saturating_mul(4))
            .saturating_add(self.decs.len().saturating_mul(8))
    }
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("record", &self.keep.spec.element)
            .field("rows", &self.len())
            .finish()
    }
}

/// One row of a [`Table`]: read like a [`Record`], kept fields only.
#[derive(Clone, Copy)]
pub(crate) struct Row<'a> {
    table: &'a Table,
    row: usize,
    strings: &'a Strings,
}

impl<'a> Row<'a> {
    fn cell(self, spec: &'static RecordSpec, index: usize) -> Option<&'a str> {
        if !std::ptr::eq(spec, self.table.keep.spec) {
            return None;
        }
        let cell = self.table.cell(self.row, index, self.strings);
        debug_assert!(
            cell.is_some(),
            "the engine reads {}/{} but does not keep it (engine/facts.rs KEEP)",
            spec.element,
            spec.fields.get(index).map_or("?", |f| f.name)
        );
        cell
    }

    /// The trimmed text of a text field, `""` when absent.
    pub fn str(self, field: Field<Text>) -> &'a str {
        self.cell(field.record, field.index).unwrap_or("")
    }

    /// A decimal field, `None` when absent or not a number.
    pub fn dec(self, field: Field<Dec>) -> Option<Decimal> {
        if !std::ptr::eq(field.record, self.table.keep.spec) {
            return None;
        }
        match self.table.packed(self.row, field.index) {
            Some(d) => Some(d),
            // Kept as text: a decimal too long to pack, or text that is no number.
            None => parse_decimal(self.cell(field.record, field.index)?),
        }
    }

    /// An integer field, `None` when absent or not an integer.
    pub fn int(self, field: Field<Int>) -> Option<i64> {
        self.cell(field.record, field.index)?.parse().ok()
    }

    /// Field `index` as a [`Value`] (for messages and receipts): what the
    /// reader made of the same text.
    pub fn value(self, index: usize) -> Value<'a> {
        let spec = self.table.keep.spec;
        if let Some(d) = self.table.packed(self.row, index) {
            return Value::Dec(d);
        }
        match (self.cell(spec, index), spec.fields.get(index)) {
            (Some(t), Some(f)) => Value::parse(f.kind, t),
            _ => Value::Absent,
        }
    }
}

/// What the engine keeps of one document.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    /// The head (one row).
    pub head: Table,
    /// The goods lines (orders and inventories; empty otherwise).
    pub lines: Option<Table>,
}

impl Facts {
    /// Keeps what the engine reads of `doc`, a document of `kind`.
    pub fn of(kind: DocKind, doc: &Document, strings: &mut Strings) -> Result<Facts, EngineError> {
        let (head, lines) = keep_of(kind);
        Ok(Facts {
            head: Table::build(kind, head, std::iter::once(&doc.head), strings)?,
            lines: match lines {
                Some(keep) => Some(Table::build(kind, keep, doc.lines.iter(), strings)?),
                None => None,
            },
        })
    }

    /// The head row.
    pub fn head<'a>(&'a self, strings: &'a Strings) -> Row<'a> {
        Row {
            table: &self.head,
            row: 0,
            strings,
        }
    }

    /// The goods lines.
    pub fn lines(&self) -> Option<&Table> {
        self.lines.as_ref()
    }

    /// The document's business key (`orderNo=…,ebpCode=…`), as
    /// [`crate::model::document_key`] gives it.
    pub fn document_key(&self, kind: DocKind, strings: &Strings) -> String {
        let head = self.head(strings);
        business_key(kind.spec(), |i| head.value(i))
    }

    /// A document with the kept fields filled in and every other field
    /// absent (what a receipt needs).
    pub fn to_document(&self, strings: &Strings) -> Document {
        let rebuild = |table: &Table, row: Row<'_>| {
            let mut rec = Record::new(table.keep.spec);
            for &i in table.keep.fields {
                rec.set_value(i, row.value(i));
            }
            rec
        };
        Document {
            head: rebuild(&self.head, self.head(strings)),
            lines: self
                .lines()
                .map(|t| t.rows(strings).map(|r| rebuild(t, r)).collect())
                .unwrap_or_default(),
        }
    }

    /// Bytes held on the heap (text and offsets; allocator overhead not counted).
    pub fn heap_bytes(&self) -> usize {
        self.head
            .heap_bytes()
            .saturating_add(self.lines.as_ref().map_or(0, Table::heap_bytes))
    }
}

/// The fingerprint of a document's business content: every field of the
/// head and the lines except those that only describe the transmission
/// (`guid`, `appTime`) and the request (`appType`). Text is compared
/// trimmed and numbers by value (`10.50` is `10.5`). Two documents with the
/// same business key and the same fingerprint are the same declaration.
pub(crate) fn fingerprint(kind: DocKind, doc: &Document) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let head = kind.head();
    let skip = [head.guid.index, head.app_time.index, head.app_type.index];
    use std::fmt::Write as _;
    let mut h = Sha256::new();
    // One buffer for every number's text: no allocation per field.
    let mut num = String::new();
    let mut put = |rec: &Record, tag: u8, skip: &[usize]| {
        h.update([tag]);
        for (i, v) in rec.values().enumerate() {
            if skip.contains(&i) {
                continue;
            }
            num.clear();
            let text = match v {
                Value::Absent => continue,
                Value::Text(s) | Value::Invalid(s) => s.trim(),
                Value::Dec(d) => {
                    let _ = write!(num, "{}", d.normalize());
                    num.as_str()
                }
                Value::Int(n) => {
                    let _ = write!(num, "{n}");
                    num.as_str()
                }
            };
            // Field index and length first, so no two contents encode alike.
            h.update(u64::try_from(i).unwrap_or(u64::MAX).to_le_bytes());
            h.update(u64::try_from(text.len()).unwrap_or(u64::MAX).to_le_bytes());
            h.update(text.as_bytes());
        }
    };
    put(&doc.head, 0, &skip);
    for line in &doc.lines {
        put(line, 1, &[]);
    }
    let full = h.finalize();
    let mut out = [0u8; 16];
    for (o, b) in out.iter_mut().zip(full.iter()) {
        *o = *b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;

    fn order() -> Document {
        let bytes = include_bytes!("../../samples/set-ok/CEB311-order.xml");
        let mut m = codec::decode(bytes)
            .map(|d| d.message)
            .unwrap_or_else(|e| panic!("{e}"));
        m.documents.remove(0)
    }

    #[test]
    fn packed_decimals_are_the_same_decimals() {
        for text in [
            "0",
            "1",
            "-1",
            "12.50",
            "-12.50",
            "0.00001",
            "1020.85",
            "72057594037927935",
            "-72057594037927935",
            "7205759403792793.5",
            "0.0000000000000000000000000001",
            "-0",
            "-0.00",
        ] {
            let d: Decimal = text.parse().unwrap();
            let p = Packed::pack(d);
            assert_ne!(p, Packed::NONE, "{text}");
            let back = Packed::unpack(p).unwrap();
            assert_eq!(back, d, "{text}");
            assert_eq!(back.to_string(), d.to_string(), "{text}");
        }
        // Too many digits, or a negative zero: kept as text instead.
        for text in ["72057594037927936", "9999999999999999999999999999"] {
            let d: Decimal = text.parse().unwrap();
            assert_eq!(Packed::pack(d), Packed::NONE, "{text}");
        }
        assert_eq!(Packed::unpack(Packed::NONE), None);
    }

    /// What the kept fields read back, whether shared strings are kept once
    /// or, past the cap, in the document.
    #[test]
    fn shared_strings_read_back_the_same_past_the_cap() {
        let doc = order();
        let mut shared = Strings::default();
        let mut full = Strings {
            cap: Some(2),
            ..Strings::default()
        };
        let a = Facts::of(DocKind::Order, &doc, &mut shared).unwrap();
        let b = Facts::of(DocKind::Order, &doc, &mut full).unwrap();
        assert_eq!(shared.len(), 6);
        assert_eq!(full.len(), 2);
        let (da, db) = (a.to_document(&shared), b.to_document(&full));
        assert_eq!(da, db);
        for &i in ORDER_HEAD.fields {
            assert_eq!(da.head.value(i), doc.head.value(i), "field {i}");
        }
        assert_eq!(
            a.head(&shared).str(oh::EBP_NAME),
            "杭州示例跨境平台有限公司"
        );
        assert_eq!(b.head(&full).str(oh::PAY_NAME), "示例支付有限公司");
        assert!(b.heap_bytes() > a.heap_bytes());
        // The same names again take no more room.
        Facts::of(DocKind::Order, &doc, &mut shared).unwrap();
        assert_eq!(shared.len(), 6);
    }
}
