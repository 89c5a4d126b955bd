//! The DevTools client against a small page that has what the report's lab has: a
//! button, an input, a Web Worker running WebAssembly, a promise-returning function, and
//! deliberate errors. Without Chromium each test says so loudly and passes, unless
//! `VANISHING_REQUIRE_BROWSER=1`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use vanishing_testkit::browser::{Page, Result, browser_or_skip};

/// The page under test. The worker adds its message to itself with a WebAssembly
/// function (the smallest module exporting `add`), and complains on its console.
const PAGE: &str = r##"<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>lab</title>
<style>
  body { margin: 0; }
  #wide { width: 500px; height: 10px; background: #c33; }
</style>
</head>
<body>
<button id="go">Press</button>
<button id="off" disabled>Off</button>
<input id="name">
<p id="echo"></p>
<p id="changed"></p>
<p id="hash"></p>
<div id="wide"></div>
<img src="missing.png" alt="">
<script>
  const button = document.getElementById("go");
  button.addEventListener("click", () => { button.textContent = "Pressed"; });
  const input = document.getElementById("name");
  input.addEventListener("input", () => { document.getElementById("echo").textContent = input.value; });
  input.addEventListener("change", () => { document.getElementById("changed").textContent = "changed " + input.value; });
  window.addEventListener("hashchange", () => { document.getElementById("hash").textContent = location.hash; });

  const source = `
    const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1,
      127, 3, 2, 1, 0, 7, 7, 1, 3, 97, 100, 100, 0, 0, 10, 9, 1, 7, 0, 32, 0, 32, 1, 106, 11]);
    self.onmessage = async (event) => {
      const { instance } = await WebAssembly.instantiate(bytes);
      console.error("worker complains");
      self.postMessage(instance.exports.add(event.data, event.data));
    };`;
  const worker = new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
  window.fromWorker = null;
  worker.onmessage = (event) => { window.fromWorker = event.data; };
  worker.postMessage(21);

  window.lab = {
    run: (text) => new Promise((resolve) => setTimeout(() => resolve({ text, length: text.length }), 20)),
    refuse: () => Promise.reject(new Error("refused")),
  };
  console.error("deliberate", 42);
  Promise.reject(new Error("nobody listens"));
  const late = Promise.reject(new Error("handled late"));
  setTimeout(() => late.catch(() => {}), 0);
</script>
</body>
</html>
"##;

fn write_page(dir: &Path) -> String {
    let path = dir.join("lab.html");
    std::fs::write(&path, PAGE).unwrap();
    format!("file://{}", path.display())
}

fn text(page: &mut Page, selector: &str) -> Result<serde_json::Value> {
    page.eval(&format!("document.querySelector('{selector}').textContent"))
}

