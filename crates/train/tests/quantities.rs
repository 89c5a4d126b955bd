//! The derived quantities, checked on the tensors themselves: the recorded `update` is
//! the change the step applied, to the last bit, and is what the optimizer's rule
//! predicts; the recorded `slope` is the activation's derivative at each unit.

mod common;

use common::tutorial;
use vanishing_core::{Activation, Optimizer, RmsProp, Sgd};
use vanishing_train::{
    BoundaryRecord, HistogramRecord, LayerRecord, MetricRecord, Precision, Quantity, RecordPolicy,
    RunSpec, Sink, Stats, TensorRecord, Values, prepare_data, train,
};

/// Keeps every recorded tensor (as f64, which holds f32 values exactly) and every
/// layer record.
#[derive(Default)]
struct Raw {
    tensors: Vec<((u64, u32, Quantity), Vec<f64>)>,
    layers: Vec<LayerRecord>,
}

impl Raw {
    fn get(&self, step: u64, layer: u32, quantity: Quantity) -> Option<&[f64]> {
        self.tensors
            .iter()
            .find(|(at, _)| *at == (step, layer, quantity))
            .map(|(_, v)| v.as_slice())
    }
}

impl Sink for Raw {
    fn wants_tensors(&self) -> bool {
        true
    }
    fn tensor(&mut self, record: &TensorRecord<'_>) {
        self.tensors.push((
            (record.step, record.layer, record.quantity),
            record.values.to_f64(),
        ));
    }
    fn layer(&mut self, record: &LayerRecord) {
        self.layers.push(*record);
    }
    fn histogram(&mut self, _: &HistogramRecord<'_>) {}
    fn metrics(&mut self, _: &MetricRecord) {}
    fn boundary(&mut self, _: &BoundaryRecord<'_>) {}
}

fn raw(spec: &RunSpec) -> (Raw, u64) {
    let data = prepare_data(spec).unwrap();
    let mut sink = Raw::default();
    let outcome = train(spec, &data, &mut sink).unwrap();
    (sink, outcome.steps)
}

/// `b - a` in the run's precision.
fn difference(a: f64, b: f64, precision: Precision) -> f64 {
    match precision {
        Precision::F32 => f64::from(b as f32 - a as f32),
        Precision::F64 => b - a,
    }
}

#[test]
fn update_is_the_change_the_step_applied() {
    let optimizers = [
        Optimizer::Sgd(Sgd {
            learning_rate: 0.5,
            ..Sgd::default()
        }),
        Optimizer::RmsProp(RmsProp::default()),
    ];
    for optimizer in optimizers {
        for precision in [Precision::F32, Precision::F64] {
            let mut spec = tutorial(Activation::Sigmoid, 2, RecordPolicy::Step);
            spec.optimizer = optimizer;
            spec.precision = precision;
            let (sink, steps) = raw(&spec);
            for step in 0..steps {
                for layer in 1..=5 {
                    let before = sink.get(step, layer, Quantity::Weight).unwrap();
                    let after = sink.get(step + 1, layer, Quantity::Weight).unwrap();
                    let update = sink.get(step, layer, Quantity::Update).unwrap();
                    assert_eq!(update.len(), before.len());
                    for ((&u, &a), &b) in update.iter().zip(before).zip(after) {
                        assert_eq!(
                            u.to_bits(),
                            difference(a, b, precision).to_bits(),
                            "{optimizer:?} {precision:?} step {step} layer {layer}"
                        );
                    }
                    // The statistics summarize that very tensor.
                    let record = sink
                        .layers
                        .iter()
                        .find(|r| (r.step, r.layer, r.quantity) == (step, layer, Quantity::Update))
                        .unwrap();
                    assert_eq!(Some(record.stats), Stats::of(update));
                }
            }
            // The final record is followed by no step.
            assert!(sink.get(steps, 1, Quantity::Update).is_none());
            assert!(sink.get(steps, 1, Quantity::Weight).is_some());
        }
    }
}

/// SGD moves each weight by `-lr * g`; RMSprop's first step (Keras 2 form, `v = (1 -
/// rho) g^2`) by `lr / sqrt(1 - rho)` whatever the gradient's size, once `|g|` is well
/// above epsilon: 0.001 / sqrt(0.1) = 3.162e-3.
#[test]
fn update_follows_the_optimizer_rule() {
    let mut spec = tutorial(Activation::Sigmoid, 1, RecordPolicy::Step);
    spec.precision = Precision::F64;
    spec.optimizer = Optimizer::Sgd(Sgd {
        learning_rate: 0.1,
        ..Sgd::default()
    });
    let (sink, _) = raw(&spec);
    for layer in 1..=5 {
        let g = sink.get(3, layer, Quantity::WeightGrad).unwrap();
        let u = sink.get(3, layer, Quantity::Update).unwrap();
        for (&g, &u) in g.iter().zip(u) {
            assert!(
                (u + 0.1 * g).abs() <= 1e-15,
                "layer {layer}: {u} vs {}",
                -0.1 * g
            );
        }
    }
    spec.optimizer = Optimizer::RmsProp(RmsProp::default());
    let (sink, _) = raw(&spec);
    let expected = 0.001 / 0.1_f64.sqrt();
    let mut checked = 0;
    for layer in 1..=5 {
        let g = sink.get(0, layer, Quantity::WeightGrad).unwrap();
        let u = sink.get(0, layer, Quantity::Update).unwrap();
        for (&g, &u) in g.iter().zip(u) {
            // Epsilon (1e-7) beside sqrt(v) = 0.32 |g| shifts the step by under 0.1%.
            if g.abs() > 1e-3 {
                checked += 1;
                assert!(
                    (u.abs() / expected - 1.0).abs() < 1e-3 && u.signum() == -g.signum(),
                    "layer {layer}: g {g}, update {u}"
                );
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} weights had gradients above 1e-3"
    );
}

#[test]
fn slope_is_the_activation_derivative() {
    type Slope = fn(f32) -> f32;
    let cases: [(Activation, Slope); 3] = [
        (Activation::Sigmoid, |a| a * (1.0 - a)),
        (Activation::Tanh, |a| 1.0 - a * a),
        (Activation::Relu, |a| if a > 0.0 { 1.0 } else { 0.0 }),
    ];
    for (activation, slope_of) in cases {
        let (sink, _) = raw(&tutorial(activation, 1, RecordPolicy::Epoch));
        for layer in 1..=5 {
            let a = sink.get(0, layer, Quantity::Activation).unwrap();
            let slope = sink.get(0, layer, Quantity::Slope).unwrap();
            assert_eq!(a.len(), slope.len());
            // The output layer is a sigmoid whatever the hidden layers are.
            let slope_of: Slope = if layer == 5 {
                |a| a * (1.0 - a)
            } else {
                slope_of
            };
            for (&a, &s) in a.iter().zip(slope) {
                assert_eq!(
                    s.to_bits(),
                    f64::from(slope_of(a as f32)).to_bits(),
                    "{activation} layer {layer}: a {a}"
                );
            }
            // The mean square that the variance recursion needs is mean^2 + std^2.
            let stats = Stats::of(slope).unwrap();
            let mean_square = slope.iter().map(|s| s * s).sum::<f64>() / slope.len() as f64;
            assert!(
                (stats.mean.powi(2) + stats.std.powi(2) - mean_square).abs() <= 1e-12,
                "{activation} layer {layer}"
            );
        }
    }
}

/// A record's tensors are sent only to sinks that ask for them, and carry the run's
/// precision.
#[test]
fn tensors_come_in_the_run_precision() {
    let mut spec = tutorial(Activation::Tanh, 1, RecordPolicy::Epoch);
    spec.epochs = 1;
    let data = prepare_data(&spec).unwrap();
    struct Kinds(Vec<bool>);
    impl Sink for Kinds {
        fn wants_tensors(&self) -> bool {
            true
        }
        fn tensor(&mut self, record: &TensorRecord<'_>) {
            self.0.push(matches!(record.values, Values::F32(_)));
        }
        fn layer(&mut self, _: &LayerRecord) {}
        fn histogram(&mut self, _: &HistogramRecord<'_>) {}
        fn metrics(&mut self, _: &MetricRecord) {}
        fn boundary(&mut self, _: &BoundaryRecord<'_>) {}
    }
    for (precision, single) in [(Precision::F32, true), (Precision::F64, false)] {
        spec.precision = precision;
        let mut kinds = Kinds(Vec::new());
        train(&spec, &data, &mut kinds).unwrap();
        // Two records (start and end) of 5 layers and 7 quantities, plus one update each.
        assert_eq!(kinds.0.len(), 2 * 5 * 7 + 5);
        assert!(kinds.0.iter().all(|&k| k == single));
    }
}
