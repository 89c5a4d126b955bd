//! Several classes: a softmax over the digits' ten classes learns, its accuracy is the
//! arg-max's, a single output unit is refused for more than two classes, and a user's
//! table is standardized with its training rows' statistics only.

mod common;

use std::sync::Arc;

use vanishing_core::{Activation, Adam, Init, Loss, Optimizer};
use vanishing_data::{Dataset, Split};
use vanishing_train::{
    DataSpec, FileData, History, LoadedTable, RecordPolicy, TrainError, prepare_data, train,
};

fn digits(epochs: u32) -> vanishing_train::RunSpec {
    let mut spec = common::tutorial(Activation::Tanh, epochs, RecordPolicy::Epoch);
    spec.data = DataSpec::Digits;
    spec.test_fraction = 0.25;
    spec.model.hidden = vec![32, 32];
    spec.model.output = Activation::Softmax;
    spec.model.loss = Loss::CategoricalCrossEntropy;
    spec.model.init = Init::GlorotUniform;
    spec.optimizer = Optimizer::Adam(Adam::default());
    spec.boundary_grid = 41;
    spec
}

#[test]
fn a_softmax_over_the_digits_learns_and_is_scored_by_its_arg_max() {
    let spec = digits(15);
    let data = prepare_data(&spec).unwrap();
    assert_eq!(data.train.n_features, 64);
    assert_eq!(data.train.len() + data.test.len(), 1797);
    let mut history = History::default();
    let outcome = train(&spec, &data, &mut history).unwrap();
    // Before training, ten classes leave a network near chance (about 0.1) and its loss
    // near ln 10; after, it tells most held-out digits apart.
    let first = &history.metrics[0];
    assert!(
        first.accuracy < 0.3,
        "at initialization: {}",
        first.accuracy
    );
    assert!(
        (first.loss - 10f64.ln()).abs() < 0.5,
        "initial loss {} vs ln 10",
        first.loss
    );
    let (test_loss, test_accuracy) = outcome.final_test.unwrap();
    assert!(test_accuracy > 0.9, "test accuracy {test_accuracy}");
    assert!(test_loss < 0.5, "test loss {test_loss}");
    // The output layer has one unit per class, and 64 inputs feed the first.
    let output = history
        .layers
        .iter()
        .find(|r| r.layer == 3 && r.quantity == vanishing_train::Quantity::Activation)
        .unwrap();
    // Softmax outputs are probabilities: ten of them average exactly 1/10.
    assert!(
        (output.stats.mean - 0.1).abs() < 1e-6,
        "{}",
        output.stats.mean
    );
    // Images have no decision surface over a plane.
    assert!(history.boundary.is_none());
}

#[test]
fn a_single_output_unit_is_refused_for_ten_classes() {
    let mut spec = digits(1);
    spec.model.output = Activation::Sigmoid;
    spec.model.loss = Loss::BinaryCrossEntropy;
    assert_eq!(
        spec.validate(),
        Err(TrainError::BinaryOutput { classes: 10 })
    );
}

#[test]
fn a_file_is_standardized_with_its_training_rows_only() {
    // Two features; the second constant. Eight rows of two classes.
    let x: Vec<f64> = (0..8).flat_map(|i| [f64::from(i), 5.0]).collect();
    let labels = vec![0, 1, 0, 1, 0, 1, 0, 1];
    let table = LoadedTable {
        dataset: Dataset {
            x,
            labels,
            n_features: 2,
        },
        feature_names: vec!["a".into(), "b".into()],
        classes: vec![3, 7],
        content_hash: "0123456789abcdef".into(),
    };
    let mut spec = common::tutorial(Activation::Tanh, 1, RecordPolicy::Epoch);
    spec.data = DataSpec::File(FileData {
        path: "t.csv".into(),
        label: "y".into(),
        features: None,
        standardize: true,
        content_hash: None,
        table: Some(Arc::new(table)),
    });
    spec.test_fraction = 0.25;
    let Split { train, test } = prepare_data(&spec).unwrap();
    assert_eq!((train.len(), test.len()), (6, 2));
    let column = |d: &Dataset, j: usize| (0..d.len()).map(|i| d.x[i * 2 + j]).collect::<Vec<_>>();
    let a = column(&train, 0);
    let mean = a.iter().sum::<f64>() / 6.0;
    let var = a.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 6.0;
    assert!(
        mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12,
        "{mean} {var}"
    );
    // The constant feature is only centred.
    assert!(
        column(&train, 1)
            .iter()
            .chain(&column(&test, 1))
            .all(|&v| v == 0.0)
    );
    // The raw values are 0 to 7, one per row. Scaled by one affine map, train and test
    // rows together are evenly spaced again; test rows scaled with their own mean and
    // deviation would not be.
    let mut all: Vec<f64> = a.iter().chain(&column(&test, 0)).copied().collect();
    all.sort_by(f64::total_cmp);
    let step = all[1] - all[0];
    for pair in all.windows(2) {
        assert!((pair[1] - pair[0] - step).abs() < 1e-12, "{all:?}");
    }
    // And that map is the training rows': one raw unit is 1 / their deviation.
    let raw: Vec<f64> = (0..8).map(f64::from).collect();
    let train_raw_sd = {
        // The training rows' raw values, recovered from the map.
        let back: Vec<f64> = a.iter().map(|v| (v - all[0]) / step).collect();
        let m = back.iter().sum::<f64>() / 6.0;
        (back.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 6.0).sqrt()
    };
    assert!(
        (step - 1.0 / train_raw_sd).abs() < 1e-12,
        "{step} vs {train_raw_sd}"
    );
    assert_eq!(raw.len(), all.len());
}

#[test]
fn a_file_nobody_read_is_refused() {
    let mut spec = common::tutorial(Activation::Tanh, 1, RecordPolicy::Epoch);
    spec.data = DataSpec::File(FileData {
        path: "t.csv".into(),
        label: "y".into(),
        features: None,
        standardize: false,
        content_hash: None,
        table: None,
    });
    assert_eq!(
        prepare_data(&spec).unwrap_err(),
        TrainError::FileNotRead {
            path: "t.csv".into()
        }
    );
}
