//! The rejection receipts customs would send back for the documents of a
//! failed set: CEB312 (order), CEB412 (payment), CEB512 (waybill) and CEB622
//! (inventory), each with returnStatus `100` (海关退单) and returnInfo
//! `[Code:<national or rule code>;Desc:<Chinese description>]`.
//!
//! Each receipt echoes the document's own `guid` and business keys, as
//! customs does; the root `guid` is derived from the receipt's content (no
//! randomness, no clock). `returnTime` is the time passed in, written in
//! China Standard Time (UTC+8).
//!
//! CEB622 needs `copNo` and an 18-character `preNo` (XSD: both mandatory).
//! The receipt carries only what the inventory has: `preNo` is the number the
//! China E-port assigns, so an inventory without one (a first declaration
//! usually has none) gets no CEB622 — [`ReceiptError::MissingField`] says
//! why — rather than a receipt with an invented number.

use thiserror::Error;

use super::{DocKind, InboundId, Violation};
use crate::diag::{Diagnostic, has_errors};
use crate::model::{Document, Message, Record};
use crate::schema::fields::{
    inventory_head as ih, inventory_return as ir, logistics_head as lh, logistics_return as lr,
    order_head as oh, order_return as or, payment_head as ph, payment_return as pr,
};
use crate::schema::{
    Field, MSG_CEB312, MSG_CEB412, MSG_CEB512, MSG_CEB622, MessageSpec, REC_INVENTORY_RETURN,
    REC_LOGISTICS_RETURN, REC_ORDER_RETURN, REC_PAYMENT_RETURN, Text,
};
use crate::validate::{Mode, validate};

/// `returnStatus` of a customs rejection (海关退单).
pub const RETURN_STATUS_REJECTED: &str = "100";

/// Longest `returnInfo` the XSD allows, in characters.
const RETURN_INFO_MAX: usize = 1000;

/// The receipt for one member of a failed set.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The document it answers.
    pub kind: DocKind,
    /// The inbound document it answers.
    pub source: InboundId,
    /// That document's business key.
    pub document_key: String,
    /// The receipt, or why none can be written honestly.
    pub message: Result<Message, ReceiptError>,
}

/// Why a receipt was not produced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReceiptError {
    /// There is nothing to reject.
    #[error("no violations: a rejection receipt needs at least one")]
    NoViolations,
    /// The receipt needs a value the document does not carry.
    #[error("no {receipt} for this {kind}: {path} is required, {reason}")]
    MissingField {
        /// The document kind.
        kind: DocKind,
        /// The receipt type (`CEB622`).
        receipt: &'static str,
        /// The receipt element (`InventoryReturn/preNo`).
        path: &'static str,
        /// Why the document cannot supply it.
        reason: String,
    },
    /// The time cannot be written as `YYYYMMDDhhmmssSSS`.
    #[error("{now_ms} ms since the epoch cannot be written as YYYYMMDDhhmmssSSS")]
    Time {
        /// The time passed in.
        now_ms: u64,
    },
    /// The receipt breaks its schema (the document's own values do not fit).
    #[error("the receipt is not valid: {}", .0.iter().filter(|d| d.is_error()).map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Diagnostic>),
}

/// The rejection receipt for one document of a failed set.
///
/// The receipt lists the violations that involve this document; if none does
/// (the document is refused because its set is), all of them.
pub fn receipt_for(
    kind: DocKind,
    doc: &Document,
    violations: &[Violation],
    now_ms: u64,
) -> Result<Message, ReceiptError> {
    if violations.is_empty() {
        return Err(ReceiptError::NoViolations);
    }
    let time = time17(now_ms).ok_or(ReceiptError::Time { now_ms })?;
    let info = return_info(Some(kind), violations);
    let h = &doc.head;
    let doc_guid = h.str(kind.head().guid).trim();
    if kind == DocKind::Inventory {
        let cop_no = h.str(ih::COP_NO).trim();
        if cop_no.is_empty() {
            return Err(ReceiptError::MissingField {
                kind,
                receipt: "CEB622",
                path: "InventoryReturn/copNo",
                reason: "and the inventory carries no copNo".to_owned(),
            });
        }
        let pre_no = h.str(ih::PRE_NO).trim();
        if pre_no.chars().count() != 18 {
            let has = if pre_no.is_empty() {
                "the inventory carries none".to_owned()
            } else {
                format!("the inventory's preNo \"{pre_no}\" is not 18 characters")
            };
            return Err(ReceiptError::MissingField {
                kind,
                receipt: "CEB622",
                path: "InventoryReturn/preNo",
                reason: format!(
                    "exactly 18 characters (XSD); it is the number the China E-port assigns, {has}, and the gateway does not invent one"
                ),
            });
        }
    }
    let (spec, head) = return_head(kind, doc, RETURN_STATUS_REJECTED, &time, &info);
    let mut msg = Message::new(spec);
    msg.guid = Some(derived_guid(&[spec.name, doc_guid, &time, &info]));
    msg.version = Some("1.0".to_owned());
    msg.documents.push(Document {
        head,
        lines: Vec::new(),
    });
    let diagnostics = validate(&msg, Mode::Write);
    if has_errors(&diagnostics) {
        return Err(ReceiptError::Invalid(diagnostics));
    }
    Ok(msg)
}

