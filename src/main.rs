//! The `customs-gateway` binary: argument parsing and output around the library.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use customs_gateway::admin::mail_cli::MailQuery;
use customs_gateway::codec::{self, EncodeOptions};
use customs_gateway::config::Config;
use customs_gateway::engine::{self, Engine, Status};
use customs_gateway::inspect;
use customs_gateway::schema::{Severity, rule};
use customs_gateway::tax;

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
    /// Exit status: 0 when no document has an error, 1 when any has (a file
    /// that cannot be read counts as one with an error), 2 on a usage failure
    /// (a path that does not exist, a bad configuration file).
    Check {
        /// Print exactly one JSON object: {"documents", "diagnostics", "sets",
        /// "tax_bills"}.
        #[arg(long)]
        json: bool,
        /// Configuration file (TOML).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Write, for every document of a failed order set, the receipt customs
        /// would send back (CEB312/412/512/622, returnStatus 100) into DIR.
        #[arg(long, value_name = "DIR")]
        receipts: Option<PathBuf>,
        /// Verify the declarations' signatures against the certificates of
        /// the configuration's registry, under MODE (`warn`: findings are
        /// warnings; `require`: errors; `off`), or without a value under the
        /// configuration's `[signature] mode` (`warn` when that is `off`).
        #[arg(long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
        verify_signatures: Option<String>,
        /// Files or folders to check.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    #[command(flatten)]
    Admin(customs_gateway::admin::cli::AdminCommand),
    /// The configuration: `config check`.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Submit message files and folders (recursively, *.xml) to a running
    /// gateway over its TCP protocol, pipelined, as a platform; prints one
    /// line per message with its acknowledgement.
    ///
    /// Each message's id is the SHA-256 of its bytes, so sending the same
    /// file again is answered as a duplicate with the first result.
    ///
    /// Exit status: 0 when every message was accepted, 1 when any was
    /// refused, 2 on a connection, TLS or authentication failure.
    Send {
        /// The gateway's TCP address (`[tcp] listen`).
        #[arg(long, value_name = "HOST:PORT")]
        addr: String,
        /// The platform id (`[[platform]] id`).
        #[arg(long, value_name = "ID")]
        platform: String,
        /// The file holding the platform's token.
        #[arg(long, value_name = "FILE")]
        token_file: PathBuf,
        /// Use TLS, trusting the CA certificate in this PEM file.
        #[arg(long, value_name = "PEM")]
        tls_ca: Option<PathBuf>,
        /// One JSON object per line: {"path", "id", "ack"}.
        #[arg(long)]
        json: bool,
        /// Files or folders to send.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Run the gateway: watch the senders' folders and the customs InBox,
    /// store, check and forward, until SIGINT or SIGTERM.
    ///
    /// Exit status: 0 after a clean stop, 2 when it cannot start (a bad
    /// configuration, the store locked by another process, the admin
    /// address in use) or stops on a store failure.
    Serve {
        /// Configuration file (TOML); relative paths in it are relative to it.
        #[arg(long, value_name = "FILE", default_value = "conf/gateway.toml")]
        config: PathBuf,
        /// Log format: `text` for people, `json` for machines.
        #[arg(long, value_name = "FORMAT", default_value = "text")]
        log_format: LogFormat,
    },
    /// Tax tools: calculators, rate tables, certificates and agreements.
    #[command(subcommand)]
    Tax(TaxCommand),
    /// Signatures: `signature keygen` makes a rehearsal key and certificate.
    #[command(subcommand)]
    Signature(SignatureCommand),
    /// Personal postal items, as their recipient sees them (asked of the
    /// running daemon by the recipient's phone).
    #[command(subcommand)]
    Mail(MailCommand),
    /// Play the import client and customs for a rehearsal: take what the
    /// gateway writes into the customs OutBox (moved to the SentBox, or the
    /// FailBox when unreadable) and answer it in the customs InBox with
    /// official receipts ([simulator] in the configuration), until SIGINT
    /// or SIGTERM.
    SimulateCustoms {
        /// Configuration file (TOML), the one `serve` uses.
        #[arg(long, value_name = "FILE", default_value = "conf/gateway.toml")]
        config: PathBuf,
    },
}

/// `config …`.
#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Check a configuration without starting anything: every key, path,
    /// address, token and password file, TLS file, email address, the
    /// registry and every subscription rule (as if made today), with the
    /// environment's overrides (CUSTOMS_GATEWAY__SECTION__KEY=…); print
    /// what it would run.
    ///
    /// Exit status: 0 when valid, 1 when invalid, 2 when the file cannot
    /// be read.
    Check {
        /// Configuration file (TOML).
        #[arg(long, value_name = "FILE", default_value = "conf/gateway.toml")]
        config: PathBuf,
        /// Print one JSON object: what it would run, or {"valid": false, "error"}.
        #[arg(long)]
        json: bool,
    },
}

