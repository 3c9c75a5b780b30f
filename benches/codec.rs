//! Parse + validate throughput per request type, against quick-xml merely
//! reading the same bytes (the floor any reader pays).

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group};
use customs_gateway::codec;
use customs_gateway::validate::{Mode, validate};
use quick_xml::events::Event;
use quick_xml::reader::Reader;

fn sample(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples/set-ok")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads every event of a document and builds nothing.
fn quick_xml_events(bytes: &[u8]) -> usize {
    let text = std::str::from_utf8(bytes).unwrap_or("");
    let mut reader = Reader::from_str(text);
    let mut n = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) | Err(_) => return n,
            Ok(e) => {
                black_box(&e);
                n += 1;
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let cases = [
        ("CEB311", "CEB311-order.xml"),
        ("CEB411", "CEB411-payment.xml"),
        ("CEB511", "CEB511-waybill.xml"),
        ("CEB621", "CEB621-inventory.xml"),
    ];
    let mut group = c.benchmark_group("parse_validate");
    for (ty, file) in cases {
        let bytes = sample(file);
        group.throughput(Throughput::Elements(1));
        group.bench_function(ty, |b| {
            b.iter(|| {
                let diagnostics = codec::decode(black_box(&bytes))
                    .map(|d| validate(&d.message, Mode::Read).len());
                black_box(diagnostics)
            })
        });
    }
    group.finish();

    let bytes = sample("CEB621-inventory.xml");
    let mut group = c.benchmark_group("baseline_CEB621");
    group.throughput(Throughput::Elements(1));
    group.bench_function("quick_xml_read_only", |b| {
        b.iter(|| black_box(quick_xml_events(black_box(&bytes))))
    });
    group.bench_function("decode_only", |b| {
        b.iter(|| black_box(codec::decode(black_box(&bytes)).map(|d| d.message)))
    });
    group.finish();
}

/// `COUNT=<file>:<n>` decodes and validates a `samples/set-ok` file n times
/// and exits, for counting instructions under callgrind
/// (`scripts/instructions.sh`); `COUNT=quick-xml:<n>` reads the CEB621
/// sample's events n times.
fn counted(spec: &str) {
    let (what, n) = spec.split_once(':').expect("COUNT=<file>:<n>");
    let n: u64 = n.parse().expect("COUNT: a number of iterations");
    if what == "quick-xml" {
        let bytes = sample("CEB621-inventory.xml");
        for _ in 0..n {
            black_box(quick_xml_events(black_box(&bytes)));
        }
        return;
    }
    let bytes = sample(what);
    for _ in 0..n {
        let found =
            codec::decode(black_box(&bytes)).map(|d| validate(&d.message, Mode::Read).len());
        black_box(found.is_ok());
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
