//! Several networks of one architecture computed side by side, one per vector lane.
//!
//! A tiny network (the tutorial's 2-5-5-5-5-1) leaves most of a vector register empty
//! and spends its time on the setup of ~35 small calls per step. A [`LaneWorkspace`]
//! holds [`LANES`] networks of the same [`Architecture`] whose every value is stored
//! interleaved: value `i` of lane `r` (in the layout a [`Workspace`] uses for one
//! network) sits at `i * LANES + r`. One pass over a layer then computes every lane's
//! layer at once, each arithmetic operation on a whole register of lanes.
//!
//! Every lane's numbers are the bits [`Workspace`] computes for that network alone:
//! each lane adds the same terms in the same order as [`crate::kernels::loops`] (the
//! forward sum starting from the bias, the input gradient from zero, the kernel and bias
//! gradients and the loss in eight interleaved partial sums combined pairwise), and the
//! elementwise passes (activations, their derivatives, the loss gradient, the
//! optimizers) are the same functions over longer slices. Lanes never mix: a lane whose
//! values become NaN leaves the others as they were. That holds only where the single
//! network's products run through those loops, which [`lanes_supported`] checks.
//!
//! [`Workspace`]: crate::Workspace

use pulp::{Simd, WithSimd};

use crate::kernels::SMALL_KERNEL;
use crate::simd::simd_arch;
use crate::{Activation, Architecture, LayerShape, Loss, Scalar};

/// Networks computed side by side: eight `f32` fill one AVX2 register.
pub const LANES: usize = 8;

/// Partial sums of the fixed-order reductions (as in [`crate::kernels::loops`]).
const PARTIALS: usize = 8;

/// Whether networks of `arch` can be computed in lanes with the same results as alone:
/// every layer is plain (no normalization, no skip connection: the lanes compute only
/// dense layers) and its kernel is small enough for the core's own loops (at most
/// [`SMALL_KERNEL`] weights), whose order of additions the lanes repeat. A softmax
/// output is not computed in lanes either: lanes are for the tiny yes/no networks, and
/// its loss is not a sum of one term per output.
pub fn lanes_supported(arch: &Architecture) -> bool {
    arch.is_plain()
        && arch.loss() != Loss::CategoricalCrossEntropy
        && arch.shapes().iter().all(|s| s.kernel.len() <= SMALL_KERNEL)
}

/// Writes `lanes[r][i]` to `out[i * LANES + r]`; lanes past `lanes.len()` repeat the
/// first, so that they compute something finite and harmless.
///
/// # Panics
/// If `lanes` is empty or longer than [`LANES`], or the lengths do not agree.
#[track_caller]
pub fn interleave<T: Copy>(lanes: &[&[T]], out: &mut [T]) {
    assert!(
        !lanes.is_empty() && lanes.len() <= LANES,
        "interleave: 1 to {LANES} lanes"
    );
    let n = lanes[0].len();
    assert_eq!(out.len(), n * LANES, "interleave: output length");
    for r in 0..LANES {
        let lane = lanes.get(r).unwrap_or(&lanes[0]);
        assert_eq!(lane.len(), n, "interleave: lane lengths");
        for (i, &v) in lane.iter().enumerate() {
            out[i * LANES + r] = v;
        }
    }
}

/// Copies lane `r` of an interleaved buffer into `out` (`interleaved.len() / LANES`
/// values).
///
/// # Panics
/// If the lengths do not agree or `r` is not a lane.
#[track_caller]
pub fn lane_of<T: Copy>(interleaved: &[T], r: usize, out: &mut [T]) {
    assert!(r < LANES, "lane_of: lane {r} of {LANES}");
    assert_eq!(
        interleaved.len(),
        out.len() * LANES,
        "lane_of: output length"
    );
    for (o, chunk) in out.iter_mut().zip(interleaved.chunks_exact(LANES)) {
        *o = chunk[r];
    }
}

/// One layer's interleaved buffers of the last pass, `rows x units x LANES` values each.
#[derive(Debug, Clone, Copy)]
pub struct LaneBuffers<'a, T> {
    /// The pre-activations.
    pub preactivation: &'a [T],
    /// The activations.
    pub activation: &'a [T],
    /// The gradients of the loss at the pre-activations.
    pub preact_grad: &'a [T],
}

