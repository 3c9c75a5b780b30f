//! Configuration files (TOML), read through the `config` crate.
//!
//! Unknown keys are refused so a typo never silently falls back to a default.

use std::path::Path;

use serde::Deserialize;
use thiserror::Error;

use crate::codec::Limits;
use crate::engine::{EngineConfig, Registry};

/// Why a configuration file was refused.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read or parsed.
    #[error("{path}: {source}")]
    Load {
        /// The file.
        path: String,
        /// The cause.
        source: config::ConfigError,
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
    pub registry: Option<std::path::PathBuf>,
}

impl Config {
    /// Loads a TOML file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let cfg: Config = config::Config::builder()
            .add_source(config::File::from(path).format(config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|source| ConfigError::Load {
                path: name.clone(),
                source,
            })?;
        cfg.engine.check().map_err(|e| ConfigError::Invalid {
            path: name.clone(),
            message: e.to_string(),
        })?;
        let mut cfg = cfg;
        if let Some(registry) = &cfg.registry
            && registry.is_relative()
            && let Some(dir) = path.parent()
        {
            cfg.registry = Some(dir.join(registry));
        }
        if cfg.limits.max_bytes == 0 || cfg.limits.max_depth < 4 {
            return Err(ConfigError::Invalid {
                path: name,
                message: "limits.max_bytes must be positive and limits.max_depth at least 4"
                    .to_owned(),
            });
        }
        Ok(cfg)
    }

    /// Reads the enterprise registry the configuration names, if any.
    pub fn load_registry(&self) -> Result<Option<Registry>, ConfigError> {
        let Some(path) = &self.registry else {
            return Ok(None);
        };
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
            path: name.clone(),
            message: format!("cannot read the registry: {e}"),
        })?;
        Registry::from_toml(&text)
            .map(Some)
            .map_err(|e| ConfigError::Invalid {
                path: name,
                message: e.to_string(),
            })
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
