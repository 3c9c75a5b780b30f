//! XML signatures of CEB messages (XML-DSig): canonicalisation so far.
//!
//! CEB signatures reference the whole document (`URI=""`) with the
//! enveloped-signature transform and Canonical XML 1.0
//! (`http://www.w3.org/TR/2001/REC-xml-c14n-20010315`). Canonicalisation is
//! `bergshamra-c14n`'s, checked byte for byte against `xmllint --c14n` on
//! every sample (`tests/it/sig.rs`). Pure: no I/O, no clock.

// Pure core: no input may panic here (see ARCHITECTURE.md, Invariants).
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use bergshamra_c14n::C14nMode;
use thiserror::Error;

/// Why a document cannot be canonicalised.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SigError {
    /// Not well-formed XML (as the canonicaliser's parser reads it).
    #[error("cannot canonicalise: {0}")]
    C14n(String),
}

/// The document `xml` (UTF-8 text) in Canonical XML 1.0, comments kept
/// (`comments`) or dropped (the form signatures use).
pub fn canonicalize(xml: &str, comments: bool) -> Result<Vec<u8>, SigError> {
    let mode = if comments {
        C14nMode::InclusiveWithComments
    } else {
        C14nMode::Inclusive
    };
    bergshamra_c14n::canonicalize::<&str>(xml, mode, None, &[])
        .map_err(|e| SigError::C14n(e.to_string()))
}