/// Every lane's loss sum over the outputs added so far, in the eight partial sums of
/// [`Loss::value`]'s order.
#[derive(Debug, Clone)]
pub struct LaneLoss<T> {
    acc: [Lanes<T>; PARTIALS],
    count: usize,
}

impl<T: Scalar> LaneLoss<T> {
    /// No outputs yet.
    pub fn new() -> Self {
        Self {
            acc: [[T::ZERO; LANES]; PARTIALS],
            count: 0,
        }
    }

    /// Every lane's mean loss over the outputs added: [`Loss::value`] over all of them.
    pub fn mean(&self) -> [T; LANES] {
        if self.count == 0 {
            return [T::ZERO; LANES];
        }
        let n = T::from_f64(self.count as f64);
        combine_partials(&self.acc).map(|s| s / n)
    }
}

impl<T: Scalar> Default for LaneLoss<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The buffers of [`LANES`] forward and backward passes of one architecture, for up to
/// `max_rows` rows each, allocated once.
#[derive(Debug, Clone)]
pub struct LaneWorkspace<T> {
    max_rows: usize,
    rows: usize,
    z: Vec<Vec<T>>,
    a: Vec<Vec<T>>,
    delta: Vec<Vec<T>>,
}

impl<T: Scalar> LaneWorkspace<T> {
    /// Buffers for `arch` and up to `max_rows` rows per lane.
    pub fn new(arch: &Architecture, max_rows: usize) -> Self {
        let buffers = || -> Vec<Vec<T>> {
            arch.shapes()
                .iter()
                .map(|s| vec![T::ZERO; max_rows * s.units * LANES])
                .collect()
        };
        Self {
            max_rows,
            rows: 0,
            z: buffers(),
            a: buffers(),
            delta: buffers(),
        }
    }

    /// The most rows a pass can take.
    pub fn max_rows(&self) -> usize {
        self.max_rows
    }

