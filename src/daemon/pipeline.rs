//! The pipeline: one claimed file at a time, decode → validate → sender
//! scope → store → engine → outcome, the same core `check` runs; and the
//! bookkeeping of what happens afterwards (forwarded, transmitted, failed).
//!
//! The pipeline is the store's only writer. The writes of a whole batch of
//! files (message, raw bytes, documents, history, sets, quota, queues) and
//! of the forwarder's reports handled with them go into one [`Tx`],
//! applied atomically by [`Pipeline::commit`]: each file's writes are all
//! in the store or none are (sled seals its log buffer twice for every
//! atomic batch, so one a batch instead of one a file). The caller flushes
//! the store once per batch and only then carries out the [`Effects`]
//! (moves the originals out of the work folder, writes receipts, hands
//! messages to the forwarder). A crash before the flush leaves the
//! originals in the work folder, and the next start processes them again;
//! a crash after it finds each file's SHA-256 in the idempotency index and
//! only finishes the move.
//!
//! The engine holds open sets only: a decided set is closed once its
//! outcome is stored, and brought back from the store ([`Pipeline::reopen`])
//! when a later document names it (a resend, a change).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};

use crate::codec::{self, Content, Limits};
use crate::config::{ClientConfig, PlatformConfig, SenderConfig};
use crate::daemon::stats::OverdueSet;
use crate::daemon::subs::{NewSubscription, Subscriptions};
use crate::engine::{
    AppType, DocKind, Engine, EngineError, InboundId, Placement, SetKey, SetReport, Status,
    Violation, receipt_for,
};
use crate::model::{Document, Message, Record, document_key};
use crate::protocol::{AckDocument, Diagnostic, Header, Outcome, Stored};
use crate::schema::{MessageSpec, RuleInfo, Severity, rule};
use crate::store::records::{Disposition, VERSION};
use crate::store::{
    AgreementRecord, CertificateRecord, DocId, DocumentRecord, Event, Finding, ForwardRecord,
    InboxRecord, MailRecord, MessageRecord, OutboxEntry, ReceiptEvent, SetRecord, Source, Store,
    StoreError, StoreLedger, SubmissionRecord, TaxBillRecord, Tx, UnroutedRecord, key,
};
use crate::tax::{Applied, BillUpdate, TaxBill};
use crate::track::{self, status};
use crate::validate::{self, Mode, written_by_customs};

/// Where a claimed file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A sender's OutBox (index into the configured senders).
    Sender(usize),
    /// The customs import client's InBox.
    Customs,
    /// A platform's TCP connection (index into the configured platforms).
    Platform(usize),
}

/// A file claimed into a work folder, waiting to be stored.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Where it came from.
    pub origin: Origin,
    /// Its name as dropped.
    pub name: String,
    /// Where it is now (in the work folder).
    pub path: PathBuf,
    /// Found in the work folder at start: an earlier run claimed it and
    /// may have stored it already.
    pub recovered: bool,
}

/// Where a stored original goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// The sender's SentBox.
    Sent,
    /// The sender's FailBox (with `NAME.reason.txt`).
    Failed,
    /// The customs archive.
    Archive,
}

/// Moving a stored original out of the work folder.
#[derive(Debug, Clone)]
pub struct Archive {
    /// The claimed file.
    pub claimed: Claimed,
    /// Where it goes.
    pub to: Destination,
    /// The text of `NAME.reason.txt` (FailBox only).
    pub reason: Option<String>,
}

/// A message to write into the customs OutBox.
#[derive(Debug, Clone)]
pub struct ForwardJob {
    /// The message id.
    pub msg: u64,
    /// Its type (the inventory goes last).
    pub ty: String,
    /// The file name.
    pub file: String,
    /// The attempt (1 for the first write).
    pub attempt: u32,
    /// Whether the file may have been written already (a job found queued
    /// in the store at start, or a write that failed): the forwarder looks
    /// for it in the OutBox, SentBox and FailBox first. A job the pipeline
    /// queued in this run has a name no file has yet.
    pub check_written: bool,
}

/// What to do once the batch is durable.
#[derive(Debug, Default)]
pub struct Effects {
    /// Originals to move out of the work folders.
    pub archives: Vec<Archive>,
    /// Messages to write to customs.
    pub forwards: Vec<ForwardJob>,
    /// Receipts to write into senders' InBoxes or send to platforms:
    /// (queue key sequence, record).
    pub inbox: Vec<(u64, InboxRecord)>,
    /// Acknowledgements to send to platforms.
    pub acks: Vec<(Reply, Header)>,
    /// Receipts platforms confirmed, now removed from the store:
    /// (platform, queue sequence).
    pub delivered: Vec<(usize, u64)>,
    /// Clients with new entries in their outbox.
    pub pushes: BTreeSet<String>,
    /// Answers to payers' actions (admin API), sent once durable.
    pub answers: Vec<(ActionReply, Result<serde_json::Value, String>)>,
}

/// Where the answer to a payer's action goes.
pub type ActionReply = tokio::sync::oneshot::Sender<Result<serde_json::Value, String>>;

/// What a payer asks through the admin API (or the CLI): sign or cancel a
/// three-party agreement, pay or re-pay a tax certificate. Each is checked
/// against its state machine and the payer's phone, stored with the
/// request message the gateway writes to customs, and answered once durable.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum MailAction {
    /// 签约.
    Sign {
        /// The payer's phone.
        phone: String,
        /// 缴款单位名称.
        payer: String,
        /// 关区 (4 digits).
        customs: String,
        /// 付款行行号.
        bank_code: String,
        /// 开户账号.
        account: String,
    },
    /// 解约 (only an agreement in 签约成功).
    Cancel {
        /// The payer's phone.
        phone: String,
        /// 协议书号.
        agreement_no: String,
    },
    /// 支付 (a certificate in 未支付 or 支付失败).
    Pay {
        /// The payer's phone.
        phone: String,
        /// 缴纳证编号.
        certificate_no: String,
        /// 协议书号 (in 签约成功).
        agreement_no: String,
    },
    /// A recipient's supplementary declaration (a MailDeclaration message),
    /// as `customs-gateway mail declare FILE` sends it.
    Declare {
        /// The recipient's phone (the declaration's must be the same).
        phone: String,
        /// The MailDeclaration XML.
        xml: String,
    },
    /// A recipient's request about a mail item: `review` (税款复核, while
    /// 待缴税), `refund` (退税, after payment) or `return` (退运).
    Request {
        /// The recipient's phone.
        phone: String,
        /// 邮件号.
        mail_no: String,
        /// `review`, `refund` or `return`.
        kind: String,
        /// 申请理由.
        #[serde(default)]
        reason: String,
    },
    /// 重新支付 (only a certificate in 支付失败).
    Repay {
        /// The payer's phone.
        phone: String,
        /// 缴纳证编号.
        certificate_no: String,
        /// 协议书号 (in 签约成功).
        agreement_no: String,
    },
}

/// Where a platform's acknowledgement goes: its connection's writer. It
/// holds the message's place in its connection's in-flight count until the
/// ACK is written, and its share of the gateway's byte budget until the
/// message is stored (its bytes are freed then).
#[derive(Debug)]
pub struct Reply {
    /// The connection's outgoing frames.
    pub to: tokio::sync::mpsc::UnboundedSender<Outgoing>,
    /// The connection's in-flight permit.
    pub permit: tokio::sync::OwnedSemaphorePermit,
    /// The share of the byte budget.
    pub budget: tokio::sync::OwnedSemaphorePermit,
}

/// A frame for a connection's writer.
#[derive(Debug)]
pub enum Outgoing {
    /// A frame, with the permits to release once it is written.
    Frame(Header, Vec<u8>, Vec<tokio::sync::OwnedSemaphorePermit>),
    /// Receipts for the platform, in order (queue sequence, record).
    Receipts(Vec<(u64, InboxRecord)>),
    /// Pushed entries for a client of the platform (queue sequence,
    /// record): sent every time they are handed over (a retry is a resend).
    Pushes(Vec<(u64, InboxRecord)>),
    /// This connection now takes its platform's receipts: send every one
    /// the store keeps for it.
    TakeReceipts,
}

/// One message a platform submitted over TCP.
#[derive(Debug)]
pub struct Submission {
    /// The platform (index into the configured platforms).
    pub platform: usize,
    /// The platform's message id (the idempotency key).
    pub id: String,
    /// The XML as received.
    pub bytes: Vec<u8>,
    /// Where the ACK goes.
    pub reply: Reply,
}

impl Effects {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.archives.is_empty()
            && self.forwards.is_empty()
            && self.inbox.is_empty()
            && self.acks.is_empty()
            && self.delivered.is_empty()
            && self.pushes.is_empty()
            && self.answers.is_empty()
    }

    /// Adds another batch's effects.
    pub fn extend(&mut self, other: Effects) {
        self.archives.extend(other.archives);
        self.forwards.extend(other.forwards);
        self.inbox.extend(other.inbox);
        self.acks.extend(other.acks);
        self.delivered.extend(other.delivered);
        self.pushes.extend(other.pushes);
        self.answers.extend(other.answers);
    }
}

/// What [`Pipeline::periodic`] found.
#[derive(Debug, Clone, Default)]
pub struct Periodic {
    /// How many sets (and lone waybills) are overdue.
    pub count: usize,
    /// The first 100 of them.
    pub sets: Vec<OverdueSet>,
    /// Messages parked after too many transmission failures.
    pub parked: usize,
    /// Receipts not yet written into a sender's InBox.
    pub inbox_pending: usize,
}

/// Why the pipeline stopped. Any of these stops the daemon: the store and
/// the engine can no longer be trusted to agree, and a restart rebuilds
/// the engine from the store.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine could not be built.
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
}

/// The pipeline's state: the engine and the store it writes.
#[derive(Debug)]
pub struct Pipeline {
    store: Store,
    /// `[signing]`'s signer, shared with the forwarder.
    signer: super::forward::SignerSlot,
    engine: Engine<StoreLedger>,
    /// The settings in force (their registry handed to the engine).
    settings: Settings,
    /// Signature diagnostics computed ahead for this batch, in parallel
    /// ([`Pipeline::preverify`]), by the message's SHA-256 and mode.
    presigned:
        std::collections::HashMap<([u8; 32], crate::sig::Mode), Vec<crate::diag::Diagnostic>>,
    /// Sets the engine may have decided since they were last closed: the
    /// sets of the reports applied and the sets brought back from the
    /// store. Every other set the engine holds is undecided, so closing
    /// decided sets looks at these only (not at every open set).
    touched: Vec<SetKey>,
}

/// Who receives what: the registered clients, their subscriptions, and
/// the enterprise `DEC_RESULT`s belong to.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    /// The registered import clients.
    pub clients: Vec<ClientConfig>,
    /// The subscriptions (shared with the admin API).
    pub subs: Arc<Subscriptions>,
    /// `[customs] enterprise`: the owner of a `DEC_RESULT`.
    pub customs_enterprise: Option<String>,
    /// `[push] unmapped_to_all`.
    pub unmapped_to_all: bool,
}

/// What a pipeline is configured with: at start, and at every reload.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `[engine]`.
    pub engine: crate::engine::EngineConfig,
    /// The enterprise registry.
    pub registry: Option<crate::engine::Registry>,
    /// `[limits]`.
    pub limits: Limits,
    /// The sender slots: an index once given keeps naming the same sender,
    /// so files in flight finish under the one they came from, even one
    /// since removed.
    pub senders: Vec<SenderConfig>,
    /// The platform slots, likewise.
    pub platforms: Vec<PlatformConfig>,
    /// `customs.retries`.
    pub retries: u32,
    /// Who receives what.
    pub routing: Routing,
    /// `[signature] mode` (a source's own `signature` key overrides it).
    pub signature: crate::sig::Mode,
    /// `[signing]`: signs the messages the gateway writes itself.
    pub signer: Option<Arc<crate::sig::Signer>>,
}

impl Settings {
    /// What `config` sets, with the registry it names, the slot lists and
    /// the subscriptions routing reads.
    pub fn new(
        config: &crate::config::Config,
        registry: Option<crate::engine::Registry>,
        signer: Option<Arc<crate::sig::Signer>>,
        senders: Vec<SenderConfig>,
        platforms: Vec<PlatformConfig>,
        subs: Arc<Subscriptions>,
    ) -> Settings {
        Settings {
            engine: config.engine.clone(),
            registry,
            limits: config.limits(),
            senders,
            platforms,
            retries: config.customs.retries,
            routing: Routing {
                clients: config.client.clone(),
                subs,
                customs_enterprise: config.customs.enterprise.clone(),
                unmapped_to_all: config.push.unmapped_to_all,
            },
            signature: config.signature.mode,
            signer,
        }
    }
}

/// How many of the newest documents under one business key a receipt
/// looks at for the request it answers (a request rarely has more than a
/// handful of receipts).
const LINK_CANDIDATES: usize = 64;

/// One receipt document of a customs message.
struct Receipt<'a> {
    spec: &'static MessageSpec,
    document: &'a Document,
    id: DocId,
    /// Its message holds several documents (it is delivered alone).
    several: bool,
    /// A message no subscription status names (a tax bill, a postal-items
    /// message): delivered to every receipts subscriber of its owner.
    direct: Option<Direct>,
}

/// Where a message no subscription status names goes.
#[derive(Debug, Clone)]
struct Direct {
    /// Its owner when the message names none in its type's owner field
    /// (the enterprise a tax bill recorded; a recipient's phone).
    owner: Option<String>,
    /// What the push names as its status (已汇总, 待缴税 …).
    status: String,
}

/// One document's way through the pipeline while its file is processed.
struct Doc {
    rec: DocumentRecord,
}

impl Pipeline {
    /// A pipeline over `store`, its engine counting quota in the store.
    pub fn new(store: Store, mut settings: Settings) -> Result<Pipeline, PipelineError> {
        let ledger = StoreLedger::new(&store);
        let engine =
            Engine::with_ledger(settings.engine.clone(), settings.registry.take(), ledger)?;
        Ok(Pipeline {
            store,
            signer: Arc::new(std::sync::RwLock::new(settings.signer.clone())),
            presigned: std::collections::HashMap::new(),
            engine,
            settings,
            touched: Vec::new(),
        })
    }

    /// Takes a reloaded configuration, between two batches (see
    /// [`Settings`] for the slot lists).
    pub fn reconfigure(&mut self, mut settings: Settings) -> Result<(), PipelineError> {
        self.engine
            .reconfigure(settings.engine.clone(), settings.registry.take())?;
        if let Ok(mut slot) = self.signer.write() {
            slot.clone_from(&settings.signer);
        }
        self.settings = settings;
        Ok(())
    }

    /// The signer the forwarder signs with (kept current by reloads).
    pub fn signer_slot(&self) -> super::forward::SignerSlot {
        self.signer.clone()
    }

