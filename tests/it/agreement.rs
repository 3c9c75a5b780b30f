//! The event-driven reader and the tree reader it replaces agree: the same
//! message, the same reader findings, the same charset, or the same error,
//! on every sample, on messages generated from them (re-encoded, other
//! charsets and prefixes, CRLF, comments, CDATA, references, unknown
//! elements, reordered fields, DXP envelopes), on damaged ones, under tight
//! bounds, and on arbitrary bytes. Kept until the tree reader is removed.

use customs_gateway::codec::{self, Charset, Content, EncodeOptions, Limits};
use proptest::prelude::*;

use crate::util;

fn agree(name: &str, bytes: &[u8], limits: &Limits) {
    let new = codec::decode_any_with(bytes, limits);
    let old = codec::legacy::decode_any_with(bytes, limits);
    match (new, old) {
        (Ok(Content::Message(a)), Ok(Content::Message(b))) => {
            assert_eq!(a.charset, b.charset, "{name}: charset");
            assert_eq!(a.diagnostics, b.diagnostics, "{name}: reader findings");
            assert!(
                a.message == b.message,
                "{name}: messages differ:\nnew {:#?}\nold {:#?}",
                a.message,
                b.message
            );
        }
        (Ok(Content::Unsupported(a)), Ok(Content::Unsupported(b))) => {
            assert_eq!(a, b, "{name}: unsupported message");
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "{name}: errors"),
        (a, b) => panic!(
            "{name}: the readers disagree:\nnew {:?}\nold {:?}",
            a.map(|c| matches!(c, Content::Message(_))),
            b.map(|c| matches!(c, Content::Message(_)))
        ),
    }
}

fn samples() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in [
        util::reference().join("samples"),
        util::root().join("samples"),
    ] {
        for path in util::xml_files(&dir) {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path.display().to_string(), bytes));
        }
    }
    assert!(out.len() > 40, "only {} samples found", out.len());
    out
}

/// Variants of one document a sender might produce.
fn variants(bytes: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let text = String::from_utf8_lossy(bytes).into_owned();
    out.push(("crlf", text.replace('\n', "\r\n").into_bytes()));
    out.push(("bom", [&[0xEF, 0xBB, 0xBF][..], bytes].concat()));
    out.push((
        "comments and PIs",
        text.replacen('>', "><!-- a comment --><?pi data?>", 3)
            .into_bytes(),
    ));
    out.push((
        "default namespace",
        text.replace("<ceb:", "<")
            .replace("</ceb:", "</")
            .replace("xmlns:ceb=", "xmlns=")
            .into_bytes(),
    ));
    out.push((
        "another prefix",
        text.replace("<ceb:", "<c:")
            .replace("</ceb:", "</c:")
            .replace("xmlns:ceb=", "xmlns:c=")
            .into_bytes(),
    ));
    // References and CDATA in the first text of each field that has some.
    out.push((
        "references",
        text.replacen(
            "</ceb:note>",
            "&amp;&#x4E2D;&#25991;&lt;&gt;&quot;&apos;</ceb:note>",
            2,
        )
        .replacen("<ceb:buyerName>", "<ceb:buyerName><![CDATA[C&D]]>", 1)
        .into_bytes(),
    ));
    out.push((
        "unknown elements",
        text.replacen(
            "<ceb:currency>",
            "<ceb:extra a=\"1\"><x/>t</ceb:extra><other xmlns=\"urn:x\">y</other><ceb:currency>",
            2,
        )
        .into_bytes(),
    ));
    out.push((
        "a field with children",
        text.replacen(
            "<ceb:currency>",
            "<ceb:currency><ceb:inner>1</ceb:inner>",
            1,
        )
        .into_bytes(),
    ));
    out.push((
        "duplicated field",
        text.replacen(
            "<ceb:appType>",
            "<ceb:appType>1</ceb:appType><ceb:appType>",
            1,
        )
        .into_bytes(),
    ));
    out.push((
        "attributes",
        text.replacen(" version=", " a=\"1\" b='2' c=\"&amp;&#x41;\" version=", 1)
            .into_bytes(),
    ));
    out.push((
        "a duplicated attribute",
        text.replacen(" version=", " a=\"1\" b=\"2\" a=\"3\" version=", 1)
            .into_bytes(),
    ));
    let many = (0..40)
        .map(|i| format!("a{i}=\"{i}\""))
        .collect::<Vec<_>>()
        .join(" ");
    out.push((
        "many attributes",
        text.replacen(" version=", &format!(" {many} version="), 1)
            .into_bytes(),
    ));
    out.push((
        "many attributes, one twice",
        text.replacen(" version=", &format!(" {many} a33=\"x\" version="), 1)
            .into_bytes(),
    ));
    out.push((
        "empty elements",
        text.replace("></ceb:note>", "/>")
            .replace("<ceb:note>", "<ceb:note/><ceb:x>")
            .into_bytes(),
    ));
    if let Ok(decoded) = codec::decode(bytes) {
        for charset in [Charset::Utf8, Charset::Gbk, Charset::Gb18030] {
            if let Ok(encoded) = codec::encode(&decoded.message, &EncodeOptions { charset }) {
                out.push(("re-encoded", encoded));
            }
        }
    }
    out
}

