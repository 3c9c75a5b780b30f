//! Parse + validate throughput per request type, against quick-xml merely
//! reading the same bytes (the floor any reader pays).

mod common;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use customs_gateway::codec;
use customs_gateway::validate::{Mode, validate};

fn sample(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The documents measured: the four declarations of a passing order set
/// and a CEB622 receipt.
const CASES: [(&str, &str); 5] = [
    ("CEB311", "set-ok/CEB311-order.xml"),
    ("CEB411", "set-ok/CEB411-payment.xml"),
    ("CEB511", "set-ok/CEB511-waybill.xml"),
    ("CEB621", "set-ok/CEB621-inventory.xml"),
    ("CEB622", "receipts/CEB622-inventory-released.xml"),
];

/// Reads every event of a document and builds nothing.
fn quick_xml_events(bytes: &[u8]) -> usize {
    common::quick_xml_events(std::str::from_utf8(bytes).unwrap_or(""))
}

/// For each document, in one run: quick-xml reading its events (the floor
/// any reader on quick-xml pays) and the reader + validation.
fn bench(c: &mut Criterion) {
    for (ty, file) in CASES {
        let bytes = sample(file);
        let mut group = c.benchmark_group(ty);
        group.throughput(Throughput::Elements(1));
        group.bench_function("quick_xml_read_only", |b| {
            b.iter(|| black_box(quick_xml_events(black_box(&bytes))))
        });
        group.bench_function("parse_validate", |b| {
            b.iter(|| {
                let diagnostics = codec::decode(black_box(&bytes))
                    .map(|d| validate(&d.message, Mode::Read).len());
                black_box(diagnostics)
            })
        });
        if ty == "CEB621" {
            group.bench_function("decode_only", |b| {
                b.iter(|| black_box(codec::decode(black_box(&bytes)).map(|d| d.message)))
            });
        }
        group.finish();
    }
}

/// `COUNT=<file>:<n>` decodes and validates a `samples/set-ok` file n times
/// and exits, for counting instructions under callgrind
/// (`scripts/instructions.sh`); `COUNT=quick-xml:<n>` reads the CEB621
/// sample's events n times.
fn counted(spec: &str) {
    let (what, n) = spec.rsplit_once(':').expect("COUNT=<file>:<n>");
    let n: u64 = n.parse().expect("COUNT: a number of iterations");
    if what == "quick-xml" {
        let bytes = sample("set-ok/CEB621-inventory.xml");
        for _ in 0..n {
            black_box(quick_xml_events(black_box(&bytes)));
        }
        return;
    }
    let bytes = sample(&format!("set-ok/{what}"));
    for _ in 0..n {
        let found =
            codec::decode(black_box(&bytes)).map(|d| validate(&d.message, Mode::Read).len());
        black_box(found.is_ok());
    }
}

/// `RATIO=<rounds>`: for each document, `rounds` rounds of 2,000
/// iterations each of quick-xml's raw read, the reader + validation and the
/// reader alone, interleaved so all see the same machine; prints the median
/// time of each and the ratio to quick-xml.
fn ratios(rounds: usize) {
    const N: u32 = 2000;
    let per_iteration = |f: &dyn Fn()| {
        let t = Instant::now();
        for _ in 0..N {
            f();
        }
        t.elapsed() / N
    };
    println!("| document | bytes | quick-xml raw read | reader + validate | ratio to quick-xml |");
    println!("|---|---:|---:|---:|---:|");
    for (ty, file) in CASES {
        let bytes = sample(file);
        let raw = || {
            black_box(quick_xml_events(black_box(&bytes)));
        };
        let new = || {
            let found =
                codec::decode(black_box(&bytes)).map(|d| validate(&d.message, Mode::Read).len());
            black_box(found.is_ok());
        };
        let read_only = || {
            black_box(codec::decode(black_box(&bytes)).is_ok());
        };
        let (mut a, mut b, mut d) = (Vec::new(), Vec::new(), Vec::new());
        // A warm-up round, not counted: caches, branch predictors and the
        // clock settle before the first measured round.
        for f in [&raw as &dyn Fn(), &new, &read_only] {
            per_iteration(f);
        }
        for _ in 0..rounds {
            a.push(per_iteration(&raw));
            b.push(per_iteration(&new));
            d.push(per_iteration(&read_only));
        }
        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2].as_secs_f64() * 1e6
        };
        let (a, b, d) = (median(&mut a), median(&mut b), median(&mut d));
        println!(
            "| {ty} | {} | {a:.1} µs | {b:.1} µs ({d:.1} µs of it reading) | **{:.2}** |",
            bytes.len(),
            a / b
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(spec) = std::env::var("COUNT") {
        counted(&spec);
        return;
    }
    if let Ok(rounds) = std::env::var("RATIO") {
        ratios(rounds.parse().expect("RATIO=<rounds>"));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