/// `signature …`.
#[derive(Debug, Subcommand)]
enum SignatureCommand {
    /// Make a fresh key and a self-signed certificate for it, to rehearse
    /// `[signing]` and the registry's `certificates` before the e-port
    /// certificate is at hand (customs trusts only e-port certificates).
    ///
    /// Exit status: 0, 1 when a file exists already (nothing is
    /// overwritten) or cannot be written, 2 on a bad argument.
    Keygen {
        /// `rsa-sha1` (an RSA key) or `sm2-sm3` (an SM2 key).
        #[arg(long, value_name = "ALGORITHM")]
        algorithm: String,
        /// RSA key size.
        #[arg(long, default_value_t = 2048)]
        bits: usize,
        /// The serial number in hex (what `KeyName` says); random when absent.
        #[arg(long, value_name = "HEX")]
        serial: Option<String>,
        /// Subject (and issuer) of the certificate.
        #[arg(long, default_value = "CN=customs-gateway rehearsal,C=CN")]
        subject: String,
        /// The first day it is valid (`YYYY-MM-DD`, China Standard Time);
        /// today when absent. An earlier day lets it sign rehearsal
        /// messages dated before today.
        #[arg(long, value_name = "DATE")]
        valid_from: Option<String>,
        /// Days it is valid.
        #[arg(long, default_value_t = 365)]
        days: u64,
        /// Where to write the private key (PKCS#8 PEM, mode 0600).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Where to write the certificate (PEM).
        #[arg(long, value_name = "FILE")]
        certificate: PathBuf,
    },
    /// Sign a message file in the 2022 specification's form (an enveloped
    /// `ds:Signature`, the root's last child) and print it, in its own
    /// encoding: to rehearse senders' signatures and `check
    /// --verify-signatures`. A signed file is refused, never re-signed.
    ///
    /// Exit status: 0, 1 when the file cannot be signed, 2 on a bad key,
    /// certificate or argument.
    Sign {
        /// The private key file (PEM or DER).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Its certificate (PEM or DER).
        #[arg(long, value_name = "FILE")]
        certificate: PathBuf,
        /// `rsa-sha1` or `sm2-sm3`.
        #[arg(long, value_name = "ALGORITHM")]
        algorithm: String,
        /// The message file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// `tax …`.
#[derive(Debug, Subcommand)]
enum TaxCommand {
    /// Write an amount in Chinese capitals (人民币大写) as the People's Bank
    /// of China's rules do: `tax capitals 175.66` prints 壹佰柒拾伍元陆角陆分.
    ///
    /// Exit status: 0, or 2 when the amount is not a plain decimal number of
    /// yuan with at most two decimals, from 0 to below 10^16.
    Capitals {
        /// The amount in yuan, e.g. 16409.02.
        #[arg(value_name = "AMOUNT", allow_negative_numbers = true)]
        amount: String,
        /// Print one JSON object: {"amount", "capitals"}.
        #[arg(long)]
        json: bool,
    },
    /// The comprehensive tax of a cross-border e-commerce retail import
    /// within the personal limits: customs duty 0, consumption tax and
    /// import VAT at 70 % of the normal levy, each rounded to the fen.
    /// Rates come from the table in force on --date for the --hs code (the
    /// longest matching prefix; default VAT 13 %, consumption tax 0);
    /// --vat and --consumption override them.
    ///
    /// Exit status: 0, or 2 on a value or rate that is not a plain decimal
    /// (rates are fractions from 0 up to 1: 0.13) or a rate file refused.
    Cbec {
        /// The dutiable value in yuan: transaction price, freight, insurance.
        #[arg(long, value_name = "V", allow_negative_numbers = true)]
        value: String,
        /// The HS code of the goods (10 digits, or a prefix).
        #[arg(long, value_name = "CODE")]
        hs: Option<String>,
        /// The import VAT rate as a fraction (overrides the table).
        #[arg(long, value_name = "R", allow_negative_numbers = true)]
        vat: Option<String>,
        /// The consumption-tax rate as a fraction (overrides the table).
        #[arg(long, value_name = "R", allow_negative_numbers = true)]
        consumption: Option<String>,
        #[command(flatten)]
        tables: TaxTables,
        /// Print one JSON object: {"value", "vat_rate", "consumption_rate",
        /// "customs_duty", "consumption_tax", "vat", "total", "hs",
        /// "hs_row", "table"}.
        #[arg(long)]
        json: bool,
    },
    /// The import tax of a parcel of personal postal items (行邮税): each
    /// line's dutiable value × its tax item's rate, rounded half-up to the
    /// fen per line (--rounding parcel: once on the sum); waived when the
    /// parcel's tax is 50 CNY or less; the value limit is 1,000 CNY (800
    /// from HK, MO, TW) except for one indivisible article.
    ///
    /// Exit status: 0 (also when over the limit: the result says so), or 2
    /// on a line, date or rate file refused.
    Postal {
        /// A line: ITEM:VALUE, ITEM a tax item (1, 2, 3) with VALUE its
        /// dutiable value in yuan, or an 8-digit article code with VALUE
        /// the quantity of its unit (articles with a dutiable value per
        /// unit) or its value in yuan (articles customs values case by case).
        #[arg(long = "line", value_name = "ITEM:VALUE", required = true)]
        lines: Vec<String>,
        /// Where the parcel comes from: ISO code (HK, US) or customs
        /// country code (110).
        #[arg(long, value_name = "CC")]
        origin: Option<String>,
        /// The parcel holds one indivisible article (no value limit).
        #[arg(long)]
        indivisible: bool,
        /// `line` (each line to the fen, then summed) or `parcel` (the sum
        /// once); default: the rate file's `rounding`.
        #[arg(long, value_name = "HOW")]
        rounding: Option<String>,
        #[command(flatten)]
        tables: TaxTables,
        /// Print one JSON object: {"lines": [{"item", "value", "rate",
        /// "tax", …}], "total_value", "total_tax", "exempt", "payable",
        /// "limit", "over_limit", "capitals", "date", "table", "rounding"}.
        #[arg(long)]
        json: bool,
    },
    /// Personal-items tax certificates (缴纳证).
    #[command(subcommand)]
    Certificate(CertificateCommand),
    /// Three-party agreements (三方协议).
    #[command(subcommand)]
    Agreement(AgreementCommand),
    /// The rate tables in force on a date: postal tax items, parcel rules,
    /// articles, cross-border rates by HS-code prefix.
    ///
    /// Exit status: 0, or 2 on a date or rate file refused.
    Rates {
        #[command(flatten)]
        tables: TaxTables,
        /// Print one JSON object: {"date", "postal", "parcel", "articles",
        /// "cbec"}.
        #[arg(long)]
        json: bool,
    },
}

/// Who asks, how to answer, which daemon.
#[derive(clap::Args, Debug)]
struct RecipientArgs {
    /// The recipient's (payer's) phone: only what is addressed to it is shown.
    #[arg(long, value_name = "PHONE")]
    phone: String,
    /// Print the admin API's JSON answer.
    #[arg(long)]
    json: bool,
    /// Configuration file naming the daemon's admin API.
    #[arg(long, value_name = "FILE", default_value = "conf/gateway.toml")]
    config: PathBuf,
}

/// `mail …`.
#[derive(Subcommand, Debug)]
enum MailCommand {
    /// Rehearsal: plays customs announcing a mail item that arrived — a
    /// MailNotice `arrived` (and, with --declare, `declaration_required`)
    /// written into the customs InBox the configuration names.
    Arrive {
        /// The mail number (邮件号).
        #[arg(value_name = "MAILNO")]
        mail_no: String,
        /// The recipient's name.
        #[arg(long)]
        name: String,
        /// The recipient's phone.
        #[arg(long)]
        phone: String,
        /// Where it comes from (ISO or customs country code).
        #[arg(long)]
        origin: Option<String>,
        /// Customs asks for a supplementary declaration.
        #[arg(long)]
        declare: bool,
        /// Configuration file (its customs folders).
        #[arg(long, value_name = "FILE", default_value = "conf/gateway.toml")]
        config: PathBuf,
    },
    /// A mail item's customs status and history (exit 1: none addressed to
    /// this phone).
    Status {
        /// The mail number (邮件号).
        #[arg(value_name = "MAILNO")]
        mail_no: String,
        #[command(flatten)]
        who: RecipientArgs,
    },
    /// The recipient's supplementary declaration (a MailDeclaration file),
    /// taken while customs asks for one (待申报, or 未通过 to declare again);
    /// exit 2 with the reason when refused.
    Declare {
        /// A MailDeclaration message (`samples/mail/MailDeclaration.xml`).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        who: RecipientArgs,
    },
    /// The recipient asks for a tax review (`review`, while 待缴税), a
    /// refund (`refund`, after payment) or a return (`return`); exit 2 with
    /// the reason when the item's state does not allow it.
    Request {
        /// The mail number (邮件号).
        #[arg(value_name = "MAILNO")]
        mail_no: String,
        /// `review`, `refund` or `return`.
        #[arg(long)]
        kind: String,
        /// Why (申请理由).
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        who: RecipientArgs,
    },
    /// The recipient's mail items of the last calendar months.
    List {
        /// Calendar months covered (1–24, default 3).
        #[arg(long)]
        months: Option<u32>,
        #[command(flatten)]
        who: RecipientArgs,
    },
}

/// `tax certificate …`.
#[derive(Subcommand, Debug)]
enum CertificateCommand {
    /// The recipient's tax certificates of the last calendar months.
    List {
        /// Calendar months covered (1–24, default 3).
        #[arg(long)]
        months: Option<u32>,
        #[command(flatten)]
        who: RecipientArgs,
    },
    /// Pays a certificate in 未支付 or 支付失败 under an agreement in 签约成功
    /// (exit 2 with the reason when refused).
    Pay(PayArgs),
    /// Re-pays a certificate in 支付失败 (exit 2 with the reason when refused).
    Repay(PayArgs),
    /// One certificate: lines, total in capitals, state and every payment
    /// with its steps (exit 1: none addressed to this phone).
    Show {
        /// The certificate number (海关编号, 51002021X40000006501).
        #[arg(value_name = "NO")]
        no: String,
        #[command(flatten)]
        who: RecipientArgs,
    },
    /// Writes a certificate as the printable page of the official form
    /// (旅客行李、个人邮递物品进口税款缴纳证), total in capitals, phone masked:
    /// a stored certificate by its number (with --phone, from the daemon),
    /// or a TaxCertificate message file.
    ///
    /// Exit status: 0; 1 when no certificate of that number is addressed to
    /// the phone; 2 when the file is not a readable TaxCertificate.
    Print {
        /// A certificate number, or a TaxCertificate message file.
        #[arg(value_name = "NO|FILE")]
        source: String,
        /// Where to write the page (default: standard output).
        #[arg(long, value_name = "HTML")]
        out: Option<PathBuf>,
        /// The recipient's phone (for a stored certificate).
        #[arg(long, value_name = "PHONE")]
        phone: Option<String>,
        /// Configuration file naming the daemon's admin API.
        #[arg(long, value_name = "FILE", default_value = "conf/gateway.toml")]
        config: PathBuf,
    },
}

/// `tax certificate pay|repay`.
#[derive(clap::Args, Debug)]
struct PayArgs {
    /// The certificate number (海关编号).
    #[arg(value_name = "NO")]
    no: String,
    /// The agreement to deduct under (协议书号, in 签约成功).
    #[arg(long, value_name = "AGREEMENT")]
    agreement: String,
    #[command(flatten)]
    who: RecipientArgs,
}

/// `tax agreement …`.
#[derive(Subcommand, Debug)]
enum AgreementCommand {
    /// The payer's three-party agreements, each step with its 状态说明.
    List {
        #[command(flatten)]
        who: RecipientArgs,
    },
    /// Signs a three-party agreement (签约处理中 until the bank answers).
    /// Exit status 2 with the reason when refused.
    Sign {
        /// 缴款单位名称 (the payer's name).
        #[arg(long)]
        payer: String,
        /// 关区 (4-digit customs code).
        #[arg(long)]
        customs: String,
        /// 付款行行号.
        #[arg(long)]
        bank_code: String,
        /// 开户账号.
        #[arg(long)]
        account: String,
        #[command(flatten)]
        who: RecipientArgs,
    },
    /// Cancels an agreement (only one in 签约成功).
    Cancel {
        /// 协议书号.
        #[arg(value_name = "NO")]
        no: String,
        #[command(flatten)]
        who: RecipientArgs,
    },
}

/// Which rates a tax command uses, and on which day.
#[derive(clap::Args, Debug)]
struct TaxTables {
    /// The day whose tables apply (YYYY-MM-DD; default: today in China).
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Option<String>,
    /// A rate file of the shape of schemas/tax-rates.toml (default: the
    /// built-in copy of it).
    #[arg(long, value_name = "FILE")]
    rates: Option<PathBuf>,
}

/// How log events are written (to stderr).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line.
    Json,
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
            receipts,
            verify_signatures,
            paths,
        } => check(json, config, receipts, verify_signatures.as_deref(), &paths),
        Command::Serve { config, log_format } => serve(&config, log_format),
        Command::SimulateCustoms { config } => simulate_customs(&config),
        Command::Send {
            addr,
            platform,
            token_file,
            tls_ca,
            json,
            paths,
        } => send(addr, platform, &token_file, tls_ca, json, &paths),
        Command::Config(ConfigCommand::Check { config, json }) => config_check(&config, json),
        Command::Signature(SignatureCommand::Keygen {
            algorithm,
            bits,
            serial,
            subject,
            valid_from,
            days,
            key,
            certificate,
        }) => keygen(
            &algorithm,
            bits,
            serial.as_deref(),
            &subject,
            (valid_from.as_deref(), days),
            &key,
            &certificate,
        ),
        Command::Signature(SignatureCommand::Sign {
            key,
            certificate,
            algorithm,
            file,
        }) => sign_file(&key, &certificate, &algorithm, &file),
        Command::Tax(TaxCommand::Capitals { amount, json }) => tax_capitals(&amount, json),
        Command::Tax(TaxCommand::Cbec {
            value,
            hs,
            vat,
            consumption,
            tables,
            json,
        }) => tax_cbec(&value, hs, vat, consumption, &tables, json),
        Command::Tax(TaxCommand::Postal {
            lines,
            origin,
            indivisible,
            rounding,
            tables,
            json,
        }) => tax_postal(&lines, origin, indivisible, rounding, &tables, json),
        Command::Tax(TaxCommand::Rates { tables, json }) => tax_rates(&tables, json),
        Command::Tax(TaxCommand::Certificate(CertificateCommand::Print {
            source,
            out,
            phone,
            config,
        })) => {
            let file = PathBuf::from(&source);
            match phone {
                Some(phone) if !file.is_file() => {
                    let q = MailQuery::Print { no: source, out };
                    recipient(&config, &phone, false, &q)
                }
                _ => certificate_print(&file, out.as_deref()),
            }
        }
        Command::Tax(TaxCommand::Certificate(CertificateCommand::List { months, who })) => {
            recipient(
                &who.config,
                &who.phone,
                who.json,
                &MailQuery::Certificates { months },
            )
        }
        Command::Tax(TaxCommand::Certificate(CertificateCommand::Show { no, who })) => recipient(
            &who.config,
            &who.phone,
            who.json,
            &MailQuery::Certificate { no },
        ),
        Command::Tax(TaxCommand::Agreement(AgreementCommand::List { who })) => {
            recipient(&who.config, &who.phone, who.json, &MailQuery::Agreements)
        }
        Command::Tax(TaxCommand::Agreement(AgreementCommand::Sign {
            payer,
            customs,
            bank_code,
            account,
            who,
        })) => recipient(
            &who.config,
            &who.phone,
            who.json,
            &MailQuery::Sign {
                payer,
                customs,
                bank_code,
                account,
            },
        ),
        Command::Tax(TaxCommand::Agreement(AgreementCommand::Cancel { no, who })) => {
            recipient(&who.config, &who.phone, who.json, &MailQuery::Cancel { no })
        }
        Command::Tax(TaxCommand::Certificate(CertificateCommand::Pay(a))) => pay(a, false),
        Command::Tax(TaxCommand::Certificate(CertificateCommand::Repay(a))) => pay(a, true),
        Command::Mail(MailCommand::Arrive {
            mail_no,
            name,
            phone,
            origin,
            declare,
            config,
        }) => {
            let config = Config::load(&config)?;
            let files = customs_gateway::simulate::announce(
                &config,
                &mail_no,
                &name,
                &phone,
                origin.as_deref(),
                declare,
                now_ms(),
            )?;
            for f in files {
                println!("{}", f.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Mail(MailCommand::Declare { file, who }) => {
            let xml = match std::fs::read(&file) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(x) => x,
                    Err(_) => {
                        eprintln!(
                            "customs-gateway mail declare: {}: send the declaration in UTF-8",
                            file.display()
                        );
                        return Ok(ExitCode::from(2));
                    }
                },
                Err(e) => {
                    eprintln!("customs-gateway mail declare: {}: {e}", file.display());
                    return Ok(ExitCode::from(2));
                }
            };
            recipient(
                &who.config,
                &who.phone,
                who.json,
                &MailQuery::Declare { xml },
            )
        }
        Command::Mail(MailCommand::Request {
            mail_no,
            kind,
            reason,
            who,
        }) => recipient(
            &who.config,
            &who.phone,
            who.json,
            &MailQuery::Request {
                mail_no,
                kind,
                reason,
            },
        ),
        Command::Mail(MailCommand::Status { mail_no, who }) => recipient(
            &who.config,
            &who.phone,
            who.json,
            &MailQuery::Status { mail_no },
        ),
        Command::Mail(MailCommand::List { months, who }) => recipient(
            &who.config,
            &who.phone,
            who.json,
            &MailQuery::List { months },
        ),
        Command::Admin(cmd) => {
            let code = customs_gateway::admin::cli::run(&cmd, &mut std::io::stdout().lock())?;
            Ok(ExitCode::from(code))
        }
    }
}

