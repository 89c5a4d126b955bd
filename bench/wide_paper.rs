//! Glorot & Bengio's network at the paper's scale (`just bench`, `cargo bench -p
//! vanishing-core --bench wide_paper`): 1,024 inputs, 5 hidden layers of 1,000 units,
//! a 9-way softmax, minibatches of 10, f32. One training step (forward, backward,
//! update, through the core's public API as the train crate calls it) against the same
//! step's matrix products alone through faer (the same shapes, operand layouts,
//! accumulation and `Par`), each on one thread (`Par::Seq`) and on two
//! (`Par::rayon(2)`).
//!
//! The products alone are whole faer products (faer's own threads on `Par::rayon(2)`),
//! in the layouts the step uses (the input gradient as its transpose `W D^T`, which
//! faer writes about twice as fast) and, for comparison, in the layouts the step used
//! before (`D W^T`).
//!
//! Wall time on a shared machine drifts by half over minutes, so the six measurements
//! of a configuration run interleaved, one of each per round, in an order that rotates
//! every round, and every ratio is the median over rounds of the ratio within a round.
//! Set `VANISHING_BENCH_ROUNDS` for more or fewer than 41 rounds.
#![allow(clippy::print_stdout)] // A benchmark prints its table.

use std::hint::black_box;
use std::time::Instant;

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use vanishing_core::{
    Activation, Architecture, Init, LayerSpec, Loss, MatRef, Optimizer, Par, RmsProp, Sgd,
    Workspace,
};

const INPUTS: usize = 1024;
const WIDTH: usize = 1000;
const HIDDEN: usize = 5;
const CLASSES: usize = 9;
const BATCH: usize = 10;

/// How a step is taken.
#[derive(Clone, Copy, PartialEq)]
enum Path {
    /// `Workspace::forward_backward` then `Optimizer::step_par`: the gradient of every
    /// parameter is written out (as recording reads it), then applied.
    Gradients,
    /// `Workspace::train_step`: the same bits, each layer updated as soon as the
    /// backward pass is done with it, wide kernels block by block.
    Fused,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Self::Gradients => "forward_backward + step_par",
            Self::Fused => "train_step",
        }
    }
}

struct Config {
    activation: Activation,
    optimizer: Optimizer,
    path: Path,
}

fn architecture(activation: Activation) -> Architecture {
    let mut layers: Vec<LayerSpec> = (0..HIDDEN)
        .map(|_| LayerSpec::dense(WIDTH, activation, Init::Standard))
        .collect();
    layers.push(LayerSpec::dense(
        CLASSES,
        Activation::Softmax,
        Init::Standard,
    ));
    Architecture::new(INPUTS, layers, Loss::CategoricalCrossEntropy).unwrap()
}

/// A network, its data and its buffers for one thread count.
struct Net {
    arch: Architecture,
    params: Vec<f32>,
    grads: Vec<f32>,
    workspace: Workspace<f32>,
    optimizer: Optimizer,
    state: vanishing_core::OptimizerState<f32>,
    x: Vec<f32>,
    y: Vec<f32>,
    par: Par,
    path: Path,
}

impl Net {
    fn new(config: &Config, par: Par) -> Self {
        let arch = architecture(config.activation);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let params = arch.init_params::<f32, _>(&mut rng);
        // Grey levels in [0, 1], as Shapeset's, and one-hot targets of every class.
        let x = (0..BATCH * INPUTS)
            .map(|i| ((i * 7919) % 256) as f32 / 255.0)
            .collect();
        let y = (0..CLASSES)
            .flat_map(|c| (0..BATCH).map(move |i| f32::from(u8::from(i % CLASSES == c))))
            .collect();
        Self {
            grads: vec![0.0; arch.n_params()],
            workspace: Workspace::new(&arch, BATCH).with_par(par),
            state: config.optimizer.init_state(arch.n_params()),
            optimizer: config.optimizer,
            arch,
            params,
            x,
            y,
            par,
            path: config.path,
        }
    }

