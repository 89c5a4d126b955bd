//! The per-step cost of normalization and skip connections (`just bench`): one training
//! step (forward and backward pass, the moving statistics' update, an Adam update) of
//! the remedies experiment's network, 2 inputs, 20 hidden sigmoid layers of 8 units and
//! one output, on minibatches of 32 rows in f32, plain, with batch or layer
//! normalization, and with residual connections.

use divan::Bencher;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use vanishing_core::{
    Activation, Adam, Architecture, Init, LayerSpec, Loss, MatRef, Norm, Optimizer, Workspace,
};

fn main() {
    divan::main();
}

const BATCH: usize = 32;

/// `NORM` or `NORM-residual`.
const VARIANTS: [&str; 6] = [
    "none",
    "batch",
    "layer",
    "none-residual",
    "batch-residual",
    "layer-residual",
];

#[divan::bench(args = VARIANTS)]
fn step_f32(bencher: Bencher, variant: &str) {
    let (norm, residual) = match variant.split_once('-') {
        Some((norm, _)) => (norm, true),
        None => (variant, false),
    };
    let norm = match norm {
        "batch" => Norm::Batch,
        "layer" => Norm::Layer,
        _ => Norm::None,
    };
    let mut layers: Vec<LayerSpec> = (0..20)
        .map(|l| LayerSpec {
            norm,
            residual: residual && l > 0,
            ..LayerSpec::dense(8, Activation::Sigmoid, Init::GlorotUniform)
        })
        .collect();
    layers.push(LayerSpec::dense(
        1,
        Activation::Sigmoid,
        Init::GlorotUniform,
    ));
    let arch = Architecture::new(2, layers, Loss::BinaryCrossEntropy).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut params: Vec<f32> = arch.init_params(&mut rng);
    let mut moving: Vec<f32> = arch.init_state();
    let x: Vec<f32> = (0..BATCH * 2)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let y: Vec<f32> = (0..BATCH).map(|i| (i % 2) as f32).collect();
    let x = MatRef::from_column_major_slice(&x, BATCH, 2);
    let optimizer = Optimizer::Adam(Adam::default());
    let mut slots = optimizer.init_state::<f32>(arch.n_params());
    let mut grads = vec![0.0; arch.n_params()];
    let mut ws = Workspace::new(&arch, BATCH);
    bencher.bench_local(|| {
        let loss = ws.forward_backward(&arch, &params, x, &y, &mut grads);
        ws.update_moving_statistics(&arch, &mut moving);
        optimizer.step(&mut slots, &mut params, &grads);
        loss
    });
}
