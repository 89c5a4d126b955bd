use pulp::{Simd, WithSimd};
use vanishing_core::{Activation, Scalar, simd_arch};

/// What a per-layer record measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Quantity {
    /// The layer's kernel.
    Weight,
    /// The gradient of the loss with respect to the kernel.
    WeightGrad,
    /// The layer's bias.
    Bias,
    /// The gradient of the loss with respect to the bias.
    BiasGrad,
    /// The layer's output over the minibatch.
    Activation,
    /// The back-propagated gradient at the layer's pre-activation, `dLoss/dZ`, over the
    /// minibatch.
    PreactGrad,
    /// The slope of the layer's activation function at each unit's pre-activation,
    /// `f'(Z)`, over the minibatch: the factor by which the layer scales the gradient
    /// flowing back through it. Its mean square (`mean^2 + std^2`) is the term of the
    /// variance recursion of Glorot & Bengio that the activation contributes.
    Slope,
    /// The change of the kernel applied by the optimizer step that follows the record
    /// (`w after - w before`, computed in the run's precision). The final record, after
    /// which no step is applied, has none.
    Update,
}

impl Quantity {
    /// Every quantity, in table order.
    pub const ALL: [Self; 8] = [
        Self::Weight,
        Self::WeightGrad,
        Self::Bias,
        Self::BiasGrad,
        Self::Activation,
        Self::PreactGrad,
        Self::Slope,
        Self::Update,
    ];

    /// The quantities measured on the state a record holds, before the step: all but
    /// [`Quantity::Update`].
    pub const BEFORE_STEP: [Self; 7] = {
        // Every quantity but the last, `Update`, taken from `ALL` so that the two lists
        // cannot drift apart.
        let mut before = [Self::Weight; 7];
        let mut i = 0;
        while i < before.len() {
            before[i] = Self::ALL[i];
            i += 1;
        }
        before
    };

    /// The quantity's name in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Weight => "weight",
            Self::WeightGrad => "weight_grad",
            Self::Bias => "bias",
            Self::BiasGrad => "bias_grad",
            Self::Activation => "activation",
            Self::PreactGrad => "preact_grad",
            Self::Slope => "slope",
            Self::Update => "update",
        }
    }
}

/// Summary statistics of one tensor. `std` is the population standard deviation, as
/// numpy's default; percentiles interpolate linearly between order statistics, as
/// numpy's default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// Mean of absolute values.
    pub abs_mean: f64,
    /// Euclidean norm.
    pub l2: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// 2nd percentile.
    pub p02: f64,
    /// 98th percentile.
    pub p98: f64,
    /// Fraction of units in the flat part of the activation (activations only, and only
    /// for functions that can saturate).
    pub saturated_frac: Option<f64>,
}

impl Stats {
    /// Statistics of values recorded elsewhere (by another framework, say), without a
    /// saturation test; `None` for no values. Allocates, unlike the training loop's
    /// own recording.
    pub fn of(values: &[f64]) -> Option<Self> {
        (!values.is_empty()).then(|| StatsScratch::new(values.len()).stats(values, None))
    }
}

/// Statistics of one quantity of one layer at one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerRecord {
    /// Completed epochs when the record was taken.
    pub epoch: u32,
    /// Completed optimizer steps when the record was taken.
    pub step: u64,
    /// Layer, 1-based from the input side.
    pub layer: u32,
    /// What was measured.
    pub quantity: Quantity,
    /// The statistics.
    pub stats: Stats,
}

/// A histogram of one quantity of one layer at one step, on the quantity's fixed
/// [`BinEdges`](crate::BinEdges): bin `i` counts the values in `[edges[i], edges[i + 1])`,
/// the outermost bins reach to infinity, and the counts add up to the tensor's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramRecord<'a> {
    /// Completed epochs when the record was taken.
    pub epoch: u32,
    /// Completed optimizer steps when the record was taken.
    pub step: u64,
    /// Layer, 1-based from the input side.
    pub layer: u32,
    /// What was measured.
    pub quantity: Quantity,
    /// The bins' edges, one more than there are bins.
    pub edges: &'a [f64],
    /// Number of values in each bin.
    pub counts: &'a [u64],
}

