//! The one integration-test binary; each module covers one capability.

mod admin;
mod check_sets;
mod cli;
mod crash;
mod daemon;
mod differential;
mod docs;
mod encodings;
mod engine;
mod gateway;
mod generated;
mod hostile;
mod inputs;
mod official;
mod props;
mod push;
mod push_email;
mod receipts;
mod replay;
mod roundtrip;
mod simulate;
mod sourcegen;
mod tcp;
mod unsupported;
mod util;
mod values;
