//! Reading and verifying a CEB message's enveloped `ds:Signature`.
//!
//! The reference is the whole document (`URI=""`) with the
//! enveloped-signature transform: the digest covers the canonical document
//! without its `ds:Signature`, the signature the canonical `SignedInfo` in
//! its context (the namespaces in scope at it). Verification is strict
//! first (XML-DSig as written), then whitespace-lenient: the few
//! re-indentations that signers and forwarders are known to apply after
//! signing, each named when it is the one that matched.

use base64::Engine as _;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use sha1::Digest as _;

use super::cert::{Certificate, PublicKey};
use super::{SigError, canonicalize};

/// The XML-DSig namespace.
pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Canonical XML 1.0 without comments: the method CEB signatures name.
pub const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// Canonical XML 1.0 with comments.
pub const C14N_COMMENTS: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// The enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// RSA PKCS#1 v1.5 with SHA-1.
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
/// RSA PKCS#1 v1.5 with SHA-256.
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// SM2 with SM3, as the 2022 specification names it.
pub const SM2_SM3: &str = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3";
/// SM2 with SM3, as a widely used e-port signer names it.
pub const SM2_SM3_W3: &str = "http://www.w3.org/2000/09/xmldsig#sm2-sm3";
/// SHA-1.
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
/// SM3, as the 2022 specification names it.
pub const SM3: &str = "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3";
/// SHA-256.
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// Element paths diagnostics name.
pub const PATH_SIGNATURE: &str = "ds:Signature";
/// The digest's element.
pub const PATH_DIGEST: &str = "ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue";
/// The signature value's element.
pub const PATH_VALUE: &str = "ds:Signature/ds:SignatureValue";

/// A digest algorithm a `DigestMethod` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlg {
    /// SHA-1.
    Sha1,
    /// SM3.
    Sm3,
    /// SHA-256.
    Sha256,
}

impl DigestAlg {
    fn of(uri: &str) -> Option<DigestAlg> {
        match uri.trim() {
            SHA1 => Some(DigestAlg::Sha1),
            SM3 => Some(DigestAlg::Sm3),
            SHA256 => Some(DigestAlg::Sha256),
            _ => None,
        }
    }

    /// The digest of `bytes`.
    pub fn digest(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            DigestAlg::Sha1 => sha1::Sha1::digest(bytes).to_vec(),
            DigestAlg::Sm3 => sm3::Sm3::digest(bytes).to_vec(),
            DigestAlg::Sha256 => sha2::Sha256::digest(bytes).to_vec(),
        }
    }
}

/// A signature algorithm a `SignatureMethod` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SigAlg {
    RsaSha1,
    RsaSha256,
    Sm2Sm3,
}

impl SigAlg {
    fn of(uri: &str) -> Option<SigAlg> {
        match uri.trim() {
            RSA_SHA1 => Some(SigAlg::RsaSha1),
            RSA_SHA256 => Some(SigAlg::RsaSha256),
            SM2_SM3 | SM2_SM3_W3 => Some(SigAlg::Sm2Sm3),
            _ => None,
        }
    }
}

/// One thing wrong with a signature: the element path and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// What verifying a document's signature found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The document has no `ds:Signature` under its root.
    Missing,
    /// Digest and signature verify. `lenient` is empty when they verified as
    /// written; otherwise it names the normalisations that made them match.
    Verified {
        /// The normalisations applied (empty: strict).
        lenient: Vec<&'static str>,
    },
    /// The signature does not verify, or cannot be checked.
    Invalid(Vec<Problem>),
}

/// A document's signature, verified.
#[derive(Debug, Clone)]
pub struct Verification {
    /// The result.
    pub outcome: Outcome,
    /// The signer's certificate (from `X509Certificate`, else the one
    /// `KeyName` names among those offered), when one was found.
    pub certificate: Option<Certificate>,
    /// The `SignatureMethod` URI.
    pub method: Option<String>,
    /// The `DigestMethod` URI.
    pub digest_method: Option<String>,
}

