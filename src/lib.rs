//! customs-gateway: reads, checks and writes China Customs cross-border
//! e-commerce (CEB) messages and customs-declaration receipts.
//!
//! # Layout
//!
//! The core is pure (no I/O, no clock, no panics on input):
//!
//! - [`schema`]: the field rules of every message, generated from `schemas/*.toml`.
//! - [`model`]: the typed model ([`model::Message`], [`model::Document`], [`model::Record`]).
//! - [`codec`]: bytes <-> model (tolerant reading, strict writing).
//! - [`validate`]: per-document validation driven by [`schema`].
//! - [`engine`]: the cross-document check (三单对碰) over order, payment, waybill and inventory.
//! - [`formats`]: dates, ID card check digits, telephone numbers.
//! - [`diag`]: the diagnostics every check reports.
//!
//! The edges do I/O:
//!
//! - [`inspect`]: the `check` command's library half (walks folders, reads files).
//! - [`config`]: the configuration file and the enterprise registry it names (reads files).
//!
//! The daemon (`serve`) adds, around the same core:
//!
//! - [`track`] (pure): statuses, receipt order, business-key links, sender scope.
//! - [`subscribe`] (pure): subscription rules, customs codes onto subscribed
//!   statuses, the owner of a document.
//! - [`store`]: the sled store, the only module that names sled.
//! - [`daemon`]: sources (folders), the pipeline, sinks (customs, sender InBoxes).
//! - [`admin`]: the local admin HTTP API and the CLI's client for it.
//! - [`metrics`]: the Prometheus metrics (names, help texts, the helpers the
//!   edges call) that the admin API serves at `/metrics`.
//! - [`protocol`] (pure): the TCP wire protocol's frames (`PROTOCOL.md`);
//!   [`daemon::tcp`] serves it, [`client`] speaks it (`send`, the load generator).
//! - [`simulate`]: a customs simulator (`simulate-customs`) answering the
//!   customs OutBox with receipts, for rehearsals.
//!
//! Every public item is documented (`missing_docs` is denied).

#![deny(missing_docs)]

pub mod admin;
pub mod client;
pub mod codec;
pub mod config;
pub mod daemon;
pub mod diag;
pub mod engine;
pub mod formats;
pub mod inspect;
pub mod keygen;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod protocol;
pub mod schema;
pub mod sig;
pub mod simulate;
pub mod store;
pub mod subscribe;
pub mod tax;
pub mod track;
pub mod validate;
