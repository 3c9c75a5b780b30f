//! The tax questions the CLI (`customs-gateway tax …`) and the admin API
//! (`/api/tax/…`) answer, with one JSON shape for both.

use rust_decimal::Decimal;
use serde_json::{Value as Json, json};

use super::cbec::{CbecError, CbecTax, cbec_tax};
use super::postal::PostalTax;
use super::rates::{HsRate, Tables};
use crate::subscribe::Date;

/// A cross-border tax question: a value and either an HS code (rates from
/// the table in force on `date`) or explicit rates, which win.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CbecQuery {
    /// The dutiable value.
    pub value: Decimal,
    /// The HS code of the goods.
    pub hs: Option<String>,
    /// A VAT rate that overrides the table's.
    pub vat: Option<Decimal>,
    /// A consumption-tax rate that overrides the table's.
    pub consumption: Option<Decimal>,
    /// The date whose table applies.
    pub date: Date,
}

/// A cross-border tax answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CbecAnswer {
    /// The tax.
    pub tax: CbecTax,
    /// The HS code asked about.
    pub hs: Option<String>,
    /// The table row that matched it.
    pub row: Option<HsRate>,
    /// The table's first day.
    pub table: Date,
}

/// Answers a cross-border tax question.
pub fn cbec(tables: &Tables, q: &CbecQuery) -> Result<CbecAnswer, String> {
    let table = tables
        .cbec_at(q.date)
        .ok_or_else(|| format!("no cross-border rate table is in force on {}", q.date))?;
    let found = table.rates_for(q.hs.as_deref().unwrap_or(""));
    let row = q.hs.as_ref().and(found.row).cloned();
    let vat = q.vat.unwrap_or(found.vat);
    let consumption = q.consumption.unwrap_or(found.consumption);
    let tax = cbec_tax(q.value, vat, consumption).map_err(|e: CbecError| e.to_string())?;
    Ok(CbecAnswer {
        tax,
        hs: q.hs.clone(),
        row,
        table: table.effective_from,
    })
}

/// The JSON of a cross-border answer: `value`, `vat_rate`,
/// `consumption_rate`, `customs_duty`, `consumption_tax`, `vat`, `total`,
/// and `hs`, `hs_row`, `table` (the table's first day).
pub fn cbec_json(a: &CbecAnswer) -> Json {
    json!({
        "value": a.tax.value.to_string(),
        "vat_rate": a.tax.vat_rate.to_string(),
        "consumption_rate": a.tax.consumption_rate.to_string(),
        "customs_duty": a.tax.customs_duty.to_string(),
        "consumption_tax": a.tax.consumption_tax.to_string(),
        "vat": a.tax.vat.to_string(),
        "total": a.tax.total.to_string(),
        "hs": a.hs,
        "hs_row": a.row,
        "table": a.table.to_string(),
    })
}

/// The JSON of a parcel's tax: `lines` (each `item`, `value`, `rate`,
/// `tax`, and for an article `article`, `name`, `quantity`, `unit`),
/// `total_value`, `total_tax`, `exempt`, `payable`, `limit`, `over_limit`,
/// `capitals`, `date`, `table`, `rounding`.
pub fn postal_json(t: &PostalTax) -> Json {
    serde_json::to_value(t).unwrap_or(Json::Null)
}

/// The tables in force on `date`, as JSON: `date`, `postal` (the table,
/// its items), `parcel` (waiver, limits, rounding), `articles`, `cbec`.
pub fn rates_json(tables: &Tables, date: Date) -> Json {
    json!({
        "date": date.to_string(),
        "postal": tables.postal_at(date),
        "parcel": tables.parcel,
        "articles": tables.articles,
        "cbec": tables.cbec_at(date),
    })
}
