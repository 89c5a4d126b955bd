"""Replays vanishing's runs in Keras, for the side-by-side fidelity comparison.

Input: run plans as `vanishing keras plan` prints them (a JSON array of objects with
`experiment`, `run_id` and `config_toml`, the fully resolved configuration of one run).
Output: one JSON file per run under OUT/<experiment>/, holding the raw tensors the
recording policy asks for (kernels, biases and their gradients per layer), the
loss and accuracy after every epoch, and the data the run trained on.
`vanishing keras import` turns these files into the project's Parquet tables, so that
the statistics are computed by the same code for both frameworks.

The training loop is written out (rather than `model.fit`) because the tutorial's
recording needs the gradients of the first minibatch of every epoch as computed,
before the optimizer applies them; `model.fit` does not expose them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
import tomllib
from pathlib import Path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for one JSON file per run")
    parser.add_argument("plans", nargs="+", help="run plans (JSON) from `vanishing keras plan`")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    return parser.parse_args()


def versions() -> dict[str, str]:
    import keras
    import sklearn
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "scikit-learn": sklearn.__version__}


def check_variant(config: dict, keras_major: int, where: str) -> None:
    """Refuses a plan whose RMSprop variant is not the installed Keras' own, or whose
    network this harness does not build (it replays plain dense layers only)."""
    model = config["model"]
    if model.get("norm", "none") != "none" or model.get("residual", False):
        sys.exit(
            f"error: {where}: model.norm and model.residual are not replayed by this harness, "
            "which builds plain dense layers; the core's own Keras checks of normalized and "
            "residual layers are in keras/norm_vectors.py"
        )
    optimizer = config["optimizer"]
    if optimizer["kind"] != "rmsprop":
        return
    wanted = f"keras{keras_major}"
    if optimizer["variant"] != wanted:
        sys.exit(
            f"error: {where}: optimizer.variant is \"{optimizer['variant']}\", but the installed "
            f"Keras is version {keras_major}, whose RMSprop is \"{wanted}\"; set "
            f"variant = \"{wanted}\" in the experiment file so that both sides run the same update"
        )


def worker_init() -> None:
    # One thread per process: the networks are tiny, and the jobs run side by side.
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    os.environ["TF_NUM_INTRAOP_THREADS"] = "1"
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def make_data(config: dict, seed: int):
    """The run's data with scikit-learn's own generators, split as vanishing splits."""
    from sklearn.datasets import make_circles, make_moons
    from sklearn.model_selection import train_test_split

    data = config["data"]
    if data["kind"] == "circles":
        x, y = make_circles(
            n_samples=data["n_samples"],
            shuffle=data["shuffle"],
            noise=data["noise"],
            random_state=seed,
            factor=data["factor"],
        )
    elif data["kind"] == "moons":
        x, y = make_moons(
            n_samples=data["n_samples"], shuffle=data["shuffle"], noise=data["noise"], random_state=seed
        )
    else:
        raise ValueError(f"data.kind \"{data['kind']}\" has no scikit-learn generator here")
    if data["test_fraction"] > 0:
        x, x_test, y, y_test = train_test_split(
            x, y, test_size=data["test_fraction"], stratify=y, random_state=seed
        )
    else:
        x_test, y_test = x[:0], y[:0]
    return (x, y), (x_test, y_test)


def activation(spec):
    import keras

    if isinstance(spec, dict):
        if spec["kind"] == "leaky_relu":
            alpha = spec["alpha"]
            return lambda z: keras.activations.leaky_relu(z, negative_slope=alpha)
        raise ValueError(f"activation {spec}")
    return spec


def initializer(spec):
    import keras

    init = keras.initializers
    if isinstance(spec, str):
        if spec == "standard":
            # U[-1/sqrt(fan_in), 1/sqrt(fan_in)]: variance scaling with scale 1/3.
            return init.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform")
        return init.get(spec)
    kind = spec["kind"]
    if kind == "normal":
        return init.RandomNormal(mean=spec["mean"], stddev=spec["std"])
    if kind == "truncated_normal":
        return init.TruncatedNormal(mean=spec["mean"], stddev=spec["std"])
    if kind == "uniform":
        return init.RandomUniform(minval=spec["low"], maxval=spec["high"])
    raise ValueError(f"initializer {spec}")


def optimizer(spec):
    import keras

    opt = keras.optimizers
    kind = spec["kind"]
    if kind == "rmsprop":
        return opt.RMSprop(
            learning_rate=spec["learning_rate"],
            rho=spec["rho"],
            momentum=spec["momentum"],
            epsilon=spec["epsilon"],
            centered=spec["centered"],
        )
    if kind == "adam":
        return opt.Adam(
            learning_rate=spec["learning_rate"],
            beta_1=spec["beta_1"],
            beta_2=spec["beta_2"],
            epsilon=spec["epsilon"],
        )
    if kind == "sgd":
        return opt.SGD(learning_rate=spec["learning_rate"], momentum=spec["momentum"], nesterov=spec["nesterov"])
    raise ValueError(f"optimizer {spec}")


def finite_or_none(x: float) -> float | None:
    """JSON has no NaN or infinity: a non-finite loss is written as null."""
    import math

    return x if math.isfinite(x) else None


def records(policy, step: int, steps_per_epoch: int) -> bool:
    """The same recording policy as vanishing's `RecordPolicy::records`."""
    if policy == "epoch":
        return step % steps_per_epoch == 0
    if policy == "step":
        return True
    return step % max(int(policy), 1) == 0


