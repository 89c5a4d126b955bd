"""Reference values of a softmax output under categorical cross-entropy, from Keras.

Writes the JSON fixture that the core's tests compare with (`just keras-softmax-vectors`):
for a 4-5-4-3 network (two hidden `Dense` layers of one activation, a 3-class softmax
output, Keras' `CategoricalCrossentropy` with its defaults) on a batch of 6 one-hot
samples, the output probabilities and loss of one pass, the gradient of every kernel
and bias, and the parameters after three SGD steps and after three Adam steps from the
same start; one case per hidden activation (sigmoid, tanh, relu, softsign). Everything
is float64, so that the comparison measures the formulas rather than rounding.

It also records how Keras computes the loss of a softmax output at extreme logits
(where a loss from clipped probabilities and one from the logits part ways), both
through `keras.activations.softmax` directly and through a `Dense(3, "softmax")` layer
of a model.

Usage: python keras/softmax_vectors.py OUT.json
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

INPUTS = 4
HIDDEN = [5, 4]
CLASSES = 3
BATCH = 6
STEPS = 3
SGD_LEARNING_RATE = 0.1
# Adam's decay rates as float32 represents them exactly: Keras casts beta_1 and beta_2
# to float32 in places (its bias correction), which would move every step by a few
# parts in a million and hide the formulas' agreement.
ADAM = {"learning_rate": 0.01, "beta_1": 0.875, "beta_2": 0.9990234375, "epsilon": 1e-7}


def build(activation: str, seed: int):
    """The network and its Dense layers, from the input side."""
    x_in = keras.Input(shape=(INPUTS,), dtype="float64")
    h = x_in
    layers = []
    for i, units in enumerate(HIDDEN):
        dense = keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i),
        )
        layers.append(dense)
        h = dense(h)
    final = keras.layers.Dense(
        CLASSES,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 100),
    )
    layers.append(final)
    return keras.Model(x_in, final(h)), layers


def snapshot(layers) -> dict:
    """Every kernel, as (fan_in, units) nested lists, and every bias."""
    return {
        "kernels": [d.kernel.numpy().tolist() for d in layers],
        "biases": [d.bias.numpy().tolist() for d in layers],
    }


def load(layers, snap: dict) -> None:
    for d, k, b in zip(layers, snap["kernels"], snap["biases"]):
        d.kernel.assign(np.array(k))
        d.bias.assign(np.array(b))


def trajectory(activation: str, seed: int, start: dict, x, y, optimizer) -> dict:
    """The parameters after `STEPS` steps of `optimizer` from `start`."""
    model, layers = build(activation, seed)
    load(layers, start)
    cce = keras.losses.CategoricalCrossentropy()
    trainable = model.trainable_variables
    for _ in range(STEPS):
        with tf.GradientTape() as tape:
            step_loss = cce(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(step_loss, trainable), trainable))
    return snapshot(layers)


def case(activation: str, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, INPUTS))
    # Every class at least once, then at random.
    labels = np.concatenate([np.arange(CLASSES), rng.integers(0, CLASSES, BATCH - CLASSES)])
    y = np.eye(CLASSES)[labels]
    model, layers = build(activation, seed)
    # Biases away from zero, so that their gradients are exercised.
    for d in layers:
        d.bias.assign(rng.uniform(-0.5, 0.5, size=d.bias.shape[0]))
    initial = snapshot(layers)
    cce = keras.losses.CategoricalCrossentropy()
    with tf.GradientTape() as tape:
        out = model(x, training=True)
        loss = cce(y, out)
    variables = []
    for d in layers:
        variables += [d.kernel, d.bias]
    grads = tape.gradient(loss, variables)
    sgd = trajectory(
        activation, seed, initial, x, y, keras.optimizers.SGD(learning_rate=SGD_LEARNING_RATE)
    )
    adam = trajectory(activation, seed, initial, x, y, keras.optimizers.Adam(**ADAM))
    return {
        "activation": activation,
        "x": x.tolist(),
        "y": y.tolist(),
        "initial": initial,
        "output": out.numpy().tolist(),
        "loss": float(loss.numpy()),
        "kernel_grads": [g.numpy().tolist() for g in grads[0::2]],
        "bias_grads": [g.numpy().tolist() for g in grads[1::2]],
        "after_sgd": sgd,
        "after_adam": adam,
    }


def extreme() -> dict:
    """Keras' loss at extreme logits, beside the logits form and the clipped form."""
    z = np.array([[100.0, -100.0, 0.0], [-100.0, 100.0, 0.0], [3.0, -2.0, 0.5]])
    y = np.eye(CLASSES)[[1, 1, 2]]
    cce = keras.losses.CategoricalCrossentropy()
    through_activation = float(cce(y, keras.activations.softmax(tf.constant(z))).numpy())
    # The same logits out of a model's softmax layer: an identity kernel, zero bias.
    x_in = keras.Input(shape=(CLASSES,), dtype="float64")
    dense = keras.layers.Dense(CLASSES, activation="softmax")
    model = keras.Model(x_in, dense(x_in))
    dense.kernel.assign(np.eye(CLASSES))
    dense.bias.assign(np.zeros(CLASSES))
    through_model = float(cce(y, model(z, training=True)).numpy())
    m = z.max(axis=1, keepdims=True)
    logsumexp = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    from_logits = float(np.mean(logsumexp - (y * z).sum(axis=1)))
    p = np.exp(z - m) / np.exp(z - m).sum(axis=1, keepdims=True)
    eps = keras.config.epsilon()
    clipped = float(np.mean(-(y * np.log(np.clip(p, eps, 1 - eps))).sum(axis=1)))
    return {
        "logits": z.tolist(),
        "y": y.tolist(),
        "keras_through_activation": through_activation,
        "keras_through_model": through_model,
        "from_logits": from_logits,
        "from_clipped_probabilities": clipped,
    }


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    cases = []
    seed = 40
    for activation in ["sigmoid", "tanh", "relu", "softsign"]:
        cases.append(case(activation, seed))
        seed += 1
    fixture = {
        "generated_with": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
        "note": (
            "float64 throughout; kernels are (fan_in, units) row-major nested lists; x, y "
            "and output are (batch, features) row-major; network 4-5-4-3, both hidden "
            "layers of the case's activation, output Dense(3, softmax); loss "
            "CategoricalCrossentropy (defaults: mean over the batch); SGD learning rate "
            "0.1; Adam with the given hyperparameters; three steps each from 'initial'"
        ),
        "sizes": [INPUTS, *HIDDEN, CLASSES],
        "sgd_learning_rate": SGD_LEARNING_RATE,
        "adam": ADAM,
        "steps": STEPS,
        "cases": cases,
        "extreme": extreme(),
    }
    with open(sys.argv[1], "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
