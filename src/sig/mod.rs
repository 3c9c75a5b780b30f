//! XML signatures of CEB messages (XML-DSig): canonicalisation,
//! verification, trust and signing.
//!
//! CEB signatures reference the whole document (`URI=""`) with the
//! enveloped-signature transform and Canonical XML 1.0
//! (`http://www.w3.org/TR/2001/REC-xml-c14n-20010315`); RSA-SHA1 or SM2-SM3
//! (raw r‖s, user ID `1234567812345678`), the digest algorithm named by
//! `DigestMethod`. Canonicalisation is `bergshamra-c14n`'s, checked byte for
//! byte against `xmllint --c14n` on every sample (`tests/it/sig.rs`).
//!
//! - [`verify`] reads a document's `ds:Signature` and verifies digest and
//!   signature, strictly and then whitespace-leniently;
//! - [`check`] turns that into diagnostics under a [`Mode`], with the trust
//!   rule: the certificate must be registered for the enterprise that
//!   declares the document and valid at its `appTime` and on receipt;
//! - [`Signer`] signs the messages the gateway writes itself.
//!
//! Pure: no I/O (certificates and keys are passed in as bytes), no clock.

// Pure core: no input may panic here (see ARCHITECTURE.md, Invariants).
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod cert;
mod policy;
mod sign;
mod verify;

pub use cert::{Certificate, PublicKey, SM2_USER_ID, same_serial};
pub use policy::{Mode, check, cst_unix_secs};
pub use sign::{Algorithm, Signer};
pub use verify::{Outcome, Problem, Verification, body, verify};

use bergshamra_c14n::C14nMode;
use thiserror::Error;

/// Why a document cannot be canonicalised.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SigError {
    /// Not well-formed XML (as the canonicaliser's parser reads it).
    #[error("cannot canonicalise: {0}")]
    C14n(String),
    /// A certificate that cannot be read or used.
    #[error("certificate: {0}")]
    Certificate(String),
    /// A private key that cannot be read or used.
    #[error("private key: {0}")]
    Key(String),
    /// The document cannot be signed.
    #[error("cannot sign: {0}")]
    Sign(String),
    /// The document carries a signature already; the gateway never
    /// replaces one.
    #[error("the message is signed already: a received signature is never replaced")]
    AlreadySigned,
}

/// The document `xml` (UTF-8 text) in Canonical XML 1.0, comments kept
/// (`comments`) or dropped (the form signatures use).
pub fn canonicalize(xml: &str, comments: bool) -> Result<Vec<u8>, SigError> {
    let mode = if comments {
        C14nMode::InclusiveWithComments
    } else {
        C14nMode::Inclusive
    };
    // A library outside the pure core: should it panic on some input, that
    // input is refused rather than the caller brought down.
    std::panic::catch_unwind(|| bergshamra_c14n::canonicalize::<&str>(xml, mode, None, &[]))
        .map_err(|_| SigError::C14n("the canonicaliser failed on this document".to_owned()))?
        .map_err(|e| SigError::C14n(e.to_string()))
}
