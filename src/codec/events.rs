//! A bounded, namespace-resolving cursor over quick-xml events.
//!
//! The typed reader ([`super::read`]) walks a document by asking this
//! cursor for the next child of the element it is in, the text of a leaf,
//! or to skip an element; nothing is kept of an element once it is left.
//! Every event of the document passes through [`Events::item`], which
//! enforces the bounds (depth, element count), refuses DOCTYPE declarations
//! (so no entity can be declared, expanded or fetched; only the five
//! predefined entities and character references are resolved) and refuses
//! content outside the root element.
//!
//! quick-xml checks the UTF-8 of every event as it tokenizes: that is the
//! one check a UTF-8 message gets (see [`super::decode_any_with`]). Text
//! comes out borrowed from the input; names are compared in place.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::{CodecError, Limits};

/// A namespace URI: one of the known ones, or another shared by the
/// elements it is declared for (never copied per element).
#[derive(Debug, Clone)]
pub enum Ns {
    /// A known namespace (or none: "").
    Known(&'static str),
    /// Any other.
    Other(Arc<str>),
}

impl std::ops::Deref for Ns {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Ns::Known(s) => s,
            Ns::Other(s) => s,
        }
    }
}

impl fmt::Display for Ns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

/// One element's start tag, resolved.
#[derive(Debug)]
pub struct Elem<'a> {
    tag: BytesStart<'a>,
    /// Resolved namespace URI ("" when none).
    pub ns: Ns,
    /// Where the local name starts in the qualified name (after `prefix:`).
    local_at: usize,
    /// Byte offset of the start tag.
    pub start: usize,
    /// Byte offset just after the start tag.
    pub content: usize,
    /// Whether the element declares the namespace of its own prefix.
    pub declares_own_ns: bool,
}

impl Elem<'_> {
    /// The qualified name as written.
    pub fn qname(&self) -> &str {
        self.tag.name().into_inner()
    }

    /// The local name.
    pub fn local(&self) -> &str {
        let q = self.qname();
        q.get(self.local_at..).unwrap_or(q)
    }

    /// The prefix as written, if any.
    pub fn prefix(&self) -> Option<&str> {
        let q = self.qname();
        q.get(..self.local_at.checked_sub(1)?)
    }

    /// Whether the element is in namespace `uri` (a known namespace is one
    /// static string, so the comparison is usually of two pointers).
    pub fn in_ns(&self, uri: &str) -> bool {
        let ns: &str = &self.ns;
        std::ptr::eq(ns, uri) || ns == uri
    }

    /// The value of attribute `name` (compared on the local part), with the
    /// XML 1.0 attribute-value normalisation.
    pub fn attr(&self, name: &str) -> Option<Cow<'_, str>> {
        if self.tag.attributes_raw().trim().is_empty() {
            return None;
        }
        self.tag
            .attributes()
            .with_checks(false)
            .flatten()
            .find(|a| {
                let key: &str = a.key.into_inner();
                // Namespace declarations are not attributes.
                key != "xmlns" && !key.starts_with("xmlns:") && key.rsplit(':').next() == Some(name)
            })
            .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Explicit1_0).ok())
    }
}

/// What the cursor reads next.
#[derive(Debug)]
pub enum Item<'a> {
    /// An element starts (an empty element is a start and then an end).
    Start(Elem<'a>),
    /// Character data or CDATA inside an element, as written (see [`eol`]
    /// for the text a reader keeps).
    Text(Cow<'a, str>),
    /// A resolved character or entity reference: kept as it is (`&#13;` is
    /// a carriage return, never normalised to a line feed).
    Ref(Cow<'a, str>),
    /// The current element ends.
    End {
        /// Byte offset of its end tag (the end of its content).
        inner_end: usize,
        /// Byte offset just after its end tag.
        outer_end: usize,
    },
    /// The document ended after its root element.
    Eof,
}

#[derive(Debug)]
struct Binding<'a> {
    prefix: Option<&'a str>,
    uri: Ns,
    depth: usize,
}

/// The cursor.
pub struct Events<'a> {
    bytes: &'a [u8],
    reader: Reader<&'a [u8]>,
    limits: Limits,
    /// Open elements (an empty element is not counted).
    depth: usize,
    elements: usize,
    bindings: Vec<Binding<'a>>,
    /// Byte range of each open element's name, for the end-of-file message.
    open: Vec<(usize, usize)>,
    /// The end of an empty element, reported by the next call.
    pending_end: Option<usize>,
    /// The last line asked for, as (offset, line): findings come in
    /// document order, so counting goes on from there.
    line_at: Cell<(usize, usize)>,
    root_closed: bool,
}

