//! The wide network (`just bench`): 2 inputs, 10 hidden layers of 512 tanh units, one
//! output, batches of 256. A training step (forward, backward, RMSprop update) against
//! the same matrix products through faer alone, in f32 and f64, on one and two threads.
//! The throughput column counts floating-point operations of the products as items, so
//! "Mitem/s" reads as MFLOP/s.

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

const BATCH: usize = 256;
const WIDTH: usize = 512;
const HIDDEN: usize = 10;
const INPUTS: usize = 2;

fn architecture() -> Architecture {
    let mut layers: Vec<LayerSpec> = (0..HIDDEN)
        .map(|_| LayerSpec {
            units: WIDTH,
            activation: Activation::Tanh,
            init: Init::GlorotUniform,
        })
        .collect();
    layers.push(LayerSpec {
        units: 1,
        activation: Activation::Sigmoid,
        init: Init::GlorotUniform,
    });
    Architecture::new(INPUTS, layers, Loss::BinaryCrossEntropy).unwrap()
}

/// (rows, inner, cols) of every product in one step: per layer the forward product,
/// the kernel gradient, and (except for the first layer) the input gradient.
fn products(arch: &Architecture) -> Vec<(usize, usize, usize)> {
    let mut shapes = Vec::new();
    for (l, s) in arch.shapes().iter().enumerate() {
        shapes.push((BATCH, s.fan_in, s.units));
        shapes.push((s.fan_in, BATCH, s.units));
        if l > 0 {
            shapes.push((BATCH, s.units, s.fan_in));
        }
    }
    shapes
}

fn flops(arch: &Architecture) -> ItemsCount {
    ItemsCount::new(
        products(arch)
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

fn step<T: Scalar>(bencher: Bencher, threads: usize) {
    let arch = architecture();
    let mut params = arch.init_params::<T, _>(&mut ChaCha8Rng::seed_from_u64(0));
    let mut grads = vec![T::ZERO; arch.n_params()];
    let optimizer = Optimizer::RmsProp(RmsProp::default());
    let mut state = optimizer.init_state(arch.n_params());
    let mut workspace = Workspace::new(&arch, BATCH).with_par(par(threads));
    let x: Vec<T> = (0..BATCH * INPUTS)
        .map(|i| T::from_f64((i as f64 * 0.37).sin()))
        .collect();
    let y: Vec<T> = (0..BATCH).map(|i| T::from_f64((i % 2) as f64)).collect();
    bencher.counter(flops(&arch)).bench_local(|| {
        let loss = workspace.forward_backward(
            &arch,
            &params,
            MatRef::from_column_major_slice(&x, BATCH, INPUTS),
            &y,
            &mut grads,
        );
        optimizer.step(&mut state, &mut params, &grads);
        loss
    });
}

fn matmuls_alone<T: Scalar>(bencher: Bencher, threads: usize) {
    let arch = architecture();
    let mut operands: Vec<(Mat<T>, Mat<T>, Mat<T>)> = products(&arch)
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
    bencher.counter(flops(&arch)).bench_local(|| {
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
    step::<f32>(bencher, threads);
}

/// The same step in f64.
#[divan::bench(args = [1, 2], sample_count = 20)]
fn step_f64(bencher: Bencher, threads: usize) {
    step::<f64>(bencher, threads);
}

/// Only the step's matrix products, through faer.
#[divan::bench(args = [1, 2], sample_count = 20)]
fn matmuls_f32(bencher: Bencher, threads: usize) {
    matmuls_alone::<f32>(bencher, threads);
}

/// The same products in f64.
#[divan::bench(args = [1, 2], sample_count = 20)]
fn matmuls_f64(bencher: Bencher, threads: usize) {
    matmuls_alone::<f64>(bencher, threads);
}