    /// Rows of the last forward pass.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Layer `l`'s interleaved buffers of the last pass.
    pub fn layer_buffers(&self, l: usize) -> LaneBuffers<'_, T> {
        let n = self.rows * (self.z[l].len() / (self.max_rows.max(1) * LANES)) * LANES;
        LaneBuffers {
            preactivation: &self.z[l][..n],
            activation: &self.a[l][..n],
            preact_grad: &self.delta[l][..n],
        }
    }

    /// Forward pass of every lane: `params` holds each lane's parameter vector
    /// interleaved (`arch.n_params() x LANES`), `x` each lane's `rows x inputs` inputs,
    /// column-major and interleaved.
    ///
    /// # Panics
    /// If the lengths do not fit the architecture, `rows` exceeds the buffers, or the
    /// network has a softmax output (see [`lanes_supported`]).
    #[track_caller]
    pub fn forward(&mut self, arch: &Architecture, params: &[T], x: &[T], rows: usize) {
        assert!(
            arch.loss() != Loss::CategoricalCrossEntropy,
            "lanes forward: a softmax output is not computed in lanes"
        );
        assert!(
            rows <= self.max_rows,
            "lanes forward: {rows} rows, buffers hold {}",
            self.max_rows
        );
        assert_eq!(
            x.len(),
            rows * arch.inputs() * LANES,
            "lanes forward: inputs"
        );
        assert_eq!(
            params.len(),
            arch.n_params() * LANES,
            "lanes forward: parameters"
        );
        assert_eq!(
            self.z.len(),
            arch.shapes().len(),
            "lanes forward: workspace made for another network"
        );
        self.rows = rows;
        for (l, (layer, s)) in arch.layers().iter().zip(arch.shapes()).enumerate() {
            let n = rows * s.units * LANES;
            let (done, rest) = self.a.split_at_mut(l);
            let input = match done.last() {
                None => x,
                Some(prev) => &prev[..rows * s.fan_in * LANES],
            };
            let z = &mut self.z[l][..n];
            simd_arch().dispatch(Forward {
                z,
                input,
                params,
                shape: s,
                rows,
            });
            layer.activation.apply_slice(z, &mut rest[0][..n]);
        }
    }

    /// Every lane's mean loss of the last forward pass against its targets `y`
    /// (`rows x outputs`, interleaved): [`Loss::value`] of each lane alone.
    ///
    /// # Panics
    /// If `y` does not fit the last pass.
    #[track_caller]
    pub fn loss(&self, arch: &Architecture, y: &[T]) -> [T; LANES] {
        let mut sums = LaneLoss::new();
        self.add_loss(arch, y, &mut sums);
        sums.mean()
    }

    /// Adds every lane's loss terms of the last forward pass against its targets `y`
    /// to `sums`, as if this pass's outputs followed those already added in one pass
    /// over all the rows: a long evaluation can then run in blocks that fit the cache
    /// and still give the bits of one pass.
    ///
    /// # Panics
    /// If `y` does not fit the last pass, or the outputs already added are not a
    /// multiple of eight (a block must start where a new round of partial sums does).
    #[track_caller]
    pub fn add_loss(&self, arch: &Architecture, y: &[T], sums: &mut LaneLoss<T>) {
        let last = self.z.len() - 1;
        let n = self.rows * arch.outputs();
        assert_eq!(y.len(), n * LANES, "lanes loss: targets");
        assert!(
            sums.count.is_multiple_of(PARTIALS),
            "lanes loss: a block must follow a multiple of {PARTIALS} outputs"
        );
        simd_arch().dispatch(LossSums {
            loss: arch.loss(),
            acc: &mut sums.acc,
            z: &self.z[last][..n * LANES],
            a: &self.a[last][..n * LANES],
            y,
        });
        sums.count += n;
    }

    /// Backward pass of every lane after [`LaneWorkspace::forward`] on the same `x`:
    /// writes each lane's gradients into `grads` (interleaved like `params`) and
    /// returns each lane's mean loss, as [`crate::Workspace::backward`] does alone.
    ///
    /// # Panics
    /// If the lengths do not fit the architecture and the last pass.
    #[track_caller]
    pub fn backward(
        &mut self,
        arch: &Architecture,
        params: &[T],
        x: &[T],
        y: &[T],
        grads: &mut [T],
    ) -> [T; LANES] {
        let rows = self.rows;
        assert_eq!(
            x.len(),
            rows * arch.inputs() * LANES,
            "lanes backward: x is not the batch passed forward"
        );
        assert_eq!(
            grads.len(),
            arch.n_params() * LANES,
            "lanes backward: gradients"
        );
        let last = arch.shapes().len() - 1;
        let n_out = rows * arch.outputs();
        assert_eq!(y.len(), n_out * LANES, "lanes backward: targets");
        let losses = output_gradient(
            arch.loss(),
            arch.layers()[last].activation,
            &self.z[last][..n_out * LANES],
            &self.a[last][..n_out * LANES],
            y,
            &mut self.delta[last][..n_out * LANES],
            n_out,
        );
        for l in (0..=last).rev() {
            let s = &arch.shapes()[l];
            let (before, from_l) = self.delta.split_at_mut(l);
            let d = &from_l[0][..rows * s.units * LANES];
            let input = if l == 0 {
                x
            } else {
                &self.a[l - 1][..rows * s.fan_in * LANES]
            };
            let d_prev = before
                .last_mut()
                .map(|d_prev| &mut d_prev[..rows * s.fan_in * LANES]);
            simd_arch().dispatch(Backward {
                grads: &mut *grads,
                d_prev: d_prev.map(|d| (d, params)),
                d,
                input,
                shape: s,
                rows,
            });
            if l > 0 {
                let prev = arch.layers()[l - 1].activation;
                let n = rows * s.fan_in * LANES;
                prev.mul_derivative(
                    &mut before[l - 1][..n],
                    &self.z[l - 1][..n],
                    &self.a[l - 1][..n],
                );
            }
        }
        losses
    }
}

/// One value of every lane.
type Lanes<T> = [T; LANES];

/// An interleaved buffer as one [`Lanes`] per value.
#[inline(always)]
fn lanes<T>(buffer: &[T]) -> &[Lanes<T>] {
    let (whole, rest) = buffer.as_chunks::<LANES>();
    assert!(rest.is_empty(), "an interleaved buffer holds whole lanes");
    whole
}

