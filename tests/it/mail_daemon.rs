//! Personal postal items through the real daemon: the messages customs,
//! the treasury and the bank send (into the customs InBox) move the mail
//! item, the agreement and the certificate as their state machines allow,
//! are pushed to the recipient's client (registered under their phone),
//! and the admin API shows each recipient only what is addressed to their
//! phone, masked.

use std::time::Duration;

use serde_json::Value;

use crate::gateway::{Gateway, names, wait_for};
use crate::push::{folder_client, get, post, subscription};

const PHONE: &str = "13712343382";

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(crate::util::root().join("samples/mail").join(name)).unwrap()
}

fn status_of(gw: &Gateway, path: &str) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .get(format!("http://{}{path}", gw.admin))
        .call()
        .unwrap();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

#[test]
fn a_parcel_from_arrival_to_release_with_a_failed_payment_and_a_re_payment() {
    let extra = format!(
        "{}{}[[client]]\nid = \"S1\"\nenterprise = \"{PHONE}\"\nsms = \"sms/outbox.txt\"\n{}",
        folder_client("R1", PHONE),
        subscription("R1", &["放行"], "+1y"),
        subscription("S1", &["放行"], "+1y"),
    );
    let mut gw = Gateway::with_config(100, &extra);
    gw.start();
    let under_review =
        std::fs::read_to_string(crate::util::root().join("samples/mail/MailNotice-arrived.xml"))
            .unwrap()
            .replace("4E01", "4E0A")
            .replace("<status>arrived</status>", "<status>under_review</status>")
            .replace(
                "邮件已运抵成都邮局海关监管场所",
                "补充申报已受理，待海关审核",
            )
            .replace("20261121083500", "20261121093100");
    let steps: Vec<(&str, Vec<u8>)> = vec![
        // As a real notice may come: the recipient's ID number whole.
        (
            "01.xml",
            String::from_utf8(sample("MailNotice-arrived.xml"))
                .unwrap()
                .replace("330****25", "330106199208150325")
                .into_bytes(),
        ),
        ("02.xml", sample("MailNotice-declaration-required.xml")),
        ("03.xml", under_review.into_bytes()),
        ("04.xml", sample("MailDeclarationResult-tax-pending.xml")),
        ("05.xml", sample("TaxCertificate.xml")),
        // As a real bank may answer: the account whole.
        (
            "06.xml",
            String::from_utf8(sample("AgreementResult-signed.xml"))
                .unwrap()
                .replace("62****5839", "6222021234565839")
                .into_bytes(),
        ),
        ("07.xml", sample("PaymentResult-failed.xml")),
        ("08.xml", sample("PaymentResult-paid.xml")),
        ("09.xml", sample("MailNotice-released.xml")),
        // Customs says 待缴税 again after release: refused, kept, changes nothing.
        (
            "10.xml",
            String::from_utf8(sample("MailDeclarationResult-tax-pending.xml"))
                .unwrap()
                .replace("4E04", "4E0B")
                .replace("20261121101500", "20261121120000")
                .into_bytes(),
        ),
        // A late 支付成功 about the payment that failed: it must not pay.
        (
            "11.xml",
            String::from_utf8(sample("PaymentResult-failed.xml"))
                .unwrap()
                .replace("4E07", "4E0E")
                .replace("<state>支付失败</state>", "<state>支付成功</state>")
                .into_bytes(),
        ),
        // A notice about the item naming another phone: nothing changes,
        // nobody is told.
        (
            "12.xml",
            String::from_utf8(sample("MailNotice-arrived.xml"))
                .unwrap()
                .replace("4E01", "4E0F")
                .replace(
                    "<recipientPhone>13712343382</recipientPhone>",
                    "<recipientPhone>13900000000</recipientPhone>",
                )
                .replace(
                    "<status>arrived</status>",
                    "<status>return_requested</status>",
                )
                .into_bytes(),
        ),
        // A certificate for the released item: not taken, nobody told.
        (
            "13.xml",
            String::from_utf8(sample("TaxCertificate.xml"))
                .unwrap()
                .replace("4E05", "4E10")
                .replace("51002021X40000006501", "51002021X40000006599")
                .into_bytes(),
        ),
    ];
    for (i, (name, bytes)) in steps.iter().enumerate() {
        gw.drop_receipt(name, bytes);
        wait_for(&gw, 30, "archived", || {
            names(&gw.customs("Archive")).len() == i + 1
        });
    }
    // The item: every status in order, released.
    let (code, v) = status_of(&gw, &format!("/mail/EA123456789CN?phone={PHONE}"));
    assert_eq!(code, 200, "{v}");
    let m = &v["mail"];
    assert_eq!(
        (m["status"].as_str(), m["status_label"].as_str()),
        (Some("released"), Some("放行")),
        "{m}"
    );
    let statuses: Vec<&str> = m["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "arrived",
            "declaration_required",
            "under_review",
            "tax_pending",
            "tax_paid",
            "released"
        ]
    );
    assert_eq!(m["phone"], "137****3382");
    let (code, _) = status_of(
        &gw,
        &format!("/tax/certificates/51002021X40000006599?phone={PHONE}"),
    );
    assert_eq!(code, 404, "a certificate for a released item is not taken");
    // The certificate: paid on the second try, the first shows 已重新支付.
    let (_, v) = status_of(
        &gw,
        &format!("/tax/certificates/51002021X40000006501?phone={PHONE}"),
    );
    let c = &v["certificate"];
    assert_eq!(c["state"], "支付成功", "{c}");
    assert_eq!(c["capitals"], "壹佰柒拾伍元陆角陆分");
    let payments = c["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 2);
    assert_eq!(
        (
            payments[0]["state"].as_str(),
            payments[0]["reason"].as_str()
        ),
        (Some("已重新支付"), Some("帐户余额不足"))
    );
    assert_eq!(payments[1]["state"], "支付成功");
    assert_eq!(
        payments[1]["steps"].as_array().unwrap().last().unwrap()["note"],
        "支付成功 交易成功"
    );
    // The agreement, its account masked.
    let (_, v) = status_of(&gw, &format!("/tax/agreements?phone={PHONE}"));
    let a = &v["agreements"][0];
    assert_eq!(
        (a["state"].as_str(), a["account"].as_str()),
        (Some("签约成功"), Some("62****5839"))
    );
    // The refused 待缴税 after release is kept with its reason.
    let docs = get(&gw, "/messages?type=MailDeclarationResult&limit=10");
    let newest = docs[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{docs}"))
        .to_owned();
    let shown = get(&gw, &format!("/documents/{newest}"));
    let text = shown["history"].to_string();
    assert!(
        text.contains("MAIL_STATE") && text.contains("it cannot move to tax_pending"),
        "{text}"
    );
    // Another phone sees nothing, and is told the same as for a number that does not exist.
    let (code, v) = status_of(&gw, "/mail/EA123456789CN?phone=13900000000");
    assert_eq!(code, 404);
    assert!(
        v.to_string()
            .contains("no mail item EA123456789CN addressed to 139****0000"),
        "{v}"
    );
    let (_, v) = status_of(&gw, "/mail?phone=13900000000");
    assert_eq!(v["mail"].as_array().unwrap().len(), 0);
    let (_, v) = status_of(&gw, "/tax/certificates?phone=13900000000");
    assert_eq!(v["certificates"].as_array().unwrap().len(), 0);
    let (code, _) = status_of(
        &gw,
        "/tax/certificates/51002021X40000006501/print?phone=13900000000",
    );
    assert_eq!(code, 404);
    let (code, _) = status_of(&gw, "/mail?phone=");
    assert_eq!(code, 400);
    // The recipient's list covers the last calendar months by default; the
    // parcel (November 2026) is outside one month from now only if now is
    // after December 2026, so ask for 24.
    let (_, v) = status_of(&gw, &format!("/mail?phone={PHONE}&months=24"));
    assert_eq!(v["mail"].as_array().unwrap().len(), 1);
    // Every message went to the recipient's client (subscribed to 放行
    // only: postal-items messages are not named by a status).
    wait_for(&gw, 30, "the pushes", || {
        names(&gw.path("clients/R1/InBox")).len() == 11
    });
    std::thread::sleep(Duration::from_millis(200));
    let all: String = names(&gw.path("clients/R1/InBox"))
        .iter()
        .map(|f| std::fs::read_to_string(gw.path("clients/R1/InBox").join(f)).unwrap())
        .collect();
    assert!(
        !all.contains("6222021234565839") && all.contains("62****5839"),
        "no whole account number in a push"
    );
    assert!(
        !all.contains("330106199208150325"),
        "no whole ID number in a push"
    );
    // The SMS texts (the file-writing SMS sink), one per message, to the phone.
    wait_for(&gw, 30, "the texts", || {
        std::fs::read_to_string(gw.path("sms/outbox.txt")).is_ok_and(|t| t.lines().count() == 11)
    });
    let sms = std::fs::read_to_string(gw.path("sms/outbox.txt")).unwrap();
    assert!(
        sms.lines().all(|l| l.starts_with("13712343382\t【海关】")),
        "{sms}"
    );
    assert!(sms.contains("邮件 EA123456789CN：放行"), "{sms}");
    assert!(sms.contains("缴纳证 51002021X40000006501"), "{sms}");
    cli(&gw);
    assert_eq!(gw.stop().0, Some(0));
}

/// The recipient's CLI against the running daemon.
fn cli(gw: &Gateway) {
    let run = |args: &[&str]| {
        let out = crate::util::gateway()
            .args(args)
            .arg("--config")
            .arg(&gw.config)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = run(&["mail", "status", "EA123456789CN", "--phone", PHONE]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("放行") && text.contains("137****3382") && !text.contains(PHONE),
        "{text}"
    );
    let (code, text) = run(&["mail", "status", "EA123456789CN", "--phone", "13900000000"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("no mail item EA123456789CN addressed to 139****0000"),
        "{text}"
    );
    let (code, text) = run(&["mail", "list", "--phone", PHONE, "--months", "24", "--json"]);
    assert_eq!(code, Some(0));
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["mail"][0]["status"], "released");
    let (code, text) = run(&[
        "tax",
        "certificate",
        "show",
        "51002021X40000006501",
        "--phone",
        PHONE,
    ]);
    assert_eq!(code, Some(0), "{text}");
    for want in [
        "支付成功",
        "已重新支付",
        "帐户余额不足",
        "壹佰柒拾伍元陆角陆分",
        "102100099996",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    let (code, text) = run(&["tax", "agreement", "list", "--phone", PHONE]);
    assert_eq!(code, Some(0));
    assert!(
        text.contains("签约成功") && text.contains("62****5839"),
        "{text}"
    );
    let (_, text) = run(&[
        "tax",
        "agreement",
        "list",
        "--phone",
        "13900000000",
        "--json",
    ]);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["agreements"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // The page, written by the CLI and served by the admin listener, in Chromium.
    let page = gw.path("certificate.html");
    let (code, text) = run(&[
        "tax",
        "certificate",
        "print",
        "51002021X40000006501",
        "--phone",
        PHONE,
        "--out",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        std::fs::read_to_string(&page)
            .unwrap()
            .contains("壹佰柒拾伍元陆角陆分")
    );
    let url = format!(
        "http://{}/tax/certificates/51002021X40000006501/print?phone={PHONE}",
        gw.admin
    );
    let dom = crate::dashboard::chromium_run(&["--dump-dom"], &url);
    assert!(
        dom.contains("<span id=\"capitals\">壹佰柒拾伍元陆角陆分</span>"),
        "{dom}"
    );
    assert!(dom.contains("<span id=\"state\">支付成功</span>"), "{dom}");
}

#[test]
fn a_declaration_by_the_recipient_is_assessed_forwarded_and_answered_by_the_simulator() {
    let extra = format!(
        "{}{}[simulator]\nenabled = true\nrelease_after_ms = 300\ninterval_ms = 50\nseed = 7\n",
        folder_client("R1", PHONE),
        subscription("R1", &["放行"], "+1y"),
    );
    let mut gw = Gateway::with_config(100, &extra);
    gw.start();
    gw.drop_receipt("01.xml", &sample("MailNotice-arrived.xml"));
    gw.drop_receipt("02.xml", &sample("MailNotice-declaration-required.xml"));
    wait_for(&gw, 30, "the notices", || {
        names(&gw.customs("Archive")).len() == 2
    });
    // Someone else's declaration of the item is refused, with the reason.
    let declaration = String::from_utf8(sample("MailDeclaration.xml")).unwrap();
    let foreign = declaration
        .replace(
            "<recipientPhone>13712343382</recipientPhone>",
            "<recipientPhone>13900000000</recipientPhone>",
        )
        .replace("BCSB2026112100001", "BCSB2026112100009");
    gw.drop_file(crate::gateway::ECOM, "foreign.xml", foreign.as_bytes());
    wait_for(&gw, 30, "the foreign declaration refused", || {
        !names(&gw.sender(crate::gateway::ECOM, "FailBox")).is_empty()
    });
    let failed = std::fs::read_to_string(
        gw.sender(crate::gateway::ECOM, "FailBox")
            .join("foreign.xml.reason.txt"),
    )
    .unwrap();
    assert!(
        failed.contains(
            "no mail item EA123456789CN addressed to 139****0000 waits for a declaration"
        ),
        "{failed}"
    );
    // The recipient's own declaration: under review, then the simulator's
    // review comes back with a certificate.
    gw.drop_file(crate::gateway::ECOM, "decl.xml", declaration.as_bytes());
    wait_for(&gw, 30, "the certificate", || {
        let m = status_of(&gw, &format!("/mail/EA123456789CN?phone={PHONE}")).1;
        m["mail"]["status"] == "tax_pending" && m["mail"]["certificates"][0].is_string()
    });
    let (_, v) = status_of(&gw, &format!("/mail/EA123456789CN?phone={PHONE}"));
    let history = v["mail"]["history"].to_string();
    // 奶粉 2 千克 at 200 (item 1, 13 %) + 白酒 247.32 as other articles (item 2, 20 %).
    assert!(history.contains("estimated tax 101.46"), "{history}");
    let certificate = v["mail"]["certificates"][0].as_str().unwrap().to_owned();
    let (_, c) = status_of(
        &gw,
        &format!("/tax/certificates/{certificate}?phone={PHONE}"),
    );
    assert_eq!(c["certificate"]["total"], "101.46", "{c}");
    assert_eq!(c["certificate"]["state"], "未支付");
    assert_eq!(c["certificate"]["lines"][1]["rate"], "0.20");
    // The declaration went to customs (the simulator took it from the OutBox).
    assert!(
        names(&gw.customs("SentBox"))
            .iter()
            .any(|f| f.contains("MailDeclaration"))
    );
    assert_eq!(gw.stop().0, Some(0));
}

/// A seed whose bank draws refuse the first payment and accept the second
/// (the simulator draws once for the agreement, then once per payment).
fn seed_failing_first_payment() -> u64 {
    (1u64..)
        .find(|seed| {
            let mut rng = fastrand::Rng::with_seed(seed ^ 0xBA4C_0000_0000_0001);
            let _agreement = rng.f64();
            rng.f64() < 0.5 && rng.f64() >= 0.5
        })
        .unwrap()
}

#[test]
fn the_simulator_drives_a_parcel_through_a_failed_payment_a_re_payment_and_release() {
    let extra = format!(
        "{}{}[simulator]\nenabled = true\nrelease_after_ms = 150\ninterval_ms = 30\nseed = {}\npayment_fail = 0.5\n",
        folder_client("R1", PHONE),
        subscription("R1", &["放行"], "+1y"),
        seed_failing_first_payment(),
    );
    let mut gw = Gateway::with_config(60, &extra);
    gw.start();
    let mail = |gw: &Gateway| status_of(gw, &format!("/mail/EA123456789CN?phone={PHONE}")).1;
    // Customs announces the parcel (the rehearsal command).
    let out = crate::util::gateway()
        .args([
            "mail",
            "arrive",
            "EA123456789CN",
            "--name",
            "林晓彤",
            "--phone",
            PHONE,
        ])
        .args(["--origin", "JP", "--declare", "--config"])
        .arg(&gw.config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for(&gw, 30, "the notices", || {
        mail(&gw)["mail"]["status"] == "declaration_required"
    });
    // The recipient declares through the CLI: another phone is refused
    // with the same sentence as an unknown item; theirs is taken.
    let declare = |phone: &str| {
        crate::util::gateway()
            .args(["mail", "declare"])
            .arg(crate::util::root().join("samples/mail/MailDeclaration.xml"))
            .args(["--phone", phone, "--config"])
            .arg(&gw.config)
            .output()
            .unwrap()
    };
    let out = declare("13900000000");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no mail item EA123456789CN addressed to 139****0000"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = declare(PHONE);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("under_review"));
    wait_for(&gw, 30, "the certificate", || {
        mail(&gw)["mail"]["certificates"][0].is_string()
    });
    let cert = mail(&gw)["mail"]["certificates"][0]
        .as_str()
        .unwrap()
        .to_owned();
    // Paying before any agreement is signed is refused.
    let (code, v) = post(
        &gw,
        &format!("/tax/certificates/{cert}/pay"),
        &serde_json::json!({"phone": PHONE, "agreement_no": "XY0"}),
    );
    assert_eq!(code, 422, "{v}");
    // Sign: 签约处理中 at once; cancelling now is refused; the bank signs.
    let (code, v) = post(
        &gw,
        "/tax/agreements",
        &serde_json::json!({
            "phone": PHONE, "payer": "林晓彤", "customs": "5100",
            "bank_code": "102100099996", "account": "6222021234565839"
        }),
    );
    assert_eq!(code, 200, "{v}");
    let agreements = || status_of(&gw, &format!("/tax/agreements?phone={PHONE}")).1;
    let no = agreements()["agreements"][0]["agreement_no"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(agreements()["agreements"][0]["state"], "签约处理中");
    let (code, v) = post(
        &gw,
        &format!("/tax/agreements/{no}/cancel"),
        &serde_json::json!({"phone": PHONE}),
    );
    assert_eq!(code, 422);
    assert!(
        v.to_string()
            .contains("only an agreement in 签约成功 can be cancelled"),
        "{v}"
    );
    wait_for(&gw, 30, "签约成功", || {
        agreements()["agreements"][0]["state"] == "签约成功"
    });
    let steps: Vec<String> = agreements()["agreements"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["note"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        steps,
        [
            "签约请求已提交，待发送海关",
            "签约请求海关审批通过，待转发银行",
            "海关签约指令转发国库成功，待国库/银行回复",
            "验证成功",
            "签约成功，协议已生效"
        ]
    );
    // Re-paying an unpaid certificate is refused; paying it fails at the bank.
    let pay = |what: &str| {
        post(
            &gw,
            &format!("/tax/certificates/{cert}/{what}"),
            &serde_json::json!({"phone": PHONE, "agreement_no": no}),
        )
    };
    let (code, v) = pay("repay");
    assert_eq!(code, 422);
    assert!(
        v.to_string()
            .contains("only a certificate in 支付失败 can be re-paid"),
        "{v}"
    );
    let certificate = || status_of(&gw, &format!("/tax/certificates/{cert}?phone={PHONE}")).1;
    assert_eq!(pay("pay").0, 200);
    assert_eq!(certificate()["certificate"]["state"], "支付处理中");
    wait_for(&gw, 30, "支付失败", || {
        certificate()["certificate"]["state"] == "支付失败"
    });
    assert_eq!(
        certificate()["certificate"]["payments"][0]["reason"],
        "帐户余额不足"
    );
    // Re-pay: paid, the failed payment shows 已重新支付, the item is released.
    assert_eq!(pay("repay").0, 200);
    wait_for(&gw, 30, "released", || {
        mail(&gw)["mail"]["status"] == "released"
    });
    let c = certificate();
    assert_eq!(c["certificate"]["state"], "支付成功");
    assert_eq!(c["certificate"]["payments"][0]["state"], "已重新支付");
    let statuses: Vec<String> = mail(&gw)["mail"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        statuses,
        [
            "arrived",
            "declaration_required",
            "under_review",
            "tax_pending",
            "tax_paid",
            "released"
        ]
    );
    // Paying a paid certificate is refused.
    let (code, v) = pay("pay");
    assert_eq!(code, 422);
    assert!(v.to_string().contains("支付成功"), "{v}");
    // The recipient's client got every step: the notices, the result and the
    // certificate, the agreement's and the payments' steps, the release.
    let got = names(&gw.path("clients/R1/InBox"));
    for ty in [
        "MailNotice",
        "MailDeclarationResult",
        "TaxCertificate",
        "AgreementResult",
        "PaymentResult",
    ] {
        assert!(
            got.iter().any(|f| f.starts_with(ty)),
            "no {ty} pushed: {got:?}"
        );
    }
    // The same through the CLI: paying again is refused (exit 2, the
    // reason); cancelling the agreement goes through to 解约成功.
    let run = |args: &[&str]| {
        let out = crate::util::gateway()
            .args(args)
            .arg("--config")
            .arg(&gw.config)
            .output()
            .unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, text) = run(&[
        "tax",
        "certificate",
        "pay",
        &cert,
        "--agreement",
        &no,
        "--phone",
        PHONE,
    ]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("only a certificate in 未支付 or 支付失败 can be paid"),
        "{text}"
    );
    // A review of a released item is refused; a refund after payment goes
    // through to 已退税.
    let (code, text) = run(&[
        "mail",
        "request",
        "EA123456789CN",
        "--kind",
        "review",
        "--phone",
        PHONE,
    ]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("it cannot move to tax_review"), "{text}");
    let (code, text) = run(&[
        "mail",
        "request",
        "EA123456789CN",
        "--kind",
        "refund",
        "--reason",
        "商品破损",
        "--phone",
        PHONE,
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("refund_requested"), "{text}");
    wait_for(&gw, 30, "refunded", || {
        mail(&gw)["mail"]["status"] == "refunded"
    });
    let (code, text) = run(&["tax", "agreement", "cancel", &no, "--phone", PHONE]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("解约处理中"), "{text}");
    wait_for(&gw, 30, "解约成功", || {
        agreements()["agreements"][0]["state"] == "解约成功"
    });
    assert_eq!(gw.stop().0, Some(0));
}

/// The states after the parcel's messages, as the API shows them.
fn states(gw: &Gateway) -> (Vec<String>, String, Vec<String>, String) {
    let m = status_of(gw, &format!("/mail/EA123456789CN?phone={PHONE}")).1;
    let history = m["mail"]["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .map(|s| s["status"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    let c = status_of(
        gw,
        &format!("/tax/certificates/51002021X40000006501?phone={PHONE}"),
    )
    .1;
    let payments = c["certificate"]["payments"]
        .as_array()
        .map(|p| {
            p.iter()
                .map(|x| x["state"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    let a = status_of(gw, &format!("/tax/agreements?phone={PHONE}")).1;
    (
        history,
        c["certificate"]["state"].as_str().unwrap_or("").to_owned(),
        payments,
        a["agreements"][0]["state"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
    )
}

#[test]
fn killed_mid_way_the_gateway_replays_to_the_same_states() {
    let files = [
        "MailNotice-arrived.xml",
        "MailNotice-declaration-required.xml",
        "MailDeclarationResult-tax-pending.xml",
        "TaxCertificate.xml",
        "AgreementResult-signed.xml",
        "PaymentResult-failed.xml",
        "PaymentResult-paid.xml",
        "MailNotice-released.xml",
    ];
    let under_review = String::from_utf8(sample("MailNotice-arrived.xml"))
        .unwrap()
        .replace("4E01", "4E0A")
        .replace("<status>arrived</status>", "<status>under_review</status>")
        .replace("20261121083500", "20261121093100");
    let mut all: Vec<(String, Vec<u8>)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            (
                format!("{:02}.xml", if i < 2 { i } else { i + 1 }),
                sample(f),
            )
        })
        .collect();
    all.push(("02.xml".to_owned(), under_review.into_bytes()));
    all.sort();
    let mut gw = Gateway::with_config(50, "");
    gw.start();
    let (first, rest) = all.split_at(4);
    for (name, bytes) in first {
        gw.drop_receipt(name, bytes);
    }
    wait_for(&gw, 30, "the first taken", || {
        names(&gw.customs("Archive")).len() == 4
    });
    // Killed (SIGKILL) while the rest arrive and are being taken.
    for (name, bytes) in rest {
        gw.drop_receipt(name, bytes);
    }
    std::thread::sleep(std::time::Duration::from_millis(60));
    gw.kill();
    gw.start();
    wait_for(&gw, 30, "all taken", || {
        names(&gw.customs("InBox")).is_empty()
    });
    wait_for(&gw, 30, "released", || {
        states(&gw).0.last().map(String::as_str) == Some("released")
    });
    let (history, certificate, payments, agreement) = states(&gw);
    assert_eq!(
        history,
        [
            "arrived",
            "declaration_required",
            "under_review",
            "tax_pending",
            "tax_paid",
            "released"
        ],
        "every step once"
    );
    assert_eq!(certificate, "支付成功");
    assert_eq!(payments, ["已重新支付", "支付成功"]);
    assert_eq!(agreement, "签约成功");
    // And the same after another restart.
    assert_eq!(gw.stop().0, Some(0));
    gw.start();
    assert_eq!(states(&gw), (history, certificate, payments, agreement));
    assert_eq!(gw.stop().0, Some(0));
}
