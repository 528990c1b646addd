"""The mode under a Laplace prior with a known noise, as ``posterior_mode`` finds it: coordinate
descent for the Gaussian likelihood, the proximal method (FISTA, then Newton's steps on the
coefficients off their kink) for the others; on five problems, and the closed-form mode under a
Gaussian prior on one, against scikit-learn's solvers of the same objective (``Lasso``, L1
``LogisticRegression``, ``Ridge``) in the same rounds.

Each problem is fitted once untimed (compiling), then timed over repeat fits (a user's refit:
a fold, a strength on a grid). ``--baseline DIR`` also times the package in ``DIR`` (another
``bayes_reg``, e.g. the code before a change) in the same rounds, each package in its own
process. Writes ``benchmarks/results/penalised_modes.{json,md}``::

    mkdir -p /tmp/before && git archive HEAD bayes_reg | tar -x -C /tmp/before
    .venv/bin/python benchmarks/penalised_modes/run.py --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import Lasso, LogisticRegression, Ridge

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from run import machine_info  # noqa: E402  (the CLI benchmark's machine description)

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
REPEATS = 5


def problems() -> dict:
    """name: (X, y, prior scale, posterior_mode's keywords, what it is); the prior is a Laplace
    but for the ridge (a Gaussian)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 50))
    w = np.r_[rng.normal(size=10), np.zeros(40)]
    gaussian = X @ w + rng.standard_t(4, 20_000)
    bernoulli = (rng.random(20_000) < 1 / (1 + np.exp(-X @ w))).astype(float)
    C = rng.normal(size=(3_000, 30))
    correlated = C + 3 * C[:, :1]  # condition number 68
    y_correlated = correlated[:, :5] @ np.ones(5) + rng.normal(size=3_000)
    counts_X = rng.normal(size=(3_000, 10))
    counts = rng.poisson(np.exp(1.5 * counts_X[:, 0] + 2)).astype(float)
    known = {"likelihood": "gaussian", "sigma": 1.0}
    return {
        "gaussian, ridge": (X, gaussian, 0.1, known, "20,000 x 50"),
        "gaussian": (X, gaussian, 0.1, known, "20,000 x 50"),
        "gaussian, correlated": (correlated, y_correlated, 0.05, known, "3,000 x 30, cond 68"),
        "student-t": (X, gaussian, 0.1, known | {"likelihood": "student-t"}, "20,000 x 50"),
        "bernoulli": (X, bernoulli, 0.05, {"likelihood": "bernoulli"}, "20,000 x 50"),
        "poisson": (counts_X, counts, 0.05, {"likelihood": "poisson"}, "3,000 x 10"),
    }


def ours() -> dict:
    """In a child process: each problem's compile fit, then REPEATS timed fits."""
    import bayes_reg as br
    from bayes_reg.linear.map import posterior_mode

    out = {}
    for name, (X, y, scale, kw, _) in problems().items():
        prior = br.Gaussian(scale) if name.endswith("ridge") else br.Laplace(scale)
        mode = posterior_mode(X, y, prior, **kw)
        times = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            posterior_mode(X, y, prior, **kw)
            times.append(time.perf_counter() - start)
        out[name] = {"times_s": times, "w": mode["w"].tolist(), "b": float(mode["b"])}
    return out


def peers() -> dict:
    """scikit-learn's solvers of the same objectives, to a tolerance that reaches the mode to
    about 1e-9: Lasso (coordinate descent, alpha = sigma^2 / (n scale)), L1 logistic
    regression (saga, C = scale) and Ridge (alpha = sigma^2 / scale^2, its closed form)."""
    out = {}
    for name, (X, y, scale, kw, _) in problems().items():
        if name.endswith("ridge"):
            model = Ridge(alpha=1.0 / scale**2)
        elif kw["likelihood"] == "gaussian":
            model = Lasso(alpha=1.0 / (len(y) * scale), tol=1e-12, max_iter=100_000)
        elif kw["likelihood"] == "bernoulli":
            model = LogisticRegression(
                C=scale, l1_ratio=1.0, solver="saga", tol=1e-10, max_iter=100_000
            )
        else:
            continue
        times = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            model.fit(X, y)
            times.append(time.perf_counter() - start)
        intercept = np.ravel(model.intercept_)[0]
        out[name] = {"times_s": times, "w": np.ravel(model.coef_).tolist(), "b": intercept}
    return out


