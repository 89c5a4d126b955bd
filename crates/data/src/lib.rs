//! Seeded dataset generators for the vanishing-gradient experiments.
//!
//! The principal type is [`Dataset`]: a plain row-major matrix of points with one class
//! label per row. Generators are small configuration structs that produce a `Dataset`
//! from any [`rand::Rng`] or from a seed (`generate_seeded`): [`Circles`] and [`Moons`]
//! follow scikit-learn's `make_circles` and `make_moons` algorithms (sample split,
//! evenly spaced angles, shuffle before noise), and [`Shapeset`] draws Glorot &
//! Bengio's Shapeset-3x2 images (32 x 32 grey pixels of one or two triangles,
//! parallelograms and ellipses, nine classes) by the rules of their original generator.
//! [`Digits`] loads the UCI 8 x 8 handwritten digits (1,797 images, ten classes), which
//! the crate embeds at compile time. A `Dataset` can be divided into a stratified
//! [`Split`] of training and test rows. Invalid parameters are reported as
//! [`DataError`]; nothing here panics on user input or does any IO.
//!
//! A seed names the same dataset on every platform, WebAssembly included: the angles'
//! sines and cosines (and Shapeset's other transcendental functions) come from the
//! pure-Rust `libm` crate, Shapeset fills its polygons in integer arithmetic, and the
//! noise comes from [`StandardNormal`], rand_distr's ziggurat with that crate's `exp`
//! and `ln`, rather than from the platform's C library. The core draws its normal
//! initializations from the same [`StandardNormal`].

mod dataset;
mod digits;
mod error;
mod generators;
mod normal;
mod shapeset;

pub use dataset::{Dataset, Split};
pub use digits::{DIGITS_SIDE, Digits};
pub use error::DataError;
pub use generators::{Circles, Moons};
pub use normal::StandardNormal;
pub use shapeset::{SHAPESET_CLASSES, SHAPESET_SIDE, Shapeset};

/// The random number generator behind every `*_seeded` constructor in this crate.
///
/// ChaCha8 is fast, portable and gives the same stream on every platform, so a seed
/// names one dataset everywhere.
pub type SeededRng = rand_chacha::ChaCha8Rng;
