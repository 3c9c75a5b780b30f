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
