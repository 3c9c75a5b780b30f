//! Taxes: pure computations, no I/O, no clock, no floats (`rust_decimal`).
//!
//! So far: amounts in Chinese capitals ([`capitals`]), as customs prints them
//! on tax certificates (进口税合计: 人民币壹佰柒拾伍元陆角陆分 ¥175.66).

// Pure core: no input may panic here. Slicing, indexing and unchecked
// arithmetic are refused at compile time (see ARCHITECTURE.md, Invariants).
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod capitals;

pub use capitals::{CapitalsError, capitals};
