//! Value-level robustness: any text in any field of any message gives
//! diagnostics, never a panic, in the codec, the validator and the engine.
//!
//! The regression tests at the top pin inputs that once panicked; the
//! property tests below walk every field of every message type.

use std::path::Path;
use std::sync::OnceLock;

use customs_gateway::codec::{self, EncodeOptions};
use customs_gateway::engine::{DocKind, Engine, EngineConfig, InboundId};
use customs_gateway::model::{Message, Record};
use customs_gateway::schema::{self, FieldKind, FieldSpec, MessageSpec, MessageType, RecordSpec};
use customs_gateway::validate::{Mode, validate};
use proptest::prelude::*;

use crate::util;

/// The order of `samples/set-ok` with `<ceb:element>`'s first text replaced by `value`.
fn order_with(element: &str, value: &str) -> String {
    let text =
        std::fs::read_to_string(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap();
    replace_first(&text, element, value)
}

fn replace_first(text: &str, element: &str, value: &str) -> String {
    let open = format!("<ceb:{element}>");
    let close = format!("</ceb:{element}>");
    let start = text.find(&open).unwrap() + open.len();
    let end = start + text[start..].find(&close).unwrap();
    format!("{}{value}{}", &text[..start], &text[end..])
}

/// Runs `check --json` on one file holding `xml`; returns (exit status, report).
fn check_file(xml: &str) -> (Option<i32>, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("order.xml");
    std::fs::write(&path, xml).unwrap();
    check_paths(&[&path])
}

fn check_paths(paths: &[&Path]) -> (Option<i32>, serde_json::Value, String) {
    let out = util::gateway()
        .arg("check")
        .arg("--json")
        .args(paths)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), report, stderr)
}

fn rules_on(report: &serde_json::Value, field_suffix: &str) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|d| {
                    d["field"]
                        .as_str()
                        .is_some_and(|f| f.ends_with(field_suffix))
                })
                .filter_map(|d| d["rule"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Decodes and validates in the library; returns the rule codes found on `field_suffix`.
fn library_rules(xml: &str, field_suffix: &str) -> Vec<&'static str> {
    let decoded = codec::decode(xml.as_bytes()).unwrap();
    validate(&decoded.message, Mode::Read)
        .into_iter()
        .filter(|d| d.path.ends_with(field_suffix))
        .map(|d| d.rule.code)
        .collect()
}

#[test]
fn a_non_ascii_character_in_a_date_is_a_date_error() {
    // 14 bytes, but the 8th byte is inside 'é': slicing the text there panicked.
    let xml = order_with("appTime", "2026110é10300");
    assert!(library_rules(&xml, "OrderHead/appTime").contains(&"DATE_FORMAT"));
    let (status, report, stderr) = check_file(&xml);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        rules_on(&report, "OrderHead/appTime").contains(&"DATE_FORMAT".to_owned()),
        "{report}"
    );
}

#[test]
fn a_sign_where_a_time_digit_belongs_is_a_date_error() {
    // A valid date then a '-' in the time: `b - b'0'` underflowed.
    for value in ["20261121-00000", "2026112110-000", "202611211000-0"] {
        let xml = order_with("appTime", value);
        assert!(
            library_rules(&xml, "OrderHead/appTime").contains(&"DATE_FORMAT"),
            "{value}"
        );
        let (status, report, stderr) = check_file(&xml);
        assert_eq!(status, Some(1), "{value}: {stderr}");
        assert!(
            rules_on(&report, "OrderHead/appTime").contains(&"DATE_FORMAT".to_owned()),
            "{value}: {report}"
        );
    }
}

#[test]
fn a_huge_quantity_with_a_negative_total_is_a_line_total_error() {
    // price × qty is Decimal::MAX; subtracting a negative total overflowed.
    let max = "79228162514264337593543950335";
    let xml = order_with("qty", max);
    let xml = replace_first(&xml, "price", "1");
    let xml = replace_first(&xml, "totalPrice", "-1");
    let rules = library_rules(&xml, "OrderList[1]/totalPrice");
    assert!(rules.contains(&"LINE_TOTAL"), "{rules:?}");
    let (status, report, stderr) = check_file(&xml);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        rules_on(&report, "OrderList[1]/totalPrice").contains(&"LINE_TOTAL".to_owned()),
        "{report}"
    );
}

