//! Milliseconds since the Unix epoch to and from UTC civil time (the
//! proleptic Gregorian calendar, days counted as in Howard Hinnant's
//! `days_from_civil` / `civil_from_days`).

const MS_PER_DAY: u64 = 86_400_000;
/// Days from 0000-03-01 to 1970-01-01.
const EPOCH_SHIFT: u64 = 719_468;
const DAYS_PER_ERA: u64 = 146_097;

/// `2026-11-22T02:13:14Z`: a time as ISO-8601 UTC text, to the second.
pub(crate) fn iso_utc(ms: u64) -> String {
    let days = ms / MS_PER_DAY;
    let secs = (ms % MS_PER_DAY) / 1000;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Reads a `since` value: milliseconds since the epoch, or a UTC date
/// `YYYY-MM-DD`, or date and time `YYYY-MM-DDThh:mm:ss` (a space for the
/// `T` and a trailing `Z` are allowed). Err is one sentence.
pub(crate) fn parse_since(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        // 8 or 14 digits are customs' date forms, not milliseconds anyone means.
        if t.len() == 8 || t.len() == 14 {
            return Err(format!(
                "since: `{t}` looks like a customs date; write it as YYYY-MM-DD or YYYY-MM-DDThh:mm:ss (UTC), or give milliseconds since the epoch"
            ));
        }
        return t
            .parse()
            .map_err(|_| format!("since: `{t}` is too large for milliseconds since the epoch"));
    }
    civil_ms(t).ok_or_else(|| {
        format!(
            "since: `{t}` is not milliseconds since the epoch, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss (UTC)"
        )
    })
}

/// `YYYY-MM-DD[(T| )hh:mm:ss][Z]` to milliseconds; `None` when malformed,
/// out of range or before 1970.
fn civil_ms(t: &str) -> Option<u64> {
    let t = t.strip_suffix('Z').unwrap_or(t);
    let (date, time) = match t.len() {
        10 => (t, None),
        19 => {
            let sep = t.as_bytes().get(10)?;
            if *sep != b'T' && *sep != b' ' {
                return None;
            }
            (t.get(..10)?, Some(t.get(11..)?))
        }
        _ => return None,
    };
    let y = number(date.get(0..4)?)?;
    let m = number(date.get(5..7)?)?;
    let d = number(date.get(8..10)?)?;
    if date.get(4..5)? != "-" || date.get(7..8)? != "-" {
        return None;
    }
    if y < 1970 || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let secs = match time {
        None => 0,
        Some(time) => {
            if time.get(2..3)? != ":" || time.get(5..6)? != ":" {
                return None;
            }
            let (h, mi, s) = (
                number(time.get(0..2)?)?,
                number(time.get(3..5)?)?,
                number(time.get(6..8)?)?,
            );
            if h > 23 || mi > 59 || s > 59 {
                return None;
            }
            (h * 60 + mi) * 60 + s
        }
    };
    let days = days_from_civil(y, m, d)?;
    days.checked_mul(MS_PER_DAY)?.checked_add(secs * 1000)
}

/// Digits only, as a number.
fn number(s: &str) -> Option<u64> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn is_leap(y: u64) -> bool {
    y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400))
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date on or after it (`y` ≥ 1970, `m` 1–12).
fn days_from_civil(y: u64, m: u64, d: u64) -> Option<u64> {
    // Years start in March, so the leap day ends a year.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y % 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * DAYS_PER_ERA + doe).checked_sub(EPOCH_SHIFT)
}

/// The date `days` after 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + EPOCH_SHIFT;
    let era = z / DAYS_PER_ERA;
    let doe = z % DAYS_PER_ERA;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_text_of_known_instants() {
        for (ms, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (999, "1970-01-01T00:00:00Z"),
            (951_782_400_000, "2000-02-29T00:00:00Z"),
            (1_795_313_594_000, "2026-11-22T02:13:14Z"),
            (4_107_542_399_000, "2100-02-28T23:59:59Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00Z"),
            (253_402_300_799_000, "9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(iso_utc(ms), text, "{ms}");
        }
    }

    #[test]
    fn every_day_round_trips() {
        // 1970 to 2200: each day's text reads back as the same instant.
        for day in 0..84_000u64 {
            let ms = day * MS_PER_DAY + 3_723_000;
            let text = iso_utc(ms);
            assert_eq!(parse_since(&text), Ok(ms), "{text}");
            let date = text.get(..10).unwrap();
            assert_eq!(parse_since(date), Ok(day * MS_PER_DAY), "{date}");
        }
    }

    #[test]
    fn since_forms() {
        for (text, want) in [
            ("1795313594000", Some(1_795_313_594_000)),
            ("0", Some(0)),
            ("2026-11-22", Some(1_795_305_600_000)),
            ("2026-11-22T02:13:14", Some(1_795_313_594_000)),
            ("2026-11-22 02:13:14", Some(1_795_313_594_000)),
            ("2026-11-22T02:13:14Z", Some(1_795_313_594_000)),
            ("2024-02-29", Some(1_709_164_800_000)),
            ("2026-02-29", None),
            ("2026-13-01", None),
            ("2026-11-22T24:00:00", None),
            ("2026-11-22T02:13", None),
            ("1969-12-31", None),
            ("20261122", None),
            ("20261122021314", None),
            ("99999999999999999999999", None),
            ("2026-1-22", None),
            ("yesterday", None),
            ("", None),
            ("2026-11-22X02:13:14", None),
            ("+026-11-22", None),
        ] {
            assert_eq!(parse_since(text).ok(), want, "{text}");
        }
    }
}
