//! The field rules of every message: the types here, the tables generated
//! from `schemas/*.toml` (see below).
//!
//! The reader, the validator and the writer all walk these static tables, so a
//! rule lives in exactly one place: the schema file.
//!
//! # Generated tables
//!
//! `src/schema/generated.rs` is generated from `schemas/*.toml` by
//! `tests/it/sourcegen.rs` and committed; its items (`RULES`, `rule::CODE`,
//! `CODES_*`, `REC_*`, `MSG_*`, `MESSAGES`, `MessageType`, `fields::*`) are
//! re-exported here. The test `generated::schema_tables_are_up_to_date` fails
//! while it is stale; `UPDATE_GENERATED=1 cargo test --test it generated`
//! rewrites it.

// Static tables and lookups only: no slicing that can panic, no arithmetic
// that can overflow, no byte-offset string slicing.
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::marker::PhantomData;

use serde::Serialize;

mod generated;
pub use generated::*;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never blocks.
    Info,
    /// Accepted, but the sender should fix it.
    Warning,
    /// The document is refused.
    Error,
}

impl Severity {
    /// The lower-case name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Which layer of checking a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// The bytes cannot be read as a message at all.
    Input,
    /// What the official XSD checks.
    Structure,
    /// Field rules customs applies beyond the XSD.
    Business,
    /// Cross-document rules over the four documents of one order.
    Set,
}

/// One entry of the rule catalogue (`schemas/rules.toml`).
#[derive(Debug, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable code, e.g. `REQUIRED`.
    pub code: &'static str,
    /// The layer the rule belongs to.
    pub category: Category,
    /// Default severity.
    pub severity: Severity,
    /// One line in English.
    pub en: &'static str,
    /// One line in Chinese.
    pub zh: &'static str,
    /// The national customs code customs itself uses for this failure, if any.
    pub national: Option<&'static str>,
}

impl RuleInfo {
    /// Looks a rule up by its code.
    pub fn by_code(code: &str) -> Option<&'static RuleInfo> {
        RULES.iter().find(|r| r.code == code)
    }
}

/// A code list: sorted `(code, meaning)` pairs.
#[derive(Debug)]
pub struct CodeList {
    /// The list's name in `common.toml`.
    pub name: &'static str,
    /// An open list keeps unknown codes (reported as info) instead of refusing them.
    pub open: bool,
    /// Sorted by code.
    pub entries: &'static [(&'static str, &'static str)],
}

impl CodeList {
    /// The meaning of `code`, if the list has it. An entry ending in `*`
    /// stands for every code with that prefix (`-*`: any negative status).
    pub fn meaning(&self, code: &str) -> Option<&'static str> {
        if let Ok(i) = self.entries.binary_search_by(|(c, _)| (*c).cmp(code)) {
            return self.entries.get(i).map(|(_, m)| *m);
        }
        self.entries
            .iter()
            .find(|(c, _)| {
                c.strip_suffix('*')
                    .is_some_and(|p| code.len() > p.len() && code.starts_with(p))
            })
            .map(|(_, m)| *m)
    }
}

/// The value type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Text.
    Text,
    /// An exact decimal with at most `digits` digits of which `scale` decimals.
    Decimal {
        /// Total digits.
        digits: u8,
        /// Decimal places.
        scale: u8,
    },
    /// An integer of at most `digits` digits.
    Int {
        /// Total digits.
        digits: u8,
    },
    /// Arbitrary XML content, kept verbatim.
    Xml,
}

/// A textual format a field must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `YYYYMMDDhhmmss`
    DateTime14,
    /// `YYYYMMDD`
    Date8,
    /// `YYYYMMDDhhmmssSSS`; 14 digits are accepted with a warning.
    Time17,
    /// `yyyy-MM-ddTHH:mm:ss`, or the date part alone.
    IsoDateTime,
    /// An 18-character PRC resident ID card number with a valid check digit.
    IdCard,
    /// A plausible mobile or landline number.
    Phone,
    /// Digits only.
    Digits,
    /// An integer (possibly negative) kept as text.
    IntText,
}

