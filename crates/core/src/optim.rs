use std::ops::Range;

use faer::reborrow::ReborrowMut;
use faer::{MatMut, MatRef, Par};

use crate::{CoreError, Scalar, threads};

/// Gradient descent, with optional momentum and Nesterov momentum, as Keras' `SGD`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sgd {
    /// Step size (Keras default 0.01).
    pub learning_rate: f64,
    /// Momentum factor in `[0, 1)`; 0 turns momentum off (Keras default 0).
    pub momentum: f64,
    /// Whether to use Nesterov momentum (Keras default false).
    pub nesterov: bool,
}

/// Where RMSprop adds epsilon, which matters exactly when gradients vanish: with
/// gradients of 1e-5 the two rules take steps that differ by orders of magnitude.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RmsPropVariant {
    /// Keras 2 (TensorFlow up to 2.10, what the tutorial ran): without momentum
    /// `w -= lr g / (sqrt(v) + eps)`, epsilon outside the root. With momentum Keras 2
    /// called TensorFlow's fused kernel, which puts epsilon inside the root, and so does
    /// this variant.
    Keras2,
    /// Keras 3: `w -= lr g / sqrt(v + eps)`, epsilon inside the root, with or without
    /// momentum.
    Keras3,
}

/// RMSprop as Keras implements it, in either [`RmsPropVariant`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmsProp {
    /// Step size (Keras default 0.001).
    pub learning_rate: f64,
    /// Decay of the running mean of squared gradients, in `[0, 1)` (default 0.9).
    pub rho: f64,
    /// Momentum factor in `[0, 1)`; 0 turns momentum off (default 0).
    pub momentum: f64,
    /// Small constant for numerical stability, `>= 0` (default 1e-7).
    pub epsilon: f64,
    /// Whether to divide by the estimated variance rather than the raw second moment
    /// (default false).
    pub centered: bool,
    /// Where epsilon goes (default [`RmsPropVariant::Keras2`], as the tutorial).
    pub variant: RmsPropVariant,
}

/// Adam as Keras implements it (bias correction folded into the step size, epsilon
/// added to the root of the uncorrected second moment).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adam {
    /// Step size (default 0.001).
    pub learning_rate: f64,
    /// Decay of the first moment, in `[0, 1)` (default 0.9).
    pub beta_1: f64,
    /// Decay of the second moment, in `[0, 1)` (default 0.999).
    pub beta_2: f64,
    /// Small constant for numerical stability, `>= 0` (default 1e-7).
    pub epsilon: f64,
}

impl Default for Sgd {
    fn default() -> Self {
        Self {
            learning_rate: 0.01,
            momentum: 0.0,
            nesterov: false,
        }
    }
}

impl Default for RmsProp {
    fn default() -> Self {
        Self {
            learning_rate: 0.001,
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
            variant: RmsPropVariant::Keras2,
        }
    }
}

impl Default for Adam {
    fn default() -> Self {
        Self {
            learning_rate: 0.001,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        }
    }
}

/// One of the optimizers, as configured. It holds no state: [`Optimizer::step`] takes
/// an [`OptimizerState`] so that the state can be inspected, copied or reset freely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// Gradient descent.
    Sgd(Sgd),
    /// RMSprop.
    RmsProp(RmsProp),
    /// Adam.
    Adam(Adam),
}

/// The state an optimizer keeps between steps, one slot per parameter, with Keras'
/// names. Slots an optimizer does not use are empty.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerState<T> {
    /// Number of steps taken.
    pub iterations: u64,
    /// SGD's and RMSprop's momentum buffer; Adam's first moment `m`.
    pub momentum: Vec<T>,
    /// RMSprop's running mean of squared gradients; Adam's second moment `v`.
    pub velocity: Vec<T>,
    /// Centered RMSprop's running mean of gradients.
    pub average_gradient: Vec<T>,
}

