//! The lab natively: what it sends for an experiment file is what the command line's
//! tables hold, and what it refuses it refuses as the command line does.

use std::cell::RefCell;
use std::path::Path;

use serde_json::Value;
use vanishing_analysis::{RunMeta, RunResult, experiment_tables};
use vanishing_config::{Limits, config_hash, parse, resolved_toml};
use vanishing_lab::{Emit, LabError, plan, rows_json, run};
use vanishing_train::{History, RunSpec, prepare_data, train_together};

#[derive(Default)]
struct Messages(RefCell<Vec<Value>>);

impl Emit for Messages {
    fn emit(&self, message: &str) {
        let value: Value = serde_json::from_str(message).expect("every message is JSON");
        self.0.borrow_mut().push(value);
    }
}

const TUTORIAL: &str = r#"
name = "lab-test"
seeds = [3, 4]

[data]
kind = "circles"
n_samples = 200
factor = 0.5
noise = 0.1
test_fraction = 0.2

[model]
hidden = [5, 5, 5]
activation = "sigmoid"
init = { kind = "normal", mean = 0.0, std = 1.0 }

[optimizer]
kind = "rmsprop"

[train]
epochs = 6
batch_size = 32

[record]
every = "epoch"
histogram_bins = 8
boundary_grid = 5

[sweep]
"model.activation" = ["sigmoid", "relu"]
"#;

/// The tables the command line writes for `text`, trained as it trains them.
fn command_line_tables(text: &str) -> vanishing_analysis::ExperimentTables {
    let experiment = parse(Path::new("lab.toml"), text, Limits::NONE).unwrap();
    let planned_runs: Vec<_> = experiment.runs().collect();
    let specs: Vec<RunSpec> = planned_runs.iter().map(|r| r.spec.clone()).collect();
    let data: Vec<_> = specs.iter().map(|s| prepare_data(s).unwrap()).collect();
    let mut histories = vec![History::default(); specs.len()];
    let outcomes = train_together(&specs, &data, &mut histories).unwrap();
    let results: Vec<RunResult> = planned_runs
        .iter()
        .zip(specs)
        .zip(data)
        .zip(histories.into_iter().zip(outcomes))
        .map(|(((planned, spec), data), (history, outcome))| {
            let config_toml = resolved_toml(&experiment.name, &planned.label, &spec);
            let hash = config_hash(&config_toml);
            RunResult {
                meta: RunMeta::vanishing(
                    &experiment.name,
                    &experiment.description,
                    &planned.label,
                    config_toml,
                    hash,
                ),
                spec,
                outcome,
                history,
                data,
            }
        })
        .collect();
    experiment_tables(&experiment.name, &results)
}

