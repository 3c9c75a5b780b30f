//! What the engine tells about a set: [`SetReport`] (serializable, and
//! printable with [`describe`]) and [`Overdue`].

use std::fmt::{self, Write as _};

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use super::facts::Strings;
use super::sets::{Member, SetState};
use super::{AppType, DocKind, InboundId, Outcome, SetKey, Skipped, Violation, WaybillLink};

/// A set's status without details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every applied rule passed.
    Pass,
    /// At least one rule failed.
    Fail,
    /// Not all four documents are present.
    Incomplete,
}

impl Status {
    /// `pass`, `fail` or `incomplete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Incomplete => "incomplete",
        }
    }
}

/// One member of a set, without the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberInfo {
    /// Which document (`CEB311` …).
    #[serde(rename = "type")]
    pub kind: DocKind,
    /// The inbound document it came as.
    pub source: InboundId,
    /// Its business key (`orderNo=…,ebpCode=…`).
    pub document_key: String,
    /// Its head's `guid`.
    pub guid: String,
    /// Its appType.
    pub app_type: AppType,
    /// When it arrived (ms since the Unix epoch).
    pub received_ms: u64,
}

impl MemberInfo {
    pub(crate) fn of(m: &Member, strings: &Strings) -> MemberInfo {
        MemberInfo {
            kind: m.kind,
            source: m.source,
            document_key: m.facts.document_key(m.kind, strings),
            guid: m.facts.head(strings).str(m.kind.head().guid).to_owned(),
            app_type: m.app_type,
            received_ms: m.received_ms,
        }
    }
}

/// The state of one set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetReport {
    /// The set.
    pub key: SetKey,
    /// The verdict.
    pub outcome: Outcome,
    /// The documents present, in set order.
    pub members: Vec<MemberInfo>,
    /// Findings below error severity (they do not fail the set).
    pub warnings: Vec<Violation>,
    /// Rules not applied, and why.
    pub skipped: Vec<Skipped>,
    /// How the waybill was attached, if it is.
    pub waybill_link: Option<WaybillLink>,
    /// Since when the set has been incomplete (ms since the Unix epoch).
    pub incomplete_since_ms: Option<u64>,
}

impl SetReport {
    pub(super) fn of(key: &SetKey, s: &SetState, strings: &Strings) -> SetReport {
        SetReport {
            key: key.clone(),
            outcome: s.outcome(),
            members: s.present().map(|m| MemberInfo::of(m, strings)).collect(),
            warnings: s.warnings().to_vec(),
            skipped: s.skipped().to_vec(),
            waybill_link: s.link,
            incomplete_since_ms: s.incomplete_since_ms,
        }
    }

    /// The report of a set its last deletion emptied (reported once, then dropped).
    pub(super) fn emptied(key: &SetKey) -> SetReport {
        SetReport {
            key: key.clone(),
            outcome: Outcome::Incomplete {
                missing: DocKind::ALL.to_vec(),
            },
            members: Vec::new(),
            warnings: Vec::new(),
            skipped: Vec::new(),
            waybill_link: None,
            incomplete_since_ms: None,
        }
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.outcome.status()
    }

    /// The violations of a failed set.
    pub fn violations(&self) -> &[Violation] {
        self.outcome.violations()
    }

    /// The documents still missing.
    pub fn missing(&self) -> &[DocKind] {
        match &self.outcome {
            Outcome::Incomplete { missing } => missing,
            _ => &[],
        }
    }

    /// The distinct rule codes that failed, in rule order.
    pub fn failed_codes(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for v in self.violations() {
            if !out.contains(&v.rule.code) {
                out.push(v.rule.code);
            }
        }
        out
    }
}

impl Serialize for SetReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("SetReport", 9)?;
        st.serialize_field("key", &self.key)?;
        st.serialize_field("status", &self.status())?;
        st.serialize_field("missing", self.missing())?;
        st.serialize_field("members", &self.members)?;
        st.serialize_field("violations", self.violations())?;
        st.serialize_field("warnings", &self.warnings)?;
        st.serialize_field("skipped", &self.skipped)?;
        st.serialize_field("waybill_link", &self.waybill_link)?;
        st.serialize_field("incomplete_since_ms", &self.incomplete_since_ms)?;
        st.end()
    }
}

impl fmt::Display for SetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(self, &|id: InboundId| id.to_string()))
    }
}

/// A set incomplete (or a waybill unattached) for longer than the timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overdue {
    /// The set; `None` for a waybill that found no set.
    pub key: Option<SetKey>,
    /// What is there.
    pub members: Vec<MemberInfo>,
    /// What is missing.
    pub missing: Vec<DocKind>,
    /// Since when (ms since the Unix epoch).
    pub since_ms: u64,
    /// How long, in seconds.
    pub waited_secs: u64,
}

/// A set as plain text, one line per member, violation and skipped rule;
/// `source` names where each member came from (a file name for `check`):
///
/// ```text
/// set orderNo=GW20261121000001,ebpCode=3301960A01: FAIL (1 violation)
///   CEB311 order      CEB311-order.xml  orderNo=GW20261121000001,ebpCode=3301960A01  appType new
///   …
///   error SET_PAID_AMOUNT national 1332  OrderHead/acturalPaid, PaymentHead/amountPaid
///         OrderHead/acturalPaid=100.00 but PaymentHead/amountPaid=98.00 (difference 2.00 > tolerance 1)
///   skipped SET_REGISTRY: no enterprise registry is configured
/// ```
pub fn describe(report: &SetReport, source: &dyn Fn(InboundId) -> String) -> String {
    let mut out = String::new();
    let status = match &report.outcome {
        Outcome::Pass => "PASS".to_owned(),
        Outcome::Fail(v) => format!(
            "FAIL ({} violation{})",
            v.len(),
            if v.len() == 1 { "" } else { "s" }
        ),
        Outcome::Incomplete { missing } => {
            let names: Vec<&str> = missing.iter().map(|k| k.name()).collect();
            format!("INCOMPLETE (missing {})", names.join(", "))
        }
    };
    let _ = writeln!(out, "set {}: {status}", report.key);
    for m in &report.members {
        let link = match (m.kind, report.waybill_link) {
            (DocKind::Waybill, Some(WaybillLink::LogisticsNo)) => {
                "  attached by the inventory's logisticsNo"
            }
            (DocKind::Waybill, Some(WaybillLink::OrderNo)) => "  attached by orderNo",
            _ => "",
        };
        let app = m.app_type.as_str();
        let _ = writeln!(
            out,
            "  {} {:<9} {}  {}  appType {app}{link}",
            m.kind.name(),
            m.kind.label(),
            source(m.source),
            m.document_key
        );
    }
    for v in report.violations().iter().chain(&report.warnings) {
        let national = v
            .rule
            .national
            .map(|n| format!(" national {n}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {}{national}  {}\n        {}",
            v.severity.as_str(),
            v.rule.code,
            v.paths.join(", "),
            v.message
        );
    }
    for s in &report.skipped {
        let _ = writeln!(out, "  skipped {}: {}", s.rule.code, s.reason);
    }
    out
}
