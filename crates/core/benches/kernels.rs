//! The dense kernels at small shapes (`just bench`): one layer's three products (the
//! forward product with its bias, the kernel gradient, the input gradient) through
//! faer's `matmul` against the loop forms in `kernels::loops`, in f32 on one thread.
//! Shapes read `batch x fan_in x units`; they are the tutorial network's layers, its
//! per-epoch evaluation over 1,000 rows, and widths around `kernels::SMALL_KERNEL`.

use divan::Bencher;
use faer::reborrow::ReborrowMut;
use faer::{Accum, MatMut, MatRef, Par};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use vanishing_core::kernels::{gemm, loops};

fn main() {
    divan::main();
}

const SHAPES: [&str; 11] = [
    "128x5x5",
    "256x5x5",
    "32x8x8",
    "32x2x5",
    "32x5x5",
    "32x5x1",
    "1000x5x5",
    "32x16x16",
    "32x32x32",
    "256x32x32",
    "256x64x64",
];

struct Layer {
    batch: usize,
    fan_in: usize,
    units: usize,
    a: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    d: Vec<f32>,
    z: Vec<f32>,
    dw: Vec<f32>,
    dp: Vec<f32>,
}

impl Layer {
    fn new(shape: &str) -> Self {
        let dims: Vec<usize> = shape.split('x').map(|v| v.parse().unwrap()).collect();
        let (batch, fan_in, units) = (dims[0], dims[1], dims[2]);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut random = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    let v: f64 = StandardNormal.sample(&mut rng);
                    v as f32
                })
                .collect()
        };
        Self {
            a: random(batch * fan_in),
            w: random(fan_in * units),
            b: random(units),
            d: random(batch * units),
            z: vec![0.0; batch * units],
            dw: vec![0.0; fan_in * units],
            dp: vec![0.0; batch * fan_in],
            batch,
            fan_in,
            units,
        }
    }

    /// The three products through faer, as the dense kernels call it above the
    /// threshold.
    fn faer(&mut self) {
        let (batch, fan_in, units) = (self.batch, self.fan_in, self.units);
        let a = MatRef::from_column_major_slice(&self.a, batch, fan_in);
        let w = MatRef::from_column_major_slice(&self.w, fan_in, units);
        let d = MatRef::from_column_major_slice(&self.d, batch, units);
        let mut z = MatMut::from_column_major_slice_mut(&mut self.z, batch, units);
        for (j, &bj) in self.b.iter().enumerate() {
            z.rb_mut().col_mut(j).fill(bj);
        }
        gemm(z, Accum::Add, a, w, 1.0, Par::Seq);
        let dw = MatMut::from_column_major_slice_mut(&mut self.dw, fan_in, units);
        gemm(dw, Accum::Replace, a.transpose(), d, 1.0, Par::Seq);
        let dp = MatMut::from_column_major_slice_mut(&mut self.dp, batch, fan_in);
        gemm(dp, Accum::Replace, d, w.transpose(), 1.0, Par::Seq);
    }

    /// The same three products through the loop forms.
    fn loops(&mut self) {
        let (batch, fan_in, units) = (self.batch, self.fan_in, self.units);
        let a = MatRef::from_column_major_slice(&self.a, batch, fan_in);
        let w = MatRef::from_column_major_slice(&self.w, fan_in, units);
        let d = MatRef::from_column_major_slice(&self.d, batch, units);
        let z = MatMut::from_column_major_slice_mut(&mut self.z, batch, units);
        loops::dense_forward(z, a, w, &self.b);
        let dw = MatMut::from_column_major_slice_mut(&mut self.dw, fan_in, units);
        loops::weight_grad(dw, a, d);
        let dp = MatMut::from_column_major_slice_mut(&mut self.dp, batch, fan_in);
        loops::input_grad(dp, d, w);
    }
}

/// A layer's forward product with its bias, kernel gradient and input gradient through
/// faer.
#[divan::bench(args = SHAPES)]
fn faer(bencher: Bencher, shape: &str) {
    let mut layer = Layer::new(shape);
    bencher.bench_local(|| layer.faer());
}

/// The same three products through the loop forms.
#[divan::bench(args = SHAPES)]
fn loops(bencher: Bencher, shape: &str) {
    let mut layer = Layer::new(shape);
    bencher.bench_local(|| layer.loops());
}
