"""Generate ``torch_glm.json``: full-batch ``torch.optim.SGD(weight_decay=wd)`` GLM fits.

Each case trains ``nn.Linear(d, 1)`` in float64 with plain SGD (no momentum), the weight in a
parameter group with ``weight_decay=wd`` and the bias in one with ``weight_decay=0``, on

- ``nn.BCEWithLogitsLoss()`` (logistic regression, labels 0/1), which minimises
  ``mean(log(1 + exp(eta)) - y eta) + (wd / 2) ||w||^2``, and
- ``nn.PoissonNLLLoss(log_input=True)`` (Poisson regression, log link, counts), which
  minimises ``mean(exp(eta) - y eta) + (wd / 2) ||w||^2``, and
- ``nn.BCEWithLogitsLoss(weight=trials)`` on each row's proportion of successes (binomial
  counts), which minimises ``mean(trials (log(1 + exp(eta)) - p eta)) + (wd / 2) ||w||^2``: the
  mean is over the rows, so this is the binomial's NLL over the rows (+ a constant),

until no parameter moves more than 1e-13 in a step, and then checks that the gradient of that
objective is below 1e-12. The step is ``1 / L`` with ``L`` the largest eigenvalue of the
objective's Hessian: a fixed bound for the log-loss (``X'X / 4n + wd``, each row weighted by
its trials for the binomial), and for the Poisson
loss the Hessian at the current point, recomputed every 50 steps (the fixed point of SGD does
not depend on the step). The data, settings and fitted parameters are written to JSON so the
project's tests check them without torch.

Run with a Python that has torch and numpy (torch is NOT a project dependency)::

    python3 -m venv /tmp/torch311 && /tmp/torch311/bin/pip install torch==2.13.0 numpy
    /tmp/torch311/bin/python tests/reference/make_torch_glm.py
"""

import json
from pathlib import Path

import numpy as np
import torch

HOW_MADE = (
    "python3 -m venv /tmp/torch311 && /tmp/torch311/bin/pip install torch==2.13.0 numpy"
    " && /tmp/torch311/bin/python tests/reference/make_torch_glm.py"
)
STEP_TOL = 1e-13  # stop when no parameter moves more than this in one step
GRAD_TOL = 1e-12  # and then require the full objective's gradient norm below this
MAX_STEPS = 2_000_000
REFRESH = 50  # Poisson: steps between recomputing L at the current point
WDS = [1e-3, 1e-2, 1e-1]


def problems():
    """(name, likelihood, X, y, trials): two logistic, two Poisson and one binomial problem
    (y its successes), fixed seeds; trials is None but for the binomial."""
    for seed, n, d in [(0, 200, 4), (1, 80, 6)]:
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, d))
        eta = X @ rng.normal(size=d) - 0.3
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
        yield f"logistic-n{n}-d{d}-seed{seed}", "bernoulli", X, y, None
    for seed, n, d in [(2, 150, 3), (3, 60, 5)]:
        rng = np.random.default_rng(seed)
        X = 0.5 * rng.normal(size=(n, d))
        eta = X @ (0.5 * rng.normal(size=d)) + 0.5
        y = rng.poisson(np.exp(eta)).astype(float)
        yield f"poisson-n{n}-d{d}-seed{seed}", "poisson", X, y, None
    seed, n, d = 4, 50, 3
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    trials = rng.integers(1, 13, size=n).astype(float)
    eta = X @ rng.normal(size=d) - 0.3
    y = rng.binomial(trials.astype(int), 1 / (1 + np.exp(-eta))).astype(float)
    yield f"binomial-n{n}-d{d}-seed{seed}", "binomial", X, y, trials


def _largest_eigenvalue(Xa, weights, wd):
    """Largest eigenvalue of Xa' diag(weights) Xa / n + wd I (an upper bound for the bias)."""
    return np.linalg.eigvalsh(Xa.T @ (weights[:, None] * Xa) / len(Xa)).max() + wd


