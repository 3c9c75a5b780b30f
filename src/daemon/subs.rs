//! The subscriptions: kept in the store (key `S`, with their history) and
//! in memory for routing. The configuration's `[[subscription]]`s, the
//! admin API and a message's `BaseSubscribe` all go through the same
//! checks ([`crate::subscribe`]): a subscription names exactly one
//! registered client, covers only that client's enterprise, is valid for
//! at most a year from the day it is made (or extended), and can be
//! cancelled or extended only while valid.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, RwLock};

use crate::config::{ClientConfig, Config, OneOrMany, SubscriptionConfig};
use crate::store::records::VERSION;
use crate::store::{Store, StoreError, SubscriptionEvent, SubscriptionRecord, key};
use crate::subscribe::{self, Date, State};

/// The status of a receipt every receipts subscription of its owner covers,
/// whatever statuses it names: an electronic tax bill (CEB816/CEB818), which
/// none of the single window's statuses names.
pub const ANY_STATUS: &str = "*";

/// Why a subscription change was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubsError {
    /// A rule refuses it: one sentence for the admin.
    #[error("{0}")]
    Refused(String),
    /// No such subscription.
    #[error("no subscription `{0}`")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new subscription, as the API or the configuration asks for it.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// The one client.
    pub client: OneOrMany,
    /// The subscribing enterprise (default: the client's; must be it).
    #[serde(default)]
    pub enterprise: Option<String>,
    /// `receipts` and/or `data`.
    pub content: Vec<String>,
    /// Receipt statuses.
    #[serde(default)]
    pub statuses: Vec<String>,
    /// The last valid day, `YYYY-MM-DD`.
    pub valid_until: String,
    /// 录入人.
    pub by: String,
}

impl From<&SubscriptionConfig> for NewSubscription {
    fn from(s: &SubscriptionConfig) -> Self {
        NewSubscription {
            client: s.client.clone(),
            enterprise: s.enterprise.clone(),
            content: s.content.clone(),
            statuses: s.statuses.clone(),
            valid_until: s.valid_until.clone(),
            by: s.by.clone(),
        }
    }
}

/// Every subscription, in memory for routing; changes are written to the
/// store (and flushed) before they show here.
#[derive(Debug, Default)]
pub struct Subscriptions {
    index: RwLock<Index>,
    /// One change at a time (read, check, write, publish).
    change: Mutex<()>,
}

/// The subscriptions by id, with what routing looks them up by.
#[derive(Debug, Default)]
struct Index {
    records: BTreeMap<String, SubscriptionRecord>,
    /// The ids of general subscriptions, by enterprise.
    by_enterprise: HashMap<String, BTreeSet<String>>,
    /// The ids of one-message subscriptions (BaseSubscribe), by message.
    by_message: HashMap<u64, Vec<String>>,
}

impl Index {
    fn insert(&mut self, rec: SubscriptionRecord) {
        match rec.message {
            Some(m) => {
                let ids = self.by_message.entry(m).or_default();
                if !ids.contains(&rec.id) {
                    ids.push(rec.id.clone());
                }
            }
            None => {
                self.by_enterprise
                    .entry(rec.enterprise.clone())
                    .or_default()
                    .insert(rec.id.clone());
            }
        }
        self.records.insert(rec.id.clone(), rec);
    }

    fn get(&self, id: &str) -> Option<&SubscriptionRecord> {
        self.records.get(id)
    }
}

/// Today in China Standard Time.
pub fn today(now_ms: u64) -> Date {
    Date::cst(now_ms)
}

/// The state of a stored subscription today.
pub fn state_of(rec: &SubscriptionRecord, today: Date) -> State {
    match Date::parse(&rec.valid_until) {
        Some(until) => State::of(rec.cancelled, until, today),
        // A date the store cannot read: not delivering.
        None => State::Expired,
    }
}

impl Subscriptions {
    /// The subscriptions the store keeps. One-message subscriptions
    /// (BaseSubscribe) no longer valid on the day of `now_ms` are left in
    /// the store only: they can never deliver again (an expired or
    /// cancelled subscription cannot be made valid), and there is one per
    /// message that asked.
    pub fn load(store: &Store, now_ms: u64) -> Result<Subscriptions, StoreError> {
        let today = today(now_ms);
        let mut index = Index::default();
        for (_, r) in store.scan::<SubscriptionRecord>(b"S")? {
            if r.message.is_some() && state_of(&r, today) != State::Active {
                continue;
            }
            index.insert(r);
        }
        Ok(Subscriptions {
            index: RwLock::new(index),
            change: Mutex::new(()),
        })
    }

