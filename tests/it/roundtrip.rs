//! Parse, write, validate the written XML against the official XSD, parse
//! again: the model must come back unchanged.

use customs_gateway::codec::{self, Charset, EncodeOptions, WriteError};
use customs_gateway::schema::Category;

use crate::util;

/// What became of one sample file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Read, written (valid against the official XSD where one is published)
    /// and read back to the same model.
    RoundTrip,
    /// Read, written valid against the XSD without the fields real
    /// receipts carry outside it (`extension` fields), and read back to a
    /// model that writes the same bytes.
    Normalised,
    /// Not readable as a message at all (an `input` rule).
    Unreadable,
    /// Read, but refused by the writer for a structural rule (the sample is
    /// deliberately invalid).
    Refused,
}

/// Reads, writes, validates and rereads one file.
fn round_trip(file: &std::path::Path) -> Outcome {
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let Ok(first) = codec::decode(&bytes) else {
        return Outcome::Unreadable;
    };
    let out = match codec::encode(&first.message, &EncodeOptions::default()) {
        Ok(out) => out,
        Err(WriteError::Invalid(diags)) => {
            // Only inputs that break the schema may be refused.
            assert!(
                diags.iter().all(|d| d.rule.category != Category::Business),
                "{}: refused for a business rule: {diags:?}",
                file.display()
            );
            return Outcome::Refused;
        }
        Err(e) => panic!("{}: {e}", file.display()),
    };
    if let Some(xsd) = util::xsd_for(first.message.spec)
        && let Err(why) = util::xmllint(&out, &xsd)
    {
        panic!(
            "{}: written XML fails the XSD: {why}\n{}",
            file.display(),
            String::from_utf8_lossy(&out)
        );
    }
    let second =
        codec::decode(&out).unwrap_or_else(|e| panic!("{}: rereading: {e}", file.display()));
    let extensions = first.message.documents.iter().any(|d| {
        std::iter::once(&d.head).chain(&d.lines).any(|r| {
            r.spec()
                .fields
                .iter()
                .enumerate()
                .any(|(i, f)| f.extension && !r.value(i).is_absent())
        })
    });
    if extensions {
        assert_ne!(first.message, second.message, "{}", file.display());
        let again = codec::encode(&second.message, &EncodeOptions::default()).unwrap();
        assert_eq!(again, out, "{}: not stable once written", file.display());
        return Outcome::Normalised;
    }
    assert_eq!(
        first.message,
        second.message,
        "{}: the model changed",
        file.display()
    );
    Outcome::RoundTrip
}

