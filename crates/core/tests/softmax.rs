//! The softmax output under categorical cross-entropy: hand-computed values, extreme
//! logits, what an architecture refuses, and the recorded slopes. (Finite differences
//! are in `gradcheck.rs`, Keras' own values in `keras.rs`.)

use vanishing_core::{
    Activation, Architecture, CoreError, Init, LayerSpec, Loss, MatRef, Norm, Par, Scalar,
    Workspace, lanes_supported,
};

fn dense(units: usize, activation: Activation) -> LayerSpec {
    LayerSpec::dense(units, activation, Init::GlorotUniform)
}

/// A single softmax layer of three units over three inputs, with an identity kernel
/// and a zero bias, so that its logits are its inputs.
fn identity_softmax<T: Scalar>() -> (Architecture, Vec<T>) {
    let arch = Architecture::new(
        3,
        vec![dense(3, Activation::Softmax)],
        Loss::CategoricalCrossEntropy,
    )
    .unwrap();
    let mut params = vec![T::ZERO; arch.n_params()];
    let s = &arch.shapes()[0];
    for i in 0..3 {
        params[s.kernel.start + i + 3 * i] = T::ONE;
    }
    (arch, params)
}

/// Column-major `rows x 3` from rows.
fn column_major<T: Scalar>(rows: &[[f64; 3]]) -> Vec<T> {
    (0..3)
        .flat_map(|c| rows.iter().map(move |r| T::from_f64(r[c])))
        .collect()
}

/// Two samples, three classes. Sample 1: logits (1, 2, 3), class 3, loss `ln(e + e^2 +
/// e^3) - 3 = ln(1 + e^-1 + e^-2)`. Sample 2: logits (0.5, -0.5, 0), class 1, loss
/// `ln(e^0.5 + e^-0.5 + 1) - 0.5`. The loss is their mean (over the two samples, not
/// the six outputs), the gradient at the logits `(p - y) / 2`.
const LOGITS: [[f64; 3]; 2] = [[1.0, 2.0, 3.0], [0.5, -0.5, 0.0]];
const TARGETS: [[f64; 3]; 2] = [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]];
const SAMPLE_LOSSES: [f64; 2] = [0.407_605_964_444_380_6, 0.680_269_670_641_734_6];
const PROBABILITIES: [[f64; 3]; 2] = [
    [
        0.090_030_573_170_380_46,
        0.244_728_471_054_797_64,
        0.665_240_955_774_821_8,
    ],
    [
        0.506_480_391_055_654,
        0.186_323_723_225_847_6,
        0.307_195_885_718_498_4,
    ],
];

fn check_hand_computed<T: Scalar>(tol: f64) {
    let (arch, params) = identity_softmax::<T>();
    let x = column_major::<T>(&LOGITS);
    let y = column_major::<T>(&TARGETS);
    let x = MatRef::from_column_major_slice(&x, 2, 3);
    let mut ws = Workspace::<T>::new(&arch, 2);
    let mut grads = vec![T::ZERO; arch.n_params()];
    let loss = ws.forward_backward(&arch, &params, x, &y, &mut grads);
    let expected_loss = (SAMPLE_LOSSES[0] + SAMPLE_LOSSES[1]) / 2.0;
    assert!(
        (loss.to_f64() - expected_loss).abs() < tol,
        "loss {loss} vs {expected_loss}"
    );
    assert!((ws.loss(&arch, &y).to_f64() - expected_loss).abs() < tol);
    let s = &arch.shapes()[0];
    for i in 0..2 {
        for c in 0..3 {
            let p = PROBABILITIES[i][c];
            // The recorded activation is the probabilities.
            assert!(
                (ws.output()[(i, c)].to_f64() - p).abs() < tol,
                "p[{i}][{c}]"
            );
            let d = (p - TARGETS[i][c]) / 2.0;
            assert!(
                (ws.preact_grad(0)[(i, c)].to_f64() - d).abs() < tol,
                "d[{i}][{c}]"
            );
        }
    }
    for c in 0..3 {
        // Bias gradient: the column sums of D; kernel gradient: X^T D.
        let db: f64 = (0..2)
            .map(|i| (PROBABILITIES[i][c] - TARGETS[i][c]) / 2.0)
            .sum();
        assert!((grads[s.bias.start + c].to_f64() - db).abs() < tol);
        for k in 0..3 {
            let dw: f64 = (0..2)
                .map(|i| LOGITS[i][k] * (PROBABILITIES[i][c] - TARGETS[i][c]) / 2.0)
                .sum();
            assert!(
                (grads[s.kernel.start + k + 3 * c].to_f64() - dw).abs() < tol,
                "dW[{k}][{c}]"
            );
        }
    }
}

