//! Per-document validation, driven entirely by the schema tables.
//!
//! Pure: takes a [`Message`], returns [`Diagnostic`]s. The same walk serves the
//! reader (tolerant: older field sets and over-long `max_read` values are
//! warnings) and the writer (strict: they are errors).

// Pure core: no input may panic here. Slicing, indexing and unchecked
// arithmetic are refused at compile time (see ARCHITECTURE.md, Invariants).
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use rust_decimal::Decimal;

use crate::diag::Diagnostic;
use crate::formats;
use crate::model::{Document, Message, Record, Value};
use crate::schema::{
    FieldKind, FieldSpec, Format, MessageKind, MessageSpec, MessageType, Namespace, RecordCheck,
    Severity, SignatureRule, rule,
};

/// Whether a message is being read (tolerant) or written (strict).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Tolerate older field sets and `max_read` lengths, with warnings.
    Read,
    /// Everything the schema says is an error.
    Write,
}

/// How one message is checked: the mode, and whether customs wrote it.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    mode: Mode,
    /// A receipt, a customs-declaration response or the DXP platform's
    /// response: read as customs wrote it.
    from_customs: bool,
}

/// Whether customs (or its exchange platform) writes messages of this type:
/// CEB receipts, customs-declaration receipts and responses, and the DXP
/// platform's `DxpRep`. The DXP envelope `DxpMsg` carries both directions,
/// so it is not one of them (the message inside it is judged on its own).
pub fn written_by_customs(spec: &MessageSpec) -> bool {
    matches!(spec.kind, MessageKind::Receipt | MessageKind::Declaration)
        || spec.ty == MessageType::DxpRep
}

/// Validates a message (for a DXP envelope: the envelope and its inner message).
///
/// In [`Mode::Read`], a required field missing or empty in a message
/// customs wrote (see [`written_by_customs`]) is a `REQUIRED` warning, not
/// an error: a receipt is customs' word even when customs left a field out.
/// [`Mode::Write`] stays strict.
pub fn validate(msg: &Message, mode: Mode) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    validate_into(msg, mode, &mut out);
    out
}

fn validate_into(msg: &Message, mode: Mode, out: &mut Vec<Diagnostic>) {
    let spec = msg.spec;
    let root = spec.root;
    let ctx = Ctx {
        mode,
        from_customs: written_by_customs(spec),
    };
    if let Some(dxp) = &msg.dxp {
        check_record_at(&dxp.trans_info, None, None, ctx, out);
        if dxp.receiver_ids.is_empty() || dxp.receiver_ids.len() > 5 {
            out.push(Diagnostic::new(
                rule::CARDINALITY,
                None,
                "TransInfo/ReceiverIds/ReceiverId",
                format!(
                    "the envelope names {} receivers; 1 to 5 are allowed",
                    dxp.receiver_ids.len()
                ),
            ));
        }
        if let Some(add) = &dxp.add_info {
            check_record_at(add, None, None, ctx, out);
        }
        if let Some(inner) = &dxp.inner {
            validate_into(inner, mode, out);
        }
        return;
    }
    if spec.namespace == Namespace::Ceb {
        check_attribute(root, "guid", msg.guid.as_deref(), 36, 36, out);
        check_attribute(root, "version", msg.version.as_deref(), 1, 10, out);
    }
    let n = msg.documents.len();
    if n < usize::from(spec.group_min) || n > usize::from(spec.group_max) {
        out.push(Diagnostic::new(
            rule::CARDINALITY,
            None,
            format!("{root}/{}", spec.group.unwrap_or(spec.head.element)),
            format!(
                "the message carries {n} business documents; {}..{} are allowed",
                spec.group_min, spec.group_max
            ),
        ));
    }
    if spec.envelope {
        match &msg.transfer {
            Some(t) => check_record_at(t, None, None, ctx, out),
            None => out.push(Diagnostic::new(
                rule::REQUIRED,
                None,
                format!("{root}/BaseTransfer"),
                "the message has no <BaseTransfer>",
            )),
        }
        if msg.subscribe.len() > 5 {
            out.push(Diagnostic::new(
                rule::CARDINALITY,
                None,
                format!("{root}/BaseSubscribe"),
                format!(
                    "{} <BaseSubscribe> elements; at most 5 are allowed",
                    msg.subscribe.len()
                ),
            ));
        }
        for s in &msg.subscribe {
            check_record_at(s, None, None, ctx, out);
        }
        if let Some(e) = &msg.extend {
            check_record_at(e, None, None, ctx, out);
        }
    }
    if let Some(fields) = &msg.root_fields {
        check_record_at(fields, None, None, ctx, out);
    }
    match (spec.signature, &msg.signature) {
        (SignatureRule::Required, None) => out.push(Diagnostic::new(
            rule::SIGNATURE_REQUIRED,
            None,
            format!("{root}/ds:Signature"),
            format!(
                "{} ({}) must carry a ds:Signature",
                spec.name, spec.title_en
            ),
        )),
        (SignatureRule::None, Some(_)) => out.push(Diagnostic::new(
            rule::UNKNOWN_ELEMENT,
            None,
            format!("{root}/ds:Signature"),
            format!("{} does not carry a signature; it was ignored", spec.name),
        )),
        _ => {}
    }
    for (i, doc) in msg.documents.iter().enumerate() {
        check_document(msg, i, doc, ctx, out);
    }
}