    /// The engine (for statistics).
    pub fn engine(&self) -> &Engine<StoreLedger> {
        &self.engine
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The configured senders.
    pub fn senders(&self) -> &[SenderConfig] {
        &self.settings.senders
    }

    /// The configured platforms.
    pub fn platforms(&self) -> &[PlatformConfig] {
        &self.settings.platforms
    }

    /// Brings the engine back to where the store says it was: every open
    /// set and every waiting waybill, submitted again in arrival order with
    /// their arrival times; then settles what a crash may have left between
    /// a verdict and its closing. Returns what is still to do: queued
    /// forwards and receipts not yet written.
    pub fn recover(&mut self, now_ms: u64) -> Result<Effects, PipelineError> {
        let mut ids: BTreeSet<DocId> = BTreeSet::new();
        for k in self.store.keys(b"o")? {
            if let Some(set) = key::set_of(&k)
                && let Some(rec) = self.store.get::<SetRecord>(&key::set(&set))?
            {
                ids.extend(rec.members);
            }
        }
        for k in self.store.keys(b"w")? {
            if let Some(id) = key::doc_id_suffix(&k) {
                ids.insert(id);
            }
        }
        let mut tx = self.store.begin();
        let n = ids.len();
        for id in ids {
            self.replay(&tx, id)?;
        }
        let mut effects = Effects::default();
        // Sets decided before a crash and not yet closed.
        let keys: Vec<SetKey> = self.engine.keys().cloned().collect();
        for k in keys {
            if let Some(report) = self.engine.report(&k) {
                self.apply_report(&mut tx, &report, None, now_ms, &mut effects)?;
            }
        }
        self.close_decided(&mut tx)?;
        tx.absorb(&mut self.engine.ledger_mut().take_writes());
        tx.commit()?;
        for (_, f) in self.store.scan::<ForwardRecord>(b"f")? {
            if f.state == "queued" {
                effects.forwards.push(ForwardJob {
                    msg: f.msg,
                    ty: f.ty,
                    file: f.file,
                    attempt: f.attempt,
                    check_written: true,
                });
            }
        }
        for (k, r) in self.store.scan::<InboxRecord>(b"r")? {
            let seq = k
                .get(1..9)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u64::from_be_bytes);
            effects.inbox.push((seq, r));
        }
        info!(
            message = "Engine restored from the store.",
            documents = n,
            open_sets = self.engine.stats().sets,
            pending_waybills = self.engine.stats().pending_waybills
        );
        Ok(effects)
    }

    /// Messages written to customs and not yet seen sent or failed.
    pub fn written(&self) -> Result<Vec<ForwardRecord>, PipelineError> {
        Ok(self
            .store
            .scan::<ForwardRecord>(b"f")?
            .into_iter()
            .map(|(_, f)| f)
            .filter(|f| f.state == "written")
            .collect())
    }

    /// Starts the writes of a batch: every file and report given the same
    /// `Tx` goes into the store at once, by [`Pipeline::commit`].
    pub fn begin(&self) -> Tx {
        self.store.begin()
    }

    /// Applies a batch's writes, with what the quota ledger settled during
    /// it, in one atomic step (not yet flushed). The ledger keeps what it
    /// settled until then, so later files of the batch read it.
    pub fn commit(&mut self, mut tx: Tx) -> Result<(), PipelineError> {
        tx.absorb(&mut self.engine.ledger_mut().take_writes());
        tx.commit()?;
        Ok(())
    }

    /// Stores one claimed file into `tx` and says what to do with it once
    /// the batch is committed and the store flushed. Nothing when the file
    /// could not be read (it stays in the work folder and is tried again at
    /// the next start).
    pub fn process(
        &mut self,
        tx: &mut Tx,
        claimed: &Claimed,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        let unreadable = |error: std::io::Error| {
            warn!(
                message = "Cannot read a claimed file; it stays in the work folder.",
                path = %claimed.path.display(),
                %error
            );
        };
        let size = match std::fs::metadata(&claimed.path) {
            Ok(m) => m.len(),
            Err(e) => {
                unreadable(e);
                return Ok(());
            }
        };
        let limit = u64::try_from(self.settings.limits.max_bytes).unwrap_or(u64::MAX);
        // A file over the limit is never read into memory: its digest is
        // streamed (it is still the idempotency key) and it is refused.
        let (bytes, sha) = if size > limit {
            match stream_sha256(&claimed.path) {
                Ok(sha) => (None, sha),
                Err(e) => {
                    unreadable(e);
                    return Ok(());
                }
            }
        } else {
            match std::fs::read(&claimed.path) {
                Ok(b) => {
                    let sha: [u8; 32] = Sha256::digest(&b).into();
                    (Some(b), sha)
                }
                Err(e) => {
                    unreadable(e);
                    return Ok(());
                }
            }
        };
        let source_name = self.source_name(claimed.origin);
        let sha_key = key::sha(&source_name, &sha);
        if let Some(first) = tx.get_raw(&sha_key)? {
            let first = first
                .as_slice()
                .try_into()
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            let archive = self.duplicate_file(tx, claimed, first, now_ms)?;
            effects.archives.push(archive);
            return Ok(());
        }
        let Some(bytes) = bytes else {
            let id = self.store.next_id()?;
            let why = format!(
                "the file is {size} bytes, over the limit of {limit} bytes (limits.max_bytes); not stored"
            );
            let f = finding(rule::TOO_LARGE, "", &why);
            let mut rec = self.message_record(id, claimed.origin, &claimed.name, &sha, now_ms);
            rec.size = size;
            rec.findings.push(f.clone());
            let to = match claimed.origin {
                Origin::Sender(_) | Origin::Platform(_) => {
                    rec.disposition = Disposition::Refused;
                    Destination::Failed
                }
                Origin::Customs => {
                    // Customs' words are kept, never refused: listed as an orphan.
                    let doc_id = DocId { msg: id, doc: 0 };
                    let d = receipt_record(doc_id, "", String::new(), now_ms);
                    store_orphan(tx, d, now_ms, why.clone(), vec![f.clone()])?;
                    rec.documents = 1;
                    Destination::Archive
                }
            };
            tx.put(key::message(id), &rec)?;
            crate::metrics::message(&rec);
            tx.put_raw(sha_key, id.to_be_bytes().to_vec());
            effects.archives.push(Archive {
                claimed: claimed.clone(),
                to,
                reason: (to == Destination::Failed)
                    .then(|| reason_text(&claimed.name, &[reason_line(&claimed.name, "", &f)])),
            });
            return Ok(());
        };
        let parts = if claimed.name.to_ascii_lowercase().ends_with(".zip") {
            unzip(&claimed.name, &bytes, self.settings.limits.max_bytes)
        } else {
            Ok(vec![(claimed.name.clone(), bytes)])
        };
        let mut reasons: Vec<String> = Vec::new();
        let mut first_id = None;
        let parts = match parts {
            Ok(p) if !p.is_empty() => p,
            Ok(_) | Err(_) => {
                // A zip that cannot be read, or holds no XML file: stored
                // as one refused message.
                let why = match &parts {
                    Err(e) => format!("not a readable zip archive: {e}"),
                    Ok(_) => "the zip archive holds no *.xml file".to_owned(),
                };
                let id = self.store.next_id()?;
                first_id = Some(id);
                let f = finding(rule::UNREADABLE, "", &why);
                reasons.push(reason_line(&claimed.name, "", &f));
                let rec = self.message_record(id, claimed.origin, &claimed.name, &sha, now_ms);
                let rec = MessageRecord {
                    disposition: Disposition::Refused,
                    findings: vec![f],
                    ..rec
                };
                tx.put(key::message(id), &rec)?;
                crate::metrics::message(&rec);
                if let Ok(b) = std::fs::read(&claimed.path) {
                    tx.put_raw(key::raw(id), b);
                }
                Vec::new()
            }
        };
        for (label, part) in parts {
            let id = self.store.next_id()?;
            first_id.get_or_insert(id);
            match claimed.origin {
                Origin::Sender(_) | Origin::Platform(_) => self.sender_message(
                    tx,
                    claimed.origin,
                    &label,
                    &part,
                    id,
                    now_ms,
                    effects,
                    &mut reasons,
                )?,
                Origin::Customs => {
                    self.customs_message(tx, claimed, &label, &part, id, now_ms, effects)?;
                }
            }
            // The engine may have decided sets: they are stored, close them.
            self.close_touched(tx)?;
        }
        if let Some(first) = first_id {
            tx.put_raw(sha_key, first.to_be_bytes().to_vec());
        }
        let to = match claimed.origin {
            Origin::Customs => Destination::Archive,
            Origin::Sender(_) | Origin::Platform(_) if reasons.is_empty() => Destination::Sent,
            Origin::Sender(_) | Origin::Platform(_) => Destination::Failed,
        };
        effects.archives.push(Archive {
            claimed: claimed.clone(),
            to,
            reason: (!reasons.is_empty()).then(|| reason_text(&claimed.name, &reasons)),
        });
        Ok(())
    }

    /// Stores one message a platform submitted, and queues its ACK for
    /// when the batch is flushed. A message id the platform used before is
    /// answered with the first result and not processed again.
    pub fn submit_message(
        &mut self,
        tx: &mut Tx,
        sub: Submission,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        let origin = Origin::Platform(sub.platform);
        let platform = self.source_name(origin);
        let idem = key::submission(&platform, &sub.id);
        if let Some(first) = tx.get::<SubmissionRecord>(&idem)? {
            debug!(
                message = "Message id submitted again; answered with the first result.",
                platform = %platform,
                id = %sub.id,
                first = first.stored.message
            );
            let ack = Header::Ack {
                id: sub.id,
                result: Outcome::Duplicate,
                stored: Box::new(first.stored),
            };
            effects.acks.push((sub.reply, ack));
            return Ok(());
        }
        let id = self.store.next_id()?;
        let mut reasons = Vec::new();
        self.sender_message(
            tx,
            origin,
            &sub.id,
            &sub.bytes,
            id,
            now_ms,
            effects,
            &mut reasons,
        )?;
        self.close_touched(tx)?;
        let stored = self.stored_result(tx, id)?;
        tx.put(
            idem,
            &SubmissionRecord {
                v: VERSION,
                stored: stored.clone(),
            },
        )?;
        let ack = Header::Ack {
            id: sub.id,
            result: stored.result,
            stored: Box::new(stored),
        };
        effects.acks.push((sub.reply, ack));
        Ok(())
    }

    /// A stored message's result, as an ACK tells it.
    fn stored_result(&self, tx: &Tx, id: u64) -> Result<Stored, PipelineError> {
        let diag = |f: &Finding| Diagnostic {
            rule: f.rule.clone(),
            severity: f.severity.clone(),
            path: f.field.clone(),
            message: f.message.clone(),
        };
        let rec: Option<MessageRecord> = tx.get(&key::message(id))?;
        let Some(rec) = rec else {
            return Err(PipelineError::Store(StoreError::Corrupt {
                key: format!("message {id}"),
                reason: "not found right after it was stored".to_owned(),
            }));
        };
        let mut documents = Vec::new();
        for index in 0..rec.documents {
            let doc_id = DocId {
                msg: id,
                doc: index,
            };
            let Some(d) = tx.get::<DocumentRecord>(&key::document(doc_id))? else {
                continue;
            };
            let mut findings = Vec::new();
            if d.status == status::REFUSED {
                // The refusal's findings are on its event (the last refused one).
                for seq in (0..d.next_event).rev() {
                    if let Some(e) = tx.get::<Event>(&key::event(doc_id, seq))?
                        && e.status == status::REFUSED
                    {
                        findings = e.findings.iter().map(diag).collect();
                        break;
                    }
                }
            }
            documents.push(AckDocument {
                index,
                key: d.key,
                status: d.status,
                findings,
            });
        }
        Ok(Stored {
            result: if rec.disposition == Disposition::Refused {
                Outcome::Refused
            } else {
                Outcome::Accepted
            },
            message: id,
            message_type: rec.ty,
            stored_ms: rec.received_ms,
            findings: rec.findings.iter().map(diag).collect(),
            documents,
        })
    }

    fn source_name(&self, origin: Origin) -> String {
        match origin {
            Origin::Sender(i) => self
                .settings
                .senders
                .get(i)
                .map_or_else(|| format!("sender-{i}"), |s| s.name.clone()),
            Origin::Customs => "customs".to_owned(),
            Origin::Platform(i) => self
                .settings
                .platforms
                .get(i)
                .map_or_else(|| format!("platform-{i}"), |p| p.id.clone()),
        }
    }

    /// The signature mode of a source: its own, else `[signature] mode`.
    fn signature_mode(&self, origin: Origin) -> crate::sig::Mode {
        let own = match origin {
            Origin::Sender(i) => self.settings.senders.get(i).and_then(|s| s.signature),
            Origin::Platform(i) => self.settings.platforms.get(i).and_then(|p| p.signature),
            Origin::Customs => None,
        };
        own.unwrap_or(self.settings.signature)
    }