impl<'a> Events<'a> {
    /// A cursor over `bytes` (UTF-8).
    pub fn new(bytes: &'a [u8], limits: &Limits) -> Events<'a> {
        let reader_bytes = bytes;
        // quick-xml drops a byte-order mark at the start of what it reads
        // and counts its positions from after it: so do offsets here.
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut reader = Reader::from_reader(reader_bytes);
        reader.config_mut().check_end_names = true;
        Events {
            bytes,
            reader,
            limits: *limits,
            depth: 0,
            elements: 0,
            bindings: Vec::with_capacity(4),
            open: Vec::with_capacity(16),
            pending_end: None,
            line_at: Cell::new((0, 1)),
            root_closed: false,
        }
    }

    /// The source text of a byte range (empty if it is not text).
    pub fn slice(&self, range: (usize, usize)) -> &'a str {
        self.bytes
            .get(range.0..range.1)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// The 1-based line of a byte offset.
    pub fn line(&self, at: usize) -> usize {
        let (from, line) = self.line_at.get();
        let (from, line) = if at >= from { (from, line) } else { (0, 1) };
        let more = self
            .bytes
            .get(from..at)
            .unwrap_or_default()
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        let line = line.saturating_add(more);
        if at <= self.bytes.len() {
            self.line_at.set((at, line));
        }
        line
    }

    /// The root element (everything before it must be a prolog).
    pub fn root(&mut self) -> Result<Elem<'a>, CodecError> {
        match self.item()? {
            Item::Start(elem) => Ok(elem),
            _ => Err(CodecError::Malformed {
                line: self.line(self.bytes.len()),
                reason: "no root element".to_owned(),
            }),
        }
    }