#[test]
fn the_writer_refuses_an_xml_field_that_is_not_well_formed() {
    // Found by the property tests below: DxpRep's verbatim <Results> set to
    // "<" was written as is, and the reader refused the written document.
    let bytes = std::fs::read(util::reference().join("samples/dxp/DxpRep.xml")).unwrap();
    let mut msg = codec::decode(&bytes).unwrap().message;
    let results = msg
        .spec
        .line
        .as_ref()
        .unwrap()
        .record
        .field_index("Results")
        .unwrap();
    for bad in ["<", "a & b", "<Result>", "</Results><x>"] {
        msg.documents[0].lines[0].set_text(results, bad);
        match codec::encode(&msg, &EncodeOptions::default()) {
            Err(codec::WriteError::Invalid(d)) => assert!(
                d.iter()
                    .any(|d| d.rule.code == "XML_MALFORMED" && d.path.ends_with("/Results")),
                "{bad}: {d:?}"
            ),
            other => panic!("{bad}: {other:?}"),
        }
    }
    msg.documents[0].lines[0].set_text(results, "<Result><RecId>a</RecId><Code>0</Code></Result>");
    let out = codec::encode(&msg, &EncodeOptions::default()).unwrap();
    assert_eq!(codec::decode(&out).unwrap().message, msg);
}

// ---------------------------------------------------------------------------
// Every field of every message type, walked through the schema tables.
// ---------------------------------------------------------------------------

/// Where a record sits in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Head,
    Line,
    RootFields,
    Transfer,
    Subscribe,
    Extend,
    TransInfo,
    AddInfo,
}

/// One field of one record of one message type.
#[derive(Debug, Clone, Copy)]
struct Target {
    /// Index into [`samples`].
    sample: usize,
    slot: Slot,
    record: &'static RecordSpec,
    field: usize,
}

impl Target {
    fn spec(&self) -> &'static FieldSpec {
        &self.record.fields[self.field]
    }
}

/// One sample per message type: (spec, file, UTF-8 text with the
/// declaration rewritten to UTF-8).
struct Sample {
    spec: &'static MessageSpec,
    text: String,
    message: Message,
}

/// The four documents of one complete order, as decoded messages.
fn set_ok() -> &'static [Message] {
    static SET: OnceLock<Vec<Message>> = OnceLock::new();
    SET.get_or_init(|| {
        util::xml_files(&util::root().join("samples/set-ok"))
            .iter()
            .map(|f| codec::decode(&std::fs::read(f).unwrap()).unwrap().message)
            .collect()
    })
}

/// A sample of every message type: the order, payment, waybill and
/// inventory of `samples/set-ok` (the engine needs a complete set), else
/// the smallest of the project's and the official samples (for speed).
fn samples() -> &'static [Sample] {
    static SAMPLES: OnceLock<Vec<Sample>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let set_ok = util::root().join("samples/set-ok");
        let mut files = util::xml_files(&util::root().join("samples"));
        files.extend(util::xml_files(&util::reference().join("samples")));
        files.sort_by_key(|f| (!f.starts_with(&set_ok), std::fs::metadata(f).unwrap().len()));
        let mut out: Vec<Sample> = Vec::new();
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let Ok(decoded) = codec::decode(&bytes) else {
                continue;
            };
            let spec = decoded.message.spec;
            if out.iter().any(|s| s.spec == spec) {
                continue;
            }
            let text = match std::str::from_utf8(&bytes) {
                Ok(t) => t.trim_start_matches('\u{feff}').to_owned(),
                Err(_) => {
                    let (t, _, bad) = encoding_rs::GBK.decode(&bytes);
                    assert!(!bad, "{}", file.display());
                    t.replacen("encoding=\"GB2312\"", "encoding=\"UTF-8\"", 1)
                        .replacen("encoding=\"GBK\"", "encoding=\"UTF-8\"", 1)
                }
            };
            out.push(Sample {
                spec,
                text,
                message: decoded.message,
            });
        }
        out
    })
}

