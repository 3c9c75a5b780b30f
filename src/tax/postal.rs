//! The import tax of a parcel of personal postal items (进境物品进口税, 行邮税).
//!
//! - each line's tax = its dutiable value × its tax item's rate (or its
//!   article's own rate), from the table in force on the parcel's date;
//! - rounding half-up to the fen per line, then summed (or, configured, the
//!   unrounded sum once): [`Rounding`];
//! - a parcel's tax of 50 CNY or less (inclusive) is waived in full,
//!   otherwise due in full;
//! - a parcel's value is limited to 1,000 CNY (800 CNY from Hong Kong, Macao
//!   or Taiwan), except a parcel of one indivisible article: over the limit
//!   the parcel is returned or cleared as goods, and the result says so.

use rust_decimal::Decimal;
use serde::Serialize;
use thiserror::Error;

use super::capitals::{CapitalsError, capitals};
use super::cbec::to_fen;
use super::rates::{Rounding, Tables};
use crate::subscribe::Date;

/// One line as given: a tax item or an article code, and a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInput {
    /// `1`, `2`, `3` or an 8-digit article code.
    pub item: String,
    /// A value in CNY; for an article with a dutiable value per unit, the
    /// quantity of its unit.
    pub number: Decimal,
}

impl LineInput {
    /// Parses `ITEM:VALUE`.
    pub fn parse(text: &str) -> Result<LineInput, PostalError> {
        let bad = || PostalError::Line {
            line: text.to_owned(),
            why: "write ITEM:VALUE, ITEM a tax item (1, 2, 3) or an 8-digit article code"
                .to_owned(),
        };
        let (item, number) = text.split_once(':').ok_or_else(bad)?;
        let number =
            crate::model::parse_decimal(number.trim()).ok_or_else(|| PostalError::Line {
                line: text.to_owned(),
                why: format!("\"{}\" is not a number", number.trim()),
            })?;
        if item.trim().is_empty() {
            return Err(bad());
        }
        Ok(LineInput {
            item: item.trim().to_owned(),
            number,
        })
    }
}

/// What the parcel is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parcel {
    /// Its date (the table in force on it applies).
    pub date: Date,
    /// Where it comes from (ISO or customs country code), if known.
    pub origin: Option<String>,
    /// It holds one indivisible article.
    pub indivisible: bool,
    /// Its lines.
    pub lines: Vec<LineInput>,
    /// Rounding other than the tables' default.
    pub rounding: Option<Rounding>,
}

/// One line computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostalLine {
    /// The tax item (1, 2, 3).
    pub item: u8,
    /// The article code, when given by article.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
    /// The article's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The quantity, when the value comes from the article table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
    /// The article's unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The dutiable value.
    pub value: Decimal,
    /// The rate applied.
    pub rate: Decimal,
    /// The line's tax (to the fen under line rounding, exact otherwise).
    pub tax: Decimal,
}

/// A parcel's tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostalTax {
    /// The parcel's date.
    #[serde(serialize_with = "date_text")]
    pub date: Date,
    /// The table applied (its first day).
    #[serde(serialize_with = "date_text")]
    pub table: Date,
    /// The rounding applied.
    pub rounding: Rounding,
    /// The lines.
    pub lines: Vec<PostalLine>,
    /// The parcel's value.
    pub total_value: Decimal,
    /// The parcel's tax, to the fen.
    pub total_tax: Decimal,
    /// The waiver: a parcel's tax up to this (inclusive) is not collected.
    pub waiver: Decimal,
    /// Waived (50 CNY or less).
    pub exempt: bool,
    /// What is due: 0 when exempt.
    pub payable: Decimal,
    /// The value limit that applies.
    pub limit: Decimal,
    /// Over the limit (and not one indivisible article): returned or
    /// cleared as goods.
    pub over_limit: bool,
    /// `payable` in Chinese capitals.
    pub capitals: String,
}

/// Why a parcel's tax cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PostalError {
    /// No lines.
    #[error("a parcel needs at least one line (--line ITEM:VALUE)")]
    NoLines,
    /// A line that cannot be read or applied.
    #[error("line \"{line}\": {why}")]
    Line {
        /// The line as given.
        line: String,
        /// What is wrong.
        why: String,
    },
    /// No table in force on the date.
    #[error("no postal rate table is in force on {0} (the oldest starts {1})")]
    NoTable(Date, String),
    /// `--indivisible` with more than one article.
    #[error("--indivisible is for a parcel of one article (one line, quantity 1 at most): {0}")]
    Indivisible(String),
    /// An amount too large.
    #[error("the amounts are too large to compute")]
    Overflow,
    /// The payable amount cannot be written in capitals.
    #[error("{0}")]
    Capitals(#[from] CapitalsError),
}

