//! Chart builders: each returns a charming `Chart` with a title, named axes with
//! units, a legend and tooltips.

use charming::Chart;
use charming::component::{Axis, Grid, Legend, Title, VisualMap, VisualMapChannel};
use charming::datatype::DataPoint;
use charming::element::{AxisType, ItemStyle, NameLocation, Tooltip, Trigger};
use charming::series::{Bar, Boxplot, Heatmap, Scatter};
use vanishing_analysis::{BoundaryRow, PointRow};

use crate::layer_charts::{Trace, lines_over};
use crate::series::Band;

/// Colors for layers 1, 2, ... (and splits), readable on white.
pub(crate) const PALETTE: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// `v` rounded to 4 significant digits: more than a chart can show, and it keeps the
/// embedded data (and so the page) several times smaller.
pub(crate) fn sig(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(3 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// How a chart's y axis is scaled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scale {
    /// Linear, fitted to the data.
    Linear,
    /// Logarithmic, fitted to the data.
    Log,
    /// Logarithmic between fixed ends, shared by small multiples.
    LogFixed(f64, f64),
    /// Linear between fixed ends.
    Fixed(f64, f64),
}

fn title(text: &str, subtext: &str) -> Title {
    Title::new().text(text).subtext(subtext).left("center")
}

pub(crate) fn y_axis(name: &str, scale: Scale) -> Axis {
    let axis = Axis::new()
        .name(name)
        .name_location(NameLocation::Middle)
        .name_gap(52);
    match scale {
        Scale::Linear => axis.type_(AxisType::Value).scale(true),
        Scale::Log => axis.type_(AxisType::Log),
        Scale::LogFixed(lo, hi) => axis.type_(AxisType::Log).min(lo).max(hi),
        Scale::Fixed(lo, hi) => axis.type_(AxisType::Value).min(lo).max(hi),
    }
}

/// Lines over epochs, one per band, each with a shaded min-max band when its seeds
/// disagree: the bands aligned on the epochs any of them has, drawn by
/// [`lines_over`]. Values that a log axis cannot show (zero or negative) are left out.
pub(crate) fn bands_over_epochs(
    text: &str,
    subtext: &str,
    y_name: &str,
    scale: Scale,
    bands: &[Band],
) -> Chart {
    let mut xs: Vec<f64> = bands
        .iter()
        .flat_map(|b| b.points.iter().map(|p| sig(p.0)))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let traces: Vec<Trace> = bands
        .iter()
        .enumerate()
        .map(|(i, band)| Trace {
            name: band.name.clone(),
            color: PALETTE[i % PALETTE.len()],
            dashed: false,
            points: xs
                .iter()
                .map(|&x| {
                    band.points
                        .iter()
                        .find(|p| sig(p.0).to_bits() == x.to_bits())
                        .map(|p| (p.1, p.2, p.3))
                })
                .collect(),
        })
        .collect();
    let labels: Vec<String> = xs.iter().map(ToString::to_string).collect();
    lines_over(text, subtext, "epoch", &labels, y_name, scale, &traces)
}

/// The two classes as a scatter plot of the input plane.
pub(crate) fn scatter(text: &str, subtext: &str, points: &[&PointRow]) -> Chart {
    add_points(
        Chart::new()
            .title(title(text, subtext))
            .tooltip(Tooltip::new().trigger(Trigger::Item))
            .legend(Legend::new().top(44))
            .grid(Grid::new().top(80).left(56).right(24).bottom(48))
            .x_axis(plane_axis("x0"))
            .y_axis(plane_axis("x1")),
        points,
        None,
    )
}

fn plane_axis(name: &str) -> Axis {
    Axis::new()
        .type_(AxisType::Value)
        .name(name)
        .name_location(NameLocation::Middle)
        .name_gap(28)
        .scale(true)
}

/// Adds the points of both classes, on the axes with the given index (if not the
/// first pair).
fn add_points(mut chart: Chart, points: &[&PointRow], axes: Option<usize>) -> Chart {
    for (label, color) in [(0, "#1f77b4"), (1, "#ff7f0e")] {
        let data: Vec<Vec<f64>> = points
            .iter()
            .filter(|p| p.label == label)
            .map(|p| vec![sig(p.x0), sig(p.x1)])
            .collect();
        let mut series = Scatter::new()
            .name(format!("class {label}"))
            .symbol_size(4)
            .item_style(
                ItemStyle::new()
                    .color(color)
                    .border_color("#ffffff")
                    .border_width(0.5),
            )
            .data(data);
        if let Some(i) = axes {
            series = series.x_axis_index(i as f64).y_axis_index(i as f64);
        }
        chart = chart.series(series);
    }
    chart
}

/// The model's output over the input plane as colored cells, with the points on top.
///
/// The cells are a heatmap on a pair of category axes (one category per grid column
/// and row, so cells tile the plot exactly); the points use a second pair of value axes
/// whose ends are set half a cell beyond the grid's, so that both pairs line up.
pub(crate) fn decision_surface(
    text: &str,
    subtext: &str,
    grid: &[&BoundaryRow],
    points: &[&PointRow],
) -> Chart {
    let mut xs: Vec<f64> = grid.iter().map(|b| b.x0).collect();
    let mut ys: Vec<f64> = grid.iter().map(|b| b.x1).collect();
    for v in [&mut xs, &mut ys] {
        v.sort_by(f64::total_cmp);
        v.dedup();
    }
    let index = |values: &[f64], v: f64| {
        values
            .iter()
            .position(|&u| u.to_bits() == v.to_bits())
            .unwrap_or(0) as f64
    };
    let cells: Vec<Vec<DataPoint>> = grid
        .iter()
        .map(|b| {
            vec![
                index(&xs, b.x0).into(),
                index(&ys, b.x1).into(),
                sig(b.probability).into(),
            ]
        })
        .collect();
    let ends = |v: &[f64]| {
        let half = if v.len() > 1 {
            (v[v.len() - 1] - v[0]) / (v.len() - 1) as f64 / 2.0
        } else {
            0.5
        };
        (
            v.first().copied().unwrap_or(-1.0) - half,
            v.last().copied().unwrap_or(1.0) + half,
        )
    };
    let (x_lo, x_hi) = ends(&xs);
    let (y_lo, y_hi) = ends(&ys);
    let hidden_category = |n: usize| {
        Axis::new()
            .type_(AxisType::Category)
            .show(false)
            .data((0..n).map(|i| i.to_string()).collect())
    };
    let value_axis = |name: &str, lo: f64, hi: f64, position: &str| {
        plane_axis(name)
            .scale(false)
            .min(sig(lo))
            .max(sig(hi))
            .position(position)
    };
    let chart = Chart::new()
        .title(title(text, subtext))
        .tooltip(Tooltip::new().trigger(Trigger::Item))
        .legend(
            Legend::new()
                .top(44)
                .data(vec!["class 0".to_owned(), "class 1".to_owned()]),
        )
        .grid(Grid::new().top(80).left(56).right(88).bottom(48))
        .x_axis(hidden_category(xs.len()))
        .y_axis(hidden_category(ys.len()))
        .x_axis(value_axis("x0", x_lo, x_hi, "bottom"))
        .y_axis(value_axis("x1", y_lo, y_hi, "left"))
        .visual_map(
            VisualMap::new()
                .min(0.0)
                .max(1.0)
                .dimension(2)
                .series_index(0)
                .calculable(true)
                .right(0)
                .top("middle")
                .in_range(VisualMapChannel::new().color(vec!["#c6dbef", "#f7f7f7", "#fdd0a2"])),
        )
        .series(Heatmap::new().name("p(class 1)").data(cells));
    add_points(chart, points, Some(1))
}

/// A chart with one row per category (top to bottom) against `x_axis`, its grid wide
/// enough for the category labels.
fn by_category(
    text: &str,
    subtext: &str,
    trigger: Trigger,
    top: i64,
    x_axis: Axis,
    categories: &[String],
) -> Chart {
    Chart::new()
        .title(title(text, subtext))
        .tooltip(Tooltip::new().trigger(trigger))
        .grid(
            Grid::new()
                .top(top)
                .left(16)
                .right(32)
                .bottom(48)
                .contain_label(true),
        )
        .x_axis(x_axis)
        .y_axis(
            Axis::new()
                .type_(AxisType::Category)
                .inverse(true)
                .data(categories.to_vec()),
        )
}

/// One row per category against a log axis, with a legend for several series.
fn log_by_category(
    text: &str,
    subtext: &str,
    trigger: Trigger,
    x_name: &str,
    categories: &[String],
) -> Chart {
    let x_axis = Axis::new()
        .type_(AxisType::Log)
        .name(x_name)
        .name_location(NameLocation::Middle)
        .name_gap(28);
    by_category(text, subtext, trigger, 80, x_axis, categories).legend(Legend::new().top(44))
}

/// Horizontal bars on a log axis: one category per configuration, one bar per series.
pub(crate) fn log_bars(
    text: &str,
    subtext: &str,
    x_name: &str,
    categories: &[String],
    series: &[(&str, Vec<f64>)],
) -> Chart {
    let mut chart = log_by_category(text, subtext, Trigger::Axis, x_name, categories);
    for (i, (name, values)) in series.iter().enumerate() {
        chart = chart.series(
            Bar::new()
                .name(*name)
                .item_style(ItemStyle::new().color(PALETTE[i % PALETTE.len()]))
                .data(values.iter().map(|&v| sig(v)).collect()),
        );
    }
    chart
}

/// Dots on a log axis: one row per category, one dot per series. Unlike bars, whose
/// length on a log axis depends on where the axis starts, a dot only says its value,
/// which is what a side-by-side of two frameworks needs.
pub(crate) fn log_dots(
    text: &str,
    subtext: &str,
    x_name: &str,
    categories: &[String],
    series: &[(&str, Vec<f64>)],
) -> Chart {
    let mut chart = log_by_category(text, subtext, Trigger::Item, x_name, categories);
    for (i, (name, values)) in series.iter().enumerate() {
        let data: Vec<Vec<f64>> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite() && **v > 0.0)
            .map(|(row, &v)| vec![sig(v), row as f64])
            .collect();
        chart = chart.series(
            Scatter::new()
                .name(*name)
                .symbol_size(10)
                .item_style(
                    ItemStyle::new()
                        .color(PALETTE[i % PALETTE.len()])
                        .opacity(0.8),
                )
                .data(data),
        );
    }
    chart
}

