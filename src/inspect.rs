//! The `check` command: read files and folders, decode and validate every
//! message, run the cross-document engine over what was given, report.
//!
//! File walking and reading is the only I/O here; [`inspect_bytes`] and
//! everything it calls are pure. A path that cannot be checked (a folder
//! without `*.xml` files, a FIFO or device, a dangling link, a file without
//! read permission) is a diagnostic about that path, never the end of the run.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::codec::{self, CodecError, Content, Limits, Unsupported};
use crate::diag::Diagnostic;
use std::collections::HashMap;

use crate::engine::{DocKind, Engine, InboundId, MemoryLedger, QuotaLedger, SetReport};
use crate::model::{Message, document_key};
use crate::schema::{MessageType, RuleInfo, Severity, rule};
use crate::tax::{Applied, BillUpdate, TaxBill};
use crate::track;
use crate::validate::{self, Mode};

/// A usage failure of the `check` command (exit status 2). A file or folder
/// that exists but cannot be read is not one: it is reported as a diagnostic
/// (`UNREADABLE`) and the other paths are still checked.
#[derive(Debug, Error)]
pub enum InspectError {
    /// A path given on the command line does not exist.
    #[error("{path}: no such file or folder")]
    Missing {
        /// The path.
        path: PathBuf,
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

/// How `check --verify-signatures` looks at signatures.
#[derive(Debug, Clone, Copy)]
pub struct SignatureCheck<'a> {
    /// The registry whose certificates are trusted.
    pub registry: Option<&'a crate::engine::Registry>,
    /// The policy.
    pub mode: crate::sig::Mode,
    /// The time a document without `appTime` is judged at.
    pub now_ms: u64,
}

/// Decodes and validates one file's bytes. Pure.
pub fn inspect_bytes(file: &str, bytes: &[u8], limits: &Limits) -> FileReport {
    inspect_bytes_with(file, bytes, limits, None)
}

/// [`inspect_bytes`], verifying signatures when `signatures` says how. Pure.
pub fn inspect_bytes_with(
    file: &str,
    bytes: &[u8],
    limits: &Limits,
    signatures: Option<&SignatureCheck<'_>>,
) -> FileReport {
    let decoded = match codec::decode_any_with(bytes, limits) {
        Ok(Content::Message(d)) => d,
        Ok(Content::Unsupported(u)) => return unsupported_report(file, &u),
        Err(e) => return failure_report(file, &e),
    };
    let mut diagnostics: Vec<Diagnostic> = decoded.diagnostics;
    diagnostics.extend(validate::validate(&decoded.message, Mode::Read));
    if let Some(s) = signatures {
        diagnostics.extend(crate::sig::check(
            &decoded.message,
            bytes,
            s.registry,
            s.mode,
            s.now_ms,
        ));
    }
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
    /// The tax bills (CEB816/CEB818) by taxNo, in the order first seen.
    bills: Vec<BillReport>,
    /// The inventories (CEB621) given, by `copNo=…`, `orderNo=…` and
    /// `invtNo=…`: where a tax bill links to.
    inventories: HashMap<String, String>,
    /// invtNo → copNo, from the CEB622 receipts given (customs numbers an
    /// inventory in its receipt, not the enterprise in its CEB621).
    numbered: HashMap<String, String>,
}

/// A tax bill as `check` saw it.
#[derive(Debug, Clone, Serialize)]
pub struct BillReport {
    /// The bill after every receipt given.
    #[serde(flatten)]
    pub bill: TaxBill,
    /// The file of the inventory (CEB621) it bills, when one was given:
    /// the one whose copNo a CEB622 given numbered with the bill's invtNo,
    /// else one carrying that invtNo, else one with the bill's orderNo.
    pub inventory: Option<String>,
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
    /// Every tax bill (CEB816/CEB818), in the order first seen.
    pub bills: Vec<BillReport>,
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
            bills: Vec::new(),
            inventories: HashMap::new(),
            numbered: HashMap::new(),
        }
    }

    /// Adds a finding about a path that is not a file to check (a folder
    /// without XML files, a FIFO, an unreadable file).
    pub fn note(&mut self, finding: DiagnosticReport) {
        self.diagnostics.push(finding);
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
        let spec = business.spec;
        if matches!(spec.ty, MessageType::Ceb621 | MessageType::Ceb622) {
            for (n, doc) in business.documents.iter().enumerate() {
                let id = InboundId::new(message, u32::try_from(n).unwrap_or(u32::MAX));
                let label = self.label_of(id, file);
                let get = |name: &str| track::field(doc, spec, name);
                if spec.ty == MessageType::Ceb621 {
                    // The inventory itself: by copNo and orderNo (and by an
                    // invtNo it carries).
                    for name in ["copNo", "orderNo", "invtNo"] {
                        if let Some(v) = get(name) {
                            self.inventories
                                .entry(format!("{name}={v}"))
                                .or_insert_with(|| label.clone());
                        }
                    }
                } else if let (Some(invt), Some(cop)) = (get("invtNo"), get("copNo")) {
                    // Customs' receipt: which copNo got which invtNo.
                    self.numbered.entry(invt).or_insert(cop);
                }
            }
        }
        if matches!(spec.ty, MessageType::Ceb816 | MessageType::Ceb818) {
            for (n, doc) in business.documents.iter().enumerate() {
                let id = InboundId::new(message, u32::try_from(n).unwrap_or(u32::MAX));
                if let Some(update) = BillUpdate::of(spec, doc) {
                    self.bill(file, id, &document_key(spec, doc), &update);
                }
            }
            return;
        }
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

    /// Applies one tax-bill receipt: a new bill, a status change, or a
    /// `TAX_BILL_STATUS` finding when it would move the bill back.
    fn bill(&mut self, file: &str, id: InboundId, key: &str, update: &BillUpdate) {
        let refused = match self
            .bills
            .iter_mut()
            .find(|b| b.bill.tax_no == update.tax_no)
        {
            Some(b) => match b.bill.apply(update) {
                Applied::Refused(why) => Some(why),
                Applied::Changed | Applied::Repeated => None,
            },
            None => match TaxBill::new(update) {
                Ok(bill) => {
                    self.bills.push(BillReport {
                        bill,
                        inventory: None,
                    });
                    None
                }
                Err(why) => Some(why),
            },
        };
        if let Some(why) = refused {
            let field = if update.ty == "CEB816" {
                "TaxHeadRd/status"
            } else {
                "TaxHeadStatus/status"
            };
            self.diagnostics.push(DiagnosticReport {
                file: file.to_owned(),
                ty: update.ty.clone(),
                key: key.to_owned(),
                rule: rule::TAX_BILL_STATUS.code,
                severity: rule::TAX_BILL_STATUS.severity,
                field: field.to_owned(),
                message: format!("tax bill {}: {why}", update.tax_no),
            });
            if let Some(d) = self
                .places
                .get(&id)
                .and_then(|&p| self.documents.get_mut(p))
            {
                d.count(rule::TAX_BILL_STATUS.severity);
            }
        }
    }

    /// The label of a document whose message is being added (not yet
    /// counted when its file is the last one).
    fn label_of(&self, id: InboundId, file: &str) -> String {
        match self.counts.last() {
            Some(&n) if n > 1 => format!("{file}#{}", u64::from(id.document).saturating_add(1)),
            _ => file.to_owned(),
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
        let mut bills = std::mem::take(&mut self.bills);
        for b in &mut bills {
            let find = |k: String| self.inventories.get(&k).cloned();
            let invt = &b.bill.invt_no;
            b.inventory = self
                .numbered
                .get(invt)
                .and_then(|cop| find(format!("copNo={cop}")))
                .or_else(|| find(format!("invtNo={invt}")))
                .or_else(|| {
                    b.bill
                        .order_no
                        .as_ref()
                        .and_then(|o| find(format!("orderNo={o}")))
                });
        }
        CheckReport {
            documents: std::mem::take(&mut self.documents),
            diagnostics: std::mem::take(&mut self.diagnostics),
            sets,
            sources,
            bills,
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

/// One thing the `check` command was given or found, in walk order.
#[derive(Debug, Clone)]
pub enum Input {
    /// A file to inspect with [`inspect_path`]: a path named on the command line
    /// that is not a folder, or a `*.xml` entry of a folder (whatever its type:
    /// [`inspect_path`] reports a FIFO, a device or a dangling link).
    File(PathBuf),
    /// A `*.xml` entry of a folder whose directory entry says it is a
    /// regular file (not a link): read with [`inspect_entry`], one open and
    /// no path lookup of its type first.
    Regular(PathBuf),
    /// A finding about a folder: it holds no `*.xml` file (`NO_FILES`) or
    /// cannot be listed (`UNREADABLE`).
    Finding(DiagnosticReport),
}

/// Expands paths into what to check: files as given, folders recursively
/// (`*.xml`, any case), each folder's entries in name order. Symbolic links
/// to folders are followed once (a link back into a folder being walked is
/// not walked again). Only a path that does not exist at all is an error; a
/// folder that cannot be listed or holds no `*.xml` file is a finding.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<Input>, InspectError> {
    let mut out = Vec::new();
    for path in paths {
        // A dangling link is there, just unreadable: only a path that is not
        // even a link is missing.
        if let Err(e) = std::fs::symlink_metadata(path)
            && e.kind() == std::io::ErrorKind::NotFound
        {
            return Err(InspectError::Missing { path: path.clone() });
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let before = out.len();
                let mut seen = HashSet::new();
                walk(path, &mut out, &mut seen);
                if out.len() == before {
                    out.push(Input::Finding(finding(
                        path,
                        rule::NO_FILES,
                        "no *.xml files in this folder (searched recursively)".to_owned(),
                    )));
                }
            }
            // Files, FIFOs, devices and dangling links alike: inspect_path
            // looks at the type before opening anything.
            _ => out.push(Input::File(path.clone())),
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<Input>, seen: &mut HashSet<PathBuf>) {
    if let Ok(canonical) = std::fs::canonicalize(dir)
        && !seen.insert(canonical)
    {
        return;
    }
    let entries: std::io::Result<Vec<std::fs::DirEntry>> =
        std::fs::read_dir(dir).and_then(|rd| rd.collect());
    let mut entries = match entries {
        Ok(entries) => entries,
        Err(e) => {
            out.push(Input::Finding(finding(
                dir,
                rule::UNREADABLE,
                format!("the folder cannot be listed: {e}"),
            )));
            return;
        }
    };
    entries.sort_by_key(std::fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        // `DirEntry::file_type` does not follow links; a link counts as a
        // folder only if its target is one.
        // The entry's own type (from the directory listing, no lookup):
        // a regular file is read with one open.
        let ty = entry.file_type().ok();
        let is_dir = match ty {
            Some(t) if t.is_symlink() => path.is_dir(),
            Some(t) => t.is_dir(),
            None => false,
        };
        if is_dir {
            walk(&path, out, seen);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
        {
            out.push(match ty {
                Some(t) if t.is_file() => Input::Regular(path),
                _ => Input::File(path),
            });
        }
    }
}

/// Reads and inspects one file. Never opens anything but a regular file (a
/// FIFO, socket or device is reported as `NOT_A_FILE`), refuses a file over
/// the size limit as `TOO_LARGE` from its metadata, and reports a file that
/// cannot be read (permissions, a dangling link) as `UNREADABLE`.
pub fn inspect_path(path: &Path, limits: &Limits) -> FileReport {
    inspect_file(path, limits, false, None)
}

/// [`inspect_path`] for a path its directory entry says is a regular file
/// ([`Input::Regular`]): opened at once (without blocking), its type and
/// size taken from the open file, so one open and no lookup by path.
pub fn inspect_entry(path: &Path, limits: &Limits) -> FileReport {
    inspect_file(path, limits, true, None)
}

/// [`inspect_path`] (`regular`: [`inspect_entry`]), verifying signatures
/// when `signatures` says how.
pub fn inspect_file(
    path: &Path,
    limits: &Limits,
    regular: bool,
    signatures: Option<&SignatureCheck<'_>>,
) -> FileReport {
    match read_regular_file(path, limits, regular) {
        Ok(bytes) => inspect_bytes_with(&path.display().to_string(), &bytes, limits, signatures),
        Err(finding) => FileReport {
            documents: Vec::new(),
            diagnostics: vec![*finding],
            message: None,
        },
    }
}

/// The bytes of a regular file within the size limit, or the finding saying
/// why there are none.
fn read_regular_file(
    path: &Path,
    limits: &Limits,
    regular: bool,
) -> Result<Vec<u8>, Box<DiagnosticReport>> {
    use std::io::Read as _;
    let limit = u64::try_from(limits.max_bytes).unwrap_or(u64::MAX);
    let unreadable = |e: std::io::Error| {
        let message = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() && e.kind() == std::io::ErrorKind::NotFound => {
                match std::fs::read_link(path) {
                    Ok(target) => format!(
                        "dangling symbolic link to {} (the target does not exist)",
                        target.display()
                    ),
                    Err(_) => "dangling symbolic link (the target does not exist)".to_owned(),
                }
            }
            _ => format!("cannot be read: {e}"),
        };
        Box::new(finding(path, rule::UNREADABLE, message))
    };
    let not_a_file = |t: std::fs::FileType| {
        Box::new(finding(
            path,
            rule::NOT_A_FILE,
            format!(
                "{} is not a regular file: skipped without opening it",
                describe_type(t)
            ),
        ))
    };
    let too_large = |size: u64| {
        Box::new(codec_finding(
            &path.display().to_string(),
            &CodecError::TooLarge {
                size: usize::try_from(size).unwrap_or(usize::MAX),
                limit: limits.max_bytes,
            },
        ))
    };
    // The type first (following links), so a FIFO or device is never
    // opened; a directory entry that said "regular file" already told.
    if !regular {
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        if !meta.is_file() {
            return Err(not_a_file(meta.file_type()));
        }
        if meta.len() > limit {
            return Err(too_large(meta.len()));
        }
    }
    // Opened without blocking and checked (again): the path may have been
    // replaced by a FIFO since.
    let file = open_nonblocking(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(not_a_file(meta.file_type()));
    }
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > limit {
        // It grew since its metadata was read.
        return Err(too_large(read));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// `a FIFO`, `a character device`…: what a non-regular file is.
fn describe_type(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    if t.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}

/// A finding about a path (no message type, no business key) at the rule's
/// default severity.
fn finding(path: &Path, rule: &'static RuleInfo, message: String) -> DiagnosticReport {
    DiagnosticReport {
        file: path.display().to_string(),
        ty: String::new(),
        key: String::new(),
        rule: rule.code,
        severity: rule.severity,
        field: String::new(),
        message,
    }
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
        diagnostics: vec![codec_finding(file, e)],
        message: None,
    }
}

fn codec_finding(file: &str, e: &CodecError) -> DiagnosticReport {
    DiagnosticReport {
        file: file.to_owned(),
        ty: String::new(),
        key: String::new(),
        rule: e.rule().code,
        severity: Severity::Error,
        field: String::new(),
        message: e.to_string(),
    }
}
