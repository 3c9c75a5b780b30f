//! Pure checks of textual formats: dates, PRC ID card numbers, telephone numbers.
//!
//! Everything works on bytes and checks for ASCII digits before reading a
//! number, so no input (non-ASCII text, signs, any length) can panic here.

// Pure core: no input may panic here. Slicing, indexing and unchecked
// arithmetic are refused at compile time (see ARCHITECTURE.md, Invariants).
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

/// Whether `s` is `YYYYMMDD` naming a real calendar day.
pub fn is_date8(s: &str) -> bool {
    date8(s.as_bytes())
}

/// Whether `s` is `YYYYMMDDhhmmss` naming a real moment.
pub fn is_datetime14(s: &str) -> bool {
    datetime14(s.as_bytes())
}

/// Whether `s` is `YYYYMMDDhhmmssSSS`.
pub fn is_time17(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 17 && b.get(..14).is_some_and(datetime14) && b.get(14..).is_some_and(all_digits)
}

/// Whether `s` is `yyyy-MM-ddTHH:mm:ss` (optionally with fraction or zone) or `yyyy-MM-dd`.
pub fn is_iso_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if b.len() < 10 || !at(4, b'-') || !at(7, b'-') {
        return false;
    }
    let date_ok = matches!(
        (number(b, 0..4), number(b, 5..7), number(b, 8..10)),
        (Some(y), Some(m), Some(d)) if valid_ymd(y, m, d)
    );
    if !date_ok {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    if b.len() < 19 || !at(10, b'T') || !at(13, b':') || !at(16, b':') {
        return false;
    }
    matches!(
        (number(b, 11..13), number(b, 14..16), number(b, 17..19)),
        (Some(h), Some(m), Some(s)) if valid_hms(h, m, s)
    )
}

/// Whether `s` is an 18-character PRC resident ID card number: 17 digits, a
/// valid birth date, and the ISO 7064 MOD 11-2 check character.
pub fn is_prc_id_card(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(first17), Some(last)) = (b.get(..17), b.get(17)) else {
        return false;
    };
    b.len() == 18
        && b.get(6..14).is_some_and(date8)
        && check_char(first17).is_some_and(|c| last.to_ascii_uppercase() == c)
}

/// The check character of the first 17 digits of an ID card number.
pub fn id_card_check_char(first17: &str) -> Option<u8> {
    check_char(first17.as_bytes())
}

fn check_char(first17: &[u8]) -> Option<u8> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    if first17.len() != 17 {
        return None;
    }
    let sum = first17.iter().zip(WEIGHTS).try_fold(0u32, |acc, (&d, w)| {
        acc.checked_add(digit(d)?.checked_mul(w)?)
    })?;
    let index = usize::try_from(sum.checked_rem(11)?).ok()?;
    CHECK.get(index).copied()
}

/// Whether `s` is a plausible mainland telephone number: a mobile number
/// `1[3-9]` + 9 digits (optionally `+86`/`86`), or a landline with an optional
/// area code and extension (`0571-88886666`, `88886666-123`).
pub fn is_plausible_phone(s: &str) -> bool {
    let t = s.trim();
    let t = t
        .strip_prefix("+86")
        .or_else(|| t.strip_prefix("0086"))
        .unwrap_or(t);
    let t = t.trim_start_matches(['-', ' ']);
    let b = t.as_bytes();
    let mobile = |m: &[u8]| {
        m.len() == 11
            && m.first() == Some(&b'1')
            && m.get(1).is_some_and(|d| (b'3'..=b'9').contains(d))
            && all_digits(m)
    };
    if mobile(b) {
        return true;
    }
    if b.len() == 13 && b.starts_with(b"86") && b.get(2) == Some(&b'1') && all_digits(b) {
        return true;
    }
    // Landline: [0AA(A)-]NNNNNNN(N)[-EXT]: at most three parts.
    let mut split = t.split('-');
    let (Some(first), second, third) = (split.next(), split.next(), split.next()) else {
        return false;
    };
    if split.next().is_some() {
        return false;
    }
    let has_area = second.is_some() && first.starts_with('0') && (3..=4).contains(&first.len());
    let (number, extension) = if has_area {
        match second {
            Some(number) => (number, third),
            None => return false,
        }
    } else if third.is_some() {
        // Two extensions, or an area code that is not one.
        return false;
    } else {
        (first, second)
    };
    let area_ok = !has_area || all_digits(first.as_bytes());
    let ext_ok = extension.is_none_or(|e| (1..=6).contains(&e.len()) && all_digits(e.as_bytes()));
    area_ok
        && ext_ok
        && (7..=8).contains(&number.len())
        && all_digits(number.as_bytes())
        && !number.starts_with('0')
}