    /// The next child element of the current element, or `None` once the
    /// current element has ended (its end tag is consumed). Text between
    /// children is read and dropped.
    pub fn next_child(&mut self) -> Result<Option<Elem<'a>>, CodecError> {
        loop {
            match self.item()? {
                Item::Start(elem) => return Ok(Some(elem)),
                Item::Text(_) | Item::Ref(_) => {}
                Item::End { .. } | Item::Eof => return Ok(None),
            }
        }
    }

    /// Reads the rest of the element just started as a leaf: its text
    /// (empty when it has child elements, which are read and dropped).
    pub fn leaf(&mut self) -> Result<Cow<'a, str>, CodecError> {
        let mut text: Cow<'a, str> = Cow::Borrowed("");
        let mut children = false;
        loop {
            match self.item()? {
                Item::Start(_) => {
                    children = true;
                    text = Cow::Borrowed("");
                    self.skip()?;
                }
                Item::Text(t) if !children => append(&mut text, eol(t)),
                Item::Ref(t) if !children => append(&mut text, t),
                Item::Text(_) | Item::Ref(_) => {}
                Item::End { .. } | Item::Eof => return Ok(text),
            }
        }
    }

    /// Reads the rest of the element just started; returns the offset of
    /// its end tag (the end of its content) and the offset just after it.
    pub fn skip(&mut self) -> Result<(usize, usize), CodecError> {
        let mut depth = 0usize;
        loop {
            match self.item()? {
                Item::Start(_) => depth = depth.saturating_add(1),
                Item::Text(_) | Item::Ref(_) => {}
                Item::End {
                    inner_end,
                    outer_end,
                } if depth == 0 => return Ok((inner_end, outer_end)),
                Item::End { .. } => depth = depth.saturating_sub(1),
                Item::Eof => return Ok((self.bytes.len(), self.bytes.len())),
            }
        }
    }

    /// Reads what follows the root element to the end of the document.
    pub fn finish(&mut self) -> Result<(), CodecError> {
        loop {
            match self.item()? {
                Item::Eof => return Ok(()),
                Item::Start(_) => {
                    self.skip()?;
                }
                Item::Text(_) | Item::Ref(_) | Item::End { .. } => {}
            }
        }
    }

    fn pos(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    fn malformed(&self, at: usize, reason: impl Into<String>) -> CodecError {
        CodecError::Malformed {
            line: self.line(at),
            reason: reason.into(),
        }
    }

    /// The next item of the document, every bound enforced.
    #[inline(always)]
    pub fn item(&mut self) -> Result<Item<'a>, CodecError> {
        if let Some(end) = self.pending_end.take() {
            return Ok(Item::End {
                inner_end: end,
                outer_end: end,
            });
        }
        loop {
            let before = self.pos();
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(e) => return Err(self.malformed(self.pos(), e.to_string())),
            };
            match event {
                Event::Start(_) | Event::Empty(_) if self.root_closed => {
                    return Err(self.malformed(before, "content after the root element"));
                }
                Event::Start(tag) => return self.start(tag, before, false).map(Item::Start),
                Event::Empty(tag) => return self.start(tag, before, true).map(Item::Start),
                Event::End(_) => {
                    let after = self.pos();
                    if self.open.pop().is_none() {
                        return Err(self.malformed(before, "end tag without a start tag"));
                    }
                    let depth = self.depth;
                    self.unbind(depth);
                    self.depth = depth.saturating_sub(1);
                    if self.depth == 0 {
                        self.root_closed = true;
                    }
                    return Ok(Item::End {
                        inner_end: before,
                        outer_end: after,
                    });
                }
                Event::Text(text) => {
                    let content = text.into_inner();
                    if self.depth > 0 {
                        return Ok(Item::Text(content));
                    }
                    if !content.trim().is_empty() {
                        return Err(self.malformed(before, "text outside the root element"));
                    }
                }
                Event::CData(cdata) => {
                    if self.depth == 0 {
                        return Err(self.malformed(before, "CDATA outside the root element"));
                    }
                    return Ok(Item::Text(cdata.into_inner()));
                }
                Event::GeneralRef(reference) => {
                    let resolved: Cow<'a, str> = match reference.resolve_char_ref() {
                        Ok(Some(c)) => Cow::Owned(c.to_string()),
                        Ok(None) => Cow::Borrowed(match &*reference {
                            "lt" => "<",
                            "gt" => ">",
                            "amp" => "&",
                            "apos" => "'",
                            "quot" => "\"",
                            other => {
                                return Err(self.malformed(
                                    before,
                                    format!(
                                        "undefined entity `&{other};` (entities cannot be declared)"
                                    ),
                                ));
                            }
                        }),
                        Err(e) => return Err(self.malformed(before, e.to_string())),
                    };
                    if self.depth == 0 {
                        return Err(self.malformed(before, "reference outside the root element"));
                    }
                    return Ok(Item::Ref(resolved));
                }
                Event::DocType(_) => {
                    return Err(CodecError::Doctype {
                        line: self.line(before),
                    });
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => {
                    if let Some(&(from, to)) = self.open.last() {
                        return Err(CodecError::Malformed {
                            line: self.line(self.bytes.len()),
                            reason: format!(
                                "unexpected end of file inside <{}>",
                                local_of(self.slice((from, to)))
                            ),
                        });
                    }
                    if self.elements == 0 {
                        return Err(CodecError::Malformed {
                            line: self.line(self.bytes.len()),
                            reason: "no root element".to_owned(),
                        });
                    }
                    return Ok(Item::Eof);
                }
            }
        }
    }

    fn start(
        &mut self,
        tag: BytesStart<'a>,
        before: usize,
        empty: bool,
    ) -> Result<Elem<'a>, CodecError> {
        if self.depth >= self.limits.max_depth {
            return Err(CodecError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        if self.elements >= self.limits.max_elements {
            return Err(CodecError::TooManyElements {
                limit: self.limits.max_elements,
            });
        }
        self.elements = self.elements.saturating_add(1);
        let depth = self.depth.saturating_add(1);
        let qname: &str = tag.name().into_inner();
        let colon = qname.bytes().position(|b| b == b':');
        let prefix = colon.and_then(|c| qname.get(..c));
        let local_at = colon.map_or(0, |c| c.saturating_add(1));
        let mut declares_own_ns = false;
        if !tag.attributes_raw().trim().is_empty() {
            // Duplicate names are looked for here rather than by quick-xml,
            // whose check keeps a vector of names per tag.
            let mut names = Names::default();
            for attr in tag.attributes().with_checks(false) {
                let attr = attr.map_err(|e| self.malformed(before, e.to_string()))?;
                if !names.insert(attr.key.into_inner()) {
                    // Let quick-xml describe it, positions and all.
                    let reason = tag
                        .attributes()
                        .find_map(Result::err)
                        .map_or_else(|| "duplicated attribute".to_owned(), |e| e.to_string());
                    return Err(self.malformed(before, reason));
                }
                let value = attr
                    .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                    .map_err(|e| self.malformed(before, e.to_string()))?;
                let key: &str = attr.key.into_inner();
                let declared = if key == "xmlns" {
                    Some(None)
                } else {
                    key.strip_prefix("xmlns:").map(Some)
                };
                if let Some(declared) = declared {
                    declares_own_ns |= declared == prefix;
                    let pinned = declared.map(|p| self.pin(p));
                    self.bindings.push(Binding {
                        prefix: pinned,
                        uri: intern(value),
                        depth,
                    });
                }
            }
        }
        let ns = match self
            .bindings
            .iter()
            .rev()
            .find(|b| same_prefix(b.prefix, prefix))
            .map(|b| b.uri.clone())
        {
            Some(uri) => uri,
            None if prefix.is_none() => Ns::Known(""),
            None => {
                return Err(self.malformed(
                    before,
                    format!("undeclared namespace prefix `{}`", prefix.unwrap_or("")),
                ));
            }
        };
        let after = self.pos();
        let name_at = before.saturating_add(1);
        self.open
            .push((name_at, name_at.saturating_add(qname.len())));
        self.depth = depth;
        if empty {
            // An empty element is a start and an end: the end comes next.
            self.pending_end = Some(after);
            self.open.pop();
            self.unbind(depth);
            self.depth = depth.saturating_sub(1);
            if self.depth == 0 {
                self.root_closed = true;
            }
        }
        Ok(Elem {
            tag,
            ns,
            local_at,
            start: before,
            content: after,
            declares_own_ns,
        })
    }

    /// Drops the namespace bindings of an element at `depth` that ends
    /// (bindings are pushed in document order, so they are a stack).
    fn unbind(&mut self, depth: usize) {
        while self.bindings.last().is_some_and(|b| b.depth >= depth) {
            self.bindings.pop();
        }
    }

    /// The same text as `s` (a slice of a tag of this document), with the
    /// document's lifetime.
    fn pin(&self, s: &str) -> &'a str {
        let offset = (s.as_ptr() as usize).wrapping_sub(self.bytes.as_ptr() as usize);
        let pinned = self.slice((offset, offset.wrapping_add(s.len())));
        if pinned == s { pinned } else { "" }
    }
}

