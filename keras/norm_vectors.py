"""Reference values of normalized and residual layers, computed by Keras itself.

Writes the JSON fixture that the core's tests compare with (`just keras-norm-vectors`):
for small networks whose hidden layers are `Dense` followed by
`BatchNormalization` or `LayerNormalization` (Keras' defaults: momentum 0.99, epsilon
1e-3) and the activation, optionally with the layer's input added back (a residual
layer), the output and loss of one training-mode pass, the gradient of every
parameter, the moving statistics after that pass, the evaluation-mode output, and the
parameters, moving statistics and evaluation output after three SGD steps. Everything
is float64, so that the comparison measures the formulas rather than rounding.

Usage: python keras/norm_vectors.py OUT.json
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

keras.config.set_floatx("float64")

INPUTS = 2
BATCH = 6
LEARNING_RATE = 0.1
STEPS = 3


def build(sizes: list[int], activation: str, norm: str, residual: bool, seed: int):
    """The network, and for every hidden layer its Dense and normalization layers."""
    x_in = keras.Input(shape=(INPUTS,), dtype="float64")
    h = x_in
    hidden = []
    for i, units in enumerate(sizes):
        dense = keras.layers.Dense(
            units,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i),
        )
        if norm == "batch":
            normalize = keras.layers.BatchNormalization(momentum=0.99, epsilon=1e-3)
        else:
            normalize = keras.layers.LayerNormalization(epsilon=1e-3)
        out = keras.layers.Activation(activation)(normalize(dense(h)))
        if residual and i > 0:
            out = keras.layers.Add()([h, out])
        hidden.append((dense, normalize))
        h = out
    final = keras.layers.Dense(
        1,
        activation="sigmoid",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 100),
    )
    model = keras.Model(x_in, final(h))
    return model, hidden, final


def snapshot(hidden, final) -> dict:
    """Every parameter and moving statistic, kernels as (fan_in, units) nested lists."""
    layers = []
    for dense, normalize in hidden:
        entry = {
            "kernel": dense.kernel.numpy().tolist(),
            "bias": dense.bias.numpy().tolist(),
            "gamma": normalize.gamma.numpy().tolist(),
            "beta": normalize.beta.numpy().tolist(),
        }
        if isinstance(normalize, keras.layers.BatchNormalization):
            entry["moving_mean"] = normalize.moving_mean.numpy().tolist()
            entry["moving_variance"] = normalize.moving_variance.numpy().tolist()
        layers.append(entry)
    return {
        "hidden": layers,
        "output_kernel": final.kernel.numpy().tolist(),
        "output_bias": final.bias.numpy().tolist(),
    }


def case(sizes: list[int], activation: str, norm: str, residual: bool, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, INPUTS))
    y = (rng.random(size=(BATCH, 1)) < 0.5).astype("float64")
    model, hidden, final = build(sizes, activation, norm, residual, seed)
    # Shifts and scales away from their starting values, so that their gradients are
    # exercised; the output bias likewise.
    for dense, normalize in hidden:
        units = normalize.gamma.shape[0]
        normalize.gamma.assign(rng.uniform(0.5, 1.5, size=units))
        normalize.beta.assign(rng.uniform(-0.5, 0.5, size=units))
        dense.bias.assign(rng.uniform(-0.5, 0.5, size=units))
    final.bias.assign(rng.uniform(-0.5, 0.5, size=1))
    bce = keras.losses.BinaryCrossentropy()
    initial = snapshot(hidden, final)
    with tf.GradientTape() as tape:
        out = model(x, training=True)
        loss = bce(y, out)
    variables = []
    for dense, normalize in hidden:
        variables += [dense.kernel, dense.bias, normalize.gamma, normalize.beta]
    variables += [final.kernel, final.bias]
    grads = tape.gradient(loss, variables)
    names = []
    for i in range(len(hidden)):
        names += [f"hidden{i + 1}_{name}" for name in ("kernel", "bias", "gamma", "beta")]
    names += ["output_kernel", "output_bias"]
    after_pass = snapshot(hidden, final)
    eval_output = model(x, training=False).numpy().tolist()

    # Three SGD steps from the same start, each a training-mode pass and an update.
    model_steps, hidden_steps, final_steps = build(sizes, activation, norm, residual, seed)
    # A second model of the same shape, set to the first one's starting point.
    for (dense, normalize), layer in zip(hidden_steps, initial["hidden"]):
        dense.kernel.assign(np.array(layer["kernel"]))
        dense.bias.assign(np.array(layer["bias"]))
        normalize.gamma.assign(np.array(layer["gamma"]))
        normalize.beta.assign(np.array(layer["beta"]))
        if "moving_mean" in layer:
            normalize.moving_mean.assign(np.array(layer["moving_mean"]))
            normalize.moving_variance.assign(np.array(layer["moving_variance"]))
    final_steps.kernel.assign(np.array(initial["output_kernel"]))
    final_steps.bias.assign(np.array(initial["output_bias"]))
    optimizer = keras.optimizers.SGD(learning_rate=LEARNING_RATE)
    trainable = model_steps.trainable_variables
    for _ in range(STEPS):
        with tf.GradientTape() as tape:
            step_loss = bce(y, model_steps(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(step_loss, trainable), trainable))

    return {
        "sizes": sizes,
        "activation": activation,
        "norm": norm,
        "residual": residual,
        "x": x.tolist(),
        "y": y.ravel().tolist(),
        "initial": initial,
        "train_output": out.numpy().ravel().tolist(),
        "loss": float(loss.numpy()),
        "grads": {name: g.numpy().tolist() for name, g in zip(names, grads)},
        "after_pass": after_pass,
        "eval_output": np.array(eval_output).ravel().tolist(),
        "after_steps": snapshot(hidden_steps, final_steps),
        "eval_output_after_steps": model_steps(x, training=False).numpy().ravel().tolist(),
    }


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    cases = []
    seed = 10
    for norm in ["batch", "layer"]:
        for activation in ["sigmoid", "tanh", "relu"]:
            cases.append(case([4, 4], activation, norm, False, seed))
            seed += 1
        cases.append(case([3, 3, 3], "tanh", norm, True, seed))
        seed += 1
    fixture = {
        "generated_with": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
        "note": (
            "float64 throughout; kernels are (fan_in, units) row-major nested lists; "
            "hidden layers are Dense -> normalization -> activation "
            "(+ the layer's input for residual layers after the first); output Dense(1, "
            "sigmoid); loss is BinaryCrossentropy; SGD learning rate 0.1"
        ),
        "learning_rate": LEARNING_RATE,
        "steps": STEPS,
        "cases": cases,
    }
    with open(sys.argv[1], "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
