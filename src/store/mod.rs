//! The store: every inbound message, document, status history, order set,
//! the annual quota and the queues towards customs and the senders, in one
//! sled database. This is the only module that names sled.
//!
//! # Key layout
//!
//! Everything lives in sled's default tree, so that one inbound message's
//! writes (its record, bytes, documents, history, sets, quota, queues) go
//! in as one atomic batch ([`Tx::commit`]). Keys start with one tag byte;
//! integers are big-endian so keys sort by number; text parts end with a
//! 0x00 byte.
//!
//! | key | value |
//! |---|---|
//! | `V` | the layout version (u32) |
//! | `m` msg(u64) | [`MessageRecord`] |
//! | `b` msg | the raw bytes exactly as received |
//! | `h` source 0x00 sha256(32) | msg: byte-identical files per source (idempotency) |
//! | `d` msg doc(u32) | [`DocumentRecord`] |
//! | `e` msg doc seq(u32) | [`Event`]: the status history, append-only |
//! | `k` link-key 0x00 msg doc | (empty): documents by business key ([`crate::track::link_keys`]) |
//! | `s` orderNo 0x00 ebpCode | [`SetRecord`] |
//! | `o` orderNo 0x00 ebpCode | (empty): sets the engine holds open (replayed at start) |
//! | `O` orderNo 0x00 ebpCode | (empty): every set by orderNo (a waybill finds its set) |
//! | `w` msg doc | (empty): waybills waiting for their set (replayed at start) |
//! | `q` orderNo 0x00 ebpCode | the order's quota entry (buyer, year, amount) |
//! | `t` buyer 0x00 year(u16) | the buyer's total for the year (decimal text) |
//! | `f` msg | [`ForwardRecord`]: a message on its way to customs (queued, written, parked) |
//! | `F` msg | attempts (u32): a message the import client sent |
//! | `r` seq(u64) | [`InboxRecord`]: a receipt to write into a sender's InBox or send to a platform |
//! | `p` platform 0x00 message-id | [`SubmissionRecord`]: a platform's message id and its first result (TCP idempotency) |
//! | `x` msg doc | (empty): customs messages that answer no stored document |
//! | `T` taxNo | [`TaxBillRecord`]: an electronic tax bill (CEB816/CEB818), its inventory and receipts |
//! | `Y` mailNo | [`MailRecord`]: a personal postal item, its status history and recipient |
//! | `Z` certificateNo | [`CertificateRecord`]: a personal-items tax certificate and its payments |
//! | `G` agreementNo | [`AgreementRecord`]: a three-party agreement and its steps |
//! | `C` status | how many documents have that current status (u64) |
//! | `N` name | how many `messages` (`m` keys) and `orphans` (`x` keys) there are (u64), kept by [`Tx::commit`] |
//!
//! Values are JSON objects carrying their layout version `v`.
//!
//! Layout 2 added the `N` tallies (so that the admin API's status does not
//! count a million keys); a layout 1 store gets them counted once when it
//! is opened.
//!
//! # Durability
//!
//! [`Tx::commit`] applies atomically but does not sync; [`Store::flush`]
//! syncs everything applied before it (group commit: one flush for many
//! messages). Nothing is acknowledged before the flush that holds it.

mod ledger;
pub mod records;

use std::path::Path;

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

pub use ledger::StoreLedger;
pub use records::{
    AgreementRecord, CertificateRecord, DocId, DocumentRecord, Event, Finding, ForwardRecord,
    InboxRecord, MailRecord, MessageRecord, OutboxEntry, ReceiptEvent, SetRecord, Source,
    SubmissionRecord, SubscriptionEvent, SubscriptionRecord, TaxBillRecord, UnroutedRecord,
};

use crate::engine::SetKey;

/// The layout version this build writes and reads (it also reads 1).
pub const LAYOUT_VERSION: u32 = 2;

/// The name of the tally of messages (`m` keys).
pub const MESSAGES: &str = "messages";
/// The name of the tally of orphans (`x` keys).
pub const ORPHANS: &str = "orphans";