fn check_attribute(
    root: &str,
    name: &str,
    value: Option<&str>,
    min: usize,
    max: usize,
    out: &mut Vec<Diagnostic>,
) {
    let path = || format!("{root}/@{name}");
    match value {
        None => out.push(Diagnostic::new(
            rule::ATTRIBUTE,
            None,
            path(),
            format!("the root element has no {name} attribute"),
        )),
        Some(v) => {
            let len = v.chars().count();
            if len < min || len > max {
                let want = if min == max {
                    format!("exactly {min}")
                } else {
                    format!("{min} to {max}")
                };
                out.push(Diagnostic::new(
                    rule::ATTRIBUTE,
                    None,
                    path(),
                    format!("{name}=\"{v}\" has {len} characters; {want} are required"),
                ));
            }
        }
    }
}

fn check_document(
    msg: &Message,
    index: usize,
    doc: &Document,
    ctx: Ctx,
    out: &mut Vec<Diagnostic>,
) {
    let spec = msg.spec;
    check_record_at(&doc.head, Some(index), None, ctx, out);
    let Some(line) = &spec.line else { return };
    let n = doc.lines.len();
    if n < usize::from(line.min) || n > usize::from(line.max) {
        out.push(Diagnostic::new(
            rule::CARDINALITY,
            Some(index),
            line.record.element,
            format!(
                "the document has {n} <{}> lines; {}..{} are allowed",
                line.record.element, line.min, line.max
            ),
        ));
    }
    for (l, n) in doc.lines.iter().zip(1usize..) {
        check_record_at(l, Some(index), Some(n), ctx, out);
    }
    if let Some(seq) = line.sequence {
        let numbers = || {
            doc.lines.iter().filter_map(|l| match l.value(seq) {
                Value::Int(i) => Some(i),
                _ => None,
            })
        };
        let numbered_from_one =
            |numbers: &mut dyn Iterator<Item = i64>| numbers.zip(1i64..).all(|(g, i)| g == i);
        // In order is the common case and needs no copy; lines out of order
        // are sorted first.
        let in_sequence = numbered_from_one(&mut numbers()) || {
            let mut sorted: Vec<i64> = numbers().collect();
            sorted.sort_unstable();
            numbered_from_one(&mut sorted.into_iter())
        };
        if !in_sequence {
            // Customs' own numbering in its receipt (a CEB816's TaxListRd) is
            // reported, never refused when reading.
            let severity = if ctx.from_customs && ctx.mode == Mode::Read {
                Severity::Warning
            } else {
                rule::GNUM_SEQUENCE.severity
            };
            out.push(
                Diagnostic::new(
                    rule::GNUM_SEQUENCE,
                    Some(index),
                    format!(
                        "{}/{}",
                        line.record.element,
                        line.record.fields.get(seq).map_or("", |f| f.name)
                    ),
                    format!(
                        "line numbers are [{}]; they must be 1..{} without gaps or repeats",
                        doc.lines
                            .iter()
                            .map(|l| l.value(seq).to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                        doc.lines.len()
                    ),
                )
                .with_severity(severity),
            );
        }
    }
}

/// Checks every field of a record, then its cross-field rules.
///
/// The record is checked on its own: a missing field is an error in either
/// mode (see [`validate`] for the tolerance of customs' receipts).
pub fn check_record(record: &Record, doc: Option<usize>, mode: Mode, out: &mut Vec<Diagnostic>) {
    let ctx = Ctx {
        mode,
        from_customs: false,
    };
    check_record_at(record, doc, None, ctx, out);
}

/// Like [`check_record`] for the `position`-th (1-based) of repeated records:
/// paths read `OrderList[2]/qty`.
fn check_record_at(
    record: &Record,
    doc: Option<usize>,
    position: Option<usize>,
    ctx: Ctx,
    out: &mut Vec<Diagnostic>,
) {
    let spec = record.spec();
    let element = Place {
        element: spec.element,
        position,
    };
    for (i, field) in spec.fields.iter().enumerate() {
        check_field(record, i, field, element, doc, ctx, out);
    }
    for check in spec.checks {
        match check {
            RecordCheck::Product {
                rule,
                factors,
                equals,
                tolerance,
            } => {
                let all_decimal = factors
                    .iter()
                    .all(|&f| matches!(record.value(f), Value::Dec(_)));
                let (true, Value::Dec(expected)) = (all_decimal, record.value(*equals)) else {
                    continue;
                };
                // A product or difference too large for a decimal cannot be
                // within the tolerance: it is a mismatch, never skipped.
                let product =
                    factors
                        .iter()
                        .try_fold(Decimal::ONE, |acc, &f| match record.value(f) {
                            Value::Dec(v) => acc.checked_mul(v),
                            _ => None,
                        });
                let within = product
                    .and_then(|p| p.checked_sub(expected))
                    .is_some_and(|diff| diff.abs() <= *tolerance);
                if !within {
                    let name = |i: usize| spec.fields.get(i).map_or("", |f| f.name);
                    let names: Vec<String> = factors
                        .iter()
                        .map(|&f| format!("{}={}", name(f), record.value(f)))
                        .collect();
                    let gives = product.map_or_else(
                        || "a product too large to represent".to_owned(),
                        |p| p.normalize().to_string(),
                    );
                    out.push(Diagnostic::new(
                        rule,
                        doc,
                        format!("{element}/{}", name(*equals)),
                        format!(
                            "{}={} but {} gives {gives} (tolerance {tolerance})",
                            name(*equals),
                            expected,
                            names.join(" × "),
                        ),
                    ));
                }
            }
        }
    }
}

/// Where a record is, as its findings name it: `OrderList[2]`, formatted
/// only when a finding is reported.
#[derive(Clone, Copy)]
struct Place {
    element: &'static str,
    /// 1-based position among repeated records.
    position: Option<usize>,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position {
            Some(n) => write!(f, "{}[{n}]", self.element),
            None => f.write_str(self.element),
        }
    }
}