/// The attribute names of one tag seen so far: the first 16 on the stack,
/// more in a set (a tag of a million attributes is not a quadratic walk).
#[derive(Default)]
struct Names<'t> {
    first: [&'t str; 16],
    len: usize,
    more: std::collections::HashSet<&'t str>,
}

impl<'t> Names<'t> {
    /// Adds `name`; false if it was there already.
    fn insert(&mut self, name: &'t str) -> bool {
        let seen = self.first.get(..self.len).unwrap_or_default();
        if seen.contains(&name) || self.more.contains(name) {
            return false;
        }
        match self.first.get_mut(self.len) {
            Some(slot) => {
                *slot = name;
                self.len = self.len.saturating_add(1);
            }
            None => {
                self.more.insert(name);
            }
        }
        true
    }
}

/// Appends a chunk of a leaf's text (borrowed when it is the only one).
fn append<'a>(text: &mut Cow<'a, str>, chunk: Cow<'a, str>) {
    if text.is_empty() {
        *text = chunk;
    } else {
        text.to_mut().push_str(&chunk);
    }
}

/// Prefix equality, inlined: prefixes are a few bytes, shorter than the
/// call to `memcmp` the general comparison makes.
fn same_prefix(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y),
        _ => false,
    }
}

/// XML 1.0 end-of-line handling: `\r\n` and a lone `\r` read as `\n`.
pub fn eol(text: Cow<'_, str>) -> Cow<'_, str> {
    if !text.bytes().any(|b| b == b'\r') {
        return text;
    }
    Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
}

/// Known namespace URIs are static: resolving an element's namespace never
/// allocates for them.
fn intern(value: Cow<'_, str>) -> Ns {
    const KNOWN: [&str; 7] = [
        crate::schema::NS_CEB,
        crate::schema::NS_MAIL,
        crate::schema::NS_DS,
        crate::schema::NS_DXP,
        crate::schema::NS_DEC,
        "http://www.w3.org/2001/XMLSchema-instance",
        "",
    ];
    match KNOWN.iter().find(|k| **k == value) {
        Some(k) => Ns::Known(k),
        None => Ns::Other(Arc::from(value.as_ref())),
    }
}

fn local_of(qname: &str) -> &str {
    qname.split_once(':').map_or(qname, |(_, l)| l)
}
