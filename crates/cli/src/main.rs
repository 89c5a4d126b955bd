//! The `vanishing` binary: parses the command line and reports errors with the exit
//! codes of the contract (0 ok, 2 bad input, 1 failure).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vanishing::keras;
use vanishing::runner::{self, BadInput, RunOptions};
use vanishing::sweep::{self, Shard};
use vanishing_config::{Experiment, MAX_RUNS, format_count};
use vanishing_core::LANES;
use vanishing_report::ReportError;

/// Vanishing-gradient experiments: TOML in, Parquet histories out.
#[derive(Debug, Parser)]
#[command(name = "vanishing", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate experiment files, train every run, and write the tables.
    Run {
        /// Experiment files, or folders whose *.toml files to run.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Folder that receives one subfolder of Parquet tables per experiment.
        #[arg(long, default_value = "data")]
        out: PathBuf,
        /// Worker threads [default: the number of CPUs].
        #[arg(long, short = 'j')]
        jobs: Option<usize>,
        /// No progress bar.
        #[arg(long, short = 'q')]
        quiet: bool,
        /// Run every configuration with seeds 0..N instead of the files' seeds.
        #[arg(long, value_name = "N")]
        seeds: Option<u64>,
        /// Train only shard I of N (I from 0), or `slurm` for the task of a job array.
        #[arg(long, value_name = "I/N|slurm")]
        shard: Option<String>,
        /// Train every run alone rather than up to eight runs of a configuration side
        /// by side in vector lanes (the same results, more slowly).
        #[arg(long)]
        alone: bool,
    },
    /// Tell, per experiment, how many runs are stored and how many are missing.
    Status {
        /// Experiment files, or folders whose *.toml files to check.
        #[arg(default_value = "experiments")]
        paths: Vec<PathBuf>,
        /// Folder of experiment tables.
        #[arg(long, default_value = "data")]
        out: PathBuf,
        /// As given to `vanishing run`.
        #[arg(long, value_name = "N")]
        seeds: Option<u64>,
        /// Count only shard I of N, or `slurm`.
        #[arg(long, value_name = "I/N|slurm")]
        shard: Option<String>,
    },
    /// Write the HTML report from the tables in a data folder.
    Report {
        /// Folder of experiment tables, as written by `vanishing run`.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Folder that receives index.html.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
    },
    /// Run every experiment, then write the report and print its path.
    Reproduce {
        /// Experiment files, or folders whose *.toml files to run.
        #[arg(default_value = "experiments")]
        paths: Vec<PathBuf>,
        /// Folder for the tables.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Folder for the report.
        #[arg(long, default_value = "reports")]
        out: PathBuf,
        /// Worker threads [default: the number of CPUs].
        #[arg(long, short = 'j')]
        jobs: Option<usize>,
        /// No progress bar.
        #[arg(long, short = 'q')]
        quiet: bool,
    },
    /// Check experiment files without running anything.
    Validate {
        /// Experiment files, or folders whose *.toml files to check.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// The side-by-side comparison with Keras (see docs/fidelity.md).
    Keras {
        #[command(subcommand)]
        command: KerasCommand,
    },
}

