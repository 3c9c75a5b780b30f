//! Subscriptions (报关单数据订阅) and who a customs message belongs to: the
//! single window's subscription rules, the mapping of customs codes onto
//! the statuses an enterprise subscribes to, and the owner of a document.
//!
//! Pure: no I/O, no clock (today's date is passed in), no panics on input.
//! The daemon's pipeline routes receipts with it; the admin API and the
//! configuration check subscriptions with the same functions, so both
//! paths refuse the same things with the same sentences.

#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use crate::model::Document;
use crate::schema::{MessageSpec, MessageType};
use crate::track;

/// The statuses an enterprise subscribes to, as the single window names
/// them: 入库 (accepted into the customs system), 退单 (refused), 审结
/// (review concluded), 删单 (deleted), 放行 (released), 结案 (closed),
/// 查验通知 (picked for inspection).
pub const STATUSES: [&str; 7] = ["入库", "退单", "审结", "删单", "放行", "结案", "查验通知"];

/// What a subscription delivers.
pub const CONTENTS: [&str; 2] = ["receipts", "data"];

/// The status a customs code stands for, among [`STATUSES`]; `None` for a
/// code that maps onto none of them (an E-port stage such as 2 or 3, 300
/// manual review, an unknown code).
///
/// CEB `returnStatus` (`CEB-MESSAGES.md` §5): 120 入库; 100 and negative
/// codes (processing errors) 退单; 399 审结; 500–599 查验通知; 800 放行;
/// 899 结案. `DEC_RESULT` / `DEC_DATA` CHANNEL (§7.4): L 入库; E, Z 退单;
/// J, G 审结; D, A 删单; P, B, K, F 放行; R 结案; C, W, I, S 查验通知.
pub fn status_of(ty: MessageType, code: &str) -> Option<&'static str> {
    let code = code.trim();
    if matches!(ty, MessageType::DecResult | MessageType::DecData) {
        return match code {
            "L" => Some("入库"),
            "E" | "Z" => Some("退单"),
            "J" | "G" => Some("审结"),
            "D" | "A" => Some("删单"),
            "P" | "B" | "K" | "F" => Some("放行"),
            "R" => Some("结案"),
            "C" | "W" | "I" | "S" => Some("查验通知"),
            _ => None,
        };
    }
    if code.len() > 1 && code.starts_with('-') && code.bytes().skip(1).all(|b| b.is_ascii_digit()) {
        return Some("退单");
    }
    match code {
        "120" => Some("入库"),
        "100" => Some("退单"),
        "399" => Some("审结"),
        "500" | "501" | "502" | "503" | "599" => Some("查验通知"),
        "800" => Some("放行"),
        "899" => Some("结案"),
        _ => None,
    }
}

/// The fields naming the enterprise a document of this type belongs to, in
/// order of preference: the role that declares the type (`CEB-MESSAGES.md`
/// §3: the order and the inventory are the e-commerce enterprise's, the
/// payment the payment company's, the waybill the logistics company's),
/// the same for their receipts, `TRADE_CO` for a `DEC_DATA`. Empty for a
/// type that names no owner (`DEC_RESULT`, `CEB900`, `DecImportResponse`).
pub fn owner_fields(ty: MessageType) -> &'static [&'static str] {
    use MessageType as T;
    match ty {
        T::Ceb311 | T::Ceb312 => &["ebcCode"],
        T::Ceb411 | T::Ceb412 => &["payCode"],
        T::Ceb511 | T::Ceb512 | T::Ceb513 | T::Ceb514 => &["logisticsCode"],
        T::Ceb621 | T::Ceb622 | T::Ceb623 | T::Ceb624 => &["ebcCode", "agentCode"],
        // A CEB816 names the e-commerce enterprise; a CEB818 names none (its
        // owner is the inventory's).
        T::Ceb816 => &["ebcCode"],
        T::DecData => &["TRADE_CO"],
        _ => &[],
    }
}

