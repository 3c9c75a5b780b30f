//! The daemon's Prometheus metrics: every metric's name, help text and
//! labels, and the one-line helpers the daemon's edges call.
//!
//! The facade is the `metrics` crate; the recorder is
//! `metrics-exporter-prometheus`'s, built without its HTTP listener and push
//! gateway ([`install`]): the admin API renders it at `GET /metrics`
//! ([`render`]). Until [`install`] runs (the `check` command, the library's
//! tests, an admin API served without the daemon) every helper is a no-op
//! and [`render`] is `None`.
//!
//! Names follow the Prometheus conventions: `customs_gateway_` first,
//! counters end in `_total`, durations are seconds in `_seconds`
//! histograms. Labels are few-valued: a sender's, platform's or client's
//! configured id, a message type, a rule code, a status; never a document
//! id or a business key. Text from outside (a message's root element, a
//! customs status code) is mapped onto known values or `other` first, so a
//! hostile file cannot make new series.
//!
//! The pure core (codec, model, schema, validate, engine, track, protocol,
//! subscribe) records nothing: the pipeline, the store, the push workers
//! and the admin API call these helpers.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use thiserror::Error;

use crate::config::Config;
use crate::daemon::stats::PipelineStats;
use crate::schema::{MessageSpec, RuleInfo};
use crate::store::records::Disposition;
use crate::store::{Finding, MessageRecord};

/// Inbound messages stored, by source kind, source and message type.
pub const RECEIVED: &str = "customs_gateway_messages_received_total";
/// Refusals at intake, by rule.
pub const REFUSED: &str = "customs_gateway_refused_total";
/// Order-set verdicts, by outcome.
pub const SETS: &str = "customs_gateway_sets_total";
/// Open order sets (gauge).
pub const OPEN_SETS: &str = "customs_gateway_open_sets";
/// Overdue order sets and waybills (gauge).
pub const OVERDUE_SETS: &str = "customs_gateway_overdue_sets";
/// Waybills waiting for their set (gauge).
pub const WAITING_WAYBILLS: &str = "customs_gateway_waiting_waybills";
/// Files claimed and not yet stored (gauge).
pub const CLAIMED_FILES: &str = "customs_gateway_claimed_files";
/// Messages on their way to customs, by state (gauge).
pub const FORWARDS: &str = "customs_gateway_forwards";
/// Receipts waiting to be written into a sender's InBox (gauge).
pub const INBOX_PENDING: &str = "customs_gateway_inbox_pending";
/// Platforms' TCP connections past the handshake (gauge).
pub const TCP_CONNECTIONS: &str = "customs_gateway_tcp_connections";
/// Messages written into the customs OutBox.
pub const FORWARDED: &str = "customs_gateway_forwarded_total";
/// Messages the import client sent on to customs.
pub const TRANSMITTED: &str = "customs_gateway_transmitted_total";
/// Messages the import client failed to send.
pub const TRANSMISSION_FAILURES: &str = "customs_gateway_transmission_failures_total";
/// Customs receipt documents, by type and status.
pub const RECEIPTS: &str = "customs_gateway_receipts_total";
/// Push deliveries, by client and outcome.
pub const PUSHES: &str = "customs_gateway_pushes_total";
/// Entries in a client's push queue (gauge).
pub const OUTBOX_DEPTH: &str = "customs_gateway_outbox_depth";
/// Entries in a client's parked list (gauge).
pub const OUTBOX_PARKED: &str = "customs_gateway_outbox_parked";
/// Store flush (fsync) durations.
pub const STORE_FLUSH_SECONDS: &str = "customs_gateway_store_flush_seconds";
/// Ingest latency of inbound messages.
pub const INGEST_SECONDS: &str = "customs_gateway_ingest_seconds";
/// Configurations applied by a reload.
pub const CONFIG_RELOADS: &str = "customs_gateway_config_reloads_total";
/// Reloads refused (the running configuration stays).
pub const CONFIG_RELOAD_FAILURES: &str = "customs_gateway_config_reload_failures_total";
/// Signatures of inbound declarations verified, by result.
pub const SIGNATURES: &str = "customs_gateway_signatures_total";
/// The version running (gauge, always 1).
pub const BUILD_INFO: &str = "customs_gateway_build_info";

/// The histograms' bucket bounds, in seconds (0.5 ms to 10 s).
pub const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often recorded histogram samples are folded into their buckets
/// when nobody scrapes (so they do not pile up).
const UPKEEP: Duration = Duration::from_secs(5);