/// sled's page cache when none is configured (`store.cache_mb`).
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Why the store failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// sled failed (I/O, corruption, the lock held by another process).
    #[error("store: {0}")]
    Db(#[from] sled::Error),
    /// A value could not be read back.
    #[error("store: record {key} is unreadable: {reason}")]
    Corrupt {
        /// The key, printed.
        key: String,
        /// Why.
        reason: String,
    },
    /// The store was written by a newer release.
    #[error("store: layout version {found} is newer than this release reads ({LAYOUT_VERSION})")]
    Version {
        /// The version found.
        found: u32,
    },
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
}

/// Key builders (see the module documentation for the layout).
pub mod key {
    use super::{DocId, SetKey};

    /// `m` msg.
    pub fn message(msg: u64) -> Vec<u8> {
        tagged(b'm', &msg.to_be_bytes())
    }
    /// `p` platform 0x00 message-id.
    pub fn submission(platform: &str, id: &str) -> Vec<u8> {
        let mut k = tagged(b'p', platform.as_bytes());
        k.push(0);
        k.extend_from_slice(id.as_bytes());
        k
    }
    /// `b` msg.
    pub fn raw(msg: u64) -> Vec<u8> {
        tagged(b'b', &msg.to_be_bytes())
    }
    /// `h` source 0x00 sha256.
    pub fn sha(source: &str, sha: &[u8; 32]) -> Vec<u8> {
        let mut k = tagged(b'h', source.as_bytes());
        k.push(0);
        k.extend_from_slice(sha);
        k
    }
    /// `d` msg doc.
    pub fn document(id: DocId) -> Vec<u8> {
        tagged(b'd', &doc_bytes(id))
    }
    /// `e` msg doc seq.
    pub fn event(id: DocId, seq: u32) -> Vec<u8> {
        let mut k = tagged(b'e', &doc_bytes(id));
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }
    /// `e` msg doc: the prefix of a history.
    pub fn events(id: DocId) -> Vec<u8> {
        tagged(b'e', &doc_bytes(id))
    }
    /// `k` link 0x00: the prefix of one business key.
    pub fn link_prefix(link: &str) -> Vec<u8> {
        let mut k = tagged(b'k', link.as_bytes());
        k.push(0);
        k
    }
    /// `k` link 0x00 msg doc.
    pub fn link(link: &str, id: DocId) -> Vec<u8> {
        let mut k = link_prefix(link);
        k.extend_from_slice(&doc_bytes(id));
        k
    }
    /// `s` set.
    pub fn set(set: &SetKey) -> Vec<u8> {
        tagged(b's', &set_bytes(set))
    }
    /// `o` set.
    pub fn open(set: &SetKey) -> Vec<u8> {
        tagged(b'o', &set_bytes(set))
    }
    /// `O` orderNo 0x00: the prefix of every set of one orderNo.
    pub fn by_order_prefix(order_no: &str) -> Vec<u8> {
        let mut k = tagged(b'O', order_no.as_bytes());
        k.push(0);
        k
    }
    /// `O` set.
    pub fn by_order(set: &SetKey) -> Vec<u8> {
        tagged(b'O', &set_bytes(set))
    }
    /// `w` msg doc.
    pub fn waiting(id: DocId) -> Vec<u8> {
        tagged(b'w', &doc_bytes(id))
    }
    /// `q` set.
    pub fn quota(set: &SetKey) -> Vec<u8> {
        tagged(b'q', &set_bytes(set))
    }
    /// `t` buyer 0x00 year.
    pub fn total(buyer: &str, year: u16) -> Vec<u8> {
        let mut k = tagged(b't', buyer.as_bytes());
        k.push(0);
        k.extend_from_slice(&year.to_be_bytes());
        k
    }
    /// `f` msg.
    pub fn forward(msg: u64) -> Vec<u8> {
        tagged(b'f', &msg.to_be_bytes())
    }
    /// `F` msg.
    pub fn forwarded(msg: u64) -> Vec<u8> {
        tagged(b'F', &msg.to_be_bytes())
    }
    /// `r` seq.
    pub fn inbox(seq: u64) -> Vec<u8> {
        tagged(b'r', &seq.to_be_bytes())
    }

