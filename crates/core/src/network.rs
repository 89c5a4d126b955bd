use std::ops::Range;

use faer::{MatMut, MatRef, Par};
use rand::Rng;
use rayon::prelude::*;

use crate::kernels::{bias_grad, dense_forward, input_grad, weight_grad};
use crate::{Activation, CoreError, Init, Loss, Scalar};

/// One dense layer of a network: how many units, what follows the affine map, and how
/// its kernel starts out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerSpec {
    /// Number of units (the layer's output width).
    pub units: usize,
    /// Activation applied to the layer's pre-activation.
    pub activation: Activation,
    /// Initializer of the layer's kernel (the bias starts at zero).
    pub init: Init,
}

/// Where one layer's parameters sit in the flat parameter vector.
///
/// The kernel `W` (`fan_in x units`, Keras' shape) is stored column-major: the weight
/// from input `i` to unit `j` is at `kernel.start + i + j * fan_in`. The bias follows
/// right after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerShape {
    /// Number of inputs of the layer.
    pub fan_in: usize,
    /// Number of units.
    pub units: usize,
    /// Range of the kernel in the parameter vector.
    pub kernel: Range<usize>,
    /// Range of the bias in the parameter vector.
    pub bias: Range<usize>,
}

/// A validated multilayer perceptron: its layers, its loss, and the layout of all its
/// parameters in one flat vector.
///
/// Parameters, gradients and optimizer state are flat slices of [`Architecture::n_params`]
/// values with the same layout, so that an optimizer step is one pass over contiguous
/// memory. Layer `l` (0-based here, 1-based in recorded data) reads the output of layer
/// `l - 1`, or the input batch for `l = 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {
    inputs: usize,
    layers: Vec<LayerSpec>,
    shapes: Vec<LayerShape>,
    loss: Loss,
    n_params: usize,
}

impl Architecture {
    /// Checks a description and computes its parameter layout.
    ///
    /// # Errors
    /// [`CoreError::NoInputs`], [`CoreError::NoLayers`], [`CoreError::NoUnits`],
    /// [`CoreError::LossOutputMismatch`] if cross-entropy does not follow a sigmoid
    /// output, and [`CoreError::InvalidParameter`] for a bad initializer or a leaky
    /// ReLU slope that is not finite.
    pub fn new(inputs: usize, layers: Vec<LayerSpec>, loss: Loss) -> Result<Self, CoreError> {
        if inputs == 0 {
            return Err(CoreError::NoInputs);
        }
        let Some(last) = layers.last() else {
            return Err(CoreError::NoLayers);
        };
        if !loss.accepts_output(last.activation) {
            return Err(CoreError::LossOutputMismatch {
                loss,
                output: last.activation,
                expected: Activation::Sigmoid,
            });
        }
        let mut shapes = Vec::with_capacity(layers.len());
        let mut fan_in = inputs;
        let mut offset = 0;
        for (l, layer) in layers.iter().enumerate() {
            if layer.units == 0 {
                return Err(CoreError::NoUnits { layer: l + 1 });
            }
            if let Activation::LeakyRelu { alpha } = layer.activation
                && !alpha.is_finite()
            {
                return Err(CoreError::InvalidParameter {
                    owner: "leaky_relu",
                    name: "alpha",
                    value: alpha,
                    expected: "a finite number",
                });
            }
            layer.init.validate()?;
            let kernel = offset..offset + fan_in * layer.units;
            let bias = kernel.end..kernel.end + layer.units;
            offset = bias.end;
            shapes.push(LayerShape {
                fan_in,
                units: layer.units,
                kernel,
                bias,
            });
            fan_in = layer.units;
        }
        Ok(Self {
            inputs,
            layers,
            shapes,
            loss,
            n_params: offset,
        })
    }

    /// Number of input features.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Number of outputs (units of the last layer).
    pub fn outputs(&self) -> usize {
        self.shapes.last().map_or(0, |s| s.units)
    }

    /// The layers, from the input side.
    pub fn layers(&self) -> &[LayerSpec] {
        &self.layers
    }