fn check_field(
    record: &Record,
    index: usize,
    field: &FieldSpec,
    element: Place,
    doc: Option<usize>,
    ctx: Ctx,
    out: &mut Vec<Diagnostic>,
) {
    let mode = ctx.mode;
    let path = || format!("{element}/{}", field.name);
    let value = record.value(index);
    match value {
        Value::Absent => {
            if !field.required {
                return;
            }
            if ctx.from_customs && mode == Mode::Read {
                // Customs' word stands even when customs left a field out
                // (a real CEB512 with <returnTime/>): report, never refuse.
                out.push(
                    Diagnostic::new(
                        rule::REQUIRED,
                        doc,
                        path(),
                        format!(
                            "<{}> ({}) is missing or empty; customs left it out of its receipt, which is read as it is",
                            field.name, field.zh
                        ),
                    )
                    .with_severity(Severity::Warning),
                );
            } else if field.legacy && mode == Mode::Read {
                out.push(Diagnostic::new(
                    rule::LEGACY_FIELD,
                    doc,
                    path(),
                    format!(
                        "<{}> ({}) is missing; accepted as an older (2016-era) field set, but it is required since 2018",
                        field.name, field.zh
                    ),
                ));
            } else {
                out.push(Diagnostic::new(
                    rule::REQUIRED,
                    doc,
                    path(),
                    format!(
                        "<{}> ({}) is required but missing or empty",
                        field.name, field.zh
                    ),
                ));
            }
        }
        Value::Invalid(raw) => {
            let (rule, what) = match field.kind {
                FieldKind::Int { digits } => (
                    rule::INTEGER,
                    format!("an integer of at most {digits} digits"),
                ),
                FieldKind::Decimal { digits, scale } => (
                    rule::DECIMAL,
                    format!(
                        "a decimal number of at most {digits} digits with at most {scale} decimals"
                    ),
                ),
                _ => (rule::XML_MALFORMED, "text".to_owned()),
            };
            out.push(Diagnostic::new(
                rule,
                doc,
                path(),
                format!("\"{raw}\" is not {what}"),
            ));
        }
        Value::Dec(d) => {
            if let FieldKind::Decimal { digits, scale } = field.kind {
                let n = d.normalize();
                let total = count_digits(n.mantissa().unsigned_abs());
                if n.scale() > u32::from(scale) || total > u32::from(digits) {
                    out.push(Diagnostic::new(
                        rule::DECIMAL,
                        doc,
                        path(),
                        format!("{d} has {total} digits with {} decimals; at most {digits} digits with {scale} decimals are allowed", n.scale()),
                    ));
                }
            }
        }
        Value::Int(i) => {
            if let FieldKind::Int { digits } = field.kind
                && count_digits(i.unsigned_abs().into()) > u32::from(digits)
            {
                out.push(Diagnostic::new(
                    rule::INTEGER,
                    doc,
                    path(),
                    format!("{i} has more than {digits} digits"),
                ));
            }
        }
        Value::Text(text) => check_text(record, field, text, doc, mode, &path, out),
    }
}

