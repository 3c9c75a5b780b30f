//! What the pipeline publishes after every batch, for the admin API.

use serde::Serialize;

/// A snapshot of the pipeline's in-memory state (the store holds the rest).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PipelineStats {
    /// Order sets the engine holds open (incomplete, or decided and not yet closed).
    pub open_sets: usize,
    /// Open sets past `engine.incomplete_timeout_secs`, and waybills waiting as long.
    pub overdue_sets: usize,
    /// Waybills waiting for their set.
    pub pending_waybills: usize,
    /// Files claimed and not yet stored.
    pub claimed: usize,
    /// Messages queued for customs and not yet written.
    pub forward_queued: usize,
    /// Messages written to the customs OutBox and not yet seen sent.
    pub forward_written: usize,
    /// Messages parked after too many transmission failures.
    pub parked: usize,
    /// Receipts waiting to be written into a sender's InBox.
    pub inbox_pending: usize,
    /// Batches stored since start.
    pub batches: u64,
    /// Files taken since start.
    pub files: u64,
    /// Flushes (fsyncs of the store) since start.
    pub flushes: u64,
}