/// [`lanes`] of a mutable buffer.
#[inline(always)]
fn lanes_mut<T>(buffer: &mut [T]) -> &mut [Lanes<T>] {
    let (whole, rest) = buffer.as_chunks_mut::<LANES>();
    assert!(rest.is_empty(), "an interleaved buffer holds whole lanes");
    whole
}

/// `acc += b * c` lane by lane: a multiply then an add, never fused, as alone.
#[inline(always)]
fn add_product<T: Scalar>(acc: &mut Lanes<T>, b: &Lanes<T>, c: &Lanes<T>) {
    for r in 0..LANES {
        acc[r] += b[r] * c[r];
    }
}

/// Pairwise combination of eight partial sums, in [`crate::kernels::loops`]' order.
#[inline(always)]
fn combine_partials<T: Scalar>(acc: &[Lanes<T>; PARTIALS]) -> Lanes<T> {
    std::array::from_fn(|r| {
        ((acc[0][r] + acc[4][r]) + (acc[2][r] + acc[6][r]))
            + ((acc[1][r] + acc[5][r]) + (acc[3][r] + acc[7][r]))
    })
}

/// `sum_i term(x[i], y[i])` in eight interleaved partial sums, as the loops' dot
/// products add: value `i` goes to partial `i % 8`, in order.
///
/// The values of eight consecutive `i` of every lane are 64 consecutive numbers, and
/// partial `k` of lane `r` is number `8 k + r` of a round, so one round is a plain loop
/// over 64 numbers, which the compiler vectorizes whatever `term` is.
#[inline(always)]
fn partial_sums<T: Scalar>(
    acc: &mut [Lanes<T>; PARTIALS],
    x: &[Lanes<T>],
    y: &[Lanes<T>],
    term: impl Fn(T, T) -> T,
) {
    const ROUND: usize = PARTIALS * LANES;
    let acc = acc.as_flattened_mut();
    let (x, y) = (x.as_flattened(), y.as_flattened());
    let (xc, xr) = x.as_chunks::<ROUND>();
    let (yc, yr) = y.as_chunks::<ROUND>();
    for (x, y) in xc.iter().zip(yc) {
        for q in 0..ROUND {
            acc[q] += term(x[q], y[q]);
        }
    }
    for ((acc, &x), &y) in acc.iter_mut().zip(xr).zip(yr) {
        *acc += term(x, y);
    }
}

/// `out[b] = start + sum_p source[col(p)][b] * coef(p)` for every row `b`, added in
/// the order of `p`: `out` starts as `start` and receives one term per pass, each pass a
/// plain loop over the rows with one [`Lanes`] per row, which the compiler vectorizes
/// without shuffling lanes.
#[inline(always)]
fn combine<T: Scalar>(
    out: &mut [Lanes<T>],
    start: Lanes<T>,
    terms: usize,
    col: impl Fn(usize) -> usize,
    source: &[Lanes<T>],
    coef: impl Fn(usize) -> Lanes<T>,
) {
    out.fill(start);
    let rows = out.len();
    for p in 0..terms {
        let (x, c) = (&source[col(p)..][..rows], coef(p));
        for (o, x) in out.iter_mut().zip(x) {
            add_product(o, x, &c);
        }
    }
}

/// One layer's `Z = A W + 1 b^T` in every lane.
struct Forward<'a, T> {
    z: &'a mut [T],
    input: &'a [T],
    params: &'a [T],
    shape: &'a LayerShape,
    rows: usize,
}

impl<T: Scalar> WithSimd for Forward<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let (z, input, params) = (lanes_mut(self.z), lanes(self.input), lanes(self.params));
        let (s, rows) = (self.shape, self.rows);
        for (j, out) in z.chunks_exact_mut(rows).enumerate() {
            let bias = params[s.bias.start + j];
            let weight = |p: usize| params[s.kernel.start + p + j * s.fan_in];
            combine(out, bias, s.fan_in, |p| p * rows, input, weight);
        }
    }
}

