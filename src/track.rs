//! A document's life after the check: which statuses it goes through, how
//! customs receipts are ordered, which stored document a receipt answers,
//! and which enterprise a sender acts for.
//!
//! Pure: no I/O, no clock, no panics on input. The daemon's pipeline and
//! store use it; the names here are the ones the store, the admin API and
//! the CLI show.

#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use crate::model::{Document, Message, Value};
use crate::schema::{MessageSpec, MessageType};

/// Gateway statuses, in the order a document normally passes them. Customs
/// statuses are `customs:<returnStatus>` and `channel:<CHANNEL>`.
pub mod status {
    /// Stored; not yet in a set (a waybill waiting for its order, a receipt).
    pub const RECEIVED: &str = "received";
    /// Refused by the gateway (validation, sender scope, duplicate declaration).
    pub const REFUSED: &str = "refused";
    /// In an order set that still misses documents.
    pub const WAITING: &str = "waiting";
    /// The same declaration again: counted once, changes nothing.
    pub const DUPLICATE: &str = "duplicate";
    /// Its set failed the cross-document check; a receipt went to its sender.
    pub const SET_FAILED: &str = "set_failed";
    /// Its set passed; queued for customs.
    pub const SET_PASSED: &str = "set_passed";
    /// Deleted by an appType 3 document (or the delete document itself).
    pub const DELETED: &str = "deleted";
    /// Replaced by an appType 2 document.
    pub const REPLACED: &str = "replaced";
    /// A supplementary declaration of a mail item, taken (its item is under
    /// review) and queued for customs.
    pub const DECLARED: &str = "declared";
    /// Written into the customs import client's OutBox.
    pub const FORWARDED: &str = "forwarded";
    /// The import client moved it to its SentBox: sent to customs.
    pub const TRANSMITTED: &str = "transmitted";
    /// The import client moved it to its FailBox; it will be written again.
    pub const TRANSMISSION_FAILED: &str = "transmission_failed";
    /// Failed too often; parked until an admin acts.
    pub const PARKED: &str = "parked";
    /// A customs receipt filed against its document.
    pub const RECEIPT: &str = "receipt";
    /// A customs message that answers no stored document.
    pub const ORPHAN: &str = "orphan";
}

/// The status a customs receipt gives the document it answers:
/// `customs:<returnStatus>` for CEB receipts, `channel:<CHANNEL>` for
/// `DEC_RESULT`, `customs:<code>` for other customs responses.
pub fn receipt_status(code: &str, channel: bool) -> String {
    if channel {
        format!("channel:{}", code.trim())
    } else {
        format!("customs:{}", code.trim())
    }
}

/// The lifecycle rank of a CEB `returnStatus`: a receipt never moves a
/// document's status back to a lower rank with an earlier time (see
/// [`ReceiptOrder`]). Unknown codes rank 0; negative codes (processing
/// errors) rank with "sending failed".
pub fn return_status_rank(code: &str) -> u16 {
    let code = code.trim();
    if code.starts_with('-') {
        return 35;
    }
    match code {
        "1" => 10,
        "2" => 20,
        "4" => 25,
        "3" => 30,
        "120" => 40,
        "300" => 50,
        "100" => 55,
        "399" => 60,
        "500" | "501" | "502" | "503" | "599" => 70,
        "600" => 72,
        "700" => 80,
        "800" => 90,
        "899" => 100,
        _ => 0,
    }
}

/// The lifecycle rank of a `DEC_RESULT` CHANNEL code (`CEB-MESSAGES.md`
/// §7.4): transmitted, declared, accepted into the customs system (L),
/// refused (E, Z), reviewed (J, G), picked for inspection (C, W, I, S),
/// released (P, B, K, F), deleted (D, A), closed (R).
pub fn channel_rank(code: &str) -> u16 {
    match code.trim() {
        // The import client and the pre-entry system.
        "2" | "6" | "N" | "3" => 10,
        "4" | "8" | "9" | "Y" | "E1" | "E2" | "E3" => 20,
        "7" => 30,
        "L" => 40,
        // Manual declaration, re-examination, duties payable, declare again.
        "H" | "M" | "T" | "U" => 50,
        "E" | "Z" => 55,
        "J" | "G" => 60,
        "C" | "W" | "I" | "S" => 70,
        "P" | "B" | "K" | "F" => 90,
        "D" | "A" => 95,
        "R" => 100,
        _ => 0,
    }
}

/// Where a customs receipt sorts among the receipts of one document: by
/// `returnTime` (normalised to 17 digits), then by lifecycle rank. The
/// current status is the greatest; a receipt that sorts before it is kept
/// in the history and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ReceiptOrder {
    /// The receipt time, digits only, padded with zeros to 17.
    pub time: String,
    /// The lifecycle rank.
    pub rank: u16,
}