    /// Where each layer's parameters sit, from the input side.
    pub fn shapes(&self) -> &[LayerShape] {
        &self.shapes
    }

    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// Length of the flat parameter (and gradient) vector.
    pub fn n_params(&self) -> usize {
        self.n_params
    }

    /// Layer `l`'s kernel as a `fan_in x units` view into `params`.
    ///
    /// # Panics
    /// If `l` is out of range or `params` is too short.
    #[track_caller]
    pub fn kernel<'a, T: Scalar>(&self, params: &'a [T], l: usize) -> MatRef<'a, T> {
        let s = &self.shapes[l];
        MatRef::from_column_major_slice(&params[s.kernel.clone()], s.fan_in, s.units)
    }

    /// Layer `l`'s bias within `params`.
    ///
    /// # Panics
    /// If `l` is out of range or `params` is too short.
    #[track_caller]
    pub fn bias<'a, T>(&self, params: &'a [T], l: usize) -> &'a [T] {
        &params[self.shapes[l].bias.clone()]
    }

    /// Fresh parameters: every kernel drawn from its layer's initializer, layer by layer
    /// from the input side, and every bias zero.
    pub fn init_params<T: Scalar, R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<T> {
        let mut params = vec![T::ZERO; self.n_params];
        for (layer, s) in self.layers.iter().zip(&self.shapes) {
            layer
                .init
                .fill(&mut params[s.kernel.clone()], s.fan_in, s.units, rng);
        }
        params
    }
}

/// One layer's buffers for the last batch, as returned by [`Workspace::layer_buffers`].
#[derive(Debug, Clone, Copy)]
pub struct LayerBuffers<'a, T> {
    /// Pre-activation `Z`.
    pub preactivation: &'a [T],
    /// Activation `A = f(Z)`.
    pub activation: &'a [T],
    /// Pre-activation gradient `dLoss/dZ` (from the last backward pass).
    pub preact_grad: &'a [T],
}

/// The buffers of one forward and backward pass, allocated once for batches of up to
/// `max_batch` rows and reused for every step.
///
/// After [`Workspace::forward`] it holds each layer's pre-activation `Z` and activation
/// `A`; after [`Workspace::backward`] also each layer's pre-activation gradient
/// `D = dLoss/dZ`. Each is a column-major `batch x units` matrix, readable through
/// [`Workspace::preactivation`], [`Workspace::activation`] and [`Workspace::preact_grad`]
/// for recording.
#[derive(Debug, Clone)]
pub struct Workspace<T> {
    max_batch: usize,
    batch: usize,
    par: Par,
    z: Vec<Vec<T>>,
    a: Vec<Vec<T>>,
    delta: Vec<Vec<T>>,
}

impl<T: Scalar> Workspace<T> {
    /// Buffers for `arch` and batches of up to `max_batch` rows, computing sequentially.
    pub fn new(arch: &Architecture, max_batch: usize) -> Self {
        let buffers = || -> Vec<Vec<T>> {
            arch.shapes()
                .iter()
                .map(|s| vec![T::ZERO; max_batch * s.units])
                .collect()
        };
        Self {
            max_batch,
            batch: 0,
            par: Par::Seq,
            z: buffers(),
            a: buffers(),
            delta: buffers(),
        }
    }

    /// The same buffers, with matrix products run with the given parallelism, and the
    /// activation and derivative passes of layers of at least 65,536 values split
    /// across the same threads. Only wide layers gain from threads; the result may
    /// differ in the last bits from [`Par::Seq`], because the products' sums are split
    /// differently (the elementwise passes compute each value alone and change nothing).
    #[must_use]
    pub fn with_par(mut self, par: Par) -> Self {
        self.par = par;
        self
    }

    /// The parallelism of the products and of wide layers' elementwise passes.
    pub fn par(&self) -> Par {
        self.par
    }

