//! Cross-document check throughput: evaluating one complete set (goal:
//! 100,000 sets/s on one core), failing and passing, and the whole arrival of
//! four documents into a fresh engine.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group};
use customs_gateway::engine::{Engine, EngineConfig, Registry, SetKey};
use customs_gateway::model::Document;
use customs_gateway::schema::MessageSpec;
use customs_gateway::schema::fields::payment_head;
use rust_decimal::Decimal;

mod common;

use common::{T0, registry, set};

fn loaded(docs: &[(&'static MessageSpec, Document)], registry: &Registry) -> Engine {
    let mut engine = Engine::new(EngineConfig::default(), Some(registry.clone())).expect("engine");
    for (spec, doc) in docs {
        engine
            .submit(spec, doc, customs_gateway::engine::InboundId::new(0, 0), T0)
            .expect("submit");
    }
    engine
}

/// The benches' inputs: the set's key, the registry, the consistent set and
/// the same set with the payment 2.00 short (one violation).
type Scenario = (
    SetKey,
    Registry,
    Vec<(&'static MessageSpec, Document)>,
    Vec<(&'static MessageSpec, Document)>,
);

fn scenario() -> Scenario {
    let key = SetKey::new("GW20261121000001", "3301960A01");
    let good = set();
    let mut bad = set();
    let paid = bad[1]
        .1
        .head
        .dec(payment_head::AMOUNT_PAID)
        .unwrap_or_default();
    bad[1]
        .1
        .head
        .set_dec(payment_head::AMOUNT_PAID, paid - Decimal::TWO);
    (key, registry(), good, bad)
}

fn bench(c: &mut Criterion) {
    let (key, reg, good, bad) = scenario();

    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(1));

    let mut engine = loaded(&good, &reg);
    assert!(matches!(
        engine.evaluate(&key, T0),
        Ok(Some(customs_gateway::engine::Status::Pass))
    ));
    g.bench_function("evaluate complete set (pass)", |b| {
        b.iter(|| black_box(engine.evaluate(black_box(&key), T0).is_ok()))
    });

    let mut engine = loaded(&bad, &reg);
    assert!(matches!(
        engine.evaluate(&key, T0),
        Ok(Some(customs_gateway::engine::Status::Fail))
    ));
    g.bench_function("evaluate complete set (fail, 1 violation)", |b| {
        b.iter(|| black_box(engine.evaluate(black_box(&key), T0).is_ok()))
    });

    g.bench_function("submit 4 documents to a fresh engine", |b| {
        b.iter(|| black_box(loaded(black_box(&good), &reg).keys().count()))
    });
    g.finish();
}

/// `COUNT=<scenario>:<n>` runs a scenario n times and exits, for counting
/// instructions under callgrind (`scripts/instructions.sh`), which repeats
/// exactly whatever else the machine is doing. Scenarios: `pass`, `fail`,
/// `submit`.
fn counted(spec: &str) {
    let (what, n) = spec.split_once(':').expect("COUNT=<scenario>:<n>");
    let n: u64 = n.parse().expect("COUNT: a number of iterations");
    let (key, reg, good, bad) = scenario();
    match what {
        "pass" | "fail" => {
            let mut engine = loaded(if what == "pass" { &good } else { &bad }, &reg);
            for _ in 0..n {
                black_box(engine.evaluate(black_box(&key), T0).is_ok());
            }
        }
        "submit" => {
            for _ in 0..n {
                black_box(loaded(black_box(&good), &reg).keys().count());
            }
        }
        other => panic!("COUNT: no scenario {other}"),
    }
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(spec) = std::env::var("COUNT") {
        counted(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