    /// All of them, by id.
    pub fn list(&self) -> Vec<SubscriptionRecord> {
        self.index
            .read()
            .map(|m| m.records.values().cloned().collect())
            .unwrap_or_default()
    }

    /// One of them.
    pub fn get(&self, id: &str) -> Option<SubscriptionRecord> {
        self.index.read().ok().and_then(|m| m.get(id).cloned())
    }

    /// Publishes a record the caller has written to the store.
    pub fn publish(&self, rec: SubscriptionRecord) {
        if let Ok(mut m) = self.index.write() {
            m.insert(rec);
        }
    }

    /// The clients that receive a document owned by `owner`: those with a
    /// valid subscription of `content` whose enterprise is `owner` and
    /// whose client belongs to `owner` (both: a subscription record never
    /// reaches another enterprise's client), that covers `status` (for
    /// receipts; `None` is an unmapped code, delivered only to
    /// subscribers of every status when `unmapped_to_all`; [`ANY_STATUS`]
    /// is covered by every one), and that is
    /// either general or made by a message in `messages`. Sorted, once each.
    #[allow(clippy::too_many_arguments)]
    pub fn recipients(
        &self,
        clients: &[ClientConfig],
        owner: &str,
        content: &str,
        status: Option<&str>,
        unmapped_to_all: bool,
        messages: &[u64],
        today: Date,
    ) -> Vec<String> {
        let Ok(index) = self.index.read() else {
            return Vec::new();
        };
        // The owner's general subscriptions and those of the messages named.
        let general = index.by_enterprise.get(owner).into_iter().flatten();
        let one_message = messages
            .iter()
            .filter_map(|m| index.by_message.get(m))
            .flatten();
        let mut out: Vec<String> = Vec::new();
        for s in general.chain(one_message).filter_map(|id| index.get(id)) {
            if s.enterprise != owner || !s.content.iter().any(|c| c == content) {
                continue;
            }
            if state_of(s, today) != State::Active {
                continue;
            }
            if let Some(m) = s.message
                && !messages.contains(&m)
            {
                continue;
            }
            if content == "receipts" {
                let covered = match status {
                    Some(ANY_STATUS) => true,
                    Some(st) => s.statuses.iter().any(|x| x == st),
                    None => {
                        unmapped_to_all
                            && subscribe::STATUSES
                                .iter()
                                .all(|x| s.statuses.iter().any(|y| y == x))
                    }
                };
                if !covered {
                    continue;
                }
            }
            let own = clients
                .iter()
                .any(|c| c.id == s.client && c.enterprise == owner);
            if own && !out.contains(&s.client) {
                out.push(s.client.clone());
            }
        }
        out.sort();
        out
    }

    /// Makes a subscription: every rule checked against `today`.
    pub fn add(
        &self,
        store: &Store,
        clients: &[ClientConfig],
        req: &NewSubscription,
        id: Option<String>,
        origin: &str,
        now_ms: u64,
    ) -> Result<SubscriptionRecord, SubsError> {
        let _one = self
            .change
            .lock()
            .map_err(|_| refused("the subscriptions' lock is poisoned"))?;
        let rec = new_record(clients, req, id, origin, now_ms, |id| {
            self.get(id).is_some()
        })?;
        write(store, &rec)?;
        self.publish(rec.clone());
        Ok(rec)
    }

    /// Cancels a valid subscription.
    pub fn cancel(
        &self,
        store: &Store,
        id: &str,
        by: &str,
        now_ms: u64,
    ) -> Result<SubscriptionRecord, SubsError> {
        self.change(store, id, |rec| cancel_record(rec, by, now_ms))
    }

    /// Extends a valid subscription to `valid_until` (at most a year from today).
    pub fn extend(
        &self,
        store: &Store,
        id: &str,
        valid_until: &str,
        by: &str,
        now_ms: u64,
    ) -> Result<SubscriptionRecord, SubsError> {
        self.change(store, id, |rec| extend_record(rec, valid_until, by, now_ms))
    }

    /// One change of a stored subscription: read, change (the change checks
    /// its rule), write and flush, then publish; one change at a time.
    fn change(
        &self,
        store: &Store,
        id: &str,
        f: impl FnOnce(&mut SubscriptionRecord) -> Result<(), SubsError>,
    ) -> Result<SubscriptionRecord, SubsError> {
        let _one = self
            .change
            .lock()
            .map_err(|_| refused("the subscriptions' lock is poisoned"))?;
        let mut rec = self
            .get(id)
            .ok_or_else(|| SubsError::NotFound(id.to_owned()))?;
        f(&mut rec)?;
        write(store, &rec)?;
        self.publish(rec.clone());
        Ok(rec)
    }

