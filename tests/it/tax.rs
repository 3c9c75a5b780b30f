//! Taxes: amounts in Chinese capitals, against the People's Bank of China's
//! examples, runs of zeros, refusals, a second formulation written
//! differently (digit by digit with a carried zero, where the library works
//! in groups of four), and the `tax capitals` command.

use std::str::FromStr as _;

use customs_gateway::tax::{CapitalsError, capitals};
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::util;

/// (amount, capitals): the PBOC's examples, then runs of zeros.
const CASES: &[(&str, &str)] = &[
    ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("6007.14", "陆仟零柒元壹角肆分"),
    ("1409.50", "壹仟肆佰零玖元伍角"),
    ("100", "壹佰元整"),
    ("175.66", "壹佰柒拾伍元陆角陆分"),
    ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
    ("107000.53", "壹拾万柒仟元伍角叁分"),
    ("0.01", "壹分"),
    ("0.5", "伍角"),
    ("0.56", "伍角陆分"),
    ("10.01", "壹拾元零壹分"),
    ("10", "壹拾元整"),
    ("100000000", "壹亿元整"),
    ("100005000", "壹亿零伍仟元整"),
    ("100010000.5", "壹亿零壹万元伍角"),
    ("1000000000000", "壹万亿元整"),
    ("1000100000000", "壹万零壹亿元整"),
    ("1000000005000", "壹万亿零伍仟元整"),
    (
        "9999999999999999.99",
        "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分",
    ),
    ("0", "零元整"),
    ("0.00", "零元整"),
    ("-0", "零元整"),
];

#[test]
fn capitals_follow_the_pboc_examples_and_zero_rules() {
    for &(amount, want) in CASES {
        let d = Decimal::from_str(amount).unwrap();
        assert_eq!(capitals(d).as_deref(), Ok(want), "{amount}");
    }
}

#[test]
fn amounts_that_cannot_be_written_are_refused_with_the_reason() {
    let refused = [
        ("-0.01", "negative"),
        ("1.005", "decimal places"),
        ("10000000000000000", "too large"),
    ];
    for (amount, reason) in refused {
        let d = Decimal::from_str(amount).unwrap();
        let err: CapitalsError = capitals(d).unwrap_err();
        assert!(err.to_string().contains(reason), "{amount}: {err}");
    }
    // Trailing zeros beyond the fen are not more precision.
    assert_eq!(
        capitals(Decimal::from_str("1.5000").unwrap()).as_deref(),
        Ok("壹元伍角")
    );
}

/// The same rules, formulated digit by digit over the sixteen places of the
/// integer part with a zero carried until a digit needs it, and a group unit
/// (万, 亿, 万 of 万亿) written at its place when its group has a digit.
fn digit_by_digit(fen: u64) -> String {
    const DIGITS: [&str; 10] = ["零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"];
    const IN_GROUP: [&str; 4] = ["", "拾", "佰", "仟"];
    let yuan = fen / 100;
    let digit = |place: u32| (yuan / 10u64.pow(place) % 10) as usize;
    let group_has_digit = |low: u32| (low..low + 4).any(|p| digit(p) != 0);
    let mut out = String::new();
    let mut started = false;
    let mut zero = false;
    for place in (0..16u32).rev() {
        let d = digit(place);
        if d == 0 {
            zero |= started;
        } else {
            if zero {
                out.push('零');
                zero = false;
            }
            out.push_str(DIGITS[d]);
            out.push_str(IN_GROUP[(place % 4) as usize]);
            started = true;
        }
        let group_unit = match place {
            12 if group_has_digit(12) => Some("万"),
            8 if started => Some("亿"),
            4 if group_has_digit(4) => Some("万"),
            _ => None,
        };
        if let Some(unit) = group_unit {
            out.push_str(unit);
            // A zero ending a group is not written before the next group.
            zero = false;
        }
    }
    let (jiao, f) = ((fen / 10 % 10) as usize, (fen % 10) as usize);
    let cents = match (jiao, f) {
        (0, 0) => "整".to_owned(),
        (0, f) if yuan > 0 => format!("零{}分", DIGITS[f]),
        (0, f) => format!("{}分", DIGITS[f]),
        (j, 0) => format!("{}角", DIGITS[j]),
        (j, f) => format!("{}角{}分", DIGITS[j], DIGITS[f]),
    };
    match (yuan, cents.as_str()) {
        (0, "整") => "零元整".to_owned(),
        (0, _) => cents,
        _ => format!("{out}元{cents}"),
    }
}

