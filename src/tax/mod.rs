//! Taxes: pure computations, no I/O, no clock, no floats (`rust_decimal`).
//!
//! So far: amounts in Chinese capitals ([`capitals`]), as customs prints them
//! on tax certificates (进口税合计: 人民币壹佰柒拾伍元陆角陆分 ¥175.66), and the
//! comprehensive tax of a cross-border retail import at given rates
//! ([`cbec_tax`]).

// Pure core: no input may panic here. Slicing, indexing and unchecked
// arithmetic are refused at compile time (see ARCHITECTURE.md, Invariants).
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod capitals;
mod cbec;

pub use capitals::{CapitalsError, capitals};
pub use cbec::{CBEC_SHARE, CbecError, CbecTax, DEFAULT_VAT, cbec_tax, to_fen};
