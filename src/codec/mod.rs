//! The codec: bytes <-> typed [`Message`]. Pure: no I/O, no clock, no panics on input.
//!
//! Reading is tolerant (any prefix or the default namespace, UTF-8 with or
//! without BOM, GBK/GB2312/GB18030 when declared, receipts in any order, older
//! field sets); writing is strict (XSD order, `ceb:` prefix on requests,
//! validated before a byte is produced).

// Pure core: no input may panic here. Slicing, indexing and unchecked
// arithmetic are refused at compile time (see ARCHITECTURE.md, Invariants).
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod charset;
mod dom;
mod read;
mod write;

use thiserror::Error;

pub use charset::Charset;
pub use write::{EncodeOptions, WriteError, encode};

use crate::diag::Diagnostic;
use crate::model::Message;
use crate::schema::{NS_CEB, NS_DEC, NS_DS, NS_DXP, RuleInfo, rule};

/// Bounds on what one input may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted element nesting.
    pub max_depth: usize,
    /// Most elements in one input.
    pub max_elements: usize,
    /// Whether a DXP envelope is accepted (false inside an envelope: no nesting).
    pub allow_envelope: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 16 * 1024 * 1024,
            max_depth: 32,
            max_elements: 200_000,
            allow_envelope: true,
        }
    }
}

/// Why an input could not be read as a message at all.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum CodecError {
    /// Zero bytes, or only white space.
    #[error("the file is empty")]
    Empty,
    /// Over [`Limits::max_bytes`].
    #[error("the input is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Input size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Bytes that are not valid in the charset.
    #[error("byte offset {offset} is not valid {charset}")]
    Encoding {
        /// The charset the bytes were read as.
        charset: &'static str,
        /// Offset of the first bad byte.
        offset: usize,
    },
    /// A declared encoding the gateway does not read.
    #[error("encoding \"{label}\" is not supported (UTF-8, GBK, GB2312 and GB18030 are)")]
    EncodingUnsupported {
        /// The declared label.
        label: String,
    },
    /// Not well-formed XML.
    #[error("malformed XML at line {line}: {reason}")]
    Malformed {
        /// Line of the problem.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A DOCTYPE declaration (refused: no entities, no external references).
    #[error(
        "DOCTYPE declaration at line {line} refused: customs messages never carry one, and entities are not expanded"
    )]
    Doctype {
        /// Line of the declaration.
        line: usize,
    },
    /// Nesting deeper than [`Limits::max_depth`].
    #[error("elements are nested deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// More elements than [`Limits::max_elements`].
    #[error("more than {limit} elements")]
    TooManyElements {
        /// The limit.
        limit: usize,
    },
    /// A root element the gateway does not know.
    #[error("root element <{root}> ({}) is not a customs message the gateway reads", if namespace.is_empty() { "no namespace" } else { namespace.as_str() })]
    UnknownRoot {
        /// Root local name.
        root: String,
        /// Its namespace.
        namespace: String,
    },
    /// A known root in the wrong namespace.
    #[error("root element <{root}> is in namespace \"{found}\", expected \"{expected}\"")]
    WrongNamespace {
        /// Root local name.
        root: String,
        /// The namespace found.
        found: String,
        /// The namespace expected.
        expected: &'static str,
    },
}

impl CodecError {
    /// The catalogue rule this failure reports as.
    pub fn rule(&self) -> &'static RuleInfo {
        match self {
            CodecError::Empty => rule::EMPTY,
            CodecError::TooLarge { .. } => rule::TOO_LARGE,
            CodecError::Encoding { .. } => rule::ENCODING,
            CodecError::EncodingUnsupported { .. } => rule::ENCODING_UNSUPPORTED,
            CodecError::Malformed { .. } => rule::XML_MALFORMED,
            CodecError::Doctype { .. } => rule::XML_DOCTYPE,
            CodecError::TooDeep { .. } | CodecError::TooManyElements { .. } => rule::TOO_DEEP,
            CodecError::UnknownRoot { .. } => rule::UNKNOWN_ROOT,
            CodecError::WrongNamespace { .. } => rule::NAMESPACE,
        }
    }
}

/// A message read from bytes, with what the reader noticed on the way.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The message.
    pub message: Message,
    /// Reader findings (unknown or out-of-order elements, envelope payload problems).
    /// Field rules are the validator's job: see [`crate::validate`].
    pub diagnostics: Vec<Diagnostic>,
    /// The charset the bytes were in.
    pub charset: Charset,
}

/// Reads one message from bytes with the default limits.
pub fn decode(bytes: &[u8]) -> Result<Decoded, CodecError> {
    decode_with(bytes, &Limits::default())
}

/// Reads one message from bytes.
pub fn decode_with(bytes: &[u8], limits: &Limits) -> Result<Decoded, CodecError> {
    if bytes.len() > limits.max_bytes {
        return Err(CodecError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CodecError::Empty);
    }
    let text = charset::decode_text(bytes)?;
    let dom = dom::parse(&text.text, limits)?;
    let mut diagnostics = Vec::new();
    if !limits.allow_envelope && dom.root().local == "DxpMsg" {
        return Err(CodecError::UnknownRoot {
            root: "DxpMsg".to_owned(),
            namespace: "a DXP envelope inside a DXP envelope".to_owned(),
        });
    }
    let message = read::read_message(&dom, limits, &mut diagnostics)?;
    Ok(Decoded {
        message,
        diagnostics,
        charset: text.charset,
    })
}

/// Whether `content` is element content the reader accepts once the writer
/// has copied it verbatim between an `xml` field's tags (the gateway's
/// namespace prefixes `ceb`, `dxp`, `dec` and `ds` in scope).
pub(crate) fn is_well_formed_content(content: &str) -> bool {
    let wrapped = format!(
        "<x xmlns:ceb=\"{NS_CEB}\" xmlns:dxp=\"{NS_DXP}\" xmlns:dec=\"{NS_DEC}\" xmlns:ds=\"{NS_DS}\">{content}</x>"
    );
    dom::parse(&wrapped, &Limits::default()).is_ok()
}
