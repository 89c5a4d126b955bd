//! Fuzzing the front door: experiment files mutated from the shipped ones, and documents
//! generated from the schema's keys and awkward values, are fed to `parse`, which
//! validates and expands sweeps. Whatever the text, parsing must answer within seconds,
//! never panic, refuse with a message naming the file, or accept an experiment whose
//! every run validates, fits the given memory, stays within the run limit, and reads
//! back identically from its resolved configuration (the text that `config_hash`
//! identifies a run by).
//!
//! By default a fixed number of cases from a fixed seed runs, as part of the test suite;
//! `VANISHING_FUZZ_SECONDS=600` keeps drawing fresh random cases for that long (see the
//! README's testing section). A failure prints the smallest text found that fails; it
//! belongs in the crate's unit tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRng, TestRunner};
use vanishing_config::{Limits, MAX_RUNS, parse, resolved_toml};

/// The memory the fuzzed runs are allowed, so that oversized ones must be refused.
const MEMORY: f64 = 4e9;

/// Cases of the fixed budget.
const CASES: u32 = 3000;

/// A parse that takes longer than this has hung.
const HANG: Duration = Duration::from_secs(20);

/// Values that have found bugs in parsers before: boundaries of integer types, floats
/// that are not numbers, wrong types, empty containers, control characters.
const AWKWARD: [&str; 47] = [
    "0",
    "1",
    "-1",
    "2",
    "3",
    "7",
    "1000",
    "100000",
    "100000000000",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "0.0",
    "-0.0",
    "0.5",
    "0.999999999",
    "1e308",
    "1e-320",
    "-1e308",
    "nan",
    "inf",
    "-inf",
    "true",
    "\"\"",
    "\"sigmoid\"",
    "\"relu\"",
    "\"leaky_relu\"",
    "\"glorot_uniform\"",
    "\"normal\"",
    "\"adam\"",
    "\"sgd\"",
    "\"epoch\"",
    "\"step\"",
    "\"f64\"",
    "\"moons\"",
    "\"batch\"",
    "\"layer\"",
    "[5, 3]",
    "\"\\u0000\"",
    "[]",
    "[0]",
    "[5, 5]",
    "[[5], [3, 3]]",
    "{}",
    "{ kind = \"normal\", mean = 0.0, std = 1e300 }",
    "1979-05-27T07:32:00Z",
];

/// Every key the schema knows, by section ("" for the top level).
const KEYS: [(&str, &str); 33] = [
    ("", "name"),
    ("", "description"),
    ("", "seeds"),
    ("", "seed"),
    ("", "label"),
    ("data", "kind"),
    ("data", "n_samples"),
    ("data", "factor"),
    ("data", "noise"),
    ("data", "shuffle"),
    ("data", "test_fraction"),
    ("model", "hidden"),
    ("model", "activation"),
    ("model", "output"),
    ("model", "init"),
    ("model", "loss"),
    ("model", "norm"),
    ("model", "residual"),
    ("optimizer", "kind"),
    ("optimizer", "learning_rate"),
    ("optimizer", "momentum"),
    ("optimizer", "nesterov"),
    ("optimizer", "rho"),
    ("optimizer", "epsilon"),
    ("optimizer", "centered"),
    ("optimizer", "variant"),
    ("optimizer", "beta_1"),
    ("optimizer", "beta_2"),
    ("train", "epochs"),
    ("train", "batch_size"),
    ("train", "precision"),
    ("record", "every"),
    ("record", "histogram_bins"),
];

/// The shipped experiment files, as the mutations' starting points.
fn shipped() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert!(texts.len() >= 10, "the shipped experiments are found");
    texts
}

