//! Memory per open set (goal: 1 KB for an order alone, 2.5 KB for order,
//! payment and inventory), measured two ways in one run:
//!
//! - a counting allocator: the live heap bytes the engine holds after N
//!   submits, divided by N (documents are made and dropped one at a time,
//!   so only what the engine keeps is counted);
//! - the process's resident set size (`/proc/self/statm`) before and after.
//!
//! `cargo bench --bench engine_memory` (N = 1,000,000; set `N=…` for another;
//! under `cargo test` N is 1,000).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use customs_gateway::engine::{Engine, EngineConfig, InboundId};

mod common;

use common::{T0, numbered, registry, set};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn rss_bytes() -> isize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: isize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this
    // once without it, as a smoke test with few sets.
    let benching = std::env::args().any(|a| a == "--bench");
    let n: u64 = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 1_000_000 } else { 1000 });
    let sample = set();
    let mut engine = Engine::new(EngineConfig::default(), Some(registry())).expect("engine");
    let (heap0, rss0) = (live(), rss_bytes());
    for i in 0..n {
        let docs = numbered(&sample, i);
        let (spec, doc) = &docs[0];
        engine
            .submit(spec, doc, InboundId::new(i, 0), T0)
            .expect("order");
    }
    let (heap1, rss1) = (live(), rss_bytes());
    let kept1 = engine.stats().kept_bytes;
    for i in 0..n {
        let docs = numbered(&sample, i);
        for k in [1, 3] {
            let (spec, doc) = &docs[k];
            engine
                .submit(spec, doc, InboundId::new(i, k as u32), T0)
                .expect("member");
        }
    }
    let (heap2, rss2) = (live(), rss_bytes());
    let kept2 = engine.stats().kept_bytes;
    assert_eq!(engine.stats().sets as u64, n);
    let per = |bytes: isize| bytes as f64 / n as f64;
    println!("engine_memory: {n} open sets");
    println!(
        "| what | heap per set (counting allocator) | RSS per set | kept text + offsets per set |"
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| order alone | {:.0} B | {:.0} B | {:.0} B |",
        per(heap1 - heap0),
        per(rss1 - rss0),
        kept1 as f64 / n as f64
    );
    println!(
        "| order, payment and inventory | {:.0} B | {:.0} B | {:.0} B |",
        per(heap2 - heap0),
        per(rss2 - rss0),
        kept2 as f64 / n as f64
    );
}
