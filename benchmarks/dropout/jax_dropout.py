"""The toolkit's dropout MLP: ``bayes_reg.nets.dropout.train_dropout`` and ``mc_dropout``, timed.

Run with the project's environment::

    .venv/bin/python benchmarks/dropout/jax_dropout.py --data data.npz \
        --config small --hidden 50 --batch-size 32 --epochs 40

Training is one public ``train_dropout(X, y, dropout=p, weight_decay=wd, hidden=...,
epochs=E, batch_size=B, learning_rate=lr, optimizer="adam", seed=0, progress=False)`` call
(input checks, standardisation, Glorot init, every epoch and minibatch as a ``lax.scan`` in
one compiled program, the result back on the host). Timed with ``time.perf_counter``
around the whole call, ``jax.block_until_ready`` on the weights: the **first call** (JAX
backend start-up, tracing, XLA compilation and the run; ``DropoutNet.seconds`` is recorded
too) and the **warm call** (median of ``--repeats`` further calls with the same shapes and
settings, which reuse the compiled program). MC dropout is one public
``mc_dropout(net, X_points, passes=T, seed=0)`` call (its draws come back as a NumPy
(passes, n) array in the target's units): first call and the median of ``--repeats`` warm
calls. Float32 (the toolkit's default, as torch's).

Prints one JSON object to stdout.
"""

import argparse
import json
import math
import platform
import statistics
import time

import jax
import numpy as np

from bayes_reg.nets.dropout import mc_dropout, train_dropout
from bayes_reg.nets.mlp import mlp


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help=".npz with {config}_X, _y, _X_mc")
    parser.add_argument("--config", required=True)
    parser.add_argument("--hidden", default="50", help="comma-separated widths")
    parser.add_argument("--dropout", type=float, default=0.05)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--mc-passes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="warm calls (median)")
    args = parser.parse_args(argv)

    with np.load(args.data) as f:
        X = f[f"{args.config}_X"].astype(np.float32)
        y = f[f"{args.config}_y"].astype(np.float32)
        X_mc = f[f"{args.config}_X_mc"].astype(np.float32)
    hidden = tuple(int(h) for h in args.hidden.split(","))

    def train():
        t0 = time.perf_counter()
        net = train_dropout(
            X,
            y,
            dropout=args.dropout,
            weight_decay=args.weight_decay,
            hidden=hidden,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            optimizer="adam",
            seed=args.seed,
            progress=False,
        )
        jax.block_until_ready(net.params)
        return net, time.perf_counter() - t0

    def predict():
        t0 = time.perf_counter()
        mc = mc_dropout(net, X_mc, passes=args.mc_passes, seed=args.seed)
        return mc, time.perf_counter() - t0

    net, train_first = train()
    train_inner_first = net.seconds
    train_warm = [train()[1] for _ in range(args.repeats)]
    steps = args.epochs * math.ceil(X.shape[0] / args.batch_size)

    # Final training MSE with dropout off, standardised units (outside the timers).
    s = net.scaling
    pred = np.asarray(mlp(net.params, s.x(X).astype(np.float32), inference=True))
    train_mse = float(np.mean((pred - (y - s.y_mean) / s.y_sd) ** 2))

    mc, mc_first = predict()
    mc_warm = [predict()[1] for _ in range(args.repeats)]

    tw, mw = statistics.median(train_warm), statistics.median(mc_warm)
    print(
        json.dumps(
            {
                "framework": "jax",
                "config": args.config,
                "jax_version": jax.__version__,
                "python_version": platform.python_version(),
                "backend": jax.default_backend(),
                "devices": [str(d) for d in jax.devices()],
                "dtype": str(net.params[0].w.dtype),
                "n_train": int(X.shape[0]),
                "sizes": [X.shape[1], *hidden, 1],
                "steps": steps,
                "train_seconds_first": train_first,
                "train_seconds_first_inner": train_inner_first,
                "train_seconds_warm_median": tw,
                "train_seconds_warm_all": train_warm,
                "steps_per_second_first": steps / train_first,
                "steps_per_second_warm": steps / tw,
                "train_mse_standardised": train_mse,
                "mc_passes": args.mc_passes,
                "mc_points": int(X_mc.shape[0]),
                "mc_draws_shape": list(mc.draws.shape),
                "mc_seconds_first": mc_first,
                "mc_seconds_warm_median": mw,
                "mc_seconds_warm_all": mc_warm,
                "mc_passes_per_second_first": args.mc_passes / mc_first,
                "mc_passes_per_second_warm": args.mc_passes / mw,
                "mc_mean_sd_standardised": float(mc.draws.std(0).mean() / s.y_sd),
            }
        )
    )


if __name__ == "__main__":
    main()
