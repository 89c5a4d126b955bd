//! Back-propagation against finite differences, in f64, for every activation, several
//! initializers, one to six hidden layers, and every loss (a softmax over four classes
//! for categorical cross-entropy).
//!
//! The numerical derivative is a five-point central difference,
//! `D(h) = (-L(p+2h) + 8L(p+h) - 8L(p-h) + L(p-2h)) / 12h`, at `h = 1e-3` and `h/2`,
//! combined as `D(h/2) + (D(h/2) - D(h)) / 15` so that the truncation error is of order
//! `h^6`. Piecewise-linear activations (ReLU, leaky ReLU) have kinks: if any unit's
//! pre-activation changes sign between the stencil points, the difference straddles a
//! kink and means nothing, so the step is shrunk until no unit crosses.
//!
//! The error measure is `|analytic - numeric| / max(|analytic|, |numeric|, 1e-6 s)`
//! with `s = max(1, |L|)`: the relative error for every gradient above `1e-6 s`. Below
//! that (a deep sigmoid network's first layers, dead ReLU units with gradients of
//! exactly zero) it bounds the absolute error by `1e-12 s`, which is what a difference
//! quotient in f64 can resolve: each loss value carries a rounding error of about
//! `1e-16 |L|`, divided by a step of 5e-4.
#![allow(clippy::print_stderr)] // Prints the measured errors for the record.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};
use vanishing_core::{Activation, Architecture, Init, LayerSpec, Loss, MatRef, Norm, Workspace};

const INPUTS: usize = 3;
const WIDTH: usize = 4;
const BATCH: usize = 7;
const TOLERANCE: f64 = 1e-6;
const FLOOR: f64 = 1e-6;
/// Output units of a softmax network (two for the other losses).
const CLASSES: usize = 4;

/// What the layers add to a plain dense network.
#[derive(Debug, Clone, Copy, Default)]
struct Variant {
    /// Normalization of every hidden layer.
    norm: Norm,
    /// Whether hidden layers after the first are residual.
    residual: bool,
    /// Normalization of the output layer.
    output_norm: Norm,
}

struct Problem {
    arch: Architecture,
    params: Vec<f64>,
    x: Vec<f64>,
    y: Vec<f64>,
}

impl Problem {
    fn new(hidden: usize, activation: Activation, init: Init, loss: Loss, seed: u64) -> Self {
        Self::with_layers(hidden, activation, init, loss, Variant::default(), seed)
    }

    fn with_layers(
        hidden: usize,
        activation: Activation,
        init: Init,
        loss: Loss,
        variant: Variant,
        seed: u64,
    ) -> Self {
        let (output, outputs) = match loss {
            Loss::BinaryCrossEntropy => (Activation::Sigmoid, 2),
            Loss::MeanSquaredError => (Activation::Tanh, 2),
            Loss::CategoricalCrossEntropy => (Activation::Softmax, CLASSES),
        };
        let mut layers: Vec<LayerSpec> = (0..hidden)
            .map(|l| LayerSpec {
                norm: variant.norm,
                // The first hidden layer maps 3 inputs to 4 units: no skip is possible.
                residual: variant.residual && l > 0,
                ..LayerSpec::dense(WIDTH, activation, init)
            })
            .collect();
        layers.push(LayerSpec {
            norm: variant.output_norm,
            ..LayerSpec::dense(outputs, output, init)
        });
        let arch = Architecture::new(INPUTS, layers, loss).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params: Vec<f64> = arch.init_params(&mut rng);
        // Non-zero biases and shifts, and scales away from one, so that their gradients
        // are exercised away from where they start.
        let bias = Uniform::new(-0.5, 0.5).unwrap();
        let scale = Uniform::new(0.5, 1.5).unwrap();
        for s in arch.shapes() {
            for b in &mut params[s.bias.clone()] {
                *b = bias.sample(&mut rng);
            }
            for g in &mut params[s.scale.clone()] {
                *g = scale.sample(&mut rng);
            }
            for b in &mut params[s.shift.clone()] {
                *b = bias.sample(&mut rng);
            }
        }
        let x = (0..BATCH * INPUTS)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let y = if loss == Loss::CategoricalCrossEntropy {
            // One-hot, column-major: sample `i` belongs to class `(3 i + seed) % 4`, so
            // every class occurs.
            let class = |i: usize| (3 * i + seed as usize) % CLASSES;
            (0..CLASSES)
                .flat_map(|c| (0..BATCH).map(move |i| if class(i) == c { 1.0 } else { 0.0 }))
                .collect()
        } else {
            (0..BATCH * 2)
                .map(|i| if i % 3 == 0 { 1.0 } else { 0.0 })
                .collect()
        };
        Self { arch, params, x, y }
    }

