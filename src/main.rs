//! The `customs-gateway` binary: argument parsing and output around the library.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use customs_gateway::config::Config;
use customs_gateway::inspect::{self, DiagnosticReport, DocumentReport};
use customs_gateway::schema::Severity;

/// A gateway between cross-border e-commerce parties and China Customs.
#[derive(Parser)]
#[command(name = "customs-gateway", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate customs message files and folders (recursively, *.xml).
    ///
    /// Exit status: 0 when no document has an error, 1 when any has, 2 on a
    /// usage or I/O failure.
    Check {
        /// Print exactly one JSON object: {"documents", "diagnostics", "sets"}.
        #[arg(long)]
        json: bool,
        /// Configuration file (TOML).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Files or folders to check.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("customs-gateway: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check {
            json,
            config,
            paths,
        } => check(json, config, &paths),
    }
}

fn check(json: bool, config: Option<PathBuf>, paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let config = match config {
        Some(path) => Config::load(&path)?,
        None => Config::default(),
    };
    let limits = config.limits();
    let files = inspect::collect_files(paths)?;
    let mut documents: Vec<DocumentReport> = Vec::new();
    let mut diagnostics: Vec<DiagnosticReport> = Vec::new();
    for file in &files {
        let report = inspect::inspect_path(file, &limits)?;
        documents.extend(report.documents);
        diagnostics.extend(report.diagnostics);
    }
    let failed = diagnostics.iter().any(|d| d.severity == Severity::Error);
    let mut out = std::io::stdout().lock();
    if json {
        let value = serde_json::json!({
            "documents": documents,
            "diagnostics": diagnostics,
            "sets": [],
        });
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
    } else {
        render_text(&mut out, files.len(), &documents, &diagnostics)?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn render_text(
    out: &mut impl std::io::Write,
    n_files: usize,
    documents: &[DocumentReport],
    diagnostics: &[DiagnosticReport],
) -> std::io::Result<()> {
    for d in diagnostics {
        let what = match (d.ty.is_empty(), d.key.is_empty()) {
            (true, _) => String::new(),
            (false, true) => format!(" {}", d.ty),
            (false, false) => format!(" {} {}", d.ty, d.key),
        };
        let field = if d.field.is_empty() {
            String::new()
        } else {
            format!(" {}:", d.field)
        };
        writeln!(
            out,
            "{}:{what}: {} [{}]{field} {}",
            d.file,
            d.severity.as_str(),
            d.rule,
            d.message
        )?;
    }
    let count = |s: &str| documents.iter().filter(|d| d.status == s).count();
    let unreadable = diagnostics.iter().filter(|d| d.ty.is_empty()).count();
    writeln!(
        out,
        "{n_files} files, {} documents: {} ok, {} with warnings, {} with errors; {unreadable} files unreadable",
        documents.len(),
        count("ok"),
        count("warning"),
        count("error"),
    )
}