/// The values of a recorded tensor, in the run's precision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Values<'a> {
    /// A single-precision run's values.
    F32(&'a [f32]),
    /// A double-precision run's values.
    F64(&'a [f64]),
}

impl Values<'_> {
    /// The values, converted exactly to `f64`.
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            Self::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Self::F64(v) => v.to_vec(),
        }
    }
}

/// One recorded tensor itself, for sinks that keep raw values (see
/// [`Sink::tensor`]): the values whose statistics a [`LayerRecord`] of the same epoch,
/// step, layer and quantity summarizes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TensorRecord<'a> {
    /// Completed epochs when the record was taken.
    pub epoch: u32,
    /// Completed optimizer steps when the record was taken.
    pub step: u64,
    /// Layer, 1-based from the input side.
    pub layer: u32,
    /// What was measured.
    pub quantity: Quantity,
    /// The tensor (kernels column-major `fan_in x units`, minibatch tensors
    /// column-major `batch x units`).
    pub values: Values<'a>,
}

/// Which rows a metric was computed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training rows.
    Train,
    /// The held-out rows.
    Test,
}

impl Split {
    /// The split's name in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Test => "test",
        }
    }
}

/// Loss and accuracy of the whole model on one split at one point of training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricRecord {
    /// Completed epochs.
    pub epoch: u32,
    /// Completed optimizer steps.
    pub step: u64,
    /// Which rows.
    pub split: Split,
    /// Mean loss over the split.
    pub loss: f64,
    /// Fraction of rows classified correctly (output above 0.5 means class 1).
    pub accuracy: f64,
}

/// The trained model's output (the predicted probability of class 1) over a regular
/// grid of the input plane: `resolution` points along each axis, spanning the training
/// data's range plus a margin of a tenth of it on each side; `x0` varies fastest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundaryRecord<'a> {
    /// Lower and upper end of the first feature's axis.
    pub x0: (f64, f64),
    /// Lower and upper end of the second feature's axis.
    pub x1: (f64, f64),
    /// Points along each axis.
    pub resolution: usize,
    /// The model's output at each grid point, `resolution * resolution` values.
    pub probability: &'a [f64],
}

impl BoundaryRecord<'_> {
    /// The coordinates of grid point `k` (in the order of `probability`).
    pub fn point(&self, k: usize) -> (f64, f64) {
        let step = |(lo, hi): (f64, f64)| (hi - lo) / (self.resolution.max(2) - 1) as f64;
        let (i, j) = (k % self.resolution, k / self.resolution);
        (
            self.x0.0 + i as f64 * step(self.x0),
            self.x1.0 + j as f64 * step(self.x1),
        )
    }
}

