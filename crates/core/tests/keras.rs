//! The core against values computed by TensorFlow/Keras itself (the fixture
#![allow(clippy::print_stderr)] // Prints the measured agreement for the record.
//! `data/keras-vectors.json` records the versions): a 2-4-3-1 network's output, loss and
//! every kernel and bias gradient under five hidden activations, and three steps of each
//! optimizer; networks with batch or layer normalization and residual layers
//! (`data/keras-norm-vectors.json`); and a softmax output under categorical
//! cross-entropy (`data/keras-softmax-vectors.json`).

use serde_json::Value;
use vanishing_core::{
    Activation, Adam, Architecture, Init, LayerSpec, Loss, MatRef, Norm, Optimizer, RmsProp,
    RmsPropVariant, Scalar, Sgd, Workspace,
};

fn fixture() -> Value {
    let text = include_str!("data/keras-vectors.json");
    serde_json::from_str(text).expect("the Keras fixture is valid JSON")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .expect("an array of rows")
        .iter()
        .map(floats)
        .collect()
}

/// A row-major nested list (Keras' `(fan_in, units)` kernels, or a batch of rows) in the
/// core's column-major layout.
fn column_major(rows: &[Vec<f64>]) -> Vec<f64> {
    let (m, n) = (rows.len(), rows[0].len());
    (0..n)
        .flat_map(|j| (0..m).map(move |i| rows[i][j]))
        .collect()
}

fn activation(name: &str) -> Activation {
    match name {
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "relu" => Activation::Relu,
        "softsign" => Activation::Softsign,
        "linear" => Activation::Linear,
        other => panic!("fixture names an unknown activation {other}"),
    }
}

#[track_caller]
fn assert_close(got: f64, expected: f64, rel: f64, what: &str) {
    let err = (got - expected).abs() / expected.abs().max(1e-3);
    assert!(
        err <= rel,
        "{what}: {got} vs Keras {expected} (relative error {err:e})"
    );
}

/// A gradient that is exactly zero in Keras (a dead ReLU unit) must be exactly zero here
/// too; any other must agree to `rel`.
#[track_caller]
#[allow(clippy::float_cmp)] // Exact zeros are the point of the comparison.
fn assert_grad(got: f64, expected: f64, rel: f64, what: &str) {
    if expected == 0.0 {
        assert_eq!(got, 0.0, "{what}");
    } else {
        assert_close(got, expected, rel, what);
    }
}

