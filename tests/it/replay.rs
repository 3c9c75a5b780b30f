//! The engine as the daemon will run it: state rebuilt by replaying stored
//! documents, the quota ledger kept across restarts, resends, eviction, a
//! failing ledger, many waybills waiting.

use std::cell::Cell;
use std::rc::Rc;

use customs_gateway::engine::{
    Engine, EngineConfig, EngineError, InboundId, LedgerError, MemoryLedger, QuotaEntry,
    QuotaLedger, SetKey, SetReport, Status,
};
use customs_gateway::model::Document;
use customs_gateway::schema::fields::{logistics_head as lh, order_head as oh, payment_head as ph};
use customs_gateway::schema::{MSG_CEB311, MSG_CEB411, MSG_CEB511, MSG_CEB621, MessageSpec};
use rust_decimal::Decimal;

use crate::engine::{Reg, Set, T0, d, describe_all, registry, src, with_app_type};

const BUYER: &str = "330106199208150325";

fn fresh(ledger: MemoryLedger) -> Engine {
    Engine::with_ledger(EngineConfig::default(), registry(Reg::Full), ledger).unwrap()
}

/// One stored inbound document: what the daemon replays.
#[derive(Clone)]
struct Stored {
    spec: &'static MessageSpec,
    doc: Document,
    id: InboundId,
    at: u64,
}

fn stored(set: &Set, first_id: u64, at: u64) -> Vec<Stored> {
    set.members()
        .into_iter()
        .enumerate()
        .map(|(n, (spec, doc, _))| Stored {
            spec,
            doc: doc.clone(),
            id: InboundId::new(first_id + n as u64, 0),
            at: at + n as u64,
        })
        .collect()
}

/// Submits every stored document in order; refusals are part of the history.
fn replay(engine: &mut Engine, log: &[Stored]) -> Vec<Result<Vec<SetReport>, EngineError>> {
    log.iter()
        .map(|s| engine.submit(s.spec, &s.doc, s.id, s.at).map(|d| d.reports))
        .collect()
}

fn statuses(engine: &Engine) -> Vec<(SetKey, Status)> {
    engine
        .reports()
        .into_iter()
        .map(|r| (r.key.clone(), r.status()))
        .collect()
}

#[test]
fn a_replay_with_the_kept_ledger_gives_the_same_verdicts() {
    // Five orders of 5000.00 each: 25000.00 of 26000.00 used, all accepted.
    let mut log = Vec::new();
    for n in 1..=5u32 {
        let set = Set::sample().numbered(n).with_paid(d("5000.00"));
        log.extend(stored(&set, u64::from(n) * 10, T0 + u64::from(n) * 1000));
    }
    let mut first = fresh(MemoryLedger::new());
    for r in replay(&mut first, &log) {
        r.unwrap();
    }
    let before = statuses(&first);
    assert!(before.iter().all(|(_, s)| *s == Status::Pass), "{before:?}");
    let ledger = first.into_ledger();
    assert_eq!(ledger.used(BUYER, 2026), d("25000.00"));

    // The process restarts: the durable ledger survives, the engine does not.
    let mut second = fresh(ledger.clone());
    for r in replay(&mut second, &log) {
        r.unwrap();
    }
    assert_eq!(
        statuses(&second),
        before,
        "{}",
        describe_all(&second.reports())
    );
    assert_eq!(second.ledger(), &ledger, "the replay changed the ledger");
}

#[test]
fn a_change_moves_the_amount_instead_of_adding_it() {
    let mut engine = fresh(MemoryLedger::new());
    let set = Set::sample().with_paid(d("1000.00"));
    assert_eq!(set.submit(&mut engine).status(), Status::Pass);
    assert_eq!(engine.ledger().used(BUYER, 2026), d("1000.00"));

    // The order and its payment change to 2000.00 (appType 2). Between the
    // two the set fails (the amounts disagree) and holds nothing.
    let changed = Set::sample().with_paid(d("2000.00"));
    let order = with_app_type(&changed.order, oh::APP_TYPE, "2");
    let payment = with_app_type(&changed.payment, ph::APP_TYPE, "2");
    let done = engine
        .submit(&MSG_CEB311, &order, src("o2.xml"), T0 + 1)
        .unwrap();
    assert_eq!(done.reports[0].status(), Status::Fail);
    assert_eq!(engine.ledger().used(BUYER, 2026), Decimal::ZERO);
    let done = engine
        .submit(&MSG_CEB411, &payment, src("p2.xml"), T0 + 2)
        .unwrap();
    assert_eq!(done.reports[0].status(), Status::Pass);
    assert_eq!(engine.ledger().used(BUYER, 2026), d("2000.00"));
    assert_eq!(engine.ledger().len(), 1);

    // A resend declared in the new year is the same declaration: the year
    // stays the first declaration's.
    let mut resend = order.clone();
    resend.head.set(oh::APP_TIME, "20270105093000");
    let done = engine
        .submit(&MSG_CEB311, &resend, src("o2-again.xml"), T0 + 3)
        .unwrap();
    assert_eq!(done.duplicate_of, Some(src("o2.xml")));
    assert_eq!(engine.ledger().used(BUYER, 2026), d("2000.00"));
    // A change in the new year moves the amount to that year.
    let mut next = resend.clone();
    next.head.set(oh::NOTE, "changed after new year");
    engine
        .submit(&MSG_CEB311, &next, src("o3.xml"), T0 + 3)
        .unwrap();
    assert_eq!(engine.ledger().used(BUYER, 2026), Decimal::ZERO);
    assert_eq!(engine.ledger().used(BUYER, 2027), d("2000.00"));
    assert_eq!(
        engine.ledger().entry(&set.key()).unwrap(),
        Some(QuotaEntry {
            buyer: BUYER.to_owned(),
            year: 2027,
            amount: d("2000.00")
        })
    );
}