/// The head of the receipt customs writes for `doc` (of `kind`): the
/// answering message type and its record, the document's keys copied
/// (optional codes, preNo and invtNo only when they fit the receipt's
/// rules), `returnStatus`, `returnTime` and `returnInfo` set. A caller that
/// assigns an inventory's preNo and invtNo sets them afterwards.
pub fn return_head(
    kind: DocKind,
    doc: &Document,
    status: &str,
    time: &str,
    info: &str,
) -> (&'static MessageSpec, Record) {
    let h = &doc.head;
    match kind {
        DocKind::Order => {
            let mut r = Record::new(&REC_ORDER_RETURN);
            copy(&mut r, or::GUID, h.str(oh::GUID));
            copy(&mut r, or::EBP_CODE, h.str(oh::EBP_CODE));
            copy(&mut r, or::EBC_CODE, h.str(oh::EBC_CODE));
            copy(&mut r, or::ORDER_NO, h.str(oh::ORDER_NO));
            r.set(or::RETURN_STATUS, status);
            r.set(or::RETURN_TIME, time);
            r.set(or::RETURN_INFO, info);
            (&MSG_CEB312, r)
        }
        DocKind::Payment => {
            let mut r = Record::new(&REC_PAYMENT_RETURN);
            copy(&mut r, pr::GUID, h.str(ph::GUID));
            copy(&mut r, pr::PAY_CODE, h.str(ph::PAY_CODE));
            copy(
                &mut r,
                pr::PAY_TRANSACTION_ID,
                h.str(ph::PAY_TRANSACTION_ID),
            );
            r.set(pr::RETURN_STATUS, status);
            r.set(pr::RETURN_TIME, time);
            r.set(pr::RETURN_INFO, info);
            (&MSG_CEB412, r)
        }
        DocKind::Waybill => {
            let mut r = Record::new(&REC_LOGISTICS_RETURN);
            copy(&mut r, lr::GUID, h.str(lh::GUID));
            copy(&mut r, lr::LOGISTICS_CODE, h.str(lh::LOGISTICS_CODE));
            copy(&mut r, lr::LOGISTICS_NO, h.str(lh::LOGISTICS_NO));
            r.set(lr::RETURN_STATUS, status);
            r.set(lr::RETURN_TIME, time);
            r.set(lr::RETURN_INFO, info);
            (&MSG_CEB512, r)
        }
        DocKind::Inventory => {
            let mut r = Record::new(&REC_INVENTORY_RETURN);
            copy(&mut r, ir::GUID, h.str(ih::GUID));
            copy_if_fits(&mut r, ir::CUSTOMS_CODE, h.str(ih::CUSTOMS_CODE));
            copy_if_fits(&mut r, ir::EBP_CODE, h.str(ih::EBP_CODE));
            copy_if_fits(&mut r, ir::EBC_CODE, h.str(ih::EBC_CODE));
            copy_if_fits(&mut r, ir::AGENT_CODE, h.str(ih::AGENT_CODE));
            copy(&mut r, ir::COP_NO, h.str(ih::COP_NO));
            copy_if_fits(&mut r, ir::PRE_NO, h.str(ih::PRE_NO));
            copy_if_fits(&mut r, ir::INVT_NO, h.str(ih::INVT_NO));
            r.set(ir::RETURN_STATUS, status);
            r.set(ir::RETURN_TIME, time);
            r.set(ir::RETURN_INFO, info);
            (&MSG_CEB622, r)
        }
    }
}

fn copy(r: &mut Record, field: Field<Text>, value: &str) {
    r.set(field, value.trim());
}

/// Copies an optional value only when it fits the receipt field's length rules.
fn copy_if_fits(r: &mut Record, field: Field<Text>, value: &str) {
    let v = value.trim();
    let spec = field.spec();
    let n = v.chars().count();
    let fits = spec.min.is_none_or(|m| n >= usize::from(m))
        && spec.max.is_none_or(|m| n <= usize::from(m));
    if !v.is_empty() && fits {
        r.set(field, v);
    }
}

