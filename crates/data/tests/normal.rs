//! The crate's `StandardNormal` draws rand_distr's values from the same random bits,
//! with the pure-Rust `libm` crate's `exp` and `ln` in place of the platform's.

use rand::SeedableRng;
use rand::distr::Distribution;
use vanishing_data::{SeededRng, StandardNormal};

/// Where the ziggurat's tail begins: beyond it a draw takes logarithms, whose last bit
/// the two math libraries may round differently.
const TAIL: f64 = 3.654_152_885_361_009;

#[test]
fn same_draws_as_rand_distr() {
    let (mut ours, mut theirs) = (SeededRng::seed_from_u64(11), SeededRng::seed_from_u64(11));
    let (mut tail, mut differ) = (0, 0);
    for i in 0..2_000_000 {
        let a = StandardNormal.sample(&mut ours);
        let b: f64 = rand_distr::StandardNormal.sample(&mut theirs);
        if a.abs() > TAIL {
            tail += 1;
        }
        if a.to_bits() != b.to_bits() {
            // Only a tail draw may differ, by its last bit, and it consumes the same
            // random bits, so the streams stay in step.
            assert!(
                a.abs() > TAIL && a.to_bits().abs_diff(b.to_bits()) == 1,
                "draw {i}: {a} vs {b}"
            );
            differ += 1;
        }
    }
    assert!(tail > 300, "{tail} tail draws: the tail was not exercised");
    assert!(differ <= tail / 10, "{differ} of {tail} tail draws differ");
}

#[test]
fn moments_of_a_standard_normal() {
    let mut rng = SeededRng::seed_from_u64(3);
    let n = 1_000_000;
    let draws: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
    let mean = draws.iter().sum::<f64>() / f64::from(n);
    let var = draws.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / f64::from(n);
    let beyond_two = draws.iter().filter(|x| x.abs() > 2.0).count() as f64 / f64::from(n);
    assert!(mean.abs() < 5e-3, "mean {mean}");
    assert!((var - 1.0).abs() < 5e-3, "variance {var}");
    // P(|Z| > 2) = 0.0455.
    assert!(
        (beyond_two - 0.0455).abs() < 1e-3,
        "{beyond_two} beyond two"
    );
}
