//! The customs simulator (`simulate-customs`, or `[simulator] enabled` inside
//! `serve`): it plays the single-window import client and customs, so an
//! integrator can rehearse the whole flow offline.
//!
//! One [`Simulator::step`]:
//!
//! 1. takes every complete file in the customs OutBox (a regular file whose
//!    name does not start with `.` nor end in `.tmp`; the forwarder writes by
//!    rename, so what is there is whole), reads it with the project's codec
//!    and plans its answers: for each request document (CEB311/411/511/621)
//!    one receipt message (CEB312/412/512/622) with returnStatus `120`
//!    (海关入库) now, and for an inventory later (after `release_after_ms`)
//!    `800` (放行), or with the configured probabilities `100` (退单) or `500`
//!    (查验) then `800`;
//! 2. saves the plan (the schedule, a small JSON file in its work folder,
//!    written atomically) and only then moves the file to the SentBox (what
//!    tells the gateway it was sent); a file it cannot read goes to the
//!    FailBox (the gateway writes it again or parks it);
//! 3. writes every answer that is due into the customs InBox: staged in the
//!    work folder, fsynced, renamed in, and removes it from the schedule.
//!
//! Every receipt is built with the model and written with
//! [`codec::encode`], so it is in the official form (default namespace,
//! `guid` and `version` on the root) and validates cleanly. A receipt's text
//! is fixed when it is planned: an answer written again after a crash is the
//! same file with the same bytes (the gateway recognises it). A file taken
//! again after a crash between saving the schedule and moving it is not
//! planned twice (the schedule names the file each answer is for).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::codec::{self, Content, Limits};
use crate::config::Config;
use crate::engine::{DocKind, time17};
use crate::model::{Document, Message, Record};
use crate::schema::fields::{inventory_head as ih, inventory_return as ir};
use crate::schema::{Field, Text};

/// The simulator's configuration (`[simulator]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorConfig {
    /// Run it inside `serve`.
    pub enabled: bool,
    /// How long after the `120` an inventory gets its later answer (and,
    /// after a `500`, its `800`), in milliseconds.
    pub release_after_ms: u64,
    /// The probability that an inventory is refused (`100` 退单).
    pub refuse: f64,
    /// The probability that an inventory is inspected (`500` 查验, then `800`).
    pub inspect: f64,
    /// A seed for the draws (and the numbers the simulator assigns); random
    /// when absent.
    pub seed: Option<u64>,
    /// How often it looks at the OutBox and the schedule, in milliseconds.
    pub interval_ms: u64,
    /// The probability that the bank refuses a three-party agreement
    /// (签约失败, 签约申请银行审批不通过).
    pub agreement_fail: f64,
    /// The probability that the bank refuses a tax payment (支付失败,
    /// 帐户余额不足). Drawn from their own sequence (the seed's), one draw
    /// per payment, so a seed fixes which payments fail.
    pub payment_fail: f64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            enabled: false,
            release_after_ms: 3000,
            refuse: 0.0,
            inspect: 0.0,
            seed: None,
            interval_ms: 200,
            agreement_fail: 0.0,
            payment_fail: 0.0,
        }
    }
}

impl SimulatorConfig {
    /// Checks the values: one sentence naming the key.
    pub fn check(&self) -> Result<(), String> {
        for (key, p) in [
            ("refuse", self.refuse),
            ("inspect", self.inspect),
            ("agreement_fail", self.agreement_fail),
            ("payment_fail", self.payment_fail),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "simulator.{key} must be a probability between 0 and 1 (is {p})"
                ));
            }
        }
        if self.refuse + self.inspect > 1.0 {
            return Err(format!(
                "simulator.refuse and simulator.inspect must add up to at most 1 (are {} + {})",
                self.refuse, self.inspect
            ));
        }
        if self.interval_ms == 0 {
            return Err("simulator.interval_ms must be positive (is 0)".to_owned());
        }
        Ok(())
    }
}

/// Why the simulator could not go on (each names the file and the reason).
#[derive(Debug, Error)]
pub enum SimError {
    /// A folder could not be created or listed.
    #[error("{path}: cannot {what}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// `create the folder`, `list the OutBox`.
        what: &'static str,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file could not be read, moved or written.
    #[error("{path}: cannot {what}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// `read it`, `move it to …`, `write the receipt`.
        what: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The simulator's blocking task stopped (a panic or the runtime going away).
    #[error("the customs simulator's task stopped: {0}")]
    Task(String),
    /// The schedule file is not one the simulator wrote.
    #[error("{path}: the schedule cannot be read: {reason}")]
    Schedule {
        /// The schedule file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Files moved to the SentBox.
    pub sent: usize,
    /// Files moved to the FailBox.
    pub failed: usize,
    /// Receipts written into the InBox.
    pub receipts: usize,
    /// Receipts still scheduled.
    pub pending: usize,
}

/// The layout version of the schedule file.
const SCHEDULE_VERSION: u32 = 1;

/// The schedule file: answers planned and not yet written.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Schedule {
    /// Layout version.
    v: u32,
    /// Planned answers, in the order they were planned.
    pending: Vec<Answer>,
}

/// One planned receipt.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    /// When it is due (milliseconds since the Unix epoch).
    due_ms: u64,
    /// The OutBox file it answers.
    source: String,
    /// Its returnStatus (for logs).
    status: String,
    /// Its file name in the InBox.
    file: String,
    /// The receipt, as written.
    xml: String,
}

/// The refusals a refused inventory gets (national codes as customs writes them).
const REFUSALS: [&str; 4] = [
    "[Code:1313;Desc:订购人购买超过年度限额,超过个人年度购买额度]",
    "[Code:1300;Desc:人工退单，订购人身份证号码有误]",
    "[Code:1322;Desc:订单清单表体商品项不一致]",
    "[Code:22001;Desc:企业未备案]",
];

/// `120` 海关入库.
const INFO_ACCEPTED: &str = "[Code:1800;Desc:逻辑校验通过]";
/// `800` 放行.
const INFO_RELEASED: &str = "[Code:2600;Desc:放行]";
/// `500` 查验 (customs publishes no code for it; 2500 stands in).
const INFO_INSPECTED: &str = "[Code:2500;Desc:查验]";

