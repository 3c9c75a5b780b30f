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
//! Because time is passed in and nothing else varies, the engine's state is
//! a function of the documents submitted: a daemon rebuilds it after a
//! restart by submitting its stored inbound documents again, in the order
//! they arrived, with their arrival times.
//!
//! # Modules
//!
//! - `kinds`: the four kinds and one table of their head fields, keys, ids.
//! - `facts`: what an open set keeps of a document (the compared fields only).
//! - `sets`: one set's members and verdict.
//! - `waybill`: where a waybill goes, through indexes.
//! - `verdict`: the verdict types; evaluating a set and settling the ledger.
//! - `rules`: the rules themselves, field comparisons as one table.
//! - `ledger`: the annual quota, one durable truth ([`QuotaLedger`]).
//! - `receipt`, `report`, `config`, `error`.
//!
//! # Which set a document joins
//!
//! - Order, payment and inventory carry `orderNo` and `ebpCode`: that is their set.
//! - The waybill carries `orderNo` but no `ebpCode`; see the `waybill` module:
//!   it joins the one set whose inventory names it, else the one set with its
//!   `orderNo`, else waits. Once attached it stays until it is changed or deleted.
//!   A waybill is identified by `logisticsCode` + `logisticsNo`.
//!
//! # appType, resends and duplicates
//!
//! Two documents with the same business key and the same business content
//! (every field but `guid`, `appTime` and `appType`; see [`Submitted::duplicate_of`])
//! are the same declaration: a resend changes no member and is reported as
//! a duplicate, whatever its `appType`; its set is evaluated again (a sender
//! resends a refused declaration to have it checked again after the quota
//! or the registry changed).
//!
//! - `1` new: fills the member's place. A document with *different* content
//!   for a place already filled is refused ([`EngineError::AlreadyDeclared`]) —
//!   send `2`.
//! - `2` change: replaces the member (or fills its place if the original was
//!   never seen). A change of `orderNo`/`ebpCode` names another set: delete the
//!   old document first.
//! - `3` delete: removes the member.
//!
//! # Personal limits
//!
//! A set that passes every rule is *accepted*: its order's `acturalPaid` is
//! counted in the [`QuotaLedger`] under the buyer (`buyerIdNumber`) and the
//! calendar year of the order's `appTime` (else the inventory's `declTime`).
//! An order holds its amount exactly while its set passes: a change moves it,
//! a failure, a deletion or a missing member gives it back. The annual rule
//! compares the order with what the buyer's *other* orders hold, so
//! evaluating an order again never counts it twice.
//!
//! # Memory
//!
//! A set keeps what the rules compare, not whole documents (see `facts`);
//! a decided set that has been forwarded is evicted with [`Engine::close`].

#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod config;
mod error;
mod facts;
mod kinds;
mod ledger;
mod receipt;
mod report;
mod rules;
mod sets;
mod verdict;
mod waybill;

use std::collections::{BTreeMap, HashMap};

pub use config::{EngineConfig, Enterprise, Registry, Role};
pub use error::EngineError;
pub use kinds::{AppType, DocKind, HeadFields, InboundId, SetKey, WaybillLink};
pub use ledger::{LedgerError, MemoryLedger, QuotaEntry, QuotaLedger};
pub use receipt::{
    RETURN_STATUS_REJECTED, Receipt, ReceiptError, receipt_for, return_head, return_info, time17,
    uuid_text,
};
pub use report::{MemberInfo, Overdue, SetReport, Status, describe};
pub use verdict::{Outcome, Skipped, Violation};

use facts::{Facts, Strings};
use kinds::WaybillId;
use sets::{Member, SetState};
use waybill::{ByWaybill, Few};

use crate::model::Document;
use crate::schema::MessageSpec;

/// What [`Engine::submit`] did.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The document's kind.
    pub kind: DocKind,
    /// Its appType.
    pub app_type: AppType,
    /// The set it went to (or was deleted from); `None` for a waybill that waits.
    pub set: Option<SetKey>,
    /// A resend: the engine already holds a document with the same business
    /// key and business content (it may differ in `guid`, `appTime`, `appType`
    /// and signature) that came as this inbound document. No member changed;
    /// the set was evaluated again (the ledger or registry may have changed).
    pub duplicate_of: Option<InboundId>,
    /// The report of every set whose members changed, after re-evaluation
    /// (a set left empty by a deletion is reported once, then dropped); for
    /// a duplicate, the report of its set.
    pub reports: Vec<SetReport>,
}

