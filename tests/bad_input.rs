//! Bad input is refused before anything trains: exit code 2, a message naming the file,
//! line, column and key (with a "did you mean" where a near name exists), and nothing
//! under the output folder changes.

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

mod support;

use support::snapshot;

const GOOD: &str = r#"name = "good"
[data]
n_samples = 50
[model]
hidden = [3]
activation = "tanh"
[train]
epochs = 2
"#;

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
    let started = Instant::now();
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
    // Refused at once, before anything is allocated or expanded: the oversized inputs
    // below used to abort after minutes, or never answer.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
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
fn residual_layers_of_different_widths() {
    let toml = experiment("[model]\nhidden = [5, 5, 3]\nactivation = \"tanh\"\nresidual = true\n");
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:5:12:",
            "`model.residual`: layer 3 is residual but has 3 units for 5 inputs",
            "every hidden layer after the first needs 5 units here",
        ],
    );
}

#[test]
fn layer_normalization_of_one_unit() {
    let toml = experiment("[model]\nhidden = [5, 1]\nactivation = \"tanh\"\nnorm = \"layer\"\n");
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:5:8:",
            "`model.norm`: layer 2 has one unit, which layer normalization would make constant",
            "use \"batch\" or wider layers",
        ],
    );
}

#[test]
fn unknown_normalization_with_a_near_name() {
    let toml = experiment("[model]\nhidden = [5]\nactivation = \"tanh\"\nnorm = \"batchnorm\"\n");
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:5:8:",
            "`model.norm`",
            "unknown normalization \"batchnorm\"",
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

#[test]
fn a_trillion_samples_do_not_fit_in_memory() {
    let toml = experiment(
        "[data]\nn_samples = 100000000000\n[model]\nhidden = [5]\nactivation = \"tanh\"\n",
    );
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:3:13:",
            "`data.n_samples`",
            // 10^11 points of 646 bytes each (two features generated and copied, label and targets, a table row).
            "one run needs about 65 TB of memory",
            "data 65 TB",
            "this machine has",
            "available",
        ],
    );
}

#[test]
fn a_layer_wider_than_the_limit() {
    let toml = experiment("[model]\nhidden = [5, 200000]\nactivation = \"tanh\"\n");
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:3:14:",
            "`model.hidden`",
            "expected at most 100000 units in a layer, found 200000",
        ],
    );
}

#[test]
fn layers_within_the_limit_that_do_not_fit_in_memory() {
    // Four products of 90,000 x 90,000 weights: 32.4 billion, 648 GB in five copies of
    // four bytes.
    let toml = experiment(
        "[model]\nhidden = [90000, 90000, 90000, 90000, 90000]\nactivation = \"tanh\"\n",
    );
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:3:10:",
            "`model.hidden`",
            "one run needs about 649 GB of memory (parameters 648 GB,",
            "this machine has",
        ],
    );
}

#[test]
fn swept_epochs_that_do_not_fit_point_into_the_sweep() {
    let toml = experiment(
        "[model]\nhidden = [5]\nactivation = \"tanh\"\n[sweep]\n\"train.epochs\" = [2, 4000000000]\n",
    );
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:6:22:",
            "`train.epochs`",
            // 4e9 records of 2 layers x 8 quantities, and 4e9 metric rows, 550 bytes each.
            "records 37 TB",
            "this machine has",
        ],
    );
}

#[test]
fn a_sweep_of_fifty_million_runs() {
    let values =
        |n: usize, f: &dyn Fn(usize) -> String| (1..=n).map(f).collect::<Vec<_>>().join(", ");
    let toml = experiment(&format!(
        "[model]\nhidden = [5]\nactivation = \"tanh\"\n[sweep]\n\"train.batch_size\" = [{}]\n\
         \"train.epochs\" = [{}]\n\"optimizer.learning_rate\" = [{}]\n",
        values(500, &|i| i.to_string()),
        values(100, &|i| i.to_string()),
        values(1000, &|i| format!("{i}e-5")),
    ));
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:5:1:",
            "`sweep`",
            "make 50,000,000 runs (500 x 100 x 1000 x 1 values and seeds)",
            "at most 10,000,000",
        ],
    );
}

#[test]
fn fifty_million_seeds() {
    let toml =
        experiment("seeds = { count = 50000000 }\n[model]\nhidden = [5]\nactivation = \"tanh\"\n");
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:2:19:",
            "`seeds.count`",
            "expected at most 10,000,000 seeds",
        ],
    );
}

/// Runs the binary with `args`, expecting exit 2 and each of `expected` on standard
/// error, once.
#[track_caller]
fn refused(args: &[&str], expected: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_vanishing"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    for fragment in expected {
        assert_eq!(
            stderr.matches(fragment).count(),
            1,
            "{fragment:?} once in:\n{stderr}"
        );
    }
}

#[test]
fn a_command_line_seed_count_beyond_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.toml");
    fs::write(&good, GOOD).unwrap();
    let out = tmp.path().join("data");
    refused(
        &[
            "run",
            good.to_str().unwrap(),
            "--seeds",
            "1000000000000",
            "--out",
            out.to_str().unwrap(),
        ],
        &[
            "--seeds 1000000000000:",
            "would define 1,000,000,000,000 runs",
            "at most 10,000,000",
        ],
    );
    assert!(!out.exists());
}

