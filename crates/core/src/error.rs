use thiserror::Error;

use crate::{Activation, Loss};

/// Why a network description or a hyperparameter was refused.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A network needs at least one input feature.
    #[error("a network needs at least one input, got 0")]
    NoInputs,
    /// A network needs at least one layer (its output layer).
    #[error("a network needs at least one layer")]
    NoLayers,
    /// Every layer needs at least one unit.
    #[error("layer {layer} has 0 units; every layer needs at least one")]
    NoUnits {
        /// 1-based index of the layer, counted from the input side.
        layer: usize,
    },
    /// The loss cannot follow the output layer's activation.
    #[error("loss {} needs a {} output layer, got {output}", loss.name(), expected.name())]
    LossOutputMismatch {
        /// The loss.
        loss: Loss,
        /// The output layer's activation.
        output: Activation,
        /// The activation the loss needs.
        expected: Activation,
    },
    /// A skip connection adds a layer's input to its output, so both need one width.
    #[error(
        "layer {layer} is residual but has {units} units for {inputs} inputs; a skip connection needs as many units as inputs"
    )]
    ResidualWidth {
        /// 1-based index of the layer.
        layer: usize,
        /// Width of the layer's input.
        inputs: usize,
        /// Units of the layer.
        units: usize,
    },
    /// The output layer feeds the loss, which reads its activation alone.
    #[error("layer {layer} is the output layer, which cannot be residual")]
    ResidualOutput {
        /// 1-based index of the layer.
        layer: usize,
    },
    /// Layer normalization of a single unit always outputs its shift.
    #[error("layer {layer} has one unit, which layer normalization would make constant")]
    LayerNormOneUnit {
        /// 1-based index of the layer.
        layer: usize,
    },
    /// A softmax normalizes a sample's outputs into class probabilities for
    /// categorical cross-entropy; it is no hidden layer's activation.
    #[error(
        "layer {layer} is a hidden layer with a softmax activation; softmax can only be the output layer's activation (with loss categorical_crossentropy)"
    )]
    SoftmaxHidden {
        /// 1-based index of the layer.
        layer: usize,
    },
    /// A softmax output goes with categorical cross-entropy, which is computed from its
    /// logits; no other loss is defined after it.
    #[error("a softmax output layer needs loss categorical_crossentropy, got {}", loss.name())]
    SoftmaxLoss {
        /// The loss asked for.
        loss: Loss,
    },
    /// A softmax over one unit always outputs 1.
    #[error(
        "layer {layer} has one unit, which a softmax would make constant (always 1); a softmax needs at least two classes"
    )]
    SoftmaxOneUnit {
        /// 1-based index of the layer.
        layer: usize,
    },
    /// A hyperparameter is out of its range.
    #[error("{owner}: {name} must be {expected}, got {value}")]
    InvalidParameter {
        /// What the parameter belongs to (an optimizer, initializer or activation).
        owner: &'static str,
        /// The parameter's name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// What was expected, in words.
        expected: &'static str,
    },
}
