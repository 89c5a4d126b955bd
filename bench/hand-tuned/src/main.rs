//! A hand-tuned, single-purpose training loop of the tutorial's network, the yardstick
//! `just bench-run` holds `vanishing` against: 2-5-5-5-5-1 with sigmoid units, kernels
//! from N(0, 1), binary cross-entropy, RMSprop (Keras' defaults), minibatches of 32 over
//! 1,000 noisy circles, 100 epochs, and per layer the mean and standard deviation of the
//! kernel and its gradient after every epoch. Nothing else: no evaluation, no files, no
//! generality. Every tensor is stored unit by unit with the minibatch contiguous, and
//! every size is a constant, so the compiler unrolls and vectorizes over the batch.
//!
//! `hand-tuned RUNS` trains RUNS runs (seeds 0..RUNS) one after the other and prints the
//! mean time per run; the checksum of the recorded statistics keeps the work observable.

use std::time::Instant;

const N: usize = 1000;
const B: usize = 32;
const EPOCHS: usize = 100;
const TAIL: usize = N % B;
const WIDTH: [usize; 6] = [2, 5, 5, 5, 5, 1];
const LAYERS: usize = 5;
const MAX: usize = 5;
const LR: f32 = 1e-3;
const RHO: f32 = 0.9;
const EPS: f32 = 1e-7;

/// SplitMix64: enough randomness for a benchmark's data, initialization and shuffles.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-300), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Two concentric noisy circles (scikit-learn's `make_circles`, factor 0.5, noise 0.1).
fn circles(rng: &mut Rng) -> ([Vec<f32>; 2], Vec<f32>) {
    let (mut x0, mut x1, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..N {
        let inner = i >= N / 2;
        let t = std::f64::consts::TAU * rng.uniform();
        let r = if inner { 0.5 } else { 1.0 };
        x0.push((r * t.cos() + 0.1 * rng.normal()) as f32);
        x1.push((r * t.sin() + 0.1 * rng.normal()) as f32);
        y.push(f32::from(u8::from(inner)));
    }
    ([x0, x1], y)
}

/// `e^x` in branch-free arithmetic (Cephes' polynomial, within 2 ulp over the range a
/// sigmoid needs), so that the loops over it vectorize; the C library's `expf` would not.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // Rounding to the nearest integer by adding and subtracting 1.5 * 2^23, which
    // vectorizes where `round` would be a call.
    // The sum's low mantissa bits then hold n itself, which makes 2^n without a
    // float-to-integer conversion (Rust's saturating `as` would not vectorize).
    let shifted = x * std::f32::consts::LOG2_E + 12_582_912.0;
    let n = shifted - 12_582_912.0;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5.000_000_1e-1;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(shifted.to_bits().wrapping_sub(0x4B40_0000 - 127) << 23)
}

#[inline(always)]
fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + exp(-z))
}

/// `sum_k term(k, x[k])` over the first R values, in eight interleaved partial sums: a
/// float sum in one chain would not vectorize.
#[inline(always)]
fn lanes_sum<const R: usize>(x: &[f32; B], term: impl Fn(usize, f32) -> f32) -> f32 {
    let mut acc = [0.0_f32; 8];
    for k in 0..R {
        acc[k % 8] += term(k, x[k]);
    }
    acc.iter().sum()
}

struct Net {
    w: [[[f32; MAX]; MAX]; LAYERS],
    b: [[f32; MAX]; LAYERS],
    vw: [[[f32; MAX]; MAX]; LAYERS],
    vb: [[f32; MAX]; LAYERS],
    gw: [[[f32; MAX]; MAX]; LAYERS],
    gb: [[f32; MAX]; LAYERS],
    /// Activations: `a[0]` is the input, `a[l + 1]` layer l's output.
    a: [[[f32; B]; MAX]; LAYERS + 1],
    d: [[[f32; B]; MAX]; LAYERS],
}

impl Net {
    fn new(rng: &mut Rng) -> Self {
        let mut w = [[[0.0; MAX]; MAX]; LAYERS];
        for (l, wl) in w.iter_mut().enumerate() {
            for row in wl.iter_mut().take(WIDTH[l]) {
                for v in row.iter_mut().take(WIDTH[l + 1]) {
                    *v = rng.normal() as f32;
                }
            }
        }
        Self {
            w,
            b: [[0.0; MAX]; LAYERS],
            vw: [[[0.0; MAX]; MAX]; LAYERS],
            vb: [[0.0; MAX]; LAYERS],
            gw: [[[0.0; MAX]; MAX]; LAYERS],
            gb: [[0.0; MAX]; LAYERS],
            a: [[[0.0; B]; MAX]; LAYERS + 1],
            d: [[[0.0; B]; MAX]; LAYERS],
        }
    }