impl Optimizer {
    /// The optimizer's name, as written in experiment files.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sgd(_) => "sgd",
            Self::RmsProp(_) => "rmsprop",
            Self::Adam(_) => "adam",
        }
    }

    /// The learning rate.
    pub fn learning_rate(&self) -> f64 {
        match self {
            Self::Sgd(o) => o.learning_rate,
            Self::RmsProp(o) => o.learning_rate,
            Self::Adam(o) => o.learning_rate,
        }
    }

    /// Checks every hyperparameter's range.
    ///
    /// # Errors
    /// [`CoreError::InvalidParameter`] naming the first one out of range.
    pub fn validate(&self) -> Result<(), CoreError> {
        let owner = self.name();
        let check = |name: &'static str, value: f64, ok: bool, expected: &'static str| {
            if ok {
                Ok(())
            } else {
                Err(CoreError::InvalidParameter {
                    owner,
                    name,
                    value,
                    expected,
                })
            }
        };
        let unit = |v: f64| (0.0..1.0).contains(&v);
        let lr = self.learning_rate();
        check(
            "learning_rate",
            lr,
            lr.is_finite() && lr > 0.0,
            "a finite number > 0",
        )?;
        match *self {
            Self::Sgd(o) => check(
                "momentum",
                o.momentum,
                unit(o.momentum),
                "a number in [0, 1)",
            ),
            Self::RmsProp(o) => {
                check("rho", o.rho, unit(o.rho), "a number in [0, 1)")?;
                check(
                    "momentum",
                    o.momentum,
                    unit(o.momentum),
                    "a number in [0, 1)",
                )?;
                check(
                    "epsilon",
                    o.epsilon,
                    o.epsilon.is_finite() && o.epsilon >= 0.0,
                    "a finite number >= 0",
                )
            }
            Self::Adam(o) => {
                check("beta_1", o.beta_1, unit(o.beta_1), "a number in [0, 1)")?;
                check("beta_2", o.beta_2, unit(o.beta_2), "a number in [0, 1)")?;
                check(
                    "epsilon",
                    o.epsilon,
                    o.epsilon.is_finite() && o.epsilon >= 0.0,
                    "a finite number >= 0",
                )
            }
        }
    }

    /// A fresh state for `n_params` parameters, with every slot this optimizer uses
    /// allocated and zeroed.
    pub fn init_state<T: Scalar>(&self, n_params: usize) -> OptimizerState<T> {
        let slot = |used: bool| {
            if used {
                vec![T::ZERO; n_params]
            } else {
                Vec::new()
            }
        };
        let (momentum, velocity, average_gradient) = match self {
            Self::Sgd(o) => (o.momentum != 0.0, false, false),
            Self::RmsProp(o) => (o.momentum != 0.0, true, o.centered),
            Self::Adam(_) => (true, true, false),
        };
        OptimizerState {
            iterations: 0,
            momentum: slot(momentum),
            velocity: slot(velocity),
            average_gradient: slot(average_gradient),
        }
    }

    /// Applies one update to `params` from `grads`, advancing `state`. Allocates nothing.
    ///
    /// # Panics
    /// If `grads` or a used slot of `state` is not as long as `params` (the state was
    /// made for another network or another optimizer).
    #[track_caller]
    pub fn step<T: Scalar>(&self, state: &mut OptimizerState<T>, params: &mut [T], grads: &[T]) {
        self.step_par(state, params, grads, Par::Seq);
    }

    /// [`Optimizer::step`] with the parameters split into contiguous chunks updated on
    /// `par`'s threads when there are enough of them to pay for it (a wide network's
    /// millions). Every update is elementwise, so the result is the same bits.
    ///
    /// # Panics
    /// As [`Optimizer::step`].
    #[track_caller]
    pub fn step_par<T: Scalar>(
        &self,
        state: &mut OptimizerState<T>,
        params: &mut [T],
        grads: &[T],
        par: Par,
    ) {
        let n = params.len();
        assert_eq!(grads.len(), n, "optimizer step: gradient length");
        state.iterations += 1;
        let iterations = state.iterations;
        let slots = Slots {
            momentum: &mut state.momentum,
            velocity: &mut state.velocity,
            average_gradient: &mut state.average_gradient,
        };
        let threads = if n >= PARALLEL_UPDATE {
            threads::count(par)
        } else {
            1
        };
        if threads <= 1 {
            let mut slots = slots;
            self.update(iterations, &mut slots, params, grads);
            return;
        }
        self.update_split(iterations, slots, params, grads, n.div_ceil(threads));
    }

    /// Updates halves of the parameters on two threads (`rayon::join`, which allocates
    /// nothing; one after the other on WebAssembly) until the pieces are at most
    /// `chunk` long.
    fn update_split<T: Scalar>(
        &self,
        iterations: u64,
        slots: Slots<'_, T>,
        params: &mut [T],
        grads: &[T],
        chunk: usize,
    ) {
        if params.len() <= chunk {
            let mut slots = slots;
            self.update(iterations, &mut slots, params, grads);
            return;
        }
        let mid = params.len().div_ceil(2);
        let (p0, p1) = params.split_at_mut(mid);
        let (g0, g1) = grads.split_at(mid);
        let (s0, s1) = slots.split_at(mid);
        threads::join(
            || self.update_split(iterations, s0, p0, g0, chunk),
            || self.update_split(iterations, s1, p1, g1, chunk),
        );
    }

    fn update<T: Scalar>(
        &self,
        iterations: u64,
        slots: &mut Slots<'_, T>,
        params: &mut [T],
        grads: &[T],
    ) {
        self.update_with(self.step_size(iterations), slots, params, grads, false);
    }

    /// Adam's step size at step `iterations`, both bias corrections folded in, as
    /// Keras computes it (0 for the other optimizers, which do not use it). The powers
    /// come from the pure-Rust libm rather than the C library's `pow`, whose last bits
    /// differ between platforms.
    fn step_size(&self, iterations: u64) -> f64 {
        match *self {
            Self::Adam(o) => {
                let t = iterations as f64;
                o.learning_rate * (1.0 - libm::pow(o.beta_2, t)).sqrt()
                    / (1.0 - libm::pow(o.beta_1, t))
            }
            Self::Sgd(_) | Self::RmsProp(_) => 0.0,
        }
    }

    /// The update, given Adam's step size; `dispatched` when already running inside a
    /// pulp dispatch (the loops are then compiled with its instruction set).
    #[inline(always)]
    fn update_with<T: Scalar>(
        &self,
        alpha: f64,
        slots: &mut Slots<'_, T>,
        params: &mut [T],
        grads: &[T],
        dispatched: bool,
    ) {
        match *self {
            Self::Sgd(o) => sgd_step(o, slots, params, grads),
            Self::RmsProp(o) => rmsprop_step(o, slots, params, grads, dispatched),
            Self::Adam(o) => adam_step(o, alpha, slots, params, grads),
        }
    }
}

