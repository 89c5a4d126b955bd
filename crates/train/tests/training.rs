//! The training loop: how many records each policy implies, what they hold, that runs
//! are reproducible, that tanh learns, and that divergence ends a run cleanly.

mod common;

use common::tutorial;
use vanishing_core::{Activation, Optimizer, Sgd};
use vanishing_train::{
    BinEdges, BoundaryRecord, HistogramRecord, History, LayerRecord, MetricRecord, Quantity,
    RecordPolicy, Sink, Split, prepare_data, train,
};

fn run(spec: &vanishing_train::RunSpec) -> (History, vanishing_train::RunOutcome) {
    let data = prepare_data(spec).unwrap();
    let mut history = History::default();
    let outcome = train(spec, &data, &mut history).unwrap();
    (history, outcome)
}

/// Records per (layer, quantity) for a policy: 200 rows in batches of 32 make 7 steps
/// an epoch (6 full and one of 8).
#[test]
fn record_counts_follow_the_policy() {
    let epochs = 10;
    let total_steps = 70;
    for (policy, expected) in [
        (RecordPolicy::Epoch, epochs as usize + 1),
        (RecordPolicy::Step, total_steps + 1),
        (RecordPolicy::Every(4), total_steps.div_ceil(4) + 1),
        (RecordPolicy::Every(7), epochs as usize + 1),
    ] {
        let (history, outcome) = run(&tutorial(Activation::Tanh, epochs, policy));
        assert_eq!(outcome.steps, total_steps as u64);
        for layer in 1..=5 {
            for quantity in Quantity::ALL {
                let n = history
                    .layers
                    .iter()
                    .filter(|r| r.layer == layer && r.quantity == quantity)
                    .count();
                // The final record is followed by no step, so by no update.
                let expected = expected - usize::from(quantity == Quantity::Update);
                assert_eq!(n, expected, "{policy:?} layer {layer} {quantity:?}");
            }
        }
        assert_eq!(history.layers.len(), expected * 5 * 8 - 5);
        // Metrics before training and after every epoch, whatever the policy.
        assert_eq!(history.metrics.len(), epochs as usize + 1);
        assert!(history.histograms.is_empty());
    }
}

/// A sink that keeps what it is told to expect beside what it then receives.
#[derive(Default)]
struct Announced {
    expected: Option<(usize, usize, usize)>,
    history: History,
}

impl Sink for Announced {
    fn expect(&mut self, layers: usize, histograms: usize, metrics: usize) {
        assert!(self.expected.is_none(), "told twice");
        assert!(
            self.history.metrics.is_empty(),
            "told after the first record"
        );
        self.expected = Some((layers, histograms, metrics));
    }
    fn layer(&mut self, record: &LayerRecord) {
        self.history.layer(record);
    }
    fn histogram(&mut self, record: &HistogramRecord<'_>) {
        self.history.histogram(record);
    }
    fn metrics(&mut self, record: &MetricRecord) {
        self.history.metrics(record);
    }
    fn boundary(&mut self, record: &BoundaryRecord<'_>) {
        self.history.boundary(record);
    }
}

/// The counts a sink is told to expect are those it receives from a run that does not
/// diverge, under every policy, with histograms and a test split.
#[test]
fn sinks_are_told_how_many_records_to_expect() {
    for policy in [
        RecordPolicy::Epoch,
        RecordPolicy::Step,
        RecordPolicy::Every(4),
    ] {
        let mut spec = tutorial(Activation::Tanh, 6, policy);
        spec.histogram_bins = Some(4);
        spec.test_fraction = 0.25;
        let data = prepare_data(&spec).unwrap();
        let mut sink = Announced::default();
        let outcome = train(&spec, &data, &mut sink).unwrap();
        assert!(!outcome.diverged);
        let h = &sink.history;
        let received = (h.layers.len(), h.histograms.len(), h.metrics.len());
        assert_eq!(sink.expected, Some(received), "{policy:?}");
    }
}

