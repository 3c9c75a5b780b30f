//! The tax rates as dated data (`schemas/tax-rates.toml`): the postal-items
//! tables (tax items and their rates, the article table, the parcel rules)
//! and the cross-border tables (VAT and consumption tax by HS-code prefix).
//!
//! Parsed from text ([`Tables::from_toml`]); the file shipped in `schemas/`
//! is built in ([`Tables::builtin`]). A computation takes the table whose
//! `effective_from` is the latest on or before its date.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::parse_decimal;
use crate::subscribe::Date;

/// The rate file shipped with the gateway.
pub const BUILTIN: &str = include_str!("../../schemas/tax-rates.toml");

/// Why a rate file was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RatesError {
    /// Not TOML of the expected shape (toml names the line and key).
    #[error("{0}")]
    Toml(String),
    /// A value that does not make sense.
    #[error("{place}: {why}")]
    Invalid {
        /// Where (`postal.table[2] effective_from`).
        place: String,
        /// What is wrong.
        why: String,
    },
}

/// How the tax of a parcel's lines is rounded to the fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rounding {
    /// Each line half-up to the fen, then summed.
    Line,
    /// The unrounded sum, half-up to the fen once.
    Parcel,
}

impl Rounding {
    /// `line` or `parcel`.
    pub fn parse(text: &str) -> Option<Rounding> {
        match text.trim() {
            "line" => Some(Rounding::Line),
            "parcel" => Some(Rounding::Parcel),
            _ => None,
        }
    }

    /// `line` or `parcel`.
    pub fn name(self) -> &'static str {
        match self {
            Rounding::Line => "line",
            Rounding::Parcel => "parcel",
        }
    }
}

/// The parcel rules of personal postal items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParcelRules {
    /// A parcel's tax up to this amount (inclusive) is waived.
    pub waiver: Decimal,
    /// A parcel's value limit.
    pub limit: Decimal,
    /// The limit to or from Hong Kong, Macao and Taiwan.
    pub limit_hk_mo_tw: Decimal,
    /// The origins the lower limit applies to.
    pub hk_mo_tw: Vec<String>,
    /// The default rounding.
    pub rounding: Rounding,
}

/// One tax item (税目) of a postal table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxItem {
    /// 1, 2 or 3.
    pub item: u8,
    /// Its rate (a fraction).
    pub rate: Decimal,
    /// What it covers, as the table says.
    pub zh: String,
    /// The same in English.
    pub en: String,
}

/// The postal tax items in force from a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostalTable {
    /// First day in force.
    #[serde(serialize_with = "date_text")]
    pub effective_from: Date,
    /// Where the rates come from.
    pub source: String,
    /// The items, by number.
    pub items: Vec<TaxItem>,
}

impl PostalTable {
    /// A tax item.
    pub fn item(&self, item: u8) -> Option<&TaxItem> {
        self.items.iter().find(|i| i.item == item)
    }
}

/// One article of the article table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Article {
    /// The 8-digit article code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its tax item.
    pub item: u8,
    /// Its unit.
    pub unit: String,
    /// Dutiable value per unit; `None` where customs sets it case by case.
    pub value: Option<Decimal>,
    /// Its own rate, where it is not its item's (3 % VAT drugs).
    pub rate: Option<Decimal>,
}

/// A cross-border rate by HS-code prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HsRate {
    /// The HS-code prefix (digits).
    pub hs: String,
    /// VAT rate; the table's default when `None`.
    pub vat: Option<Decimal>,
    /// Consumption-tax rate; the table's default when `None`.
    pub consumption: Option<Decimal>,
    /// What it covers.
    pub zh: String,
}

/// The cross-border rates in force from a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CbecTable {
    /// First day in force.
    #[serde(serialize_with = "date_text")]
    pub effective_from: Date,
    /// Where the rates come from.
    pub source: String,
    /// Default VAT rate.
    pub vat: Decimal,
    /// Default consumption-tax rate.
    pub consumption: Decimal,
    /// Rates by HS-code prefix.
    pub rates: Vec<HsRate>,
}

/// The rates for one HS code: VAT, consumption tax and the row they come
/// from (`None`: the table's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsRates<'a> {
    /// VAT rate.
    pub vat: Decimal,
    /// Consumption-tax rate.
    pub consumption: Decimal,
    /// The matching row.
    pub row: Option<&'a HsRate>,
}

impl CbecTable {
    /// The rates of `hs`: the longest matching prefix, else the defaults.
    pub fn rates_for(&self, hs: &str) -> HsRates<'_> {
        let hs = hs.trim();
        let row = self
            .rates
            .iter()
            .filter(|r| hs.starts_with(r.hs.as_str()))
            .max_by_key(|r| r.hs.len());
        HsRates {
            vat: row.and_then(|r| r.vat).unwrap_or(self.vat),
            consumption: row.and_then(|r| r.consumption).unwrap_or(self.consumption),
            row,
        }
    }
}

