"""Times the tutorial's own Keras training (`model.fit`) beside vanishing, on this machine.

The configuration is the tutorial's deep network: 1,000 points of make_circles (factor
0.5, noise 0.1), 2-5-5-5-5-1 with tanh hidden layers and N(0, 1) kernels, RMSprop,
100 epochs of batches of 32. Keras is timed around `fit` alone (model built and
compiled before the clock starts), as the median of several runs. vanishing is timed
as `vanishing run` of the same configuration over several seeds on one thread, divided
by the number of runs: process start, data generation and Parquet writing included, so
its figure is an upper bound of the in-process time that `just bench` measures.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXPERIMENT = """name = "bench-keras"
seeds = {{ count = {runs}, start = 0 }}
[data]
kind = "circles"
n_samples = 1000
factor = 0.5
noise = 0.1
[model]
hidden = [5, 5, 5, 5]
activation = "tanh"
init = {{ kind = "normal", mean = 0.0, std = 1.0 }}
[optimizer]
kind = "rmsprop"
[train]
epochs = 100
batch_size = 32
"""


def time_keras(repeats: int) -> float:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    from sklearn.datasets import make_circles

    times = []
    for seed in range(repeats):
        keras.utils.set_random_seed(seed)
        x, y = make_circles(n_samples=1000, factor=0.5, noise=0.1, random_state=seed)
        init = lambda: keras.initializers.RandomNormal(mean=0.0, stddev=1.0)  # noqa: E731
        model = keras.Sequential(
            [keras.Input(shape=(2,))]
            + [keras.layers.Dense(5, activation="tanh", kernel_initializer=init()) for _ in range(4)]
            + [keras.layers.Dense(1, activation="sigmoid", kernel_initializer=init())]
        )
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
        started = time.perf_counter()
        model.fit(x, y, batch_size=32, epochs=100, verbose=0)
        times.append(time.perf_counter() - started)
        print(f"keras fit, seed {seed}: {times[-1]:.2f} s", file=sys.stderr, flush=True)
    return statistics.median(times)


def time_vanishing(binary: str, runs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        experiment = Path(tmp) / "bench.toml"
        experiment.write_text(EXPERIMENT.format(runs=runs))
        started = time.perf_counter()
        out = subprocess.run(
            [binary, "run", str(experiment), "--out", str(Path(tmp) / "data"), "-j", "1", "-q"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        elapsed = time.perf_counter() - started
    match = re.search(rf"{runs} runs of 1 experiments in", out)
    if not match:
        sys.exit(f"error: unexpected output of vanishing run:\n{out}")
    return elapsed / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vanishing", required=True, help="the vanishing binary (release build)")
    parser.add_argument("--repeats", type=int, default=3, help="Keras fits to time")
    parser.add_argument("--runs", type=int, default=20, help="vanishing runs to time")
    args = parser.parse_args()
    ours = time_vanishing(args.vanishing, args.runs)
    theirs = time_keras(args.repeats)
    import keras
    import tensorflow as tf

    print(f"tutorial deep tanh network, 100 epochs, {os.cpu_count()} CPUs")
    print(f"keras {keras.__version__} (tensorflow {tf.__version__}) fit: {theirs:.3f} s (median of {args.repeats})")
    print(f"vanishing run, one thread, per run:    {ours * 1e3:.1f} ms (mean of {args.runs}, process and Parquet included)")
    print(f"ratio: vanishing is {theirs / ours:.0f}x faster")


if __name__ == "__main__":
    main()