/// `tax certificate pay` and `repay`.
fn pay(a: PayArgs, repay: bool) -> anyhow::Result<ExitCode> {
    recipient(
        &a.who.config,
        &a.who.phone,
        a.who.json,
        &MailQuery::Pay {
            no: a.no,
            agreement: a.agreement,
            repay,
        },
    )
}

/// `signature keygen`.
fn keygen(
    algorithm: &str,
    bits: usize,
    serial: Option<&str>,
    subject: &str,
    (valid_from, days): (Option<&str>, u64),
    key: &Path,
    certificate: &Path,
) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let usage = |m: String| {
        eprintln!("customs-gateway: {m}");
        Ok(ExitCode::from(2))
    };
    let Some(algorithm) = parse_algorithm(algorithm) else {
        return usage(format!("--algorithm {algorithm}: rsa-sha1 or sm2-sm3"));
    };
    if !(1024..=8192).contains(&bits) {
        return usage(format!("--bits {bits}: from 1024 to 8192"));
    }
    let serial = match serial {
        Some(hex) => match decode_hex(hex) {
            Some(b) if !b.is_empty() && b.len() <= 20 => b,
            _ => return usage(format!("--serial {hex}: 1 to 20 bytes in hex")),
        },
        None => {
            let mut b: Vec<u8> = (0..8).map(|_| fastrand::u8(..)).collect();
            if let Some(first) = b.first_mut() {
                *first = (*first & 0x7f).max(1);
            }
            b
        }
    };
    let from = match valid_from {
        None => now_ms() / 1000,
        Some(day) => {
            match customs_gateway::sig::cst_unix_secs(&format!("{}000000", day.replace('-', ""))) {
                Some(secs) if day.len() == 10 => secs,
                _ => return usage(format!("--valid-from {day}: a date YYYY-MM-DD")),
            }
        }
    };
    let id = customs_gateway::keygen::generate(&customs_gateway::keygen::Request {
        algorithm,
        rsa_bits: bits,
        serial: &serial,
        subject,
        not_before: from,
        not_after: from.saturating_add(days.saturating_mul(86_400)),
    })?;
    if key == certificate {
        return usage(format!(
            "--key and --certificate are the same file ({})",
            key.display()
        ));
    }
    for path in [key, certificate] {
        if path.symlink_metadata().is_ok() {
            eprintln!(
                "customs-gateway: {}: exists already (nothing is overwritten)",
                path.display()
            );
            return Ok(ExitCode::from(1));
        }
    }
    let write_new = |path: &Path, text: &str, private: bool| -> anyhow::Result<()> {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        if private {
            use std::os::unix::fs::OpenOptionsExt as _;
            o.mode(0o600);
        }
        let mut f = o
            .open(path)
            .map_err(|e| anyhow::anyhow!("{}: {e} (nothing is overwritten)", path.display()))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        Ok(())
    };
    if let Err(e) = write_new(key, &id.key_pem, true) {
        eprintln!("customs-gateway: {e}");
        return Ok(ExitCode::from(1));
    }
    if let Err(e) = write_new(certificate, &id.cert_pem(), false) {
        // No key without its certificate.
        let _ = std::fs::remove_file(key);
        eprintln!("customs-gateway: {e}");
        return Ok(ExitCode::from(1));
    }
    let cert = customs_gateway::sig::Certificate::from_der(&id.cert_der)?;
    println!(
        "{} key {}\ncertificate {}: serial {}, {}, valid {} days\n[signing] algorithm = \"{}\"",
        cert.key().describe(),
        key.display(),
        certificate.display(),
        cert.serial(),
        cert.subject(),
        days,
        algorithm.name()
    );
    Ok(ExitCode::SUCCESS)
}

