//! Sweeps as real processes: a `vanishing run` killed at several moments resumes to the
//! tables of an uninterrupted run; shards started together fill one folder with exactly
//! the unsharded tables; an edited file leaves only the runs it now defines; and readers
//! outside Rust (DuckDB, polars, pyarrow) see each folder of parts as one table.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vanishing_analysis::{ExperimentTables, TABLE_NAMES, read_experiment};

mod support;

use support::{assert_success, canonical, parts, snapshot, vanishing};

/// 120 runs that each record every step, so that they fill about 10 parts and a sweep
/// lasts long enough to be interrupted.
const SWEEP: &str = r#"
name = "crash-sweep"
description = "Small runs recorded at every step."
seeds = { count = 60, start = 0 }

[data]
kind = "circles"
n_samples = 400
factor = 0.5
noise = 0.1

[model]
hidden = [5, 5, 5, 5]
activation = "tanh"

[train]
epochs = 15
batch_size = 16

[record]
every = "step"

[sweep]
"model.activation" = ["tanh", "sigmoid"]
"#;

fn write_sweep(dir: &Path, text: &str) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let file = dir.join("crash-sweep.toml");
    fs::write(&file, text).unwrap();
    file
}

fn run_args<'a>(file: &'a Path, out: &'a Path) -> Vec<&'a str> {
    vec![
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--jobs",
        "2",
    ]
}

fn spawn(args: &[&str], envs: &[(&str, String)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vanishing"))
        .args(args)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the vanishing binary starts")
}

fn reference(tmp: &Path, file: &Path) -> ExperimentTables {
    let out = tmp.join("reference");
    assert_success(&vanishing(&run_args(file, &out)));
    canonical(read_experiment(&out.join("crash-sweep")).unwrap())
}

fn hidden_files(experiment: &Path) -> Vec<PathBuf> {
    TABLE_NAMES
        .iter()
        .filter_map(|t| fs::read_dir(experiment.join(t)).ok())
        .flatten()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect()
}

/// The number of runs a finished command says it skipped.
fn skipped(stdout: &str) -> usize {
    let before = stdout
        .split(" skipped as already stored")
        .next()
        .unwrap_or_else(|| panic!("no skipped count in:\n{stdout}"));
    before
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no skipped count in:\n{stdout}"))
}

/// When to kill a run.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// While the first runs train, before anything is written.
    Early,
    /// Once some parts are stored.
    AfterParts(usize),
    /// As soon as a temporary file of a part shows up: in the middle of writing it.
    WhileWriting,
}

