//! What the cross-document check is configured with: tolerances and limits
//! ([`EngineConfig`]) and the enterprise registry ([`Registry`]).
//!
//! Both deserialize from TOML (unknown keys are refused) and can be parsed
//! from text without I/O ([`EngineConfig::from_toml`], [`Registry::from_toml`]).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::EngineError;
use crate::model::parse_decimal;
use crate::tax::Tables;

/// Tolerances and limits of the cross-document check.
///
/// ```toml
/// amount_tolerance = "1"          # yuan; a number is accepted too
/// single_limit = 5000
/// annual_limit = 26000
/// incomplete_timeout_secs = 86400
/// tax_tolerance = "1"             # yuan: SET_TAX_TOTAL warns beyond it
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Largest accepted difference between amounts that must agree, in yuan
    /// (inclusive: a difference equal to the tolerance passes).
    #[serde(deserialize_with = "decimal")]
    pub amount_tolerance: Decimal,
    /// Personal single-transaction limit in yuan (inclusive).
    #[serde(deserialize_with = "decimal")]
    pub single_limit: Decimal,
    /// Personal annual limit per buyer and calendar year in yuan (inclusive).
    #[serde(deserialize_with = "decimal")]
    pub annual_limit: Decimal,
    /// A set still incomplete after this many seconds is reported by
    /// [`super::Engine::overdue`].
    pub incomplete_timeout_secs: u64,
    /// Largest difference between the order's `taxTotal` and the tax
    /// computed for the inventory's lines before `SET_TAX_TOTAL` warns, in
    /// yuan (inclusive).
    #[serde(deserialize_with = "decimal")]
    pub tax_tolerance: Decimal,
    /// The rate tables `SET_TAX_TOTAL` computes with (`[tax] rates`, else
    /// the built-in `schemas/tax-rates.toml`); not a key of `[engine]`.
    #[serde(skip)]
    pub tax: Option<Arc<Tables>>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            amount_tolerance: Decimal::ONE,
            single_limit: Decimal::from(5000),
            annual_limit: Decimal::from(26000),
            incomplete_timeout_secs: 24 * 60 * 60,
            tax_tolerance: Decimal::ONE,
            tax: Tables::builtin(),
        }
    }
}

impl EngineConfig {
    /// Parses a TOML text (no I/O) and checks the values.
    pub fn from_toml(text: &str) -> Result<EngineConfig, EngineError> {
        let cfg: EngineConfig = parse_toml(text)?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Refuses negative tolerances and non-positive limits.
    pub fn check(&self) -> Result<(), EngineError> {
        for (name, value) in [
            ("amount_tolerance", self.amount_tolerance),
            ("tax_tolerance", self.tax_tolerance),
        ] {
            if value.is_sign_negative() {
                return Err(EngineError::Config(format!(
                    "{name} must not be negative (is {value})"
                )));
            }
        }
        for (name, value) in [
            ("single_limit", self.single_limit),
            ("annual_limit", self.annual_limit),
        ] {
            if value <= Decimal::ZERO {
                return Err(EngineError::Config(format!(
                    "{name} must be positive (is {value})"
                )));
            }
        }
        Ok(())
    }
}

/// What an enterprise is registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// E-commerce platform (`ebpCode`).
    Platform,
    /// E-commerce enterprise (`ebcCode`).
    Ecommerce,
    /// Payment enterprise (`payCode`).
    Payment,
    /// Logistics enterprise (`logisticsCode`).
    Logistics,
    /// Declaring agent (`agentCode`).
    Agent,
}

