//! Bad input is refused before anything trains: exit code 2, a message naming the file,
//! line, column and key (with a "did you mean" where a near name exists), and nothing
//! under the output folder changes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const GOOD: &str = r#"name = "good"
[data]
n_samples = 50
[model]
hidden = [3]
activation = "tanh"
[train]
epochs = 2
"#;

/// Every file under `dir` with its contents, to show that nothing changed.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.clone(), fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Writes `files` (name, contents) into a fresh folder next to an output folder that
/// already holds results, runs `vanishing run` on the folder, and checks the refusal.
#[track_caller]
fn check(files: &[(&str, &[u8])], expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("data");
    // Results of an earlier run, which a refused input must leave alone.
    let good = tmp.path().join("good.toml");
    fs::write(&good, GOOD).unwrap();
    let earlier = Command::new(env!("CARGO_BIN_EXE_vanishing"))
        .args([
            "run",
            good.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(earlier.status.success());
    fs::write(out.join("notes.txt"), "mine").unwrap();
    let before = snapshot(&out);

    let experiments = tmp.path().join("experiments");
    fs::create_dir(&experiments).unwrap();
    for (name, contents) in files {
        fs::write(experiments.join(name), contents).unwrap();
    }
    let output = Command::new(env!("CARGO_BIN_EXE_vanishing"))
        .args([
            "run",
            experiments.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    for fragment in expected {
        assert!(
            stderr.contains(fragment),
            "expected {fragment:?} in:\n{stderr}"
        );
    }
    assert_eq!(snapshot(&out), before, "the output folder changed");
}

fn experiment(body: &str) -> String {
    format!("name = \"bad\"\n{body}")
}

#[test]
fn unknown_key() {
    let toml = experiment("[model]\nhiden = [5]\nactivation = \"tanh\"\n");
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:3:1:",
            "`model.hiden`: unknown key; `model.hidden` is missing",
            "did you mean `hidden`?",
        ],
    );
}

#[test]
fn wrong_type() {
    let toml =
        experiment("[data]\nn_samples = \"many\"\n[model]\nhidden = [5]\nactivation = \"tanh\"\n");
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:3:13:",
            "`data.n_samples`",
            "expected a whole number, found the string \"many\"",
        ],
    );
}

#[test]
fn unknown_activation_with_a_near_name() {
    let toml = experiment("[model]\nhidden = [5]\nactivation = \"sigmod\"\n");
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:4:14:",
            "`model.activation`",
            "unknown activation \"sigmod\"",
            "did you mean \"sigmoid\"?",
        ],
    );
}

#[test]
fn negative_noise() {
    let toml = experiment("[data]\nnoise = -0.1\n[model]\nhidden = [5]\nactivation = \"tanh\"\n");
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:3:9:",
            "`data.noise`",
            "expected a number >= 0, found -0.1",
        ],
    );
}

#[test]
fn zero_batch_size() {
    let toml =
        experiment("[model]\nhidden = [5]\nactivation = \"tanh\"\n[train]\nbatch_size = 0\n");
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:6:14:",
            "`train.batch_size`",
            "expected a whole number >= 1, found 0",
        ],
    );
}

#[test]
fn too_many_histogram_bins() {
    let toml = experiment(
        "[model]\nhidden = [5]\nactivation = \"tanh\"\n[record]\nhistogram_bins = 5000\n",
    );
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:6:18:",
            "`record.histogram_bins`",
            "expected a number of bins from 1 to 1000, found 5000",
        ],
    );
}

#[test]
fn empty_hidden() {
    let toml = experiment("[model]\nhidden = []\nactivation = \"tanh\"\n");
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:3:10:",
            "`model.hidden`",
            "expected at least one hidden layer",
        ],
    );
}

#[test]
fn sweep_over_a_key_that_does_not_exist() {
    let toml = experiment(
        "[model]\nhidden = [5]\nactivation = \"tanh\"\n[sweep]\n\"model.actvation\" = [\"tanh\", \"relu\"]\n",
    );
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:6:1:",
            "`model.actvation`: unknown key",
            "did you mean `activation`?",
        ],
    );
}

#[test]
fn sweep_over_a_bad_value_points_into_the_sweep() {
    let toml = experiment(
        "[model]\nhidden = [5]\nactivation = \"tanh\"\n[sweep]\n\"model.activation\" = [\"tanh\", \"relux\"]\n",
    );
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:6:31:",
            "`model.activation`",
            "unknown activation \"relux\"",
            "did you mean \"relu\"?",
        ],
    );
}

#[test]
fn two_experiments_with_the_same_name() {
    let toml = experiment("[model]\nhidden = [5]\nactivation = \"tanh\"\n");
    check(
        &[("a.toml", toml.as_bytes()), ("b.toml", toml.as_bytes())],
        &[
            "b.toml: experiment name \"bad\" is already used by",
            "a.toml",
        ],
    );
}

#[test]
fn unreadable_file() {
    check(
        &[("bad.toml", b"name = \"\xff\xfe\"\n")],
        &["bad.toml: cannot read the file"],
    );
}

#[test]
fn invalid_toml_syntax() {
    check(
        &[("bad.toml", b"name = \"bad\"\n[model\nhidden = [5]\n")],
        &["bad.toml:2:", "not valid TOML"],
    );
}

#[test]
fn missing_path() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_vanishing"))
        .args([
            "run",
            missing.to_str().unwrap(),
            "--out",
            tmp.path().join("data").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nope.toml: no such file or folder"));
    assert!(!tmp.path().join("data").exists());
}
