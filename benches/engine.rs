//! Cross-document check throughput: evaluating one complete set (goal:
//! 100,000 sets/s on one core), failing and passing, and the whole arrival of
//! four documents into a fresh engine.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use customs_gateway::codec;
use customs_gateway::engine::{Engine, EngineConfig, Enterprise, Registry, Role, SetKey};
use customs_gateway::model::Document;
use customs_gateway::schema::fields::payment_head;
use customs_gateway::schema::{MSG_CEB311, MSG_CEB411, MSG_CEB511, MSG_CEB621, MessageSpec};
use rust_decimal::Decimal;

const T0: u64 = 1_795_227_600_000;

fn document(name: &str) -> Document {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples/set-ok")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut msg = codec::decode(&bytes).expect("sample decodes").message;
    msg.documents.remove(0)
}

fn set() -> Vec<(&'static MessageSpec, Document)> {
    vec![
        (&MSG_CEB311, document("CEB311-order.xml")),
        (&MSG_CEB411, document("CEB411-payment.xml")),
        (&MSG_CEB511, document("CEB511-waybill.xml")),
        (&MSG_CEB621, document("CEB621-inventory.xml")),
    ]
}

fn registry() -> Registry {
    let e = |code: &str, name: &str, role| Enterprise {
        code: code.to_owned(),
        name: name.to_owned(),
        roles: vec![role],
    };
    Registry::new(vec![
        e("3301960A01", "杭州示例跨境平台有限公司", Role::Platform),
        e("3301960B02", "杭州示例电商有限公司", Role::Ecommerce),
        e("3301960C03", "示例支付有限公司", Role::Payment),
        e("3301980D04", "示例国际物流有限公司", Role::Logistics),
        e("3301980E05", "杭州示例报关服务有限公司", Role::Agent),
    ])
    .expect("registry")
}

fn loaded(docs: &[(&'static MessageSpec, Document)], registry: &Registry) -> Engine {
    let mut engine = Engine::new(EngineConfig::default(), Some(registry.clone())).expect("engine");
    for (spec, doc) in docs {
        engine
            .submit(spec, doc, customs_gateway::engine::InboundId::new(0, 0), T0)
            .expect("submit");
    }
    engine
}

fn bench(c: &mut Criterion) {
    let key = SetKey::new("GW20261121000001", "3301960A01");
    let reg = registry();
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

criterion_group!(benches, bench);
criterion_main!(benches);
