//! The lab: a section where readers train networks of their own in the page, on the
//! same core as `vanishing run`, compiled to WebAssembly (crate `vanishing-lab`, built
//! and base64-encoded by this crate's build script).
//!
//! Rust writes the section's HTML (presets, controls, the editor, the chart
//! containers) and each chart's frame as an ECharts option built with charming, as
//! the static report's charts are (titles, named axes, log scales, legends, the
//! palette); the page's own JavaScript (`lab/lab.js`: the scriptable
//! `window.vanishing.lab`, `lab/worker.js`: the worker that runs the module,
//! `lab/ui.js`: controls and live charts) only moves rows and fills in the series.

use charming::Chart;
use charming::component::{Axis, Grid, Legend, Title};
use charming::element::{AxisType, NameLocation, Tooltip, Trigger};

use crate::charts::{PALETTE, decision_surface};
use crate::page::Page;

/// The lab's WebAssembly module, base64-encoded by the build script.
const MODULE: &str = include_str!(concat!(env!("OUT_DIR"), "/lab.wasm.b64"));
const LAB_JS: &str = include_str!("lab/lab.js");
const UI_JS: &str = include_str!("lab/ui.js");
const WORKER_JS: &str = include_str!("lab/worker.js");

/// The section's anchor, which the first screen links to and the URL's fragment
/// (`#lab?...`) names.
pub(crate) const ANCHOR: &str = "lab";

/// A chart's frame: a title, a legend above the plot (never over it), a tooltip.
fn frame(title: &str, x: Axis, y: Axis) -> Chart {
    Chart::new()
        .title(Title::new().text(title).left("center"))
        .legend(
            Legend::new()
                .top(28)
                .type_(charming::component::LegendType::Scroll),
        )
        .tooltip(Tooltip::new().trigger(Trigger::Axis))
        .grid(Grid::new().left(64).right(20).top(72).bottom(48))
        .x_axis(x)
        .y_axis(y)
}

fn axis(name: &str, type_: AxisType) -> Axis {
    Axis::new()
        .type_(type_)
        .name(name)
        .name_location(NameLocation::Middle)
        .name_gap(30)
}

fn y_axis(name: &str, type_: AxisType) -> Axis {
    axis(name, type_).name_gap(48)
}

/// Every chart of the lab by the name its container and its series use.
fn charts() -> Vec<(&'static str, Chart)> {
    let epoch = || axis("epoch", AxisType::Value);
    vec![
        (
            "loss",
            frame("Loss", epoch(), y_axis("loss (log)", AxisType::Log)),
        ),
        (
            "accuracy",
            frame(
                "Accuracy",
                epoch(),
                y_axis("accuracy", AxisType::Value).min(0).max(1),
            ),
        ),
        (
            "profile",
            frame(
                "Gradient flow by layer",
                axis("layer (input side first)", AxisType::Category),
                y_axis("standard deviation (log)", AxisType::Log),
            ),
        ),
        (
            "gradients",
            frame(
                "Weight-gradient spread",
                epoch(),
                y_axis("std of dLoss/dW (log)", AxisType::Log),
            ),
        ),
        (
            "saturation",
            frame(
                "Saturated units",
                epoch(),
                y_axis("fraction saturated", AxisType::Value).min(0).max(1),
            ),
        ),
        (
            "updates",
            frame(
                "Update size / weights",
                epoch(),
                y_axis("rms(update) / rms(W) (log)", AxisType::Log),
            ),
        ),
        (
            "surface",
            // The static report's own builder, with no cells and no points: the page
            // fills in the same series and axes from the run's rows.
            decision_surface("Decision surface", "after training", &[], &[]),
        ),
    ]
}

/// The frames and the palette, as the JSON the page's script reads.
fn templates() -> String {
    let mut out = String::from("{\"palette\":");
    out.push_str(&serde_json::to_string(&PALETTE).expect("strings serialize"));
    out.push_str(",\"charts\":{");
    for (i, (name, chart)) in charts().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!("\"{name}\":"));
        out.push_str(&serde_json::to_string(chart).expect("a chart option serializes"));
    }
    out.push_str("}}");
    out.replace("</", "<\\/")
}

const CONTROLS: &str = r#"
<div class="lab-presets" role="group" aria-label="Presets">
  <span>Start from:</span>
  <button type="button" data-preset="tutorial">The tutorial's deep sigmoid network</button>
  <button type="button" data-preset="glorot">The same with Glorot</button>
  <button type="button" data-preset="relu_he">ReLU with He</button>
  <button type="button" data-preset="batchnorm">20 layers, batch normalization</button>
  <button type="button" data-preset="residual">20 layers, residual connections</button>