    /// A subscription.
    pub fn subscription(id: &str) -> Vec<u8> {
        tagged(b'S', id.as_bytes())
    }

    /// A client's queue: `Q` client 0x00, then the sequence number.
    pub fn outbox_prefix(client: &str) -> Vec<u8> {
        client_prefix(b'Q', client)
    }

    /// One entry of a client's queue.
    pub fn outbox(client: &str, seq: u64) -> Vec<u8> {
        client_seq(b'Q', client, seq)
    }

    /// A client's parked entries: `P` client 0x00, then the sequence number.
    pub fn parked_prefix(client: &str) -> Vec<u8> {
        client_prefix(b'P', client)
    }

    /// One parked entry of a client.
    pub fn parked(client: &str, seq: u64) -> Vec<u8> {
        client_seq(b'P', client, seq)
    }

    /// A client's delivered log: `D` client 0x00, then the sequence number.
    pub fn delivered_prefix(client: &str) -> Vec<u8> {
        client_prefix(b'D', client)
    }

    /// One entry of a client's delivered log.
    pub fn delivered(client: &str, seq: u64) -> Vec<u8> {
        client_seq(b'D', client, seq)
    }

    /// A receipt routed to no one.
    pub fn unrouted(seq: u64) -> Vec<u8> {
        tagged(b'U', &seq.to_be_bytes())
    }

    /// `C` status.
    pub fn counter(status: &str) -> Vec<u8> {
        tagged(b'C', status.as_bytes())
    }
    /// `x` msg doc.
    pub fn orphan(id: DocId) -> Vec<u8> {
        tagged(b'x', &doc_bytes(id))
    }
    /// `T` taxNo: an electronic tax bill (CEB816/CEB818).
    pub fn tax_bill(tax_no: &str) -> Vec<u8> {
        tagged(b'T', tax_no.as_bytes())
    }
    /// `Y` mailNo: a personal postal item.
    pub fn mail_item(mail_no: &str) -> Vec<u8> {
        tagged(b'Y', mail_no.as_bytes())
    }
    /// `Z` certificateNo: a personal-items tax certificate.
    pub fn certificate(no: &str) -> Vec<u8> {
        tagged(b'Z', no.as_bytes())
    }
    /// `G` agreementNo: a three-party agreement.
    pub fn agreement(no: &str) -> Vec<u8> {
        tagged(b'G', no.as_bytes())
    }
    /// `N` name.
    pub fn tally(name: &str) -> Vec<u8> {
        tagged(b'N', name.as_bytes())
    }

    /// The document id at the end of a key.
    pub fn doc_id_suffix(k: &[u8]) -> Option<DocId> {
        let n = k.len().checked_sub(12)?;
        let tail = k.get(n..)?;
        let msg = u64::from_be_bytes(tail.get(..8)?.try_into().ok()?);
        let doc = u32::from_be_bytes(tail.get(8..12)?.try_into().ok()?);
        Some(DocId { msg, doc })
    }

    /// The set key after the tag byte.
    pub fn set_of(k: &[u8]) -> Option<SetKey> {
        let body = k.get(1..)?;
        let at = body.iter().position(|&b| b == 0)?;
        let order = std::str::from_utf8(body.get(..at)?).ok()?;
        let ebp = std::str::from_utf8(body.get(at.checked_add(1)?..)?).ok()?;
        Some(SetKey::new(order, ebp))
    }

    /// `tag` client 0x00: one client's list.
    fn client_prefix(tag: u8, client: &str) -> Vec<u8> {
        let mut k = tagged(tag, client.as_bytes());
        k.push(0);
        k
    }

    /// `tag` client 0x00 seq: one entry of a client's list.
    fn client_seq(tag: u8, client: &str, seq: u64) -> Vec<u8> {
        let mut k = client_prefix(tag, client);
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }

