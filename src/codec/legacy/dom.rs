//! A small, bounded, namespace-resolving element tree over quick-xml events.
//!
//! Customs messages are small and shallow, so the reader first builds this
//! arena tree (borrowing text from the source wherever possible) and the typed
//! reader then walks it. DOCTYPE declarations are refused outright, so no
//! entity can be declared, expanded or fetched; only the five predefined
//! entities and character references are resolved.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use crate::codec::{CodecError, Limits};

/// Index of a node in [`Dom::nodes`].
pub type NodeId = usize;

/// One element.
#[derive(Debug)]
pub struct Node<'a> {
    /// Resolved namespace URI ("" when none).
    pub ns: Cow<'a, str>,
    /// Prefix as written, if any.
    pub prefix: Option<&'a str>,
    /// Local name.
    pub local: &'a str,
    /// Attributes other than namespace declarations: (qualified name, value).
    pub attrs: Vec<(&'a str, Cow<'a, str>)>,
    /// Whether the element declares the namespace of its own prefix.
    pub declares_own_ns: bool,
    /// Character data directly inside a leaf element (empty for containers).
    pub text: Cow<'a, str>,
    /// Children, in document order.
    pub children: Vec<NodeId>,
    /// Byte range of the whole element in the source text.
    pub span: (usize, usize),
    /// Byte range of the element's content (between its tags).
    pub inner: (usize, usize),
}

impl<'a> Node<'a> {
    /// The value of attribute `name` (compared on the local part).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.rsplit(':').next() == Some(name))
            .map(|(_, v)| v.as_ref())
    }
}

/// The parsed tree; the root element is node 0.
#[derive(Debug)]
pub struct Dom<'a> {
    /// The source text.
    pub src: &'a str,
    /// All elements; node 0 is the root.
    pub nodes: Vec<Node<'a>>,
}

/// What [`Dom::root`] and [`Dom::node`] return for an id the tree does not
/// have. [`parse`] never builds an empty tree and ids only come from the
/// tree's own `children`, so this is never reached; it keeps the walk total.
static NO_NODE: Node<'static> = Node {
    ns: Cow::Borrowed(""),
    prefix: None,
    local: "",
    attrs: Vec::new(),
    declares_own_ns: false,
    text: Cow::Borrowed(""),
    children: Vec::new(),
    span: (0, 0),
    inner: (0, 0),
};

impl<'a> Dom<'a> {
    /// The root element.
    pub fn root(&self) -> &Node<'a> {
        self.nodes.first().unwrap_or(&NO_NODE)
    }

    /// A node by id.
    pub fn node(&self, id: NodeId) -> &Node<'a> {
        self.nodes.get(id).unwrap_or(&NO_NODE)
    }

    /// The 1-based line where a node starts (computed on demand: only
    /// diagnostics need it).
    pub fn line(&self, node: &Node<'_>) -> usize {
        line_of(self.src, node.span.0)
    }

    /// The source text of a byte range.
    pub fn slice(&self, range: (usize, usize)) -> &'a str {
        self.src.get(range.0..range.1).unwrap_or("")
    }
}

struct Binding<'a> {
    prefix: Option<&'a str>,
    uri: Cow<'a, str>,
    depth: usize,
}