/// A step taken a piece at a time, as [`crate::Workspace::train_step`] takes it: each
/// parameter is updated by the same arithmetic as in [`Optimizer::step`], so the
/// pieces together are the bits of one step.
impl Optimizer {
    /// Starts a step: advances `state`'s iteration count and returns it.
    pub(crate) fn begin_step<T>(state: &mut OptimizerState<T>) -> u64 {
        state.iterations += 1;
        state.iterations
    }

    /// Updates the parameters `range` of a step that `begin_step` started, given
    /// `params` and `grads` as those parameters' slices.
    ///
    /// # Panics
    /// If a slot the optimizer uses is too short for `range`, or the slices differ in
    /// length from it.
    #[track_caller]
    pub(crate) fn update_range<T: Scalar>(
        &self,
        iterations: u64,
        state: &mut OptimizerState<T>,
        range: Range<usize>,
        params: &mut [T],
        grads: &[T],
    ) {
        assert!(
            params.len() == range.len() && grads.len() == range.len(),
            "optimizer update: lengths"
        );
        let mut slots = Slots {
            momentum: slot_range(&mut state.momentum, range.clone()),
            velocity: slot_range(&mut state.velocity, range.clone()),
            average_gradient: slot_range(&mut state.average_gradient, range),
        };
        self.update(iterations, &mut slots, params, grads);
    }

    /// Updates a block of a kernel's rows, `w` (column-major storage, so that each
    /// column's piece is contiguous), from its gradient `g` (the same shape, columns
    /// contiguous) and its slots, column by column.
    ///
    /// # Panics
    /// If the shapes differ or a column is not contiguous.
    #[track_caller]
    pub(crate) fn update_block<T: Scalar>(
        &self,
        iterations: u64,
        w: MatMut<'_, T>,
        g: MatRef<'_, T>,
        slots: KernelSlots<'_, T>,
    ) {
        assert!(
            w.nrows() == g.nrows() && w.ncols() == g.ncols(),
            "optimizer update: block shapes"
        );
        /// Every column under one dispatch.
        struct Block<'a, 'b, T> {
            optimizer: &'a Optimizer,
            alpha: f64,
            w: MatMut<'b, T>,
            g: MatRef<'b, T>,
            slots: KernelSlots<'b, T>,
        }
        impl<T: Scalar> pulp::WithSimd for Block<'_, '_, T> {
            type Output = ();
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, _: S) {
                let Self {
                    optimizer,
                    alpha,
                    mut w,
                    g,
                    mut slots,
                } = self;
                for j in 0..w.ncols() {
                    let params = w
                        .rb_mut()
                        .col_mut(j)
                        .try_as_col_major_mut()
                        .expect("a kernel's columns are contiguous")
                        .as_slice_mut();
                    let grads = g
                        .col(j)
                        .try_as_col_major()
                        .expect("a gradient's columns are contiguous")
                        .as_slice();
                    let [momentum, velocity, average_gradient] = slots.column(j);
                    let mut column = Slots {
                        momentum,
                        velocity,
                        average_gradient,
                    };
                    optimizer.update_with(alpha, &mut column, params, grads, true);
                }
            }
        }
        crate::simd::simd_arch().dispatch(Block {
            optimizer: self,
            alpha: self.step_size(iterations),
            w,
            g,
            slots,
        });
    }
}

