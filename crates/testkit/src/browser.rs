//! A small Chrome DevTools Protocol client that drives headless Chromium, so that the
//! end-to-end tests can use the report as a person would: load it from a `file://` URL,
//! click, type, narrow the window to a phone's width, run scripts and await their
//! promises, and see every error the page raised.
//!
//! [`Browser::launch`] starts Chromium in a fresh temporary profile with
//! `--remote-debugging-port=0`, reads the `DevTools listening on ws://127.0.0.1:PORT/...`
//! line from its standard error, and when dropped closes Chromium (killing it if it does
//! not close within 5 s) and removes the profile. [`Browser::page`] connects a [`Page`] to
//! the tab Chromium opened; every [`Page`] method answers within a timeout (30 s unless
//! [`Page::set_timeout`] says otherwise), so a page that never settles fails its test
//! rather than hanging it. [`browser_or_skip`] holds the workspace's convention for
//! machines without Chromium. Headless Chromium's window size is its own choice, so a
//! test that depends on layout sets it with [`Page::set_viewport`].
//!
//! ```no_run
//! use std::time::Duration;
//! use vanishing_testkit::browser::browser_or_skip;
//!
//! let Some(browser) = browser_or_skip("the_lab_runs") else { return };
//! let mut page = browser.page().unwrap();
//! page.set_viewport(360, 640).unwrap();
//! page.goto("file:///path/to/reports/index.html#lab").unwrap();
//! page.wait_for("window.vanishing?.lab", Duration::from_secs(10)).unwrap();
//! page.set_value("#lab-input", "sigmoid, 10 layers").unwrap();
//! page.click("#lab-run").unwrap();
//! let answer = page.eval("window.vanishing.lab.run('tanh')").unwrap();
//! assert!(answer["ratio"].is_number());
//! assert_eq!(page.eval("document.documentElement.scrollWidth").unwrap(), 360);
//! assert_eq!(page.errors().unwrap(), Vec::<String>::new());
//! ```
//!
//! # The protocol subset used
//!
//! Only loopback addresses are contacted. Over HTTP, `GET /json/list` names the first tab's
//! WebSocket and `PUT /json/new?about:blank` opens another. Over a tab's WebSocket go JSON
//! commands `{"id", "method", "params"}`, answered by `{"id", "result"}` or
//! `{"id", "error"}`, between which events `{"method", "params"}` arrive:
//!
//! - `Page.enable`, `Page.navigate`, `Page.reload`, the event `Page.loadEventFired`
//!   (navigation waits for it), and `Page.captureScreenshot`;
//! - `Runtime.enable`, `Runtime.evaluate` (with `awaitPromise` and `returnByValue`), and
//!   the events `Runtime.consoleAPICalled`, `Runtime.exceptionThrown` and
//!   `Runtime.exceptionRevoked` (a rejection handled late is no longer an error);
//! - `Log.enable` and the event `Log.entryAdded`: failed loads, and the console errors,
//!   uncaught exceptions and unhandled rejections of the page's Web Workers (source
//!   `worker`), which the page's `Runtime` events do not include;
//! - `Emulation.setDeviceMetricsOverride` for the viewport and `Input.dispatchMouseEvent`
//!   for clicks;
//! - `Browser.close` on the browser's own WebSocket, to shut Chromium down cleanly.

use std::fmt;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

/// How long any one call may take unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How often [`Page::wait_for`] evaluates its condition.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Chromium's own flags. Without the networking, update and sync ones, headless Chromium
/// on a machine without internet access stalls on requests that never return.
const FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--remote-debugging-port=0",
];

/// What went wrong while driving the browser, as a message for a failing test.
pub struct Error(String);

impl Error {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// Prefixes the message with what was being done.
    fn context(self, doing: &str) -> Self {
        Self(format!("{doing}: {}", self.0))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// The message itself rather than `Error("...")`, because `unwrap` prints this.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// The result of every fallible call in this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A Chromium to drive: `VANISHING_CHROMIUM`, or the first of the usual names on `PATH`.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("VANISHING_CHROMIUM") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome"].map(|name| dir.join(name))
        })
        .find(|candidate| candidate.is_file())
}