#[test]
fn a_page_is_driven_as_a_person_would() -> Result<()> {
    let Some(browser) = browser_or_skip("a_page_is_driven_as_a_person_would") else {
        return Ok(());
    };
    let tmp = tempfile::tempdir().unwrap();
    let url = write_page(tmp.path());
    let mut page = browser.page()?;

    page.goto(&url)?;
    page.wait_for("window.fromWorker !== null", Duration::from_secs(10))?;
    assert_eq!(page.eval("window.fromWorker")?, json!(42));

    // Values come back as JSON, promises are awaited, exceptions are errors.
    assert_eq!(page.eval("document.title")?, json!("lab"));
    assert_eq!(page.eval("undefined")?, json!(null));
    assert_eq!(
        page.eval("window.lab.run('abc')")?,
        json!({"text": "abc", "length": 3})
    );
    let refused = page.eval("window.lab.refuse()").unwrap_err().to_string();
    assert!(refused.contains("refused"), "{refused}");
    let thrown = page.eval("null.length").unwrap_err().to_string();
    assert!(thrown.contains("TypeError"), "{thrown}");

    page.click("#go")?;
    assert_eq!(text(&mut page, "#go")?, json!("Pressed"));
    let missing = page.click("#nowhere").unwrap_err().to_string();
    assert!(missing.contains("no element matches"), "{missing}");
    let disabled = page.click("#off").unwrap_err().to_string();
    assert!(disabled.contains("disabled"), "{disabled}");

    page.set_value("#name", "hello")?;
    assert_eq!(text(&mut page, "#echo")?, json!("hello"));
    assert_eq!(text(&mut page, "#changed")?, json!("changed hello"));

    // The 500 px block fits a desktop window but overflows a phone's.
    page.set_viewport(1280, 800)?;
    assert_eq!(
        page.eval("document.documentElement.scrollWidth")?,
        json!(1280)
    );
    page.set_viewport(360, 640)?;
    assert_eq!(
        page.eval("document.documentElement.scrollWidth")?,
        json!(500)
    );

    let shot = tmp.path().join("phone.png");
    page.screenshot(&shot)?;
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, 360, "the screenshot is the viewport's width");

    // The page's, the worker's and the browser's errors, but neither the evaluations'
    // exceptions (they were answers) nor the rejection that was handled late.
    let deadline = Instant::now() + Duration::from_secs(10);
    let errors = loop {
        let errors = page.errors()?;
        if errors.iter().any(|e| e.starts_with("worker: ")) || Instant::now() > deadline {
            break errors;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let expected = [
        "console.error: deliberate 42",
        "Uncaught (in promise) Error: nobody listens",
        "worker: worker complains",
        "missing.png",
    ];
    for wanted in expected {
        assert!(
            errors.iter().any(|e| e.contains(wanted)),
            "no {wanted:?} in {errors:#?}"
        );
    }
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    page.clear_errors();
    assert!(page.errors()?.is_empty());

    // A fragment on the same document is a same-document navigation.
    page.goto(&format!("{url}#results"))?;
    page.wait_for(
        "document.getElementById('hash').textContent === '#results'",
        Duration::from_secs(5),
    )?;
    // A reload starts the page over, keeping the fragment.
    page.reload()?;
    assert_eq!(text(&mut page, "#go")?, json!("Press"));
    assert_eq!(page.eval("location.hash")?, json!("#results"));
    // From another document, a URL with a fragment is a full load.
    page.goto("about:blank")?;
    page.goto(&format!("{url}#lab"))?;
    assert_eq!(page.eval("location.hash")?, json!("#lab"));
    assert_eq!(page.eval("document.readyState")?, json!("complete"));
    Ok(())
}

#[test]
fn failures_are_errors_in_time() -> Result<()> {
    let Some(browser) = browser_or_skip("failures_are_errors_in_time") else {
        return Ok(());
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut page = browser.page()?;

    let missing = format!("file://{}", tmp.path().join("absent.html").display());
    let error = page.goto(&missing).unwrap_err().to_string();
    assert!(error.contains("ERR_FILE_NOT_FOUND"), "{error}");

    let started = Instant::now();
    let error = page
        .wait_for("document.body.dataset.never", Duration::from_millis(300))
        .unwrap_err()
        .to_string();
    assert!(error.contains("was not true"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let error = page
        .wait_for("(", Duration::from_secs(5))
        .unwrap_err()
        .to_string();
    assert!(error.contains("SyntaxError"), "{error}");

    // A promise that never settles times out, and the page stays usable.
    let started = Instant::now();
    let error = page
        .eval_with_timeout("new Promise(() => {})", Duration::from_millis(300))
        .unwrap_err()
        .to_string();
    assert!(error.contains("no answer"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(page.eval("6 * 7")?, json!(42));

    // Tabs of their own do not share state.
    page.eval("window.mark = 1")?;
    let mut other = browser.new_page()?;
    assert_eq!(other.eval("location.href")?, json!("about:blank"));
    assert_eq!(other.eval("typeof window.mark")?, json!("undefined"));

    // Once the browser is gone, calls fail rather than hang.
    drop(browser);
    let started = Instant::now();
    assert!(page.eval("1").is_err());
    assert!(page.eval("1").is_err());
    assert!(started.elapsed() < Duration::from_secs(5));
    Ok(())
}
