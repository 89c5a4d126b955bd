//! The core learns: a small network trained with plain minibatch loops on
//! `make_circles` data reaches the accuracy the tutorial reports, and a deep sigmoid
//! network shows the vanishing gradient at initialization while ReLU does not.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vanishing_core::{
    Activation, Adam, Architecture, Init, LayerSpec, Loss, MatRef, Optimizer, Workspace,
};
use vanishing_data::{Circles, Dataset};

fn circles(seed: u64) -> Dataset {
    Circles {
        n_samples: 1000,
        factor: 0.5,
        noise: 0.1,
        shuffle: true,
    }
    .generate_seeded(seed)
    .unwrap()
}

fn mlp(hidden: &[usize], activation: Activation, init: Init) -> Architecture {
    let mut layers: Vec<LayerSpec> = hidden
        .iter()
        .map(|&units| LayerSpec::dense(units, activation, init))
        .collect();
    layers.push(LayerSpec::dense(1, Activation::Sigmoid, init));
    Architecture::new(2, layers, Loss::BinaryCrossEntropy).unwrap()
}

/// Copies the given rows into column-major `x` and `y` buffers.
fn gather(data: &Dataset, rows: &[usize], x: &mut Vec<f32>, y: &mut Vec<f32>) {
    x.clear();
    y.clear();
    for j in 0..data.n_features {
        x.extend(rows.iter().map(|&i| data.row(i)[j] as f32));
    }
    y.extend(rows.iter().map(|&i| data.labels[i] as f32));
}

/// Trains for `epochs` with minibatches of 32 reshuffled every epoch, and returns the
/// accuracy on the whole set.
fn train(arch: &Architecture, opt: Optimizer, data: &Dataset, epochs: usize, seed: u64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut params: Vec<f32> = arch.init_params(&mut rng);
    let mut grads = vec![0.0; arch.n_params()];
    let mut state = opt.init_state(arch.n_params());
    let mut ws = Workspace::new(arch, 32);
    let mut order: Vec<usize> = (0..data.len()).collect();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..epochs {
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        for rows in order.chunks(32) {
            gather(data, rows, &mut x, &mut y);
            let xb = MatRef::from_column_major_slice(&x, rows.len(), 2);
            ws.forward_backward(arch, &params, xb, &y, &mut grads);
            opt.step(&mut state, &mut params, &grads);
        }
    }
    let all: Vec<usize> = (0..data.len()).collect();
    let mut correct = 0;
    let mut eval = Workspace::new(arch, data.len());
    gather(data, &all, &mut x, &mut y);
    eval.forward(
        arch,
        &params,
        MatRef::from_column_major_slice(&x, data.len(), 2),
    );
    for (i, &label) in y.iter().enumerate() {
        if (eval.output()[(i, 0)] > 0.5) == (label > 0.5) {
            correct += 1;
        }
    }
    f64::from(correct) / data.len() as f64
}

#[test]
fn small_relu_network_learns_circles() {
    // The tutorial's first model: 2-5-1, ReLU, Adam, 100 epochs (it printed 0.973).
    let arch = mlp(&[5], Activation::Relu, Init::GlorotUniform);
    let mut accuracies: Vec<f64> = (0..5)
        .map(|seed| {
            train(
                &arch,
                Optimizer::Adam(Adam::default()),
                &circles(seed),
                100,
                seed,
            )
        })
        .collect();
    accuracies.sort_by(f64::total_cmp);
    assert!(accuracies[2] > 0.9, "median accuracy {accuracies:?}");
}

/// Standard deviation of layer `l`'s kernel gradient on one batch of 32 at initialization.
fn first_batch_grad_std(arch: &Architecture, data: &Dataset, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let params: Vec<f64> = arch.init_params(&mut rng);
    let mut grads = vec![0.0; arch.n_params()];
    let mut ws = Workspace::new(arch, 32);
    let rows: Vec<usize> = (0..32).collect();
    let x: Vec<f64> = (0..2)
        .flat_map(|j| rows.iter().map(move |&i| data.row(i)[j]))
        .collect();
    let y: Vec<f64> = rows.iter().map(|&i| f64::from(data.labels[i])).collect();
    ws.forward_backward(
        arch,
        &params,
        MatRef::from_column_major_slice(&x, 32, 2),
        &y,
        &mut grads,
    );
    arch.shapes()
        .iter()
        .map(|s| {
            let g = &grads[s.kernel.clone()];
            let mean = g.iter().sum::<f64>() / g.len() as f64;
            (g.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / g.len() as f64).sqrt()
        })
        .collect()
}

#[test]
fn deep_sigmoid_gradients_vanish_towards_the_input() {
    // The tutorial's deep network (2-5-5-5-5-1, N(0,1) init). Over 21 seeds, the median
    // ratio of the first layer's kernel-gradient std to the last layer's is far below
    // one for sigmoid, and not for ReLU.
    let median_ratio = |activation| {
        let arch = mlp(
            &[5, 5, 5, 5],
            activation,
            Init::Normal {
                mean: 0.0,
                std: 1.0,
            },
        );
        let mut ratios: Vec<f64> = (0..21)
            .map(|seed| {
                let stds = first_batch_grad_std(&arch, &circles(seed), seed);
                stds[0] / stds[stds.len() - 1]
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        ratios[10]
    };
    let sigmoid = median_ratio(Activation::Sigmoid);
    let relu = median_ratio(Activation::Relu);
    assert!(sigmoid < 0.1, "sigmoid: first/last gradient std {sigmoid}");
    assert!(relu > 10.0 * sigmoid, "relu {relu} vs sigmoid {sigmoid}");
}