</div>
<div class="lab-controls">
  <label>Data <select name="data"><option value="circles">circles</option><option value="moons">moons</option><option value="shapeset">Shapeset-3x2 images (9 classes)</option><option value="digits">digits, 8x8 (10 classes)</option></select></label>
  <label>Points <input name="n_samples" type="number" min="2" max="100000" step="1"></label>
  <label>Noise <input name="noise" type="number" min="0" max="10" step="0.01"></label>
  <label>Hidden layers <input name="depth" type="number" min="1" max="40" step="1"></label>
  <label>Units per layer <input name="width" type="number" min="1" max="256" step="1"></label>
  <label>Activation <select name="activation"><option>sigmoid</option><option>tanh</option><option>relu</option><option>leaky_relu</option><option>softsign</option><option>linear</option></select></label>
  <label>Initializer <select name="init"><option value="normal1">N(0, 1), the tutorial's</option><option value="glorot_uniform">Glorot uniform</option><option value="glorot_normal">Glorot normal</option><option value="he_normal">He normal</option><option value="he_uniform">He uniform</option><option value="lecun_normal">LeCun normal</option><option value="standard">Glorot &amp; Bengio's standard</option></select></label>
  <label>Normalization <select name="norm"><option value="none">none</option><option value="batch">batch</option><option value="layer">layer</option></select></label>
  <label class="check"><input name="residual" type="checkbox"> Residual connections</label>
  <label>Optimizer <select name="optimizer"><option value="sgd">SGD</option><option value="rmsprop">RMSprop</option><option value="adam">Adam</option></select></label>
  <label>Learning rate <input name="learning_rate" type="number" min="0" step="any"></label>
  <label>Batch size <input name="batch_size" type="number" min="1" step="1"></label>
  <label>Epochs <input name="epochs" type="number" min="0" max="10000" step="1"></label>
  <label>Seed <input name="seed" type="number" min="0" step="1"></label>
  <label>Precision <select name="precision"><option value="f32">f32</option><option value="f64">f64</option></select></label>
</div>
<details class="lab-file" open>
  <summary>The experiment file these controls describe (edit it freely; <code>vanishing run</code> accepts it as it is)</summary>
  <textarea id="lab-editor" spellcheck="false" rows="22" aria-label="Experiment file"></textarea>
  <div><button type="button" id="lab-copy">Copy</button></div>
  <p id="lab-hand-edited" class="note" hidden>Edited by hand: the controls above no longer describe this file, and changing one of them writes the file anew from the controls.</p>
</details>
<pre id="lab-problem" class="lab-problem" role="alert" hidden></pre>
<div class="lab-actions">
  <button type="button" id="lab-train" class="primary">Train</button>
  <button type="button" id="lab-stop" disabled>Stop</button>
  <button type="button" id="lab-pin" disabled>Pin this run</button>
  <button type="button" id="lab-unpin" disabled>Clear pins</button>
  <span id="lab-status" class="lab-status" aria-live="polite"></span>
</div>
<p id="lab-pins" class="note"></p>
"#;

/// Appends the lab section.
pub(crate) fn section(page: &mut Page) {
    page.heading(2, ANCHOR, "The lab: train your own network");
    page.html(
        "<p>Choose a network and watch it train, here in the page: the same core as \
         <code>vanishing run</code>, compiled to WebAssembly, with the same numbers. \
         While it trains, the charts show its loss and accuracy, the spread of the \
         back-propagated gradient (dC/ds) and of each layer's weight gradient (dLoss/dW) \
         layer by layer at initialization and now, with the spread Glorot &amp; Bengio's \
         variance recursion predicts from the initial weights and slopes (for plain \
         networks: normalization and skip connections break its assumptions), how the \
         weight gradient of every layer evolves, how many units saturate, how large each \
         step is relative to the weights, and finally the decision surface. Pin a run to \
         keep it on the charts, dashed, under the next one. The link in the address bar \
         reopens this configuration.</p>",
    );
    page.html("<div id=\"lab-root\" class=\"lab\">");
    page.html(CONTROLS);
    page.html("<div class=\"grid lab-charts\">");
    for (name, _) in charts() {
        let class = if name == "profile" { " wide" } else { "" };
        page.html(&format!(
            "<figure class=\"lab-figure{class}\"><div class=\"chart\" id=\"lab-chart-{name}\"></div></figure>"
        ));
    }
    page.html("</div></div>");
    page.script(&format!(
        "<script type=\"application/json\" id=\"lab-charts\">{}</script>\
         <script type=\"text/plain\" id=\"lab-module\">{MODULE}</script>\
         <script type=\"text/plain\" id=\"lab-worker\">{}</script>\
         <script>{LAB_JS}</script><script>{UI_JS}</script>",
        templates(),
        WORKER_JS.replace("</", "<\\/"),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chart_has_a_container_and_a_frame() {
        let json: serde_json::Value = serde_json::from_str(&templates()).unwrap();
        let names: Vec<&str> = charts().iter().map(|(n, _)| *n).collect();
        for name in &names {
            assert!(!json["charts"][name]["title"].is_null(), "{name}");
        }
        assert_eq!(json["palette"].as_array().unwrap().len(), PALETTE.len());
        let mut page = Page::default();
        section(&mut page);
        let html = page.finish("t");
        for name in names {
            assert!(html.contains(&format!("id=\"lab-chart-{name}\"")), "{name}");
        }
        assert!(html.contains("id=\"lab-module\""));
        assert!(MODULE.len() > 1000, "the module is embedded");
    }
}
