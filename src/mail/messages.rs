//! The gateway's own postal-items messages (`schemas/Mail*.toml`,
//! `TaxCertificate`, `AgreementResult`, `PaymentResult`; namespace
//! `urn:customs-gateway:mail:1`) read into the state machines' terms.

use crate::model::Document;
use crate::schema::fields::{certificate_head as ch, certificate_list as cl};
use crate::schema::{MessageSpec, MessageType};

use super::agreement::{AgreementEvent, AgreementState};
use super::certificate::{Certificate, CertificateLine, CertificateState, PaymentState};
use super::item::MailStatus;

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

/// ms since the Unix epoch as `YYYYMMDDhhmmss` in China Standard Time.
pub fn time14(ms: u64) -> Option<String> {
    let t = crate::engine::time17(ms)?;
    t.get(..14).map(str::to_owned)
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

/// What one of the gateway's postal-items messages from customs, the
/// treasury or a bank says, in the state machines' terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailUpdate {
    /// A mail item's status (MailNotice).
    Notice {
        /// 邮件号.
        mail_no: String,
        /// 收件人姓名.
        name: String,
        /// 收件人电话.
        phone: String,
        /// The status.
        status: MailStatus,
        /// Why.
        reason: String,
        /// When (ms since the Unix epoch).
        at_ms: u64,
    },
    /// The review of a declaration (MailDeclarationResult).
    Reviewed {
        /// 邮件号.
        mail_no: String,
        /// 收件人姓名 (not in the message: empty).
        name: String,
        /// 收件人电话.
        phone: String,
        /// The status it gives the item.
        status: MailStatus,
        /// 审核意见.
        reason: String,
        /// When.
        at_ms: u64,
    },
    /// A tax certificate (TaxCertificate).
    Certificate(Box<Certificate>),
    /// An agreement's state (AgreementResult).
    Agreement {
        /// 协议书号.
        no: String,
        /// 缴款人电话.
        phone: String,
        /// 关区.
        customs: String,
        /// 付款行行号.
        bank_code: String,
        /// 开户账号 as the message gives it.
        account: String,
        /// The state.
        state: AgreementState,
        /// 状态说明.
        note: String,
        /// When.
        at_ms: u64,
    },
    /// A payment's step or result (PaymentResult).
    Payment {
        /// 缴纳证编号.
        certificate_no: String,
        /// 交易流水号.
        serial: String,
        /// 协议书号.
        agreement_no: String,
        /// 支付处理中 (a step), 支付成功 or 支付失败.
        state: PaymentState,
        /// 状态说明.
        note: String,
        /// The bank's reason of a failure.
        reason: String,
        /// When.
        at_ms: u64,
    },
}

impl MailUpdate {
    /// The phone of the person it concerns (who receives it).
    pub fn phone(&self) -> &str {
        match self {
            MailUpdate::Notice { phone, .. }
            | MailUpdate::Reviewed { phone, .. }
            | MailUpdate::Agreement { phone, .. } => phone,
            MailUpdate::Certificate(c) => &c.phone,
            MailUpdate::Payment { .. } => "",
        }
    }
}

/// The update a postal-items message from customs, the treasury or a bank
/// makes; `Ok(None)` for a type that is not one; `Err` says why a message
/// of such a type cannot be applied.
pub fn update_of(spec: &MessageSpec, doc: &Document) -> Result<Option<MailUpdate>, String> {
    use crate::schema::fields::{
        agreement_result as ar, mail_declaration_result as dr, mail_notice as mn,
        payment_result as pr,
    };
    let h = &doc.head;
    let text = |f: crate::schema::Field<crate::schema::Text>| h.str(f).trim().to_owned();
    let time = |f: crate::schema::Field<crate::schema::Text>| {
        time14_ms(h.str(f)).ok_or_else(|| {
            format!(
                "{}/{} \"{}\" is not a time YYYYMMDDhhmmss",
                spec.head.element,
                f.spec().name,
                h.str(f)
            )
        })
    };
    let status = |f: crate::schema::Field<crate::schema::Text>| {
        MailStatus::parse(h.str(f))
            .ok_or_else(|| format!("status \"{}\" is not a mail-item status", h.str(f).trim()))
    };
    let update = match spec.ty {
        MessageType::MailNotice => MailUpdate::Notice {
            mail_no: text(mn::MAIL_NO),
            name: text(mn::RECIPIENT_NAME),
            phone: text(mn::RECIPIENT_PHONE),
            status: status(mn::STATUS)?,
            reason: text(mn::REASON),
            at_ms: time(mn::NOTICE_TIME)?,
        },
        MessageType::MailDeclarationResult => MailUpdate::Reviewed {
            mail_no: text(dr::MAIL_NO),
            name: String::new(),
            phone: text(dr::RECIPIENT_PHONE),
            status: match status(dr::STATUS)? {
                s @ (MailStatus::Rejected
                | MailStatus::TaxPending
                | MailStatus::ReleasedWithoutTax
                | MailStatus::Interview) => s,
                other => {
                    return Err(format!(
                        "a declaration's review ends in rejected, tax_pending, released_without_tax or interview, not {}",
                        other.code()
                    ));
                }
            },
            reason: text(dr::REASON),
            at_ms: time(dr::RESULT_TIME)?,
        },
        MessageType::TaxCertificate => MailUpdate::Certificate(Box::new(certificate(spec, doc)?)),
        MessageType::AgreementResult => MailUpdate::Agreement {
            no: text(ar::AGREEMENT_NO),
            phone: text(ar::PAYER_PHONE),
            customs: text(ar::CUSTOMS_CODE),
            bank_code: text(ar::BANK_CODE),
            account: text(ar::ACCOUNT),
            state: match h.str(ar::STATE).trim() {
                "签约处理中" => AgreementState::Signing,
                "签约成功" => AgreementState::Signed,
                "签约失败" => AgreementState::SignFailed,
                "解约处理中" => AgreementState::Cancelling,
                "解约成功" => AgreementState::Cancelled,
                other => return Err(format!("state \"{other}\" is not an agreement state")),
            },
            note: text(ar::NOTE),
            at_ms: time(ar::STATE_TIME)?,
        },
        MessageType::PaymentResult => MailUpdate::Payment {
            certificate_no: text(pr::CERTIFICATE_NO),
            serial: text(pr::SERIAL_NO),
            agreement_no: text(pr::AGREEMENT_NO),
            state: match h.str(pr::STATE).trim() {
                "支付处理中" => PaymentState::Processing,
                "支付成功" => PaymentState::Succeeded,
                "支付失败" => PaymentState::Failed,
                other => return Err(format!("state \"{other}\" is not a payment state")),
            },
            note: text(pr::NOTE),
            reason: text(pr::REASON),
            at_ms: time(pr::RESULT_TIME)?,
        },
        _ => return Ok(None),
    };
    Ok(Some(update))
}

