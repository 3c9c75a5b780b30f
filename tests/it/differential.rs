//! Mutations of valid documents must be refused by both xmllint (the official
//! XSD) and the gateway, and the gateway must name the mutated element.

use customs_gateway::codec;
use customs_gateway::validate::{self, Mode, validate};

use crate::util;

/// What to do to the first occurrence of an element.
#[derive(Debug, Clone, Copy)]
enum Mutation {
    /// Remove the element.
    Remove,
    /// Replace its text.
    Set(&'static str),
    /// Make its text `n` characters long.
    Length(usize),
}

/// (file, element local name, mutation, rule the gateway must report)
const CASES: &[(&str, &str, Mutation, &str)] = &[
    (
        "official-2022/CEB311Message.xml",
        "orderNo",
        Mutation::Remove,
        "REQUIRED",
    ),
    (
        "official-2022/CEB311Message.xml",
        "ebpName",
        Mutation::Length(101),
        "LENGTH",
    ),
    (
        "official-2022/CEB311Message.xml",
        "currency",
        Mutation::Set("502"),
        "FIXED",
    ),
    (
        "official-2022/CEB311Message.xml",
        "appTime",
        Mutation::Set("2016-03-15 15:35"),
        "LENGTH",
    ),
    (
        "official-2022/CEB311Message.xml",
        "goodsValue",
        Mutation::Set("12,000.00"),
        "DECIMAL",
    ),
    (
        "official-2022/CEB311Message.xml",
        "goodsValue",
        Mutation::Set("1.123456"),
        "DECIMAL",
    ),
    (
        "official-2022/CEB311Message.xml",
        "consignee",
        Mutation::Remove,
        "REQUIRED",
    ),
    (
        "official-2022/CEB411Message.xml",
        "payTransactionId",
        Mutation::Length(61),
        "LENGTH",
    ),
    (
        "official-2022/CEB411Message.xml",
        "payTime",
        Mutation::Set("201603151535"),
        "LENGTH",
    ),
    (
        "official-2022/CEB411Message.xml",
        "amountPaid",
        Mutation::Remove,
        "REQUIRED",
    ),
    (
        "official-2022/CEB511Message.xml",
        "logisticsNo",
        Mutation::Remove,
        "REQUIRED",
    ),
    (
        "official-2022/CEB511Message.xml",
        "packNo",
        Mutation::Set("1.5"),
        "INTEGER",
    ),
    (
        "official-2022/CEB511Message.xml",
        "dxpMode",
        Mutation::Set("DXPS"),
        "LENGTH",
    ),
    (
        "official-2022/CEB621Message.xml",
        "declTime",
        Mutation::Set("2016-03-08"),
        "LENGTH",
    ),
    (
        "official-2022/CEB621Message.xml",
        "gcode",
        Mutation::Length(11),
        "LENGTH",
    ),
    (
        "official-2022/CEB621Message.xml",
        "customsCode",
        Mutation::Length(5),
        "LENGTH",
    ),
    (
        "official-2022/CEB621Message.xml",
        "Signature",
        Mutation::Remove,
        "SIGNATURE_REQUIRED",
    ),
    (
        "official-2022/CEB622Message.xml",
        "returnInfo",
        Mutation::Remove,
        "REQUIRED",
    ),
    (
        "official-2022/CEB622Message.xml",
        "preNo",
        Mutation::Length(17),
        "LENGTH",
    ),
];

/// Official samples are read from `../shared`; `set-ok/…` from the project's own samples.
fn sample(file: &str) -> String {
    let path = if file.starts_with("set-ok/") {
        util::root().join("samples").join(file)
    } else {
        util::reference().join("samples").join(file)
    };
    let text = std::fs::read_to_string(path).unwrap();
    text.trim_start_matches('\u{feff}').to_owned()
}

fn mutate(text: &str, element: &str, mutation: Mutation) -> String {
    let candidates = [
        format!("<ceb:{element}>"),
        format!("<{element}>"),
        format!("<ds:{element} "),
    ];
    let (open_at, open) = candidates
        .iter()
        .find_map(|o| text.find(o.as_str()).map(|i| (i, o.clone())))
        .unwrap_or_else(|| panic!("no <{element}> in sample"));
    let prefix = &open[1..open.len() - element.len() - 1];
    let close = format!("</{prefix}{element}>");
    let close_at = open_at + text[open_at..].find(&close).unwrap();
    let content_at = open_at + text[open_at..].find('>').unwrap() + 1;
    match mutation {
        Mutation::Remove => format!("{}{}", &text[..open_at], &text[close_at + close.len()..]),
        Mutation::Set(v) => format!("{}{v}{}", &text[..content_at], &text[close_at..]),
        Mutation::Length(n) => format!(
            "{}{}{}",
            &text[..content_at],
            "9".repeat(n),
            &text[close_at..]
        ),
    }
}

#[test]
fn mutations_are_refused_by_xmllint_and_the_gateway() {
    let xsd = util::reference().join("xsd/ceb-import-2022.xsd");
    for &(file, element, mutation, rule) in CASES {
        let text = sample(file);
        util::xmllint(text.as_bytes(), &xsd)
            .unwrap_or_else(|e| panic!("{file}: unmutated sample fails: {e}"));
        let mutated = mutate(&text, element, mutation);
        assert!(
            util::xmllint(mutated.as_bytes(), &xsd).is_err(),
            "{file}: xmllint accepts {element} {mutation:?}"
        );
        let decoded = codec::decode(mutated.as_bytes()).unwrap();
        let mut diags = decoded.diagnostics;
        // A receipt is customs' word: a field customs left out is only a
        // warning when reading it, and an error when writing one.
        let mode = if validate::written_by_customs(decoded.message.spec) {
            Mode::Write
        } else {
            Mode::Read
        };
        diags.extend(validate(&decoded.message, mode));
        let hit = diags
            .iter()
            .any(|d| d.is_error() && d.rule.code == rule && d.path.ends_with(element));
        assert!(
            hit,
            "{file}: {element} {mutation:?}: expected {rule} on */{element}, got {diags:#?}"
        );
    }
}

#[test]
fn business_rules_beyond_the_xsd() {
    // These pass the XSD (it only checks lengths) but customs refuses them.
    let cases: &[(&str, &str, Mutation, &str)] = &[
        (
            "official-2022/CEB311Message.xml",
            "appTime",
            Mutation::Set("20161341153555"),
            "DATE_FORMAT",
        ),
        (
            "official-2022/CEB311Message.xml",
            "appType",
            Mutation::Set("9"),
            "CODE_LIST",
        ),
        (
            "official-2022/CEB621Message.xml",
            "declTime",
            Mutation::Set("20160230"),
            "DATE_FORMAT",
        ),
        (
            "set-ok/CEB621-inventory.xml",
            "buyerIdNumber",
            Mutation::Set("330106199208150326"),
            "ID_CARD",
        ),
        (
            "official-2022/CEB621Message.xml",
            "tradeMode",
            Mutation::Set("0110"),
            "CODE_LIST",
        ),
        (
            "official-2022/CEB621Message.xml",
            "unit",
            Mutation::Set("999"),
            "CODE_LIST",
        ),
        (
            "set-ok/CEB621-inventory.xml",
            "totalPrice",
            Mutation::Set("1.00"),
            "LINE_TOTAL",
        ),
        (
            "set-ok/CEB311-order.xml",
            "gnum",
            Mutation::Set("4"),
            "GNUM_SEQUENCE",
        ),
    ];
    let xsd = util::reference().join("xsd/ceb-import-2022.xsd");
    for &(file, element, mutation, rule) in cases {
        let mutated = mutate(&sample(file), element, mutation);
        assert!(
            util::xmllint(mutated.as_bytes(), &xsd).is_ok(),
            "{file}: {element}"
        );
        let decoded = codec::decode(mutated.as_bytes()).unwrap();
        let diags = validate(&decoded.message, Mode::Read);
        assert!(
            diags
                .iter()
                .any(|d| d.rule.code == rule && d.path.ends_with(element)),
            "{file}: {element}: expected {rule}, got {diags:#?}"
        );
    }
}
