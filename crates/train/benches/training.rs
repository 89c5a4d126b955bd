//! Training benchmarks (`just bench`): one step of the tutorial network, whole
//! 100-epoch tutorial runs under three recording policies, and the 60-run sweep on one
//! and two threads. Every number is measured by divan in this process.

use divan::Bencher;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use vanishing_core::{Activation, Init, MatRef, Optimizer, RmsProp};
use vanishing_data::Circles;
use vanishing_train::{
    DataSpec, History, Mlp, ModelSpec, Precision, RecordPolicy, RunSpec, prepare_data, train,
    train_together,
};

fn main() {
    divan::main();
}

const ACTIVATIONS: [&str; 3] = ["sigmoid", "tanh", "relu"];

fn activation(name: &str) -> Activation {
    match name {
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        _ => Activation::Relu,
    }
}

/// The tutorial's deep run: 1000 circles, 2-5-5-5-5-1, N(0, 1) kernels, RMSprop,
/// 100 epochs of batches of 32, f32.
fn tutorial(activation: Activation, init: Init, record: RecordPolicy, seed: u64) -> RunSpec {
    RunSpec {
        data: DataSpec::Circles(Circles {
            n_samples: 1000,
            factor: 0.5,
            noise: 0.1,
            shuffle: true,
        }),
        test_fraction: 0.0,
        model: ModelSpec {
            hidden: vec![5; 4],
            activation,
            output: Activation::Sigmoid,
            init,
            loss: vanishing_core::Loss::BinaryCrossEntropy,
            norm: vanishing_core::Norm::None,
            residual: false,
        },
        optimizer: Optimizer::RmsProp(RmsProp::default()),
        epochs: 100,
        batch_size: 32,
        record,
        histogram_bins: None,
        boundary_grid: 41,
        precision: Precision::F32,
        seed,
    }
}

const NORMAL: Init = Init::Normal {
    mean: 0.0,
    std: 1.0,
};

/// One training step (gradients of a batch of 32, then the RMSprop update).
#[divan::bench(args = ACTIVATIONS)]
fn step(bencher: Bencher, name: &str) {
    let spec = tutorial(activation(name), NORMAL, RecordPolicy::Epoch, 0);
    let arch = spec.architecture(2).unwrap();
    let params = arch.init_params::<f32, _>(&mut ChaCha8Rng::seed_from_u64(0));
    let mut mlp = Mlp::new(arch, params, spec.optimizer, 32);
    let data = prepare_data(&spec).unwrap().train;
    // Column-major batch of the first 32 points.
    let x: Vec<f32> = (0..2)
        .flat_map(|j| (0..32).map(move |i| (i, j)))
        .map(|(i, j)| data.row(i)[j] as f32)
        .collect();
    let y: Vec<f32> = data.labels[..32].iter().map(|&l| l as f32).collect();
    bencher.bench_local(|| {
        let loss = mlp.compute_gradients(MatRef::from_column_major_slice(&x, 32, 2), &y);
        mlp.apply_gradients();
        loss
    });
}

fn whole_run(bencher: Bencher, name: &str, record: RecordPolicy, bins: Option<usize>) {
    let mut spec = tutorial(activation(name), NORMAL, record, 0);
    spec.histogram_bins = bins;
    let data = prepare_data(&spec).unwrap();
    bencher.bench_local(|| {
        let mut history = History::default();
        train(&spec, &data, &mut history).unwrap()
    });
}

/// A whole run with the tutorial's recording: weights every epoch, gradients of the
/// first minibatch of every epoch.
#[divan::bench(args = ACTIVATIONS, sample_count = 20)]
fn run_tutorial_policy(bencher: Bencher, name: &str) {
    whole_run(bencher, name, RecordPolicy::Epoch, None);
}

/// A whole run recording every statistic of every layer at every step.
#[divan::bench(args = ACTIVATIONS, sample_count = 10)]
fn run_every_step(bencher: Bencher, name: &str) {
    whole_run(bencher, name, RecordPolicy::Step, None);
}

/// Every step, plus 20-bin histograms of every quantity.
#[divan::bench(args = ACTIVATIONS, sample_count = 10)]
fn run_every_step_histograms(bencher: Bencher, name: &str) {
    whole_run(bencher, name, RecordPolicy::Step, Some(20));
}

/// The tutorial's six RMSprop configurations (sigmoid, tanh, ReLU x N(0, 1), Glorot)
/// times 10 seeds, data generation included, on a pool of 1 or 2 threads.
#[divan::bench(args = [1, 2], sample_count = 5)]
fn sweep_60_runs(bencher: Bencher, threads: usize) {
    let specs: Vec<RunSpec> = ACTIVATIONS
        .iter()
        .flat_map(|&a| [NORMAL, Init::GlorotUniform].map(move |init| (a, init)))
        .flat_map(|(a, init)| {
            (0..10).map(move |seed| tutorial(activation(a), init, RecordPolicy::Epoch, seed))
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    bencher.bench_local(|| {
        pool.install(|| {
            specs
                .par_iter()
                .map(|spec| {
                    let data = prepare_data(spec).unwrap();
                    let mut history = History::default();
                    train(spec, &data, &mut history).unwrap().final_accuracy
                })
                .sum::<f64>()
        })
    });
}

/// 64 seeds of the tutorial's sigmoid run (tutorial recording, data prepared
/// beforehand), on one thread: each run alone, and up to eight side by side in vector
/// lanes. Divan's time is for all 64 runs.
fn sixty_four_seeds() -> (Vec<RunSpec>, Vec<vanishing_data::Split>) {
    let specs: Vec<RunSpec> = (0..64)
        .map(|seed| tutorial(Activation::Sigmoid, NORMAL, RecordPolicy::Epoch, seed))
        .collect();
    let data = specs.iter().map(|s| prepare_data(s).unwrap()).collect();
    (specs, data)
}

#[divan::bench(sample_count = 5)]
fn seeds_64_alone(bencher: Bencher) {
    let (specs, data) = sixty_four_seeds();
    bencher.bench(|| {
        for (spec, data) in specs.iter().zip(&data) {
            let mut history = History::default();
            divan::black_box(train(spec, data, &mut history).unwrap());
        }
    });
}

#[divan::bench(sample_count = 5)]
fn seeds_64_together(bencher: Bencher) {
    let (specs, data) = sixty_four_seeds();
    bencher.bench(|| {
        let mut histories = vec![History::default(); specs.len()];
        divan::black_box(train_together(&specs, &data, &mut histories).unwrap());
    });
}
