//! The cross-document check (三单对碰): the order (CEB311), payment (CEB411),
//! waybill (CEB511) and inventory (CEB621) of one purchase must agree.
//!
//! Pure: no I/O, no clock (every time is passed in as milliseconds since the
//! Unix epoch), no panics on input. Documents arrive one at a time, in any
//! order, through [`Engine::submit`]; the engine keeps one *set* per order,
//! keyed by [`SetKey`] (`orderNo`, `ebpCode`), and evaluates it as soon as all
//! four documents are present and again whenever one of them changes or is
//! deleted. Each rule is a stable code in `schemas/rules.toml` (category
//! `set`), most with the national code customs itself uses.
//!
//! # Which set a document joins
//!
//! - Order, payment and inventory carry `orderNo` and `ebpCode`: that is their set.
//! - The waybill carries `orderNo` but no `ebpCode`. It joins, in this order of
//!   preference: (1) the one set whose inventory names the same waybill
//!   (`logisticsCode` + `logisticsNo`); (2) the one set with the same
//!   `orderNo`. When neither is unique (no such set yet, or two platforms
//!   with the same `orderNo` and no inventory to tell them apart) the waybill
//!   waits, and is attached as soon as an order, payment or inventory makes
//!   the choice unique. Once attached it stays until it is changed or deleted.
//!   A waybill is identified by `logisticsCode` + `logisticsNo`.
//!
//! # appType
//!
//! - `1` new: fills the member's place. Re-delivering the identical document
//!   is accepted and changes nothing; a *different* document for a place
//!   already filled is refused ([`EngineError::AlreadyDeclared`]) — send `2`.
//! - `2` change: replaces the member (or fills its place if the original was
//!   never seen). A change of `orderNo`/`ebpCode` names another set: delete the
//!   old document first.
//! - `3` delete: removes the member; deleting the order also gives back the
//!   annual quota it had used. Deleting another member leaves the quota
//!   recorded until the set is evaluated again.
//!
//! # Personal limits
//!
//! A set that passes every rule is *accepted*: its order's `acturalPaid` is
//! recorded in the [`QuotaLedger`] under the buyer (`buyerIdNumber`) and the
//! calendar year of the order's `appTime` (else the inventory's `declTime`),
//! keyed by the set, so re-evaluating never counts an order twice. A set
//! that fails records nothing.

mod config;
mod ledger;
mod receipt;
mod report;
mod rules;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
use thiserror::Error;

pub use config::{EngineConfig, Enterprise, Registry, Role};
pub use ledger::{MemoryLedger, QuotaLedger};
pub use receipt::{
    RETURN_STATUS_REJECTED, Receipt, ReceiptError, receipt_for, return_info, time17,
};
pub use report::{MemberInfo, Overdue, SetReport, Status, describe};

use crate::diag::Diagnostic;
use crate::model::{Document, Record, document_key};
use crate::schema::fields::{inventory_head, logistics_head, order_head, payment_head};
use crate::schema::{
    Field, MSG_CEB311, MSG_CEB411, MSG_CEB511, MSG_CEB621, MessageSpec, MessageType, RuleInfo,
    Severity, Text,
};

/// The four documents of an order set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum DocKind {
    /// CEB311 电子订单.
    #[serde(rename = "CEB311")]
    Order,
    /// CEB411 支付凭证.
    #[serde(rename = "CEB411")]
    Payment,
    /// CEB511 物流运单.
    #[serde(rename = "CEB511")]
    Waybill,
    /// CEB621 进口清单.
    #[serde(rename = "CEB621")]
    Inventory,
}

impl DocKind {
    /// All four, in set order.
    pub const ALL: [DocKind; 4] = [
        DocKind::Order,
        DocKind::Payment,
        DocKind::Waybill,
        DocKind::Inventory,
    ];

    /// The kind of a message type, if it is one of the four.
    pub fn of(spec: &MessageSpec) -> Option<DocKind> {
        match spec.ty {
            MessageType::Ceb311 => Some(DocKind::Order),
            MessageType::Ceb411 => Some(DocKind::Payment),
            MessageType::Ceb511 => Some(DocKind::Waybill),
            MessageType::Ceb621 => Some(DocKind::Inventory),
            _ => None,
        }
    }

