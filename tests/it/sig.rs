//! XML signatures: canonicalisation equals `xmllint --c14n` (Canonical XML
//! 1.0 with comments) on every official and project sample, in every
//! encoding; verification of the three signature forms CEB traffic uses,
//! strict and lenient; trust; the gateway's own signing.

use crate::util;

#[test]
fn canonicalisation_equals_xmllint_on_every_sample() {
    let mut files = util::xml_files(&util::root().join("samples"));
    files.extend(util::xml_files(&util::reference().join("samples")));
    let mut compared = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        // GB2312/GBK samples: canonical XML is UTF-8 either way; the
        // declaration (naming the encoding) is not part of it.
        let Some(text) = customs_gateway::codec::text(&bytes) else {
            continue;
        };
        let ours = customs_gateway::sig::canonicalize(customs_gateway::sig::body(&text), true);
        let xmllint = std::process::Command::new("xmllint")
            .arg("--c14n")
            .arg(file)
            .output()
            .expect("xmllint is installed by scripts/test.sh");
        match ours {
            Ok(out) if xmllint.status.success() && !xmllint.stdout.is_empty() => {
                assert!(
                    out == xmllint.stdout,
                    "{}: canonical forms differ\nours:    {}\nxmllint: {}",
                    file.display(),
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&xmllint.stdout)
                );
                compared += 1;
            }
            // Both refuse what is not well-formed (invalid/not-xml.xml).
            Err(_) => assert!(
                !xmllint.status.success() || xmllint.stdout.is_empty(),
                "{}: xmllint canonicalises what we refuse",
                file.display()
            ),
            // xmllint prints nothing for DxpRep.xml (a DTD-less quirk of its
            // own); nothing to compare with.
            Ok(_) => {}
        }
    }
    assert!(compared >= 60, "only {compared} samples compared");
}

#[test]
fn canonicalisation_drops_comments_when_asked() {
    let xml = "<a  b='1'><!-- note --><c/></a>";
    let with = customs_gateway::sig::canonicalize(xml, true).unwrap();
    let without = customs_gateway::sig::canonicalize(xml, false).unwrap();
    assert_eq!(
        String::from_utf8(with).unwrap(),
        "<a b=\"1\"><!-- note --><c></c></a>"
    );
    assert_eq!(
        String::from_utf8(without).unwrap(),
        "<a b=\"1\"><c></c></a>"
    );
    assert!(customs_gateway::sig::canonicalize("<a>", false).is_err());
}

// ---------------------------------------------------------------------------
// Verification and signing, with keys and certificates made at test time.

use std::str::FromStr as _;
use std::time::Duration;

use base64::Engine as _;
use customs_gateway::engine::Registry;
use customs_gateway::schema::Severity;
use customs_gateway::sig::{self, Algorithm, Certificate, Mode, Outcome, Signer};
use rand_core::OsRng;
use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use x509_cert::der::asn1::{BitString, GeneralizedTime, ObjectIdentifier};
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

/// A signer's key and certificate, made at test time.
pub(crate) struct Identity {
    /// PKCS#8 PEM.
    pub key_pem: String,
    /// DER.
    pub cert_der: Vec<u8>,
    pub key: Key,
}

pub(crate) enum Key {
    Rsa(Box<rsa::RsaPrivateKey>),
    Sm2(sm2::SecretKey),
}

/// Unix seconds of a `YYYY-MM-DD` day (UTC midnight).
fn day(d: &str) -> u64 {
    customs_gateway::subscribe::Date::parse(d)
        .unwrap()
        .days_since_epoch()
        * 86_400
}

impl Identity {
    /// An RSA key of `bits` and a self-signed certificate with this serial,
    /// valid between two days (`YYYY-MM-DD`).
    pub(crate) fn rsa(bits: usize, serial: &[u8], from: &str, to: &str) -> Identity {
        let key = rsa::RsaPrivateKey::new(&mut OsRng, bits).unwrap();
        let spki = key.to_public_key().to_public_key_der().unwrap();
        let signing = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
        let cert_der = certificate(
            spki.as_bytes(),
            serial,
            from,
            to,
            "1.2.840.113549.1.1.11",
            &|tbs| {
                use rsa::signature::{SignatureEncoding as _, Signer as _};
                signing.sign(tbs).to_vec()
            },
        );
        Identity {
            key_pem: key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
            cert_der,
            key: Key::Rsa(Box::new(key)),
        }
    }

    /// An SM2 key and a self-signed SM2-with-SM3 certificate.
    pub(crate) fn sm2(serial: &[u8], from: &str, to: &str) -> Identity {
        let key = sm2::SecretKey::random(&mut OsRng);
        let spki = key.public_key().to_public_key_der().unwrap();
        let signing = sm2::dsa::SigningKey::new(sig::SM2_USER_ID, &key).unwrap();
        let cert_der = certificate(
            spki.as_bytes(),
            serial,
            from,
            to,
            "1.2.156.10197.1.501",
            &|tbs| {
                use sm2::dsa::signature::Signer as _;
                let s: sm2::dsa::Signature = signing.sign(tbs);
                // The certificate's signature is DER SEQUENCE { r, s }.
                let int = |b: &[u8]| {
                    let b: Vec<u8> = b.iter().copied().skip_while(|&x| x == 0).collect();
                    let mut v = vec![0x02];
                    if b[0] & 0x80 != 0 {
                        v.push(b.len() as u8 + 1);
                        v.push(0);
                    } else {
                        v.push(b.len() as u8);
                    }
                    v.extend(b);
                    v
                };
                let mut body = int(&s.r_bytes());
                body.extend(int(&s.s_bytes()));
                let mut der = vec![0x30, body.len() as u8];
                der.extend(body);
                der
            },
        );
        Identity {
            key_pem: key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
            cert_der,
            key: Key::Sm2(key),
        }
    }

    pub(crate) fn certificate(&self) -> Certificate {
        Certificate::from_der(&self.cert_der).unwrap()
    }

    pub(crate) fn cert_pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.cert_der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    pub(crate) fn signer(&self, alg: Algorithm) -> Signer {
        Signer::new(alg, self.key_pem.as_bytes(), self.certificate()).unwrap()
    }