/// The installed recorder's handle (set once by [`install`]).
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Why the recorder could not be installed.
#[derive(Debug, Error)]
pub enum MetricsError {
    /// The bucket bounds were refused.
    #[error("metrics: {0}")]
    Build(#[from] metrics_exporter_prometheus::BuildError),
    /// Another recorder is installed in this process.
    #[error("metrics: a recorder is already installed")]
    Installed,
    /// The upkeep thread could not start.
    #[error("metrics: cannot start the upkeep thread: {0}")]
    Upkeep(#[from] std::io::Error),
}

/// Installs the process's recorder (once: `serve` calls it before the
/// daemon starts), describes every metric, and sets to 0 the series that
/// should be visible before anything happens: the label-less counters, the
/// set outcomes, and each configured client's push counters and queues.
pub fn install(config: &Config) -> Result<(), MetricsError> {
    if HANDLE.get().is_some() {
        return Err(MetricsError::Installed);
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|_| MetricsError::Installed)?;
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP);
                upkeep.run_upkeep();
            }
        })?;
    let _ = HANDLE.set(handle);
    describe();
    initialise(config);
    Ok(())
}

/// Whether a recorder is installed in this process.
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

/// The metrics in the Prometheus text format; `None` when no recorder is
/// installed in this process.
pub fn render() -> Option<String> {
    HANDLE.get().map(PrometheusHandle::render)
}

/// Every metric's help text.
fn describe() {
    describe_counter!(
        RECEIVED,
        Unit::Count,
        "Inbound messages stored, by source kind (sender, tcp, customs), source (the sender's or platform's id, or customs) and message type (CEB311 ...; other for a message the gateway does not model, unknown when unreadable)."
    );
    describe_counter!(
        SIGNATURES,
        Unit::Count,
        "Signatures of inbound declarations looked at, by result: the rule code (SIGNATURE_VERIFIED, SIGNATURE_LENIENT, SIGNATURE_INVALID, SIGNATURE_UNTRUSTED, SIGNATURE_MISSING), once per message."
    );
    describe_counter!(
        REFUSED,
        Unit::Count,
        "Refusals at intake (a document, or a whole message, not taken), by the rule code of each finding that refused it (each rule once per refusal)."
    );
    describe_counter!(
        SETS,
        Unit::Count,
        "Order-set verdicts reached (pass or fail); a set decided again (a replacement, a deletion) counts again."
    );
    describe_gauge!(OPEN_SETS, Unit::Count, "Order sets the engine holds open.");
    describe_gauge!(
        OVERDUE_SETS,
        Unit::Count,
        "Open order sets, and waybills waiting for their set, past engine.incomplete_timeout_secs."
    );
    describe_gauge!(
        WAITING_WAYBILLS,
        Unit::Count,
        "Waybills waiting for their order set."
    );
    describe_gauge!(
        CLAIMED_FILES,
        Unit::Count,
        "Files claimed into a work folder and not yet stored."
    );
    describe_gauge!(
        FORWARDS,
        Unit::Count,
        "Messages on their way to customs, by state: queued (not yet written), written (in the customs OutBox, not yet seen sent), parked (after too many transmission failures)."
    );
    describe_gauge!(
        INBOX_PENDING,
        Unit::Count,
        "Receipts waiting to be written into a sender's InBox or confirmed by a platform."
    );
    describe_gauge!(
        TCP_CONNECTIONS,
        Unit::Count,
        "Platforms' TCP connections past the handshake (only with [tcp])."
    );
    describe_counter!(
        FORWARDED,
        Unit::Count,
        "Messages written into the customs OutBox (each attempt counts)."
    );
    describe_counter!(
        TRANSMITTED,
        Unit::Count,
        "Forwarded messages the import client sent on (moved to its SentBox)."
    );
    describe_counter!(
        TRANSMISSION_FAILURES,
        Unit::Count,
        "Forwarded messages the import client failed to send (moved to its FailBox)."
    );
    describe_counter!(
        RECEIPTS,
        Unit::Count,
        "Customs receipt documents received, by type (CEB312 ...) and the status they record (customs:800, channel:...; other for an unexpected code)."
    );
    describe_counter!(
        PUSHES,
        Unit::Count,
        "Push attempts to import clients, by client and outcome: delivered, failed (tried again later), parked (given up until a replay)."
    );
    describe_gauge!(
        OUTBOX_DEPTH,
        Unit::Count,
        "Entries waiting in a client's push queue (read from the store when scraped)."
    );
    describe_gauge!(
        OUTBOX_PARKED,
        Unit::Count,
        "Entries in a client's parked list, waiting for a replay (read from the store when scraped)."
    );
    describe_histogram!(
        STORE_FLUSH_SECONDS,
        Unit::Seconds,
        "Time one flush (fsync) of the store takes."
    );
    describe_histogram!(
        INGEST_SECONDS,
        Unit::Seconds,
        "Time from the start of a batch to its messages being durable and acknowledged (decode, validate, check, store, flush, effects); one observation per inbound message."
    );
    describe_counter!(
        CONFIG_RELOADS,
        Unit::Count,
        "Configuration reloads applied."
    );
    describe_counter!(
        CONFIG_RELOAD_FAILURES,
        Unit::Count,
        "Configuration reloads refused (the file did not validate; the running configuration stays)."
    );
    describe_gauge!(
        BUILD_INFO,
        Unit::Count,
        "Always 1; the version label names the running release."
    );
}

