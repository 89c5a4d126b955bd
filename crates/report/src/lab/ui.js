// The lab's face: controls that write an experiment file, the editor that shows it,
// training started and stopped from buttons, and the charts drawn live from the rows
// the module streams (lab.js). The configuration lives in the URL's fragment
// (`#lab?depth=8&activation=tanh...`, or `#lab?toml=...` for an edited file), so a
// link reopens it.
"use strict";

(function () {
  const lab = window.vanishing.lab;
  const root = document.getElementById("lab-root");
  if (!root) { return; }
  const $ = function (selector) { return root.querySelector(selector); };
  const templates = JSON.parse(document.getElementById("lab-charts").textContent);
  const palette = templates.palette;

  // ---- Controls and the experiment file they describe ------------------------------

  const INITS = {
    normal1: '{ kind = "normal", mean = 0.0, std = 1.0 }',
    glorot_uniform: '"glorot_uniform"',
    glorot_normal: '"glorot_normal"',
    he_normal: '"he_normal"',
    he_uniform: '"he_uniform"',
    lecun_normal: '"lecun_normal"',
    standard: '"standard"',
  };
  const DEFAULTS = {
    data: "circles", n_samples: 1000, noise: 0.1, depth: 4, width: 5,
    activation: "sigmoid", init: "normal1", norm: "none", residual: false,
    optimizer: "rmsprop", learning_rate: 0.001, batch_size: 32, epochs: 100, seed: 0,
    precision: "f32",
  };
  const PRESETS = {
    tutorial: {},
    glorot: { init: "glorot_uniform" },
    relu_he: { activation: "relu", init: "he_normal" },
    batchnorm: { depth: 20, width: 8, init: "glorot_uniform", norm: "batch", optimizer: "adam", epochs: 50 },
    residual: { depth: 20, width: 8, init: "glorot_uniform", residual: true, optimizer: "adam", epochs: 50 },
  };
  const NUMBERS = ["n_samples", "noise", "depth", "width", "learning_rate", "batch_size", "epochs", "seed"];
  const fields = Object.keys(DEFAULTS);

  // A number control's value within its own `min` and `max`, whole where its `step`
  // is 1, and its default when blank or not a number: whatever is typed or linked, the
  // controls describe a network the page can build (the editor takes anything, and the
  // parser answers for it).
  function sanitize(name, value) {
    const el = $("[name=" + name + "]");
    let v = typeof value === "number" ? value : (String(value).trim() === "" ? NaN : Number(value));
    if (!isFinite(v)) { return DEFAULTS[name]; }
    if (el.min !== "") { v = Math.max(v, Number(el.min)); }
    if (el.max !== "") { v = Math.min(v, Number(el.max)); }
    if (el.step === "1") { v = Math.round(v); }
    return v;
  }

  function readControls() {
    const state = {};
    for (const name of fields) {
      const el = $("[name=" + name + "]");
      if (el.type === "checkbox") { state[name] = el.checked; }
      else if (NUMBERS.indexOf(name) >= 0) { state[name] = sanitize(name, el.value); }
      else { state[name] = el.value; }
    }
    return state;
  }

  function writeControls(state) {
    for (const name of fields) {
      const el = $("[name=" + name + "]");
      if (el.type === "checkbox") { el.checked = !!state[name]; } else { el.value = String(state[name]); }
    }
    greyOutUnused(state);
  }

  // A number as TOML writes a float (`1` would be an integer, which a float key refuses).
  function float(v) {
    const text = String(v);
    return /[.eE]|Infinity|NaN/.test(text) ? text : text + ".0";
  }

  function toToml(s) {
    const hidden = [];
    for (let i = 0; i < s.depth; i++) { hidden.push(s.width); }
    const lines = [
      'name = "lab"',
      'description = "' + s.depth + " hidden layers of " + s.width + " " + s.activation + " units, trained in the report's lab\"",
      "seed = " + s.seed,
      "",
      "[data]",
      'kind = "' + s.data + '"',
    ];
    // Only the generators draw a number of samples; only the plane's add noise. The
    // images have several classes, which a softmax output tells apart.
    if (s.data !== "digits") { lines.push("n_samples = " + s.n_samples); }
    const images = s.data === "shapeset" || s.data === "digits";
    if (!images) { lines.push("noise = " + float(s.noise)); }
    lines.push(
      "",
      "[model]",
      "hidden = [" + hidden.join(", ") + "]",
      'activation = "' + s.activation + '"',
      "init = " + (INITS[s.init] || INITS.normal1)
    );
    if (images) { lines.push('output = "softmax"'); }
    if (s.norm !== "none") { lines.push('norm = "' + s.norm + '"'); }
    if (s.residual) { lines.push("residual = true"); }
    lines.push("", "[optimizer]", 'kind = "' + s.optimizer + '"', "learning_rate = " + float(s.learning_rate));
    lines.push("", "[train]", "epochs = " + s.epochs, "batch_size = " + s.batch_size);
    if (s.precision !== "f32") { lines.push('precision = "' + s.precision + '"'); }
    lines.push("", "[record]", 'every = "epoch"', "");
    return lines.join("\n");
  }

  // ---- The URL's fragment ----------------------------------------------------------

  function fragmentState() {
    const hash = location.hash;
    if (hash.indexOf("#lab?") !== 0) { return null; }
    const params = new URLSearchParams(hash.slice(5));
    if (params.has("toml")) { return { toml: params.get("toml") }; }
    const state = Object.assign({}, DEFAULTS);
    for (const name of fields) {
      if (!params.has(name)) { continue; }
      const v = params.get(name);
      state[name] = name === "residual" ? v === "true" : NUMBERS.indexOf(name) >= 0 ? sanitize(name, v) : v;
    }
    return { state: state };
  }

  function saveFragment() {
    const params = new URLSearchParams();
    if (editedByHand) {
      params.set("toml", editor.value);
    } else {
      const state = readControls();
      for (const name of fields) {
        if (state[name] !== DEFAULTS[name]) { params.set(name, String(state[name])); }
      }
    }
    const hash = "#lab?" + params.toString();
    if (location.hash !== hash) { history.replaceState(null, "", hash); }
  }

  // ---- Editor and validation -------------------------------------------------------

  const editor = $("#lab-editor");
  const handEdited = $("#lab-hand-edited");
  const problem = $("#lab-problem");
  const status = $("#lab-status");
  let editedByHand = false;
  let checking = 0;

  function showProblem(error) {
    if (!error) { problem.hidden = true; problem.textContent = ""; return; }
    problem.hidden = false;
    problem.textContent = error.message;
    problem.dataset.line = error.line || "";
    problem.dataset.column = error.column || "";
  }

  function check() {
    const mine = ++checking;
    return lab.plan(editor.value).then(function (plan) {
      // While a run trains, the status is the run's; the editor's answer waits.
      if (mine !== checking || training) { return plan; }
      showProblem(null);
      const runs = plan.runs === 1 ? "1 run" : plan.runs + " runs";
      // The page trains in about three times `estimated_seconds` (the tutorial's run:
      // estimated 25 ms, 72-89 ms in the worker), and every recorded row costs a few
      // microseconds more on its way to the charts.
      const page = plan.estimated_seconds * 3 + plan.estimated_rows * 4e-6;
      status.textContent = "Ready: " + runs + ", about " + seconds(page) + " in this page.";
      return plan;
    }, function (error) {
      if (mine === checking && !training) { showProblem(error); status.textContent = "The file is refused; nothing will train."; }
      throw error;
    });
  }

  function seconds(s) {
    return s < 1 ? Math.max(1, Math.round(s * 1000)) + " ms" : s.toFixed(1) + " s";
  }

  // The file from the controls; `save` puts the configuration in the address (only
  // once the reader has touched the lab: opening the page must not rewrite its link).
  // Controls the chosen data ignore (the digits' count is fixed, images take no noise)
  // are greyed out, so that nobody changes them expecting an effect.
  function greyOutUnused(state) {
    const images = state.data === "shapeset" || state.data === "digits";
    $("[name=n_samples]").disabled = state.data === "digits";
    $("[name=noise]").disabled = images;
  }

  function fromControls(save) {
    editedByHand = false;
    handEdited.hidden = true;
    const state = readControls();
    greyOutUnused(state);
    editor.value = toToml(state);
    if (save !== false) { saveFragment(); }
    check().catch(function () {});
  }

  // ---- Charts ----------------------------------------------------------------------

  const charts = {};
  for (const name of Object.keys(templates.charts)) {
    const el = $("#lab-chart-" + name);
    charts[name] = echarts.init(el, null, { renderer: "canvas" });
  }
  window.addEventListener("resize", function () {
    for (const name in charts) { charts[name].resize(); }
  });

  function option(name, series, extra) {
    const o = JSON.parse(JSON.stringify(templates.charts[name]));
    o.series = series;
    o.animation = false;
    for (const axis of [].concat(o.xAxis || [], o.yAxis || [])) {
      if (axis.type === "log") {
        axis.axisLabel = axis.axisLabel || {};
        axis.axisLabel.formatter = function (v) { return v >= 1e-3 && v < 1e4 ? String(v) : v.toExponential(0); };
      }
    }
    Object.assign(o, extra || {});
    return window.vanishing.fit ? window.vanishing.fit(o, $("#lab-chart-" + name).clientWidth) : o;
  }

  // What the charts show: the training under way, and the runs pinned before it.
  let live = null;
  const pins = [];

  function emptyRun(label) {
    return { label: label, history: [], metrics: [], recursion: null, done: null, diverged: false };
  }

  const finite = function (v) { return typeof v === "number" && isFinite(v); };
  const positive = function (v) { return finite(v) && v > 0; };

  function epochOf(run, step) {
    const perEpoch = run.stepsPerEpoch || 1;
    return step / perEpoch;
  }

  function layersOf(run) {
    let n = 0;
    for (const r of run.history) { if (r.layer > n) { n = r.layer; } }
    return n;
  }

  function lineSeries(name, points, color, style) {
    return Object.assign({
      name: name, type: "line", showSymbol: false, data: points,
      lineStyle: { color: color, width: 2, type: style && style.dashed ? "dashed" : "solid", opacity: style && style.faint ? 0.45 : 1 },
      itemStyle: { color: color },
    }, style && style.extra || {});
  }

  // Series for one run: `faint` for a pinned run drawn under the live one.
  function runSeries(run, faint) {
    const tag = faint ? " (" + run.label + ")" : "";
    const out = { loss: [], accuracy: [], profile: [], gradients: [], saturation: [], updates: [], surface: [] };
    const style = { faint: faint, dashed: faint };
    for (const split of ["train", "test"]) {
      const rows = run.metrics.filter(function (m) { return m.split === split; });
      if (!rows.length) { continue; }
      const color = split === "train" ? palette[0] : palette[1];
      out.loss.push(lineSeries(split + tag, rows.filter(function (m) { return positive(m.loss); }).map(function (m) { return [m.epoch, m.loss]; }), color, style));
      out.accuracy.push(lineSeries(split + tag, rows.filter(function (m) { return finite(m.accuracy); }).map(function (m) { return [m.epoch, m.accuracy]; }), color, style));
    }
    const layers = layersOf(run);
    const byLayer = function (quantity, value) {
      const lines = [];
      for (let layer = 1; layer <= layers; layer++) { lines.push([]); }
      for (const r of run.history) {
        if (r.quantity !== quantity) { continue; }
        const v = value(r);
        if (positive(v) || (quantity === "activation" && finite(v))) { lines[r.layer - 1].push([epochOf(run, r.step), v]); }
      }
      return lines;
    };
    const name = function (layer) { return layer === layers ? "output" : "layer " + layer; };
    byLayer("weight_grad", function (r) { return r.std; }).forEach(function (points, i) {
      out.gradients.push(lineSeries(name(i + 1) + tag, points, palette[i % palette.length], style));
    });
    byLayer("activation", function (r) { return r.saturated_frac; }).forEach(function (points, i) {
      if (points.length && i + 1 < layers) { out.saturation.push(lineSeries(name(i + 1) + tag, points, palette[i % palette.length], style)); }
    });
    const weights = {};
    for (const r of run.history) {
      if (r.quantity === "weight") { weights[r.step + ":" + r.layer] = Math.sqrt(r.mean * r.mean + r.std * r.std); }
    }
    const ratio = byLayer("update", function (r) {
      const w = weights[r.step + ":" + r.layer];
      return w > 0 ? Math.sqrt(r.mean * r.mean + r.std * r.std) / w : NaN;
    });
    ratio.forEach(function (points, i) {
      out.updates.push(lineSeries(name(i + 1) + tag, points, palette[i % palette.length], style));
    });
    // The gradient's flow: spread per layer at the first record and at the latest.
    const steps = run.history.map(function (r) { return r.step; });
    if (steps.length) {
      // A loop, not Math.min.apply: a long run records more steps than a call takes
      // arguments.
      let first = Infinity, last = -Infinity;
      for (const step of steps) { if (step < first) { first = step; } if (step > last) { last = step; } }
      const at = function (step, quantity) {
        const values = [];
        for (let layer = 1; layer <= layers; layer++) { values.push(null); }
        for (const r of run.history) {
          if (r.step === step && r.quantity === quantity && positive(r.std)) { values[r.layer - 1] = r.std; }
        }
        return values;
      };
      const cats = function (values) { return values.map(function (v, i) { return [name(i + 1), v]; }).filter(function (p) { return p[1] !== null; }); };
      const flow = [
        ["dC/ds at initialization", at(first, "preact_grad"), palette[0], true],
        ["dC/ds now", at(last, "preact_grad"), palette[0], false],
        ["dLoss/dW at initialization", at(first, "weight_grad"), palette[3], true],
        ["dLoss/dW now", at(last, "weight_grad"), palette[3], false],
      ];
      for (const f of flow) {
        out.profile.push(lineSeries(f[0] + tag, cats(f[1]), f[2], { faint: faint, dashed: f[3], extra: { showSymbol: true, symbolSize: 5 } }));
      }
      // Glorot & Bengio's recursion, from the output layer's measured spread down.
      if (run.recursion && run.recursion.length) {
        const top = at(first, "preact_grad");
        const predicted = top.slice();
        for (let l = layers - 1; l >= 1; l--) {
          const step = run.recursion.find(function (s) { return s.layer === l; });
          predicted[l - 1] = step && finite(step.theory) && predicted[l] !== null ? predicted[l] * step.theory : null;
        }
        out.profile.push(lineSeries("dC/ds predicted at initialization" + tag, cats(predicted), palette[2], { faint: faint, dashed: true, extra: { symbol: "diamond", showSymbol: true, symbolSize: 7, lineStyle: { type: "dotted", color: palette[2], width: 2 } } }));
      }
    }
    if (run.done && !faint) {
      out.surface = surfaceSeries(run.done.boundary, run.done.dataset);
    }
    return out;
  }

  // Redraws are coalesced: at most one per animation frame and one every 200 ms
  // (counted from the start of a training too), so that a run's epochs cost a few
  // redraws a second, not one each: redrawing seven charts takes the page's main thread
  // about as long as a few epochs of the tutorial's network, and on a machine of two
  // cores it competes with the worker.
  // The decision surface as the static report draws it (crates/report/src/charts.rs,
  // `decision_surface`, whose frame this fills in): cells on a pair of hidden category
  // axes, one category per grid column and row, and the points on value axes whose
  // ends lie half a cell beyond the grid's, so that both pairs line up.
  function surfaceSeries(grid, dataset) {
    if (!grid.length) { return null; }
    const unique = function (values) {
      return Array.from(new Set(values)).sort(function (a, b) { return a - b; });
    };
    const xs = unique(grid.map(function (g) { return g.x0; }));
    const ys = unique(grid.map(function (g) { return g.x1; }));
    const ends = function (v) {
      const half = v.length > 1 ? (v[v.length - 1] - v[0]) / (v.length - 1) / 2 : 0.5;
      return [v[0] - half, v[v.length - 1] + half];
    };
    const frame = templates.charts.surface;
    const series = JSON.parse(JSON.stringify(frame.series));
    const xIndex = new Map(xs.map(function (v, i) { return [v, i]; }));
    const yIndex = new Map(ys.map(function (v, i) { return [v, i]; }));
    series[0].data = grid.map(function (g) { return [xIndex.get(g.x0), yIndex.get(g.x1), g.probability]; });
    for (let s = 1; s < series.length; s++) {
      const label = s - 1;
      series[s].data = dataset.filter(function (p) { return p.label === label && p.split === "train"; })
        .map(function (p) { return [p.x0, p.x1]; });
    }
    const xAxis = JSON.parse(JSON.stringify(frame.xAxis));
    const yAxis = JSON.parse(JSON.stringify(frame.yAxis));
    xAxis[0].data = xs.map(String);
    yAxis[0].data = ys.map(String);
    const [xLo, xHi] = ends(xs), [yLo, yHi] = ends(ys);
    Object.assign(xAxis[1], { min: xLo, max: xHi });
    Object.assign(yAxis[1], { min: yLo, max: yHi });
    return { series: series, xAxis: xAxis, yAxis: yAxis };
  }

  let dirty = false;
  let lastDraw = 0;
  function redraw() {
    dirty = false;
    lastDraw = performance.now();
    const shown = pins.map(function (p) { return runSeries(p, true); });
    if (live) { shown.push(runSeries(live, false)); }
    for (const name of Object.keys(charts)) {
      if (name === "surface") {
        const surface = live && live.done ? runSeries(live, false).surface : null;
        charts.surface.setOption(surface ? option("surface", surface.series, { xAxis: surface.xAxis, yAxis: surface.yAxis }) : option("surface", []), { notMerge: true });
        continue;
      }
      let series = [];
      for (const s of shown) { series = series.concat(s[name]); }
      charts[name].setOption(option(name, series), { notMerge: true });
    }
  }
  function scheduleRedraw() {
    if (dirty) { return; }
    dirty = true;
    const wait = Math.max(0, 200 - (performance.now() - lastDraw));
    setTimeout(function () { requestAnimationFrame(redraw); }, wait);
  }

  // ---- Training --------------------------------------------------------------------

  let training = null;
  const trainButton = $("#lab-train"), stopButton = $("#lab-stop"), pinButton = $("#lab-pin");

  function label() {
    const s = readControls();
    return editedByHand ? "edited file" : s.depth + "x" + s.width + " " + s.activation + ", " + s.init.replace("normal1", "N(0,1)") + (s.norm !== "none" ? ", " + s.norm + " norm" : "") + (s.residual ? ", residual" : "") + ", " + s.optimizer;
  }

  function train() {
    if (training) { training.stop(); }
    showProblem(null);
    const run = emptyRun(label());
    live = run;
    lastDraw = performance.now();
    let total = 0;
    const started = performance.now();
    trainButton.disabled = true; stopButton.disabled = false; pinButton.disabled = true;
    root.dataset.state = "training";
    const current = lab.start(editor.value, function (message) {
      if (message.type === "plan") {
        total = message.runs;
        status.textContent = "Training " + (total === 1 ? "1 run" : total + " runs") + "…";
      } else if (message.type === "rows" && message.run === 0) {
        for (const r of message.history) { run.history.push(r); }
        for (const m of message.metrics) { run.metrics.push(m); }
        if (message.recursion) { run.recursion = message.recursion; }
        const last = run.metrics[run.metrics.length - 1];
        if (last) {
          if (last.epoch > 0 && !run.stepsPerEpoch) { run.stepsPerEpoch = last.step / last.epoch; }
          status.textContent = "Training: epoch " + last.epoch + ", loss " + (finite(last.loss) ? last.loss.toPrecision(3) : "not a number") + ", accuracy " + last.accuracy.toFixed(3) + ".";
        }
        scheduleRedraw();
      } else if (message.type === "run" && message.run === 0) {
        run.done = message;
        run.diverged = message.runs[0].diverged;
        scheduleRedraw();
      }
    });
    training = current;
    // A training that a newer one replaced (Train clicked again) ends quietly: the
    // page's state is the newer one's.
    current.done.then(function () {
      if (training !== current) { return; }
      const row = run.done && run.done.runs[0];
      const ms = Math.round(performance.now() - started);
      if (row && row.diverged) {
        status.textContent = "Diverged after " + row.steps + " steps: the loss or a weight became infinite or not a number. The charts stop there.";
        root.dataset.state = "diverged";
      } else {
        status.textContent = "Done in " + ms + " ms: final loss " + (row ? row.final_loss.toPrecision(3) : "?") + ", accuracy " + (row ? row.final_accuracy.toFixed(3) : "?") + (total > 1 ? " (first of " + total + " runs)" : "") + ".";
        root.dataset.state = "done";
      }
      root.dataset.ms = String(ms);
      // The module's own time for the run (training and recording, in the worker).
      if (row) { root.dataset.trainMs = String(row.wall_ms); }
    }, function (error) {
      if (training !== current) { return; }
      if (error.name === "AbortError") {
        status.textContent = "Stopped.";
        root.dataset.state = "stopped";
      } else if (error.name === "LabPanic") {
        // Never bad input: a defect of the lab itself, which the page says plainly.
        showProblem(error);
        status.textContent = "The lab failed (a bug, not your file); please report the message above.";
        root.dataset.state = "failed";
      } else {
        showProblem(error);
        status.textContent = "Refused; nothing trained.";
        root.dataset.state = "refused";
        if (live === run) { live = null; }
      }
    }).then(function () {
      if (training !== current) { return; }
      training = null;
      trainButton.disabled = false; stopButton.disabled = true; pinButton.disabled = !live || !live.history.length;
      // The final state is drawn at once, whatever the redraw pace.
      redraw();
    });
  }

  function stop() {
    if (training) { training.stop(); }
  }

  function pin() {
    if (live && live.history.length && pins.indexOf(live) < 0) {
      pins.push(live);
      if (pins.length > 4) { pins.shift(); }
      $("#lab-pins").textContent = "Pinned: " + pins.map(function (p) { return p.label; }).join("; ");
      $("#lab-unpin").disabled = false;
      live = null;
      pinButton.disabled = true;
      scheduleRedraw();
    }
  }

  function unpin() {
    pins.length = 0;
    $("#lab-pins").textContent = "";
    $("#lab-unpin").disabled = true;
    scheduleRedraw();
  }

  // ---- Wiring ----------------------------------------------------------------------

  root.querySelectorAll("[data-preset]").forEach(function (button) {
    button.addEventListener("click", function () {
      writeControls(Object.assign({}, DEFAULTS, PRESETS[button.dataset.preset]));
      fromControls();
    });
  });
  for (const name of fields) {
    const el = $("[name=" + name + "]");
    el.addEventListener("change", function () {
      // The control shows the value the file uses once the reader is done typing.
      if (el.type === "number") { el.value = String(sanitize(name, el.value)); }
      fromControls();
    });
    if (el.type === "number") { el.addEventListener("input", fromControls); }
  }
  editor.addEventListener("input", function () {
    editedByHand = true;
    handEdited.hidden = false;
    saveFragment();
    check().catch(function () {});
  });
  $("#lab-copy").addEventListener("click", function () {
    const done = function () { $("#lab-copy").textContent = "Copied"; setTimeout(function () { $("#lab-copy").textContent = "Copy"; }, 1500); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(editor.value).then(done, function () { editor.select(); document.execCommand("copy"); done(); });
    } else { editor.select(); document.execCommand("copy"); done(); }
  });
  trainButton.addEventListener("click", train);
  stopButton.addEventListener("click", stop);
  pinButton.addEventListener("click", pin);
  $("#lab-unpin").addEventListener("click", unpin);

  function load() {
    const saved = fragmentState();
    if (saved && saved.toml !== undefined) {
      editedByHand = true;
      handEdited.hidden = false;
      editor.value = saved.toml;
      check().catch(function () {});
    } else {
      writeControls(saved ? saved.state : DEFAULTS);
      fromControls(false);
    }
    if (saved) { document.getElementById("lab").scrollIntoView(); }
    redraw();
  }
  window.addEventListener("hashchange", function () { if (location.hash.indexOf("#lab?") === 0) { load(); } });
  load();
})();