/// `returnInfo` for a receipt answering `kind` (`None`: the whole set):
/// `[Code:<national or rule code>;Desc:<zh>]` once per failed rule, in rule
/// order, as many as fit in 1000 characters.
pub fn return_info(kind: Option<DocKind>, violations: &[Violation]) -> String {
    let involved: Vec<&Violation> = violations
        .iter()
        .filter(|v| kind.is_none_or(|k| v.documents.contains(&k)))
        .collect();
    let chosen: Vec<&Violation> = if involved.is_empty() {
        violations.iter().collect()
    } else {
        involved
    };
    let mut out = String::new();
    let mut len: usize = 0;
    let mut seen: Vec<&str> = Vec::new();
    for v in chosen {
        if seen.contains(&v.rule.code) {
            continue;
        }
        seen.push(v.rule.code);
        let entry = format!(
            "[Code:{};Desc:{}]",
            v.rule.national.unwrap_or(v.rule.code),
            v.rule.zh
        );
        let n = entry.chars().count();
        if len.saturating_add(n) > RETURN_INFO_MAX {
            if out.is_empty() {
                out = entry.chars().take(RETURN_INFO_MAX).collect();
            }
            break;
        }
        out.push_str(&entry);
        len = len.saturating_add(n);
    }
    out
}

/// `YYYYMMDDhhmmssSSS` in China Standard Time (UTC+8) for milliseconds since
/// the Unix epoch; `None` past the year 9999.
pub fn time17(now_ms: u64) -> Option<String> {
    let ms = now_ms.checked_add(8 * 3600 * 1000)?;
    let days = i64::try_from(ms.checked_div(86_400_000)?).ok()?;
    let in_day = ms.checked_rem(86_400_000)?;
    let (y, m, d) = civil_from_days(days)?;
    if !(1..=9999).contains(&y) {
        return None;
    }
    let (h, rest) = (
        in_day.checked_div(3_600_000)?,
        in_day.checked_rem(3_600_000)?,
    );
    let (mi, rest) = (rest.checked_div(60_000)?, rest.checked_rem(60_000)?);
    let (s, milli) = (rest.checked_div(1000)?, rest.checked_rem(1000)?);
    Some(format!("{y:04}{m:02}{d:02}{h:02}{mi:02}{s:02}{milli:03}"))
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`), every step checked.
fn civil_from_days(z: i64) -> Option<(i64, u32, u32)> {
    let z = z.checked_add(719_468)?;
    let era = z.checked_div_euclid(146_097)?;
    let doe = z.checked_rem_euclid(146_097)?;
    // yoe = (doe - doe/1460 + doe/36524 - doe/146096) / 365
    let yoe = doe
        .checked_sub(doe.checked_div(1460)?)?
        .checked_add(doe.checked_div(36_524)?)?
        .checked_sub(doe.checked_div(146_096)?)?
        .checked_div(365)?;
    let y = yoe.checked_add(era.checked_mul(400)?)?;
    // doy = doe - (365*yoe + yoe/4 - yoe/100)
    let doy = doe.checked_sub(
        yoe.checked_mul(365)?
            .checked_add(yoe.checked_div(4)?)?
            .checked_sub(yoe.checked_div(100)?)?,
    )?;
    let mp = doy.checked_mul(5)?.checked_add(2)?.checked_div(153)?;
    // d = doy - (153*mp + 2)/5 + 1
    let d = doy
        .checked_sub(mp.checked_mul(153)?.checked_add(2)?.checked_div(5)?)?
        .checked_add(1)?;
    let m = if mp < 10 {
        mp.checked_add(3)?
    } else {
        mp.checked_sub(9)?
    };
    let y = if m <= 2 { y.checked_add(1)? } else { y };
    Some((y, u32::try_from(m).ok()?, u32::try_from(d).ok()?))
}

/// A 36-character upper-case UUID (version 8, "custom") from a 128-bit
/// FNV-1a hash of `parts`: the same content always gives the same id.
fn derived_guid(parts: &[&str]) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h = OFFSET;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    // Version 8 and the RFC 9562 variant.
    uuid_text(h, 8).to_ascii_uppercase()
}

/// 128 bits as a UUID's text (lower-case `8-4-4-4-12` hex) with the given
/// version and the RFC 9562 variant set.
pub fn uuid_text(bits: u128, version: u8) -> String {
    let h = (bits & !(0xf << 76)) | (u128::from(version & 0xf) << 76);
    let h = (h & !(0x3 << 62)) | (0x2 << 62);
    let hex = format!("{h:032x}");
    let part = |r: std::ops::Range<usize>| hex.get(r).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

#[cfg(test)]
#[allow(clippy::string_slice, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn time17_is_china_standard_time() {
        // 2026-11-21T02:25:31.004Z = 10:25:31.004 in Beijing.
        assert_eq!(
            time17(1_795_227_931_004).as_deref(),
            Some("20261121102531004")
        );
        assert_eq!(time17(0).as_deref(), Some("19700101080000000"));
        assert_eq!(time17(u64::MAX), None);
        assert_eq!(
            time17(253_402_271_999_999).as_deref(),
            Some("99991231235959999")
        );
        assert_eq!(time17(253_402_272_000_000), None);
    }

    #[test]
    fn guid_is_deterministic_and_well_formed() {
        let a = derived_guid(&["CEB312", "X", "1"]);
        assert_eq!(a, derived_guid(&["CEB312", "X", "1"]));
        assert_ne!(a, derived_guid(&["CEB312", "X1", ""]));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_eq!(a, a.to_ascii_uppercase());
    }
}