/// The rules of one element of a record.
#[derive(Debug)]
pub struct FieldSpec {
    /// Local element name.
    pub name: &'static str,
    /// Official Chinese name.
    pub zh: &'static str,
    /// Value type.
    pub kind: FieldKind,
    /// Must be present and non-empty.
    pub required: bool,
    /// Required, but missing from older field sets: only a warning when reading.
    pub legacy: bool,
    /// The element is always written, empty when the value is absent (the XSD
    /// requires it but allows it empty).
    pub present: bool,
    /// Not in the XSD, but carried by real messages (`orderNo` in a CEB816):
    /// read and kept, never written, so what the gateway writes stays valid.
    pub extension: bool,
    /// Minimum length in characters.
    pub min: Option<u16>,
    /// Maximum length in characters.
    pub max: Option<u16>,
    /// Longer values up to this length are accepted with a warning when reading.
    pub max_read: Option<u16>,
    /// The only allowed value.
    pub fixed: Option<&'static str>,
    /// The code list the value must come from.
    pub codes: Option<&'static CodeList>,
    /// The textual format.
    pub format: Option<Format>,
    /// Apply `format` only when the sibling field (by index) has this value.
    pub format_when: Option<(usize, &'static str)>,
}

/// A rule across the fields of one record.
#[derive(Debug)]
pub enum RecordCheck {
    /// `fields[equals] == product(fields[factors])` within `tolerance`.
    Product {
        /// The rule reported on failure.
        rule: &'static RuleInfo,
        /// Indices of the factors.
        factors: &'static [usize],
        /// Index of the field that must equal the product.
        equals: usize,
        /// Allowed absolute difference.
        tolerance: rust_decimal::Decimal,
    },
}

/// An element with simple children: a head, a line, BaseTransfer, a receipt.
#[derive(Debug)]
pub struct RecordSpec {
    /// Record name (unique across schemas).
    pub name: &'static str,
    /// Local name of its element.
    pub element: &'static str,
    /// Official Chinese name.
    pub title_zh: &'static str,
    /// Children in XSD order.
    pub fields: &'static [FieldSpec],
    /// Cross-field rules.
    pub checks: &'static [RecordCheck],
}

impl RecordSpec {
    /// The index of the field with local name `name`.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

/// The XML namespace of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// `http://www.chinaport.gov.cn/ceb`
    Ceb,
    /// `http://www.chinaport.gov.cn/dec`
    Dec,
    /// `http://www.chinaport.gov.cn/dxp`
    Dxp,
    /// [`NS_MAIL`]: the gateway's own messages for personal postal items
    /// and their tax payment (no public format exists).
    Mail,
    /// No namespace.
    None,
}

/// The CEB namespace URI.
pub const NS_CEB: &str = "http://www.chinaport.gov.cn/ceb";
/// The customs-declaration namespace URI.
pub const NS_DEC: &str = "http://www.chinaport.gov.cn/dec";
/// The DXP envelope namespace URI.
pub const NS_DXP: &str = "http://www.chinaport.gov.cn/dxp";
/// The namespace of the gateway's own messages for personal postal items
/// and the personal-items tax payment (`schemas/Mail*.toml`).
pub const NS_MAIL: &str = "urn:customs-gateway:mail:1";
/// The XML-DSig namespace URI.
pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";

impl Namespace {
    /// The namespace URI, empty for none.
    pub fn uri(self) -> &'static str {
        match self {
            Namespace::Ceb => NS_CEB,
            Namespace::Dec => NS_DEC,
            Namespace::Dxp => NS_DXP,
            Namespace::Mail => NS_MAIL,
            Namespace::None => "",
        }
    }
}

/// Who sends a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// An enterprise's declaration to customs.
    Request,
    /// A CEB receipt from customs.
    Receipt,
    /// A customs-declaration receipt.
    Declaration,
    /// A transport envelope.
    Envelope,
}

/// Whether a message carries `ds:Signature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureRule {
    /// Never.
    None,
    /// May.
    Optional,
    /// Must.
    Required,
}