impl Role {
    /// The lower-case name used in configuration and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Platform => "platform",
            Role::Ecommerce => "ecommerce",
            Role::Payment => "payment",
            Role::Logistics => "logistics",
            Role::Agent => "agent",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One registered enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Enterprise {
    /// Customs registration code (10 characters) or credit code (18).
    pub code: String,
    /// Registered name.
    pub name: String,
    /// What it may appear as.
    pub roles: Vec<Role>,
    /// Its signing certificates' files (PEM or DER), relative to the
    /// registry file: a message's signature counts only when it was made
    /// with one of them (read when the configuration is loaded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<std::path::PathBuf>,
}

/// The enterprises customs knows (海关备案企业), as configuration:
///
/// ```toml
/// [[enterprise]]
/// code = "3301960A01"
/// name = "杭州示例跨境平台有限公司"
/// roles = ["platform", "ecommerce"]
/// ```
///
/// Codes are unique. Without a registry the engine reports `SET_REGISTRY` as
/// skipped, never as passed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RegistryFile")]
pub struct Registry {
    enterprises: Vec<Enterprise>,
    index: HashMap<String, usize>,
    /// The certificates read from each enterprise's `certificates` files,
    /// by code.
    #[serde(skip)]
    certificates: HashMap<String, Vec<crate::sig::Certificate>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    #[serde(default)]
    enterprise: Vec<Enterprise>,
}

impl TryFrom<RegistryFile> for Registry {
    type Error = EngineError;

    fn try_from(file: RegistryFile) -> Result<Self, Self::Error> {
        Registry::new(file.enterprise)
    }
}

impl Registry {
    /// A registry of these enterprises (codes and names trimmed); refuses a
    /// code listed twice.
    pub fn new(mut enterprises: Vec<Enterprise>) -> Result<Registry, EngineError> {
        for e in &mut enterprises {
            e.code = e.code.trim().to_owned();
            e.name = e.name.trim().to_owned();
        }
        let mut index = HashMap::with_capacity(enterprises.len());
        for (i, e) in enterprises.iter().enumerate() {
            let code = e.code.trim();
            if code.is_empty() {
                return Err(EngineError::Config(format!(
                    "enterprise #{} has an empty code",
                    i.saturating_add(1)
                )));
            }
            if index.insert(code.to_owned(), i).is_some() {
                return Err(EngineError::DuplicateEnterprise {
                    code: code.to_owned(),
                });
            }
        }
        Ok(Registry {
            enterprises,
            index,
            certificates: HashMap::new(),
        })
    }

    /// Registers the certificates read from `code`'s `certificates` files.
    pub fn set_certificates(&mut self, code: &str, certificates: Vec<crate::sig::Certificate>) {
        self.certificates
            .insert(code.trim().to_owned(), certificates);
    }

    /// The signing certificates registered for `code`.
    pub fn certificates(&self, code: &str) -> &[crate::sig::Certificate] {
        self.certificates
            .get(code.trim())
            .map_or(&[], Vec::as_slice)
    }

    /// A registered certificate with this serial number (hex), whoever's.
    pub fn certificate_by_serial(&self, serial: &str) -> Option<&crate::sig::Certificate> {
        self.certificates
            .values()
            .flatten()
            .find(|c| c.has_serial(serial))
    }

    /// Parses a TOML text (no I/O).
    pub fn from_toml(text: &str) -> Result<Registry, EngineError> {
        parse_toml(text)
    }

    /// The enterprise registered under `code`.
    pub fn get(&self, code: &str) -> Option<&Enterprise> {
        self.index
            .get(code.trim())
            .and_then(|&i| self.enterprises.get(i))
    }

    /// Every registered enterprise, in configuration order.
    pub fn enterprises(&self) -> &[Enterprise] {
        &self.enterprises
    }
}

fn parse_toml<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, EngineError> {
    // toml's errors name the line, the key and, for a bad value, what is accepted.
    toml::from_str(text).map_err(|e| EngineError::Config(e.to_string().trim_end().to_owned()))
}

/// Reads a decimal from a string (`"1.00"`), an integer or a float (taken by
/// its shortest decimal rendering, so `0.1` is exactly 0.1).
fn decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Decimal;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a decimal amount such as 1 or \"1.00\"")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
            if !v.is_finite() {
                return Err(E::custom(format!("{v} is not an amount")));
            }
            parse_decimal(&v.to_string())
                .ok_or_else(|| E::custom(format!("{v} is not representable as a decimal")))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
            parse_decimal(v.trim()).ok_or_else(|| E::custom(format!("\"{v}\" is not a decimal")))
        }
    }
    deserializer.deserialize_any(V)
}