    /// The raw signature value over `data`, as the e-port card computes it:
    /// SHA1withRSA, or SM3withSM2 (Z with the default user ID) as raw r‖s.
    pub(crate) fn sign_raw(&self, data: &[u8]) -> Vec<u8> {
        match &self.key {
            Key::Rsa(k) => {
                use rsa::signature::{SignatureEncoding as _, Signer as _};
                rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new((**k).clone())
                    .sign(data)
                    .to_vec()
            }
            Key::Sm2(k) => {
                use sm2::dsa::signature::Signer as _;
                let s: sm2::dsa::Signature = sm2::dsa::SigningKey::new(sig::SM2_USER_ID, k)
                    .unwrap()
                    .sign(data);
                s.to_vec()
            }
        }
    }
}

/// A self-signed X.509 v3 certificate, built field by field.
fn certificate(
    spki_der: &[u8],
    serial: &[u8],
    from: &str,
    to: &str,
    sig_oid: &str,
    sign: &dyn Fn(&[u8]) -> Vec<u8>,
) -> Vec<u8> {
    let alg = AlgorithmIdentifierOwned {
        oid: ObjectIdentifier::new_unwrap(sig_oid),
        parameters: None,
    };
    let name =
        x509_cert::name::Name::from_str("CN=Test Signer,O=customs-gateway tests,C=CN").unwrap();
    let time = |secs: u64| {
        Time::GeneralTime(GeneralizedTime::from_unix_duration(Duration::from_secs(secs)).unwrap())
    };
    let tbs = x509_cert::TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: x509_cert::serial_number::SerialNumber::new(serial).unwrap(),
        signature: alg.clone(),
        issuer: name.clone(),
        validity: Validity {
            not_before: time(day(from)),
            not_after: time(day(to)),
        },
        subject: name,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(spki_der).unwrap(),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: None,
    };
    let signature = sign(&tbs.to_der().unwrap());
    x509_cert::Certificate {
        tbs_certificate: tbs,
        signature_algorithm: alg,
        signature: BitString::from_bytes(&signature).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// The three forms seen in CEB traffic: (SignatureMethod, DigestMethod).
pub(crate) const RSA_FORM: (&str, &str) = (
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2000/09/xmldsig#sha1",
);
pub(crate) const SM2_SPEC_FORM: (&str, &str) = (
    "http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3",
    "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3",
);
pub(crate) const SM2_SIGNER_FORM: (&str, &str) = (
    "http://www.w3.org/2000/09/xmldsig#sm2-sm3",
    "http://www.w3.org/2000/09/xmldsig#sha1",
);

/// Signs `doc` (unsigned, UTF-8) the way the e-port signer does, without the
/// gateway's signer: digest over the canonical document, a compact
/// `SignedInfo` whose canonical form is written out by hand (the root's
/// namespaces and `ds` on it, sorted), signed by the card, and a compact
/// `ds:Signature` put before the root's end tag.
pub(crate) fn eport_sign(doc: &str, id: &Identity, form: (&str, &str)) -> String {
    eport_sign_by(doc, id, form, &|data| id.sign_raw(data))
}

/// [`eport_sign`] with the card's signing step given.
fn eport_sign_by(
    doc: &str,
    id: &Identity,
    form: (&str, &str),
    card: &dyn Fn(&[u8]) -> Vec<u8>,
) -> String {
    let (method, digest_method) = form;
    let canonical = sig::canonicalize(doc, false).unwrap();
    use sha1::Digest as _;
    let digest = if digest_method.ends_with("#sm3") {
        sm3::Sm3::digest(&canonical).to_vec()
    } else {
        sha1::Sha1::digest(&canonical).to_vec()
    };
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let c14n = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
    let enveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
    let inner = |close: &dyn Fn(&str, &str) -> String| {
        format!(
            "{}{}<ds:Reference URI=\"\"><ds:Transforms>{}</ds:Transforms>{}<ds:DigestValue>{}</ds:DigestValue></ds:Reference>",
            close("CanonicalizationMethod", c14n),
            close("SignatureMethod", method),
            close("Transform", enveloped),
            close("DigestMethod", digest_method),
            b64(&digest)
        )
    };
    // The root's namespace declarations (default first, then by prefix),
    // ds among them, and its xml:* attributes (inherited in Canonical XML).
    let root_at = doc
        .match_indices('<')
        .map(|(i, _)| i)
        .find(|&i| doc[i + 1..].starts_with(|c: char| c.is_alphabetic()))
        .unwrap();
    let root_tag = &doc[root_at..];
    let root_tag = &root_tag[..root_tag.find('>').unwrap()];
    let mut ns: Vec<(String, String)> = root_tag
        .split_whitespace()
        .filter(|a| a.starts_with("xmlns"))
        .map(|a| {
            let (k, v) = a.split_once('=').unwrap();
            (k.to_owned(), v.trim_matches('"').to_owned())
        })
        .collect();
    if !ns.iter().any(|(k, _)| k == "xmlns:ds") {
        ns.push((
            "xmlns:ds".to_owned(),
            "http://www.w3.org/2000/09/xmldsig#".to_owned(),
        ));
    }
    ns.sort();
    let xml_attrs: Vec<&str> = root_tag
        .split_whitespace()
        .filter(|a| a.starts_with("xml:"))
        .collect();
    let mut decls: String = ns.iter().map(|(k, v)| format!(" {k}=\"{v}\"")).collect();
    for a in xml_attrs {
        decls.push(' ');
        decls.push_str(a);
    }
    let canonical_si = format!(
        "<ds:SignedInfo{decls}>{}</ds:SignedInfo>",
        inner(&|e, a| format!("<ds:{e} Algorithm=\"{a}\"></ds:{e}>"))
    );
    let value = card(canonical_si.as_bytes());
    let written_si = format!(
        "<ds:SignedInfo>{}</ds:SignedInfo>",
        inner(&|e, a| format!("<ds:{e} Algorithm=\"{a}\"/>"))
    );
    let cert = id.certificate();
    let element = format!(
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">{written_si}<ds:SignatureValue>{}</ds:SignatureValue><ds:KeyInfo><ds:KeyName>{}</ds:KeyName><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>",
        b64(&value),
        cert.serial(),
        b64(&id.cert_der)
    );
    let at = doc.rfind("</").unwrap();
    format!("{}{}{}", &doc[..at], element, &doc[at..])
}

/// The set-ok CEB621 (3 lines) without the placeholder signature it ships with.
pub(crate) fn unsigned_inventory() -> String {
    let text =
        std::fs::read_to_string(util::root().join("samples/set-ok/CEB621-inventory.xml")).unwrap();
    strip_signature(&text)
}

/// `text` without its `ds:Signature` element (and the line it sat on).
pub(crate) fn strip_signature(text: &str) -> String {
    let Some(start) = text.find("<ds:Signature") else {
        return text.to_owned();
    };
    let end = text.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let line_start = text[..start].rfind('\n').unwrap();
    format!("{}{}", &text[..line_start], &text[end..])
}

fn outcome(text: &str) -> (Outcome, Option<Certificate>) {
    let v = sig::verify(text, &|_| None);
    (v.outcome, v.certificate)
}

fn strict() -> Outcome {
    Outcome::Verified { lenient: vec![] }
}

#[test]
fn every_algorithm_form_verifies_as_the_eport_signer_makes_it() {
    let rsa = Identity::rsa(2048, &[0x01, 0x69, 0x1f, 0xe9], "2024-01-01", "2030-01-01");
    let sm2 = Identity::sm2(
        &[0x03, 0, 0, 0, 0, 0x0c, 0xde, 0x6f],
        "2024-01-01",
        "2030-01-01",
    );
    let doc = unsigned_inventory();
    for (id, form, key) in [
        (&rsa, RSA_FORM, "RSA-2048"),
        (&sm2, SM2_SPEC_FORM, "SM2"),
        (&sm2, SM2_SIGNER_FORM, "SM2"),
    ] {
        let signed = eport_sign(&doc, id, form);
        let (o, cert) = outcome(&signed);
        assert_eq!(o, strict(), "{form:?}");
        let cert = cert.unwrap();
        assert_eq!(cert.key().describe(), key);
        assert_eq!(cert.der(), id.cert_der.as_slice());
        // The same with a byte order mark (not part of the signed text).
        let (o, _) = outcome(&format!("\u{feff}{signed}"));
        assert_eq!(o, strict(), "{form:?} with a BOM");
    }
    // The serial as KeyName: hex, leading zeros and case ignored.
    assert_eq!(sm2.certificate().serial(), "03000000000cde6f");
    assert!(sm2.certificate().has_serial("3000000000CDE6F"));
    assert!(!sm2.certificate().has_serial("03000000000cde70"));
}

#[test]
fn a_changed_business_value_fails_the_digest_and_names_its_path() {
    let sm2 = Identity::sm2(&[7], "2024-01-01", "2030-01-01");
    let rsa = Identity::rsa(1024, &[8], "2024-01-01", "2030-01-01");
    let doc = unsigned_inventory();
    for (id, form) in [(&sm2, SM2_SPEC_FORM), (&rsa, RSA_FORM)] {
        let signed = eport_sign(&doc, id, form);
        for (from, to) in [
            ("<ceb:totalPrice>", "<ceb:totalPrice>1"),
            ("3301960B02", "3301960B03"),
            ("<ceb:InventoryHead>", "<ceb:InventoryHead><!-- c -->"),
        ] {
            let tampered = signed.replacen(from, to, 1);
            assert_ne!(tampered, signed, "{from} is in the document");
            let (o, _) = outcome(&tampered);
            let Outcome::Invalid(problems) = &o else {
                if from.starts_with("<ceb:InventoryHead>") {
                    // A comment is not signed content (C14N without comments).
                    assert_eq!(o, strict());
                    continue;
                }
                panic!("{from} → {to}: {o:?}");
            };
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(
                problems[0].path,
                "ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue"
            );
        }
        // A changed SignedInfo breaks the signature, not the digest.
        let other = signed.replacen("URI=\"\">", "URI=\"\" >", 1);
        assert_eq!(
            outcome(&other).0,
            strict(),
            "attribute spacing is not content"
        );
        let value_at = signed.find("<ds:SignatureValue>").unwrap() + 19;
        let mut broken = signed.clone();
        let c = if &signed[value_at..value_at + 1] == "A" {
            "B"
        } else {
            "A"
        };
        broken.replace_range(value_at..value_at + 1, c);
        let Outcome::Invalid(problems) = outcome(&broken).0 else {
            panic!("a changed signature value verified")
        };
        assert_eq!(problems[0].path, "ds:Signature/ds:SignatureValue");
    }
}

/// Re-indents a document: each element on its own line, indented by depth
/// (an element holding text stays on one line).
pub(crate) fn reindent(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut rest = text;
    // Whether the element just opened holds text.
    let mut inline = false;
    while let Some(lt) = rest.find('<') {
        let between = &rest[..lt];
        let gt = rest[lt..].find('>').unwrap() + lt;
        let tag = &rest[lt..=gt];
        let has_text = !between.trim().is_empty();
        if has_text {
            out.push_str(between);
        }
        let closing = tag.starts_with("</");
        let decl = tag.starts_with("<?");
        if closing {
            depth = depth.saturating_sub(1);
            // An element's own end tag stays on its line (after its text,
            // or at once when it has none: `<x></x>`).
            if !inline {
                out.push('\n');
                out.push_str(&"  ".repeat(depth));
            }
            inline = false;
        } else {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&"  ".repeat(depth));
            if !decl && !tag.ends_with("/>") {
                depth += 1;
                inline = true;
            } else {
                inline = false;
            }
        }
        out.push_str(tag);
        rest = &rest[gt + 1..];
    }
    out.push_str(rest);
    out
}

