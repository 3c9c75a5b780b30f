//! `customs-gateway mail …`, `tax certificate list|show|print NO` and `tax
//! agreement list`: what a recipient sees of their personal postal items,
//! asked of the running daemon's admin API by their phone (masked in every
//! answer; another phone sees nothing).

use std::io::Write;
use std::path::PathBuf;

use serde_json::Value;

use super::client::{Client, ClientError};
use crate::config::Config;

/// One question.
#[derive(Debug, Clone)]
pub enum MailQuery {
    /// A mail item's status and history.
    Status {
        /// 邮件号.
        mail_no: String,
    },
    /// The recipient's mail items.
    List {
        /// Calendar months covered (default 3).
        months: Option<u32>,
    },
    /// The recipient's certificates.
    Certificates {
        /// Calendar months covered (default 3).
        months: Option<u32>,
    },
    /// One certificate with its payments.
    Certificate {
        /// 海关编号.
        no: String,
    },
    /// One certificate's printable page.
    Print {
        /// 海关编号.
        no: String,
        /// Where to write it (standard output when absent).
        out: Option<PathBuf>,
    },
    /// The payer's agreements.
    Agreements,
    /// Send a supplementary declaration (a MailDeclaration file's XML).
    Declare {
        /// The XML.
        xml: String,
    },
    /// Ask for a tax review, a refund or a return of a mail item.
    Request {
        /// 邮件号.
        mail_no: String,
        /// `review`, `refund` or `return`.
        kind: String,
        /// 申请理由.
        reason: String,
    },
    /// Sign a three-party agreement.
    Sign {
        /// 缴款单位名称.
        payer: String,
        /// 关区.
        customs: String,
        /// 付款行行号.
        bank_code: String,
        /// 开户账号.
        account: String,
    },
    /// Cancel an agreement in 签约成功.
    Cancel {
        /// 协议书号.
        no: String,
    },
    /// Pay (or, `repay`, re-pay) a certificate under an agreement.
    Pay {
        /// 海关编号.
        no: String,
        /// 协议书号.
        agreement: String,
        /// A re-payment of a failed payment.
        repay: bool,
    },
}

/// Asks the daemon `config` names, as the holder of `phone`, and writes
/// the answer (`json`: the API's JSON). Exit status 0, or 1 when nothing is
/// addressed to that phone.
pub fn run(
    config: &std::path::Path,
    phone: &str,
    json: bool,
    query: &MailQuery,
    out: &mut impl Write,
) -> Result<u8, ClientError> {
    let config = Config::load(config)?;
    let client = Client::from_config(&config)?;
    let months_text;
    let mut q: Vec<(&str, &str)> = vec![("phone", phone)];
    let months = match query {
        MailQuery::List { months } | MailQuery::Certificates { months } => *months,
        _ => None,
    };
    if let Some(m) = months {
        months_text = m.to_string();
        q.push(("months", &months_text));
    }
    let action = match query {
        MailQuery::Sign {
            payer,
            customs,
            bank_code,
            account,
        } => Some((
            "/tax/agreements".to_owned(),
            serde_json::json!({"phone": phone, "payer": payer, "customs": customs,
                "bank_code": bank_code, "account": account}),
        )),
        MailQuery::Declare { xml } => Some((
            "/mail/declarations".to_owned(),
            serde_json::json!({ "phone": phone, "xml": xml }),
        )),
        MailQuery::Request {
            mail_no,
            kind,
            reason,
        } => Some((
            format!("/mail/{}/request", segment(mail_no)),
            serde_json::json!({ "phone": phone, "kind": kind, "reason": reason }),
        )),
        MailQuery::Cancel { no } => Some((
            format!("/tax/agreements/{}/cancel", segment(no)),
            serde_json::json!({ "phone": phone }),
        )),
        MailQuery::Pay {
            no,
            agreement,
            repay,
        } => Some((
            format!(
                "/tax/certificates/{}/{}",
                segment(no),
                if *repay { "repay" } else { "pay" }
            ),
            serde_json::json!({ "phone": phone, "agreement_no": agreement }),
        )),
        _ => None,
    };
    if let Some((path, body)) = action {
        let v = client.post_json(&path, &body)?;
        if json {
            serde_json::to_writer_pretty(&mut *out, &v).map_err(|e| ClientError::Output {
                reason: e.to_string(),
            })?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", s(&v["done"]))?;
        }
        return Ok(0);
    }
    let answer = match query {
        MailQuery::Sign { .. }
        | MailQuery::Cancel { .. }
        | MailQuery::Pay { .. }
        | MailQuery::Request { .. }
        | MailQuery::Declare { .. } => {
            return Ok(0);
        }
        MailQuery::Status { mail_no } => {
            client.get_json(&format!("/mail/{}", segment(mail_no)), &q)
        }
        MailQuery::List { .. } => client.get_json("/mail", &q),
        MailQuery::Certificates { .. } => client.get_json("/tax/certificates", &q),
        MailQuery::Certificate { no } => {
            client.get_json(&format!("/tax/certificates/{}", segment(no)), &q)
        }
        MailQuery::Agreements => client.get_json("/tax/agreements", &q),
        MailQuery::Print { no, out: file } => {
            let page =
                match client.get_page(&format!("/tax/certificates/{}/print", segment(no)), &q) {
                    Err(ClientError::NotFound { message }) => {
                        writeln!(out, "{message}")?;
                        return Ok(1);
                    }
                    other => other?,
                };
            match file {
                Some(path) => std::fs::write(path, page).map_err(|e| ClientError::Output {
                    reason: format!("{}: {e}", path.display()),
                })?,
                None => out.write_all(page.as_bytes())?,
            }
            return Ok(0);
        }
    };
    let v = match answer {
        Err(ClientError::NotFound { message }) => {
            writeln!(out, "{message}")?;
            return Ok(1);
        }
        other => other?,
    };
    if json {
        serde_json::to_writer_pretty(&mut *out, &v).map_err(|e| ClientError::Output {
            reason: e.to_string(),
        })?;
        writeln!(out)?;
        return Ok(0);
    }
    match query {
        MailQuery::Status { .. } => mail_text(out, &v["mail"])?,
        MailQuery::List { .. } => {
            let list = v["mail"].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                writeln!(out, "no mail items addressed to this phone in the period")?;
            }
            for m in &list {
                writeln!(
                    out,
                    "{}  {}  {}",
                    s(&m["mail_no"]),
                    s(&m["status_label"]),
                    s(&m["updated"])
                )?;
            }
        }
        MailQuery::Certificates { .. } => {
            let list = v["certificates"].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                writeln!(out, "no certificates addressed to this phone in the period")?;
            }
            for c in &list {
                writeln!(
                    out,
                    "{}  {}  ¥{}  {}",
                    s(&c["certificate_no"]),
                    s(&c["mail_no"]),
                    s(&c["total"]),
                    s(&c["state"])
                )?;
            }
        }
        MailQuery::Certificate { .. } => certificate_text(out, &v["certificate"])?,
        MailQuery::Agreements => {
            for a in v["agreements"].as_array().cloned().unwrap_or_default() {
                writeln!(
                    out,
                    "{}  {}  关区 {}  付款行 {}  账号 {}",
                    s(&a["agreement_no"]),
                    s(&a["state"]),
                    s(&a["customs"]),
                    s(&a["bank_code"]),
                    s(&a["account"])
                )?;
                for st in a["steps"].as_array().cloned().unwrap_or_default() {
                    writeln!(
                        out,
                        "  {}  {}  {}",
                        s(&st["at"]),
                        s(&st["status"]),
                        s(&st["note"])
                    )?;
                }
            }
        }
        MailQuery::Print { .. }
        | MailQuery::Sign { .. }
        | MailQuery::Cancel { .. }
        | MailQuery::Pay { .. }
        | MailQuery::Request { .. }
        | MailQuery::Declare { .. } => {}
    }
    Ok(0)
}

