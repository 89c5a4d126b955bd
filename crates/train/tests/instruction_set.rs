//! A run's records are the same bits whether the core's loops run on the processor's
//! vector instructions (AVX2 where it has them) or on pulp's scalar path, which is the
//! code a WebAssembly build without vector instructions runs: every statistic,
//! histogram count, metric, decision-surface value and outcome, recorded at every step,
//! for every activation the tutorial uses, every optimizer, batch and layer
//! normalization and skip connections, in both precisions, trained alone and side by
//! side in the core's lanes. Every product of these networks runs on the core's own
//! loops, never through faer, whose products depend on the processor.
//!
//! The switch, `vanishing_core::set_simd`, is one for the whole process (so that it
//! also reaches the threads a sweep trains on), and the tests of one binary run on
//! parallel threads: a test that flipped it beside others would change the path their
//! runs take while they run. So this file is a test binary of its own, with a single
//! test, and nothing else runs while the switch is set.

use vanishing_core::kernels::faer_products;
use vanishing_core::{
    Activation, Adam, Init, Loss, Norm, Optimizer, RmsProp, RmsPropVariant, Sgd, SimdLevel,
    set_simd, simd_level,
};
use vanishing_data::{Circles, Moons};
use vanishing_train::{
    DataSpec, History, ModelSpec, Precision, RecordPolicy, RunOutcome, RunSpec, prepare_data,
    train, train_together,
};

/// A run's records and outcome (without its time) as text, one value per line: `Debug`
/// prints every float in its shortest exact form, so equal text is equal bits.
fn fingerprint(history: &History, outcome: &RunOutcome) -> String {
    let outcome = RunOutcome {
        wall: std::time::Duration::ZERO,
        ..*outcome
    };
    format!("{history:#?}\n{outcome:#?}")
}

/// The hidden activations, each with the initializer and the data it is tried on.
fn activations() -> [(Activation, Init, DataSpec); 4] {
    let circles = DataSpec::Circles(Circles {
        n_samples: 200,
        factor: 0.5,
        noise: 0.1,
        shuffle: true,
    });
    let moons = DataSpec::Moons(Moons {
        n_samples: 200,
        noise: 0.1,
        shuffle: true,
    });
    let tutorial = Init::Normal {
        mean: 0.0,
        std: 1.0,
    };
    [
        (Activation::Sigmoid, tutorial, circles.clone()),
        (Activation::Tanh, tutorial, moons.clone()),
        (Activation::Relu, Init::HeNormal, circles),
        (Activation::Softsign, Init::GlorotUniform, moons),
    ]
}

/// Every optimizer, RMSprop in both of Keras' forms.
fn optimizers() -> [Optimizer; 5] {
    [
        Optimizer::Sgd(Sgd {
            learning_rate: 0.1,
            ..Sgd::default()
        }),
        Optimizer::Sgd(Sgd {
            learning_rate: 0.1,
            momentum: 0.9,
            nesterov: true,
        }),
        Optimizer::RmsProp(RmsProp::default()),
        Optimizer::RmsProp(RmsProp {
            variant: RmsPropVariant::Keras3,
            ..RmsProp::default()
        }),
        Optimizer::Adam(Adam::default()),
    ]
}

/// The tutorial's 2-5-5-5-5-1 network on 200 points, recording every step with
/// histograms, a test split and the decision surface.
fn spec(
    (activation, init, data): (Activation, Init, DataSpec),
    optimizer: Optimizer,
    (norm, residual): (Norm, bool),
    precision: Precision,
) -> RunSpec {
    RunSpec {
        data,
        test_fraction: 0.2,
        model: ModelSpec {
            hidden: vec![5; 4],
            activation,
            output: Activation::Sigmoid,
            init,
            loss: Loss::BinaryCrossEntropy,
            norm,
            residual,
        },
        optimizer,
        epochs: 3,
        batch_size: 32,
        record: RecordPolicy::Step,
        histogram_bins: Some(20),
        boundary_grid: 21,
        precision,
        seed: 7,
    }
}

/// Runs `f` once with the detected instruction sets and once on the scalar path, and
/// checks that it gives the same text and hands no product to faer.
fn same_both_ways(name: &str, f: impl Fn() -> String) {
    let products = faer_products();
    set_simd(SimdLevel::Detected);
    let detected = f();
    set_simd(SimdLevel::Scalar);
    let scalar = f();
    set_simd(SimdLevel::Detected);
    assert_eq!(
        faer_products(),
        products,
        "{name}: a product went through faer"
    );
    if detected != scalar {
        let (line, (d, s)) = detected
            .lines()
            .zip(scalar.lines())
            .enumerate()
            .find(|(_, (d, s))| d != s)
            .unwrap_or((0, ("(lengths differ)", "")));
        panic!("{name}: line {line} differs: {d} (vector) vs {s} (scalar)");
    }
}

#[test]
fn records_do_not_depend_on_the_instruction_set() {
    assert_eq!(simd_level(), SimdLevel::Detected, "the default dispatch");
    let structures = [
        (Norm::None, false),
        (Norm::Batch, false),
        (Norm::Layer, false),
        (Norm::None, true),
    ];
    for activation in activations() {
        for optimizer in optimizers() {
            for structure in structures {
                for precision in [Precision::F32, Precision::F64] {
                    let spec = spec(activation.clone(), optimizer, structure, precision);
                    let name =
                        format!("{} {optimizer:?} {structure:?} {precision:?}", activation.0);
                    let data = prepare_data(&spec).unwrap();
                    same_both_ways(&name, || {
                        let mut history = History::default();
                        let outcome = train(&spec, &data, &mut history).unwrap();
                        fingerprint(&history, &outcome)
                    });
                }
            }
        }
    }

    // Plain networks of nine seeds side by side in the core's lanes (a full group of
    // eight and a ragged one), whose loops are the lanes' own.
    for activation in activations() {
        for precision in [Precision::F32, Precision::F64] {
            let spec = spec(
                activation.clone(),
                Optimizer::RmsProp(RmsProp::default()),
                (Norm::None, false),
                precision,
            );
            let specs: Vec<RunSpec> = (0..9)
                .map(|seed| RunSpec {
                    seed,
                    ..spec.clone()
                })
                .collect();
            let data: Vec<_> = specs.iter().map(|s| prepare_data(s).unwrap()).collect();
            let name = format!("{} {precision:?} side by side", activation.0);
            same_both_ways(&name, || {
                let mut sinks = vec![History::default(); specs.len()];
                let outcomes = train_together(&specs, &data, &mut sinks).unwrap();
                sinks
                    .iter()
                    .zip(&outcomes)
                    .map(|(h, o)| fingerprint(h, o))
                    .collect()
            });
        }
    }
}
