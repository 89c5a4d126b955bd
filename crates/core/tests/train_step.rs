//! `Workspace::train_step` against `forward_backward` and `Optimizer::step_par`, and
//! both on one and two threads: the same bits, for wide layers (whose products run in
//! blocks) and narrow ones, every optimizer, normalization and skip connections, both
//! precisions. And the blocked products against finite differences.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use vanishing_core::{
    Activation, Adam, Architecture, Init, LayerSpec, Loss, MatRef, Norm, Optimizer, Par, RmsProp,
    RmsPropVariant, Scalar, Sgd, Workspace,
};

fn optimizers() -> [Optimizer; 6] {
    [
        Optimizer::Sgd(Sgd {
            learning_rate: 0.05,
            ..Sgd::default()
        }),
        Optimizer::Sgd(Sgd {
            learning_rate: 0.05,
            momentum: 0.9,
            nesterov: true,
        }),
        Optimizer::RmsProp(RmsProp::default()),
        Optimizer::RmsProp(RmsProp {
            momentum: 0.5,
            centered: true,
            variant: RmsPropVariant::Keras3,
            ..RmsProp::default()
        }),
        Optimizer::Adam(Adam::default()),
        Optimizer::Adam(Adam {
            learning_rate: 0.01,
            ..Adam::default()
        }),
    ]
}

/// A network whose middle layers are `width` wide (a 300 x `width` kernel and a
/// `width x width` one run in blocks from `width = 219`, with a last block of a few
/// rows), normalized as asked, the last hidden layer residual when `residual`.
fn network(width: usize, norm: Norm, residual: bool, outputs: usize) -> Architecture {
    let hidden = |units, residual| LayerSpec {
        norm,
        residual,
        ..LayerSpec::dense(units, Activation::Tanh, Init::GlorotUniform)
    };
    let (output, loss) = if outputs == 1 {
        (Activation::Sigmoid, Loss::BinaryCrossEntropy)
    } else {
        (Activation::Softmax, Loss::CategoricalCrossEntropy)
    };
    Architecture::new(
        300,
        vec![
            hidden(width, false),
            hidden(width, residual),
            hidden(7, false),
            LayerSpec::dense(outputs, output, Init::GlorotUniform),
        ],
        loss,
    )
    .unwrap()
}

struct Run<T> {
    params: Vec<T>,
    grads: Vec<T>,
    state: vanishing_core::OptimizerState<T>,
    ws: Workspace<T>,
}

/// Three steps of each way and thread count; every parameter and slot compared by bits.
fn check<T: Scalar>(arch: &Architecture, batch: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let params: Vec<T> = arch.init_params(&mut rng);
    let x: Vec<T> = (0..batch * arch.inputs())
        .map(|_| {
            let v: f64 = StandardNormal.sample(&mut rng);
            T::from_f64(v)
        })
        .collect();
    let outputs = arch.outputs();
    let y: Vec<T> = (0..outputs)
        .flat_map(|c| {
            (0..batch).map(move |i| {
                let on = if outputs == 1 {
                    i % 2 == 1
                } else {
                    i % outputs == c
                };
                T::from_f64(f64::from(u8::from(on)))
            })
        })
        .collect();
    let x = MatRef::from_column_major_slice(&x, batch, arch.inputs());
    for optimizer in optimizers() {
        let runs: Vec<(bool, Par)> = vec![
            (false, Par::Seq),
            (false, Par::rayon(2)),
            (true, Par::Seq),
            (true, Par::rayon(2)),
        ];
        let mut results = Vec::new();
        for &(fused, par) in &runs {
            let mut run = Run {
                params: params.clone(),
                grads: vec![T::ZERO; arch.n_params()],
                state: optimizer.init_state(arch.n_params()),
                ws: Workspace::new(arch, batch).with_par(par),
            };
            let mut losses = Vec::new();
            for _ in 0..3 {
                let loss = if fused {
                    run.ws.train_step(
                        arch,
                        &mut run.params,
                        x,
                        &y,
                        &mut run.grads,
                        &optimizer,
                        &mut run.state,
                    )
                } else {
                    let loss = run
                        .ws
                        .forward_backward(arch, &run.params, x, &y, &mut run.grads);
                    optimizer.step_par(&mut run.state, &mut run.params, &run.grads, par);
                    loss
                };
                losses.push(loss.to_f64().to_bits());
            }
            let bits = |v: &[T]| v.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>();
            results.push((
                losses,
                bits(&run.params),
                bits(&run.state.momentum),
                bits(&run.state.velocity),
                bits(&run.state.average_gradient),
                bits(run.ws.layer_buffers(1).preact_grad),
            ));
        }
        for (k, result) in results.iter().enumerate().skip(1) {
            assert!(
                result == &results[0],
                "{} {:?}: (fused, par) = {:?} differs from {:?}",
                optimizer.name(),
                optimizer,
                runs[k],
                runs[0]
            );
        }
        assert!(
            params
                .iter()
                .zip(&results[0].1)
                .any(|(a, b)| a.to_f64().to_bits() != *b),
            "the steps moved nothing"
        );
    }
}

