//! The comprehensive tax of a cross-border e-commerce retail import within
//! the personal limits (跨境电商综合税): customs duty 0; consumption tax and
//! import VAT each levied at 70 % of what ordinary trade would pay.
//!
//! - consumption tax as normally levied = value ÷ (1 − c) × c, to the fen;
//! - consumption tax due = that × 70 %, to the fen;
//! - import VAT due = (value + consumption tax as normally levied) × v × 70 %,
//!   to the fen;
//!
//! where value is the transaction price including freight and insurance,
//! v the VAT rate and c the consumption-tax rate (fractions: 0.13). Amounts
//! are rounded half up (away from zero) to the fen.

use rust_decimal::{Decimal, RoundingStrategy};
use thiserror::Error;

/// The share of ordinary-trade VAT and consumption tax a retail import pays.
pub const CBEC_SHARE: Decimal = Decimal::from_parts(7, 0, 0, false, 1);

/// The default import VAT rate (13 %).
pub const DEFAULT_VAT: Decimal = Decimal::from_parts(13, 0, 0, false, 2);

/// The tax of one cross-border retail import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CbecTax {
    /// The dutiable value (transaction price, freight and insurance).
    pub value: Decimal,
    /// The VAT rate applied (a fraction).
    pub vat_rate: Decimal,
    /// The consumption-tax rate applied (a fraction).
    pub consumption_rate: Decimal,
    /// Customs duty: 0 within the personal limits.
    pub customs_duty: Decimal,
    /// Consumption tax due (70 % of the normal levy).
    pub consumption_tax: Decimal,
    /// Import VAT due (70 % of the normal levy).
    pub vat: Decimal,
    /// Their sum.
    pub total: Decimal,
}

/// Why a cross-border tax cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CbecError {
    /// A negative value.
    #[error("the value {0} is negative")]
    NegativeValue(Decimal),
    /// A rate outside 0 ≤ rate < 1.
    #[error("the {name} rate {rate} is not a fraction from 0 up to (not including) 1, like 0.13")]
    Rate {
        /// `VAT` or `consumption`.
        name: &'static str,
        /// The rate given.
        rate: Decimal,
    },
    /// An amount too large to compute exactly.
    #[error("the value {0} is too large to compute")]
    Overflow(Decimal),
}

/// Rounds half up (away from zero) to the fen, written with two decimals.
pub fn to_fen(d: Decimal) -> Decimal {
    let mut fen = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    fen.rescale(2);
    fen
}

/// The tax of a retail import of `value` at VAT rate `vat` and
/// consumption-tax rate `consumption`.
pub fn cbec_tax(value: Decimal, vat: Decimal, consumption: Decimal) -> Result<CbecTax, CbecError> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(CbecError::NegativeValue(value));
    }
    for (name, rate) in [("VAT", vat), ("consumption", consumption)] {
        if rate.is_sign_negative() && !rate.is_zero() || rate >= Decimal::ONE {
            return Err(CbecError::Rate { name, rate });
        }
    }
    let overflow = || CbecError::Overflow(value);
    // value ÷ (1 − c) × c: the normal levy, to the fen.
    let normal_consumption = Decimal::ONE
        .checked_sub(consumption)
        .and_then(|rest| value.checked_div(rest))
        .and_then(|base| base.checked_mul(consumption))
        .map(to_fen)
        .ok_or_else(overflow)?;
    let consumption_tax = normal_consumption
        .checked_mul(CBEC_SHARE)
        .map(to_fen)
        .ok_or_else(overflow)?;
    let vat_due = value
        .checked_add(normal_consumption)
        .and_then(|base| base.checked_mul(vat))
        .and_then(|normal| normal.checked_mul(CBEC_SHARE))
        .map(to_fen)
        .ok_or_else(overflow)?;
    let total = consumption_tax.checked_add(vat_due).ok_or_else(overflow)?;
    Ok(CbecTax {
        value,
        vat_rate: vat,
        consumption_rate: consumption,
        customs_duty: to_fen(Decimal::ZERO),
        consumption_tax,
        vat: vat_due,
        total,
    })
}
