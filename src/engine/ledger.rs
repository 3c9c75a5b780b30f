//! The personal annual quota: how much each buyer has bought per calendar year.
//!
//! Entries are keyed by order, so recording the same order again replaces its
//! amount instead of adding it twice.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::SetKey;

/// Where accepted orders are counted against the annual limit.
///
/// `buyer` is the buyer's ID number (trimmed, upper case); `year` the calendar
/// year of the order. An implementation backed by storage must keep
/// [`QuotaLedger::record`] idempotent per `order`.
pub trait QuotaLedger {
    /// The total recorded for `buyer` in `year`, over all orders.
    fn used(&self, buyer: &str, year: u16) -> Decimal;
    /// Records (or replaces) the amount of `order`.
    fn record(&mut self, buyer: &str, year: u16, order: &SetKey, amount: Decimal);
    /// Gives back what `order` had recorded (nothing if it had none).
    fn release(&mut self, buyer: &str, year: u16, order: &SetKey);
}

/// A [`QuotaLedger`] in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryLedger {
    entries: HashMap<(String, u16), HashMap<SetKey, Decimal>>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> MemoryLedger {
        MemoryLedger::default()
    }

    /// The amount `order` has recorded for `buyer` in `year`.
    pub fn recorded(&self, buyer: &str, year: u16, order: &SetKey) -> Option<Decimal> {
        self.entries
            .get(&(buyer.to_owned(), year))
            .and_then(|m| m.get(order))
            .copied()
    }

    /// How many orders are recorded, over all buyers and years.
    pub fn len(&self) -> usize {
        self.entries.values().map(HashMap::len).sum()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl QuotaLedger for MemoryLedger {
    fn used(&self, buyer: &str, year: u16) -> Decimal {
        self.entries
            .get(&(buyer.to_owned(), year))
            .map(|m| {
                m.values()
                    .try_fold(Decimal::ZERO, |acc, v| acc.checked_add(*v))
                    .unwrap_or(Decimal::MAX)
            })
            .unwrap_or(Decimal::ZERO)
    }

    fn record(&mut self, buyer: &str, year: u16, order: &SetKey, amount: Decimal) {
        self.entries
            .entry((buyer.to_owned(), year))
            .or_default()
            .insert(order.clone(), amount);
    }

    fn release(&mut self, buyer: &str, year: u16, order: &SetKey) {
        let k = (buyer.to_owned(), year);
        if let Some(m) = self.entries.get_mut(&k) {
            m.remove(order);
            if m.is_empty() {
                self.entries.remove(&k);
            }
        }
    }
}
