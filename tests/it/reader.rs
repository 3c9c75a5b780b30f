//! What the event reader keeps, case by case: found in review of the
//! reader that replaced the tree (each once a difference from XML's rules
//! or from what a finding said).

use customs_gateway::codec;
use customs_gateway::schema::fields::{base_transfer, order_list};

use crate::util;

fn order() -> String {
    std::fs::read_to_string(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap()
}

/// A character reference keeps the character it names: `&#13;` is a
/// carriage return (XML's end-of-line handling is for literal line ends).
#[test]
fn character_references_are_not_end_of_line_normalised() {
    let cases = [
        ("A&#13;B", "A\rB"),
        ("A&#xD;&#xA;B", "A\r\nB"),
        ("A\r\nB", "A\nB"),
        ("A\rB&#13;", "A\nB\r"),
        ("<![CDATA[A\r\nB]]>", "A\nB"),
    ];
    for (written, kept) in cases {
        let text = order().replacen(
            "<ceb:itemName>示例牌保湿化妆水200毫升</ceb:itemName>",
            &format!("<ceb:itemName>{written}</ceb:itemName>"),
            1,
        );
        let msg = codec::decode(text.as_bytes()).unwrap().message;
        assert_eq!(
            msg.documents[0].lines[0].str(order_list::ITEM_NAME),
            kept,
            "{written:?}"
        );
    }
}

/// A namespace declaration is not an attribute: `xmlns:version` is not the
/// root's `version`.
#[test]
fn namespace_declarations_are_not_read_as_attributes() {
    let text = order().replacen(
        " guid=",
        " xmlns:version=\"urn:x\" xmlns:guid=\"urn:y\" guid=",
        1,
    );
    assert!(text.contains("<ceb:CEB311Message xmlns:version="));
    let msg = codec::decode(text.as_bytes()).unwrap().message;
    assert_eq!(msg.version.as_deref(), Some("1.0"));
    assert_eq!(
        msg.guid.as_deref(),
        Some("A33847B3-3AF6-5EE1-AB76-0787D9C755AD")
    );
}

/// Two byte-order marks: the second is dropped by the tokenizer, and every
/// offset (the signature kept verbatim) still lands on the right bytes.
#[test]
fn a_second_byte_order_mark_does_not_shift_the_signature() {
    let bytes = std::fs::read(util::root().join("samples/set-ok/CEB621-inventory.xml")).unwrap();
    let plain = codec::decode(&bytes).unwrap().message;
    let doubled = [&b"\xEF\xBB\xBF\xEF\xBB\xBF"[..], &bytes].concat();
    let msg = codec::decode(&doubled).unwrap().message;
    let sig = msg.signature.as_ref().unwrap();
    assert!(sig.xml.starts_with("<ds:Signature"), "{}", &sig.xml[..40]);
    assert_eq!(msg, plain);
}

/// A repeated `BaseTransfer` is reported as such and the first one is kept,
/// as the finding says.
#[test]
fn the_first_of_a_repeated_element_is_the_one_kept() {
    let text = order().replacen(
        "</ceb:BaseTransfer>",
        "</ceb:BaseTransfer><ceb:BaseTransfer><ceb:copCode>OTHER</ceb:copCode></ceb:BaseTransfer>",
        1,
    );
    let decoded = codec::decode(text.as_bytes()).unwrap();
    let transfer = decoded.message.transfer.as_ref().unwrap();
    assert_eq!(transfer.str(base_transfer::COP_CODE), "3301960B02");
    assert!(
        decoded
            .diagnostics
            .iter()
            .any(|d| d.rule.code == "DUPLICATE_ELEMENT" && d.message.contains("first one was kept")),
        "{:?}",
        decoded.diagnostics
    );
}

/// Line numbers in findings are right however far apart and in whatever
/// order the findings are made (they are counted on from the last one).
#[test]
fn findings_name_the_lines_they_are_on() {
    let mut text = order();
    for (at, name) in [("<ceb:buyerName>", "early"), ("<ceb:itemName>", "late")] {
        text = text.replacen(at, &format!("<ceb:{name}/>{at}"), 1);
    }
    let decoded = codec::decode(text.as_bytes()).unwrap();
    let line_of = |name: &str| {
        text.lines()
            .position(|l| l.contains(&format!("<ceb:{name}/>")))
            .unwrap()
            + 1
    };
    for name in ["early", "late"] {
        let d = decoded
            .diagnostics
            .iter()
            .find(|d| d.path.ends_with(&format!("/{name}")))
            .unwrap_or_else(|| panic!("{name}: {:?}", decoded.diagnostics));
        assert!(
            d.message.contains(&format!("at line {} ", line_of(name))),
            "{}",
            d.message
        );
    }
}
