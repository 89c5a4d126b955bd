//! The per-step path (minibatch gathering, forward, backward, update and every-step
//! recording with histograms) allocates nothing: runs of 2 and of 6 epochs make exactly
//! the same number of allocations, so none of them happen per step.
#![allow(unsafe_code)] // A global allocator cannot be written without it.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::tutorial;
use vanishing_core::Activation;
use vanishing_train::{
    HistogramRecord, LayerRecord, MetricRecord, RecordPolicy, Sink, prepare_data, train,
};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A sink that counts what it receives and keeps nothing, so that any allocation seen
/// is the trainer's.
#[derive(Default)]
struct Tally(u64);

impl Sink for Tally {
    fn layer(&mut self, _: &LayerRecord) {
        self.0 += 1;
    }
    fn histogram(&mut self, _: &HistogramRecord<'_>) {
        self.0 += 1;
    }
    fn metrics(&mut self, _: &MetricRecord) {
        self.0 += 1;
    }
}

fn allocations_of_run(epochs: u32) -> (u64, u64) {
    let mut spec = tutorial(Activation::Sigmoid, epochs, RecordPolicy::Step);
    spec.histogram_bins = Some(16);
    let data = prepare_data(&spec).unwrap();
    let mut tally = Tally::default();
    let before = ALLOCATIONS.with(Cell::get);
    train(&spec, &data, &mut tally).unwrap();
    (ALLOCATIONS.with(Cell::get) - before, tally.0)
}

#[test]
fn steps_allocate_nothing() {
    // The first run in a process also pays for one-time initialization (CPU feature
    // detection and the like), so it is not measured.
    allocations_of_run(1);
    let (short, short_records) = allocations_of_run(2);
    let (long, long_records) = allocations_of_run(6);
    assert!(
        long_records > 2 * short_records,
        "the longer run recorded more"
    );
    assert!(
        short > 0,
        "setting up a run allocates, so the counter works"
    );
    assert_eq!(long, short, "allocations grew with the number of steps");
}
