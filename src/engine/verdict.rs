//! The verdict on a set: [`Outcome`], its [`Violation`]s and [`Skipped`]
//! rules, and how the engine reaches it and settles the quota ledger.

use std::fmt;

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use super::ledger::{QuotaEntry, QuotaLedger};
use super::report::Status;
use super::rules::{self, Annual};
use super::sets::{Notes, Verdict};
use super::{DocKind, Engine, EngineError, SetKey};
use crate::diag::Diagnostic;
use crate::schema::{RuleInfo, Severity};

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

impl<L: QuotaLedger> Engine<L> {
    /// Evaluates set `key` and settles the ledger: the order holds its
    /// amount exactly while its set passes. On a ledger error the set keeps
    /// its previous verdict.
    pub(super) fn evaluate_key(
        &mut self,
        key: &SetKey,
        now_ms: u64,
        order_deleted: bool,
    ) -> Result<(), EngineError> {
        let ledger_error = |e: L::Error| EngineError::Ledger {
            key: key.clone(),
            message: e.to_string(),
        };
        let Some(state) = self.sets.get(key) else {
            // The set is gone (its last member deleted): give back what it held.
            if order_deleted {
                self.ledger.settle(key, None).map_err(ledger_error)?;
            }
            return Ok(());
        };
        let Some(docs) = state.complete(&self.strings) else {
            if state.counted || order_deleted {
                self.ledger.settle(key, None).map_err(ledger_error)?;
            }
            if let Some(state) = self.sets.get_mut(key) {
                state.verdict = Verdict::Incomplete;
                state.notes = None;
                state.counted = false;
                state.incomplete_since_ms.get_or_insert(now_ms);
            }
            return Ok(());
        };
        let subject = rules::quota_subject(&docs);
        let annual = match &subject {
            Ok(s) => Annual::Check {
                used: self
                    .ledger
                    .used_by_others(&s.buyer, s.year, key)
                    .map_err(ledger_error)?,
                subject: s.clone(),
            },
            Err(reason) => Annual::Skip(reason.clone()),
        };
        let mut found = Vec::new();
        let mut skipped = Vec::new();
        rules::check(
            &docs,
            &self.config,
            self.registry.as_ref(),
            &annual,
            &mut found,
            &mut skipped,
        );
        let (errors, warnings): (Vec<Violation>, Vec<Violation>) = found
            .into_iter()
            .partition(|v| v.severity == Severity::Error);
        let passed = errors.is_empty();
        let entry = match subject {
            Ok(s) if passed => Some(QuotaEntry {
                buyer: s.buyer,
                year: s.year,
                amount: s.amount,
            }),
            _ => None,
        };
        let counted = entry.is_some();
        if counted || state.counted || !passed {
            self.ledger.settle(key, entry).map_err(ledger_error)?;
        }
        if let Some(state) = self.sets.get_mut(key) {
            state.verdict = if passed {
                Verdict::Pass
            } else {
                Verdict::Fail(errors.into_boxed_slice())
            };
            state.notes = (!warnings.is_empty() || !skipped.is_empty())
                .then(|| Box::new(Notes { warnings, skipped }));
            state.incomplete_since_ms = None;
            state.counted = counted;
        }
        Ok(())
    }
}
