use std::ops::Range;

use faer::{MatMut, MatRef, Par};
use rand::Rng;

use crate::kernels::{bias_grad, input_grad, weight_grad};
use crate::norm::{self, Norm};
use crate::optim::KernelSlots;
use crate::{Activation, CoreError, Init, Loss, Optimizer, OptimizerState, Scalar};
use crate::{blocked, kernels, threads};

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
    /// Normalization of the pre-activation before the activation; a normalized layer
    /// has a learned scale (starting at one) and shift (starting at zero) after it.
    pub norm: Norm,
    /// Whether the layer adds its input to its activation (`x + f(z)`, He et al. 2016),
    /// which needs as many units as inputs.
    pub residual: bool,
}

impl LayerSpec {
    /// A plain dense layer: no normalization, no skip connection.
    pub fn dense(units: usize, activation: Activation, init: Init) -> Self {
        Self {
            units,
            activation,
            init,
            norm: Norm::None,
            residual: false,
        }
    }
}

/// Where one layer's parameters sit in the flat parameter vector.
///
/// The kernel `W` (`fan_in x units`, Keras' shape) is stored column-major: the weight
/// from input `i` to unit `j` is at `kernel.start + i + j * fan_in`. The bias follows
/// right after it; a normalized layer's scale `gamma` and shift `beta` follow. Every
/// layer keeps the bias of its product, as Keras' `Dense` does by default: layer
/// normalization needs it (it normalizes across units, which a per-unit bias changes);
/// under batch normalization it cancels, its gradient is exactly zero and it stays at
/// zero. A batch-normalized layer's moving statistics live in a separate state
/// vector of [`Architecture::n_state`] values, which evaluation reads and training
/// updates but no gradient touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerShape {
    /// Number of inputs of the layer.
    pub fan_in: usize,
    /// Number of units.
    pub units: usize,
    /// Range of the kernel in the parameter vector.
    pub kernel: Range<usize>,
    /// Range of the bias (a normalized layer's shift) in the parameter vector.
    pub bias: Range<usize>,
    /// Range of a normalized layer's scale in the parameter vector (empty otherwise).
    pub scale: Range<usize>,
    /// Range of a normalized layer's shift in the parameter vector (empty otherwise).
    pub shift: Range<usize>,
    /// Range of a batch-normalized layer's moving mean in the state vector (empty
    /// otherwise).
    pub moving_mean: Range<usize>,
    /// Range of a batch-normalized layer's moving variance in the state vector (empty
    /// otherwise).
    pub moving_variance: Range<usize>,
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
    n_state: usize,
}

