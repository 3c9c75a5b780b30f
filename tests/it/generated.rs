//! `src/schema/generated.rs` is what the generator makes of `schemas/*.toml`
//! today, and the generator refuses inconsistent schemas.

use std::str::FromStr as _;

use customs_gateway::schema::{MESSAGES, RULES, RecordCheck, rule};
use rust_decimal::Decimal;

use crate::sourcegen;
use crate::util;

/// Fails while the committed file differs from a fresh generation; with
/// `UPDATE_GENERATED=1` it rewrites the file instead.
#[test]
fn schema_tables_are_up_to_date() {
    let root = util::root();
    let fresh = sourcegen::generate_formatted(&root.join("schemas"))
        .unwrap_or_else(|e| panic!("the schemas are inconsistent: {e}"));
    let path = root.join(sourcegen::GENERATED);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == fresh {
        return;
    }
    if std::env::var_os("UPDATE_GENERATED").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).unwrap();
        eprintln!("updated {}", sourcegen::GENERATED);
        return;
    }
    let line = committed
        .lines()
        .zip(fresh.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| committed.lines().count().min(fresh.lines().count()));
    panic!(
        "{} is stale (first difference at line {}): the schemas changed since it was generated.\n\
         Regenerate it with\n\n    {}\n\nand commit the result.",
        sourcegen::GENERATED,
        line + 1,
        sourcegen::UPDATE_COMMAND
    );
}

/// Copies `schemas/` into a temporary folder, applies `edit` to one file and
/// runs the generator there.
fn generate_edited(file: &str, from: &str, to: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(util::root().join("schemas")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let target = dir.path().join(file);
    let text = std::fs::read_to_string(&target).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(&target, text.replacen(from, to, 1)).unwrap();
    sourcegen::generate(dir.path())
}

#[test]
fn generator_refuses_inconsistent_schemas() {
    // (file, text, replacement, what the error must say)
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "CEB311.toml",
            "codes = \"id_type\"",
            "codes = \"id_types\"",
            "CEB311.toml: OrderHead.buyerIdType: unknown code list id_types",
        ),
        (
            "CEB311.toml",
            "key = [[\"orderNo\", \"ebpCode\"]]",
            "key = [[\"orderNo\", \"ebpKode\"]]",
            "CEB311.toml: key field ebpKode not in OrderHead",
        ),
        (
            "CEB311.toml",
            "rule = \"LINE_TOTAL\"",
            "rule = \"LINE_TOTALS\"",
            "CEB311.toml: OrderList: unknown rule LINE_TOTALS",
        ),
        (
            "CEB311.toml",
            "tolerance = \"0.01\"",
            "tolerance = \"-0.01\"",
            "CEB311.toml: OrderList: tolerance \"-0.01\" is not a plain non-negative decimal",
        ),
        (
            "CEB311.toml",
            "equals = \"totalPrice\"",
            "equals = \"totalPrise\"",
            "CEB311.toml: record OrderList: no field totalPrise",
        ),
        (
            "CEB311.toml",
            "head = \"OrderHead\"",
            "head = \"OrderHeader\"",
            "CEB311.toml: unknown head record OrderHeader",
        ),
        (
            "rules.toml",
            "code = \"TOO_LARGE\"",
            "code = \"EMPTY\"",
            "rules.toml: duplicate code EMPTY",
        ),
        (
            "rules.toml",
            "category = \"input\"",
            "category = \"inputs\"",
            "rules.toml: EMPTY: unknown category inputs",
        ),
        (
            "CEB311.toml",
            "format = \"idcard\"",
            "format = \"id_card\"",
            "unknown format id_card",
        ),
    ];
    for (file, from, to, expected) in cases {
        match generate_edited(file, from, to) {
            Ok(_) => panic!("{file}: {from} -> {to} was accepted"),
            Err(e) => assert!(e.contains(expected), "{file}: {from} -> {to}: {e}"),
        }
    }
    // The untouched copy generates.
    generate_edited("CEB311.toml", "zh", "zh").unwrap();
}

#[test]
fn tolerances_are_decimal_literals_parsed_once() {
    let cases: &[(&str, Option<Decimal>)] = &[
        ("0.01", Some(Decimal::new(1, 2))),
        ("1", Some(Decimal::ONE)),
        ("12.500", Some(Decimal::new(12_500, 3))),
        ("79228162514264337593543950335", Some(Decimal::MAX)),
        ("79228162514264337593543950336", None),
        ("-1", None),
        (".5", None),
        ("1e3", None),
        ("1.2.3", None),
        ("", None),
    ];
    for (text, expected) in cases {
        let literal = sourcegen::decimal_literal(text);
        assert_eq!(
            literal.as_deref().map(parse_from_parts),
            *expected,
            "{text:?} -> {literal:?}"
        );
    }
}

/// Evaluates the generator's `Decimal::from_parts(lo, mid, hi, negative, scale)`.
fn parse_from_parts(expr: &str) -> Decimal {
    let args = expr
        .strip_prefix("rust_decimal::Decimal::from_parts(")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{expr}"));
    let parts: Vec<&str> = args.split(", ").collect();
    let [lo, mid, hi, negative, scale] = parts.as_slice() else {
        panic!("{expr}");
    };
    Decimal::from_parts(
        lo.parse().unwrap(),
        mid.parse().unwrap(),
        hi.parse().unwrap(),
        negative.parse().unwrap(),
        scale.parse().unwrap(),
    )
}

#[test]
fn generated_tolerances_equal_the_schema_text() {
    let text = std::fs::read_to_string(util::root().join("schemas/CEB311.toml")).unwrap();
    assert!(text.contains("tolerance = \"0.01\""));
    let mut seen = 0;
    for spec in MESSAGES {
        for record in [Some(spec.head), spec.line.as_ref().map(|l| l.record)]
            .into_iter()
            .flatten()
        {
            for check in record.checks {
                let RecordCheck::Product {
                    rule: r, tolerance, ..
                } = check;
                assert!(std::ptr::eq(*r, rule::LINE_TOTAL), "{}", r.code);
                assert_eq!(*tolerance, Decimal::from_str("0.01").unwrap());
                seen += 1;
            }
        }
    }
    assert!(seen >= 2, "OrderList and InventoryList carry LINE_TOTAL");
}

#[test]
fn rule_handles_point_into_the_catalogue() {
    assert!(std::ptr::eq(rule::EMPTY, &RULES[0]));
    for handle in [rule::LINE_TOTAL, rule::SET_DOCUMENT, rule::TOO_LARGE] {
        assert!(
            RULES.iter().any(|r| std::ptr::eq(r, handle)),
            "{} is not an entry of RULES",
            handle.code
        );
    }
}