#[derive(Debug, Subcommand)]
enum KerasCommand {
    /// Print the run plan (JSON) that the Keras harness replays.
    Plan {
        /// Experiment files, or folders whose *.toml files to plan.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Plan every configuration with seeds 0..N instead of the files' seeds.
        #[arg(long, value_name = "N")]
        seeds: Option<u64>,
    },
    /// Turn the harness' run files into tables, one folder per experiment.
    Import {
        /// Folder of run files written by the harness.
        dir: PathBuf,
        /// Folder that receives the tables.
        #[arg(long, default_value = "data/keras")]
        out: PathBuf,
    },
    /// Print the agreement of the medians over seeds, as Markdown.
    Compare {
        /// Folder of tables holding both frameworks' runs.
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli.command) {
        Ok(output) => {
            // A closed pipe (`vanishing run ... | head`) is not an error.
            let _ = std::io::stdout().lock().write_all(output.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let code = if e.is::<BadInput>() { 2 } else { 1 };
            let _ = writeln!(std::io::stderr().lock(), "error: {}", message(&e));
            ExitCode::from(code)
        }
    }
}

/// The error and its causes, each cause only where the messages before it do not already
/// say it (the table errors name their file and quote the system's reason).
fn message(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn execute(command: Command) -> anyhow::Result<String> {
    match command {
        Command::Run {
            paths,
            out,
            jobs,
            quiet,
            seeds,
            shard,
            alone,
        } => {
            let lanes = if alone { 1 } else { LANES };
            run(&paths, out, (jobs, lanes), quiet, seeds, shard.as_deref())
        }
        Command::Status {
            paths,
            out,
            seeds,
            shard,
        } => {
            let shard = parse_shard(shard.as_deref())?;
            let experiments = load(&paths, seeds)?;
            let statuses = sweep::status(&experiments, &out, shard)?;
            Ok(sweep::format_status(&statuses, &out, shard))
        }
        Command::Report { data, out } => {
            let page = report(&data, &out)?;
            Ok(format!("{}\n", page.display()))
        }
        Command::Reproduce {
            paths,
            data,
            out,
            jobs,
            quiet,
        } => {
            let summary = run(&paths, data.clone(), (jobs, LANES), quiet, None, None)?;
            let page = report(&data, &out)?;
            Ok(format!("{summary}report: {}\n", page.display()))
        }
        Command::Validate { paths } => Ok(runner::validate(&paths)?),
        Command::Keras {
            command: KerasCommand::Plan { paths, seeds },
        } => Ok(keras::plan(&load(&paths, seeds)?)),
        Command::Keras {
            command: KerasCommand::Import { dir, out },
        } => {
            let imported = keras::import(&dir, &out)?;
            Ok(imported
                .iter()
                .map(|i| format!("{}: {} runs -> {}\n", i.experiment, i.runs, i.dir.display()))
                .collect())
        }
        Command::Keras {
            command: KerasCommand::Compare { data },
        } => Ok(keras::compare(&data)?),
    }
}

/// Finds, validates and expands the experiment files, with seeds 0..N if asked.
fn load(paths: &[PathBuf], seeds: Option<u64>) -> anyhow::Result<Vec<Experiment>> {
    if seeds == Some(0) {
        return Err(runner::bad_path(&PathBuf::from("--seeds"), "must be at least 1").into());
    }
    let experiments = runner::load_all(&runner::collect_files(paths)?)?;
    Ok(match seeds {
        Some(n) => {
            // Checked before any seed list exists, as the files' own sweeps are.
            for e in &experiments {
                let runs =
                    u64::try_from(e.configurations.len()).map_or(u64::MAX, |c| c.saturating_mul(n));
                if runs > MAX_RUNS as u64 {
                    return Err(runner::bad_path(
                        &PathBuf::from(format!("--seeds {n}")),
                        &format!(
                            "{} would define {} runs ({} configurations x {} seeds); an \
                             experiment may define at most {}",
                            e.file.display(),
                            format_count(runs.into()),
                            format_count(e.configurations.len() as u128),
                            format_count(n.into()),
                            format_count(MAX_RUNS as u128),
                        ),
                    )
                    .into());
                }
            }
            let seeds: Vec<u64> = (0..n).collect();
            experiments
                .into_iter()
                .map(|e| e.with_seeds(&seeds))
                .collect()
        }
        None => experiments,
    })
}

fn run(
    paths: &[PathBuf],
    out: PathBuf,
    (jobs, lanes): (Option<usize>, usize),
    quiet: bool,
    seeds: Option<u64>,
    shard: Option<&str>,
) -> anyhow::Result<String> {
    let shard = parse_shard(shard)?;
    if jobs == Some(0) {
        return Err(runner::bad_path(&PathBuf::from("--jobs"), "must be at least 1").into());
    }
    let experiments = load(paths, seeds)?;
    runner::prepare_output(&out, &experiments)?;
    let options = RunOptions {
        out,
        jobs: jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
        progress: !quiet,
        shard,
        lanes,
    };
    let (reports, elapsed) = runner::run_all(&experiments, &options)?;
    Ok(runner::format_summary(&reports, elapsed))
}

/// The shard of `--shard`, the whole sweep without it.
fn parse_shard(text: Option<&str>) -> Result<Shard, BadInput> {
    text.map_or(Ok(Shard::WHOLE), |text| {
        Shard::parse(text, |name| std::env::var(name).ok())
    })
}

/// Writes the report; unreadable tables and a folder that cannot be made are bad input
/// (exit 2), a failed write is not.
fn report(data: &Path, out: &Path) -> anyhow::Result<PathBuf> {
    match vanishing_report::write_report(data, out) {
        Ok(page) => Ok(page),
        Err(e @ (ReportError::Tables(_) | ReportError::Folder { .. })) => Err(BadInput {
            problems: vec![e.to_string()],
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}