/// One layer's kernel and bias gradients and, below the first layer, the gradient at
/// its input (`D W^T`, before the previous activation's derivative) in every lane.
struct Backward<'a, T> {
    grads: &'a mut [T],
    /// The previous layer's gradient buffer and the parameters whose kernel it needs.
    d_prev: Option<(&'a mut [T], &'a [T])>,
    d: &'a [T],
    input: &'a [T],
    shape: &'a LayerShape,
    rows: usize,
}

impl<T: Scalar> WithSimd for Backward<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let (grads, d, input) = (lanes_mut(self.grads), lanes(self.d), lanes(self.input));
        let (s, rows) = (self.shape, self.rows);
        for (j, dj) in d.chunks_exact(rows).enumerate() {
            for p in 0..s.fan_in {
                let ap = &input[p * rows..][..rows];
                let mut acc = [[T::ZERO; LANES]; PARTIALS];
                partial_sums(&mut acc, ap, dj, |a, d| a * d);
                grads[s.kernel.start + p + j * s.fan_in] = combine_partials(&acc);
            }
            let mut acc = [[T::ZERO; LANES]; PARTIALS];
            partial_sums(&mut acc, dj, dj, |v, _| v);
            grads[s.bias.start + j] = combine_partials(&acc);
        }
        if let Some((d_prev, params)) = self.d_prev {
            let params = lanes(params);
            for (p, out) in lanes_mut(d_prev).chunks_exact_mut(rows).enumerate() {
                let weight = |j: usize| params[s.kernel.start + p + j * s.fan_in];
                combine(out, [T::ZERO; LANES], s.units, |j| j * rows, d, weight);
            }
        }
    }
}

/// Every lane's loss sum over its outputs, added into `acc` in [`Loss`]'s order
/// (output `i` into partial `i % 8`), under one dispatch.
struct LossSums<'a, T> {
    loss: Loss,
    acc: &'a mut [Lanes<T>; PARTIALS],
    z: &'a [T],
    a: &'a [T],
    y: &'a [T],
}

impl<T: Scalar> WithSimd for LossSums<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) {
        let (z, a, y) = (lanes(self.z), lanes(self.a), lanes(self.y));
        match self.loss {
            Loss::BinaryCrossEntropy => {
                partial_sums(self.acc, z, y, |z, y| {
                    Loss::BinaryCrossEntropy.term(z, z, y)
                });
            }
            Loss::MeanSquaredError => {
                partial_sums(self.acc, a, y, |a, y| Loss::MeanSquaredError.term(a, a, y));
            }
            Loss::CategoricalCrossEntropy => {
                unreachable!("lanes_supported refuses categorical cross-entropy")
            }
        }
    }
}

/// Every lane's loss sum over `n = z.len() / LANES` outputs, in [`Loss`]'s order.
fn lane_loss_sums<T: Scalar>(loss: Loss, z: &[T], a: &[T], y: &[T]) -> [T; LANES] {
    let mut acc = [[T::ZERO; LANES]; PARTIALS];
    simd_arch().dispatch(LossSums {
        loss,
        acc: &mut acc,
        z,
        a,
        y,
    });
    combine_partials(&acc)
}

