"""A dropout MLP trained and MC-sampled the way PyTorch code usually writes it.

Runs under a PyTorch environment (PyTorch is never a bayes_reg dependency), e.g.::

    /work/venv-torch/bin/python benchmarks/dropout/torch_idiom.py --data data.npz \
        --config small --hidden 50 --batch-size 32 --epochs 40

The network is the toolkit's (``bayes_reg.dropout``): dropout before every ``Linear``, the
input included, ReLU hidden layers, one linear output, i.e. for ``--hidden 50``
``nn.Sequential(nn.Dropout(p), nn.Linear(d, 50), nn.ReLU(), nn.Dropout(p), nn.Linear(50, 1))``.
Inputs and target are standardised with the training rows' mean and population sd, as
``train_dropout`` does. Training: ``torch.optim.Adam(model.parameters(), lr)`` (torch's
defaults otherwise), loss ``F.mse_loss`` plus ``weight_decay`` times the sum of squared
``Linear`` weight matrices (biases not decayed, Keras's ``l2`` convention), a Python loop over
epochs and over the minibatches of a shuffled ``DataLoader(TensorDataset(...), batch_size,
shuffle=True)`` (the last batch short), batches moved to the device one at a time. MC dropout:
``model.train()`` and a Python loop of ``passes`` forward passes over all the points under
``torch.no_grad()``, stacked to (passes, n) and returned to NumPy in the target's units.
PyTorch's default initialisation and thread count (``--threads`` sets another); float32;
CUDA when available.

Timers (``time.perf_counter``, ``import torch`` and reading the .npz excluded; CUDA
synchronised before each stop): training from standardising the data and building the
model, optimiser and loader to the end of the last epoch; MC dropout from standardising
the points to the NumPy draws.

Prints one JSON object to stdout.
"""

import argparse
import json
import platform
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def make_model(sizes, p):
    """Dropout before every Linear (the input included), ReLU between, a linear output."""
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers += [nn.Dropout(p), nn.Linear(fan_in, fan_out)]
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


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
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0, help="0: torch's default count")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    with np.load(args.data) as f:
        X = f[f"{args.config}_X"].astype(np.float32)
        y = f[f"{args.config}_y"].astype(np.float32)
        X_mc = f[f"{args.config}_X_mc"].astype(np.float32)
    hidden = [int(h) for h in args.hidden.split(",")]
    sizes = [X.shape[1], *hidden, 1]
    torch.manual_seed(args.seed)
    if device.type == "cuda":  # start the CUDA context outside the timers
        torch.zeros(1, device=device)
        sync(device)

    # --- training -----------------------------------------------------------------------
    t0 = time.perf_counter()
    x_mean, x_sd = X.mean(0), X.std(0)
    x_sd = np.where(x_sd == 0, 1.0, x_sd).astype(np.float32)
    y_mean, y_sd = float(y.mean()), float(y.std())
    Xs = torch.from_numpy((X - x_mean) / x_sd)
    ys = torch.from_numpy((y - y_mean) / y_sd)
    model = make_model(sizes, args.dropout).to(device)
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loader = DataLoader(TensorDataset(Xs, ys), batch_size=args.batch_size, shuffle=True)
    model.train()
    steps, epoch_ends = 0, []
    for _epoch in range(args.epochs):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = F.mse_loss(model(xb).squeeze(-1), yb)
            loss = loss + args.weight_decay * sum(w.pow(2).sum() for w in weights)
            loss.backward()
            optimizer.step()
            steps += 1
        sync(device)  # a no-op on CPU; on CUDA only once an epoch, so the loop stays async
        epoch_ends.append(time.perf_counter())
    train_seconds = epoch_ends[-1] - t0
    epoch_seconds = np.diff([t0, *epoch_ends]).tolist()
    # Steady state: the epochs after the first (which also carries the one-off set-up).
    steps_per_epoch = steps // args.epochs
    steady = (
        steps_per_epoch * (args.epochs - 1) / (epoch_ends[-1] - epoch_ends[0])
        if args.epochs > 1
        else float("nan")
    )

    # Final training MSE with dropout off, standardised units (outside the timers).
    model.eval()
    with torch.no_grad():
        pred = model(Xs.to(device)).squeeze(-1)
        train_mse = F.mse_loss(pred, ys.to(device)).item()

    # --- MC dropout ---------------------------------------------------------------------
    t0 = time.perf_counter()
    model.train()  # dropout on
    Xt = torch.from_numpy((X_mc - x_mean) / x_sd).to(device)
    with torch.no_grad():
        draws = torch.stack([model(Xt).squeeze(-1) for _ in range(args.mc_passes)])
    draws = draws.cpu().numpy().astype(np.float64) * y_sd + y_mean
    sync(device)
    mc_seconds = time.perf_counter() - t0

    print(
        json.dumps(
            {
                "framework": "torch",
                "config": args.config,
                "torch_version": torch.__version__,
                "python_version": platform.python_version(),
                "device": str(device)
                + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
                "num_threads": torch.get_num_threads(),
                "dtype": "float32",
                "n_train": int(X.shape[0]),
                "sizes": sizes,
                "steps": steps,
                "train_seconds": train_seconds,
                "steps_per_second": steps / train_seconds,
                "steps_per_second_after_first_epoch": steady,
                "epoch_seconds": epoch_seconds,
                "train_mse_standardised": train_mse,
                "mc_passes": args.mc_passes,
                "mc_points": int(X_mc.shape[0]),
                "mc_draws_shape": list(draws.shape),
                "mc_seconds": mc_seconds,
                "mc_passes_per_second": args.mc_passes / mc_seconds,
                "mc_mean_sd_standardised": float(draws.std(0).mean() / y_sd),
            }
        )
    )


if __name__ == "__main__":
    main()
