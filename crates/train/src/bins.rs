//! Fixed histogram bins: the same edges for every run and every layer of a quantity, so
//! that histograms of different layers, initializations and runs can be overlaid and a
//! narrower distribution looks narrower.

use crate::Quantity;

/// Magnitudes of the logarithmic grids run over whole decades from `10^LOG_LOW` to
/// `10^LOG_HIGH`: below the first, a value is as good as zero for every quantity we
/// record (f32 gradients of a deep sigmoid network bottom out near 1e-10), above the
/// last, it has diverged.
const LOG_LOW: i32 = -12;
const LOG_HIGH: i32 = 3;

/// The largest magnitude on the activations' grid.
const ACTIVATION_DECADES: i32 = 3;

/// How a quantity's histogram edges are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinScale {
    /// For activations: `bins` equal bins over `[-1, 1]` (the range of sigmoid, tanh and
    /// softsign, drawn as Glorot & Bengio draw them), continued beyond `±1` by
    /// logarithmic bins up to `±1000` for unbounded functions such as ReLU.
    Activation,
    /// For everything else (weights, gradients, slopes, updates), which spans orders of
    /// magnitude: a symmetric logarithmic grid, equal bins of `log10 |v|` from `1e-12`
    /// to `1e3` on each side of one central bin `[-1e-12, 1e-12)`.
    SymmetricLog,
}

impl BinScale {
    /// The scale used for a quantity.
    pub fn of(quantity: Quantity) -> Self {
        match quantity {
            Quantity::Activation => Self::Activation,
            _ => Self::SymmetricLog,
        }
    }
}

/// The edges of a quantity's histograms for a given `record.histogram_bins`.
///
/// Bin `i` holds the values `v` with `edges[i] <= v < edges[i + 1]`. The first edge is
/// `-inf` and the last `+inf`, so the outermost bins are explicit overflow bins and the
/// counts of a record always add up to its tensor's size; NaN counts in the last bin.
/// Logarithmic parts have `ceil(bins / 5)` bins per decade (4 for 20 bins).
#[derive(Debug, Clone, PartialEq)]
pub struct BinEdges {
    edges: Vec<f64>,
}

impl BinEdges {
    /// The edges for `quantity` with `bins` as the resolution (at least 1).
    pub fn new(quantity: Quantity, bins: usize) -> Self {
        Self::with_scale(BinScale::of(quantity), bins)
    }

    /// The edges of a scale with `bins` as the resolution (at least 1).
    pub fn with_scale(scale: BinScale, bins: usize) -> Self {
        let bins = bins.max(1);
        let per_decade = bins.div_ceil(5) as i32;
        let magnitudes = |low: i32, high: i32| -> Vec<f64> {
            (low * per_decade..=high * per_decade)
                .map(|k| {
                    // Whole decades as their correctly rounded literals (`1e-12`); the
                    // steps between them by `powf`.
                    if k % per_decade == 0 {
                        format!("1e{}", k / per_decade)
                            .parse()
                            .expect("a decade's literal parses")
                    } else {
                        10f64.powf(f64::from(k) / f64::from(per_decade))
                    }
                })
                .collect()
        };
        let mut edges = vec![f64::NEG_INFINITY];
        match scale {
            BinScale::Activation => {
                let outer = magnitudes(0, ACTIVATION_DECADES);
                edges.extend(outer.iter().rev().map(|m| -m));
                edges.extend((1..bins).map(|j| -1.0 + 2.0 * j as f64 / bins as f64));
                edges.extend(&outer);
            }
            BinScale::SymmetricLog => {
                let m = magnitudes(LOG_LOW, LOG_HIGH);
                edges.extend(m.iter().rev().map(|m| -m));
                edges.extend(&m);
            }
        }
        edges.push(f64::INFINITY);
        Self { edges }
    }

    /// Every edge, from `-inf` to `+inf`: one more than there are bins.
    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    /// Number of bins.
    pub fn len(&self) -> usize {
        self.edges.len() - 1
    }

    /// Always false: there is at least one bin.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The bin holding `v`.
    pub fn bin_of(&self, v: f64) -> usize {
        if v.is_nan() {
            return self.len() - 1;
        }
        // The number of edges at or below `v` is at least one (the first is -inf).
        (self.edges.partition_point(|&e| e <= v) - 1).min(self.len() - 1)
    }

    /// Counts `values` into `counts` (one per bin), replacing what it held.
    ///
    /// # Panics
    /// If `counts` does not have one slot per bin.
    #[track_caller]
    pub fn count<T: vanishing_core::Scalar>(&self, values: &[T], counts: &mut [u64]) {
        assert_eq!(
            counts.len(),
            self.len(),
            "BinEdges::count: one count per bin"
        );
        counts.fill(0);
        for v in values {
            counts[self.bin_of(v.to_f64())] += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_edges_are_linear_inside_and_logarithmic_beyond() {
        let b = BinEdges::new(Quantity::Activation, 4);
        // One bin per decade beyond ±1 (ceil(4 / 5) = 1), four over [-1, 1].
        assert_eq!(
            b.edges(),
            &[
                f64::NEG_INFINITY,
                -1000.0,
                -100.0,
                -10.0,
                -1.0,
                -0.5,
                0.0,
                0.5,
                1.0,
                10.0,
                100.0,
                1000.0,
                f64::INFINITY
            ]
        );
        assert_eq!(b.len(), 12);
        // The default resolution: 20 inside, 4 a decade outside, 2 overflow bins.
        assert_eq!(
            BinEdges::new(Quantity::Activation, 20).len(),
            20 + 2 * 12 + 2
        );
    }

    #[test]
    fn log_edges_are_symmetric_with_one_central_bin() {
        let b = BinEdges::new(Quantity::PreactGrad, 20);
        let e = b.edges();
        // 15 decades at 4 bins each, on each side, plus the centre and two overflows.
        assert_eq!(b.len(), 2 * 60 + 3);
        let centre = e.iter().position(|&v| v > 0.0).unwrap();
        assert_eq!((e[centre - 1], e[centre]), (-1e-12, 1e-12));
        for (lo, hi) in e.iter().zip(&e[1..]) {
            assert!(lo < hi, "{lo} {hi}");
        }
        for (k, &v) in e.iter().enumerate() {
            assert_eq!(v.to_bits(), (-e[e.len() - 1 - k]).to_bits(), "edge {k}");
        }
        assert_eq!(e[e.len() - 2], 1000.0);
        assert!((e[centre + 1] / 10f64.powf(-11.75) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn values_fall_in_half_open_bins_and_every_value_is_counted() {
        let b = BinEdges::new(Quantity::Activation, 4);
        for (v, bin) in [
            (-1e9, 0),
            (-1000.0, 1),
            (-1.0, 4),
            (-0.25, 5),
            (0.0, 6),
            (0.4999, 6),
            (0.5, 7),
            (1.0, 8),
            (5e3, 11),
            (f64::INFINITY, 11),
            (f64::NEG_INFINITY, 0),
            (f64::NAN, 11),
        ] {
            assert_eq!(b.bin_of(v), bin, "{v}");
        }
        let values = [-2e5_f32, -0.3, 0.0, 0.7, 0.7, 3.0, f32::NAN];
        let mut counts = vec![0; b.len()];
        b.count(&values, &mut counts);
        assert_eq!(counts.iter().sum::<u64>(), values.len() as u64);
        assert_eq!(counts, [1, 0, 0, 0, 0, 1, 1, 2, 1, 0, 0, 1]);
    }
}
