//! Specs shared by the train crate's integration tests.
#![allow(dead_code, unreachable_pub)]

use vanishing_core::{Activation, Init, Loss, Optimizer, RmsProp};
use vanishing_data::Circles;
use vanishing_train::{DataSpec, ModelSpec, Precision, RecordPolicy, RunSpec};

/// The tutorial's deep network on 200 points (to keep tests fast).
pub fn tutorial(activation: Activation, epochs: u32, record: RecordPolicy) -> RunSpec {
    RunSpec {
        data: DataSpec::Circles(Circles {
            n_samples: 200,
            factor: 0.5,
            noise: 0.1,
            shuffle: true,
        }),
        test_fraction: 0.0,
        model: ModelSpec {
            hidden: vec![5, 5, 5, 5],
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
        epochs,
        batch_size: 32,
        record,
        histogram_bins: None,
        boundary_grid: 11,
        precision: Precision::F32,
        seed: 42,
    }
}
