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
mod events;
mod read;
mod unsupported;
mod write;

use thiserror::Error;

pub use charset::Charset;
pub use unsupported::{CUSTOMS_ROOTS_WITHOUT_NAMESPACE, KEY_ELEMENTS, Unsupported};
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
    /// A customs message the gateway recognises but does not model, given
    /// to [`decode`], which reads modelled messages only ([`decode_any`]
    /// reads it as [`Content::Unsupported`]).
    #[error("root element <{root}> is a customs message the gateway does not model")]
    Unsupported {
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
            CodecError::Unsupported { .. } => rule::UNSUPPORTED_MESSAGE,
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

/// What one input holds.
#[derive(Debug, Clone)]
pub enum Content {
    /// A message the gateway models.
    Message(Decoded),
    /// A customs message the gateway recognises but does not model.
    Unsupported(Unsupported),
}

/// Reads one message the gateway models, with the default limits.
///
/// A customs message it does not model is [`CodecError::Unsupported`]; use
/// [`decode_any`] to accept those too.
pub fn decode(bytes: &[u8]) -> Result<Decoded, CodecError> {
    decode_with(bytes, &Limits::default())
}

/// Reads one message the gateway models.
pub fn decode_with(bytes: &[u8], limits: &Limits) -> Result<Decoded, CodecError> {
    match decode_any_with(bytes, limits)? {
        Content::Message(decoded) => Ok(decoded),
        Content::Unsupported(u) => Err(CodecError::Unsupported {
            root: u.root,
            namespace: u.namespace,
        }),
    }
}

/// Reads any customs message with the default limits: a modelled one, or
/// an unmodelled one as [`Content::Unsupported`] (its root, namespace and
/// business key; see [`Unsupported`]).
pub fn decode_any(bytes: &[u8]) -> Result<Content, CodecError> {
    decode_any_with(bytes, &Limits::default())
}

/// The text of a message's bytes in any of the CEB encodings (BOM or XML
/// declaration), as UTF-8; `None` when the bytes are not valid in it.
pub fn text(bytes: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    text_in(bytes).map(|(text, _)| text)
}

/// [`text`], and the charset the bytes were in.
pub fn text_in(bytes: &[u8]) -> Option<(std::borrow::Cow<'_, str>, Charset)> {
    let source = charset::source(bytes).ok()?;
    let text = match source.bytes {
        std::borrow::Cow::Borrowed(b) => std::borrow::Cow::Borrowed(std::str::from_utf8(b).ok()?),
        std::borrow::Cow::Owned(b) => std::borrow::Cow::Owned(String::from_utf8(b).ok()?),
    };
    Some((text, source.charset))
}

/// Encodes UTF-8 text in `charset`; the error is a character it cannot
/// hold.
pub fn encode_text(text: &str, charset: Charset) -> Result<Vec<u8>, char> {
    charset::encode_text(text, charset)
}

/// Reads any customs message (see [`decode_any`]).
pub fn decode_any_with(bytes: &[u8], limits: &Limits) -> Result<Content, CodecError> {
    if bytes.len() > limits.max_bytes {
        return Err(CodecError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CodecError::Empty);
    }
    let source = charset::source(bytes)?;
    match read::read(&source.bytes, source.charset, limits) {
        Ok(content) => Ok(content),
        // UTF-8 is checked once, by quick-xml as it tokenizes. When reading
        // stopped, a byte that is not UTF-8 is what is reported, wherever
        // it is: the file is in the wrong encoding before it is bad XML.
        Err(e) => Err(charset::utf8_error(bytes).unwrap_or(e)),
    }
}

/// Whether `content` is element content the reader accepts once the writer
/// has copied it verbatim between an `xml` field's tags (the gateway's
/// namespace prefixes `ceb`, `dxp`, `dec` and `ds` in scope).
pub(crate) fn is_well_formed_content(content: &str) -> bool {
    let wrapped = format!(
        "<x xmlns:ceb=\"{NS_CEB}\" xmlns:dxp=\"{NS_DXP}\" xmlns:dec=\"{NS_DEC}\" xmlns:ds=\"{NS_DS}\">{content}</x>"
    );
    let mut ev = events::Events::new(wrapped.as_bytes(), &Limits::default());
    ev.root()
        .and_then(|_| ev.skip())
        .and_then(|_| ev.finish())
        .is_ok()
}