    fn step(&mut self) -> f32 {
        let x = MatRef::from_column_major_slice(&self.x, BATCH, INPUTS);
        match self.path {
            Path::Gradients => {
                let loss = self.workspace.forward_backward(
                    &self.arch,
                    &self.params,
                    x,
                    &self.y,
                    &mut self.grads,
                );
                self.optimizer
                    .step_par(&mut self.state, &mut self.params, &self.grads, self.par);
                loss
            }
            Path::Fused => self.workspace.train_step(
                &self.arch,
                &mut self.params,
                x,
                &self.y,
                &mut self.grads,
                &self.optimizer,
                &mut self.state,
            ),
        }
    }
}

/// One layer's operands of a step's products, in the layouts the core's kernels pass
/// them: the kernel `W` (`fan_in x units`, column-major, read by the forward product
/// and by the input gradient, as in the step), its gradient, and the small
/// `batch x ...` matrices.
struct LayerOperands {
    w: Mat<f32>,
    dw: Mat<f32>,
    a: Mat<f32>,
    z: Mat<f32>,
    d: Mat<f32>,
    d_prev: Mat<f32>,
    d_prev_t: Mat<f32>,
}

/// Every layer's operands of `arch`.
fn products(arch: &Architecture) -> Vec<LayerOperands> {
    let fill = |m: usize, n: usize, seed: usize| {
        Mat::from_fn(m, n, |i, j| {
            (((i * 31 + j * 17 + seed) % 97) as f32 - 48.0) / 970.0
        })
    };
    arch.shapes()
        .iter()
        .map(|s| {
            let (k, n) = (s.fan_in, s.units);
            LayerOperands {
                w: fill(k, n, 1),
                dw: fill(k, n, 2),
                a: fill(BATCH, k, 3),
                z: fill(BATCH, n, 4),
                d: fill(BATCH, n, 5),
                d_prev: fill(BATCH, k, 6),
                d_prev_t: fill(k, BATCH, 7),
            }
        })
        .collect()
}

/// How the products alone are laid out.
#[derive(Clone, Copy)]
enum Layout {
    /// As the step computes them: the input gradient as its transpose `W D^T` into a
    /// column-major `fan_in x batch` matrix, which faer writes about twice as fast.
    Step,
    /// The input gradient as `D W^T` into the layer's `batch x fan_in` layout, as the
    /// step computed it before.
    Former,
}