/// Launches Chromium for the test named `test`, or returns `None` after saying loudly on
/// standard error that the test is skipped because no Chromium was found.
///
/// # Panics
///
/// When `VANISHING_REQUIRE_BROWSER=1` (as CI sets) and no Chromium is found, and when a
/// Chromium that was found fails to start: a missing browser may skip a test, a broken
/// one must fail it.
#[allow(clippy::print_stderr)] // A skipped browser test must be visible.
pub fn browser_or_skip(test: &str) -> Option<Browser> {
    let Some(chromium) = find_chromium() else {
        assert!(
            std::env::var("VANISHING_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "VANISHING_REQUIRE_BROWSER=1 but no Chromium was found (install Debian's `chromium`)"
        );
        eprintln!("\n*** SKIPPED {test}: no Chromium on PATH ***\n");
        return None;
    };
    match Browser::launch(&chromium) {
        Ok(browser) => Some(browser),
        Err(error) => panic!("{test}: {error}"),
    }
}

/// A headless Chromium process with its own temporary profile; dropping it shuts the
/// process down and removes the profile.
///
/// [`Page`]s do not borrow their browser, so that a test helper can return both; a page
/// whose browser is gone answers every call with an error.
pub struct Browser {
    child: Child,
    /// The port of the DevTools HTTP and WebSocket endpoints on 127.0.0.1.
    port: u16,
    /// The browser target's WebSocket, used to close Chromium cleanly.
    browser_url: String,
    /// Everything Chromium wrote to standard error, for error messages.
    stderr: Arc<Mutex<String>>,
    /// Declared last so that it is removed after the process is gone.
    profile: tempfile::TempDir,
}

impl fmt::Debug for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Browser")
            .field("pid", &self.child.id())
            .field("port", &self.port)
            .field("profile", &self.profile.path())
            .finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts the Chromium at `chromium` and waits for its DevTools endpoint.
    pub fn launch(chromium: &Path) -> Result<Self> {
        let profile = tempfile::Builder::new()
            .prefix("vanishing-chromium-")
            .tempdir()
            .map_err(|e| Error::new(format!("cannot make a profile folder: {e}")))?;
        let mut child = Command::new(chromium)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::new(format!("cannot start {}: {e}", chromium.display())))?;

        // A thread keeps reading standard error for the life of the process: Chromium
        // would block once the pipe's buffer filled up.
        let pipe = child.stderr.take().expect("standard error is piped");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (announce, announced) = mpsc::channel();
        let log = Arc::clone(&stderr);
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = announce.send(url.trim().to_owned());
                }
                let mut log = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                // A bound, so that a chatty browser cannot fill the memory of a long test.
                if log.len() < 1 << 20 {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });

        // From here on, dropping `browser` on an error kills the process.
        let mut browser = Self {
            child,
            port: 0,
            browser_url: String::new(),
            stderr,
            profile,
        };
        let url = announced.recv_timeout(DEFAULT_TIMEOUT).map_err(|_| {
            let status = match browser.child.try_wait() {
                Ok(Some(status)) => format!("exited ({status})"),
                _ => format!("did not announce its DevTools endpoint within {DEFAULT_TIMEOUT:?}"),
            };
            Error::new(format!(
                "{} {status}; it said:\n{}",
                chromium.display(),
                browser.stderr_text()
            ))
        })?;
        browser.port = loopback_port(&url)?;
        browser.browser_url = url;
        Ok(browser)
    }

    /// Connects to the tab Chromium opened at launch (on `about:blank`).
    ///
    /// Each call makes a new connection to that same tab; use [`Browser::new_page`] for
    /// tabs of their own.
    pub fn page(&self) -> Result<Page> {
        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        // The first tab can be listed a moment after the endpoint is announced.
        let url = loop {
            let targets = http_json(self.port, "GET", "/json/list", deadline)?;
            let page = targets.as_array().and_then(|targets| {
                targets
                    .iter()
                    .find(|target| target["type"] == "page")
                    .and_then(|target| target["webSocketDebuggerUrl"].as_str())
            });
            if let Some(url) = page {
                break url.to_owned();
            }
            if Instant::now() >= deadline {
                return Err(Error::new(format!(
                    "Chromium listed no tab within {DEFAULT_TIMEOUT:?}: {targets}"
                )));
            }
            thread::sleep(POLL_INTERVAL);
        };
        Page::connect(&url)
    }

    /// Opens a new tab on `about:blank` and connects to it.
    pub fn new_page(&self) -> Result<Page> {
        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        let target = http_json(self.port, "PUT", "/json/new?about:blank", deadline)?;
        let url = target["webSocketDebuggerUrl"]
            .as_str()
            .ok_or_else(|| Error::new(format!("the new tab has no WebSocket: {target}")))?;
        Page::connect(url)
    }

    /// What Chromium has written to standard error so far.
    pub fn stderr_text(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Asks Chromium to close through the protocol, which also ends its helper processes
    /// and lets it finish writing the profile before the folder is removed.
    fn close(&mut self) -> Result<()> {
        if self.browser_url.is_empty() {
            return Err(Error::new("no DevTools endpoint"));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut socket = connect_socket(&self.browser_url, deadline)?;
        let command = json!({"id": 1, "method": "Browser.close"}).to_string();
        socket
            .send(Message::text(command))
            .map_err(|e| Error::new(e.to_string()))?;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ok(());
            }
            thread::sleep(POLL_INTERVAL);
        }
        Err(Error::new("Chromium did not close"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.close().is_err() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// One tab, driven through its own WebSocket connection.
pub struct Page {
    socket: WebSocket<TcpStream>,
    next_id: u64,
    timeout: Duration,
    /// Errors seen so far, with the protocol's exception id where there is one, so that
    /// a revoked exception (a rejection handled late) can be taken back.
    errors: Vec<(Option<i64>, String)>,
    /// How many `load` events the page has fired; navigation waits for the next one.
    loads: u64,
    /// Why the connection is unusable, once it is.
    broken: Option<String>,
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Page")
            .field("timeout", &self.timeout)
            .field("errors", &self.errors.len())
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl Page {
    fn connect(url: &str) -> Result<Self> {
        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        let socket = connect_socket(url, deadline)?;
        let mut page = Self {
            socket,
            next_id: 0,
            timeout: DEFAULT_TIMEOUT,
            errors: Vec::new(),
            loads: 0,
            broken: None,
        };
        for method in ["Page.enable", "Runtime.enable", "Log.enable"] {
            page.call_until(method, json!({}), deadline)?;
        }
        Ok(page)
    }

    /// Sets how long each later call may take (30 s to begin with).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Navigates to `url` and waits for its `load` event. A URL that differs from the
    /// current one only in its fragment stays in the same document (firing `hashchange`
    /// rather than `load`), and returns once the navigation is committed.
    pub fn goto(&mut self, url: &str) -> Result<()> {
        let deadline = Instant::now() + self.timeout;
        let loads = self.loads;
        let result = self
            .call_until("Page.navigate", json!({"url": url}), deadline)
            .map_err(|e| e.context(&format!("opening {url}")))?;
        if let Some(error) = result["errorText"].as_str().filter(|e| !e.is_empty()) {
            return Err(Error::new(format!("opening {url}: {error}")));
        }
        // The protocol leaves the loader out for a navigation within the same document.
        if result.get("loaderId").is_none() {
            return Ok(());
        }
        self.wait_for_load(loads, deadline)
            .map_err(|e| e.context(&format!("opening {url}")))
    }

    /// Reloads the page and waits for its `load` event.
    pub fn reload(&mut self) -> Result<()> {
        let deadline = Instant::now() + self.timeout;
        let loads = self.loads;
        self.call_until("Page.reload", json!({}), deadline)?;
        self.wait_for_load(loads, deadline)
            .map_err(|e| e.context("reloading"))
    }

    /// Evaluates the JavaScript expression `js` in the page, awaits it if it is a promise,
    /// and returns its value as JSON (`undefined` as `null`). A thrown exception or a
    /// rejected promise is an error with its message.
    ///
    /// `js` is a script whose last expression is the value; `await` needs an async
    /// function, as in `(async () => { await f(); return g(); })()`.
    pub fn eval(&mut self, js: &str) -> Result<Value> {
        let deadline = Instant::now() + self.timeout;
        self.eval_until(js, deadline)
    }

    /// [`Page::eval`] with a timeout of its own, for scripts that take long.
    pub fn eval_with_timeout(&mut self, js: &str, timeout: Duration) -> Result<Value> {
        self.eval_until(js, Instant::now() + timeout)
    }

    fn eval_until(&mut self, js: &str, deadline: Instant) -> Result<Value> {
        let params = json!({
            "expression": js,
            "awaitPromise": true,
            "returnByValue": true,
            // As if a person had acted, which some browser features require.
            "userGesture": true,
        });
        let doing = || format!("evaluating `{}`", abbreviate(js));
        let mut result = self
            .call_until("Runtime.evaluate", params, deadline)
            .map_err(|e| e.context(&doing()))?;
        if let Some(details) = result.get("exceptionDetails") {
            return Err(Error::new(format!(
                "{}: {}",
                doing(),
                describe_exception(details)
            )));
        }
        Ok(result["result"]["value"].take())
    }

    /// Waits until the JavaScript expression `condition` is truthy (a promise is
    /// awaited), evaluating it every 50 ms for at most `timeout`. A condition that throws
    /// counts as false (its element may not exist yet), except for a syntax error; the
    /// timeout's error names the last exception.
    pub fn wait_for(&mut self, condition: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let check = format!("(async () => !!(await ({condition})))()");
        let mut last_error = String::new();
        loop {
            match self.eval_until(&check, deadline) {
                Ok(Value::Bool(true)) => return Ok(()),
                Ok(_) => {}
                Err(error) => {
                    if self.broken.is_some() || error.0.contains("SyntaxError") {
                        return Err(error);
                    }
                    last_error = format!(" (last: {error})");
                }
            }
            if Instant::now() + POLL_INTERVAL >= deadline {
                return Err(Error::new(format!(
                    "`{}` was not true within {timeout:?}{last_error}",
                    abbreviate(condition)
                )));
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Clicks the first element matching the CSS `selector` as a mouse would: scrolls it
    /// into view, and presses and releases the left button at its centre. An element
    /// that is missing, disabled, of no size or covered by another one is an error
    /// rather than a click that silently does nothing.
    pub fn click(&mut self, selector: &str) -> Result<()> {
        let deadline = Instant::now() + self.timeout;
        let doing = || format!("clicking `{selector}`");
        let locate = format!(
            r#"(() => {{
  const el = document.querySelector({selector});
  if (!el) return {{ error: "no element matches" }};
  if (el.disabled) return {{ error: "the element is disabled" }};
  el.scrollIntoView({{ block: "center", inline: "center" }});
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return {{ error: "the element has no size" }};
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const hit = document.elementFromPoint(x, y);
  if (!hit || !el.contains(hit)) {{
    const what = hit ? hit.outerHTML.slice(0, 120) : "nothing (outside the viewport)";
    return {{ error: "its centre is covered by " + what }};
  }}
  return {{ x, y }};
}})()"#,
            selector = Value::from(selector)
        );
        let point = self
            .eval_until(&locate, deadline)
            .map_err(|e| e.context(&doing()))?;
        if let Some(error) = point["error"].as_str() {
            return Err(Error::new(format!("{}: {error}", doing())));
        }
        let (x, y) = (&point["x"], &point["y"]);
        for (kind, buttons) in [("mouseMoved", 0), ("mousePressed", 1), ("mouseReleased", 0)] {
            let event = json!({
                "type": kind,
                "x": x,
                "y": y,
                "button": if kind == "mouseMoved" { "none" } else { "left" },
                "buttons": buttons,
                "clickCount": if kind == "mouseMoved" { 0 } else { 1 },
            });
            self.call_until("Input.dispatchMouseEvent", event, deadline)
                .map_err(|e| e.context(&doing()))?;
        }
        Ok(())
    }

    /// Focuses the first element matching the CSS `selector` (an input, a text area or a
    /// select), sets its value to `text`, and dispatches `input` and `change` events, as
    /// the page would see a person's edit.
    pub fn set_value(&mut self, selector: &str, text: &str) -> Result<()> {
        let script = format!(
            r#"(() => {{
  const el = document.querySelector({selector});
  if (!el) throw new Error("no element matches");
  if (!("value" in el)) throw new Error("the element has no value");
  el.focus();
  el.value = {text};
  el.dispatchEvent(new Event("input", {{ bubbles: true }}));
  el.dispatchEvent(new Event("change", {{ bubbles: true }}));
}})()"#,
            selector = Value::from(selector),
            text = Value::from(text)
        );
        self.eval(&script)
            .map(drop)
            .map_err(|e| Error::new(format!("setting the value of `{selector}`: {e}")))
    }

    /// Makes the viewport `width` by `height` CSS pixels (a desktop viewport: `mobile` is
    /// false, one device pixel per CSS pixel), and waits until the page sees the width.
    pub fn set_viewport(&mut self, width: u32, height: u32) -> Result<()> {
        let params = json!({
            "width": width,
            "height": height,
            "deviceScaleFactor": 1,
            "mobile": false,
        });
        self.call("Emulation.setDeviceMetricsOverride", params)?;
        // The renderer applies the new size asynchronously.
        self.wait_for(&format!("window.innerWidth === {width}"), self.timeout)
            .map_err(|e| e.context(&format!("resizing to {width}x{height}")))
    }

    /// Makes this tab the one in front. A tab behind another is hidden to the page:
    /// its animation frames stop and its timers slow down, as in a desktop browser, so a
    /// test that opened another tab brings this one back before driving it.
    pub fn bring_to_front(&mut self) -> Result<()> {
        self.call("Page.bringToFront", json!({}))
            .map_err(|e| e.context("bringing the tab to the front"))?;
        Ok(())
    }

    /// Every error the page raised since it was connected (or since
    /// [`Page::clear_errors`]): uncaught exceptions and unhandled promise rejections,
    /// `console.error` and failed `console.assert` calls, in the page and in its workers,
    /// and browser log entries of level error (such as a file that failed to load).
    ///
    /// The events that arrived before this call are read first. A worker's errors are
    /// reported as the browser's log entries, with the first line of the message (no
    /// stack); they may still be on their way: wait for the worker's effect before asking.
    pub fn errors(&mut self) -> Result<Vec<String>> {
        // The answer to a command comes after every event the page sent before it.
        self.call("Runtime.evaluate", json!({"expression": "0"}))
            .map_err(|e| e.context("collecting errors"))?;
        Ok(self.errors.iter().map(|(_, text)| text.clone()).collect())
    }

    /// Forgets the errors collected so far, such as deliberate ones a test provoked.
    pub fn clear_errors(&mut self) {
        self.errors.clear();
    }

    /// Saves a PNG screenshot of the viewport to `path`.
    pub fn screenshot(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let result = self.call("Page.captureScreenshot", json!({"format": "png"}))?;
        let data = result["data"]
            .as_str()
            .ok_or_else(|| Error::new(format!("the screenshot has no data: {result}")))?;
        let png = base64_decode(data)?;
        std::fs::write(path, png)
            .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))
    }

    fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let deadline = Instant::now() + self.timeout;
        self.call_until(method, params, deadline)
    }

    /// Sends a command and returns its result, handling the events that arrive before it.
    fn call_until(&mut self, method: &str, params: Value, deadline: Instant) -> Result<Value> {
        let id = self.send(method, params)?;
        loop {
            let Some(mut message) = self.receive(deadline)? else {
                return Err(Error::new(format!(
                    "{method}: no answer in time (the timeout is {:?})",
                    self.timeout
                )));
            };
            if message["id"] != id {
                continue;
            }
            if let Some(error) = message.get("error") {
                return Err(Error::new(format!("{method}: {error}")));
            }
            return Ok(message["result"].take());
        }
    }

    fn send(&mut self, method: &str, params: Value) -> Result<u64> {
        self.check()?;
        self.next_id += 1;
        let mut command = json!({"id": self.next_id, "method": method});
        command["params"] = params;
        if let Err(error) = self.socket.send(Message::text(command.to_string())) {
            return Err(self.break_off(format!("sending {method}: {error}")));
        }
        Ok(self.next_id)
    }

    /// Waits for the next message until `deadline` (`None` when it passes), handling it
    /// first if it is an event.
    fn receive(&mut self, deadline: Instant) -> Result<Option<Value>> {
        loop {
            self.check()?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // A zero read timeout would mean none at all.
            let left = left.max(Duration::from_millis(1));
            if let Err(error) = self.socket.get_mut().set_read_timeout(Some(left)) {
                return Err(self.break_off(format!("setting a timeout: {error}")));
            }
            match self.socket.read() {
                Ok(Message::Text(text)) => {
                    let message: Value = serde_json::from_str(text.as_str()).map_err(|e| {
                        Error::new(format!("the browser sent something other than JSON: {e}"))
                    })?;
                    if message.get("method").is_some() {
                        self.handle_event(&message);
                    }
                    return Ok(Some(message));
                }
                Ok(Message::Close(_)) => {
                    return Err(self.break_off("the browser closed the connection".into()));
                }
                // Pings are answered by the library; nothing else is sent by Chromium.
                Ok(_) => {}
                // The read timed out; the message read so far stays buffered in the
                // library, and the loop checks the deadline.
                Err(tungstenite::Error::Io(error))
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(error) => {
                    return Err(self.break_off(format!("the connection failed: {error}")));
                }
            }
        }
    }

    fn handle_event(&mut self, message: &Value) {
        let params = &message["params"];
        match message["method"].as_str().unwrap_or_default() {
            "Page.loadEventFired" => self.loads += 1,
            "Runtime.exceptionThrown" => {
                let details = &params["exceptionDetails"];
                let id = details["exceptionId"].as_i64();
                self.errors.push((id, describe_exception(details)));
            }
            "Runtime.exceptionRevoked" => {
                let revoked = params["exceptionId"].as_i64();
                self.errors.retain(|(id, _)| id.is_none() || *id != revoked);
            }
            "Runtime.consoleAPICalled" => {
                let kind = params["type"].as_str().unwrap_or_default();
                if kind == "error" || kind == "assert" {
                    let args = params["args"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                    let words: Vec<String> = args.iter().map(describe_object).collect();
                    let text = format!("console.{kind}: {}", words.join(" "));
                    self.errors.push((None, text));
                }
            }
            "Log.entryAdded" => {
                let entry = &params["entry"];
                if entry["level"] == "error" {
                    let source = entry["source"].as_str().unwrap_or("log");
                    let mut text = format!("{source}: {}", text_of(&entry["text"]));
                    if let Some(url) = entry["url"].as_str().filter(|u| !u.is_empty()) {
                        text.push_str(&format!(" ({url})"));
                    }
                    self.errors.push((None, text));
                }
            }
            "Inspector.targetCrashed" => self.errors.push((None, "the page crashed".into())),
            _ => {}
        }
    }

    fn wait_for_load(&mut self, loads: u64, deadline: Instant) -> Result<()> {
        while self.loads == loads {
            if self.receive(deadline)?.is_none() {
                return Err(Error::new(format!(
                    "no load event in time (the timeout is {:?})",
                    self.timeout
                )));
            }
        }
        Ok(())
    }

    fn check(&self) -> Result<()> {
        match &self.broken {
            Some(why) => Err(Error::new(why.clone())),
            None => Ok(()),
        }
    }

    /// Marks the connection unusable: after a failed read or write the protocol's
    /// framing can no longer be trusted.
    fn break_off(&mut self, why: String) -> Error {
        self.broken = Some(why.clone());
        Error::new(why)
    }
}

