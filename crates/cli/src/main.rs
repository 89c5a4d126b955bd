//! The `vanishing` binary: parses the command line and reports errors with the exit
//! codes of the contract (0 ok, 2 bad input, 1 failure).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vanishing::runner::{self, BadInput, RunOptions};

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
    },
    /// Check experiment files without running anything.
    Validate {
        /// Experiment files, or folders whose *.toml files to check.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
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
            let _ = writeln!(std::io::stderr().lock(), "error: {e:#}");
            ExitCode::from(code)
        }
    }
}

fn execute(command: Command) -> anyhow::Result<String> {
    match command {
        Command::Run {
            paths,
            out,
            jobs,
            quiet,
        } => {
            if jobs == Some(0) {
                return Err(
                    runner::bad_path(&PathBuf::from("--jobs"), "must be at least 1").into(),
                );
            }
            if out.exists() && !out.is_dir() {
                return Err(runner::bad_path(&out, "--out must be a folder").into());
            }
            let files = runner::collect_files(&paths)?;
            let experiments = runner::load_all(&files)?;
            let options = RunOptions {
                out,
                jobs: jobs
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
                progress: !quiet,
            };
            let (reports, elapsed) = runner::run_all(&experiments, &options)?;
            Ok(runner::format_summary(&reports, elapsed))
        }
        Command::Validate { paths } => Ok(runner::validate(&paths)?),
    }
}