impl Verification {
    fn invalid(problems: Vec<Problem>) -> Verification {
        Verification {
            outcome: Outcome::Invalid(problems),
            certificate: None,
            method: None,
            digest_method: None,
        }
    }
}

/// The parts of a `ds:Signature` verification reads.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    /// The byte range of the `ds:Signature` element in the text.
    span: (usize, usize),
    /// The byte range of `ds:SignedInfo`.
    signed_info: (usize, usize),
    /// Where `SignedInfo`'s start tag's attributes end (before `>` or `/>`).
    signed_info_tag_end: usize,
    /// Namespace declarations and `xml:*` attributes in scope at
    /// `SignedInfo` from its ancestors, as `name="raw value"`, the nearest
    /// last; with those `SignedInfo` declares itself.
    inherited: Vec<(String, String)>,
    own: Vec<String>,
    c14n: Option<String>,
    method: Option<String>,
    references: usize,
    uri: Option<String>,
    transforms: Vec<String>,
    digest_method: Option<String>,
    digest_value: String,
    has_value: bool,
    has_key_info: bool,
    signature_value: String,
    key_name: Option<String>,
    certificates: Vec<String>,
}

/// Where the reader is inside `ds:Signature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    DigestValue,
    SignatureValue,
    KeyName,
    Certificate,
}

/// The text a signature is computed over: `text` without a BOM or XML
/// declaration (canonical XML has neither).
pub fn body(text: &str) -> &str {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    // The XML declaration only (`<?xml` and whitespace), not a processing
    // instruction whose name starts with `xml`.
    let declaration = trimmed
        .strip_prefix("<?xml")
        .is_some_and(|rest| rest.starts_with([' ', '\t', '\r', '\n']));
    if declaration && let Some(end) = trimmed.find("?>") {
        return trimmed.get(end.saturating_add(2)..).unwrap_or(trimmed);
    }
    text
}

/// Verifies the enveloped signature of `text` (a whole document, UTF-8).
/// `by_serial` offers the certificates a `KeyName` may name when the
/// signature carries no `X509Certificate`.
pub fn verify(text: &str, by_serial: &dyn Fn(&str) -> Option<Certificate>) -> Verification {
    let text = body(text);
    let parsed = match parse(text) {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Verification {
                outcome: Outcome::Missing,
                certificate: None,
                method: None,
                digest_method: None,
            };
        }
        Err(p) => return Verification::invalid(vec![p]),
    };
    let mut v = Verification {
        outcome: Outcome::Invalid(Vec::new()),
        certificate: None,
        method: parsed.method.clone(),
        digest_method: parsed.digest_method.clone(),
    };
    let mut problems = shape(&parsed);
    let (cert, problem) = signer(&parsed, by_serial);
    problems.extend(problem);
    // The digest and the signature are checked apart, so that each wrong
    // one is named, whatever else is wrong.
    let shape_ok = problems.is_empty();
    let comments = parsed.c14n.as_deref().map(str::trim) == Some(C14N_COMMENTS);
    let digest_alg = parsed.digest_method.as_deref().and_then(DigestAlg::of);
    let sig_alg = parsed.method.as_deref().and_then(SigAlg::of);
    let mut lenient = Vec::new();
    let reference_ok = !problems.iter().any(|p| p.path.contains("ds:Reference"));
    if let (Some(alg), true) = (digest_alg, reference_ok) {
        match digest_matches(text, &parsed, alg) {
            Ok(Some(how)) => lenient.extend(how),
            Ok(None) => problems.push(Problem::new(
                PATH_DIGEST,
                "the digest does not match the document: its content changed after it was signed",
            )),
            Err(p) => problems.push(p),
        }
    }
    if let (Some(alg), Some(cert)) = (sig_alg, cert.as_ref()) {
        match signature_matches(text, &parsed, comments, alg, cert.key()) {
            Ok(Some(how)) => lenient.extend(how),
            Ok(None) => problems.push(Problem::new(
                PATH_VALUE,
                format!(
                    "the signature over ds:SignedInfo does not verify with the certificate's {} key (serial {})",
                    cert.key().describe(),
                    cert.serial()
                ),
            )),
            Err(p) => problems.push(p),
        }
    }
    v.certificate = cert;
    v.outcome = if shape_ok && problems.is_empty() {
        Outcome::Verified { lenient }
    } else {
        Outcome::Invalid(problems)
    };
    v
}

