//! Value-level robustness: any text in any field of any message gives
//! diagnostics, never a panic, in the codec, the validator and the engine.
//!
//! The regression tests at the top pin inputs that once panicked; the
//! property tests below walk every field of every message type.

use std::path::Path;

use customs_gateway::codec;
use customs_gateway::validate::{Mode, validate};

use crate::util;

/// The order of `samples/set-ok` with `<ceb:element>`'s first text replaced by `value`.
fn order_with(element: &str, value: &str) -> String {
    let text =
        std::fs::read_to_string(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap();
    replace_first(&text, element, value)
}

fn replace_first(text: &str, element: &str, value: &str) -> String {
    let open = format!("<ceb:{element}>");
    let close = format!("</ceb:{element}>");
    let start = text.find(&open).unwrap() + open.len();
    let end = start + text[start..].find(&close).unwrap();
    format!("{}{value}{}", &text[..start], &text[end..])
}

/// Runs `check --json` on one file holding `xml`; returns (exit status, report).
fn check_file(xml: &str) -> (Option<i32>, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("order.xml");
    std::fs::write(&path, xml).unwrap();
    check_paths(&[&path])
}

fn check_paths(paths: &[&Path]) -> (Option<i32>, serde_json::Value, String) {
    let out = util::gateway()
        .arg("check")
        .arg("--json")
        .args(paths)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), report, stderr)
}

fn rules_on(report: &serde_json::Value, field_suffix: &str) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|d| {
                    d["field"]
                        .as_str()
                        .is_some_and(|f| f.ends_with(field_suffix))
                })
                .filter_map(|d| d["rule"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Decodes and validates in the library; returns the rule codes found on `field_suffix`.
fn library_rules(xml: &str, field_suffix: &str) -> Vec<&'static str> {
    let decoded = codec::decode(xml.as_bytes()).unwrap();
    validate(&decoded.message, Mode::Read)
        .into_iter()
        .filter(|d| d.path.ends_with(field_suffix))
        .map(|d| d.rule.code)
        .collect()
}

#[test]
fn a_non_ascii_character_in_a_date_is_a_date_error() {
    // 14 bytes, but the 8th byte is inside 'é': slicing the text there panicked.
    let xml = order_with("appTime", "2026110é10300");
    assert!(library_rules(&xml, "OrderHead/appTime").contains(&"DATE_FORMAT"));
    let (status, report, stderr) = check_file(&xml);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        rules_on(&report, "OrderHead/appTime").contains(&"DATE_FORMAT".to_owned()),
        "{report}"
    );
}

#[test]
fn a_sign_where_a_time_digit_belongs_is_a_date_error() {
    // A valid date then a '-' in the time: `b - b'0'` underflowed.
    for value in ["20261121-00000", "2026112110-000", "202611211000-0"] {
        let xml = order_with("appTime", value);
        assert!(
            library_rules(&xml, "OrderHead/appTime").contains(&"DATE_FORMAT"),
            "{value}"
        );
        let (status, report, stderr) = check_file(&xml);
        assert_eq!(status, Some(1), "{value}: {stderr}");
        assert!(
            rules_on(&report, "OrderHead/appTime").contains(&"DATE_FORMAT".to_owned()),
            "{value}: {report}"
        );
    }
}

#[test]
fn a_huge_quantity_with_a_negative_total_is_a_line_total_error() {
    // price × qty is Decimal::MAX; subtracting a negative total overflowed.
    let max = "79228162514264337593543950335";
    let xml = order_with("qty", max);
    let xml = replace_first(&xml, "price", "1");
    let xml = replace_first(&xml, "totalPrice", "-1");
    let rules = library_rules(&xml, "OrderList[1]/totalPrice");
    assert!(rules.contains(&"LINE_TOTAL"), "{rules:?}");
    let (status, report, stderr) = check_file(&xml);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        rules_on(&report, "OrderList[1]/totalPrice").contains(&"LINE_TOTAL".to_owned()),
        "{report}"
    );
}
