//! Tolerant reading: element tree -> typed [`Message`].
//!
//! Elements are matched on (namespace, local name), never on the prefix.
//! Receipts may come in any element order; requests out of order are reported
//! (customs' XSD refuses them) but still read. Unknown elements are reported
//! and skipped. Values that do not parse as their type are kept as
//! [`crate::model::Value::Invalid`] for the validator to report.

use base64::Engine as _;

use super::dom::{Dom, Node, NodeId};
use crate::codec::{CodecError, Limits};
use crate::diag::Diagnostic;
use crate::model::{Document, DxpEnvelope, Message, Record, Signature, Value};
use crate::schema::{
    self, FieldKind, MessageKind, MessageSpec, NS_DS, Namespace, RecordSpec, rule,
};

/// Reads the message at the root of `dom`.
pub fn read_message(
    dom: &Dom<'_>,
    limits: &Limits,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Message, CodecError> {
    let root = dom.root();
    let spec = match MessageSpec::for_root(&root.ns, root.local) {
        Some(spec) => spec,
        None => {
            return Err(match MessageSpec::for_root_any_namespace(root.local) {
                Some(spec) => CodecError::WrongNamespace {
                    root: root.local.to_owned(),
                    found: root.ns.to_string(),
                    expected: spec.namespace.uri(),
                },
                None => CodecError::UnknownRoot {
                    root: root.local.to_owned(),
                    namespace: root.ns.to_string(),
                },
            });
        }
    };
    if spec.ty == schema::MessageType::DxpMsg {
        return read_dxp(dom, spec, limits, diagnostics);
    }
    let mut reader = Reader {
        dom,
        spec,
        diagnostics,
    };
    Ok(reader.read())
}

struct Reader<'d, 'a> {
    dom: &'d Dom<'a>,
    spec: &'static MessageSpec,
    diagnostics: &'d mut Vec<Diagnostic>,
}

/// Position of a root child in the XSD sequence, for order checking.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Stage {
    Documents,
    Transfer,
    Subscribe,
    Extend,
    Signature,
}

impl Reader<'_, '_> {
    fn read(&mut self) -> Message {
        let spec = self.spec;
        let dom = self.dom;
        let root = dom.root();
        let mut msg = Message::new(spec);
        if spec.namespace == Namespace::Ceb {
            msg.guid = root.attr("guid").map(str::to_owned);
            msg.version = root.attr("version").map(str::to_owned);
        } else if spec.namespace == Namespace::Dxp {
            msg.version = root.attr("ver").map(str::to_owned);
        }
        if spec.root_is_head {
            let doc = self.read_document(0, 0);
            msg.documents.push(doc);
            return msg;
        }
        let mut root_fields = spec.root_fields.map(Record::new);
        let mut stage = Stage::Documents;
        let mut order_reported = false;
        for &child_id in &root.children {
            let child = dom.node(child_id);
            let this_stage;
            if child.local == "Signature" && child.ns == NS_DS {
                this_stage = Stage::Signature;
                if msg.signature.is_some() {
                    self.report_duplicate(None, "Signature");
                }
                msg.signature = Some(signature(dom, child));
            } else if child.ns != spec.namespace.uri() {
                self.unknown(None, root.local, child);
                continue;
            } else if spec.group.is_some_and(|g| g == child.local)
                || (spec.group.is_none() && child.local == spec.head.element)
            {
                this_stage = Stage::Documents;
                let index = msg.documents.len();
                let doc = self.read_document(child_id, index);
                msg.documents.push(doc);
            } else if spec.envelope && child.local == "BaseTransfer" {
                this_stage = Stage::Transfer;
                if msg.transfer.is_some() {
                    self.report_duplicate(None, "BaseTransfer");
                }
                msg.transfer = Some(self.read_record(child, &schema::REC_BASE_TRANSFER, None));
            } else if spec.envelope && child.local == "BaseSubscribe" {
                this_stage = Stage::Subscribe;
                let rec = self.read_record(child, &schema::REC_BASE_SUBSCRIBE, None);
                msg.subscribe.push(rec);
            } else if spec.envelope && child.local == "ExtendMessage" {
                this_stage = Stage::Extend;
                if msg.extend.is_some() {
                    self.report_duplicate(None, "ExtendMessage");
                }
                msg.extend = Some(self.read_record(child, &schema::REC_EXTEND_MESSAGE, None));
            } else if let Some(fields) = root_fields
                .as_mut()
                .filter(|f| f.spec().field_index(child.local).is_some())
            {
                fields.set_by_name(child.local, &child.text);
                continue;
            } else {
                self.unknown(None, root.local, child);
                continue;
            }
            if this_stage < stage && spec.kind == MessageKind::Request && !order_reported {
                order_reported = true;
                self.diagnostics.push(Diagnostic::new(
                    rule::ELEMENT_ORDER,
                    None,
                    format!("{}/{}", root.local, child.local),
                    format!(
                        "<{}> at line {} comes after an element the XSD puts behind it",
                        child.local,
                        self.dom.line(child)
                    ),
                ));
            }
            if this_stage > stage {
                stage = this_stage;
            }
        }
        msg.root_fields = root_fields;
        msg
    }

