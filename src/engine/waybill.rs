//! Where a waybill goes. The waybill (CEB511) carries `orderNo` but no
//! `ebpCode`, so it cannot name its set; it joins, in this order of
//! preference, (1) the one set whose inventory names it (`logisticsCode` +
//! `logisticsNo`), (2) the one set with its `orderNo`. When neither is
//! unique it waits (*pending*), and is attached as soon as a change makes
//! the choice unique.
//!
//! Every lookup goes through an index, so the cost of a submit does not grow
//! with the number of waybills waiting: waiting waybills by `orderNo`, sets
//! by `orderNo` (a range of the ordered set map), and which sets'
//! inventories name each waybill.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::facts::{Facts, Strings};
use super::sets::Member;
use super::{
    AppType, Changes, DocKind, Engine, EngineError, Placed, QuotaLedger, SetKey, WaybillId,
    WaybillLink,
};
use crate::schema::Field;
use crate::schema::Text;
use crate::schema::fields::{inventory_head as ih, logistics_head as lh};

/// A small sorted set: an index entry nearly always holds one item, and a
/// `BTreeSet` would allocate a whole node (over 500 bytes) for it.
#[derive(Debug, Clone)]
pub(super) struct Few<T>(Vec<T>);

impl<T> Default for Few<T> {
    fn default() -> Self {
        Few(Vec::new())
    }
}

impl<T: Ord> Few<T> {
    fn insert(&mut self, item: T) {
        if let Err(at) = self.0.binary_search(&item) {
            self.0.insert(at, item);
        }
    }

    fn remove(&mut self, item: &T) {
        if let Ok(at) = self.0.binary_search(item) {
            self.0.remove(at);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.0.iter()
    }
}

/// Sets by a waybill they hold or name. Keyed by a hash of the waybill's
/// identity, so its strings are not copied into the index (they are in the
/// set already); every lookup is checked against the set itself, so a hash
/// collision costs a comparison, never a wrong answer.
#[derive(Debug, Clone, Default)]
pub(super) struct ByWaybill(HashMap<u64, Few<SetKey>>);

impl ByWaybill {
    fn hash(id: &WaybillId) -> u64 {
        let mut h = DefaultHasher::new();
        id.hash(&mut h);
        h.finish()
    }

    fn insert(&mut self, id: &WaybillId, key: SetKey) {
        self.0.entry(ByWaybill::hash(id)).or_default().insert(key);
    }

    pub(super) fn remove(&mut self, id: &WaybillId, key: &SetKey) {
        let h = ByWaybill::hash(id);
        if let Some(keys) = self.0.get_mut(&h) {
            keys.remove(key);
            if keys.is_empty() {
                self.0.remove(&h);
            }
        }
    }

    /// The sets filed under `id`'s hash: check each.
    fn candidates(&self, id: &WaybillId) -> impl Iterator<Item = &SetKey> {
        self.0
            .get(&ByWaybill::hash(id))
            .into_iter()
            .flat_map(Few::iter)
    }
}

/// Where a known waybill is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Location {
    Attached(SetKey),
    Pending,
}

impl Location {
    fn set(&self) -> Option<SetKey> {
        match self {
            Location::Attached(k) => Some(k.clone()),
            Location::Pending => None,
        }
    }
}

fn key_field(
    kind: DocKind,
    facts: &Facts,
    field: Field<Text>,
    strings: &Strings,
) -> Result<String, EngineError> {
    let v = facts.head(strings).str(field);
    if v.is_empty() {
        return Err(EngineError::MissingKey {
            kind,
            path: field.path(),
        });
    }
    Ok(v.to_owned())
}

/// The set key of an order, payment or inventory.
pub(super) fn set_key(
    kind: DocKind,
    facts: &Facts,
    strings: &Strings,
) -> Result<SetKey, EngineError> {
    let head = kind.head();
    let Some(ebp_code) = head.ebp_code else {
        return Err(EngineError::MissingKey {
            kind,
            path: "LogisticsHead/ebpCode".to_owned(),
        });
    };
    Ok(SetKey {
        order_no: key_field(kind, facts, head.order_no, strings)?,
        ebp_code: key_field(kind, facts, ebp_code, strings)?,
    })
}