/// Each seed's final accuracy per configuration, as dots on a shared axis.
pub(crate) fn accuracy_strip(
    text: &str,
    subtext: &str,
    categories: &[String],
    values: &[Vec<f64>],
) -> Chart {
    let x_axis = accuracy_axis(values);
    by_category(text, subtext, Trigger::Item, 64, x_axis, categories).series(
        Scatter::new()
            .name("one seed")
            .symbol_size(8)
            .item_style(ItemStyle::new().color(PALETTE[0]).opacity(0.6))
            .data(strip_points(values)),
    )
}

/// Configurations with more seeds than this are drawn as a summary, not seed by seed:
/// hundreds of dots on one row only pile up.
pub(crate) const MAX_DOTS: usize = 50;

/// The final accuracies of configurations with many seeds: per row a box from the
/// first to the third quartile around the median, whiskers to the lowest and highest
/// seed (no outliers are singled out).
pub(crate) fn accuracy_boxes(
    text: &str,
    subtext: &str,
    categories: &[String],
    values: &[Vec<f64>],
) -> Chart {
    let x_axis = accuracy_axis(values);
    let boxes: Vec<Vec<f64>> = values
        .iter()
        .map(|vs| match five_numbers(vs) {
            Some(five) => five.iter().map(|&v| sig(v)).collect(),
            None => Vec::new(),
        })
        .collect();
    by_category(text, subtext, Trigger::Item, 64, x_axis, categories).series(
        Boxplot::new()
            .name("seeds")
            .item_style(
                ItemStyle::new()
                    .color("rgba(31, 119, 180, 0.25)")
                    .border_color(PALETTE[0]),
            )
            .data(boxes),
    )
}