/// Starts the sweep, kills it (SIGKILL) at `moment`, and returns whether it was killed
/// before it finished.
fn kill_at(file: &Path, out: &Path, moment: Moment) -> bool {
    let mut child = spawn(&run_args(file, out), &[]);
    let experiment = out.join("crash-sweep");
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        let due = match moment {
            Moment::Early => started.elapsed() > Duration::from_millis(150),
            Moment::AfterParts(n) => {
                experiment.join("runs").is_dir() && parts(&experiment, "runs").len() >= n
            }
            Moment::WhileWriting => !hidden_files(&experiment).is_empty(),
        };
        if due {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the sweep neither finished nor reached {moment:?}"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn a_killed_run_resumes_to_the_tables_of_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_sweep(&tmp.path().join("experiments"), SWEEP);
    let expected = reference(tmp.path(), &file);
    assert_eq!(expected.runs.len(), 120);

    let mut caught_writing = false;
    let moments = [
        Moment::Early,
        Moment::AfterParts(3),
        Moment::WhileWriting,
        Moment::WhileWriting,
        Moment::WhileWriting,
    ];
    for (attempt, moment) in moments.into_iter().enumerate() {
        let out = tmp.path().join(format!("killed-{attempt}"));
        let experiment = out.join("crash-sweep");
        assert!(kill_at(&file, &out, moment), "{moment:?}: finished first");
        let stored = if parts_exist(&experiment) {
            // What a reader sees after a crash is whole runs only.
            let tables = read_experiment(&experiment)
                .unwrap_or_else(|e| panic!("{moment:?}: unreadable after the kill: {e}"));
            assert!(tables.runs.len() < 120, "{moment:?}");
            let per_run = tables.history.len() / tables.runs.len().max(1);
            assert_eq!(tables.history.len(), per_run * tables.runs.len());
            tables.runs.len()
        } else {
            0
        };
        if matches!(moment, Moment::WhileWriting) && !hidden_files(&experiment).is_empty() {
            caught_writing = true;
        }
        let resumed = vanishing(&run_args(&file, &out));
        assert_success(&resumed);
        let stdout = String::from_utf8(resumed.stdout).unwrap();
        assert_eq!(skipped(&stdout), stored, "{moment:?}:\n{stdout}");
        assert_eq!(
            canonical(read_experiment(&experiment).unwrap()),
            expected,
            "{moment:?}"
        );
        // The dead writer's temporary files are gone once the sweep completes.
        assert_eq!(
            hidden_files(&experiment),
            Vec::<PathBuf>::new(),
            "{moment:?}"
        );
        if caught_writing && attempt >= 2 {
            break;
        }
    }
    assert!(
        caught_writing,
        "no kill landed while a part was being written"
    );
}

fn parts_exist(experiment: &Path) -> bool {
    experiment.join("runs").is_dir() && !parts(experiment, "runs").is_empty()
}

#[test]
fn shards_started_together_fill_one_folder_with_the_unsharded_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_sweep(&tmp.path().join("experiments"), SWEEP);
    let expected = reference(tmp.path(), &file);
    let out = tmp.path().join("sharded");
    let shards: Vec<String> = (0..3).map(|i| format!("{i}/3")).collect();
    let children: Vec<Child> = shards
        .iter()
        .map(|shard| {
            let mut args = run_args(&file, &out);
            args.truncate(args.len() - 2);
            args.extend(["--jobs", "1", "--shard", shard]);
            spawn(&args, &[])
        })
        .collect();
    let mut trained = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_success(&output);
        let stdout = String::from_utf8(output.stdout).unwrap();
        trained += stdout
            .split(" trained in ")
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no trained count in:\n{stdout}"));
    }
    assert_eq!(trained, 120, "every run trained by exactly one shard");
    let experiment = out.join("crash-sweep");
    assert_eq!(canonical(read_experiment(&experiment).unwrap()), expected);

    let status = vanishing(&[
        "status",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_success(&status);
    let text = String::from_utf8(status.stdout).unwrap();
    assert!(text.contains("120 of 120 runs done, 0 missing"), "{text}");
}

#[test]
fn slurm_array_variables_choose_the_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_sweep(
        &tmp.path().join("experiments"),
        &SWEEP.replace("count = 60", "count = 5"),
    );
    let expected = reference(tmp.path(), &file);
    let out = tmp.path().join("array");
    let mut args = run_args(&file, &out);
    args.extend(["--shard", "slurm"]);
    // An array 3-4: tasks 3 and 4 are shards 0 and 1 of 2.
    for task in ["3", "4"] {
        let env = [
            ("SLURM_ARRAY_TASK_ID", task.to_owned()),
            ("SLURM_ARRAY_TASK_MIN", "3".to_owned()),
            ("SLURM_ARRAY_TASK_COUNT", "2".to_owned()),
        ];
        let output = spawn(&args, &env).wait_with_output().unwrap();
        assert_success(&output);
        let status = vanishing(&[
            "status",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        let text = String::from_utf8(status.stdout).unwrap();
        let done = if task == "3" { "5 of 10" } else { "10 of 10" };
        assert!(
            text.contains(&format!("{done} runs done")),
            "{task}: {text}"
        );
    }
    assert_eq!(
        canonical(read_experiment(&out.join("crash-sweep")).unwrap()),
        expected
    );
    // Outside an array, `slurm` is refused as bad input.
    let output = vanishing(&args);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("SLURM_ARRAY_TASK_ID"));
}

#[test]
fn an_edited_file_leaves_only_the_runs_it_defines() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("experiments");
    let small = SWEEP.replace("count = 60", "count = 4");
    let file = write_sweep(&dir, &small);
    let out = tmp.path().join("data");
    assert_success(&vanishing(&run_args(&file, &out)));

    // Fewer seeds: the two dropped seeds' runs go, the others are kept, not retrained.
    let fewer = write_sweep(&dir, &SWEEP.replace("count = 60", "count = 2"));
    let output = vanishing(&run_args(&fewer, &out));
    assert_success(&output);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("0 trained") && stdout.contains("4 skipped"),
        "{stdout}"
    );
    assert!(stdout.contains("4 stale runs removed"), "{stdout}");
    let expected = reference(&tmp.path().join("fewer"), &fewer);
    let tables = canonical(read_experiment(&out.join("crash-sweep")).unwrap());
    assert_eq!(tables, expected);

    // A changed hyperparameter makes every run a new one.
    let changed = write_sweep(
        &dir,
        &SWEEP
            .replace("count = 60", "count = 2")
            .replace("epochs = 15", "epochs = 3"),
    );
    let output = vanishing(&run_args(&changed, &out));
    assert_success(&output);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("4 trained") && stdout.contains("4 stale runs removed"),
        "{stdout}"
    );
    let tables = read_experiment(&out.join("crash-sweep")).unwrap();
    assert_eq!(tables.runs.len(), 4);
    assert!(tables.runs.iter().all(|r| r.epochs == 3));
    assert!(tables.metrics.iter().all(|m| m.epoch <= 3));
}