/// A waybill's identity.
pub(super) fn waybill_id(facts: &Facts, strings: &Strings) -> Result<WaybillId, EngineError> {
    Ok(WaybillId {
        code: key_field(DocKind::Waybill, facts, lh::LOGISTICS_CODE, strings)?,
        no: key_field(DocKind::Waybill, facts, lh::LOGISTICS_NO, strings)?,
    })
}

/// The waybill an inventory names, if it names one.
pub(super) fn inventory_waybill(facts: &Facts, strings: &Strings) -> Option<WaybillId> {
    let head = facts.head(strings);
    let (code, no) = (head.str(ih::LOGISTICS_CODE), head.str(ih::LOGISTICS_NO));
    (!code.is_empty() && !no.is_empty()).then(|| WaybillId {
        code: code.to_owned(),
        no: no.to_owned(),
    })
}

impl<L: QuotaLedger> Engine<L> {
    /// Takes in a waybill.
    pub(super) fn submit_waybill(
        &mut self,
        member: Box<Member>,
        changes: &mut Changes,
    ) -> Result<Placed, EngineError> {
        let kind = DocKind::Waybill;
        let id = waybill_id(&member.facts, &self.strings)?;
        let location = self.waybill_location(&id);
        if member.app_type == AppType::Delete {
            let Some(location) = location else {
                return Err(EngineError::NotFound {
                    kind,
                    key: id.to_string(),
                });
            };
            self.remove_waybill(&id, &location, changes);
            return Ok(Placed::at(location.set()));
        }
        if let Some(loc) = &location
            && let Some(held) = self.waybill_member(&id, loc)
        {
            if held.fingerprint == member.fingerprint {
                return Ok(Placed::duplicate(loc.set(), held.source));
            }
            if member.app_type == AppType::New {
                return Err(EngineError::AlreadyDeclared {
                    kind,
                    key: id.to_string(),
                });
            }
        }
        let order_no = member
            .facts
            .head(&self.strings)
            .str(lh::ORDER_NO)
            .to_owned();
        let target = self.waybill_target(&id, &order_no);
        if let Some((t, _)) = &target
            && let Some(other) = self.held_waybill(t)
            && other != id
        {
            return Err(EngineError::AlreadyDeclared {
                kind,
                key: t.to_string(),
            });
        }
        if let Some(loc) = &location {
            self.remove_waybill(&id, loc, changes);
        }
        Ok(match target {
            Some((t, link)) => {
                self.place_waybill(id, &t, link, member);
                changes.affected.push(t.clone());
                Placed::at(Some(t))
            }
            None => {
                self.park(id, order_no, member);
                Placed::at(None)
            }
        })
    }

    /// Where a waybill is, if the engine holds it.
    pub(super) fn waybill_location(&self, id: &WaybillId) -> Option<Location> {
        if let Some(k) = self
            .attached
            .candidates(id)
            .find(|k| self.held_waybill(k).as_ref() == Some(id))
        {
            return Some(Location::Attached(k.clone()));
        }
        self.pending.contains_key(id).then_some(Location::Pending)
    }

    fn waybill_member(&self, id: &WaybillId, at: &Location) -> Option<&Member> {
        match at {
            Location::Attached(k) => self.sets.get(k)?.member(DocKind::Waybill),
            Location::Pending => self.pending.get(id).map(|m| &**m),
        }
    }

    /// The identity of the waybill a set holds.
    fn held_waybill(&self, key: &SetKey) -> Option<WaybillId> {
        let m = self.sets.get(key)?.member(DocKind::Waybill)?;
        waybill_id(&m.facts, &self.strings).ok()
    }