/// `slot[range]`, or nothing for a slot the optimizer does not use.
#[track_caller]
fn slot_range<T>(slot: &mut [T], range: Range<usize>) -> &mut [T] {
    if slot.is_empty() {
        &mut []
    } else {
        &mut slot[range]
    }
}

/// A kernel's optimizer slots viewed in the kernel's `fan_in x units` shape (each
/// `None` if the optimizer does not use it), so that blocks of its rows can be updated
/// apart, on different threads.
pub(crate) struct KernelSlots<'a, T> {
    slots: [Option<MatMut<'a, T>>; 3],
}

impl<'a, T: Scalar> KernelSlots<'a, T> {
    /// The slots of the kernel at `range` of the parameters, `rows x cols`.
    ///
    /// # Panics
    /// If a used slot is too short for `range`.
    #[track_caller]
    pub(crate) fn new(
        state: &'a mut OptimizerState<T>,
        range: Range<usize>,
        rows: usize,
        cols: usize,
    ) -> Self {
        let view = |slot: &'a mut Vec<T>| {
            (!slot.is_empty())
                .then(|| MatMut::from_column_major_slice_mut(&mut slot[range.clone()], rows, cols))
        };
        Self {
            slots: [
                view(&mut state.momentum),
                view(&mut state.velocity),
                view(&mut state.average_gradient),
            ],
        }
    }

    /// The first `row` rows of every slot, and the rest.
    pub(crate) fn split_at_row(self, row: usize) -> (Self, Self) {
        let [a, b, c] = self.slots.map(|s| match s {
            Some(m) => {
                let (top, bottom) = m.split_at_row_mut(row);
                (Some(top), Some(bottom))
            }
            None => (None, None),
        });
        (
            Self {
                slots: [a.0, b.0, c.0],
            },
            Self {
                slots: [a.1, b.1, c.1],
            },
        )
    }

    /// Rows `start..start + len` of every slot.
    pub(crate) fn subrows(&mut self, start: usize, len: usize) -> KernelSlots<'_, T> {
        let [a, b, c] = &mut self.slots;
        KernelSlots {
            slots: [a, b, c].map(|s| s.as_mut().map(|m| m.rb_mut().subrows_mut(start, len))),
        }
    }

    /// Column `j` of every slot as a slice (empty for an unused slot).
    #[inline(always)]
    fn column(&mut self, j: usize) -> [&mut [T]; 3] {
        let [a, b, c] = &mut self.slots;
        [a, b, c].map(|s| match s {
            Some(m) => m
                .rb_mut()
                .col_mut(j)
                .try_as_col_major_mut()
                .expect("a slot's columns are contiguous")
                .as_slice_mut(),
            None => &mut [],
        })
    }
}

/// Below this many parameters an update stays on one thread.
const PARALLEL_UPDATE: usize = 1 << 16;

/// The optimizer's slots for a stretch of the parameters (each empty if unused).
struct Slots<'a, T> {
    momentum: &'a mut [T],
    velocity: &'a mut [T],
    average_gradient: &'a mut [T],
}

impl<'a, T> Slots<'a, T> {
    /// The first `n` values of every used slot, and the rest.
    fn split_at(self, n: usize) -> (Self, Self) {
        fn cut<T>(slot: &mut [T], n: usize) -> (&mut [T], &mut [T]) {
            if slot.is_empty() {
                (&mut [], &mut [])
            } else {
                slot.split_at_mut(n)
            }
        }
        let (m0, m1) = cut(self.momentum, n);
        let (v0, v1) = cut(self.velocity, n);
        let (a0, a1) = cut(self.average_gradient, n);
        (
            Slots {
                momentum: m0,
                velocity: v0,
                average_gradient: a0,
            },
            Slots {
                momentum: m1,
                velocity: v1,
                average_gradient: a1,
            },
        )
    }
}