#[test]
fn a_resend_with_a_new_guid_and_app_time_is_a_duplicate() {
    let mut engine = fresh(MemoryLedger::new());
    let set = Set::sample();
    assert_eq!(set.submit(&mut engine).status(), Status::Pass);
    let used = engine.ledger().used(BUYER, 2026);
    for (spec, doc, name) in set.members() {
        let head = customs_gateway::engine::DocKind::of(spec).unwrap().head();
        let mut resend = doc.clone();
        resend
            .head
            .set(head.guid, "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE");
        resend.head.set(head.app_time, "20261122080000");
        for app_type in ["1", "2"] {
            resend.head.set(head.app_type, app_type);
            let done = engine
                .submit(spec, &resend, src("resend.xml"), T0 + 9)
                .unwrap_or_else(|e| panic!("{name} resent as appType {app_type}: {e}"));
            assert_eq!(done.duplicate_of, Some(src(name)), "{name}");
            assert_eq!(done.reports.len(), 1);
            assert_eq!(done.reports[0].status(), Status::Pass);
        }
    }
    assert_eq!(engine.ledger().used(BUYER, 2026), used);
    // Different business content under appType 1 is a conflicting declaration.
    let mut other = set.order.clone();
    other
        .head
        .set(oh::CONSIGNEE_ADDRESS, "浙江省杭州市西湖区另一条路1号");
    let err = engine
        .submit(&MSG_CEB311, &other, src("other.xml"), T0 + 10)
        .unwrap_err();
    assert!(matches!(err, EngineError::AlreadyDeclared { .. }), "{err}");
}

/// A history with everything in it: waybills before their sets, two
/// platforms sharing an orderNo, a failure repaired by a change, a
/// deletion, a resend, a refusal.
fn eventful_history() -> Vec<Stored> {
    let mut log = Vec::new();
    let mut id = 1000u64;
    let mut at = T0;
    let mut push = |spec: &'static MessageSpec, doc: Document| {
        id += 1;
        at += 100;
        log.push(Stored {
            spec,
            doc,
            id: InboundId::new(id, 0),
            at,
        });
    };
    for n in 1..=5u32 {
        let set = Set::sample().numbered(n).with_paid(d("5000.00"));
        // Waybill first: it waits.
        push(&MSG_CEB511, set.waybill.clone());
        push(&MSG_CEB311, set.order.clone());
        let mut payment = set.payment.clone();
        if n == 2 {
            payment.head.set(ph::PAYER_NAME, "别人");
        }
        push(&MSG_CEB411, payment);
        push(&MSG_CEB621, set.inventory.clone());
    }
    // Order 2 repaired by a change of its payment: 25000.00 used.
    let two = Set::sample().numbered(2).with_paid(d("5000.00"));
    push(&MSG_CEB411, with_app_type(&two.payment, ph::APP_TYPE, "2"));
    // Order 6 would exceed the annual limit (25000 + 5000 > 26000).
    let six = Set::sample().numbered(6).with_paid(d("5000.00"));
    for (spec, doc, _) in six.members() {
        push(spec, doc.clone());
    }
    // Order 1 deleted: its quota is given back; order 6 resent: it now fits.
    let one = Set::sample().numbered(1).with_paid(d("5000.00"));
    push(&MSG_CEB311, with_app_type(&one.order, oh::APP_TYPE, "3"));
    push(&MSG_CEB411, six.payment.clone());
    // A change of a document never declared fills its place; a deletion of
    // one never declared is refused.
    let seven = Set::sample().numbered(7).with_paid(d("100.00"));
    push(&MSG_CEB311, with_app_type(&seven.order, oh::APP_TYPE, "2"));
    push(
        &MSG_CEB511,
        with_app_type(&seven.waybill, lh::APP_TYPE, "3"),
    );
    log
}