/// Damaged copies: cut short, and with bytes replaced, from a seeded RNG.
fn damaged(bytes: &[u8], seed: u64) -> Vec<Vec<u8>> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = Vec::new();
    for _ in 0..12 {
        let mut b = bytes.to_vec();
        b.truncate(rng.usize(1..=bytes.len().max(1)));
        out.push(b);
    }
    for _ in 0..12 {
        let mut b = bytes.to_vec();
        for _ in 0..rng.usize(1..4) {
            let at = rng.usize(..b.len().max(1));
            if let Some(x) = b.get_mut(at) {
                *x = *rng.choice(b"<>&;/\"'=:x \xff\xe4\n").unwrap_or(&b'x');
            }
        }
        out.push(b);
    }
    out
}

#[test]
fn the_readers_agree_on_every_sample_and_generated_message() {
    let tight = Limits {
        max_depth: 4,
        max_elements: 40,
        ..Limits::default()
    };
    let mut checked = 0;
    for (n, (name, bytes)) in samples().into_iter().enumerate() {
        agree(&name, &bytes, &Limits::default());
        agree(&format!("{name} (tight bounds)"), &bytes, &tight);
        for (what, v) in variants(&bytes) {
            agree(&format!("{name} ({what})"), &v, &Limits::default());
            checked += 1;
        }
        for (i, d) in damaged(&bytes, n as u64).iter().enumerate() {
            agree(&format!("{name} (damaged #{i})"), d, &Limits::default());
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_readers_agree_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        agree("arbitrary", &bytes, &Limits::default());
    }

    #[test]
    fn the_readers_agree_on_markup_soup(parts in proptest::collection::vec(
        prop_oneof![
            Just("<ceb:CEB311Message xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\" guid=\"g\" version=\"1.0\">"),
            Just("</ceb:CEB311Message>"), Just("<ceb:Order>"), Just("</ceb:Order>"),
            Just("<ceb:OrderHead>"), Just("</ceb:OrderHead>"), Just("<ceb:OrderList>"),
            Just("</ceb:OrderList>"), Just("<ceb:orderNo>"), Just("</ceb:orderNo>"),
            Just("<ceb:gnum>"), Just("</ceb:gnum>"), Just("1"), Just("x"), Just("&amp;"),
            Just("&bogus;"), Just("<x/>"), Just("<!DOCTYPE x>"), Just("<![CDATA[z]]>"),
            Just(" "), Just("<p:q>"), Just("</p:q>"), Just("<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"),
            Just("</ds:Signature>"), Just("<Package>"), Just("</Package>"), Just("<copNo>"), Just("</copNo>"),
        ],
        0..40,
    )) {
        let bytes = parts.concat().into_bytes();
        agree("soup", &bytes, &Limits::default());
    }
}