/// Where the trainer sends what it records. The training loop knows nothing about
/// storage: a sink may keep records in memory ([`History`]), write them out, or
/// discard them.
pub trait Sink {
    /// Receives the statistics of one quantity of one layer.
    fn layer(&mut self, record: &LayerRecord);
    /// Receives one histogram (only when histograms are enabled).
    fn histogram(&mut self, record: &HistogramRecord<'_>);
    /// Receives the metrics of one split.
    fn metrics(&mut self, record: &MetricRecord);
    /// Receives the trained model's decision surface, once at the end of a run that
    /// did not diverge (only when a grid is requested and the data has two features).
    fn boundary(&mut self, record: &BoundaryRecord<'_>);
    /// Whether the sink wants every recorded tensor's values through [`Sink::tensor`].
    /// The default does not, and then the trainer does not send them.
    fn wants_tensors(&self) -> bool {
        false
    }
    /// Receives one recorded tensor's values, just before its statistics (only when
    /// [`Sink::wants_tensors`]).
    fn tensor(&mut self, record: &TensorRecord<'_>) {
        let _ = record;
    }
    /// Told once, before the first record, how many layer, histogram and metric records
    /// the run will send at most (fewer if it diverges), so that a sink keeping them in
    /// memory can make room in one go. The default ignores it.
    fn expect(&mut self, layers: usize, histograms: usize, metrics: usize) {
        let _ = (layers, histograms, metrics);
    }
}

/// One histogram kept by [`History`]; its edges are those of its quantity,
/// [`BinEdges::new`](crate::BinEdges::new)`(quantity, bins)`.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedHistogram {
    /// Completed epochs when the record was taken.
    pub epoch: u32,
    /// Completed optimizer steps when the record was taken.
    pub step: u64,
    /// Layer, 1-based from the input side.
    pub layer: u32,
    /// What was measured.
    pub quantity: Quantity,
    /// Number of values in each bin.
    pub counts: Vec<u64>,
}

/// Every record of a run, kept in memory in the order received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Per-layer statistics.
    pub layers: Vec<LayerRecord>,
    /// Histograms, if enabled.
    pub histograms: Vec<OwnedHistogram>,
    /// Loss and accuracy per split.
    pub metrics: Vec<MetricRecord>,
    /// The trained model's decision surface: grid ends, resolution and outputs.
    pub boundary: Option<OwnedBoundary>,
}

/// A [`BoundaryRecord`] kept by [`History`].
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedBoundary {
    /// Lower and upper end of the first feature's axis.
    pub x0: (f64, f64),
    /// Lower and upper end of the second feature's axis.
    pub x1: (f64, f64),
    /// Points along each axis.
    pub resolution: usize,
    /// The model's output at each grid point, `x0` varying fastest.
    pub probability: Vec<f64>,
}

impl OwnedBoundary {
    /// The same grid, borrowed.
    pub fn as_record(&self) -> BoundaryRecord<'_> {
        BoundaryRecord {
            x0: self.x0,
            x1: self.x1,
            resolution: self.resolution,
            probability: &self.probability,
        }
    }
}

impl Sink for History {
    fn expect(&mut self, layers: usize, histograms: usize, metrics: usize) {
        self.layers.reserve(layers);
        self.histograms.reserve(histograms);
        self.metrics.reserve(metrics);
    }

    fn layer(&mut self, record: &LayerRecord) {
        self.layers.push(*record);
    }

    fn histogram(&mut self, record: &HistogramRecord<'_>) {
        self.histograms.push(OwnedHistogram {
            epoch: record.epoch,
            step: record.step,
            layer: record.layer,
            quantity: record.quantity,
            counts: record.counts.to_vec(),
        });
    }

    fn metrics(&mut self, record: &MetricRecord) {
        self.metrics.push(*record);
    }

    fn boundary(&mut self, record: &BoundaryRecord<'_>) {
        self.boundary = Some(OwnedBoundary {
            x0: record.x0,
            x1: record.x1,
            resolution: record.resolution,
            probability: record.probability.to_vec(),
        });
    }
}

/// Computes [`Stats`] with scratch memory allocated once, so that recording at every
/// step allocates nothing itself.
#[derive(Debug, Clone)]
pub(crate) struct StatsScratch {
    /// A large tensor's values in `f64`, reordered to select its percentiles.
    values: Vec<f64>,
}

impl StatsScratch {
    /// Scratch for tensors of up to `max_len` values.
    pub(crate) fn new(max_len: usize) -> Self {
        Self {
            values: Vec::with_capacity(max_len),
        }
    }

