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
    /// Platforms' TCP connections past the handshake (`None`: no TCP source).
    pub tcp_connections: Option<usize>,
    /// The overdue sets, oldest first (at most 100).
    pub overdue: Vec<OverdueSet>,
}

/// An order set (or a lone waybill) waiting past `engine.incomplete_timeout_secs`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OverdueSet {
    /// `orderNo=…,ebpCode=…`; empty for a waybill that found no set.
    pub key: String,
    /// The documents there (`msg.doc TYPE`).
    pub members: Vec<String>,
    /// The message types missing.
    pub missing: Vec<String>,
    /// Waiting since (ms since the Unix epoch).
    pub since_ms: u64,
    /// Waiting for this long, in seconds.
    pub waited_secs: u64,
}

/// Counters the tasks share (queue depths between them).
#[derive(Debug, Default)]
pub struct Gauges {
    /// Files claimed by a scanner and not yet stored.
    pub claimed: std::sync::atomic::AtomicUsize,
    /// Forward jobs waiting in the forwarder.
    pub forward_queued: std::sync::atomic::AtomicUsize,
    /// Files written to customs and not yet seen sent or failed.
    pub forward_written: std::sync::atomic::AtomicUsize,
    /// Platforms' TCP connections past the handshake.
    pub tcp_connections: std::sync::atomic::AtomicUsize,
    /// Whether the TCP source runs.
    pub tcp_listening: std::sync::atomic::AtomicBool,
}
