//! A counting global allocator proves that a training step (forward, backward and an
//! optimizer update) allocates nothing once its buffers exist.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use vanishing_core::{
    Activation, Adam, Architecture, Init, LayerSpec, Loss, MatRef, Norm, Optimizer, RmsProp,
    RmsPropVariant, Scalar, Sgd, Workspace,
};
use vanishing_testkit::{CountingAllocator, allocations};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn optimizers() -> [Optimizer; 5] {
    [
        Optimizer::Sgd(Sgd::default()),
        Optimizer::Sgd(Sgd {
            momentum: 0.9,
            nesterov: true,
            ..Sgd::default()
        }),
        Optimizer::RmsProp(RmsProp::default()),
        Optimizer::RmsProp(RmsProp {
            momentum: 0.5,
            centered: true,
            variant: RmsPropVariant::Keras3,
            ..RmsProp::default()
        }),
        Optimizer::Adam(Adam::default()),
    ]
}

/// Builds a network and its buffers, takes one warm-up step per batch size, then counts
/// the allocations of `steps` more steps alternating between the full batch and a
/// remainder batch, as an epoch's last minibatch is.
fn allocations_per_steps<T: Scalar>(
    inputs: usize,
    hidden: &[usize],
    activation: Activation,
    batch: usize,
    steps: usize,
) -> u64 {
    allocations_with::<T>(
        inputs,
        hidden,
        activation,
        (Norm::None, false),
        1,
        batch,
        steps,
    )
}

/// [`allocations_per_steps`] for hidden layers with a normalization and, after the
/// first, skip connections; each step also updates the moving statistics and every
/// third passes the batch forward in evaluation mode. One output is a sigmoid under
/// binary cross-entropy; more are a softmax over that many classes, with one-hot
/// targets, under categorical cross-entropy.
fn allocations_with<T: Scalar>(
    inputs: usize,
    hidden: &[usize],
    activation: Activation,
    (norm, residual): (Norm, bool),
    outputs: usize,
    batch: usize,
    steps: usize,
) -> u64 {
    let mut layers: Vec<LayerSpec> = hidden
        .iter()
        .enumerate()
        .map(|(l, &units)| LayerSpec {
            norm,
            residual: residual && l > 0,
            ..LayerSpec::dense(units, activation, Init::GlorotUniform)
        })
        .collect();
    let (output, loss) = if outputs == 1 {
        (Activation::Sigmoid, Loss::BinaryCrossEntropy)
    } else {
        (Activation::Softmax, Loss::CategoricalCrossEntropy)
    };
    layers.push(LayerSpec::dense(outputs, output, Init::GlorotUniform));
    let arch = Architecture::new(inputs, layers, loss).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let x: Vec<T> = (0..batch * inputs)
        .map(|_| {
            let v: f64 = StandardNormal.sample(&mut rng);
            T::from_f64(v)
        })
        .collect();
    let remainder = batch / 4 + 1;
    // Column-major targets: the full batch's, and the remainder's (its own rows).
    let targets = |rows: usize| -> Vec<T> {
        if outputs == 1 {
            (0..rows).map(|i| T::from_f64((i % 2) as f64)).collect()
        } else {
            (0..outputs)
                .flat_map(|c| {
                    (0..rows).map(move |i| T::from_f64(f64::from(u8::from(i % outputs == c))))
                })
                .collect()
        }
    };
    let (y, y_part) = (targets(batch), targets(remainder));
    let x_full = MatRef::from_column_major_slice(&x, batch, inputs);
    let x_part = MatRef::from_column_major_slice(&x[..remainder * inputs], remainder, inputs);
    let mut total = 0;
    for opt in optimizers() {
        let mut params: Vec<T> = arch.init_params(&mut rng);
        let mut grads = vec![T::ZERO; arch.n_params()];
        let mut state = opt.init_state::<T>(arch.n_params());
        let mut moving = arch.init_state::<T>();
        let mut ws = Workspace::<T>::new(&arch, batch);
        let mut step = |ws: &mut Workspace<T>, params: &mut Vec<T>, full: bool| {
            let (x, y) = if full {
                (x_full, &y[..])
            } else {
                (x_part, &y_part[..])
            };
            let loss = ws.forward_backward(&arch, params, x, y, &mut grads);
            ws.update_moving_statistics(&arch, &mut moving);
            opt.step(&mut state, params, &grads);
            if !full {
                ws.infer(&arch, params, &moving, x);
            }
            loss
        };
        step(&mut ws, &mut params, true);
        step(&mut ws, &mut params, false);
        let before = allocations();
        let mut last_loss = T::ZERO;
        for i in 0..steps {
            last_loss = step(&mut ws, &mut params, i % 3 != 0);
        }
        total += allocations() - before;
        assert!(last_loss.is_finite());
    }
    total
}