/// `text` with whitespace-only text between tags removed.
pub(crate) fn compact(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(lt) = rest.find('<') {
        let between = &rest[..lt];
        if !between.trim().is_empty() {
            out.push_str(between);
        }
        let gt = rest[lt..].find('>').unwrap() + lt;
        out.push_str(&rest[lt..=gt]);
        rest = &rest[gt + 1..];
    }
    out
}

#[test]
fn a_message_laid_out_again_after_signing_fails_strict_and_passes_lenient() {
    let sm2 = Identity::sm2(&[9], "2024-01-01", "2030-01-01");
    let rsa = Identity::rsa(1024, &[10], "2024-01-01", "2030-01-01");
    let doc = unsigned_inventory();
    for (id, form) in [
        (&sm2, SM2_SPEC_FORM),
        (&rsa, RSA_FORM),
        (&sm2, SM2_SIGNER_FORM),
    ] {
        // 1. Signed compact, then pretty-printed (signature included).
        let signed = eport_sign(&compact(&doc), id, form);
        assert_eq!(outcome(&signed).0, strict());
        let pretty = reindent(&signed);
        assert_ne!(pretty, signed);
        let Outcome::Verified { lenient } = outcome(&pretty).0 else {
            panic!(
                "{form:?}: a re-indented message does not verify: {:?}",
                outcome(&pretty).0
            )
        };
        assert_eq!(
            lenient,
            [
                "whitespace between elements removed",
                "whitespace inside ds:SignedInfo removed"
            ]
        );
        // 2. The e-port signer's own shape: signed as laid out, the
        // signature then put on its own indented lines.
        let signed = eport_sign(&doc, id, form);
        let at = signed.find("<ds:Signature").unwrap();
        let end = signed.find("</ds:Signature>").unwrap() + 15;
        let templated = format!(
            "{}\n\t{}\n{}",
            signed[..at].trim_end(),
            &signed[at..end],
            &signed[end..]
        );
        let Outcome::Verified { lenient } = outcome(&templated).0 else {
            panic!("{form:?}: the templated message does not verify")
        };
        assert_eq!(lenient, ["whitespace around ds:Signature as one newline"]);
        // 3. Changed content still fails after normalising.
        let tampered = pretty.replacen("3301960B02", "3301960B03", 1);
        assert!(matches!(outcome(&tampered).0, Outcome::Invalid(_)));
    }
}