/// Every `*.xml` under `dir` must be in `expected` (path relative to `dir`)
/// and come out as the table says; every file in the table must exist.
fn check_samples(dir: &std::path::Path, expected: &[(&str, Outcome)]) {
    let found: Vec<String> = util::xml_files(dir)
        .iter()
        .map(|f| {
            f.strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    for name in &found {
        assert!(
            expected.iter().any(|(n, _)| n == name),
            "{}: {name} is not in the table of samples; add it with its expected outcome",
            dir.display()
        );
    }
    let mut wrong = Vec::new();
    for (name, outcome) in expected {
        let path = dir.join(name);
        assert!(path.is_file(), "{} is missing", path.display());
        let actual = round_trip(&path);
        if actual != *outcome {
            wrong.push(format!("{name}: expected {outcome:?}, got {actual:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}:\n{}", dir.display(), wrong.join("\n"));
}

use Outcome::{Normalised, Refused, RoundTrip, Unreadable};

#[test]
fn official_samples_round_trip() {
    check_samples(
        &util::reference().join("samples"),
        &[
            ("declaration/DecImportResponse-sample.xml", RoundTrip),
            ("dxp/DxpMsg-nosign.xml", RoundTrip),
            ("dxp/DxpMsg-sign.xml", RoundTrip),
            ("dxp/DxpRep.xml", RoundTrip),
            (
                "enterprise/Failed_SAS121_I_9f0895a2-12f6-4d7b-9588-d53d3560e501.xml",
                RoundTrip,
            ),
            (
                "enterprise/Successed_INV101_E_fef3da4f-86c8-4bf2-bb60-a5f03bdcbd30.xml",
                RoundTrip,
            ),
            ("enterprise/haikou-CEB621-signed-rsa.xml", RoundTrip),
            // The XSD requires ds:Signature on CEB621; this one was saved before signing.
            ("enterprise/haikou-CEB621-unsigned.xml", Refused),
            ("official-2018/CEB311Message.xml", RoundTrip),
            ("official-2018/CEB411Message.xml", RoundTrip),
            ("official-2018/CEB511Message.xml", RoundTrip),
            ("official-2018/CEB621Message.xml", RoundTrip),
            ("official-2022/CEB311Message.xml", RoundTrip),
            ("official-2022/CEB312Message.xml", RoundTrip),
            ("official-2022/CEB411Message.xml", RoundTrip),
            ("official-2022/CEB412Message.xml", RoundTrip),
            ("official-2022/CEB511Message.xml", RoundTrip),
            ("official-2022/CEB512Message.xml", RoundTrip),
            ("official-2022/CEB513Message.xml", RoundTrip),
            ("official-2022/CEB514Message.xml", RoundTrip),
            ("official-2022/CEB621Message.xml", RoundTrip),
            ("official-2022/CEB622Message.xml", RoundTrip),
            ("official-2022/CEB623Message.xml", RoundTrip),
            ("official-2022/CEB624Message.xml", RoundTrip),
        ],
    );
}

#[test]
fn project_samples_round_trip() {
    check_samples(
        &util::root().join("samples"),
        &[
            ("declaration/DEC_DATA-legacy-gb2312.xml", RoundTrip),
            ("declaration/DEC_RESULT-L.xml", RoundTrip),
            ("declaration/DEC_RESULT-P-gb2312.xml", RoundTrip),
            (
                "declaration/Failed_I_GW0000000000000002_t-1_20261121101600.xml",
                RoundTrip,
            ),
            (
                "declaration/Successed_I_GW0000000000000001_t-1_20261121101500.xml",
                RoundTrip,
            ),
            ("dxp/DxpMsg-CEB311.xml", RoundTrip),
            ("invalid/CEB311-bad-apptime.xml", RoundTrip),
            // Deliberately invalid: FIXED, LEGACY_FIELD, REQUIRED, LENGTH refuse the write;
            // a bad date or ID card is a business finding and is written as read.
            ("invalid/CEB311-bad-currency.xml", Refused),
            ("invalid/CEB311-legacy-2016.xml", Refused),
            ("invalid/CEB311-missing-orderNo.xml", Refused),
            ("invalid/CEB311-overlong-orderNo.xml", Refused),
            ("invalid/CEB621-bad-idcard.xml", RoundTrip),
            ("invalid/not-xml.xml", Unreadable),
            ("mail/AgreementRequest-sign.xml", RoundTrip),
            ("mail/AgreementResult-signed.xml", RoundTrip),
            ("mail/MailDeclaration.xml", RoundTrip),
            ("mail/MailDeclarationResult-tax-pending.xml", RoundTrip),
            ("mail/MailNotice-arrived.xml", RoundTrip),
            ("mail/MailRequest-refund.xml", RoundTrip),
            ("mail/MailNotice-declaration-required.xml", RoundTrip),
            ("mail/MailNotice-released.xml", RoundTrip),
            ("mail/PaymentRequest-pay.xml", RoundTrip),
            ("mail/PaymentResult-failed.xml", RoundTrip),
            ("mail/PaymentResult-paid.xml", RoundTrip),
            ("mail/TaxCertificate.xml", RoundTrip),
            ("receipts/CEB312-order-receipt.xml", RoundTrip),
            ("receipts/CEB312-out-of-order.xml", RoundTrip),
            ("receipts/CEB412-payment-receipt.xml", RoundTrip),
            ("receipts/CEB512-waybill-receipt.xml", RoundTrip),
            ("receipts/CEB622-inventory-rejected.xml", RoundTrip),
            ("receipts/CEB816-real-shape-gbk.xml", Normalised),
            ("receipts/CEB816-tax-bill.xml", RoundTrip),
            ("receipts/CEB818-tax-summarised.xml", RoundTrip),
            ("receipts/CEB622-inventory-released.xml", RoundTrip),
            ("receipts/CEB622-unknown-status.xml", RoundTrip),
            ("receipts/CEB900-format-error.xml", RoundTrip),
            ("set-fail/CEB311-order.xml", RoundTrip),
            ("set-fail/CEB411-payment.xml", RoundTrip),
            ("set-fail/CEB511-waybill.xml", RoundTrip),
            ("set-fail/CEB621-inventory.xml", RoundTrip),
            ("set-ok/CEB311-order.xml", RoundTrip),
            ("set-ok/CEB411-payment.xml", RoundTrip),
            ("set-ok/CEB511-waybill.xml", RoundTrip),
            ("set-ok/CEB621-inventory.xml", RoundTrip),
        ],
    );
}

#[test]
fn requests_are_written_with_the_ceb_prefix_and_receipts_without() {
    let order = std::fs::read(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap();
    let out = codec::encode(
        &codec::decode(&order).unwrap().message,
        &EncodeOptions::default(),
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("<ceb:CEB311Message"), "{text}");
    assert!(text.contains("xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\""));

    let receipt =
        std::fs::read(util::root().join("samples/receipts/CEB312-order-receipt.xml")).unwrap();
    let out = codec::encode(
        &codec::decode(&receipt).unwrap().message,
        &EncodeOptions::default(),
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("<CEB312Message") && text.contains("standalone=\"yes\""),
        "{text}"
    );
}

#[test]
fn out_of_order_receipts_are_written_in_xsd_order() {
    let bytes =
        std::fs::read(util::root().join("samples/receipts/CEB312-out-of-order.xml")).unwrap();
    let decoded = codec::decode(&bytes).unwrap();
    assert!(
        decoded.diagnostics.is_empty(),
        "receipt order must be tolerated: {:?}",
        decoded.diagnostics
    );
    let out = codec::encode(&decoded.message, &EncodeOptions::default()).unwrap();
    util::xmllint(&out, &util::reference().join("xsd/ceb-import-2022.xsd")).unwrap();
}

#[test]
fn gbk_output_on_request() {
    let bytes = std::fs::read(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap();
    let decoded = codec::decode(&bytes).unwrap();
    let out = codec::encode(
        &decoded.message,
        &EncodeOptions {
            charset: Charset::Gbk,
        },
    )
    .unwrap();
    assert!(out.starts_with(b"<?xml version=\"1.0\" encoding=\"GBK\"?>"));
    assert!(
        std::str::from_utf8(&out).is_err(),
        "GBK output must not be UTF-8"
    );
    let again = codec::decode(&out).unwrap();
    assert_eq!(again.charset, Charset::Gbk);
    assert_eq!(decoded.message, again.message);
}

#[test]
fn writing_refuses_a_structurally_invalid_message() {
    use customs_gateway::schema::fields::order_head;
    let bytes = std::fs::read(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap();
    let mut msg = codec::decode(&bytes).unwrap().message;
    msg.documents[0].head.set(order_head::CURRENCY, "502");
    msg.documents[0].head.set(order_head::ORDER_NO, "");
    match codec::encode(&msg, &EncodeOptions::default()) {
        Err(WriteError::Invalid(diags)) => {
            let codes: Vec<&str> = diags.iter().map(|d| d.rule.code).collect();
            assert!(
                codes.contains(&"FIXED") && codes.contains(&"REQUIRED"),
                "{codes:?}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn subscriptions_extensions_and_signatures_are_kept() {
    let text =
        std::fs::read_to_string(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap();
    let extra = "<ceb:BaseSubscribe><ceb:status>RET</ceb:status><ceb:dxpMode>DXP</ceb:dxpMode>\
        <ceb:dxpAddress>DXPENT0000000009</ceb:dxpAddress></ceb:BaseSubscribe>\
        <ceb:ExtendMessage><ceb:name>gw-ext</ceb:name><ceb:version>1</ceb:version>\
        <ceb:Message><Route hub=\"HZ\"><Leg n=\"1\">杭州 &amp; 宁波</Leg></Route></ceb:Message></ceb:ExtendMessage>\
        <ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo/><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>";
    let at = text.find("</ceb:CEB311Message>").unwrap();
    let input = format!("{}{extra}{}", &text[..at], &text[at..]);
    let first = codec::decode(input.as_bytes()).unwrap().message;
    assert_eq!(first.subscribe.len(), 1);
    assert!(first.extend.is_some());
    let signature = first.signature.as_ref().expect("signature kept");
    assert!(
        signature.xml.starts_with("<ds:Signature")
            && signature.xml.contains("<ds:SignatureValue>AAAA")
    );
    let out = codec::encode(&first, &EncodeOptions::default()).unwrap();
    let written = String::from_utf8(out.clone()).unwrap();
    assert!(
        written.contains(&signature.xml),
        "the signature is written byte for byte"
    );
    assert!(
        written.contains("<Route hub=\"HZ\"><Leg n=\"1\">杭州 &amp; 宁波</Leg></Route>"),
        "{written}"
    );
    let second = codec::decode(&out).unwrap().message;
    assert_eq!(first, second);
}