fn check_text(
    record: &Record,
    field: &FieldSpec,
    text: &str,
    doc: Option<usize>,
    mode: Mode,
    path: &dyn Fn() -> String,
    out: &mut Vec<Diagnostic>,
) {
    if field.kind == FieldKind::Xml {
        // Written verbatim: content that is not well-formed would break the
        // whole document. What was read is well-formed by construction.
        if mode == Mode::Write && !crate::codec::is_well_formed_content(text) {
            out.push(Diagnostic::new(
                rule::XML_MALFORMED,
                doc,
                path(),
                format!(
                    "<{}> ({}) holds content that is not well-formed XML; it cannot be written",
                    field.name, field.zh
                ),
            ));
        }
        return;
    }
    let len = text.chars().count();
    if let Some(min) = field.min
        && len < usize::from(min)
    {
        out.push(length(field, text, len, doc, &path(), Severity::Error));
    }
    if let Some(max) = field.max
        && len > usize::from(max)
    {
        let tolerated = mode == Mode::Read && field.max_read.is_some_and(|m| len <= usize::from(m));
        let severity = if tolerated {
            Severity::Warning
        } else {
            Severity::Error
        };
        out.push(length(field, text, len, doc, &path(), severity));
    }
    if let Some(fixed) = field.fixed
        && text != fixed
    {
        out.push(Diagnostic::new(
            rule::FIXED,
            doc,
            path(),
            format!(
                "<{}> ({}) is \"{text}\"; the only allowed value is \"{fixed}\"",
                field.name, field.zh
            ),
        ));
    }
    if let Some(codes) = field.codes
        && codes.meaning(text).is_none()
    {
        if codes.open {
            out.push(Diagnostic::new(
                rule::UNKNOWN_CODE,
                doc,
                path(),
                format!(
                    "<{}> \"{text}\" is not in the national table; kept as a raw value",
                    field.name
                ),
            ));
        } else {
            let known: Vec<&str> = codes.entries.iter().take(12).map(|(c, _)| *c).collect();
            let more = if codes.entries.len() > 12 {
                ", …"
            } else {
                ""
            };
            out.push(Diagnostic::new(
                rule::CODE_LIST,
                doc,
                path(),
                format!(
                    "<{}> ({}) \"{text}\" is not in code list {} ({}{more})",
                    field.name,
                    field.zh,
                    codes.name,
                    known.join(", ")
                ),
            ));
        }
    }
    let Some(format) = field.format else { return };
    if let Some((other, equals)) = field.format_when
        && record.value(other) != Value::Text(equals)
    {
        return;
    }
    let t = text.trim();
    let (ok, rule, want) = match format {
        Format::DateTime14 => (
            formats::is_datetime14(t),
            rule::DATE_FORMAT,
            "a real date and time as YYYYMMDDhhmmss",
        ),
        Format::Date8 => (
            formats::is_date8(t),
            rule::DATE_FORMAT,
            "a real date as YYYYMMDD",
        ),
        Format::Time17 => {
            if formats::is_datetime14(t) {
                out.push(
                    Diagnostic::new(
                        rule::DATE_FORMAT,
                        doc,
                        path(),
                        format!("<{}> \"{t}\" has 14 digits; YYYYMMDDhhmmssSSS (17) is the current format", field.name),
                    )
                    .with_severity(Severity::Warning),
                );
                return;
            }
            (
                formats::is_time17(t),
                rule::DATE_FORMAT,
                "a real time as YYYYMMDDhhmmssSSS",
            )
        }
        Format::IsoDateTime => (
            formats::is_iso_datetime(t),
            rule::DATE_FORMAT,
            "a date-time as yyyy-MM-ddTHH:mm:ss",
        ),
        Format::IdCard => (
            formats::is_prc_id_card(t),
            rule::ID_CARD,
            "an 18-character PRC ID card number with a valid check digit",
        ),
        Format::Phone => (
            formats::is_plausible_phone(t),
            rule::PHONE,
            "a plausible telephone number",
        ),
        Format::Digits => (
            formats::all_digits(t.as_bytes()),
            rule::DIGITS,
            "digits only",
        ),
        Format::IntText => (
            t.strip_prefix('-')
                .is_some_and(|r| formats::all_digits(r.as_bytes()))
                || formats::all_digits(t.as_bytes()),
            rule::INTEGER,
            "an integer",
        ),
    };
    if !ok {
        out.push(Diagnostic::new(
            rule,
            doc,
            path(),
            format!("<{}> ({}) \"{text}\" is not {want}", field.name, field.zh),
        ));
    }
}

fn length(
    field: &FieldSpec,
    text: &str,
    len: usize,
    doc: Option<usize>,
    path: &str,
    severity: Severity,
) -> Diagnostic {
    let want = match (field.min, field.max) {
        (Some(a), Some(b)) if a == b => format!("exactly {a}"),
        (Some(a), Some(b)) => format!("{a} to {b}"),
        (None, Some(b)) => format!("at most {b}"),
        (Some(a), None) => format!("at least {a}"),
        (None, None) => "any number of".to_owned(),
    };
    let shown: String = if len > 80 {
        text.chars().take(77).chain("...".chars()).collect()
    } else {
        text.to_owned()
    };
    let note = if severity == Severity::Warning {
        " (accepted when reading: older schemas allowed it)"
    } else {
        ""
    };
    Diagnostic::new(
        rule::LENGTH,
        doc,
        path,
        format!(
            "<{}> ({}) \"{shown}\" has {len} characters; {want} are allowed{note}",
            field.name, field.zh
        ),
    )
    .with_severity(severity)
}

/// Decimal digits of `n` (1 for 0).
fn count_digits(n: u128) -> u32 {
    n.checked_ilog10().unwrap_or(0).saturating_add(1)
}
