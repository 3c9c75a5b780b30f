//! Strict writing: typed [`Message`] -> XML bytes.
//!
//! The message is validated in [`Mode::Write`] first; any error refuses the
//! write. Elements go out in XSD order; CEB requests use the `ceb:` prefix as
//! the official samples do, receipts the default namespace with
//! `standalone="yes"`. `ds:Signature` is copied verbatim.

use std::fmt::Write as _;

use base64::Engine as _;
use quick_xml::escape::{escape, partial_escape};
use thiserror::Error;

use super::charset::{self, Charset};
use crate::diag::Diagnostic;
use crate::model::{Message, Record, Value};
use crate::schema::{Category, FieldKind, MessageKind, NS_DS, Namespace};
use crate::validate::{Mode, validate};

/// How to write.
#[derive(Debug, Clone, Copy)]
pub struct EncodeOptions {
    /// Output charset (UTF-8 unless a receiver needs GBK).
    pub charset: Charset,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            charset: Charset::Utf8,
        }
    }
}

/// Why a message was not written.
#[derive(Debug, Clone, Error)]
pub enum WriteError {
    /// The message breaks its schema.
    #[error("the message is not valid: {}", summary(.0))]
    Invalid(Vec<Diagnostic>),
    /// A character has no mapping in the output charset.
    #[error("character {0:?} cannot be written in {1}")]
    Unmappable(char, &'static str),
}

fn summary(diagnostics: &[Diagnostic]) -> String {
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .take(3)
        .map(ToString::to_string)
        .collect();
    errors.join("; ")
}

/// Writes a message as XML bytes, refusing it if it breaks its schema.
///
/// Structural rules (what the official XSD checks: presence, lengths, fixed
/// values, cardinality, digits) refuse the write; business findings (a line
/// total that does not add up) are the validator's and the engine's to
/// report, and do not stop a message from being written as it is.
pub fn encode(msg: &Message, options: &EncodeOptions) -> Result<Vec<u8>, WriteError> {
    let diagnostics: Vec<Diagnostic> = validate(msg, Mode::Write)
        .into_iter()
        .filter(|d| d.is_error() && d.rule.category != Category::Business)
        .collect();
    if !diagnostics.is_empty() {
        return Err(WriteError::Invalid(diagnostics));
    }
    let mut w = XmlWriter::new(msg.spec.namespace, msg.spec.kind, msg.spec.root_is_head);
    w.document(msg, options.charset);
    charset::encode_text(&w.out, options.charset)
        .map_err(|c| WriteError::Unmappable(c, options.charset.label()))
}

struct XmlWriter {
    out: String,
    prefix: &'static str,
}

impl XmlWriter {
    fn new(namespace: Namespace, kind: MessageKind, root_is_head: bool) -> XmlWriter {
        let prefix = match (namespace, kind) {
            (Namespace::Ceb, MessageKind::Request) => "ceb:",
            // DxpMsg as in the official samples; DxpRep (root is the head)
            // keeps its verbatim children in the default namespace.
            (Namespace::Dxp, _) if !root_is_head => "dxp:",
            _ => "",
        };
        XmlWriter {
            out: String::with_capacity(4096),
            prefix,
        }
    }

    fn document(&mut self, msg: &Message, charset: Charset) {
        let standalone = if msg.spec.kind == MessageKind::Receipt {
            " standalone=\"yes\""
        } else {
            ""
        };
        let _ = writeln!(
            self.out,
            "<?xml version=\"1.0\" encoding=\"{}\"{standalone}?>",
            charset.label()
        );
        self.message(msg);
    }

