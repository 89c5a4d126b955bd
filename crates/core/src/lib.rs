//! The numeric core of vanishing: everything a multilayer perceptron needs to compute a
//! loss, its gradient and an update, generic over `f32` and `f64`.
//!
//! An [`Architecture`] is a validated list of [`LayerSpec`]s (units, [`Activation`],
//! [`Init`]) with a [`Loss`]; it lays out all parameters in one flat vector. A
//! [`Workspace`], allocated once per architecture and largest batch, runs the forward
//! and backward passes through the dense [`kernels`] (faer's matrix product writing
//! into those preallocated buffers, or the core's own loops for small layers) and keeps
//! every layer's pre-activation, activation and pre-activation gradient for recording.
//! Elementwise work runs in loops compiled for AVX2 where the processor has it (chosen
//! at run time, with the same results either way, which [`set_simd`] lets a test
//! check), over vectorizable `exp`, `tanh` and `ln_1p` whose error bounds are measured
//! by the tests. No result depends on the platform's math library: what the C library
//! would compute comes from these functions or from the pure-Rust `libm` crate, so a
//! WebAssembly build computes the native bits. The losses work from the output layer's
//! logits where Keras does: binary cross-entropy after a sigmoid, categorical
//! cross-entropy after a softmax over each sample's classes. An [`Optimizer`] (SGD,
//! RMSprop in its Keras 2 or Keras 3 form, Adam) then updates the parameters in place
//! from the gradients, keeping its slots in an inspectable [`OptimizerState`]. After
//! the first step nothing on this path allocates. A [`LaneWorkspace`] computes
//! [`LANES`] networks of one small architecture side by side, one per vector lane, each
//! with the bits a [`Workspace`] gives it alone. Numbers follow Keras; the crate does
//! no IO and knows nothing of files, formats or training schedules.

mod activation;
mod blocked;
mod error;
mod fast_math;
mod init;
pub mod kernels;
mod lanes;
mod loss;
mod network;
mod norm;
mod optim;
mod scalar;
mod simd;
mod softmax;
mod threads;

pub use activation::{Activation, SATURATION_THRESHOLD, sigmoid};
pub use error::CoreError;
pub use faer::{Accum, MatMut, MatRef, Par};
pub use init::{Init, InitDistribution, TRUNCATED_NORMAL_STD};
pub use lanes::{
    LANES, LaneBuffers, LaneLoss, LaneWorkspace, interleave, lane_of, lanes_supported,
};
pub use loss::Loss;
pub use network::{Architecture, LayerBuffers, LayerShape, LayerSpec, Workspace};
pub use norm::{BATCH_NORM_MOMENTUM, NORM_EPSILON, Norm};
pub use optim::{Adam, Optimizer, OptimizerState, RmsProp, RmsPropVariant, Sgd};
pub use scalar::Scalar;
pub use simd::{SimdLevel, set_simd, simd_arch, simd_level};