/// Parses `src` into a tree, enforcing `limits`.
pub fn parse<'a>(src: &'a str, limits: &Limits) -> Result<Dom<'a>, CodecError> {
    let mut reader = Reader::from_str(src);
    reader.config_mut().check_end_names = true;
    // Customs messages run at about one element per 40 bytes.
    let mut nodes: Vec<Node<'a>> = Vec::with_capacity((src.len() / 40).saturating_add(8));
    let mut stack: Vec<NodeId> = Vec::with_capacity(16);
    let mut bindings: Vec<Binding<'a>> = Vec::with_capacity(8);
    let mut root_closed = false;

    loop {
        let before = pos(&reader);
        let event = reader.read_event().map_err(|e| CodecError::Malformed {
            line: line_of(src, pos(&reader)),
            reason: e.to_string(),
        })?;
        match event {
            Event::Start(_) | Event::Empty(_) if root_closed => {
                return Err(malformed(src, before, "content after the root element"));
            }
            Event::Start(ref start) | Event::Empty(ref start) => {
                let is_empty = matches!(event, Event::Empty(_));
                if stack.len() >= limits.max_depth {
                    return Err(CodecError::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                if nodes.len() >= limits.max_elements {
                    return Err(CodecError::TooManyElements {
                        limit: limits.max_elements,
                    });
                }
                let depth = stack.len().saturating_add(1);
                let qname: &'a str = slice_name(src, before, start.name().into_inner());
                let (prefix, local) = match qname.split_once(':') {
                    Some((p, l)) => (Some(p), l),
                    None => (None, qname),
                };
                let mut attrs = Vec::new();
                let mut declares_own_ns = false;
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| malformed(src, before, &e.to_string()))?;
                    let key: &'a str = slice_name(src, before, attr.key.into_inner());
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                        .map_err(|e| malformed(src, before, &e.to_string()))?;
                    let value: Cow<'a, str> = intern(value);
                    if key == "xmlns" {
                        declares_own_ns |= prefix.is_none();
                        bindings.push(Binding {
                            prefix: None,
                            uri: value,
                            depth,
                        });
                    } else if let Some(p) = key.strip_prefix("xmlns:") {
                        declares_own_ns |= prefix == Some(p);
                        bindings.push(Binding {
                            prefix: Some(p),
                            uri: value,
                            depth,
                        });
                    } else {
                        attrs.push((key, value));
                    }
                }
                let ns = match resolve(&bindings, prefix) {
                    Some(uri) => uri,
                    None if prefix.is_none() => Cow::Borrowed(""),
                    None => {
                        return Err(malformed(
                            src,
                            before,
                            &format!("undeclared namespace prefix `{}`", prefix.unwrap_or("")),
                        ));
                    }
                };
                let after = pos(&reader);
                let id = nodes.len();
                nodes.push(Node {
                    ns,
                    prefix,
                    local,
                    attrs,
                    declares_own_ns,
                    text: Cow::Borrowed(""),
                    children: Vec::new(),
                    span: (before, after),
                    inner: (after, after),
                });
                if let Some(&parent) = stack.last() {
                    if let Some(p) = nodes.get_mut(parent) {
                        p.children.push(id);
                        p.text = Cow::Borrowed("");
                    }
                } else if id != 0 {
                    return Err(malformed(src, before, "content after the root element"));
                }
                if is_empty {
                    bindings.retain(|b| b.depth < depth);
                    if stack.is_empty() {
                        root_closed = true;
                    }
                } else {
                    stack.push(id);
                }
            }
            Event::End(_) => {
                let after = pos(&reader);
                let Some(id) = stack.pop() else {
                    return Err(malformed(src, before, "end tag without a start tag"));
                };
                if let Some(node) = nodes.get_mut(id) {
                    node.inner.1 = before;
                    node.span.1 = after;
                }
                bindings.retain(|b| b.depth <= stack.len());
                if stack.is_empty() {
                    root_closed = true;
                }
            }
            Event::Text(text) => {
                let content = text.xml10_content();
                match stack.last() {
                    Some(&id) => push_text(nodes.get_mut(id), content),
                    None if content.trim().is_empty() => {}
                    None => return Err(malformed(src, before, "text outside the root element")),
                }
            }
            Event::CData(cdata) => {
                let content = cdata.xml10_content();
                match stack.last() {
                    Some(&id) => push_text(nodes.get_mut(id), content),
                    None => return Err(malformed(src, before, "CDATA outside the root element")),
                }
            }
            Event::GeneralRef(reference) => {
                let resolved: String = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match reference.xml10_content().as_ref() {
                        "lt" => "<".to_owned(),
                        "gt" => ">".to_owned(),
                        "amp" => "&".to_owned(),
                        "apos" => "'".to_owned(),
                        "quot" => "\"".to_owned(),
                        other => {
                            return Err(malformed(
                                src,
                                before,
                                &format!(
                                    "undefined entity `&{other};` (entities cannot be declared)"
                                ),
                            ));
                        }
                    },
                    Err(e) => return Err(malformed(src, before, &e.to_string())),
                };
                match stack.last() {
                    Some(&id) => push_text(nodes.get_mut(id), Cow::Owned(resolved)),
                    None => {
                        return Err(malformed(src, before, "reference outside the root element"));
                    }
                }
            }
            Event::DocType(_) => {
                return Err(CodecError::Doctype {
                    line: line_of(src, before),
                });
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if nodes.is_empty() {
        return Err(CodecError::Malformed {
            line: line_of(src, src.len()),
            reason: "no root element".to_owned(),
        });
    }
    if let Some(&open) = stack.last() {
        return Err(CodecError::Malformed {
            line: line_of(src, src.len()),
            reason: format!(
                "unexpected end of file inside <{}>",
                nodes.get(open).map_or("", |n| n.local)
            ),
        });
    }
    Ok(Dom { src, nodes })
}

fn pos(reader: &Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

/// Re-borrows a name from the source so it lives as long as the source.
///
/// A reader over `&str` hands out names that point into the source; the
/// pointer offset recovers the source-lifetime slice. Should a name ever be
/// owned, it is looked up in the tag's region instead.
fn slice_name<'a>(src: &'a str, from: usize, name: &str) -> &'a str {
    let offset = (name.as_ptr() as usize).wrapping_sub(src.as_ptr() as usize);
    if let Some(s) = src.get(offset..offset.wrapping_add(name.len()))
        && s == name
    {
        return s;
    }
    let region = src.get(from..).unwrap_or("");
    region
        .find(name)
        .and_then(|i| region.get(i..i.saturating_add(name.len())))
        .unwrap_or("")
}

/// Known namespace URIs become static borrows, so resolving an element's
/// namespace (once per element) never allocates.
fn intern<'a>(value: Cow<'_, str>) -> Cow<'a, str> {
    const KNOWN: [&str; 6] = [
        crate::schema::NS_CEB,
        crate::schema::NS_DS,
        crate::schema::NS_DXP,
        crate::schema::NS_DEC,
        "http://www.w3.org/2001/XMLSchema-instance",
        "",
    ];
    match KNOWN.iter().find(|k| **k == value) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(value.into_owned()),
    }
}

fn resolve<'a>(bindings: &[Binding<'a>], prefix: Option<&str>) -> Option<Cow<'a, str>> {
    bindings
        .iter()
        .rev()
        .find(|b| b.prefix == prefix)
        .map(|b| b.uri.clone())
}

fn push_text<'a>(node: Option<&mut Node<'a>>, content: Cow<'a, str>) {
    let Some(node) = node else { return };
    if !node.children.is_empty() {
        // Mixed content in a container: only whitespace is expected; ignore it.
        return;
    }
    if node.text.is_empty() {
        node.text = content;
    } else {
        node.text.to_mut().push_str(&content);
    }
}

fn malformed(src: &str, at: usize, reason: &str) -> CodecError {
    CodecError::Malformed {
        line: line_of(src, at),
        reason: reason.to_owned(),
    }
}

/// 1-based line number of byte offset `at`.
pub fn line_of(src: &str, at: usize) -> usize {
    src.as_bytes()
        .iter()
        .take(at)
        .filter(|&&b| b == b'\n')
        .count()
        .saturating_add(1)
}