#[test]
fn a_changed_data_file_makes_its_runs_new_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("experiments");
    fs::create_dir_all(&dir).unwrap();
    let points = |flip: &str| {
        let mut csv = String::from("a,b,y\n");
        for i in 0..40 {
            let (a, b) = (f64::from(i) / 40.0, f64::from(i % 7) / 7.0);
            let y = if i == 0 {
                flip
            } else if a > 0.5 {
                "1"
            } else {
                "0"
            };
            csv.push_str(&format!("{a},{b},{y}\n"));
        }
        csv
    };
    fs::write(dir.join("points.csv"), points("0")).unwrap();
    let file = dir.join("own-data.toml");
    fs::write(
        &file,
        "name = \"own-data\"\nseeds = { count = 2 }\n[data]\nkind = \"file\"\npath = \"points.csv\"\n\
         label = \"y\"\nstandardize = true\n[model]\nhidden = [4]\nactivation = \"tanh\"\n\
         [train]\nepochs = 2\nbatch_size = 8\n",
    )
    .unwrap();
    let out = tmp.path().join("data");
    let run = |expected: &str| {
        let output = vanishing(&run_args(&file, &out));
        assert_success(&output);
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(stdout.contains(expected), "{stdout}");
        read_experiment(&out.join("own-data")).unwrap().runs
    };
    let first = run("2 trained");
    // The same bytes: nothing to do.
    assert_eq!(run("0 trained").len(), 2);
    // A run's saved configuration runs again on the same file...
    let saved = dir.join("saved.toml");
    fs::write(&saved, &first[0].config_toml).unwrap();
    assert!(first[0].config_toml.contains("content_hash = "));
    assert_success(&vanishing(&["validate", saved.to_str().unwrap()]));
    // One label changed: both runs are new ones, with new configuration hashes.
    fs::write(dir.join("points.csv"), points("1")).unwrap();
    // ...and is refused on a changed one.
    let refused = vanishing(&["validate", saved.to_str().unwrap()]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(
        stderr.contains("saved.toml:")
            && stderr.contains("`data.path`")
            && stderr.contains("not the one this configuration was recorded with"),
        "{stderr}"
    );
    let changed = run("2 trained");
    assert_eq!(changed.len(), 2);
    for run in &changed {
        assert!(
            first.iter().all(|f| f.config_hash != run.config_hash),
            "{} kept its hash",
            run.config_hash
        );
    }
}