impl ReceiptOrder {
    /// The order of a receipt with time `time` (any of `YYYYMMDDhhmmssSSS`,
    /// `YYYYMMDDhhmmss`, `YYYY-MM-DD hh:mm:ss`) and rank `rank`.
    pub fn new(time: &str, rank: u16) -> ReceiptOrder {
        let mut digits: String = time.chars().filter(char::is_ascii_digit).take(17).collect();
        while digits.len() < 17 {
            digits.push('0');
        }
        ReceiptOrder { time: digits, rank }
    }
}

/// The family of documents a message type belongs to: a request and the
/// receipts that answer it share one (`order`: CEB311 and CEB312).
pub fn family(ty: MessageType) -> &'static str {
    use MessageType as T;
    match ty {
        T::Ceb311 | T::Ceb312 => "order",
        T::Ceb411 | T::Ceb412 => "payment",
        T::Ceb511 | T::Ceb512 => "waybill",
        T::Ceb513 | T::Ceb514 => "waybill-status",
        T::Ceb621 | T::Ceb622 => "inventory",
        T::Ceb623 | T::Ceb624 => "cancel",
        T::Ceb816 | T::Ceb818 => "tax",
        T::MailNotice | T::MailDeclaration | T::MailDeclarationResult | T::MailRequest => "mail",
        T::TaxCertificate | T::PaymentResult | T::PaymentRequest => "mail-tax",
        T::AgreementResult | T::AgreementRequest => "agreement",
        T::Ceb900 => "format",
        T::DecResult | T::DecData | T::DecImportResponse => "declaration",
        T::CommonResponeMessage => "sas",
        T::DxpMsg | T::DxpRep => "dxp",
    }
}

/// The keys a document is found by: for each of its type's key alternatives
/// whose fields are all present, `family|name=value,…` (the payment also by
/// `payCode` + `payTransactionId`, which its receipt carries; the inventory
/// also by `orderNo` alone, which its tax bill carries). A receipt is
/// filed against the request of its family that has one of its keys.
pub fn link_keys(spec: &MessageSpec, doc: &Document) -> Vec<String> {
    let family = family(spec.ty);
    let mut alts: Vec<Vec<&str>> = spec
        .key
        .iter()
        .map(|alt| {
            alt.iter()
                .filter_map(|&i| spec.head.fields.get(i).map(|f| f.name))
                .collect()
        })
        .collect();
    if spec.ty == MessageType::Ceb411 {
        alts.push(vec!["payCode", "payTransactionId"]);
    }
    // The tax bill (CEB816) of an inventory names its orderNo, not ebpCode.
    if spec.ty == MessageType::Ceb621 {
        alts.push(vec!["orderNo"]);
    }
    let mut out = Vec::new();
    for alt in alts {
        let mut parts = Vec::with_capacity(alt.len());
        for name in &alt {
            match field(doc, spec, name) {
                Some(v) => parts.push(format!("{name}={v}")),
                None => break,
            }
        }
        if !parts.is_empty() && parts.len() == alt.len() {
            let key = format!("{family}|{}", parts.join(","));
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

/// The trimmed text of a head field, `None` when absent or blank.
pub fn field(doc: &Document, spec: &MessageSpec, name: &str) -> Option<String> {
    let i = spec.head.fields.iter().position(|f| f.name == name)?;
    let text = match doc.head.value(i) {
        Value::Absent => return None,
        v => v.to_string(),
    };
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// What a customs message says about the document it answers: its status
/// code, time and text, and whether the code is a `DEC_RESULT` CHANNEL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptFacts {
    /// `returnStatus`, CHANNEL, `DealFlag`, `ResponseCode`, or empty.
    pub code: String,
    /// `returnTime` or the receipt's own time, as written.
    pub time: String,
    /// `returnInfo` or the receipt's note.
    pub info: String,
    /// Whether `code` is a CHANNEL code.
    pub channel: bool,
}

impl ReceiptFacts {
    /// The status this receipt gives its document.
    pub fn status(&self) -> String {
        receipt_status(&self.code, self.channel)
    }

    /// Where it sorts among its document's receipts.
    pub fn order(&self) -> ReceiptOrder {
        let rank = if self.channel {
            channel_rank(&self.code)
        } else {
            return_status_rank(&self.code)
        };
        ReceiptOrder::new(&self.time, rank)
    }
}

/// The status, time and text of one receipt document.
pub fn receipt_facts(spec: &MessageSpec, doc: &Document) -> ReceiptFacts {
    let get = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| field(doc, spec, n))
            .unwrap_or_default()
    };
    let channel = spec.ty == MessageType::DecResult;
    ReceiptFacts {
        code: get(&[
            "returnStatus",
            "CHANNEL",
            "DealFlag",
            "ResponseCode",
            "RETURN_STATUS",
            // A tax bill's status (CEB816, CEB818: 1, 2, 3).
            "status",
        ]),
        time: get(&["returnTime", "NOTICE_DATE", "NoticeDate", "I_E_DATE"]),
        info: get(&[
            "returnInfo",
            "NOTE",
            "CheckInfo",
            "ErrorMessage",
            "RESULT_INFO",
        ]),
        channel,
    }
}

/// The enterprise codes a message of this type declares for: the party
/// that sends it (`CEB-MESSAGES.md`: ebpCode or ebcCode for CEB311, payCode
/// for CEB411, logisticsCode for CEB511, ebcCode or agentCode for CEB621).
/// Empty for a type senders do not declare.
pub fn sending_parties(ty: MessageType) -> &'static [&'static str] {
    match ty {
        MessageType::Ceb311 => &["ebpCode", "ebcCode"],
        MessageType::Ceb411 => &["payCode"],
        MessageType::Ceb511 | MessageType::Ceb513 => &["logisticsCode"],
        MessageType::Ceb621 | MessageType::Ceb623 => &["ebcCode", "agentCode"],
        _ => &[],
    }
}