    #[inline(always)]
    fn step<const R: usize>(&mut self, y: &[f32; B]) {
        for l in 0..LAYERS {
            let (fan_in, units) = (WIDTH[l], WIDTH[l + 1]);
            for j in 0..units {
                let mut z = [self.b[l][j]; R];
                for p in 0..fan_in {
                    let w = self.w[l][p][j];
                    for (z, &a) in z.iter_mut().zip(&self.a[l][p][..R]) {
                        *z += a * w;
                    }
                }
                for (a, z) in self.a[l + 1][j].iter_mut().zip(z) {
                    *a = sigmoid(z);
                }
            }
        }
        // Binary cross-entropy on the sigmoid output: dL/dz = (a - y) / B.
        for (d, (&a, &y)) in self.d[LAYERS - 1][0][..R]
            .iter_mut()
            .zip(self.a[LAYERS][0].iter().zip(y))
        {
            *d = (a - y) / R as f32;
        }
        for l in (0..LAYERS).rev() {
            let (fan_in, units) = (WIDTH[l], WIDTH[l + 1]);
            for j in 0..units {
                self.gb[l][j] = lanes_sum::<R>(&self.d[l][j], |_, d| d);
                for p in 0..fan_in {
                    self.gw[l][p][j] = lanes_sum::<R>(&self.a[l][p], |k, d| d * self.d[l][j][k]);
                }
            }
            if l > 0 {
                for p in 0..fan_in {
                    let mut dp = [0.0; R];
                    for j in 0..units {
                        let w = self.w[l][p][j];
                        for (dp, &d) in dp.iter_mut().zip(&self.d[l][j][..R]) {
                            *dp += d * w;
                        }
                    }
                    for ((out, dp), &a) in self.d[l - 1][p].iter_mut().zip(dp).zip(&self.a[l][p]) {
                        *out = dp * a * (1.0 - a);
                    }
                }
            }
        }
        for l in 0..LAYERS {
            for p in 0..MAX {
                for j in 0..MAX {
                    let g = self.gw[l][p][j];
                    let v = RHO * self.vw[l][p][j] + (1.0 - RHO) * g * g;
                    self.vw[l][p][j] = v;
                    self.w[l][p][j] -= LR * g / (v.sqrt() + EPS);
                }
            }
            for j in 0..MAX {
                let g = self.gb[l][j];
                let v = RHO * self.vb[l][j] + (1.0 - RHO) * g * g;
                self.vb[l][j] = v;
                self.b[l][j] -= LR * g / (v.sqrt() + EPS);
            }
        }
    }

    /// Mean and standard deviation of each layer's kernel and kernel gradient.
    fn record(&self) -> f64 {
        let mut sum = 0.0;
        for l in 0..LAYERS {
            for t in [&self.w[l], &self.gw[l]] {
                let values = || {
                    (0..WIDTH[l])
                        .flat_map(move |p| (0..WIDTH[l + 1]).map(move |j| f64::from(t[p][j])))
                };
                let n = (WIDTH[l] * WIDTH[l + 1]) as f64;
                let mean = values().sum::<f64>() / n;
                let var = values().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                sum += mean + var.sqrt();
            }
        }
        sum
    }
}

fn run(seed: u64) -> f64 {
    let mut rng = Rng(seed);
    let (x, y) = circles(&mut rng);
    let mut net = Net::new(&mut rng);
    let mut order: Vec<usize> = (0..N).collect();
    let mut checksum = 0.0;
    let mut targets = [0.0; B];
    for _ in 0..EPOCHS {
        for i in (1..N).rev() {
            order.swap(i, rng.below(i + 1));
        }
        // 31 minibatches of 32 rows and one of 8, each of a length known when compiling.
        for batch in order.chunks(B) {
            for (k, &i) in batch.iter().enumerate() {
                net.a[0][0][k] = x[0][i];
                net.a[0][1][k] = x[1][i];
                targets[k] = y[i];
            }
            match batch.len() {
                B => net.step::<B>(&targets),
                TAIL => net.step::<TAIL>(&targets),
                _ => unreachable!("1,000 rows make minibatches of 32 and 8"),
            }
        }
        checksum += net.record();
    }
    checksum
}

fn main() {
    let runs: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(40);
    let started = Instant::now();
    let checksum: f64 = (0..runs).map(run).sum();
    let per_run = started.elapsed().as_secs_f64() * 1e3 / runs as f64;
    println!("hand-tuned loop: {runs} runs, {per_run:.3} ms per run (checksum {checksum:.6})");
}
