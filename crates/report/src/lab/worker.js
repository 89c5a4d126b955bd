// The lab's worker: runs the WebAssembly module (crates/lab) off the page's main
// thread, so that training never freezes the page and the page can stop it at any
// moment by terminating this worker.
//
// Messages, page -> worker:
//   {type: "module", module}        once: the compiled WebAssembly.Module
//   {type: "plan", id, text}        validate an experiment file's text
//   {type: "run", id, text}         validate and train it
// worker -> page (each carries the request's id):
//   the module's own messages (crates/lab/src/wasm.rs): {type: "plan"}, {type: "rows"},
//   {type: "run"}, {type: "panic"}; then {type: "finished"} after a run, or
//   {type: "error", message, line?, column?, key?} when the text is refused.
"use strict";

let instance = null;
let current = 0;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

// Numbers JSON cannot carry arrive as one-key objects (crates/lab/src/json.rs).
function revive(key, value) {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    if ("$f" in value) { return Number(value.$f); }
    if ("$u" in value) { return BigInt(value.$u); }
    if ("$i" in value) { return BigInt(value.$i); }
  }
  return value;
}

function parse(text) {
  // The reviver costs a call per value: use it only when a marker is there.
  return text.indexOf("{\"$") >= 0 ? JSON.parse(text, revive) : JSON.parse(text);
}

function read(ptr, len) {
  return decoder.decode(new Uint8Array(instance.exports.memory.buffer, ptr, len));
}

function write(text) {
  const bytes = encoder.encode(text);
  const ptr = instance.exports.lab_input(bytes.length);
  new Uint8Array(instance.exports.memory.buffer, ptr, bytes.length).set(bytes);
}

function output() {
  return parse(read(instance.exports.lab_output_ptr(), instance.exports.lab_output_len()));
}

function imports() {
  return {
    env: {
      lab_emit: function (ptr, len) {
        const message = parse(read(ptr, len));
        message.id = current;
        self.postMessage(message);
      },
      lab_now: function () { return performance.now(); },
    },
  };
}

self.onmessage = function (event) {
  const request = event.data;
  if (request.type === "module") {
    instance = new WebAssembly.Instance(request.module, imports());
    return;
  }
  current = request.id;
  try {
    write(request.text);
    if (request.type === "plan") {
      const status = instance.exports.lab_plan();
      const answer = output();
      answer.id = request.id;
      self.postMessage(answer);
      return;
    }
    const status = instance.exports.lab_run();
    if (status !== 0) {
      const answer = output();
      answer.id = request.id;
      self.postMessage(answer);
    } else {
      self.postMessage({ type: "finished", id: request.id });
    }
  } catch (e) {
    // A trap (after a panic message) or a failure of the module's memory.
    self.postMessage({ type: "panic", id: request.id, message: String(e && e.message || e) });
    // A trapped instance is in no state to go on: the page starts a new worker.
  }
};
