//! X.509 certificates of signers: RSA and SM2 public keys, serial numbers
//! and validity, read from DER or PEM bytes (no I/O: the caller reads files).

use std::fmt;

use base64::Engine as _;
use rsa::pkcs1::DecodeRsaPublicKey;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, DecodePem, Encode};

use super::SigError;

/// `rsaEncryption`.
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey`.
const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// The SM2 curve (GM/T 0006), as EC parameters or as the key's algorithm.
pub(crate) const OID_SM2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");

/// The SM2 distinguishing identifier CEB signatures use (GM/T 0009's default).
pub const SM2_USER_ID: &str = "1234567812345678";

/// A signer's public key.
#[derive(Clone)]
pub enum PublicKey {
    /// RSA (PKCS#1 v1.5 signatures).
    Rsa(rsa::RsaPublicKey),
    /// SM2 with the default user ID.
    Sm2(sm2::dsa::VerifyingKey),
}

impl PublicKey {
    /// `RSA-2048`, `SM2`.
    pub fn describe(&self) -> String {
        match self {
            PublicKey::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                format!("RSA-{}", k.n().bits())
            }
            PublicKey::Sm2(_) => "SM2".to_owned(),
        }
    }
}

/// One certificate: its DER bytes and what a verifier needs from them.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    serial: String,
    subject: String,
    not_before: u64,
    not_after: u64,
    key: PublicKey,
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("serial", &self.serial)
            .field("subject", &self.subject)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("key", &self.key.describe())
            .finish()
    }
}

impl Certificate {
    /// Reads one DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Certificate, SigError> {
        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|e| SigError::Certificate(format!("not an X.509 certificate: {e}")))?;
        Self::from_parsed(&cert, der.to_vec())
    }

    /// Reads the certificates of a file's bytes: PEM (one or more
    /// `CERTIFICATE` blocks) or one DER certificate.
    pub fn read_all(bytes: &[u8]) -> Result<Vec<Certificate>, SigError> {
        let pem = bytes
            .windows(b"-----BEGIN".len())
            .any(|w| w == b"-----BEGIN");
        if !pem {
            return Self::from_der(bytes).map(|c| vec![c]);
        }
        let chain = x509_cert::Certificate::load_pem_chain(bytes)
            .map_err(|e| SigError::Certificate(format!("not a PEM certificate: {e}")))?;
        if chain.is_empty() {
            return Err(SigError::Certificate(
                "no CERTIFICATE block in the PEM text".to_owned(),
            ));
        }
        chain
            .iter()
            .map(|c| {
                let der = c
                    .to_der()
                    .map_err(|e| SigError::Certificate(format!("cannot re-encode: {e}")))?;
                Self::from_parsed(c, der)
            })
            .collect()
    }

    /// Reads one PEM certificate.
    pub fn from_pem(text: &str) -> Result<Certificate, SigError> {
        let cert = x509_cert::Certificate::from_pem(text)
            .map_err(|e| SigError::Certificate(format!("not a PEM certificate: {e}")))?;
        let der = cert
            .to_der()
            .map_err(|e| SigError::Certificate(format!("cannot re-encode: {e}")))?;
        Self::from_parsed(&cert, der)
    }

    /// Reads the base64 text of an `X509Certificate` element (whitespace
    /// ignored).
    pub fn from_base64(text: &str) -> Result<Certificate, SigError> {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| SigError::Certificate(format!("X509Certificate is not base64: {e}")))?;
        Self::from_der(&der)
    }

    fn from_parsed(cert: &x509_cert::Certificate, der: Vec<u8>) -> Result<Certificate, SigError> {
        let tbs = &cert.tbs_certificate;
        let spki = &tbs.subject_public_key_info;
        let bits = spki.subject_public_key.raw_bytes();
        let oid = spki.algorithm.oid;
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        let key = if oid == OID_RSA {
            let k = rsa::RsaPublicKey::from_pkcs1_der(bits)
                .map_err(|e| SigError::Certificate(format!("bad RSA public key: {e}")))?;
            PublicKey::Rsa(k)
        } else if oid == OID_SM2 || (oid == OID_EC && curve == Some(OID_SM2)) {
            let k = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_USER_ID, bits)
                .map_err(|_| SigError::Certificate("bad SM2 public key".to_owned()))?;
            PublicKey::Sm2(k)
        } else {
            let what = match curve {
                Some(c) => format!("{oid} on curve {c}"),
                None => oid.to_string(),
            };
            return Err(SigError::Certificate(format!(
                "public key algorithm {what}: only RSA and SM2 keys sign CEB messages"
            )));
        };
        Ok(Certificate {
            serial: hex(tbs.serial_number.as_bytes()),
            subject: tbs.subject.to_string(),
            not_before: tbs.validity.not_before.to_unix_duration().as_secs(),
            not_after: tbs.validity.not_after.to_unix_duration().as_secs(),
            key,
            der,
        })
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The serial number in lower-case hex, as its DER bytes give it
    /// (`01691fe9`).
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Whether `key_name` (a `KeyName`) names this certificate's serial:
    /// hex, case and leading zeros ignored.
    pub fn has_serial(&self, key_name: &str) -> bool {
        same_serial(&self.serial, key_name)
    }

    /// The subject (`CN=…,O=…`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Not valid before this moment (Unix seconds).
    pub fn not_before(&self) -> u64 {
        self.not_before
    }

    /// Not valid after this moment (Unix seconds).
    pub fn not_after(&self) -> u64 {
        self.not_after
    }

    /// Whether it is valid at `unix_secs`.
    pub fn valid_at(&self, unix_secs: u64) -> bool {
        (self.not_before..=self.not_after).contains(&unix_secs)
    }

    /// The public key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// The base64 of the DER, as an `X509Certificate` element holds it.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.der)
    }
}

/// Whether two serial numbers in hex are the same number.
pub fn same_serial(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.trim()
            .trim_start_matches("0x")
            .trim_start_matches('0')
            .to_ascii_lowercase()
    };
    let (a, b) = (norm(a), norm(b));
    !a.is_empty() && a.bytes().all(|c| c.is_ascii_hexdigit()) && a == b
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
