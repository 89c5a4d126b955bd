//! Chart builders for the "why it happens" and sweep sections: values per layer with
//! interquartile bands, histograms on shared bins, and heatmaps over a sweep's grid.

use charming::Chart;
use charming::component::{Axis, Grid, Legend, Title, VisualMap, VisualMapChannel};
use charming::datatype::DataPoint;
use charming::element::{
    AreaStyle, AxisLabel, AxisType, ItemStyle, Label, LineStyle, LineStyleType, NameLocation,
    Orient, Symbol, Tooltip, Trigger,
};
use charming::series::{Heatmap, Line};

use crate::charts::{Scale, sig, y_axis};

/// One line over the layers (or bins): a median with its interquartile band.
#[derive(Debug, Clone)]
pub(crate) struct Trace {
    /// Legend name.
    pub(crate) name: String,
    /// Line color.
    pub(crate) color: &'static str,
    /// Dashed (for predictions) or solid (for measurements).
    pub(crate) dashed: bool,
    /// `(median, q1, q3)` per category, `None` where there is no value.
    pub(crate) points: Vec<Option<(f64, f64, f64)>>,
}

fn title(text: &str, subtext: &str) -> Title {
    Title::new().text(text).subtext(subtext).left("center")
}

/// The characters of the longest label a linear axis reaching `largest` in magnitude
/// writes: the sign, the integer digits with their thousands separators, and a decimal
/// or two (ECharts rounds ticks to about two significant digits).
fn label_chars(largest: f64) -> usize {
    if largest < 1.0 {
        return 7;
    }
    let digits = largest.log10().floor() as usize + 1;
    1 + digits + (digits - 1) / 3 + 2
}

/// Lines over a category axis (layers from the input side, or histogram bins), each
/// with a shaded interquartile band where its seeds disagree. Values a log axis cannot
/// show are left out.
pub(crate) fn lines_over(
    text: &str,
    subtext: &str,
    x_name: &str,
    categories: &[String],
    y_name: &str,
    scale: Scale,
    traces: &[Trace],
) -> Chart {
    let log = matches!(scale, Scale::Log | Scale::LogFixed(..));
    let keep = |v: f64| v.is_finite() && (!log || v > 0.0);
    // Layers and pairs get every label and a marker per point; long axes (epochs,
    // histogram bins) let ECharts thin the labels, and draw plain lines.
    let few = categories.len() <= 24;
    let labels = if categories.iter().filter(|c| !c.is_empty()).count() <= 24 {
        AxisLabel::new().interval(0)
    } else {
        AxisLabel::new()
    };
    // A linear axis writes its labels in full ("-2,000,000,000" for an exploding run's
    // weights): room for the longest, beyond the eight characters the margin holds.
    let largest = traces
        .iter()
        .flat_map(|t| t.points.iter().flatten())
        .flat_map(|p| [p.0, p.1, p.2])
        .filter(|v| v.is_finite())
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    let extra = if log {
        0
    } else {
        7 * label_chars(largest).saturating_sub(8) as i64
    };
    let mut chart = Chart::new()
        .title(title(text, subtext))
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .legend(
            Legend::new()
                .top(44)
                .data(traces.iter().map(|t| t.name.clone()).collect()),
        )
        .grid(Grid::new().top(96).left(76 + extra).right(24).bottom(56))
        .x_axis(
            Axis::new()
                .type_(AxisType::Category)
                .boundary_gap(false)
                .name(x_name)
                .name_location(NameLocation::Middle)
                .name_gap(30)
                .axis_label(labels)
                .data(categories.to_vec()),
        )
        .y_axis(y_axis(y_name, scale).name_gap(52.0 + extra as f64));
    for (i, trace) in traces.iter().enumerate() {
        let spread = trace.points.iter().flatten().any(|p| p.2 > p.1);
        if spread {
            let stack = format!("band-{i}");
            let ok = |p: &(f64, f64, f64)| keep(p.1) && keep(p.2);
            let lower: Vec<Option<f64>> = trace
                .points
                .iter()
                .map(|p| p.filter(ok).map(|p| sig(p.1)))
                .collect();
            let gap: Vec<Option<f64>> = trace
                .points
                .iter()
                .map(|p| p.filter(ok).map(|p| sig(p.2 - p.1)))
                .collect();
            chart = chart
                .series(
                    Line::new()
                        .name(format!("{} q1", trace.name))
                        .stack(stack.clone())
                        .show_symbol(false)
                        .line_style(LineStyle::new().opacity(0))
                        .data(lower),
                )
                .series(
                    Line::new()
                        .name(format!("{} q3 - q1", trace.name))
                        .stack(stack)
                        .show_symbol(false)
                        .line_style(LineStyle::new().opacity(0))
                        .area_style(AreaStyle::new().color(trace.color).opacity(0.1))
                        .data(gap),
                );
        }
        let median: Vec<Option<f64>> = trace
            .points
            .iter()
            .map(|p| p.filter(|p| keep(p.0)).map(|p| sig(p.0)))
            .collect();
        let style = LineStyle::new().color(trace.color).width(2);
        chart = chart.series(
            Line::new()
                .name(trace.name.clone())
                .symbol(if trace.dashed {
                    Symbol::Custom("emptyCircle".to_owned())
                } else {
                    Symbol::Circle
                })
                .symbol_size(6)
                .show_symbol(few)
                .item_style(ItemStyle::new().color(trace.color))
                .line_style(if trace.dashed {
                    style.type_(LineStyleType::Dashed)
                } else {
                    style
                })
                .data(median),
        );
    }
    chart
}