    /// Brings the store in line with the configuration's subscriptions: a
    /// new one is made; when the configuration's own `valid_until` or
    /// `cancelled` changed since it was last applied, that is an extension
    /// or a cancellation, under the same rules as the API (a change made
    /// through the API stands until the configuration itself changes); a
    /// removed one is cancelled when still valid. Err names the entry.
    pub fn sync_config(
        &self,
        store: &Store,
        config: &Config,
        now_ms: u64,
    ) -> Result<Vec<String>, String> {
        self.sync(Some(store), config, now_ms)
    }

    /// What [`Subscriptions::sync_config`] would do, checked under the
    /// same rules, changing nothing.
    pub fn plan_config(&self, config: &Config, now_ms: u64) -> Result<Vec<String>, String> {
        self.sync(None, config, now_ms)
    }

    /// `sync_config` with a store, `plan_config` without.
    fn sync(
        &self,
        store: Option<&Store>,
        config: &Config,
        now_ms: u64,
    ) -> Result<Vec<String>, String> {
        let mut changes = Vec::new();
        let today = today(now_ms);
        let mut seen: Vec<String> = Vec::new();
        for (i, s) in config.subscription.iter().enumerate() {
            let id = s.id();
            let at = |e: SubsError| format!("subscription[{i}] (`{id}`): {e}");
            seen.push(id.clone());
            let wanted = (s.valid_until.trim().to_owned(), s.cancelled);
            let Some(rec) = self.get(&id) else {
                if !s.cancelled {
                    let req = NewSubscription::from(s);
                    match store {
                        Some(store) => {
                            self.add(
                                store,
                                &config.client,
                                &req,
                                Some(id.clone()),
                                "config",
                                now_ms,
                            )
                            .map_err(at)?;
                            self.applied(store, &id, wanted).map_err(at)?;
                        }
                        None => {
                            new_record(
                                &config.client,
                                &req,
                                Some(id.clone()),
                                "config",
                                now_ms,
                                |id| self.get(id).is_some(),
                            )
                            .map_err(at)?;
                        }
                    }
                    changes.push(format!("made {id}"));
                }
                continue;
            };
            let client = match &s.client {
                OneOrMany::One(c) => c.trim().to_owned(),
                OneOrMany::Many(_) => String::new(),
            };
            if rec.client != client {
                return Err(at(refused(format!(
                    "it was made for client `{}`; a subscription cannot move to another client: give the new one its own `id`",
                    rec.client
                ))));
            }
            let before = rec
                .config
                .clone()
                .unwrap_or_else(|| (rec.valid_until.clone(), rec.cancelled));
            if before == wanted {
                continue;
            }
            if s.cancelled && !before.1 {
                match state_of(&rec, today) {
                    // Already cancelled through the API: nothing to do.
                    State::Cancelled => {}
                    _ => {
                        match store {
                            Some(store) => {
                                self.cancel(store, &id, &s.by, now_ms).map_err(at)?;
                            }
                            None => cancel_record(&mut rec.clone(), &s.by, now_ms).map_err(at)?,
                        }
                        changes.push(format!("cancelled {id}"));
                    }
                }
            } else if !s.cancelled && before.1 {
                return Err(at(refused(
                    "it was cancelled (已取消) and cannot be valid again: give a new subscription its own `id`",
                )));
            } else if !s.cancelled && wanted.0 != before.0 {
                match store {
                    Some(store) => {
                        self.extend(store, &id, &s.valid_until, &s.by, now_ms)
                            .map_err(at)?;
                    }
                    None => extend_record(&mut rec.clone(), &s.valid_until, &s.by, now_ms)
                        .map_err(at)?,
                }
                changes.push(format!("extended {id}"));
            }
            if let Some(store) = store {
                self.applied(store, &id, wanted).map_err(at)?;
            }
        }
        for rec in self.list() {
            if rec.origin == "config"
                && !seen.contains(&rec.id)
                && state_of(&rec, today) == State::Active
            {
                if let Some(store) = store {
                    self.cancel(store, &rec.id, "configuration", now_ms)
                        .map_err(|e| format!("subscription `{}`: {e}", rec.id))?;
                }
                changes.push(format!(
                    "cancelled {} (removed from the configuration)",
                    rec.id
                ));
            }
        }
        Ok(changes)
    }

    /// Records what the configuration said of a subscription.
    fn applied(&self, store: &Store, id: &str, wanted: (String, bool)) -> Result<(), SubsError> {
        self.change(store, id, |rec| {
            rec.config = Some(wanted);
            Ok(())
        })
        .map(|_| ())
    }
}