def fit(likelihood, X, y, trials, wd):
    """Full-batch torch SGD with weight decay on the weight only, run to convergence."""
    n, d = X.shape
    Xt, yt = torch.tensor(X), torch.tensor(y).reshape(-1, 1)
    Xa = np.hstack([X, np.ones((n, 1))])
    if likelihood == "bernoulli":
        loss_fn = torch.nn.BCEWithLogitsLoss()
        lr = 1.0 / _largest_eigenvalue(Xa, np.full(n, 0.25), wd)  # p (1 - p) <= 1/4
    elif likelihood == "binomial":  # each row's proportion, weighted by its trials
        yt = torch.tensor(y / trials).reshape(-1, 1)
        loss_fn = torch.nn.BCEWithLogitsLoss(weight=torch.tensor(trials).reshape(-1, 1))
        lr = 1.0 / _largest_eigenvalue(Xa, 0.25 * trials, wd)
    else:
        loss_fn = torch.nn.PoissonNLLLoss(log_input=True)
        lr = None
    torch.manual_seed(0)
    lin = torch.nn.Linear(d, 1, dtype=torch.float64)
    with torch.no_grad():  # start at zero: the same start for every case
        lin.weight.zero_()
        lin.bias.zero_()
    opt = torch.optim.SGD(
        [
            {"params": [lin.weight], "weight_decay": wd},
            {"params": [lin.bias], "weight_decay": 0.0},
        ],
        lr=lr or 1.0,
        momentum=0.0,
    )
    steps, moved = 0, np.inf
    while moved >= STEP_TOL and steps < MAX_STEPS:
        if likelihood == "poisson" and steps % REFRESH == 0:
            with torch.no_grad():
                mu = torch.exp(lin(Xt)).ravel().numpy()
            for group in opt.param_groups:
                group["lr"] = 1.0 / _largest_eigenvalue(Xa, mu, wd)
        before = torch.cat([lin.weight.detach().ravel(), lin.bias.detach()]).clone()
        opt.zero_grad()
        loss_fn(lin(Xt), yt).backward()
        opt.step()
        after = torch.cat([lin.weight.detach().ravel(), lin.bias.detach()])
        moved, steps = (after - before).abs().max().item(), steps + 1
    # Gradient of the full objective mean(loss) + (wd / 2) ||w||^2 at the end point.
    opt.zero_grad()
    objective = loss_fn(lin(Xt), yt) + 0.5 * wd * lin.weight.pow(2).sum()
    objective.backward()
    grad = torch.cat([lin.weight.grad.ravel(), lin.bias.grad]).norm().item()
    if grad > GRAD_TOL:
        raise RuntimeError(f"not converged after {steps} steps: gradient norm {grad:.3e}")
    return dict(
        steps=steps,
        grad_norm=grad,
        objective=objective.item(),
        weight=lin.weight.detach().ravel().tolist(),
        bias=lin.bias.item(),
    )


def main():
    datasets, cases = {}, []
    for name, likelihood, X, y, trials in problems():
        # Each data set is stored once; its cases name it in "dataset".
        datasets[name] = dict(likelihood=likelihood, X=X.tolist(), y=y.tolist())
        if trials is not None:
            datasets[name]["trials"] = trials.tolist()
        for wd in WDS:
            out = fit(likelihood, X, y, trials, wd)
            print(f"{name} wd={wd:g}: {out['steps']} steps, grad norm {out['grad_norm']:.2e}")
            convention = "torch-poisson" if likelihood == "poisson" else "torch-bce"
            cases.append(
                dict(name=f"{name}-wd{wd:g}", dataset=name, convention=convention, wd=wd, **out)
            )
    ref = dict(
        how_made=HOW_MADE,
        torch_version=torch.__version__,
        numpy_version=np.__version__,
        objective="torch.optim.SGD(weight_decay=wd) on nn.BCEWithLogitsLoss() (bernoulli),"
        " nn.PoissonNLLLoss(log_input=True) (poisson) or nn.BCEWithLogitsLoss(weight=trials) of"
        " the proportions successes/trials (binomial; y holds the successes), mean reduction,"
        " full batch, momentum 0, float64, bias in a parameter group with weight_decay=0,"
        " started at zero",
        step_tol=STEP_TOL,
        grad_tol=GRAD_TOL,
        datasets=datasets,
        cases=cases,
    )
    path = Path(__file__).with_name("torch_glm.json")
    path.write_text(json.dumps(ref, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