    fn x(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.x, BATCH, INPUTS)
    }

    /// The loss at `params`, and the sign pattern of every pre-activation.
    fn loss(&self, ws: &mut Workspace<f64>, params: &[f64]) -> (f64, Vec<bool>) {
        ws.forward(&self.arch, params, self.x());
        let signs = (0..self.arch.layers().len())
            .flat_map(|l| {
                let z = ws.preactivation(l);
                (0..z.ncols()).flat_map(move |j| (0..z.nrows()).map(move |i| z[(i, j)] > 0.0))
            })
            .collect();
        (ws.loss(&self.arch, &self.y), signs)
    }

    /// The five-point difference for parameter `k` at steps `h` and `h/2`, combined by
    /// Richardson extrapolation, with the step shrunk until no pre-activation changes
    /// sign within the stencil.
    fn numeric(&self, ws: &mut Workspace<f64>, k: usize) -> f64 {
        let (_, base_signs) = self.loss(ws, &self.params);
        let mut h = 1e-3 * self.params[k].abs().max(1.0);
        let mut p = self.params.clone();
        loop {
            let mut stencil = |h: f64| {
                let mut at = |offset: f64| {
                    p[k] = self.params[k] + offset;
                    self.loss(ws, &p)
                };
                let points = [at(2.0 * h), at(h), at(-h), at(-2.0 * h)];
                let smooth = points.iter().all(|(_, signs)| *signs == base_signs);
                let [(l2, _), (l1, _), (m1, _), (m2, _)] = points;
                ((-l2 + 8.0 * l1 - 8.0 * m1 + m2) / (12.0 * h), smooth)
            };
            let (coarse, smooth_coarse) = stencil(h);
            let (fine, smooth_fine) = stencil(h / 2.0);
            if (smooth_coarse && smooth_fine) || h < 1e-9 {
                // The five-point error is c h^4 + O(h^6): 16 fine - coarse cancels c.
                return fine + (fine - coarse) / 15.0;
            }
            h /= 8.0;
        }
    }

    /// The largest error over all parameters, and the gradient where it occurs.
    fn worst_error(&self) -> (f64, f64) {
        let mut ws = Workspace::new(&self.arch, BATCH);
        let mut grads = vec![0.0; self.arch.n_params()];
        ws.forward_backward(&self.arch, &self.params, self.x(), &self.y, &mut grads);
        let floor = FLOOR * self.loss(&mut ws, &self.params).0.abs().max(1.0);
        let mut worst = (0.0, 0.0);
        // A batch-normalized layer's bias shifts every row of a unit alike, which the
        // normalization subtracts again: its gradient is exactly zero (the core writes
        // it so), and a difference quotient would measure only rounding noise.
        let redundant: Vec<usize> = self
            .arch
            .layers()
            .iter()
            .zip(self.arch.shapes())
            .filter(|(layer, _)| layer.norm == Norm::Batch)
            .flat_map(|(_, s)| s.bias.clone())
            .collect();
        for (k, &analytic) in grads.iter().enumerate() {
            if redundant.contains(&k) {
                assert_eq!(
                    analytic.to_bits(),
                    0.0_f64.to_bits(),
                    "a batch-normalized bias"
                );
                continue;
            }
            let numeric = self.numeric(&mut ws, k);
            let err = (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(floor);
            if err > worst.0 {
                worst = (err, analytic);
            }
        }
        worst
    }
}

fn activations() -> Vec<Activation> {
    vec![
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu { alpha: 0.2 },
        Activation::Softsign,
        Activation::Linear,
    ]
}

fn inits() -> Vec<Init> {
    vec![
        Init::Normal {
            mean: 0.0,
            std: 1.0,
        },
        Init::GlorotUniform,
        Init::HeNormal,
        Init::Standard,
    ]
}

#[test]
fn gradients_match_finite_differences() {
    let mut seed = 0;
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for loss in [
        Loss::BinaryCrossEntropy,
        Loss::MeanSquaredError,
        Loss::CategoricalCrossEntropy,
    ] {
        for activation in activations() {
            let mut worst_for_activation: f64 = 0.0;
            for init in inits() {
                for hidden in 0..=6 {
                    seed += 1;
                    let problem = Problem::new(hidden, activation, init, loss, seed);
                    let (err, grad) = problem.worst_error();
                    worst_for_activation = worst_for_activation.max(err);
                    if err >= TOLERANCE {
                        failures.push(format!(
                            "{} {activation} {} with {hidden} hidden layers: error {err:e} at a gradient of {grad:e}",
                            loss.name(),
                            init.name()
                        ));
                    }
                }
            }
            report.push(format!(
                "{} {activation}: worst error {worst_for_activation:.2e}",
                loss.name()
            ));
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "gradient check failed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn normalized_and_residual_gradients_match_finite_differences() {
    // Batch normalization's gradient runs through the batch's own mean and variance
    // (the loss below is computed with batch statistics, as while training), layer
    // normalization's through every row's; residual layers add the identity path.
    let mut variants = Vec::new();
    for norm in [Norm::None, Norm::Batch, Norm::Layer] {
        for residual in [false, true] {
            variants.push(Variant {
                norm,
                residual,
                output_norm: Norm::None,
            });
        }
    }
    variants.push(Variant {
        norm: Norm::Batch,
        residual: true,
        output_norm: Norm::Batch,
    });
    let mut seed = 1000;
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for variant in variants {
        let mut worst: f64 = 0.0;
        for loss in [
            Loss::BinaryCrossEntropy,
            Loss::MeanSquaredError,
            Loss::CategoricalCrossEntropy,
        ] {
            for activation in [
                Activation::Sigmoid,
                Activation::Tanh,
                Activation::Relu,
                Activation::Softsign,
            ] {
                for hidden in 1..=4 {
                    seed += 1;
                    let problem = Problem::with_layers(
                        hidden,
                        activation,
                        Init::GlorotUniform,
                        loss,
                        variant,
                        seed,
                    );
                    let (err, grad) = problem.worst_error();
                    worst = worst.max(err);
                    if err >= TOLERANCE {
                        failures.push(format!(
                            "{variant:?} {} {activation}, {hidden} hidden layers: error {err:e} at a gradient of {grad:e}",
                            loss.name()
                        ));
                    }
                }
            }
        }
        report.push(format!("{variant:?}: worst error {worst:.2e}"));
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "gradient check failed:\n{}",
        failures.join("\n")
    );
}