    /// Statistics of `values`; `saturation` gives the activation and the
    /// pre-activations to test each unit against.
    pub(crate) fn stats<T: Scalar>(
        &mut self,
        values: &[T],
        saturation: Option<(Activation, &[T])>,
    ) -> Stats {
        let n = values.len() as f64;
        let [sum, abs_sum, sq_sum, mut min, mut max] = simd_arch().dispatch(Moments(values));
        // Without NaN, ordinary comparisons order the values as `f64::total_cmp` does
        // (but for the sign of zero) and cost less; with NaN, the total order decides.
        let has_nan = sum.is_nan();
        if has_nan {
            let all = || values.iter().map(|v| v.to_f64());
            min = all().min_by(f64::total_cmp).unwrap_or(f64::NAN);
            max = all().max_by(f64::total_cmp).unwrap_or(f64::NAN);
        }
        let mean = sum / n;
        // Two passes for the variance: a one-pass formula loses every digit when the
        // mean dwarfs the spread, as it does for saturated sigmoid outputs.
        let var = simd_arch().dispatch(Deviations(values, mean)) / n;
        // The percentiles need only four order statistics, found without sorting.
        let (p02, p98) = tail_percentiles(values, has_nan, &mut self.values);
        let saturated_frac = saturation.and_then(|(act, z)| {
            act.can_saturate().then(|| {
                let saturated = z
                    .iter()
                    .zip(values)
                    .filter(|&(&z, &a)| act.is_saturated(z, a))
                    .count();
                saturated as f64 / n
            })
        });
        Stats {
            mean,
            std: var.sqrt(),
            abs_mean: abs_sum / n,
            l2: sq_sum.sqrt(),
            min,
            max,
            p02,
            p98,
            saturated_frac,
        }
    }
}

/// Sum, sum of absolute values, sum of squares, minimum and maximum of `values` in
/// `f64`, each in eight interleaved partial sums (or extremes) combined pairwise: a
/// fixed order, so a fixed result, that fits in vector registers. Minimum and maximum
/// skip NaN (the caller checks the sum for it).
struct Moments<'a, T>(&'a [T]);

impl<T: Scalar> WithSimd for Moments<'_, T> {
    type Output = [f64; 5];

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) -> [f64; 5] {
        let (mut sum, mut abs, mut sq) = ([0.0; LANES], [0.0; LANES], [0.0; LANES]);
        let (mut min, mut max) = ([f64::INFINITY; LANES], [f64::NEG_INFINITY; LANES]);
        // Plain loops over whole lanes, without a closure, so that the compiler can keep
        // the partial results in registers.
        let chunks = self.0.chunks_exact(LANES);
        let rest = chunks.remainder();
        for c in chunks {
            for l in 0..LANES {
                let v = c[l].to_f64();
                sum[l] += v;
                abs[l] += v.abs();
                sq[l] += v * v;
                min[l] = if v < min[l] { v } else { min[l] };
                max[l] = if v > max[l] { v } else { max[l] };
            }
        }
        for (l, v) in rest.iter().enumerate() {
            let v = v.to_f64();
            sum[l] += v;
            abs[l] += v.abs();
            sq[l] += v * v;
            min[l] = if v < min[l] { v } else { min[l] };
            max[l] = if v > max[l] { v } else { max[l] };
        }
        let pick = |a: [f64; LANES], f: fn(f64, f64) -> f64| {
            f(
                f(f(a[0], a[4]), f(a[2], a[6])),
                f(f(a[1], a[5]), f(a[3], a[7])),
            )
        };
        [
            pick(sum, |a, b| a + b),
            pick(abs, |a, b| a + b),
            pick(sq, |a, b| a + b),
            pick(min, |a, b| if b < a { b } else { a }),
            pick(max, |a, b| if b > a { b } else { a }),
        ]
    }
}

/// The sum of squared deviations of `values` from a mean, in the lanes of [`Moments`].
struct Deviations<'a, T>(&'a [T], f64);

impl<T: Scalar> WithSimd for Deviations<'_, T> {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _: S) -> f64 {
        let mean = self.1;
        let mut acc = [0.0; LANES];
        let chunks = self.0.chunks_exact(LANES);
        let rest = chunks.remainder();
        for c in chunks {
            for (acc, v) in acc.iter_mut().zip(c) {
                let d = v.to_f64() - mean;
                *acc += d * d;
            }
        }
        for (acc, v) in acc.iter_mut().zip(rest) {
            let d = v.to_f64() - mean;
            *acc += d * d;
        }
        ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
    }
}

