//! Signing the messages the gateway writes itself, in exactly the form CEB
//! signers use: an enveloped `ds:Signature`, compact, as the root's last
//! child; reference `URI=""` with the enveloped-signature transform;
//! Canonical XML 1.0; `KeyName` the certificate's serial in hex and
//! `X509Certificate` its DER in base64.

use std::fmt;

use base64::Engine as _;
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use serde::Deserialize;

use super::cert::{Certificate, PublicKey, SM2_USER_ID};
use super::verify::{
    C14N, DigestAlg, ENVELOPED, NS_DS, RSA_SHA1, SHA1, SM2_SM3, SM3, body, parse,
    signed_info_in_context,
};
use super::{SigError, canonicalize};

/// The algorithms the gateway signs with (`[signing] algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Algorithm {
    /// RSA PKCS#1 v1.5 with SHA-1, SHA-1 digest (`rsa-sha1`).
    #[serde(rename = "rsa-sha1")]
    RsaSha1,
    /// SM2 with SM3, SM3 digest, under the 2022 specification's URIs
    /// (`sm2-sm3`).
    #[serde(rename = "sm2-sm3")]
    Sm2Sm3,
}

impl Algorithm {
    /// The configuration's name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RsaSha1 => "rsa-sha1",
            Algorithm::Sm2Sm3 => "sm2-sm3",
        }
    }
}

enum Key {
    Rsa(Box<rsa::pkcs1v15::SigningKey<sha1::Sha1>>),
    Sm2(sm2::dsa::SigningKey),
}