/// A heatmap over a grid of categories (`xs` along, `ys` down), each cell labelled
/// with its value to `decimals` places, colored on a fixed range so that several
/// heatmaps compare.
#[allow(clippy::too_many_arguments)]
pub(crate) fn heatmap(
    text: &str,
    subtext: &str,
    x_name: &str,
    xs: &[String],
    ys: &[String],
    cells: &[(usize, usize, f64)],
    range: (f64, f64),
    colors: &[&str],
    decimals: i32,
) -> Chart {
    let scale = 10f64.powi(decimals);
    let data: Vec<Vec<DataPoint>> = cells
        .iter()
        .filter(|c| c.2.is_finite())
        .map(|&(x, y, v)| {
            vec![
                (x as f64).into(),
                (y as f64).into(),
                ((v * scale).round() / scale).into(),
            ]
        })
        .collect();
    Chart::new()
        .title(title(text, subtext))
        .tooltip(Tooltip::new().trigger(Trigger::Item))
        .grid(
            Grid::new()
                .top(64)
                .left(8)
                .right(16)
                .bottom(96)
                .contain_label(true),
        )
        .x_axis(
            Axis::new()
                .type_(AxisType::Category)
                .name(x_name)
                .name_location(NameLocation::Middle)
                .name_gap(26)
                .data(xs.to_vec()),
        )
        .y_axis(
            Axis::new()
                .type_(AxisType::Category)
                .inverse(true)
                .axis_label(AxisLabel::new().interval(0))
                .data(ys.to_vec()),
        )
        .visual_map(
            VisualMap::new()
                .min(range.0)
                .max(range.1)
                .dimension(2)
                .calculable(true)
                .orient(Orient::Horizontal)
                .left("center")
                .bottom(0)
                .in_range(VisualMapChannel::new().color(colors.to_vec())),
        )
        .series(
            Heatmap::new()
                .name(text)
                .label(Label::new().show(true).font_size(10))
                .data(data),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_as_long_as_their_digits_separators_and_sign() {
        // "-0.0005"; "-3,500.5" fits the margin; "-1,900,000,000.5" needs 8 more.
        assert_eq!(label_chars(0.0005), 7);
        assert_eq!(label_chars(3500.0), 8);
        assert_eq!(label_chars(1.9e9), 16);
    }
}
