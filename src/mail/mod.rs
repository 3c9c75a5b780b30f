//! Personal postal items (the one-stop mail platform, GACS announcement 2025
//! No. 127) and the personal-items tax payment (the single window's 税费支付):
//! the three state machines the gateway keeps for them, pure.
//!
//! - [`item`]: a mail item's customs status by mail number (arrived,
//!   declaration required, under review, tax pending, released …);
//! - [`agreement`]: three-party agreements (三方协议: payer, bank, customs)
//!   with the single window's states verbatim (签约处理中, 签约成功 …);
//! - [`certificate`]: tax certificates (缴纳证) and their payments
//!   (未支付, 支付处理中, 支付成功, 支付失败, 已作废; 已重新支付);
//! - [`mask`]: phone, account and ID numbers as every output shows them,
//!   and the access rule (a recipient sees only what is addressed to their
//!   phone);
//! - [`print`]: a certificate as the printable page of the official form.
//!
//! Every refused move is an `Err` with a sentence naming the state and what
//! is allowed from it. Times are passed in (ms since the Unix epoch).

// Pure core: no input may panic here (see ARCHITECTURE.md, Invariants).
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

pub mod agreement;
pub mod certificate;
pub mod item;
pub mod mask;
pub mod messages;
pub mod print;
