//! Parse, write, validate the written XML against the official XSD, parse
//! again: the model must come back unchanged.

use customs_gateway::codec::{self, Charset, EncodeOptions, WriteError};
use customs_gateway::schema::Category;

use crate::util;

fn round_trip_dir(dir: &std::path::Path) -> usize {
    let mut written = 0;
    for file in util::xml_files(dir) {
        let bytes = std::fs::read(&file).unwrap();
        let Ok(first) = codec::decode(&bytes) else {
            continue;
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
                continue;
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
        assert_eq!(
            first.message,
            second.message,
            "{}: the model changed",
            file.display()
        );
        written += 1;
    }
    written
}

#[test]
fn official_samples_round_trip() {
    let n = round_trip_dir(&util::reference().join("samples"));
    assert!(n >= 20, "only {n} official samples round-tripped");
}

#[test]
fn project_samples_round_trip() {
    let n = round_trip_dir(&util::root().join("samples"));
    assert!(n >= 18, "only {n} project samples round-tripped");
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