/// Every field of every record of every message type that has a sample.
fn targets() -> &'static [Target] {
    static TARGETS: OnceLock<Vec<Target>> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let mut out = Vec::new();
        for (sample, s) in samples().iter().enumerate() {
            let spec = s.spec;
            let mut records: Vec<(Slot, &'static RecordSpec)> = Vec::new();
            if spec.ty == MessageType::DxpMsg {
                records.push((Slot::TransInfo, &schema::REC_TRANS_INFO));
                records.push((Slot::AddInfo, &schema::REC_ADD_INFO));
            } else {
                records.push((Slot::Head, spec.head));
                if let Some(line) = &spec.line {
                    records.push((Slot::Line, line.record));
                }
                if let Some(root) = spec.root_fields {
                    records.push((Slot::RootFields, root));
                }
                if spec.envelope {
                    records.push((Slot::Transfer, &schema::REC_BASE_TRANSFER));
                    records.push((Slot::Subscribe, &schema::REC_BASE_SUBSCRIBE));
                    records.push((Slot::Extend, &schema::REC_EXTEND_MESSAGE));
                }
            }
            for (slot, record) in records {
                for field in 0..record.fields.len() {
                    out.push(Target {
                        sample,
                        slot,
                        record,
                        field,
                    });
                }
            }
        }
        out
    })
}

#[test]
fn every_message_type_has_a_sample_to_edit() {
    let have: Vec<&str> = samples().iter().map(|s| s.spec.name).collect();
    for spec in schema::MESSAGES {
        assert!(have.contains(&spec.name), "no sample of {}", spec.name);
    }
    let fields: usize = schema::MESSAGES
        .iter()
        .map(|m| {
            m.head.fields.len()
                + m.line.as_ref().map_or(0, |l| l.record.fields.len())
                + m.root_fields.map_or(0, |r| r.fields.len())
        })
        .sum();
    assert!(
        targets().len() >= fields,
        "{} targets for {fields} fields",
        targets().len()
    );
}

#[test]
fn text_edits_reach_the_field_they_name() {
    // The harness itself: a value put into a head field's text is read
    // back in that field, for every message type.
    let mut checked = 0;
    for t in targets().iter().filter(|t| {
        matches!(t.slot, Slot::Head | Slot::TransInfo) && t.spec().kind == FieldKind::Text
    }) {
        let text = edit_text(t, "Z9").unwrap();
        let mut msg = codec::decode(text.as_bytes()).unwrap().message;
        let value = record_mut(&mut msg, t).value(t.field).to_string();
        assert_eq!(
            value,
            "Z9",
            "{} {}",
            samples()[t.sample].spec.name,
            t.spec().name
        );
        checked += 1;
    }
    assert!(checked > 150, "{checked}");
}

/// The record a target names, created if the sample has none (a line, a
/// BaseSubscribe, AddInfo…).
fn record_mut<'m>(msg: &'m mut Message, t: &Target) -> &'m mut Record {
    fn first_or_new<'v>(v: &'v mut Vec<Record>, spec: &'static RecordSpec) -> &'v mut Record {
        if v.is_empty() {
            v.push(Record::new(spec));
        }
        &mut v[0]
    }
    let record = t.record;
    match t.slot {
        Slot::TransInfo => &mut msg.dxp.as_mut().unwrap().trans_info,
        Slot::AddInfo => msg
            .dxp
            .as_mut()
            .unwrap()
            .add_info
            .get_or_insert_with(|| Record::new(record)),
        Slot::RootFields => msg.root_fields.get_or_insert_with(|| Record::new(record)),
        Slot::Transfer => msg.transfer.get_or_insert_with(|| Record::new(record)),
        Slot::Extend => msg.extend.get_or_insert_with(|| Record::new(record)),
        Slot::Subscribe => first_or_new(&mut msg.subscribe, record),
        Slot::Head => &mut msg.documents[0].head,
        Slot::Line => first_or_new(&mut msg.documents[0].lines, record),
    }
}