/// The series visible at 0 from the start.
fn initialise(config: &Config) {
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    for name in [
        FORWARDED,
        TRANSMITTED,
        TRANSMISSION_FAILURES,
        CONFIG_RELOADS,
        CONFIG_RELOAD_FAILURES,
    ] {
        counter!(name).absolute(0);
    }
    for outcome in ["pass", "fail"] {
        counter!(SETS, "outcome" => outcome).absolute(0);
    }
    for name in [
        OPEN_SETS,
        OVERDUE_SETS,
        WAITING_WAYBILLS,
        CLAIMED_FILES,
        INBOX_PENDING,
    ] {
        gauge!(name).set(0.0);
    }
    for state in ["queued", "written", "parked"] {
        gauge!(FORWARDS, "state" => state).set(0.0);
    }
    if config.tcp.is_some() {
        gauge!(TCP_CONNECTIONS).set(0.0);
    }
    for c in &config.client {
        for outcome in ["delivered", "failed", "parked"] {
            counter!(PUSHES, "client" => c.id.clone(), "outcome" => outcome).absolute(0);
        }
        outbox(&c.id, 0, 0);
    }
}

/// A message type as a label: a type the gateway models, else `other`
/// (`unknown` when none could be read).
fn type_label(ty: &str) -> &'static str {
    match MessageSpec::by_name(ty) {
        Some(spec) => spec.name,
        None if ty.is_empty() => "unknown",
        None => "other",
    }
}

/// A rule code as a label: a code of the catalogue, else `other`.
fn rule_label(code: &str) -> &'static str {
    RuleInfo::by_code(code).map_or("other", |r| r.code)
}

/// A receipt's status as a label (`customs:800`): kept when its code is
/// short and plain (digits, letters, `-`), else `other`.
fn status_label(status: &str) -> String {
    let (kind, code) = status.split_once(':').unwrap_or(("", status));
    let plain = matches!(kind, "customs" | "channel")
        && !code.is_empty()
        && code.len() <= 10
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if plain {
        status.to_owned()
    } else {
        "other".to_owned()
    }
}

/// An inbound message was stored: counts it by source and type; a message
/// refused as a whole (no document of it taken) also counts its errors'
/// rules as refusals.
pub fn message(rec: &MessageRecord) {
    counter!(
        RECEIVED,
        "source" => rec.source.kind.clone(),
        "sender" => rec.source.name.clone(),
        "type" => type_label(&rec.ty)
    )
    .increment(1);
    if rec.disposition == Disposition::Refused && rec.documents == 0 {
        refused(&rec.findings);
    }
}

/// A declaration's signature was looked at: counts the result (the first
/// signature rule among `diagnostics`; nothing under mode `off`).
pub fn signature(diagnostics: &[crate::diag::Diagnostic]) {
    if let Some(d) = diagnostics.first() {
        counter!(SIGNATURES, "result" => d.rule.code).increment(1);
    }
}

/// A document (or a message) was refused for these findings: one refusal
/// for each rule among them.
pub fn refused(findings: &[Finding]) {
    let mut rules: Vec<&'static str> = findings.iter().map(|f| rule_label(&f.rule)).collect();
    rules.sort_unstable();
    rules.dedup();
    for rule in rules {
        counter!(REFUSED, "rule" => rule).increment(1);
    }
}

