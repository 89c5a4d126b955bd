//! The per-step path (minibatch gathering, forward, backward, update and every-step
//! recording with histograms) allocates nothing, for a run alone and for runs side by
//! side: runs of 2 and of 6 epochs make exactly the same number of allocations, so
//! none of them happen per step.

mod common;

use common::tutorial;
use vanishing_core::Activation;
use vanishing_testkit::{CountingAllocator, allocations};
use vanishing_train::{
    BoundaryRecord, HistogramRecord, LayerRecord, MetricRecord, RecordPolicy, Sink, prepare_data,
    train, train_together,
};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

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
    fn boundary(&mut self, _: &BoundaryRecord<'_>) {
        self.0 += 1;
    }
}

fn allocations_of_run(epochs: u32) -> (u64, u64) {
    let mut spec = tutorial(Activation::Sigmoid, epochs, RecordPolicy::Step);
    spec.histogram_bins = Some(16);
    let data = prepare_data(&spec).unwrap();
    let mut tally = Tally::default();
    let before = allocations();
    train(&spec, &data, &mut tally).unwrap();
    (allocations() - before, tally.0)
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

fn allocations_of_group(epochs: u32) -> (u64, u64) {
    let specs: Vec<_> = (0..8)
        .map(|seed| {
            let mut spec = tutorial(Activation::Sigmoid, epochs, RecordPolicy::Step);
            spec.histogram_bins = Some(16);
            spec.seed = seed;
            spec
        })
        .collect();
    let data: Vec<_> = specs.iter().map(|s| prepare_data(s).unwrap()).collect();
    let mut tallies: Vec<Tally> = (0..8).map(|_| Tally::default()).collect();
    let before = allocations();
    train_together(&specs, &data, &mut tallies).unwrap();
    (allocations() - before, tallies.iter().map(|t| t.0).sum())
}

#[test]
fn steps_side_by_side_allocate_nothing() {
    allocations_of_group(1);
    let (short, short_records) = allocations_of_group(2);
    let (long, long_records) = allocations_of_group(6);
    assert!(
        long_records > 2 * short_records,
        "the longer runs recorded more"
    );
    assert!(short > 0, "setting up runs allocates, so the counter works");
    assert_eq!(long, short, "allocations grew with the number of steps");
}