    /// The message type's rules.
    pub fn spec(self) -> &'static MessageSpec {
        match self {
            DocKind::Order => &MSG_CEB311,
            DocKind::Payment => &MSG_CEB411,
            DocKind::Waybill => &MSG_CEB511,
            DocKind::Inventory => &MSG_CEB621,
        }
    }

    /// The short type name (`CEB311`).
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// `order`, `payment`, `waybill` or `inventory`.
    pub fn label(self) -> &'static str {
        match self {
            DocKind::Order => "order",
            DocKind::Payment => "payment",
            DocKind::Waybill => "waybill",
            DocKind::Inventory => "inventory",
        }
    }

    fn index(self) -> usize {
        match self {
            DocKind::Order => 0,
            DocKind::Payment => 1,
            DocKind::Waybill => 2,
            DocKind::Inventory => 3,
        }
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.label())
    }
}

/// The key of an order set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SetKey {
    /// `orderNo`.
    #[serde(rename = "orderNo")]
    pub order_no: String,
    /// `ebpCode`.
    #[serde(rename = "ebpCode")]
    pub ebp_code: String,
}

impl SetKey {
    /// A key from its two parts.
    pub fn new(order_no: impl Into<String>, ebp_code: impl Into<String>) -> SetKey {
        SetKey {
            order_no: order_no.into(),
            ebp_code: ebp_code.into(),
        }
    }
}

impl fmt::Display for SetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "orderNo={},ebpCode={}", self.order_no, self.ebp_code)
    }
}

/// `appType`: what a document asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AppType {
    /// `1` 新增.
    New,
    /// `2` 变更.
    Change,
    /// `3` 删除.
    Delete,
}

impl AppType {
    fn parse(kind: DocKind, head: &Record) -> Result<AppType, EngineError> {
        let field = match kind {
            DocKind::Order => order_head::APP_TYPE,
            DocKind::Payment => payment_head::APP_TYPE,
            DocKind::Waybill => logistics_head::APP_TYPE,
            DocKind::Inventory => inventory_head::APP_TYPE,
        };
        match head.str(field).trim() {
            "1" => Ok(AppType::New),
            "2" => Ok(AppType::Change),
            "3" => Ok(AppType::Delete),
            other => Err(EngineError::BadAppType {
                kind,
                value: other.to_owned(),
            }),
        }
    }
}

/// How a waybill was attached to its set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum WaybillLink {
    /// The set's inventory names its `logisticsCode` + `logisticsNo`.
    LogisticsNo,
    /// It is the only set with the waybill's `orderNo`.
    OrderNo,
}

/// One document held by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Which of the four.
    pub kind: DocKind,
    /// Where it came from (a file name, a queue id).
    pub source: String,
    /// Its business key, e.g. `orderNo=…,ebpCode=…`.
    pub document_key: String,
    /// Its `appType`.
    pub app_type: AppType,
    /// When it arrived (ms since the Unix epoch).
    pub received_ms: u64,
    /// The document.
    pub document: Document,
}

/// One failed comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule (code, national code, descriptions).
    pub rule: &'static RuleInfo,
    /// Severity (the rule's).
    pub severity: Severity,
    /// The documents compared.
    pub documents: Vec<DocKind>,
    /// Every element compared, e.g. `OrderHead/acturalPaid`, `PaymentHead/amountPaid`.
    pub paths: Vec<String>,
    /// The elements with both values, e.g.
    /// `OrderHead/acturalPaid=100.00 but PaymentHead/amountPaid=98.00 (difference 2.00 > tolerance 1)`.
    pub message: String,
}