def run_one(item: dict) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    config = tomllib.loads(item["config_toml"])
    seed = config["seed"]
    floatx = "float32" if config["train"]["precision"] == "f32" else "float64"
    keras.backend.set_floatx(floatx)
    keras.utils.set_random_seed(seed)
    (x, y), (x_test, y_test) = make_data(config, seed)
    x, x_test = x.astype(floatx), x_test.astype(floatx)
    y2, y2_test = y.reshape(-1, 1).astype(floatx), y_test.reshape(-1, 1).astype(floatx)

    model_spec = config["model"]
    layers = [keras.Input(shape=(x.shape[1],), dtype=floatx)]
    units = list(model_spec["hidden"]) + [1]
    for i, n in enumerate(units):
        act = model_spec["output"] if i == len(units) - 1 else model_spec["activation"]
        layers.append(
            keras.layers.Dense(
                n,
                activation=activation(act),
                kernel_initializer=initializer(model_spec["init"]),
                bias_initializer="zeros",
            )
        )
    model = keras.Sequential(layers)
    loss_fn = {
        "binary_crossentropy": keras.losses.BinaryCrossentropy(),
        "mse": keras.losses.MeanSquaredError(),
    }[model_spec["loss"]]
    opt = optimizer(config["optimizer"])
    variables = model.trainable_variables
    opt.build(variables)

    def gradients(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        return loss, tape.gradient(loss, variables)

    def train_step(xb, yb):
        loss, grads = gradients(xb, yb)
        opt.apply_gradients(zip(grads, variables))
        return loss

    epochs = config["train"]["epochs"]
    batch = min(config["train"]["batch_size"], len(x))
    steps_per_epoch = -(-len(x) // batch)
    if epochs * steps_per_epoch > 500:
        # Compiling a graph costs about a second per function and model; it pays off
        # only over many steps. One signature with a free batch size serves the full
        # batches and the last, smaller one.
        signature = [
            tf.TensorSpec([None, x.shape[1]], floatx),
            tf.TensorSpec([None, 1], floatx),
        ]
        gradients = tf.function(gradients, input_signature=signature)
        train_step = tf.function(train_step, input_signature=signature)

    def evaluate(xs, ys):
        p = model(xs, training=False)
        loss = float(loss_fn(ys, p))
        accuracy = float(np.mean((p.numpy() > 0.5) == (ys > 0.5)))
        return loss, accuracy

    policy = config["record"]["every"]
    shuffle = np.random.default_rng(seed)
    layer_records, metric_records = [], []

    def record(epoch: int, step: int, grads) -> None:
        # Trainable variables come as kernel, bias per Dense layer, input side first.
        for layer in range(len(units)):
            for quantity, tensor in (
                ("weight", variables[2 * layer]),
                ("weight_grad", grads[2 * layer]),
                ("bias", variables[2 * layer + 1]),
                ("bias_grad", grads[2 * layer + 1]),
            ):
                values = [finite_or_none(v) for v in np.asarray(tensor, dtype=np.float64).ravel().tolist()]
                layer_records.append(
                    {"epoch": epoch, "step": step, "layer": layer + 1, "quantity": quantity, "values": values}
                )

    def metrics(epoch: int, step: int) -> tuple[float, float]:
        train = evaluate(x, y2)
        splits = [("train", train)]
        if len(x_test):
            splits.append(("test", evaluate(x_test, y2_test)))
        for split, (loss, accuracy) in splits:
            metric_records.append(
                {"epoch": epoch, "step": step, "split": split, "loss": finite_or_none(loss), "accuracy": accuracy}
            )
        return train

    started = time.perf_counter()
    step, diverged = 0, False
    metrics(0, 0)
    for epoch in range(epochs):
        order = shuffle.permutation(len(x))
        for start in range(0, len(x), batch):
            idx = order[start : start + batch]
            xb, yb = tf.constant(x[idx]), tf.constant(y2[idx])
            if records(policy, step, steps_per_epoch):
                loss, grads = gradients(xb, yb)
                record(epoch, step, grads)
                opt.apply_gradients(zip(grads, variables))
            else:
                loss = train_step(xb, yb)
            if not np.isfinite(float(loss)):
                diverged = True
                break
            step += 1
        if diverged:
            break
        final = metrics(epoch + 1, step)
    if not diverged:
        # The final record: trained parameters with the gradient of the batch that would
        # open the next epoch, as vanishing records it.
        idx = shuffle.permutation(len(x))[:batch]
        _, grads = gradients(tf.constant(x[idx]), tf.constant(y2[idx]))
        record(epochs, step, grads)
    else:
        final = (float("nan"), 0.0)
    wall_ms = (time.perf_counter() - started) * 1e3
    final_test = evaluate(x_test, y2_test) if len(x_test) and not diverged else None

    out = {
        "experiment": item["experiment"],
        "description": item["description"],
        "run_id": item["run_id"],
        "config_toml": item["config_toml"],
        "versions": versions(),
        "wall_ms": wall_ms,
        "diverged": diverged,
        "steps": step,
        "final_loss": finite_or_none(final[0]),
        "final_accuracy": final[1],
        "final_test_loss": finite_or_none(final_test[0]) if final_test else None,
        "final_test_accuracy": final_test[1] if final_test else None,
        "train": {"x": x.astype(np.float64).tolist(), "labels": y.astype(int).tolist()},
        "test": {"x": x_test.astype(np.float64).tolist(), "labels": y_test.astype(int).tolist()},
        "layers": layer_records,
        "metrics": metric_records,
    }
    path = Path(item["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps(out))
    partial.replace(path)
    return {"run_id": item["run_id"], "experiment": item["experiment"], "accuracy": final[1], "wall_ms": wall_ms}


def main() -> None:
    args = parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    plan = [item for path in args.plans for item in json.loads(Path(path).read_text())]
    if not plan:
        sys.exit("error: the plan holds no runs")
    import keras

    keras_major = int(keras.__version__.split(".")[0])
    for i, item in enumerate(plan):
        check_variant(tomllib.loads(item["config_toml"]), keras_major, f"{item['experiment']} {item['run_id']}")
        # Run ids contain '/' and '='; the file name only needs to be unique.
        item["path"] = str(args.out / item["experiment"] / f"run-{i:06}.json")
    print(f"keras {keras.__version__}: {len(plan)} runs on {args.jobs} processes", file=sys.stderr, flush=True)
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with context.Pool(args.jobs, initializer=worker_init) as pool:
        for done, result in enumerate(pool.imap_unordered(run_one, plan), start=1):
            print(
                f"[{done}/{len(plan)}] {result['experiment']} {result['run_id']}: "
                f"accuracy {result['accuracy']:.3f} in {result['wall_ms'] / 1e3:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    print(f"done in {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
