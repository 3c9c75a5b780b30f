//! What one submit costs with many sets open and many waybills waiting
//! (goal: flat; the 1,000,000 case within 1.5× of the 1,000 case).
//!
//! The engine is loaded with N open sets (an order each) and N waybills
//! waiting for a set that never comes; one iteration submits a new order
//! (or waybill) and deletes it again, so the state is the same before every
//! iteration. Set N with `SCALES=1000,100000,1000000` (the default; under
//! `cargo test` it is 100).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use customs_gateway::engine::{Engine, EngineConfig, InboundId};
use customs_gateway::model::Document;
use customs_gateway::schema::MessageSpec;
use customs_gateway::schema::fields::{logistics_head, order_head};

mod common;

use common::{T0, numbered, registry, set};

fn submit(engine: &mut Engine, spec: &'static MessageSpec, doc: &Document) {
    engine
        .submit(spec, doc, InboundId::new(0, 0), T0)
        .expect("submit");
}

fn scales() -> Vec<u64> {
    // `cargo test --all-targets` runs benches once, without `--bench`: keep it small.
    if !std::env::args().any(|a| a == "--bench") {
        return vec![100];
    }
    std::env::var("SCALES")
        .unwrap_or_else(|_| "1000,100000,1000000".to_owned())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("SCALES: numbers separated by commas")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let sample = set();
    let mut g = c.benchmark_group("engine_scale");
    g.throughput(Throughput::Elements(2));
    g.sample_size(30);
    for n in scales() {
        let mut engine = Engine::new(EngineConfig::default(), Some(registry())).expect("engine");
        for i in 0..n {
            let docs = numbered(&sample, i);
            submit(&mut engine, docs[0].0, &docs[0].1);
            // A waybill with an orderNo no set has: it waits.
            let mut w = numbered(&sample, n + i).swap_remove(2);
            w.1.head
                .set(logistics_head::ORDER_NO, format!("NOSET{i:014}"));
            submit(&mut engine, w.0, &w.1);
        }
        assert_eq!(engine.stats().sets as u64, n);
        assert_eq!(engine.stats().pending_waybills as u64, n);

        let extra = numbered(&sample, 3 * n + 7);
        let (order_spec, order) = (extra[0].0, extra[0].1.clone());
        let mut order_del = order.clone();
        order_del.head.set(order_head::APP_TYPE, "3");
        g.bench_function(
            format!("order submit + delete, {n} open sets and {n} waiting waybills"),
            |b| {
                b.iter(|| {
                    submit(&mut engine, order_spec, black_box(&order));
                    submit(&mut engine, order_spec, black_box(&order_del));
                })
            },
        );

        let (w_spec, waybill) = (extra[2].0, extra[2].1.clone());
        let mut waybill_del = waybill.clone();
        waybill_del.head.set(logistics_head::APP_TYPE, "3");
        g.bench_function(
            format!("waybill submit + delete, {n} open sets and {n} waiting waybills"),
            |b| {
                b.iter(|| {
                    submit(&mut engine, w_spec, black_box(&waybill));
                    submit(&mut engine, w_spec, black_box(&waybill_del));
                })
            },
        );
        assert_eq!(engine.stats().sets as u64, n);
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
