//! The `check` command: read files and folders, decode and validate every
//! message, run the cross-document engine over what was given, report.
//!
//! File walking and reading is the only I/O here; [`inspect_bytes`] and
//! everything it calls are pure.

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::codec::{self, CodecError, Content, Limits, Unsupported};
use crate::diag::Diagnostic;
use crate::engine::{DocKind, Engine, QuotaLedger};
use crate::model::{Message, document_key};
use crate::schema::Severity;
use crate::validate::{self, Mode};

/// An I/O or usage failure of the `check` command (exit status 2).
#[derive(Debug, Error)]
pub enum InspectError {
    /// A path given on the command line does not exist.
    #[error("{path}: no such file or folder")]
    Missing {
        /// The path.
        path: PathBuf,
    },
    /// Reading a file or folder failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// One business document found in a file.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentReport {
    /// The file it came from.
    pub file: String,
    /// Message type (`CEB311`).
    #[serde(rename = "type")]
    pub ty: String,
    /// Business key (`orderNo=…,ebpCode=…`).
    pub key: String,
    /// Its position in the message (0-based).
    pub index: usize,
    /// `ok`, `warning` or `error`: the worst diagnostic.
    pub status: &'static str,
    /// How many errors.
    pub errors: usize,
    /// How many warnings.
    pub warnings: usize,
}

/// One diagnostic, located.
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosticReport {
    /// The file.
    pub file: String,
    /// Message type, empty when the file could not be read as a message.
    #[serde(rename = "type")]
    pub ty: String,
    /// Business key of the document, empty for message-level findings.
    pub key: String,
    /// Rule code.
    pub rule: &'static str,
    /// `error`, `warning` or `info`.
    pub severity: Severity,
    /// Element path (`OrderHead/acturalPaid`).
    pub field: String,
    /// A plain sentence.
    pub message: String,
}

/// What one file holds.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The documents.
    pub documents: Vec<DocumentReport>,
    /// The diagnostics.
    pub diagnostics: Vec<DiagnosticReport>,
    /// The decoded message, when the file could be read as one.
    pub message: Option<Message>,
}

/// Decodes and validates one file's bytes. Pure.
pub fn inspect_bytes(file: &str, bytes: &[u8], limits: &Limits) -> FileReport {
    let decoded = match codec::decode_any_with(bytes, limits) {
        Ok(Content::Message(d)) => d,
        Ok(Content::Unsupported(u)) => return unsupported_report(file, &u),
        Err(e) => return failure_report(file, &e),
    };
    let mut diagnostics: Vec<Diagnostic> = decoded.diagnostics;
    diagnostics.extend(validate::validate(&decoded.message, Mode::Read));
    let envelope = &decoded.message;
    let business = envelope.business();
    let ty = business.spec.name.to_owned();
    let keys: Vec<String> = business
        .documents
        .iter()
        .map(|d| document_key(business.spec, d))
        .collect();
    let mut documents: Vec<DocumentReport> = keys
        .iter()
        .enumerate()
        .map(|(index, key)| DocumentReport {
            file: file.to_owned(),
            ty: ty.clone(),
            key: key.clone(),
            index,
            status: "ok",
            errors: 0,
            warnings: 0,
        })
        .collect();
    let mut out = Vec::with_capacity(diagnostics.len());
    for d in diagnostics {
        let (ty, key) = match d.document {
            Some(i) => (ty.clone(), keys.get(i).cloned().unwrap_or_default()),
            None if envelope.dxp.is_some() && d.path.starts_with(envelope.spec.root) => {
                (envelope.spec.name.to_owned(), String::new())
            }
            None => (ty.clone(), String::new()),
        };
        // A message-level finding concerns every document of the message.
        let targets: Vec<usize> = match d.document {
            Some(i) => vec![i],
            None => (0..documents.len()).collect(),
        };
        for i in targets {
            if let Some(doc) = documents.get_mut(i) {
                match d.severity {
                    Severity::Error => doc.errors += 1,
                    Severity::Warning => doc.warnings += 1,
                    Severity::Info => {}
                }
            }
        }
        out.push(DiagnosticReport {
            file: file.to_owned(),
            ty,
            key,
            rule: d.rule.code,
            severity: d.severity,
            field: d.path,
            message: d.message,
        });
    }
    for doc in &mut documents {
        doc.status = if doc.errors > 0 {
            "error"
        } else if doc.warnings > 0 {
            "warning"
        } else {
            "ok"
        };
    }
    FileReport {
        documents,
        diagnostics: out,
        message: Some(decoded.message),
    }
}