#[test]
fn the_official_samples_carry_a_signature_that_does_not_verify() {
    let mut checked = 0;
    for year in ["official-2018", "official-2022"] {
        for file in util::xml_files(&util::reference().join("samples").join(year)) {
            let bytes = std::fs::read(&file).unwrap();
            let text = customs_gateway::codec::text(&bytes).unwrap();
            let v = sig::verify(&text, &|_| None);
            match v.outcome {
                Outcome::Invalid(problems) => {
                    assert!(
                        problems.iter().any(|p| p.path.starts_with("ds:Signature")),
                        "{}: {problems:?}",
                        file.display()
                    );
                    checked += 1;
                }
                Outcome::Missing => {}
                other => panic!("{}: {other:?}", file.display()),
            }
        }
    }
    assert!(checked >= 8, "{checked}");
}

#[test]
fn the_gateways_own_signature_round_trips_in_both_algorithms() {
    let rsa = Identity::rsa(2048, &[0x00, 0x81], "2024-01-01", "2030-01-01");
    let sm2 = Identity::sm2(&[0x12, 0x34], "2024-01-01", "2030-01-01");
    let doc = unsigned_inventory();
    for (id, alg, method) in [
        (&rsa, Algorithm::RsaSha1, RSA_FORM),
        (&sm2, Algorithm::Sm2Sm3, SM2_SPEC_FORM),
    ] {
        let signer = id.signer(alg);
        let signed = signer.sign(&doc).unwrap();
        let v = sig::verify(&signed, &|_| None);
        assert_eq!(v.outcome, strict(), "{alg:?}");
        assert_eq!(v.method.as_deref(), Some(method.0));
        assert_eq!(v.digest_method.as_deref(), Some(method.1));
        // The same bytes as the e-port signer's, but for the signature value
        // (RSA PKCS#1 v1.5 is deterministic: all of it).
        if alg == Algorithm::RsaSha1 {
            let eport = eport_sign(&doc, id, RSA_FORM);
            assert!(signed == eport.replace("<ds:KeyName>0081<", "<ds:KeyName>81<"));
        }
        // KeyName without the DER sign byte.
        assert!(signed.contains(&format!(
            "<ds:KeyName>{}</ds:KeyName>",
            if alg == Algorithm::RsaSha1 {
                "81"
            } else {
                "1234"
            }
        )));
        // Never signed twice.
        assert!(matches!(
            signer.sign(&signed),
            Err(sig::SigError::AlreadySigned)
        ));
        // The codec still reads it, signature kept.
        let decoded = customs_gateway::codec::decode(signed.as_bytes()).unwrap();
        assert!(decoded.message.signature.is_some());
    }
    // A key that is not the certificate's is refused.
    let err =
        Signer::new(Algorithm::Sm2Sm3, sm2.key_pem.as_bytes(), rsa.certificate()).unwrap_err();
    assert!(err.to_string().contains("RSA key"), "{err}");
    let other = Identity::sm2(&[1], "2024-01-01", "2030-01-01");
    let err = Signer::new(
        Algorithm::Sm2Sm3,
        other.key_pem.as_bytes(),
        sm2.certificate(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not the certificate's"), "{err}");
}

#[test]
fn sm2_signature_values_in_der_verify_and_a_foreign_user_id_does_not() {
    let sm2 = Identity::sm2(&[5], "2024-01-01", "2030-01-01");
    let doc = unsigned_inventory();
    let signed = eport_sign(&doc, &sm2, SM2_SPEC_FORM);
    let b64 = base64::engine::general_purpose::STANDARD;
    let start = signed.find("<ds:SignatureValue>").unwrap() + 19;
    let end = signed.find("</ds:SignatureValue>").unwrap();
    let raw = b64.decode(&signed[start..end]).unwrap();
    let der = {
        let int = |b: &[u8]| {
            let mut v = vec![0x02];
            if b[0] & 0x80 != 0 {
                v.extend([33, 0]);
            } else {
                v.push(32);
            }
            v.extend(b);
            v
        };
        let mut body = int(&raw[..32]);
        body.extend(int(&raw[32..]));
        let mut d = vec![0x30, body.len() as u8];
        d.extend(body);
        d
    };
    let as_der = format!("{}{}{}", &signed[..start], b64.encode(&der), &signed[end..]);
    assert_eq!(outcome(&as_der).0, strict());
    // Signed with another user ID: does not verify under the default one.
    let Key::Sm2(k) = &sm2.key else {
        unreachable!()
    };
    let alice = sm2::dsa::SigningKey::new("ALICE123@YAHOO.COM", k).unwrap();
    let foreign = eport_sign_by(&doc, &sm2, SM2_SPEC_FORM, &|data| {
        use sm2::dsa::signature::Signer as _;
        let s: sm2::dsa::Signature = alice.sign(data);
        s.to_vec()
    });
    let Outcome::Invalid(problems) = outcome(&foreign).0 else {
        panic!("a signature under another user ID verified")
    };
    assert_eq!(problems[0].path, "ds:Signature/ds:SignatureValue");
}

#[test]
fn a_missing_or_malformed_signature_is_said_so() {
    let doc = unsigned_inventory();
    assert_eq!(outcome(&doc).0, Outcome::Missing);
    let rsa = Identity::rsa(1024, &[3], "2024-01-01", "2030-01-01");
    let signed = eport_sign(&doc, &rsa, RSA_FORM);
    for (from, to, path) in [
        (
            "URI=\"\"",
            "URI=\"#x\"",
            "ds:Signature/ds:SignedInfo/ds:Reference/@URI",
        ),
        (
            "#enveloped-signature",
            "#base64",
            "ds:Signature/ds:SignedInfo/ds:Reference/ds:Transforms",
        ),
        (
            "xmldsig#sha1\"",
            "xmldsig#md5\"",
            "ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestMethod",
        ),
        (
            "rsa-sha1",
            "dsa-sha1",
            "ds:Signature/ds:SignedInfo/ds:SignatureMethod",
        ),
        (
            "rsa-sha1",
            "sm2-sm3",
            "ds:Signature/ds:SignedInfo/ds:SignatureMethod",
        ),
        (
            "<ds:KeyName>03",
            "<ds:KeyName>04",
            "ds:Signature/ds:KeyInfo/ds:KeyName",
        ),
        (
            "<ds:X509Certificate>MII",
            "<ds:X509Certificate>XII",
            "ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate",
        ),
    ] {
        let bad = signed.replacen(from, to, 1);
        assert_ne!(bad, signed, "{from}");
        let Outcome::Invalid(problems) = outcome(&bad).0 else {
            panic!("{from} → {to} verified")
        };
        assert!(
            problems.iter().any(|p| p.path == path),
            "{from} → {to}: {problems:?}"
        );
    }
    // Without X509Certificate the KeyName finds a registered certificate.
    let start = signed.find("<ds:X509Data>").unwrap();
    let end = signed.find("</ds:X509Data>").unwrap() + 14;
    let bare = format!("{}{}", &signed[..start], &signed[end..]);
    assert!(matches!(outcome(&bare).0, Outcome::Invalid(_)));
    let cert = rsa.certificate();
    let v = sig::verify(&bare, &|serial| {
        cert.has_serial(serial).then(|| cert.clone())
    });
    assert_eq!(v.outcome, strict());
}

/// A registry naming the sample set's enterprises, with `certs` registered
/// for the e-commerce enterprise 3301960B02.
fn registry_with(certs: Vec<Certificate>, code: &str) -> Registry {
    let text = std::fs::read_to_string(util::root().join("conf/registry.toml")).unwrap();
    let mut r = Registry::from_toml(&text).unwrap();
    r.set_certificates(code, certs);
    r
}

fn diagnostics(
    text: &str,
    registry: Option<&Registry>,
    mode: Mode,
) -> Vec<(String, Severity, String)> {
    // The set's appTime is 2026-11-21; "now" the day after.
    diagnostics_at(text, registry, mode, day("2026-11-22") * 1000)
}

fn diagnostics_at(
    text: &str,
    registry: Option<&Registry>,
    mode: Mode,
    now_ms: u64,
) -> Vec<(String, Severity, String)> {
    let decoded = customs_gateway::codec::decode(text.as_bytes()).unwrap();
    sig::check(&decoded.message, text.as_bytes(), registry, mode, now_ms)
        .into_iter()
        .map(|d| (d.rule.code.to_owned(), d.severity, d.message))
        .collect()
}

#[test]
fn trust_needs_a_certificate_registered_for_the_declaring_enterprise_and_valid_at_app_time() {
    let ours = Identity::sm2(&[0x21], "2026-01-01", "2027-01-01");
    let expired = Identity::sm2(&[0x22], "2025-01-01", "2026-01-01");
    let doc = unsigned_inventory();
    let signed = eport_sign(&doc, &ours, SM2_SPEC_FORM);
    let signed_expired = eport_sign(&doc, &expired, SM2_SPEC_FORM);
    let registered = registry_with(
        vec![ours.certificate(), expired.certificate()],
        "3301960B02",
    );
    let foreign = registry_with(vec![ours.certificate()], "3301960C03");
    let codes = |d: Vec<(String, Severity, String)>| -> Vec<(String, Severity)> {
        d.into_iter().map(|(c, s, _)| (c, s)).collect()
    };
    let r = diagnostics(&signed, Some(&registered), Mode::Require);
    assert_eq!(
        codes(r.clone()),
        [("SIGNATURE_VERIFIED".to_owned(), Severity::Info)],
        "{r:?}"
    );
    let r = diagnostics(&signed, Some(&foreign), Mode::Require);
    assert_eq!(
        codes(r.clone()),
        [("SIGNATURE_UNTRUSTED".to_owned(), Severity::Error)]
    );
    assert!(r[0].2.contains("ebcCode 3301960B02"), "{}", r[0].2);
    let r = diagnostics(&signed_expired, Some(&registered), Mode::Require);
    assert_eq!(
        codes(r.clone()),
        [("SIGNATURE_UNTRUSTED".to_owned(), Severity::Error)]
    );
    assert!(
        r[0].2.contains("not at appTime 20261121102000"),
        "{}",
        r[0].2
    );
    // Valid when signed, expired when received: customs refuses it (1002),
    // and a sender writes its own appTime.
    let r = diagnostics_at(
        &signed,
        Some(&registered),
        Mode::Require,
        day("2027-02-01") * 1000,
    );
    assert_eq!(
        codes(r.clone()),
        [("SIGNATURE_UNTRUSTED".to_owned(), Severity::Error)]
    );
    assert!(r[0].2.contains("not now (2027-02-01)"), "{}", r[0].2);
    let r = diagnostics(&signed, None, Mode::Warn);
    assert_eq!(
        codes(r.clone()),
        [("SIGNATURE_UNTRUSTED".to_owned(), Severity::Warning)]
    );
    assert!(r[0].2.contains("no enterprise registry"), "{}", r[0].2);
    // Policies: off says nothing, warn warns, require refuses.
    let order =
        std::fs::read_to_string(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap();
    assert!(diagnostics(&order, Some(&registered), Mode::Off).is_empty());
    assert!(diagnostics(&signed, Some(&foreign), Mode::Off).is_empty());
    assert_eq!(
        codes(diagnostics(&order, Some(&registered), Mode::Warn)),
        [("SIGNATURE_MISSING".to_owned(), Severity::Warning)]
    );
    assert_eq!(
        codes(diagnostics(&order, Some(&registered), Mode::Require)),
        [("SIGNATURE_MISSING".to_owned(), Severity::Error)]
    );
    // The inventory's XSD requires a signature: validation reports its
    // absence (SIGNATURE_REQUIRED), the policy does not repeat it.
    assert!(diagnostics(&doc, Some(&registered), Mode::Require).is_empty());
    let tampered = signed.replacen("3301960A01", "3301960A09", 1);
    assert_eq!(
        codes(diagnostics(&tampered, Some(&registered), Mode::Warn)),
        [("SIGNATURE_INVALID".to_owned(), Severity::Warning)]
    );
    let pretty = reindent(&eport_sign(&compact(&doc), &ours, SM2_SPEC_FORM));
    assert_eq!(
        codes(diagnostics(&pretty, Some(&registered), Mode::Require)),
        [("SIGNATURE_LENIENT".to_owned(), Severity::Warning)]
    );
    // Receipts are not declarations: nothing is said about them.
    let receipt =
        std::fs::read_to_string(util::reference().join("samples/official-2022/CEB622Message.xml"))
            .unwrap();
    assert!(diagnostics(&receipt, Some(&registered), Mode::Require).is_empty());
}

#[test]
fn certificates_are_read_from_pem_and_der() {
    let rsa = Identity::rsa(1024, &[0x42], "2024-01-01", "2030-01-01");
    let sm2 = Identity::sm2(&[0x43], "2024-01-01", "2030-01-01");
    for id in [&rsa, &sm2] {
        let from_der = Certificate::read_all(&id.cert_der).unwrap();
        let from_pem = Certificate::read_all(id.cert_pem().as_bytes()).unwrap();
        assert_eq!(from_der, from_pem);
        assert_eq!(from_der.len(), 1);
    }
    let both = format!("{}{}", rsa.cert_pem(), sm2.cert_pem());
    assert_eq!(Certificate::read_all(both.as_bytes()).unwrap().len(), 2);
    assert!(Certificate::read_all(b"not a certificate").is_err());
    assert!(
        Certificate::read_all(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .is_err()
    );
    let c = sm2.certificate();
    assert_eq!(c.not_before(), day("2024-01-01"));
    assert!(c.valid_at(day("2029-12-31")) && !c.valid_at(day("2030-01-02")));
}

#[test]
fn signed_info_is_canonicalised_in_its_context_whatever_the_root_declares() {
    let sm2 = Identity::sm2(&[0x51], "2024-01-01", "2040-01-01");
    let rsa = Identity::rsa(1024, &[0x52], "2024-01-01", "2040-01-01");
    let order =
        std::fs::read_to_string(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap();
    let ceb = "xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\"";
    let variants = [
        // What the e-port signer's messages declare: xsi and ds on the root.
        order.replacen(
            ceb,
            &format!("{ceb} xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""),
            1,
        ),
        // An xml:lang the SignedInfo inherits.
        order.replacen(ceb, &format!("{ceb} xml:lang=\"zh\""), 1),
        // The CEB namespace as the default namespace.
        order
            .replace("<ceb:", "<")
            .replace("</ceb:", "</")
            .replacen(ceb, "xmlns=\"http://www.chinaport.gov.cn/ceb\"", 1),
    ];
    for (i, doc) in variants.iter().enumerate() {
        assert_ne!(doc, &order);
        for (id, form, alg) in [
            (&sm2, SM2_SPEC_FORM, Algorithm::Sm2Sm3),
            (&rsa, RSA_FORM, Algorithm::RsaSha1),
        ] {
            // The hand-made canonical SignedInfo and the gateway's signer agree.
            let by_hand = eport_sign(doc, id, form);
            assert_eq!(outcome(&by_hand).0, strict(), "variant {i} {form:?}");
            let ours = id.signer(alg).sign(doc).unwrap();
            assert_eq!(outcome(&ours).0, strict(), "variant {i} {alg:?}");
        }
    }
}

#[test]
fn what_lenient_forms_never_accept() {
    let sm2 = Identity::sm2(&[0x61], "2024-01-01", "2040-01-01");
    let doc = unsigned_inventory().replacen(
        "<ceb:netWeight>1.10</ceb:netWeight>",
        "<ceb:netWeight>1.10</ceb:netWeight><ceb:note></ceb:note>",
        1,
    );
    let signed = eport_sign(&compact(&doc), &sm2, SM2_SPEC_FORM);
    assert_eq!(outcome(&signed).0, strict());
    // A whitespace-only value is a value: changed, it fails every form.
    for changed in [
        signed.replacen("<ceb:note></ceb:note>", "<ceb:note>  </ceb:note>", 1),
        reindent(&signed).replacen("<ceb:note></ceb:note>", "<ceb:note> </ceb:note>", 1),
    ] {
        assert!(changed.contains("<ceb:note> "));
        assert!(
            matches!(outcome(&changed).0, Outcome::Invalid(_)),
            "{changed}"
        );
    }
    // A processing instruction before the root is signed content (only the
    // XML declaration is not), with or without a declaration before it.
    let at = signed.find("<ceb:CEB621Message").unwrap();
    let with_pi = format!(
        "{}<?xml-stylesheet href=\"a.xsl\"?>{}",
        &signed[..at],
        &signed[at..]
    );
    assert!(matches!(outcome(&with_pi).0, Outcome::Invalid(_)));
    let pi_first = format!("<?xml-stylesheet href=\"a.xsl\"?>{}", sig::body(&signed));
    assert!(matches!(outcome(&pi_first).0, Outcome::Invalid(_)));
    assert_eq!(outcome(sig::body(&signed)).0, strict());
    // Whitespace next to a processing instruction is kept by every form.
    let with_inner_pi = eport_sign(
        &compact(&doc).replacen("<ceb:note></ceb:note>", "<ceb:note><?p x?></ceb:note>", 1),
        &sm2,
        SM2_SPEC_FORM,
    );
    assert_eq!(outcome(&with_inner_pi).0, strict());
    let spaced = with_inner_pi.replacen("<?p x?>", " <?p x?> ", 1);
    assert!(matches!(outcome(&spaced).0, Outcome::Invalid(_)));
    // Two signatures, or a second SignedInfo or SignatureValue, are refused.
    let start = signed.find("<ds:Signature").unwrap();
    let end = signed.find("</ds:Signature>").unwrap() + 15;
    let element = &signed[start..end];
    let twice = format!("{}{element}{}", &signed[..end], &signed[end..]);
    let Outcome::Invalid(p) = outcome(&twice).0 else {
        panic!("two signatures verified")
    };
    assert!(p[0].message.contains("two ds:Signature"), "{p:?}");
    let value_start = signed.find("<ds:SignatureValue>").unwrap();
    let value_end = signed.find("</ds:SignatureValue>").unwrap() + "</ds:SignatureValue>".len();
    let value = &signed[value_start..value_end];
    let two_values = signed.replacen(value, &format!("{value}{value}"), 1);
    let Outcome::Invalid(p) = outcome(&two_values).0 else {
        panic!("two signature values verified")
    };
    assert!(p[0].message.contains("two ds:SignatureValue"), "{p:?}");
    // A SignatureValue or KeyName out of place is not read.
    let misplaced = signed.replacen(value, "", 1).replacen(
        "</ds:KeyInfo>",
        &format!("{value}</ds:KeyInfo>"),
        1,
    );
    assert!(matches!(outcome(&misplaced).0, Outcome::Invalid(_)));
    let key_name = format!("<ds:KeyName>{}</ds:KeyName>", sm2.certificate().serial());
    assert!(signed.contains(&key_name));
    let key_name_out = signed.replacen(&key_name, "", 1).replacen(
        "</ds:SignatureValue>",
        &format!("</ds:SignatureValue>{key_name}"),
        1,
    );
    let start = key_name_out.find("<ds:X509Data>").unwrap();
    let end = key_name_out.find("</ds:X509Data>").unwrap() + "</ds:X509Data>".len();
    let key_name_out = format!("{}{}", &key_name_out[..start], &key_name_out[end..]);
    let cert = sm2.certificate();
    let v = sig::verify(&key_name_out, &|serial| {
        cert.has_serial(serial).then(|| cert.clone())
    });
    let Outcome::Invalid(p) = v.outcome else {
        panic!("a KeyName outside KeyInfo was read")
    };
    assert!(
        p.iter().any(|p| p.path == "ds:Signature/ds:KeyInfo"),
        "{p:?}"
    );
    // A second SignedInfo or KeyInfo is refused.
    let si_start = signed.find("<ds:SignedInfo>").unwrap();
    let si_end = signed.find("</ds:SignedInfo>").unwrap() + "</ds:SignedInfo>".len();
    let si = &signed[si_start..si_end];
    for (twice, what) in [
        (
            signed.replacen(si, &format!("{si}{si}"), 1),
            "two ds:SignedInfo",
        ),
        (
            signed.replacen("</ds:KeyInfo>", "</ds:KeyInfo><ds:KeyInfo></ds:KeyInfo>", 1),
            "two ds:KeyInfo",
        ),
    ] {
        let Outcome::Invalid(p) = outcome(&twice).0 else {
            panic!("{what} verified")
        };
        assert!(p[0].message.contains(what), "{p:?}");
    }
}

#[test]
fn a_signed_message_in_a_dxp_envelope_is_verified_inside_it() {
    let sm2 = Identity::sm2(&[0x71], "2024-01-01", "2040-01-01");
    let order =
        std::fs::read_to_string(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap();
    let envelope =
        std::fs::read_to_string(util::root().join("samples/dxp/DxpMsg-CEB311.xml")).unwrap();
    let data_at = envelope.find("<dxp:Data>").unwrap() + 10;
    let data_end = envelope.find("</dxp:Data>").unwrap();
    let wrap = |inner: &str| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(inner.as_bytes());
        format!("{}{b64}{}", &envelope[..data_at], &envelope[data_end..])
    };
    let signed = eport_sign(&order, &sm2, SM2_SPEC_FORM);
    let registered = registry_with(vec![sm2.certificate()], "3301960B02");
    let codes = |text: &str| -> Vec<String> {
        diagnostics(text, Some(&registered), Mode::Require)
            .into_iter()
            .map(|(c, _, _)| c)
            .collect()
    };
    assert_eq!(codes(&wrap(&signed)), ["SIGNATURE_VERIFIED"]);
    assert_eq!(
        codes(&wrap(&signed.replacen("3301960A01", "3301960A02", 1))),
        ["SIGNATURE_INVALID"]
    );
    assert_eq!(codes(&wrap(&order)), ["SIGNATURE_MISSING"]);
    // Without X509Certificate, KeyName finds the document's own party's
    // certificate even when another issuer's has the same serial.
    let other = Identity::sm2(&[0x71], "2024-01-01", "2040-01-01");
    assert_eq!(other.certificate().serial(), sm2.certificate().serial());
    let start = signed.find("<ds:X509Data>").unwrap();
    let end = signed.find("</ds:X509Data>").unwrap() + "</ds:X509Data>".len();
    let bare = format!("{}{}", &signed[..start], &signed[end..]);
    let mut both = registry_with(vec![sm2.certificate()], "3301960B02");
    both.set_certificates("3301960C03", vec![other.certificate()]);
    for _ in 0..8 {
        assert_eq!(
            diagnostics(&bare, Some(&both), Mode::Require)[0].0,
            "SIGNATURE_VERIFIED"
        );
    }
    // The inner message's parties are the ones trusted.
    let foreign = registry_with(vec![sm2.certificate()], "3301960C03");
    let r = diagnostics(&wrap(&signed), Some(&foreign), Mode::Require);
    assert_eq!(r[0].0, "SIGNATURE_UNTRUSTED");
}

/// Runs a command, failing with its output when it fails.
fn run_ok(cmd: &mut std::process::Command) -> Vec<u8> {
    let out = cmd
        .output()
        .expect("the tool is installed by scripts/test.sh");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn openssl_and_xmllint_verify_the_gateways_signatures_on_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let order =
        std::fs::read_to_string(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let between = |text: &str, a: &str, b: &str| -> String {
        let s = text.find(a).unwrap() + a.len();
        text[s..s + text[s..].find(b).unwrap()].to_owned()
    };
    for (id, alg, dgst) in [
        (
            Identity::rsa(2048, &[0x11], "2024-01-01", "2040-01-01"),
            Algorithm::RsaSha1,
            "-sha1",
        ),
        (
            Identity::sm2(&[0x12], "2024-01-01", "2040-01-01"),
            Algorithm::Sm2Sm3,
            "-sm3",
        ),
    ] {
        let signed = id.signer(alg).sign(&order).unwrap();
        let path = |n: &str| dir.path().join(format!("{alg:?}-{n}"));
        // The digest: xmllint canonicalises the document without its
        // signature, OpenSSL digests it.
        std::fs::write(path("unsigned.xml"), &order).unwrap();
        let canonical = run_ok(
            std::process::Command::new("xmllint")
                .arg("--c14n")
                .arg(path("unsigned.xml")),
        );
        std::fs::write(path("unsigned.c14n"), &canonical).unwrap();
        let digest = run_ok(
            std::process::Command::new("openssl")
                .args(["dgst", dgst, "-binary"])
                .arg(path("unsigned.c14n")),
        );
        assert_eq!(
            b64.encode(&digest),
            between(&signed, "<ds:DigestValue>", "<"),
            "{alg:?}"
        );
        // The signature: xmllint canonicalises the signed document; SignedInfo
        // in its context carries the root's and ds's namespaces.
        std::fs::write(path("signed.xml"), &signed).unwrap();
        let whole = String::from_utf8(run_ok(
            std::process::Command::new("xmllint")
                .arg("--c14n")
                .arg(path("signed.xml")),
        ))
        .unwrap();
        let inner = between(&whole, "<ds:SignedInfo>", "</ds:SignedInfo>");
        let signed_info = format!(
            "<ds:SignedInfo xmlns:ceb=\"http://www.chinaport.gov.cn/ceb\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">{inner}</ds:SignedInfo>"
        );
        std::fs::write(path("si"), &signed_info).unwrap();
        std::fs::write(path("cert.pem"), id.cert_pem()).unwrap();
        let public = run_ok(
            std::process::Command::new("openssl")
                .args(["x509", "-pubkey", "-noout", "-in"])
                .arg(path("cert.pem")),
        );
        std::fs::write(path("pub.pem"), public).unwrap();
        let value = b64
            .decode(between(&signed, "<ds:SignatureValue>", "<"))
            .unwrap();
        let sig_file = if alg == Algorithm::RsaSha1 {
            value.clone()
        } else {
            // OpenSSL takes SM2 signatures as DER; CEB's is raw r‖s.
            assert_eq!(value.len(), 64);
            let int = |b: &[u8]| {
                let b: Vec<u8> = b.iter().copied().skip_while(|&x| x == 0).collect();
                let mut v = vec![0x02];
                if b[0] & 0x80 != 0 {
                    v.extend([b.len() as u8 + 1, 0]);
                } else {
                    v.push(b.len() as u8);
                }
                v.extend(b);
                v
            };
            let mut body = int(&value[..32]);
            body.extend(int(&value[32..]));
            let mut der = vec![0x30, body.len() as u8];
            der.extend(body);
            der
        };
        std::fs::write(path("sig"), &sig_file).unwrap();
        let openssl_verify = || {
            let mut c = std::process::Command::new("openssl");
            if alg == Algorithm::RsaSha1 {
                c.args(["dgst", "-sha1", "-verify"])
                    .arg(path("pub.pem"))
                    .arg("-signature")
                    .arg(path("sig"))
                    .arg(path("si"));
            } else {
                c.args(["pkeyutl", "-verify", "-pubin", "-inkey"])
                    .arg(path("pub.pem"))
                    .args(["-rawin", "-digest", "sm3", "-pkeyopt"])
                    .arg(format!("distid:{}", sig::SM2_USER_ID))
                    .arg("-in")
                    .arg(path("si"))
                    .arg("-sigfile")
                    .arg(path("sig"));
            }
            c
        };
        run_ok(&mut openssl_verify());
        // And a changed SignedInfo is refused by OpenSSL too (the check can fail).
        std::fs::write(
            path("si"),
            signed_info.replacen("URI=\"\"", "URI=\"#x\"", 1),
        )
        .unwrap();
        let tampered = openssl_verify().output().unwrap();
        assert!(!tampered.status.success(), "{alg:?}");
    }
}

#[test]
fn the_signer_signs_only_what_the_codec_reads() {
    let rsa = Identity::rsa(1024, &[0x81], "2024-01-01", "2040-01-01");
    let signer = rsa.signer(Algorithm::RsaSha1);
    let order = std::fs::read(util::root().join("samples/set-ok/CEB311-order.xml")).unwrap();
    assert!(signer.sign_bytes(&order).is_ok());
    let text = String::from_utf8(order).unwrap();
    let with_doctype = text.replacen(
        "<ceb:CEB311Message",
        "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ceb:CEB311Message",
        1,
    );
    let err = signer.sign_bytes(with_doctype.as_bytes()).unwrap_err();
    assert!(err.to_string().to_lowercase().contains("doctype"), "{err}");
}
