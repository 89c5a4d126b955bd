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
    anchors: std::collections::BTreeSet<String>,
    /// The page's opening, before the table of contents.
    front: String,
    /// `(level, anchor, title)` of every section heading, for the contents.
    toc: Vec<(u8, String, String)>,
    /// Scripts that need ECharts, placed after it.
    scripts: String,
}

/// An anchor made of `parts`: lower case, letters and digits, words joined by `-`.
pub(crate) fn slug(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        for c in part.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
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

    /// Appends `<script>` elements that run after the ECharts script.
    pub(crate) fn script(&mut self, html: &str) {
        self.scripts.push_str(html);
    }

    /// Sets the page's opening, which comes before the contents.
    pub(crate) fn front(&mut self, html: &str) {
        self.front.push_str(html);
    }

    /// Appends a section heading (`level` 2 or 3) with an anchor, listed in the
    /// contents.
    pub(crate) fn heading(&mut self, level: u8, anchor: &str, title: &str) {
        self.anchors.insert(anchor.to_owned());
        let _ = write!(
            self.body,
            "<h{level} id=\"{anchor}\">{} <a class=\"anchor\" href=\"#{anchor}\">#</a></h{level}>",
            escape(title)
        );
        self.toc.push((level, anchor.to_owned(), title.to_owned()));
    }

    fn contents(&self) -> String {
        let mut nav = String::from("<nav><h2>Contents</h2><ul>");
        let mut open = false;
        for (level, anchor, title) in &self.toc {
            let item = format!("<a href=\"#{anchor}\">{}</a>", escape(title));
            match (level, open) {
                (2, true) => nav.push_str(&format!("</ul></li><li>{item}<ul>")),
                (2, false) => {
                    nav.push_str(&format!("<li>{item}<ul>"));
                    open = true;
                }
                _ => nav.push_str(&format!("<li>{item}</li>")),
            }
        }
        if open {
            nav.push_str("</ul></li>");
        }
        nav.push_str("</ul></nav>");
        nav
    }

    /// Appends a figure: a chart container, remembered with its option, under a stable
    /// anchor made from `anchor` (made unique with a number if it was used before), with
    /// a one-line caption and a link to the figure itself.
    pub(crate) fn chart(&mut self, anchor: &str, chart: &Chart, class: &str, caption: &str) {
        let id = format!("chart-{}", self.charts.len() + 1);
        let mut unique = anchor.to_owned();
        let mut n = 1;
        while !self.anchors.insert(unique.clone()) {
            n += 1;
            unique = format!("{anchor}-{n}");
        }
        let _ = write!(
            self.body,
            "<figure id=\"{unique}\"><div class=\"chart {class}\" id=\"{id}\"></div>\
             <figcaption>{} <a class=\"anchor\" href=\"#{unique}\">#</a></figcaption></figure>",
            escape(caption)
        );
        // Compact JSON: charming's `Display` pretty-prints, which triples the page.
        let option = serde_json::to_string(chart).expect("a chart option serializes to JSON");
        self.charts.push((id, option));
    }

    /// The complete document.
    pub(crate) fn finish(self, title: &str) -> String {
        let contents = self.contents();
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
  // Script errors, unhandled promise rejections and console errors (ECharts reports
  // its problems there) are shown on the page, and read by the browser tests.
  (function () {{
    function show(text) {{
      var box = document.getElementById("script-errors");
      if (box) {{ box.hidden = false; box.textContent += text + "\n"; }}
    }}
    window.addEventListener("error", function (e) {{ show(e.message || String(e)); }});
    window.addEventListener("unhandledrejection", function (e) {{
      var r = e.reason;
      show("unhandled rejection: " + (r && r.message ? r.message : String(r)));
    }});
    var error = console.error;
    console.error = function () {{
      show("console.error: " + Array.prototype.map.call(arguments, String).join(" "));
      return error.apply(console, arguments);
    }};
  }})();
</script>
</head>
<body>
<pre id="script-errors" hidden></pre>
{front}
{contents}
{body}
<footer>Charts drawn with ECharts {version}, embedded in this page: it needs no network.</footer>
<script>{ECHARTS}</script>
<script>
  // On a narrow screen (a phone), a chart's legend stays on one line and scrolls
  // sideways instead of wrapping down over the plot, and its title's font shrinks until
  // the title fits. The lab's charts go through the same function.
  window.vanishing = window.vanishing || {{}};
  window.vanishing.fit = function (option, width) {{
    if (!(width < 640)) {{ return option; }}
    [].concat(option.legend || []).forEach(function (l) {{ l.type = "scroll"; }});
    [].concat(option.title || []).forEach(function (t) {{
      var room = width - 16;
      if (t.text) {{
        t.textStyle = t.textStyle || {{}};
        t.textStyle.fontSize = Math.max(10, Math.min(18, Math.floor(room / (t.text.length * 0.6))));
      }}
      if (t.subtext) {{
        t.subtextStyle = t.subtextStyle || {{}};
        t.subtextStyle.fontSize = Math.max(9, Math.min(12, Math.floor(room / (t.subtext.length * 0.55))));
      }}
    }});
    return option;
  }};
  (function () {{
    var options = {options};
    var charts = [];
    // Charts are drawn when they come near the window, so that a page of hundreds of
    // charts opens as fast as one of a few; printing draws them all first.
    function draw(el) {{
      if (el.getAttribute("data-drawn")) {{ return; }}
      el.setAttribute("data-drawn", "1");
      var option = options[el.id];
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
      // Log axes label their decades compactly (1e-7 rather than 0.0000001).
      [].concat(option.xAxis || [], option.yAxis || []).forEach(function (a) {{
        if (a.type === "log") {{
          a.axisLabel = a.axisLabel || {{}};
          a.axisLabel.formatter = function (v) {{
            return v >= 1e-3 && v < 1e4 ? String(v) : v.toExponential(0);
          }};
        }}
      }});
      window.vanishing.fit(option, el.clientWidth);
      var chart = echarts.init(el, null, {{ renderer: "canvas" }});
      chart.setOption(option);
      charts.push(chart);
    }}
    var ids = Object.keys(options);
    function drawVisible() {{
      ids.forEach(function (id) {{
        var el = document.getElementById(id), r = el.getBoundingClientRect();
        if (r.bottom > -400 && r.top < window.innerHeight + 400) {{ draw(el); }}
      }});
    }}
    function drawAll() {{ ids.forEach(function (id) {{ draw(document.getElementById(id)); }}); }}
    if ("IntersectionObserver" in window) {{
      var observer = new IntersectionObserver(function (entries) {{
        entries.forEach(function (e) {{
          if (e.isIntersecting) {{ observer.unobserve(e.target); draw(e.target); }}
        }});
        // How long the first screen took, for the browser test.
        if (!document.body.hasAttribute("data-first-screen-ms")) {{
          document.body.setAttribute("data-first-screen-ms", String(Math.round(performance.now())));
        }}
      }}, {{ rootMargin: "400px 0px" }});
      ids.forEach(function (id) {{ observer.observe(document.getElementById(id)); }});
    }} else {{
      drawAll();
    }}
    window.addEventListener("beforeprint", drawAll);
    // `index.html?walk` scrolls through the whole page a screen at a time, as a reader
    // would, so that a headless browser reaches every chart the way a person does; it
    // marks the body when it reaches the end.
    if (location.search === "?walk") {{
      var walk = function () {{
        var end = document.documentElement.scrollHeight - window.innerHeight;
        if (window.scrollY >= end) {{ document.body.setAttribute("data-walked", "1"); return; }}
        window.scrollBy(0, Math.max(200, window.innerHeight - 100));
        // Headless browsers may not run the observer between scrolls: draw what is now
        // in view directly, by the same test the observer applies.
        drawVisible();
        setTimeout(walk, 10);
      }};
      setTimeout(walk, 10);
    }}
    window.addEventListener("resize", function () {{ charts.forEach(function (c) {{ c.resize(); }}); }});
  }})();
</script>
{scripts}
</body>
</html>
"#,
            title = escape(title),
            front = self.front,
            contents = contents,
            body = self.body,
            version = escape(ECHARTS_VERSION.trim()),
            scripts = self.scripts,
        )
    }
}