/// The port of a `ws://127.0.0.1:PORT/...` URL; any other host is refused, so that the
/// tests never talk to anything but the local browser.
fn loopback_port(url: &str) -> Result<u16> {
    url.strip_prefix("ws://127.0.0.1:")
        .and_then(|rest| rest.split('/').next())
        .and_then(|port| port.parse().ok())
        .ok_or_else(|| Error::new(format!("not a loopback DevTools address: {url}")))
}

/// Opens the WebSocket at `url` (on the loopback interface only).
fn connect_socket(url: &str, deadline: Instant) -> Result<WebSocket<TcpStream>> {
    let doing = |e: String| Error::new(format!("connecting to {url}: {e}"));
    let port = loopback_port(url)?;
    let left = deadline.saturating_duration_since(Instant::now());
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&address, left.max(Duration::from_millis(1)))
        .map_err(|e| doing(e.to_string()))?;
    stream
        .set_read_timeout(Some(left.max(Duration::from_millis(1))))
        .and_then(|()| stream.set_write_timeout(Some(DEFAULT_TIMEOUT)))
        .and_then(|()| stream.set_nodelay(true))
        .map_err(|e| doing(e.to_string()))?;
    // Screenshots of large viewports exceed the library's default limit of 16 MiB.
    let config = WebSocketConfig::default()
        .max_message_size(Some(1 << 30))
        .max_frame_size(Some(1 << 30));
    let (socket, _) = tungstenite::client::client_with_config(url, stream, Some(config))
        .map_err(|e| doing(e.to_string()))?;
    Ok(socket)
}

