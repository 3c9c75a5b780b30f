//! Rehearsal signing identities: a fresh RSA or SM2 key and a self-signed
//! certificate for it (`customs-gateway signature keygen`), for trying
//! `[signing]` and the registry's `certificates` before the real e-port
//! certificate is at hand, and for tests and benchmarks. Not pure: the key
//! comes from the operating system's random source.

use std::str::FromStr as _;
use std::time::Duration;

use rand_core::OsRng;
use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use x509_cert::der::asn1::{BitString, GeneralizedTime, ObjectIdentifier};
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

use crate::sig::{Algorithm, SM2_USER_ID, SigError};

/// sha256WithRSAEncryption.
const OID_RSA_SHA256: &str = "1.2.840.113549.1.1.11";
/// SM2-with-SM3.
const OID_SM2_SM3: &str = "1.2.156.10197.1.501";

/// A key and its self-signed certificate.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
}

impl Identity {
    /// The certificate as PEM.
    pub fn cert_pem(&self) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.cert_der);
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }
}

/// What to make.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// RSA (`rsa-sha1`) or SM2 (`sm2-sm3`).
    pub algorithm: Algorithm,
    /// RSA key size in bits (ignored for SM2).
    pub rsa_bits: usize,
    /// The serial number's bytes (big-endian, as `KeyName` names them).
    pub serial: &'a [u8],
    /// Subject and issuer, e.g. `CN=Rehearsal,O=Example,C=CN`.
    pub subject: &'a str,
    /// Valid from (Unix seconds).
    pub not_before: u64,
    /// Valid until (Unix seconds).
    pub not_after: u64,
}

/// A fresh key and its self-signed certificate.
pub fn generate(r: &Request<'_>) -> Result<Identity, SigError> {
    let key_err = |e: &dyn std::fmt::Display| SigError::Key(e.to_string());
    match r.algorithm {
        Algorithm::RsaSha1 => {
            let key = rsa::RsaPrivateKey::new(&mut OsRng, r.rsa_bits).map_err(|e| key_err(&e))?;
            let spki = key
                .to_public_key()
                .to_public_key_der()
                .map_err(|e| key_err(&e))?;
            let signing = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
            let cert_der = certificate(r, spki.as_bytes(), OID_RSA_SHA256, &|tbs| {
                use rsa::signature::{SignatureEncoding as _, Signer as _};
                Ok(signing.try_sign(tbs).map_err(|e| key_err(&e))?.to_vec())
            })?;
            let key_pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| key_err(&e))?;
            Ok(Identity {
                key_pem: key_pem.to_string(),
                cert_der,
            })
        }
        Algorithm::Sm2Sm3 => {
            let key = sm2::SecretKey::random(&mut OsRng);
            let spki = key
                .public_key()
                .to_public_key_der()
                .map_err(|e| key_err(&e))?;
            let signing = sm2::dsa::SigningKey::new(SM2_USER_ID, &key).map_err(|e| key_err(&e))?;
            let cert_der = certificate(r, spki.as_bytes(), OID_SM2_SM3, &|tbs| {
                use sm2::dsa::signature::Signer as _;
                let s: sm2::dsa::Signature = signing.try_sign(tbs).map_err(|e| key_err(&e))?;
                Ok(der_signature(&s.r_bytes(), &s.s_bytes()))
            })?;
            let key_pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| key_err(&e))?;
            Ok(Identity {
                key_pem: key_pem.to_string(),
                cert_der,
            })
        }
    }
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` (how a certificate carries an
/// SM2 signature).
fn der_signature(r: &[u8], s: &[u8]) -> Vec<u8> {
    let int = |b: &[u8]| {
        let b: Vec<u8> = b.iter().copied().skip_while(|&x| x == 0).collect();
        let pad = b.first().is_some_and(|&x| x & 0x80 != 0);
        let mut v = vec![0x02, u8::try_from(b.len() + usize::from(pad)).unwrap_or(0)];
        if pad {
            v.push(0);
        }
        v.extend(b);
        v
    };
    let mut body = int(r);
    body.extend(int(s));
    let mut der = vec![0x30, u8::try_from(body.len()).unwrap_or(0)];
    der.extend(body);
    der
}

/// Signs a certificate's to-be-signed bytes.
type SignTbs<'a> = dyn Fn(&[u8]) -> Result<Vec<u8>, SigError> + 'a;

/// A self-signed X.509 v3 certificate over the public key `spki_der`.
fn certificate(
    r: &Request<'_>,
    spki_der: &[u8],
    sig_oid: &str,
    sign: &SignTbs<'_>,
) -> Result<Vec<u8>, SigError> {
    let bad = |e: &dyn std::fmt::Display| SigError::Certificate(e.to_string());
    let alg = AlgorithmIdentifierOwned {
        oid: ObjectIdentifier::new(sig_oid).map_err(|e| bad(&e))?,
        parameters: None,
    };
    let name = x509_cert::name::Name::from_str(r.subject)
        .map_err(|e| SigError::Certificate(format!("subject {}: {e}", r.subject)))?;
    let time = |secs: u64| {
        GeneralizedTime::from_unix_duration(Duration::from_secs(secs))
            .map(Time::GeneralTime)
            .map_err(|e| bad(&e))
    };
    let tbs = x509_cert::TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: x509_cert::serial_number::SerialNumber::new(r.serial)
            .map_err(|e| bad(&e))?,
        signature: alg.clone(),
        issuer: name.clone(),
        validity: Validity {
            not_before: time(r.not_before)?,
            not_after: time(r.not_after)?,
        },
        subject: name,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(spki_der)
            .map_err(|e| bad(&e))?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: None,
    };
    let signature = sign(&tbs.to_der().map_err(|e| bad(&e))?)?;
    x509_cert::Certificate {
        tbs_certificate: tbs,
        signature_algorithm: alg,
        signature: BitString::from_bytes(&signature).map_err(|e| bad(&e))?,
    }
    .to_der()
    .map_err(|e| bad(&e))
}