/// One change to a text.
#[derive(Debug, Clone)]
enum Mutation {
    /// The value of the `line`-th `key = value` line replaced.
    Value { line: usize, value: &'static str },
    /// A key of the schema set (appended under its section's header).
    Key { key: usize, value: &'static str },
    /// A sweep over a key of the schema.
    Sweep {
        key: usize,
        values: Vec<&'static str>,
    },
    /// Bytes removed.
    Delete { at: usize, len: usize },
    /// Text inserted.
    Insert { at: usize, text: String },
    /// A line repeated.
    Duplicate { line: usize },
}

/// Values that some key accepts, so that mutated files are often still valid and their
/// expansion is exercised.
const PLAUSIBLE: [&str; 16] = [
    "0.01",
    "0.001",
    "0.9",
    "4",
    "16",
    "64",
    "[3]",
    "[4, 4, 4]",
    "\"tanh\"",
    "\"linear\"",
    "\"glorot_normal\"",
    "\"he_uniform\"",
    "\"rmsprop\"",
    "\"keras3\"",
    "\"circles\"",
    "{ count = 3, start = 7 }",
];

fn awkward() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        proptest::sample::select(&AWKWARD[..]),
        proptest::sample::select(&PLAUSIBLE[..]),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let junk = prop_oneof![
        proptest::sample::select(
            &[
                "[",
                "]",
                "=",
                "\"",
                "'''",
                "\n[sweep]\n",
                "\n[[model]]\n",
                "#",
                "\\",
                ".",
                ",",
                "{",
                "}",
                "\u{0}",
                "\u{feff}",
                "é"
            ][..]
        )
        .prop_map(str::to_owned),
        proptest::collection::vec(any::<u8>(), 1..8)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        awkward().prop_map(str::to_owned),
    ];
    prop_oneof![
        3 => (any::<usize>(), awkward()).prop_map(|(line, value)| Mutation::Value { line, value }),
        3 => (0..KEYS.len(), awkward()).prop_map(|(key, value)| Mutation::Key { key, value }),
        3 => (
            0..KEYS.len(),
            proptest::collection::vec(awkward(), 0..6)
        )
            .prop_map(|(key, values)| Mutation::Sweep { key, values }),
        1 => (any::<usize>(), 1..40_usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => (any::<usize>(), junk).prop_map(|(at, text)| Mutation::Insert { at, text }),
        1 => any::<usize>().prop_map(|line| Mutation::Duplicate { line }),
    ]
}

/// The byte offset nearest `at` (modulo the length) that starts a character.
fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn dotted(key: usize) -> String {
    match KEYS[key] {
        ("", name) => name.to_owned(),
        (section, name) => format!("{section}.{name}"),
    }
}

/// Sets `line` (which assigns `name`) in `section` of `text`: in place of the line that
/// assigns `name` there, else just below the section's header, else in a new section
/// at the end (the top level's before any header), so that the text stays valid TOML as
/// far as the change goes.
fn set(text: &mut String, section: &str, name: &str, line: &str) {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let header = format!("[{section}]");
    let start = if section.is_empty() {
        Some(0)
    } else {
        lines.iter().position(|l| l.trim() == header).map(|i| i + 1)
    };
    match start {
        Some(start) => {
            let end = lines[start..]
                .iter()
                .position(|l| l.trim_start().starts_with('['))
                .map_or(lines.len(), |i| start + i);
            let assigns = |l: &String| l.split('=').next().is_some_and(|k| k.trim() == name);
            match lines[start..end].iter().position(assigns) {
                Some(i) => lines[start + i] = line.to_owned(),
                None => lines.insert(start, line.to_owned()),
            }
        }
        None => {
            lines.push(header);
            lines.push(line.to_owned());
        }
    }
    *text = lines.join("\n");
}

fn apply(text: &mut String, mutation: &Mutation) {
    match mutation {
        Mutation::Value { line, value } => {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let assignments: Vec<usize> = (0..lines.len())
                .filter(|&i| lines[i].contains(" = "))
                .collect();
            if let Some(&i) = assignments.get(line % assignments.len().max(1)) {
                let key = lines[i].split(" = ").next().unwrap_or("").to_owned();
                lines[i] = format!("{key} = {value}");
                *text = lines.join("\n");
            }
        }
        Mutation::Key { key, value } => {
            let (section, name) = KEYS[*key];
            set(text, section, name, &format!("{name} = {value}"));
        }
        Mutation::Sweep { key, values } => {
            let name = format!("\"{}\"", dotted(*key));
            set(
                text,
                "sweep",
                &name,
                &format!("{name} = [{}]", values.join(", ")),
            );
        }
        Mutation::Delete { at, len } => {
            let start = boundary(text, *at);
            let end = boundary(text, start + len);
            if end > start {
                text.replace_range(start..end, "");
            }
        }
        Mutation::Insert { at, text: inserted } => {
            let at = boundary(text, *at);
            text.insert_str(at, inserted);
        }
        Mutation::Duplicate { line } => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let i = line % lines.len();
                lines.insert(i, lines[i]);
                *text = lines.join("\n");
            }
        }
    }
}

