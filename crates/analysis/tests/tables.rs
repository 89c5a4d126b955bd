//! Tables written from real training runs read back identically; damaged or foreign
//! files are refused with errors naming the file; summaries compute what they say.

use std::fs;
use std::path::{Path, PathBuf};

use polars_core::prelude::{Column, DataFrame};
use polars_io::parquet::write::ParquetWriter;
use vanishing_analysis::{
    AnalysisError, Histograms, PartName, Pruned, RunMeta, RunResult, StoredRun, TABLE_NAMES,
    WriterTag, accuracy_summary, prune, read_all, read_all_with, read_experiment,
    read_experiment_with, stored_runs, stored_summary, table_columns, vanishing_ratios,
    write_experiment, write_part,
};
use vanishing_core::{Activation, Init, Loss, Optimizer, RmsProp};
use vanishing_data::Circles;
use vanishing_train::{
    BinEdges, DataSpec, History, ModelSpec, Precision, Quantity, RecordPolicy, RunSpec,
    prepare_data, train,
};

fn spec(activation: Activation, seed: u64) -> RunSpec {
    RunSpec {
        data: DataSpec::Circles(Circles {
            n_samples: 100,
            factor: 0.5,
            noise: 0.1,
            shuffle: true,
        }),
        test_fraction: 0.2,
        model: ModelSpec {
            hidden: vec![5, 5, 5],
            activation,
            output: Activation::Sigmoid,
            init: Init::Normal {
                mean: 0.0,
                std: 1.0,
            },
            loss: Loss::BinaryCrossEntropy,
            norm: vanishing_core::Norm::None,
            residual: false,
        },
        optimizer: Optimizer::RmsProp(RmsProp::default()),
        epochs: 3,
        batch_size: 32,
        record: RecordPolicy::Epoch,
        histogram_bins: Some(5),
        boundary_grid: 7,
        precision: Precision::F32,
        seed,
    }
}

fn run(activation: Activation, seed: u64) -> RunResult {
    let spec = spec(activation, seed);
    let data = prepare_data(&spec).unwrap();
    let mut history = History::default();
    let outcome = train(&spec, &data, &mut history).unwrap();
    RunResult {
        meta: RunMeta {
            experiment: "demo".to_owned(),
            description: "A demonstration.".to_owned(),
            label: activation.name().to_owned(),
            config_toml: format!("seed = {seed}\n"),
            config_hash: "0123456789abcdef".to_owned(),
            framework: "vanishing".to_owned(),
            framework_version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        spec,
        outcome,
        history,
        data,
    }
}

/// The part files of one table of the experiment in `exp`, sorted by name.
fn parts(exp: &Path, table: &str) -> Vec<PathBuf> {
    let mut parts: Vec<PathBuf> = fs::read_dir(exp.join(table))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    parts.sort();
    parts
}

fn first_part(exp: &Path, table: &str) -> PathBuf {
    parts(exp, table).remove(0)
}

fn runs() -> Vec<RunResult> {
    vec![
        run(Activation::Sigmoid, 1),
        run(Activation::Sigmoid, 2),
        run(Activation::Relu, 1),
    ]
}

#[test]
fn written_tables_read_back_with_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let runs = runs();
    let path = write_experiment(dir.path(), "demo", &runs).unwrap();
    assert_eq!(path, dir.path().join("demo"));
    let tables = read_experiment(&path).unwrap();
    assert_eq!(tables.name, "demo");
    assert_eq!(tables.runs.len(), 3);
    let ids: Vec<&str> = tables.runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, ["sigmoid/s1", "sigmoid/s2", "relu/s1"]);

    // 4 layers x (7 quantities x 4 records (3 epochs + final) + the updates of the 3
    // records followed by a step) per run.
    assert_eq!(tables.history.len(), 3 * 4 * (7 * 4 + 3));
    // 4 evaluations x 2 splits per run.
    assert_eq!(tables.metrics.len(), 3 * 4 * 2);
    // One histogram per history row, each with its quantity's fixed bins.
    let bins = |q| BinEdges::new(q, 5).len();
    let per_run = 4 * (4 * bins(Quantity::Activation) + (6 * 4 + 3) * bins(Quantity::Weight));
    assert_eq!(tables.histograms.len(), 3 * per_run);
    assert_eq!(tables.dataset.len(), 3 * 100);
    // A 7 x 7 grid per run, over the data's range and a margin.
    assert_eq!(tables.boundary.len(), 3 * 49);
    let xs: Vec<f64> = tables.boundary.iter().take(7).map(|b| b.x0).collect();
    assert!(xs.windows(2).all(|w| w[1] > w[0]));
    assert!(
        tables
            .boundary
            .iter()
            .all(|b| (0.0..=1.0).contains(&b.probability))
    );

    // Values survive the trip exactly.
    let first = &runs[0];
    let r = &first.history.layers[7];
    let row = &tables.history[7];
    assert_eq!(
        (row.epoch, row.step, row.layer),
        (i64::from(r.epoch), r.step as i64, i64::from(r.layer))
    );
    assert_eq!(row.quantity, r.quantity.name());
    assert_eq!(row.std.to_bits(), r.stats.std.to_bits());
    assert_eq!(row.saturated_frac, r.stats.saturated_frac);
    let run_row = &tables.runs[0];
    assert_eq!(
        run_row.final_accuracy.to_bits(),
        first.outcome.final_accuracy.to_bits()
    );
    assert_eq!(run_row.hidden, "5-5-5");
    assert_eq!(run_row.depth, 3);
    assert_eq!(run_row.init, "normal(0, 1)");
    assert_eq!(run_row.optimizer, "rmsprop(keras2)");
    assert!(run_row.final_test_accuracy.is_some());
    assert_eq!(tables.history[0].layer_name, "hidden1");
    assert!(
        tables
            .history
            .iter()
            .any(|h| h.layer_name == "output" && h.layer == 4)
    );
    // Every histogram of a quantity has the same edges, from -inf to +inf, and its
    // counts add up to its tensor's size (a 5 x 5 kernel for layer 2).
    for q in Quantity::ALL {
        let edges = BinEdges::new(q, 5);
        let rows: Vec<_> = tables
            .histograms
            .iter()
            .filter(|h| h.quantity == q.name() && h.layer == 2)
            .collect();
        assert!(!rows.is_empty(), "{q:?}");
        for record in rows.chunks(edges.len()) {
            let lo: Vec<f64> = record.iter().map(|h| h.bin_lo).collect();
            let hi: Vec<f64> = record.iter().map(|h| h.bin_hi).collect();
            assert_eq!(lo, edges.edges()[..edges.len()], "{q:?}");
            assert_eq!(hi, edges.edges()[1..], "{q:?}");
            assert!(record.iter().all(|h| h.step == record[0].step));
            let total: i64 = record.iter().map(|h| h.count).sum();
            if matches!(
                q,
                Quantity::Weight | Quantity::WeightGrad | Quantity::Update
            ) {
                assert_eq!(total, 25, "{q:?}");
            }
        }
    }
}