/// `signature sign`.
fn sign_file(
    key: &Path,
    certificate: &Path,
    algorithm: &str,
    file: &Path,
) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let fail = |code: u8, m: String| {
        eprintln!("customs-gateway: {m}");
        Ok(ExitCode::from(code))
    };
    let Some(algorithm) = parse_algorithm(algorithm) else {
        return fail(2, format!("--algorithm {algorithm}: rsa-sha1 or sm2-sm3"));
    };
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let (key_bytes, cert_bytes, bytes) = match (read(key), read(certificate), read(file)) {
        (Ok(k), Ok(c), Ok(f)) => (k, c, f),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return fail(2, e),
    };
    let cert = match customs_gateway::sig::Certificate::read_all(&cert_bytes) {
        Ok(mut certs) if certs.len() == 1 => certs.remove(0),
        Ok(certs) => {
            return fail(
                2,
                format!(
                    "{}: {} certificates; the key's alone is expected",
                    certificate.display(),
                    certs.len()
                ),
            );
        }
        Err(e) => return fail(2, format!("{}: {e}", certificate.display())),
    };
    let signer = match customs_gateway::sig::Signer::new(algorithm, &key_bytes, cert) {
        Ok(s) => s,
        Err(e) => return fail(2, format!("{}: {e}", key.display())),
    };
    match signer.sign_bytes(&bytes) {
        Ok(signed) => {
            let mut out = std::io::stdout().lock();
            out.write_all(&signed)?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => fail(1, format!("{}: {e}", file.display())),
    }
}