#[test]
fn the_second_formulation_agrees_on_the_examples() {
    for &(amount, want) in CASES {
        let d = Decimal::from_str(amount).unwrap();
        if d.is_sign_negative() {
            continue;
        }
        let fen = (d * Decimal::ONE_HUNDRED).trunc().mantissa() as u64;
        assert_eq!(digit_by_digit(fen), want, "{amount}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Amounts rich in zeros (two digits in three are zeros), every length
    /// from a fen to 10^16 yuan.
    #[test]
    fn capitals_agree_with_the_second_formulation(
        digits in proptest::collection::vec(prop_oneof![2 => Just(0u64), 1 => 1u64..10], 1..=18),
    ) {
        let fen = digits.iter().fold(0u64, |n, d| n * 10 + d);
        let amount = Decimal::new(fen as i64, 2);
        prop_assert_eq!(capitals(amount).unwrap(), digit_by_digit(fen), "{}", amount);
    }
}

#[test]
fn the_tax_capitals_command_prints_and_refuses() {
    let out = util::gateway()
        .args(["tax", "capitals", "175.66"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "壹佰柒拾伍元陆角陆分\n"
    );

    let out = util::gateway()
        .args(["tax", "capitals", "16409.02", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["capitals"], "壹万陆仟肆佰零玖元零贰分");
    assert_eq!(v["amount"], "16409.02");

    for bad in ["-3", "1.001", "12,000.00", "abc"] {
        let out = util::gateway()
            .args(["tax", "capitals", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("tax capitals"), "{bad}: {err}");
    }
}

/// (value, VAT rate, consumption-tax rate) → (consumption tax, VAT, total),
/// computed by hand: normal consumption tax = value ÷ (1 − c) × c to the fen,
/// each due at 70 %, VAT on value + the normal consumption tax.
const CBEC: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("100", "0.13", "0", "0.00", "9.10", "9.10"),
    // 500 ÷ 0.85 × 0.15 = 88.235… → 88.24; × 0.7 = 61.768 → 61.77;
    // (500 + 88.24) × 0.13 × 0.7 = 53.52984 → 53.53.
    ("500", "0.13", "0.15", "61.77", "53.53", "115.30"),
    // 1000 ÷ 0.7 × 0.3 = 428.571… → 428.57; × 0.7 = 299.999 → 300.00;
    // 1428.57 × 0.091 = 129.99987 → 130.00.
    ("1000", "0.13", "0.30", "300.00", "130.00", "430.00"),
    // 199.99 × 0.09 × 0.7 = 12.59937 → 12.60.
    ("199.99", "0.09", "0", "0.00", "12.60", "12.60"),
    // 5 × 0.13 × 0.7 = 0.455 exactly: half up → 0.46.
    ("5", "0.13", "0", "0.00", "0.46", "0.46"),
    ("0", "0.13", "0.15", "0.00", "0.00", "0.00"),
];

#[test]
fn cross_border_tax_matches_hand_computed_cases() {
    use customs_gateway::tax::cbec_tax;
    let d = |s: &str| Decimal::from_str(s).unwrap();
    for &(value, vat, c, ct, v, total) in CBEC {
        let tax = cbec_tax(d(value), d(vat), d(c)).unwrap();
        let got = (
            tax.customs_duty.to_string(),
            tax.consumption_tax.to_string(),
            tax.vat.to_string(),
            tax.total.to_string(),
        );
        assert_eq!(
            got,
            (
                "0.00".to_owned(),
                ct.to_owned(),
                v.to_owned(),
                total.to_owned()
            ),
            "{value} at {vat}/{c}"
        );
    }
    for (value, vat, c) in [
        ("-1", "0.13", "0"),
        ("1", "1", "0"),
        ("1", "0.13", "-0.1"),
        ("1", "0.13", "1.5"),
    ] {
        assert!(
            cbec_tax(d(value), d(vat), d(c)).is_err(),
            "{value} {vat} {c}"
        );
    }
}

#[test]
fn the_tax_cbec_command_prints_json_and_refuses_bad_rates() {
    let out = util::gateway()
        .args([
            "tax",
            "cbec",
            "--value",
            "500",
            "--consumption",
            "0.15",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for (key, want) in [
        ("customs_duty", "0.00"),
        ("consumption_tax", "61.77"),
        ("vat", "53.53"),
        ("total", "115.30"),
        ("vat_rate", "0.13"),
    ] {
        assert_eq!(v[key], want, "{key}: {v}");
    }
    let out = util::gateway()
        .args(["tax", "cbec", "--value", "100", "--vat", "13"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("VAT rate 13")
    );
}

// ---------------------------------------------------------------------------
// Personal postal items: the calculator at each boundary.

use customs_gateway::subscribe::Date;
use customs_gateway::tax::{
    Applied, BillStatus, BillUpdate, LineInput, Parcel, PostalError, Rounding, Tables, TaxBill,
    postal_tax,
};

fn parcel(date: &str, origin: Option<&str>, indivisible: bool, lines: &[&str]) -> Parcel {
    Parcel {
        date: Date::parse(date).unwrap(),
        origin: origin.map(str::to_owned),
        indivisible,
        lines: lines.iter().map(|l| LineInput::parse(l).unwrap()).collect(),
        rounding: None,
    }
}

fn builtin() -> std::sync::Arc<Tables> {
    Tables::builtin().expect("schemas/tax-rates.toml parses")
}

/// (lines, origin, indivisible, total_tax, exempt, payable, limit, over_limit)
type PostalCase = (
    &'static [&'static str],
    Option<&'static str>,
    bool,
    &'static str,
    bool,
    &'static str,
    &'static str,
    bool,
);

#[test]
fn the_postal_calculator_at_each_boundary() {
    let t = builtin();
    let cases: &[PostalCase] = &[
        // tax exactly 50.00 is waived, 50.01 is due in full
        (
            &["2:250.00"],
            None,
            false,
            "50.00",
            true,
            "0.00",
            "1000",
            false,
        ),
        (
            &["2:250.05"],
            None,
            false,
            "50.01",
            false,
            "50.01",
            "1000",
            false,
        ),
        (
            &["1:384.61"],
            None,
            false,
            "50.00",
            true,
            "0.00",
            "1000",
            false,
        ),
        (
            &["1:384.70"],
            None,
            false,
            "50.01",
            false,
            "50.01",
            "1000",
            false,
        ),
        // value exactly 1,000 is within the limit, 1,000.01 over
        (
            &["2:600", "1:400"],
            None,
            false,
            "172.00",
            false,
            "172.00",
            "1000",
            false,
        ),
        (
            &["2:600", "1:400.01"],
            None,
            false,
            "172.00",
            false,
            "172.00",
            "1000",
            true,
        ),
        // 800 from Hong Kong, Macao, Taiwan (ISO or customs country codes)
        (
            &["2:800"],
            Some("HK"),
            false,
            "160.00",
            false,
            "160.00",
            "800",
            false,
        ),
        (
            &["2:800.01"],
            Some("mo"),
            false,
            "160.00",
            false,
            "160.00",
            "800",
            true,
        ),
        (
            &["2:800.01"],
            Some("143"),
            false,
            "160.00",
            false,
            "160.00",
            "800",
            true,
        ),
        (
            &["2:800.01"],
            Some("US"),
            false,
            "160.00",
            false,
            "160.00",
            "1000",
            false,
        ),
        // one indivisible article over the limit is allowed
        (
            &["3:2000"],
            None,
            true,
            "1000.00",
            false,
            "1000.00",
            "1000",
            false,
        ),
        (
            &["3:2000"],
            None,
            false,
            "1000.00",
            false,
            "1000.00",
            "1000",
            true,
        ),
        // articles: by quantity of their unit, or by value where customs values them
        (
            &["01010100:2"],
            None,
            false,
            "52.00",
            false,
            "52.00",
            "1000",
            false,
        ),
        (
            &["02070000:1", "25000000:100"],
            None,
            false,
            "170.00",
            false,
            "170.00",
            "1000",
            false,
        ),
        (
            &["01030100:1000"],
            None,
            false,
            "30.00",
            true,
            "0.00",
            "1000",
            false,
        ),
    ];
    for &(lines, origin, indivisible, total, exempt, payable, limit, over) in cases {
        let r = postal_tax(&t, &parcel("2026-11-21", origin, indivisible, lines))
            .unwrap_or_else(|e| panic!("{lines:?}: {e}"));
        let got = (
            r.total_tax.to_string(),
            r.exempt,
            r.payable.to_string(),
            r.limit.to_string(),
            r.over_limit,
        );
        let want = (
            total.to_owned(),
            exempt,
            payable.to_owned(),
            limit.to_owned(),
            over,
        );
        assert_eq!(got, want, "{lines:?} from {origin:?}");
        assert_eq!(r.capitals, capitals(r.payable).unwrap());
    }
}

#[test]
fn postal_rates_follow_the_date_and_rounding_is_per_line_unless_configured() {
    let t = builtin();
    let rate = |date: &str| {
        let r = postal_tax(&t, &parcel(date, None, false, &["1:1000"])).unwrap();
        (r.lines[0].rate.to_string(), r.table.to_string())
    };
    assert_eq!(rate("2019-04-08"), ("0.15".into(), "2018-11-01".into()));
    assert_eq!(rate("2019-04-09"), ("0.13".into(), "2019-04-09".into()));
    assert_eq!(rate("2026-11-21"), ("0.13".into(), "2019-04-09".into()));
    let r = postal_tax(&t, &parcel("2019-01-01", None, false, &["2:100", "3:10"])).unwrap();
    assert_eq!(
        r.lines
            .iter()
            .map(|l| l.rate.to_string())
            .collect::<Vec<_>>(),
        ["0.25", "0.50"]
    );
    assert!(matches!(
        postal_tax(&t, &parcel("2018-10-31", None, false, &["1:1"])),
        Err(PostalError::NoTable(..))
    ));
    // Three lines of 0.0065 each: 0.01 per line (0.03), or 0.0195 → 0.02 once.
    let mut p = parcel("2026-11-21", None, false, &["1:0.05", "1:0.05", "1:0.05"]);
    assert_eq!(postal_tax(&t, &p).unwrap().total_tax.to_string(), "0.03");
    p.rounding = Some(Rounding::Parcel);
    let r = postal_tax(&t, &p).unwrap();
    assert_eq!(
        (r.total_tax.to_string(), r.rounding),
        ("0.02".into(), Rounding::Parcel)
    );
}

#[test]
fn postal_lines_that_cannot_be_computed_are_refused_with_the_reason() {
    let t = builtin();
    let refused = |lines: &[&str], indivisible: bool| {
        postal_tax(&t, &parcel("2026-11-21", None, indivisible, lines))
            .unwrap_err()
            .to_string()
    };
    assert!(refused(&["4:10"], false).contains("neither a tax item (1, 2, 3)"));
    assert!(refused(&["99999999:1"], false).contains("not in the article table"));
    assert!(refused(&["1:-5"], false).contains("negative"));
    assert!(refused(&["1:10", "2:10"], true).contains("2 lines"));
    assert!(refused(&["01010100:3"], true).contains("quantity of 3"));
    assert!(matches!(
        postal_tax(&t, &parcel("2026-11-21", None, false, &[])),
        Err(PostalError::NoLines)
    ));
    for bad in ["1", "1:", ":5", "1:abc"] {
        assert!(LineInput::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn rate_files_load_without_code_change_and_bad_ones_name_the_place() {
    let shipped = std::fs::read_to_string(util::root().join("schemas/tax-rates.toml")).unwrap();
    assert_eq!(Tables::from_toml(&shipped).unwrap(), *builtin());
    // A new table from 2030 and one more article: data only.
    let more = format!(
        "{shipped}\n[[postal.table]]\neffective_from = \"2030-01-01\"\nsource = \"test\"\n[postal.table.items]\n1 = {{ rate = \"0.10\", zh = \"一\" }}\n2 = {{ rate = \"0.15\", zh = \"二\" }}\n3 = {{ rate = \"0.40\", zh = \"三\" }}\n\n[[postal.article]]\ncode = \"04010100\"\nname = \"手提包\"\nitem = 2\nunit = \"个\"\nvalue = \"500\"\n"
    );
    let t = Tables::from_toml(&more).unwrap();
    let r = postal_tax(&t, &parcel("2030-01-01", None, false, &["04010100:2"])).unwrap();
    assert_eq!(
        (r.total_tax.to_string(), r.lines[0].rate.to_string()),
        ("150.00".into(), "0.15".into())
    );
    let r = postal_tax(&t, &parcel("2029-12-31", None, false, &["04010100:2"])).unwrap();
    assert_eq!(r.total_tax.to_string(), "200.00");
    for (edit, says) in [
        (
            ("value = \"200\"", "value = \"-1\""),
            "postal.article[1].value",
        ),
        (
            ("rate = \"0.20\"", "rate = \"1.5\""),
            "postal.table[1].items.2.rate",
        ),
        (
            (
                "effective_from = \"2018-11-01\"",
                "effective_from = \"2018-13-01\"",
            ),
            "postal.table[2].effective_from",
        ),
        (
            ("code = \"02070000\"", "code = \"0207\""),
            "postal.article[3].code",
        ),
        (
            ("hs = \"2204\"", "hs = \"22x4\""),
            "cbec.table[1].rates[3].hs",
        ),
        (("rounding = \"line\"", "rounding = \"bank\""), "rounding"),
    ] {
        let text = shipped.replacen(edit.0, edit.1, 1);
        assert_ne!(text, shipped, "{edit:?}");
        let e = Tables::from_toml(&text).unwrap_err().to_string();
        assert!(e.contains(says), "{edit:?}: {e}");
    }
}

#[test]
fn cross_border_rates_come_from_the_hs_table_of_the_date() {
    let t = builtin();
    let table = t.cbec_at(Date::parse("2026-11-21").unwrap()).unwrap();
    let r = table.rates_for("2204210000");
    assert_eq!(
        (r.vat.to_string(), r.consumption.to_string()),
        ("0.13".into(), "0.10".into())
    );
    let r = table.rates_for("4901990000");
    assert_eq!(
        (r.vat.to_string(), r.consumption.to_string()),
        ("0.09".into(), "0".into())
    );
    let r = table.rates_for("6117100000");
    assert_eq!((r.vat.to_string(), r.row.is_none()), ("0.13".into(), true));
    let old = t.cbec_at(Date::parse("2018-06-01").unwrap()).unwrap();
    assert_eq!(old.rates_for("6117100000").vat.to_string(), "0.16");
}

#[test]
fn the_tax_postal_rates_and_cbec_hs_commands() {
    let json = |args: &[&str]| -> serde_json::Value {
        let out = util::gateway().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = json(&[
        "tax",
        "postal",
        "--date",
        "2026-11-21",
        "--origin",
        "HK",
        "--line",
        "01010100:2",
        "--line",
        "3:500",
        "--json",
    ]);
    assert_eq!(v["lines"][0]["item"], 1);
    assert_eq!(v["lines"][0]["value"], "400");
    assert_eq!(v["lines"][0]["rate"], "0.13");
    assert_eq!(v["lines"][0]["tax"], "52.00");
    assert_eq!(v["lines"][1]["tax"], "250.00");
    for (key, want) in [
        ("total_tax", serde_json::json!("302.00")),
        ("exempt", serde_json::json!(false)),
        ("payable", serde_json::json!("302.00")),
        ("over_limit", serde_json::json!(true)),
        ("limit", serde_json::json!("800")),
        ("capitals", serde_json::json!("叁佰零贰元整")),
    ] {
        assert_eq!(v[key], want, "{key}: {v}");
    }
    let v = json(&["tax", "postal", "--line", "1:100", "--json"]);
    assert_eq!(
        (v["exempt"].clone(), v["payable"].clone()),
        (serde_json::json!(true), serde_json::json!("0.00"))
    );
    assert_eq!(v["capitals"], "零元整");

    let v = json(&["tax", "rates", "--date", "2019-01-01", "--json"]);
    assert_eq!(v["postal"]["effective_from"], "2018-11-01");
    assert_eq!(v["postal"]["items"][0]["rate"], "0.15");
    assert_eq!(v["cbec"]["vat"], "0.16");
    assert_eq!(v["parcel"]["waiver"], "50");

    let v = json(&[
        "tax",
        "cbec",
        "--value",
        "100",
        "--hs",
        "2204210000",
        "--date",
        "2026-11-21",
        "--json",
    ]);
    assert_eq!(
        (
            v["consumption_tax"].clone(),
            v["vat"].clone(),
            v["total"].clone()
        ),
        (
            serde_json::json!("7.78"),
            serde_json::json!("10.11"),
            serde_json::json!("17.89")
        )
    );
    assert_eq!(v["hs_row"]["hs"], "2204");
    // --consumption overrides the table.
    let v = json(&[
        "tax",
        "cbec",
        "--value",
        "100",
        "--hs",
        "2204210000",
        "--consumption",
        "0",
        "--json",
    ]);
    assert_eq!(v["total"], "9.10");

    // A rate file given on the command line; refusals exit 2 naming the problem.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rates.toml");
    let shipped = std::fs::read_to_string(util::root().join("schemas/tax-rates.toml")).unwrap();
    std::fs::write(
        &file,
        shipped.replacen("waiver = \"50\"", "waiver = \"0\"", 1),
    )
    .unwrap();
    let v = json(&[
        "tax",
        "postal",
        "--line",
        "1:100",
        "--rates",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["payable"], "13.00");
    for (args, says) in [
        (
            vec!["tax", "postal", "--line", "7:1"],
            "\"7\" is neither a tax item",
        ),
        (
            vec!["tax", "postal", "--line", "1:1", "--date", "2026-02-30"],
            "--date \"2026-02-30\"",
        ),
        (
            vec!["tax", "postal", "--line", "1:1", "--rounding", "bank"],
            "--rounding \"bank\"",
        ),
        (
            vec!["tax", "rates", "--rates", "/nonexistent/rates.toml"],
            "--rates /nonexistent/rates.toml",
        ),
    ] {
        let out = util::gateway().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

// ---------------------------------------------------------------------------
// Electronic tax bills: status moves 1 → 2 or 1 → 3 only.

fn update(ty: &str, code: &str, duty: Option<&str>) -> BillUpdate {
    BillUpdate {
        ty: ty.to_owned(),
        tax_no: "29912026I000000123_0".to_owned(),
        invt_no: "29912026I000000123".to_owned(),
        order_no: None,
        logistics_no: None,
        code: code.to_owned(),
        time: "20261121160512300".to_owned(),
        ent_duty_no: duty.map(str::to_owned),
        ebc_code: None,
        amounts: None,
    }
}

#[test]
fn a_tax_bill_moves_from_generated_to_summarised_or_void_only() {
    use BillStatus::{Summarised as S, Void as V};
    // (codes in arrival order, final status, outcome of each later receipt)
    let cases: &[(&[&str], BillStatus, &[&str])] = &[
        (&["1", "2"], S, &["changed"]),
        (&["1", "3"], V, &["changed"]),
        (
            &["1", "1", "2", "2"],
            S,
            &["repeated", "changed", "repeated"],
        ),
        (&["2", "1"], S, &["refused"]),
        (&["3", "1"], V, &["refused"]),
        (&["1", "2", "3"], S, &["changed", "refused"]),
        (&["1", "3", "2"], V, &["changed", "refused"]),
        (&["1", "9", "2"], S, &["refused", "changed"]),
    ];
    for &(codes, last, outcomes) in cases {
        let mut bill = TaxBill::new(&update("CEB816", codes[0], None)).unwrap();
        let got: Vec<&str> = codes[1..]
            .iter()
            .map(|c| match bill.apply(&update("CEB818", c, None)) {
                Applied::Changed => "changed",
                Applied::Repeated => "repeated",
                Applied::Refused(_) => "refused",
            })
            .collect();
        assert_eq!((bill.status, got.as_slice()), (last, outcomes), "{codes:?}");
        assert_eq!(
            bill.history.len(),
            codes.len(),
            "every receipt is kept in the history"
        );
    }
    assert!(TaxBill::new(&update("CEB816", "7", None)).is_err());
}

#[test]
fn a_tax_bill_records_its_payment_certificate_once() {
    let mut bill = TaxBill::new(&update("CEB816", "1", None)).unwrap();
    assert_eq!(
        bill.apply(&update("CEB818", "2", Some("299120261125000017"))),
        Applied::Changed
    );
    assert_eq!(bill.ent_duty_no.as_deref(), Some("299120261125000017"));
    // The same status with another certificate number changes nothing.
    let Applied::Refused(why) = bill.apply(&update("CEB818", "2", Some("299120261125000099")))
    else {
        panic!("a second entDutyNo must be refused");
    };
    assert!(why.contains("299120261125000017"), "{why}");
    assert_eq!(bill.ent_duty_no.as_deref(), Some("299120261125000017"));
    let mut other = update("CEB818", "2", None);
    other.invt_no = "29912026I000000999".to_owned();
    assert!(matches!(bill.apply(&other), Applied::Refused(_)));
}

// ---------------------------------------------------------------------------
// CEB816 / CEB818 as read from customs.

#[test]
fn real_tax_bill_receipts_are_read_with_their_extra_fields_and_written_in_the_xsd_form() {
    use customs_gateway::codec::{self, EncodeOptions};
    use customs_gateway::validate::{Mode, validate};
    let bytes =
        std::fs::read(util::root().join("samples/receipts/CEB816-real-shape-gbk.xml")).unwrap();
    let decoded = codec::decode(&bytes).unwrap();
    let mut findings = decoded.diagnostics.clone();
    findings.extend(validate(&decoded.message, Mode::Read));
    assert!(findings.is_empty(), "{findings:?}");
    let business = decoded.message.business();
    let update = BillUpdate::of(business.spec, &business.documents[0]).unwrap();
    assert_eq!(update.order_no.as_deref(), Some("GW20261121000001"));
    assert_eq!(update.logistics_no.as_deref(), Some("YT2026112100001"));
    assert_eq!(update.code, "1");
    let amounts = update.amounts.unwrap();
    assert_eq!(
        (amounts.value_added_tax.to_string(), amounts.lines),
        ("85.15".into(), 1)
    );
    // Written back: the XSD's form, without the fields it lacks.
    let out = codec::encode(&decoded.message, &EncodeOptions::default()).unwrap();
    util::xmllint(&out, &util::reference().join("xsd/ceb-import-2022.xsd")).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.contains("orderNo") && !text.contains("应征关税"),
        "{text}"
    );
    assert!(text.contains("<customsCode>2991</customsCode>"), "{text}");

    let status =
        std::fs::read(util::root().join("samples/receipts/CEB818-tax-summarised.xml")).unwrap();
    let decoded = codec::decode(&status).unwrap();
    let business = decoded.message.business();
    let update = BillUpdate::of(business.spec, &business.documents[0]).unwrap();
    assert_eq!(
        (update.code.as_str(), update.ent_duty_no.as_deref()),
        ("2", Some("299120261125000017"))
    );
    assert!(update.amounts.is_none());
}

#[test]
fn check_follows_tax_bills_and_reports_a_status_moving_back() {
    let dir = tempfile::tempdir().unwrap();
    let r = util::root().join("samples/receipts");
    // In this order: 已汇总 first, then the bill of status 1 again.
    for (name, from) in [
        ("1.xml", "CEB816-tax-bill.xml"),
        ("2.xml", "CEB818-tax-summarised.xml"),
        ("3.xml", "CEB816-real-shape-gbk.xml"),
        ("4.xml", "CEB622-inventory-released.xml"),
    ] {
        std::fs::copy(r.join(from), dir.path().join(name)).unwrap();
    }
    std::fs::copy(
        util::root().join("samples/set-ok/CEB621-inventory.xml"),
        dir.path().join("5.xml"),
    )
    .unwrap();
    let out = util::gateway()
        .args(["check", "--json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "warnings do not fail check");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let bills = v["tax_bills"].as_array().unwrap();
    assert_eq!(bills.len(), 1, "{v}");
    let b = &bills[0];
    assert_eq!(b["tax_no"], "29912026I000000123_0");
    assert_eq!(
        (b["status"].as_str(), b["status_label"].as_str()),
        (Some("2"), Some("已汇总"))
    );
    assert_eq!(b["ent_duty_no"], "299120261125000017");
    assert_eq!(b["order_no"], "GW20261121000001");
    // Linked to the CEB621 (5.xml) through the CEB622 (4.xml) that numbered it.
    assert!(b["inventory"].as_str().unwrap().ends_with("5.xml"), "{b}");
    assert_eq!(b["history"].as_array().unwrap().len(), 3);
    let findings: Vec<&serde_json::Value> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "TAX_BILL_STATUS")
        .collect();
    assert_eq!(findings.len(), 1, "{v}");
    assert!(findings[0]["file"].as_str().unwrap().ends_with("3.xml"));
    assert_eq!(findings[0]["severity"], "warning");
}