#[test]
fn rewriting_replaces_the_folder_whole() {
    let dir = tempfile::tempdir().unwrap();
    write_experiment(dir.path(), "demo", &runs()).unwrap();
    fs::write(dir.path().join("demo/stale.txt"), "left over").unwrap();
    write_experiment(dir.path(), "demo", &runs()[..1]).unwrap();
    let tables = read_experiment(&dir.path().join("demo")).unwrap();
    assert_eq!(tables.runs.len(), 1);
    assert!(!dir.path().join("demo/stale.txt").exists());
    // No staging or retired folders are left behind.
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["demo"]);
}

#[test]
fn histograms_can_stay_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    write_experiment(dir.path(), "demo", &runs()).unwrap();
    let full = read_all(dir.path()).unwrap();
    let light = read_all_with(dir.path(), Histograms::Skip).unwrap();
    assert!(
        !full[0].histograms.is_empty(),
        "the fixture records histograms"
    );
    assert!(light[0].histograms.is_empty());
    // Everything else is read as before.
    assert_eq!(light[0].runs, full[0].runs);
    assert_eq!(light[0].history, full[0].history);
    assert_eq!(light[0].metrics, full[0].metrics);
    // Or only those at initialization are read.
    let initial = read_all_with(dir.path(), Histograms::Initial).unwrap();
    let expected: Vec<_> = full[0]
        .histograms
        .iter()
        .filter(|h| h.step == 0)
        .cloned()
        .collect();
    assert!(!expected.is_empty() && expected.len() < full[0].histograms.len());
    assert_eq!(initial[0].histograms, expected);
    assert_eq!(initial[0].history, full[0].history);
    // A damaged histogram table is not even opened when skipped, and refused otherwise.
    let exp = dir.path().join("demo");
    fs::write(first_part(&exp, "histograms"), b"not parquet").unwrap();
    assert!(read_experiment_with(&exp, Histograms::Skip).is_ok());
    assert!(read_experiment(&exp).is_err());
}