fn date_text<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

/// Computes a parcel's tax with `tables`.
pub fn postal_tax(tables: &Tables, parcel: &Parcel) -> Result<PostalTax, PostalError> {
    if parcel.lines.is_empty() {
        return Err(PostalError::NoLines);
    }
    let table = tables.postal_at(parcel.date).ok_or_else(|| {
        let oldest = tables
            .postal
            .last()
            .map(|t| t.effective_from.to_string())
            .unwrap_or_default();
        PostalError::NoTable(parcel.date, oldest)
    })?;
    let rounding = parcel.rounding.unwrap_or(tables.parcel.rounding);
    let mut lines = Vec::with_capacity(parcel.lines.len());
    let (mut total_value, mut sum) = (Decimal::ZERO, Decimal::ZERO);
    for input in &parcel.lines {
        let err = |why: String| PostalError::Line {
            line: format!("{}:{}", input.item, input.number),
            why,
        };
        if input.number.is_sign_negative() && !input.number.is_zero() {
            return Err(err("a negative number".to_owned()));
        }
        let mut line = match input.item.as_str() {
            code if code.len() == 8 => {
                let a = tables
                    .article(code)
                    .ok_or_else(|| err(format!("article {code} is not in the article table")))?;
                let (value, quantity) = match a.value {
                    Some(unit_value) => (
                        unit_value
                            .checked_mul(input.number)
                            .ok_or(PostalError::Overflow)?,
                        Some(input.number),
                    ),
                    None => (input.number, None),
                };
                let rate = match a.rate {
                    Some(r) => r,
                    None => {
                        table
                            .item(a.item)
                            .ok_or_else(|| {
                                err(format!(
                                    "tax item {} is not in the table of {}",
                                    a.item, table.effective_from
                                ))
                            })?
                            .rate
                    }
                };
                PostalLine {
                    item: a.item,
                    article: Some(a.code.clone()),
                    name: Some(a.name.clone()),
                    quantity,
                    unit: Some(a.unit.clone()),
                    value,
                    rate,
                    tax: Decimal::ZERO,
                }
            }
            other => {
                let item = other
                    .parse::<u8>()
                    .ok()
                    .and_then(|n| table.item(n))
                    .ok_or_else(|| {
                        let known: Vec<String> =
                            table.items.iter().map(|i| i.item.to_string()).collect();
                        err(format!(
                            "\"{other}\" is neither a tax item ({}) nor an 8-digit article code",
                            known.join(", ")
                        ))
                    })?;
                PostalLine {
                    item: item.item,
                    article: None,
                    name: None,
                    quantity: None,
                    unit: None,
                    value: input.number,
                    rate: item.rate,
                    tax: Decimal::ZERO,
                }
            }
        };
        let exact = line
            .value
            .checked_mul(line.rate)
            .ok_or(PostalError::Overflow)?;
        line.tax = match rounding {
            Rounding::Line => to_fen(exact),
            Rounding::Parcel => exact.normalize(),
        };
        total_value = total_value
            .checked_add(line.value)
            .ok_or(PostalError::Overflow)?;
        sum = sum.checked_add(line.tax).ok_or(PostalError::Overflow)?;
        lines.push(line);
    }
    if parcel.indivisible {
        match lines.as_slice() {
            [only] => {
                if let Some(q) = only.quantity.filter(|q| *q > Decimal::ONE) {
                    return Err(PostalError::Indivisible(format!(
                        "this line has a quantity of {q}"
                    )));
                }
            }
            more => {
                return Err(PostalError::Indivisible(format!(
                    "this parcel has {} lines",
                    more.len()
                )));
            }
        }
    }
    let total_tax = to_fen(sum);
    let exempt = total_tax <= tables.parcel.waiver;
    let payable = if exempt {
        to_fen(Decimal::ZERO)
    } else {
        total_tax
    };
    let limit = if parcel
        .origin
        .as_deref()
        .is_some_and(|o| tables.lower_limit(o))
    {
        tables.parcel.limit_hk_mo_tw
    } else {
        tables.parcel.limit
    };
    let over_limit = total_value > limit && !parcel.indivisible;
    total_value.rescale(2.max(total_value.scale()));
    Ok(PostalTax {
        date: parcel.date,
        table: table.effective_from,
        rounding,
        lines,
        total_value,
        total_tax,
        waiver: tables.parcel.waiver,
        exempt,
        payable,
        limit,
        over_limit,
        capitals: capitals(payable)?,
    })
}