const STYLE: &str = r"
body { font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #222; max-width: 1280px; margin: 0 auto; padding: 0 24px 48px; }
h1 { font-size: 28px; margin: 32px 0 8px; }
h2 { font-size: 22px; margin: 40px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 17px; margin: 28px 0 4px; }
p, li { max-width: 900px; }
nav > ul > li > ul { columns: 2; font-size: 14px; }
h2 .part { color: #888; font-weight: normal; }
.grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
.grid.three { grid-template-columns: repeat(3, minmax(0, 1fr)); }
figure { margin: 0; min-width: 0; }
figcaption { color: #555; font-size: 13px; padding: 2px 4px 6px; }
a.anchor { color: #aaa; text-decoration: none; }
.chart { height: 340px; border: 1px solid #eee; border-radius: 4px; }
.chart.wide { height: 420px; }
.chart.tall { height: var(--h, 420px); }
.chart.square { height: 380px; }
.placeholder { height: 380px; border: 1px dashed #ddd; border-radius: 4px; display: flex; align-items: center; justify-content: center; }
.images { display: flex; flex-wrap: wrap; gap: 8px; align-content: flex-start; }
.images figure { margin: 0; text-align: center; font-size: 11px; line-height: 1.2; width: 76px; }
figure.samples { margin: 0; }
.images figcaption { font-size: 11px; padding: 2px 0; color: #333; }
figure.samples figcaption { margin-top: 6px; }
.images svg { display: block; margin: 0 auto; border: 1px solid #ccc; }
table { border-collapse: collapse; margin: 12px 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 4px 10px; text-align: left; }
td.num { text-align: right; white-space: nowrap; }
.note { color: #555; font-size: 14px; }
#script-errors { background: #fee; color: #900; padding: 8px; white-space: pre-wrap; }
footer { margin-top: 48px; color: #777; font-size: 13px; }
table { display: block; max-width: 100%; overflow-x: auto; }
pre, code { overflow-wrap: anywhere; }
.lab { margin: 12px 0; }
.lab button { font: inherit; padding: 4px 10px; margin: 2px; border: 1px solid #bbb; border-radius: 4px; background: #f7f7f7; cursor: pointer; }
.lab button.primary { background: #1f77b4; border-color: #1f77b4; color: #fff; }
.lab button:disabled { opacity: 0.45; cursor: default; }
.lab input:disabled { opacity: 0.45; }
.lab-presets { margin: 8px 0; }
.lab-controls { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 6px 14px; margin: 10px 0; }
.lab-controls label { display: flex; flex-direction: column; font-size: 13px; color: #444; }
.lab-controls label.check { flex-direction: row; align-items: center; gap: 6px; }
.lab-controls input, .lab-controls select { font: inherit; padding: 2px 4px; min-width: 0; }
.lab-file textarea { box-sizing: border-box; width: 100%; font: 13px/1.4 ui-monospace, monospace; }
.lab-problem { background: #fee; color: #900; padding: 8px; white-space: pre-wrap; }
.lab-status { color: #333; margin-left: 8px; }
.lab-charts .wide { grid-column: 1 / -1; }
@media (max-width: 760px) {
  body { padding: 0 10px 32px; font-size: 14px; }
  .grid, .grid.three { grid-template-columns: minmax(0, 1fr); }
  nav > ul > li > ul { columns: 1; }
  h1 { font-size: 23px; }
  .chart, .chart.wide, .chart.square { height: 320px; }
}
";