/// The step's products, each one whole faer product on `par`: per layer the forward
/// product `Z += A W` (the step accumulates it onto the broadcast bias), then from the
/// output layer down the input gradient (except for the first layer) and the kernel
/// gradient `dW = A^T D`.
fn run_products(layers: &mut [LayerOperands], layout: Layout, par: Par) {
    for o in layers.iter_mut() {
        matmul(
            o.z.as_mut(),
            Accum::Add,
            o.a.as_ref(),
            o.w.as_ref(),
            1.0,
            par,
        );
    }
    for (l, o) in layers.iter_mut().enumerate().rev() {
        if l > 0 {
            match layout {
                Layout::Step => matmul(
                    o.d_prev_t.as_mut(),
                    Accum::Replace,
                    o.w.as_ref(),
                    o.d.as_ref().transpose(),
                    1.0,
                    par,
                ),
                Layout::Former => matmul(
                    o.d_prev.as_mut(),
                    Accum::Replace,
                    o.d.as_ref(),
                    o.w.as_ref().transpose(),
                    1.0,
                    par,
                ),
            }
        }
        matmul(
            o.dw.as_mut(),
            Accum::Replace,
            o.a.as_ref().transpose(),
            o.d.as_ref(),
            1.0,
            par,
        );
    }
    black_box(layers);
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Seconds per call of `f`, over `REPEATS` calls in a row.
fn seconds(mut f: impl FnMut()) -> f64 {
    let repeats: usize = std::env::var("VANISHING_BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let start = Instant::now();
    for _ in 0..repeats {
        f();
    }
    start.elapsed().as_secs_f64() / repeats as f64
}

/// The measurements of one round, in milliseconds: the step and its products (in the
/// step's layouts, and in the former ones) on one and on two threads.
const COLUMNS: [&str; 6] = [
    "step 1",
    "step 2",
    "products 1",
    "products 2",
    "former products 1",
    "former products 2",
];

fn measure(config: &Config, rounds: usize) {
    let two = Par::rayon(2);
    let mut nets = [Net::new(config, Par::Seq), Net::new(config, two)];
    let arch = architecture(config.activation);
    let mut prods = [products(&arch), products(&arch)];
    let mut times: Vec<[f64; 6]> = Vec::with_capacity(rounds);
    let warmup = 3;
    for round in 0..warmup + rounds {
        let mut t = [0.0; 6];
        for i in 0..6 {
            let which = (i + round) % 6;
            t[which] = 1e3
                * match which {
                    0 => seconds(|| {
                        black_box(nets[0].step());
                    }),
                    1 => seconds(|| {
                        black_box(nets[1].step());
                    }),
                    2 => seconds(|| run_products(&mut prods[0], Layout::Step, Par::Seq)),
                    3 => seconds(|| run_products(&mut prods[1], Layout::Step, two)),
                    4 => seconds(|| run_products(&mut prods[0], Layout::Former, Par::Seq)),
                    _ => seconds(|| run_products(&mut prods[1], Layout::Former, two)),
                };
        }
        if round >= warmup {
            times.push(t);
        }
    }
    let col = |k: usize| -> f64 { median(&mut times.iter().map(|t| t[k]).collect::<Vec<_>>()) };
    // The median over rounds of a ratio within a round.
    let paired = |a: usize, b: usize| -> f64 {
        median(&mut times.iter().map(|t| t[a] / t[b]).collect::<Vec<_>>())
    };
    println!(
        "{} {}, {} ({rounds} rounds)",
        config.activation,
        config.optimizer.name(),
        config.path.name(),
    );
    println!(
        "  medians (ms): {}",
        (0..6)
            .map(|k| format!("{} {:.2}", COLUMNS[k], col(k)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  step / products: 1 thread {:.2}x, 2 threads {:.2}x   (against the former layouts: {:.2}x, {:.2}x)",
        paired(0, 2),
        paired(1, 3),
        paired(0, 4),
        paired(1, 5),
    );
    println!(
        "  1 thread / 2 threads: step {:.2}x, products {:.2}x, former products {:.2}x",
        paired(0, 1),
        paired(2, 3),
        paired(4, 5),
    );
}

/// `VANISHING_BENCH_PROFILE=step1|step2|products1|products2[:N]`: only that
/// measurement of the first configuration, `N` (200) times, for a profiler.
fn profile(spec: &str, config: &Config) {
    let (what, times) = spec.split_once(':').unwrap_or((spec, "200"));
    let times: usize = times.parse().expect("VANISHING_BENCH_PROFILE=what:count");
    let two = Par::rayon(2);
    let mut net = Net::new(config, if what.ends_with('2') { two } else { Par::Seq });
    let mut prods = products(&net.arch);
    for _ in 0..times {
        match what {
            "step1" | "step2" => {
                black_box(net.step());
            }
            "products1" => run_products(&mut prods, Layout::Step, Par::Seq),
            "products2" => run_products(&mut prods, Layout::Step, two),
            other => panic!("unknown profile {other}"),
        }
    }
}

fn main() {
    let rounds = std::env::var("VANISHING_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(41);
    let sgd = Optimizer::Sgd(Sgd {
        learning_rate: 0.01,
        ..Sgd::default()
    });
    let rmsprop = Optimizer::RmsProp(RmsProp::default());
    let configs = [
        Config {
            activation: Activation::Tanh,
            optimizer: sgd,
            path: Path::Fused,
        },
        Config {
            activation: Activation::Sigmoid,
            optimizer: sgd,
            path: Path::Fused,
        },
        Config {
            activation: Activation::Tanh,
            optimizer: rmsprop,
            path: Path::Fused,
        },
        Config {
            activation: Activation::Tanh,
            optimizer: sgd,
            path: Path::Gradients,
        },
        Config {
            activation: Activation::Sigmoid,
            optimizer: sgd,
            path: Path::Gradients,
        },
        Config {
            activation: Activation::Tanh,
            optimizer: rmsprop,
            path: Path::Gradients,
        },
    ];
    if let Ok(what) = std::env::var("VANISHING_BENCH_PROFILE") {
        profile(&what, &configs[0]);
        return;
    }
    println!(
        "{INPUTS}-{WIDTH}x{HIDDEN}-{CLASSES} softmax, minibatch {BATCH}, f32: medians over rounds"
    );
    for config in &configs {
        measure(config, rounds);
    }
}