impl Violation {
    /// The stable rule code (`SET_PAID_AMOUNT`).
    pub fn code(&self) -> &'static str {
        self.rule.code
    }

    /// The national customs code, if there is one (`1332`).
    pub fn national(&self) -> Option<&'static str> {
        self.rule.national
    }

    /// As a diagnostic (paths joined with `, `; no document index, it spans documents).
    pub fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic::new(self.rule, None, self.paths.join(", "), self.message.clone())
            .with_severity(self.severity)
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}", self.severity.as_str(), self.rule.code)?;
        if let Some(n) = self.rule.national {
            write!(f, " / national {n}")?;
        }
        write!(f, "] {}: {}", self.paths.join(", "), self.message)
    }
}

impl Serialize for Violation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Violation", 6)?;
        st.serialize_field("code", self.rule.code)?;
        st.serialize_field("national", &self.rule.national)?;
        st.serialize_field("severity", &self.severity)?;
        st.serialize_field("documents", &self.documents)?;
        st.serialize_field("paths", &self.paths)?;
        st.serialize_field("message", &self.message)?;
        st.end()
    }
}

/// A rule that was not applied, and why (distinct from passing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The rule.
    pub rule: &'static RuleInfo,
    /// Why it was not applied.
    pub reason: String,
}

impl Serialize for Skipped {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Skipped", 3)?;
        st.serialize_field("code", self.rule.code)?;
        st.serialize_field("national", &self.rule.national)?;
        st.serialize_field("reason", &self.reason)?;
        st.end()
    }
}

/// The verdict on one set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// All four documents agree (rules reported as skipped were not applied).
    Pass,
    /// Every error-severity violation found, in rule order.
    Fail(Vec<Violation>),
    /// Not all four documents are present.
    Incomplete {
        /// The kinds still missing.
        missing: Vec<DocKind>,
    },
}

impl Outcome {
    /// The status without details.
    pub fn status(&self) -> Status {
        match self {
            Outcome::Pass => Status::Pass,
            Outcome::Fail(_) => Status::Fail,
            Outcome::Incomplete { .. } => Status::Incomplete,
        }
    }

    /// The violations of a failed set (empty otherwise).
    pub fn violations(&self) -> &[Violation] {
        match self {
            Outcome::Fail(v) => v,
            _ => &[],
        }
    }
}

/// Why a document or a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    /// A message type other than CEB311, CEB411, CEB511, CEB621.
    #[error(
        "{message_type} is not one of the four documents of an order set (CEB311, CEB411, CEB511, CEB621)"
    )]
    NotASetDocument {
        /// The message type.
        message_type: &'static str,
    },
    /// The document's head is not the head of its message type.
    #[error("{kind}: the document's head is <{found}>, not <{expected}>")]
    WrongRecord {
        /// The kind the message type says.
        kind: DocKind,
        /// The head it should have.
        expected: &'static str,
        /// The head it has.
        found: &'static str,
    },
    /// A field the set key needs is absent.
    #[error("{kind}: {path} is absent, so the document cannot be placed in a set")]
    MissingKey {
        /// The document kind.
        kind: DocKind,
        /// The missing element.
        path: String,
    },
    /// `appType` is not 1, 2 or 3.
    #[error("{kind}: appType \"{value}\" is not 1 (new), 2 (change) or 3 (delete)")]
    BadAppType {
        /// The document kind.
        kind: DocKind,
        /// The value found.
        value: String,
    },
    /// appType 1 for a place already filled with another document.
    #[error(
        "{kind} for {key} was already declared with different content; send appType 2 to change it"
    )]
    AlreadyDeclared {
        /// The document kind.
        kind: DocKind,
        /// The set (or, for a waybill, its identity).
        key: String,
    },
    /// appType 3 for a document the engine does not hold.
    #[error("{kind} for {key} cannot be deleted: the engine holds none")]
    NotFound {
        /// The document kind.
        kind: DocKind,
        /// The set (or, for a waybill, its identity).
        key: String,
    },
    /// No set has this key.
    #[error("no set {key}")]
    UnknownSet {
        /// The key asked for.
        key: SetKey,
    },
    /// The registry lists a code twice.
    #[error("the enterprise registry lists code {code} twice")]
    DuplicateEnterprise {
        /// The code.
        code: String,
    },
    /// The configuration or registry text is not valid.
    #[error("invalid engine configuration: {0}")]
    Config(String),
}

