//! Tolerant reading: quick-xml events -> typed [`Message`], in one pass.
//!
//! The schema tables drive the walk: each element is matched on (namespace,
//! local name), never on the prefix, and becomes a record field, a record,
//! a document or the signature as it is read; no tree is built. Receipts
//! may come in any element order; requests out of order are reported
//! (customs' XSD refuses them) but still read. Unknown elements are
//! reported and skipped. Values that do not parse as their type are kept as
//! [`crate::model::Value::Invalid`] for the validator to report.
//!
//! Every record's values go into one arena for the whole message
//! ([`MessageValues`]): a slot per field and one buffer of text, shared by
//! the message's records once it is read; a record costs no allocation.

use base64::Engine as _;

use super::events::{Elem, Events, Item, eol};
use super::{
    Charset, CodecError, Content, Decoded, KEY_ELEMENTS, Limits, Unsupported, unsupported,
};
use crate::diag::Diagnostic;
use crate::model::{
    Document, DxpEnvelope, Message, MessageValues, Record, RecordDraft, Signature, Value,
};
use crate::schema::{
    self, FieldKind, MessageKind, MessageSpec, NS_DS, Namespace, RecordSpec, rule,
};

/// Reads one document (UTF-8 bytes without BOM) to the end.
pub fn read(bytes: &[u8], charset: Charset, limits: &Limits) -> Result<Content, CodecError> {
    let mut ev = Events::new(bytes, limits);
    let root = ev.root()?;
    let local = root.local();
    if !limits.allow_envelope && local == "DxpMsg" {
        return refuse(
            &mut ev,
            CodecError::UnknownRoot {
                root: "DxpMsg".to_owned(),
                namespace: "a DXP envelope inside a DXP envelope".to_owned(),
            },
        );
    }
    if MessageSpec::for_root_any_namespace(local).is_none()
        && unsupported::is_customs_root(&root.ns, local)
    {
        let u = read_unsupported(&mut ev, &root, charset)?;
        ev.finish()?;
        return Ok(Content::Unsupported(u));
    }
    let Some(spec) = MessageSpec::for_root(&root.ns, local) else {
        let err = match MessageSpec::for_root_any_namespace(local) {
            Some(spec) => CodecError::WrongNamespace {
                root: local.to_owned(),
                found: root.ns.to_string(),
                expected: spec.namespace.uri(),
            },
            None => CodecError::UnknownRoot {
                root: local.to_owned(),
                namespace: root.ns.to_string(),
            },
        };
        return refuse(&mut ev, err);
    };
    let mut diagnostics = Vec::new();
    let message = if spec.ty == schema::MessageType::DxpMsg {
        read_dxp(&mut ev, &root, spec, limits, &mut diagnostics)?
    } else {
        // About one field a 24 bytes of document, half of it text.
        let values = MessageValues::with_capacity(bytes.len() / 24, bytes.len() / 2);
        let mut reader = Reader {
            ev: &mut ev,
            spec,
            diagnostics: &mut diagnostics,
            values,
        };
        let message = reader.read(&root)?;
        reader.values.seal();
        message
    };
    ev.finish()?;
    Ok(Content::Message(Decoded {
        message,
        diagnostics,
        charset,
    }))
}

/// Refuses the document with `err` once the rest of it has been read: a
/// document that is not well-formed is reported as that first.
fn refuse(ev: &mut Events<'_>, err: CodecError) -> Result<Content, CodecError> {
    ev.skip()?;
    ev.finish()?;
    Err(err)
}