/// The sample's value of a target, as text ("" when absent).
fn current_text(t: &Target) -> String {
    let mut msg = samples()[t.sample].message.clone();
    record_mut(&mut msg, t).value(t.field).to_string()
}

/// Escapes text for element content.
fn escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Where an element sits in a text.
pub(crate) struct Found {
    /// Start of its start tag.
    pub start: usize,
    /// Its prefix with the colon (`ceb:`), or "".
    pub prefix: String,
    /// Its content, `None` for `<x/>`.
    pub content: Option<(usize, usize)>,
    /// End of the element.
    pub end: usize,
}

/// Finds the first element with local name `local` (any prefix) in `text[from..to]`.
pub(crate) fn find_element(text: &str, from: usize, to: usize, local: &str) -> Option<Found> {
    let mut at = from;
    while let Some(i) = text[at..to].find('<') {
        let start = at + i;
        let name_end = start
            + 1
            + text[start + 1..to].find(|c: char| c == '>' || c == '/' || c.is_whitespace())?;
        let qname = &text[start + 1..name_end];
        let (prefix, name) = match qname.split_once(':') {
            Some((p, l)) => (format!("{p}:"), l),
            None => (String::new(), qname),
        };
        if name == local {
            let tag_end = start + text[start..to].find('>')?;
            if text[..tag_end].ends_with('/') {
                return Some(Found {
                    start,
                    prefix,
                    content: None,
                    end: tag_end + 1,
                });
            }
            let close = format!("</{prefix}{local}>");
            let content_end = tag_end + 1 + text[tag_end + 1..to].find(&close)?;
            return Some(Found {
                start,
                prefix,
                content: Some((tag_end + 1, content_end)),
                end: content_end + close.len(),
            });
        }
        at = start + 1;
    }
    None
}

/// The sample's text with the target field's content replaced by `content`
/// (as written in XML: escape text first), the element inserted first in
/// its record when the sample lacks it. `None` when the sample does not
/// have the record at all.
fn edit_text(t: &Target, content: &str) -> Option<String> {
    let s = &samples()[t.sample];
    let text = &s.text;
    let record_element = match t.slot {
        Slot::RootFields => s.spec.root,
        _ => t.record.element,
    };
    let record = find_element(text, 0, text.len(), record_element)?;
    let (from, to) = record.content?;
    let (p, name) = (&record.prefix, t.spec().name);
    Some(match find_element(text, from, to, name) {
        Some(Found {
            prefix,
            content: Some((a, b)),
            ..
        }) if &prefix == p => format!("{}{content}{}", &text[..a], &text[b..]),
        Some(Found {
            prefix,
            content: None,
            start,
            end,
        }) if &prefix == p => format!(
            "{}<{p}{name}>{content}</{p}{name}>{}",
            &text[..start],
            &text[end..]
        ),
        _ => format!(
            "{}<{p}{name}>{content}</{p}{name}>{}",
            &text[..from],
            &text[from..]
        ),
    })
}

/// Feeds every document of `msg` to a fresh engine together with the
/// complete order of `samples/set-ok` (the edited document first, then the
/// others, then the edited one again as a change).
fn through_engine(msg: &Message) {
    let business = msg.business();
    if DocKind::of(business.spec).is_none() {
        return;
    }
    let mut engine = Engine::new(EngineConfig::default(), None).unwrap();
    for doc in &business.documents {
        let _ = engine.submit(business.spec, doc, InboundId::new(1, 0), 1_000);
    }
    for other in set_ok() {
        for doc in &other.documents {
            let _ = engine.submit(other.spec, doc, InboundId::new(2, 0), 2_000);
        }
    }
    for doc in &business.documents {
        let _ = engine.submit(business.spec, doc, InboundId::new(3, 0), 3_000);
    }
    for report in engine.reports() {
        let _ = engine.receipts(&report.key, 4_000);
    }
    let _ = engine.overdue(u64::MAX);
}