impl EngineError {
    /// The catalogue rule a refused document is reported under.
    pub fn rule(&self) -> &'static crate::schema::RuleInfo {
        crate::schema::rule::SET_DOCUMENT
    }
}

/// What [`Engine::submit`] did.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The document's kind.
    pub kind: DocKind,
    /// Its appType.
    pub app_type: AppType,
    /// The set it went to (or was deleted from); `None` for a waybill that waits.
    pub set: Option<SetKey>,
    /// An identical re-delivery: nothing changed.
    pub unchanged: bool,
    /// The report of every set whose members changed, after re-evaluation
    /// (a set left empty by a deletion is reported once, then dropped).
    pub reports: Vec<SetReport>,
}

/// The identity of a waybill: `logisticsCode` + `logisticsNo`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct WaybillId {
    code: String,
    no: String,
}

impl fmt::Display for WaybillId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "logisticsCode={},logisticsNo={}", self.code, self.no)
    }
}

#[derive(Debug, Clone)]
struct QuotaEntry {
    buyer: String,
    year: u16,
}

#[derive(Debug, Clone)]
struct SetState {
    members: [Option<Member>; 4],
    outcome: Outcome,
    warnings: Vec<Violation>,
    skipped: Vec<Skipped>,
    incomplete_since_ms: Option<u64>,
    link: Option<WaybillLink>,
    quota: Option<QuotaEntry>,
}