fn refused(s: impl Into<String>) -> SubsError {
    SubsError::Refused(s.into())
}

fn write(store: &Store, rec: &SubscriptionRecord) -> Result<(), StoreError> {
    let mut tx = store.begin();
    tx.put(key::subscription(&rec.id), rec)?;
    tx.commit()?;
    store.flush_blocking()?;
    Ok(())
}

/// A new record after every rule: the client registered and the only one,
/// the enterprise the client's own, content and statuses known, the date
/// within a year of today. `taken` says whether an id is in use.
pub fn new_record(
    clients: &[ClientConfig],
    req: &NewSubscription,
    id: Option<String>,
    origin: &str,
    now_ms: u64,
    taken: impl Fn(&str) -> bool,
) -> Result<SubscriptionRecord, SubsError> {
    let today = today(now_ms);
    let client_id = match &req.client {
        OneOrMany::One(c) => c.trim().to_owned(),
        OneOrMany::Many(l) => {
            return Err(refused(format!(
                "client: a subscription names exactly one client (this names {}: {})",
                l.len(),
                l.join(", ")
            )));
        }
    };
    let Some(client) = clients.iter().find(|c| c.id == client_id) else {
        return Err(refused(format!(
            "client: `{client_id}` is not a registered client ([[client]] in the configuration)"
        )));
    };
    let enterprise = req
        .enterprise
        .as_deref()
        .map(str::trim)
        .unwrap_or(&client.enterprise);
    if enterprise != client.enterprise {
        return Err(refused(format!(
            "enterprise: client `{client_id}` belongs to enterprise {}, not {enterprise}: an enterprise subscribes only its own client",
            client.enterprise
        )));
    }
    let content = subscribe::check_content(&req.content).map_err(refused)?;
    let statuses = if content.iter().any(|c| c == "receipts") {
        subscribe::check_statuses(&req.statuses).map_err(refused)?
    } else if req.statuses.is_empty() {
        Vec::new()
    } else {
        return Err(refused(
            "statuses: statuses filter receipts; add receipts to content",
        ));
    };
    let until = subscribe::check_valid_until(&req.valid_until, today).map_err(refused)?;
    let by = req.by.trim();
    if by.is_empty() {
        return Err(refused("by: name who makes it (录入人)"));
    }
    let id = match id {
        Some(id) => id,
        None => {
            let mut n = now_ms;
            loop {
                let id = format!("sub-{n}");
                if !taken(&id) {
                    break id;
                }
                n = n.saturating_add(1);
            }
        }
    };
    if taken(&id) {
        return Err(refused(format!("id: `{id}` is taken")));
    }
    Ok(SubscriptionRecord {
        v: VERSION,
        id,
        client: client_id,
        enterprise: enterprise.to_owned(),
        content,
        statuses,
        valid_until: until.to_string(),
        made: today.to_string(),
        made_ms: now_ms,
        by: by.to_owned(),
        origin: origin.to_owned(),
        message: None,
        cancelled: false,
        config: None,
        history: vec![SubscriptionEvent {
            at_ms: now_ms,
            action: "made".to_owned(),
            by: by.to_owned(),
            valid_until: until.to_string(),
        }],
    })
}

/// Cancels `rec` if it is valid today.
pub fn cancel_record(rec: &mut SubscriptionRecord, by: &str, now_ms: u64) -> Result<(), SubsError> {
    let today = today(now_ms);
    let until = Date::parse(&rec.valid_until).unwrap_or(today);
    subscribe::check_cancel(state_of(rec, today), until)
        .map_err(|e| refused(format!("`{}` cannot be cancelled: {e}", rec.id)))?;
    rec.cancelled = true;
    rec.history.push(SubscriptionEvent {
        at_ms: now_ms,
        action: "cancelled".to_owned(),
        by: by.trim().to_owned(),
        valid_until: rec.valid_until.clone(),
    });
    Ok(())
}

/// Extends `rec` to `valid_until` if it is valid today.
pub fn extend_record(
    rec: &mut SubscriptionRecord,
    valid_until: &str,
    by: &str,
    now_ms: u64,
) -> Result<(), SubsError> {
    let today = today(now_ms);
    let until = Date::parse(&rec.valid_until).unwrap_or(today);
    let new = subscribe::check_extend(state_of(rec, today), until, valid_until, today)
        .map_err(|e| refused(format!("`{}` cannot be extended: {e}", rec.id)))?;
    rec.valid_until = new.to_string();
    rec.history.push(SubscriptionEvent {
        at_ms: now_ms,
        action: "extended".to_owned(),
        by: by.trim().to_owned(),
        valid_until: rec.valid_until.clone(),
    });
    Ok(())
}