/// Partial sums per statistic.
const LANES: usize = 8;

/// Ranks up to this far from either end are kept in short sorted buffers during one
/// pass instead of being found by selection.
const NEAR_END: usize = 16;

/// Where numpy's (linear) `q`-th percentile of `n` values sits: the 0-based ranks of the
/// two order statistics around it and the weight of the upper one.
fn rank(n: usize, q: f64) -> (usize, usize, f64) {
    let pos = q / 100.0 * (n - 1) as f64;
    let below = pos.floor() as usize;
    (below, (below + 1).min(n - 1), pos - below as f64)
}

/// The 2nd and 98th percentiles of `values` (at least one), with numpy's linear
/// interpolation. When both sit near an end of the order, as they do below 750 values,
/// one pass keeps the few smallest and largest values; otherwise each comes from
/// selection on a copy in `scratch`. Without `nan`, the values are promised to hold no
/// NaN, and are compared in their own precision, which orders them as their exact `f64`
/// conversions do.
fn tail_percentiles<T: Scalar>(values: &[T], nan: bool, scratch: &mut Vec<f64>) -> (f64, f64) {
    let n = values.len();
    let (lo_below, lo_above, lo_frac) = rank(n, 2.0);
    let (hi_below, hi_above, hi_frac) = rank(n, 98.0);
    let interpolate = |lo: f64, hi: f64, frac: f64| lo + frac * (hi - lo);
    if lo_above < NEAR_END && n - 1 - hi_below < NEAR_END {
        let (m_low, m_high) = (lo_above + 1, n - hi_below);
        let (least, most) = if nan {
            both_ends(values, m_low, m_high, |a, b| {
                a.to_f64().total_cmp(&b.to_f64()).is_lt()
            })
        } else {
            both_ends(values, m_low, m_high, |a, b| a < b)
        };
        let p02 = interpolate(least[lo_below].to_f64(), least[lo_above].to_f64(), lo_frac);
        let p98 = interpolate(
            most[n - 1 - hi_below].to_f64(),
            most[n - 1 - hi_above].to_f64(),
            hi_frac,
        );
        return (p02, p98);
    }
    scratch.clear();
    scratch.extend(values.iter().map(|v| v.to_f64()));
    let mut select = |below: usize, above: usize, frac: f64| {
        let (_, &mut lo, right) = scratch.select_nth_unstable_by(below, f64::total_cmp);
        // Everything right of the selected value is at least as large; the next order
        // statistic (if any) is the smallest of those.
        let hi = if above > below {
            right.iter().copied().min_by(f64::total_cmp).unwrap_or(lo)
        } else {
            lo
        };
        interpolate(lo, hi, frac)
    };
    let p02 = select(lo_below, lo_above, lo_frac);
    let p98 = select(hi_below, hi_above, hi_frac);
    (p02, p98)
}

/// The `m_low` smallest values of `values` in ascending order and the `m_high` largest
/// in descending order (each at most [`NEAR_END`]), in the order where `a` comes first
/// when `before(a, b)`, found in one pass.
#[inline(always)]
fn both_ends<T: Scalar>(
    values: &[T],
    m_low: usize,
    m_high: usize,
    before: impl Fn(T, T) -> bool,
) -> ([T; NEAR_END], [T; NEAR_END]) {
    let after = |a: T, b: T| before(b, a);
    let (mut least, mut most) = ([T::ZERO; NEAR_END], [T::ZERO; NEAR_END]);
    let (mut n_least, mut n_most) = (0, 0);
    let (head, tail) = values.split_at(m_low.max(m_high).min(values.len()));
    for &v in head {
        keep(&mut least, &mut n_least, m_low, v, &before);
        keep(&mut most, &mut n_most, m_high, v, &after);
    }
    // Once both buffers are full, a block holding nothing that comes before the last
    // kept value at either end is skipped after one branch-free test.
    for block in tail.chunks(LANES) {
        let (low, high) = (least[m_low - 1], most[m_high - 1]);
        if block
            .iter()
            .fold(false, |any, &v| any | before(v, low) | after(v, high))
        {
            for &v in block {
                keep(&mut least, &mut n_least, m_low, v, &before);
                keep(&mut most, &mut n_most, m_high, v, &after);
            }
        }
    }
    (least, most)
}

