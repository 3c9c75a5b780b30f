//! The `check` command: read files and folders, decode and validate every
//! message, run the cross-document engine over what was given, report.
//!
//! File walking and reading is the only I/O here; [`inspect_bytes`] and
//! everything it calls are pure.

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::codec::{self, CodecError, Limits};
use crate::diag::Diagnostic;
use std::collections::HashMap;

use crate::engine::{DocKind, Engine, InboundId, MemoryLedger, QuotaLedger, SetReport};
use crate::model::{Message, document_key};
use crate::schema::{Severity, rule};
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
    let decoded = match codec::decode_with(bytes, limits) {
        Ok(d) => d,
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
        doc.status = status_of(doc.errors, doc.warnings);
    }
    FileReport {
        documents,
        diagnostics: out,
        message: Some(decoded.message),
    }
}

/// One `check` run over many files: every file is decoded and validated,
/// every document without errors goes to the cross-document engine, and
/// the documents of a failed set count its violations as errors. Pure:
/// files are read by the caller ([`inspect_path`]).
#[derive(Debug)]
pub struct Checker<L: QuotaLedger = MemoryLedger> {
    engine: Engine<L>,
    now_ms: u64,
    /// File name of each inbound message (its id is the position).
    files: Vec<String>,
    /// Document count of each inbound message.
    counts: Vec<usize>,
    documents: Vec<DocumentReport>,
    diagnostics: Vec<DiagnosticReport>,
    /// Where each inbound document's report is in `documents`.
    places: HashMap<InboundId, usize>,
}

/// What a [`Checker`] found.
#[derive(Debug)]
pub struct CheckReport {
    /// Every document.
    pub documents: Vec<DocumentReport>,
    /// Every diagnostic, file by file.
    pub diagnostics: Vec<DiagnosticReport>,
    /// Every order set.
    pub sets: Vec<SetReport>,
    /// Each set member's source as a file name (`file` or `file#n`).
    pub sources: HashMap<InboundId, String>,
}

impl CheckReport {
    /// The file name a member came from.
    pub fn source(&self, id: InboundId) -> String {
        self.sources
            .get(&id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    /// A set as JSON, each member's `source` its file name.
    pub fn set_json(&self, set: &SetReport) -> serde_json::Value {
        let mut v = serde_json::to_value(set).unwrap_or(serde_json::Value::Null);
        if let Some(members) = v.get_mut("members").and_then(|m| m.as_array_mut()) {
            for (json, m) in members.iter_mut().zip(&set.members) {
                if let Some(obj) = json.as_object_mut() {
                    obj.insert("source".to_owned(), self.source(m.source).into());
                }
            }
        }
        v
    }
}

impl<L: QuotaLedger> Checker<L> {
    /// A run feeding `engine`, every document received at `now_ms`.
    pub fn new(engine: Engine<L>, now_ms: u64) -> Checker<L> {
        Checker {
            engine,
            now_ms,
            files: Vec::new(),
            counts: Vec::new(),
            documents: Vec::new(),
            diagnostics: Vec::new(),
            places: HashMap::new(),
        }
    }

    /// Adds one file's report and submits its documents to the engine.
    pub fn add(&mut self, file: &str, report: FileReport) {
        let message = u64::try_from(self.files.len()).unwrap_or(u64::MAX);
        self.files.push(file.to_owned());
        self.counts.push(report.documents.len());
        let first = self.documents.len();
        for (n, d) in report.documents.into_iter().enumerate() {
            let id = InboundId::new(message, u32::try_from(n).unwrap_or(u32::MAX));
            self.places.insert(id, first.saturating_add(n));
            self.documents.push(d);
        }
        self.diagnostics.extend(report.diagnostics);
        if let Some(m) = &report.message {
            self.submit(file, message, m);
        }
    }

    fn submit(&mut self, file: &str, message: u64, m: &Message) {
        let business = m.business();
        if DocKind::of(business.spec).is_none() {
            return;
        }
        for (n, doc) in business.documents.iter().enumerate() {
            let id = InboundId::new(message, u32::try_from(n).unwrap_or(u32::MAX));
            let place = self.places.get(&id).copied();
            // A document refused by validation is not declared.
            if place
                .and_then(|p| self.documents.get(p))
                .is_some_and(|d| d.errors > 0)
            {
                continue;
            }
            let key = document_key(business.spec, doc);
            let finding = match self.engine.submit(business.spec, doc, id, self.now_ms) {
                Err(e) => Some((e.rule(), e.to_string())),
                Ok(done) => done.duplicate_of.map(|first| {
                    (
                        rule::SET_DUPLICATE,
                        format!(
                            "the same {} as {} (same business key and content); counted once",
                            business.spec.name,
                            self.label(first)
                        ),
                    )
                }),
            };
            let Some((rule, message)) = finding else {
                continue;
            };
            if let Some(d) = place.and_then(|p| self.documents.get_mut(p)) {
                d.count(rule.severity);
            }
            self.diagnostics.push(DiagnosticReport {
                file: file.to_owned(),
                ty: business.spec.name.to_owned(),
                key,
                rule: rule.code,
                severity: rule.severity,
                field: String::new(),
                message,
            });
        }
    }

    /// The file name of an inbound document (`file`, or `file#n` when its
    /// message holds several).
    fn label(&self, id: InboundId) -> String {
        let at = usize::try_from(id.message).unwrap_or(usize::MAX);
        match (self.files.get(at), self.counts.get(at)) {
            (Some(f), Some(&n)) if n > 1 => {
                format!("{f}#{}", u64::from(id.document).saturating_add(1))
            }
            (Some(f), _) => f.clone(),
            _ => id.to_string(),
        }
    }

    /// The engine (for receipts).
    pub fn engine(&self) -> &Engine<L> {
        &self.engine
    }

    /// Ends the run: every member of a failed set counts the set's
    /// violations as errors.
    pub fn finish(&mut self) -> CheckReport {
        let sets = self.engine.reports();
        let mut sources = HashMap::new();
        for set in &sets {
            for m in &set.members {
                sources.insert(m.source, self.label(m.source));
                if let Some(d) = self
                    .places
                    .get(&m.source)
                    .and_then(|&p| self.documents.get_mut(p))
                {
                    for v in set.violations() {
                        d.count(v.severity);
                    }
                }
            }
        }
        CheckReport {
            documents: std::mem::take(&mut self.documents),
            diagnostics: std::mem::take(&mut self.diagnostics),
            sets,
            sources,
        }
    }
}

impl DocumentReport {
    /// Counts one more finding of `severity` and updates the status.
    fn count(&mut self, severity: Severity) {
        match severity {
            Severity::Error => self.errors = self.errors.saturating_add(1),
            Severity::Warning => self.warnings = self.warnings.saturating_add(1),
            Severity::Info => {}
        }
        self.status = status_of(self.errors, self.warnings);
    }
}

fn status_of(errors: usize, warnings: usize) -> &'static str {
    if errors > 0 {
        "error"
    } else if warnings > 0 {
        "warning"
    } else {
        "ok"
    }
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