/// The repeated lines of a document.
#[derive(Debug)]
pub struct LineSpec {
    /// The line record.
    pub record: &'static RecordSpec,
    /// Minimum count.
    pub min: u16,
    /// Maximum count.
    pub max: u16,
    /// The field numbered 1..n without gaps.
    pub sequence: Option<usize>,
}

/// The shape of one message type.
#[derive(Debug)]
pub struct MessageSpec {
    /// The message type.
    pub ty: MessageType,
    /// Short type name (`CEB311`).
    pub name: &'static str,
    /// Root element local name.
    pub root: &'static str,
    /// Namespace of every element.
    pub namespace: Namespace,
    /// Who sends it.
    pub kind: MessageKind,
    /// What it is, in English.
    pub title_en: &'static str,
    /// What it is, in Chinese.
    pub title_zh: &'static str,
    /// Wrapper element of one business document, if any.
    pub group: Option<&'static str>,
    /// The root element is itself the head record.
    pub root_is_head: bool,
    /// Minimum business documents per message.
    pub group_min: u16,
    /// Maximum business documents per message.
    pub group_max: u16,
    /// The document's head record.
    pub head: &'static RecordSpec,
    /// The document's lines.
    pub line: Option<LineSpec>,
    /// Business key alternatives (head field indices); the first fully present wins.
    pub key: &'static [&'static [usize]],
    /// BaseTransfer / BaseSubscribe / ExtendMessage follow the documents.
    pub envelope: bool,
    /// Signature rule.
    pub signature: SignatureRule,
    /// Plain fields directly under the root (legacy `DEC_DATA`).
    pub root_fields: Option<&'static RecordSpec>,
}

impl MessageSpec {
    /// Finds the spec for a root element in a namespace.
    pub fn for_root(namespace_uri: &str, local: &str) -> Option<&'static MessageSpec> {
        MESSAGES
            .iter()
            .copied()
            .find(|m| m.root == local && m.namespace.uri() == namespace_uri)
    }

    /// Finds the spec for a root element regardless of namespace.
    pub fn for_root_any_namespace(local: &str) -> Option<&'static MessageSpec> {
        MESSAGES.iter().copied().find(|m| m.root == local)
    }

    /// Finds the spec by its short type name (`CEB311`).
    pub fn by_name(name: &str) -> Option<&'static MessageSpec> {
        MESSAGES.iter().copied().find(|m| m.name == name)
    }
}

/// Marker: a text field.
#[derive(Debug, Clone, Copy)]
pub struct Text;
/// Marker: a decimal field.
#[derive(Debug, Clone, Copy)]
pub struct Dec;
/// Marker: an integer field.
#[derive(Debug, Clone, Copy)]
pub struct Int;

/// A typed handle on one field of one record, generated for every field
/// (`fields::order_head::ACTURAL_PAID: Field<Dec>`).
#[derive(Debug)]
pub struct Field<T> {
    /// The record the field belongs to.
    pub record: &'static RecordSpec,
    /// Its index in the record.
    pub index: usize,
    spec: &'static FieldSpec,
    _kind: PhantomData<T>,
}

impl<T> Clone for Field<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Field<T> {}

impl<T> Field<T> {
    /// A handle on field `index` of `record`, whose rules are `spec`
    /// (`record.fields[index]`). The generated handles pass an element of the
    /// record's field array with a constant index, so the compiler checks the
    /// bound and [`Field::spec`] never indexes at run time.
    pub const fn new(record: &'static RecordSpec, index: usize, spec: &'static FieldSpec) -> Self {
        Field {
            record,
            index,
            spec,
            _kind: PhantomData,
        }
    }

    /// The field's rules.
    pub fn spec(&self) -> &'static FieldSpec {
        self.spec
    }

    /// `Record/field`, the element path used in diagnostics.
    pub fn path(&self) -> String {
        format!("{}/{}", self.record.element, self.spec().name)
    }
}

// Specs are statics: two references are the same spec exactly when they point
// to the same static.
impl PartialEq for RecordSpec {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}
impl Eq for RecordSpec {}

impl PartialEq for MessageSpec {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}
impl Eq for MessageSpec {}