impl SetState {
    fn new() -> SetState {
        SetState {
            members: [None, None, None, None],
            outcome: Outcome::Incomplete {
                missing: DocKind::ALL.to_vec(),
            },
            warnings: Vec::new(),
            skipped: Vec::new(),
            incomplete_since_ms: None,
            link: None,
            quota: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.members.iter().all(Option::is_none)
    }
}

/// The cross-document check engine. `L` is where the annual quota is counted.
#[derive(Debug)]
pub struct Engine<L: QuotaLedger = MemoryLedger> {
    config: EngineConfig,
    registry: Option<Registry>,
    ledger: L,
    sets: BTreeMap<SetKey, SetState>,
    /// Waybills not attached to any set yet.
    pending: BTreeMap<WaybillId, Member>,
    /// Attached waybills: which set holds each.
    waybills: HashMap<WaybillId, SetKey>,
    /// Which sets' inventories name each waybill.
    named: HashMap<WaybillId, BTreeSet<SetKey>>,
}

impl Engine<MemoryLedger> {
    /// An engine with an in-memory ledger. Without a registry `SET_REGISTRY`
    /// is reported as skipped.
    pub fn new(
        config: EngineConfig,
        registry: Option<Registry>,
    ) -> Result<Engine<MemoryLedger>, EngineError> {
        Engine::with_ledger(config, registry, MemoryLedger::new())
    }
}

impl<L: QuotaLedger> Engine<L> {
    /// An engine counting the annual quota in `ledger`.
    pub fn with_ledger(
        config: EngineConfig,
        registry: Option<Registry>,
        ledger: L,
    ) -> Result<Engine<L>, EngineError> {
        config.check()?;
        Ok(Engine {
            config,
            registry,
            ledger,
            sets: BTreeMap::new(),
            pending: BTreeMap::new(),
            waybills: HashMap::new(),
            named: HashMap::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The quota ledger.
    pub fn ledger(&self) -> &L {
        &self.ledger
    }

    /// Takes in one document of `spec`'s type. `source` labels it in reports
    /// (a file name); `now_ms` is the arrival time (ms since the Unix epoch).
    pub fn submit(
        &mut self,
        spec: &MessageSpec,
        doc: &Document,
        source: &str,
        now_ms: u64,
    ) -> Result<Submitted, EngineError> {
        let kind = DocKind::of(spec).ok_or(EngineError::NotASetDocument {
            message_type: spec.name,
        })?;
        let head = kind.spec().head;
        if !std::ptr::eq(doc.head.spec(), head) {
            return Err(EngineError::WrongRecord {
                kind,
                expected: head.element,
                found: doc.head.spec().element,
            });
        }
        let app_type = AppType::parse(kind, &doc.head)?;
        let member = || Member {
            kind,
            source: source.to_owned(),
            document_key: document_key(kind.spec(), doc),
            app_type,
            received_ms: now_ms,
            document: doc.clone(),
        };
        let mut affected: Vec<SetKey> = Vec::new();
        let mut unchanged = false;
        let set = if kind == DocKind::Waybill {
            let id = waybill_id(&doc.head)?;
            let location = self.waybill_location(&id);
            match app_type {
                AppType::Delete => {
                    let Some(location) = location else {
                        return Err(EngineError::NotFound {
                            kind,
                            key: id.to_string(),
                        });
                    };
                    self.remove_waybill(&id, location.as_ref());
                    if let Some(k) = &location {
                        affected.push(k.clone());
                    }
                    location
                }
                AppType::New | AppType::Change => {
                    if app_type == AppType::New
                        && let Some(loc) = &location
                    {
                        if self.waybill_at(&id, loc.as_ref()) == Some(doc) {
                            unchanged = true;
                        } else {
                            return Err(EngineError::AlreadyDeclared {
                                kind,
                                key: id.to_string(),
                            });
                        }
                    }
                    if unchanged {
                        location.flatten()
                    } else {
                        let order_no = doc.head.str(logistics_head::ORDER_NO).trim();
                        let target = self.waybill_target(&id, order_no);
                        if let Some((t, _)) = &target
                            && let Some(held) = self.held_waybill(t)
                            && held != id
                        {
                            return Err(EngineError::AlreadyDeclared {
                                kind,
                                key: t.to_string(),
                            });
                        }
                        if let Some(loc) = &location {
                            self.remove_waybill(&id, loc.as_ref());
                            if let Some(k) = loc {
                                affected.push(k.clone());
                            }
                        }
                        match target {
                            Some((t, link)) => {
                                self.place_waybill(id, &t, link, member());
                                affected.push(t.clone());
                                Some(t)
                            }
                            None => {
                                self.pending.insert(id, member());
                                None
                            }
                        }
                    }
                }
            }
        } else {
            let key = set_key(kind, &doc.head)?;
            let slot = kind.index();
            let held = self.sets.get(&key).and_then(|s| s.members[slot].as_ref());
            match (app_type, held) {
                (AppType::New, Some(m)) if m.document == *doc => unchanged = true,
                (AppType::New, Some(_)) => {
                    return Err(EngineError::AlreadyDeclared {
                        kind,
                        key: key.to_string(),
                    });
                }
                (AppType::Delete, None) => {
                    return Err(EngineError::NotFound {
                        kind,
                        key: key.to_string(),
                    });
                }
                (AppType::Delete, Some(_)) => {
                    self.remove_member(&key, kind);
                    affected.push(key.clone());
                }
                (AppType::New | AppType::Change, _) => {
                    self.place_member(&key, member());
                    affected.push(key.clone());
                    self.attach_pending(&mut affected);
                }
            }
            Some(key)
        };
        let mut reports = Vec::with_capacity(affected.len());
        if unchanged && let Some(k) = &set {
            reports.extend(self.report(k));
        }
        let mut seen: Vec<&SetKey> = Vec::with_capacity(affected.len());
        for k in &affected {
            if seen.contains(&k) {
                continue;
            }
            seen.push(k);
            self.evaluate_key(k, now_ms);
            reports.extend(self.report(k));
            // A set emptied by deletions is reported once, then dropped.
            if self.sets.get(k).is_some_and(SetState::is_empty) {
                self.sets.remove(k);
            }
        }
        Ok(Submitted {
            kind,
            app_type,
            set,
            unchanged,
            reports,
        })
    }

    /// Evaluates a set again (after the ledger or registry changed
    /// elsewhere) and returns its outcome; `None` if there is no such set.
    pub fn evaluate(&mut self, key: &SetKey, now_ms: u64) -> Option<&Outcome> {
        self.evaluate_key(key, now_ms);
        self.sets.get(key).map(|s| &s.outcome)
    }

    /// The current outcome of a set.
    pub fn outcome(&self, key: &SetKey) -> Option<&Outcome> {
        self.sets.get(key).map(|s| &s.outcome)
    }

    /// The report of one set.
    pub fn report(&self, key: &SetKey) -> Option<SetReport> {
        self.sets.get(key).map(|s| SetReport::of(key, s))
    }

    /// The reports of every set, by key.
    pub fn reports(&self) -> Vec<SetReport> {
        self.sets.iter().map(|(k, s)| SetReport::of(k, s)).collect()
    }

    /// The keys of every set.
    pub fn keys(&self) -> impl Iterator<Item = &SetKey> {
        self.sets.keys()
    }

    /// The waybills that wait for their set.
    pub fn pending_waybills(&self) -> Vec<MemberInfo> {
        self.pending.values().map(MemberInfo::of).collect()
    }

    /// The members of a set, in set order.
    pub fn members(&self, key: &SetKey) -> Vec<&Member> {
        self.sets
            .get(key)
            .map(|s| s.members.iter().flatten().collect())
            .unwrap_or_default()
    }

    /// Sets still incomplete, and waybills still unattached, for longer than
    /// `incomplete_timeout_secs` at `now_ms`.
    pub fn overdue(&self, now_ms: u64) -> Vec<Overdue> {
        let limit = self.config.incomplete_timeout_secs.saturating_mul(1000);
        let mut out = Vec::new();
        for (k, s) in &self.sets {
            if let Some(since) = s.incomplete_since_ms
                && now_ms.saturating_sub(since) > limit
            {
                out.push(Overdue {
                    key: Some(k.clone()),
                    members: s.members.iter().flatten().map(MemberInfo::of).collect(),
                    missing: missing(&s.members),
                    since_ms: since,
                    waited_secs: now_ms.saturating_sub(since) / 1000,
                });
            }
        }
        for m in self.pending.values() {
            if now_ms.saturating_sub(m.received_ms) > limit {
                out.push(Overdue {
                    key: None,
                    members: vec![MemberInfo::of(m)],
                    missing: vec![DocKind::Order, DocKind::Payment, DocKind::Inventory],
                    since_ms: m.received_ms,
                    waited_secs: now_ms.saturating_sub(m.received_ms) / 1000,
                });
            }
        }
        out
    }

    /// The rejection receipts customs would send for every document of a
    /// failed set (CEB312, CEB412, CEB512, CEB622; returnStatus 100), at
    /// `now_ms`. Empty when the set has not failed.
    pub fn receipts(&self, key: &SetKey, now_ms: u64) -> Result<Vec<Receipt>, EngineError> {
        let state = self
            .sets
            .get(key)
            .ok_or_else(|| EngineError::UnknownSet { key: key.clone() })?;
        let Outcome::Fail(violations) = &state.outcome else {
            return Ok(Vec::new());
        };
        Ok(state
            .members
            .iter()
            .flatten()
            .map(|m| Receipt {
                kind: m.kind,
                source: m.source.clone(),
                document_key: m.document_key.clone(),
                message: receipt_for(m.kind, &m.document, violations, now_ms),
            })
            .collect())
    }

    fn place_member(&mut self, key: &SetKey, member: Member) {
        let slot = member.kind.index();
        let state = self.sets.entry(key.clone()).or_insert_with(SetState::new);
        if let Some(old) = state.members[slot].take() {
            self.unname(key, &old);
        }
        if member.kind == DocKind::Inventory
            && let Some(id) = inventory_waybill(&member.document.head)
        {
            self.named.entry(id).or_default().insert(key.clone());
        }
        if let Some(state) = self.sets.get_mut(key) {
            state.members[slot] = Some(member);
        }
    }

    fn remove_member(&mut self, key: &SetKey, kind: DocKind) {
        let Some(state) = self.sets.get_mut(key) else {
            return;
        };
        let old = state.members[kind.index()].take();
        if kind == DocKind::Order
            && let Some(q) = state.quota.take()
        {
            self.ledger.release(&q.buyer, q.year, key);
        }
        if let Some(old) = old {
            self.unname(key, &old);
        }
    }

    /// Forgets that an inventory named its waybill.
    fn unname(&mut self, key: &SetKey, old: &Member) {
        if old.kind != DocKind::Inventory {
            return;
        }
        if let Some(id) = inventory_waybill(&old.document.head)
            && let Some(keys) = self.named.get_mut(&id)
        {
            keys.remove(key);
            if keys.is_empty() {
                self.named.remove(&id);
            }
        }
    }

    /// Where a waybill is: `Some(Some(set))` attached, `Some(None)` waiting, `None` unknown.
    fn waybill_location(&self, id: &WaybillId) -> Option<Option<SetKey>> {
        if let Some(k) = self.waybills.get(id) {
            return Some(Some(k.clone()));
        }
        self.pending.contains_key(id).then_some(None)
    }

    fn waybill_at(&self, id: &WaybillId, set: Option<&SetKey>) -> Option<&Document> {
        match set {
            Some(k) => self.sets.get(k)?.members[DocKind::Waybill.index()]
                .as_ref()
                .map(|m| &m.document),
            None => self.pending.get(id).map(|m| &m.document),
        }
    }

    /// The identity of the waybill a set holds.
    fn held_waybill(&self, key: &SetKey) -> Option<WaybillId> {
        let m = self.sets.get(key)?.members[DocKind::Waybill.index()].as_ref()?;
        waybill_id(&m.document.head).ok()
    }

    /// The set a waybill belongs to, if it is unique.
    fn waybill_target(&self, id: &WaybillId, order_no: &str) -> Option<(SetKey, WaybillLink)> {
        if let Some(keys) = self.named.get(id)
            && keys.len() == 1
            && let Some(k) = keys.iter().next()
        {
            return Some((k.clone(), WaybillLink::LogisticsNo));
        }
        if order_no.is_empty() {
            return None;
        }
        let from = SetKey::new(order_no, "");
        let mut same = self
            .sets
            .range(from..)
            .take_while(|(k, _)| k.order_no == order_no)
            .map(|(k, _)| k);
        match (same.next(), same.next()) {
            (Some(k), None) => Some((k.clone(), WaybillLink::OrderNo)),
            _ => None,
        }
    }

    fn place_waybill(&mut self, id: WaybillId, key: &SetKey, link: WaybillLink, member: Member) {
        let state = self.sets.entry(key.clone()).or_insert_with(SetState::new);
        state.members[DocKind::Waybill.index()] = Some(member);
        state.link = Some(link);
        self.waybills.insert(id, key.clone());
    }

    fn remove_waybill(&mut self, id: &WaybillId, set: Option<&SetKey>) {
        match set {
            Some(k) => {
                if let Some(state) = self.sets.get_mut(k) {
                    state.members[DocKind::Waybill.index()] = None;
                    state.link = None;
                }
                self.waybills.remove(id);
            }
            None => {
                self.pending.remove(id);
            }
        }
    }

    /// Attaches every waiting waybill whose set has become unique.
    fn attach_pending(&mut self, affected: &mut Vec<SetKey>) {
        if self.pending.is_empty() {
            return;
        }
        let ids: Vec<(WaybillId, String)> = self
            .pending
            .iter()
            .map(|(id, m)| {
                let order_no = m.document.head.str(logistics_head::ORDER_NO).trim();
                (id.clone(), order_no.to_owned())
            })
            .collect();
        for (id, order_no) in ids {
            let Some((target, link)) = self.waybill_target(&id, &order_no) else {
                continue;
            };
            if self.held_waybill(&target).is_some() {
                continue;
            }
            if let Some(m) = self.pending.remove(&id) {
                self.place_waybill(id, &target, link, m);
                affected.push(target);
            }
        }
    }

    fn evaluate_key(&mut self, key: &SetKey, now_ms: u64) {
        let Some(state) = self.sets.get_mut(key) else {
            return;
        };
        let SetState {
            members,
            outcome,
            warnings,
            skipped,
            incomplete_since_ms,
            quota,
            ..
        } = state;
        let Some(docs) = complete(members) else {
            *outcome = Outcome::Incomplete {
                missing: missing(members),
            };
            warnings.clear();
            skipped.clear();
            incomplete_since_ms.get_or_insert(now_ms);
            return;
        };
        if let Some(q) = quota.take() {
            self.ledger.release(&q.buyer, q.year, key);
        }
        let subject = rules::quota_subject(&docs);
        let annual = match &subject {
            Ok(s) => rules::Annual::Check {
                used: self.ledger.used(&s.buyer, s.year),
                subject: s.clone(),
            },
            Err(reason) => rules::Annual::Skip(reason.clone()),
        };
        let mut found = Vec::new();
        let mut not_applied = Vec::new();
        rules::check(
            &docs,
            &self.config,
            self.registry.as_ref(),
            &annual,
            &mut found,
            &mut not_applied,
        );
        let (errors, lower): (Vec<Violation>, Vec<Violation>) = found
            .into_iter()
            .partition(|v| v.severity == Severity::Error);
        if errors.is_empty() {
            if let Ok(s) = subject {
                self.ledger.record(&s.buyer, s.year, key, s.amount);
                *quota = Some(QuotaEntry {
                    buyer: s.buyer,
                    year: s.year,
                });
            }
            *outcome = Outcome::Pass;
        } else {
            *outcome = Outcome::Fail(errors);
        }
        *warnings = lower;
        *skipped = not_applied;
        *incomplete_since_ms = None;
    }
}

/// The four documents, when all are present.
fn complete(members: &[Option<Member>; 4]) -> Option<rules::Docs<'_>> {
    match members {
        [Some(o), Some(p), Some(w), Some(i)] => Some(rules::Docs {
            order: &o.document,
            payment: &p.document,
            waybill: &w.document,
            inventory: &i.document,
        }),
        _ => None,
    }
}

fn missing(members: &[Option<Member>; 4]) -> Vec<DocKind> {
    DocKind::ALL
        .into_iter()
        .filter(|k| members[k.index()].is_none())
        .collect()
}

fn key_field(kind: DocKind, head: &Record, field: Field<Text>) -> Result<String, EngineError> {
    let v = head.str(field).trim();
    if v.is_empty() {
        return Err(EngineError::MissingKey {
            kind,
            path: field.path(),
        });
    }
    Ok(v.to_owned())
}

/// The set key of an order, payment or inventory.
fn set_key(kind: DocKind, head: &Record) -> Result<SetKey, EngineError> {
    let (order_no, ebp_code) = match kind {
        DocKind::Order => (order_head::ORDER_NO, order_head::EBP_CODE),
        DocKind::Payment => (payment_head::ORDER_NO, payment_head::EBP_CODE),
        DocKind::Inventory => (inventory_head::ORDER_NO, inventory_head::EBP_CODE),
        // The waybill has no ebpCode: it is attached, see the module docs.
        DocKind::Waybill => {
            return Err(EngineError::MissingKey {
                kind,
                path: "LogisticsHead/ebpCode".to_owned(),
            });
        }
    };
    Ok(SetKey {
        order_no: key_field(kind, head, order_no)?,
        ebp_code: key_field(kind, head, ebp_code)?,
    })
}

fn waybill_id(head: &Record) -> Result<WaybillId, EngineError> {
    Ok(WaybillId {
        code: key_field(DocKind::Waybill, head, logistics_head::LOGISTICS_CODE)?,
        no: key_field(DocKind::Waybill, head, logistics_head::LOGISTICS_NO)?,
    })
}

/// The waybill an inventory names, if it names one.
fn inventory_waybill(head: &Record) -> Option<WaybillId> {
    let code = head.str(inventory_head::LOGISTICS_CODE).trim();
    let no = head.str(inventory_head::LOGISTICS_NO).trim();
    (!code.is_empty() && !no.is_empty()).then(|| WaybillId {
        code: code.to_owned(),
        no: no.to_owned(),
    })
}
