//! Diagnostics: what a rule found, where, and how bad it is.

// Pure core: no input may panic here. Slicing, indexing and unchecked
// arithmetic are refused at compile time (see ARCHITECTURE.md, Invariants).
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::fmt;

use crate::schema::{RuleInfo, Severity};

/// One finding about one message or one of its documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule (stable code plus descriptions).
    pub rule: &'static RuleInfo,
    /// Severity of this finding (may be lower than the rule's default when reading tolerantly).
    pub severity: Severity,
    /// Index of the business document it concerns; `None` for the message as a whole.
    pub document: Option<usize>,
    /// Element path, e.g. `OrderHead/acturalPaid`.
    pub path: String,
    /// A plain sentence.
    pub message: String,
}

impl Diagnostic {
    /// A finding at the rule's default severity.
    pub fn new(
        rule: &'static RuleInfo,
        document: Option<usize>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            rule,
            severity: rule.severity,
            document,
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same finding at another severity.
    pub fn with_severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }

    /// Whether this finding refuses the document.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}] {}: {}",
            self.severity.as_str(),
            self.rule.code,
            self.path,
            self.message
        )
    }
}

/// Whether any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}
