//! From a verified signature to diagnostics: the trust rule and the
//! `off` / `warn` / `require` policy.

use serde::{Deserialize, Serialize};

use super::cert::Certificate;
use super::verify::{Outcome, PATH_SIGNATURE, verify};
use crate::diag::Diagnostic;
use crate::engine::Registry;
use crate::model::Message;
use crate::schema::{Severity, SignatureRule, rule};
use crate::subscribe::Date;
use crate::track;

/// What the gateway does with signatures (`[signature] mode`, and a
/// sender's or platform's `signature`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Signatures are not looked at.
    Off,
    /// Signatures are verified; an invalid, untrusted or missing one is a
    /// warning.
    #[default]
    Warn,
    /// An invalid, untrusted or missing signature refuses the message.
    Require,
}

impl Mode {
    /// `off`, `warn`, `require`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Warn => "warn",
            Mode::Require => "require",
        }
    }

    /// Reads `off`, `warn` or `require`.
    pub fn parse(text: &str) -> Option<Mode> {
        match text.trim() {
            "off" => Some(Mode::Off),
            "warn" => Some(Mode::Warn),
            "require" => Some(Mode::Require),
            _ => None,
        }
    }
}

/// The signature diagnostics of a message read from `bytes`, under `mode`.
///
/// Only declarations (the types senders and platforms submit) are looked
/// at; for a DXP envelope, the business message inside it. The signer's
/// certificate must be registered in `registry` for an enterprise one of
/// each document's sending parties names (as in the sender scope rule), and
/// valid both at the document's `appTime` (when it has one) and at `now_ms`,
/// its receipt.
pub fn check(
    message: &Message,
    bytes: &[u8],
    registry: Option<&Registry>,
    mode: Mode,
    now_ms: u64,
) -> Vec<Diagnostic> {
    if mode == Mode::Off {
        return Vec::new();
    }
    let business = message.business();
    let parties = track::sending_parties(business.spec.ty);
    if parties.is_empty() {
        return Vec::new();
    }
    let inner = message
        .dxp
        .as_ref()
        .filter(|d| d.inner.is_some())
        .map(|d| d.data.as_slice());
    let failing = match mode {
        Mode::Require => Severity::Error,
        _ => Severity::Warning,
    };
    let Some(text) = crate::codec::text(inner.unwrap_or(bytes)) else {
        return vec![
            Diagnostic::new(
                rule::SIGNATURE_INVALID,
                None,
                PATH_SIGNATURE,
                "the message's text cannot be read to verify its signature",
            )
            .with_severity(failing),
        ];
    };
    // Without X509Certificate, KeyName picks a registered certificate: one
    // of the documents' own parties first (serials are unique per issuer only).
    let own: Vec<String> = business
        .documents
        .iter()
        .flat_map(|d| track::named_parties(business.spec, d))
        .map(|(_, code)| code)
        .collect();
    let by_serial = |serial: &str| {
        let r = registry?;
        own.iter()
            .flat_map(|code| r.certificates(code))
            .find(|c| c.has_serial(serial))
            .or_else(|| r.certificate_by_serial(serial))
            .cloned()
    };
    let v = verify(&text, &by_serial);
    let lenient = match v.outcome {
        // The XSD requires a signature of some types: validation says so
        // already (SIGNATURE_REQUIRED).
        Outcome::Missing if business.spec.signature == SignatureRule::Required => {
            return Vec::new();
        }
        Outcome::Missing => {
            return vec![
                Diagnostic::new(
                    rule::SIGNATURE_MISSING,
                    None,
                    PATH_SIGNATURE,
                    format!(
                        "{} carries no ds:Signature (signature mode {})",
                        business.spec.name,
                        mode.as_str()
                    ),
                )
                .with_severity(failing),
            ];
        }
        Outcome::Invalid(problems) => {
            return problems
                .into_iter()
                .map(|p| {
                    Diagnostic::new(rule::SIGNATURE_INVALID, None, p.path, p.message)
                        .with_severity(failing)
                })
                .collect();
        }
        Outcome::Verified { lenient } => lenient,
    };
    let Some(cert) = v.certificate else {
        // Not reachable (a verified signature has its certificate); never
        // taken as a pass.
        return vec![
            Diagnostic::new(
                rule::SIGNATURE_INVALID,
                None,
                PATH_SIGNATURE,
                "no certificate to check the signature with",
            )
            .with_severity(failing),
        ];
    };
    let mut out = Vec::new();
    for (i, doc) in business.documents.iter().enumerate() {
        let spec = business.spec;
        let named = track::named_parties(spec, doc);
        let registered = named.iter().any(|(_, code)| {
            registry.is_some_and(|r| r.certificates(code).iter().any(|c| c == &cert))
        });
        let head = spec.head.element;
        if !registered {
            let whom = track::describe_parties(parties, &named, " or ");
            let why = if registry.is_none() {
                " (no enterprise registry is configured)"
            } else {
                ""
            };
            out.push(
                Diagnostic::new(
                    rule::SIGNATURE_UNTRUSTED,
                    Some(i),
                    format!("{head}/{}", parties.first().copied().unwrap_or_default()),
                    format!(
                        "the signing certificate ({}) is not registered for {whom}{why}",
                        describe(&cert)
                    ),
                )
                .with_severity(failing),
            );
            continue;
        }
        // Valid when the document was signed (its appTime) and when it is
        // received: customs refuses an expired certificate on receipt (1002
        // 数字签名过期), and a sender writes its own appTime.
        let app_time = track::field(doc, spec, "appTime");
        let at = app_time.as_deref().and_then(cst_unix_secs);
        let now = now_ms.checked_div(1000).unwrap_or_default();
        let invalid_at = match (at, &app_time) {
            (Some(t), Some(text)) if !cert.valid_at(t) => Some(format!("at appTime {text}")),
            _ if !cert.valid_at(now) => Some(format!("now ({})", day(now))),
            _ => None,
        };
        if let Some(when) = invalid_at {
            out.push(
                Diagnostic::new(
                    rule::SIGNATURE_UNTRUSTED,
                    Some(i),
                    format!("{head}/appTime"),
                    format!(
                        "the signing certificate ({}) is valid from {} to {}, not {when}",
                        describe(&cert),
                        day(cert.not_before()),
                        day(cert.not_after())
                    ),
                )
                .with_severity(failing),
            );
        }
    }
    if !out.is_empty() {
        return out;
    }
    let algorithms = format!(
        "{}, digest {}",
        v.method.as_deref().unwrap_or_default(),
        v.digest_method.as_deref().unwrap_or_default()
    );
    let d = if lenient.is_empty() {
        Diagnostic::new(
            rule::SIGNATURE_VERIFIED,
            None,
            PATH_SIGNATURE,
            format!(
                "signature verified as written ({algorithms}; certificate {})",
                describe(&cert)
            ),
        )
    } else {
        Diagnostic::new(
            rule::SIGNATURE_LENIENT,
            None,
            PATH_SIGNATURE,
            format!(
                "signature verified only after normalising whitespace ({}); the file was re-laid out after signing ({algorithms}; certificate {})",
                lenient.join("; "),
                describe(&cert)
            ),
        )
    };
    vec![d]
}

fn describe(cert: &Certificate) -> String {
    format!(
        "{}, serial {}, {}",
        cert.key().describe(),
        cert.serial(),
        cert.subject()
    )
}

/// A day in China Standard Time.
fn day(unix_secs: u64) -> String {
    Date::cst(unix_secs.saturating_mul(1000)).to_string()
}

/// `YYYYMMDDhhmmss` (China Standard Time) as Unix seconds.
pub fn cst_unix_secs(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.len() < 14 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let part = |r: std::ops::Range<usize>| t.get(r).and_then(|s| s.parse::<u64>().ok());
    let date = Date::parse(&format!(
        "{}-{}-{}",
        t.get(0..4)?,
        t.get(4..6)?,
        t.get(6..8)?
    ))?;
    let (h, m, s) = (part(8..10)?, part(10..12)?, part(12..14)?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    date.days_since_epoch()
        .checked_mul(86_400)?
        .checked_add(h.checked_mul(3600)?)?
        .checked_add(m.checked_mul(60)?)?
        .checked_add(s)?
        .checked_sub(8 * 3600)
}