#[test]
fn tutorial_network_steps_allocate_nothing() {
    for activation in [Activation::Sigmoid, Activation::Tanh, Activation::Relu] {
        assert_eq!(
            allocations_per_steps::<f32>(2, &[5, 5, 5, 5], activation, 32, 50),
            0,
            "f32 {activation}"
        );
        assert_eq!(
            allocations_per_steps::<f64>(2, &[5, 5, 5, 5], activation, 32, 50),
            0,
            "f64 {activation}"
        );
    }
}

#[test]
fn normalized_and_residual_steps_allocate_nothing() {
    for variant in [
        (Norm::Batch, false),
        (Norm::Layer, false),
        (Norm::None, true),
        (Norm::Batch, true),
    ] {
        for activation in [Activation::Sigmoid, Activation::Relu] {
            assert_eq!(
                allocations_with::<f32>(2, &[8, 8, 8, 8], activation, variant, 1, 32, 50),
                0,
                "f32 {activation} {variant:?}"
            );
            assert_eq!(
                allocations_with::<f64>(2, &[8, 8, 8, 8], activation, variant, 1, 32, 50),
                0,
                "f64 {activation} {variant:?}"
            );
        }
    }
}

#[test]
fn softmax_steps_allocate_nothing() {
    for variant in [
        (Norm::None, false),
        (Norm::Batch, false),
        (Norm::Layer, true),
    ] {
        assert_eq!(
            allocations_with::<f32>(4, &[8, 8, 8], Activation::Tanh, variant, 3, 32, 50),
            0,
            "f32 {variant:?}"
        );
        assert_eq!(
            allocations_with::<f64>(4, &[8, 8, 8], Activation::Tanh, variant, 9, 32, 50),
            0,
            "f64 {variant:?}"
        );
    }
}

#[test]
fn wide_network_steps_allocate_nothing() {
    assert_eq!(
        allocations_per_steps::<f32>(64, &[256, 256, 256], Activation::Tanh, 128, 4),
        0,
        "f32"
    );
    assert_eq!(
        allocations_per_steps::<f64>(64, &[256, 256, 256], Activation::Tanh, 128, 4),
        0,
        "f64"
    );
}

#[test]
fn the_counter_sees_allocations() {
    // Without this, a broken counter would make the tests above pass vacuously.
    let before = allocations();
    let v = std::hint::black_box(vec![1_u8; 100]);
    assert!(allocations() > before);
    drop(v);
}

#[test]
fn fused_steps_of_wide_layers_allocate_nothing_on_one_or_two_threads() {
    // 300 x 256 and 256 x 256 kernels run in blocks (at least 65,536 weights), so the
    // fused step goes through its block-by-block update and, with two threads, hands
    // halves to the pool.
    let arch = Architecture::new(
        300,
        vec![
            LayerSpec::dense(256, Activation::Tanh, Init::GlorotUniform),
            LayerSpec::dense(256, Activation::Tanh, Init::GlorotUniform),
            LayerSpec::dense(9, Activation::Softmax, Init::GlorotUniform),
        ],
        Loss::CategoricalCrossEntropy,
    )
    .unwrap();
    let batch = 10;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let x: Vec<f32> = (0..batch * 300)
        .map(|_| {
            let v: f64 = StandardNormal.sample(&mut rng);
            v as f32
        })
        .collect();
    let y: Vec<f32> = (0..9)
        .flat_map(|c| (0..batch).map(move |i| f32::from(u8::from(i % 9 == c))))
        .collect();
    let x = MatRef::from_column_major_slice(&x, batch, 300);
    for par in [vanishing_core::Par::Seq, vanishing_core::Par::rayon(2)] {
        for opt in optimizers() {
            let mut params: Vec<f32> = arch.init_params(&mut rng);
            let mut grads = vec![0.0; arch.n_params()];
            let mut state = opt.init_state::<f32>(arch.n_params());
            let mut ws = Workspace::<f32>::new(&arch, batch).with_par(par);
            // Warm-up: the thread pool starts, and its threads set themselves up, on the
            // first steps.
            for _ in 0..5 {
                ws.train_step(&arch, &mut params, x, &y, &mut grads, &opt, &mut state);
            }
            let before = allocations();
            let steps = 64;
            for _ in 0..steps {
                let loss = ws.train_step(&arch, &mut params, x, &y, &mut grads, &opt, &mut state);
                assert!(loss.is_finite());
            }
            let counted = allocations() - before;
            if par == vanishing_core::Par::Seq {
                assert_eq!(counted, 0, "{opt:?}");
            } else {
                // The step's own buffers all exist; what rayon's pool does when it hands
                // work to its other thread allocates now and then (about once in 16
                // steps here), never once a step.
                assert!(
                    counted <= steps / 8,
                    "{counted} allocations in {steps} steps, {opt:?}"
                );
            }
        }
    }
}