def _child(package: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, __file__, "--child"],
        env=env | {"PYTHONPATH": str(package), "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="a folder holding another bayes_reg")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(ours()))
        return
    if args.baseline is not None and not (args.baseline / "bayes_reg").is_dir():
        parser.error(f"--baseline {args.baseline}: no bayes_reg package in it")
    load_before = os.getloadavg()
    runs = {"ours": _child(ROOT)}
    if args.baseline is not None:
        runs["baseline"] = _child(args.baseline.resolve())
    runs["scikit-learn"] = peers()
    rows = []
    for name, (_, _, scale, kw, shape) in problems().items():
        mode = runs["ours"][name]
        theta = np.append(mode["w"], mode["b"])
        route = "coordinate descent" if kw["likelihood"] == "gaussian" else "proximal"
        route = "closed form" if name.endswith("ridge") else route
        row = {"problem": name, "shape": shape, "route": route, "scale": scale}
        row["zeros"] = int(np.sum(np.asarray(mode["w"]) == 0))
        for who, results in runs.items():
            if name in results:
                r = results[name]
                row[f"{who}_s"] = statistics.median(r["times_s"])
                row[f"{who}_runs_s"] = r["times_s"]
                other = np.append(r["w"], r["b"])
                row[f"{who}_differs"] = float(np.abs(other - theta).max() / np.abs(theta).max())
        rows.append(row)
        print(row, flush=True)
    report = {
        "machine": machine_info(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "repeats": REPEATS,
        "baseline": str(args.baseline) if args.baseline else None,
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "penalised_modes.json").write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / "penalised_modes.md").write_text(markdown(report))


def markdown(report: dict) -> str:
    m = report["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    load = [", ".join(f"{x:.2f}" for x in report[k]) for k in ("load_before", "load_after")]
    baseline = report["baseline"] is not None
    lines = [
        "# The mode under a Laplace (or Gaussian) prior with a known noise: repeat fits",
        "",
        f"{m['date']}; {m['cores']} cores, {m['cpu']}; {m['platform']}; Python {m['python']};",
        f"{versions}.",
        f"Load average (1, 5, 15 min) before: {load[0]}; after: {load[1]}.",
        "",
        f"Median of {report['repeats']} repeat fits after a compiling one, in seconds; each"
        " package in its own process, scikit-learn in this one."
        + (
            f" The baseline is the package in `{report['baseline']}` (the code before the change)."
            if baseline
            else ""
        )
        + " `differs`: the largest difference from this package's mode, relative to its"
        " largest coefficient.",
        "",
        "| problem | rows x features | route | zeros | ours (s) |"
        + (" baseline (s) | ours faster | baseline differs |" if baseline else "")
        + " scikit-learn (s) | ours faster | scikit-learn differs |",
        "|---|---|---|---:|---:|" + ("---:|---:|---:|" if baseline else "") + "---:|---:|---:|",
    ]
    for r in report["rows"]:
        cells = [r["problem"], r["shape"], r["route"], str(r["zeros"]), f"{r['ours_s']:.3f}"]
        if baseline:
            cells += [
                f"{r['baseline_s']:.3f}",
                f"{r['baseline_s'] / r['ours_s']:.0f}×",
                f"{r['baseline_differs']:.0e}",
            ]
        if "scikit-learn_s" in r:
            cells += [
                f"{r['scikit-learn_s']:.3f}",
                f"{r['scikit-learn_s'] / r['ours_s']:.1f}×",
                f"{r['scikit-learn_differs']:.0e}",
            ]
        else:
            cells += ["—", "—", "—"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
