//! Wide networks (`just bench`): 2 inputs, 10 hidden layers of 512 tanh units and one
//! output on batches of 256 (f32 and f64), and Glorot & Bengio's scale, 5 hidden layers
//! of 1,000 tanh units on batches of 10 and of 32 (f32, the `paper_*` benchmarks). A
//! training step (forward, backward, RMSprop update) against the same matrix products
//! through faer alone, on one and two threads. The throughput column counts
//! floating-point operations of the products as items, so "Mitem/s" reads as MFLOP/s.

use divan::Bencher;
use divan::counter::ItemsCount;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use vanishing_core::{
    Activation, Architecture, Init, LayerSpec, Loss, MatRef, Optimizer, RmsProp, Scalar, Workspace,
};

fn main() {
    divan::main();
}

const INPUTS: usize = 2;

/// A wide network's shape and batch.
#[derive(Clone, Copy)]
struct Wide {
    batch: usize,
    width: usize,
    hidden: usize,
}

/// 10 x 512 units, batches of 256.
const DEEP: Wide = Wide {
    batch: 256,
    width: 512,
    hidden: 10,
};

/// Glorot & Bengio's 5 x 1,000 units on a batch of `batch`.
const fn paper(batch: usize) -> Wide {
    Wide {
        batch,
        width: 1000,
        hidden: 5,
    }
}

fn architecture(wide: Wide) -> Architecture {
    let mut layers: Vec<LayerSpec> = (0..wide.hidden)
        .map(|_| LayerSpec::dense(wide.width, Activation::Tanh, Init::GlorotUniform))
        .collect();
    layers.push(LayerSpec::dense(
        1,
        Activation::Sigmoid,
        Init::GlorotUniform,
    ));
    Architecture::new(INPUTS, layers, Loss::BinaryCrossEntropy).unwrap()
}

/// (rows, inner, cols) of every product in one step: per layer the forward product,
/// the kernel gradient, and (except for the first layer) the input gradient.
fn products(arch: &Architecture, batch: usize) -> Vec<(usize, usize, usize)> {
    let mut shapes = Vec::new();
    for (l, s) in arch.shapes().iter().enumerate() {
        shapes.push((batch, s.fan_in, s.units));
        shapes.push((s.fan_in, batch, s.units));
        if l > 0 {
            shapes.push((batch, s.units, s.fan_in));
        }
    }
    shapes
}

fn flops(arch: &Architecture, batch: usize) -> ItemsCount {
    ItemsCount::new(
        products(arch, batch)
            .iter()
            .map(|&(m, k, n)| 2 * m * k * n)
            .sum::<usize>(),
    )
}

fn par(threads: usize) -> Par {
    if threads == 1 {
        Par::Seq
    } else {
        Par::rayon(threads)
    }
}

fn step<T: Scalar>(bencher: Bencher, wide: Wide, threads: usize) {
    let batch = wide.batch;
    let arch = architecture(wide);
    let mut params = arch.init_params::<T, _>(&mut ChaCha8Rng::seed_from_u64(0));
    let mut grads = vec![T::ZERO; arch.n_params()];
    let optimizer = Optimizer::RmsProp(RmsProp::default());
    let mut state = optimizer.init_state(arch.n_params());
    let mut workspace = Workspace::new(&arch, batch).with_par(par(threads));
    let x: Vec<T> = (0..batch * INPUTS)
        .map(|i| T::from_f64((i as f64 * 0.37).sin()))
        .collect();
    let y: Vec<T> = (0..batch).map(|i| T::from_f64((i % 2) as f64)).collect();
    bencher.counter(flops(&arch, batch)).bench_local(|| {
        let loss = workspace.forward_backward(
            &arch,
            &params,
            MatRef::from_column_major_slice(&x, batch, INPUTS),
            &y,
            &mut grads,
        );
        optimizer.step_par(&mut state, &mut params, &grads, par(threads));
        loss
    });
}

fn matmuls_alone<T: Scalar>(bencher: Bencher, wide: Wide, threads: usize) {
    let arch = architecture(wide);
    let mut operands: Vec<(Mat<T>, Mat<T>, Mat<T>)> = products(&arch, wide.batch)
        .into_iter()
        .map(|(m, k, n)| {
            (
                Mat::zeros(m, n),
                Mat::from_fn(m, k, |i, j| T::from_f64(((i + 2 * j) as f64).sin())),
                Mat::from_fn(k, n, |i, j| T::from_f64(((3 * i + j) as f64).cos())),
            )
        })
        .collect();
    let par = par(threads);
    bencher.counter(flops(&arch, wide.batch)).bench_local(|| {
        for (dst, lhs, rhs) in &mut operands {
            matmul(
                dst.as_mut(),
                Accum::Replace,
                lhs.as_ref(),
                rhs.as_ref(),
                T::ONE,
                par,
            );
        }
    });
}

/// One training step of the wide network.
#[divan::bench(args = [1, 2], sample_count = 20)]
fn step_f32(bencher: Bencher, threads: usize) {
    step::<f32>(bencher, DEEP, threads);
}

/// The same step in f64.
#[divan::bench(args = [1, 2], sample_count = 20)]
fn step_f64(bencher: Bencher, threads: usize) {
    step::<f64>(bencher, DEEP, threads);
}

/// Only the step's matrix products, through faer.
#[divan::bench(args = [1, 2], sample_count = 20)]
fn matmuls_f32(bencher: Bencher, threads: usize) {
    matmuls_alone::<f32>(bencher, DEEP, threads);
}

/// The same products in f64.
#[divan::bench(args = [1, 2], sample_count = 20)]
fn matmuls_f64(bencher: Bencher, threads: usize) {
    matmuls_alone::<f64>(bencher, DEEP, threads);
}

/// The paper's scale as `BATCH-THREADS`: batches of 10 and 32, one and two threads.
const PAPER: [&str; 4] = ["10-1", "10-2", "32-1", "32-2"];

fn paper_args(arg: &str) -> (Wide, usize) {
    let (batch, threads) = arg.split_once('-').unwrap();
    (paper(batch.parse().unwrap()), threads.parse().unwrap())
}

/// One training step of 5 x 1,000 tanh units, f32.
#[divan::bench(args = PAPER, sample_count = 20)]
fn paper_step_f32(bencher: Bencher, arg: &str) {
    let (wide, threads) = paper_args(arg);
    step::<f32>(bencher, wide, threads);
}

/// Only that step's matrix products, through faer.
#[divan::bench(args = PAPER, sample_count = 20)]
fn paper_matmuls_f32(bencher: Bencher, arg: &str) {
    let (wide, threads) = paper_args(arg);
    matmuls_alone::<f32>(bencher, wide, threads);
}