    fn tagged(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(body.len().saturating_add(1));
        k.push(tag);
        k.extend_from_slice(body);
        k
    }

    fn doc_bytes(id: DocId) -> [u8; 12] {
        let mut b = [0u8; 12];
        let (m, d) = b.split_at_mut(8);
        m.copy_from_slice(&id.msg.to_be_bytes());
        d.copy_from_slice(&id.doc.to_be_bytes());
        b
    }

    fn set_bytes(set: &SetKey) -> Vec<u8> {
        let mut v = Vec::with_capacity(
            set.order_no
                .len()
                .saturating_add(set.ebp_code.len())
                .saturating_add(1),
        );
        v.extend_from_slice(set.order_no.as_bytes());
        v.push(0);
        v.extend_from_slice(set.ebp_code.as_bytes());
        v
    }
}

impl Store {
    /// Opens (or creates) the store at `path`. Fails when another process
    /// holds it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// Opens (or creates) the store at `path`, sled's page cache bounded to
    /// `cache_bytes` (sled's own default, 1 GiB, is what the daemon's
    /// memory would grow to on a large store).
    pub fn open_with_cache(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes)
            // Group commit flushes explicitly; the background flush only
            // bounds what an unacknowledged crash loses.
            .flush_every_ms(Some(1000))
            .open()?;
        match db.get(b"V")? {
            Some(v) => {
                let found = v
                    .as_ref()
                    .try_into()
                    .map(u32::from_be_bytes)
                    .unwrap_or(u32::MAX);
                if found > LAYOUT_VERSION {
                    return Err(StoreError::Version { found });
                }
                if found < 2 {
                    // Layout 1 kept no tallies: count once.
                    let mut batch = sled::Batch::default();
                    for (name, prefix) in [(MESSAGES, b"m"), (ORPHANS, b"x")] {
                        let n = u64::try_from(db.scan_prefix(prefix).keys().count())
                            .unwrap_or(u64::MAX);
                        batch.insert(key::tally(name), &n.to_be_bytes());
                    }
                    batch.insert(b"V", &LAYOUT_VERSION.to_be_bytes());
                    db.apply_batch(batch)?;
                    db.flush()?;
                }
            }
            None => {
                db.insert(b"V", &LAYOUT_VERSION.to_be_bytes())?;
            }
        }
        Ok(Store { db })
    }

    /// A new, unique, increasing message id.
    pub fn next_id(&self) -> Result<u64, StoreError> {
        // sled's ids are unique across restarts; +1 keeps 0 free.
        Ok(self.db.generate_id()?.saturating_add(1))
    }

    /// Starts a write: reads see its own writes first.
    pub fn begin(&self) -> Tx {
        Tx {
            db: self.db.clone(),
            writes: BTreeMap::new(),
        }
    }

    /// Syncs everything committed so far to disk.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let started = std::time::Instant::now();
        let n = self.db.flush_async().await?;
        crate::metrics::store_flush(started.elapsed());
        Ok(n)
    }

    /// Syncs everything committed so far to disk, blocking.
    pub fn flush_blocking(&self) -> Result<usize, StoreError> {
        let started = std::time::Instant::now();
        let n = self.db.flush()?;
        crate::metrics::store_flush(started.elapsed());
        Ok(n)
    }

    /// Bytes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// A value, decoded.
    pub fn get<T: DeserializeOwned>(&self, k: &[u8]) -> Result<Option<T>, StoreError> {
        match self.db.get(k)? {
            Some(v) => decode(k, &v).map(Some),
            None => Ok(None),
        }
    }

    /// Raw bytes of a message.
    pub fn raw(&self, msg: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(key::raw(msg))?.map(|v| v.to_vec()))
    }

    /// Every (key, value) under a prefix, decoded, in key order.
    pub fn scan<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.db.scan_prefix(prefix) {
            let (k, v) = kv?;
            out.push((k.to_vec(), decode(&k, &v)?));
        }
        Ok(out)
    }

    /// The first `n` values under a prefix, in key order.
    pub fn scan_first<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
        n: usize,
    ) -> Result<Vec<(Vec<u8>, T)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.db.scan_prefix(prefix).take(n) {
            let (k, v) = kv?;
            out.push((k.to_vec(), decode(&k, &v)?));
        }
        Ok(out)
    }

    /// Up to `n` values under a prefix whose keys come after `after` (a
    /// full key), in key order: the next page of a listing.
    pub fn scan_after<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
        after: &[u8],
        n: usize,
    ) -> Result<Vec<(Vec<u8>, T)>, StoreError> {
        let mut out = Vec::new();
        let range = (
            std::ops::Bound::Excluded(after.to_vec()),
            std::ops::Bound::Unbounded,
        );
        for kv in self.db.range::<Vec<u8>, _>(range).take(n) {
            let (k, v) = kv?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), decode(&k, &v)?));
        }
        Ok(out)
    }

    /// Every key under a prefix.
    pub fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::new();
        for k in self.db.scan_prefix(prefix).keys() {
            out.push(k?.to_vec());
        }
        Ok(out)
    }

    /// Visits every value under a prefix, newest key first, until `visit`
    /// returns false.
    pub fn scan_rev<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
        mut visit: impl FnMut(T) -> bool,
    ) -> Result<(), StoreError> {
        for kv in self.db.scan_prefix(prefix).rev() {
            let (k, v) = kv?;
            if !visit(decode(&k, &v)?) {
                break;
            }
        }
        Ok(())
    }

    /// The status history of a document, in order.
    pub fn history(&self, id: DocId) -> Result<Vec<Event>, StoreError> {
        Ok(self
            .scan::<Event>(&key::events(id))?
            .into_iter()
            .map(|(_, e)| e)
            .collect())
    }

    /// The documents filed under a business key.
    pub fn linked(&self, link: &str) -> Result<Vec<DocId>, StoreError> {
        Ok(self
            .keys(&key::link_prefix(link))?
            .iter()
            .filter_map(|k| key::doc_id_suffix(k))
            .collect())
    }

    /// How many documents have each current status.
    pub fn status_counts(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut out = BTreeMap::new();
        for kv in self.db.scan_prefix(b"C") {
            let (k, v) = kv?;
            let status = String::from_utf8_lossy(k.get(1..).unwrap_or_default()).into_owned();
            let n = v.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(0);
            if n > 0 {
                out.insert(status, n);
            }
        }
        Ok(out)
    }

    /// A tally ([`MESSAGES`], [`ORPHANS`]): kept with the keys it counts.
    pub fn tally(&self, name: &str) -> Result<u64, StoreError> {
        Ok(self
            .db
            .get(key::tally(name))?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0))
    }

    /// Counts the keys under a prefix (reads every one of them).
    pub fn count(&self, prefix: &[u8]) -> usize {
        self.db.scan_prefix(prefix).keys().count()
    }
}

