//! The one integration-test binary; each module covers one capability.

mod cli;
mod differential;
mod docs;
mod encodings;
mod engine;
mod hostile;
mod official;
mod props;
mod receipts;
mod roundtrip;
mod unsupported;
mod util;
mod values;