    /// The largest batch these buffers hold.
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    /// Rows of the batch last passed forward.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Layer `l`'s pre-activation `Z` for the last batch.
    pub fn preactivation(&self, l: usize) -> MatRef<'_, T> {
        self.view(&self.z, l)
    }

    /// Layer `l`'s activation `A = f(Z)` for the last batch; the last layer's is the
    /// network's output.
    pub fn activation(&self, l: usize) -> MatRef<'_, T> {
        self.view(&self.a, l)
    }

    /// Layer `l`'s pre-activation gradient `dLoss/dZ` from the last backward pass.
    pub fn preact_grad(&self, l: usize) -> MatRef<'_, T> {
        self.view(&self.delta, l)
    }

    /// Layer `l`'s pre-activation, activation and pre-activation gradient for the last
    /// batch as flat column-major slices of `batch x units` values, for computing
    /// statistics without copying.
    pub fn layer_buffers(&self, l: usize) -> LayerBuffers<'_, T> {
        let n = self.batch * (self.z[l].len() / self.max_batch.max(1));
        LayerBuffers {
            preactivation: &self.z[l][..n],
            activation: &self.a[l][..n],
            preact_grad: &self.delta[l][..n],
        }
    }

    /// The network's output for the last batch (`batch x outputs`).
    pub fn output(&self) -> MatRef<'_, T> {
        self.activation(self.a.len() - 1)
    }

    /// Copies the last pass of lane `r` of a [`crate::LaneWorkspace`] of the same
    /// architecture into these buffers, as if this workspace had computed it, so that
    /// everything that reads one network's pass (recording) reads that lane's.
    ///
    /// # Panics
    /// If the workspaces were made for different architectures or the lane's pass has
    /// more rows than these buffers hold.
    #[track_caller]
    pub fn load_lane(&mut self, lanes: &crate::LaneWorkspace<T>, r: usize) {
        let rows = lanes.rows();
        assert!(
            rows <= self.max_batch,
            "load_lane: {rows} rows, buffers hold {}",
            self.max_batch
        );
        self.batch = rows;
        for l in 0..self.z.len() {
            let units = self.z[l].len() / self.max_batch.max(1);
            let n = rows * units;
            let source = lanes.layer_buffers(l);
            crate::lane_of(source.preactivation, r, &mut self.z[l][..n]);
            crate::lane_of(source.activation, r, &mut self.a[l][..n]);
            crate::lane_of(source.preact_grad, r, &mut self.delta[l][..n]);
        }
    }

    fn view<'a>(&self, buffers: &'a [Vec<T>], l: usize) -> MatRef<'a, T> {
        let units = buffers[l].len() / self.max_batch.max(1);
        MatRef::from_column_major_slice(&buffers[l][..self.batch * units], self.batch, units)
    }

    /// Runs the batch `x` (`batch x inputs`, any strides) through the network.
    ///
    /// # Panics
    /// If `x` has more rows than the buffers hold, the wrong number of columns, or
    /// `params` does not fit `arch`.
    #[track_caller]
    pub fn forward(&mut self, arch: &Architecture, params: &[T], x: MatRef<'_, T>) {
        let batch = x.nrows();
        assert!(
            batch <= self.max_batch,
            "forward: batch of {batch} rows, buffers hold {}",
            self.max_batch
        );
        assert_eq!(x.ncols(), arch.inputs(), "forward: input columns");
        assert_eq!(params.len(), arch.n_params(), "forward: parameter count");
        assert_eq!(
            self.z.len(),
            arch.shapes().len(),
            "forward: workspace made for another network"
        );
        self.batch = batch;
        for (l, (layer, s)) in arch.layers().iter().zip(arch.shapes()).enumerate() {
            let n = batch * s.units;
            let (done, rest) = self.a.split_at_mut(l);
            let input = match done.last() {
                None => x,
                Some(prev) => {
                    MatRef::from_column_major_slice(&prev[..batch * s.fan_in], batch, s.fan_in)
                }
            };
            let z = &mut self.z[l][..n];
            dense_forward(
                MatMut::from_column_major_slice_mut(z, batch, s.units),
                input,
                arch.kernel(params, l),
                arch.bias(params, l),
                self.par,
            );
            let a = &mut rest[0][..n];
            match parallel_chunk(self.par, n) {
                Some(chunk) => z
                    .par_chunks(chunk)
                    .zip(a.par_chunks_mut(chunk))
                    .for_each(|(z, a)| layer.activation.apply_slice(z, a)),
                None => layer.activation.apply_slice(z, a),
            }
        }
    }

    /// The mean loss of the last forward pass against targets `y`, a column-major
    /// `batch x outputs` slice.
    ///
    /// # Panics
    /// If `y` does not have `batch x outputs` values.
    #[track_caller]
    pub fn loss(&self, arch: &Architecture, y: &[T]) -> T {
        let last = self.z.len() - 1;
        let n = self.batch * arch.outputs();
        arch.loss().value(&self.z[last][..n], &self.a[last][..n], y)
    }

    /// Back-propagates the loss of the last forward pass against targets `y` (a
    /// column-major `batch x outputs` slice), writing the gradient of the mean loss with
    /// respect to every parameter into `grads` (laid out as the parameters) and every
    /// layer's pre-activation gradient into the workspace. `x` must be the batch that was
    /// passed forward. Returns the loss.
    ///
    /// # Panics
    /// If the shapes do not fit `arch` or the last forward pass.
    #[track_caller]
    pub fn backward(
        &mut self,
        arch: &Architecture,
        params: &[T],
        x: MatRef<'_, T>,
        y: &[T],
        grads: &mut [T],
    ) -> T {
        let batch = self.batch;
        assert_eq!(
            x.nrows(),
            batch,
            "backward: x is not the batch passed forward"
        );
        assert_eq!(grads.len(), arch.n_params(), "backward: gradient length");
        let last = arch.shapes().len() - 1;
        let n_out = batch * arch.outputs();
        let output = arch.layers()[last].activation;
        let loss = arch.loss().value_and_grad(
            output,
            &self.z[last][..n_out],
            &self.a[last][..n_out],
            y,
            &mut self.delta[last][..n_out],
        );
        for l in (0..=last).rev() {
            let s = &arch.shapes()[l];
            let (before, from_l) = self.delta.split_at_mut(l);
            let d = MatRef::from_column_major_slice(&from_l[0][..batch * s.units], batch, s.units);
            let input = if l == 0 {
                x
            } else {
                MatRef::from_column_major_slice(&self.a[l - 1][..batch * s.fan_in], batch, s.fan_in)
            };
            let (dw, db) = grads[s.kernel.start..s.bias.end].split_at_mut(s.kernel.len());
            weight_grad(
                MatMut::from_column_major_slice_mut(dw, s.fan_in, s.units),
                input,
                d,
                self.par,
            );
            bias_grad(db, d);
            if let Some(d_prev) = before.last_mut() {
                let d_prev = &mut d_prev[..batch * s.fan_in];
                input_grad(
                    MatMut::from_column_major_slice_mut(d_prev, batch, s.fan_in),
                    d,
                    arch.kernel(params, l),
                    self.par,
                );
                let prev = arch.layers()[l - 1].activation;
                let z_prev = &self.z[l - 1][..batch * s.fan_in];
                let a_prev = &self.a[l - 1][..batch * s.fan_in];
                match parallel_chunk(self.par, d_prev.len()) {
                    Some(chunk) => d_prev
                        .par_chunks_mut(chunk)
                        .zip(z_prev.par_chunks(chunk).zip(a_prev.par_chunks(chunk)))
                        .for_each(|(d, (z, a))| prev.mul_derivative(d, z, a)),
                    None => prev.mul_derivative(d_prev, z_prev, a_prev),
                }
            }
        }
        loss
    }

    /// [`Workspace::forward`] then [`Workspace::backward`] on one batch: the gradient
    /// of one training step. Returns the loss.
    ///
    /// # Panics
    /// As those two.
    #[track_caller]
    pub fn forward_backward(
        &mut self,
        arch: &Architecture,
        params: &[T],
        x: MatRef<'_, T>,
        y: &[T],
        grads: &mut [T],
    ) -> T {
        self.forward(arch, params, x);
        self.backward(arch, params, x, y, grads)
    }
}