    fn message(&mut self, msg: &Message) {
        let spec = msg.spec;
        let mut attrs = String::new();
        if matches!(spec.namespace, Namespace::Ceb | Namespace::Mail) {
            if let Some(g) = &msg.guid {
                let _ = write!(attrs, " guid=\"{}\"", escape(g.as_str()));
            }
            if let Some(v) = &msg.version {
                let _ = write!(attrs, " version=\"{}\"", escape(v.as_str()));
            }
        }
        if spec.namespace == Namespace::Dxp {
            let _ = write!(
                attrs,
                " ver=\"{}\"",
                escape(msg.version.as_deref().unwrap_or("1.0"))
            );
        }
        let uri = spec.namespace.uri();
        if !uri.is_empty() {
            match self.prefix.strip_suffix(':') {
                Some(p) => {
                    let _ = write!(attrs, " xmlns:{p}=\"{uri}\"");
                }
                None => {
                    let _ = write!(attrs, " xmlns=\"{uri}\"");
                }
            }
        }
        if let Some(sig) = &msg.signature
            && !sig.self_declared
        {
            match &sig.prefix {
                Some(p) => {
                    let _ = write!(attrs, " xmlns:{p}=\"{NS_DS}\"");
                }
                None if !uri.is_empty() => {
                    // An unprefixed signature relying on an inherited default
                    // namespace cannot be re-homed safely; it was written with
                    // its own declaration in every sample seen.
                }
                None => {}
            }
        }
        if let Some(dxp) = &msg.dxp {
            self.open(spec.root, &attrs);
            self.open("TransInfo", "");
            let info = &dxp.trans_info;
            for (i, f) in info.spec().fields.iter().enumerate() {
                if f.name == "CreatTime" {
                    self.open("ReceiverIds", "");
                    for r in &dxp.receiver_ids {
                        self.leaf("ReceiverId", r);
                    }
                    self.close("ReceiverIds");
                }
                self.field(info, i);
            }
            self.close("TransInfo");
            let data = base64::engine::general_purpose::STANDARD.encode(&dxp.data);
            self.leaf("Data", &data);
            if dxp.add_info.is_some() || !dxp.biz_keys.is_empty() {
                self.open("AddInfo", "");
                if let Some(add) = &dxp.add_info {
                    self.fields(add);
                }
                if !dxp.biz_keys.is_empty() {
                    self.open("BizKey", "");
                    for (name, value) in &dxp.biz_keys {
                        let attr = format!(" name=\"{}\"", escape(name.as_str()));
                        self.open("Key", &attr);
                        self.out.push_str(&partial_escape(value.as_str()));
                        self.close("Key");
                    }
                    self.close("BizKey");
                }
                self.close("AddInfo");
            }
            if let Some(sig) = &msg.signature {
                self.out.push_str(&sig.xml);
            }
            self.close(spec.root);
            return;
        }
        if spec.root_is_head {
            if let Some(doc) = msg.documents.first() {
                self.open(spec.root, &attrs);
                self.fields(&doc.head);
                for line in &doc.lines {
                    self.record(line);
                }
                self.close(spec.root);
            }
            return;
        }
        self.open(spec.root, &attrs);
        // Legacy DEC_DATA: INTERFACE_VERSION (the first root field) precedes
        // the documents, the other root fields follow them (GACS 2018 No. 67, §4).
        if let Some(r) = &msg.root_fields {
            self.fields_in(r, 0..1);
        }
        for doc in &msg.documents {
            if let Some(group) = spec.group {
                self.open(group, "");
            }
            self.record(&doc.head);
            for line in &doc.lines {
                self.record(line);
            }
            if let Some(group) = spec.group {
                self.close(group);
            }
        }
        if let Some(r) = &msg.root_fields {
            self.fields_in(r, 1..r.spec().fields.len());
        }
        if let Some(t) = &msg.transfer {
            self.record(t);
        }
        for s in &msg.subscribe {
            self.record(s);
        }
        if let Some(e) = &msg.extend {
            self.record(e);
        }
        if let Some(sig) = &msg.signature {
            self.out.push_str(&sig.xml);
        }
        self.close(spec.root);
    }

    fn record(&mut self, record: &Record) {
        let element = record.spec().element;
        self.open(element, "");
        self.fields(record);
        self.close(element);
    }

    fn fields(&mut self, record: &Record) {
        self.fields_in(record, 0..record.spec().fields.len());
    }

    fn fields_in(&mut self, record: &Record, range: std::ops::Range<usize>) {
        for i in range {
            self.field(record, i);
        }
    }

    /// Writes field `i` of `record`: absent fields are omitted, unless the
    /// XSD requires the element (then it is written empty).
    fn field(&mut self, record: &Record, i: usize) {
        let Some(f) = record.spec().fields.get(i).filter(|f| !f.extension) else {
            return;
        };
        if f.present && record.value(i).is_absent() {
            self.leaf(f.name, "");
        } else {
            self.value(f.name, f.kind, record.value(i));
        }
    }

    fn value(&mut self, name: &str, kind: FieldKind, value: Value<'_>) {
        match value {
            Value::Absent => {}
            Value::Text(t) if kind == FieldKind::Xml => {
                self.open(name, "");
                self.out.push_str(t);
                self.close(name);
            }
            other => {
                let text = other.to_string();
                self.leaf(name, &text);
            }
        }
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.open(name, "");
        self.out.push_str(&partial_escape(text));
        self.close(name);
    }

    fn open(&mut self, name: &str, attrs: &str) {
        let _ = write!(self.out, "<{}{name}{attrs}>", self.prefix);
    }

    fn close(&mut self, name: &str) {
        let _ = write!(self.out, "</{}{name}>", self.prefix);
    }
}
