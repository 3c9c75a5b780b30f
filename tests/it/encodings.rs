//! UTF-8 with and without BOM, GBK, GB2312, GB18030; undecodable bytes.

use customs_gateway::codec::{self, Charset, CodecError};
use customs_gateway::schema::fields::dec_result;

use crate::util;

fn order_text() -> String {
    std::fs::read_to_string(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap()
}

fn redeclare(text: &str, label: &str) -> String {
    text.replacen("encoding=\"UTF-8\"", &format!("encoding=\"{label}\""), 1)
}

#[test]
fn the_same_message_in_every_encoding_reads_the_same() {
    let text = order_text();
    let reference = codec::decode(text.as_bytes()).unwrap().message;
    let cases: &[(&str, &'static encoding_rs::Encoding, Charset)] = &[
        ("GBK", encoding_rs::GBK, Charset::Gbk),
        ("GB2312", encoding_rs::GBK, Charset::Gbk),
        ("gb2312", encoding_rs::GBK, Charset::Gbk),
        ("GB18030", encoding_rs::GB18030, Charset::Gb18030),
    ];
    for &(label, encoding, charset) in cases {
        let source = redeclare(&text, label);
        let (bytes, _, unmappable) = encoding.encode(&source);
        assert!(!unmappable, "{label}");
        assert!(
            std::str::from_utf8(&bytes).is_err(),
            "{label}: the bytes must really be {label}"
        );
        let decoded = codec::decode(&bytes).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(decoded.charset, charset, "{label}");
        assert_eq!(decoded.message, reference, "{label}");
    }
    let mut with_bom = vec![0xEF, 0xBB, 0xBF];
    with_bom.extend_from_slice(text.as_bytes());
    assert_eq!(codec::decode(&with_bom).unwrap().message, reference);
}

#[test]
fn gb18030_four_byte_characters() {
    // U+20BB7 𠮷 exists in GB18030 (four bytes) but not in GBK.
    let text = redeclare(&order_text(), "GB18030").replacen("林晓彤", "𠮷晓彤", 2);
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable);
    let decoded = codec::decode(&bytes).unwrap();
    let head = &decoded.message.documents[0].head;
    assert_eq!(
        head.str(customs_gateway::schema::fields::order_head::BUYER_NAME),
        "𠮷晓彤"
    );
}

#[test]
fn gb2312_declaration_receipts() {
    let bytes =
        std::fs::read(util::root().join("samples/declaration/DEC_RESULT-P-gb2312.xml")).unwrap();
    assert!(std::str::from_utf8(&bytes).is_err());
    let decoded = codec::decode(&bytes).unwrap();
    let head = &decoded.message.documents[0].head;
    assert_eq!(head.str(dec_result::CHANNEL), "P");
    assert_eq!(head.str(dec_result::NOTE), "报关单已放行");
}

#[test]
fn undecodable_bytes_are_reported_with_their_offset() {
    let text = order_text();
    let at = text.find("林晓彤").unwrap();
    // UTF-8 with a stray 0xFF.
    let mut bad = text.as_bytes().to_vec();
    bad[at] = 0xFF;
    match codec::decode(&bad) {
        Err(CodecError::Encoding {
            charset: "UTF-8",
            offset,
        }) => assert_eq!(offset, at),
        other => panic!("{other:?}"),
    }
    // GBK with a lead byte followed by an invalid trail byte.
    let source = redeclare(&text, "GBK");
    let (gbk, _, _) = encoding_rs::GBK.encode(&source);
    let mut gbk = gbk.into_owned();
    let at = gbk.iter().position(|&b| b >= 0x81).unwrap();
    gbk[at + 1] = 0x7F;
    let err = codec::decode(&gbk).unwrap_err();
    assert!(
        matches!(err, CodecError::Encoding { charset: "GBK", .. }),
        "{err:?}"
    );
    assert_eq!(err.rule().code, "ENCODING");
}

#[test]
fn unsupported_encodings_are_named() {
    let text = redeclare(&order_text(), "Shift_JIS");
    let err = codec::decode(text.as_bytes()).unwrap_err();
    assert_eq!(err.rule().code, "ENCODING_UNSUPPORTED");
    assert!(err.to_string().contains("Shift_JIS"), "{err}");
    let utf16 = [0xFF, 0xFE, b'<', 0];
    assert_eq!(
        codec::decode(&utf16).unwrap_err().rule().code,
        "ENCODING_UNSUPPORTED"
    );
}