#[test]
fn summaries_group_runs_by_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let runs = runs();
    write_experiment(dir.path(), "demo", &runs).unwrap();
    let all = read_all(dir.path()).unwrap();
    assert_eq!(all.len(), 1);
    let summary = accuracy_summary(&all[0].runs);
    assert_eq!(summary.len(), 2);
    assert_eq!((summary[0].label.as_str(), summary[0].runs), ("sigmoid", 2));
    let (a, b) = (
        runs[0].outcome.final_accuracy,
        runs[1].outcome.final_accuracy,
    );
    let finished = summary[0].finished.expect("no run diverged");
    assert!((finished.mean - (a + b) / 2.0).abs() < 1e-12);
    assert!((finished.std - (a - b).abs() / 2.0).abs() < 1e-12);
    assert!((finished.min - a.min(b)).abs() < 1e-12 && (finished.max - a.max(b)).abs() < 1e-12);

    let ratios = vanishing_ratios(&all[0]);
    assert_eq!(ratios.len(), 2);
    // The geometric mean of the two sigmoid runs' first/last gradient-std ratios at
    // the first record, computed here from the raw records.
    let ratio_at_init = |r: &RunResult| {
        let std = |layer| {
            r.history
                .layers
                .iter()
                .find(|l| l.layer == layer && l.step == 0 && l.quantity == Quantity::WeightGrad)
                .unwrap()
                .stats
                .std
        };
        std(1) / std(4)
    };
    let expected = (ratio_at_init(&runs[0]) * ratio_at_init(&runs[1])).sqrt();
    assert!(
        (ratios[0].at_init - expected).abs() < 1e-9 * expected,
        "{} vs {expected}",
        ratios[0].at_init
    );
    assert_eq!(ratios[0].runs, 2);
}

fn write_frame(path: &Path, mut frame: DataFrame) {
    let mut file = fs::File::create(path).unwrap();
    ParquetWriter::new(&mut file).finish(&mut frame).unwrap();
}

#[test]
fn damaged_and_foreign_tables_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_experiment(dir.path(), "demo", &runs()).unwrap();
    let exp = dir.path().join("demo");

    // Truncated.
    let metrics = first_part(&exp, "metrics");
    let bytes = fs::read(&metrics).unwrap();
    fs::write(&metrics, &bytes[..bytes.len() / 2]).unwrap();
    let err = read_experiment(&exp).unwrap_err();
    assert!(matches!(err, AnalysisError::Parquet { .. }), "{err}");
    assert!(err.to_string().contains("metrics/part-"), "{err}");

    // Not Parquet at all.
    fs::write(&metrics, "run_id,epoch\n").unwrap();
    assert!(
        read_experiment(&exp)
            .unwrap_err()
            .to_string()
            .contains("metrics/part-")
    );

    // A column missing.
    let frame = DataFrame::new(
        1,
        vec![
            Column::new("run_id".into(), ["a"]),
            Column::new("epoch".into(), [0_i64]),
        ],
    )
    .unwrap();
    write_frame(&metrics, frame);
    let err = read_experiment(&exp).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: missing column `step`", metrics.display())
    );

    // A column of the wrong type.
    let frame = DataFrame::new(
        1,
        vec![
            Column::new("run_id".into(), ["a"]),
            Column::new("epoch".into(), ["zero"]),
        ],
    )
    .unwrap();
    write_frame(&metrics, frame);
    let err = read_experiment(&exp).unwrap_err();
    assert!(
        matches!(
            err,
            AnalysisError::WrongType {
                column: "epoch",
                ..
            }
        ),
        "{err}"
    );

    // No tables at all.
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    assert!(matches!(
        read_experiment(&empty),
        Err(AnalysisError::NoTables { .. })
    ));
    assert!(matches!(
        read_all(&empty),
        Err(AnalysisError::NoTables { .. })
    ));
    assert!(matches!(
        read_all(&dir.path().join("missing")),
        Err(AnalysisError::Io { .. })
    ));
}