fn rows(json: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(json)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Every row but its `wall_ms`, which no two trainings share.
fn without_wall(mut rows: Vec<Value>) -> Vec<Value> {
    for row in &mut rows {
        row.as_object_mut().unwrap().remove("wall_ms");
    }
    rows
}

#[test]
fn the_lab_sends_the_command_lines_rows() {
    let messages = Messages::default();
    run(TUTORIAL, &messages).unwrap();
    let messages = messages.0.into_inner();
    assert_eq!(messages[0]["type"], "plan");
    assert_eq!(messages[0]["runs"], 4);
    assert_eq!(messages[0]["configurations"], 2);

    // Gather the streamed rows per run, as the page does.
    let mut history = vec![Vec::new(); 4];
    let mut metrics = vec![Vec::new(); 4];
    let mut finals = vec![None; 4];
    let mut recursions = 0;
    for m in &messages[1..] {
        let run = m["run"].as_u64().unwrap() as usize;
        match m["type"].as_str().unwrap() {
            "rows" => {
                history[run].extend(m["history"].as_array().unwrap().iter().cloned());
                metrics[run].extend(m["metrics"].as_array().unwrap().iter().cloned());
                if let Some(r) = m.get("recursion") {
                    recursions += 1;
                    // Three hidden layers and an output: three steps, each with a
                    // prediction (slopes are recorded).
                    let steps = r.as_array().unwrap();
                    assert_eq!(steps.len(), 3);
                    assert!(steps.iter().all(|s| s["theory"].as_f64().unwrap() > 0.0));
                }
            }
            "run" => finals[run] = Some(m.clone()),
            other => panic!("unexpected message {other}"),
        }
    }
    assert_eq!(recursions, 4, "one prediction per run");
    let expected = command_line_tables(TUTORIAL);
    let streamed_history: Vec<Value> = history.concat();
    let streamed_metrics: Vec<Value> = metrics.concat();
    assert_eq!(streamed_history, rows(&rows_json(&expected.history)));
    assert_eq!(streamed_metrics, rows(&rows_json(&expected.metrics)));
    let mut runs = Vec::new();
    let mut dataset = Vec::new();
    let mut boundary = Vec::new();
    let mut histograms = Vec::new();
    for m in finals.into_iter().map(Option::unwrap) {
        runs.extend(rows(&m["runs"].to_string()));
        dataset.extend(rows(&m["dataset"].to_string()));
        boundary.extend(rows(&m["boundary"].to_string()));
        histograms.extend(rows(&m["histograms"].to_string()));
    }
    assert_eq!(
        without_wall(runs),
        without_wall(rows(&rows_json(&expected.runs)))
    );
    assert_eq!(dataset, rows(&rows_json(&expected.dataset)));
    assert_eq!(boundary, rows(&rows_json(&expected.boundary)));
    assert_eq!(histograms, rows(&rows_json(&expected.histograms)));
    assert!(!histograms.is_empty() && boundary.len() == 4 * 25);
}

#[test]
fn refusals_are_the_parsers() {
    let bad = TUTORIAL.replace("n_samples = 200", "n_sample = 200");
    let from_cli = parse(Path::new("lab.toml"), &bad, Limits::NONE).unwrap_err();
    let Err(LabError::Config(e)) = plan(&bad) else {
        panic!("a misspelled activation is refused")
    };
    assert_eq!(e.to_string(), from_cli.to_string());
    let json: Value = serde_json::from_str(&LabError::Config(e).to_json()).unwrap();
    assert_eq!(json["type"], "error");
    assert_eq!(json["line"], 7);
    assert_eq!(json["column"], 1);
    assert_eq!(json["key"], "data.n_sample");
    assert!(
        json["message"].as_str().unwrap().contains("n_samples"),
        "{json}"
    );
    let messages = Messages::default();
    assert!(run(&bad, &messages).is_err());
    assert!(
        messages.0.borrow().is_empty(),
        "nothing is sent for a refused file"
    );
}

#[test]
fn too_much_for_a_page_is_refused_with_the_count() {
    let many = TUTORIAL.replace("seeds = [3, 4]", "seeds = { count = 40, start = 0 }");
    let e = plan(&many).unwrap_err();
    assert!(matches!(e, LabError::TooLarge { runs: 80, .. }), "{e}");
    assert!(e.to_string().contains("80 runs"), "{e}");
    let long = TUTORIAL
        .replace("epochs = 6", "epochs = 3000")
        .replace("n_samples = 200", "n_samples = 20000")
        .replace("every = \"epoch\"", "every = 1000000000")
        .replace("histogram_bins = 8", "");
    let e = plan(&long).unwrap_err();
    assert!(matches!(e, LabError::TooLarge { runs: 4, .. }), "{e}");
    // Few seconds of training, but every step's histograms in fine bins: too many rows
    // to send to a page.
    let rows = TUTORIAL
        .replace("epochs = 6", "epochs = 25")
        .replace("every = \"epoch\"", "every = \"step\"")
        .replace("histogram_bins = 8", "histogram_bins = 50");
    let e = plan(&rows).unwrap_err();
    let LabError::TooLarge { rows, seconds, .. } = e else {
        panic!("{e}")
    };
    assert!(rows > vanishing_lab::MAX_ROWS && seconds < vanishing_lab::MAX_ESTIMATED_SECONDS);
}

#[test]
fn a_diverging_run_says_so() {
    let text = TUTORIAL
        .replace("seeds = [3, 4]", "seed = 1")
        .replace("kind = \"rmsprop\"", "kind = \"sgd\"\nlearning_rate = 1e30")
        .replace(
            "[sweep]\n\"model.activation\" = [\"sigmoid\", \"relu\"]\n",
            "",
        )
        .replace("activation = \"sigmoid\"", "activation = \"relu\"");
    let messages = Messages::default();
    run(&text, &messages).unwrap();
    let messages = messages.0.into_inner();
    let last = messages.last().unwrap();
    assert_eq!(last["type"], "run");
    assert_eq!(last["runs"][0]["diverged"], true);
    // A diverged run's loss is no number: it travels as a marked value, not as null.
    let loss = &last["runs"][0]["final_loss"];
    assert!(loss.is_object() || loss.is_number(), "{loss}");
}

#[test]
fn no_prediction_for_normalized_or_residual_networks() {
    // Glorot & Bengio's recursion is for plain layers; the lab predicts nothing for
    // the others rather than something wrong.
    for model in ["norm = \"batch\"", "norm = \"layer\"", "residual = true"] {
        let text = TUTORIAL
            .replace("seeds = [3, 4]", "seed = 1")
            .replace(
                "[sweep]\n\"model.activation\" = [\"sigmoid\", \"relu\"]\n",
                "",
            )
            .replace("[optimizer]", &format!("{model}\n[optimizer]"));
        let messages = Messages::default();
        run(&text, &messages).unwrap();
        let messages = messages.0.into_inner();
        assert!(messages.iter().any(|m| m["type"] == "rows"), "{model}");
        assert!(
            messages.iter().all(|m| m.get("recursion").is_none()),
            "{model}"
        );
    }
}
