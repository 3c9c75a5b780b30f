//! Why the engine refused a document, a request or a configuration.

use thiserror::Error;

use super::{DocKind, SetKey};

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
    /// appType 1 for a place already filled with a document of different
    /// business content.
    #[error(
        "{kind} for {key} was already declared with different business content; send appType 2 to change it"
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
    /// The document's text is too large to be kept compactly (over 4 GiB).
    #[error("{kind}: the document is too large to be kept")]
    TooLarge {
        /// The document kind.
        kind: DocKind,
    },
    /// No set has this key.
    #[error("no set {key}")]
    UnknownSet {
        /// The key asked for.
        key: SetKey,
    },
    /// Only a set that passed or failed can be closed.
    #[error("set {key} is incomplete: only a decided set can be closed")]
    NotDecided {
        /// The set.
        key: SetKey,
    },
    /// The quota ledger failed; the set keeps its previous verdict and can be
    /// evaluated again with [`super::Engine::evaluate`].
    #[error("the quota ledger failed for set {key}: {message}")]
    Ledger {
        /// The set being evaluated.
        key: SetKey,
        /// The ledger's error.
        message: String,
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
