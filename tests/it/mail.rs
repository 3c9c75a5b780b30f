//! Personal postal items and the personal-items tax payment: the three state
//! machines (every allowed move, every forbidden one refused with a
//! sentence), masking and access, and the printed certificate.

use customs_gateway::mail::agreement::{Agreement, AgreementEvent, AgreementState, notes};
use customs_gateway::mail::certificate::{
    Certificate, CertificateLine, CertificateState, PaymentState, steps,
};
use customs_gateway::mail::item::{MailItem, MailStatus};
use customs_gateway::mail::mask;
use rust_decimal::Decimal;

const T: u64 = 1_795_227_600_000;

// ---------------------------------------------------------------------------
// Mail items.

/// Every (from, to) pair: allowed exactly when the table lists it.
#[test]
fn a_mail_item_moves_only_along_its_table() {
    use MailStatus as S;
    let allowed: &[(S, S)] = &[
        (S::Arrived, S::Released),
        (S::Arrived, S::DeclarationRequired),
        (S::Arrived, S::ReturnRequested),
        (S::DeclarationRequired, S::UnderReview),
        (S::DeclarationRequired, S::ReturnRequested),
        (S::UnderReview, S::Rejected),
        (S::UnderReview, S::TaxPending),
        (S::UnderReview, S::ReleasedWithoutTax),
        (S::UnderReview, S::Interview),
        (S::Rejected, S::UnderReview),
        (S::Rejected, S::ReturnRequested),
        (S::Interview, S::TaxPending),
        (S::Interview, S::ReleasedWithoutTax),
        (S::Interview, S::Rejected),
        (S::Interview, S::ReturnRequested),
        (S::TaxPending, S::TaxPaid),
        (S::TaxPending, S::TaxReview),
        (S::TaxPending, S::ReturnRequested),
        (S::TaxReview, S::TaxPending),
        (S::TaxReview, S::ReleasedWithoutTax),
        (S::TaxPaid, S::Released),
        (S::TaxPaid, S::RefundRequested),
        (S::Released, S::RefundRequested),
        (S::RefundRequested, S::Refunded),
        (S::ReturnRequested, S::Returned),
    ];
    // A path from arrival to every status, to start each case from.
    let path_to = |target: S| -> Vec<S> {
        let paths: &[&[S]] = &[
            &[S::Arrived],
            &[S::Arrived, S::DeclarationRequired],
            &[S::Arrived, S::DeclarationRequired, S::UnderReview],
            &[
                S::Arrived,
                S::DeclarationRequired,
                S::UnderReview,
                S::Rejected,
            ],
            &[
                S::Arrived,
                S::DeclarationRequired,
                S::UnderReview,
                S::Interview,
            ],
            &[
                S::Arrived,
                S::DeclarationRequired,
                S::UnderReview,
                S::TaxPending,
            ],
            &[
                S::Arrived,
                S::DeclarationRequired,
                S::UnderReview,
                S::TaxPending,
                S::TaxReview,
            ],
            &[
                S::Arrived,
                S::DeclarationRequired,
                S::UnderReview,
                S::TaxPending,
                S::TaxPaid,
            ],
            &[
                S::Arrived,
                S::DeclarationRequired,
                S::UnderReview,
                S::ReleasedWithoutTax,
            ],
            &[
                S::Arrived,
                S::DeclarationRequired,
                S::UnderReview,
                S::TaxPending,
                S::TaxPaid,
                S::Released,
            ],
            &[
                S::Arrived,
                S::DeclarationRequired,
                S::UnderReview,
                S::TaxPending,
                S::TaxPaid,
                S::RefundRequested,
            ],
            &[
                S::Arrived,
                S::DeclarationRequired,
                S::UnderReview,
                S::TaxPending,
                S::TaxPaid,
                S::RefundRequested,
                S::Refunded,
            ],
            &[S::Arrived, S::ReturnRequested],
            &[S::Arrived, S::ReturnRequested, S::Returned],
        ];
        paths
            .iter()
            .find(|p| p.last() == Some(&target))
            .unwrap()
            .to_vec()
    };
    let mut checked = 0;
    for from in S::ALL {
        for to in S::ALL {
            let mut item = MailItem::arrived("EA123456789CN", "运抵", T);
            for s in path_to(from).into_iter().skip(1) {
                item.advance(s, "", T)
                    .unwrap_or_else(|e| panic!("path to {from:?}: {e}"));
            }
            let r = item.advance(to, "step", T + 1);
            if allowed.contains(&(from, to)) {
                r.unwrap_or_else(|e| panic!("{from:?} → {to:?}: {e}"));
                assert_eq!(item.status, to);
            } else {
                let why = r.expect_err(&format!("{from:?} → {to:?} must be refused"));
                assert!(why.contains(from.zh()) && why.contains(to.code()), "{why}");
                assert_eq!(item.status, from, "a refused move changes nothing");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 14 * 14);
    // A refund needs a paid tax: released without payment has nothing to refund.
    let mut item = MailItem::arrived("EA1", "", T);
    item.advance(S::Released, "", T).unwrap();
    let why = item.advance(S::RefundRequested, "", T).unwrap_err();
    assert!(why.contains("nothing to refund"), "{why}");
}

// ---------------------------------------------------------------------------
// Three-party agreements.

fn agreement() -> Agreement {
    Agreement::sign(
        "XY2026112100001",
        "13712343382",
        "林晓彤",
        "5100",
        "102100099996",
        "6222021234565839",
        T,
    )
}

#[test]
fn an_agreement_is_signed_or_fails_and_only_a_signed_one_is_cancelled() {
    use AgreementState as A;
    let mut a = agreement();
    assert_eq!(a.state, A::Signing);
    assert_eq!(a.steps[0].note, "签约请求已提交，待发送海关");
    // Cancelling while signing is refused.
    let why = a.apply(&AgreementEvent::Cancel, T).unwrap_err();
    assert!(
        why.contains("签约处理中")
            && why.contains("only an agreement in 签约成功 can be cancelled"),
        "{why}"
    );
    for note in [notes::CUSTOMS_APPROVED, notes::FORWARDED, notes::VERIFIED] {
        a.apply(&AgreementEvent::Progress(note.to_owned()), T + 1)
            .unwrap();
    }
    a.apply(&AgreementEvent::Succeeded, T + 2).unwrap();
    assert_eq!(a.state, A::Signed);
    let shown: Vec<(&str, &str)> = a
        .steps
        .iter()
        .map(|s| (s.state.zh(), s.note.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("签约处理中", "签约请求已提交，待发送海关"),
            ("签约处理中", "签约请求海关审批通过，待转发银行"),
            ("签约处理中", "海关签约指令转发国库成功，待国库/银行回复"),
            ("签约处理中", "验证成功"),
            ("签约成功", "签约成功，协议已生效"),
        ]
    );
    // A signed agreement cannot succeed or fail again.
    assert!(a.apply(&AgreementEvent::Succeeded, T).is_err());
    assert!(a.apply(&AgreementEvent::Failed("x".into()), T).is_err());
    a.apply(&AgreementEvent::Cancel, T + 3).unwrap();
    assert_eq!(a.state, A::Cancelling);
    assert!(a.apply(&AgreementEvent::Cancel, T).is_err());
    a.apply(&AgreementEvent::CancelDone, T + 4).unwrap();
    assert_eq!(a.state, A::Cancelled);
    for e in [
        AgreementEvent::Cancel,
        AgreementEvent::Succeeded,
        AgreementEvent::CancelDone,
    ] {
        let why = a.apply(&e, T).unwrap_err();
        assert!(why.contains("解约成功"), "{why}");
    }
    // A refusal by the bank.
    let mut b = agreement();
    b.apply(&AgreementEvent::Progress(notes::CUSTOMS_APPROVED.into()), T)
        .unwrap();
    b.apply(&AgreementEvent::Failed(notes::BANK_REFUSED.into()), T)
        .unwrap();
    assert_eq!(
        (b.state, b.steps.last().unwrap().note.as_str()),
        (A::SignFailed, "签约申请银行审批不通过，结果待发送海关")
    );
    let why = b.apply(&AgreementEvent::Cancel, T).unwrap_err();
    assert!(why.contains("签约失败"), "{why}");
    assert!(b.apply(&AgreementEvent::Progress("x".into()), T).is_err());
    // JSON names the states verbatim.
    assert_eq!(serde_json::to_value(A::Signed).unwrap(), "签约成功");
}

// ---------------------------------------------------------------------------
// Certificates and payments.

fn certificate() -> Certificate {
    Certificate {
        no: "51002021X40000006501".to_owned(),
        mail_no: "EA123456789CN".to_owned(),
        port: "5100".to_owned(),
        name: "林晓彤".to_owned(),
        phone: "13712343382".to_owned(),
        lines: vec![
            CertificateLine {
                description: "奶粉 900克".to_owned(),
                quantity: "2 千克".to_owned(),
                value: Decimal::new(400, 0),
                rate: Decimal::new(13, 2),
                tax: Decimal::new(5200, 2),
            },
            CertificateLine {
                description: "白酒 500毫升".to_owned(),
                quantity: "1 瓶".to_owned(),
                value: Decimal::new(24732, 2),
                rate: Decimal::new(50, 2),
                tax: Decimal::new(12366, 2),
            },
        ],
        total: Decimal::new(17566, 2),
        kind: "邮递物品".to_owned(),
        issued_ms: T,
        state: CertificateState::Unpaid,
        payments: Vec::new(),
    }
}

fn signed() -> Agreement {
    let mut a = agreement();
    a.apply(&AgreementEvent::Succeeded, T).unwrap();
    a
}

#[test]
fn only_unpaid_or_failed_certificates_are_paid_and_only_failed_ones_re_paid() {
    use CertificateState as C;
    let a = signed();
    let mut c = certificate();
    // Re-paying an unpaid certificate is refused.
    let why = c.pay(&a, "S1", true, T).unwrap_err();
    assert!(
        why.contains("未支付") && why.contains("only a certificate in 支付失败 can be re-paid"),
        "{why}"
    );
    // Paying without an agreement in 签约成功 is refused.
    let why = c.pay(&agreement(), "S1", false, T).unwrap_err();
    assert!(
        why.contains("签约处理中") && why.contains("needs an agreement in 签约成功"),
        "{why}"
    );
    let mut other = signed();
    other.phone = "13900000000".to_owned();
    assert!(
        c.pay(&other, "S1", false, T)
            .unwrap_err()
            .contains("not the payer's")
    );
    // Pay; the payment runs its steps and fails with the bank's reason.
    c.pay(&a, "S1", false, T).unwrap();
    assert_eq!(c.state, C::Paying);
    assert!(
        c.pay(&a, "S2", false, T)
            .unwrap_err()
            .contains("支付处理中")
    );
    for s in steps::BEFORE_RESULT {
        c.payment_step(s, T + 1).unwrap();
    }
    c.payment_result(Some("帐户余额不足"), T + 2).unwrap();
    assert_eq!(c.state, C::PaymentFailed);
    assert_eq!(c.payments[0].reason.as_deref(), Some("帐户余额不足"));
    // Re-pay: the failed payment shows 已重新支付.
    c.pay(&a, "S2", true, T + 3).unwrap();
    assert_eq!(c.payments[0].state, PaymentState::Repaid);
    assert_eq!(c.payments[0].state.zh(), "已重新支付");
    c.payment_result(None, T + 4).unwrap();
    assert_eq!(c.state, C::Paid);
    let p = &c.payments[1];
    assert_eq!(
        (
            p.serial.as_str(),
            p.agreement.as_str(),
            p.bank_code.as_str(),
            p.requested_ms
        ),
        ("S2", "XY2026112100001", "102100099996", T + 3)
    );
    assert_eq!(p.steps.last().unwrap().note, "支付成功 交易成功");
    // Paying or re-paying a paid certificate is refused; so is voiding it.
    for repay in [false, true] {
        let why = c.pay(&a, "S3", repay, T).unwrap_err();
        assert!(
            why.contains("支付成功")
                && why.contains("only a certificate in 未支付 or 支付失败 can be paid"),
            "{why}"
        );
    }
    assert!(c.void().unwrap_err().contains("支付成功"));
    assert!(
        c.payment_step("x", T)
            .unwrap_err()
            .contains("no payment in progress")
    );
    // Void: only unpaid or failed, and then nothing else.
    let mut v = certificate();
    v.void().unwrap();
    assert_eq!(v.state, C::Void);
    assert!(v.pay(&a, "S9", false, T).unwrap_err().contains("已作废"));
    assert_eq!(serde_json::to_value(C::Paying).unwrap(), "支付处理中");
}

// ---------------------------------------------------------------------------
// Masking and access.

#[test]
fn phones_and_accounts_are_masked_and_only_the_recipients_phone_sees() {
    assert_eq!(mask::phone("13712343382"), "137****3382");
    assert_eq!(mask::account("6222021234565839"), "62****5839");
    assert_eq!(mask::id_number("330106199208150325"), "330****25");
    assert_eq!(mask::phone("123"), "****23");
    assert_eq!(mask::phone(""), "****");
    assert!(mask::may_see("137 1234 3382", "13712343382"));
    assert!(mask::may_see("+86 137-1234-3382", "13712343382"));
    assert!(!mask::may_see("13712343383", "13712343382"));
    assert!(!mask::may_see("", ""));
}

// ---------------------------------------------------------------------------
// The printed certificate.

#[test]
fn the_certificate_page_lays_out_the_official_form_with_the_total_in_capitals() {
    let mut c = certificate();
    c.lines[0].description = "奶粉 <900克> & 罐".to_owned();
    let html = customs_gateway::mail::print::certificate_html(&c, "2026年11月21日");
    for want in [
        "旅客行李、个人邮递物品进口税款缴纳证",
        "海关编号：<span id=\"no\">51002021X40000006501</span>",
        "纳税人姓名：<span id=\"name\">林晓彤</span>",
        "作业单号：<span id=\"mail-no\">EA123456789CN</span>",
        "<th>品名和规格</th><th>数量</th><th>完税价格</th><th>税率(%)</th><th>进口税金额</th>",
        "奶粉 &lt;900克&gt; &amp; 罐",
        "<td class=\"num\">13</td><td class=\"num\">52.00</td>",
        "人民币(大写)：<span id=\"capitals\">壹佰柒拾伍元陆角陆分</span>　¥<span id=\"total\">175.66</span>",
        "137****3382",
        "类型：邮递物品",
    ] {
        assert!(html.contains(want), "missing {want}\n{html}");
    }
    assert!(!html.contains("13712343382"), "the phone is masked");
}

#[test]
fn the_printed_certificate_renders_in_chromium_with_the_total_in_capitals() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("certificate.html");
    let out = crate::util::gateway()
        .args(["tax", "certificate", "print"])
        .arg(crate::util::root().join("samples/mail/TaxCertificate.xml"))
        .arg("--out")
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = format!("file://{}", page.display());
    let dom = crate::dashboard::chromium_run(&["--dump-dom"], &url);
    let text_of = |id: &str| {
        let start = dom
            .find(&format!("id=\"{id}\">"))
            .unwrap_or_else(|| panic!("no #{id} in {dom}"));
        let rest = &dom[start + id.len() + 6..];
        rest[..rest.find('<').unwrap()].to_owned()
    };
    assert_eq!(text_of("capitals"), "壹佰柒拾伍元陆角陆分");
    assert_eq!(text_of("total"), "175.66");
    assert_eq!(text_of("no"), "51002021X40000006501");
    assert_eq!(text_of("mail-no"), "EA123456789CN");
    assert_eq!(text_of("date"), "2026年11月21日");
    assert!(dom.contains("137****3382") && !dom.contains("13712343382"));
    // Printable: chromium prints it to a PDF.
    let pdf = dir.path().join("certificate.pdf");
    crate::dashboard::chromium_run(&[&format!("--print-to-pdf={}", pdf.display())], &url);
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"), "no PDF");
    // A file that is no certificate is refused with the reason.
    let out = crate::util::gateway()
        .args(["tax", "certificate", "print"])
        .arg(crate::util::root().join("samples/mail/MailNotice-arrived.xml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a tax certificate"));
}

#[test]
fn certificate_times_are_read_in_china_standard_time() {
    use customs_gateway::mail::messages::{printed_date, time14_ms};
    // 2026-11-21 10:20:00 in Beijing.
    assert_eq!(time14_ms("20261121102000"), Some(T));
    assert_eq!(printed_date(T), "2026年11月21日");
    assert_eq!(time14_ms("20261121250000"), None);
    assert_eq!(time14_ms("2026112110200"), None);
    assert_eq!(time14_ms("20260230102000"), None);
}
