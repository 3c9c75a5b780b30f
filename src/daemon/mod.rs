//! The daemon: sources (sender folders, the customs InBox), the pipeline
//! (decode → validate → store → engine → outcome) and sinks (the customs
//! OutBox, the senders' InBoxes), started from the configuration.

pub mod stats;