/// The problems of the signature's form: the reference, transforms and
/// algorithms CEB signatures use.
fn shape(p: &Parsed) -> Vec<Problem> {
    let mut out = Vec::new();
    let si = "ds:Signature/ds:SignedInfo";
    if p.signed_info == (0, 0) {
        out.push(Problem::new(
            si,
            "missing: ds:Signature has no ds:SignedInfo child",
        ));
        return out;
    }
    match p.c14n.as_deref().map(str::trim) {
        Some(C14N | C14N_COMMENTS) => {}
        Some(other) => out.push(Problem::new(
            format!("{si}/ds:CanonicalizationMethod"),
            format!("canonicalization {other} is not Canonical XML 1.0 ({C14N})"),
        )),
        None => out.push(Problem::new(
            format!("{si}/ds:CanonicalizationMethod"),
            "missing",
        )),
    }
    match p.method.as_deref() {
        Some(m) if SigAlg::of(m).is_some() => {}
        Some(m) => out.push(Problem::new(
            format!("{si}/ds:SignatureMethod"),
            format!("signature method {m} is not one CEB messages use ({RSA_SHA1}, {SM2_SM3} or {SM2_SM3_W3}; {RSA_SHA256} is accepted too)"),
        )),
        None => out.push(Problem::new(format!("{si}/ds:SignatureMethod"), "missing")),
    }
    if p.references != 1 {
        out.push(Problem::new(
            format!("{si}/ds:Reference"),
            format!(
                "{} references: a CEB signature has exactly one, to the whole document",
                p.references
            ),
        ));
        return out;
    }
    if p.uri.as_deref().is_some_and(|u| !u.is_empty()) {
        out.push(Problem::new(
            format!("{si}/ds:Reference/@URI"),
            format!(
                "URI \"{}\": a CEB signature references the whole document (URI=\"\")",
                p.uri.as_deref().unwrap_or_default()
            ),
        ));
    }
    let enveloped = p.transforms.iter().any(|t| t.trim() == ENVELOPED);
    let other = p
        .transforms
        .iter()
        .find(|t| !matches!(t.trim(), ENVELOPED | C14N | C14N_COMMENTS));
    if !enveloped {
        out.push(Problem::new(
            format!("{si}/ds:Reference/ds:Transforms"),
            format!("the enveloped-signature transform ({ENVELOPED}) is missing"),
        ));
    }
    if let Some(t) = other {
        out.push(Problem::new(
            format!("{si}/ds:Reference/ds:Transforms"),
            format!("transform {t} is not one CEB signatures use"),
        ));
    }
    match p.digest_method.as_deref() {
        Some(m) if DigestAlg::of(m).is_some() => {}
        Some(m) => out.push(Problem::new(
            format!("{si}/ds:Reference/ds:DigestMethod"),
            format!("digest method {m} is not SHA-1 ({SHA1}), SM3 ({SM3}) or SHA-256"),
        )),
        None => out.push(Problem::new(
            format!("{si}/ds:Reference/ds:DigestMethod"),
            "missing",
        )),
    }
    out
}

