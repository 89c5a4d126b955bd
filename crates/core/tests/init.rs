//! Initializer statistics over many draws: mean, standard deviation and bounds, against
//! the values Keras' definitions imply.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use vanishing_core::{Activation, Architecture, Init, LayerSpec, Loss, TRUNCATED_NORMAL_STD};

const FAN_IN: usize = 40;
const FAN_OUT: usize = 25;
const DRAWS: usize = 400_000;

/// Draws `DRAWS` values and checks their statistics. `bounds` are the support's ends,
/// which the extreme draws must reach to within 1% of the width (and never pass).
#[track_caller]
fn check(init: Init, mean: f64, std: f64, bounds: Option<(f64, f64)>) {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let mut values = vec![0.0_f64; DRAWS];
    init.fill(&mut values, FAN_IN, FAN_OUT, &mut rng);
    let n = DRAWS as f64;
    let m = values.iter().sum::<f64>() / n;
    let s = (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt();
    // Standard errors: std / sqrt(n) for the mean, about std / sqrt(2n) for the std
    // (a little more for flat distributions); 5 of them is a loose but failing bound.
    let se = std / n.sqrt();
    assert!(
        (m - mean).abs() <= 5.0 * se,
        "{}: mean {m} vs {mean}",
        init.name()
    );
    assert!(
        (s - std).abs() <= 5.0 * se,
        "{}: std {s} vs {std}",
        init.name()
    );
    if let Some((lo, hi)) = bounds {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let slack = 0.01 * (hi - lo);
        assert!(
            min >= lo && max <= hi,
            "{}: draws in [{min}, {max}], bounds [{lo}, {hi}]",
            init.name()
        );
        assert!(
            min - lo <= slack && hi - max <= slack,
            "{}: draws in [{min}, {max}] do not fill [{lo}, {hi}]",
            init.name()
        );
    }
}

fn uniform_std(limit: f64) -> f64 {
    limit / 3.0_f64.sqrt()
}

#[test]
fn explicit_distributions() {
    check(
        Init::Normal {
            mean: 0.3,
            std: 2.0,
        },
        0.3,
        2.0,
        None,
    );
    check(
        Init::Normal {
            mean: 0.0,
            std: 0.05,
        },
        0.0,
        0.05,
        None,
    );
    check(
        Init::Uniform {
            low: -0.2,
            high: 0.6,
        },
        0.2,
        0.8 / 12.0_f64.sqrt(),
        Some((-0.2, 0.6)),
    );
    // Truncating at two standard deviations shrinks the spread to 0.8796 of it.
    check(
        Init::TruncatedNormal {
            mean: 1.0,
            std: 0.5,
        },
        1.0,
        0.5 * TRUNCATED_NORMAL_STD,
        Some((0.0, 2.0)),
    );
    check(Init::Zeros, 0.0, 0.0, Some((0.0, 0.0)));
}

#[test]
fn scaled_initializers_follow_keras() {
    let (fi, fo) = (FAN_IN as f64, FAN_OUT as f64);
    let glorot_limit = (6.0 / (fi + fo)).sqrt();
    check(
        Init::GlorotUniform,
        0.0,
        uniform_std(glorot_limit),
        Some((-glorot_limit, glorot_limit)),
    );
    let he_limit = (6.0 / fi).sqrt();
    check(
        Init::HeUniform,
        0.0,
        uniform_std(he_limit),
        Some((-he_limit, he_limit)),
    );
    let lecun_limit = (3.0 / fi).sqrt();
    check(
        Init::LecunUniform,
        0.0,
        uniform_std(lecun_limit),
        Some((-lecun_limit, lecun_limit)),
    );
    let standard_limit = 1.0 / fi.sqrt();
    check(
        Init::Standard,
        0.0,
        uniform_std(standard_limit),
        Some((-standard_limit, standard_limit)),
    );
    // Keras' truncated normals are scaled so that the *truncated* spread is the target
    // std, and they are cut at two of the untruncated standard deviations.
    for (init, std) in [
        (Init::GlorotNormal, (2.0 / (fi + fo)).sqrt()),
        (Init::HeNormal, (2.0 / fi).sqrt()),
        (Init::LecunNormal, (1.0 / fi).sqrt()),
    ] {
        let cut = 2.0 * std / TRUNCATED_NORMAL_STD;
        check(init, 0.0, std, Some((-cut, cut)));
    }
}

#[test]
fn truncated_normal_constant_matches_its_definition() {
    // Var of N(0,1) truncated to [-2, 2] is 1 - 4 phi(2) / (2 Phi(2) - 1).
    let phi2 = (-2.0_f64).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let mass = 0.954_499_736_103_641_6; // P(|Z| <= 2)
    let std = (1.0 - 4.0 * phi2 / mass).sqrt();
    assert!((std - TRUNCATED_NORMAL_STD).abs() < 1e-12, "{std}");
}

#[test]
fn network_initialization_is_seeded_and_biases_start_at_zero() {
    let layers = vec![
        LayerSpec::dense(
            5,
            Activation::Sigmoid,
            Init::Normal {
                mean: 0.0,
                std: 1.0,
            },
        ),
        LayerSpec::dense(1, Activation::Sigmoid, Init::GlorotUniform),
    ];
    let arch = Architecture::new(2, layers, Loss::BinaryCrossEntropy).unwrap();
    let draw = |seed| arch.init_params::<f32, _>(&mut ChaCha8Rng::seed_from_u64(seed));
    assert_eq!(draw(1), draw(1));
    assert_ne!(draw(1), draw(2));
    let params = draw(1);
    for s in arch.shapes() {
        assert!(params[s.bias.clone()].iter().all(|&b| b == 0.0));
        assert!(params[s.kernel.clone()].iter().all(|&w| w != 0.0));
    }
    // The output layer's Glorot limit is sqrt(6 / (5 + 1)) = 1.
    assert!(
        params[arch.shapes()[1].kernel.clone()]
            .iter()
            .all(|w| w.abs() <= 1.0)
    );
}

#[test]
fn invalid_parameters_are_refused() {
    for init in [
        Init::Normal {
            mean: 0.0,
            std: -1.0,
        },
        Init::Normal {
            mean: f64::NAN,
            std: 1.0,
        },
        Init::TruncatedNormal {
            mean: 0.0,
            std: f64::INFINITY,
        },
        Init::Uniform {
            low: 1.0,
            high: 1.0,
        },
        Init::Uniform {
            low: 0.0,
            high: -1.0,
        },
    ] {
        assert!(init.validate().is_err(), "{init:?}");
    }
    assert!(
        Init::Normal {
            mean: 0.0,
            std: 0.0
        }
        .validate()
        .is_ok()
    );
}
