//! Heap allocations are counted, not timed: a clean document costs the
//! reader a handful (one buffer of text and one slot array a record, the
//! message's vectors), and validating it costs none.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use customs_gateway::codec;
use customs_gateway::validate::{Mode, validate};

use crate::util;

/// The system allocator, counting the allocations (and reallocations) of
/// each thread, so tests running in parallel do not see each other's.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: a thread being torn down has no counter left.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get().wrapping_add(1)));
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counter is a const-initialised thread-local that never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made on this thread by `f`.
fn allocations<T>(f: impl FnOnce() -> T) -> (u64, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (ALLOCATIONS.with(Cell::get).wrapping_sub(before), out)
}

/// (sample, most allocations a decode may make)
const CASES: &[(&str, u64)] = &[
    ("set-ok/CEB311-order.xml", 19),
    ("set-ok/CEB411-payment.xml", 19),
    ("set-ok/CEB511-waybill.xml", 19),
    ("set-ok/CEB621-inventory.xml", 19),
    ("receipts/CEB622-inventory-released.xml", 19),
];

/// Reads every event and builds nothing: what quick-xml allocates itself.
fn quick_xml_events(bytes: &[u8]) -> usize {
    let mut reader = quick_xml::reader::Reader::from_reader(bytes);
    let mut n = 0;
    while !matches!(
        reader.read_event(),
        Ok(quick_xml::events::Event::Eof) | Err(_)
    ) {
        n += 1;
    }
    n
}

#[test]
fn a_clean_document_is_read_with_few_allocations_and_validated_with_none() {
    for &(file, most) in CASES {
        let bytes = std::fs::read(util::root().join("samples").join(file)).unwrap();
        // Once first, so nothing lazily initialised is counted.
        let _ = codec::decode(&bytes).unwrap();
        let (read, decoded) = allocations(|| codec::decode(&bytes).unwrap());
        assert!(
            decoded.diagnostics.is_empty(),
            "{file}: {:?}",
            decoded.diagnostics
        );
        let (checked, findings) = allocations(|| validate(&decoded.message, Mode::Read));
        assert!(findings.is_empty(), "{file}: {findings:?}");
        let (tokenizer, _) = allocations(|| quick_xml_events(&bytes));
        eprintln!(
            "{file}: {read} allocations to read ({tokenizer} of them quick-xml's own, reading the events alone), {checked} to validate"
        );
        assert!(
            read <= most,
            "{file}: reading took {read} allocations, over {most}"
        );
        assert_eq!(checked, 0, "{file}: validating a clean document allocated");
        let (dropped, ()) = allocations(|| drop(decoded));
        assert_eq!(dropped, 0);
    }
}

#[test]
fn the_counter_counts() {
    let (n, v) = allocations(|| vec![1u8; 10]);
    assert_eq!((n, v.len()), (1, 10));
}
