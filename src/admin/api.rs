//! Placeholder until the admin API lands (replaced by the admin branch).

use tokio_util::sync::CancellationToken;

/// The admin API's state.
#[derive(Clone)]
pub struct AdminState {
    /// The store.
    pub store: crate::store::Store,
    /// When the daemon started.
    pub started: std::time::Instant,
    /// The same, ms since the epoch.
    pub started_ms: u64,
    /// The pipeline's statistics.
    pub stats: tokio::sync::watch::Receiver<crate::daemon::stats::PipelineStats>,
    /// The bearer token, if any.
    pub token: Option<String>,
}

/// Serves until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AdminState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let _keep = (listener, state);
    shutdown.cancelled().await;
    Ok(())
}