/// The signer's certificate: `X509Certificate` (checked against
/// `KeyName`: a mismatch is a problem, and the certificate is still used to
/// check the signature), else the one `KeyName` names; and what is wrong.
fn signer(
    p: &Parsed,
    by_serial: &dyn Fn(&str) -> Option<Certificate>,
) -> (Option<Certificate>, Option<Problem>) {
    let key_name = p
        .key_name
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let x509 = "ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate";
    let key_path = "ds:Signature/ds:KeyInfo/ds:KeyName";
    if p.certificates.len() > 1 {
        let why = format!(
            "{} certificates: the signer's alone is expected",
            p.certificates.len()
        );
        return (None, Some(Problem::new(x509, why)));
    }
    match (p.certificates.first(), key_name) {
        (Some(b64), key_name) => match Certificate::from_base64(b64) {
            Err(e) => (None, Some(Problem::new(x509, e.to_string()))),
            Ok(cert) => {
                let problem = key_name.filter(|k| !cert.has_serial(k)).map(|k| {
                    Problem::new(
                        key_path,
                        format!(
                            "KeyName {k} is not the serial number of the certificate ({})",
                            cert.serial()
                        ),
                    )
                });
                (Some(cert), problem)
            }
        },
        (None, Some(k)) => match by_serial(k) {
            Some(cert) => (Some(cert), None),
            None => (
                None,
                Some(Problem::new(
                    key_path,
                    format!("no X509Certificate, and KeyName {k} names no registered certificate"),
                )),
            ),
        },
        (None, None) => (
            None,
            Some(Problem::new(
                "ds:Signature/ds:KeyInfo",
                "neither X509Certificate nor KeyName: the signer is unknown",
            )),
        ),
    }
}

fn decode_b64(text: &str, path: &str) -> Result<Vec<u8>, Problem> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| Problem::new(path, format!("not base64: {e}")))
}

fn c14n_problem(e: SigError) -> Problem {
    Problem::new(PATH_SIGNATURE, e.to_string())
}

/// Which form of the document matches the digest: `Some([])` as written,
/// `Some([name])` after a named normalisation, `None` for none.
fn digest_matches(
    text: &str,
    p: &Parsed,
    alg: DigestAlg,
) -> Result<Option<Vec<&'static str>>, Problem> {
    let expected = decode_b64(&p.digest_value, PATH_DIGEST)?;
    let (before, after) = (
        text.get(..p.span.0).unwrap_or_default(),
        text.get(p.span.1..).unwrap_or_default(),
    );
    let strict = canonicalize(&[before, after].concat(), false).map_err(c14n_problem)?;
    if alg.digest(&strict) == expected {
        return Ok(Some(Vec::new()));
    }
    // The signature inserted into a document ending "…\n</root>", then the
    // file re-laid out around it; or a signer that dropped that newline.
    let trimmed_before = before.trim_end_matches([' ', '\t', '\r', '\n']);
    let trimmed_after = after.trim_start_matches([' ', '\t', '\r', '\n']);
    for (glue, name) in [
        ("\n", "whitespace around ds:Signature as one newline"),
        ("", "no whitespace around ds:Signature"),
    ] {
        let doc = [trimmed_before, glue, trimmed_after].concat();
        let bytes = canonicalize(&doc, false).map_err(c14n_problem)?;
        if alg.digest(&bytes) == expected {
            return Ok(Some(vec![name]));
        }
    }
    // Signed compact, then re-indented.
    if alg.digest(&compact(&strict)) == expected {
        return Ok(Some(vec!["whitespace between elements removed"]));
    }
    Ok(None)
}

/// Which form of `SignedInfo` the signature verifies over.
fn signature_matches(
    text: &str,
    p: &Parsed,
    comments: bool,
    alg: SigAlg,
    key: &PublicKey,
) -> Result<Option<Vec<&'static str>>, Problem> {
    let value = decode_b64(&p.signature_value, PATH_VALUE)?;
    let standalone = signed_info_in_context(text, p);
    let strict = canonicalize(&standalone, comments).map_err(c14n_problem)?;
    if check_signature(alg, key, &strict, &value)? {
        return Ok(Some(Vec::new()));
    }
    let squeezed = compact(&strict);
    if squeezed != strict && check_signature(alg, key, &squeezed, &value)? {
        return Ok(Some(vec!["whitespace inside ds:SignedInfo removed"]));
    }
    Ok(None)
}

