"""Generate ``torch_sgd.json``: full-batch ``torch.optim.SGD(weight_decay=wd)`` fits.

Each case trains ``nn.Linear(d, 1)`` in float64 on ``nn.MSELoss()`` with plain SGD (no
momentum), the weight in a parameter group with ``weight_decay=wd`` and the bias in one with
``weight_decay=0``, until no parameter moves more than 1e-13 in a step. That minimises
``mean(r^2) + (wd / 2) ||w||^2``. The data, settings and fitted parameters are written to
JSON so the project's tests check them without torch.

Run with a Python that has torch, numpy and scikit-learn (torch is NOT a project
dependency)::

    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch==2.13.0 numpy scikit-learn
    /tmp/tv/bin/python tests/reference/make_torch_sgd.py
"""

import json
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_diabetes

HOW_MADE = (
    "python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch==2.13.0 numpy scikit-learn"
    " && /tmp/tv/bin/python tests/reference/make_torch_sgd.py"
)
STEP_TOL = 1e-13  # stop when no parameter moves more than this in one step
GRAD_TOL = 1e-10  # and then require the full objective's gradient norm below this
MAX_STEPS = 2_000_000


def problems():
    """(name, X, y, wds): the diabetes data and two random problems."""
    X, y = load_diabetes(return_X_y=True)
    # Standardise the columns (numpy, population std) so full-batch SGD converges quickly.
    X = (X - X.mean(0)) / X.std(0)
    yield "diabetes", X, y, [1e-3, 1e-2, 1e-1]
    for seed, n, d, scale, intercept in [(0, 50, 5, 4.0, 3.0), (1, 30, 8, 0.25, -7.5)]:
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, d))
        w = rng.normal(size=d)
        y = scale * (X @ w + 0.5 * rng.normal(size=n)) + intercept
        yield f"random-n{n}-d{d}-seed{seed}", X, y, [1e-2, 1e-1]


def fit(X, y, wd):
    """Full-batch torch SGD with weight decay on the weight only, run to convergence."""
    n, d = X.shape
    Xt, yt = torch.tensor(X), torch.tensor(y).reshape(-1, 1)
    # lr = 1 / L, L the largest Hessian eigenvalue of the objective in (w, b).
    Xa = np.hstack([X, np.ones((n, 1))])
    lr = 1.0 / (np.linalg.eigvalsh(2 * Xa.T @ Xa / n).max() + wd)
    torch.manual_seed(0)
    lin = torch.nn.Linear(d, 1, dtype=torch.float64)
    opt = torch.optim.SGD(
        [
            {"params": [lin.weight], "weight_decay": wd},
            {"params": [lin.bias], "weight_decay": 0.0},
        ],
        lr=lr,
        momentum=0.0,
    )
    mse = torch.nn.MSELoss()
    steps, moved = 0, np.inf
    while moved >= STEP_TOL and steps < MAX_STEPS:
        before = torch.cat([lin.weight.detach().ravel(), lin.bias.detach()]).clone()
        opt.zero_grad()
        mse(lin(Xt), yt).backward()
        opt.step()
        after = torch.cat([lin.weight.detach().ravel(), lin.bias.detach()])
        moved, steps = (after - before).abs().max().item(), steps + 1
    # Gradient of the full objective mean(r^2) + (wd / 2) ||w||^2 at the end point.
    opt.zero_grad()
    (mse(lin(Xt), yt) + 0.5 * wd * lin.weight.pow(2).sum()).backward()
    grad = torch.cat([lin.weight.grad.ravel(), lin.bias.grad]).norm().item()
    if grad > GRAD_TOL:
        raise RuntimeError(f"not converged after {steps} steps: gradient norm {grad:.3e}")
    w = lin.weight.detach().ravel().tolist()
    return dict(lr=lr, steps=steps, grad_norm=grad, weight=w, bias=lin.bias.item())


def main():
    datasets, cases = {}, []
    for name, X, y, wds in problems():
        # Each data set is stored once; its cases name it in "dataset".
        datasets[name] = dict(X=X.tolist(), y=y.tolist())
        for wd in wds:
            out = fit(X, y, wd)
            print(f"{name} wd={wd:g}: {out['steps']} steps, grad norm {out['grad_norm']:.2e}")
            cases.append(dict(name=f"{name}-wd{wd:g}", dataset=name, wd=wd, **out))
    ref = dict(
        how_made=HOW_MADE,
        torch_version=torch.__version__,
        numpy_version=np.__version__,
        objective="torch.optim.SGD(weight_decay=wd) on nn.MSELoss(), full batch, momentum 0,"
        " bias in a parameter group with weight_decay=0; X of diabetes standardised"
        " column-wise (mean 0, population std 1)",
        step_tol=STEP_TOL,
        datasets=datasets,
        cases=cases,
    )
    path = Path(__file__).with_name("torch_sgd.json")
    path.write_text(json.dumps(ref, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