#[test]
fn an_output_folder_that_cannot_be_created() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.toml");
    fs::write(&good, GOOD).unwrap();
    // Under a file, where no folder can be made, even by root.
    let file = tmp.path().join("a-file");
    fs::write(&file, "not a folder").unwrap();
    let out = file.join("data");
    refused(
        &[
            "run",
            good.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["cannot create the output folder", "Not a directory"],
    );
    refused(
        &[
            "run",
            good.to_str().unwrap(),
            "--out",
            file.to_str().unwrap(),
        ],
        &["the output must be a folder"],
    );
    // The report's folder too, checked before any table is read.
    let data = tmp.path().join("data");
    let ran = Command::new(env!("CARGO_BIN_EXE_vanishing"))
        .args([
            "run",
            good.to_str().unwrap(),
            "--out",
            data.to_str().unwrap(),
            "-q",
        ])
        .status()
        .unwrap();
    assert!(ran.success());
    refused(
        &[
            "report",
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &["cannot create the report's folder", "Not a directory"],
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), "not a folder");
}

#[test]
fn any_number_of_jobs_is_taken_as_at_most_one_thread_per_group_of_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.toml");
    fs::write(&good, GOOD).unwrap();
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_vanishing"))
        .args([
            "run",
            good.to_str().unwrap(),
            "-q",
            "--jobs",
            &u64::MAX.to_string(),
        ])
        .arg("--out")
        .arg(tmp.path().join("data"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // It used to start threads until the count ran out, which never happened.
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// An experiment reading `data.csv` beside it with `model` lines of its own.
fn file_experiment(data: &str, model: &str) -> String {
    experiment(&format!(
        "[data]\nkind = \"file\"\npath = \"{data}\"\nlabel = \"y\"\n[model]\nhidden = [3]\nactivation = \"tanh\"\n{model}"
    ))
}

#[test]
fn missing_data_file() {
    let toml = file_experiment("absent.csv", "");
    check(
        &[("bad.toml", toml.as_bytes())],
        &["bad.toml:4:8:", "`data.path`", "absent.csv"],
    );
}

#[test]
fn data_file_without_its_label_column() {
    let toml = file_experiment("points.csv", "");
    check(
        &[
            ("bad.toml", toml.as_bytes()),
            ("points.csv", b"a,b,label\n1,2,0\n3,4,1\n"),
        ],
        &["bad.toml:4:8:", "`data.path`", "points.csv", "`y`", "label"],
    );
}

#[test]
fn data_file_with_a_value_that_is_not_a_number() {
    let toml = file_experiment("points.csv", "");
    check(
        &[
            ("bad.toml", toml.as_bytes()),
            ("points.csv", b"a,b,y\n1,2,0\n3,inf,1\n"),
        ],
        &["bad.toml:4:8:", "points.csv", "`b`", "line 3"],
    );
}

#[test]
fn data_file_with_labels_that_are_not_integers() {
    let toml = file_experiment("points.csv", "");
    check(
        &[
            ("bad.toml", toml.as_bytes()),
            ("points.csv", b"a,b,y\n1,2,0\n3,4,1.5\n"),
        ],
        &["bad.toml:4:8:", "points.csv", "`y`", "line 3", "1.5"],
    );
}

#[test]
fn data_file_of_one_class() {
    let toml = file_experiment("points.csv", "");
    check(
        &[
            ("bad.toml", toml.as_bytes()),
            ("points.csv", b"a,b,y\n1,2,1\n3,4,1\n"),
        ],
        &[
            "bad.toml:4:8:",
            "points.csv",
            "single class",
            "two distinct labels",
        ],
    );
}

#[test]
fn three_classes_for_a_single_output_unit() {
    let toml = file_experiment("points.csv", "");
    check(
        &[
            ("bad.toml", toml.as_bytes()),
            ("points.csv", b"a,b,y\n1,2,0\n3,4,1\n5,6,2\n"),
        ],
        &[
            "bad.toml:4:8:",
            "the data have 3 classes",
            "output = \"softmax\"",
        ],
    );
}

#[test]
fn softmax_as_a_hidden_activation() {
    let toml = experiment(
        "[data]\nkind = \"digits\"\n[model]\nhidden = [5]\nactivation = \"softmax\"\noutput = \"softmax\"\n",
    );
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:6:14:",
            "`model.activation`",
            "softmax can only be the output layer's activation",
        ],
    );
}

#[test]
fn a_softmax_output_under_another_loss() {
    let toml = experiment(
        "[data]\nkind = \"digits\"\n[model]\nhidden = [5]\nactivation = \"tanh\"\noutput = \"softmax\"\nloss = \"mse\"\n",
    );
    check(
        &[("bad.toml", toml.as_bytes())],
        &["bad.toml:8:8:", "`model.loss`", "categorical_crossentropy"],
    );
}

#[test]
fn images_with_a_single_output_unit() {
    let toml =
        experiment("[data]\nkind = \"shapeset\"\n[model]\nhidden = [5]\nactivation = \"tanh\"\n");
    check(
        &[("bad.toml", toml.as_bytes())],
        &[
            "bad.toml:",
            "`model.output`",
            "the data have 9 classes",
            "output = \"softmax\"",
        ],
    );
}

#[test]
fn noise_for_digits() {
    let toml = experiment(
        "[data]\nkind = \"digits\"\nnoise = 0.1\n[model]\nhidden = [5]\nactivation = \"tanh\"\noutput = \"softmax\"\n",
    );
    check(
        &[("bad.toml", toml.as_bytes())],
        &["bad.toml:4:1:", "`data.noise`", "unknown key"],
    );
}