fn s(v: &Value) -> String {
    match v {
        Value::String(t) => t.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A path segment with `/`, `?`, `#` and `%` escaped.
fn segment(text: &str) -> String {
    text.replace('%', "%25")
        .replace('/', "%2F")
        .replace('?', "%3F")
        .replace('#', "%23")
}

fn mail_text(out: &mut impl Write, m: &Value) -> std::io::Result<()> {
    writeln!(
        out,
        "mail item {}: {} ({})",
        s(&m["mail_no"]),
        s(&m["status_label"]),
        s(&m["status"])
    )?;
    writeln!(out, "  recipient {} {}", s(&m["recipient"]), s(&m["phone"]))?;
    for st in m["history"].as_array().cloned().unwrap_or_default() {
        writeln!(
            out,
            "  {}  {}  {}",
            s(&st["at"]),
            s(&st["label"]),
            s(&st["note"])
        )?;
    }
    for c in m["certificates"].as_array().cloned().unwrap_or_default() {
        writeln!(out, "  certificate {}", s(&c))?;
    }
    Ok(())
}

fn certificate_text(out: &mut impl Write, c: &Value) -> std::io::Result<()> {
    writeln!(
        out,
        "certificate {} ({}): {}  mail item {}",
        s(&c["certificate_no"]),
        s(&c["kind"]),
        s(&c["state"]),
        s(&c["mail_no"])
    )?;
    writeln!(out, "  纳税人 {} {}", s(&c["name"]), s(&c["phone"]))?;
    for l in c["lines"].as_array().cloned().unwrap_or_default() {
        writeln!(
            out,
            "  {}  {}  完税价格 {}  税率 {}  税额 {}",
            s(&l["description"]),
            s(&l["quantity"]),
            s(&l["value"]),
            s(&l["rate"]),
            s(&l["tax"])
        )?;
    }
    writeln!(
        out,
        "  进口税合计 人民币{} ¥{}",
        s(&c["capitals"]),
        s(&c["total"])
    )?;
    for p in c["payments"].as_array().cloned().unwrap_or_default() {
        writeln!(
            out,
            "  payment {}: {}  协议书号 {}  付款行行号 {}  申请扣税时间 {}{}",
            s(&p["serial"]),
            s(&p["state"]),
            s(&p["agreement"]),
            s(&p["bank_code"]),
            s(&p["requested"]),
            p["reason"]
                .as_str()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default()
        )?;
        for st in p["steps"].as_array().cloned().unwrap_or_default() {
            writeln!(out, "    {}  {}", s(&st["at"]), s(&st["note"]))?;
        }
    }
    Ok(())
}