    /// Reads one business document rooted at `id` (a group wrapper, the head
    /// itself, or the root when the root is the head).
    fn read_document(&mut self, id: NodeId, index: usize) -> Document {
        let spec = self.spec;
        let dom = self.dom;
        let node = dom.node(id);
        let is_head = spec.root_is_head || spec.group.is_none();
        if is_head {
            // The head's own children are its fields, and its lines (if any)
            // sit among them (DecImportResponse/SupResult).
            let mut head = Record::new(spec.head);
            let mut lines = Vec::new();
            let line_element = spec.line.as_ref().map(|l| l.record.element);
            let mut last = None;
            let mut order_reported = false;
            for &child_id in &node.children {
                let child = dom.node(child_id);
                if Some(child.local) == line_element && child.ns == spec.namespace.uri() {
                    if let Some(line) = &spec.line {
                        lines.push(self.read_record(child, line.record, Some(index)));
                    }
                    continue;
                }
                self.read_field(
                    &mut head,
                    child,
                    Some(index),
                    &mut last,
                    &mut order_reported,
                );
            }
            return Document { head, lines };
        }
        let mut head: Option<Record> = None;
        let mut lines = Vec::new();
        let mut seen_line = false;
        let mut order_reported = false;
        for &child_id in &node.children {
            let child = dom.node(child_id);
            if child.ns != spec.namespace.uri() {
                self.unknown(Some(index), node.local, child);
            } else if child.local == spec.head.element {
                if head.is_some() {
                    self.report_duplicate(Some(index), spec.head.element);
                    continue;
                }
                if seen_line && spec.kind == MessageKind::Request && !order_reported {
                    order_reported = true;
                    self.diagnostics.push(Diagnostic::new(
                        rule::ELEMENT_ORDER,
                        Some(index),
                        format!("{}/{}", node.local, child.local),
                        format!(
                            "<{}> at line {} must come before the lines",
                            child.local,
                            self.dom.line(child)
                        ),
                    ));
                }
                head = Some(self.read_record(child, spec.head, Some(index)));
            } else if let Some(line) = spec
                .line
                .as_ref()
                .filter(|l| l.record.element == child.local)
            {
                seen_line = true;
                lines.push(self.read_record(child, line.record, Some(index)));
            } else {
                self.unknown(Some(index), node.local, child);
            }
        }
        let head = head.unwrap_or_else(|| {
            self.diagnostics.push(Diagnostic::new(
                rule::REQUIRED,
                Some(index),
                format!("{}/{}", node.local, spec.head.element),
                format!(
                    "<{}> at line {} has no <{}>",
                    node.local,
                    self.dom.line(node),
                    spec.head.element
                ),
            ));
            Record::new(spec.head)
        });
        Document { head, lines }
    }

    fn read_record(
        &mut self,
        node: &Node<'_>,
        spec: &'static RecordSpec,
        doc: Option<usize>,
    ) -> Record {
        let mut record = Record::new(spec);
        let mut last = None;
        let mut order_reported = false;
        for &child_id in &node.children {
            let child = self.dom.node(child_id);
            self.read_field(&mut record, child, doc, &mut last, &mut order_reported);
        }
        record
    }

    fn read_field(
        &mut self,
        record: &mut Record,
        child: &Node<'_>,
        doc: Option<usize>,
        last: &mut Option<usize>,
        order_reported: &mut bool,
    ) {
        let spec = record.spec();
        if child.ns != self.spec.namespace.uri() {
            self.unknown(doc, spec.element, child);
            return;
        }
        // Fields usually come in schema order: try the next one first.
        let next = last.map_or(0, |l| l.saturating_add(1));
        let found = match spec.fields.get(next) {
            Some(f) if f.name == child.local => Some((next, f)),
            _ => spec
                .fields
                .iter()
                .enumerate()
                .find(|(_, f)| f.name == child.local),
        };
        let Some((index, field)) = found else {
            self.unknown(doc, spec.element, child);
            return;
        };
        if !record.value(index).is_absent() {
            self.report_duplicate(doc, &format!("{}/{}", spec.element, child.local));
            return;
        }
        if let Some(prev) = *last
            && index < prev
            && self.spec.kind == MessageKind::Request
            && !*order_reported
        {
            *order_reported = true;
            self.diagnostics.push(Diagnostic::new(
                rule::ELEMENT_ORDER,
                doc,
                format!("{}/{}", spec.element, child.local),
                format!(
                    "<{}> at line {} comes after <{}>; the XSD puts it before",
                    child.local,
                    self.dom.line(child),
                    spec.fields.get(prev).map_or("", |f| f.name)
                ),
            ));
        }
        if last.is_none_or(|l| index > l) {
            *last = Some(index);
        }
        let value = match field.kind {
            FieldKind::Xml => {
                let inner = self.dom.slice(child.inner);
                if inner.trim().is_empty() {
                    Value::Absent
                } else {
                    Value::Text(inner)
                }
            }
            kind => Value::parse(kind, &child.text),
        };
        record.set_value(index, value);
    }

