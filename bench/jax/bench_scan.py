"""The tutorial's training in JAX, the whole run in one `jit` (lax.scan over epochs and
minibatches), timed beside `vanishing` by `just bench-jax` (docs/performance.md).

The same work as the hand-tuned loop in bench/hand-tuned: 2-5-5-5-5-1 with sigmoid
units, kernels from N(0, 1), binary cross-entropy from the logit, RMSprop with Keras'
defaults (epsilon outside the root), 1,000 noisy circles in minibatches of 32 (31 full
ones and one of 8 per epoch), a fresh permutation every epoch, 100 epochs, and per layer
the mean and standard deviation of the kernel and its gradient after every epoch.

Prints the compile time, the time of one run (median over seeds, after compiling) and
the time per run when 64 seeds are trained in one vmapped call.
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp

N, BATCH, EPOCHS = 1000, 32, 100
WIDTHS = [2, 5, 5, 5, 5, 1]
LR, RHO, EPS = 1e-3, 0.9, 1e-7


def circles(key):
    k_angle, k_noise = jax.random.split(key)
    inner = jnp.arange(N) >= N // 2
    angle = jax.random.uniform(k_angle, (N,)) * 2 * jnp.pi
    radius = jnp.where(inner, 0.5, 1.0)
    x = jnp.stack([radius * jnp.cos(angle), radius * jnp.sin(angle)], axis=1)
    x = x + 0.1 * jax.random.normal(k_noise, (N, 2))
    return x.astype(jnp.float32), inner.astype(jnp.float32)


def init(key):
    keys = jax.random.split(key, len(WIDTHS) - 1)
    return [
        (jax.random.normal(k, (a, b), jnp.float32), jnp.zeros((b,), jnp.float32))
        for k, a, b in zip(keys, WIDTHS[:-1], WIDTHS[1:])
    ]


def loss_fn(params, x, y):
    h = x
    for w, b in params[:-1]:
        h = jax.nn.sigmoid(h @ w + b)
    w, b = params[-1]
    z = (h @ w + b)[:, 0]
    return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))


grad_fn = jax.grad(loss_fn)


def rmsprop(params, velocity, grads):
    velocity = jax.tree.map(lambda v, g: RHO * v + (1 - RHO) * g * g, velocity, grads)
    params = jax.tree.map(
        lambda p, g, v: p - LR * g / (jnp.sqrt(v) + EPS), params, grads, velocity
    )
    return params, velocity


def run(seed):
    key = jax.random.PRNGKey(seed)
    k_data, k_init, k_shuffle = jax.random.split(key, 3)
    x, y = circles(k_data)
    params = init(k_init)
    velocity = jax.tree.map(jnp.zeros_like, params)
    full = (N // BATCH) * BATCH

    def epoch(carry, k):
        params, velocity = carry
        order = jax.random.permutation(k, N)
        xs, ys = x[order], y[order]
        batches = (xs[:full].reshape(-1, BATCH, 2), ys[:full].reshape(-1, BATCH))

        def step(carry, batch):
            params, velocity = carry
            grads = grad_fn(params, *batch)
            return rmsprop(params, velocity, grads), None

        (params, velocity), _ = jax.lax.scan(step, (params, velocity), batches)
        grads = grad_fn(params, xs[full:], ys[full:])
        params, velocity = rmsprop(params, velocity, grads)
        stats = jnp.stack(
            [jnp.stack([w.mean(), w.std(), g.mean(), g.std()]) for (w, _), (g, _) in zip(params, grads)]
        )
        return (params, velocity), stats

    _, stats = jax.lax.scan(epoch, (params, velocity), jax.random.split(k_shuffle, EPOCHS))
    return stats


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10, help="single runs timed")
    parser.add_argument("--batched", type=int, default=64, help="seeds in one vmapped call")
    args = parser.parse_args()
    one = jax.jit(run)
    started = time.perf_counter()
    one(0).block_until_ready()
    compile_s = time.perf_counter() - started
    times = []
    for seed in range(1, args.seeds + 1):
        started = time.perf_counter()
        one(seed).block_until_ready()
        times.append(time.perf_counter() - started)
    many = jax.jit(jax.vmap(run))
    seeds = jnp.arange(args.batched)
    many(seeds).block_until_ready()
    started = time.perf_counter()
    many(seeds + args.batched).block_until_ready()
    batched_s = time.perf_counter() - started
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}")
    print(f"JAX scan, compile (first call): {compile_s:.2f} s")
    print(f"JAX scan, one run: {statistics.median(times) * 1e3:.1f} ms (median of {args.seeds})")
    print(f"JAX scan, {args.batched} seeds vmapped: {batched_s * 1e3 / args.batched:.1f} ms per run")


if __name__ == "__main__":
    main()