    /// Verifies, ahead and on all cores, the signatures of a batch's signed
    /// messages (claimed files, read here, and TCP submissions): the
    /// public-key arithmetic is most of a signed message's cost, and it is
    /// pure. The results wait, by the message's SHA-256 and mode, for the
    /// message's turn in [`Pipeline::process`] or
    /// [`Pipeline::submit_message`]; what is not taken by the batch's end is
    /// dropped ([`Pipeline::clear_presigned`]). Unsigned messages are left to
    /// the pipeline (their check is a scan).
    pub fn preverify(&mut self, files: &[&Claimed], submissions: &[&Submission], now_ms: u64) {
        enum Source<'a> {
            File(&'a std::path::Path),
            Bytes(&'a [u8]),
        }
        let mut work: Vec<(Source<'_>, crate::sig::Mode)> = Vec::new();
        for c in files {
            let mode = self.signature_mode(c.origin);
            if mode != crate::sig::Mode::Off && !c.recovered {
                work.push((Source::File(&c.path), mode));
            }
        }
        for s in submissions {
            let mode = self.signature_mode(Origin::Platform(s.platform));
            if mode != crate::sig::Mode::Off {
                work.push((Source::Bytes(&s.bytes), mode));
            }
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        if work.len() < 2 || cores < 2 {
            return;
        }
        let registry = self.engine.registry();
        let limits = &self.settings.limits;
        let one = |(source, mode): &(Source<'_>, crate::sig::Mode)| {
            let owned;
            let bytes: &[u8] = match source {
                Source::Bytes(b) => b,
                Source::File(path) => {
                    let size = std::fs::metadata(path).ok()?.len();
                    if size > u64::try_from(limits.max_bytes).unwrap_or(u64::MAX) {
                        return None;
                    }
                    owned = std::fs::read(path).ok()?;
                    &owned
                }
            };
            if !bytes.windows(b"Signature".len()).any(|w| w == b"Signature") {
                return None;
            }
            let Ok(Content::Message(decoded)) = codec::decode_any_with(bytes, limits) else {
                return None;
            };
            let sha: [u8; 32] = Sha256::digest(bytes).into();
            let found = crate::sig::check(&decoded.message, bytes, registry, *mode, now_ms);
            Some(((sha, *mode), found))
        };
        let per = work.len().div_ceil(cores.min(work.len()));
        let mut chunks = work.chunks(per);
        let mine = chunks.next().unwrap_or_default();
        let done: Vec<_> = std::thread::scope(|scope| {
            let others: Vec<_> = chunks
                .map(|chunk| scope.spawn(move || chunk.iter().filter_map(one).collect::<Vec<_>>()))
                .collect();
            let mut all: Vec<_> = mine.iter().filter_map(one).collect();
            for h in others {
                // A worker that panicked leaves its messages to the pipeline.
                all.extend(h.join().unwrap_or_default());
            }
            all
        });
        self.presigned.extend(done);
    }

    /// Drops what [`Pipeline::preverify`] computed and no message took.
    pub fn clear_presigned(&mut self) {
        self.presigned.clear();
    }

    /// The enterprise codes a source may declare for.
    fn codes(&self, origin: Origin) -> &[String] {
        match origin {
            Origin::Sender(i) => self.settings.senders.get(i).map(|s| s.codes.as_slice()),
            Origin::Platform(i) => self.settings.platforms.get(i).map(|p| p.codes.as_slice()),
            Origin::Customs => None,
        }
        .unwrap_or_default()
    }

    fn message_record(
        &self,
        id: u64,
        origin: Origin,
        label: &str,
        sha: &[u8; 32],
        now_ms: u64,
    ) -> MessageRecord {
        let kind = match origin {
            Origin::Sender(_) => "sender",
            Origin::Customs => "customs",
            Origin::Platform(_) => "tcp",
        };
        MessageRecord {
            v: VERSION,
            id,
            source: Source {
                kind: kind.to_owned(),
                name: self.source_name(origin),
                file: label.to_owned(),
            },
            received_ms: now_ms,
            sha256: hex(sha),
            size: 0,
            encoding: String::new(),
            ty: String::new(),
            documents: 0,
            disposition: match origin {
                Origin::Customs => Disposition::Receipt,
                Origin::Sender(_) | Origin::Platform(_) => Disposition::Accepted,
            },
            findings: Vec::new(),
            signed: false,
        }
    }

    /// A byte-identical file again: archived where the first one went,
    /// noted in the first one's documents' histories, not processed.
    fn duplicate_file(
        &mut self,
        tx: &mut Tx,
        claimed: &Claimed,
        first: u64,
        now_ms: u64,
    ) -> Result<Archive, PipelineError> {
        let rec: Option<MessageRecord> = tx.get(&key::message(first))?;
        let refused = rec
            .as_ref()
            .is_some_and(|r| r.disposition == Disposition::Refused);
        // Left in the work folder by a crash after the flush, before the
        // original moved on: only the move is left to do.
        let recovering = claimed.recovered
            && rec.as_ref().is_some_and(|r| {
                r.source.file == claimed.name
                    || r.source.file.starts_with(&format!("{}!", claimed.name))
            });
        if !recovering && let Some(r) = &rec {
            for d in 0..r.documents {
                let id = DocId { msg: first, doc: d };
                if let Some(mut doc) = tx.get::<DocumentRecord>(&key::document(id))? {
                    let status = doc.status.clone();
                    event(
                        tx,
                        &mut doc,
                        &status,
                        now_ms,
                        format!(
                            "the same file was received again as {} and not processed again",
                            claimed.name
                        ),
                        Vec::new(),
                        None,
                    )?;
                    tx.put(key::document(id), &doc)?;
                }
            }
            info!(
                message = "Duplicate file archived.",
                file = %claimed.name,
                first = first
            );
        }
        let to = match claimed.origin {
            Origin::Customs => Destination::Archive,
            Origin::Sender(_) | Origin::Platform(_) if refused => Destination::Failed,
            Origin::Sender(_) | Origin::Platform(_) => Destination::Sent,
        };
        let reason = (to == Destination::Failed || !recovering).then(|| {
            let f = finding(
                rule::DUPLICATE_FILE,
                "",
                &format!("the same bytes as message {first}"),
            );
            let mut lines = vec![reason_line(&claimed.name, "", &f)];
            if let Some(r) = &rec {
                lines.extend(
                    r.findings
                        .iter()
                        .map(|f| reason_line(&r.source.file, "", f)),
                );
            }
            reason_text(&claimed.name, &lines)
        });
        Ok(Archive {
            claimed: claimed.clone(),
            to,
            reason: if to == Destination::Failed {
                reason
            } else {
                None
            },
        })
    }

    /// One message from a sender.
    #[allow(clippy::too_many_arguments)]
    fn sender_message(
        &mut self,
        tx: &mut Tx,
        origin: Origin,
        label: &str,
        bytes: &[u8],
        id: u64,
        now_ms: u64,
        effects: &mut Effects,
        reasons: &mut Vec<String>,
    ) -> Result<(), PipelineError> {
        let sha: [u8; 32] = Sha256::digest(bytes).into();
        let mut rec = self.message_record(id, origin, label, &sha, now_ms);
        rec.size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        tx.put_raw(key::raw(id), bytes.to_vec());
        let decoded = match codec::decode_any_with(bytes, &self.settings.limits) {
            Ok(Content::Message(d)) => d,
            Ok(Content::Unsupported(u)) => {
                rec.ty = u.root.clone();
                rec.encoding = u.charset.label().to_owned();
                let why = format!("<{}> is not a declaration the gateway forwards", u.root);
                let f = finding(rule::SENDER_TYPE, "", &why);
                return refuse_message(tx, rec, f, label, reasons);
            }
            Err(e) => {
                let f = finding(e.rule(), "", &e.to_string());
                return refuse_message(tx, rec, f, label, reasons);
            }
        };
        let message = decoded.message;
        let business = message.business();
        let spec = business.spec;
        rec.ty = spec.name.to_owned();
        rec.encoding = decoded.charset.label().to_owned();
        rec.signed = business.signature.is_some() || message.signature.is_some();
        rec.documents = u32::try_from(business.documents.len()).unwrap_or(u32::MAX);
        let mail = spec.ty == crate::schema::MessageType::MailDeclaration;
        if written_by_customs(spec) || (DocKind::of(spec).is_none() && !mail) {
            let why = format!("{} is not a declaration the gateway forwards", spec.name);
            rec.documents = 0;
            return refuse_message(
                tx,
                rec,
                finding(rule::SENDER_TYPE, "", &why),
                label,
                reasons,
            );
        }
        // Written now: a set that passes below looks its members' messages up.
        tx.put(key::message(id), &rec)?;
        let mut diagnostics = decoded.diagnostics;
        diagnostics.extend(validate::validate(&message, Mode::Read));
        // The signature: its errors (under `require`) refuse below like any
        // other; what it says otherwise stays with the message.
        let mode = self.signature_mode(origin);
        let signature = match self.presigned.remove(&(sha, mode)) {
            Some(done) => done,
            None => crate::sig::check(&message, bytes, self.engine.registry(), mode, now_ms),
        };
        for d in signature.iter().filter(|d| !d.is_error()) {
            rec.findings.push(Finding {
                rule: d.rule.code.to_owned(),
                severity: d.severity.as_str().to_owned(),
                field: d.path.clone(),
                message: d.message.clone(),
            });
        }
        crate::metrics::signature(&signature);
        diagnostics.extend(signature);
        let sender_name = self.source_name(origin);
        let codes = self.codes(origin).to_vec();
        for (i, document) in business.documents.iter().enumerate() {
            let doc_index = u32::try_from(i).unwrap_or(u32::MAX);
            let doc_id = DocId {
                msg: id,
                doc: doc_index,
            };
            let mut doc = Doc {
                rec: DocumentRecord {
                    v: VERSION,
                    id: doc_id,
                    ty: spec.name.to_owned(),
                    key: document_key(spec, document),
                    app_type: track::field(document, spec, "appType").unwrap_or_default(),
                    sender: sender_name.clone(),
                    received_ms: now_ms,
                    set: None,
                    status: status::RECEIVED.to_owned(),
                    customs: None,
                    answers: None,
                    next_event: 0,
                    owner: crate::subscribe::owner(spec, document),
                },
            };
            tx.count_status(status::RECEIVED, 1)?;
            for lk in track::link_keys(spec, document) {
                tx.put_raw(key::link(&lk, doc_id), Vec::new());
            }
            event(
                tx,
                &mut doc.rec,
                status::RECEIVED,
                now_ms,
                format!("received from {sender_name} as {label}"),
                Vec::new(),
                None,
            )?;
            let errors: Vec<Finding> = diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .filter(|d| d.document.is_none_or(|n| n == i))
                .map(|d| Finding {
                    rule: d.rule.code.to_owned(),
                    severity: d.severity.as_str().to_owned(),
                    field: d.path.clone(),
                    message: d.message.clone(),
                })
                .collect();
            let refusal = if !errors.is_empty() {
                Some(errors)
            } else if let Some((field, why)) = track::out_of_scope(business, document, &codes) {
                Some(vec![finding(rule::SENDER_SCOPE, &field, &why)])
            } else {
                None
            };
            if let Some(findings) = refusal {
                self.refuse(
                    tx, &mut doc, spec, document, findings, label, now_ms, effects, reasons,
                )?;
                tx.put(key::document(doc_id), &doc.rec)?;
                continue;
            }
            tx.put(key::document(doc_id), &doc.rec)?;
            if mail {
                self.declare_mail(tx, doc, spec, document, label, now_ms, effects, reasons)?;
                continue;
            }
            self.submit(tx, doc, spec, document, label, now_ms, effects, reasons)?;
        }
        if reasons.is_empty() {
            let owner = business
                .documents
                .iter()
                .find_map(|d| crate::subscribe::owner(spec, d));
            for (n, sub) in business.subscribe.iter().enumerate() {
                let r = self.base_subscribe(
                    tx,
                    origin,
                    sub,
                    id,
                    n,
                    owner.as_deref(),
                    &sender_name,
                    now_ms,
                );
                if let Err(why) = r? {
                    warn!(message = "BaseSubscribe not taken.", msg = id, reason = %why);
                    rec.findings.push(Finding {
                        rule: "SUBSCRIBE".to_owned(),
                        severity: "warning".to_owned(),
                        field: "BaseSubscribe".to_owned(),
                        message: format!("BaseSubscribe not taken: {why}"),
                    });
                }
            }
        }
        if !reasons.is_empty() {
            rec.disposition = Disposition::Refused;
        }
        tx.put(key::message(id), &rec)?;
        crate::metrics::message(&rec);
        Ok(())
    }

    /// Makes the subscription a message's `BaseSubscribe` asks for: its
    /// `dxpAddress` must be a registered client of the message's own
    /// enterprise; it covers this message's documents alone, for a year.
    /// The inner Err is why it was not taken.
    #[allow(clippy::too_many_arguments)]
    fn base_subscribe(
        &mut self,
        tx: &mut Tx,
        origin: Origin,
        sub: &crate::model::Record,
        msg: u64,
        n: usize,
        owner: Option<&str>,
        by: &str,
        now_ms: u64,
    ) -> Result<Result<(), String>, PipelineError> {
        let get = |name: &str| {
            sub.spec()
                .fields
                .iter()
                .position(|f| f.name == name)
                .map(|i| sub.value(i).to_string().trim().to_owned())
                .unwrap_or_default()
        };
        let (content, statuses) = match crate::subscribe::base_subscribe(&get("status")) {
            Ok(x) => x,
            Err(e) => return Ok(Err(e)),
        };
        let Some(owner) = owner else {
            return Ok(Err(
                "the message names no enterprise it belongs to".to_owned()
            ));
        };
        if !self.codes(origin).iter().any(|c| c == owner) {
            return Ok(Err(format!(
                "enterprise {owner} is not one this sender may act for"
            )));
        }
        let today = crate::daemon::subs::today(now_ms);
        let req = NewSubscription {
            client: crate::config::OneOrMany::One(get("dxpAddress")),
            enterprise: Some(owner.to_owned()),
            content,
            statuses,
            valid_until: today.one_year_later().to_string(),
            by: by.to_owned(),
        };
        let id = format!("msg-{msg}-{n}");
        let subs = self.settings.routing.subs.clone();
        let made = crate::daemon::subs::new_record(
            &self.settings.routing.clients,
            &req,
            Some(id),
            "message",
            now_ms,
            |id| subs.get(id).is_some(),
        );
        let mut rec = match made {
            Ok(r) => r,
            Err(e) => return Ok(Err(e.to_string())),
        };
        rec.message = Some(msg);
        tx.put(key::subscription(&rec.id), &rec)?;
        self.settings.routing.subs.publish(rec);
        Ok(Ok(()))
    }

    /// Refuses one document: status, history, a receipt in its sender's
    /// InBox (for the four set documents), a line in the reason file.
    #[allow(clippy::too_many_arguments)]
    fn refuse(
        &mut self,
        tx: &mut Tx,
        doc: &mut Doc,
        spec: &'static MessageSpec,
        document: &Document,
        findings: Vec<Finding>,
        label: &str,
        now_ms: u64,
        effects: &mut Effects,
        reasons: &mut Vec<String>,
    ) -> Result<(), PipelineError> {
        for f in &findings {
            reasons.push(reason_line(label, &doc.rec.key, f));
        }
        crate::metrics::refused(&findings);
        set_status(tx, &mut doc.rec, status::REFUSED)?;
        let first = findings
            .first()
            .map(|f| f.message.clone())
            .unwrap_or_default();
        event(
            tx,
            &mut doc.rec,
            status::REFUSED,
            now_ms,
            first,
            findings.clone(),
            None,
        )?;
        if let Some(kind) = DocKind::of(spec) {
            let violations: Vec<Violation> = findings
                .iter()
                .filter_map(|f| {
                    let rule = RuleInfo::by_code(&f.rule)?;
                    Some(Violation {
                        rule,
                        severity: rule.severity,
                        documents: vec![kind],
                        paths: vec![f.field.clone()],
                        message: f.message.clone(),
                    })
                })
                .collect();
            match receipt_for(kind, document, &violations, now_ms) {
                Ok(m) => self.queue_receipt(tx, &doc.rec.sender, doc.rec.id, &m, effects)?,
                Err(error) => {
                    let text = format!(
                        "customs-gateway refused {} {} / 海关网关拒收\n(no {} receipt: {error})\n\n{}",
                        doc.rec.ty,
                        doc.rec.key,
                        doc.rec.ty,
                        findings
                            .iter()
                            .map(|f| reason_line(label, &doc.rec.key, f))
                            .collect::<String>()
                    );
                    let (sender, id, ty) = (doc.rec.sender.clone(), doc.rec.id, doc.rec.ty.clone());
                    self.queue_text(tx, &sender, id, &ty, text, effects)?;
                }
            }
        }
        Ok(())
    }

    fn queue_receipt(
        &mut self,
        tx: &mut Tx,
        sender: &str,
        answers: DocId,
        message: &Message,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        let bytes = match codec::encode(message, &codec::EncodeOptions::default()) {
            Ok(b) => b,
            Err(error) => {
                warn!(message = "A receipt could not be written.", document = %answers, %error);
                return Ok(());
            }
        };
        let seq = self.store.next_id()?;
        let rec = InboxRecord {
            v: VERSION,
            sender: sender.to_owned(),
            file: format!(
                "{}_{:012}_{}_{seq}.xml",
                message.spec.name, answers.msg, answers.doc
            ),
            bytes,
        };
        tx.put(key::inbox(seq), &rec)?;
        effects.inbox.push((seq, rec));
        Ok(())
    }

    /// Queues a text answer (`….reason.txt`) for a sender's InBox, where no
    /// receipt message can be written honestly.
    fn queue_text(
        &mut self,
        tx: &mut Tx,
        sender: &str,
        answers: DocId,
        ty: &str,
        text: String,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        let seq = self.store.next_id()?;
        let rec = InboxRecord {
            v: VERSION,
            sender: sender.to_owned(),
            file: format!("{ty}_{:012}_{}_{seq}.reason.txt", answers.msg, answers.doc),
            bytes: text.into_bytes(),
        };
        tx.put(key::inbox(seq), &rec)?;
        effects.inbox.push((seq, rec));
        Ok(())
    }

    /// Submits a valid document to the engine and stores the outcome.
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &mut self,
        tx: &mut Tx,
        mut doc: Doc,
        spec: &'static MessageSpec,
        document: &Document,
        label: &str,
        now_ms: u64,
        effects: &mut Effects,
        reasons: &mut Vec<String>,
    ) -> Result<(), PipelineError> {
        let doc_id = doc.rec.id;
        match self.engine.placement(spec, document) {
            Ok(Placement::Set(k)) => self.reopen(tx, &k)?,
            Ok(Placement::Waybill { order_no }) => {
                for k in tx.keys(&key::by_order_prefix(&order_no))? {
                    if let Some(set) = key::set_of(&k) {
                        self.reopen(tx, &set)?;
                    }
                }
            }
            Err(_) => {}
        }
        let submitted = self.engine.submit(
            spec,
            document,
            InboundId::new(doc_id.msg, doc_id.doc),
            now_ms,
        );
        let sub = match submitted {
            Ok(s) => s,
            Err(EngineError::Ledger { key, message }) => {
                return Err(PipelineError::Store(StoreError::Corrupt {
                    key: format!("quota of set {key}"),
                    reason: message,
                }));
            }
            Err(e) => {
                let f = finding(e.rule(), "", &e.to_string());
                self.refuse(
                    tx,
                    &mut doc,
                    spec,
                    document,
                    vec![f],
                    label,
                    now_ms,
                    effects,
                    reasons,
                )?;
                tx.put(key::document(doc_id), &doc.rec)?;
                return Ok(());
            }
        };
        if let Some(first) = sub.duplicate_of {
            set_status(tx, &mut doc.rec, status::DUPLICATE)?;
            event(
                tx,
                &mut doc.rec,
                status::DUPLICATE,
                now_ms,
                format!(
                    "the same declaration as document {}.{} (same business key and content); counted once",
                    first.message, first.document
                ),
                Vec::new(),
                None,
            )?;
        } else if sub.app_type == AppType::Delete {
            set_status(tx, &mut doc.rec, status::DELETED)?;
            event(
                tx,
                &mut doc.rec,
                status::DELETED,
                now_ms,
                "deletes the document it names".to_owned(),
                Vec::new(),
                None,
            )?;
        } else if sub.set.is_none() {
            set_status(tx, &mut doc.rec, status::WAITING)?;
            event(
                tx,
                &mut doc.rec,
                status::WAITING,
                now_ms,
                "a waybill waiting for its order set".to_owned(),
                Vec::new(),
                None,
            )?;
            tx.put_raw(key::waiting(doc_id), Vec::new());
        }
        tx.put(key::document(doc_id), &doc.rec)?;
        for report in &sub.reports {
            let origin = sub.duplicate_of.map(|_| doc_id);
            self.apply_report(tx, report, origin, now_ms, effects)?;
        }
        Ok(())
    }

    /// Brings a decided set the engine closed back from the store, so that
    /// a later document for it finds its members.
    fn reopen(&mut self, tx: &mut Tx, set: &SetKey) -> Result<(), PipelineError> {
        if self.engine.report(set).is_some() {
            return Ok(());
        }
        let Some(rec) = tx.get::<SetRecord>(&key::set(set))? else {
            return Ok(());
        };
        // Only decided sets are closed, so what comes back is decided: the
        // next report stores it, and `close_touched` closes it again.
        for id in rec.members {
            self.replay(tx, id)?;
        }
        // Closed again with the other sets this file touched.
        self.touched.push(set.clone());
        Ok(())
    }

    /// Submits a stored document to the engine again, at its arrival time.
    fn replay(&mut self, tx: &Tx, id: DocId) -> Result<(), PipelineError> {
        let Some(rec) = tx.get::<DocumentRecord>(&key::document(id))? else {
            return Ok(());
        };
        let Some(raw) = tx.get_raw(&key::raw(id.msg))? else {
            return Ok(());
        };
        let Ok(decoded) = codec::decode_with(&raw, &self.settings.limits) else {
            warn!(message = "A stored document no longer decodes; not replayed.", document = %id);
            return Ok(());
        };
        let business = decoded.message.business();
        let Some(document) = business
            .documents
            .get(usize::try_from(id.doc).unwrap_or(usize::MAX))
        else {
            return Ok(());
        };
        if let Err(error) = self.engine.submit(
            business.spec,
            document,
            InboundId::new(id.msg, id.doc),
            rec.received_ms,
        ) {
            warn!(message = "A stored document was refused on replay.", document = %id, %error);
        }
        Ok(())
    }

    /// Stores a set's new verdict: the set record, its members' statuses,
    /// and on a change of outcome the forwards (pass) or receipts (fail).
    /// `resend`: a duplicate that asked for the set to be checked again (its
    /// sender gets the answer again).
    fn apply_report(
        &mut self,
        tx: &mut Tx,
        report: &SetReport,
        resend: Option<DocId>,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        let set = &report.key;
        self.touched.push(set.clone());
        let old: Option<SetRecord> = tx.get(&key::set(set))?;
        let members: Vec<DocId> = report
            .members
            .iter()
            .map(|m| DocId {
                msg: m.source.message,
                doc: m.source.document,
            })
            .collect();
        let outcome = report.status();
        let findings: Vec<Finding> = report
            .violations()
            .iter()
            .map(|v| Finding {
                rule: v.rule.code.to_owned(),
                severity: v.severity.as_str().to_owned(),
                field: v.paths.join(", "),
                message: v.message.clone(),
            })
            .collect();
        let changed = old.as_ref().is_none_or(|o| {
            o.status != outcome.as_str() || o.members != members || o.findings != findings
        });
        // Members that left the set: replaced or deleted.
        if let Some(o) = &old {
            for gone in o.members.iter().filter(|m| !members.contains(m)) {
                if let Some(mut d) = tx.get::<DocumentRecord>(&key::document(*gone))? {
                    let same_type = members.iter().any(|m| {
                        tx.get::<DocumentRecord>(&key::document(*m))
                            .ok()
                            .flatten()
                            .is_some_and(|x| x.ty == d.ty)
                    });
                    let st = if same_type {
                        status::REPLACED
                    } else {
                        status::DELETED
                    };
                    set_status(tx, &mut d, st)?;
                    event(
                        tx,
                        &mut d,
                        st,
                        now_ms,
                        format!("left set {set}"),
                        Vec::new(),
                        None,
                    )?;
                    tx.put(key::document(*gone), &d)?;
                }
            }
        }
        let member_status = match outcome {
            Status::Incomplete => status::WAITING,
            Status::Pass => status::SET_PASSED,
            Status::Fail => status::SET_FAILED,
        };
        for m in &members {
            let Some(mut d) = tx.get::<DocumentRecord>(&key::document(*m))? else {
                continue;
            };
            tx.remove(key::waiting(*m));
            d.set = Some((set.order_no.clone(), set.ebp_code.clone()));
            // Once forwarded, a document's status is customs' business.
            let forwarded = !matches!(
                d.status.as_str(),
                status::RECEIVED | status::WAITING | status::SET_PASSED | status::SET_FAILED
            );
            if d.status != member_status && !forwarded {
                set_status(tx, &mut d, member_status)?;
                let info = match outcome {
                    Status::Incomplete => format!(
                        "in set {set}, waiting for {}",
                        report
                            .missing()
                            .iter()
                            .map(|k| k.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Status::Pass => format!("set {set} passed the cross-document check"),
                    Status::Fail => format!("set {set} failed the cross-document check"),
                };
                let f = if outcome == Status::Fail {
                    findings.clone()
                } else {
                    Vec::new()
                };
                event(tx, &mut d, member_status, now_ms, info, f, None)?;
            }
            tx.put(key::document(*m), &d)?;
        }
        let rec_findings = findings.clone();
        let rec = SetRecord {
            v: VERSION,
            status: outcome.as_str().to_owned(),
            members: members.clone(),
            findings,
            at_ms: now_ms,
        };
        tx.put(key::set(set), &rec)?;
        if changed && outcome != Status::Incomplete {
            crate::metrics::set_decided(outcome.as_str());
        }
        tx.put_raw(key::by_order(set), Vec::new());
        if members.is_empty() {
            // Every member deleted: the engine dropped the set.
            tx.remove(key::open(set));
        } else {
            tx.put_raw(key::open(set), Vec::new());
        }
        match outcome {
            Status::Pass if changed => {
                for m in &members {
                    self.forward_if_ready(tx, m.msg, now_ms, effects)?;
                }
            }
            Status::Fail => {
                let receipts = self.engine.receipts(set, now_ms)?;
                for r in receipts {
                    let id = DocId {
                        msg: r.source.message,
                        doc: r.source.document,
                    };
                    if !changed && resend != Some(id) {
                        continue;
                    }
                    let (sender, ty) = tx
                        .get::<DocumentRecord>(&key::document(id))?
                        .map(|d| (d.sender, d.ty))
                        .unwrap_or_default();
                    match &r.message {
                        Ok(message) => self.queue_receipt(tx, &sender, id, message, effects)?,
                        // No honest receipt (an inventory without preNo):
                        // the sender still gets the verdict, as text.
                        Err(why) => {
                            let lines: Vec<String> = rec_findings
                                .iter()
                                .map(|f| reason_line(&format!("set {set}"), "", f))
                                .collect();
                            let text = format!(
                                "customs-gateway: {ty} {} was not forwarded: its order set failed the cross-document check\n(no {ty} receipt: {why})\n\n{}",
                                r.document_key,
                                lines.concat()
                            );
                            self.queue_text(tx, &sender, id, &ty, text, effects)?;
                        }
                    }
                }
                if let Some(dup) = resend
                    && !members.contains(&dup)
                    && let Some(d) = tx.get::<DocumentRecord>(&key::document(dup))?
                {
                    // A resend answered with its set's receipt for its kind.
                    let kind_receipt = self
                        .engine
                        .receipts(set, now_ms)?
                        .into_iter()
                        .find(|r| r.kind.name() == d.ty);
                    if let Some(Ok(message)) = kind_receipt.map(|r| r.message) {
                        self.queue_receipt(tx, &d.sender, dup, &message, effects)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Carries out a payer's action: the agreement or certificate moves (or
    /// the action is refused with the state machine's sentence and nothing
    /// is stored), and the request message is stored and queued for
    /// customs. The answer goes out once the batch is durable.
    pub fn mail_action(
        &mut self,
        tx: &mut Tx,
        action: MailAction,
        reply: ActionReply,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        let answer = self.act(tx, action, now_ms, effects)?;
        effects.answers.push((reply, answer));
        Ok(())
    }

    fn act(
        &mut self,
        tx: &mut Tx,
        action: MailAction,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<Result<serde_json::Value, String>, PipelineError> {
        use crate::mail::agreement::{Agreement, AgreementEvent};
        use crate::mail::mask;
        use crate::schema::fields::payment_request as pq;
        use crate::schema::{MSG_AGREEMENT_REQUEST, MSG_PAYMENT_REQUEST};
        let time = crate::mail::messages::time14(now_ms).unwrap_or_default();
        let is_repay = matches!(action, MailAction::Repay { .. });
        // What the action changes, stored only once its request is written.
        enum Save {
            Agreement(Vec<u8>, AgreementRecord),
            Certificate(Vec<u8>, CertificateRecord),
            Mail(Vec<u8>, MailRecord),
        }
        let save: Option<Save>;
        let (spec, head, phone, what) = match action {
            MailAction::Declare { phone, xml } => {
                return self.declare_by_api(tx, &phone, xml.as_bytes(), now_ms, effects);
            }
            MailAction::Request {
                phone,
                mail_no,
                kind,
                reason,
            } => {
                use crate::mail::item::MailStatus;
                use crate::schema::fields::mail_request as mq;
                let k = key::mail_item(&mail_no);
                let what = format!("mail item {mail_no} addressed to");
                let mut rec = match held(tx, &k, &phone, mail_phone, &what)? {
                    Ok(rec) => rec,
                    Err(why) => return Ok(Err(why)),
                };
                let to = match kind.trim() {
                    "review" => MailStatus::TaxReview,
                    "refund" => MailStatus::RefundRequested,
                    "return" => MailStatus::ReturnRequested,
                    other => {
                        return Ok(Err(format!(
                            "\"{other}\" is not a request: review (税款复核), refund (退税) or return (退运)"
                        )));
                    }
                };
                let request_no = format!("SQ{}{:06}", time, self.store.next_id()? % 1_000_000);
                if let Err(why) =
                    rec.item
                        .advance(to, &format!("申请 {request_no}: {reason}"), now_ms)
                {
                    return Ok(Err(why));
                }
                let mut h = Record::new(crate::schema::MSG_MAIL_REQUEST.head);
                h.set(mq::REQUEST_NO, request_no.as_str());
                h.set(mq::MAIL_NO, mail_no.as_str());
                h.set(mq::RECIPIENT_NAME, rec.name.as_str());
                h.set(mq::RECIPIENT_PHONE, rec.phone.as_str());
                h.set(mq::KIND, kind.trim());
                if !reason.trim().is_empty() {
                    h.set(mq::REASON, reason.trim());
                }
                h.set(mq::REQUEST_TIME, time.as_str());
                let what = format!("mail item {mail_no}: {} (request {request_no})", to.label());
                save = Some(Save::Mail(k, rec));
                (&crate::schema::MSG_MAIL_REQUEST, h, phone, what)
            }
            MailAction::Sign {
                phone,
                payer,
                customs,
                bank_code,
                account,
            } => {
                if mask::phone_digits(&phone).is_empty()
                    || account.trim().is_empty()
                    || payer.trim().is_empty()
                {
                    return Ok(Err(
                        "a phone, the payer's name (缴款单位名称) and an account number are needed to sign"
                            .to_owned(),
                    ));
                }
                let no = format!("XY{}{:06}", time, self.store.next_id()? % 1_000_000);
                let a =
                    Agreement::sign(&no, &phone, &payer, &customs, &bank_code, &account, now_ms);
                let h = agreement_request(&a, "sign", &time);
                save = Some(Save::Agreement(
                    key::agreement(&no),
                    AgreementRecord {
                        v: VERSION,
                        agreement: a,
                        docs: Vec::new(),
                    },
                ));
                (
                    &MSG_AGREEMENT_REQUEST,
                    h,
                    phone,
                    format!("agreement {no}: 签约处理中"),
                )
            }
            MailAction::Cancel {
                phone,
                agreement_no,
            } => {
                let k = key::agreement(&agreement_no);
                let what = format!("agreement {agreement_no} of");
                let mut rec = match held(tx, &k, &phone, agreement_phone, &what)? {
                    Ok(rec) => rec,
                    Err(why) => return Ok(Err(why)),
                };
                if let Err(why) = rec.agreement.apply(&AgreementEvent::Cancel, now_ms) {
                    return Ok(Err(why));
                }
                let h = agreement_request(&rec.agreement, "cancel", &time);
                save = Some(Save::Agreement(k, rec));
                (
                    &MSG_AGREEMENT_REQUEST,
                    h,
                    phone,
                    format!("agreement {agreement_no}: 解约处理中"),
                )
            }
            MailAction::Pay {
                phone,
                certificate_no,
                agreement_no,
            }
            | MailAction::Repay {
                phone,
                certificate_no,
                agreement_no,
            } => {
                let ck = key::certificate(&certificate_no);
                let what = format!("certificate {certificate_no} addressed to");
                let mut rec = match held(tx, &ck, &phone, certificate_phone, &what)? {
                    Ok(rec) => rec,
                    Err(why) => return Ok(Err(why)),
                };
                let ak = key::agreement(&agreement_no);
                let what = format!("agreement {agreement_no} of");
                let a = match held(tx, &ak, &phone, agreement_phone, &what)? {
                    Ok(a) => a,
                    Err(why) => return Ok(Err(why)),
                };
                let serial = format!("JY{}{:06}", time, self.store.next_id()? % 1_000_000);
                let c = &mut rec.certificate;
                if let Err(why) = c.pay(&a.agreement, &serial, is_repay, now_ms) {
                    return Ok(Err(why));
                }
                let mut h = Record::new(MSG_PAYMENT_REQUEST.head);
                h.set(pq::CERTIFICATE_NO, c.no.as_str());
                h.set(pq::MAIL_NO, c.mail_no.as_str());
                h.set(pq::RECIPIENT_NAME, c.name.as_str());
                h.set(pq::SERIAL_NO, serial.as_str());
                h.set(pq::AGREEMENT_NO, a.agreement.no.as_str());
                h.set(pq::BANK_CODE, a.agreement.bank_code.as_str());
                h.set_dec(pq::AMOUNT, crate::tax::to_fen(c.total));
                h.set(pq::ACTION, if is_repay { "repay" } else { "pay" });
                h.set(pq::PAYER_PHONE, c.phone.as_str());
                h.set(pq::REQUEST_TIME, time.as_str());
                save = Some(Save::Certificate(ck, rec));
                (
                    &MSG_PAYMENT_REQUEST,
                    h,
                    phone,
                    format!("certificate {certificate_no}: 支付处理中 (payment {serial})"),
                )
            }
        };
        // The request message, stored like any inbound one, then to customs.
        let mut m = Message::new(spec);
        m.guid = Some(format!("{:036}", self.store.next_id()?));
        m.version = Some("1.0".to_owned());
        m.documents.push(Document {
            head,
            lines: Vec::new(),
        });
        let bytes = match codec::encode(&m, &codec::EncodeOptions::default()) {
            Ok(b) => b,
            Err(e) => return Ok(Err(format!("the request cannot be written: {e}"))),
        };
        match save {
            Some(Save::Agreement(k, r)) => tx.put(k, &r)?,
            Some(Save::Certificate(k, r)) => tx.put(k, &r)?,
            Some(Save::Mail(k, r)) => tx.put(k, &r)?,
            None => {}
        }
        let document = &m.documents[0];
        let doc_id = self.store_api_message(
            tx, spec, document, bytes, "UTF-8", &phone, &what, now_ms, effects,
        )?;
        Ok(Ok(
            serde_json::json!({ "done": what, "document": doc_id.to_string() }),
        ))
    }

    /// Stores a message the admin API brought (a payer's request, a
    /// recipient's declaration) like an inbound one — its bytes, message and
    /// document records with their links, status `declared` — and queues
    /// it for customs. Its document's id.
    #[allow(clippy::too_many_arguments)]
    fn store_api_message(
        &mut self,
        tx: &mut Tx,
        spec: &'static MessageSpec,
        document: &Document,
        bytes: Vec<u8>,
        encoding: &str,
        phone: &str,
        what: &str,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<DocId, PipelineError> {
        let id = self.store.next_id()?;
        let sha: [u8; 32] = Sha256::digest(&bytes).into();
        let mut rec = self.message_record(id, Origin::Customs, "admin API", &sha, now_ms);
        rec.source = Source {
            kind: "api".to_owned(),
            name: "admin API".to_owned(),
            file: String::new(),
        };
        rec.disposition = Disposition::Accepted;
        rec.ty = spec.name.to_owned();
        rec.encoding = encoding.to_owned();
        rec.size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        rec.documents = 1;
        tx.put_raw(key::raw(id), bytes);
        let doc_id = DocId { msg: id, doc: 0 };
        let mut d = receipt_record(doc_id, spec.name, document_key(spec, document), now_ms);
        d.sender = "admin API".to_owned();
        d.owner = Some(crate::mail::mask::phone_digits(phone));
        for lk in track::link_keys(spec, document) {
            tx.put_raw(key::link(&lk, doc_id), Vec::new());
        }
        d.status = status::DECLARED.to_owned();
        tx.count_status(status::DECLARED, 1)?;
        event(
            tx,
            &mut d,
            status::DECLARED,
            now_ms,
            what.to_owned(),
            Vec::new(),
            None,
        )?;
        tx.put(key::document(doc_id), &d)?;
        tx.put(key::message(id), &rec)?;
        self.queue_forward(tx, id, spec.name, now_ms, effects)?;
        Ok(doc_id)
    }

    /// A supplementary declaration sent through the admin API: read and
    /// validated like a sender's, taken on the same terms (the item's
    /// recipient, while it waits for one), stored as it came and queued for
    /// customs; refused with the reason and nothing stored otherwise.
    fn declare_by_api(
        &mut self,
        tx: &mut Tx,
        phone: &str,
        bytes: &[u8],
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<Result<serde_json::Value, String>, PipelineError> {
        use crate::mail::{item::MailStatus, mask};
        use crate::schema::fields::declaration_head as dh;
        let decoded = match codec::decode_with(bytes, &self.settings.limits) {
            Ok(d) => d,
            Err(e) => return Ok(Err(format!("not a readable declaration: {e}"))),
        };
        let message = decoded.message;
        let spec = message.spec;
        if spec.ty != crate::schema::MessageType::MailDeclaration {
            return Ok(Err(format!("a {} is not a MailDeclaration", spec.name)));
        }
        let mut findings = decoded.diagnostics;
        findings.extend(validate::validate(&message, Mode::Read));
        if let Some(e) = findings.iter().find(|d| d.is_error()) {
            return Ok(Err(format!("the declaration is refused: {e}")));
        }
        let [document] = message.documents.as_slice() else {
            return Ok(Err("declare one mail item per message".to_owned()));
        };
        let h = &document.head;
        let mail_no = h.str(dh::MAIL_NO).trim().to_owned();
        let decl_no = h.str(dh::DECL_NO).trim().to_owned();
        let declared = h.str(dh::RECIPIENT_PHONE).trim().to_owned();
        let k = key::mail_item(&mail_no);
        let not_yours = || {
            format!(
                "no mail item {mail_no} addressed to {} waits for a declaration: only the recipient may declare an item customs asked a declaration for (待申报)",
                mask::phone(phone)
            )
        };
        let Some(mut rec) = tx
            .get::<MailRecord>(&k)?
            .filter(|r| mask::may_see(phone, &r.phone) && mask::may_see(&declared, &r.phone))
        else {
            return Ok(Err(not_yours()));
        };
        let estimate = self.assess_mail(document, now_ms);
        if let Err(why) = rec.item.advance(
            MailStatus::UnderReview,
            &format!("补充申报 {decl_no}: {estimate}"),
            now_ms,
        ) {
            return Ok(Err(why));
        }
        let what = format!(
            "mail item {mail_no}: {}; {estimate}",
            MailStatus::UnderReview.label()
        );
        let doc_id = self.store_api_message(
            tx,
            spec,
            document,
            bytes.to_vec(),
            decoded.charset.label(),
            &rec.phone,
            &what,
            now_ms,
            effects,
        )?;
        rec.docs.push(doc_id);
        tx.put(k, &rec)?;
        Ok(Ok(
            serde_json::json!({ "done": what, "document": doc_id.to_string() }),
        ))
    }

    /// Takes a mail item's supplementary declaration (补充申报): only the
    /// item's recipient (by phone) may declare, only while the item waits
    /// for one (待申报, or 未通过 to declare again). The declaration is
    /// assessed with the postal tax calculator (the estimate goes into the
    /// item's history), the item moves to 待审核 and the declaration is
    /// queued for customs. Anything else is refused with the reason.
    #[allow(clippy::too_many_arguments)]
    fn declare_mail(
        &mut self,
        tx: &mut Tx,
        mut doc: Doc,
        spec: &'static MessageSpec,
        document: &Document,
        label: &str,
        now_ms: u64,
        effects: &mut Effects,
        reasons: &mut Vec<String>,
    ) -> Result<(), PipelineError> {
        use crate::mail::{item::MailStatus, mask};
        use crate::schema::fields::declaration_head as dh;
        let h = &document.head;
        let mail_no = h.str(dh::MAIL_NO).trim().to_owned();
        let decl_no = h.str(dh::DECL_NO).trim().to_owned();
        let phone = h.str(dh::RECIPIENT_PHONE).trim().to_owned();
        let k = key::mail_item(&mail_no);
        let mut refusal = None;
        let held = tx.get::<MailRecord>(&k)?;
        match &held {
            // The same sentence whether the item is unknown or someone
            // else's: a sender learns nothing about other people's mail.
            None => {
                refusal = Some((
                    "DeclarationHead/mailNo",
                    format!(
                        "no mail item {mail_no} addressed to {} waits for a declaration: only the recipient may declare an item customs asked a declaration for (待申报)",
                        mask::phone(&phone)
                    ),
                ));
            }
            Some(rec) if !mask::may_see(&phone, &rec.phone) => {
                refusal = Some((
                    "DeclarationHead/mailNo",
                    format!(
                        "no mail item {mail_no} addressed to {} waits for a declaration: only the recipient may declare an item customs asked a declaration for (待申报)",
                        mask::phone(&phone)
                    ),
                ));
            }
            Some(_) => {}
        }
        let mut rec = match (held, refusal) {
            (Some(rec), None) => rec,
            (_, Some((field, why))) => {
                let f = vec![finding(rule::MAIL_STATE, field, &why)];
                self.refuse(
                    tx, &mut doc, spec, document, f, label, now_ms, effects, reasons,
                )?;
                tx.put(key::document(doc.rec.id), &doc.rec)?;
                return Ok(());
            }
            (None, None) => return Ok(()),
        };
        let estimate = self.assess_mail(document, now_ms);
        let reason = format!("补充申报 {decl_no}: {estimate}");
        if let Err(why) = rec.item.advance(MailStatus::UnderReview, &reason, now_ms) {
            let f = vec![finding(rule::MAIL_STATE, "DeclarationHead/mailNo", &why)];
            self.refuse(
                tx, &mut doc, spec, document, f, label, now_ms, effects, reasons,
            )?;
            tx.put(key::document(doc.rec.id), &doc.rec)?;
            return Ok(());
        }
        rec.docs.push(doc.rec.id);
        tx.put(k, &rec)?;
        doc.rec.owner = Some(mask::phone_digits(&rec.phone));
        set_status(tx, &mut doc.rec, status::DECLARED)?;
        event(
            tx,
            &mut doc.rec,
            status::DECLARED,
            now_ms,
            format!(
                "mail item {mail_no}: {}; {estimate}",
                MailStatus::UnderReview.label()
            ),
            Vec::new(),
            None,
        )?;
        tx.put(key::document(doc.rec.id), &doc.rec)?;
        self.queue_forward(tx, doc.rec.id.msg, spec.name, now_ms, effects)
    }

    /// The postal tax a supplementary declaration comes to by the gateway's
    /// calculator (an estimate: customs assesses).
    fn assess_mail(&self, document: &Document, now_ms: u64) -> String {
        let Some(tables) = self
            .settings
            .engine
            .tax
            .clone()
            .or_else(crate::tax::Tables::builtin)
        else {
            return "no tax rate tables: not assessed".to_owned();
        };
        use crate::mail::messages::{AssessError, assess_declaration};
        let date = crate::subscribe::Date::cst(now_ms);
        match assess_declaration(&tables, document, date).map(|(t, _)| t) {
            Err(AssessError::Currency { currency, .. }) => {
                format!("prices in currency {currency}: assessed by customs only")
            }
            Err(AssessError::Number) => {
                "a quantity or price is not a number: not assessed".to_owned()
            }
            Ok(t) if t.exempt => {
                format!("estimated tax {} (≤ {} CNY, waived)", t.total_tax, t.waiver)
            }
            Ok(t) => format!(
                "estimated tax {}{}",
                t.total_tax,
                if t.over_limit {
                    " (over the parcel's value limit)"
                } else {
                    ""
                }
            ),
            Err(AssessError::Postal(e)) => format!("not assessed: {e}"),
        }
    }

    /// Queues a stored message for customs (the customs OutBox).
    fn queue_forward(
        &mut self,
        tx: &mut Tx,
        msg: u64,
        ty: &str,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        let file = forward_name(msg, ty, 1);
        let f = ForwardRecord {
            v: VERSION,
            msg,
            ty: ty.to_owned(),
            state: "queued".to_owned(),
            attempt: 1,
            file: file.clone(),
            at_ms: now_ms,
        };
        tx.put(key::forward(msg), &f)?;
        effects.forwards.push(ForwardJob {
            msg,
            ty: ty.to_owned(),
            file,
            attempt: 1,
            check_written: false,
        });
        Ok(())
    }

    /// Queues a message for customs once every document in it belongs to
    /// a passed set.
    fn forward_if_ready(
        &mut self,
        tx: &mut Tx,
        msg: u64,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        if tx.contains(&key::forward(msg))? || tx.contains(&key::forwarded(msg))? {
            return Ok(());
        }
        let Some(rec) = tx.get::<MessageRecord>(&key::message(msg))? else {
            return Ok(());
        };
        let mut docs = Vec::new();
        for d in 0..rec.documents {
            match tx.get::<DocumentRecord>(&key::document(DocId { msg, doc: d }))? {
                Some(x) if x.status == status::SET_PASSED => docs.push(x),
                _ => return Ok(()),
            }
        }
        self.route_data(tx, &rec, &docs, now_ms, effects)?;
        self.queue_forward(tx, msg, &rec.ty, now_ms, effects)
    }

    /// Closes the decided sets among those touched since the last call
    /// (their outcome is stored).
    fn close_touched(&mut self, tx: &mut Tx) -> Result<(), PipelineError> {
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort();
        touched.dedup();
        for k in touched {
            let decided = self
                .engine
                .outcome(&k)
                .is_some_and(|o| o.status() != Status::Incomplete);
            if decided {
                self.engine.close(&k)?;
                tx.remove(key::open(&k));
            }
        }
        Ok(())
    }

    /// Closes every decided set the engine holds (their outcome is stored).
    fn close_decided(&mut self, tx: &mut Tx) -> Result<(), PipelineError> {
        self.touched.clear();
        let decided: Vec<SetKey> = self
            .engine
            .keys()
            .filter(|k| {
                self.engine
                    .outcome(k)
                    .is_some_and(|o| o.status() != Status::Incomplete)
            })
            .cloned()
            .collect();
        for k in decided {
            self.engine.close(&k)?;
            tx.remove(key::open(&k));
        }
        Ok(())
    }

    /// One message from customs: every document is filed against the
    /// document it answers, or kept as an orphan.
    #[allow(clippy::too_many_arguments)]
    fn customs_message(
        &mut self,
        tx: &mut Tx,
        claimed: &Claimed,
        label: &str,
        bytes: &[u8],
        id: u64,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        let sha: [u8; 32] = Sha256::digest(bytes).into();
        let mut rec = self.message_record(id, claimed.origin, label, &sha, now_ms);
        rec.size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        tx.put_raw(key::raw(id), bytes.to_vec());
        let orphan =
            |tx: &mut Tx, ty: &str, k: String, info: String| -> Result<(), PipelineError> {
                let doc_id = DocId { msg: id, doc: 0 };
                if !k.is_empty() {
                    tx.put_raw(key::link(&format!("other|{k}"), doc_id), Vec::new());
                }
                let d = receipt_record(doc_id, ty, k, now_ms);
                Ok(store_orphan(tx, d, now_ms, info, Vec::new())?)
            };
        match codec::decode_any_with(bytes, &self.settings.limits) {
            Err(e) => {
                rec.findings.push(finding(e.rule(), "", &e.to_string()));
                rec.documents = 1;
                orphan(
                    tx,
                    "",
                    String::new(),
                    format!("unreadable customs file {label}: {e}"),
                )?;
                let why = format!("unreadable ({e}): its owner is unknown");
                self.unrouted(tx, DocId { msg: id, doc: 0 }, "", "", "", None, why, now_ms)?;
            }
            Ok(Content::Unsupported(u)) => {
                rec.ty = u.root.clone();
                rec.encoding = u.charset.label().to_owned();
                rec.documents = 1;
                orphan(
                    tx,
                    &u.root,
                    u.key_text(),
                    format!(
                        "a customs message the gateway does not model (<{}>), kept",
                        u.root
                    ),
                )?;
                let why = format!("<{}> is not modelled: its owner is unknown", u.root);
                let doc = DocId { msg: id, doc: 0 };
                self.unrouted(tx, doc, &u.root, &u.key_text(), "", None, why, now_ms)?;
            }
            Ok(Content::Message(decoded)) => {
                let message = decoded.message;
                let business = message.business();
                let spec = business.spec;
                rec.ty = spec.name.to_owned();
                rec.encoding = decoded.charset.label().to_owned();
                rec.documents = u32::try_from(business.documents.len()).unwrap_or(u32::MAX);
                let several = business.documents.len() > 1;
                for (i, document) in business.documents.iter().enumerate() {
                    let doc_id = DocId {
                        msg: id,
                        doc: u32::try_from(i).unwrap_or(u32::MAX),
                    };
                    let receipt = Receipt {
                        spec,
                        document,
                        id: doc_id,
                        several,
                        direct: None,
                    };
                    self.file_receipt(tx, &receipt, label, now_ms, effects)?;
                }
            }
        }
        tx.put(key::message(id), &rec)?;
        crate::metrics::message(&rec);
        Ok(())
    }

    /// Files one receipt document against the request it answers, and
    /// queues it for the clients subscribed to it.
    fn file_receipt(
        &mut self,
        tx: &mut Tx,
        receipt: &Receipt<'_>,
        label: &str,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        let (spec, document, doc_id) = (receipt.spec, receipt.document, receipt.id);
        if let Some(update) = BillUpdate::of(spec, document) {
            return self.file_tax_bill(tx, receipt, &update, label, now_ms, effects);
        }
        match crate::mail::messages::update_of(spec, document) {
            Ok(Some(update)) => return self.file_mail(tx, receipt, update, label, now_ms, effects),
            Ok(None) => {}
            Err(why) => {
                let d = receipt_record(doc_id, spec.name, document_key(spec, document), now_ms);
                let info = format!("{} ({label}) cannot be applied: {why}", spec.name);
                let f = finding(rule::MAIL_STATE, "", &why);
                store_orphan(tx, d, now_ms, info, vec![f])?;
                return Ok(());
            }
        }
        let links = track::link_keys(spec, document);
        let mut d = receipt_record(doc_id, spec.name, document_key(spec, document), now_ms);
        for lk in &links {
            tx.put_raw(key::link(lk, doc_id), Vec::new());
        }
        let facts = track::receipt_facts(spec, document);
        crate::metrics::receipt(spec.name, &facts.status());
        // The newest request of the family with one of the receipt's keys,
        // among the newest documents filed under it (receipts are filed
        // there too: a key shared by very many receipts that answer nothing
        // must not make every next receipt read them all).
        let mut target: Option<DocumentRecord> = None;
        for lk in &links {
            for k in tx.keys_newest(&key::link_prefix(lk), LINK_CANDIDATES)? {
                let Some(cand) = key::doc_id_suffix(&k) else {
                    continue;
                };
                if cand == doc_id {
                    continue;
                }
                let Some(c) = tx.get::<DocumentRecord>(&key::document(cand))? else {
                    continue;
                };
                let answered = !matches!(
                    c.status.as_str(),
                    status::REFUSED | status::DUPLICATE | status::RECEIPT | status::ORPHAN
                );
                if c.answers.is_none() && c.sender != "customs" && answered {
                    target = Some(c);
                    break;
                }
            }
            if target.is_some() {
                break;
            }
        }
        let Some(mut t) = target else {
            let info = format!(
                "{} {} ({}): answers no stored document",
                spec.name,
                facts.status(),
                label
            );
            let key = d.key.clone();
            store_orphan(tx, d, now_ms, info, Vec::new())?;
            self.route_receipt(tx, receipt, &key, None, now_ms, effects)?;
            return Ok(());
        };
        d.answers = Some(t.id);
        d.status = status::RECEIPT.to_owned();
        tx.count_status(status::RECEIPT, 1)?;
        event(
            tx,
            &mut d,
            status::RECEIPT,
            now_ms,
            format!("answers document {} ({} {})", t.id, t.ty, t.key),
            Vec::new(),
            None,
        )?;
        tx.put(key::document(doc_id), &d)?;
        let order = facts.order();
        let current = t.customs.as_ref().is_none_or(|c| order > *c);
        let new_status = facts.status();
        if current {
            t.customs = Some(order);
            set_status(tx, &mut t, &new_status)?;
        }
        let info = if current {
            format!("{} {}: {}", spec.name, new_status, facts.info)
        } else {
            format!(
                "{} {}: {} (earlier than the current status, kept in the history only)",
                spec.name, new_status, facts.info
            )
        };
        event(
            tx,
            &mut t,
            &new_status,
            now_ms,
            info,
            Vec::new(),
            Some(ReceiptEvent {
                doc: doc_id,
                ty: spec.name.to_owned(),
                code: facts.code.clone(),
                time: facts.time.clone(),
                info: facts.info.clone(),
                current,
            }),
        )?;
        tx.put(key::document(t.id), &t)?;
        let key = d.key.clone();
        self.route_receipt(tx, receipt, &key, Some(&t), now_ms, effects)?;
        Ok(())
    }

    /// Files one electronic tax bill receipt (CEB816 电子税单, CEB818 its
    /// status): the bill (by taxNo) moves 1 → 2 or 1 → 3 only, records its
    /// entDutyNo once, and is linked to the inventory it bills (by invtNo,
    /// else orderNo); the inventory's history gets the step without its
    /// customs status changing; the receipt goes to every receipts
    /// subscriber of the inventory's enterprise.
    fn file_tax_bill(
        &mut self,
        tx: &mut Tx,
        receipt: &Receipt<'_>,
        update: &BillUpdate,
        label: &str,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        let (spec, document, doc_id) = (receipt.spec, receipt.document, receipt.id);
        let mut d = receipt_record(doc_id, spec.name, document_key(spec, document), now_ms);
        for lk in track::link_keys(spec, document) {
            tx.put_raw(key::link(&lk, doc_id), Vec::new());
        }
        crate::metrics::receipt(spec.name, &track::receipt_facts(spec, document).status());
        let bill_key = key::tax_bill(&update.tax_no);
        let (mut rec, applied) = match tx.get::<TaxBillRecord>(&bill_key)? {
            Some(mut rec) => {
                let applied = rec.bill.apply(update);
                (Some(rec), applied)
            }
            None => match TaxBill::new(update) {
                Ok(bill) => (
                    Some(TaxBillRecord {
                        v: VERSION,
                        bill,
                        inventory: None,
                        receipts: Vec::new(),
                    }),
                    Applied::Changed,
                ),
                Err(why) => (None, Applied::Refused(why)),
            },
        };
        let mut target = None;
        if let Some(rec) = rec.as_mut() {
            rec.receipts.push(doc_id);
            if rec.inventory.is_none() {
                rec.inventory = self.find_inventory(tx, &rec.bill)?;
            }
            if let Some(id) = rec.inventory {
                target = tx.get::<DocumentRecord>(&key::document(id))?;
            }
        }
        let bill_status = rec
            .as_ref()
            .map(|r| r.bill.status.label())
            .unwrap_or_default();
        let what = match &applied {
            Applied::Changed => format!("tax bill {}: {bill_status}", update.tax_no),
            Applied::Repeated => format!("tax bill {}: {bill_status} again", update.tax_no),
            Applied::Refused(why) => format!("tax bill {}: {why}", update.tax_no),
        };
        let duty = rec
            .as_ref()
            .and_then(|r| r.bill.ent_duty_no.as_ref())
            .map(|n| format!(", 缴款书 entDutyNo {n}"))
            .unwrap_or_default();
        let what = format!("{} {what}{duty}", spec.name);
        let findings = match &applied {
            Applied::Refused(why) => {
                warn!(message = "A tax-bill receipt changes neither its bill's status nor its entDutyNo; kept in the history.", tax_no = %update.tax_no, reason = %why);
                vec![finding(
                    rule::TAX_BILL_STATUS,
                    "status",
                    &format!("tax bill {}: {why}", update.tax_no),
                )]
            }
            _ => Vec::new(),
        };
        match target.as_mut() {
            Some(t) => {
                d.answers = Some(t.id);
                d.status = status::RECEIPT.to_owned();
                tx.count_status(status::RECEIPT, 1)?;
                let info = format!("answers document {} ({} {}): {what}", t.id, t.ty, t.key);
                event(tx, &mut d, status::RECEIPT, now_ms, info, findings, None)?;
                tx.put(key::document(doc_id), &d)?;
                // A tax bill is no customs status: the inventory's status stays.
                let current = t.status.clone();
                event(tx, t, &current, now_ms, what, Vec::new(), None)?;
                tx.put(key::document(t.id), t)?;
            }
            None => {
                let info = format!(
                    "{what} ({label}): the inventory it bills (invtNo {}) is not stored",
                    update.invt_no
                );
                store_orphan(tx, d, now_ms, info, findings)?;
            }
        }
        let owner = rec.as_ref().and_then(|r| r.bill.ebc_code.clone());
        if let Some(rec) = &rec {
            tx.put(bill_key, rec)?;
        }
        let routed = Receipt {
            spec,
            document,
            id: doc_id,
            several: receipt.several,
            direct: Some(Direct {
                owner,
                status: crate::tax::BillStatus::parse(&update.code)
                    .map_or("电子税单", crate::tax::BillStatus::zh)
                    .to_owned(),
            }),
        };
        let key = document_key(spec, document);
        self.route_receipt(tx, &routed, &key, target.as_ref(), now_ms, effects)
    }

    /// Files one postal-items message from customs, the treasury or a bank
    /// (a mail item's status, a declaration's review, a certificate, an
    /// agreement's or a payment's state): the item, certificate or
    /// agreement moves as its state machine allows, or the message is kept
    /// with a `MAIL_STATE` finding and changes nothing; every one goes to
    /// the person it concerns (clients registered under their phone).
    fn file_mail(
        &mut self,
        tx: &mut Tx,
        receipt: &Receipt<'_>,
        update: crate::mail::messages::MailUpdate,
        label: &str,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        use crate::mail::messages::MailUpdate as U;
        let (spec, document, doc_id) = (receipt.spec, receipt.document, receipt.id);
        let mut d = receipt_record(doc_id, spec.name, document_key(spec, document), now_ms);
        for lk in track::link_keys(spec, document) {
            tx.put_raw(key::link(&lk, doc_id), Vec::new());
        }
        let mut phone = update.phone().to_owned();
        // (what it did, or why it changed nothing; the status the push names)
        let (result, shown): (Result<String, String>, String) = match update {
            U::Notice {
                mail_no,
                name,
                phone: p,
                status,
                reason,
                at_ms,
            }
            | U::Reviewed {
                mail_no,
                phone: p,
                status,
                reason,
                at_ms,
                name,
            } => {
                let k = key::mail_item(&mail_no);
                let r = match tx.get::<MailRecord>(&k)? {
                    // Another phone than the item's recipient: nothing
                    // changes and nobody is told.
                    Some(rec) if !crate::mail::mask::may_see(&p, &rec.phone) => {
                        phone.clear();
                        Err(format!(
                            "mail item {mail_no} is addressed to another phone than this message names; changed nothing"
                        ))
                    }
                    Some(mut rec) if rec.item.status == status => {
                        phone.clone_from(&rec.phone);
                        rec.docs.push(doc_id);
                        tx.put(k, &rec)?;
                        Ok(format!("mail item {mail_no}: {} again", status.label()))
                    }
                    Some(mut rec) => {
                        phone.clone_from(&rec.phone);
                        let moved = rec.item.advance(status, &reason, at_ms);
                        match moved {
                            Ok(()) => {
                                rec.docs.push(doc_id);
                                tx.put(k, &rec)?;
                                Ok(format!("mail item {mail_no}: {}", status.label()))
                            }
                            Err(why) => Err(why),
                        }
                    }
                    None => {
                        // The first the gateway hears of it, at the status given.
                        let mut item =
                            crate::mail::item::MailItem::arrived(&mail_no, &reason, at_ms);
                        if status != crate::mail::item::MailStatus::Arrived {
                            item.status = status;
                            item.paid = status == crate::mail::item::MailStatus::TaxPaid;
                            if let Some(step) = item.history.first_mut() {
                                step.status = status;
                            }
                        }
                        let rec = MailRecord {
                            v: VERSION,
                            item,
                            name,
                            phone: p,
                            certificates: Vec::new(),
                            docs: vec![doc_id],
                        };
                        tx.put(k, &rec)?;
                        Ok(format!("mail item {mail_no}: {}", status.label()))
                    }
                };
                (r, status.zh().to_owned())
            }
            U::Certificate(c) => {
                let c = *c;
                let k = key::certificate(&c.no);
                let shown = c.state.zh().to_owned();
                let item_phone = tx
                    .get::<MailRecord>(&key::mail_item(&c.mail_no))?
                    .map(|m| m.phone);
                let r = if let Some(mut rec) = tx.get::<CertificateRecord>(&k)? {
                    phone.clone_from(&rec.certificate.phone);
                    rec.docs.push(doc_id);
                    tx.put(k, &rec)?;
                    Ok(format!("certificate {} again", c.no))
                } else if item_phone
                    .as_deref()
                    .is_some_and(|ip| !crate::mail::mask::may_see(&c.phone, ip))
                {
                    // Not the item's recipient: nothing stored, nobody told.
                    phone.clear();
                    Err(format!(
                        "certificate {} names another phone than mail item {}'s recipient; not taken",
                        c.no, c.mail_no
                    ))
                } else {
                    let mut what = format!("certificate {}: {} {}", c.no, c.total, c.state.zh());
                    let ik = key::mail_item(&c.mail_no);
                    let pending = crate::mail::item::MailStatus::TaxPending;
                    let mut item = tx.get::<MailRecord>(&ik)?;
                    // An item that cannot owe tax (released, returned …)
                    // takes no certificate: it would be payable for nothing.
                    let refused = match item.as_mut() {
                        Some(it) if it.item.status != pending => it
                            .item
                            .advance(pending, &format!("缴纳证 {}", c.no), c.issued_ms)
                            .err(),
                        _ => None,
                    };
                    match refused {
                        Some(why) => {
                            phone.clear();
                            Err(format!("certificate {} not taken: {why}", c.no))
                        }
                        None => {
                            if let Some(mut it) = item {
                                if it.item.status == pending {
                                    what.push_str(&format!(
                                        "; mail item {}: {}",
                                        c.mail_no,
                                        pending.label()
                                    ));
                                }
                                if !it.certificates.contains(&c.no) {
                                    it.certificates.push(c.no.clone());
                                }
                                tx.put(ik, &it)?;
                            }
                            tx.put(
                                k,
                                &CertificateRecord {
                                    v: VERSION,
                                    certificate: c,
                                    docs: vec![doc_id],
                                },
                            )?;
                            Ok(what)
                        }
                    }
                };
                (r, shown)
            }
            U::Agreement {
                no,
                phone: p,
                customs,
                bank_code,
                account,
                state,
                note,
                at_ms,
            } => {
                use crate::mail::agreement::{Agreement, notes};
                let k = key::agreement(&no);
                let (mut rec, fresh) = match tx.get::<AgreementRecord>(&k)? {
                    Some(rec) => (rec, false),
                    None => (
                        AgreementRecord {
                            v: VERSION,
                            agreement: Agreement::sign(
                                &no, &p, "", &customs, &bank_code, &account, at_ms,
                            ),
                            docs: Vec::new(),
                        },
                        true,
                    ),
                };
                let just_submitted = fresh
                    && state == crate::mail::agreement::AgreementState::Signing
                    && (note.is_empty() || note == notes::SUBMITTED);
                let foreign = !crate::mail::mask::may_see(&p, &rec.agreement.phone);
                if foreign {
                    phone.clear();
                } else {
                    phone.clone_from(&rec.agreement.phone);
                }
                let r = if foreign {
                    Err(format!(
                        "agreement {no} is another payer's than this message names; changed nothing"
                    ))
                } else if just_submitted {
                    Ok(())
                } else {
                    let event =
                        crate::mail::messages::agreement_event(rec.agreement.state, state, &note);
                    rec.agreement.apply(&event, at_ms)
                };
                let r = match r {
                    Ok(()) => {
                        rec.docs.push(doc_id);
                        tx.put(k, &rec)?;
                        Ok(format!(
                            "agreement {no}: {} ({note})",
                            rec.agreement.state.zh()
                        ))
                    }
                    Err(why) => {
                        if !fresh {
                            rec.docs.push(doc_id);
                            tx.put(k, &rec)?;
                        }
                        Err(why)
                    }
                };
                (r, state.zh().to_owned())
            }
            U::Payment {
                certificate_no,
                serial,
                agreement_no,
                state,
                note,
                reason,
                at_ms,
            } => {
                use crate::mail::certificate::{PaymentState, steps};
                let k = key::certificate(&certificate_no);
                let r = match tx.get::<CertificateRecord>(&k)? {
                    None => Err(format!(
                        "certificate {certificate_no} is not held by the gateway"
                    )),
                    Some(mut rec) => {
                        phone.clone_from(&rec.certificate.phone);
                        let c = &mut rec.certificate;
                        let in_progress = c.payments.last().is_some_and(|p| {
                            p.state == PaymentState::Processing && p.serial == serial
                        });
                        let recorded = c.payments.iter().any(|p| p.serial == serial);
                        let other_agreement = c
                            .payments
                            .last()
                            .filter(|_| in_progress)
                            .is_some_and(|p| p.agreement != agreement_no);
                        let started = if other_agreement {
                            Err(format!(
                                "payment {serial} of certificate {certificate_no} runs under another agreement than {agreement_no}; changed nothing"
                            ))
                        } else if in_progress {
                            Ok(())
                        } else if recorded {
                            // A repeated or late answer about a payment that
                            // is over: it must not start another.
                            Err(format!(
                                "payment {serial} of certificate {certificate_no} is over already; a repeated or late answer changes nothing"
                            ))
                        } else {
                            // A payment the gateway hears of first from the bank.
                            match tx.get::<AgreementRecord>(&key::agreement(&agreement_no))? {
                                Some(a) => {
                                    let repay = c.state == crate::mail::certificate::CertificateState::PaymentFailed;
                                    c.pay(&a.agreement, &serial, repay, at_ms)
                                }
                                None => Err(format!(
                                    "agreement {agreement_no} is not held by the gateway"
                                )),
                            }
                        };
                        let done = started.and_then(|()| match state {
                            PaymentState::Processing
                                if note.is_empty() || note == steps::SUBMITTED =>
                            {
                                Ok(())
                            }
                            PaymentState::Processing => c.payment_step(&note, at_ms),
                            PaymentState::Succeeded => c.payment_result(None, at_ms),
                            PaymentState::Failed | PaymentState::Repaid => {
                                let why = if reason.is_empty() {
                                    note.clone()
                                } else {
                                    reason.clone()
                                };
                                c.payment_result(Some(&why), at_ms)
                            }
                        });
                        match done {
                            Ok(()) => {
                                let mut what = format!(
                                    "certificate {certificate_no}: {} (payment {serial})",
                                    c.state.zh()
                                );
                                let paid =
                                    c.state == crate::mail::certificate::CertificateState::Paid;
                                let mail_no = c.mail_no.clone();
                                rec.docs.push(doc_id);
                                tx.put(k, &rec)?;
                                if paid {
                                    let ik = key::mail_item(&mail_no);
                                    if let Some(mut item) = tx.get::<MailRecord>(&ik)? {
                                        let to = crate::mail::item::MailStatus::TaxPaid;
                                        match item.item.advance(
                                            to,
                                            &format!("缴纳证 {certificate_no} 支付成功"),
                                            at_ms,
                                        ) {
                                            Ok(()) => what.push_str(&format!(
                                                "; mail item {mail_no}: {}",
                                                to.label()
                                            )),
                                            Err(why) => what.push_str(&format!("; {why}")),
                                        }
                                        tx.put(ik, &item)?;
                                    }
                                }
                                Ok(what)
                            }
                            Err(why) => Err(why),
                        }
                    }
                };
                (r, state.zh().to_owned())
            }
        };
        let (info, findings) = match &result {
            Ok(what) => (format!("{} ({label}): {what}", spec.name), Vec::new()),
            Err(why) => {
                warn!(message = "A postal-items message changes nothing; kept in the history.", document = %doc_id, reason = %why);
                (
                    format!("{} ({label}) changes nothing: {why}", spec.name),
                    vec![finding(rule::MAIL_STATE, "", why)],
                )
            }
        };
        d.status = status::RECEIPT.to_owned();
        tx.count_status(status::RECEIPT, 1)?;
        event(tx, &mut d, status::RECEIPT, now_ms, info, findings, None)?;
        tx.put(key::document(doc_id), &d)?;
        let owner = crate::mail::mask::phone_digits(&phone);
        let routed = Receipt {
            spec,
            document,
            id: doc_id,
            several: receipt.several,
            direct: Some(Direct {
                owner: (!owner.is_empty()).then_some(owner),
                status: shown,
            }),
        };
        let key = document_key(spec, document);
        self.route_receipt(tx, &routed, &key, None, now_ms, effects)
    }

    /// The inventory (CEB621) a tax bill bills: the one customs numbered
    /// with the bill's invtNo (a CEB622 naming that invtNo answered it), else
    /// the newest declared with the bill's orderNo — only when it belongs to
    /// the enterprise the bill names (its ebcCode), or, when the bill names
    /// none, when exactly one enterprise declared that orderNo. A document
    /// refused or counted as a duplicate is never it. The link decides who
    /// receives the bill's receipts, so no guess is made.
    fn find_inventory(&self, tx: &mut Tx, bill: &TaxBill) -> Result<Option<DocId>, PipelineError> {
        let inventory = |tx: &mut Tx, id: DocId| -> Result<Option<DocumentRecord>, PipelineError> {
            Ok(tx.get::<DocumentRecord>(&key::document(id))?.filter(|d| {
                d.ty == crate::schema::MSG_CEB621.name
                    && d.sender != "customs"
                    && !matches!(
                        d.status.as_str(),
                        status::REFUSED | status::DUPLICATE | status::ORPHAN
                    )
            }))
        };
        // By invtNo: only customs' own numbering (a CEB622's answer) counts;
        // a sender may write any invtNo into its CEB621.
        let lk = format!("inventory|invtNo={}", bill.invt_no);
        for k in tx.keys_newest(&key::link_prefix(&lk), LINK_CANDIDATES)? {
            let Some(cand) = key::doc_id_suffix(&k) else {
                continue;
            };
            let Some(c) = tx.get::<DocumentRecord>(&key::document(cand))? else {
                continue;
            };
            if c.sender != "customs" || c.ty != crate::schema::MSG_CEB622.name {
                continue;
            }
            if let Some(inv) = c.answers.map(|a| inventory(tx, a)).transpose()?.flatten() {
                return Ok(Some(inv.id));
            }
        }
        // By orderNo (unique only with ebpCode, which a bill does not carry).
        let Some(order_no) = &bill.order_no else {
            return Ok(None);
        };
        let lk = format!("inventory|orderNo={order_no}");
        let mut found: Vec<DocumentRecord> = Vec::new();
        for k in tx.keys_newest(&key::link_prefix(&lk), LINK_CANDIDATES)? {
            if let Some(inv) = key::doc_id_suffix(&k)
                .map(|id| inventory(tx, id))
                .transpose()?
                .flatten()
            {
                found.push(inv);
            }
        }
        let pick = match &bill.ebc_code {
            Some(ebc) => found
                .into_iter()
                .find(|d| d.owner.as_deref() == Some(ebc.as_str())),
            None => {
                let mut owners: Vec<Option<String>> =
                    found.iter().map(|d| d.owner.clone()).collect();
                owners.sort();
                owners.dedup();
                if owners.len() == 1 {
                    found.into_iter().next()
                } else {
                    None
                }
            }
        };
        Ok(pick.map(|d| d.id))
    }

    /// Queues a receipt for every client subscribed to it: the clients of
    /// its owner (the enterprise it names in its type's declaring role,
    /// else the owner of the declaration it answers; for a `DEC_RESULT`,
    /// `[customs] enterprise`) with a valid subscription to its status. A
    /// receipt whose owner or status is unknown is kept in the unrouted
    /// list instead.
    fn route_receipt(
        &mut self,
        tx: &mut Tx,
        receipt: &Receipt<'_>,
        key: &str,
        answers: Option<&DocumentRecord>,
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        let (spec, document, id) = (receipt.spec, receipt.document, receipt.id);
        let facts = track::receipt_facts(spec, document);
        let by_customs = matches!(
            spec.ty,
            crate::schema::MessageType::DecResult | crate::schema::MessageType::DecImportResponse
        );
        // The declaring role the receipt names, else the owner of the
        // declaration it answers, else another role it names (an inventory
        // receipt without ebcCode: its agentCode).
        let owner = if by_customs {
            self.settings.routing.customs_enterprise.clone()
        } else {
            let fields = crate::subscribe::owner_fields(spec.ty);
            let named = fields.first().and_then(|f| track::field(document, spec, f));
            match &receipt.direct {
                // A tax bill: the enterprise it names (its CEB816's ebcCode),
                // else the inventory's owner; a postal-items message: the
                // recipient's phone.
                Some(direct) => named
                    .or_else(|| direct.owner.clone())
                    .or_else(|| answers.and_then(|t| t.owner.clone())),
                None => named
                    .or_else(|| answers.and_then(|t| t.owner.clone()))
                    .or_else(|| crate::subscribe::owner(spec, document)),
            }
        };
        let Some(owner) = owner else {
            let why = if by_customs {
                format!(
                    "{} names no enterprise and [customs] enterprise is not set",
                    spec.name
                )
            } else {
                let fields = crate::subscribe::owner_fields(spec.ty);
                if fields.is_empty() {
                    format!("{} names no enterprise", spec.name)
                } else {
                    format!(
                        "{} names no enterprise ({}) and answers no stored declaration that does",
                        spec.name,
                        fields.join(", ")
                    )
                }
            };
            return self.unrouted(tx, id, spec.name, key, &facts.code, None, why, now_ms);
        };
        // A tax bill goes to every receipts subscriber: no status names it.
        let status = if receipt.direct.is_some() {
            Some(crate::daemon::subs::ANY_STATUS)
        } else {
            crate::subscribe::status_of(spec.ty, &facts.code)
        };
        if status.is_none() && !self.settings.routing.unmapped_to_all {
            let why = format!(
                "{} code `{}` maps onto no subscription status",
                spec.name, facts.code
            );
            return self.unrouted(
                tx,
                id,
                spec.name,
                key,
                &facts.code,
                Some(owner),
                why,
                now_ms,
            );
        }
        let messages: Vec<u64> = answers.map(|t| vec![t.id.msg]).unwrap_or_default();
        // Every business key the receipt names (copNo, invtNo, preNo …):
        // what an admin replays it by and what its mail names.
        let keys: Vec<String> = track::link_keys(spec, document)
            .into_iter()
            .map(|k| k.split_once('|').map_or(k.clone(), |(_, v)| v.to_owned()))
            .collect();
        let key = if keys.is_empty() {
            key.to_owned()
        } else {
            keys.join("; ")
        };
        let clients = self.settings.routing.subs.recipients(
            &self.settings.routing.clients,
            &owner,
            "receipts",
            status,
            self.settings.routing.unmapped_to_all,
            &messages,
            crate::daemon::subs::today(now_ms),
        );
        for client in clients {
            let entry = OutboxEntry {
                v: VERSION,
                client: client.clone(),
                seq: 0,
                content: "receipts".to_owned(),
                doc: id,
                ty: spec.name.to_owned(),
                key: key.clone(),
                owner: owner.clone(),
                status: match &receipt.direct {
                    Some(direct) => direct.status.clone(),
                    None => status.unwrap_or_default().to_owned(),
                },
                code: facts.code.clone(),
                file: format!("{}_{:012}_{}.xml", spec.name, id.msg, id.doc),
                part: receipt.several.then_some(id.doc),
                queued_ms: now_ms,
                attempts: 0,
                next_ms: now_ms,
                error: String::new(),
                parked: false,
                delivered_ms: None,
            };
            self.enqueue(tx, entry, effects)?;
        }
        Ok(())
    }

    /// Puts an entry at the end of its client's outbox.
    fn enqueue(
        &mut self,
        tx: &mut Tx,
        mut entry: OutboxEntry,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        entry.seq = self.store.next_id()?;
        tx.put(key::outbox(&entry.client, entry.seq), &entry)?;
        effects.pushes.insert(entry.client);
        Ok(())
    }

    /// Keeps a receipt no client receives, with the reason, in the list.
    #[allow(clippy::too_many_arguments)]
    fn unrouted(
        &mut self,
        tx: &mut Tx,
        doc: DocId,
        ty: &str,
        key: &str,
        code: &str,
        owner: Option<String>,
        reason: String,
        now_ms: u64,
    ) -> Result<(), PipelineError> {
        let seq = self.store.next_id()?;
        info!(message = "A receipt goes to no client; kept and listed (customs-gateway unrouted).", document = %doc, reason = %reason);
        let rec = UnroutedRecord {
            v: VERSION,
            doc,
            ty: ty.to_owned(),
            key: key.to_owned(),
            code: code.to_owned(),
            owner,
            reason,
            at_ms: now_ms,
        };
        tx.put(key::unrouted(seq), &rec)?;
        Ok(())
    }

    /// Queues a declaration on its way to customs for the clients
    /// subscribed to its enterprise's data: the whole message when all its
    /// documents are one enterprise's, else each document alone.
    fn route_data(
        &mut self,
        tx: &mut Tx,
        rec: &MessageRecord,
        docs: &[DocumentRecord],
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        let msg = rec.id;
        let first = docs.first().and_then(|d| d.owner.clone());
        let one_owner = first.is_some() && docs.iter().all(|d| d.owner == first);
        let today = crate::daemon::subs::today(now_ms);
        for d in docs {
            let Some(owner) = &d.owner else { continue };
            let clients = self.settings.routing.subs.recipients(
                &self.settings.routing.clients,
                owner,
                "data",
                None,
                false,
                &[msg],
                today,
            );
            for client in clients {
                let (file, part) = if one_owner {
                    (format!("{}_{msg:012}.xml", rec.ty), None)
                } else {
                    (
                        format!("{}_{msg:012}_{}.xml", rec.ty, d.id.doc),
                        Some(d.id.doc),
                    )
                };
                let entry = OutboxEntry {
                    v: VERSION,
                    client,
                    seq: 0,
                    content: "data".to_owned(),
                    doc: d.id,
                    ty: rec.ty.clone(),
                    key: d.key.clone(),
                    owner: owner.clone(),
                    status: String::new(),
                    code: String::new(),
                    file,
                    part,
                    queued_ms: now_ms,
                    attempts: 0,
                    next_ms: now_ms,
                    error: String::new(),
                    parked: false,
                    delivered_ms: None,
                };
                self.enqueue(tx, entry, effects)?;
            }
            if one_owner {
                // The whole message went to each recipient once.
                break;
            }
        }
        Ok(())
    }

    /// Records (into `tx`) that the forwarder wrote messages into the
    /// customs OutBox.
    pub fn forwarded(
        &mut self,
        tx: &mut Tx,
        done: &[ForwardJob],
        now_ms: u64,
    ) -> Result<(), PipelineError> {
        for job in done {
            let Some(mut f) = tx.get::<ForwardRecord>(&key::forward(job.msg))? else {
                continue;
            };
            if f.state != "queued" || f.attempt != job.attempt {
                continue;
            }
            f.state = "written".to_owned();
            f.at_ms = now_ms;
            tx.put(key::forward(job.msg), &f)?;
            let info = format!("written to the customs OutBox as {}", job.file);
            self.message_event(tx, job.msg, status::FORWARDED, true, now_ms, &info)?;
            crate::metrics::forwarded();
        }
        Ok(())
    }

    /// Records (into `tx`) what the import client did with written
    /// messages: sent (moved to its SentBox) or failed (moved to its
    /// FailBox). A failure is written again, up to `retries` times, then
    /// parked.
    pub fn transmission(
        &mut self,
        tx: &mut Tx,
        sent: &[u64],
        failed: &[u64],
        now_ms: u64,
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        for &msg in sent {
            let Some(f) = tx.get::<ForwardRecord>(&key::forward(msg))? else {
                continue;
            };
            // Done: the queue keeps only what is in flight.
            tx.remove(key::forward(msg));
            tx.put_raw(key::forwarded(msg), f.attempt.to_be_bytes().to_vec());
            let info = format!("the import client sent {}", f.file);
            self.message_event(tx, msg, status::TRANSMITTED, true, now_ms, &info)?;
            crate::metrics::transmission(true);
        }
        for &msg in failed {
            let Some(mut f) = tx.get::<ForwardRecord>(&key::forward(msg))? else {
                continue;
            };
            let info = format!(
                "the import client moved {} to its FailBox (attempt {})",
                f.file, f.attempt
            );
            self.message_event(tx, msg, status::TRANSMISSION_FAILED, true, now_ms, &info)?;
            crate::metrics::transmission(false);
            if f.attempt > self.settings.retries {
                f.state = "parked".to_owned();
                let info = format!("parked after {} attempts", f.attempt);
                self.message_event(tx, msg, status::PARKED, true, now_ms, &info)?;
                warn!(message = "Forward parked.", msg = msg, file = %f.file);
            } else {
                f.attempt = f.attempt.saturating_add(1);
                f.state = "queued".to_owned();
                f.file = forward_name(msg, &f.ty, f.attempt);
                effects.forwards.push(ForwardJob {
                    msg,
                    ty: f.ty.clone(),
                    file: f.file.clone(),
                    attempt: f.attempt,
                    check_written: false,
                });
            }
            f.at_ms = now_ms;
            tx.put(key::forward(msg), &f)?;
        }
        Ok(())
    }

    /// Appends an event to every document of a message; `moves` makes it
    /// the current status unless a customs receipt already set one.
    fn message_event(
        &mut self,
        tx: &mut Tx,
        msg: u64,
        st: &str,
        moves: bool,
        now_ms: u64,
        info: &str,
    ) -> Result<(), PipelineError> {
        let Some(rec) = tx.get::<MessageRecord>(&key::message(msg))? else {
            return Ok(());
        };
        for d in 0..rec.documents {
            let id = DocId { msg, doc: d };
            let Some(mut doc) = tx.get::<DocumentRecord>(&key::document(id))? else {
                continue;
            };
            // A document replaced or deleted meanwhile keeps that status:
            // the way of its message to customs only goes into its history.
            let on_its_way = matches!(
                doc.status.as_str(),
                status::SET_PASSED
                    | status::FORWARDED
                    | status::TRANSMITTED
                    | status::TRANSMISSION_FAILED
                    | status::PARKED
            );
            if moves && on_its_way && doc.customs.is_none() {
                set_status(tx, &mut doc, st)?;
            }
            event(tx, &mut doc, st, now_ms, info.to_owned(), Vec::new(), None)?;
            tx.put(key::document(id), &doc)?;
        }
        Ok(())
    }

    /// Records that a platform confirmed receipts it was sent (only its own).
    pub fn delivered(
        &mut self,
        tx: &mut Tx,
        platform: usize,
        seqs: &[u64],
        effects: &mut Effects,
    ) -> Result<(), PipelineError> {
        let name = self.source_name(Origin::Platform(platform));
        for &s in seqs {
            if let Some(r) = tx.get::<InboxRecord>(&key::inbox(s))?
                && r.sender == name
            {
                tx.remove(key::inbox(s));
            }
            effects.delivered.push((platform, s));
        }
        Ok(())
    }

    /// Records that a receipt was written into its sender's InBox.
    pub fn receipt_written(&mut self, seqs: &[u64]) -> Result<(), PipelineError> {
        let mut tx = self.store.begin();
        for &s in seqs {
            tx.remove(key::inbox(s));
        }
        tx.commit()?;
        Ok(())
    }

    /// What is computed every few seconds rather than per batch: the
    /// overdue sets (time passes without events) and the small queues.
    pub fn periodic(&self, now_ms: u64) -> Result<Periodic, PipelineError> {
        let overdue = self.engine.overdue(now_ms);
        let sets = overdue
            .iter()
            .take(100)
            .map(|o| OverdueSet {
                key: o.key.as_ref().map(ToString::to_string).unwrap_or_default(),
                members: o
                    .members
                    .iter()
                    .map(|m| {
                        format!(
                            "{}.{} {}",
                            m.source.message,
                            m.source.document,
                            m.kind.name()
                        )
                    })
                    .collect(),
                missing: o.missing.iter().map(|k| k.name().to_owned()).collect(),
                since_ms: o.since_ms,
                waited_secs: o.waited_secs,
            })
            .collect();
        let parked = self
            .store
            .scan::<ForwardRecord>(b"f")?
            .iter()
            .filter(|(_, f)| f.state == "parked")
            .count();
        Ok(Periodic {
            count: overdue.len(),
            sets,
            parked,
            inbox_pending: self.store.count(b"r"),
        })
    }
}

/// The record under `k` when it belongs to `phone` (the phone access rule),
/// else the sentence a payer gets: `no {what} {masked phone}`, the same for
/// a record that does not exist and for another phone's.
fn held<R: serde::de::DeserializeOwned>(
    tx: &Tx,
    k: &[u8],
    phone: &str,
    phone_of: fn(&R) -> &str,
    what: &str,
) -> Result<Result<R, String>, PipelineError> {
    Ok(tx
        .get::<R>(k)?
        .filter(|r| crate::mail::mask::may_see(phone, phone_of(r)))
        .ok_or_else(|| format!("no {what} {}", crate::mail::mask::phone(phone))))
}

fn agreement_phone(r: &AgreementRecord) -> &str {
    &r.agreement.phone
}

fn certificate_phone(r: &CertificateRecord) -> &str {
    &r.certificate.phone
}

fn mail_phone(r: &MailRecord) -> &str {
    &r.phone
}

/// The bytes to write to customs for a stored message: the exact bytes it
/// arrived with when signed (re-encoding breaks the signature, and a
/// received signature is never replaced) or wrapped in a DXP envelope,
/// else the strict official form, signed by `signer` (`[signing]`) when
/// one is configured and the type's schema admits a signature.
pub fn forward_bytes(
    raw: &[u8],
    limits: &Limits,
    signer: Option<&crate::sig::Signer>,
) -> Result<Vec<u8>, String> {
    let decoded = codec::decode_with(raw, limits).map_err(|e| e.to_string())?;
    let m = &decoded.message;
    if m.signature.is_some() || m.dxp.is_some() || m.business().signature.is_some() {
        return Ok(raw.to_vec());
    }
    let bytes = codec::encode(m, &codec::EncodeOptions::default()).map_err(|e| e.to_string())?;
    match signer {
        Some(signer) if m.spec.signature != crate::schema::SignatureRule::None => {
            let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
            signer
                .sign(&text)
                .map(String::into_bytes)
                .map_err(|e| e.to_string())
        }
        _ => Ok(bytes),
    }
}

/// The file name of a forwarded message: derived from its id, so that a
/// rewrite after a crash replaces instead of doubling.
pub fn forward_name(msg: u64, ty: &str, attempt: u32) -> String {
    if attempt <= 1 {
        format!("{ty}_GW{msg:016}.xml")
    } else {
        format!("{ty}_GW{msg:016}_t{attempt}.xml")
    }
}

/// Stores a customs document that answers nothing the gateway holds: kept,
/// counted and listed (`x` keys), never dropped.
fn store_orphan(
    tx: &mut Tx,
    mut d: DocumentRecord,
    now_ms: u64,
    info: String,
    findings: Vec<Finding>,
) -> Result<(), StoreError> {
    d.status = status::ORPHAN.to_owned();
    tx.count_status(status::ORPHAN, 1)?;
    event(tx, &mut d, status::ORPHAN, now_ms, info, findings, None)?;
    tx.put(key::document(d.id), &d)?;
    tx.put_raw(key::orphan(d.id), Vec::new());
    Ok(())
}

/// Stores a message refused as a whole (no document of it is taken).
fn refuse_message(
    tx: &mut Tx,
    mut rec: MessageRecord,
    f: Finding,
    label: &str,
    reasons: &mut Vec<String>,
) -> Result<(), PipelineError> {
    reasons.push(reason_line(label, "", &f));
    rec.findings.push(f);
    rec.disposition = Disposition::Refused;
    tx.put(key::message(rec.id), &rec)?;
    crate::metrics::message(&rec);
    Ok(())
}

fn receipt_record(id: DocId, ty: &str, key: String, now_ms: u64) -> DocumentRecord {
    DocumentRecord {
        v: VERSION,
        id,
        ty: ty.to_owned(),
        key,
        app_type: String::new(),
        sender: "customs".to_owned(),
        received_ms: now_ms,
        set: None,
        status: status::RECEIVED.to_owned(),
        customs: None,
        answers: None,
        next_event: 0,
        owner: None,
    }
}

fn finding(rule: &RuleInfo, field: &str, message: &str) -> Finding {
    Finding {
        rule: rule.code.to_owned(),
        severity: rule.severity.as_str().to_owned(),
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// The AgreementRequest head of `action` (`sign`, `cancel`) on `a`; a
/// signing carries the payer's name and account, which the bank verifies.
fn agreement_request(a: &crate::mail::agreement::Agreement, action: &str, time: &str) -> Record {
    use crate::schema::fields::agreement_request as aq;
    let mut h = Record::new(crate::schema::MSG_AGREEMENT_REQUEST.head);
    h.set(aq::AGREEMENT_NO, a.no.as_str());
    h.set(aq::ACTION, action);
    if action == "sign" {
        h.set(aq::PAYER_NAME, a.payer.as_str());
        h.set(aq::ACCOUNT, a.account.as_str());
    }
    h.set(aq::PAYER_PHONE, a.phone.as_str());
    h.set(aq::CUSTOMS_CODE, a.customs.as_str());
    h.set(aq::BANK_CODE, a.bank_code.as_str());
    h.set(aq::REQUEST_TIME, time);
    h
}

/// Changes a document's current status (and the counts by status).
fn set_status(tx: &mut Tx, doc: &mut DocumentRecord, st: &str) -> Result<(), StoreError> {
    if doc.status == st {
        return Ok(());
    }
    tx.count_status(&doc.status, -1)?;
    tx.count_status(st, 1)?;
    doc.status = st.to_owned();
    Ok(())
}

/// Appends one entry to a document's history (the caller writes the
/// document record back).
fn event(
    tx: &mut Tx,
    doc: &mut DocumentRecord,
    st: &str,
    now_ms: u64,
    info: String,
    findings: Vec<Finding>,
    receipt: Option<ReceiptEvent>,
) -> Result<(), StoreError> {
    let e = Event {
        v: VERSION,
        at_ms: now_ms,
        status: st.to_owned(),
        info,
        findings,
        receipt,
    };
    tx.put(key::event(doc.id, doc.next_event), &e)?;
    doc.next_event = doc.next_event.saturating_add(1);
    Ok(())
}

/// One line of a reason file: rule, element, sentence, in English and Chinese.
fn reason_line(file: &str, doc_key: &str, f: &Finding) -> String {
    let zh = RuleInfo::by_code(&f.rule).map_or("", |r| r.zh);
    let en = RuleInfo::by_code(&f.rule).map_or("", |r| r.en);
    let at = if f.field.is_empty() {
        String::new()
    } else {
        format!(" at {}", f.field)
    };
    let doc = if doc_key.is_empty() {
        String::new()
    } else {
        format!(" [{doc_key}]")
    };
    format!(
        "{file}{doc}: {} [{}]{at}: {}\n    rule: {en}\n    规则: {zh}\n",
        f.severity, f.rule, f.message
    )
}

fn reason_text(name: &str, lines: &[String]) -> String {
    format!(
        "customs-gateway refused {name} / 海关网关拒收 {name}\n\n{}",
        lines.concat()
    )
}

/// SHA-256 of a file, read in pieces.
fn stream_sha256(path: &std::path::Path) -> std::io::Result<[u8; 32]> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok(h.finalize().into())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The `*.xml` entries of a zip archive, each at most `max` bytes, as
/// (`archive!entry`, bytes), in archive order.
fn unzip(archive_name: &str, bytes: &[u8], max: usize) -> Result<Vec<(String, Vec<u8>)>, String> {
    use std::io::Read as _;
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| e.to_string())?;
        if !entry.is_file() || !entry.name().to_ascii_lowercase().ends_with(".xml") {
            continue;
        }
        let name = entry.name().to_owned();
        let mut buf = Vec::new();
        let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
        (&mut entry)
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| format!("{name}: {e}"))?;
        out.push((format!("{archive_name}!{name}"), buf));
    }
    Ok(out)
}
