// The lab's scriptable entry point: `window.vanishing.lab`. It compiles the embedded
// WebAssembly module once and runs it in Web Workers (worker.js), one per training, so
// that the page never freezes and a training can be stopped by terminating its worker.
//
//   await vanishing.lab.run(text)   -> {plan, runs, metrics, history, histograms,
//                                       dataset, boundary}: arrays of rows keyed by the
//                                       Parquet tables' column names, the rows
//                                       `vanishing run` writes for that file (wall_ms
//                                       aside); rejects with the parser's message
//                                       (error.line, error.column, error.key) on bad input
//   await vanishing.lab.plan(text)  -> what the text would train, or the same rejection
//   vanishing.lab.start(text, onMessage) -> a Training: {done (a promise), stop()}
"use strict";

(function () {
  const moduleText = document.getElementById("lab-module").textContent.trim();
  const workerText = document.getElementById("lab-worker").textContent;
  const workerUrl = URL.createObjectURL(new Blob([workerText], { type: "text/javascript" }));
  let compiled = null;
  let nextId = 1;

  function module() {
    if (!compiled) {
      const binary = atob(moduleText);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
      compiled = WebAssembly.compile(bytes);
    }
    return compiled;
  }

  async function newWorker() {
    const worker = new Worker(workerUrl);
    worker.postMessage({ type: "module", module: await module() });
    return worker;
  }

  // The parser's refusal as an Error carrying its position.
  function refusal(message) {
    const error = new Error(message.message);
    error.name = message.type === "panic" ? "LabPanic" : "LabError";
    if (message.line !== undefined) { error.line = message.line; error.column = message.column; }
    if (message.key !== undefined) { error.key = message.key; }
    return error;
  }

  // Starts training `text` in a worker of its own; `onMessage` sees every message of
  // the module as it comes. `stop()` ends it at once.
  function start(text, onMessage) {
    const id = nextId++;
    let worker = null;
    let stopped = false;
    let settle = null;
    const done = new Promise(function (resolve, reject) { settle = { resolve: resolve, reject: reject }; });
    newWorker().then(function (w) {
      if (stopped) { w.terminate(); return; }
      worker = w;
      worker.onmessage = function (event) {
        const message = event.data;
        if (message.id !== id || stopped) { return; }
        if (message.type === "error" || message.type === "panic") {
          worker.terminate();
          settle.reject(refusal(message));
          return;
        }
        if (message.type === "finished") {
          worker.terminate();
          settle.resolve();
          return;
        }
        if (onMessage) { onMessage(message); }
      };
      worker.onerror = function (e) {
        worker.terminate();
        settle.reject(new Error("the lab's worker failed: " + (e.message || e)));
      };
      worker.postMessage({ type: "run", id: id, text: text });
    }, function (e) { settle.reject(e); });
    return {
      done: done,
      stop: function () {
        stopped = true;
        if (worker) { worker.terminate(); }
        const error = new Error("stopped");
        error.name = "AbortError";
        settle.reject(error);
      },
    };
  }

  // Gathers a training's messages into whole tables.
  function collector() {
    const tables = { plan: null, runs: [], metrics: [], history: [], histograms: [], dataset: [], boundary: [] };
    // Rows arrive per run, interleaved between runs trained side by side; each table
    // keeps the command line's order: run by run, in the order of the file.
    const perRun = [];
    function of(run) {
      if (!perRun[run]) { perRun[run] = { history: [], metrics: [] }; }
      return perRun[run];
    }
    return {
      add: function (message) {
        if (message.type === "plan") { tables.plan = message; }
        if (message.type === "rows") {
          const r = of(message.run);
          for (const row of message.history) { r.history.push(row); }
          for (const row of message.metrics) { r.metrics.push(row); }
        }
        if (message.type === "run") {
          of(message.run).done = message;
        }
      },
      tables: function () {
        perRun.forEach(function (r) {
          for (const row of r.history) { tables.history.push(row); }
          for (const row of r.metrics) { tables.metrics.push(row); }
          if (r.done) {
            for (const name of ["runs", "histograms", "dataset", "boundary"]) {
              for (const row of r.done[name]) { tables[name].push(row); }
            }
          }
        });
        return tables;
      },
    };
  }

  async function run(text) {
    const rows = collector();
    await start(text, rows.add).done;
    return rows.tables();
  }

  // One worker answers every check, in order. If it fails (a trap, which is a bug and
  // never bad input, or a module that cannot start), every pending check is answered
  // with the failure and the next check starts a fresh worker.
  let planner = null;
  const pending = new Map();
  function failPlanner(error) {
    if (planner) { planner.then(function (w) { w.terminate(); }, function () {}); }
    planner = null;
    pending.forEach(function (p) { p.reject(error); });
    pending.clear();
  }
  function plan(text) {
    const id = nextId++;
    if (!planner) {
      planner = newWorker().then(function (worker) {
        worker.onmessage = function (event) {
          const answer = event.data;
          const p = pending.get(answer.id);
          if (answer.type === "panic") { failPlanner(refusal(answer)); return; }
          if (!p) { return; }
          pending.delete(answer.id);
          if (answer.type === "plan") { p.resolve(answer); } else { p.reject(refusal(answer)); }
        };
        worker.onerror = function (e) { failPlanner(new Error("the lab's worker failed: " + (e.message || e))); };
        return worker;
      });
    }
    return new Promise(function (resolve, reject) {
      pending.set(id, { resolve: resolve, reject: reject });
      planner.then(function (worker) {
        worker.postMessage({ type: "plan", id: id, text: text });
      }, function (e) { failPlanner(e); });
    });
  }

  window.vanishing = window.vanishing || {};
  window.vanishing.lab = { run: run, plan: plan, start: start };
})();
