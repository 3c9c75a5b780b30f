//! Signature verification of a signed CEB621 (3 lines), RSA-2048 and SM2,
//! beside the reader + validation of the same document and quick-xml's raw
//! read of it, measured in the same run.
//!
//! `cargo bench --bench sig` (criterion), or `TABLE=<rounds> cargo bench
//! --bench sig` for the table BENCHMARKS.md records: each operation's median
//! time over `rounds` rounds of 500 iterations, interleaved, on one thread.

mod common;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::quick_xml_events;
use criterion::{Criterion, Throughput, criterion_group};
use customs_gateway::codec;
use customs_gateway::keygen::{Request, generate};
use customs_gateway::sig::{self, Algorithm, Certificate, Outcome, Signer};
use customs_gateway::validate::{Mode, validate};

/// The set-ok CEB621 (3 lines) without its placeholder signature.
fn unsigned_inventory() -> String {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/set-ok/CEB621-inventory.xml");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("<ds:Signature").unwrap();
    let end = text.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    format!("{}{}", &text[..start], &text[end..])
}

/// The inventory signed with a fresh key of each algorithm.
fn signed() -> Vec<(&'static str, String)> {
    let doc = unsigned_inventory();
    [(Algorithm::RsaSha1, "RSA-2048"), (Algorithm::Sm2Sm3, "SM2")]
        .into_iter()
        .map(|(algorithm, name)| {
            let id = generate(&Request {
                algorithm,
                rsa_bits: 2048,
                serial: &[0x01, 0x69, 0x1f, 0xe9],
                subject: "CN=bench,C=CN",
                not_before: 1_700_000_000,
                not_after: 1_900_000_000,
            })
            .unwrap();
            let cert = Certificate::from_der(&id.cert_der).unwrap();
            let signer = Signer::new(algorithm, id.key_pem.as_bytes(), cert).unwrap();
            let text = signer.sign(&doc).unwrap();
            let v = sig::verify(&text, &|_| None);
            assert_eq!(v.outcome, Outcome::Verified { lenient: vec![] });
            (name, text)
        })
        .collect()
}

fn parse_validate(bytes: &[u8]) -> usize {
    codec::decode(bytes).map_or(0, |d| validate(&d.message, Mode::Read).len())
}

fn verify(text: &str) -> bool {
    matches!(
        sig::verify(text, &|_| None).outcome,
        Outcome::Verified { .. }
    )
}

fn bench(c: &mut Criterion) {
    for (name, text) in signed() {
        let mut group = c.benchmark_group(format!("CEB621-{name}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("quick_xml_read_only", |b| {
            b.iter(|| black_box(quick_xml_events(black_box(&text))))
        });
        group.bench_function("parse_validate", |b| {
            b.iter(|| black_box(parse_validate(black_box(text.as_bytes()))))
        });
        group.bench_function("verify", |b| b.iter(|| black_box(verify(black_box(&text)))));
        group.finish();
    }
}

fn table(rounds: usize) {
    const N: u32 = 500;
    let per_iteration = |f: &dyn Fn()| {
        let t = Instant::now();
        for _ in 0..N {
            f();
        }
        t.elapsed() / N
    };
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64()
    };
    println!(
        "| document | bytes | quick-xml raw read | parse + validate | verify | verifications/s (one core) | parse + validate/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, text) in signed() {
        let raw = || {
            black_box(quick_xml_events(black_box(&text)));
        };
        let pv = || {
            black_box(parse_validate(black_box(text.as_bytes())));
        };
        let ver = || {
            black_box(verify(black_box(&text)));
        };
        let c14n = || {
            black_box(sig::canonicalize(sig::body(black_box(&text)), false).map_or(0, |c| c.len()));
        };
        for f in [&raw as &dyn Fn(), &pv, &ver, &c14n] {
            per_iteration(f);
        }
        let (mut a, mut b, mut v, mut c) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            a.push(per_iteration(&raw));
            b.push(per_iteration(&pv));
            v.push(per_iteration(&ver));
            c.push(per_iteration(&c14n));
        }
        let (a, b, v, c) = (
            median(&mut a),
            median(&mut b),
            median(&mut v),
            median(&mut c),
        );
        println!(
            "| CEB621, 3 lines, {name} | {} | {:.1} µs | {:.1} µs | {:.1} µs ({:.1} µs a canonicalisation of the document) | **{:.0}** | {:.0} |",
            text.len(),
            a * 1e6,
            b * 1e6,
            v * 1e6,
            c * 1e6,
            1.0 / v,
            1.0 / b
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(rounds) = std::env::var("TABLE") {
        table(rounds.parse().expect("TABLE=<rounds>"));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