    /// The set a waybill belongs to, if it is unique.
    fn waybill_target(&self, id: &WaybillId, order_no: &str) -> Option<(SetKey, WaybillLink)> {
        let mut naming = self.named.candidates(id).filter(|k| {
            let inventory = self.sets.get(*k).and_then(|s| s.member(DocKind::Inventory));
            inventory
                .and_then(|m| inventory_waybill(&m.facts, &self.strings))
                .as_ref()
                == Some(id)
        });
        if let (Some(k), None) = (naming.next(), naming.next()) {
            return Some((k.clone(), WaybillLink::LogisticsNo));
        }
        if order_no.is_empty() {
            return None;
        }
        let from = SetKey::new(order_no, "");
        let mut same = self
            .sets
            .range(from..)
            .take_while(|(k, _)| k.order_no == order_no)
            .map(|(k, _)| k);
        match (same.next(), same.next()) {
            (Some(k), None) => Some((k.clone(), WaybillLink::OrderNo)),
            _ => None,
        }
    }

    fn place_waybill(&mut self, id: WaybillId, key: &SetKey, link: WaybillLink, m: Box<Member>) {
        let state = self.sets.entry(key.clone()).or_default();
        if let Some(slot) = state.slot(DocKind::Waybill) {
            *slot = Some(m);
        }
        state.link = Some(link);
        self.attached.insert(&id, key.clone());
    }

    /// Puts a waybill in the waiting room.
    fn park(&mut self, id: WaybillId, order_no: String, m: Box<Member>) {
        if !order_no.is_empty() {
            self.pending_by_order
                .entry(order_no)
                .or_default()
                .insert(id.clone());
        }
        self.pending.insert(id, m);
    }

    /// Takes a waybill out of the waiting room.
    fn unpark(&mut self, id: &WaybillId) -> Option<Box<Member>> {
        let m = self.pending.remove(id)?;
        let order_no = m.facts.head(&self.strings).str(lh::ORDER_NO);
        if let Some(ids) = self.pending_by_order.get_mut(order_no) {
            ids.remove(id);
            if ids.is_empty() {
                self.pending_by_order.remove(order_no);
            }
        }
        Some(m)
    }

    fn remove_waybill(&mut self, id: &WaybillId, at: &Location, changes: &mut Changes) {
        match at {
            Location::Attached(k) => {
                self.attached.remove(id, k);
                if let Some(state) = self.sets.get_mut(k) {
                    if let Some(slot) = state.slot(DocKind::Waybill) {
                        *slot = None;
                    }
                    state.link = None;
                }
                changes.affected.push(k.clone());
                self.drop_if_empty(k);
            }
            Location::Pending => {
                self.unpark(id);
            }
        }
    }

    /// Records that set `key`'s inventory names its waybill.
    pub(super) fn name_waybill(&mut self, key: &SetKey, facts: &Facts, changes: &mut Changes) {
        if let Some(id) = inventory_waybill(facts, &self.strings) {
            self.named.insert(&id, key.clone());
            changes.touched.push(id);
        }
    }

    /// Forgets that set `key`'s inventory named its waybill.
    pub(super) fn unname_waybill(&mut self, key: &SetKey, facts: &Facts, changes: &mut Changes) {
        if let Some(id) = inventory_waybill(facts, &self.strings) {
            self.named.remove(&id, key);
            changes.touched.push(id);
        }
    }

    /// Attaches every waiting waybill whose set a change to `key` may have
    /// made unique: those with `key`'s orderNo and those whose naming
    /// changed.
    pub(super) fn attach_pending(&mut self, key: &SetKey, changes: &mut Changes) {
        if self.pending.is_empty() {
            return;
        }
        let mut candidates: Vec<WaybillId> = self
            .pending_by_order
            .get(&key.order_no)
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default();
        candidates.extend(
            changes
                .touched
                .iter()
                .filter(|id| self.pending.contains_key(*id))
                .cloned(),
        );
        for id in candidates {
            let Some(order_no) = self
                .pending
                .get(&id)
                .map(|m| m.facts.head(&self.strings).str(lh::ORDER_NO).to_owned())
            else {
                continue;
            };
            let Some((target, link)) = self.waybill_target(&id, &order_no) else {
                continue;
            };
            if self.held_waybill(&target).is_some() {
                continue;
            }
            if let Some(m) = self.unpark(&id) {
                self.place_waybill(id, &target, link, m);
                changes.affected.push(target);
            }
        }
    }
}
