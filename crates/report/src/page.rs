//! The HTML page: a fixed frame, the sections as HTML, every chart as a `<div>` with
//! its ECharts option, and the ECharts script itself, embedded.

use std::fmt::Write;

use charming::Chart;

/// The ECharts script shipped by the charming crate, copied in by the build script.
const ECHARTS: &str = include_str!(concat!(env!("OUT_DIR"), "/echarts.min.js"));
/// Its version, from the file's name.
pub(crate) const ECHARTS_VERSION: &str =
    include_str!(concat!(env!("OUT_DIR"), "/echarts_version.txt"));

/// A page under construction: HTML text and the charts it refers to.
#[derive(Default)]
pub(crate) struct Page {
    body: String,
    charts: Vec<(String, String)>,
}

/// Escapes text for HTML.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Page {
    /// Appends raw HTML.
    pub(crate) fn html(&mut self, html: &str) {
        self.body.push_str(html);
    }

    /// Appends a chart container and remembers its option.
    pub(crate) fn chart(&mut self, chart: &Chart, class: &str) {
        let id = format!("chart-{}", self.charts.len() + 1);
        let _ = write!(self.body, "<div class=\"chart {class}\" id=\"{id}\"></div>");
        // Compact JSON: charming's `Display` pretty-prints, which triples the page.
        let option = serde_json::to_string(chart).expect("a chart option serializes to JSON");
        self.charts.push((id, option));
    }

    /// The complete document.
    pub(crate) fn finish(self, title: &str) -> String {
        let mut options = String::from("{");
        for (i, (id, option)) in self.charts.iter().enumerate() {
            if i > 0 {
                options.push(',');
            }
            let _ = write!(options, "\"{id}\":{option}");
        }
        options.push('}');
        // JSON inside a <script> must not close it early.
        let options = options.replace("</", "<\\/");
        format!(
            r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{STYLE}</style>
<script>
  // Script errors are shown on the page (and read by the browser test).
  window.addEventListener("error", function (e) {{
    var box = document.getElementById("script-errors");
    if (box) {{ box.hidden = false; box.textContent += (e.message || String(e)) + "\n"; }}
  }});
</script>
</head>
<body>
<pre id="script-errors" hidden></pre>
{body}
<footer>Charts drawn with ECharts {version}, embedded in this page: it needs no network.</footer>
<script>{ECHARTS}</script>
<script>
  (function () {{
    var options = {options};
    Object.keys(options).forEach(function (id) {{
      var option = options[id];
      option.animation = false;
      // A band stacks (max - min) on min; stack every sign together, or a band whose
      // minimum is negative would be drawn from zero.
      // Draw every series in one pass: above a few thousand points ECharts otherwise
      // renders in animation frames (progressively), which a static page gains nothing
      // from and which never completes in a headless browser with virtual time.
      (option.series || []).forEach(function (s) {{
        if (s.stack) {{ s.stackStrategy = "all"; }}
        s.progressive = 0;
      }});
      var chart = echarts.init(document.getElementById(id), null, {{ renderer: "canvas" }});
      chart.setOption(option);
      window.addEventListener("resize", function () {{ chart.resize(); }});
    }});
  }})();
</script>
</body>
</html>
"#,
            title = escape(title),
            body = self.body,
            version = escape(ECHARTS_VERSION.trim()),
        )
    }
}

const STYLE: &str = r"
body { font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #222; max-width: 1280px; margin: 0 auto; padding: 0 24px 48px; }
h1 { font-size: 28px; margin: 32px 0 8px; }
h2 { font-size: 22px; margin: 40px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 17px; margin: 28px 0 4px; }
p, li { max-width: 900px; }
nav ul { columns: 2; }
.grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
.grid.three { grid-template-columns: repeat(3, minmax(0, 1fr)); }
.chart { height: 340px; border: 1px solid #eee; border-radius: 4px; }
.chart.wide { height: 420px; }
.chart.tall { height: var(--h, 420px); }
.chart.square { height: 380px; }
.placeholder { height: 380px; border: 1px dashed #ddd; border-radius: 4px; display: flex; align-items: center; justify-content: center; }
table { border-collapse: collapse; margin: 12px 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 4px 10px; text-align: left; }
td.num { text-align: right; }
.note { color: #555; font-size: 14px; }
#script-errors { background: #fee; color: #900; padding: 8px; white-space: pre-wrap; }
footer { margin-top: 48px; color: #777; font-size: 13px; }
";