/// Minimum, first quartile, median, third quartile and maximum of the finite values,
/// quartiles interpolated linearly between order statistics (as numpy does).
pub(crate) fn five_numbers(values: &[f64]) -> Option<[f64; 5]> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let pos = q * (v.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    Some([v[0], at(0.25), at(0.5), at(0.75), v[v.len() - 1]])
}

/// From 0.4 (chance is 0.5) to 1, lower only if a run did worse.
fn accuracy_axis(values: &[Vec<f64>]) -> Axis {
    let worst = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.4, f64::min);
    let lowest = (worst * 10.0).floor() / 10.0;
    Axis::new()
        .type_(AxisType::Value)
        .name("final training accuracy")
        .name_location(NameLocation::Middle)
        .name_gap(28)
        .min(lowest)
        .max(1.0)
}

fn strip_points(values: &[Vec<f64>]) -> Vec<Vec<f64>> {
    values
        .iter()
        .enumerate()
        .flat_map(|(i, vs)| vs.iter().map(move |&v| vec![sig(v), i as f64]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{five_numbers, sig};

    #[test]
    fn five_numbers_interpolate_the_quartiles() {
        // Sorted: 1 2 3 4 5 6 7 8 9; quartiles at positions 2, 4 and 6.
        assert_eq!(
            five_numbers(&[9.0, 1.0, 5.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0]),
            Some([1.0, 3.0, 5.0, 7.0, 9.0])
        );
        // Four values: positions 0.75, 1.5 and 2.25 fall between order statistics.
        assert_eq!(
            five_numbers(&[0.0, 1.0, 2.0, 4.0, f64::NAN]),
            Some([0.0, 0.75, 1.5, 2.5, 4.0])
        );
        assert_eq!(five_numbers(&[f64::NAN]), None);
    }

    #[test]
    fn four_significant_digits() {
        for (v, expected) in [
            (0.123_456, 0.1235),
            (123_456.0, 123_500.0),
            (-0.000_987_65, -0.000_987_7),
            (0.0, 0.0),
        ] {
            assert!(
                (sig(v) - expected).abs() <= 1e-12 * expected.abs().max(1.0),
                "{v}: {}",
                sig(v)
            );
        }
    }
}