/// A private key and its certificate, ready to sign.
pub struct Signer {
    key: Key,
    certificate: Certificate,
    algorithm: Algorithm,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("algorithm", &self.algorithm)
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer from a private key's bytes (PEM or DER: PKCS#8, or PKCS#1
    /// for RSA, SEC1 for SM2) and its certificate, which must hold the
    /// key's public half.
    pub fn new(
        algorithm: Algorithm,
        key: &[u8],
        certificate: Certificate,
    ) -> Result<Signer, SigError> {
        let text = std::str::from_utf8(key)
            .ok()
            .filter(|t| t.contains("-----BEGIN"));
        let bad =
            |what: &str| SigError::Key(format!("not {what} private key (PEM or DER, PKCS#8)"));
        let key = match algorithm {
            Algorithm::RsaSha1 => {
                let k = match text {
                    Some(t) => rsa::RsaPrivateKey::from_pkcs8_pem(t)
                        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(t)),
                    None => rsa::RsaPrivateKey::from_pkcs8_der(key)
                        .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_der(key)),
                }
                .map_err(|_| bad("an RSA"))?;
                let PublicKey::Rsa(public) = certificate.key() else {
                    return Err(SigError::Key(
                        "algorithm rsa-sha1, but the certificate holds an SM2 key".to_owned(),
                    ));
                };
                if &rsa::RsaPublicKey::from(&k) != public {
                    return Err(SigError::Key(
                        "the private key is not the certificate's".to_owned(),
                    ));
                }
                Key::Rsa(Box::new(rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(k)))
            }
            Algorithm::Sm2Sm3 => {
                let k = match text {
                    Some(t) => sm2::SecretKey::from_pkcs8_pem(t)
                        .or_else(|_| sm2::SecretKey::from_sec1_pem(t)),
                    None => sm2::SecretKey::from_pkcs8_der(key)
                        .or_else(|_| sm2::SecretKey::from_sec1_der(key)),
                }
                .map_err(|_| bad("an SM2"))?;
                let k = sm2::dsa::SigningKey::new(SM2_USER_ID, &k)
                    .map_err(|_| SigError::Key("not a usable SM2 key".to_owned()))?;
                let PublicKey::Sm2(public) = certificate.key() else {
                    return Err(SigError::Key(
                        "algorithm sm2-sm3, but the certificate holds an RSA key".to_owned(),
                    ));
                };
                if k.verifying_key().to_sec1_bytes() != public.to_sec1_bytes() {
                    return Err(SigError::Key(
                        "the private key is not the certificate's".to_owned(),
                    ));
                }
                Key::Sm2(k)
            }
        };
        Ok(Signer {
            key,
            certificate,
            algorithm,
        })
    }

    /// The certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// `text` with a `ds:Signature` as its root's last child. Refuses a
    /// document that is signed already (a received signature is never
    /// replaced).
    pub fn sign(&self, text: &str) -> Result<String, SigError> {
        let (at, element) = self.signature(text)?;
        let (head, tail) = text
            .split_at_checked(at)
            .ok_or_else(|| SigError::Sign("bad insertion point".to_owned()))?;
        Ok([head, element.as_str(), tail].concat())
    }

    /// A message's bytes, signed, in the charset they were in (UTF-8,
    /// GBK, GB2312 or GB18030; a UTF-8 byte order mark is kept).
    /// The bytes must be a message the codec reads (no DOCTYPE, bounded
    /// depth and size) before anything else parses them.
    pub fn sign_bytes(&self, bytes: &[u8]) -> Result<Vec<u8>, SigError> {
        crate::codec::decode_any(bytes).map_err(|e| SigError::Sign(e.to_string()))?;
        let (text, charset) = crate::codec::text_in(bytes)
            .ok_or_else(|| SigError::Sign("not text in its declared encoding".to_owned()))?;
        let signed = self.sign(&text)?;
        let mut out = Vec::with_capacity(signed.len().saturating_add(8));
        if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) && !signed.starts_with('\u{feff}') {
            out.extend_from_slice(&[0xEF, 0xBB, 0xBF]);
        }
        out.extend(
            crate::codec::encode_text(&signed, charset)
                .map_err(|c| SigError::Sign(format!("{c:?} has no {} form", charset.label())))?,
        );
        Ok(out)
    }

    /// Where in `text` (a byte offset: before the root's end tag) the
    /// signature goes, and the element. The element is ASCII, so it can be
    /// inserted at the same place of the document's bytes in any of the
    /// CEB encodings.
    pub fn signature(&self, text: &str) -> Result<(usize, String), SigError> {
        let doc = body(text);
        let skipped = text.len().saturating_sub(doc.len());
        if parse(doc).map_err(|p| SigError::Sign(p.message))?.is_some() {
            return Err(SigError::AlreadySigned);
        }
        let at = root_end(doc)?;
        let (digest_alg, method, digest_method) = match self.algorithm {
            Algorithm::RsaSha1 => (DigestAlg::Sha1, RSA_SHA1, SHA1),
            Algorithm::Sm2Sm3 => (DigestAlg::Sm3, SM2_SM3, SM3),
        };
        let digest = b64(&digest_alg.digest(&canonicalize(doc, false)?));
        let signed_info = format!(
            "<ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"{C14N}\"/>\
             <ds:SignatureMethod Algorithm=\"{method}\"/><ds:Reference URI=\"\">\
             <ds:Transforms><ds:Transform Algorithm=\"{ENVELOPED}\"/></ds:Transforms>\
             <ds:DigestMethod Algorithm=\"{digest_method}\"/>\
             <ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>"
        );
        let element = |value: &str| {
            format!(
                "<ds:Signature xmlns:ds=\"{NS_DS}\">{signed_info}\
                 <ds:SignatureValue>{value}</ds:SignatureValue><ds:KeyInfo>\
                 <ds:KeyName>{}</ds:KeyName><ds:X509Data><ds:X509Certificate>{}\
                 </ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>",
                key_name(self.certificate.serial()),
                self.certificate.to_base64()
            )
        };
        // SignedInfo is signed as canonicalised in its place in the document.
        let draft = [
            doc.get(..at).unwrap_or_default(),
            &element(""),
            doc.get(at..).unwrap_or_default(),
        ]
        .concat();
        let parsed = parse(&draft)
            .map_err(|p| SigError::Sign(p.message))?
            .ok_or_else(|| SigError::Sign("the signature was not found again".to_owned()))?;
        let signed = canonicalize(&signed_info_in_context(&draft, &parsed), false)?;
        let value = match &self.key {
            Key::Rsa(k) => {
                use rsa::signature::{SignatureEncoding as _, Signer as _};
                k.try_sign(&signed)
                    .map_err(|e| SigError::Sign(e.to_string()))?
                    .to_vec()
            }
            Key::Sm2(k) => {
                use sm2::dsa::signature::Signer as _;
                let s: sm2::dsa::Signature = k
                    .try_sign(&signed)
                    .map_err(|e| SigError::Sign(e.to_string()))?;
                s.to_vec()
            }
        };
        Ok((skipped.saturating_add(at), element(&b64(&value))))
    }
}

/// `KeyName`: the serial in hex without the DER sign byte.
fn key_name(serial: &str) -> &str {
    match serial.strip_prefix("00") {
        Some(rest) if !rest.is_empty() => rest,
        _ => serial,
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The offset of the root element's end tag.
fn root_end(doc: &str) -> Result<usize, SigError> {
    let mut reader = Reader::from_str(doc);
    let mut depth: usize = 0;
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        match reader.read_event() {
            Ok(Event::Start(_)) => depth = depth.saturating_add(1),
            Ok(Event::Empty(_)) if depth == 0 => {
                return Err(SigError::Sign("the root element is empty".to_owned()));
            }
            Ok(Event::End(_)) => {
                if depth == 1 {
                    return Ok(before);
                }
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Eof) => return Err(SigError::Sign("no root element".to_owned())),
            Ok(_) => {}
            Err(e) => return Err(SigError::Sign(format!("cannot read: {e}"))),
        }
    }
}