/// Everything a decoded message goes through: both validation modes, the
/// writer (and the reader again on what it wrote), the engine.
fn exercise_message(msg: &Message) {
    let _ = validate(msg, Mode::Read);
    let _ = validate(msg, Mode::Write);
    for i in 0..msg.documents.len() {
        let _ = msg.document_key(i);
    }
    if let Ok(bytes) = codec::encode(msg, &EncodeOptions::default()) {
        // What the writer writes, the reader reads.
        let again = codec::decode(&bytes).unwrap_or_else(|e| {
            panic!(
                "{}: the writer wrote what the reader refuses: {e}\n{}",
                msg.spec.name,
                String::from_utf8_lossy(&bytes)
            )
        });
        let _ = validate(&again.message, Mode::Read);
    }
    through_engine(msg);
}

/// Puts the values into the target fields of the sample's model and runs
/// everything on the result: any text reaches the validator this way,
/// control characters too. Panics are the only failure.
fn exercise_model(edits: &[(Target, &str)]) {
    let Some(first) = edits.first() else { return };
    let mut msg = samples()[first.0.sample].message.clone();
    for (t, value) in edits {
        record_mut(&mut msg, t).set_text(t.field, value);
    }
    exercise_message(&msg);
}

/// Puts `content` (as written in XML) into the target field of the
/// sample's text, so the reader parses it first, and runs everything on
/// what it reads.
fn exercise_text(t: &Target, content: &str) {
    if let Some(text) = edit_text(t, content)
        && let Ok(decoded) = codec::decode(text.as_bytes())
    {
        exercise_message(&decoded.message);
    }
}

/// Values put straight into the model for the whole pipeline (writer,
/// reader, engine): emptiness, an extreme, markup.
const MODELLED: &[&str] = &["", "-79228162514264337593543950335", "<&>"];

/// One value of each kind of [`hostile_values`], put into the text for the
/// whole pipeline.
const PARSED: &[&str] = &[
    "2026110é10300",
    "２０２６１１２１",
    "+-1",
    "1e400",
    "9223372036854775808",
    "\u{1}",
];

/// Element content as written in XML: references the reader resolves.
const RAW: &[&str] = &["&#1;", "&lt;&amp;", "<![CDATA[-1]]>"];