fn parse_algorithm(name: &str) -> Option<customs_gateway::sig::Algorithm> {
    match name {
        "rsa-sha1" => Some(customs_gateway::sig::Algorithm::RsaSha1),
        "sm2-sm3" => Some(customs_gateway::sig::Algorithm::Sm2Sm3),
        _ => None,
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let t = text.trim().trim_start_matches("0x");
    if !t.len().is_multiple_of(2) || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(t.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `tax capitals`.
fn tax_capitals(amount: &str, json: bool) -> anyhow::Result<ExitCode> {
    let written = customs_gateway::model::parse_decimal(amount.trim())
        .ok_or_else(|| format!("\"{amount}\" is not a plain decimal number of yuan (like 175.66)"))
        .and_then(|d| customs_gateway::tax::capitals(d).map_err(|e| e.to_string()));
    let mut out = std::io::stdout().lock();
    match written {
        Ok(capitals) if json => {
            let v = serde_json::json!({ "amount": amount.trim(), "capitals": capitals });
            writeln!(out, "{v}")?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(capitals) => {
            writeln!(out, "{capitals}")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(reason) => {
            eprintln!("customs-gateway tax capitals: {reason}");
            Ok(ExitCode::from(2))
        }
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The tables and the day a tax command computes with.
fn tax_tables(
    t: &TaxTables,
) -> Result<
    (
        std::sync::Arc<tax::Tables>,
        customs_gateway::subscribe::Date,
    ),
    String,
> {
    use customs_gateway::subscribe::Date;
    let date = match &t.date {
        Some(text) => Date::parse(text)
            .ok_or_else(|| format!("--date \"{text}\" is not a date YYYY-MM-DD"))?,
        None => Date::cst(now_ms()),
    };
    let tables = match &t.rates {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--rates {}: {e}", path.display()))?;
            std::sync::Arc::new(
                tax::Tables::from_toml(&text)
                    .map_err(|e| format!("--rates {}: {e}", path.display()))?,
            )
        }
        None => tax::Tables::builtin()
            .ok_or_else(|| "the built-in rate tables do not parse".to_owned())?,
    };
    Ok((tables, date))
}

/// A plain decimal from the command line.
fn cli_decimal(what: &str, text: &str) -> Result<rust_decimal::Decimal, String> {
    customs_gateway::model::parse_decimal(text.trim())
        .ok_or_else(|| format!("{what} \"{text}\" is not a plain decimal number"))
}

/// Prints a refusal of a `tax` command and returns exit status 2.
fn tax_refused(command: &str, reason: &str) -> anyhow::Result<ExitCode> {
    eprintln!("customs-gateway tax {command}: {reason}");
    Ok(ExitCode::from(2))
}

/// `tax cbec`.
fn tax_cbec(
    value: &str,
    hs: Option<String>,
    vat: Option<String>,
    consumption: Option<String>,
    tables: &TaxTables,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let computed = (|| {
        let (tables, date) = tax_tables(tables)?;
        let query = tax::query::CbecQuery {
            value: cli_decimal("--value", value)?,
            hs,
            vat: vat.map(|v| cli_decimal("--vat", &v)).transpose()?,
            consumption: consumption
                .map(|v| cli_decimal("--consumption", &v))
                .transpose()?,
            date,
        };
        tax::query::cbec(&tables, &query)
    })();
    let answer = match computed {
        Ok(a) => a,
        Err(reason) => return tax_refused("cbec", &reason),
    };
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", tax::query::cbec_json(&answer))?;
        return Ok(ExitCode::SUCCESS);
    }
    let tax = &answer.tax;
    let from = match (&answer.hs, &answer.row) {
        (Some(hs), Some(row)) => format!(" (HS {hs}: row {} {}", row.hs, row.zh),
        (Some(hs), None) => format!(" (HS {hs}: the table's defaults"),
        (None, _) => " (".to_owned(),
    };
    writeln!(
        out,
        "value {} at VAT {} and consumption tax {}{from}, table of {}):",
        tax.value, tax.vat_rate, tax.consumption_rate, answer.table
    )?;
    writeln!(out, "  customs duty     {}", tax.customs_duty)?;
    writeln!(out, "  consumption tax  {}", tax.consumption_tax)?;
    writeln!(out, "  import VAT       {}", tax.vat)?;
    writeln!(out, "  total            {}", tax.total)?;
    Ok(ExitCode::SUCCESS)
}

/// `tax postal`.
fn tax_postal(
    lines: &[String],
    origin: Option<String>,
    indivisible: bool,
    rounding: Option<String>,
    tables: &TaxTables,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let computed = (|| {
        let (tables, date) = tax_tables(tables)?;
        let rounding = rounding
            .map(|r| {
                tax::Rounding::parse(&r)
                    .ok_or_else(|| format!("--rounding \"{r}\" is neither line nor parcel"))
            })
            .transpose()?;
        let lines = lines
            .iter()
            .map(|l| tax::LineInput::parse(l).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let parcel = tax::Parcel {
            date,
            origin,
            indivisible,
            lines,
            rounding,
        };
        tax::postal_tax(&tables, &parcel).map_err(|e| e.to_string())
    })();
    let t = match computed {
        Ok(t) => t,
        Err(reason) => return tax_refused("postal", &reason),
    };
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", tax::query::postal_json(&t))?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "postal items on {} (table of {}, rounding per {}):",
        t.date,
        t.table,
        t.rounding.name()
    )?;
    for l in &t.lines {
        let what = match (&l.article, &l.name, l.quantity, &l.unit) {
            (Some(code), Some(name), Some(q), Some(unit)) => {
                format!("article {code} {name}, {q} {unit}")
            }
            (Some(code), Some(name), _, _) => format!("article {code} {name}"),
            _ => format!("tax item {}", l.item),
        };
        writeln!(
            out,
            "  {what}: value {} x {} = {} (item {})",
            l.value, l.rate, l.tax, l.item
        )?;
    }
    writeln!(
        out,
        "  parcel value     {} (limit {})",
        t.total_value, t.limit
    )?;
    writeln!(out, "  tax              {}", t.total_tax)?;
    if t.exempt {
        writeln!(
            out,
            "  waived: a parcel's tax of {} CNY or less is not collected",
            t.waiver
        )?;
    }
    writeln!(
        out,
        "  payable          {} (人民币{})",
        t.payable, t.capitals
    )?;
    if t.over_limit {
        writeln!(
            out,
            "  over the limit of {}: the parcel is returned or cleared as goods; the tax above applies only if customs clears it as personal articles",
            t.limit
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A recipient's question to the daemon: exit 0, 1 (nothing addressed to
/// the phone) or 2 (the daemon cannot be asked).
fn recipient(
    config: &std::path::Path,
    phone: &str,
    json: bool,
    query: &MailQuery,
) -> anyhow::Result<ExitCode> {
    match customs_gateway::admin::mail_cli::run(
        config,
        phone,
        json,
        query,
        &mut std::io::stdout().lock(),
    ) {
        Ok(code) => Ok(ExitCode::from(code)),
        Err(e) => {
            eprintln!("customs-gateway: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

/// `tax certificate print FILE`.
fn certificate_print(
    file: &std::path::Path,
    out: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    use customs_gateway::mail;
    let read = std::fs::read(file)
        .map_err(|e| e.to_string())
        .and_then(|bytes| codec::decode(&bytes).map_err(|e| e.to_string()))
        .and_then(|decoded| {
            let business = decoded.message.business();
            match business.documents.as_slice() {
                [doc] => mail::messages::certificate(business.spec, doc),
                docs => Err(format!(
                    "{} certificates in one file; print one",
                    docs.len()
                )),
            }
        });
    let certificate = match read {
        Ok(c) => c,
        Err(reason) => {
            eprintln!(
                "customs-gateway tax certificate print: {}: {reason}",
                file.display()
            );
            return Ok(ExitCode::from(2));
        }
    };
    let page = mail::print::certificate_html(
        &certificate,
        &mail::messages::printed_date(certificate.issued_ms),
    );
    match out {
        Some(path) => {
            use anyhow::Context as _;
            std::fs::write(path, page).with_context(|| format!("{}", path.display()))?;
        }
        None => std::io::stdout().lock().write_all(page.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `tax rates`.
fn tax_rates(tables: &TaxTables, json: bool) -> anyhow::Result<ExitCode> {
    let (tables, date) = match tax_tables(tables) {
        Ok(t) => t,
        Err(reason) => return tax_refused("rates", &reason),
    };
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", tax::query::rates_json(&tables, date))?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "tax rates in force on {date}")?;
    match tables.postal_at(date) {
        Some(p) => {
            writeln!(
                out,
                "personal postal items (行邮税), table of {} ({})",
                p.effective_from, p.source
            )?;
            for i in &p.items {
                writeln!(out, "  item {}  {}  {}", i.item, i.rate, i.en)?;
            }
            let r = &tables.parcel;
            writeln!(
                out,
                "  waived up to {} CNY a parcel; value limit {} ({} from {}); rounding per {}",
                r.waiver,
                r.limit,
                r.limit_hk_mo_tw,
                r.hk_mo_tw.join("/"),
                r.rounding.name()
            )?;
        }
        None => writeln!(out, "personal postal items: no table in force")?,
    }
    writeln!(out, "articles")?;
    for a in &tables.articles {
        let value = a.value.map_or_else(
            || "value set case by case".to_owned(),
            |v| format!("{v} per {}", a.unit),
        );
        let rate = a
            .rate
            .map(|r| format!(", own rate {r}"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}  {}  item {}, {value}{rate}",
            a.code, a.name, a.item
        )?;
    }
    match tables.cbec_at(date) {
        Some(c) => {
            writeln!(
                out,
                "cross-border retail imports (跨境电商综合税), table of {} ({})",
                c.effective_from, c.source
            )?;
            writeln!(
                out,
                "  default VAT {}, consumption tax {}",
                c.vat, c.consumption
            )?;
            for r in &c.rates {
                let vat = r.vat.map(|v| format!(" VAT {v}")).unwrap_or_default();
                let ct = r
                    .consumption
                    .map(|v| format!(" consumption tax {v}"))
                    .unwrap_or_default();
                writeln!(out, "  HS {}*{vat}{ct}  {}", r.hs, r.zh)?;
            }
        }
        None => writeln!(out, "cross-border retail imports: no table in force")?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `config check`: the start-up path without the start.
fn config_check(path: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    use customs_gateway::config::ConfigError;
    use customs_gateway::daemon::{now_ms, reload};
    let now = now_ms();
    // Against no stored subscriptions: each is checked as if made today.
    let result = Config::load(path).and_then(|c| reload::Built::from_config(c, None, now));
    let mut out = std::io::stdout().lock();
    match result {
        Ok(built) => {
            let v = reload::describe(&built, now);
            if json {
                writeln!(out, "{v}")?;
            } else {
                print_config(&mut out, &v)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            // The configuration file itself unreadable: 2; anything else
            // (a file it names included) makes it invalid: 1.
            let unreadable =
                matches!(&e, ConfigError::Read { path: p, .. } if std::path::Path::new(p) == path);
            if json {
                let v = serde_json::json!({
                    "valid": false,
                    "config": path.display().to_string(),
                    "readable": !unreadable,
                    "error": e.to_string(),
                });
                writeln!(out, "{v}")?;
            } else {
                eprintln!("customs-gateway: {e}");
                eprintln!(
                    "{}: {}",
                    path.display(),
                    if unreadable {
                        "cannot be read"
                    } else {
                        "invalid: nothing would start"
                    }
                );
            }
            Ok(ExitCode::from(if unreadable { 2 } else { 1 }))
        }
    }
}

/// `config check`'s text: what `describe` says, one line per item.
fn print_config(out: &mut impl std::io::Write, v: &serde_json::Value) -> std::io::Result<()> {
    let s = |v: &serde_json::Value| match v {
        serde_json::Value::String(t) => t.clone(),
        serde_json::Value::Null => "-".to_owned(),
        other => other.to_string(),
    };
    let list = |v: &serde_json::Value| {
        v.as_array()
            .map(|a| a.iter().map(s).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    writeln!(out, "{}: valid", s(&v["config"]))?;
    for w in v["warnings"].as_array().into_iter().flatten() {
        writeln!(out, "  warning       {}", s(w))?;
    }
    for o in v["overrides"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  environment   {} sets {} = {}",
            s(&o["var"]),
            s(&o["key"]),
            s(&o["value"])
        )?;
    }
    writeln!(
        out,
        "  store         {} (cache {} MiB)",
        s(&v["store"]["path"]),
        s(&v["store"]["cache_mb"])
    )?;
    writeln!(
        out,
        "  admin         {} (token file: {})",
        s(&v["admin"]["listen"]),
        s(&v["admin"]["token_file"])
    )?;
    let c = &v["customs"];
    writeln!(
        out,
        "  customs       OutBox {}, InBox {}, SentBox {}, FailBox {}; enterprise {}",
        s(&c["outbox"]),
        s(&c["inbox"]),
        s(&c["sentbox"]),
        s(&c["failbox"]),
        s(&c["enterprise"])
    )?;
    for x in v["senders"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  sender        {} at {}, codes {}",
            s(&x["name"]),
            s(&x["root"]),
            list(&x["codes"])
        )?;
    }
    match v["tcp"].as_object() {
        Some(t) => writeln!(
            out,
            "  tcp           {} ({}), {} connections at most",
            s(&t["listen"]),
            if t["tls"] == true { "TLS" } else { "plain" },
            s(&t["max_connections"])
        )?,
        None => writeln!(out, "  tcp           off")?,
    }
    for x in v["platforms"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  platform      {}, codes {}",
            s(&x["id"]),
            list(&x["codes"])
        )?;
    }
    for x in v["clients"].as_array().into_iter().flatten() {
        let d = &x["delivery"];
        let how = if !d["folder"].is_null() {
            format!("folder {}", s(&d["folder"]))
        } else if !d["tcp"].is_null() {
            format!("tcp via {}", s(&d["tcp"]))
        } else if !d["sms"].is_null() {
            format!("sms, texts appended to {}", s(&d["sms"]))
        } else {
            format!("email to {}", list(&d["email"]))
        };
        writeln!(
            out,
            "  client        {} of {}: {how}",
            s(&x["id"]),
            s(&x["enterprise"])
        )?;
    }
    for x in v["subscriptions"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  subscription  {} for {}: {} {} until {}{}",
            s(&x["id"]),
            s(&x["client"]),
            list(&x["content"]),
            list(&x["statuses"]),
            s(&x["last_day"]),
            if x["cancelled"] == true {
                " (cancelled)"
            } else {
                ""
            }
        )?;
    }
    if let Some(m) = v["smtp"].as_object() {
        writeln!(
            out,
            "  smtp          {}:{} ({}), from {}",
            s(&m["host"]),
            s(&m["port"]),
            s(&m["tls"]),
            s(&m["from"])
        )?;
    }
    match v["registry"].as_object() {
        Some(r) => writeln!(
            out,
            "  registry      {}: {} enterprises, {} signing certificates",
            s(&r["file"]),
            s(&r["enterprises"]),
            s(&r["certificates"])
        )?,
        None => writeln!(
            out,
            "  registry      none (the registration rule is skipped)"
        )?,
    }
    writeln!(
        out,
        "  signatures    mode {}; {}",
        s(&v["signature"]["mode"]),
        match v["signing"].as_object() {
            Some(g) => format!(
                "signs what it writes with {} (certificate {})",
                s(&g["algorithm"]),
                s(&g["certificate"])
            ),
            None => "signs nothing ([signing] not set)".to_owned(),
        }
    )?;
    writeln!(
        out,
        "  limits        {} bytes, depth {}",
        s(&v["limits"]["max_bytes"]),
        s(&v["limits"]["max_depth"])
    )?;
    let e = &v["engine"];
    writeln!(
        out,
        "  engine        amount tolerance {}, single limit {}, annual limit {}, incomplete after {} s, tax tolerance {}",
        s(&e["amount_tolerance"]),
        s(&e["single_limit"]),
        s(&e["annual_limit"]),
        s(&e["incomplete_timeout_secs"]),
        s(&e["tax_tolerance"])
    )?;
    writeln!(out, "  tax rates     {}", s(&v["tax"]["rates"]))?;
    writeln!(
        out,
        "  simulator     {}",
        if v["simulator"]["enabled"] == true {
            "on"
        } else {
            "off"
        }
    )?;
    writeln!(out, "  files         {}", list(&v["files"]))?;
    Ok(())
}

fn serve(config_path: &std::path::Path, log_format: LogFormat) -> anyhow::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CUSTOMS_GATEWAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // SIGHUP is a reload request from the first moment (its default action
    // would end the process), before the configuration is even read.
    let hangups = runtime.block_on(async { customs_gateway::daemon::hangups() });
    let config = Config::load(config_path)?;
    // The process's one metrics recorder, rendered at the admin API's /metrics.
    customs_gateway::metrics::install(&config)?;
    runtime.block_on(async move {
        let shutdown = tokio_util::sync::CancellationToken::new();
        let signals = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!(message = "Stopping: finishing what is in flight.");
            signals.cancel();
        });
        tracing::info!(
            message = "Starting.",
            config = %config_path.display(),
            version = env!("CARGO_PKG_VERSION")
        );
        customs_gateway::daemon::run_with(config, shutdown, hangups).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `simulate-customs`: the simulator alone, until SIGINT or SIGTERM.
fn simulate_customs(config_path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CUSTOMS_GATEWAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let config = Config::load(config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let shutdown = tokio_util::sync::CancellationToken::new();
        let signals = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            signals.cancel();
        });
        customs_gateway::simulate::run(&config, shutdown).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// SIGINT or SIGTERM.
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn check(
    json: bool,
    config: Option<PathBuf>,
    receipts: Option<PathBuf>,
    verify_signatures: Option<&str>,
    paths: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let config = match config {
        Some(path) => Config::load(&path)?,
        None => Config::default(),
    };
    let mode = match verify_signatures {
        None => None,
        Some("") => Some(match config.signature.mode {
            customs_gateway::sig::Mode::Off => customs_gateway::sig::Mode::Warn,
            m => m,
        }),
        Some(m) => Some(customs_gateway::sig::Mode::parse(m).ok_or_else(|| {
            anyhow::anyhow!("--verify-signatures {m}: the mode is off, warn or require")
        })?),
    };
    let limits = config.limits();
    let registry = config.load_registry()?;
    let inputs = inspect::collect(paths)?;
    let now_ms = now_ms();
    let signatures = mode.map(|mode| inspect::SignatureCheck {
        registry: registry.as_ref(),
        mode,
        now_ms,
    });
    let signatures = signatures.as_ref();
    // Kept apart: the engine takes the registry.
    let registry_for_engine = registry.clone();
    let engine = Engine::new(config.engine.clone(), registry_for_engine)?;
    let mut checker = inspect::Checker::new(engine, now_ms);
    let mut n_files = 0;
    for input in inputs {
        let (file, regular) = match input {
            inspect::Input::File(file) => (file, false),
            inspect::Input::Regular(file) => (file, true),
            inspect::Input::Finding(d) => {
                checker.note(d);
                continue;
            }
        };
        n_files += 1;
        let report = inspect::inspect_file(&file, &limits, regular, signatures);
        checker.add(&file.display().to_string(), report);
    }
    let report = checker.finish();
    let (documents, diagnostics, sets) = (&report.documents, &report.diagnostics, &report.sets);
    let failed = diagnostics.iter().any(|d| d.severity == Severity::Error)
        || sets.iter().any(|s| s.status() == Status::Fail);
    if let Some(dir) = receipts {
        write_receipts(checker.engine(), &report, &dir, now_ms)?;
    }
    let mut out = std::io::stdout().lock();
    if json {
        let sets: Vec<serde_json::Value> = sets.iter().map(|s| report.set_json(s)).collect();
        let value = serde_json::json!({
            "documents": documents,
            "diagnostics": diagnostics,
            "sets": sets,
            "tax_bills": report.bills.iter().map(|b| {
                let mut v = serde_json::to_value(b).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("status_label".to_owned(), b.bill.status.zh().into());
                }
                v
            }).collect::<Vec<_>>(),
        });
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
    } else {
        render_text(&mut out, n_files, &report)?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes the rejection receipts of every failed set as `<type>_<key>.xml`.
fn write_receipts(
    engine: &Engine,
    report: &inspect::CheckReport,
    dir: &std::path::Path,
    now_ms: u64,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
    for set in report.sets.iter().filter(|s| s.status() == Status::Fail) {
        for receipt in engine.receipts(&set.key, now_ms)? {
            let name = format!(
                "{}_{}.xml",
                receipt.kind.name(),
                sanitize(&receipt.document_key)
            );
            match receipt.message {
                Ok(message) => {
                    let bytes = codec::encode(&message, &EncodeOptions::default())?;
                    let path = dir.join(name);
                    std::fs::write(&path, bytes).with_context(|| format!("{}", path.display()))?;
                }
                Err(e) => eprintln!(
                    "customs-gateway: no receipt for {} {}: {e}",
                    receipt.kind.name(),
                    report.source(receipt.source)
                ),
            }
        }
    }
    Ok(())
}

/// A business key as a file-name part.
fn sanitize(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn render_text(
    out: &mut impl std::io::Write,
    n_files: usize,
    report: &inspect::CheckReport,
) -> std::io::Result<()> {
    let (documents, diagnostics, sets) = (&report.documents, &report.diagnostics, &report.sets);
    for d in diagnostics {
        // `file: error [RULE] …`, `file: CEB311: …`, `file: CEB311 orderNo=…: …`
        let what = match (d.ty.is_empty(), d.key.is_empty()) {
            (true, _) => String::new(),
            (false, true) => format!(" {}:", d.ty),
            (false, false) => format!(" {} {}:", d.ty, d.key),
        };
        let field = if d.field.is_empty() {
            String::new()
        } else {
            format!(" {}:", d.field)
        };
        writeln!(
            out,
            "{}:{what} {} [{}]{field} {}",
            d.file,
            d.severity.as_str(),
            d.rule,
            d.message
        )?;
    }
    for set in sets {
        write!(out, "{}", engine::describe(set, &|id| report.source(id)))?;
    }
    for b in &report.bills {
        let bill = &b.bill;
        let duty = bill
            .ent_duty_no
            .as_ref()
            .map(|d| format!(", entDutyNo {d}"))
            .unwrap_or_default();
        let inventory = b
            .inventory
            .as_ref()
            .map_or_else(|| "not among these files".to_owned(), Clone::clone);
        writeln!(
            out,
            "tax bill {} (invtNo {}): {}{duty}; {} receipts; inventory: {inventory}",
            bill.tax_no,
            bill.invt_no,
            bill.status.label(),
            bill.history.len()
        )?;
    }
    let count = |s: &str| documents.iter().filter(|d| d.status == s).count();
    let sets_with = |status: Status| sets.iter().filter(|s| s.status() == status).count();
    // Findings without a message type are about a file or folder as a whole.
    let unreadable = diagnostics
        .iter()
        .filter(|d| d.ty.is_empty() && d.severity == Severity::Error)
        .count();
    let skipped = diagnostics
        .iter()
        .filter(|d| d.rule == rule::NOT_A_FILE.code)
        .count();
    let skipped = if skipped > 0 {
        format!(", {skipped} skipped (not regular files)")
    } else {
        String::new()
    };
    writeln!(
        out,
        "{n_files} files, {} documents: {} ok, {} with warnings, {} with errors; {unreadable} files unreadable{skipped}; {} order sets: {} pass, {} fail, {} incomplete",
        documents.len(),
        count("ok"),
        count("warning"),
        count("error"),
        sets.len(),
        sets_with(Status::Pass),
        sets_with(Status::Fail),
        sets_with(Status::Incomplete),
    )
}

/// `send`: every file under `paths`, pipelined over one connection.
fn send(
    addr: String,
    platform: String,
    token_file: &std::path::Path,
    tls_ca: Option<PathBuf>,
    json: bool,
    paths: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    use customs_gateway::client::{Client, Options};
    use customs_gateway::protocol::{Header, Outcome, Secret};
    use sha2::{Digest, Sha256};

    let token = match customs_gateway::admin::read_token(token_file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("customs-gateway: --token-file {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let mut files = Vec::new();
    for p in paths {
        if !p.exists() {
            eprintln!("customs-gateway: {}: no such file or folder", p.display());
            return Ok(ExitCode::from(2));
        }
        collect_xml(p, &mut files)?;
    }
    let mut messages = Vec::with_capacity(files.len());
    for f in &files {
        let bytes =
            std::fs::read(f).map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", f.display()))?;
        let id: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        messages.push((id, bytes));
    }
    let ids: Vec<String> = messages.iter().map(|(id, _)| id.clone()).collect();
    let opts = Options {
        addr,
        platform,
        token: Secret(token),
        tls_ca,
        receipts: false,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut refused = false;
    let mut out = std::io::stdout().lock();
    let result = runtime.block_on(async {
        let client = Client::connect(&opts).await?;
        let client = client
            .submit_all(
                messages,
                |acked| {
                    let Some(path) = files.get(acked.index) else {
                        return;
                    };
                    let id = ids.get(acked.index).cloned().unwrap_or_default();
                    let Header::Ack { result, stored, .. } = &acked.ack else {
                        return;
                    };
                    let failed = stored.result == Outcome::Refused;
                    refused |= failed;
                    if json {
                        let line = serde_json::json!({
                            "path": path.display().to_string(),
                            "id": id,
                            "ack": acked.ack,
                        });
                        let _ = writeln!(out, "{line}");
                        return;
                    }
                    let what = match result {
                        Outcome::Duplicate => format!(
                            "duplicate of message {} ({})",
                            stored.message,
                            if failed { "refused" } else { "accepted" }
                        ),
                        Outcome::Accepted => format!("accepted as message {}", stored.message),
                        Outcome::Refused => format!("refused as message {}", stored.message),
                    };
                    let _ = writeln!(out, "{}: {what} {}", path.display(), stored.message_type);
                    let findings = stored.findings.iter().map(|f| (String::new(), f)).chain(
                        stored.documents.iter().flat_map(|d| {
                            d.findings.iter().map(move |f| (format!(" {}", d.key), f))
                        }),
                    );
                    for (key, f) in findings {
                        let at = if f.path.is_empty() {
                            String::new()
                        } else {
                            format!(" {}:", f.path)
                        };
                        let _ = writeln!(
                            out,
                            "  {}{key}: {} [{}]{at} {}",
                            path.display(),
                            f.severity,
                            f.rule,
                            f.message
                        );
                    }
                },
                |_, _, _| {},
            )
            .await?;
        client.close().await;
        Ok::<_, customs_gateway::client::ClientError>(())
    });
    match result {
        Ok(()) => Ok(ExitCode::from(u8::from(refused))),
        Err(e) => {
            eprintln!("customs-gateway: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

/// `path` itself when it is a file, else every `*.xml` under it, sorted.
fn collect_xml(path: &std::path::Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !path.is_dir() {
        out.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot list: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_xml(&p, out)?;
        } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")) {
            out.push(p);
        }
    }
    Ok(())
}