/// Sends one HTTP request to the DevTools endpoint and parses the JSON answer.
fn http_json(port: u16, method: &str, path: &str, deadline: Instant) -> Result<Value> {
    let doing = |e: String| Error::new(format!("{method} {path}: {e}"));
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream =
        TcpStream::connect_timeout(&address, left).map_err(|e| doing(e.to_string()))?;
    stream
        .set_read_timeout(Some(left))
        .and_then(|()| stream.set_write_timeout(Some(left)))
        .map_err(|e| doing(e.to_string()))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| doing(e.to_string()))?;

    // Read until the body is complete by its length, rather than until the connection
    // closes, in case the server keeps it open.
    let mut response = Vec::new();
    let mut chunk = [0; 8192];
    let body_start = loop {
        let read = stream.read(&mut chunk).map_err(|e| doing(e.to_string()))?;
        if read == 0 {
            break None;
        }
        response.extend_from_slice(&chunk[..read]);
        let Some(end) = find(&response, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|n| n.trim().parse::<usize>().ok());
        if let Some(length) = length
            && response.len() >= end + 4 + length
        {
            response.truncate(end + 4 + length);
            break Some(end + 4);
        }
    };
    let body_start = body_start
        .or_else(|| find(&response, b"\r\n\r\n").map(|end| end + 4))
        .ok_or_else(|| doing("no HTTP answer".into()))?;
    let status = String::from_utf8_lossy(&response[..body_start]);
    let body = String::from_utf8_lossy(&response[body_start..]);
    if !status.starts_with("HTTP/1.1 200") {
        let line = status.lines().next().unwrap_or_default();
        return Err(doing(format!("{line}: {body}")));
    }
    serde_json::from_str(&body).map_err(|e| doing(format!("{e} in {body}")))
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// An exception's message, such as "Uncaught (in promise) Error: no\n    at f (...)",
/// with the place it was thrown when the message has no stack.
fn describe_exception(details: &Value) -> String {
    let exception = &details["exception"];
    let mut text = text_of(&details["text"]);
    if !exception.is_null() {
        let what = describe_object(exception);
        // Some messages already end with the exception's description.
        if !text.ends_with(&what) {
            text = format!("{text} {what}");
        }
    }
    if let Some(url) = details["url"].as_str().filter(|u| !u.is_empty())
        && !text.contains(url)
    {
        let line = details["lineNumber"].as_i64().unwrap_or(-1) + 1;
        let column = details["columnNumber"].as_i64().unwrap_or(-1) + 1;
        text.push_str(&format!(" ({url}:{line}:{column})"));
    }
    text
}

