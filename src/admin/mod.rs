//! The local admin HTTP API, and the CLI's client for it.
pub mod api;