/// `SignedInfo` as a document of its own, carrying the namespace
/// declarations and `xml:*` attributes it inherits, so that canonicalising
/// it gives the subtree's canonical form in its context (Canonical XML 1.0
/// renders every namespace in scope at the apex).
pub(super) fn signed_info_in_context(text: &str, p: &Parsed) -> String {
    let (start, end) = p.signed_info;
    let head = text.get(start..p.signed_info_tag_end).unwrap_or_default();
    let rest = text.get(p.signed_info_tag_end..end).unwrap_or_default();
    let mut out = String::with_capacity(end.saturating_sub(start).saturating_add(256));
    out.push_str(head);
    let mut seen: std::collections::HashSet<&str> = p.own.iter().map(String::as_str).collect();
    // The nearest declaration of a name wins: walk from the nearest.
    for (name, value) in p.inherited.iter().rev() {
        if !seen.insert(name) {
            continue;
        }
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        out.push_str(&value.replace('"', "&quot;"));
        out.push('"');
    }
    out.push_str(rest);
    out
}

/// Canonical bytes with whitespace-only text between markup removed.
/// The whitespace-only content of an element that has no child elements
/// (`<x>  </x>`) is a value and stays; processing instructions and comments
/// are copied as they are, with the whitespace around them.
fn compact(canonical: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(canonical.len());
    let mut pending: Vec<u8> = Vec::new();
    let mut after_tag = false;
    // Whether the last tag was a start tag (canonical XML has no empty-element tags).
    let mut last_start = false;
    let mut rest = canonical;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if after_tag && matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            pending.push(b);
            continue;
        }
        if b == b'<' {
            // A processing instruction or comment: through to its end,
            // untouched (its data may hold `<` and `>`).
            let close: Option<&[u8]> = match tail.first() {
                Some(b'?') => Some(b"?>"),
                Some(b'!') => Some(b"-->"),
                _ => None,
            };
            if let Some(close) = close {
                out.append(&mut pending);
                out.push(b);
                let end = tail
                    .windows(close.len())
                    .position(|w| w == close)
                    .map_or(tail.len(), |p| p.saturating_add(close.len()));
                let (inner, after) = tail.split_at(end.min(tail.len()));
                out.extend_from_slice(inner);
                rest = after;
                after_tag = false;
                continue;
            }
            let closing = tail.first() == Some(&b'/');
            if last_start && closing {
                out.append(&mut pending);
            } else {
                pending.clear();
            }
            last_start = !closing;
        } else {
            out.append(&mut pending);
        }
        out.push(b);
        after_tag = b == b'>';
    }
    out.append(&mut pending);
    out
}

fn check_signature(
    alg: SigAlg,
    key: &PublicKey,
    signed: &[u8],
    value: &[u8],
) -> Result<bool, Problem> {
    use rsa::signature::Verifier as _;
    let mismatch = |k: &PublicKey| {
        Problem::new(
            "ds:Signature/ds:SignedInfo/ds:SignatureMethod",
            format!(
                "the signature method does not fit the certificate's {} key",
                k.describe()
            ),
        )
    };
    match (alg, key) {
        (SigAlg::RsaSha1 | SigAlg::RsaSha256, PublicKey::Rsa(k)) => {
            let Ok(sig) = rsa::pkcs1v15::Signature::try_from(value) else {
                return Ok(false);
            };
            Ok(if alg == SigAlg::RsaSha1 {
                rsa::pkcs1v15::VerifyingKey::<sha1::Sha1>::new(k.clone())
                    .verify(signed, &sig)
                    .is_ok()
            } else {
                rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(k.clone())
                    .verify(signed, &sig)
                    .is_ok()
            })
        }
        (SigAlg::Sm2Sm3, PublicKey::Sm2(k)) => {
            let Some(sig) = sm2_signature(value) else {
                return Ok(false);
            };
            Ok(k.verify(signed, &sig).is_ok())
        }
        (_, k) => Err(mismatch(k)),
    }
}

/// An SM2 signature value: raw r‖s (64 bytes, as CEB signers write it), or
/// DER `SEQUENCE { INTEGER r, INTEGER s }` as some JCE providers do.
fn sm2_signature(value: &[u8]) -> Option<sm2::dsa::Signature> {
    if value.len() == 64 {
        return sm2::dsa::Signature::from_slice(value).ok();
    }
    let (r, s) = der_pair(value)?;
    let mut raw = [0u8; 64];
    let (rr, ss) = raw.split_at_mut(32);
    rr.get_mut(32_usize.checked_sub(r.len())?..)?
        .copy_from_slice(r);
    ss.get_mut(32_usize.checked_sub(s.len())?..)?
        .copy_from_slice(s);
    sm2::dsa::Signature::from_slice(&raw).ok()
}

