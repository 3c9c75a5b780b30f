//! The one integration-test binary; each module covers one capability.

mod cli;
mod differential;
mod docs;
mod encodings;
mod engine;
mod generated;
mod hostile;
mod inputs;
mod official;
mod props;
mod roundtrip;
mod sourcegen;
mod util;
