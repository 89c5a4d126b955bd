use vanishing_core::{Architecture, MatRef, Optimizer, OptimizerState, Scalar, Workspace};

/// A multilayer perceptron ready to train: the architecture, its parameters and
/// gradients, the forward/backward buffers and the optimizer with its state, all
/// allocated once by [`Mlp::new`].
///
/// A training step is [`Mlp::compute_gradients`] then [`Mlp::apply_gradients`]; between
/// the two, everything the step computed (gradients, activations, pre-activation
/// gradients) can be read for recording. Neither allocates. A network with batch
/// normalization also keeps its moving statistics, which every applied step updates
/// from its minibatch and evaluation reads.
#[derive(Debug, Clone)]
pub struct Mlp<T> {
    arch: Architecture,
    params: Vec<T>,
    grads: Vec<T>,
    workspace: Workspace<T>,
    optimizer: Optimizer,
    state: OptimizerState<T>,
    moving: Vec<T>,
}

impl<T: Scalar> Mlp<T> {
    /// A network with the given parameters, buffers for minibatches of up to
    /// `max_batch` rows, and a fresh optimizer state.
    ///
    /// # Panics
    /// If `params` does not have `arch.n_params()` values.
    #[track_caller]
    pub fn new(arch: Architecture, params: Vec<T>, optimizer: Optimizer, max_batch: usize) -> Self {
        assert_eq!(params.len(), arch.n_params(), "Mlp::new: parameter count");
        let n = arch.n_params();
        Self {
            workspace: Workspace::new(&arch, max_batch),
            grads: vec![T::ZERO; n],
            state: optimizer.init_state(n),
            moving: arch.init_state(),
            arch,
            params,
            optimizer,
        }
    }

    /// The architecture.
    pub fn architecture(&self) -> &Architecture {
        &self.arch
    }

    /// The flat parameter vector (layout: [`Architecture::shapes`]).
    pub fn params(&self) -> &[T] {
        &self.params
    }

    /// The gradients of the last [`Mlp::compute_gradients`], laid out as the parameters.
    pub fn grads(&self) -> &[T] {
        &self.grads
    }

    /// The buffers of the last forward and backward pass.
    pub fn workspace(&self) -> &Workspace<T> {
        &self.workspace
    }

    /// The moving statistics of the batch-normalized layers (layout:
    /// [`Architecture::init_state`]; empty without any).
    pub fn moving_statistics(&self) -> &[T] {
        &self.moving
    }

    /// Parameters and moving statistics, as evaluation reads them.
    pub(crate) fn weights(&self) -> crate::observe::Weights<'_, T> {
        crate::observe::Weights {
            params: &self.params,
            moving: &self.moving,
        }
    }

    /// The optimizer's state.
    pub fn optimizer_state(&self) -> &OptimizerState<T> {
        &self.state
    }

    /// Forward and backward pass on one minibatch (`x`: `batch x inputs`; `y`: one
    /// target per row). Returns the minibatch's mean loss; the parameters are unchanged.
    pub fn compute_gradients(&mut self, x: MatRef<'_, T>, y: &[T]) -> T {
        self.workspace
            .forward_backward(&self.arch, &self.params, x, y, &mut self.grads)
    }

    /// Applies the last computed gradients with the optimizer, and folds the
    /// minibatch's statistics into the moving ones (as Keras does on every training
    /// step; a gradient computed but not applied leaves them as they were).
    pub fn apply_gradients(&mut self) {
        self.workspace
            .update_moving_statistics(&self.arch, &mut self.moving);
        let par = self.workspace.par();
        self.optimizer
            .step_par(&mut self.state, &mut self.params, &self.grads, par);
    }

    /// One training step on one minibatch, when its gradients are not recorded:
    /// [`Mlp::compute_gradients`] then [`Mlp::apply_gradients`] with the same bits, in
    /// less time ([`Workspace::train_step`]; the gradients of wide kernels are not kept).
    /// Returns the minibatch's mean loss; if it is not finite, nothing changes.
    pub fn train_step(&mut self, x: MatRef<'_, T>, y: &[T]) -> T {
        let loss = self.workspace.train_step(
            &self.arch,
            &mut self.params,
            x,
            y,
            &mut self.grads,
            &self.optimizer,
            &mut self.state,
        );
        if loss.is_finite() {
            self.workspace
                .update_moving_statistics(&self.arch, &mut self.moving);
        }
        loss
    }

    /// Whether every parameter is finite.
    pub fn params_finite(&self) -> bool {
        self.params.iter().all(|p| p.is_finite())
    }
}