impl Architecture {
    /// Checks a description and computes its parameter layout.
    ///
    /// # Errors
    /// [`CoreError::NoInputs`], [`CoreError::NoLayers`], [`CoreError::NoUnits`],
    /// [`CoreError::SoftmaxLoss`] for a softmax output under another loss than
    /// categorical cross-entropy, [`CoreError::LossOutputMismatch`] if binary
    /// cross-entropy does not follow a sigmoid output or categorical cross-entropy a
    /// softmax, [`CoreError::SoftmaxHidden`] for a softmax in a hidden layer,
    /// [`CoreError::SoftmaxOneUnit`] for a softmax of one unit,
    /// [`CoreError::InvalidParameter`] for a bad initializer or a leaky ReLU
    /// slope that is not finite, [`CoreError::ResidualWidth`] for a skip connection
    /// across different widths, [`CoreError::ResidualOutput`] for one on the output
    /// layer, and [`CoreError::LayerNormOneUnit`] for layer normalization of one unit.
    pub fn new(inputs: usize, layers: Vec<LayerSpec>, loss: Loss) -> Result<Self, CoreError> {
        if inputs == 0 {
            return Err(CoreError::NoInputs);
        }
        let Some(last) = layers.last() else {
            return Err(CoreError::NoLayers);
        };
        if last.activation == Activation::Softmax && loss != Loss::CategoricalCrossEntropy {
            return Err(CoreError::SoftmaxLoss { loss });
        }
        if let Some(expected) = loss.expected_output()
            && last.activation != expected
        {
            return Err(CoreError::LossOutputMismatch {
                loss,
                output: last.activation,
                expected,
            });
        }
        let mut shapes = Vec::with_capacity(layers.len());
        let mut fan_in = inputs;
        let mut offset = 0;
        let mut state = 0;
        for (l, layer) in layers.iter().enumerate() {
            if layer.units == 0 {
                return Err(CoreError::NoUnits { layer: l + 1 });
            }
            if layer.residual && l + 1 == layers.len() {
                return Err(CoreError::ResidualOutput { layer: l + 1 });
            }
            if layer.residual && fan_in != layer.units {
                return Err(CoreError::ResidualWidth {
                    layer: l + 1,
                    inputs: fan_in,
                    units: layer.units,
                });
            }
            if layer.norm == Norm::Layer && layer.units == 1 {
                return Err(CoreError::LayerNormOneUnit { layer: l + 1 });
            }
            if layer.activation == Activation::Softmax {
                if l + 1 < layers.len() {
                    return Err(CoreError::SoftmaxHidden { layer: l + 1 });
                }
                if layer.units == 1 {
                    return Err(CoreError::SoftmaxOneUnit { layer: l + 1 });
                }
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
            let normed = if layer.norm.is_some() { layer.units } else { 0 };
            let scale = bias.end..bias.end + normed;
            let shift = scale.end..scale.end + normed;
            offset = shift.end;
            let stats = if layer.norm == Norm::Batch {
                layer.units
            } else {
                0
            };
            let moving_mean = state..state + stats;
            let moving_variance = moving_mean.end..moving_mean.end + stats;
            state = moving_variance.end;
            shapes.push(LayerShape {
                fan_in,
                units: layer.units,
                kernel,
                bias,
                scale,
                shift,
                moving_mean,
                moving_variance,
            });
            fan_in = layer.units;
        }
        Ok(Self {
            inputs,
            layers,
            shapes,
            loss,
            n_params: offset,
            n_state: state,
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

    /// Length of the state vector: the moving statistics of batch-normalized layers
    /// (0 for a network without batch normalization).
    pub fn n_state(&self) -> usize {
        self.n_state
    }

    /// Whether any layer normalizes or adds a skip connection, which the side-by-side
    /// lanes do not compute.
    pub fn is_plain(&self) -> bool {
        self.layers.iter().all(|l| !l.norm.is_some() && !l.residual)
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
    /// from the input side, every bias and shift zero and every scale one, as Keras
    /// starts them.
    pub fn init_params<T: Scalar, R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<T> {
        let mut params = vec![T::ZERO; self.n_params];
        for (layer, s) in self.layers.iter().zip(&self.shapes) {
            layer
                .init
                .fill(&mut params[s.kernel.clone()], s.fan_in, s.units, rng);
            params[s.scale.clone()].fill(T::ONE);
        }
        params
    }

    /// Fresh state: moving means zero and moving variances one, as Keras starts them.
    pub fn init_state<T: Scalar>(&self) -> Vec<T> {
        let mut state = vec![T::ZERO; self.n_state];
        for s in &self.shapes {
            state[s.moving_variance.clone()].fill(T::ONE);
        }
        state
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
/// After [`Workspace::forward`] it holds each layer's pre-activation `Z` (after any
/// normalization: the activation's input) and activation `A = f(Z)`; after
/// [`Workspace::backward`] also each layer's pre-activation gradient `D = dLoss/dZ`.
/// Each is a column-major `batch x units` matrix, readable through
/// [`Workspace::preactivation`], [`Workspace::activation`] and [`Workspace::preact_grad`]
/// for recording. A residual layer's output `x + A` is kept apart from `A`, so that
/// what is recorded per layer is still the layer's own activation.
#[derive(Debug, Clone)]
pub struct Workspace<T> {
    max_batch: usize,
    batch: usize,
    par: Par,
    z: Vec<Vec<T>>,
    a: Vec<Vec<T>>,
    delta: Vec<Vec<T>>,
    /// Per layer, what only normalized or residual layers need (empty otherwise).
    extra: Vec<LayerExtra<T>>,
    /// A training step's kernel gradients of wide layers, one block at a time: one
    /// buffer of `scratch_len` values per thread of `par` (none without wide layers).
    scratch: Vec<Vec<T>>,
    scratch_len: usize,
    /// A wide layer's input gradient, transposed (`fan_in x batch`).
    dx_t: Vec<T>,
}

/// The parameters as a backward pass sees them: read, or updated layer by layer (a
/// training step).
enum Params<'a, T> {
    Read(&'a [T]),
    Update {
        params: &'a mut [T],
        optimizer: &'a Optimizer,
        state: &'a mut OptimizerState<T>,
        iterations: u64,
    },
}

impl<T: Scalar> Params<'_, T> {
    fn len(&self) -> usize {
        self.read().len()
    }

    fn read(&self) -> &[T] {
        match self {
            Self::Read(p) => p,
            Self::Update { params, .. } => params,
        }
    }

    /// Applies the optimizer to the parameters `range` from their gradients (nothing
    /// when only reading).
    #[track_caller]
    fn update(&mut self, range: Range<usize>, grads: &[T]) {
        if let Self::Update {
            params,
            optimizer,
            state,
            iterations,
        } = self
        {
            optimizer.update_range(*iterations, state, range.clone(), &mut params[range], grads);
        }
    }
}

/// The buffers of one layer beyond `Z`, `A` and `D`.
#[derive(Debug, Clone)]
struct LayerExtra<T> {
    /// A normalized layer's normalized product `X` (`batch x units`).
    normalized: Vec<T>,
    /// A normalized layer's gradient at its product `U = A W` (`batch x units`).
    product_grad: Vec<T>,
    /// Batch statistics: per unit (batch normalization) or per row (layer
    /// normalization): mean, variance (batch normalization only), `1 / sqrt(var + eps)`.
    mean: Vec<T>,
    var: Vec<T>,
    inv_std: Vec<T>,
    /// Layer normalization's two sums per row in the backward pass.
    row_sums: Vec<T>,
    /// A residual layer's output `x + A` and the loss's gradient at it.
    output: Vec<T>,
    output_grad: Vec<T>,
}

/// Which statistics batch normalization uses in a forward pass.
#[derive(Clone, Copy)]
enum Statistics<'a, T> {
    /// The batch's own, as while training.
    Batch,
    /// The moving statistics in this state vector, as while evaluating.
    Moving(&'a [T]),
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
        let extra = arch
            .layers()
            .iter()
            .map(|layer| {
                let matrix = |on: bool| vec![T::ZERO; if on { max_batch * layer.units } else { 0 }];
                let normed = layer.norm.is_some();
                let stats = match layer.norm {
                    Norm::None => 0,
                    Norm::Batch => layer.units,
                    Norm::Layer => max_batch,
                };
                LayerExtra {
                    normalized: matrix(normed),
                    product_grad: matrix(normed),
                    mean: vec![T::ZERO; stats],
                    var: vec![T::ZERO; if layer.norm == Norm::Batch { stats } else { 0 }],
                    inv_std: vec![T::ZERO; stats],
                    row_sums: vec![
                        T::ZERO;
                        if layer.norm == Norm::Layer {
                            2 * max_batch
                        } else {
                            0
                        }
                    ],
                    output: matrix(layer.residual),
                    output_grad: matrix(layer.residual),
                }
            })
            .collect();
        let scratch_len = arch
            .shapes()
            .iter()
            .filter(|s| blocked::is_blocked(s.fan_in, s.units))
            .map(|s| blocked::BLOCK.min(s.fan_in) * s.units)
            .max()
            .unwrap_or(0);
        Self {
            max_batch,
            batch: 0,
            par: Par::Seq,
            z: buffers(),
            a: buffers(),
            delta: buffers(),
            extra,
            scratch: if scratch_len > 0 {
                vec![vec![T::ZERO; scratch_len]]
            } else {
                Vec::new()
            },
            scratch_len,
            dx_t: vec![
                T::ZERO;
                max_batch
                    * arch
                        .shapes()
                        .iter()
                        .filter(|s| blocked::is_blocked(s.fan_in, s.units))
                        .map(|s| s.fan_in)
                        .max()
                        .unwrap_or(0)
            ],
        }
    }

    /// The same buffers, computing on `par`'s threads: the products of layers whose
    /// kernel has at least 65,536 weights, which run in fixed blocks of 32 of the
    /// kernel's rows or columns, are shared out block by block, and so are a training
    /// step's updates of those kernels and the activation and derivative passes of
    /// layers of at least 65,536 values. Only wide layers gain from threads. The blocks
    /// depend on the layer's shape alone and every elementwise value is computed alone,
    /// so the results are the same bits on any number of threads.
    #[must_use]
    pub fn with_par(mut self, par: Par) -> Self {
        self.par = par;
        if self.scratch_len > 0 {
            let buffers = threads::count(par).max(1);
            self.scratch = vec![vec![T::ZERO; self.scratch_len]; buffers];
        }
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

    /// Runs the batch `x` (`batch x inputs`, any strides) through the network as while
    /// training: batch normalization uses the batch's own statistics (and keeps them
    /// for [`Workspace::update_moving_statistics`]).
    ///
    /// # Panics
    /// If `x` has more rows than the buffers hold, the wrong number of columns, or
    /// `params` does not fit `arch`.
    #[track_caller]
    pub fn forward(&mut self, arch: &Architecture, params: &[T], x: MatRef<'_, T>) {
        self.pass(arch, params, x, Statistics::Batch);
    }

    /// Runs the batch `x` through the network as while evaluating: batch normalization
    /// uses the moving statistics in `state` (laid out as [`Architecture::init_state`]).
    /// Without batch normalization this is [`Workspace::forward`].
    ///
    /// # Panics
    /// As [`Workspace::forward`], or if `state` does not fit `arch`.
    #[track_caller]
    pub fn infer(&mut self, arch: &Architecture, params: &[T], state: &[T], x: MatRef<'_, T>) {
        assert_eq!(state.len(), arch.n_state(), "infer: state length");
        self.pass(arch, params, x, Statistics::Moving(state));
    }

    /// Folds the batch statistics of the last [`Workspace::forward`] into the moving
    /// statistics in `state`, as Keras does on every training step.
    ///
    /// # Panics
    /// If `state` does not fit `arch`.
    #[track_caller]
    pub fn update_moving_statistics(&self, arch: &Architecture, state: &mut [T]) {
        assert_eq!(
            state.len(),
            arch.n_state(),
            "update_moving_statistics: state length"
        );
        for (s, extra) in arch.shapes().iter().zip(&self.extra) {
            if !s.moving_mean.is_empty() {
                norm::update_moving(&mut state[s.moving_mean.clone()], &extra.mean);
                norm::update_moving(&mut state[s.moving_variance.clone()], &extra.var);
            }
        }
    }

    #[track_caller]
    fn pass(
        &mut self,
        arch: &Architecture,
        params: &[T],
        x: MatRef<'_, T>,
        stats: Statistics<'_, T>,
    ) {
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
            let (extra_done, extra_rest) = self.extra.split_at_mut(l);
            // The previous layer's output as one column-major slice (none for the
            // input batch, which may have any strides).
            let previous: Option<&[T]> = match (done.last(), extra_done.last()) {
                (None, _) => None,
                (Some(prev), Some(prev_extra)) => Some(if prev_extra.output.is_empty() {
                    &prev[..batch * s.fan_in]
                } else {
                    &prev_extra.output[..batch * s.fan_in]
                }),
                (Some(_), None) => unreachable!("one extra per layer"),
            };
            let input = previous.map_or(x, |p| MatRef::from_column_major_slice(p, batch, s.fan_in));
            let extra = &mut extra_rest[0];
            let z = &mut self.z[l][..n];
            if layer.norm.is_some() {
                let u = &mut extra.normalized[..n];
                dense_forward(
                    MatMut::from_column_major_slice_mut(u, batch, s.units),
                    input,
                    arch.kernel(params, l),
                    arch.bias(params, l),
                    self.par,
                );
                let (beta, gamma) = (&params[s.shift.clone()], &params[s.scale.clone()]);
                match (layer.norm, stats) {
                    (Norm::Layer, _) => {
                        norm::row_moments(u, batch, &mut extra.mean, &mut extra.inv_std);
                        norm::normalize_rows(u, batch, &extra.mean, &extra.inv_std, gamma, beta, z);
                    }
                    (_, stats) => {
                        // The batch's own statistics are kept for the moving update; the
                        // moving ones are read in place, so an evaluation pass between a
                        // training pass and its update leaves the batch's intact.
                        let mean = match stats {
                            Statistics::Batch => {
                                norm::column_moments(
                                    u,
                                    batch,
                                    &mut extra.mean,
                                    &mut extra.var,
                                    &mut extra.inv_std,
                                );
                                &extra.mean[..]
                            }
                            Statistics::Moving(state) => {
                                let eps = T::from_f64(norm::NORM_EPSILON);
                                let var = &state[s.moving_variance.clone()];
                                for (inv, &v) in extra.inv_std.iter_mut().zip(var) {
                                    *inv = T::ONE / (v + eps).sqrt();
                                }
                                &state[s.moving_mean.clone()]
                            }
                        };
                        norm::normalize_columns(u, batch, mean, &extra.inv_std, gamma, beta, z);
                    }
                }
            } else {
                dense_forward(
                    MatMut::from_column_major_slice_mut(z, batch, s.units),
                    input,
                    arch.kernel(params, l),
                    arch.bias(params, l),
                    self.par,
                );
            }
            let a = &mut rest[0][..n];
            match parallel_chunk(self.par, n) {
                // A chunk may cut through a sample's outputs, which the softmax reads
                // together; it runs on the calling thread.
                Some(chunk) if layer.activation.is_elementwise() => {
                    threads::for_chunks(a, z, z, chunk, |a, z, _| {
                        layer.activation.apply_slice(z, a);
                    });
                }
                _ => layer.activation.apply_rows(z, a, batch),
            }
            if layer.residual {
                // A residual layer's input has its width, so the input read above is
                // the skip connection.
                let out = &mut extra.output[..n];
                match previous {
                    Some(p) => {
                        for ((o, &av), &xv) in out.iter_mut().zip(a.iter()).zip(p) {
                            *o = xv + av;
                        }
                    }
                    None => {
                        for ((o, &av), xv) in out.iter_mut().zip(a.iter()).zip(skip_values(input)) {
                            *o = xv + av;
                        }
                    }
                }
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
        arch.loss()
            .value(self.batch, &self.z[last][..n], &self.a[last][..n], y)
    }

    /// Back-propagates the loss of the last forward pass against targets `y` (a
    /// column-major `batch x outputs` slice), writing the gradient of the mean loss with
    /// respect to every parameter into `grads` (laid out as the parameters) and every
    /// layer's pre-activation gradient into the workspace. `x` must be the batch that was
    /// passed forward, as while training ([`Workspace::forward`]). Returns the loss.
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
        self.back_propagate(arch, Params::Read(params), x, y, grads)
    }

    /// One training step: [`Workspace::forward`], the backward pass, and `optimizer`'s
    /// update of `params`, with the same bits as [`Workspace::forward_backward`]
    /// followed by [`Optimizer::step_par`] on this workspace's `Par`. With SGD it takes
    /// less time: each layer's parameters are updated as soon as the backward pass has
    /// read them, a wide kernel block by block while the block is still in the
    /// processor's cache, and a wide kernel's gradient is never written out. RMSprop and
    /// Adam, whose updates gain nothing from this, take the two calls. Returns the loss.
    ///
    /// Afterwards `grads` holds the gradients of every bias, scale and shift and of
    /// every kernel that does not run in blocks (fewer than 65,536 weights); with SGD
    /// the entries of the wider kernels are left as they were. A caller that records
    /// the gradients of a step takes it as [`Workspace::forward_backward`] and
    /// [`Optimizer::step_par`] instead, which leaves the same parameters. Batch
    /// normalization's moving statistics are left to
    /// [`Workspace::update_moving_statistics`], as after [`Workspace::forward_backward`].
    /// A loss that is not finite updates nothing: a run stops there, with the
    /// parameters it had.
    ///
    /// # Panics
    /// As [`Workspace::forward_backward`] and [`Optimizer::step`].
    #[allow(clippy::too_many_arguments)] // The step's every input, as its two halves take them.
    #[track_caller]
    pub fn train_step(
        &mut self,
        arch: &Architecture,
        params: &mut [T],
        x: MatRef<'_, T>,
        y: &[T],
        grads: &mut [T],
        optimizer: &Optimizer,
        state: &mut OptimizerState<T>,
    ) -> T {
        if !matches!(optimizer, Optimizer::Sgd(_)) {
            // RMSprop's and Adam's updates, a few values at a time along a block's
            // short columns, cost more than the pass over the kernel they save: on the
            // paper's network a fused RMSprop step measured 1.3 times as long as the
            // gradients and a whole-vector update (`bench/wide_paper.rs`).
            let loss = self.forward_backward(arch, params, x, y, grads);
            if loss.is_finite() {
                optimizer.step_par(state, params, grads, self.par);
            }
            return loss;
        }
        self.forward(arch, params, x);
        assert_eq!(params.len(), arch.n_params(), "train_step: parameter count");
        let iterations = Optimizer::begin_step(state);
        self.back_propagate(
            arch,
            Params::Update {
                params,
                optimizer,
                state,
                iterations,
            },
            x,
            y,
            grads,
        )
    }

    /// The backward pass, reading the parameters or updating each layer's as soon as
    /// it is done with them.
    #[track_caller]
    fn back_propagate(
        &mut self,
        arch: &Architecture,
        mut params: Params<'_, T>,
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
        assert_eq!(params.len(), arch.n_params(), "backward: parameter count");
        let threads = threads::count(self.par);
        let last = arch.shapes().len() - 1;
        let n_out = batch * arch.outputs();
        let output = arch.layers()[last].activation;
        let loss = arch.loss().value_and_grad(
            output,
            batch,
            &self.z[last][..n_out],
            &self.a[last][..n_out],
            y,
            &mut self.delta[last][..n_out],
        );
        if matches!(params, Params::Update { .. }) && !loss.is_finite() {
            // A run stops at a loss that is not finite, with the parameters it had.
            return loss;
        }
        for l in (0..=last).rev() {
            let layer = &arch.layers()[l];
            let s = &arch.shapes()[l];
            let n = batch * s.units;
            let (before, from_l) = self.delta.split_at_mut(l);
            let (extra_before, extra_from_l) = self.extra.split_at_mut(l);
            let extra = &mut extra_from_l[0];
            let (dw, rest) = grads[s.kernel.start..s.shift.end].split_at_mut(s.kernel.len());
            let (db, rest) = rest.split_at_mut(s.units);
            let (dgamma, dbeta) = rest.split_at_mut(s.scale.len());
            // The gradient at the product `A W`: `D` itself, or through the normalization.
            let d_product: &[T] = if layer.norm.is_some() {
                let d = &from_l[0][..n];
                let xn = &extra.normalized[..n];
                norm::scale_shift_grad(d, xn, batch, dgamma, dbeta);
                let gamma = &params.read()[s.scale.clone()];
                let du = &mut extra.product_grad[..n];
                match layer.norm {
                    Norm::Batch => norm::column_input_grad(
                        d,
                        xn,
                        batch,
                        gamma,
                        &extra.inv_std,
                        dgamma,
                        dbeta,
                        du,
                    ),
                    _ => norm::row_input_grad(
                        d,
                        xn,
                        batch,
                        gamma,
                        &extra.inv_std,
                        &mut extra.row_sums,
                        du,
                    ),
                }
                if layer.norm == Norm::Batch {
                    // Every shift of a unit over the batch is subtracted again with the
                    // batch's mean: the bias' gradient is exactly zero, and written so
                    // rather than as the rounding noise of `sum dU`, which adaptive
                    // optimizers would rescale into full steps of a drifting bias.
                    db.fill(T::ZERO);
                } else {
                    bias_grad(db, MatRef::from_column_major_slice(du, batch, s.units));
                }
                du
            } else {
                let d = &from_l[0][..n];
                bias_grad(db, MatRef::from_column_major_slice(d, batch, s.units));
                d
            };
            let d = MatRef::from_column_major_slice(d_product, batch, s.units);
            let m = batch * s.fan_in;
            // The previous layer's output (its own buffer if it is residual) and the
            // gradient at it.
            let (prev_output, prev_output_grad) = match extra_before.last_mut() {
                Some(p) => (&p.output[..], &mut p.output_grad[..]),
                None => (&[][..], &mut [][..]),
            };
            let input = if l == 0 {
                x
            } else {
                let out = if prev_output.is_empty() {
                    &self.a[l - 1]
                } else {
                    prev_output
                };
                MatRef::from_column_major_slice(&out[..m], batch, s.fan_in)
            };
            // The gradient at the previous layer's output goes where that layer reads
            // it: its output gradient if it is residual (its activation's gradient is
            // then taken from there), else straight into its `D`.
            let prev_residual = !prev_output_grad.is_empty();
            let mut g: Option<&mut [T]> = match before.last_mut() {
                Some(_) if prev_residual => Some(&mut prev_output_grad[..m]),
                Some(d_prev) => Some(&mut d_prev[..m]),
                None => None,
            };
            let kernel_range = s.kernel.clone();
            let others = s.bias.start..s.shift.end;
            if blocked::is_blocked(s.fan_in, s.units) {
                let dx_t = g.is_some().then(|| {
                    MatMut::from_column_major_slice_mut(&mut self.dx_t[..m], s.fan_in, batch)
                });
                let kernel = match &mut params {
                    Params::Read(p) => {
                        blocked::weight_grad(
                            MatMut::from_column_major_slice_mut(dw, s.fan_in, s.units),
                            input,
                            d,
                            threads,
                        );
                        blocked::Kernel::Read(arch.kernel(p, l))
                    }
                    Params::Update {
                        params,
                        optimizer,
                        state,
                        iterations,
                    } => blocked::Kernel::Update {
                        w: MatMut::from_column_major_slice_mut(
                            &mut params[kernel_range.clone()],
                            s.fan_in,
                            s.units,
                        ),
                        slots: KernelSlots::new(state, kernel_range, s.fan_in, s.units),
                        optimizer,
                        iterations: *iterations,
                        scratch: &mut self.scratch,
                    },
                };
                blocked::Backward {
                    a: input,
                    d,
                    kernel,
                    dx_t,
                }
                .run(threads);
                if let Some(g) = g.as_deref_mut() {
                    // Back from `fan_in x batch` to the layer's `batch x fan_in`.
                    let dx_t = &self.dx_t[..m];
                    for (i, column) in g.chunks_exact_mut(batch).enumerate() {
                        for (r, v) in column.iter_mut().enumerate() {
                            *v = dx_t[i + r * s.fan_in];
                        }
                    }
                }
            } else {
                let w = arch.kernel(params.read(), l);
                weight_grad(
                    MatMut::from_column_major_slice_mut(dw, s.fan_in, s.units),
                    input,
                    d,
                    Par::Seq,
                );
                if let Some(g) = g.as_deref_mut() {
                    input_grad(
                        MatMut::from_column_major_slice_mut(g, batch, s.fan_in),
                        d,
                        w,
                        Par::Seq,
                    );
                }
                params.update(kernel_range.clone(), &grads[kernel_range]);
            }
            params.update(others.clone(), &grads[others]);
            if let Some(g) = g {
                if layer.residual {
                    // The skip connection passes this layer's output gradient on as it is.
                    for (gv, &ov) in g.iter_mut().zip(&extra.output_grad[..m]) {
                        *gv += ov;
                    }
                }
                let d_prev = &mut before[l - 1][..m];
                if prev_residual {
                    d_prev.copy_from_slice(&extra_before[l - 1].output_grad[..m]);
                }
                let prev = arch.layers()[l - 1].activation;
                let z_prev = &self.z[l - 1][..m];
                let a_prev = &self.a[l - 1][..m];
                match parallel_chunk(self.par, d_prev.len()) {
                    Some(chunk) => threads::for_chunks(d_prev, z_prev, a_prev, chunk, |d, z, a| {
                        prev.mul_derivative(d, z, a);
                    }),
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

/// The values of `x` column by column, the order of a column-major buffer of its shape.
fn skip_values<T: Scalar>(x: MatRef<'_, T>) -> impl Iterator<Item = T> + '_ {
    (0..x.ncols()).flat_map(move |j| (0..x.nrows()).map(move |i| x[(i, j)]))
}

/// A dense layer's forward product: in blocks across `par`'s threads for a wide
/// kernel, else on the calling thread.
fn dense_forward<T: Scalar>(
    z: MatMut<'_, T>,
    a: MatRef<'_, T>,
    w: MatRef<'_, T>,
    b: &[T],
    par: Par,
) {
    if blocked::is_blocked(w.nrows(), w.ncols()) {
        blocked::dense_forward(z, a, w, b, threads::count(par));
    } else {
        kernels::dense_forward(z, a, w, b, Par::Seq);
    }
}

/// Below this many values an elementwise pass stays on the calling thread: a fork
/// costs microseconds, a value nanoseconds.
const PARALLEL_ELEMENTWISE: usize = 1 << 16;

/// The chunk length that spreads an elementwise pass over `len` values across the
/// threads of `par`, or `None` to run it on the calling thread. Each value is computed
/// alone, so the split changes no result.
fn parallel_chunk(par: Par, len: usize) -> Option<usize> {
    let threads = threads::count(par);
    (len >= PARALLEL_ELEMENTWISE && threads > 1).then(|| len.div_ceil(threads))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn layer(units: usize, activation: Activation) -> LayerSpec {
        LayerSpec::dense(units, activation, Init::GlorotUniform)
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
