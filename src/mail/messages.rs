//! The gateway's own postal-items messages (`schemas/Mail*.toml`,
//! `TaxCertificate`, `AgreementResult`, `PaymentResult`; namespace
//! `urn:customs-gateway:mail:1`) read into the state machines' terms.

use crate::model::Document;
use crate::schema::fields::{certificate_head as ch, certificate_list as cl};
use crate::schema::{MessageSpec, MessageType};

use super::certificate::{Certificate, CertificateLine, CertificateState};

/// `YYYYMMDDhhmmss` (China Standard Time) as ms since the Unix epoch;
/// `None` when it is not such a time.
pub fn time14_ms(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.len() != 14 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |a: usize, b: usize| t.get(a..b).and_then(|s| s.parse::<u64>().ok());
    let date = crate::subscribe::Date::parse(&format!(
        "{}-{}-{}",
        t.get(0..4)?,
        t.get(4..6)?,
        t.get(6..8)?
    ))?;
    let (h, m, s) = (num(8, 10)?, num(10, 12)?, num(12, 14)?);
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let secs = date
        .days_since_epoch()
        .checked_mul(86_400)?
        .checked_add(h.checked_mul(3600)?)?
        .checked_add(m.checked_mul(60)?)?
        .checked_add(s)?
        .checked_sub(8 * 3600)?;
    secs.checked_mul(1000)
}

/// The certificate a `TaxCertificate` document states (未支付, no payment
/// yet), or why it cannot be read as one.
pub fn certificate(spec: &MessageSpec, doc: &Document) -> Result<Certificate, String> {
    if spec.ty != MessageType::TaxCertificate {
        return Err(format!("a {} is not a tax certificate", spec.name));
    }
    let h = &doc.head;
    let no = h.str(ch::CERTIFICATE_NO).trim().to_owned();
    if no.is_empty() {
        return Err("CertificateHead/certificateNo is missing".to_owned());
    }
    let total = h
        .dec(ch::TOTAL_TAX)
        .ok_or_else(|| format!("certificate {no}: CertificateHead/totalTax is not a number"))?;
    let mut lines = Vec::with_capacity(doc.lines.len());
    for (n, l) in doc.lines.iter().enumerate() {
        let at = |f: &str| {
            format!(
                "certificate {no}: CertificateList[{}]/{f} is not a number",
                n.saturating_add(1)
            )
        };
        lines.push(CertificateLine {
            description: l.str(cl::DESCRIPTION).trim().to_owned(),
            quantity: l.str(cl::QUANTITY).trim().to_owned(),
            value: l
                .dec(cl::DUTIABLE_VALUE)
                .ok_or_else(|| at("dutiableValue"))?,
            rate: l.dec(cl::RATE).ok_or_else(|| at("rate"))?,
            tax: l.dec(cl::TAX).ok_or_else(|| at("tax"))?,
        });
    }
    Ok(Certificate {
        no,
        mail_no: h.str(ch::MAIL_NO).trim().to_owned(),
        port: h.str(ch::PORT_CODE).trim().to_owned(),
        name: h.str(ch::RECIPIENT_NAME).trim().to_owned(),
        phone: h.str(ch::RECIPIENT_PHONE).trim().to_owned(),
        lines,
        total,
        kind: h.str(ch::KIND).trim().to_owned(),
        issued_ms: time14_ms(h.str(ch::ISSUE_TIME)).unwrap_or(0),
        state: CertificateState::Unpaid,
        payments: Vec::new(),
    })
}

/// The date printed on a certificate: `2026年11月21日` from its issue time.
pub fn printed_date(issued_ms: u64) -> String {
    let d = crate::subscribe::Date::cst(issued_ms).to_string();
    let mut parts = d.split('-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(day)) => format!(
            "{y}年{}月{}日",
            m.trim_start_matches('0'),
            day.trim_start_matches('0')
        ),
        _ => d,
    }
}