/// A Python with DuckDB, polars and pyarrow: `VANISHING_PYTHON`, else `python3` if it
/// imports them.
fn python_with_readers() -> Option<PathBuf> {
    let candidate: PathBuf =
        std::env::var_os("VANISHING_PYTHON").map_or_else(|| "python3".into(), Into::into);
    let ok = Command::new(&candidate)
        .args(["-c", "import duckdb, polars, pyarrow.dataset"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(candidate)
}

/// The script `data/README.md` documents, counting rows and run ids of every table with
/// each reader; prints `table reader rows runs` lines.
const READERS: &str = r#"
import sys, duckdb, polars as pl, pyarrow.dataset as ds
folder = sys.argv[1]
for table in sys.argv[2:]:
    path = f"{folder}/{table}"
    rows, runs = duckdb.sql(
        f"select count(*), count(distinct run_id) from read_parquet('{path}/*.parquet')"
    ).fetchall()[0]
    print(table, "duckdb", rows, runs)
    frame = pl.scan_parquet(f"{path}/*.parquet").select(
        pl.len(), pl.col("run_id").n_unique()
    ).collect()
    print(table, "polars", frame.item(0, 0), frame.item(0, 1))
    t = ds.dataset(path, format="parquet").to_table(columns=["run_id"])
    print(table, "pyarrow", t.num_rows, len(set(t.column("run_id").to_pylist())))
"#;

#[test]
#[allow(clippy::print_stderr)] // A skipped readers' test must be visible.
fn duckdb_polars_and_pyarrow_read_each_folder_as_one_table() {
    let Some(python) = python_with_readers() else {
        assert!(
            std::env::var_os("VANISHING_REQUIRE_READERS").is_none(),
            "VANISHING_REQUIRE_READERS is set but no Python with duckdb, polars and pyarrow"
        );
        eprintln!(
            "\n*** SKIPPED duckdb_polars_and_pyarrow_read_each_folder_as_one_table: no Python \
             with duckdb, polars and pyarrow (set VANISHING_PYTHON) ***\n"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let file = write_sweep(
        &tmp.path().join("experiments"),
        &SWEEP.replace("count = 60", "count = 20"),
    );
    let out = tmp.path().join("data");
    assert_success(&vanishing(&run_args(&file, &out)));
    let experiment = out.join("crash-sweep");
    assert!(parts(&experiment, "history").len() > 1, "several parts");
    // A temporary file of a write in progress is not part of any table.
    fs::write(
        experiment.join("history/.part-999999-0.parquet.tmp-elsewhere.1"),
        b"half a file",
    )
    .unwrap();
    let tables = read_experiment(&experiment).unwrap();
    let mut args = vec![
        "-c".to_owned(),
        READERS.to_owned(),
        experiment.to_str().unwrap().to_owned(),
    ];
    args.extend(TABLE_NAMES.iter().map(|t| (*t).to_owned()));
    let output = Command::new(&python).args(&args).output().unwrap();
    assert_success(&output);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let expected_rows = |table: &str| match table {
        "runs" => tables.runs.len(),
        "history" => tables.history.len(),
        "metrics" => tables.metrics.len(),
        "histograms" => tables.histograms.len(),
        "dataset" => tables.dataset.len(),
        "boundary" => tables.boundary.len(),
        other => panic!("unknown table {other}"),
    };
    let mut lines = 0;
    for line in stdout.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [table, reader, rows, runs] = fields[..] else {
            panic!("unexpected line {line:?}");
        };
        let rows: usize = rows.parse().unwrap();
        let runs: usize = runs.parse().unwrap();
        assert_eq!(rows, expected_rows(table), "{table} through {reader}");
        let expected_runs = if rows == 0 { 0 } else { 40 };
        assert_eq!(runs, expected_runs, "{table} through {reader}");
        lines += 1;
    }
    assert_eq!(lines, 3 * TABLE_NAMES.len(), "{stdout}");
}

#[test]
fn a_part_that_cannot_be_written_stops_the_sweep_with_its_path() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_sweep(
        &tmp.path().join("experiments"),
        &SWEEP.replace("count = 60", "count = 3"),
    );
    let out = tmp.path().join("data");
    // A file where the history folder should be.
    fs::create_dir_all(out.join("crash-sweep")).unwrap();
    fs::write(out.join("crash-sweep/history"), b"in the way").unwrap();
    let output = vanishing(&run_args(&file, &out));
    assert_eq!(output.status.code(), Some(1), "a failure, not bad input");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.contains("crash-sweep/history"),
        "{stderr}"
    );
    // Nothing was committed: no runs part, and the obstacle is untouched.
    assert!(!out.join("crash-sweep/runs").exists());
    assert_eq!(
        fs::read(out.join("crash-sweep/history")).unwrap(),
        b"in the way"
    );
}

#[test]
fn a_full_disk_stops_the_sweep_leaving_earlier_results_and_no_partial_part() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("experiments");
    let out = tmp.path().join("data");
    let earlier = write_sweep(
        &dir,
        &SWEEP
            .replace("crash-sweep", "earlier")
            .replace("count = 60", "count = 2"),
    );
    assert_success(&vanishing(&run_args(&earlier, &out)));
    let before = snapshot(&out.join("earlier"));
    let file = write_sweep(&dir, SWEEP);

    // A file-size limit of 32 kB stands in for a full disk: a part's first table is
    // larger, and the write fails with EFBIG ("File too large") instead of killing the
    // process, since the shell ignores the signal the limit sends (SIGXFSZ), and the
    // binary inherits that.
    let output = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_vanishing"))
        .args(run_args(&file, &out))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("crash-sweep/")
            && stderr.contains("cannot write the table: File too large"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one message: {stderr}");
    let experiment = out.join("crash-sweep");
    // Nothing half-written where readers look: no temporary files, and no table's part
    // without its `runs` part.
    assert_eq!(hidden_files(&experiment), Vec::<PathBuf>::new());
    let committed = if experiment.join("runs").is_dir() {
        parts(&experiment, "runs").len()
    } else {
        0
    };
    for table in TABLE_NAMES {
        let folder = experiment.join(table);
        let n = if folder.is_dir() {
            parts(&experiment, table).len()
        } else {
            0
        };
        assert_eq!(n, committed, "{table}");
    }
    assert_eq!(
        snapshot(&out.join("earlier")),
        before,
        "earlier results changed"
    );

    // With room again, the same command completes the sweep.
    assert_success(&vanishing(&run_args(&file, &out)));
    assert_eq!(
        canonical(read_experiment(&experiment).unwrap()),
        reference(tmp.path(), &file)
    );
}

/// Runs of every kind side by side: two activations, a test split, histograms, both
/// precisions and a wide layer that cannot share lanes, 11 seeds each (full groups of
/// eight and ragged ones).
const MIXED: &str = r#"
name = "crash-sweep"
description = "Runs of several kinds, to compare lanes with runs alone."
seeds = { count = 11, start = 0 }

[data]
kind = "moons"
n_samples = 150
noise = 0.2
test_fraction = 0.2

[model]
hidden = [5, 5, 3]
activation = "tanh"

[train]
epochs = 6
batch_size = 16

[record]
every = 4
histogram_bins = 20
boundary_grid = 9

[sweep]
"model.activation" = ["tanh", "relu"]
"train.precision" = ["f32", "f64"]
"model.hidden" = [[5, 5, 3], [40]]
"#;

/// Normalized and residual networks, which train alone, beside plain ones in lanes.
const REMEDIES: &str = r#"
name = "crash-sweep"
description = "Remedies, to compare thread counts."
seeds = { count = 3, start = 0 }

[data]
n_samples = 120
noise = 0.1

[model]
hidden = [6, 6, 6]
activation = "sigmoid"

[optimizer]
kind = "adam"

[train]
epochs = 5
batch_size = 16

[record]
every = 3
histogram_bins = 10
boundary_grid = 7

[sweep]
"model.norm" = ["none", "batch", "layer"]
"model.residual" = [false, true]
"train.precision" = ["f32", "f64"]
"#;

#[test]
fn runs_side_by_side_write_the_tables_of_runs_trained_alone() {
    // Also the determinism contract across thread counts: the reference trains on two
    // threads, the comparison on one.
    let tmp = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("tutorial-like", SWEEP),
        ("mixed", MIXED),
        ("remedies", REMEDIES),
    ] {
        let file = write_sweep(&tmp.path().join(name), text);
        let together = reference(&tmp.path().join(name), &file);
        let out = tmp.path().join(name).join("alone");
        let (file_arg, out_arg) = (file.to_str().unwrap(), out.to_str().unwrap());
        let args = [
            "run", file_arg, "--out", out_arg, "-q", "--jobs", "1", "--alone",
        ];
        assert_success(&vanishing(&args));
        let alone = canonical(read_experiment(&out.join("crash-sweep")).unwrap());
        assert!(!alone.runs.is_empty() && !alone.history.is_empty());
        assert!(
            together == alone,
            "{name}: runs side by side wrote other tables than runs alone"
        );
    }
}