/// The agreement event an AgreementResult of `state` with `note` makes on an
/// agreement now in `current`.
pub fn agreement_event(
    current: AgreementState,
    state: AgreementState,
    note: &str,
) -> AgreementEvent {
    match state {
        AgreementState::Signing | AgreementState::Cancelling if state == current => {
            AgreementEvent::Progress(note.to_owned())
        }
        AgreementState::Signing => AgreementEvent::Progress(note.to_owned()),
        AgreementState::Signed => AgreementEvent::Succeeded,
        AgreementState::SignFailed => AgreementEvent::Failed(note.to_owned()),
        AgreementState::Cancelling => AgreementEvent::Cancel,
        AgreementState::Cancelled => AgreementEvent::CancelDone,
    }
}

/// One declared line as a certificate shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredLine {
    /// 物品名称及规格.
    pub description: String,
    /// 数量 with its unit (`2 千克`).
    pub quantity: String,
}

/// Why a supplementary declaration cannot be assessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssessError {
    /// Line `line` (from 1) is priced in another currency than 142 (CNY).
    Currency {
        /// The line.
        line: usize,
        /// Its currency.
        currency: String,
    },
    /// A quantity or price that is not a number.
    Number,
    /// The calculator refused it.
    Postal(String),
}

/// A supplementary declaration's postal tax on `date`: each line by its
/// article code (a quantity of the article's unit where the table values it,
/// else quantity × price), or as tax item 2 (其他物品) when the code is not
/// in the table; prices in CNY (currency 142).
pub fn assess_declaration(
    tables: &crate::tax::Tables,
    doc: &Document,
    date: crate::subscribe::Date,
) -> Result<(crate::tax::PostalTax, Vec<DeclaredLine>), AssessError> {
    use crate::schema::fields::declaration_list as dl;
    let mut lines = Vec::with_capacity(doc.lines.len());
    let mut shown = Vec::with_capacity(doc.lines.len());
    for (n, l) in doc.lines.iter().enumerate() {
        let currency = l.str(dl::CURRENCY).trim();
        if currency != "142" {
            return Err(AssessError::Currency {
                line: n.saturating_add(1),
                currency: currency.to_owned(),
            });
        }
        let (Some(qty), Some(price)) = (l.dec(dl::QUANTITY), l.dec(dl::PRICE)) else {
            return Err(AssessError::Number);
        };
        let value = qty.checked_mul(price).ok_or(AssessError::Number)?;
        let line = match tables.article(l.str(dl::ARTICLE_CODE)) {
            Some(a) if a.value.is_some() => crate::tax::LineInput {
                item: a.code.clone(),
                number: qty,
            },
            Some(a) => crate::tax::LineInput {
                item: a.code.clone(),
                number: value,
            },
            // Not in the article table: 其他物品, tax item 2.
            None => crate::tax::LineInput {
                item: "2".to_owned(),
                number: value,
            },
        };
        lines.push(line);
        shown.push(DeclaredLine {
            description: l.str(dl::DESCRIPTION).trim().to_owned(),
            quantity: format!("{qty} {}", l.str(dl::UNIT).trim()),
        });
    }
    let parcel = crate::tax::Parcel {
        date,
        origin: None,
        indivisible: false,
        lines,
        rounding: None,
    };
    crate::tax::postal_tax(tables, &parcel)
        .map(|t| (t, shown))
        .map_err(|e| AssessError::Postal(e.to_string()))
}