/// Where a submitted document went.
#[derive(Debug)]
struct Placed {
    set: Option<SetKey>,
    duplicate_of: Option<InboundId>,
}

impl Placed {
    fn at(set: Option<SetKey>) -> Placed {
        Placed {
            set,
            duplicate_of: None,
        }
    }

    fn duplicate(set: Option<SetKey>, of: InboundId) -> Placed {
        Placed {
            set,
            duplicate_of: Some(of),
        }
    }
}

/// Where a document would go ([`Engine::placement`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// The set of an order, payment or inventory.
    Set(SetKey),
    /// A waybill: the orderNo it joins a set by (empty when it has none).
    Waybill {
        /// Its orderNo.
        order_no: String,
    },
}

/// What one submit changed.
#[derive(Debug, Default)]
struct Changes {
    /// Sets whose members changed, to evaluate and report.
    affected: Vec<SetKey>,
    /// Sets whose order was deleted (their quota is given back).
    order_deleted: Vec<SetKey>,
    /// Waybills whose naming by an inventory changed.
    touched: Vec<WaybillId>,
}

/// How much the engine holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EngineStats {
    /// Open sets.
    pub sets: usize,
    /// Documents held in open sets.
    pub members: usize,
    /// Waybills waiting for their set.
    pub pending_waybills: usize,
    /// Bytes of kept document text and offsets (allocator overhead not counted).
    pub kept_bytes: usize,
    /// Distinct enterprise codes and names kept once for all documents.
    pub shared_strings: usize,
    /// Bytes those take.
    pub shared_bytes: usize,
}

/// The cross-document check engine. `L` is where the annual quota is counted.
#[derive(Debug)]
pub struct Engine<L: QuotaLedger = MemoryLedger> {
    config: EngineConfig,
    registry: Option<Registry>,
    ledger: L,
    sets: BTreeMap<SetKey, Box<SetState>>,
    /// Waybills not attached to any set yet.
    pending: HashMap<WaybillId, Box<Member>>,
    /// The waiting waybills by their orderNo.
    pending_by_order: HashMap<String, Few<WaybillId>>,
    /// Attached waybills: which set holds each.
    attached: ByWaybill,
    /// Which sets' inventories name each waybill.
    named: ByWaybill,
    /// Enterprise codes and names, kept once for all documents.
    strings: Strings,
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
            pending: HashMap::new(),
            pending_by_order: HashMap::new(),
            attached: ByWaybill::default(),
            named: ByWaybill::default(),
            strings: Strings::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The enterprise registry, if one is configured.
    pub fn registry(&self) -> Option<&Registry> {
        self.registry.as_ref()
    }

    /// Takes new tolerances and a new registry (a reloaded configuration):
    /// every set evaluated from now on is judged by them; verdicts already
    /// given stand. Refused, and nothing changed, when `config` is invalid.
    pub fn reconfigure(
        &mut self,
        config: EngineConfig,
        registry: Option<Registry>,
    ) -> Result<(), EngineError> {
        config.check()?;
        self.config = config;
        self.registry = registry;
        Ok(())
    }

    /// The quota ledger.
    pub fn ledger(&self) -> &L {
        &self.ledger
    }

    /// The quota ledger, to write what it buffered (a store's ledger).
    pub fn ledger_mut(&mut self) -> &mut L {
        &mut self.ledger
    }

    /// Where a document of `spec`'s type would go, without submitting it:
    /// the set of an order, payment or inventory, the orderNo a waybill
    /// looks for. A daemon that evicted a decided set uses it to bring the
    /// set back before a later document for it is submitted.
    pub fn placement(
        &mut self,
        spec: &MessageSpec,
        doc: &Document,
    ) -> Result<Placement, EngineError> {
        let member = incoming(spec, doc, InboundId::new(0, 0), 0, &mut self.strings)?;
        let head = member.kind.head();
        match member.kind {
            DocKind::Waybill => Ok(Placement::Waybill {
                order_no: member
                    .facts
                    .head(&self.strings)
                    .str(head.order_no)
                    .to_owned(),
            }),
            kind => Ok(Placement::Set(waybill::set_key(
                kind,
                &member.facts,
                &self.strings,
            )?)),
        }
    }

    /// The engine's ledger, the engine dropped.
    pub fn into_ledger(self) -> L {
        self.ledger
    }

