//! Property tests: no input makes the codec panic, and what the writer writes
//! the reader reads back unchanged.

use customs_gateway::codec::Limits;
use customs_gateway::codec::{self, EncodeOptions};
use customs_gateway::engine::{Engine, EngineConfig, InboundId};
use customs_gateway::inspect::{Checker, inspect_bytes};
use customs_gateway::schema::fields::order_head;
use customs_gateway::validate::{Mode, validate};
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::util;

fn order_bytes() -> Vec<u8> {
    std::fs::read(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap()
}

/// Decoding, validating, re-encoding and the cross-document engine (with
/// the undamaged rest of the set) must never panic.
fn exercise(bytes: &[u8]) {
    if let Ok(decoded) = codec::decode(bytes) {
        let _ = validate(&decoded.message, Mode::Read);
        let _ = codec::encode(&decoded.message, &EncodeOptions::default());
        // Straight into an engine, validation errors or not.
        let mut raw = Engine::new(EngineConfig::default(), None).unwrap();
        let business = decoded.message.business();
        for (n, doc) in business.documents.iter().enumerate() {
            let _ = raw.submit(business.spec, doc, InboundId::new(0, n as u32), 0);
        }
        // And through the check command's path, with the rest of the set.
        let engine = Engine::new(EngineConfig::default(), None).unwrap();
        let mut checker = Checker::new(engine, 0);
        checker.add(
            "damaged",
            inspect_bytes("damaged", bytes, &Limits::default()),
        );
        for name in [
            "CEB411-payment.xml",
            "CEB511-waybill.xml",
            "CEB621-inventory.xml",
        ] {
            let bytes = std::fs::read(util::root().join("samples/set-ok").join(name)).unwrap();
            checker.add(name, inspect_bytes(name, &bytes, &Limits::default()));
        }
        let report = checker.finish();
        for set in &report.sets {
            let _ = checker.engine().receipts(&set.key, 0);
            let _ = report.set_json(set);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&bytes);
    }

    #[test]
    fn damaged_messages_never_panic(
        cut in 0usize..4000,
        flips in proptest::collection::vec((0usize..4000, any::<u8>()), 0..8),
    ) {
        let mut bytes = order_bytes();
        for (at, b) in flips {
            let len = bytes.len();
            bytes[at % len] = b;
        }
        bytes.truncate(cut.max(1).min(bytes.len()));
        exercise(&bytes);
    }

    #[test]
    fn text_values_survive_a_round_trip(
        name in "[a-zA-Z0-9 <>&'\"林晓彤订单]{0,20}[a-zA-Z林]",
        note in "[a-zA-Z0-9 <>&'\"\n中文]{0,200}[0-9]",
    ) {
        let mut msg = codec::decode(&order_bytes()).unwrap().message;
        msg.documents[0].head.set(order_head::BUYER_NAME, name.clone());
        msg.documents[0].head.set(order_head::NOTE, note.clone());
        if let Ok(out) = codec::encode(&msg, &EncodeOptions::default()) {
            let back = codec::decode(&out).unwrap().message;
            prop_assert_eq!(back.documents[0].head.str(order_head::BUYER_NAME), name.as_str());
            prop_assert_eq!(&back, &msg);
        } else {
            // Only a value over the schema's length may be refused.
            prop_assert!(name.chars().count() > 60 || note.chars().count() > 1000);
        }
    }

    #[test]
    fn money_survives_a_round_trip(mantissa in 0i64..100_000_000_000_000, scale in 0u32..=5) {
        let value = Decimal::new(mantissa, scale);
        let mut msg = codec::decode(&order_bytes()).unwrap().message;
        msg.documents[0].head.set_dec(order_head::GOODS_VALUE, value);
        let out = codec::encode(&msg, &EncodeOptions::default()).unwrap();
        let back = codec::decode(&out).unwrap().message;
        prop_assert_eq!(back.documents[0].head.dec(order_head::GOODS_VALUE), Some(value));
    }
}

/// A signed order (RSA-1024, made once) and the canonical form of the
/// document it signs.
fn signed_order() -> &'static (String, Vec<u8>) {
    static SIGNED: std::sync::OnceLock<(String, Vec<u8>)> = std::sync::OnceLock::new();
    SIGNED.get_or_init(|| {
        let id = crate::sig::Identity::rsa(1024, &[0x77], "2024-01-01", "2040-01-01");
        let text = String::from_utf8(order_bytes()).unwrap();
        let signed = id
            .signer(customs_gateway::sig::Algorithm::RsaSha1)
            .sign(&text)
            .unwrap();
        let canonical = customs_gateway::sig::canonicalize(&text, false).unwrap();
        (signed, canonical)
    })
}

/// Verifies damaged signed bytes: never a panic, and a strict pass only
/// when the signed content is exactly what was signed. Whether it passed.
fn verify_damaged(bytes: &[u8]) -> bool {
    let (_, canonical) = signed_order();
    let mut strict = false;
    if let Some(text) = codec::text(bytes) {
        let v = customs_gateway::sig::verify(&text, &|_| None);
        if v.outcome == (customs_gateway::sig::Outcome::Verified { lenient: vec![] }) {
            // The document without exactly its signature element.
            let body = customs_gateway::sig::body(&text);
            let start = body.find("<ds:Signature").unwrap();
            let end = body.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
            let unsigned = format!("{}{}", &body[..start], &body[end..]);
            let again = customs_gateway::sig::canonicalize(&unsigned, false);
            assert_eq!(
                again.as_ref().ok(),
                Some(canonical),
                "verified other content"
            );
            strict = true;
        }
    }
    if let Ok(decoded) = codec::decode(bytes) {
        for mode in [
            customs_gateway::sig::Mode::Warn,
            customs_gateway::sig::Mode::Require,
        ] {
            let _ = customs_gateway::sig::check(&decoded.message, bytes, None, mode, 0);
        }
    }
    strict
}

#[test]
fn the_damage_property_sees_a_strict_pass_when_nothing_signed_changed() {
    let (signed, _) = signed_order();
    assert!(verify_damaged(signed.as_bytes()));
    // The XML declaration is not signed content.
    let declared = signed.replacen("version=\"1.0\" encoding", "version=\"1.0\"  encoding", 1);
    assert_ne!(&declared, signed);
    assert!(verify_damaged(declared.as_bytes()));
    assert!(!verify_damaged(
        signed.replacen("GW2026", "GW2025", 1).as_bytes()
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Verification never panics on a damaged signed message, and a strict
    /// pass means the signed content is exactly what was signed.
    #[test]
    fn damaged_signed_messages_never_panic_nor_verify_other_content(
        cut in 0usize..8000,
        flips in proptest::collection::vec((0usize..8000, any::<u8>()), 1..6),
    ) {
        let (signed, _) = signed_order();
        let mut bytes = signed.as_bytes().to_vec();
        for (at, b) in flips {
            let len = bytes.len();
            bytes[at % len] = b;
        }
        bytes.truncate(cut.max(1).min(bytes.len()));
        verify_damaged(&bytes);
    }
}
