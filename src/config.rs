//! Configuration files (TOML): the gateway's configuration and the enterprise
//! registry it names.
//!
//! This module is an edge: [`Config::load`] and [`Config::load_registry`] read
//! files. Unknown keys are refused so a typo never silently falls back to a
//! default, and every refusal is one sentence naming the file, the position
//! and the key, with the keys or values that would have been accepted
//! (`gateway.toml:2:1: limits.max_byte: unknown key `max_byte`, expected
//! `max_bytes` or `max_depth``).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::codec::Limits;
use crate::engine::{EngineConfig, EngineError, Registry};

/// Why a configuration or registry file was refused. The display is the
/// whole message (there is no separate source to print after it).
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read {what}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// `the configuration file`, `the registry (named by …)`.
        what: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The file is not valid TOML, or a key or value is not one the gateway
    /// knows.
    #[error("{path}{location}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// `:line:column: key` where known, else empty.
        location: String,
        /// What is wrong, with what would be accepted.
        message: String,
    },
    /// A value is out of range.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Input bounds (`[limits]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest accepted message, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted element nesting.
    pub max_depth: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let l = Limits::default();
        LimitsConfig {
            max_bytes: l.max_bytes,
            max_depth: l.max_depth,
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Input bounds.
    pub limits: LimitsConfig,
    /// Tolerances and limits of the cross-document check.
    pub engine: EngineConfig,
    /// The enterprise registry file (relative paths are relative to this
    /// configuration file). Without one the registration rule is skipped.
    pub registry: Option<PathBuf>,
    /// The configuration file this was loaded from, if any (for messages).
    #[serde(skip)]
    source: Option<PathBuf>,
}

impl Config {
    /// Loads a TOML file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = read(path, "the configuration file")?;
        let mut cfg: Config = parse(&name, &text)?;
        cfg.engine.check().map_err(|e| ConfigError::Invalid {
            path: name.clone(),
            message: format!("engine.{}", engine_message(e)),
        })?;
        if cfg.limits.max_bytes == 0 {
            return Err(ConfigError::Invalid {
                path: name,
                message: "limits.max_bytes must be positive (is 0)".to_owned(),
            });
        }
        if cfg.limits.max_depth < 4 {
            return Err(ConfigError::Invalid {
                path: name,
                message: format!(
                    "limits.max_depth must be at least 4 (is {})",
                    cfg.limits.max_depth
                ),
            });
        }
        if let Some(registry) = &cfg.registry
            && registry.is_relative()
            && let Some(dir) = path.parent()
        {
            cfg.registry = Some(dir.join(registry));
        }
        cfg.source = Some(path.to_owned());
        Ok(cfg)
    }

    /// Reads the enterprise registry the configuration names, if any.
    pub fn load_registry(&self) -> Result<Option<Registry>, ConfigError> {
        let Some(path) = &self.registry else {
            return Ok(None);
        };
        let what = match &self.source {
            Some(source) => format!(
                "the enterprise registry (key `registry` in {})",
                source.display()
            ),
            None => "the enterprise registry".to_owned(),
        };
        let text = read(path, &what)?;
        parse(&path.display().to_string(), &text).map(Some)
    }

    /// The codec limits this configuration sets.
    pub fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.limits.max_bytes,
            max_depth: self.limits.max_depth,
            ..Limits::default()
        }
    }
}

fn read(path: &Path, what: &str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        what: what.to_owned(),
        reason: e.to_string(),
    })
}

/// The sentence of an engine configuration refusal, without the engine's
/// own prefix.
fn engine_message(e: EngineError) -> String {
    match e {
        EngineError::Config(message) => message,
        other => other.to_string(),
    }
}

/// Deserializes TOML text; an error names the position and the key.
fn parse<T: for<'de> Deserialize<'de>>(path: &str, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let location = e
            .span()
            .and_then(|span| locate(text, span.start))
            .map(|(line, column, key)| match key {
                Some(key) => format!(":{line}:{column}: {key}"),
                None => format!(":{line}:{column}"),
            })
            .unwrap_or_default();
        ConfigError::Parse {
            path: path.to_owned(),
            location,
            // serde says "field" and "variant" for what a TOML file calls a
            // key and a value.
            message: e
                .message()
                .trim_end()
                .replacen("unknown field", "unknown key", 1)
                .replacen("unknown variant", "unknown value", 1),
        }
    })
}

/// The 1-based line and column of byte `offset`, and the dotted key written
/// there (`limits.max_bytes`, `enterprise[1].roles`, `limit` for a table
/// header), when the line has one.
fn locate(text: &str, offset: usize) -> Option<(usize, usize, Option<String>)> {
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i.saturating_add(1));
    let line_no = before.matches('\n').count().saturating_add(1);
    let column = before.get(line_start..)?.chars().count().saturating_add(1);
    // The table the line belongs to: the last header at or above it, with
    // the index of an array-of-tables entry.
    let mut table: Option<String> = None;
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut current_line = "";
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(name) = trimmed
            .strip_prefix("[[")
            .and_then(|r| r.split_once("]]"))
            .map(|(n, _)| n.trim().to_owned())
        {
            let n = counts.entry(name.clone()).or_insert(0);
            table = Some(format!("{name}[{n}]"));
            *n = n.saturating_add(1);
        } else if let Some(name) = trimmed
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .map(|(n, _)| n.trim().to_owned())
        {
            if i.saturating_add(1) == line_no {
                // The error is in the header itself: an unknown table.
                return Some((line_no, column, Some(name)));
            }
            table = Some(name);
        }
        if i.saturating_add(1) == line_no {
            current_line = line;
            break;
        }
    }
    let key = current_line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_owned())
        .filter(|k| !k.is_empty() && !k.starts_with('#'))
        .map(|k| match &table {
            Some(t) => format!("{t}.{k}"),
            None => k,
        });
    Some((line_no, column, key))
}