/// The simulator: its folders, its draws and its schedule.
#[derive(Debug)]
pub struct Simulator {
    config: SimulatorConfig,
    outbox: PathBuf,
    sentbox: PathBuf,
    failbox: PathBuf,
    inbox: PathBuf,
    /// `<customs work folder>/sim`: staged receipts and the schedule.
    work: PathBuf,
    limits: Limits,
    rng: fastrand::Rng,
    schedule: Schedule,
    /// The rate tables it assesses supplementary declarations with.
    tax: Option<std::sync::Arc<crate::tax::Tables>>,
    /// The bank's draws (agreements, payments), apart from the others.
    bank: fastrand::Rng,
}

impl Simulator {
    /// A simulator on `config`'s customs folders: creates them (and its
    /// work folder), removes the temporary files a crash left there and
    /// reads the schedule a previous run saved.
    pub fn new(config: &Config) -> Result<Simulator, SimError> {
        let c = &config.customs;
        let work = c.work_dir().join("sim");
        for dir in [&c.outbox, &c.sentbox, &c.failbox, &c.inbox, &work] {
            std::fs::create_dir_all(dir).map_err(|source| SimError::Folder {
                path: dir.clone(),
                what: "create the folder",
                source,
            })?;
        }
        let rd = std::fs::read_dir(&work).map_err(|source| SimError::Folder {
            path: work.clone(),
            what: "list the work folder",
            source,
        })?;
        for e in rd.filter_map(Result::ok) {
            if e.file_name().to_string_lossy().ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let sim = config.simulator.clone();
        let rng = match sim.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        let mut s = Simulator {
            config: sim,
            outbox: c.outbox.clone(),
            sentbox: c.sentbox.clone(),
            failbox: c.failbox.clone(),
            inbox: c.inbox.clone(),
            work,
            limits: config.limits(),
            rng,
            schedule: Schedule {
                v: SCHEDULE_VERSION,
                pending: Vec::new(),
            },
            tax: config.tax_tables(),
            bank: match config.simulator.seed {
                Some(seed) => fastrand::Rng::with_seed(seed ^ 0xBA4C_0000_0000_0001),
                None => fastrand::Rng::new(),
            },
        };
        s.schedule = s.load()?;
        Ok(s)
    }

    /// The schedule file.
    pub fn schedule_path(&self) -> PathBuf {
        self.work.join("schedule.json")
    }

    /// How many answers are scheduled.
    pub fn pending(&self) -> usize {
        self.schedule.pending.len()
    }

    /// Takes what the OutBox holds, then writes what is due at `now_ms`.
    ///
    /// A file that cannot be moved or a receipt that cannot be written is
    /// logged and tried again at the next step; an OutBox that cannot be
    /// listed or a schedule that cannot be saved is an error.
    pub fn step(&mut self, now_ms: u64) -> Result<StepReport, SimError> {
        let mut report = StepReport::default();
        let mut moves: Vec<(PathBuf, bool)> = Vec::new();
        let mut planned = false;
        for path in self.list()? {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = match self.read(&path) {
                Ok(Some(b)) => b,
                Ok(None) => continue,
                Err(error) => {
                    warn!(message = "Cannot read a file from the customs OutBox; it fails.", file = %path.display(), %error);
                    moves.push((path, false));
                    continue;
                }
            };
            match codec::decode_any_with(&bytes, &self.limits) {
                Err(error) => {
                    warn!(message = "Cannot decode a file from the customs OutBox; it fails.", file = %name, %error);
                    moves.push((path, false));
                }
                Ok(Content::Unsupported(u)) => {
                    warn!(message = "A message the simulator does not answer; sent without an answer.", file = %name, root = %u.root);
                    moves.push((path, true));
                }
                Ok(Content::Message(decoded)) => {
                    if self.schedule.pending.iter().any(|a| a.source == name) {
                        debug!(message = "Already planned (taken before a restart).", file = %name);
                    } else {
                        let answers = self.answer(&name, decoded.message.business(), now_ms);
                        planned |= !answers.is_empty();
                        self.schedule.pending.extend(answers);
                    }
                    moves.push((path, true));
                }
            }
        }
        if planned {
            self.save()?;
        }
        for (path, sent) in moves {
            let dir = if sent { &self.sentbox } else { &self.failbox };
            let Some(name) = path.file_name() else {
                continue;
            };
            let to = dir.join(name);
            match std::fs::rename(&path, &to) {
                Ok(()) => {
                    if sent {
                        report.sent = report.sent.saturating_add(1);
                    } else {
                        report.failed = report.failed.saturating_add(1);
                    }
                    info!(message = if sent { "Sent to customs." } else { "Failed to send." }, file = %name.to_string_lossy(), to = %dir.display());
                }
                Err(source) => {
                    let error = SimError::File {
                        path: path.clone(),
                        what: format!("move it to {}", dir.display()),
                        source,
                    };
                    warn!(message = "Cannot move a file out of the customs OutBox.", %error);
                }
            }
        }
        if report.sent > 0 {
            let _ = crate::daemon::files::sync_dir(&self.sentbox);
        }
        if report.failed > 0 {
            let _ = crate::daemon::files::sync_dir(&self.failbox);
        }
        report.receipts = self.deliver(now_ms)?;
        report.pending = self.schedule.pending.len();
        Ok(report)
    }

    /// The complete files in the OutBox, by name.
    fn list(&self) -> Result<Vec<PathBuf>, SimError> {
        let rd = std::fs::read_dir(&self.outbox).map_err(|source| SimError::Folder {
            path: self.outbox.clone(),
            what: "list the customs OutBox",
            source,
        })?;
        let mut out: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                !name.starts_with('.')
                    && !name.ends_with(".tmp")
                    && e.file_type().is_ok_and(|t| t.is_file())
            })
            .map(|e| e.path())
            .collect();
        out.sort();
        Ok(out)
    }

    /// A file's bytes (`None`: it is gone); more than the size limit is an error.
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, SimError> {
        let err = |source| SimError::File {
            path: path.to_owned(),
            what: "read it".to_owned(),
            source,
        };
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        if meta.len() > self.limits.max_bytes as u64 {
            return Err(err(std::io::Error::other(format!(
                "{} bytes, more than limits.max_bytes ({})",
                meta.len(),
                self.limits.max_bytes
            ))));
        }
        match std::fs::read(path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    /// The answers to every document of `msg` (the file `source`).
    fn answer(&mut self, source: &str, msg: &Message, now_ms: u64) -> Vec<Answer> {
        match msg.spec.ty {
            crate::schema::MessageType::MailDeclaration => {
                return self.answer_declaration(source, msg, now_ms);
            }
            crate::schema::MessageType::AgreementRequest
            | crate::schema::MessageType::PaymentRequest => {
                return self.answer_bank(source, msg, now_ms);
            }
            crate::schema::MessageType::MailRequest => {
                return self.answer_request(source, msg, now_ms);
            }
            _ => {}
        }
        let Some(kind) = DocKind::of(msg.spec) else {
            warn!(message = "Not a declaration the simulator answers; sent without an answer.", file = %source, r#type = msg.spec.name);
            return Vec::new();
        };
        let release = self.config.release_after_ms.max(1);
        let later = now_ms.saturating_add(release);
        let mut out = Vec::new();
        for (i, doc) in msg.documents.iter().enumerate() {
            let mut plan: Vec<(u64, &str, String)> =
                vec![(now_ms, "120", INFO_ACCEPTED.to_owned())];
            let mut numbers = None;
            if kind == DocKind::Inventory {
                numbers = Some(self.numbers(doc, now_ms));
                let draw = self.rng.f64();
                if draw < self.config.refuse {
                    let info = REFUSALS
                        .get(self.rng.usize(..REFUSALS.len()))
                        .copied()
                        .unwrap_or(REFUSALS[0]);
                    plan.push((later, "100", info.to_owned()));
                } else if draw < self.config.refuse + self.config.inspect {
                    plan.push((later, "500", INFO_INSPECTED.to_owned()));
                    plan.push((
                        later.saturating_add(release),
                        "800",
                        INFO_RELEASED.to_owned(),
                    ));
                } else {
                    plan.push((later, "800", INFO_RELEASED.to_owned()));
                }
            }
            for (due, status, info) in plan {
                let guid = self.guid();
                let Some(time) = time17(due) else {
                    warn!(message = "The time cannot be written; no receipt.", file = %source, due_ms = due);
                    continue;
                };
                let receipt = receipt(kind, doc, numbers.as_ref(), &guid, status, &time, &info);
                match codec::encode(&receipt, &codec::EncodeOptions::default()) {
                    Ok(bytes) => out.push(Answer {
                        due_ms: due,
                        source: source.to_owned(),
                        status: status.to_owned(),
                        file: format!("{}_{guid}.xml", receipt.spec.name),
                        xml: String::from_utf8_lossy(&bytes).into_owned(),
                    }),
                    Err(error) => {
                        warn!(message = "The document cannot be answered (its values do not fit the receipt).", file = %source, document = i, %error);
                    }
                }
            }
        }
        out
    }

    /// A postal-items answer: `document` as a message of `spec`, due at
    /// `due`, named in due order (the gateway takes a folder's files in
    /// name order); `None`, logged, when its values do not fit the schema.
    fn mail_answer(
        &mut self,
        spec: &'static crate::schema::MessageSpec,
        document: Document,
        due: u64,
        source: &str,
        status: &str,
    ) -> Option<Answer> {
        let guid = self.guid();
        let mut m = Message::new(spec);
        m.guid = Some(guid.clone());
        m.version = Some("1.0".to_owned());
        m.documents.push(document);
        match codec::encode(&m, &codec::EncodeOptions::default()) {
            Ok(bytes) => Some(Answer {
                due_ms: due,
                source: source.to_owned(),
                status: status.to_owned(),
                file: format!("Mail_{due:013}_{}_{guid}.xml", spec.name),
                xml: String::from_utf8_lossy(&bytes).into_owned(),
            }),
            Err(error) => {
                warn!(message = "The message cannot be answered (its values do not fit the answer).", file = %source, r#type = spec.name, %error);
                None
            }
        }
    }

    /// Customs' review of a mail item's supplementary declaration, after
    /// `release_after_ms`: assessed with the postal tax calculator, the item
    /// is 待缴税 with a tax certificate (缴纳证), or 免税放行 when the tax is 50
    /// CNY or less; a declaration whose values cannot be assessed (prices
    /// in another currency, an unknown article) is 未通过 with the reason.
    fn answer_declaration(&mut self, source: &str, msg: &Message, now_ms: u64) -> Vec<Answer> {
        use crate::mail::item::MailStatus;
        use crate::schema::fields::{
            certificate_head as ch, certificate_list as cl, declaration_head as dh,
            mail_declaration_result as dr,
        };
        use crate::schema::{MSG_MAIL_DECLARATION_RESULT, MSG_TAX_CERTIFICATE};
        let due = now_ms.saturating_add(self.config.release_after_ms.max(1));
        let Some(time) = crate::mail::messages::time14(due) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for doc in &msg.documents {
            let h = &doc.head;
            use crate::mail::messages::{AssessError, assess_declaration};
            let assessed = match self.tax.as_deref() {
                Some(tables) => assess_declaration(tables, doc, crate::subscribe::Date::cst(due))
                    .map_err(|e| match e {
                        AssessError::Currency { line, currency } => {
                            format!("请以人民币（142）申报价格，第{line}项为{currency}")
                        }
                        AssessError::Number => "数量或单价无效".to_owned(),
                        AssessError::Postal(why) => why,
                    }),
                None => Err("no tax rate tables".to_owned()),
            };
            let mut result = Record::new(MSG_MAIL_DECLARATION_RESULT.head);
            result.set(dr::DECL_NO, h.str(dh::DECL_NO));
            result.set(dr::MAIL_NO, h.str(dh::MAIL_NO));
            result.set(dr::RECIPIENT_PHONE, h.str(dh::RECIPIENT_PHONE));
            result.set(dr::RESULT_TIME, time.as_str());
            let mut certificate = None;
            match &assessed {
                Err(why) => {
                    result.set(dr::STATUS, MailStatus::Rejected.code());
                    result.set(dr::REASON, format!("审核不通过：{why}"));
                }
                Ok((t, _)) if t.exempt => {
                    result.set(dr::STATUS, MailStatus::ReleasedWithoutTax.code());
                    result.set(
                        dr::REASON,
                        format!("应征税额{}元，{}元及以下免征，放行", t.total_tax, t.waiver),
                    );
                    result.set_dec(dr::TOTAL_TAX, t.total_tax);
                }
                Ok((t, lines)) => {
                    let port = "5100";
                    let no = format!(
                        "{port}{}X4{:010}",
                        time.get(..4).unwrap_or("1970"),
                        self.rng.u64(..10_000_000_000)
                    );
                    result.set(dr::STATUS, MailStatus::TaxPending.code());
                    result.set(dr::REASON, "审核通过，应征进口税");
                    result.set(dr::CERTIFICATE_NO, no.as_str());
                    result.set_dec(dr::TOTAL_TAX, t.total_tax);
                    let mut head = Record::new(MSG_TAX_CERTIFICATE.head);
                    head.set(ch::CERTIFICATE_NO, no.as_str());
                    head.set(ch::MAIL_NO, h.str(dh::MAIL_NO));
                    head.set(ch::PORT_CODE, port);
                    head.set(ch::RECIPIENT_NAME, h.str(dh::RECIPIENT_NAME));
                    head.set(ch::RECIPIENT_PHONE, h.str(dh::RECIPIENT_PHONE));
                    head.set_dec(ch::TOTAL_TAX, t.total_tax);
                    head.set(ch::KIND, "邮递物品");
                    head.set(ch::ISSUE_TIME, time.as_str());
                    let mut cert_lines = Vec::new();
                    for (n, (computed, shown)) in t.lines.iter().zip(lines).enumerate() {
                        let mut l = Record::new(&crate::schema::REC_CERTIFICATE_LIST);
                        l.set_int(cl::GNUM, i64::try_from(n).unwrap_or(0) + 1);
                        l.set(cl::DESCRIPTION, shown.description.as_str());
                        l.set(cl::QUANTITY, shown.quantity.as_str());
                        l.set_dec(cl::DUTIABLE_VALUE, computed.value);
                        l.set_dec(cl::RATE, computed.rate);
                        l.set_dec(cl::TAX, crate::tax::to_fen(computed.tax));
                        cert_lines.push(l);
                    }
                    certificate = Some(Document {
                        head,
                        lines: cert_lines,
                    });
                }
            }
            let mut messages = vec![Document {
                head: result,
                lines: Vec::new(),
            }];
            messages.extend(certificate);
            for (n, document) in messages.into_iter().enumerate() {
                let spec = if n == 0 {
                    &MSG_MAIL_DECLARATION_RESULT
                } else {
                    &MSG_TAX_CERTIFICATE
                };
                let due = due.saturating_add(n as u64);
                out.extend(self.mail_answer(spec, document, due, source, spec.name));
            }
        }
        out
    }

    /// Customs on a recipient's request: a tax review keeps the tax
    /// (待缴税 again), a refund is made (已退税), a return is done (已退运),
    /// each `release_after_ms` later.
    fn answer_request(&mut self, source: &str, msg: &Message, now_ms: u64) -> Vec<Answer> {
        use crate::mail::item::MailStatus;
        use crate::schema::MSG_MAIL_NOTICE;
        use crate::schema::fields::{mail_notice as mn, mail_request as mq};
        let due = now_ms.saturating_add(self.config.release_after_ms.max(1));
        let Some(time) = crate::mail::messages::time14(due) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for doc in &msg.documents {
            let h = &doc.head;
            let (status, reason) = match h.str(mq::KIND).trim() {
                "review" => (MailStatus::TaxPending, "税款复核完毕，维持原应征税额"),
                "refund" => (MailStatus::Refunded, "退税已办理"),
                _ => (MailStatus::Returned, "邮件已退运"),
            };
            let mut r = Record::new(MSG_MAIL_NOTICE.head);
            r.set(mn::MAIL_NO, h.str(mq::MAIL_NO));
            r.set(mn::RECIPIENT_NAME, h.str(mq::RECIPIENT_NAME));
            r.set(mn::RECIPIENT_PHONE, h.str(mq::RECIPIENT_PHONE));
            r.set(mn::STATUS, status.code());
            r.set(mn::REASON, reason);
            r.set(mn::NOTICE_TIME, time.as_str());
            let document = Document {
                head: r,
                lines: Vec::new(),
            };
            out.extend(self.mail_answer(&MSG_MAIL_NOTICE, document, due, source, status.code()));
        }
        out
    }

    /// Customs, treasury and bank on a three-party agreement or a tax
    /// payment: the steps the single window shows, one `release_after_ms`
    /// apart, then the bank's answer (a refusal with `agreement_fail` or
    /// `payment_fail`).
    fn answer_bank(&mut self, source: &str, msg: &Message, now_ms: u64) -> Vec<Answer> {
        use crate::mail::agreement::notes;
        use crate::mail::certificate::steps;
        use crate::schema::fields::{
            agreement_request as aq, agreement_result as ar, payment_request as pq,
            payment_result as pr,
        };
        use crate::schema::{MSG_AGREEMENT_RESULT, MSG_PAYMENT_RESULT, MessageType};
        let step = self.config.release_after_ms.max(1);
        let mut out = Vec::new();
        for doc in &msg.documents {
            let h = &doc.head;
            // (state, note, reason) at each step.
            let plan: Vec<(&str, String, String)> = if msg.spec.ty == MessageType::AgreementRequest
            {
                if h.str(aq::ACTION).trim() == "cancel" {
                    vec![("解约成功", notes::CANCELLED.to_owned(), String::new())]
                } else {
                    let refused = self.bank.f64() < self.config.agreement_fail;
                    let mut p = vec![
                        (
                            "签约处理中",
                            notes::CUSTOMS_APPROVED.to_owned(),
                            String::new(),
                        ),
                        ("签约处理中", notes::FORWARDED.to_owned(), String::new()),
                    ];
                    if refused {
                        p.push(("签约失败", notes::BANK_REFUSED.to_owned(), String::new()));
                    } else {
                        p.push(("签约处理中", notes::VERIFIED.to_owned(), String::new()));
                        p.push(("签约成功", notes::SIGNED.to_owned(), String::new()));
                    }
                    p
                }
            } else {
                let refused = self.bank.f64() < self.config.payment_fail;
                let mut p: Vec<(&str, String, String)> = steps::BEFORE_RESULT
                    .iter()
                    .map(|s| ("支付处理中", (*s).to_owned(), String::new()))
                    .collect();
                if refused {
                    p.push(("支付失败", "支付失败".to_owned(), "帐户余额不足".to_owned()));
                } else {
                    p.push(("支付成功", steps::SUCCEEDED.to_owned(), String::new()));
                    // Paid: customs releases the item.
                    p.push(("放行", "税款已缴纳，海关放行".to_owned(), String::new()));
                }
                p
            };
            for (n, (state, note, reason)) in plan.into_iter().enumerate() {
                let due = now_ms.saturating_add(step.saturating_mul(n as u64 + 1));
                let Some(time) = crate::mail::messages::time14(due) else {
                    continue;
                };
                let (spec, head) = if state == "放行" {
                    use crate::schema::fields::mail_notice as mn;
                    let mut r = Record::new(crate::schema::MSG_MAIL_NOTICE.head);
                    r.set(mn::MAIL_NO, h.str(pq::MAIL_NO));
                    r.set(mn::RECIPIENT_NAME, h.str(pq::RECIPIENT_NAME));
                    r.set(mn::RECIPIENT_PHONE, h.str(pq::PAYER_PHONE));
                    r.set(mn::STATUS, crate::mail::item::MailStatus::Released.code());
                    r.set(mn::REASON, note.as_str());
                    r.set(mn::NOTICE_TIME, time.as_str());
                    (&crate::schema::MSG_MAIL_NOTICE, r)
                } else if msg.spec.ty == MessageType::AgreementRequest {
                    let mut r = Record::new(MSG_AGREEMENT_RESULT.head);
                    r.set(ar::AGREEMENT_NO, h.str(aq::AGREEMENT_NO));
                    r.set(ar::PAYER_PHONE, h.str(aq::PAYER_PHONE));
                    r.set(ar::CUSTOMS_CODE, h.str(aq::CUSTOMS_CODE));
                    r.set(ar::BANK_CODE, h.str(aq::BANK_CODE));
                    r.set(ar::ACCOUNT, crate::mail::mask::account(h.str(aq::ACCOUNT)));
                    r.set(ar::STATE, state);
                    r.set(ar::NOTE, note.as_str());
                    r.set(ar::STATE_TIME, time.as_str());
                    (&MSG_AGREEMENT_RESULT, r)
                } else {
                    let mut r = Record::new(MSG_PAYMENT_RESULT.head);
                    r.set(pr::CERTIFICATE_NO, h.str(pq::CERTIFICATE_NO));
                    r.set(pr::SERIAL_NO, h.str(pq::SERIAL_NO));
                    r.set(pr::AGREEMENT_NO, h.str(pq::AGREEMENT_NO));
                    r.set(pr::BANK_CODE, h.str(pq::BANK_CODE));
                    r.set(pr::REQUEST_TIME, h.str(pq::REQUEST_TIME));
                    r.set(pr::STATE, state);
                    r.set(pr::NOTE, note.as_str());
                    if !reason.is_empty() {
                        r.set(pr::REASON, reason.as_str());
                    }
                    r.set(pr::RESULT_TIME, time.as_str());
                    (&MSG_PAYMENT_RESULT, r)
                };
                let document = Document {
                    head,
                    lines: Vec::new(),
                };
                out.extend(self.mail_answer(spec, document, due, source, state));
            }
        }
        out
    }

    /// An inventory's preNo and invtNo: its own when it carries 18
    /// characters, else assigned as the E-port and customs do
    /// (`B` + date + 9 digits; customsCode + year + `I` + 9 digits).
    fn numbers(&mut self, doc: &Document, now_ms: u64) -> (String, String) {
        let h = &doc.head;
        let date = time17(now_ms).unwrap_or_default();
        let day = date.get(..8).unwrap_or("19700101");
        let year = date.get(..4).unwrap_or("1970");
        let own = |f: Field<Text>| {
            let v = h.str(f).trim();
            (v.chars().count() == 18).then(|| v.to_owned())
        };
        let pre_no = own(ih::PRE_NO)
            .unwrap_or_else(|| format!("B{day}{:09}", self.rng.u32(..1_000_000_000)));
        let customs = h.str(ih::CUSTOMS_CODE).trim();
        let customs = if customs.len() == 4 && customs.bytes().all(|b| b.is_ascii_digit()) {
            customs
        } else {
            "0000"
        };
        let invt_no = own(ih::INVT_NO)
            .unwrap_or_else(|| format!("{customs}{year}I{:09}", self.rng.u32(..1_000_000_000)));
        (pre_no, invt_no)
    }

    /// A fresh lower-case UUID (version 4 form).
    fn guid(&mut self) -> String {
        crate::engine::uuid_text(self.rng.u128(..), 4)
    }

    /// Writes every answer due at `now_ms` into the InBox, in due order;
    /// returns how many. One that cannot be written stops the round (it
    /// is tried again at the next step, before the later ones).
    fn deliver(&mut self, now_ms: u64) -> Result<usize, SimError> {
        let mut due: Vec<usize> = (0..self.schedule.pending.len())
            .filter(|&i| {
                self.schedule
                    .pending
                    .get(i)
                    .is_some_and(|a| a.due_ms <= now_ms)
            })
            .collect();
        due.sort_by_key(|&i| self.schedule.pending.get(i).map_or(0, |a| a.due_ms));
        let mut written: Vec<usize> = Vec::new();
        for i in due {
            let Some(a) = self.schedule.pending.get(i) else {
                continue;
            };
            match self.write_receipt(a) {
                Ok(()) => {
                    info!(message = "Receipt written.", file = %a.file, status = %a.status, answers = %a.source);
                    written.push(i);
                }
                Err(error) => {
                    warn!(message = "Cannot write a receipt into the customs InBox; will retry.", %error);
                    break;
                }
            }
        }
        if written.is_empty() {
            return Ok(0);
        }
        let _ = crate::daemon::files::sync_dir(&self.inbox);
        let n = written.len();
        let mut done = vec![false; self.schedule.pending.len()];
        for &i in &written {
            if let Some(d) = done.get_mut(i) {
                *d = true;
            }
        }
        let mut flags = done.into_iter();
        self.schedule
            .pending
            .retain(|_| !flags.next().unwrap_or(false));
        self.save()?;
        Ok(n)
    }

    /// One receipt: staged in the work folder, fsynced, renamed into the InBox.
    fn write_receipt(&self, a: &Answer) -> Result<(), SimError> {
        let target = self.inbox.join(&a.file);
        let tmp = self.work.join(format!("{}.tmp", a.file));
        write_synced(&tmp, a.xml.as_bytes())
            .and_then(|()| std::fs::rename(&tmp, &target))
            .map_err(|source| SimError::File {
                path: target,
                what: "write the receipt".to_owned(),
                source,
            })
    }

    fn load(&self) -> Result<Schedule, SimError> {
        let path = self.schedule_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Schedule {
                    v: SCHEDULE_VERSION,
                    pending: Vec::new(),
                });
            }
            Err(source) => {
                return Err(SimError::File {
                    path,
                    what: "read the schedule".to_owned(),
                    source,
                });
            }
        };
        let s: Schedule = serde_json::from_str(&text).map_err(|e| SimError::Schedule {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if s.v != SCHEDULE_VERSION {
            return Err(SimError::Schedule {
                path,
                reason: format!(
                    "layout version {} (this release reads {SCHEDULE_VERSION})",
                    s.v
                ),
            });
        }
        Ok(s)
    }

    /// Saves the schedule atomically (temporary file, fsync, rename, fsync
    /// of the folder).
    fn save(&self) -> Result<(), SimError> {
        let path = self.schedule_path();
        let err = |source| SimError::File {
            path: path.clone(),
            what: "save the schedule".to_owned(),
            source,
        };
        let text = serde_json::to_vec_pretty(&self.schedule)
            .map_err(|e| err(std::io::Error::other(e.to_string())))?;
        let tmp = self.work.join("schedule.json.tmp");
        write_synced(&tmp, &text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .and_then(|()| crate::daemon::files::sync_dir(&self.work))
            .map_err(err)
    }
}

/// Customs announces a mail item that arrived (for rehearsal): a MailNotice
/// `arrived` and, with `declare`, one `declaration_required` a second
/// later, written (synced, then renamed) into the customs InBox `config`
/// names. Apart from the running simulator: it touches neither its
/// schedule nor its work folder. The files written.
pub fn announce(
    config: &Config,
    mail_no: &str,
    name: &str,
    phone: &str,
    origin: Option<&str>,
    declare: bool,
    now_ms: u64,
) -> Result<Vec<PathBuf>, SimError> {
    use crate::mail::item::MailStatus;
    use crate::schema::MSG_MAIL_NOTICE;
    use crate::schema::fields::mail_notice as mn;
    let inbox = &config.customs.inbox;
    std::fs::create_dir_all(inbox).map_err(|source| SimError::Folder {
        path: inbox.clone(),
        what: "create the folder",
        source,
    })?;
    let mut rng = fastrand::Rng::new();
    let mut plan = vec![(now_ms, MailStatus::Arrived, "邮件已运抵海关监管场所")];
    if declare {
        plan.push((
            now_ms.saturating_add(1000),
            MailStatus::DeclarationRequired,
            "邮件需补充申报，请登录单一窗口或掌上海关申报",
        ));
    }
    let mut written = Vec::new();
    for (at, status, reason) in plan {
        let Some(time) = crate::mail::messages::time14(at) else {
            continue;
        };
        let mut r = Record::new(MSG_MAIL_NOTICE.head);
        r.set(mn::MAIL_NO, mail_no);
        r.set(mn::RECIPIENT_NAME, name);
        r.set(mn::RECIPIENT_PHONE, phone);
        if let Some(o) = origin {
            r.set(mn::ORIGIN, o);
        }
        r.set(
            mn::ARRIVAL_TIME,
            crate::mail::messages::time14(now_ms).unwrap_or_default(),
        );
        r.set(mn::STATUS, status.code());
        r.set(mn::REASON, reason);
        r.set(mn::NOTICE_TIME, time.as_str());
        let guid = crate::engine::uuid_text(rng.u128(..), 4);
        let mut m = Message::new(&MSG_MAIL_NOTICE);
        m.guid = Some(guid.clone());
        m.version = Some("1.0".to_owned());
        m.documents.push(Document {
            head: r,
            lines: Vec::new(),
        });
        let target = inbox.join(format!("Mail_{at:013}_{}_{guid}.xml", MSG_MAIL_NOTICE.name));
        let bytes =
            codec::encode(&m, &codec::EncodeOptions::default()).map_err(|e| SimError::File {
                path: target.clone(),
                what: format!("write the notice of {mail_no}"),
                source: std::io::Error::other(e.to_string()),
            })?;
        // A dot-file the gateway's scan does not take, renamed when synced.
        let tmp = inbox.join(format!(".{guid}.tmp"));
        write_synced(&tmp, &bytes)
            .and_then(|()| std::fs::rename(&tmp, &target))
            .map_err(|source| SimError::File {
                path: target.clone(),
                what: "write the notice".to_owned(),
                source,
            })?;
        written.push(target);
    }
    Ok(written)
}

/// Writes `bytes` to `path` and fsyncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// The receipt message for `doc` (of `kind`) with the given status.
fn receipt(
    kind: DocKind,
    doc: &Document,
    numbers: Option<&(String, String)>,
    guid: &str,
    status: &str,
    time: &str,
    info: &str,
) -> Message {
    let (spec, mut head) = crate::engine::return_head(kind, doc, status, time, info);
    if kind == DocKind::Inventory
        && let Some((pre_no, invt_no)) = numbers
    {
        head.set(ir::PRE_NO, pre_no.as_str());
        head.set(ir::INVT_NO, invt_no.as_str());
    }
    let mut msg = Message::new(spec);
    msg.guid = Some(guid.to_owned());
    msg.version = Some("1.0".to_owned());
    msg.documents.push(Document {
        head,
        lines: Vec::new(),
    });
    msg
}

/// Runs the simulator on `config` until `shutdown` is cancelled: one step
/// every `simulator.interval_ms`, on a blocking thread.
pub async fn run(config: &Config, shutdown: CancellationToken) -> Result<(), SimError> {
    let interval = std::time::Duration::from_millis(config.simulator.interval_ms.max(1));
    let config = config.clone();
    let mut sim = tokio::task::spawn_blocking(move || Simulator::new(&config))
        .await
        .map_err(|e| SimError::Task(e.to_string()))??;
    info!(
        message = "Customs simulator started.",
        outbox = %sim.outbox.display(),
        inbox = %sim.inbox.display(),
        release_after_ms = sim.config.release_after_ms,
        refuse = sim.config.refuse,
        inspect = sim.config.inspect,
        pending = sim.pending()
    );
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let joined = tokio::task::spawn_blocking(move || {
            let r = sim.step(crate::daemon::now_ms());
            (sim, r)
        })
        .await;
        let (s, r) = match joined {
            Ok(x) => x,
            Err(e) => return Err(SimError::Task(e.to_string())),
        };
        sim = s;
        match r {
            Ok(report)
                if report
                    != StepReport {
                        pending: report.pending,
                        ..StepReport::default()
                    } =>
            {
                debug!(
                    message = "Simulator step.",
                    sent = report.sent,
                    failed = report.failed,
                    receipts = report.receipts,
                    pending = report.pending
                );
            }
            Ok(_) => {}
            Err(error) => warn!(message = "The simulator's step failed; will retry.", %error),
        }
    }
    info!(
        message = "Customs simulator stopped.",
        pending = sim.pending()
    );
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::validate::{Mode, validate};

    const T0: u64 = 1_795_227_931_004; // 2026-11-21T10:25:31.004 in Beijing

    fn config(dir: &Path, sim: SimulatorConfig) -> Config {
        let mut c = Config::default();
        let base = dir.join("customs");
        c.customs.outbox = base.join("OutBox");
        c.customs.inbox = base.join("InBox");
        c.customs.failbox = base.join("FailBox");
        c.customs.sentbox = base.join("SentBox");
        c.simulator = sim;
        c
    }

    fn sim(refuse: f64, inspect: f64) -> SimulatorConfig {
        SimulatorConfig {
            release_after_ms: 1000,
            refuse,
            inspect,
            seed: Some(7),
            ..SimulatorConfig::default()
        }
    }

    fn drop_samples(c: &Config, names: &[&str]) {
        let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/set-ok");
        for n in names {
            std::fs::copy(samples.join(n), c.customs.outbox.join(n)).unwrap();
        }
    }

    /// The receipts in the InBox: (file name, decoded message), by returnTime.
    fn inbox(c: &Config) -> Vec<(String, Message)> {
        let mut out: Vec<(String, Message)> = std::fs::read_dir(&c.customs.inbox)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let bytes = std::fs::read(e.path()).unwrap();
                let d = codec::decode(&bytes).unwrap();
                assert!(d.diagnostics.is_empty(), "{:?}", d.diagnostics);
                let findings = validate(&d.message, Mode::Read);
                assert!(findings.is_empty(), "{findings:?}");
                (e.file_name().to_string_lossy().into_owned(), d.message)
            })
            .collect();
        out.sort_by_key(|(_, m)| field(m, "returnTime"));
        out
    }

    fn field(m: &Message, name: &str) -> String {
        let head = &m.documents[0].head;
        let i = head.spec().field_index(name).unwrap();
        head.value(i).to_string()
    }

    #[test]
    fn config_refuses_bad_probabilities_naming_the_key() {
        assert!(SimulatorConfig::default().check().is_ok());
        let e = sim(1.5, 0.0).check().unwrap_err();
        assert!(e.starts_with("simulator.refuse must be"), "{e}");
        let e = sim(0.0, -0.1).check().unwrap_err();
        assert!(e.starts_with("simulator.inspect must be"), "{e}");
        let e = sim(0.6, 0.5).check().unwrap_err();
        assert!(e.contains("simulator.refuse and simulator.inspect"), "{e}");
        assert!(sim(f64::NAN, 0.0).check().is_err());
    }

    #[test]
    fn answers_every_document_with_120_then_releases_the_inventory() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), sim(0.0, 0.0));
        let mut s = Simulator::new(&c).unwrap();
        drop_samples(
            &c,
            &[
                "CEB311-order.xml",
                "CEB411-payment.xml",
                "CEB511-waybill.xml",
                "CEB621-inventory.xml",
            ],
        );
        // A file being written, a hidden file and a folder are not taken.
        std::fs::write(c.customs.outbox.join("CEB311_x.xml.tmp"), b"<").unwrap();
        std::fs::write(c.customs.outbox.join(".hidden.xml"), b"<").unwrap();
        std::fs::create_dir(c.customs.outbox.join("sub")).unwrap();

        let r = s.step(T0).unwrap();
        assert_eq!((r.sent, r.failed, r.receipts, r.pending), (4, 0, 4, 1));
        let mut left: Vec<String> = std::fs::read_dir(&c.customs.outbox)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".hidden.xml", "CEB311_x.xml.tmp", "sub"]);
        assert!(c.customs.sentbox.join("CEB621-inventory.xml").exists());
        let receipts = inbox(&c);
        let mut types: Vec<&str> = receipts.iter().map(|(_, m)| m.spec.name).collect();
        types.sort_unstable();
        assert_eq!(types, ["CEB312", "CEB412", "CEB512", "CEB622"]);
        for (name, m) in &receipts {
            assert_eq!(field(m, "returnStatus"), "120");
            assert_eq!(field(m, "returnInfo"), "[Code:1800;Desc:逻辑校验通过]");
            assert_eq!(field(m, "returnTime"), "20261121102531004");
            let guid = m.guid.as_deref().unwrap();
            assert_eq!(guid.len(), 36);
            assert!(
                guid.chars()
                    .enumerate()
                    .all(|(i, ch)| if [8, 13, 18, 23].contains(&i) {
                        ch == '-'
                    } else {
                        ch.is_ascii_digit() || ('a'..='f').contains(&ch)
                    }),
                "{guid}"
            );
            assert_eq!(name, &format!("{}_{guid}.xml", m.spec.name));
        }
        let (_, order) = receipts
            .iter()
            .find(|(_, m)| m.spec.name == "CEB312")
            .unwrap();
        assert_eq!(field(order, "orderNo"), "GW20261121000001");
        assert_eq!(field(order, "ebpCode"), "3301960A01");
        let (_, inv) = receipts
            .iter()
            .find(|(_, m)| m.spec.name == "CEB622")
            .unwrap();
        let pre_no = field(inv, "preNo");
        let invt_no = field(inv, "invtNo");
        assert!(
            pre_no.starts_with("B20261121") && pre_no.len() == 18,
            "{pre_no}"
        );
        assert!(
            invt_no.starts_with("29912026I") && invt_no.len() == 18,
            "{invt_no}"
        );
        assert_eq!(field(inv, "copNo"), "GWCOP2026112100001");

        // Not yet due; then due: the 800, with the same numbers, later.
        assert_eq!(s.step(T0 + 999).unwrap().receipts, 0);
        let r = s.step(T0 + 1000).unwrap();
        assert_eq!((r.receipts, r.pending), (1, 0));
        let receipts = inbox(&c);
        assert_eq!(receipts.len(), 5);
        let (_, last) = receipts.last().unwrap();
        assert_eq!(last.spec.name, "CEB622");
        assert_eq!(field(last, "returnStatus"), "800");
        assert_eq!(field(last, "returnInfo"), "[Code:2600;Desc:放行]");
        assert_eq!(field(last, "returnTime"), "20261121102532004");
        assert_eq!(
            (field(last, "preNo"), field(last, "invtNo")),
            (pre_no, invt_no)
        );
        assert_ne!(last.guid, inv.guid);
        // Nothing staged is left behind.
        let work: Vec<_> = std::fs::read_dir(s.work.clone()).unwrap().collect();
        assert_eq!(work.len(), 1, "only schedule.json: {work:?}");
    }

    #[test]
    fn refuses_or_inspects_as_configured() {
        for (refuse, inspect, statuses) in [
            (1.0, 0.0, vec!["120", "100"]),
            (0.0, 1.0, vec!["120", "500", "800"]),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let c = config(dir.path(), sim(refuse, inspect));
            let mut s = Simulator::new(&c).unwrap();
            drop_samples(&c, &["CEB621-inventory.xml"]);
            for t in [T0, T0 + 1000, T0 + 2000] {
                s.step(t).unwrap();
            }
            let receipts = inbox(&c);
            let got: Vec<String> = receipts
                .iter()
                .map(|(_, m)| field(m, "returnStatus"))
                .collect();
            assert_eq!(got, statuses);
            let times: Vec<String> = receipts
                .iter()
                .map(|(_, m)| field(m, "returnTime"))
                .collect();
            assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
            if refuse > 0.0 {
                let info = field(&receipts[1].1, "returnInfo");
                assert!(REFUSALS.contains(&info.as_str()), "{info}");
            }
        }
    }

    #[test]
    fn an_unreadable_file_fails_and_the_schedule_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), sim(0.0, 0.0));
        let mut s = Simulator::new(&c).unwrap();
        std::fs::write(c.customs.outbox.join("junk.xml"), b"not xml").unwrap();
        drop_samples(&c, &["CEB621-inventory.xml"]);
        let r = s.step(T0).unwrap();
        assert_eq!((r.sent, r.failed, r.receipts, r.pending), (1, 1, 1, 1));
        assert!(c.customs.failbox.join("junk.xml").exists());
        drop(s);

        let mut s = Simulator::new(&c).unwrap();
        assert_eq!(s.pending(), 1);
        let r = s.step(T0 + 1000).unwrap();
        assert_eq!((r.receipts, r.pending), (1, 0));
        let statuses: Vec<String> = inbox(&c)
            .iter()
            .map(|(_, m)| field(m, "returnStatus"))
            .collect();
        assert_eq!(statuses, ["120", "800"]);
        drop(s);
        assert_eq!(Simulator::new(&c).unwrap().pending(), 0);
    }

    #[test]
    fn a_file_taken_again_after_a_crash_is_not_planned_twice() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), sim(0.0, 0.0));
        let mut s = Simulator::new(&c).unwrap();
        drop_samples(&c, &["CEB621-inventory.xml"]);
        s.step(T0).unwrap();
        // As if the move to the SentBox had not happened.
        std::fs::rename(
            c.customs.sentbox.join("CEB621-inventory.xml"),
            c.customs.outbox.join("CEB621-inventory.xml"),
        )
        .unwrap();
        let r = s.step(T0 + 10).unwrap();
        assert_eq!((r.sent, r.receipts, r.pending), (1, 0, 1));
    }

    #[test]
    fn a_damaged_schedule_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path(), sim(0.0, 0.0));
        let s = Simulator::new(&c).unwrap();
        std::fs::write(s.schedule_path(), b"{\"v\": 1, \"pending\": 3}").unwrap();
        let e = Simulator::new(&c).unwrap_err().to_string();
        assert!(
            e.contains("schedule.json: the schedule cannot be read"),
            "{e}"
        );
    }
}