/// Inserts `v` into the sorted buffer `kept` of `len` values (at most `m`), dropping
/// the last one if the buffer is full and `v` comes before it.
#[inline(always)]
fn keep<T: Copy>(
    kept: &mut [T; NEAR_END],
    len: &mut usize,
    m: usize,
    v: T,
    before: &impl Fn(T, T) -> bool,
) {
    if *len == m {
        if !before(v, kept[m - 1]) {
            return;
        }
        *len -= 1;
    }
    let mut i = *len;
    while i > 0 && before(v, kept[i - 1]) {
        kept[i] = kept[i - 1];
        i -= 1;
    }
    kept[i] = v;
    *len += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_match_numpy() {
        // numpy: x = np.arange(1, 11) ** 2 / 10
        let x: Vec<f64> = (1..=10).map(|i| f64::from(i * i) / 10.0).collect();
        let mut scratch = StatsScratch::new(10);
        let s = scratch.stats(&x, None);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(s.mean, 3.85), "mean {}", s.mean);
        assert!(close(s.std, 3.241_990_129_534_635), "std {}", s.std); // np.std(x)
        assert!(close(s.abs_mean, 3.85));
        assert!(close(s.l2, 15.916_343_801_262_903), "l2 {}", s.l2); // np.linalg.norm(x)
        assert!(close(s.min, 0.1) && close(s.max, 10.0));
        assert!(close(s.p02, 0.154), "p02 {}", s.p02); // np.percentile(x, 2)
        assert!(close(s.p98, 9.658), "p98 {}", s.p98); // np.percentile(x, 98)
        assert_eq!(s.saturated_frac, None);
        assert_eq!(Stats::of(&x), Some(s));
        assert_eq!(Stats::of(&[]), None);
    }

    /// The percentiles by one-pass buffers and by selection against a full sort, for
    /// sizes on both sides of [`NEAR_END`] from either end, with ties.
    #[test]
    fn percentiles_match_a_sort() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Few distinct values, so that ties are common.
            (state % 97) as f64 - 48.0
        };
        for n in (1..200).chain([749, 750, 751, 752, 800, 5000]) {
            let values: Vec<f64> = (0..n).map(|_| next()).collect();
            let mut sorted = values.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let expected = |q: f64| {
                let (below, above, frac) = rank(n, q);
                sorted[below] + frac * (sorted[above] - sorted[below])
            };
            for nan in [false, true] {
                let (p02, p98) = tail_percentiles(&values, nan, &mut Vec::new());
                assert_eq!(p02.to_bits(), expected(2.0).to_bits(), "n {n} p02");
                assert_eq!(p98.to_bits(), expected(98.0).to_bits(), "n {n} p98");
            }
        }
    }

    #[test]
    fn saturated_fraction_counts_flat_units() {
        let z = [-10.0_f64, -1.0, 0.0, 1.0, 10.0];
        let a: Vec<f64> = z.iter().map(|&z| Activation::Tanh.apply(z)).collect();
        let mut scratch = StatsScratch::new(5);
        let s = scratch.stats(&a, Some((Activation::Tanh, &z[..])));
        assert_eq!(s.saturated_frac, Some(0.4));
        // A linear unit never saturates, so the fraction would say nothing.
        let s = scratch.stats(&z, Some((Activation::Linear, &z[..])));
        assert_eq!(s.saturated_frac, None);
    }
}
