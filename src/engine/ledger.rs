//! The personal annual quota: how much each buyer has bought per calendar
//! year, one durable truth the engine asks and settles.
//!
//! The ledger is keyed by order ([`SetKey`]): each order holds at most one
//! [`QuotaEntry`] (buyer, year, amount), and a buyer's total for a year is
//! the sum of the entries of their orders. The engine asks what *other*
//! orders used ([`QuotaLedger::used_by_others`]), so evaluating an order
//! again, after a restart or a replay, never counts it twice; and it writes
//! one [`QuotaLedger::settle`] per verdict, which spends, moves (a change of
//! amount, buyer or year) or gives back the order's amount in one atomic
//! step. An order holds an entry exactly while its set passes.

use std::collections::HashMap;

use rust_decimal::Decimal;
use thiserror::Error;

use super::SetKey;

/// What one accepted order counts against the annual limit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QuotaEntry {
    /// The buyer's ID number (`buyerIdNumber`, trimmed, upper case).
    pub buyer: String,
    /// The calendar year of the order.
    pub year: u16,
    /// The order's `acturalPaid`.
    pub amount: Decimal,
}

/// Where accepted orders are counted against the annual limit.
///
/// An implementation backed by storage makes [`settle`](Self::settle)
/// atomic: after it returns `Ok`, the order's old entry is gone from its
/// buyer's total and the new one is in, durably; after it returns `Err`,
/// nothing changed.
pub trait QuotaLedger {
    /// Why the ledger could not answer or write.
    type Error: std::error::Error;

    /// What `buyer`'s orders other than `order` hold in `year`.
    fn used_by_others(
        &self,
        buyer: &str,
        year: u16,
        order: &SetKey,
    ) -> Result<Decimal, Self::Error>;

    /// Makes `entry` the entry of `order`, replacing what it held (`None`:
    /// the order holds nothing any more).
    fn settle(&mut self, order: &SetKey, entry: Option<QuotaEntry>) -> Result<(), Self::Error>;

    /// What `order` holds.
    fn entry(&self, order: &SetKey) -> Result<Option<QuotaEntry>, Self::Error>;
}

/// Why the in-memory ledger refused a write.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LedgerError {
    /// A buyer's total would leave the decimal range.
    #[error("the total of buyer {buyer} in {year} is out of range")]
    Overflow {
        /// The buyer.
        buyer: String,
        /// The year.
        year: u16,
    },
}

/// A [`QuotaLedger`] in memory (the `check` command's; the daemon's lives
/// in its store).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryLedger {
    orders: HashMap<SetKey, QuotaEntry>,
    /// Buyer → year → total (looked up by `&str`, no allocation).
    totals: HashMap<String, HashMap<u16, Decimal>>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> MemoryLedger {
        MemoryLedger::default()
    }

    /// What all of `buyer`'s orders hold in `year`.
    pub fn used(&self, buyer: &str, year: u16) -> Decimal {
        self.totals
            .get(buyer)
            .and_then(|years| years.get(&year))
            .copied()
            .unwrap_or(Decimal::ZERO)
    }

    /// How many orders hold an entry.
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    /// Whether no order holds an entry.
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }
}

impl QuotaLedger for MemoryLedger {
    type Error = LedgerError;

    fn used_by_others(
        &self,
        buyer: &str,
        year: u16,
        order: &SetKey,
    ) -> Result<Decimal, LedgerError> {
        let total = self.used(buyer, year);
        let own = self
            .orders
            .get(order)
            .filter(|e| e.buyer == buyer && e.year == year)
            .map_or(Decimal::ZERO, |e| e.amount);
        total.checked_sub(own).ok_or_else(|| LedgerError::Overflow {
            buyer: buyer.to_owned(),
            year,
        })
    }

    fn settle(&mut self, order: &SetKey, entry: Option<QuotaEntry>) -> Result<(), LedgerError> {
        // Compute both new totals first, so a refusal changes nothing.
        let old = self.orders.get(order);
        if old == entry.as_ref() {
            return Ok(());
        }
        let mut updates: Vec<((String, u16), Decimal)> = Vec::with_capacity(2);
        if let Some(o) = old {
            let k = (o.buyer.clone(), o.year);
            let t = self.used(&o.buyer, o.year);
            let t = t
                .checked_sub(o.amount)
                .ok_or_else(|| LedgerError::Overflow {
                    buyer: o.buyer.clone(),
                    year: o.year,
                })?;
            updates.push((k, t));
        }
        if let Some(n) = &entry {
            let k = (n.buyer.clone(), n.year);
            let base = match updates.iter().find(|(uk, _)| *uk == k) {
                Some((_, t)) => *t,
                None => self.used(&n.buyer, n.year),
            };
            let t = base
                .checked_add(n.amount)
                .ok_or_else(|| LedgerError::Overflow {
                    buyer: n.buyer.clone(),
                    year: n.year,
                })?;
            updates.retain(|(uk, _)| *uk != k);
            updates.push((k, t));
        }
        for ((buyer, year), t) in updates {
            // A missing total is zero: drop it rather than keep a zero.
            if t.is_zero() {
                if let Some(years) = self.totals.get_mut(&buyer) {
                    years.remove(&year);
                    if years.is_empty() {
                        self.totals.remove(&buyer);
                    }
                }
            } else {
                self.totals.entry(buyer).or_default().insert(year, t);
            }
        }
        match entry {
            Some(e) => {
                self.orders.insert(order.clone(), e);
            }
            None => {
                self.orders.remove(order);
            }
        }
        Ok(())
    }

    fn entry(&self, order: &SetKey) -> Result<Option<QuotaEntry>, LedgerError> {
        Ok(self.orders.get(order).cloned())
    }
}