#[test]
fn two_samples_three_classes_by_hand() {
    check_hand_computed::<f64>(1e-15);
    check_hand_computed::<f32>(1e-6);
}

fn check_extreme<T: Scalar>() {
    let (arch, params) = identity_softmax::<T>();
    // Confidently wrong, confidently right, and all at once very negative.
    let rows = [
        [100.0, -100.0, 0.0],
        [-100.0, 100.0, 0.0],
        [-100.0, -100.0, -100.0],
    ];
    let targets = [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let x = column_major::<T>(&rows);
    let y = column_major::<T>(&targets);
    let x = MatRef::from_column_major_slice(&x, 3, 3);
    let mut ws = Workspace::<T>::new(&arch, 3);
    let mut grads = vec![T::ZERO; arch.n_params()];
    let loss = ws.forward_backward(&arch, &params, x, &y, &mut grads);
    // 200 (wrong by a logit gap of 200), 0 (right), ln 3 (three equal logits); their
    // mean. Probabilities rounded to 0 or 1 would give infinities or a clipped 16.1.
    let expected = (200.0 + 3.0_f64.ln()) / 3.0;
    assert!(
        (loss.to_f64() - expected).abs() < 1e-5 * expected,
        "{loss} vs {expected}"
    );
    assert!(grads.iter().all(|g| g.is_finite()));
    let out = ws.output();
    for i in 0..3 {
        let sum: f64 = (0..3).map(|c| out[(i, c)].to_f64()).sum();
        assert!((sum - 1.0).abs() < 1e-6, "row {i} sums to {sum}");
    }
    // The wrong sample's gradient: (p - y) / 3 with p = (1, 0, 0) to the precision.
    let d = ws.preact_grad(0);
    assert!((d[(0, 0)].to_f64() - 1.0 / 3.0).abs() < 1e-6);
    assert!((d[(0, 1)].to_f64() + 1.0 / 3.0).abs() < 1e-6);
}

#[test]
fn extreme_logits_give_finite_values() {
    check_extreme::<f32>();
    check_extreme::<f64>();
}

#[test]
fn misplaced_softmax_and_crossentropy_are_refused() {
    let cce = Loss::CategoricalCrossEntropy;
    let cases = [
        (
            vec![dense(4, Activation::Softmax), dense(3, Activation::Softmax)],
            cce,
            CoreError::SoftmaxHidden { layer: 1 },
        ),
        (
            vec![dense(4, Activation::Softmax), dense(1, Activation::Sigmoid)],
            Loss::BinaryCrossEntropy,
            CoreError::SoftmaxHidden { layer: 1 },
        ),
        (
            vec![dense(4, Activation::Tanh), dense(3, Activation::Softmax)],
            Loss::BinaryCrossEntropy,
            CoreError::SoftmaxLoss {
                loss: Loss::BinaryCrossEntropy,
            },
        ),
        (
            vec![dense(3, Activation::Softmax)],
            Loss::MeanSquaredError,
            CoreError::SoftmaxLoss {
                loss: Loss::MeanSquaredError,
            },
        ),
        (
            vec![dense(4, Activation::Tanh), dense(3, Activation::Sigmoid)],
            cce,
            CoreError::LossOutputMismatch {
                loss: cce,
                output: Activation::Sigmoid,
                expected: Activation::Softmax,
            },
        ),
        (
            vec![dense(3, Activation::Linear)],
            Loss::BinaryCrossEntropy,
            CoreError::LossOutputMismatch {
                loss: Loss::BinaryCrossEntropy,
                output: Activation::Linear,
                expected: Activation::Sigmoid,
            },
        ),
        (
            vec![dense(4, Activation::Tanh), dense(1, Activation::Softmax)],
            cce,
            CoreError::SoftmaxOneUnit { layer: 2 },
        ),
    ];
    for (layers, loss, expected) in cases {
        let err = Architecture::new(2, layers, loss).unwrap_err();
        assert_eq!(err, expected);
        assert!(!err.to_string().is_empty());
    }
    let message = CoreError::SoftmaxHidden { layer: 2 }.to_string();
    assert!(message.contains("layer 2") && message.contains("output layer"));
    let message = CoreError::SoftmaxLoss {
        loss: Loss::MeanSquaredError,
    }
    .to_string();
    assert!(message.contains("categorical_crossentropy") && message.contains("mse"));
    assert!(
        CoreError::SoftmaxOneUnit { layer: 3 }
            .to_string()
            .contains("at least two classes")
    );
    let message = CoreError::LossOutputMismatch {
        loss: cce,
        output: Activation::Tanh,
        expected: Activation::Softmax,
    }
    .to_string();
    assert!(
        message.contains("softmax") && message.contains("tanh"),
        "{message}"
    );
    // A normalized softmax output layer is a network like any other.
    assert!(
        Architecture::new(
            2,
            vec![
                dense(4, Activation::Relu),
                LayerSpec {
                    norm: Norm::Batch,
                    ..dense(3, Activation::Softmax)
                }
            ],
            cce
        )
        .is_ok()
    );
}

#[test]
fn names_and_lists() {
    assert_eq!(Activation::Softmax.name(), "softmax");
    assert_eq!(Activation::Softmax.to_string(), "softmax");
    assert_eq!(
        Loss::CategoricalCrossEntropy.name(),
        "categorical_crossentropy"
    );
    // `ALL` lists the hidden activations, which the softmax is not.
    assert!(!Activation::ALL.contains(&Activation::Softmax));
    assert!(Activation::ALL.iter().all(|a| a.is_elementwise()));
    assert!(!Activation::Softmax.is_elementwise());
    assert_eq!(
        Loss::CategoricalCrossEntropy.expected_output(),
        Some(Activation::Softmax)
    );
    assert!(!Loss::MeanSquaredError.accepts_output(Activation::Softmax));
}

#[test]
fn softmax_networks_do_not_run_in_lanes() {
    let arch = Architecture::new(
        2,
        vec![dense(4, Activation::Tanh), dense(3, Activation::Softmax)],
        Loss::CategoricalCrossEntropy,
    )
    .unwrap();
    assert!(!lanes_supported(&arch));
}

/// A softmax layer too wide for the split elementwise passes is normalized per sample
/// on the calling thread: the same bits as sequentially.
#[test]
fn wide_softmax_outputs_are_the_same_on_two_threads() {
    let rows = 8_000;
    let classes = 10;
    let arch = Architecture::new(
        2,
        vec![dense(classes, Activation::Softmax)],
        Loss::CategoricalCrossEntropy,
    )
    .unwrap();
    let params: Vec<f64> = (0..arch.n_params())
        .map(|i| (i as f64 * 0.77).sin() * 3.0)
        .collect();
    let x: Vec<f64> = (0..rows * 2).map(|i| (i as f64 * 0.13).cos()).collect();
    let y: Vec<f64> = (0..classes)
        .flat_map(|c| (0..rows).map(move |i| f64::from(u8::from(i % classes == c))))
        .collect();
    let x = MatRef::from_column_major_slice(&x, rows, 2);
    let mut g1 = vec![0.0; arch.n_params()];
    let mut g2 = vec![0.0; arch.n_params()];
    let mut seq = Workspace::<f64>::new(&arch, rows);
    let mut par = Workspace::<f64>::new(&arch, rows).with_par(Par::rayon(2));
    let l1 = seq.forward_backward(&arch, &params, x, &y, &mut g1);
    let l2 = par.forward_backward(&arch, &params, x, &y, &mut g2);
    assert_eq!(l1.to_bits(), l2.to_bits());
    assert_eq!(g1, g2);
    let out = par.output();
    for i in (0..rows).step_by(997) {
        let sum: f64 = (0..classes).map(|c| out[(i, c)]).sum();
        assert!((sum - 1.0).abs() < 1e-14);
    }
}