/// A protocol `RemoteObject` as a console would print it.
fn describe_object(object: &Value) -> String {
    match object.get("value") {
        Some(Value::String(text)) => text.clone(),
        Some(value) => value.to_string(),
        None => [&object["unserializableValue"], &object["description"]]
            .into_iter()
            .find_map(Value::as_str)
            .or_else(|| object["type"].as_str())
            .unwrap_or_default()
            .to_owned(),
    }
}

fn text_of(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// The first line of `js`, cut to 80 characters, to name it in messages.
fn abbreviate(js: &str) -> String {
    let line = js.trim().lines().next().unwrap_or_default();
    match line.char_indices().nth(80) {
        Some((end, _)) => format!("{}...", &line[..end]),
        None if line.len() < js.trim().len() => format!("{line}..."),
        None => line.to_owned(),
    }
}

/// Decodes standard base64 (the screenshot's encoding), stopping at padding.
fn base64_decode(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return Err(Error::new(format!("not base64: byte {byte}"))),
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8h").unwrap(), b"hello!");
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("a*").is_err());
    }

    #[test]
    fn only_loopback_endpoints_are_accepted() {
        assert_eq!(
            loopback_port("ws://127.0.0.1:9222/devtools/browser/x").unwrap(),
            9222
        );
        assert!(loopback_port("ws://example.org:9222/devtools/browser/x").is_err());
        assert!(loopback_port("ws://127.0.0.1.example.org:9222/x").is_err());
    }

    #[test]
    fn exceptions_read_like_the_console() {
        let details = json!({
            "text": "Uncaught",
            "exception": {"type": "object", "description": "Error: no\n    at f"},
            "url": "file:///a.html",
            "lineNumber": 2,
            "columnNumber": 4,
        });
        assert_eq!(
            describe_exception(&details),
            "Uncaught Error: no\n    at f (file:///a.html:3:5)"
        );
        let rejection = json!({
            "text": "Uncaught (in promise)",
            "exception": {"type": "string", "value": "late"},
        });
        assert_eq!(describe_exception(&rejection), "Uncaught (in promise) late");
    }
}
