//! Amounts in Chinese capitals (人民币大写), as the People's Bank of China's
//! rules for bills and settlement vouchers write them: 元 角 分; 整 after 元
//! when there are no 角 or 分; one 零 for a run of zeros inside the amount
//! (none for zeros that end a group of four digits or the 元 digit when a
//! digit follows in the next group); 壹拾 for a leading ten; up to 万亿.
//!
//! `16409.02` → 壹万陆仟肆佰零玖元零贰分, `100` → 壹佰元整,
//! `0.01` → 壹分, `0` → 零元整.

use rust_decimal::Decimal;
use thiserror::Error;

const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
/// Units of the four digits of a group, from its thousands down.
const UNITS: [&str; 4] = ["仟", "佰", "拾", ""];
/// The largest amount written (9999万亿 … 9.99 fen): the integer part stays
/// below 10^16.
const LIMIT: u64 = 10_000_000_000_000_000;

/// Why an amount cannot be written in capitals.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CapitalsError {
    /// Below zero.
    #[error("{0} is negative: an amount in capitals is never below zero")]
    Negative(Decimal),
    /// More than two decimal places (a fen is the smallest unit).
    #[error("{0} has more than two decimal places: round it to the fen first")]
    Precision(Decimal),
    /// 10^16 yuan or more.
    #[error("{0} is too large: capitals are written up to 万亿 (below 10^16 yuan)")]
    TooLarge(Decimal),
}

/// `amount` in capitals, without the 人民币 prefix.
pub fn capitals(amount: Decimal) -> Result<String, CapitalsError> {
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(CapitalsError::Negative(amount));
    }
    let normal = amount.normalize();
    if normal.scale() > 2 {
        return Err(CapitalsError::Precision(amount));
    }
    // Whole fen, exactly: the scale is at most 2.
    let fen = normal
        .checked_mul(Decimal::ONE_HUNDRED)
        .map(|f| f.trunc().mantissa())
        .and_then(|m| u128::try_from(m).ok())
        .ok_or(CapitalsError::TooLarge(amount))?;
    let yuan = u64::try_from(fen / 100).map_err(|_| CapitalsError::TooLarge(amount))?;
    if yuan >= LIMIT {
        return Err(CapitalsError::TooLarge(amount));
    }
    let cents = fen % 100;
    let (jiao, fen) = (cents / 10, cents % 10);
    let mut out = String::new();
    if yuan > 0 {
        write_integer(&mut out, yuan);
        out.push('元');
    }
    match (jiao, fen) {
        (0, 0) if yuan == 0 => out.push_str("零元整"),
        (0, 0) => out.push('整'),
        (0, f) => {
            if yuan > 0 {
                out.push('零');
            }
            push_digit(&mut out, f);
            out.push('分');
        }
        (j, f) => {
            push_digit(&mut out, j);
            out.push('角');
            if f > 0 {
                push_digit(&mut out, f);
                out.push('分');
            }
        }
    }
    Ok(out)
}

fn push_digit(out: &mut String, d: u128) {
    let d = usize::try_from(d).unwrap_or(0);
    out.push(DIGITS.get(d).copied().unwrap_or('零'));
}

/// Writes `n` (0 < n < 10^16): a part in 亿 and a part below, each below 10^8.
fn write_integer(out: &mut String, n: u64) {
    write_split(out, n, 100_000_000, '亿', write_below_1e8);
}

/// Writes `n` (0 < n < 10^8): a part in 万 and a part below, each below 10^4.
fn write_below_1e8(out: &mut String, n: u64) {
    write_split(out, n, 10_000, '万', write_group);
}

/// Writes `n` as its count of `base` followed by `unit`, then the rest,
/// each with `part`; a 零 between them when the rest starts with zeros
/// (壹亿零伍万, 壹万零伍佰), none when either is zero.
fn write_split(out: &mut String, n: u64, base: u64, unit: char, part: fn(&mut String, u64)) {
    let high = n.checked_div(base).unwrap_or(0);
    let rest = n.checked_rem(base).unwrap_or(n);
    if high > 0 {
        part(out, high);
        out.push(unit);
    }
    if rest > 0 {
        if high > 0 && rest < base / 10 {
            out.push('零');
        }
        part(out, rest);
    }
}

/// Writes `n` (0 < n < 10^4): leading zeros dropped, a run of inner zeros
/// one 零, trailing zeros nothing.
fn write_group(out: &mut String, n: u64) {
    let digits = [n / 1000 % 10, n / 100 % 10, n / 10 % 10, n % 10];
    let mut started = false;
    let mut zero = false;
    for (d, unit) in digits.into_iter().zip(UNITS) {
        if d == 0 {
            zero = started;
            continue;
        }
        if zero {
            out.push('零');
            zero = false;
        }
        push_digit(out, u128::from(d));
        out.push_str(unit);
        started = true;
    }
}
