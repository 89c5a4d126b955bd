//! A sweep on a real SLURM cluster: the project's own `deploy/slurm/submit.sh` submits a
//! job array (one task per shard) and the report after it; the merged tables must equal
//! a local run's. The test uses a running cluster, or starts a one-machine cluster with
//! `deploy/slurm/local-cluster.sh` (root and Debian's SLURM packages needed) and stops it
//! again. Where neither works it is skipped with a message, unless
//! `VANISHING_REQUIRE_SLURM` is set, as CI sets it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use vanishing_analysis::read_experiment;

mod support;

use support::{assert_success, canonical, vanishing};

const SWEEP: &str = r#"
name = "slurm-sweep"
seeds = { count = 6, start = 0 }

[data]
kind = "circles"
n_samples = 200
factor = 0.5
noise = 0.1

[model]
hidden = [5, 5, 5]
activation = "tanh"

[train]
epochs = 20
batch_size = 16

[sweep]
"model.activation" = ["tanh", "sigmoid", "relu"]
"#;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/slurm")
}

fn quiet(command: &mut Command) -> Option<Output> {
    command.stdin(Stdio::null()).output().ok()
}

fn cluster_is_up() -> bool {
    quiet(Command::new("sinfo").args(["-h", "-o", "%t"])).is_some_and(|o| {
        let state = String::from_utf8_lossy(&o.stdout);
        o.status.success() && ["idle", "mix", "alloc"].iter().any(|s| state.contains(s))
    })
}

/// A cluster to submit to; `Some(true)` if this test started it.
fn cluster() -> Result<bool, String> {
    if cluster_is_up() {
        return Ok(false);
    }
    let started = quiet(Command::new(deploy().join("local-cluster.sh")).arg("start"))
        .ok_or_else(|| "deploy/slurm/local-cluster.sh could not be run".to_owned())?;
    if started.status.success() && cluster_is_up() {
        Ok(true)
    } else {
        Err(format!(
            "no SLURM cluster answers and local-cluster.sh start failed:\n{}{}",
            String::from_utf8_lossy(&started.stdout),
            String::from_utf8_lossy(&started.stderr)
        ))
    }
}

/// Stops the cluster on the way out if this test started it, even when it fails.
struct Stop(bool);

impl Drop for Stop {
    fn drop(&mut self) {
        if self.0 {
            let _ = quiet(Command::new(deploy().join("local-cluster.sh")).arg("stop"));
        }
    }
}

/// `JobState` and `ExitCode` of every job (or array task) `scontrol` lists for `id`.
fn job_states(id: &str) -> Vec<(String, String)> {
    let output = quiet(Command::new("scontrol").args(["show", "job", id])).unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    text.split("\n\n")
        .filter(|job| job.contains("JobId="))
        .map(|job| {
            let field = |name: &str| {
                job.split_whitespace()
                    .find_map(|w| w.strip_prefix(name))
                    .unwrap_or("?")
                    .to_owned()
            };
            (field("JobState="), field("ExitCode="))
        })
        .collect()
}

#[test]
#[allow(clippy::print_stderr)] // A skipped SLURM test must be visible.
fn a_job_array_of_shards_gives_the_tables_of_a_local_run() {
    let started = match cluster() {
        Ok(started) => started,
        Err(why) => {
            assert!(
                std::env::var_os("VANISHING_REQUIRE_SLURM").is_none(),
                "VANISHING_REQUIRE_SLURM is set but SLURM cannot start: {why}"
            );
            eprintln!(
                "\n*** SKIPPED a_job_array_of_shards_gives_the_tables_of_a_local_run: {why} ***\n"
            );
            return;
        }
    };
    let _stop = Stop(started);

    let tmp = tempfile::tempdir().unwrap();
    let experiments = tmp.path().join("experiments");
    fs::create_dir_all(&experiments).unwrap();
    fs::write(experiments.join("slurm-sweep.toml"), SWEEP).unwrap();
    let local = tmp.path().join("local");
    assert_success(&vanishing(&[
        "run",
        experiments.to_str().unwrap(),
        "--out",
        local.to_str().unwrap(),
        "--quiet",
    ]));

    let submitted = Command::new(deploy().join("submit.sh"))
        .arg("--cpus-per-task=1")
        .current_dir(tmp.path())
        .env("SHARDS", "4")
        .env("VANISHING", env!("CARGO_BIN_EXE_vanishing"))
        .env("EXPERIMENTS", &experiments)
        .env("DATA", tmp.path().join("data"))
        .env("REPORTS", tmp.path().join("reports"))
        .output()
        .unwrap();
    assert_success(&submitted);
    let ids = String::from_utf8(submitted.stdout).unwrap();
    let [array, report] = ids.split_whitespace().collect::<Vec<_>>()[..] else {
        panic!("submit.sh printed {ids:?}, not two job ids");
    };

    let begun = Instant::now();
    loop {
        let queued = quiet(Command::new("squeue").args(["-h", "-j", &format!("{array},{report}")]))
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        if queued.is_empty() {
            break;
        }
        assert!(
            begun.elapsed() < Duration::from_secs(300),
            "the jobs are still queued after 5 minutes:\n{queued}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let tasks = job_states(array);
    assert_eq!(tasks.len(), 4, "one task per shard: {tasks:?}");
    for (state, code) in tasks.iter().chain(&job_states(report)) {
        assert_eq!(
            (state.as_str(), code.as_str()),
            ("COMPLETED", "0:0"),
            "{tasks:?}"
        );
    }
    // Every task trained its share; together they trained the sweep once.
    let trained: usize = (0..4)
        .map(|task| {
            let log = tmp
                .path()
                .join(format!("vanishing-sweep-{array}_{task}.out"));
            let text = fs::read_to_string(&log).unwrap();
            text.split(" trained in ")
                .next()
                .and_then(|s| s.rsplit(' ').next())
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("{}: no trained count in\n{text}", log.display()))
        })
        .sum();
    assert_eq!(trained, 18);
    assert_eq!(
        canonical(read_experiment(&tmp.path().join("data/slurm-sweep")).unwrap()),
        canonical(read_experiment(&local.join("slurm-sweep")).unwrap())
    );
    assert!(tmp.path().join("reports/index.html").is_file());
}