/// Pending writes: applied at once by [`Tx::commit`]; reads see them first.
#[derive(Debug)]
pub struct Tx {
    db: sled::Db,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Tx {
    /// A value, decoded (this transaction's own writes first).
    pub fn get<T: DeserializeOwned>(&self, k: &[u8]) -> Result<Option<T>, StoreError> {
        match self.get_raw(k)? {
            Some(v) => decode(k, &v).map(Some),
            None => Ok(None),
        }
    }

    /// Raw bytes (this transaction's own writes first).
    pub fn get_raw(&self, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.writes.get(k) {
            Some(v) => Ok(v.clone()),
            None => Ok(self.db.get(k)?.map(|v| v.to_vec())),
        }
    }

    /// Whether a key is present.
    pub fn contains(&self, k: &[u8]) -> Result<bool, StoreError> {
        match self.writes.get(k) {
            Some(v) => Ok(v.is_some()),
            None => Ok(self.db.contains_key(k)?),
        }
    }

    /// Writes a value.
    pub fn put<T: Serialize>(&mut self, k: Vec<u8>, value: &T) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt {
            key: printable(&k),
            reason: e.to_string(),
        })?;
        self.writes.insert(k, Some(bytes));
        Ok(())
    }

    /// Writes raw bytes.
    pub fn put_raw(&mut self, k: Vec<u8>, bytes: Vec<u8>) {
        self.writes.insert(k, Some(bytes));
    }

    /// Removes a key.
    pub fn remove(&mut self, k: Vec<u8>) {
        self.writes.insert(k, None);
    }

    /// Keys under a prefix, this transaction's writes included.
    pub fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut keys: std::collections::BTreeSet<Vec<u8>> = std::collections::BTreeSet::new();
        for k in self.db.scan_prefix(prefix).keys() {
            keys.insert(k?.to_vec());
        }
        for (k, v) in self.writes.range(prefix.to_vec()..) {
            if !k.starts_with(prefix) {
                break;
            }
            if v.is_some() {
                keys.insert(k.clone());
            } else {
                keys.remove(k);
            }
        }
        Ok(keys.into_iter().collect())
    }

    /// At most `n` keys under a prefix, the greatest first (this
    /// transaction's writes included): a bounded look at the newest.
    pub fn keys_newest(&self, prefix: &[u8], n: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut keys: std::collections::BTreeSet<Vec<u8>> = std::collections::BTreeSet::new();
        for k in self.db.scan_prefix(prefix).keys().rev().take(n) {
            keys.insert(k?.to_vec());
        }
        for (k, v) in self.writes.range(prefix.to_vec()..) {
            if !k.starts_with(prefix) {
                break;
            }
            if v.is_some() {
                keys.insert(k.clone());
            } else {
                keys.remove(k);
            }
        }
        Ok(keys.into_iter().rev().take(n).collect())
    }

    /// Adds `delta` to the count of documents with `status`.
    pub fn count_status(&mut self, status: &str, delta: i64) -> Result<(), StoreError> {
        self.add(key::counter(status), delta)
    }

    fn add(&mut self, k: Vec<u8>, delta: i64) -> Result<(), StoreError> {
        let n = self
            .get_raw(&k)?
            .and_then(|v| v.as_slice().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0);
        let n = if delta < 0 {
            n.saturating_sub(delta.unsigned_abs())
        } else {
            n.saturating_add(delta.unsigned_abs())
        };
        self.put_raw(k, n.to_be_bytes().to_vec());
        Ok(())
    }

    /// Moves another transaction's writes (a ledger's) into this one.
    pub fn absorb(&mut self, other: &mut BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        self.writes.append(other);
    }

    /// Applies every write atomically (not yet synced: see [`Store::flush`]),
    /// with the tallies of the `m` and `x` keys it creates or removes (one
    /// writer at a time: the pipeline).
    pub fn commit(mut self) -> Result<(), StoreError> {
        if self.writes.is_empty() {
            return Ok(());
        }
        let mut deltas = [(MESSAGES, 0i64), (ORPHANS, 0i64)];
        for (k, v) in &self.writes {
            let slot = match k.first() {
                Some(b'm') => 0,
                Some(b'x') => 1,
                _ => continue,
            };
            let existed = self.db.contains_key(k)?;
            let d = match (existed, v.is_some()) {
                (false, true) => 1,
                (true, false) => -1,
                _ => 0,
            };
            if let Some((_, n)) = deltas.get_mut(slot) {
                *n = n.saturating_add(d);
            }
        }
        for (name, d) in deltas {
            if d != 0 {
                self.add(key::tally(name), d)?;
            }
        }
        let mut batch = sled::Batch::default();
        for (k, v) in self.writes {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        self.db.apply_batch(batch)?;
        Ok(())
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

fn decode<T: DeserializeOwned>(k: &[u8], v: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(v).map_err(|e| StoreError::Corrupt {
        key: printable(k),
        reason: e.to_string(),
    })
}

/// A key for messages: printable bytes as they are, others as `\xNN`.
fn printable(k: &[u8]) -> String {
    k.iter()
        .map(|&b| {
            if b.is_ascii_graphic() {
                char::from(b).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}