/// Feeds the order, payment, waybill and inventory documents of a message to
/// the cross-document engine. A document the engine refuses (a change for an
/// order it never saw declared twice, an unknown appType) becomes a
/// diagnostic. Pure.
pub fn submit_to_engine<L: QuotaLedger>(
    engine: &mut Engine<L>,
    file: &str,
    message: &Message,
    now_ms: u64,
) -> Vec<DiagnosticReport> {
    let business = message.business();
    let mut out = Vec::new();
    if DocKind::of(business.spec).is_none() {
        return out;
    }
    for (i, doc) in business.documents.iter().enumerate() {
        let source = if business.documents.len() > 1 {
            format!("{file}#{}", i + 1)
        } else {
            file.to_owned()
        };
        if let Err(e) = engine.submit(business.spec, doc, &source, now_ms) {
            out.push(DiagnosticReport {
                file: file.to_owned(),
                ty: business.spec.name.to_owned(),
                key: document_key(business.spec, doc),
                rule: e.rule().code,
                severity: Severity::Error,
                field: String::new(),
                message: e.to_string(),
            });
        }
    }
    out
}

/// Expands paths into the files to check: files as given, folders recursively
/// (`*.xml`, any case), each folder's entries in name order.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InspectError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => InspectError::Missing { path: path.clone() },
            _ => InspectError::Io {
                path: path.clone(),
                source: e,
            },
        })?;
        if meta.is_dir() {
            walk(path, &mut out)?;
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InspectError> {
    let io = |source| InspectError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads and inspects one file. A file over the size limit is reported as
/// `TOO_LARGE` without being read.
pub fn inspect_path(path: &Path, limits: &Limits) -> Result<FileReport, InspectError> {
    let io = |source| InspectError::Io {
        path: path.to_owned(),
        source,
    };
    let name = path.display().to_string();
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > u64::try_from(limits.max_bytes).unwrap_or(u64::MAX) {
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        return Ok(failure_report(
            &name,
            &CodecError::TooLarge {
                size,
                limit: limits.max_bytes,
            },
        ));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    Ok(inspect_bytes(&name, &bytes, limits))
}

/// A customs message the gateway does not model: one document (type = the
/// root element, key = the key found), ok, with its one info diagnostic.
fn unsupported_report(file: &str, u: &Unsupported) -> FileReport {
    let d = u.diagnostic();
    FileReport {
        documents: vec![DocumentReport {
            file: file.to_owned(),
            ty: u.root.clone(),
            key: u.key_text(),
            index: 0,
            status: "ok",
            errors: 0,
            warnings: 0,
        }],
        diagnostics: vec![DiagnosticReport {
            file: file.to_owned(),
            ty: u.root.clone(),
            key: u.key_text(),
            rule: d.rule.code,
            severity: d.severity,
            field: d.path,
            message: d.message,
        }],
        message: None,
    }
}

fn failure_report(file: &str, e: &CodecError) -> FileReport {
    FileReport {
        documents: Vec::new(),
        diagnostics: vec![DiagnosticReport {
            file: file.to_owned(),
            ty: String::new(),
            key: String::new(),
            rule: e.rule().code,
            severity: Severity::Error,
            field: String::new(),
            message: e.to_string(),
        }],
        message: None,
    }
}
