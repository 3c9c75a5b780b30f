//! The annual quota in the store: the engine's [`QuotaLedger`], durable.
//!
//! The ledger buffers what the engine settles and hands it to the
//! pipeline, which commits it in the same atomic batch as the message and
//! the set outcome that caused it ([`StoreLedger::take_writes`]): the quota
//! and the verdicts never disagree, even after a crash.

use std::collections::BTreeMap;
use std::str::FromStr as _;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, key};
use crate::engine::{QuotaEntry, QuotaLedger, SetKey};

/// The quota ledger kept in the store.
#[derive(Debug)]
pub struct StoreLedger {
    db: sled::Db,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

#[derive(Serialize, Deserialize)]
struct EntryRecord {
    v: u32,
    buyer: String,
    year: u16,
    amount: String,
}

impl StoreLedger {
    /// The ledger of `store`.
    pub fn new(store: &Store) -> StoreLedger {
        StoreLedger {
            db: store.db.clone(),
            writes: BTreeMap::new(),
        }
    }

    /// What was settled since the last call, to commit with its cause.
    pub fn take_writes(&mut self) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        std::mem::take(&mut self.writes)
    }

    /// Forgets what was settled and not taken (after a failed commit).
    pub fn discard(&mut self) {
        self.writes.clear();
    }

    /// What all of `buyer`'s orders hold in `year`.
    pub fn used(&self, buyer: &str, year: u16) -> Result<Decimal, StoreError> {
        let k = key::total(buyer, year);
        match self.get(&k)? {
            None => Ok(Decimal::ZERO),
            Some(v) => {
                let text = String::from_utf8_lossy(&v);
                Decimal::from_str(&text).map_err(|e| StoreError::Corrupt {
                    key: format!("total {buyer} {year}"),
                    reason: e.to_string(),
                })
            }
        }
    }

    /// Every order's entry (for checks and the admin API).
    pub fn entries(&self) -> Result<Vec<(SetKey, QuotaEntry)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.db.scan_prefix(b"q") {
            let (k, v) = kv?;
            if let (Some(set), Some(e)) = (key::set_of(&k), entry_of(&v)) {
                out.push((set, e));
            }
        }
        Ok(out)
    }

    fn get(&self, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.writes.get(k) {
            Some(v) => Ok(v.clone()),
            None => Ok(self.db.get(k)?.map(|v| v.to_vec())),
        }
    }
}

fn entry_of(v: &[u8]) -> Option<QuotaEntry> {
    let r: EntryRecord = serde_json::from_slice(v).ok()?;
    Some(QuotaEntry {
        buyer: r.buyer,
        year: r.year,
        amount: Decimal::from_str(&r.amount).ok()?,
    })
}

impl QuotaLedger for StoreLedger {
    type Error = StoreError;

    fn used_by_others(
        &self,
        buyer: &str,
        year: u16,
        order: &SetKey,
    ) -> Result<Decimal, StoreError> {
        let total = self.used(buyer, year)?;
        let own = self
            .entry(order)?
            .filter(|e| e.buyer == buyer && e.year == year)
            .map_or(Decimal::ZERO, |e| e.amount);
        Ok(total.checked_sub(own).unwrap_or(Decimal::ZERO))
    }

    fn settle(&mut self, order: &SetKey, entry: Option<QuotaEntry>) -> Result<(), StoreError> {
        let old = self.entry(order)?;
        if old == entry {
            return Ok(());
        }
        let overflow = |buyer: &str, year: u16| StoreError::Corrupt {
            key: format!("total {buyer} {year}"),
            reason: "out of range".to_owned(),
        };
        // Both new totals first, so a refusal writes nothing.
        let mut totals: Vec<((String, u16), Decimal)> = Vec::with_capacity(2);
        if let Some(o) = &old {
            let t = self
                .used(&o.buyer, o.year)?
                .checked_sub(o.amount)
                .ok_or_else(|| overflow(&o.buyer, o.year))?;
            totals.push(((o.buyer.clone(), o.year), t));
        }
        if let Some(n) = &entry {
            let k = (n.buyer.clone(), n.year);
            let base = match totals.iter().find(|(tk, _)| *tk == k) {
                Some((_, t)) => *t,
                None => self.used(&n.buyer, n.year)?,
            };
            let t = base
                .checked_add(n.amount)
                .ok_or_else(|| overflow(&n.buyer, n.year))?;
            totals.retain(|(tk, _)| *tk != k);
            totals.push((k, t));
        }
        for ((buyer, year), t) in totals {
            let k = key::total(&buyer, year);
            if t.is_zero() {
                self.writes.insert(k, None);
            } else {
                self.writes
                    .insert(k, Some(t.normalize().to_string().into_bytes()));
            }
        }
        let k = key::quota(order);
        match entry {
            Some(e) => {
                let r = EntryRecord {
                    v: super::records::VERSION,
                    buyer: e.buyer,
                    year: e.year,
                    amount: e.amount.normalize().to_string(),
                };
                let bytes = serde_json::to_vec(&r).map_err(|e| StoreError::Corrupt {
                    key: "quota".to_owned(),
                    reason: e.to_string(),
                })?;
                self.writes.insert(k, Some(bytes));
            }
            None => {
                self.writes.insert(k, None);
            }
        }
        Ok(())
    }

    fn entry(&self, order: &SetKey) -> Result<Option<QuotaEntry>, StoreError> {
        Ok(self.get(&key::quota(order))?.as_deref().and_then(entry_of))
    }
}
