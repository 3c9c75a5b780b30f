//! One open set: its members (what the engine keeps of each document), its
//! verdict and how it got there.

use super::facts::{Facts, Strings};
use super::{AppType, DocKind, InboundId, Outcome, Skipped, Status, Violation, WaybillLink};

/// One document held by the engine.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub kind: DocKind,
    /// The inbound document it came as.
    pub source: InboundId,
    pub app_type: AppType,
    /// When it arrived (ms since the Unix epoch).
    pub received_ms: u64,
    /// Its business content's fingerprint (see [`super::facts::fingerprint`]).
    pub fingerprint: [u8; 16],
    /// What the rules read of it.
    pub facts: Facts,
}

/// A set's verdict, as kept (the public form is [`Outcome`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Verdict {
    #[default]
    Incomplete,
    Pass,
    Fail(Box<[Violation]>),
}

impl Verdict {
    pub fn status(&self) -> Status {
        match self {
            Verdict::Pass => Status::Pass,
            Verdict::Fail(_) => Status::Fail,
            Verdict::Incomplete => Status::Incomplete,
        }
    }
}

/// What an evaluation found besides the verdict (boxed: most sets have none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Notes {
    /// Findings below error severity.
    pub warnings: Vec<Violation>,
    /// Rules not applied, and why.
    pub skipped: Vec<Skipped>,
}

/// The state of one set.
#[derive(Debug, Clone, Default)]
pub(crate) struct SetState {
    pub members: [Option<Box<Member>>; 4],
    pub verdict: Verdict,
    pub notes: Option<Box<Notes>>,
    /// Since when the set has been incomplete (ms since the Unix epoch).
    pub incomplete_since_ms: Option<u64>,
    /// How the waybill was attached, if it is.
    pub link: Option<WaybillLink>,
    /// Whether the ledger holds this order's amount (the set passed).
    pub counted: bool,
}

/// The four members of a complete set.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Complete<'a> {
    pub strings: &'a Strings,
    pub order: &'a Facts,
    pub payment: &'a Facts,
    pub waybill: &'a Facts,
    pub inventory: &'a Facts,
}

impl SetState {
    pub fn member(&self, kind: DocKind) -> Option<&Member> {
        self.members.get(kind.index())?.as_deref()
    }

    pub fn slot(&mut self, kind: DocKind) -> Option<&mut Option<Box<Member>>> {
        self.members.get_mut(kind.index())
    }

    pub fn present(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().flatten().map(|m| &**m)
    }

    pub fn is_empty(&self) -> bool {
        self.members.iter().all(Option::is_none)
    }

    /// The four documents, when all are present.
    pub fn complete<'a>(&'a self, strings: &'a Strings) -> Option<Complete<'a>> {
        match &self.members {
            [Some(o), Some(p), Some(w), Some(i)] => Some(Complete {
                strings,
                order: &o.facts,
                payment: &p.facts,
                waybill: &w.facts,
                inventory: &i.facts,
            }),
            _ => None,
        }
    }

    /// The kinds not present.
    pub fn missing(&self) -> Vec<DocKind> {
        DocKind::ALL
            .into_iter()
            .filter(|k| self.member(*k).is_none())
            .collect()
    }

    /// The verdict in its public form.
    pub fn outcome(&self) -> Outcome {
        match &self.verdict {
            Verdict::Pass => Outcome::Pass,
            Verdict::Fail(v) => Outcome::Fail(v.to_vec()),
            Verdict::Incomplete => Outcome::Incomplete {
                missing: self.missing(),
            },
        }
    }

    pub fn warnings(&self) -> &[Violation] {
        self.notes.as_ref().map_or(&[], |n| &n.warnings)
    }

    pub fn skipped(&self) -> &[Skipped] {
        self.notes.as_ref().map_or(&[], |n| &n.skipped)
    }

    pub fn violations(&self) -> &[Violation] {
        match &self.verdict {
            Verdict::Fail(v) => v,
            _ => &[],
        }
    }
}