#[test]
fn two_commands_writing_one_experiment_leave_the_tables_of_one() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_sweep(&tmp.path().join("experiments"), SWEEP);
    let expected = reference(tmp.path(), &file);
    let out = tmp.path().join("twice");
    let experiment = out.join("crash-sweep");
    let mut args = run_args(&file, &out);
    args.truncate(args.len() - 2);
    args.extend(["--jobs", "1"]);
    // The second command starts once the first has stored parts, so that it plans only
    // the runs still missing then, which the first trains too: the two write parts of
    // different names holding the same runs, and one of them finishes while the other
    // still writes.
    let first = spawn(&args, &[]);
    let started = Instant::now();
    while !(parts_exist(&experiment) && parts(&experiment, "runs").len() >= 2) {
        assert!(started.elapsed() < Duration::from_secs(120), "no parts");
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = spawn(&args, &[]);
    for child in [first, second] {
        assert_success(&child.wait_with_output().unwrap());
    }
    assert_eq!(canonical(read_experiment(&experiment).unwrap()), expected);
    assert_eq!(hidden_files(&experiment), Vec::<PathBuf>::new());
    // Each run once, in parts that every table has: the last command to finish pruned
    // the duplicates, and none of a part's tables went missing under the other.
    let names = |table: &str| -> Vec<String> {
        parts(&experiment, table)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    let committed = names("runs");
    for table in TABLE_NAMES {
        assert_eq!(names(table), committed, "{table}");
    }
    assert_eq!(read_experiment(&experiment).unwrap().runs.len(), 120);
}

#[test]
fn a_folder_another_command_writes_to_is_not_pruned_under_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("experiments");
    let file = write_sweep(&dir, &SWEEP.replace("count = 60", "count = 4"));
    let out = tmp.path().join("data");
    assert_success(&vanishing(&run_args(&file, &out)));
    let fewer = write_sweep(&dir, &SWEEP.replace("count = 60", "count = 2"));

    // This test stands in for a command still training into the folder: it holds the
    // lock such a command holds.
    let writer = fs::File::open(out.join("crash-sweep").join(".lock")).unwrap();
    writer.lock_shared().unwrap();
    let output = vanishing(&run_args(&fewer, &out));
    assert_success(&output);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!stdout.contains("stale runs removed"), "{stdout}");
    let tables = read_experiment(&out.join("crash-sweep")).unwrap();
    assert_eq!(tables.runs.len(), 8, "nothing pruned while another writes");

    // Once that command is done, the next one to finish prunes.
    drop(writer);
    let output = vanishing(&run_args(&fewer, &out));
    assert_success(&output);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("4 stale runs removed"), "{stdout}");
}
