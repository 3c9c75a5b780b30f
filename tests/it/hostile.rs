//! Hostile input: entities, size, depth, truncation, junk. Each gives a clear
//! error naming the rule; none panics.

use customs_gateway::codec::{self, Limits};

use crate::util;

#[test]
fn hostile_inputs_get_clear_errors() {
    let order =
        std::fs::read_to_string(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap();
    let truncated = &order[..order.len() / 2];
    let deep = format!("{}{}", "<a>".repeat(5_000), "</a>".repeat(5_000));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "XXE",
            br#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><CEB311Message xmlns="http://www.chinaport.gov.cn/ceb">&xxe;</CEB311Message>"#.to_vec(),
            "XML_DOCTYPE",
        ),
        (
            "billion laughs",
            br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>"#.to_vec(),
            "XML_DOCTYPE",
        ),
        ("undeclared entity", b"<CEB311Message>&lol;</CEB311Message>".to_vec(), "XML_MALFORMED"),
        ("truncated", truncated.as_bytes().to_vec(), "XML_MALFORMED"),
        ("binary junk", (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect(), "ENCODING"),
        ("empty", Vec::new(), "EMPTY"),
        ("white space", b"  \n\t ".to_vec(), "EMPTY"),
        ("deep nesting", deep.into_bytes(), "TOO_DEEP"),
        ("unknown root", b"<html><body/></html>".to_vec(), "UNKNOWN_ROOT"),
        ("wrong namespace", b"<CEB311Message xmlns=\"urn:other\"/>".to_vec(), "NAMESPACE"),
        ("two roots", b"<DEC_RESULT/><DEC_RESULT/>".to_vec(), "XML_MALFORMED"),
        ("mismatched tags", b"<DEC_RESULT><CHANNEL>L</NOTE></DEC_RESULT>".to_vec(), "XML_MALFORMED"),
    ];
    for (name, bytes, rule) in cases {
        let err = codec::decode(&bytes)
            .err()
            .unwrap_or_else(|| panic!("{name}: accepted"));
        assert_eq!(err.rule().code, rule, "{name}: {err}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn a_100_mb_input_is_refused_by_size() {
    let big = vec![b' '; 100 * 1024 * 1024];
    let err = codec::decode(&big).unwrap_err();
    assert_eq!(err.rule().code, "TOO_LARGE", "{err}");
    let limits = Limits {
        max_bytes: 1024,
        ..Limits::default()
    };
    let order = std::fs::read(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap();
    assert_eq!(
        codec::decode_with(&order, &limits).unwrap_err().rule().code,
        "TOO_LARGE"
    );
}

#[test]
fn a_100_mb_file_is_refused_by_the_check_command_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.xml");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap();
    let out = util::gateway()
        .arg("check")
        .arg("--json")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["diagnostics"][0]["rule"], "TOO_LARGE");
}