/// The enterprise a document names in its owner's role, if any.
pub fn owner(spec: &MessageSpec, doc: &Document) -> Option<String> {
    owner_fields(spec.ty)
        .iter()
        .find_map(|f| track::field(doc, spec, f))
}

/// A calendar date (the proleptic Gregorian calendar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    y: u16,
    m: u8,
    d: u8,
}

const MS_PER_DAY: u64 = 86_400_000;
/// China Standard Time is UTC+8; customs and the single window count days in it.
const CST_OFFSET_MS: u64 = 8 * 3_600_000;

impl Date {
    /// Reads `YYYY-MM-DD` (a real date from year 1970 to 9999).
    pub fn parse(text: &str) -> Option<Date> {
        let t = text.trim();
        let b = t.as_bytes();
        if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            let s = t.get(r)?;
            if s.bytes().all(|c| c.is_ascii_digit()) {
                s.parse().ok()
            } else {
                None
            }
        };
        let y = num(0..4)?;
        let m = u8::try_from(num(5..7)?).ok()?;
        let d = u8::try_from(num(8..10)?).ok()?;
        if y < 1970 || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return None;
        }
        Some(Date { y, m, d })
    }

    /// The date in China Standard Time at `ms` since the Unix epoch.
    pub fn cst(ms: u64) -> Date {
        Date::from_days(ms.saturating_add(CST_OFFSET_MS) / MS_PER_DAY)
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    pub fn from_days(days: u64) -> Date {
        // Clamped to 9999-12-31 so every step below stays in range.
        let z = days.min(2_932_896).saturating_add(719_468);
        let era = z / 146_097;
        let doe = z % 146_097;
        let yoe = doe
            .saturating_sub(doe / 1460)
            .saturating_add(doe / 36_524)
            .saturating_sub(doe / 146_096)
            / 365;
        let doy = doe.saturating_sub(
            yoe.saturating_mul(365)
                .saturating_add(yoe / 4)
                .saturating_sub(yoe / 100),
        );
        let mp = (doy.saturating_mul(5).saturating_add(2)) / 153;
        let d = doy
            .saturating_sub((mp.saturating_mul(153).saturating_add(2)) / 5)
            .saturating_add(1);
        let m = if mp < 10 {
            mp.saturating_add(3)
        } else {
            mp.saturating_sub(9)
        };
        let y = yoe
            .saturating_add(era.saturating_mul(400))
            .saturating_add(u64::from(m <= 2));
        Date {
            y: u16::try_from(y).unwrap_or(9999),
            m: u8::try_from(m).unwrap_or(12),
            d: u8::try_from(d).unwrap_or(31),
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`; the
    /// inverse of [`Date::from_days`]).
    pub fn days_since_epoch(self) -> u64 {
        let (m, d) = (u64::from(self.m), u64::from(self.d));
        let y = u64::from(self.y).saturating_sub(u64::from(m <= 2));
        let era = y / 400;
        let yoe = y.saturating_sub(era.saturating_mul(400));
        let mp = if m > 2 {
            m.saturating_sub(3)
        } else {
            m.saturating_add(9)
        };
        let doy = (mp.saturating_mul(153).saturating_add(2) / 5)
            .saturating_add(d)
            .saturating_sub(1);
        let doe = yoe
            .saturating_mul(365)
            .saturating_add(yoe / 4)
            .saturating_sub(yoe / 100)
            .saturating_add(doy);
        era.saturating_mul(146_097)
            .saturating_add(doe)
            .saturating_sub(719_468)
    }

    /// The same day one year later (29 February becomes 28 February).
    pub fn one_year_later(self) -> Date {
        let y = self.y.saturating_add(1).min(9999);
        Date {
            y,
            m: self.m,
            d: self.d.min(days_in_month(y, self.m)),
        }
    }

    /// The day after this one.
    pub fn next_day(self) -> Date {
        if self.d < days_in_month(self.y, self.m) {
            Date {
                d: self.d.saturating_add(1),
                ..self
            }
        } else if self.m < 12 {
            Date {
                m: self.m.saturating_add(1),
                d: 1,
                ..self
            }
        } else if self.y < 9999 {
            Date {
                y: self.y.saturating_add(1),
                m: 1,
                d: 1,
            }
        } else {
            // The last day the calendar here knows stays the last.
            self
        }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.y, self.m, self.d)
    }
}

fn days_in_month(y: u16, m: u8) -> u8 {
    let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Where a subscription stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// 生效: valid, delivering.
    Active,
    /// 已取消: cancelled while valid.
    Cancelled,
    /// 已失效: its last valid day has passed.
    Expired,
}

impl State {
    /// The state of a subscription valid through `valid_until` on `today`.
    pub fn of(cancelled: bool, valid_until: Date, today: Date) -> State {
        if cancelled {
            State::Cancelled
        } else if today > valid_until {
            State::Expired
        } else {
            State::Active
        }
    }

    /// `active`, `cancelled` or `expired` (the API's and the CLI's name).
    pub fn name(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Cancelled => "cancelled",
            State::Expired => "expired",
        }
    }

    /// 生效, 已取消 or 已失效 (the single window's name).
    pub fn label(self) -> &'static str {
        match self {
            State::Active => "生效",
            State::Cancelled => "已取消",
            State::Expired => "已失效",
        }
    }
}

/// A valid-until value read against the day `from` it counts from: a date
/// `YYYY-MM-DD`, or `+1y` (the same day a year later) or `+Nd` (N days
/// later), which a configuration can keep unchanged year after year.
pub fn resolve(text: &str, from: Date) -> Option<Date> {
    let t = text.trim();
    let Some(rel) = t.strip_prefix('+') else {
        return Date::parse(t);
    };
    if rel == "1y" {
        return Some(from.one_year_later());
    }
    let days = rel.strip_suffix('d')?;
    if days.is_empty() || !days.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = days.parse().ok()?;
    if n > 10_000 {
        return None;
    }
    let mut d = from;
    for _ in 0..n {
        d = d.next_day();
    }
    Some(d)
}

/// Why a valid-until value (see [`resolve`]) is refused for a subscription
/// made (or extended) on `today`: it must be a date no earlier than today
/// and at most one year after it.
pub fn check_valid_until(text: &str, today: Date) -> Result<Date, String> {
    let Some(until) = resolve(text, today) else {
        return Err(format!(
            "valid_until `{}` is not a date (YYYY-MM-DD, or +1y, or +Nd)",
            text.trim()
        ));
    };
    if until < today {
        return Err(format!(
            "valid_until {until} is in the past (today is {today})"
        ));
    }
    let limit = today.one_year_later();
    if until > limit {
        return Err(format!(
            "valid_until {until} is more than one year after {today}: a subscription is valid for at most a year, until {limit} at the latest"
        ));
    }
    Ok(until)
}

/// Why a subscription cannot be cancelled: only a valid one can.
pub fn check_cancel(state: State, valid_until: Date) -> Result<(), String> {
    match state {
        State::Active => Ok(()),
        State::Cancelled => Err("it is already cancelled (已取消)".to_owned()),
        State::Expired => Err(format!(
            "it expired after {valid_until} (已失效): only a valid subscription can be cancelled"
        )),
    }
}

/// Why a subscription cannot be extended to `new_until` on `today`: only
/// a valid one can, to a later date within one year of today.
pub fn check_extend(
    state: State,
    valid_until: Date,
    new_until: &str,
    today: Date,
) -> Result<Date, String> {
    match state {
        State::Active => {}
        State::Cancelled => {
            return Err(
                "it is cancelled (已取消): only a valid subscription can be extended".to_owned(),
            );
        }
        State::Expired => {
            return Err(format!(
                "it expired after {valid_until} (已失效): only a valid subscription can be extended; make a new one"
            ));
        }
    }
    let until = check_valid_until(new_until, today)?;
    if until <= valid_until {
        return Err(format!(
            "valid_until {until} is not later than the current {valid_until}"
        ));
    }
    Ok(until)
}

/// The status names of a list, checked: each among [`STATUSES`], at least
/// one, none twice.
pub fn check_statuses(list: &[String]) -> Result<Vec<String>, String> {
    if list.is_empty() {
        return Err(format!(
            "statuses is empty: name at least one of {}",
            STATUSES.join(" ")
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for s in list {
        let s = s.trim();
        if !STATUSES.contains(&s) {
            return Err(format!(
                "statuses: `{s}` is not a status one can subscribe to ({})",
                STATUSES.join(" ")
            ));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    Ok(out)
}

/// The content names of a list, checked: `receipts` and/or `data`.
pub fn check_content(list: &[String]) -> Result<Vec<String>, String> {
    if list.is_empty() {
        return Err("content is empty: name receipts, data or both".to_owned());
    }
    let mut out: Vec<String> = Vec::new();
    for c in list {
        let c = c.trim();
        if !CONTENTS.contains(&c) {
            return Err(format!(
                "content: `{c}` is neither receipts (状态回执) nor data (申报数据)"
            ));
        }
        if !out.iter().any(|o| o == c) {
            out.push(c.to_owned());
        }
    }
    Ok(out)
}

/// What a CEB `BaseSubscribe/status` asks for: `ALL` (data and receipts),
/// `DATA`, `RET` (receipts), or a list of status names (receipts of those
/// statuses), separated by commas, semicolons or spaces. Returns the
/// content and the statuses; Err names what is not understood.
pub fn base_subscribe(status: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let all = || STATUSES.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let words: Vec<&str> = status
        .split([',', ';', ' ', '，', '；', '、'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    let mut content: Vec<String> = Vec::new();
    let mut statuses: Vec<String> = Vec::new();
    let add = |list: &mut Vec<String>, s: &str| {
        if !list.iter().any(|o| o == s) {
            list.push(s.to_owned());
        }
    };
    for w in &words {
        match w.to_ascii_uppercase().as_str() {
            "ALL" => {
                add(&mut content, "receipts");
                add(&mut content, "data");
                for s in all() {
                    add(&mut statuses, &s);
                }
            }
            "DATA" => add(&mut content, "data"),
            "RET" => {
                add(&mut content, "receipts");
                for s in all() {
                    add(&mut statuses, &s);
                }
            }
            _ if STATUSES.contains(w) => {
                add(&mut content, "receipts");
                add(&mut statuses, w);
            }
            _ => {
                return Err(format!(
                    "BaseSubscribe/status: `{w}` is none of ALL, DATA, RET or {}",
                    STATUSES.join(" ")
                ));
            }
        }
    }
    if content.is_empty() {
        return Err("BaseSubscribe/status is empty".to_owned());
    }
    Ok((content, statuses))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(t: &str) -> Date {
        Date::parse(t).unwrap()
    }

    #[test]
    fn codes_map_onto_the_single_windows_statuses() {
        use MessageType as T;
        for (ty, code, want) in [
            (T::Ceb622, "120", Some("入库")),
            (T::Ceb622, "100", Some("退单")),
            (T::Ceb622, "-621005", Some("退单")),
            (T::Ceb312, " 399 ", Some("审结")),
            (T::Ceb622, "500", Some("查验通知")),
            (T::Ceb622, "599", Some("查验通知")),
            (T::Ceb622, "800", Some("放行")),
            (T::Ceb622, "899", Some("结案")),
            (T::Ceb622, "2", None),
            (T::Ceb622, "300", None),
            (T::Ceb622, "-", None),
            (T::Ceb622, "L", None),
            (T::DecResult, "L", Some("入库")),
            (T::DecResult, "Z", Some("退单")),
            (T::DecResult, "J", Some("审结")),
            (T::DecResult, "A", Some("删单")),
            (T::DecResult, "K", Some("放行")),
            (T::DecResult, "R", Some("结案")),
            (T::DecData, "S", Some("查验通知")),
            (T::DecResult, "7", None),
            (T::DecResult, "120", None),
        ] {
            assert_eq!(status_of(ty, code), want, "{ty:?} {code}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::cst(1_795_305_600_000 - 1).to_string(), "2026-11-22");
        assert_eq!(
            Date::cst(1_795_305_600_000 - 8 * 3_600_000 - 1).to_string(),
            "2026-11-21"
        );
        assert_eq!(d("2024-02-29").one_year_later(), d("2025-02-28"));
        assert_eq!(d("2026-12-31").next_day(), d("2027-01-01"));
        assert_eq!(d("2028-02-28").next_day(), d("2028-02-29"));
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "26-01-01",
            "2026/01/01",
            "1969-12-31",
            "",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
        // Every day from 1970 to 2100 reads back.
        for day in 0..47_500 {
            let date = Date::from_days(day);
            assert_eq!(Date::parse(&date.to_string()), Some(date));
            assert!(date.next_day() == Date::from_days(day + 1));
        }
    }

    #[test]
    fn the_rules() {
        let today = d("2026-11-22");
        assert!(check_valid_until("2027-11-22", today).is_ok());
        assert!(check_valid_until("2026-11-22", today).is_ok());
        let e = check_valid_until("2027-11-23", today).unwrap_err();
        assert!(e.contains("more than one year"), "{e}");
        assert!(
            check_valid_until("2026-11-21", today)
                .unwrap_err()
                .contains("past")
        );
        assert!(
            check_valid_until("tomorrow", today)
                .unwrap_err()
                .contains("not a date")
        );
        assert_eq!(check_valid_until("+1y", today), Ok(d("2027-11-22")));
        assert_eq!(check_valid_until("+40d", today), Ok(d("2027-01-01")));
        assert!(check_valid_until("+366d", today).is_err());
        assert!(check_valid_until("+2y", today).is_err());
        assert!(check_valid_until("++5d", today).is_err());
        assert!(check_valid_until("+d", today).is_err());
        assert_eq!(d("9999-12-31").next_day(), d("9999-12-31"));

        let until = d("2027-01-31");
        assert_eq!(State::of(false, until, d("2027-01-31")), State::Active);
        assert_eq!(State::of(false, until, d("2027-02-01")), State::Expired);
        assert_eq!(State::of(true, until, d("2027-01-01")), State::Cancelled);
        assert!(check_cancel(State::Active, until).is_ok());
        assert!(
            check_cancel(State::Expired, until)
                .unwrap_err()
                .contains("已失效")
        );
        assert!(check_cancel(State::Cancelled, until).is_err());
        // Extension: within a year of the day of the extension.
        let later = d("2027-06-01");
        assert!(
            check_extend(
                State::Active,
                until,
                "2028-06-01",
                later.min(d("2027-01-31"))
            )
            .is_err()
        );
        assert_eq!(
            check_extend(State::Active, until, "2028-01-31", d("2027-01-31")),
            Ok(d("2028-01-31"))
        );
        assert!(
            check_extend(State::Active, until, "2027-01-30", today)
                .unwrap_err()
                .contains("not later")
        );
        assert!(
            check_extend(State::Expired, until, "2027-12-01", later)
                .unwrap_err()
                .contains("expired")
        );
        assert!(check_extend(State::Cancelled, until, "2027-12-01", today).is_err());
    }

    #[test]
    fn lists() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            check_statuses(&s(&["入库", "放行", "入库"])),
            Ok(s(&["入库", "放行"]))
        );
        assert!(
            check_statuses(&s(&["released"]))
                .unwrap_err()
                .contains("released")
        );
        assert!(check_statuses(&[]).is_err());
        assert!(check_content(&s(&["receipts", "data"])).is_ok());
        assert!(check_content(&s(&["all"])).is_err());
        assert_eq!(base_subscribe("RET").unwrap().1.len(), 7);
        assert_eq!(base_subscribe("ALL").unwrap().0, s(&["receipts", "data"]));
        assert_eq!(base_subscribe("DATA").unwrap(), (s(&["data"]), vec![]));
        assert_eq!(
            base_subscribe("入库,放行").unwrap(),
            (s(&["receipts"]), s(&["入库", "放行"]))
        );
        assert!(base_subscribe("everything").is_err());
        assert!(base_subscribe(" ").is_err());
    }
}