/// The two INTEGERs of a short DER SEQUENCE, leading zero bytes dropped.
fn der_pair(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&len, rest) = rest.split_first()?;
    if tag != 0x30 || usize::from(len) != rest.len() {
        return None;
    }
    let (r, rest) = der_int(rest)?;
    let (s, rest) = der_int(rest)?;
    rest.is_empty().then_some((r, s))
}

/// One short DER INTEGER and what follows it, a leading zero byte dropped.
fn der_int(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&len, rest) = rest.split_first()?;
    if tag != 0x02 || len > 33 {
        return None;
    }
    let (value, rest) = rest.split_at_checked(usize::from(len))?;
    let value = match value.split_first() {
        Some((0, v)) => v,
        _ => value,
    };
    Some((value, rest))
}

/// Reads the root's `ds:Signature`. `Ok(None)`: there is none.
pub(super) fn parse(text: &str) -> Result<Option<Parsed>, Problem> {
    let mut reader = NsReader::from_str(text);
    let mut scan = Scan::default();
    let bad = |e: quick_xml::Error| Problem::new(PATH_SIGNATURE, format!("cannot read: {e}"));
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let (ns, event) = reader.read_resolved_event().map_err(bad)?;
        let in_ds = matches!(ns, ResolveResult::Bound(n) if n.into_inner() == NS_DS);
        let after = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        match event {
            Event::Start(tag) => scan.open(&tag, in_ds, (before, after), false)?,
            Event::Empty(tag) => {
                scan.open(&tag, in_ds, (before, after), true)?;
                scan.close(tag.local_name().into_inner(), in_ds, after);
            }
            Event::End(tag) => scan.close(tag.local_name().into_inner(), in_ds, after),
            Event::Text(t) => scan.text(&t.into_inner()),
            Event::CData(t) => scan.text(&t.into_inner()),
            Event::GeneralRef(r) => {
                let s = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => unescape(&format!("&{};", &*r)),
                };
                scan.text(&s);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(scan.found)
}

/// Where [`parse`] is in the document.
#[derive(Default)]
struct Scan {
    depth: usize,
    /// Namespace declarations and `xml:*` attributes per open element.
    scope: Vec<Vec<(String, String)>>,
    found: Option<Parsed>,
    /// The depth of `ds:Signature` while inside it.
    inside: Option<usize>,
    in_signed_info: bool,
    in_reference: bool,
    in_transforms: bool,
    in_key_info: bool,
    field: Option<Field>,
}

impl Scan {
    fn open(
        &mut self,
        tag: &BytesStart<'_>,
        in_ds: bool,
        (before, after): (usize, usize),
        empty: bool,
    ) -> Result<(), Problem> {
        let local = tag.local_name().into_inner();
        let attrs = attributes(tag);
        self.depth = self.depth.saturating_add(1);
        if self.inside.is_none() && self.depth == 2 && in_ds && local == "Signature" {
            if self.found.is_some() {
                return Err(Problem::new(
                    PATH_SIGNATURE,
                    "two ds:Signature elements under the root: one is expected",
                ));
            }
            self.found = Some(Parsed {
                span: (before, after),
                ..Parsed::default()
            });
            self.inside = Some(self.depth);
        } else if let (Some(d), Some(p), true) = (self.inside, self.found.as_mut(), in_ds) {
            let attr = |n: &str| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| unescape(v));
            let in_si = self.in_signed_info;
            // Only the XML-DSig structure counts: SignedInfo, SignatureValue
            // and KeyInfo as Signature's children, each once.
            let child = self.depth == d.saturating_add(1);
            let twice = |what: &str| {
                Problem::new(
                    PATH_SIGNATURE,
                    format!("two ds:{what} elements in ds:Signature: one is expected"),
                )
            };
            match local {
                "SignedInfo" if child => {
                    if p.signed_info != (0, 0) {
                        return Err(twice("SignedInfo"));
                    }
                    self.in_signed_info = true;
                    p.signed_info = (before, after);
                    let close = if empty { 2 } else { 1 };
                    p.signed_info_tag_end = after.saturating_sub(close);
                    p.inherited = self.scope.iter().flatten().cloned().collect();
                    p.own = attrs
                        .iter()
                        .filter(|(k, _)| inheritable(k))
                        .map(|(k, _)| k.clone())
                        .collect();
                }
                "CanonicalizationMethod" if in_si => p.c14n = attr("Algorithm"),
                "SignatureMethod" if in_si => p.method = attr("Algorithm"),
                "Reference" if in_si => {
                    p.references = p.references.saturating_add(1);
                    p.uri = attr("URI");
                    self.in_reference = true;
                }
                "Transforms" if self.in_reference => self.in_transforms = true,
                "Transform" if self.in_transforms => {
                    p.transforms.push(attr("Algorithm").unwrap_or_default());
                }
                "DigestMethod" if self.in_reference => p.digest_method = attr("Algorithm"),
                "DigestValue" if self.in_reference => self.field = Some(Field::DigestValue),
                "SignatureValue" if child => {
                    if p.has_value {
                        return Err(twice("SignatureValue"));
                    }
                    p.has_value = true;
                    self.field = Some(Field::SignatureValue);
                }
                "KeyInfo" if child => {
                    if p.has_key_info {
                        return Err(twice("KeyInfo"));
                    }
                    p.has_key_info = true;
                    self.in_key_info = true;
                }
                "KeyName" if self.in_key_info => {
                    p.key_name = Some(String::new());
                    self.field = Some(Field::KeyName);
                }
                "X509Certificate" if self.in_key_info => {
                    p.certificates.push(String::new());
                    self.field = Some(Field::Certificate);
                }
                _ => {}
            }
        }
        self.scope
            .push(attrs.into_iter().filter(|(k, _)| inheritable(k)).collect());
        Ok(())
    }

    fn close(&mut self, local: &str, in_ds: bool, after: usize) {
        if let (Some(d), Some(p)) = (self.inside, self.found.as_mut()) {
            if self.depth == d {
                p.span.1 = after;
                self.inside = None;
            } else if in_ds {
                match local {
                    "SignedInfo" if self.depth == d.saturating_add(1) => {
                        p.signed_info.1 = after;
                        self.in_signed_info = false;
                    }
                    "Reference" => self.in_reference = false,
                    "Transforms" => self.in_transforms = false,
                    "KeyInfo" if self.depth == d.saturating_add(1) => self.in_key_info = false,
                    _ => {}
                }
            }
        }
        self.field = None;
        self.scope.pop();
        self.depth = self.depth.saturating_sub(1);
    }

    fn text(&mut self, text: &str) {
        let (Some(p), Some(f)) = (self.found.as_mut(), self.field) else {
            return;
        };
        let target = match f {
            Field::DigestValue => &mut p.digest_value,
            Field::SignatureValue => &mut p.signature_value,
            Field::KeyName => match p.key_name.as_mut() {
                Some(k) => k,
                None => return,
            },
            Field::Certificate => match p.certificates.last_mut() {
                Some(c) => c,
                None => return,
            },
        };
        target.push_str(text);
    }
}

/// Whether an attribute is one a descendant inherits in canonical XML:
/// namespace declarations and `xml:*` attributes.
fn inheritable(name: &str) -> bool {
    name == "xmlns" || name.starts_with("xmlns:") || name.starts_with("xml:")
}

/// The attributes of a tag as (name, raw value).
fn attributes(tag: &BytesStart<'_>) -> Vec<(String, String)> {
    tag.attributes()
        .with_checks(false)
        .flatten()
        .map(|a| (a.key.into_inner().to_owned(), a.value.into_owned()))
        .collect()
}

/// The five predefined entities and character references of a raw value.
fn unescape(raw: &str) -> String {
    quick_xml::escape::unescape(raw).map_or_else(|_| raw.to_owned(), |s| s.into_owned())
}