/// A document built from the schema's keys alone: the smallest valid experiment, then
/// keys set to awkward values one after another.
fn generated() -> impl Strategy<Value = String> {
    proptest::collection::vec((0..KEYS.len(), awkward()), 0..12).prop_map(|entries| {
        let mut text = String::from(
            "name = \"fuzzed\"\n[model]\nhidden = [3]\nactivation = \"tanh\"\n[train]\nepochs = 2",
        );
        for (key, value) in entries {
            let (section, name) = KEYS[key];
            set(&mut text, section, name, &format!("{name} = {value}"));
        }
        text
    })
}

fn document() -> impl Strategy<Value = String> {
    let texts = shipped();
    let mutated = (
        proptest::sample::select(texts),
        proptest::collection::vec(mutation(), 1..4),
    )
        .prop_map(|(mut text, mutations)| {
            for m in &mutations {
                apply(&mut text, m);
            }
            text
        });
    prop_oneof![3 => mutated, 1 => generated()]
}

/// Texts accepted and refused so far, to show that the cases reach both sides.
static ACCEPTED: AtomicU64 = AtomicU64::new(0);
static REFUSED: AtomicU64 = AtomicU64::new(0);

/// Parses `text` on a thread of its own, so that a hang is caught as one.
fn check(text: &str) -> Result<(), TestCaseError> {
    let limits = Limits {
        available_memory: Some(MEMORY),
    };
    let (send, receive) = mpsc::channel();
    let owned = text.to_owned();
    std::thread::spawn(move || {
        let _ = send.send(parse(Path::new("fuzz.toml"), &owned, limits));
    });
    let parsed = match receive.recv_timeout(HANG) {
        Ok(parsed) => parsed,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            return Err(TestCaseError::fail(format!("no answer within {HANG:?}")));
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Err(TestCaseError::fail("parse panicked"));
        }
    };
    let experiment = match parsed {
        Err(e) => {
            REFUSED.fetch_add(1, Ordering::Relaxed);
            let message = e.to_string();
            prop_assert!(message.starts_with("fuzz.toml"), "{message}");
            return Ok(());
        }
        Ok(experiment) => experiment,
    };
    ACCEPTED.fetch_add(1, Ordering::Relaxed);
    let runs = experiment.run_count();
    prop_assert!(runs > 0 && runs <= MAX_RUNS);
    prop_assert_eq!(
        runs,
        experiment.configurations.len() * experiment.seeds.len()
    );
    for run in experiment.runs().take(20) {
        prop_assert!(run.spec.validate().is_ok(), "{:?}", run.spec.validate());
        let memory = run.spec.estimated_memory().total();
        prop_assert!(memory <= MEMORY, "{memory} bytes accepted");
        let resolved = resolved_toml(&experiment.name, &run.label, &run.spec);
        let again = parse(Path::new("resolved.toml"), &resolved, limits)
            .map_err(|e| TestCaseError::fail(format!("resolved text refused: {e}\n{resolved}")))?;
        prop_assert_eq!(again.run_count(), 1);
        let again = again.run(0);
        prop_assert_eq!(&again.spec, &run.spec, "{}", resolved);
        prop_assert_eq!(&again.label, &run.label);
    }
    Ok(())
}

fn run(runner: &mut TestRunner) {
    if let Err(error) = runner.run(&document(), |text| check(&text)) {
        match error {
            TestError::Fail(reason, text) => {
                panic!(
                    "{reason}\nthe smallest failing text found:\n{text}\n(as a string: {text:?})"
                )
            }
            TestError::Abort(reason) => panic!("fuzzing aborted: {reason}"),
        }
    }
}

#[test]
#[allow(
    clippy::print_stdout,
    reason = "a long fuzzing run reports how many texts it tried (with --nocapture)"
)]
fn no_experiment_file_panics_hangs_or_is_accepted_beyond_its_limits() {
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let seconds = std::env::var("VANISHING_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    if let Some(seconds) = seconds {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(seconds) {
            run(&mut TestRunner::new(config.clone()));
        }
    } else {
        let rng = TestRng::deterministic_rng(config.rng_algorithm);
        run(&mut TestRunner::new_with_rng(config, rng));
    }
    let (accepted, refused) = (
        ACCEPTED.load(Ordering::Relaxed),
        REFUSED.load(Ordering::Relaxed),
    );
    println!("{accepted} texts accepted, {refused} refused, none panicked or hung");
    // Mutations that only ever break the text, or never do, would test little.
    let share = accepted as f64 / (accepted + refused) as f64;
    assert!(
        (0.05..0.95).contains(&share),
        "accepted {share:.2} of the texts"
    );
}
