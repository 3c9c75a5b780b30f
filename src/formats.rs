//! Pure checks of textual formats: dates, PRC ID card numbers, telephone numbers.

/// Whether `s` is `YYYYMMDD` naming a real calendar day.
pub fn is_date8(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 8 && all_digits(b) && valid_ymd(num(&b[0..4]), num(&b[4..6]), num(&b[6..8]))
}

/// Whether `s` is `YYYYMMDDhhmmss` naming a real moment.
pub fn is_datetime14(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 14
        && is_date8(&s[..8])
        && valid_hms(num(&b[8..10]), num(&b[10..12]), num(&b[12..14]))
}

/// Whether `s` is `YYYYMMDDhhmmssSSS`.
pub fn is_time17(s: &str) -> bool {
    s.len() == 17
        && s.is_char_boundary(14)
        && is_datetime14(&s[..14])
        && all_digits(&s.as_bytes()[14..])
}

/// Whether `s` is `yyyy-MM-ddTHH:mm:ss` (optionally with fraction or zone) or `yyyy-MM-dd`.
pub fn is_iso_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (y, m, d) = (&b[0..4], &b[5..7], &b[8..10]);
    if !(all_digits(y) && all_digits(m) && all_digits(d) && valid_ymd(num(y), num(m), num(d))) {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    if b.len() < 19 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return false;
    }
    let (hh, mm, ss) = (&b[11..13], &b[14..16], &b[17..19]);
    all_digits(hh) && all_digits(mm) && all_digits(ss) && valid_hms(num(hh), num(mm), num(ss))
}

/// Whether `s` is an 18-character PRC resident ID card number: 17 digits, a
/// valid birth date, and the ISO 7064 MOD 11-2 check character.
pub fn is_prc_id_card(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 || !all_digits(&b[..17]) {
        return false;
    }
    if !is_date8(&s[6..14]) {
        return false;
    }
    id_card_check_char(&s[..17]).is_some_and(|c| b[17].to_ascii_uppercase() == c)
}

/// The check character of the first 17 digits of an ID card number.
pub fn id_card_check_char(first17: &str) -> Option<u8> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = first17.as_bytes();
    if b.len() != 17 || !all_digits(b) {
        return None;
    }
    let sum: u32 = b
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    Some(CHECK[(sum % 11) as usize])
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
    if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && all_digits(b) {
        return true;
    }
    if b.len() == 13 && t.starts_with("86") && b[2] == b'1' && all_digits(b) {
        return true;
    }
    // Landline: [0AA(A)-]NNNNNNN(N)[-EXT]
    let parts: Vec<&str> = t.split('-').collect();
    let has_area =
        parts.len() >= 2 && parts[0].starts_with('0') && (3..=4).contains(&parts[0].len());
    let (number, extensions) = if has_area {
        (parts[1], &parts[2..])
    } else {
        (parts[0], &parts[1..])
    };
    let area_ok = !has_area || all_digits(parts[0].as_bytes());
    let ext_ok = extensions.len() <= 1
        && extensions
            .iter()
            .all(|e| (1..=6).contains(&e.len()) && all_digits(e.as_bytes()));
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

fn num(b: &[u8]) -> u32 {
    b.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
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