/// An order set was decided (`pass` or `fail`).
pub fn set_decided(outcome: &'static str) {
    counter!(SETS, "outcome" => outcome).increment(1);
}

/// A message was written into the customs OutBox.
pub fn forwarded() {
    counter!(FORWARDED).increment(1);
}

/// The import client sent a forwarded message (`true`) or failed to.
pub fn transmission(sent: bool) {
    let name = if sent {
        TRANSMITTED
    } else {
        TRANSMISSION_FAILURES
    };
    counter!(name).increment(1);
}

/// A customs receipt document of type `ty` recording `status`.
pub fn receipt(ty: &str, status: &str) {
    counter!(RECEIPTS, "type" => type_label(ty), "status" => status_label(status)).increment(1);
}

/// A push round's outcome for `client`.
pub fn pushed(client: &str, delivered: usize, failed: usize, parked: usize) {
    for (outcome, n) in [
        ("delivered", delivered),
        ("failed", failed),
        ("parked", parked),
    ] {
        if n > 0 {
            counter!(PUSHES, "client" => client.to_owned(), "outcome" => outcome)
                .increment(u64::try_from(n).unwrap_or(u64::MAX));
        }
    }
}

/// A client's queue and parked list, as the store holds them now.
pub fn outbox(client: &str, queued: usize, parked: usize) {
    gauge!(OUTBOX_DEPTH, "client" => client.to_owned()).set(as_f64(queued));
    gauge!(OUTBOX_PARKED, "client" => client.to_owned()).set(as_f64(parked));
}

/// The pipeline's last published state (open and overdue sets, queues).
pub fn pipeline(stats: &PipelineStats) {
    gauge!(OPEN_SETS).set(as_f64(stats.open_sets));
    gauge!(OVERDUE_SETS).set(as_f64(stats.overdue_sets));
    gauge!(WAITING_WAYBILLS).set(as_f64(stats.pending_waybills));
    gauge!(CLAIMED_FILES).set(as_f64(stats.claimed));
    gauge!(INBOX_PENDING).set(as_f64(stats.inbox_pending));
    gauge!(FORWARDS, "state" => "queued").set(as_f64(stats.forward_queued));
    gauge!(FORWARDS, "state" => "written").set(as_f64(stats.forward_written));
    gauge!(FORWARDS, "state" => "parked").set(as_f64(stats.parked));
    if let Some(n) = stats.tcp_connections {
        gauge!(TCP_CONNECTIONS).set(as_f64(n));
    }
}

/// One store flush took `took`.
pub fn store_flush(took: Duration) {
    metrics::histogram!(STORE_FLUSH_SECONDS).record(took.as_secs_f64());
}

/// A batch of `messages` inbound messages was durable and acknowledged
/// `took` after it started.
pub fn ingested(messages: usize, took: Duration) {
    if messages > 0 {
        metrics::histogram!(INGEST_SECONDS).record_many(took.as_secs_f64(), messages);
    }
}

/// A configuration reload was applied (`true`) or refused.
pub fn reload(ok: bool) {
    let name = if ok {
        CONFIG_RELOADS
    } else {
        CONFIG_RELOAD_FAILURES
    };
    counter!(name).increment(1);
}

/// A count as a gauge's value (exact below 2^53).
#[allow(clippy::cast_precision_loss)]
fn as_f64(n: usize) -> f64 {
    n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_from_outside_are_bounded() {
        for (ty, want) in [
            ("CEB311Message", "other"),
            ("", "unknown"),
            ("Package", "other"),
        ] {
            assert_eq!(type_label(ty), want, "{ty}");
        }
        let name = crate::schema::MESSAGES[0].name;
        assert_eq!(type_label(name), name);
        for (status, want) in [
            ("customs:800", "customs:800"),
            ("customs:-301010", "customs:-301010"),
            ("channel:R", "channel:R"),
            ("customs:8 00", "other"),
            ("customs:", "other"),
            ("customs:12345678901", "other"),
            ("x:800", "other"),
        ] {
            assert_eq!(status_label(status), want, "{status}");
        }
        assert_eq!(rule_label("NO_SUCH_RULE"), "other");
        let code = crate::schema::RULES[0].code;
        assert_eq!(rule_label(code), code);
    }

    #[test]
    fn helpers_do_nothing_without_a_recorder() {
        // No recorder in the unit tests: nothing panics, nothing renders.
        reload(true);
        pushed("c", 1, 1, 1);
        store_flush(Duration::from_millis(1));
        assert!(render().is_none());
    }
}
