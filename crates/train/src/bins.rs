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
    /// For each value of the top 16 bits of an `f64` (sign, exponent and 4 bits of
    /// mantissa), the lowest bin any value with those bits falls in: the start of a
    /// short walk, so that binning costs a lookup and a comparison or two.
    first_bin: Vec<u16>,
}

/// The most bins a record may have (so that a bin's number fits in 16 bits).
pub const MAX_HISTOGRAM_BINS: usize = 1000;

impl BinEdges {
    /// The edges for `quantity` with `bins` as the resolution (at least 1).
    pub fn new(quantity: Quantity, bins: usize) -> Self {
        Self::with_scale(BinScale::of(quantity), bins)
    }

    /// The edges of a scale with `bins` as the resolution (from 1 to
    /// [`MAX_HISTOGRAM_BINS`]; values outside are taken as the nearest).
    pub fn with_scale(scale: BinScale, bins: usize) -> Self {
        let bins = bins.clamp(1, MAX_HISTOGRAM_BINS);
        let per_decade = bins.div_ceil(5) as i32;
        let magnitudes = |low: i32, high: i32| -> Vec<f64> {
            (low * per_decade..=high * per_decade)
                .map(|k| {
                    // Whole decades as their correctly rounded literals (`1e-12`); the
                    // steps between them by the pure-Rust libm's `pow`, not the C
                    // library's, whose last bits differ between platforms: a value on
                    // an edge would fall in another bin.
                    if k % per_decade == 0 {
                        format!("1e{}", k / per_decade)
                            .parse()
                            .expect("a decade's literal parses")
                    } else {
                        libm::pow(10.0, f64::from(k) / f64::from(per_decade))
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
        let search = |v: f64| (edges.partition_point(|&e| e <= v) - 1).min(edges.len() - 2);
        let first_bin = (0..=u16::MAX)
            .map(|top| {
                let bits = u64::from(top) << 48;
                // Positive values grow with their bits, negative ones shrink: the
                // lowest value of a block is its first for a positive sign, its last
                // for a negative one.
                let lowest = if top & 0x8000 == 0 {
                    f64::from_bits(bits)
                } else {
                    f64::from_bits(bits | ((1 << 48) - 1))
                };
                if lowest.is_nan() {
                    0
                } else {
                    search(lowest) as u16
                }
            })
            .collect();
        Self { edges, first_bin }
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

    /// The bin holding `v`: `i` with `edges[i] <= v < edges[i + 1]` (the last bin for
    /// `+inf` and NaN).
    #[inline]
    pub fn bin_of(&self, v: f64) -> usize {
        let last = self.len() - 1;
        if v.is_nan() {
            return last;
        }
        let mut i = usize::from(self.first_bin[(v.to_bits() >> 48) as usize]);
        while i < last && v >= self.edges[i + 1] {
            i += 1;
        }
        i
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
        assert_eq!(e[e.len() - 2].to_bits(), 1000.0_f64.to_bits());
        assert!((e[centre + 1] / 10f64.powf(-11.75) - 1.0).abs() < 1e-15);
    }

    /// The arithmetic guess and the walk give what a binary search over the edges
    /// gives, for values at, just beside and between every edge of both scales.
    #[test]
    fn bins_agree_with_a_search_of_the_edges() {
        for bins in [1, 4, 5, 20, 50, MAX_HISTOGRAM_BINS] {
            for q in [Quantity::Activation, Quantity::WeightGrad] {
                let b = BinEdges::new(q, bins);
                let search = |v: f64| (b.edges().partition_point(|&e| e <= v) - 1).min(b.len() - 1);
                let mut values = vec![0.0, -0.0, 1e-300, -1e-300, f64::MAX, f64::MIN];
                for w in b.edges().windows(2) {
                    for e in [w[0], w[1]] {
                        if e.is_finite() {
                            values.extend([e, e.next_up(), e.next_down()]);
                        }
                    }
                    if w[0].is_finite() && w[1].is_finite() {
                        values.push(0.5 * (w[0] + w[1]));
                    }
                }
                for v in values {
                    assert_eq!(b.bin_of(v), search(v), "{q:?} {bins} bins: {v:e}");
                    // At the resolutions the experiments use, the walk from the lookup is
                    // short.
                    let start = usize::from(b.first_bin[(v.to_bits() >> 48) as usize]);
                    if bins <= 50 {
                        assert!(
                            search(v) - start <= 2,
                            "{q:?} {bins} bins: {v:e} from {start}"
                        );
                    }
                }
            }
        }
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