#[track_caller]
fn slot_len_check<T>(slot: &[T], n: usize, name: &str) {
    assert_eq!(
        slot.len(),
        n,
        "optimizer state: slot `{name}` has the wrong length"
    );
}

#[inline(always)]
fn sgd_step<T: Scalar>(o: Sgd, state: &mut Slots<'_, T>, params: &mut [T], grads: &[T]) {
    let lr = T::from_f64(o.learning_rate);
    if o.momentum == 0.0 {
        for (w, &g) in params.iter_mut().zip(grads) {
            *w -= lr * g;
        }
        return;
    }
    slot_len_check(state.momentum, params.len(), "momentum");
    let mu = T::from_f64(o.momentum);
    let iter = params.iter_mut().zip(grads).zip(state.momentum.iter_mut());
    if o.nesterov {
        for ((w, &g), m) in iter {
            *m = mu * *m - lr * g;
            *w += mu * *m - lr * g;
        }
    } else {
        for ((w, &g), m) in iter {
            *m = mu * *m - lr * g;
            *w += *m;
        }
    }
}

#[inline(always)]
fn rmsprop_step<T: Scalar>(
    o: RmsProp,
    state: &mut Slots<'_, T>,
    params: &mut [T],
    grads: &[T],
    dispatched: bool,
) {
    let n = params.len();
    slot_len_check(state.velocity, n, "velocity");
    let lr = T::from_f64(o.learning_rate);
    let rho = T::from_f64(o.rho);
    let one_minus_rho = T::from_f64(1.0 - o.rho);
    let eps = T::from_f64(o.epsilon);
    let has_momentum = o.momentum != 0.0;
    let eps_outside = o.variant == RmsPropVariant::Keras2 && !has_momentum;
    if has_momentum {
        slot_len_check(state.momentum, n, "momentum");
    }
    if o.centered {
        slot_len_check(state.average_gradient, n, "average_gradient");
    }
    if !has_momentum && !o.centered {
        // The configuration of every tutorial run, as one straight loop.
        let plain = PlainRmsProp {
            params,
            grads,
            velocity: &mut *state.velocity,
            lr,
            rho,
            one_minus_rho,
            eps,
            eps_outside,
        };
        if dispatched {
            plain.run();
        } else {
            crate::simd::simd_arch().dispatch(plain);
        }
        return;
    }
    let mu = T::from_f64(o.momentum);
    for i in 0..n {
        let g = grads[i];
        let v = rho * state.velocity[i] + one_minus_rho * g * g;
        state.velocity[i] = v;
        let mut second = v;
        if o.centered {
            let mg = rho * state.average_gradient[i] + one_minus_rho * g;
            state.average_gradient[i] = mg;
            second -= mg * mg;
        }
        let increment = if eps_outside {
            lr * g / (second.sqrt() + eps)
        } else {
            lr * g / (second + eps).sqrt()
        };
        if has_momentum {
            let m = mu * state.momentum[i] + increment;
            state.momentum[i] = m;
            params[i] -= m;
        } else {
            params[i] -= increment;
        }
    }
}

/// RMSprop without momentum or centering, compiled through pulp for the best
/// instruction set the processor has; the arithmetic is that of the general loop, so
/// the results are too.
struct PlainRmsProp<'a, T> {
    params: &'a mut [T],
    grads: &'a [T],
    velocity: &'a mut [T],
    lr: T,
    rho: T,
    one_minus_rho: T,
    eps: T,
    eps_outside: bool,
}

impl<T: Scalar> pulp::WithSimd for PlainRmsProp<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        self.run();
    }
}

impl<T: Scalar> PlainRmsProp<'_, T> {
    /// The loop, compiled with the instruction set of the dispatch it is inlined into.
    #[inline(always)]
    fn run(self) {
        let Self {
            params,
            grads,
            velocity,
            lr,
            rho,
            one_minus_rho,
            eps,
            eps_outside,
        } = self;
        let iter = params.iter_mut().zip(grads).zip(velocity.iter_mut());
        if eps_outside {
            for ((w, &g), v) in iter {
                *v = rho * *v + one_minus_rho * g * g;
                *w -= lr * g / (v.sqrt() + eps);
            }
        } else {
            for ((w, &g), v) in iter {
                *v = rho * *v + one_minus_rho * g * g;
                *w -= lr * g / (*v + eps).sqrt();
            }
        }
    }
}