#[test]
fn tutorial_policy_records_epoch_boundaries() {
    let (history, _) = run(&tutorial(Activation::Sigmoid, 5, RecordPolicy::Epoch));
    let mut marks: Vec<(u32, u64)> = history
        .layers
        .iter()
        .filter(|r| r.layer == 1 && r.quantity == Quantity::Weight)
        .map(|r| (r.epoch, r.step))
        .collect();
    marks.dedup();
    assert_eq!(
        marks,
        vec![(0, 0), (1, 7), (2, 14), (3, 21), (4, 28), (5, 35)]
    );
    let metric_marks: Vec<(u32, u64)> = history.metrics.iter().map(|m| (m.epoch, m.step)).collect();
    assert_eq!(metric_marks, marks);
    // Before training, every bias is zero and N(0, 1) kernels have a spread near 1.
    let first = history
        .layers
        .iter()
        .find(|r| r.layer == 2 && r.quantity == Quantity::Bias && r.epoch == 0)
        .unwrap();
    assert!(first.stats.l2 < f64::MIN_POSITIVE);
    let kernel = history
        .layers
        .iter()
        .find(|r| r.layer == 2 && r.quantity == Quantity::Weight && r.epoch == 0)
        .unwrap();
    assert!(
        (0.5..1.5).contains(&kernel.stats.std),
        "{}",
        kernel.stats.std
    );
}

#[test]
fn records_are_consistent() {
    let mut spec = tutorial(Activation::Sigmoid, 3, RecordPolicy::Step);
    spec.histogram_bins = Some(8);
    let (history, _) = run(&spec);
    for r in &history.layers {
        let s = r.stats;
        assert!(s.min <= s.p02 && s.p02 <= s.p98 && s.p98 <= s.max, "{r:?}");
        assert!(s.min <= s.mean && s.mean <= s.max, "{r:?}");
        assert!(
            s.abs_mean >= s.mean.abs() - 1e-12 && s.std >= 0.0 && s.l2 >= 0.0,
            "{r:?}"
        );
        match r.quantity {
            Quantity::Activation => {
                let f = s
                    .saturated_frac
                    .expect("sigmoid activations have a saturated fraction");
                assert!((0.0..=1.0).contains(&f));
                // Sigmoid outputs lie in (0, 1).
                assert!(s.min > 0.0 && s.max < 1.0);
            }
            _ => assert_eq!(s.saturated_frac, None),
        }
    }
    assert_eq!(history.histograms.len(), history.layers.len());
    for (h, r) in history.histograms.iter().zip(&history.layers) {
        assert_eq!(
            (h.epoch, h.step, h.layer, h.quantity),
            (r.epoch, r.step, r.layer, r.quantity)
        );
        assert_eq!(h.counts.len(), BinEdges::new(h.quantity, 8).len());
        // Every value of the tensor falls in some bin: a kernel of layer 2 has 25 values,
        // a minibatch activation 32 x 5 (or 8 x 5 on an epoch's last step).
        let total: u64 = h.counts.iter().sum();
        let expected = match (h.quantity, h.layer) {
            (Quantity::Weight | Quantity::WeightGrad | Quantity::Update, 1) => 10,
            (Quantity::Weight | Quantity::WeightGrad | Quantity::Update, 5) => 5,
            (Quantity::Weight | Quantity::WeightGrad | Quantity::Update, _) => 25,
            (Quantity::Bias | Quantity::BiasGrad, 5) => 1,
            (Quantity::Bias | Quantity::BiasGrad, _) => 5,
            (_, 5) => {
                if h.step % 7 == 6 {
                    8
                } else {
                    32
                }
            }
            _ => {
                if h.step % 7 == 6 {
                    40
                } else {
                    160
                }
            }
        };
        assert_eq!(
            total, expected,
            "{:?} layer {} step {}",
            h.quantity, h.layer, h.step
        );
    }
}

#[test]
fn same_spec_same_history_other_seed_other_history() {
    let spec = tutorial(Activation::Relu, 4, RecordPolicy::Step);
    let (a, oa) = run(&spec);
    let (b, ob) = run(&spec);
    assert_eq!(a, b);
    assert_eq!(oa.final_loss.to_bits(), ob.final_loss.to_bits());
    let mut other = spec;
    other.seed = 43;
    assert_ne!(run(&other).0, a);
}

#[test]
fn tanh_learns_and_sigmoid_gradients_vanish() {
    let (history, outcome) = run(&tutorial(Activation::Tanh, 100, RecordPolicy::Epoch));
    let first = history.metrics.first().unwrap();
    let last = history.metrics.last().unwrap();
    assert!(
        last.loss < 0.5 * first.loss,
        "tanh loss {} -> {}",
        first.loss,
        last.loss
    );
    assert!(
        outcome.final_accuracy > 0.9,
        "tanh accuracy {}",
        outcome.final_accuracy
    );
    assert!(!outcome.diverged);

    // The deep sigmoid network's first-layer kernel gradients are far smaller than its
    // last layer's at initialization.
    let (history, _) = run(&tutorial(Activation::Sigmoid, 1, RecordPolicy::Epoch));
    let grad_std = |layer| {
        history
            .layers
            .iter()
            .find(|r| r.layer == layer && r.quantity == Quantity::WeightGrad && r.step == 0)
            .unwrap()
            .stats
            .std
    };
    assert!(
        grad_std(1) < 0.2 * grad_std(5),
        "{} vs {}",
        grad_std(1),
        grad_std(5)
    );
}