/// Every table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tables {
    /// The parcel rules.
    pub parcel: ParcelRules,
    /// Postal tables, newest first.
    pub postal: Vec<PostalTable>,
    /// The article table.
    pub articles: Vec<Article>,
    /// Cross-border tables, newest first.
    pub cbec: Vec<CbecTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    postal: PostalFile,
    cbec: CbecFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostalFile {
    waiver: String,
    limit: String,
    limit_hk_mo_tw: String,
    hk_mo_tw: Vec<String>,
    rounding: Rounding,
    table: Vec<PostalTableFile>,
    #[serde(default)]
    article: Vec<ArticleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostalTableFile {
    effective_from: String,
    source: String,
    items: BTreeMap<String, ItemFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemFile {
    rate: String,
    zh: String,
    #[serde(default)]
    en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArticleFile {
    code: String,
    name: String,
    item: u8,
    unit: String,
    value: Option<String>,
    rate: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CbecFile {
    table: Vec<CbecTableFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CbecTableFile {
    effective_from: String,
    source: String,
    vat: String,
    consumption: String,
    #[serde(default)]
    rates: Vec<HsRateFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HsRateFile {
    hs: String,
    vat: Option<String>,
    consumption: Option<String>,
    #[serde(default)]
    zh: String,
}

fn date_text<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

fn invalid(place: impl Into<String>, why: impl Into<String>) -> RatesError {
    RatesError::Invalid {
        place: place.into(),
        why: why.into(),
    }
}

fn amount(place: &str, text: &str) -> Result<Decimal, RatesError> {
    match parse_decimal(text.trim()) {
        Some(d) if !d.is_sign_negative() || d.is_zero() => Ok(d),
        _ => Err(invalid(
            place,
            format!("\"{text}\" is not an amount of zero or more"),
        )),
    }
}

fn rate(place: &str, text: &str) -> Result<Decimal, RatesError> {
    let r = amount(place, text)?;
    if r >= Decimal::ONE {
        return Err(invalid(
            place,
            format!("\"{text}\" is not a rate: a fraction below 1, like 0.13"),
        ));
    }
    Ok(r)
}

fn date(place: &str, text: &str) -> Result<Date, RatesError> {
    Date::parse(text).ok_or_else(|| invalid(place, format!("\"{text}\" is not a date YYYY-MM-DD")))
}

impl Tables {
    /// Parses a rate file.
    pub fn from_toml(text: &str) -> Result<Tables, RatesError> {
        let file: File = toml::from_str(text)
            .map_err(|e| RatesError::Toml(e.to_string().trim_end().to_owned()))?;
        let p = file.postal;
        let parcel = ParcelRules {
            waiver: amount("postal.waiver", &p.waiver)?,
            limit: amount("postal.limit", &p.limit)?,
            limit_hk_mo_tw: amount("postal.limit_hk_mo_tw", &p.limit_hk_mo_tw)?,
            hk_mo_tw: p.hk_mo_tw.iter().map(|c| c.trim().to_uppercase()).collect(),
            rounding: p.rounding,
        };
        let mut postal = Vec::with_capacity(p.table.len());
        for (n, t) in p.table.iter().enumerate() {
            let at = format!("postal.table[{}]", n.saturating_add(1));
            let mut items = Vec::with_capacity(t.items.len());
            for (k, i) in &t.items {
                let item = match k.trim().parse::<u8>() {
                    Ok(v @ 1..=9) => v,
                    _ => {
                        return Err(invalid(
                            format!("{at}.items"),
                            format!("\"{k}\" is not a tax item number (1 to 9)"),
                        ));
                    }
                };
                if items.iter().any(|i: &TaxItem| i.item == item) {
                    return Err(invalid(
                        format!("{at}.items"),
                        format!("tax item {item} is listed twice (\"{k}\")"),
                    ));
                }
                items.push(TaxItem {
                    item,
                    rate: rate(&format!("{at}.items.{k}.rate"), &i.rate)?,
                    zh: i.zh.clone(),
                    en: i.en.clone(),
                });
            }
            if items.is_empty() {
                return Err(invalid(at, "a table without tax items"));
            }
            postal.push(PostalTable {
                effective_from: date(&format!("{at}.effective_from"), &t.effective_from)?,
                source: t.source.clone(),
                items,
            });
        }
        let mut articles: Vec<Article> = Vec::with_capacity(p.article.len());
        for (n, a) in p.article.iter().enumerate() {
            let at = format!("postal.article[{}]", n.saturating_add(1));
            let code = a.code.trim();
            if code.len() != 8 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    format!("{at}.code"),
                    format!("\"{code}\" is not an 8-digit article code"),
                ));
            }
            if articles.iter().any(|x| x.code == code) {
                return Err(invalid(
                    format!("{at}.code"),
                    format!("article {code} is listed twice"),
                ));
            }
            if !postal.iter().all(|t| t.item(a.item).is_some()) {
                return Err(invalid(
                    format!("{at}.item"),
                    format!("tax item {} is not in every postal table", a.item),
                ));
            }
            articles.push(Article {
                code: code.to_owned(),
                name: a.name.clone(),
                item: a.item,
                unit: a.unit.clone(),
                value: a
                    .value
                    .as_deref()
                    .map(|v| amount(&format!("{at}.value"), v))
                    .transpose()?,
                rate: a
                    .rate
                    .as_deref()
                    .map(|v| rate(&format!("{at}.rate"), v))
                    .transpose()?,
            });
        }
        let mut cbec = Vec::with_capacity(file.cbec.table.len());
        for (n, t) in file.cbec.table.iter().enumerate() {
            let at = format!("cbec.table[{}]", n.saturating_add(1));
            let mut rates = Vec::with_capacity(t.rates.len());
            for (m, r) in t.rates.iter().enumerate() {
                let rat = format!("{at}.rates[{}]", m.saturating_add(1));
                let hs = r.hs.trim();
                if hs.is_empty() || hs.len() > 10 || !hs.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid(
                        format!("{rat}.hs"),
                        format!("\"{hs}\" is not an HS-code prefix (1 to 10 digits)"),
                    ));
                }
                rates.push(HsRate {
                    hs: hs.to_owned(),
                    vat: r
                        .vat
                        .as_deref()
                        .map(|v| rate(&format!("{rat}.vat"), v))
                        .transpose()?,
                    consumption: r
                        .consumption
                        .as_deref()
                        .map(|v| rate(&format!("{rat}.consumption"), v))
                        .transpose()?,
                    zh: r.zh.clone(),
                });
            }
            cbec.push(CbecTable {
                effective_from: date(&format!("{at}.effective_from"), &t.effective_from)?,
                source: t.source.clone(),
                vat: rate(&format!("{at}.vat"), &t.vat)?,
                consumption: rate(&format!("{at}.consumption"), &t.consumption)?,
                rates,
            });
        }
        if postal.is_empty() || cbec.is_empty() {
            return Err(invalid(
                "tables",
                "at least one postal and one cbec table are needed",
            ));
        }
        for (name, dates) in [
            (
                "postal.table",
                postal.iter().map(|t| t.effective_from).collect::<Vec<_>>(),
            ),
            (
                "cbec.table",
                cbec.iter().map(|t| t.effective_from).collect(),
            ),
        ] {
            let mut sorted = dates.clone();
            sorted.sort();
            sorted.dedup();
            if sorted.len() != dates.len() {
                return Err(invalid(name, "two tables have the same effective_from"));
            }
        }
        postal.sort_by_key(|t| std::cmp::Reverse(t.effective_from));
        cbec.sort_by_key(|t| std::cmp::Reverse(t.effective_from));
        Ok(Tables {
            parcel,
            postal,
            articles,
            cbec,
        })
    }

    /// The shipped tables (`schemas/tax-rates.toml`, built in); `None`
    /// only if that file were broken, which a test rules out.
    pub fn builtin() -> Option<Arc<Tables>> {
        static BUILT: OnceLock<Option<Arc<Tables>>> = OnceLock::new();
        BUILT
            .get_or_init(|| Tables::from_toml(BUILTIN).ok().map(Arc::new))
            .clone()
    }

    /// The postal table in force on `on`.
    pub fn postal_at(&self, on: Date) -> Option<&PostalTable> {
        self.postal.iter().find(|t| t.effective_from <= on)
    }

    /// The cross-border table in force on `on`.
    pub fn cbec_at(&self, on: Date) -> Option<&CbecTable> {
        self.cbec.iter().find(|t| t.effective_from <= on)
    }

    /// An article by its code.
    pub fn article(&self, code: &str) -> Option<&Article> {
        self.articles.iter().find(|a| a.code == code.trim())
    }

    /// Whether `origin` (ISO code or customs country code) takes the lower
    /// Hong Kong, Macao and Taiwan limit.
    pub fn lower_limit(&self, origin: &str) -> bool {
        let o = origin.trim().to_uppercase();
        self.parcel.hk_mo_tw.contains(&o)
    }
}