/// Values no field expects: other scripts, full-width digits, signs,
/// extremes of size and precision, emptiness, control characters, markup.
fn hostile_values() -> Vec<String> {
    let mut v: Vec<String> = [
        "é",
        "林晓彤",
        "２０２６",
        "２０２６１１２１１０００００",
        "٣٣",
        "𝟘𝟙𝟚",
        "-",
        "+",
        "+-1",
        "-+1",
        "--1",
        "-0",
        "+0",
        "-1",
        "0",
        "1",
        "-.5",
        ".",
        "1.",
        ".1",
        "1.2.3",
        "1e400",
        "1E5",
        "-1e-400",
        "NaN",
        "inf",
        "-inf",
        "0x10",
        "1_000",
        "1,000",
        "1 000",
        "0.000000000000000000001",
        "0.0000000000000000000000000001",
        "79228162514264337593543950335",
        "-79228162514264337593543950335",
        "79228162514264337593543950336",
        "7922816251426433759354395033.5",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "18446744073709551616",
        "",
        " ",
        "\t\n ",
        " 1 ",
        "\u{0}",
        "\u{1}\u{7f}",
        "\u{feff}",
        "\u{200b}",
        "\u{202e}1",
        "<",
        "&",
        "]]>",
        "\"'",
        "a\u{301}",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("9".repeat(40));
    v.push(format!("-{}", "9".repeat(40)));
    v.push(format!("0.{}1", "0".repeat(40)));
    v.push("9".repeat(1001));
    v.push("林".repeat(2000));
    v
}

/// Near-valid versions of a field's sample value that keep its byte length
/// (or its character count): a sign or a non-ASCII character at every
/// position, as in `2026110é10300` or `20261121-00000`.
fn near_values(valid: &str) -> Vec<String> {
    let chars: Vec<char> = valid.chars().collect();
    let mut out = Vec::new();
    for i in 0..chars.len() {
        for c in ['-', '+', ' ', '٣', '２'] {
            let mut v = chars.clone();
            v[i] = c;
            out.push(v.iter().collect());
        }
        if i + 1 < chars.len() && chars[i].is_ascii() && chars[i + 1].is_ascii() {
            let mut v = chars.clone();
            v.splice(i..i + 2, ['é']);
            out.push(v.iter().collect());
        }
    }
    out.push(format!("-{valid}"));
    out.push(format!("{valid}0"));
    out.push(chars.iter().skip(1).collect());
    out
}

#[test]
fn every_field_of_every_message_takes_hostile_values() {
    // Every value through the validator; the values of each kind through
    // the whole pipeline (writer, reader, engine), in the model and in the
    // text. The proptest below sends arbitrary ones down the whole pipeline.
    let hostile = hostile_values();
    for t in targets() {
        let mut msg = samples()[t.sample].message.clone();
        for value in &hostile {
            record_mut(&mut msg, t).set_text(t.field, value);
            let _ = validate(&msg, Mode::Read);
            let _ = validate(&msg, Mode::Write);
        }
        for value in MODELLED {
            exercise_model(&[(*t, value)]);
        }
        for value in PARSED {
            exercise_text(t, &escape(value));
        }
        for content in RAW {
            exercise_text(t, content);
        }
    }
}

#[test]
fn every_field_of_every_message_takes_near_valid_values() {
    for t in targets() {
        let valid = current_text(t);
        if valid.chars().count() > 40 {
            continue;
        }
        let mut msg = samples()[t.sample].message.clone();
        for value in near_values(&valid) {
            record_mut(&mut msg, t).set_text(t.field, &value);
            let _ = validate(&msg, Mode::Read);
            let _ = validate(&msg, Mode::Write);
        }
    }
}

/// Decimal extremes: the values a product or a sum of decimals can overflow with.
const NUMBERS: &[&str] = &[
    "79228162514264337593543950335",
    "-79228162514264337593543950335",
    "7922816251426433759354395033.5",
    "0.0000000000000000000000000001",
    "1",
    "-1",
    "0",
    "0.5",
];

#[test]
fn every_combination_of_extremes_in_the_decimals_of_a_record() {
    // All decimal fields of one record at once, every combination of
    // extremes over up to three of them: cross-field rules (qty × price =
    // totalPrice) and the engine's sums see them together.
    for (sample_index, sample) in samples().iter().enumerate() {
        let mut seen: Vec<*const RecordSpec> = Vec::new();
        for t in targets().iter().filter(|t| t.sample == sample_index) {
            if seen.contains(&std::ptr::from_ref(t.record)) {
                continue;
            }
            seen.push(std::ptr::from_ref(t.record));
            let decimals: Vec<Target> = targets()
                .iter()
                .filter(|d| {
                    d.sample == sample_index
                        && d.slot == t.slot
                        && matches!(
                            d.spec().kind,
                            FieldKind::Decimal { .. } | FieldKind::Int { .. }
                        )
                })
                .copied()
                .collect();
            if decimals.is_empty() {
                continue;
            }
            for window in decimals.windows(3.min(decimals.len())).take(8) {
                let n = NUMBERS.len().pow(u32::try_from(window.len()).unwrap());
                for combo in 0..n {
                    let mut rest = combo;
                    let edits: Vec<(Target, &str)> = window
                        .iter()
                        .map(|d| {
                            let v = NUMBERS[rest % NUMBERS.len()];
                            rest /= NUMBERS.len();
                            (*d, v)
                        })
                        .collect();
                    let mut msg = sample.message.clone();
                    for (d, v) in &edits {
                        record_mut(&mut msg, d).set_text(d.field, v);
                    }
                    let _ = validate(&msg, Mode::Read);
                    through_engine(&msg);
                }
            }
        }
    }
}

fn target_strategy() -> impl Strategy<Value = Target> {
    (0..targets().len()).prop_map(|i| targets()[i])
}

/// Arbitrary text, hostile values, and random edits of the field's valid value.
fn value_strategy(t: Target) -> BoxedStrategy<String> {
    let valid = current_text(&t);
    let alphabet = prop::sample::select(vec![
        '0', '1', '9', '-', '+', '.', 'e', 'é', '２', '٣', ' ', '\u{0}', '林', '<', '&',
    ]);
    let edits = prop::collection::vec((any::<prop::sample::Index>(), alphabet, 0..3u8), 1..4)
        .prop_map(move |ops| {
            let mut chars: Vec<char> = valid.chars().collect();
            for (at, c, op) in ops {
                let i = if chars.is_empty() {
                    0
                } else {
                    at.index(chars.len())
                };
                match op {
                    0 if !chars.is_empty() => chars[i] = c,
                    1 => chars.insert(i, c),
                    _ if !chars.is_empty() => {
                        chars.remove(i);
                    }
                    _ => chars.push(c),
                }
            }
            chars.into_iter().collect::<String>()
        });
    prop_oneof![
        2 => any::<String>(),
        1 => prop::sample::select(hostile_values()),
        3 => edits,
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// One to three fields of one message type edited at once.
    #[test]
    fn random_fields_take_random_values(
        edits in target_strategy()
            .prop_flat_map(|t| {
                let same_sample: Vec<Target> = targets()
                    .iter()
                    .filter(|o| o.sample == t.sample)
                    .copied()
                    .collect();
                prop::collection::vec(prop::sample::select(same_sample), 0..3)
                    .prop_map(move |mut more| { more.insert(0, t); more })
            })
            .prop_flat_map(|ts| {
                let values: Vec<BoxedStrategy<String>> =
                    ts.iter().map(|t| value_strategy(*t)).collect();
                (Just(ts), values)
            })
    ) {
        let (targets, values) = edits;
        let pairs: Vec<(Target, &str)> = targets
            .iter()
            .copied()
            .zip(values.iter().map(String::as_str))
            .collect();
        exercise_model(&pairs);
        for (t, value) in &pairs {
            exercise_text(t, &escape(value));
        }
    }
}

/// The records of a message read from bytes share one arena of values: a
/// change to one moves it to its own and touches no other record, nor a
/// clone taken before.
#[test]
fn changing_one_record_of_a_message_read_changes_only_that_record() {
    let bytes = std::fs::read(util::root().join("samples/set-ok/CEB621-inventory.xml")).unwrap();
    let read = codec::decode(&bytes).unwrap().message;
    let mut msg = read.clone();
    let doc = &mut msg.documents[0];
    let before: Vec<String> = doc.lines.iter().map(|l| format!("{l:?}")).collect();
    let spec = doc.lines[1].spec();
    let last = spec.fields.len() - 1;
    for i in 0..spec.fields.len() {
        doc.lines[1].set_text(i, &format!("v{i}"));
    }
    doc.lines[1].set_text(last, "again");
    for (i, f) in spec.fields.iter().enumerate() {
        let want = if i == last {
            "again".to_owned()
        } else {
            format!("v{i}")
        };
        let got = doc.lines[1].value(i).to_string();
        // Numeric fields keep "v…" as invalid text: the text is what counts.
        assert_eq!(got, want, "{}", f.name);
    }
    assert_eq!(format!("{:?}", doc.lines[0]), before[0]);
    assert_eq!(format!("{:?}", doc.lines[2]), before[2]);
    assert_eq!(read, codec::decode(&bytes).unwrap().message);
    assert_ne!(read, msg);
}