/// Whether every byte is an ASCII digit (and there is at least one).
pub fn all_digits(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}

/// `YYYYMMDD` as bytes.
fn date8(b: &[u8]) -> bool {
    b.len() == 8
        && matches!(
            (number(b, 0..4), number(b, 4..6), number(b, 6..8)),
            (Some(y), Some(m), Some(d)) if valid_ymd(y, m, d)
        )
}

/// `YYYYMMDDhhmmss` as bytes.
fn datetime14(b: &[u8]) -> bool {
    b.len() == 14
        && b.get(..8).is_some_and(date8)
        && matches!(
            (number(b, 8..10), number(b, 10..12), number(b, 12..14)),
            (Some(h), Some(m), Some(s)) if valid_hms(h, m, s)
        )
}

/// The value of an ASCII digit.
fn digit(d: u8) -> Option<u32> {
    char::from(d).to_digit(10)
}

/// The number written by `b[range]`: `None` unless the range exists, is not
/// empty and holds only ASCII digits, and the value fits a `u32`.
fn number(b: &[u8], range: std::ops::Range<usize>) -> Option<u32> {
    let part = b.get(range).filter(|p| !p.is_empty())?;
    part.iter()
        .try_fold(0u32, |acc, &d| acc.checked_mul(10)?.checked_add(digit(d)?))
}

fn valid_ymd(y: u32, m: u32, d: u32) -> bool {
    if !(1..=12).contains(&m) || d == 0 || y == 0 {
        return false;
    }
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    d <= days
}

fn valid_hms(h: u32, m: u32, s: u32) -> bool {
    h < 24 && m < 60 && s < 60
}

/// Escapes text for HTML element content and for quoted attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        for (s, ok) in [
            ("20240229", true),
            ("20230229", false),
            ("20261341", false),
            ("2026112", false),
            ("2026112a", false),
        ] {
            assert_eq!(is_date8(s), ok, "{s}");
        }
        assert!(is_datetime14("20261121235959"));
        assert!(!is_datetime14("20261121240000"));
        assert!(is_time17("20181113172457606"));
        assert!(!is_time17("2018111317245760"));
        assert!(is_iso_datetime("2024-04-17T09:15:03"));
        assert!(is_iso_datetime("2024-04-17"));
        assert!(!is_iso_datetime("2024-13-17"));
    }

    #[test]
    fn non_digits_anywhere_are_refused_without_panicking() {
        for s in [
            "2026110é10300",
            "20261121-00000",
            "2026112110-000",
            "202611211000-0",
            "-0261121100000",
            "２０２６１１２１",
            "2026-1-1",
            "",
        ] {
            assert!(!is_date8(s), "{s}");
            assert!(!is_datetime14(s), "{s}");
            assert!(!is_time17(s), "{s}");
            assert!(!is_iso_datetime(s), "{s}");
            assert!(!is_prc_id_card(s), "{s}");
        }
        for s in [
            "1395718000é",
            "0571-8888666é",
            "-",
            "+-1",
            "０５７１-88886666",
            "",
        ] {
            assert!(!is_plausible_phone(s), "{s}");
        }
        assert!(!is_time17("2026112110000é00"));
        assert!(!is_iso_datetime("2024-04-17T0é:15:03"));
        assert!(!is_iso_datetime("2024-0é-17"));
        assert!(!is_prc_id_card("3301061992081503é5"));
        assert!(!is_prc_id_card("330106-99208150325"));
        assert_eq!(id_card_check_char("3301061992081503-"), None);
        assert_eq!(id_card_check_char("3301061992081503é"), None);
    }

    #[test]
    fn id_cards() {
        assert!(is_prc_id_card("11010519491231002X"));
        assert!(is_prc_id_card("330106199208150325"));
        assert!(!is_prc_id_card("330106199208150327"));
        assert!(!is_prc_id_card("33010619920815032"));
        assert!(!is_prc_id_card("330106199213150325"));
    }

    #[test]
    fn phones() {
        for (s, ok) in [
            ("13957180001", true),
            ("+8613957180001", true),
            ("0571-88886666", true),
            ("88886666", true),
            ("010-12345678-123", true),
            ("12345", false),
            ("12957180001", false),
            ("phone", false),
        ] {
            assert_eq!(is_plausible_phone(s), ok, "{s}");
        }
    }
}
