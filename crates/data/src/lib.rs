//! Seeded dataset generators for the vanishing-gradient experiments.
//!
//! The principal type is [`Dataset`]: a plain row-major matrix of points with one class
//! label per row. Generators are small configuration structs, [`Circles`] and [`Moons`],
//! that follow scikit-learn's `make_circles` and `make_moons` algorithms (sample split,
//! evenly spaced angles, shuffle before noise) and produce a `Dataset` from any
//! [`rand::Rng`] or from a seed through [`Circles::generate_seeded`]. A `Dataset` can be
//! divided into a stratified [`Split`] of training and test rows. Invalid parameters are
//! reported as [`DataError`]; nothing here panics on user input or does any IO.

mod dataset;
mod error;
mod generators;

pub use dataset::{Dataset, Split};
pub use error::DataError;
pub use generators::{Circles, Moons};

/// The random number generator behind every `*_seeded` constructor in this crate.
///
/// ChaCha8 is fast, portable and gives the same stream on every platform, so a seed
/// names one dataset everywhere.
pub type SeededRng = rand_chacha::ChaCha8Rng;