#[test]
fn the_schema_is_the_documented_contract() {
    let expected: [(&str, &[&str]); 6] = [
        (
            "runs",
            &[
                "run_id",
                "experiment",
                "description",
                "label",
                "seed",
                "data",
                "n_samples",
                "noise",
                "activation",
                "output",
                "init",
                "norm",
                "residual",
                "optimizer",
                "learning_rate",
                "depth",
                "width",
                "hidden",
                "epochs",
                "batch_size",
                "record",
                "final_loss",
                "final_accuracy",
                "final_test_loss",
                "final_test_accuracy",
                "diverged",
                "steps",
                "wall_ms",
                "config_toml",
                "config_hash",
                "crate_version",
                "framework",
                "framework_version",
            ],
        ),
        (
            "history",
            &[
                "run_id",
                "epoch",
                "step",
                "layer",
                "layer_name",
                "quantity",
                "mean",
                "std",
                "abs_mean",
                "l2",
                "min",
                "max",
                "p02",
                "p98",
                "saturated_frac",
            ],
        ),
        (
            "metrics",
            &["run_id", "epoch", "step", "split", "loss", "accuracy"],
        ),
        (
            "histograms",
            &[
                "run_id", "epoch", "step", "layer", "quantity", "bin_lo", "bin_hi", "count",
            ],
        ),
        (
            "dataset",
            &["run_id", "seed", "split", "x0", "x1", "label", "features"],
        ),
        ("boundary", &["run_id", "x0", "x1", "probability"]),
    ];
    assert_eq!(table_columns(), expected);
}

/// The fixture's runs with a distinct `config_hash` each, as real configurations have.
fn keyed_runs() -> Vec<RunResult> {
    let mut runs = runs();
    for run in &mut runs {
        run.meta.config_hash = format!("{}-{}", run.meta.label, run.spec.seed);
    }
    runs
}

fn ids(tables: &vanishing_analysis::ExperimentTables) -> Vec<&str> {
    tables.runs.iter().map(|r| r.run_id.as_str()).collect()
}

#[test]
fn parts_written_one_batch_at_a_time_read_as_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let runs = keyed_runs();
    let whole = read_experiment(&write_experiment(dir.path(), "whole", &runs).unwrap()).unwrap();
    let exp = dir.path().join("parts");
    write_part(&exp, &PartName::of(0, &runs[..2]), &runs[..2]).unwrap();
    write_part(&exp, &PartName::of(2, &runs[2..]), &runs[2..]).unwrap();
    for table in TABLE_NAMES {
        assert_eq!(parts(&exp, table).len(), 2, "{table}");
    }
    let mut streamed = read_experiment(&exp).unwrap();
    streamed.name = "whole".to_owned();
    assert_eq!(streamed, whole);
    let stored = stored_runs(&exp).unwrap();
    assert_eq!(
        stored
            .iter()
            .map(|r| (r.run_id.as_str(), r.config_hash.as_str(), r.seed))
            .collect::<Vec<_>>(),
        [
            ("sigmoid/s1", "sigmoid-1", 1),
            ("sigmoid/s2", "sigmoid-2", 2),
            ("relu/s1", "relu-1", 1)
        ]
    );
    assert_eq!(stored_summary(&stored), accuracy_summary(&whole.runs));
    // No temporary file is left behind.
    for table in TABLE_NAMES {
        let hidden = fs::read_dir(exp.join(table))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(hidden, 0, "{table}");
    }
}

#[test]
fn a_part_without_its_runs_part_is_not_read_and_a_run_stored_twice_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let runs = keyed_runs();
    let exp = dir.path().join("demo");
    write_part(&exp, &PartName::of(0, &runs[..2]), &runs[..2]).unwrap();
    // A crash after the other tables' parts of the last run, before its runs part.
    let orphan = PartName::of(2, &runs[2..]);
    write_part(&exp, &orphan, &runs[2..]).unwrap();
    fs::remove_file(exp.join("runs").join(orphan.as_str())).unwrap();
    let tables = read_experiment(&exp).unwrap();
    assert_eq!(ids(&tables), ["sigmoid/s1", "sigmoid/s2"]);
    assert!(tables.history.iter().all(|h| h.run_id != "relu/s1"));
    assert_eq!(tables.dataset.len(), 2 * 100);

    // The run trained again in a batch with another: stored twice, read once.
    write_part(&exp, &PartName::of(1, &runs[1..]), &runs[1..]).unwrap();
    let tables = read_experiment(&exp).unwrap();
    assert_eq!(ids(&tables), ["sigmoid/s1", "sigmoid/s2", "relu/s1"]);
    assert_eq!(tables.history.len(), 3 * 4 * (7 * 4 + 3));
    assert_eq!(stored_runs(&exp).unwrap().len(), 3);

    // Pruning leaves every run once and removes the orphan's files.
    let pruned = prune(&exp, &|_| true, &|_| false, &WriterTag::new("test")).unwrap();
    assert_eq!(pruned.stale_runs, 1, "sigmoid/s2 was stored twice");
    for table in TABLE_NAMES {
        assert_eq!(parts(&exp, table).len(), 2, "{table}");
    }
    let after = read_experiment(&exp).unwrap();
    assert_eq!(after, tables);
}

