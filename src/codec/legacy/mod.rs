//! The reader before the event-driven one: an element tree first, then the
//! typed walk over it. Kept only to prove the two agree
//! (`tests/it/agreement.rs`) until it is removed.

#![allow(missing_docs)]

mod dom;
mod read;

use super::{Charset, CodecError, Content, Decoded, Limits, Unsupported, charset, unsupported};
use crate::schema::MessageSpec;

/// Reads any customs message as the tree reader did.
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
    let text = charset::decode_text(bytes)?;
    let dom = dom::parse(&text.text, limits)?;
    let mut diagnostics = Vec::new();
    let root = dom.root();
    if !limits.allow_envelope && root.local == "DxpMsg" {
        return Err(CodecError::UnknownRoot {
            root: "DxpMsg".to_owned(),
            namespace: "a DXP envelope inside a DXP envelope".to_owned(),
        });
    }
    if MessageSpec::for_root_any_namespace(root.local).is_none()
        && unsupported::is_customs_root(&root.ns, root.local)
    {
        return Ok(Content::Unsupported(read_unsupported(&dom, text.charset)));
    }
    let message = read::read_message(&dom, limits, &mut diagnostics)?;
    Ok(Content::Message(Decoded {
        message,
        diagnostics,
        charset: text.charset,
    }))
}

fn read_unsupported(dom: &dom::Dom<'_>, charset: Charset) -> Unsupported {
    let root = dom.root();
    let key = dom
        .nodes
        .iter()
        .skip(1)
        .filter(|n| super::KEY_ELEMENTS.contains(&n.local))
        .map(|n| (n.local, n.text.trim()))
        .find(|(_, text)| !text.is_empty())
        .map(|(name, text)| (name.to_owned(), text.to_owned()));
    Unsupported {
        root: root.local.to_owned(),
        namespace: root.ns.to_string(),
        key,
        charset,
    }
}