struct Reader<'e, 'a> {
    ev: &'e mut Events<'a>,
    spec: &'static MessageSpec,
    diagnostics: &'e mut Vec<Diagnostic>,
    /// The values of the message's records.
    values: MessageValues,
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
    fn ns(&self) -> &'static str {
        self.spec.namespace.uri()
    }

    fn read(&mut self, root: &Elem<'_>) -> Result<Message, CodecError> {
        let spec = self.spec;
        let mut msg = Message::new(spec);
        if matches!(spec.namespace, Namespace::Ceb | Namespace::Mail) {
            msg.guid = root.attr("guid").map(|v| v.into_owned());
            msg.version = root.attr("version").map(|v| v.into_owned());
        } else if spec.namespace == Namespace::Dxp {
            msg.version = root.attr("ver").map(|v| v.into_owned());
        }
        if spec.root_is_head {
            let doc = self.read_document(root, 0)?;
            msg.documents.push(doc);
            return Ok(msg);
        }
        let mut root_fields = spec.root_fields.map(Record::new);
        let mut stage = Stage::Documents;
        let mut order_reported = false;
        while let Some(child) = self.ev.next_child()? {
            let local = child.local();
            let this_stage;
            if local == "Signature" && child.in_ns(NS_DS) {
                this_stage = Stage::Signature;
                if msg.signature.is_some() {
                    self.report_duplicate(None, "Signature");
                    self.ev.skip()?;
                } else {
                    msg.signature = Some(signature(self.ev, &child)?);
                }
            } else if !child.in_ns(self.ns()) {
                self.unknown(None, root.local(), &child)?;
                continue;
            } else if spec.group.is_some_and(|g| g == local)
                || (spec.group.is_none() && local == spec.head.element)
            {
                this_stage = Stage::Documents;
                let index = msg.documents.len();
                let doc = self.read_document(&child, index)?;
                msg.documents.push(doc);
            } else if spec.envelope && local == "BaseTransfer" {
                this_stage = Stage::Transfer;
                if msg.transfer.is_some() {
                    self.report_duplicate(None, "BaseTransfer");
                    self.ev.skip()?;
                } else {
                    msg.transfer = Some(self.read_record(&schema::REC_BASE_TRANSFER, None)?);
                }
            } else if spec.envelope && local == "BaseSubscribe" {
                this_stage = Stage::Subscribe;
                let rec = self.read_record(&schema::REC_BASE_SUBSCRIBE, None)?;
                msg.subscribe.push(rec);
            } else if spec.envelope && local == "ExtendMessage" {
                this_stage = Stage::Extend;
                if msg.extend.is_some() {
                    self.report_duplicate(None, "ExtendMessage");
                    self.ev.skip()?;
                } else {
                    msg.extend = Some(self.read_record(&schema::REC_EXTEND_MESSAGE, None)?);
                }
            } else if let Some(fields) = root_fields
                .as_mut()
                .filter(|f| f.spec().field_index(local).is_some())
            {
                let text = self.ev.leaf()?;
                fields.set_by_name(local, &text);
                continue;
            } else {
                self.unknown(None, root.local(), &child)?;
                continue;
            }
            if this_stage < stage && spec.kind == MessageKind::Request && !order_reported {
                order_reported = true;
                self.diagnostics.push(Diagnostic::new(
                    rule::ELEMENT_ORDER,
                    None,
                    format!("{}/{}", root.local(), local),
                    format!(
                        "<{}> at line {} comes after an element the XSD puts behind it",
                        local,
                        self.ev.line(child.start)
                    ),
                ));
            }
            if this_stage > stage {
                stage = this_stage;
            }
        }
        msg.root_fields = root_fields;
        Ok(msg)
    }

    /// Reads one business document: the element `node` just started (a
    /// group wrapper, the head itself, or the root when the root is the head).
    fn read_document(&mut self, node: &Elem<'_>, index: usize) -> Result<Document, CodecError> {
        let spec = self.spec;
        let is_head = spec.root_is_head || spec.group.is_none();
        if is_head {
            // The head's own children are its fields, and its lines (if any)
            // sit among them (DecImportResponse/SupResult).
            let head = self.values.draft(spec.head);
            let mut lines = Vec::new();
            let line_element = spec.line.as_ref().map(|l| l.record.element);
            let mut last = None;
            let mut order_reported = false;
            while let Some(child) = self.ev.next_child()? {
                if Some(child.local()) == line_element && child.in_ns(self.ns()) {
                    if let Some(line) = &spec.line {
                        lines.push(self.read_record(line.record, Some(index))?);
                    }
                    continue;
                }
                self.read_field(head, &child, Some(index), &mut last, &mut order_reported)?;
            }
            let head = self.values.record(head);
            return Ok(Document { head, lines });
        }
        let mut head: Option<Record> = None;
        let mut lines = Vec::new();
        let mut seen_line = false;
        let mut order_reported = false;
        while let Some(child) = self.ev.next_child()? {
            let local = child.local();
            if !child.in_ns(self.ns()) {
                self.unknown(Some(index), node.local(), &child)?;
            } else if local == spec.head.element {
                if head.is_some() {
                    self.report_duplicate(Some(index), spec.head.element);
                    self.ev.skip()?;
                    continue;
                }
                if seen_line && spec.kind == MessageKind::Request && !order_reported {
                    order_reported = true;
                    self.diagnostics.push(Diagnostic::new(
                        rule::ELEMENT_ORDER,
                        Some(index),
                        format!("{}/{}", node.local(), local),
                        format!(
                            "<{}> at line {} must come before the lines",
                            local,
                            self.ev.line(child.start)
                        ),
                    ));
                }
                head = Some(self.read_record(spec.head, Some(index))?);
            } else if let Some(line) = spec.line.as_ref().filter(|l| l.record.element == local) {
                seen_line = true;
                lines.push(self.read_record(line.record, Some(index))?);
            } else {
                self.unknown(Some(index), node.local(), &child)?;
            }
        }
        let head = match head {
            Some(head) => head,
            None => {
                self.diagnostics.push(Diagnostic::new(
                    rule::REQUIRED,
                    Some(index),
                    format!("{}/{}", node.local(), spec.head.element),
                    format!(
                        "<{}> at line {} has no <{}>",
                        node.local(),
                        self.ev.line(node.start),
                        spec.head.element
                    ),
                ));
                Record::new(spec.head)
            }
        };
        Ok(Document { head, lines })
    }

    /// Reads the record whose element just started.
    fn read_record(
        &mut self,
        spec: &'static RecordSpec,
        doc: Option<usize>,
    ) -> Result<Record, CodecError> {
        let record = self.values.draft(spec);
        let mut last = None;
        let mut order_reported = false;
        while let Some(child) = self.ev.next_child()? {
            self.read_field(record, &child, doc, &mut last, &mut order_reported)?;
        }
        Ok(self.values.record(record))
    }

    fn read_field(
        &mut self,
        record: RecordDraft,
        child: &Elem<'_>,
        doc: Option<usize>,
        last: &mut Option<usize>,
        order_reported: &mut bool,
    ) -> Result<(), CodecError> {
        let spec = record.spec();
        if !child.in_ns(self.ns()) {
            return self.unknown(doc, spec.element, child);
        }
        let local = child.local();
        // Fields come in schema order, optional ones left out: look from
        // the one after the last field read, then from the start.
        let next = last.map_or(0, |l| l.saturating_add(1));
        let found = spec
            .fields
            .iter()
            .enumerate()
            .skip(next)
            .chain(spec.fields.iter().enumerate().take(next))
            .find(|(_, f)| f.name.len() == local.len() && f.name == local);
        let Some((index, field)) = found else {
            return self.unknown(doc, spec.element, child);
        };
        if self.values.is_set(record, index) {
            self.report_duplicate(doc, &format!("{}/{}", spec.element, local));
            self.ev.skip()?;
            return Ok(());
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
                format!("{}/{}", spec.element, local),
                format!(
                    "<{}> at line {} comes after <{}>; the XSD puts it before",
                    local,
                    self.ev.line(child.start),
                    spec.fields.get(prev).map_or("", |f| f.name)
                ),
            ));
        }
        if last.is_none_or(|l| index > l) {
            *last = Some(index);
        }
        match field.kind {
            FieldKind::Xml => {
                let (inner_end, _) = self.ev.skip()?;
                let inner = self.ev.slice((child.content, inner_end));
                if !inner.trim().is_empty() {
                    self.values.set_value(record, index, Value::Text(inner));
                }
            }
            kind => {
                let text = self.ev.leaf()?;
                self.values
                    .set_value(record, index, Value::parse(kind, &text));
            }
        }
        Ok(())
    }

    /// Reports `child` as not part of `parent` and skips it.
    fn unknown(
        &mut self,
        doc: Option<usize>,
        parent: &str,
        child: &Elem<'_>,
    ) -> Result<(), CodecError> {
        self.diagnostics
            .push(unknown_element(self.ev, doc, parent, child));
        self.ev.skip()?;
        Ok(())
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

fn unknown_element(
    ev: &Events<'_>,
    doc: Option<usize>,
    parent: &str,
    child: &Elem<'_>,
) -> Diagnostic {
    let ns = if child.ns.is_empty() {
        "no namespace".to_owned()
    } else {
        format!("namespace {}", child.ns)
    };
    Diagnostic::new(
        rule::UNKNOWN_ELEMENT,
        doc,
        format!("{parent}/{}", child.local()),
        format!(
            "<{}> ({ns}) at line {} is not part of {}; it was ignored",
            child.local(),
            ev.line(child.start),
            parent
        ),
    )
}

/// `ds:Signature`, the element just started, kept byte for byte.
fn signature(ev: &mut Events<'_>, node: &Elem<'_>) -> Result<Signature, CodecError> {
    let (_, end) = ev.skip()?;
    Ok(Signature {
        xml: ev.slice((node.start, end)).to_owned(),
        prefix: node.prefix().map(str::to_owned),
        self_declared: node.declares_own_ns,
    })
}

/// The root and the business key of an unmodelled customs message: the
/// first element of [`KEY_ELEMENTS`] with text, in document order.
fn read_unsupported(
    ev: &mut Events<'_>,
    root: &Elem<'_>,
    charset: Charset,
) -> Result<Unsupported, CodecError> {
    struct Open {
        key: Option<&'static str>,
        children: bool,
        text: String,
    }
    let mut key: Option<(String, String)> = None;
    let mut open: Vec<Open> = Vec::new();
    loop {
        match ev.item()? {
            Item::Start(elem) => {
                if let Some(parent) = open.last_mut() {
                    parent.children = true;
                }
                open.push(Open {
                    key: KEY_ELEMENTS.iter().find(|k| **k == elem.local()).copied(),
                    children: false,
                    text: String::new(),
                });
            }
            Item::Text(t) => {
                if let Some(o) = open.last_mut().filter(|o| o.key.is_some() && !o.children) {
                    o.text.push_str(&eol(t));
                }
            }
            Item::Ref(t) => {
                if let Some(o) = open.last_mut().filter(|o| o.key.is_some() && !o.children) {
                    o.text.push_str(&t);
                }
            }
            Item::End { .. } => match open.pop() {
                Some(Open {
                    key: Some(name),
                    children: false,
                    text,
                }) if key.is_none() && !text.trim().is_empty() => {
                    key = Some((name.to_owned(), text.trim().to_owned()));
                }
                Some(_) => {}
                // The root's end.
                None => break,
            },
            Item::Eof => break,
        }
    }
    Ok(Unsupported {
        root: root.local().to_owned(),
        namespace: root.ns.to_string(),
        key,
        charset,
    })
}

fn read_dxp(
    ev: &mut Events<'_>,
    root: &Elem<'_>,
    spec: &'static MessageSpec,
    limits: &Limits,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Message, CodecError> {
    let mut msg = Message::new(spec);
    msg.version = root.attr("ver").map(|v| v.into_owned());
    let mut trans_info = Record::new(&schema::REC_TRANS_INFO);
    let mut receiver_ids = Vec::new();
    let mut add_info = None;
    let mut biz_keys = Vec::new();
    let mut data_text = None;
    while let Some(child) = ev.next_child()? {
        let local = child.local();
        let signature_element = local == "Signature" && child.in_ns(NS_DS);
        if !(child.in_ns(schema::NS_DXP) || signature_element) {
            diagnostics.push(unknown_element(ev, None, root.local(), &child));
            ev.skip()?;
            continue;
        }
        match local {
            "TransInfo" => {
                while let Some(field) = ev.next_child()? {
                    if field.local() == "ReceiverIds" {
                        while ev.next_child()?.is_some() {
                            receiver_ids.push(ev.leaf()?.trim().to_owned());
                        }
                    } else {
                        let text = ev.leaf()?;
                        if !trans_info.set_by_name(field.local(), &text) {
                            diagnostics.push(unknown_element(ev, None, "TransInfo", &field));
                        }
                    }
                }
            }
            "Data" => data_text = Some(ev.leaf()?.into_owned()),
            "AddInfo" => {
                let mut rec = Record::new(&schema::REC_ADD_INFO);
                while let Some(field) = ev.next_child()? {
                    if field.local() == "BizKey" {
                        while let Some(k) = ev.next_child()? {
                            let name = k.attr("name").map(|n| n.into_owned()).unwrap_or_default();
                            biz_keys.push((name, ev.leaf()?.trim().to_owned()));
                        }
                    } else if rec.spec().field_index(field.local()).is_some() {
                        let text = ev.leaf()?;
                        rec.set_by_name(field.local(), &text);
                    } else {
                        // IsText, RecMapId: transport hints the gateway does not use.
                        ev.skip()?;
                    }
                }
                add_info = Some(rec);
            }
            "Signature" => msg.signature = Some(signature(ev, &child)?),
            _ => {
                diagnostics.push(unknown_element(ev, None, root.local(), &child));
                ev.skip()?;
            }
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
                        Ok(Content::Message(decoded)) => {
                            diagnostics.extend(decoded.diagnostics);
                            envelope.inner = Some(Box::new(decoded.message));
                        }
                        // Kept as the envelope's data, reported as what it is.
                        Ok(Content::Unsupported(u)) => diagnostics.push(u.diagnostic()),
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