/// Below this many values an elementwise pass stays on the calling thread: a fork
/// costs microseconds, a value nanoseconds.
const PARALLEL_ELEMENTWISE: usize = 1 << 16;

/// The chunk length that spreads an elementwise pass over `len` values across the
/// threads of `par`, or `None` to run it on the calling thread. Each value is computed
/// alone, so the split changes no result.
fn parallel_chunk(par: Par, len: usize) -> Option<usize> {
    match par {
        Par::Rayon(threads) if len >= PARALLEL_ELEMENTWISE && threads.get() > 1 => {
            Some(len.div_ceil(threads.get()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn layer(units: usize, activation: Activation) -> LayerSpec {
        LayerSpec {
            units,
            activation,
            init: Init::GlorotUniform,
        }
    }

    #[test]
    fn descriptions_are_validated() {
        let bce = Loss::BinaryCrossEntropy;
        let cases: [(usize, Vec<LayerSpec>, Loss, CoreError); 4] = [
            (
                0,
                vec![layer(1, Activation::Sigmoid)],
                bce,
                CoreError::NoInputs,
            ),
            (2, vec![], bce, CoreError::NoLayers),
            (
                2,
                vec![
                    layer(5, Activation::Tanh),
                    layer(0, Activation::Tanh),
                    layer(1, Activation::Sigmoid),
                ],
                bce,
                CoreError::NoUnits { layer: 2 },
            ),
            (
                2,
                vec![layer(1, Activation::Linear)],
                bce,
                CoreError::LossOutputMismatch {
                    loss: bce,
                    output: Activation::Linear,
                    expected: Activation::Sigmoid,
                },
            ),
        ];
        for (inputs, layers, loss, expected) in cases {
            assert_eq!(
                Architecture::new(inputs, layers, loss).unwrap_err(),
                expected
            );
        }
        assert!(
            Architecture::new(
                2,
                vec![layer(1, Activation::Linear)],
                Loss::MeanSquaredError
            )
            .is_ok()
        );
    }

    #[test]
    fn layout_is_kernel_then_bias_per_layer() {
        let arch = Architecture::new(
            2,
            vec![
                layer(5, Activation::Relu),
                layer(3, Activation::Relu),
                layer(1, Activation::Sigmoid),
            ],
            Loss::BinaryCrossEntropy,
        )
        .unwrap();
        let ranges: Vec<_> = arch
            .shapes()
            .iter()
            .map(|s| (s.kernel.clone(), s.bias.clone()))
            .collect();
        assert_eq!(
            ranges,
            vec![(0..10, 10..15), (15..30, 30..33), (33..36, 36..37)]
        );
        assert_eq!(arch.n_params(), 37);
        assert_eq!(arch.outputs(), 1);
    }

    #[test]
    fn a_short_batch_in_large_buffers_matches_exact_buffers() {
        // The last minibatch of an epoch is shorter than the buffers; views must cover
        // exactly its rows.
        let arch = Architecture::new(
            3,
            vec![
                layer(4, Activation::Tanh),
                layer(4, Activation::Softsign),
                layer(1, Activation::Sigmoid),
            ],
            Loss::BinaryCrossEntropy,
        )
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let params: Vec<f64> = arch.init_params(&mut rng);
        let x: Vec<f64> = (0..24).map(|i| (f64::from(i) * 0.37).sin()).collect();
        let y: Vec<f64> = (0..8).map(|i| f64::from(i % 2)).collect();
        let xm = MatRef::from_column_major_slice(&x, 8, 3);
        let mut g_exact = vec![0.0; arch.n_params()];
        let mut g_large = vec![0.0; arch.n_params()];
        let mut exact = Workspace::new(&arch, 8);
        let mut large = Workspace::new(&arch, 32);
        // Fill the large buffers with a full batch first, so stale rows would show.
        let big: Vec<f64> = (0..96).map(|i| f64::from(i).cos()).collect();
        let ybig = vec![1.0; 32];
        large.forward_backward(
            &arch,
            &params,
            MatRef::from_column_major_slice(&big, 32, 3),
            &ybig,
            &mut g_large,
        );
        let l1 = exact.forward_backward(&arch, &params, xm, &y, &mut g_exact);
        let l2 = large.forward_backward(&arch, &params, xm, &y, &mut g_large);
        assert_eq!(l1.to_bits(), l2.to_bits());
        assert_eq!(g_exact, g_large);
        assert_eq!(large.batch(), 8);
        assert_eq!(large.preact_grad(1).nrows(), 8);
    }
}