/// The gradient at the output layer's pre-activations and every lane's mean loss:
/// [`Loss::value_and_grad`] of each lane alone, over its `n` outputs.
fn output_gradient<T: Scalar>(
    loss: Loss,
    output: Activation,
    z: &[T],
    a: &[T],
    y: &[T],
    d: &mut [T],
    n: usize,
) -> [T; LANES] {
    if n == 0 {
        return [T::ZERO; LANES];
    }
    let inv_n = T::ONE / T::from_f64(n as f64);
    loss.gradient(output, z, a, y, d, inv_n);
    lane_loss_sums(loss, z, a, y).map(|s| s * inv_n)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::{Init, LayerSpec, MatRef, Workspace};

    fn arch(activation: Activation, loss: Loss) -> Architecture {
        let output = if loss == Loss::BinaryCrossEntropy {
            Activation::Sigmoid
        } else {
            Activation::Tanh
        };
        let layer = |units, activation| {
            LayerSpec::dense(
                units,
                activation,
                Init::Normal {
                    mean: 0.0,
                    std: 1.0,
                },
            )
        };
        Architecture::new(
            2,
            vec![
                layer(5, activation),
                layer(5, activation),
                layer(3, activation),
                layer(1, output),
            ],
            loss,
        )
        .unwrap()
    }

    /// Each lane's forward and backward pass gives the bits of the same network alone,
    /// for every activation, both losses, a full block of rows and a ragged tail, in
    /// both precisions; the lanes differ in parameters and data.
    fn lanes_match_alone<T: Scalar>() {
        let activations = [
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Relu,
            Activation::LeakyRelu { alpha: 0.1 },
        ];
        for activation in activations {
            for loss in [Loss::BinaryCrossEntropy, Loss::MeanSquaredError] {
                let arch = arch(activation, loss);
                for rows in [32, 13, 1] {
                    let mut rng = ChaCha8Rng::seed_from_u64(rows as u64);
                    let params: Vec<Vec<T>> =
                        (0..LANES).map(|_| arch.init_params(&mut rng)).collect();
                    let x: Vec<Vec<T>> = (0..LANES)
                        .map(|r| {
                            (0..rows * 2)
                                .map(|i| T::from_f64(((i * 7 + r * 3) % 11) as f64 / 3.0 - 1.7))
                                .collect()
                        })
                        .collect();
                    let y: Vec<Vec<T>> = (0..LANES)
                        .map(|r| {
                            (0..rows)
                                .map(|i| T::from_f64(((i + r) % 2) as f64))
                                .collect()
                        })
                        .collect();
                    let gather = |v: &[Vec<T>]| {
                        let refs: Vec<&[T]> = v.iter().map(Vec::as_slice).collect();
                        let mut out = vec![T::ZERO; v[0].len() * LANES];
                        interleave(&refs, &mut out);
                        out
                    };
                    let (lp, lx, ly) = (gather(&params), gather(&x), gather(&y));
                    let mut lanes = LaneWorkspace::<T>::new(&arch, 32);
                    let mut lane_grads = vec![T::ZERO; lp.len()];
                    lanes.forward(&arch, &lp, &lx, rows);
                    let lane_values = lanes.loss(&arch, &ly);
                    let lane_losses = lanes.backward(&arch, &lp, &lx, &ly, &mut lane_grads);
                    for r in 0..LANES {
                        let mut ws = Workspace::<T>::new(&arch, 32);
                        let mut grads = vec![T::ZERO; arch.n_params()];
                        let xr = MatRef::from_column_major_slice(&x[r], rows, 2);
                        ws.forward(&arch, &params[r], xr);
                        let value = ws.loss(&arch, &y[r]);
                        let loss = ws.backward(&arch, &params[r], xr, &y[r], &mut grads);
                        let what = format!("{activation} {loss:?} rows {rows} lane {r}");
                        assert_eq!(
                            lane_values[r].to_f64().to_bits(),
                            value.to_f64().to_bits(),
                            "{what}: value"
                        );
                        assert_eq!(
                            lane_losses[r].to_f64().to_bits(),
                            loss.to_f64().to_bits(),
                            "{what}: loss"
                        );
                        let mut got = vec![T::ZERO; grads.len()];
                        lane_of(&lane_grads, r, &mut got);
                        let bits =
                            |v: &[T]| v.iter().map(|g| g.to_f64().to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&got), bits(&grads), "{what}: gradients");
                        for l in 0..arch.shapes().len() {
                            let (mine, alone) = (lanes.layer_buffers(l), ws.layer_buffers(l));
                            for (lane, single) in [
                                (mine.preactivation, alone.preactivation),
                                (mine.activation, alone.activation),
                                (mine.preact_grad, alone.preact_grad),
                            ] {
                                let mut got = vec![T::ZERO; single.len()];
                                lane_of(lane, r, &mut got);
                                assert_eq!(bits(&got), bits(single), "{what}: layer {l}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn lanes_match_alone_f32() {
        lanes_match_alone::<f32>();
    }

    #[test]
    fn lanes_match_alone_f64() {
        lanes_match_alone::<f64>();
    }

    #[test]
    fn a_loss_added_block_by_block_is_the_loss_of_one_pass() {
        for loss in [Loss::BinaryCrossEntropy, Loss::MeanSquaredError] {
            let arch = arch(Activation::Tanh, loss);
            let rows = 203;
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            let params: Vec<Vec<f32>> = (0..LANES).map(|_| arch.init_params(&mut rng)).collect();
            let refs: Vec<&[f32]> = params.iter().map(Vec::as_slice).collect();
            let mut lp = vec![0.0; arch.n_params() * LANES];
            interleave(&refs, &mut lp);
            let value = |i: usize, r: usize| ((i * 13 + r * 5) % 17) as f32 / 4.0 - 2.0;
            // Column-major over all rows, interleaved.
            let x: Vec<f32> = (0..2 * rows * LANES)
                .map(|k| value(k / LANES, k % LANES))
                .collect();
            let y: Vec<f32> = (0..rows * LANES)
                .map(|k| ((k / LANES + k % LANES) % 2) as f32)
                .collect();
            let mut whole = LaneWorkspace::new(&arch, rows);
            whole.forward(&arch, &lp, &x, rows);
            let one_pass = whole.loss(&arch, &y);
            let mut blocks = LaneWorkspace::new(&arch, 64);
            let mut sums = LaneLoss::new();
            for start in (0..rows).step_by(64) {
                let len = 64.min(rows - start);
                let mut xb = vec![0.0; 2 * len * LANES];
                for j in 0..2 {
                    xb[j * len * LANES..(j + 1) * len * LANES].copy_from_slice(
                        &x[(j * rows + start) * LANES..(j * rows + start + len) * LANES],
                    );
                }
                blocks.forward(&arch, &lp, &xb, len);
                blocks.add_loss(&arch, &y[start * LANES..(start + len) * LANES], &mut sums);
            }
            let in_blocks = sums.mean();
            for r in 0..LANES {
                assert_eq!(
                    in_blocks[r].to_bits(),
                    one_pass[r].to_bits(),
                    "{loss:?} lane {r}"
                );
            }
        }
    }

    #[test]
    fn a_lane_that_overflows_leaves_the_others_alone() {
        let arch = arch(Activation::Relu, Loss::MeanSquaredError);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut params: Vec<Vec<f32>> = (0..LANES).map(|_| arch.init_params(&mut rng)).collect();
        params[2].iter_mut().for_each(|p| *p = f32::NAN);
        let refs: Vec<&[f32]> = params.iter().map(Vec::as_slice).collect();
        let mut lp = vec![0.0; arch.n_params() * LANES];
        interleave(&refs, &mut lp);
        let x = vec![0.5_f32; 4 * 2 * LANES];
        let y = vec![1.0_f32; 4 * LANES];
        let mut lanes = LaneWorkspace::new(&arch, 4);
        let mut grads = vec![0.0; lp.len()];
        lanes.forward(&arch, &lp, &x, 4);
        let losses = lanes.backward(&arch, &lp, &x, &y, &mut grads);
        assert!(losses[2].is_nan());
        assert!(
            losses
                .iter()
                .enumerate()
                .all(|(r, l)| r == 2 || l.is_finite())
        );
    }

    #[test]
    fn interleaving_round_trips_and_pads_with_the_first_lane() {
        let a = [1_u32, 2, 3];
        let b = [4_u32, 5, 6];
        let mut out = [0; 3 * LANES];
        interleave(&[&a, &b], &mut out);
        assert_eq!(&out[..LANES], &[1, 4, 1, 1, 1, 1, 1, 1]);
        let mut back = [0; 3];
        lane_of(&out, 1, &mut back);
        assert_eq!(back, b);
        lane_of(&out, 7, &mut back);
        assert_eq!(back, a);
    }

    #[test]
    fn only_small_kernels_run_in_lanes() {
        assert!(lanes_supported(&arch(
            Activation::Tanh,
            Loss::BinaryCrossEntropy
        )));
        let wide = Architecture::new(
            2,
            vec![
                LayerSpec::dense(64, Activation::Tanh, Init::GlorotUniform),
                LayerSpec::dense(1, Activation::Sigmoid, Init::GlorotUniform),
            ],
            Loss::BinaryCrossEntropy,
        )
        .unwrap();
        assert!(!lanes_supported(&wide));
    }
}