/// Runs every fixture network in `T` and compares output, loss and gradients.
fn check_mlp<T: Scalar>(rel: f64) {
    let fixture = fixture();
    let cases = fixture["mlp"].as_array().unwrap();
    assert_eq!(cases.len(), 5, "five activations in the fixture");
    for case in cases {
        let hidden = activation(case["hidden_activation"].as_str().unwrap());
        assert_eq!(case["output_activation"], "sigmoid");
        let sizes: Vec<usize> = case["sizes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap() as usize)
            .collect();
        let layers: Vec<LayerSpec> = sizes[1..]
            .iter()
            .enumerate()
            .map(|(l, &units)| {
                LayerSpec::dense(
                    units,
                    if l + 2 == sizes.len() {
                        Activation::Sigmoid
                    } else {
                        hidden
                    },
                    Init::Zeros,
                )
            })
            .collect();
        let arch = Architecture::new(sizes[0], layers, Loss::BinaryCrossEntropy).unwrap();

        // Parameters from Keras' kernels and biases, in the core's layout.
        let mut params = vec![T::ZERO; arch.n_params()];
        let kernels = case["kernels"].as_array().unwrap();
        let biases = case["biases"].as_array().unwrap();
        for (l, s) in arch.shapes().iter().enumerate() {
            let kernel = column_major(&matrix(&kernels[l]));
            for (p, v) in params[s.kernel.clone()].iter_mut().zip(&kernel) {
                *p = T::from_f64(*v);
            }
            for (p, v) in params[s.bias.clone()].iter_mut().zip(floats(&biases[l])) {
                *p = T::from_f64(v);
            }
        }
        let x_rows = matrix(&case["x"]);
        let x: Vec<T> = column_major(&x_rows).into_iter().map(T::from_f64).collect();
        let y: Vec<T> = floats(&case["y"]).into_iter().map(T::from_f64).collect();
        let batch = x_rows.len();
        let x = MatRef::from_column_major_slice(&x, batch, sizes[0]);

        let mut ws = Workspace::<T>::new(&arch, batch);
        let mut grads = vec![T::ZERO; arch.n_params()];
        let loss = ws.forward_backward(&arch, &params, x, &y, &mut grads);
        let name = case["hidden_activation"].as_str().unwrap();

        for (i, expected) in floats(&case["output"]).into_iter().enumerate() {
            assert_close(
                ws.output()[(i, 0)].to_f64(),
                expected,
                rel,
                &format!("{name} output {i}"),
            );
        }
        assert_close(
            loss.to_f64(),
            case["loss"].as_f64().unwrap(),
            rel,
            &format!("{name} loss"),
        );
        let grad_kernels = case["kernel_grads"].as_array().unwrap();
        let grad_biases = case["bias_grads"].as_array().unwrap();
        for (l, s) in arch.shapes().iter().enumerate() {
            let expected = column_major(&matrix(&grad_kernels[l]));
            for (k, (g, e)) in grads[s.kernel.clone()].iter().zip(&expected).enumerate() {
                assert_grad(
                    g.to_f64(),
                    *e,
                    rel,
                    &format!("{name} layer {} kernel entry {k}", l + 1),
                );
            }
            for (k, (g, e)) in grads[s.bias.clone()]
                .iter()
                .zip(floats(&grad_biases[l]))
                .enumerate()
            {
                assert_grad(
                    g.to_f64(),
                    e,
                    rel,
                    &format!("{name} layer {} bias entry {k}", l + 1),
                );
            }
        }
    }
}

#[test]
fn mlp_loss_and_gradients_match_keras_in_f64() {
    check_mlp::<f64>(1e-10);
}

#[test]
fn mlp_loss_and_gradients_match_keras_in_f32() {
    check_mlp::<f32>(2e-5);
}

/// The optimizer each fixture trajectory was produced with.
fn optimizer(name: &str, config: &Value) -> Optimizer {
    let get = |key: &str| {
        config[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: no {key}"))
    };
    let flag = |key: &str| {
        config[key]
            .as_bool()
            .unwrap_or_else(|| panic!("{name}: no {key}"))
    };
    if name.starts_with("sgd") {
        Optimizer::Sgd(Sgd {
            learning_rate: get("learning_rate"),
            momentum: get("momentum"),
            nesterov: flag("nesterov"),
        })
    } else if name.starts_with("rmsprop") {
        Optimizer::RmsProp(RmsProp {
            learning_rate: get("learning_rate"),
            rho: get("rho"),
            momentum: get("momentum"),
            epsilon: get("epsilon"),
            centered: flag("centered"),
            variant: if name.starts_with("rmsprop_keras2") {
                RmsPropVariant::Keras2
            } else {
                RmsPropVariant::Keras3
            },
        })
    } else if name.starts_with("adam") {
        Optimizer::Adam(Adam {
            learning_rate: get("learning_rate"),
            beta_1: get("beta_1"),
            beta_2: get("beta_2"),
            epsilon: get("epsilon"),
        })
    } else {
        panic!("fixture names an unknown optimizer {name}")
    }
}

/// How closely each trajectory must agree, relative to each step's size.
///
/// Keras keeps some hyperparameters in float32 even for float64 variables: SGD's
/// momentum (0.9 becomes 0.899999976) and the betas in Adam's bias correction
/// `sqrt(1 - beta_2^t) / (1 - beta_1^t)` (the moment updates use them in float64). That
/// moves a step by up to 7e-6 of its size, which a float32 run cannot see; the other
/// trajectories agree to rounding (a step is a difference of two numbers near 1, so
/// rounding alone is about 1e-12 of it).
fn tolerance(name: &str) -> f64 {
    if name.starts_with("adam") {
        1e-5
    } else if name.contains("momentum") || name.contains("nesterov") {
        1e-6
    } else {
        1e-10
    }
}

#[test]
fn optimizer_trajectories_match_keras() {
    let fixture = fixture();
    let cases = fixture["optimizers"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let opt = optimizer(name, &case["config"]);
        opt.validate().unwrap();
        let mut params = floats(&case["initial"]);
        let mut state = opt.init_state::<f64>(params.len());
        let gradients = matrix(&case["gradients"]);
        let expected = matrix(&case["after_each_step"]);
        let mut worst = 0.0_f64;
        for (step, (g, after)) in gradients.iter().zip(&expected).enumerate() {
            // Each step starts from Keras' own parameters, so that an error is not
            // carried into the next step's comparison.
            let before = if step == 0 {
                floats(&case["initial"])
            } else {
                expected[step - 1].clone()
            };
            params.clone_from(&before);
            opt.step(&mut state, &mut params, g);
            for (i, ((p, b), e)) in params.iter().zip(&before).zip(after).enumerate() {
                // Compared on the step taken, which is far stricter than on the
                // parameter itself.
                let err = ((p - b) - (e - b)).abs() / (e - b).abs();
                worst = worst.max(err);
                assert!(
                    err < tolerance(name),
                    "{name} step {} parameter {i}: {p} vs Keras {e} (relative error of the step {err:e})",
                    step + 1
                );
            }
        }
        eprintln!("{name}: worst relative error of a step {worst:e}");
        assert_eq!(state.iterations, 3);
    }
}

#[test]
fn rmsprop_epsilon_placements_part_on_vanishing_gradients() {
    // The fixture's last parameter sees gradients of 1e-5: the Keras 2 rule moves it
    // about ten times further than the Keras 3 rule in the first step.
    let fixture = fixture();
    let find = |n: &str| {
        fixture["optimizers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .unwrap()["after_each_step"][0][3]
            .as_f64()
            .unwrap()
    };
    let initial = 0.0003;
    let keras2 = find("rmsprop_keras2_defaults_formula") - initial;
    let keras3 = find("rmsprop_keras3_defaults") - initial;
    let ratio = keras2 / keras3;
    assert!(ratio > 5.0, "Keras 2 step {keras2}, Keras 3 step {keras3}");
    for (variant, expected) in [
        (RmsPropVariant::Keras2, keras2),
        (RmsPropVariant::Keras3, keras3),
    ] {
        let opt = Optimizer::RmsProp(RmsProp {
            variant,
            ..RmsProp::default()
        });
        let mut p = [initial];
        let mut state = opt.init_state(1);
        opt.step(&mut state, &mut p, &[-1e-5]);
        assert!(((p[0] - initial) - expected).abs() < 1e-12, "{variant:?}");
    }
}

/// The normalized and residual networks of `data/keras-norm-vectors.json` (written by
/// the project's `keras/norm_vectors.py`; the file records the versions).
fn norm_fixture() -> Value {
    let text = include_str!("data/keras-norm-vectors.json");
    serde_json::from_str(text).expect("the Keras normalization fixture is valid JSON")
}

/// One fixture network in the core: its architecture, and its parameters and state
/// from a fixture snapshot (`initial`, `after_pass` or `after_steps`).
struct NormCase {
    name: String,
    arch: Architecture,
}

impl NormCase {
    fn new(case: &Value) -> Self {
        let norm = match case["norm"].as_str().unwrap() {
            "batch" => Norm::Batch,
            "layer" => Norm::Layer,
            other => panic!("fixture names an unknown normalization {other}"),
        };
        let residual = case["residual"].as_bool().unwrap();
        let hidden = activation(case["activation"].as_str().unwrap());
        let sizes: Vec<usize> = case["sizes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap() as usize)
            .collect();
        let mut layers: Vec<LayerSpec> = sizes
            .iter()
            .enumerate()
            .map(|(l, &units)| LayerSpec {
                norm,
                residual: residual && l > 0,
                ..LayerSpec::dense(units, hidden, Init::Zeros)
            })
            .collect();
        layers.push(LayerSpec::dense(1, Activation::Sigmoid, Init::Zeros));
        let inputs = case["x"][0].as_array().unwrap().len();
        let arch = Architecture::new(inputs, layers, Loss::BinaryCrossEntropy).unwrap();
        let name = format!(
            "{} {}{}",
            case["norm"].as_str().unwrap(),
            case["activation"].as_str().unwrap(),
            if residual { " residual" } else { "" }
        );
        Self { name, arch }
    }

    /// Parameters and state from a snapshot, in the core's layouts.
    fn load(&self, snapshot: &Value) -> (Vec<f64>, Vec<f64>) {
        let mut params = vec![0.0; self.arch.n_params()];
        let mut state = self.arch.init_state::<f64>();
        let hidden = snapshot["hidden"].as_array().unwrap();
        let shapes = self.arch.shapes();
        for (s, layer) in shapes.iter().zip(hidden) {
            params[s.kernel.clone()].copy_from_slice(&column_major(&matrix(&layer["kernel"])));
            params[s.bias.clone()].copy_from_slice(&floats(&layer["bias"]));
            params[s.scale.clone()].copy_from_slice(&floats(&layer["gamma"]));
            params[s.shift.clone()].copy_from_slice(&floats(&layer["beta"]));
            if !s.moving_mean.is_empty() {
                state[s.moving_mean.clone()].copy_from_slice(&floats(&layer["moving_mean"]));
                state[s.moving_variance.clone()]
                    .copy_from_slice(&floats(&layer["moving_variance"]));
            }
        }
        let out = shapes.last().unwrap();
        params[out.kernel.clone()]
            .copy_from_slice(&column_major(&matrix(&snapshot["output_kernel"])));
        params[out.bias.clone()].copy_from_slice(&floats(&snapshot["output_bias"]));
        (params, state)
    }

    #[track_caller]
    fn assert_all_close(&self, got: &[f64], expected: &[f64], rel: f64, what: &str) {
        assert_eq!(got.len(), expected.len(), "{} {what}: length", self.name);
        for (k, (g, e)) in got.iter().zip(expected).enumerate() {
            assert_close(*g, *e, rel, &format!("{} {what} entry {k}", self.name));
        }
    }
}

#[test]
fn normalized_and_residual_layers_match_keras_in_f64() {
    let fixture = norm_fixture();
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 8, "eight networks in the fixture");
    let learning_rate = fixture["learning_rate"].as_f64().unwrap();
    let steps = fixture["steps"].as_u64().unwrap();
    let rel = 1e-10;
    for case in cases {
        let net = NormCase::new(case);
        let arch = &net.arch;
        let x_rows = matrix(&case["x"]);
        let x = column_major(&x_rows);
        let x = MatRef::from_column_major_slice(&x, x_rows.len(), arch.inputs());
        let y = floats(&case["y"]);
        let (params, mut state) = net.load(&case["initial"]);
        let mut ws = Workspace::<f64>::new(arch, x_rows.len());
        let mut grads = vec![0.0; arch.n_params()];

        // One training-mode pass: output, loss, every gradient, the moving statistics.
        let loss = ws.forward_backward(arch, &params, x, &y, &mut grads);
        let output: Vec<f64> = (0..x.nrows()).map(|i| ws.output()[(i, 0)]).collect();
        net.assert_all_close(
            &output,
            &floats(&case["train_output"]),
            rel,
            "training output",
        );
        assert_close(loss, case["loss"].as_f64().unwrap(), rel, &net.name);
        let expected = &case["grads"];
        for (l, s) in arch.shapes().iter().enumerate() {
            let name = if l + 1 == arch.shapes().len() {
                "output".to_owned()
            } else {
                format!("hidden{}", l + 1)
            };
            let mut parts = vec![("bias", s.bias.clone())];
            if !s.scale.is_empty() {
                parts.push(("gamma", s.scale.clone()));
                parts.push(("beta", s.shift.clone()));
            }
            let kernel = format!("{name}_kernel");
            let want = column_major(&matrix(&expected[&kernel]));
            net.assert_all_close(&grads[s.kernel.clone()], &want, rel, &kernel);
            for (part, range) in parts {
                let key = format!("{name}_{part}");
                net.assert_all_close(&grads[range], &floats(&expected[&key]), rel, &key);
            }
        }
        ws.update_moving_statistics(arch, &mut state);
        let (_, state_after) = net.load(&case["after_pass"]);
        net.assert_all_close(&state, &state_after, rel, "moving statistics after a pass");

        // Evaluation mode reads the moving statistics (batch normalization) or the
        // example's own (layer normalization).
        ws.infer(arch, &params, &state, x);
        let output: Vec<f64> = (0..x.nrows()).map(|i| ws.output()[(i, 0)]).collect();
        net.assert_all_close(
            &output,
            &floats(&case["eval_output"]),
            rel,
            "evaluation output",
        );

        // Three SGD steps: parameters and moving statistics move as in Keras.
        let (mut params, mut state) = net.load(&case["initial"]);
        let sgd = Optimizer::Sgd(Sgd {
            learning_rate,
            ..Sgd::default()
        });
        let mut slots = sgd.init_state::<f64>(arch.n_params());
        for _ in 0..steps {
            ws.forward_backward(arch, &params, x, &y, &mut grads);
            ws.update_moving_statistics(arch, &mut state);
            sgd.step(&mut slots, &mut params, &grads);
        }
        let (want_params, want_state) = net.load(&case["after_steps"]);
        net.assert_all_close(&params, &want_params, 1e-9, "parameters after three steps");
        net.assert_all_close(
            &state,
            &want_state,
            1e-9,
            "moving statistics after three steps",
        );
        ws.infer(arch, &params, &state, x);
        let output: Vec<f64> = (0..x.nrows()).map(|i| ws.output()[(i, 0)]).collect();
        let want = floats(&case["eval_output_after_steps"]);
        net.assert_all_close(&output, &want, 1e-9, "evaluation output after three steps");
    }
}

/// The softmax networks of `data/keras-softmax-vectors.json` (written by the project's
/// `keras/softmax_vectors.py`; the file records the versions).
fn softmax_fixture() -> Value {
    let text = include_str!("data/keras-softmax-vectors.json");
    serde_json::from_str(text).expect("the Keras softmax fixture is valid JSON")
}

/// A fixture case's 4-5-4-3 network: hidden layers of its activation, a softmax output.
fn softmax_architecture(sizes: &[usize], hidden: Activation) -> Architecture {
    let layers = sizes[1..]
        .iter()
        .enumerate()
        .map(|(l, &units)| {
            let activation = if l + 2 == sizes.len() {
                Activation::Softmax
            } else {
                hidden
            };
            LayerSpec::dense(units, activation, Init::Zeros)
        })
        .collect();
    Architecture::new(sizes[0], layers, Loss::CategoricalCrossEntropy).unwrap()
}

/// Kernels and biases of a fixture snapshot, in the core's layout.
fn softmax_params(arch: &Architecture, snapshot: &Value) -> Vec<f64> {
    let mut params = vec![0.0; arch.n_params()];
    for (l, s) in arch.shapes().iter().enumerate() {
        params[s.kernel.clone()].copy_from_slice(&column_major(&matrix(&snapshot["kernels"][l])));
        params[s.bias.clone()].copy_from_slice(&floats(&snapshot["biases"][l]));
    }
    params
}

/// The largest relative error (`|got - want| / max(|want|, 1e-3)`) over a slice.
fn worst_error(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(1e-3))
        .fold(0.0, f64::max)
}

/// Output probabilities, loss, every gradient, and three SGD and three Adam steps,
/// against Keras in `T`; returns the worst relative error of each.
fn check_softmax<T: Scalar>() -> [f64; 4] {
    let fixture = softmax_fixture();
    let sizes: Vec<usize> = fixture["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap() as usize)
        .collect();
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4, "four hidden activations in the fixture");
    let steps = fixture["steps"].as_u64().unwrap();
    let sgd = Optimizer::Sgd(Sgd {
        learning_rate: fixture["sgd_learning_rate"].as_f64().unwrap(),
        ..Sgd::default()
    });
    let adam_config = &fixture["adam"];
    let adam = Optimizer::Adam(Adam {
        learning_rate: adam_config["learning_rate"].as_f64().unwrap(),
        beta_1: adam_config["beta_1"].as_f64().unwrap(),
        beta_2: adam_config["beta_2"].as_f64().unwrap(),
        epsilon: adam_config["epsilon"].as_f64().unwrap(),
    });
    let to_t = |v: Vec<f64>| -> Vec<T> { v.into_iter().map(T::from_f64).collect() };
    let to_f64 = |v: &[T]| -> Vec<f64> { v.iter().map(|v| v.to_f64()).collect() };
    let mut worst = [0.0_f64; 4];
    for case in cases {
        let name = case["activation"].as_str().unwrap();
        let arch = softmax_architecture(&sizes, activation(name));
        let params = to_t(softmax_params(&arch, &case["initial"]));
        let x_rows = matrix(&case["x"]);
        let batch = x_rows.len();
        let x = to_t(column_major(&x_rows));
        let x = MatRef::from_column_major_slice(&x, batch, arch.inputs());
        let y = to_t(column_major(&matrix(&case["y"])));
        let mut ws = Workspace::<T>::new(&arch, batch);
        let mut grads = vec![T::ZERO; arch.n_params()];
        let loss = ws.forward_backward(&arch, &params, x, &y, &mut grads);

        let out = ws.output();
        let output: Vec<f64> = (0..out.ncols())
            .flat_map(|c| (0..out.nrows()).map(move |i| out[(i, c)].to_f64()))
            .collect();
        worst[0] = worst[0].max(worst_error(
            &output,
            &column_major(&matrix(&case["output"])),
        ));
        worst[0] = worst[0].max(worst_error(
            &[loss.to_f64()],
            &[case["loss"].as_f64().unwrap()],
        ));
        for (l, s) in arch.shapes().iter().enumerate() {
            let want_kernel = column_major(&matrix(&case["kernel_grads"][l]));
            let want_bias = floats(&case["bias_grads"][l]);
            worst[1] = worst[1].max(worst_error(&to_f64(&grads[s.kernel.clone()]), &want_kernel));
            worst[1] = worst[1].max(worst_error(&to_f64(&grads[s.bias.clone()]), &want_bias));
        }

        for (k, (opt, key)) in [(sgd, "after_sgd"), (adam, "after_adam")]
            .into_iter()
            .enumerate()
        {
            let mut params = params.clone();
            let mut state = opt.init_state::<T>(arch.n_params());
            for _ in 0..steps {
                ws.forward_backward(&arch, &params, x, &y, &mut grads);
                opt.step(&mut state, &mut params, &grads);
            }
            let want = softmax_params(&arch, &case[key]);
            let err = worst_error(&to_f64(&params), &want);
            worst[2 + k] = worst[2 + k].max(err);
        }
    }
    worst
}

#[test]
fn softmax_networks_match_keras_in_f64() {
    let [pass, grads, sgd, adam] = check_softmax::<f64>();
    eprintln!(
        "softmax f64: output and loss {pass:e}, gradients {grads:e}, after three SGD steps {sgd:e}, after three Adam steps {adam:e}"
    );
    assert!(pass < 1e-12, "output and loss: relative error {pass:e}");
    assert!(grads < 1e-12, "gradients: relative error {grads:e}");
    assert!(sgd < 1e-12, "three SGD steps: relative error {sgd:e}");
    assert!(adam < 1e-12, "three Adam steps: relative error {adam:e}");
}

#[test]
fn softmax_networks_match_keras_in_f32() {
    let [pass, grads, sgd, adam] = check_softmax::<f32>();
    eprintln!(
        "softmax f32: output and loss {pass:e}, gradients {grads:e}, after three SGD steps {sgd:e}, after three Adam steps {adam:e}"
    );
    assert!(pass < 2e-5 && grads < 2e-5, "{pass:e} {grads:e}");
    assert!(sgd < 2e-5 && adam < 2e-5, "{sgd:e} {adam:e}");
}

/// Keras computes a softmax output's cross-entropy from its logits: at logits of
/// +-100 its loss is the logits form's, not the one from probabilities clipped to
/// [1e-7, 1 - 1e-7] (recorded beside it in the fixture), and so is ours.
#[test]
fn softmax_loss_at_extreme_logits_matches_keras() {
    let fixture = softmax_fixture();
    let extreme = &fixture["extreme"];
    let keras = extreme["keras_through_model"].as_f64().unwrap();
    assert_close(
        extreme["keras_through_activation"].as_f64().unwrap(),
        keras,
        1e-15,
        "Keras, through its activation and its model",
    );
    assert_close(
        extreme["from_logits"].as_f64().unwrap(),
        keras,
        1e-14,
        "the logits form",
    );
    let clipped = extreme["from_clipped_probabilities"].as_f64().unwrap();
    assert!(
        (clipped - keras).abs() > 1.0,
        "the clipped form would part: {clipped}"
    );
    let z = column_major(&matrix(&extreme["logits"]));
    let y = column_major(&matrix(&extreme["y"]));
    let rows = z.len() / 3;
    let arch = Architecture::new(
        3,
        vec![LayerSpec::dense(3, Activation::Softmax, Init::Zeros)],
        Loss::CategoricalCrossEntropy,
    )
    .unwrap();
    let mut params = vec![0.0; arch.n_params()];
    for i in 0..3 {
        params[arch.shapes()[0].kernel.start + 4 * i] = 1.0;
    }
    let mut ws = Workspace::<f64>::new(&arch, rows);
    ws.forward(&arch, &params, MatRef::from_column_major_slice(&z, rows, 3));
    assert_close(ws.loss(&arch, &y), keras, 1e-14, "extreme logits");
    let mut ws32 = Workspace::<f32>::new(&arch, rows);
    let z32: Vec<f32> = z.iter().map(|&v| v as f32).collect();
    let y32: Vec<f32> = y.iter().map(|&v| v as f32).collect();
    let p32: Vec<f32> = params.iter().map(|&v| v as f32).collect();
    ws32.forward(&arch, &p32, MatRef::from_column_major_slice(&z32, rows, 3));
    assert_close(
        f64::from(ws32.loss(&arch, &y32)),
        keras,
        1e-6,
        "extreme logits, f32",
    );
}
