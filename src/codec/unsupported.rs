//! Customs messages the gateway recognises but does not model (CEB712,
//! CEB711, the SAS `Package`…): read as [`Unsupported`], kept and listed,
//! never checked field by field.

use super::Charset;
use crate::diag::Diagnostic;
use crate::schema::{NS_CEB, NS_DEC, NS_DXP, rule};

/// Roots in no namespace that are customs messages: the single-window
/// `Package` of the SAS, INV (保税核注清单) and NEMS families.
pub const CUSTOMS_ROOTS_WITHOUT_NAMESPACE: &[&str] = &["Package"];

/// The elements whose text is taken as the business key of an unsupported
/// message: the first of them, in document order, with non-blank text.
/// CEB enterprise and customs numbers, then the SAS/INV ones
/// (企业内部编号, 预录入统一编号, 保税清单编号).
pub const KEY_ELEMENTS: &[&str] = &[
    "copNo",
    "orderNo",
    "logisticsNo",
    "invtNo",
    "preNo",
    "taxNo",
    "EtpsInnerInvtNo",
    "EtpsPreentNo",
    "SeqNo",
    "BondInvtNo",
];

/// A customs message the gateway recognises but does not model.
///
/// Any root in the CEB, customs-declaration or DXP namespace that no schema
/// describes, and the roots of [`CUSTOMS_ROOTS_WITHOUT_NAMESPACE`]. A root
/// in another namespace is not a customs message (`UNKNOWN_ROOT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// Root element local name (`CEB712Message`, `Package`).
    pub root: String,
    /// Root element namespace URI, empty for none.
    pub namespace: String,
    /// The business key found: the name of the first [`KEY_ELEMENTS`]
    /// element with text, and its trimmed text.
    pub key: Option<(String, String)>,
    /// The charset the bytes were in.
    pub charset: Charset,
}

impl Unsupported {
    /// The key as `name=value` (`copNo=C712…`), empty when none was found.
    pub fn key_text(&self) -> String {
        self.key
            .as_ref()
            .map(|(name, value)| format!("{name}={value}"))
            .unwrap_or_default()
    }

    /// The one `UNSUPPORTED_MESSAGE` info diagnostic naming the root and the key.
    pub fn diagnostic(&self) -> Diagnostic {
        let ns = if self.namespace.is_empty() {
            "no namespace".to_owned()
        } else {
            format!("namespace {}", self.namespace)
        };
        let key = match &self.key {
            Some((name, value)) => format!("business key {name}={value}"),
            None => "no business key found".to_owned(),
        };
        Diagnostic::new(
            rule::UNSUPPORTED_MESSAGE,
            None,
            self.root.clone(),
            format!(
                "<{}> ({ns}) is a customs message the gateway does not model; kept and listed, not checked ({key})",
                self.root
            ),
        )
    }
}

/// Whether a root element names a customs message (modelled or not).
pub fn is_customs_root(namespace: &str, local: &str) -> bool {
    [NS_CEB, NS_DEC, NS_DXP].contains(&namespace)
        || (namespace.is_empty() && CUSTOMS_ROOTS_WITHOUT_NAMESPACE.contains(&local))
}