/// Adam with its step size `alpha` (see `Optimizer::step_size`): Keras folds both
/// bias corrections into it.
#[inline(always)]
fn adam_step<T: Scalar>(
    o: Adam,
    alpha: f64,
    state: &mut Slots<'_, T>,
    params: &mut [T],
    grads: &[T],
) {
    let n = params.len();
    slot_len_check(state.momentum, n, "momentum");
    slot_len_check(state.velocity, n, "velocity");
    let alpha = T::from_f64(alpha);
    let one_minus_b1 = T::from_f64(1.0 - o.beta_1);
    let one_minus_b2 = T::from_f64(1.0 - o.beta_2);
    let eps = T::from_f64(o.epsilon);
    let slots = state.momentum.iter_mut().zip(state.velocity.iter_mut());
    for ((w, &g), (m, v)) in params.iter_mut().zip(grads).zip(slots) {
        *m += (g - *m) * one_minus_b1;
        *v += (g * g - *v) * one_minus_b2;
        *w -= alpha * *m / (v.sqrt() + eps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_split_across_threads_is_the_same_bits() {
        let n = 3 * PARALLEL_UPDATE + 17;
        let params: Vec<f32> = (0..n).map(|i| ((i % 101) as f32 - 50.0) / 7.0).collect();
        let grads: Vec<f32> = (0..n).map(|i| ((i % 37) as f32 - 18.0) / 11.0).collect();
        let optimizers = [
            Optimizer::Sgd(Sgd {
                learning_rate: 0.1,
                momentum: 0.9,
                nesterov: true,
            }),
            Optimizer::RmsProp(RmsProp::default()),
            Optimizer::RmsProp(RmsProp {
                momentum: 0.5,
                centered: true,
                ..RmsProp::default()
            }),
            Optimizer::Adam(Adam::default()),
        ];
        for optimizer in optimizers {
            let (mut one, mut two) = (params.clone(), params.clone());
            let (mut s1, mut s2) = (optimizer.init_state(n), optimizer.init_state(n));
            let threads = Par::rayon(2);
            for _ in 0..3 {
                optimizer.step(&mut s1, &mut one, &grads);
                optimizer.step_par(&mut s2, &mut two, &grads, threads);
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&one), bits(&two), "{}", optimizer.name());
            assert_eq!(s1.iterations, s2.iterations);
            assert_eq!(
                bits(&s1.velocity),
                bits(&s2.velocity),
                "{}",
                optimizer.name()
            );
            assert_eq!(
                bits(&s1.momentum),
                bits(&s2.momentum),
                "{}",
                optimizer.name()
            );
        }
    }

    /// Runs `steps` steps of minimizing `w^2 / 2` (gradient `w`) from `w0`.
    fn quadratic(opt: Optimizer, w0: f64, steps: usize) -> Vec<f64> {
        let mut w = [w0];
        let mut state = opt.init_state(1);
        (0..steps)
            .map(|_| {
                let g = [w[0]];
                opt.step(&mut state, &mut w, &g);
                w[0]
            })
            .collect()
    }

    #[track_caller]
    fn check(opt: Optimizer, w0: f64, expected: &[f64]) {
        let got = quadratic(opt, w0, expected.len());
        for (step, (g, e)) in got.iter().zip(expected).enumerate() {
            assert!(
                (g - e).abs() < 1e-6,
                "{} step {}: {g} vs {e}",
                opt.name(),
                step + 1
            );
        }
    }

    #[test]
    fn rmsprop_design_check() {
        // lr 0.1 from w = 10 on w^2/2: v = 0.1 * 100 = 10, w = 10 - 0.1 * 10 / sqrt(10).
        for variant in [RmsPropVariant::Keras2, RmsPropVariant::Keras3] {
            let opt = Optimizer::RmsProp(RmsProp {
                learning_rate: 0.1,
                variant,
                ..RmsProp::default()
            });
            check(opt, 10.0, &[9.683_772]);
        }
    }

    #[test]
    fn sgd_by_hand() {
        // Plain: w <- w - 0.1 w = 0.9 w.
        check(
            Optimizer::Sgd(Sgd {
                learning_rate: 0.1,
                ..Sgd::default()
            }),
            1.0,
            &[0.9, 0.81, 0.729],
        );
        // Momentum 0.5: m1 = -0.1, w1 = 0.9; m2 = -0.05 - 0.09 = -0.14, w2 = 0.76;
        // m3 = -0.07 - 0.076 = -0.146, w3 = 0.614.
        check(
            Optimizer::Sgd(Sgd {
                learning_rate: 0.1,
                momentum: 0.5,
                nesterov: false,
            }),
            1.0,
            &[0.9, 0.76, 0.614],
        );
        // Nesterov 0.5: m1 = -0.1, w1 = 1 + 0.5 m1 - 0.1 = 0.85; m2 = -0.05 - 0.085 =
        // -0.135, w2 = 0.85 - 0.0675 - 0.085 = 0.6975.
        check(
            Optimizer::Sgd(Sgd {
                learning_rate: 0.1,
                momentum: 0.5,
                nesterov: true,
            }),
            1.0,
            &[0.85, 0.6975],
        );
    }

    #[test]
    fn adam_by_hand() {
        // Step 1 from w = 1, g = 1: m = 0.1, v = 0.001, alpha = 0.1 sqrt(0.001) / 0.1,
        // so w -= sqrt(0.001) * 0.1 / (sqrt(0.001) + 1e-7) ~ 0.1 (times 1 - 3.2e-6).
        let step1 = 1.0 - 0.1 * 0.001_f64.sqrt() / (0.001_f64.sqrt() + 1e-7);
        // Step 2 with g = w1: m = 0.09 + 0.1 w1, v = 0.000999 + 0.001 w1^2,
        // alpha = 0.1 sqrt(1 - 0.999^2) / (1 - 0.81).
        let g = step1;
        let m = 0.9 * 0.1 + 0.1 * g;
        let v = 0.999 * 0.001 + 0.001 * g * g;
        let alpha = 0.1 * (1.0 - 0.999_f64.powi(2)).sqrt() / (1.0 - 0.9_f64.powi(2));
        let step2 = step1 - alpha * m / (v.sqrt() + 1e-7);
        check(
            Optimizer::Adam(Adam {
                learning_rate: 0.1,
                ..Adam::default()
            }),
            1.0,
            &[step1, step2],
        );
        assert!((step1 - 0.9).abs() < 1e-5 && step2 < step1);
    }

    #[test]
    fn state_is_sized_and_inspectable() {
        let adam = Optimizer::Adam(Adam::default()).init_state::<f32>(7);
        assert_eq!(
            (
                adam.momentum.len(),
                adam.velocity.len(),
                adam.average_gradient.len()
            ),
            (7, 7, 0)
        );
        let sgd = Optimizer::Sgd(Sgd::default()).init_state::<f32>(7);
        assert_eq!((sgd.momentum.len(), sgd.velocity.len()), (0, 0));
        let rms = Optimizer::RmsProp(RmsProp {
            centered: true,
            momentum: 0.9,
            ..RmsProp::default()
        })
        .init_state::<f64>(3);
        assert_eq!(
            (
                rms.momentum.len(),
                rms.velocity.len(),
                rms.average_gradient.len()
            ),
            (3, 3, 3)
        );
    }

    #[test]
    fn hyperparameters_are_validated() {
        let bad = [
            Optimizer::Sgd(Sgd {
                learning_rate: 0.0,
                ..Sgd::default()
            }),
            Optimizer::Sgd(Sgd {
                momentum: 1.0,
                ..Sgd::default()
            }),
            Optimizer::RmsProp(RmsProp {
                rho: -0.1,
                ..RmsProp::default()
            }),
            Optimizer::RmsProp(RmsProp {
                epsilon: f64::NAN,
                ..RmsProp::default()
            }),
            Optimizer::Adam(Adam {
                beta_2: 1.0,
                ..Adam::default()
            }),
            Optimizer::Adam(Adam {
                learning_rate: f64::INFINITY,
                ..Adam::default()
            }),
        ];
        for opt in bad {
            assert!(opt.validate().is_err(), "{opt:?}");
        }
        let message = Optimizer::Adam(Adam {
            beta_1: 1.5,
            ..Adam::default()
        })
        .validate()
        .unwrap_err()
        .to_string();
        assert_eq!(message, "adam: beta_1 must be a number in [0, 1), got 1.5");
    }
}