#[test]
fn wide_train_steps_are_the_bits_of_gradients_and_step() {
    check::<f32>(&network(260, Norm::None, false, 1), 10);
    check::<f64>(&network(260, Norm::None, false, 9), 10);
    check::<f32>(&network(300, Norm::Batch, true, 9), 12);
    check::<f32>(&network(300, Norm::Layer, false, 3), 7);
}

#[test]
fn narrow_train_steps_are_the_bits_of_gradients_and_step() {
    check::<f32>(&network(8, Norm::None, false, 1), 32);
    check::<f64>(&network(16, Norm::Layer, true, 4), 32);
}

/// The blocked products' gradients against central differences, in f64, for a
/// network whose two wide kernels (300 x 260 and 260 x 260) run in blocks of 128 rows
/// and columns with a short last block.
#[test]
fn blocked_gradients_match_finite_differences() {
    let arch = network(260, Norm::None, false, 3);
    let batch = 5;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let params: Vec<f64> = arch.init_params(&mut rng);
    let x: Vec<f64> = (0..batch * arch.inputs())
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let y: Vec<f64> = (0..3)
        .flat_map(|c| (0..batch).map(move |i| f64::from(u8::from(i % 3 == c))))
        .collect();
    let x = MatRef::from_column_major_slice(&x, batch, arch.inputs());
    let mut ws = Workspace::new(&arch, batch).with_par(Par::rayon(2));
    let mut grads = vec![0.0; arch.n_params()];
    ws.forward_backward(&arch, &params, x, &y, &mut grads);
    let mut loss_at = |p: &[f64]| {
        ws.forward(&arch, p, x);
        ws.loss(&arch, &y)
    };
    // Entries in every block of rows and columns of both wide kernels, and around.
    let mut worst: f64 = 0.0;
    for s in &arch.shapes()[..3] {
        for (i, j) in [
            (0, 0),
            (127, 128),
            (128, 127),
            (s.fan_in - 1, s.units - 1),
            (255, 3),
            (s.fan_in / 2, 259.min(s.units - 1)),
        ] {
            if i >= s.fan_in || j >= s.units {
                continue;
            }
            let k = s.kernel.start + i + j * s.fan_in;
            let h = 1e-5;
            let mut p = params.clone();
            p[k] += h;
            let up = loss_at(&p);
            p[k] -= 2.0 * h;
            let down = loss_at(&p);
            let numeric = (up - down) / (2.0 * h);
            let err = (grads[k] - numeric).abs() / grads[k].abs().max(numeric.abs()).max(1e-6);
            worst = worst.max(err);
        }
    }
    assert!(worst < 1e-5, "worst relative error {worst:e}");
}