#[test]
fn a_test_split_gets_its_own_metrics() {
    let mut spec = tutorial(Activation::Tanh, 3, RecordPolicy::Epoch);
    spec.test_fraction = 0.25;
    let data = prepare_data(&spec).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (150, 50));
    let mut history = History::default();
    let outcome = train(&spec, &data, &mut history).unwrap();
    assert_eq!(
        history
            .metrics
            .iter()
            .filter(|m| m.split == Split::Test)
            .count(),
        4
    );
    assert!(outcome.final_test.is_some());
    // 150 training rows in batches of 32: 5 steps an epoch.
    assert_eq!(outcome.steps, 15);
}

#[test]
fn divergence_ends_the_run_and_keeps_the_history() {
    let mut spec = tutorial(Activation::Linear, 50, RecordPolicy::Epoch);
    spec.optimizer = Optimizer::Sgd(Sgd {
        learning_rate: 1e30,
        ..Sgd::default()
    });
    let (history, outcome) = run(&spec);
    assert!(outcome.diverged);
    assert!(
        outcome.steps < 50 * 7,
        "stopped after {} steps",
        outcome.steps
    );
    assert!(!history.layers.is_empty() && !history.metrics.is_empty());
}

#[test]
fn invalid_specs_are_refused_before_training() {
    let mut spec = tutorial(Activation::Tanh, 1, RecordPolicy::Epoch);
    spec.batch_size = 0;
    let data = prepare_data(&spec).unwrap();
    let err = train(&spec, &data, &mut History::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "train: batch_size must be at least 1, got 0"
    );
    let mut spec = tutorial(Activation::Tanh, 1, RecordPolicy::Epoch);
    spec.model.hidden.clear();
    assert!(spec.validate().is_err());
}

#[test]
fn double_precision_trains_the_same_network() {
    let single = tutorial(Activation::Tanh, 30, RecordPolicy::Epoch);
    let mut double = single.clone();
    double.precision = vanishing_train::Precision::F64;
    let (h32, o32) = run(&single);
    let (h64, o64) = run(&double);
    // Same seed, same draws: the initial parameters agree to f32 rounding, and so does
    // the loss before training.
    let w = |h: &History| {
        h.layers
            .iter()
            .find(|r| r.quantity == Quantity::Weight)
            .unwrap()
            .stats
            .mean
    };
    assert!(
        (w(&h32) - w(&h64)).abs() < 1e-6,
        "{} vs {}",
        w(&h32),
        w(&h64)
    );
    assert!((h32.metrics[0].loss - h64.metrics[0].loss).abs() < 1e-5);
    // Training in either precision reaches a similar accuracy.
    assert!(
        (o32.final_accuracy - o64.final_accuracy).abs() < 0.05,
        "{} vs {}",
        o32.final_accuracy,
        o64.final_accuracy
    );
}

#[test]
fn the_decision_surface_separates_the_circles() {
    let (history, outcome) = run(&tutorial(Activation::Tanh, 100, RecordPolicy::Epoch));
    assert!(outcome.final_accuracy > 0.9);
    let grid = history.boundary.expect("a grid was requested");
    assert_eq!(grid.resolution, 11);
    assert_eq!(grid.probability.len(), 121);
    let record = grid.as_record();
    // The grid spans the data (radius about 1) and a margin.
    assert!(grid.x0.0 < -1.0 && grid.x0.1 > 1.0 && grid.x1.0 < -1.0 && grid.x1.1 > 1.0);
    // The centre point lies in the inner circle (class 1), the corners far outside both.
    let centre = 5 * 11 + 5;
    let (cx, cy) = record.point(centre);
    assert!(cx.abs() < 0.2 && cy.abs() < 0.2, "centre at ({cx}, {cy})");
    assert!(
        grid.probability[centre] > 0.5,
        "p(centre) = {}",
        grid.probability[centre]
    );
    for corner in [0, 10, 110, 120] {
        assert!(
            grid.probability[corner] < 0.5,
            "p(corner {corner}) = {}",
            grid.probability[corner]
        );
    }
}