    /// Takes in one document of `spec`'s type that came as inbound document
    /// `source`, at `now_ms` (ms since the Unix epoch).
    pub fn submit(
        &mut self,
        spec: &MessageSpec,
        doc: &Document,
        source: InboundId,
        now_ms: u64,
    ) -> Result<Submitted, EngineError> {
        let member = incoming(spec, doc, source, now_ms, &mut self.strings)?;
        let (kind, app_type) = (member.kind, member.app_type);
        let mut changes = Changes::default();
        let placed = match kind {
            DocKind::Waybill => self.submit_waybill(member, &mut changes)?,
            _ => self.submit_member(member, &mut changes)?,
        };
        // A resend changes no member, but it asks for its set to be checked
        // again: the ledger or the registry may have changed since.
        if placed.duplicate_of.is_some()
            && let Some(k) = &placed.set
        {
            changes.affected.push(k.clone());
        }
        let reports = self.evaluate_changes(changes, now_ms)?;
        Ok(Submitted {
            kind,
            app_type,
            set: placed.set,
            duplicate_of: placed.duplicate_of,
            reports,
        })
    }

    /// Takes in an order, payment or inventory.
    fn submit_member(
        &mut self,
        member: Box<Member>,
        changes: &mut Changes,
    ) -> Result<Placed, EngineError> {
        let kind = member.kind;
        let key = waybill::set_key(kind, &member.facts, &self.strings)?;
        let held = self.sets.get(&key).and_then(|s| s.member(kind));
        match (member.app_type, held) {
            (AppType::New | AppType::Change, Some(h)) if h.fingerprint == member.fingerprint => {
                return Ok(Placed::duplicate(Some(key), h.source));
            }
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
                self.remove_member(&key, kind, changes);
                if kind == DocKind::Order {
                    changes.order_deleted.push(key.clone());
                }
            }
            (AppType::New | AppType::Change, _) => self.place_member(&key, member, changes),
        }
        changes.affected.push(key.clone());
        self.attach_pending(&key, changes);
        Ok(Placed::at(Some(key)))
    }

    fn place_member(&mut self, key: &SetKey, member: Box<Member>, changes: &mut Changes) {
        let kind = member.kind;
        self.remove_member(key, kind, changes);
        if kind == DocKind::Inventory {
            self.name_waybill(key, &member.facts, changes);
        }
        if let Some(slot) = self.sets.entry(key.clone()).or_default().slot(kind) {
            *slot = Some(member);
        }
    }

    /// Takes a member out of its set; a set left empty is dropped.
    fn remove_member(&mut self, key: &SetKey, kind: DocKind, changes: &mut Changes) {
        let old = self
            .sets
            .get_mut(key)
            .and_then(|s| s.slot(kind))
            .and_then(Option::take);
        if let Some(old) = old
            && kind == DocKind::Inventory
        {
            self.unname_waybill(key, &old.facts, changes);
        }
        self.drop_if_empty(key);
    }

    fn drop_if_empty(&mut self, key: &SetKey) {
        if self.sets.get(key).is_some_and(|s| s.is_empty()) {
            self.sets.remove(key);
        }
    }

    /// Evaluates every set a submit changed, once each, and reports them.
    fn evaluate_changes(
        &mut self,
        changes: Changes,
        now_ms: u64,
    ) -> Result<Vec<SetReport>, EngineError> {
        let mut done: Vec<&SetKey> = Vec::with_capacity(changes.affected.len());
        let mut reports = Vec::with_capacity(changes.affected.len());
        for k in &changes.affected {
            if done.contains(&k) {
                continue;
            }
            done.push(k);
            self.evaluate_key(k, now_ms, changes.order_deleted.contains(k))?;
            reports.push(self.report(k).unwrap_or_else(|| SetReport::emptied(k)));
        }
        Ok(reports)
    }

    /// Evaluates a set again (after the ledger or registry changed
    /// elsewhere, or after a ledger error) and returns its status; `None`
    /// if there is no such set.
    pub fn evaluate(&mut self, key: &SetKey, now_ms: u64) -> Result<Option<Status>, EngineError> {
        self.evaluate_key(key, now_ms, false)?;
        Ok(self.sets.get(key).map(|s| s.verdict.status()))
    }

    /// The current outcome of a set.
    pub fn outcome(&self, key: &SetKey) -> Option<Outcome> {
        self.sets.get(key).map(|s| s.outcome())
    }

    /// The report of one set.
    pub fn report(&self, key: &SetKey) -> Option<SetReport> {
        self.sets
            .get(key)
            .map(|s| SetReport::of(key, s, &self.strings))
    }

    /// The reports of every set, by key.
    pub fn reports(&self) -> Vec<SetReport> {
        self.sets
            .iter()
            .map(|(k, s)| SetReport::of(k, s, &self.strings))
            .collect()
    }

    /// The keys of every open set.
    pub fn keys(&self) -> impl Iterator<Item = &SetKey> {
        self.sets.keys()
    }

    /// The waybills that wait for their set, by identity.
    pub fn pending_waybills(&self) -> Vec<MemberInfo> {
        self.pending_sorted()
            .map(|m| MemberInfo::of(m, &self.strings))
            .collect()
    }

    /// The waiting waybills in the order of their identity (the map is
    /// unordered: a lookup costs the same with a million waiting).
    fn pending_sorted(&self) -> impl Iterator<Item = &Member> {
        let mut all: Vec<(&WaybillId, &Member)> =
            self.pending.iter().map(|(id, m)| (id, &**m)).collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all.into_iter().map(|(_, m)| m)
    }

    /// The members of a set, in set order.
    pub fn members(&self, key: &SetKey) -> Vec<MemberInfo> {
        self.sets
            .get(key)
            .map(|s| {
                s.present()
                    .map(|m| MemberInfo::of(m, &self.strings))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How much the engine holds.
    pub fn stats(&self) -> EngineStats {
        let mut st = EngineStats {
            sets: self.sets.len(),
            pending_waybills: self.pending.len(),
            shared_strings: self.strings.len(),
            shared_bytes: self.strings.heap_bytes(),
            ..EngineStats::default()
        };
        for m in self.sets.values().flat_map(|s| s.present()) {
            st.members = st.members.saturating_add(1);
            st.kept_bytes = st.kept_bytes.saturating_add(m.facts.heap_bytes());
        }
        for m in self.pending.values() {
            st.kept_bytes = st.kept_bytes.saturating_add(m.facts.heap_bytes());
        }
        st
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
                    members: s
                        .present()
                        .map(|m| MemberInfo::of(m, &self.strings))
                        .collect(),
                    missing: s.missing(),
                    since_ms: since,
                    waited_secs: now_ms.saturating_sub(since) / 1000,
                });
            }
        }
        for m in self.pending_sorted() {
            if now_ms.saturating_sub(m.received_ms) > limit {
                out.push(Overdue {
                    key: None,
                    members: vec![MemberInfo::of(m, &self.strings)],
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
        let violations = state.violations();
        if violations.is_empty() {
            return Ok(Vec::new());
        }
        Ok(state
            .present()
            .map(|m| Receipt {
                kind: m.kind,
                source: m.source,
                document_key: m.facts.document_key(m.kind, &self.strings),
                message: receipt_for(
                    m.kind,
                    &m.facts.to_document(&self.strings),
                    violations,
                    now_ms,
                ),
            })
            .collect())
    }

    /// Evicts a decided set (passed or failed) once it needs no more
    /// attention (forwarded, or answered), and returns its last report. Its
    /// order keeps what it holds in the ledger. A document for the same
    /// order that arrives later starts a new set.
    pub fn close(&mut self, key: &SetKey) -> Result<SetReport, EngineError> {
        let state = self
            .sets
            .get(key)
            .ok_or_else(|| EngineError::UnknownSet { key: key.clone() })?;
        if state.verdict.status() == Status::Incomplete {
            return Err(EngineError::NotDecided { key: key.clone() });
        }
        let report = SetReport::of(key, state, &self.strings);
        let mut changes = Changes::default();
        if let Some(state) = self.sets.remove(key) {
            if let Some(w) = state.member(DocKind::Waybill)
                && let Ok(id) = waybill::waybill_id(&w.facts, &self.strings)
            {
                self.attached.remove(&id, key);
            }
            if let Some(i) = state.member(DocKind::Inventory) {
                self.unname_waybill(key, &i.facts, &mut changes);
            }
        }
        Ok(report)
    }
}

/// Checks a submitted document and makes the member the engine keeps.
fn incoming(
    spec: &MessageSpec,
    doc: &Document,
    source: InboundId,
    now_ms: u64,
    strings: &mut Strings,
) -> Result<Box<Member>, EngineError> {
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
    Ok(Box::new(Member {
        kind,
        source,
        app_type: AppType::parse(kind, &doc.head)?,
        received_ms: now_ms,
        fingerprint: facts::fingerprint(kind, doc),
        facts: Facts::of(kind, doc, strings)?,
    }))
}
