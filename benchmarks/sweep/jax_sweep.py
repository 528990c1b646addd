"""The d2l.ai weight-decay lambd sweep with ``bayes_reg.sgd_path``: all strengths in one call.

Run with the project's environment::

    /work/venv312/bin/python benchmarks/sweep/jax_sweep.py --data data.npz

Times the first call (tracing + XLA compilation + the run) and the warm call (median of
``--repeats`` further calls with the same shapes; new strength values would not recompile).
Each call is the public ``sgd_path``, including its input checks, the conversion of the
result to NumPy and the xarray Dataset; ``jax.block_until_ready`` is applied to the result.
Float32, JAX's default (and torch's). Note that ``sgd_path`` also records the full train and
test loss after *every* epoch (the PyTorch side evaluates only after the last one).

Prints one JSON object to stdout: timings, versions and the per-strength final ||w||,
train loss and test loss (mean r**2/2 on the full sets), and ||w_0|| of the shared init.
"""

import argparse
import json
import platform
import statistics
import time

import jax
import numpy as np

import bayes_reg


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help=".npz with X_train, y_train, X_test, ...")
    parser.add_argument("--optimizer", default="sgd-l2-loss", choices=("sgd-l2-loss", "sgd"))
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--batch-size", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    with np.load(args.data) as f:
        X_train, y_train, X_test, y_test = (
            f[k].astype(np.float32) for k in ("X_train", "y_train", "X_test", "y_test")
        )
        strengths = f["strengths"]

    def call():
        path = bayes_reg.sgd_path(
            X_train,
            y_train,
            strengths,
            optimizer=args.optimizer,
            lr=args.lr,
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=args.seed,
            X_test=X_test,
            y_test=y_test,
        )
        return jax.block_until_ready(path)

    t0 = time.perf_counter()
    path = call()
    first = time.perf_counter() - t0
    warm = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        call()
        warm.append(time.perf_counter() - t0)

    # ||w_0||, the shared init, through the public API (outside the timings): one epoch at a
    # learning rate so small that float32 cannot move w (same seed, so the same init).
    w0 = bayes_reg.sgd_path(
        X_train, y_train, [0.0], lr=1e-30, epochs=1, batch_size=5, seed=args.seed
    )

    print(
        json.dumps(
            {
                "framework": "jax",
                "jax_version": jax.__version__,
                "python_version": platform.python_version(),
                "backend": jax.default_backend(),
                "devices": [str(d) for d in jax.devices()],
                "dtype": str(path.w.dtype),
                "optimizer": args.optimizer,
                "seconds_first_call": first,
                "seconds_warm_median": statistics.median(warm),
                "seconds_warm_all": warm,
                "strengths": path.strength.values.tolist(),
                "w0_norm": float(w0.w_norm[0]),
                "w_norm": path.w_norm.values.astype(float).tolist(),
                "train_loss": path.train_loss.isel(epoch=-1).values.astype(float).tolist(),
                "test_loss": path.test_loss.isel(epoch=-1).values.astype(float).tolist(),
            }
        )
    )


if __name__ == "__main__":
    main()