#[test]
fn replaying_the_stored_documents_rebuilds_the_same_state() {
    let log = eventful_history();
    let mut a = fresh(MemoryLedger::new());
    let results_a = replay(&mut a, &log);
    let mut b = fresh(MemoryLedger::new());
    let results_b = replay(&mut b, &log);
    assert_eq!(results_a, results_b);
    assert_eq!(a.reports(), b.reports());
    assert_eq!(a.pending_waybills(), b.pending_waybills());
    assert_eq!(a.ledger(), b.ledger());
    // The history is what it says it is.
    let key = |n: u32| Set::sample().numbered(n).key();
    assert_eq!(a.outcome(&key(2)).unwrap().status(), Status::Pass);
    assert_eq!(a.outcome(&key(6)).unwrap().status(), Status::Pass);
    assert_eq!(a.outcome(&key(1)).unwrap().status(), Status::Incomplete);
    assert_eq!(a.outcome(&key(7)).unwrap().status(), Status::Incomplete);
    assert_eq!(a.ledger().used(BUYER, 2026), d("25000.00"));
    assert_eq!(a.ledger().len(), 5);
    assert!(results_a.last().unwrap().is_err());

    // After a restart with the durable ledger kept, the same final state.
    let mut c = fresh(a.ledger().clone());
    replay(&mut c, &log);
    assert_eq!(c.reports(), a.reports(), "{}", describe_all(&c.reports()));
    assert_eq!(c.ledger(), a.ledger());
}

#[test]
fn a_decided_set_is_closed_and_evicted() {
    let mut engine = fresh(MemoryLedger::new());
    let set = Set::sample();
    assert_eq!(set.submit(&mut engine).status(), Status::Pass);
    assert_eq!(engine.stats().sets, 1);
    assert_eq!(engine.stats().members, 4);
    let last = engine.close(&set.key()).unwrap();
    assert_eq!(last.status(), Status::Pass);
    assert_eq!(engine.stats().sets, 0);
    assert_eq!(engine.stats().kept_bytes, 0);
    assert_eq!(engine.keys().count(), 0);
    // The order keeps its quota.
    assert_eq!(engine.ledger().len(), 1);
    // An incomplete set cannot be closed.
    let two = Set::sample().numbered(2);
    engine
        .submit(&MSG_CEB311, &two.order, src("o.xml"), T0)
        .unwrap();
    assert!(matches!(
        engine.close(&two.key()),
        Err(EngineError::NotDecided { .. })
    ));
    // The closed set's waybill is forgotten: the same waybill can be placed again.
    let done = engine
        .submit(&MSG_CEB511, &set.waybill, src("w.xml"), T0 + 1)
        .unwrap();
    assert_eq!(done.set, None, "no set with its orderNo is open");
    assert_eq!(engine.pending_waybills().len(), 1);
}

/// A ledger that fails when told to, as a store can.
#[derive(Debug, Default)]
struct Flaky {
    inner: MemoryLedger,
    broken: Rc<Cell<bool>>,
}

impl QuotaLedger for Flaky {
    type Error = LedgerError;
    fn used_by_others(
        &self,
        buyer: &str,
        year: u16,
        order: &SetKey,
    ) -> Result<Decimal, LedgerError> {
        self.inner.used_by_others(buyer, year, order)
    }
    fn settle(&mut self, order: &SetKey, entry: Option<QuotaEntry>) -> Result<(), LedgerError> {
        if self.broken.get() {
            return Err(LedgerError::Overflow {
                buyer: "disk".to_owned(),
                year: 0,
            });
        }
        self.inner.settle(order, entry)
    }
    fn entry(&self, order: &SetKey) -> Result<Option<QuotaEntry>, LedgerError> {
        self.inner.entry(order)
    }
}

#[test]
fn a_failing_ledger_keeps_the_previous_verdict_until_evaluated_again() {
    let broken = Rc::new(Cell::new(false));
    let ledger = Flaky {
        inner: MemoryLedger::new(),
        broken: broken.clone(),
    };
    let mut engine =
        Engine::with_ledger(EngineConfig::default(), registry(Reg::Full), ledger).unwrap();
    let set = Set::sample();
    let members = set.members();
    for (spec, doc, name) in &members[..3] {
        engine.submit(spec, doc, src(name), T0).unwrap();
    }
    broken.set(true);
    let (spec, doc, name) = members[3];
    let err = engine.submit(spec, doc, src(name), T0).unwrap_err();
    assert!(matches!(err, EngineError::Ledger { .. }), "{err}");
    assert_eq!(
        engine.outcome(&set.key()).unwrap().status(),
        Status::Incomplete,
        "the set kept its verdict"
    );
    assert!(engine.ledger().inner.is_empty());
    broken.set(false);
    assert_eq!(engine.evaluate(&set.key(), T0 + 1), Ok(Some(Status::Pass)));
    assert_eq!(engine.ledger().inner.len(), 1);
}

#[test]
fn many_waiting_waybills_are_each_found_by_their_order() {
    let mut engine = fresh(MemoryLedger::new());
    let n = 2000u32;
    for i in 1..=n {
        let set = Set::sample().numbered(i);
        engine
            .submit(&MSG_CEB511, &set.waybill, src("w.xml"), T0)
            .unwrap();
    }
    assert_eq!(engine.pending_waybills().len(), n as usize);
    let set = Set::sample().numbered(777);
    let report = set.submit(&mut engine);
    assert_eq!(
        report.status(),
        Status::Pass,
        "{}",
        describe_all(std::slice::from_ref(&report))
    );
    assert_eq!(engine.pending_waybills().len(), n as usize - 1);
    assert_eq!(engine.stats().sets, 1);
}
