//! Taxes: pure computations, no I/O, no clock, no floats (`rust_decimal`).
//!
//! - amounts in Chinese capitals ([`capitals`]), as customs prints them on
//!   tax certificates (进口税合计: 人民币壹佰柒拾伍元陆角陆分 ¥175.66);
//! - the comprehensive tax of a cross-border retail import ([`cbec_tax`]);
//! - the import tax of a parcel of personal postal items ([`postal_tax`]);
//! - the rates of both as dated data ([`Tables`], `schemas/tax-rates.toml`);
//! - the electronic tax bills CEB816/CEB818 and their status ([`TaxBill`]).

// Pure core: no input may panic here. Slicing, indexing and unchecked
// arithmetic are refused at compile time (see ARCHITECTURE.md, Invariants).
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod bill;
mod capitals;
mod cbec;
mod postal;
pub mod query;
mod rates;

pub use bill::{Applied, BillAmounts, BillEvent, BillStatus, BillUpdate, TaxBill};
pub use capitals::{CapitalsError, capitals};
pub use cbec::{CBEC_SHARE, CbecError, CbecTax, DEFAULT_VAT, cbec_tax, to_fen};
pub use postal::{LineInput, Parcel, PostalError, PostalLine, PostalTax, postal_tax};
pub use rates::{
    Article, BUILTIN, CbecTable, HsRate, HsRates, ParcelRules, PostalTable, RatesError, Rounding,
    Tables, TaxItem,
};