#[test]
fn pruning_keeps_exactly_the_runs_still_defined() {
    let dir = tempfile::tempdir().unwrap();
    let runs = keyed_runs();
    let exp = dir.path().join("demo");
    write_part(&exp, &PartName::of(0, &runs[..2]), &runs[..2]).unwrap();
    write_part(&exp, &PartName::of(2, &runs[2..]), &runs[2..]).unwrap();
    let before = read_experiment(&exp).unwrap();
    // The file now defines sigmoid seed 1 only: one part loses a run, the other goes.
    let keep = |r: &StoredRun| r.config_hash == "sigmoid-1" && r.seed == 1;
    let pruned = prune(&exp, &keep, &|_| false, &WriterTag::new("test")).unwrap();
    assert_eq!(pruned.stale_runs, 2);
    for table in TABLE_NAMES {
        assert_eq!(parts(&exp, table).len(), 1, "{table}");
    }
    let after = read_experiment(&exp).unwrap();
    assert_eq!(ids(&after), ["sigmoid/s1"]);
    let only = |rows: &[vanishing_analysis::HistoryRow]| -> Vec<vanishing_analysis::HistoryRow> {
        rows.iter()
            .filter(|r| r.run_id == "sigmoid/s1")
            .cloned()
            .collect()
    };
    assert_eq!(after.history, only(&before.history));
    assert_eq!(after.runs[0], before.runs[0]);
    // A second prune finds nothing to do.
    assert_eq!(
        prune(&exp, &keep, &|_| false, &WriterTag::new("test")).unwrap(),
        Pruned::default()
    );
}

#[test]
fn pruning_removes_abandoned_temporary_files_and_the_old_single_files() {
    let dir = tempfile::tempdir().unwrap();
    let runs = keyed_runs();
    let exp = dir.path().join("demo");
    write_part(&exp, &PartName::of(0, &runs), &runs).unwrap();
    let dead = exp.join("history/.part-000009-00.parquet.tmp-elsewhere.12");
    let alive = exp.join("history/.part-000009-01.parquet.tmp-here.13");
    fs::write(&dead, b"half").unwrap();
    fs::write(&alive, b"half").unwrap();
    fs::write(exp.join("history.parquet"), b"old layout").unwrap();
    // Readers never see temporary files.
    assert_eq!(read_experiment(&exp).unwrap().runs.len(), 3);
    let abandoned = |tag: &str| tag == "elsewhere.12";
    let pruned = prune(&exp, &|_| true, &abandoned, &WriterTag::new("test")).unwrap();
    assert_eq!(pruned.files_removed, 2);
    assert!(!dead.exists() && alive.exists());
    assert!(!exp.join("history.parquet").exists());
}

#[test]
fn folders_of_the_layout_before_parts_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let runs = keyed_runs();
    let exp = write_experiment(dir.path(), "demo", &runs).unwrap();
    let expected = read_experiment(&exp).unwrap();
    // Each table's single part becomes the `<table>.parquet` of the old layout.
    let old = dir.path().join("old/demo");
    fs::create_dir_all(&old).unwrap();
    for table in TABLE_NAMES {
        fs::copy(
            first_part(&exp, table),
            old.join(format!("{table}.parquet")),
        )
        .unwrap();
    }
    let all = read_all(&dir.path().join("old")).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0], expected);
    assert!(
        stored_runs(&old).unwrap().is_empty(),
        "old tables are not resumed from"
    );
}

#[test]
fn a_part_that_fails_midway_takes_back_the_tables_it_had_written() {
    let dir = tempfile::tempdir().unwrap();
    let runs = keyed_runs();
    let exp = dir.path().join("demo");
    write_part(&exp, &PartName::of(0, &runs[..2]), &runs[..2]).unwrap();
    // The histograms folder replaced by a file: the part's history and metrics are
    // renamed into place before its histograms fail.
    fs::remove_dir_all(exp.join("histograms")).unwrap();
    fs::write(exp.join("histograms"), b"in the way").unwrap();
    let failed = PartName::of(2, &runs[2..]);
    let err = write_part(&exp, &failed, &runs[2..])
        .unwrap_err()
        .to_string();
    assert!(err.contains("histograms"), "{err}");
    for table in ["history", "metrics"] {
        let names: Vec<String> = parts(&exp, table)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [PartName::of(0, &runs[..2]).as_str()], "{table}");
    }
    assert!(!exp.join("runs").join(failed.as_str()).exists());
}