    fn unknown(&mut self, doc: Option<usize>, parent: &str, child: &Node<'_>) {
        let ns = if child.ns.is_empty() {
            "no namespace".to_owned()
        } else {
            format!("namespace {}", child.ns)
        };
        self.diagnostics.push(Diagnostic::new(
            rule::UNKNOWN_ELEMENT,
            doc,
            format!("{parent}/{}", child.local),
            format!(
                "<{}> ({ns}) at line {} is not part of {}; it was ignored",
                child.local,
                self.dom.line(child),
                parent
            ),
        ));
    }

    fn report_duplicate(&mut self, doc: Option<usize>, path: &str) {
        self.diagnostics.push(Diagnostic::new(
            rule::DUPLICATE_ELEMENT,
            doc,
            path.to_owned(),
            format!("{path} appears more than once; the first one was kept"),
        ));
    }
}

/// `ds:Signature`, kept byte for byte.
fn signature(dom: &Dom<'_>, node: &Node<'_>) -> Signature {
    Signature {
        xml: dom.slice(node.span).to_owned(),
        prefix: node.prefix.map(str::to_owned),
        self_declared: node.declares_own_ns,
    }
}

fn read_dxp(
    dom: &Dom<'_>,
    spec: &'static MessageSpec,
    limits: &Limits,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Message, CodecError> {
    let root = dom.root();
    let mut msg = Message::new(spec);
    msg.version = root.attr("ver").map(str::to_owned);
    let mut trans_info = Record::new(&schema::REC_TRANS_INFO);
    let mut receiver_ids = Vec::new();
    let mut add_info = None;
    let mut biz_keys = Vec::new();
    let mut data_text = None;
    let mut reader = Reader {
        dom,
        spec,
        diagnostics,
    };
    for &child_id in &root.children {
        let child = dom.node(child_id);
        match child.local {
            _ if child.ns != schema::NS_DXP
                && !(child.local == "Signature" && child.ns == NS_DS) =>
            {
                reader.unknown(None, root.local, child);
            }
            "TransInfo" => {
                for &id in &child.children {
                    let field = dom.node(id);
                    if field.local == "ReceiverIds" {
                        for &r in &field.children {
                            receiver_ids.push(dom.node(r).text.trim().to_owned());
                        }
                    } else if !trans_info.set_by_name(field.local, &field.text) {
                        reader.unknown(None, "TransInfo", field);
                    }
                }
            }
            "Data" => data_text = Some(child.text.to_string()),
            "AddInfo" => {
                let mut rec = Record::new(&schema::REC_ADD_INFO);
                for &id in &child.children {
                    let field = dom.node(id);
                    if field.local == "BizKey" {
                        for &k in &field.children {
                            let key = dom.node(k);
                            biz_keys.push((
                                key.attr("name").unwrap_or("").to_owned(),
                                key.text.trim().to_owned(),
                            ));
                        }
                    } else if rec.spec().field_index(field.local).is_some() {
                        rec.set_by_name(field.local, &field.text);
                    }
                    // IsText, RecMapId: transport hints the gateway does not use.
                }
                add_info = Some(rec);
            }
            "Signature" => {
                msg.signature = Some(signature(dom, child));
            }
            _ => reader.unknown(None, root.local, child),
        }
    }
    let mut envelope = DxpEnvelope {
        trans_info,
        receiver_ids,
        add_info,
        biz_keys,
        data: Vec::new(),
        inner: None,
    };
    match data_text {
        None => diagnostics.push(Diagnostic::new(
            rule::REQUIRED,
            None,
            "DxpMsg/Data",
            "the envelope has no <Data>",
        )),
        Some(text) => {
            let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
                Err(e) => diagnostics.push(Diagnostic::new(
                    rule::DXP_PAYLOAD,
                    None,
                    "DxpMsg/Data",
                    format!("<Data> is not valid base64: {e}"),
                )),
                Ok(bytes) => {
                    let inner_limits = Limits {
                        allow_envelope: false,
                        ..*limits
                    };
                    match super::decode_any_with(&bytes, &inner_limits) {
                        Ok(crate::codec::Content::Message(decoded)) => {
                            diagnostics.extend(decoded.diagnostics);
                            envelope.inner = Some(Box::new(decoded.message));
                        }
                        // Kept as the envelope's data, reported as what it is.
                        Ok(crate::codec::Content::Unsupported(u)) => {
                            diagnostics.push(u.diagnostic())
                        }
                        Err(e) => diagnostics.push(Diagnostic::new(
                            rule::DXP_PAYLOAD,
                            None,
                            "DxpMsg/Data",
                            format!("<Data> does not hold a customs message: {e}"),
                        )),
                    }
                    envelope.data = bytes;
                }
            }
        }
    }
    msg.dxp = Some(Box::new(envelope));
    Ok(msg)
}