/// The sending parties a document names: (field, code), in
/// [`sending_parties`]' order.
pub fn named_parties(spec: &MessageSpec, doc: &Document) -> Vec<(&'static str, String)> {
    sending_parties(spec.ty)
        .iter()
        .filter_map(|p| field(doc, spec, p).map(|v| (*p, v)))
        .collect()
}

/// `ebpCode 3301960A01, ebcCode 3301960B02` (joined by `sep`), or `no ebpCode
/// or ebcCode` when the document names none of `parties`.
pub fn describe_parties(parties: &[&str], named: &[(&str, String)], sep: &str) -> String {
    if named.is_empty() {
        return format!("no {}", parties.join(" or "));
    }
    named
        .iter()
        .map(|(p, v)| format!("{p} {v}"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// Why a document is outside its sender's scope, or `None` when the sender
/// may declare it: one of the sending party's codes and the BaseTransfer
/// `copCode` (when the message has a BaseTransfer) must be in `codes`.
pub fn out_of_scope(
    message: &Message,
    doc: &Document,
    codes: &[String],
) -> Option<(String, String)> {
    let spec = message.spec;
    // A mail item's supplementary declaration is an individual's, not an
    // enterprise's: the pipeline lets only the item's recipient (by phone)
    // declare it.
    if spec.ty == MessageType::MailDeclaration {
        return None;
    }
    let allowed = |c: &str| codes.iter().any(|k| k == c);
    let parties = sending_parties(spec.ty);
    let found = named_parties(spec, doc);
    if !found.iter().any(|(_, v)| allowed(v)) {
        let said = describe_parties(parties, &found, ", ");
        let path = format!(
            "{}/{}",
            spec.head.element,
            parties.first().copied().unwrap_or("")
        );
        return Some((
            path,
            format!("{said}: not an enterprise this sender may declare for"),
        ));
    }
    if let Some(transfer) = &message.transfer {
        let i = transfer
            .spec()
            .fields
            .iter()
            .position(|f| f.name == "copCode");
        let cop = i.map(|i| transfer.value(i).to_string());
        let cop = cop.as_deref().map(str::trim).unwrap_or("");
        if !allowed(cop) {
            return Some((
                "BaseTransfer/copCode".to_owned(),
                format!(
                    "copCode {}: not an enterprise this sender may declare for",
                    if cop.is_empty() { "(empty)" } else { cop }
                ),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_ranks_follow_the_declarations_life() {
        let order = ["2", "7", "L", "E", "J", "C", "P", "D", "R"];
        for (a, b) in order.iter().zip(order.iter().skip(1)) {
            assert!(channel_rank(a) < channel_rank(b), "{a} {b}");
        }
        assert_eq!(channel_rank("?"), 0);
    }

    #[test]
    fn receipts_sort_by_time_then_rank() {
        let released = ReceiptOrder::new("20261121101500000", return_status_rank("800"));
        let accepted = ReceiptOrder::new("20261121101400000", return_status_rank("120"));
        assert!(accepted < released);
        let same_time = ReceiptOrder::new("20261121101500000", return_status_rank("120"));
        assert!(same_time < released);
        // 14-digit times are padded, so they compare with 17-digit ones.
        assert_eq!(
            ReceiptOrder::new("20261121101500", 0).time,
            "20261121101500000"
        );
    }
}
