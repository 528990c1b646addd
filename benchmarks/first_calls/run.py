"""Wall time of calls that compile on first use, in fresh interpreters, beside JAX's own draw.

A user's first exact posterior, or first prediction for a new number of rows, compiles the
random draws it makes (one program per shape), which a fold of other rows reuses (as it does the
Gaussian model's ridge and lasso modes, found from the d x d sums of squares, and its NUTS
program, which reads the sums in place of the rows); the evidence and its maximisation
(``fit_evidence``) compile nothing, being closed-form in NumPy; a first score of held-out rows,
or of a mixture's log likelihood (``bayes_reg.predictive``), compiles its log densities; a first
Laplace posterior or mode of a model compiles its starting point, its L-BFGS and its map back to
the supports; a GLM's mode under a kinked prior (Laplace, elastic net) compiles its proximal
solver, which a second fit of another strength reuses; a prior with a scale per feature reruns
the programs (NUTS, the mode) a prior of one scale compiled, and with a known noise its
posterior is closed-form, as one scale's is; a deep ensemble compiles its Adam loop
and its L-BFGS polish, which a second fit on new data of the same shape reuses. Each row below
runs in a new process: the imports and the data are set up untimed, then one call is timed,
compilation included, as a user waits for it. Measured in the same run, as peers:

- ``jax.random.normal(key, (4, 1000, 11))``: JAX's own draw of a (chain, draw, coefficient)
  array, the shape an exact posterior of ten features draws;
- the same values drawn flat, ``jax.random.normal(key, (44000,)).reshape(4, 1000, 11)``,
  the way ``bayes_reg._random.flat_normal`` draws them.

With ``--baseline DIR`` (a folder holding another ``bayes_reg`` package, e.g. the last commit:
``git archive HEAD bayes_reg | tar -x -C DIR``) the library's rows are timed from that copy
too, in the same rounds. Every row runs ``--repeats`` times (default 5), the rows taking turns
within each round; the median is reported, with the fastest and slowest run::

    .venv/bin/python benchmarks/first_calls/run.py [--baseline /tmp/before]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from run import machine_info  # noqa: E402  (the CLI benchmark's machine description)

RESULTS = Path(__file__).resolve().parents[1] / "results"
ROOT = Path(__file__).resolve().parents[2]

#: Set-up shared by the library's rows (untimed): 80 rows, ten features.
SETUP = """
import numpy as np, jax
jax.config.update("jax_enable_x64", True)
import bayes_reg as br
rng = np.random.default_rng(0)
X = rng.normal(size=(80, 10))
y = X @ rng.normal(size=10) + rng.normal(size=80)
counts = rng.poisson(np.exp(0.2 * X[:, 0])).astype(float)
classes = (rng.random(80) < 0.5).astype(float)
fit = lambda y, **kw: br.sample_posterior(X, y, prior=br.Gaussian(1.0), progress=False, **kw)
br.sample_posterior, br.predict  # their modules imported before the clock starts
"""

#: The toy-gap card's network and prior on the toy-gap data of a given seed (100 rows).
ENSEMBLE = """
wd = br.weight_decay_from_tau(100.0, dropout=0.05, n=100, lengthscale=2.0)
def nets(seed):
    toy = br.toy_gap(seed=seed)
    return br.net_target(toy.X_train, toy.y_train, tau=100.0, weight_decay=wd, hidden=(50,))
"""

#: name -> (untimed set-up after SETUP, the timed call)
LIBRARY = {
    "exact posterior, 4 x 1000 draws": ("", 'fit(y, sigma=1.0, method="exact")'),
    "exact posterior, a fold of other rows (72 of 80)": (
        'fit(y, sigma=1.0, method="exact")',
        "br.sample_posterior(X[:72], y[:72], prior=br.Gaussian(1.0), sigma=1.0, progress=False)",
    ),
    "NUTS, Gaussian model, a fold of other rows": (
        "nuts = lambda n: br.sample_posterior(X[:n], y[:n], prior=br.Gaussian(1.0),"
        ' sigma=br.HalfNormal(1.0), method="nuts", progress=False); nuts(80)',
        "nuts(72)",
    ),
    "ridge mode, a fold of other rows": (
        "br.map_estimate(X, y, br.Gaussian(1.0), 1.0)",
        "br.map_estimate(X[:72], y[:72], br.Gaussian(1.0), 1.0)",
    ),
    "lasso mode, a fold of other rows": (
        "br.map_estimate(X, y, br.Laplace(0.3), 1.0)",
        "br.map_estimate(X[:72], y[:72], br.Laplace(0.3), 1.0)",
    ),
    "fit_evidence (type-II maximum likelihood)": ("", "br.fit_evidence(X, y)"),
    "fit_evidence, a fold of other rows (72 of 80)": (
        "br.fit_evidence(X, y)",
        "br.fit_evidence(X[:72], y[:72])",
    ),
    "predict 37 new rows, Gaussian": (
        'p = fit(y, sigma=1.0, method="exact")',
        "br.predict(p, X[:37])",
    ),
    "predict 37 new rows, Poisson": (
        'p = fit(counts, likelihood="poisson", method="laplace")',
        "br.predict(p, X[:37])",
    ),
    "predict 37 new rows, Bernoulli": (
        'p = fit(classes, likelihood="bernoulli", method="laplace")',
        "br.predict(p, X[:37])",
    ),
    "score 37 rows, Gaussian": (
        'p = fit(y, sigma=1.0, method="exact"); pr = br.predict(p, X[:37])',
        "br.score(pr, y[:37])",
    ),
    "score 37 rows, Poisson": (
        'p = fit(counts, likelihood="poisson", method="laplace"); pr = br.predict(p, X[:37])',
        "br.score(pr, counts[:37])",
    ),
    "log_likelihood, 1000 draws at 200 points": (
        "from bayes_reg.predictive import log_likelihood; f = rng.normal(size=(1000, 200))",
        "log_likelihood(f, rng.normal(size=200), 0.3)",
    ),
    "Laplace posterior, logistic, 4 x 1000 draws": (
        "",
        'fit(classes, likelihood="bernoulli", method="laplace")',
    ),
    "Laplace posterior, logistic, a second fit (new seed)": (
        'fit(classes, likelihood="bernoulli", method="laplace")',
        'fit(classes, likelihood="bernoulli", method="laplace", seed=1)',
    ),
    "posterior_mode, logistic lasso": (
        "",
        'br.posterior_mode(X, classes, br.Laplace(0.3), likelihood="bernoulli")',
    ),
    "posterior_mode, logistic lasso, a second fit (new strength)": (
        'br.posterior_mode(X, classes, br.Laplace(0.3), likelihood="bernoulli")',
        'br.posterior_mode(X, classes, br.Laplace(0.2), likelihood="bernoulli")',
    ),
    "NUTS, logistic, a scale per feature after one scale": (
        "nuts = lambda p: br.sample_posterior(X, classes, prior=p, likelihood='bernoulli',"
        ' method="nuts", progress=False); nuts(br.Gaussian(1.0))',
        "nuts(br.Gaussian(np.linspace(0.5, 2.0, 10)))",
    ),
    "posterior_mode, logistic, a scale per feature after one scale": (
        "mode = lambda p: br.posterior_mode(X, classes, p, likelihood='bernoulli');"
        " mode(br.Gaussian(1.0))",
        "mode(br.Gaussian(np.linspace(0.5, 2.0, 10)))",
    ),
    "posterior (method 'auto'), a scale and a mean per feature, known sigma": (
        "",
        "br.sample_posterior(X, y, prior=br.Gaussian(np.linspace(0.5, 2.0, 10), mean=0.1),"
        " sigma=1.0, progress=False)",
    ),
    "map_model, lasso": (
        "",
        "br.map_model(br.linear_regression, X, y, prior=br.Laplace(1.0), sigma=1.0)",
    ),
    "deep ensemble, 5 networks 1-50-1, 300 epochs": (
        ENSEMBLE,
        "jax.block_until_ready(br.train_modes(nets(0), members=5, epochs=300).params)",
    ),
    "deep ensemble, a second fit (new data of the same shape)": (
        ENSEMBLE + "br.train_modes(nets(0), members=5, epochs=300); other = nets(1)",
        "jax.block_until_ready(br.train_modes(other, members=5, epochs=300).params)",
    ),
}

PEERS = {
    "jax.random.normal, shape (4, 1000, 11)": (
        "import jax; jax.config.update('jax_enable_x64', True); key = jax.random.key(0)",
        "jax.random.normal(key, (4, 1000, 11)).block_until_ready()",
    ),
    "the same values drawn flat": (
        "import jax; jax.config.update('jax_enable_x64', True); key = jax.random.key(0)",
        "jax.random.normal(key, (44000,)).reshape(4, 1000, 11).block_until_ready()",
    ),
}

CHILD = """
import time
{setup}
start = time.perf_counter()
{call}
print(time.perf_counter() - start)
"""


def _runs(baseline: Path | None) -> dict[str, tuple[str, dict]]:
    packages = {"": ROOT} | ({" (baseline)": baseline} if baseline is not None else {})
    runs = {}
    for name, (setup, call) in LIBRARY.items():
        code = CHILD.format(setup=SETUP + setup, call=call)
        for suffix, where in packages.items():
            runs[name + suffix] = (code, {"PYTHONPATH": str(where)})
    for name, (setup, call) in PEERS.items():
        runs[name] = (CHILD.format(setup=setup, call=call), {})
    return runs


def _time_once(code: str, env: dict, cwd: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"a timed call failed: {done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def measure(repeats: int, baseline: Path | None) -> dict[str, dict]:
    runs = _runs(baseline)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JAX_ENABLE_X64")}
    # No persistent compilation cache: every process compiles, as a first call does.
    env = {
        k: v
        for k, v in env.items()
        if not k.startswith(("JAX_COMPILATION_CACHE", "BAYES_REG_CACHE"))
    }
    env |= {"JAX_PLATFORMS": "cpu", "JAX_ENABLE_COMPILATION_CACHE": "false"}
    times: dict[str, list[float]] = {label: [] for label in runs}
    with tempfile.TemporaryDirectory() as cwd:
        for _ in range(repeats):
            for label, (code, extra) in runs.items():
                times[label].append(_time_once(code, env | extra, cwd))
    return {
        label: {
            "median_s": statistics.median(t),
            "min_s": min(t),
            "max_s": max(t),
            "runs_s": t,
            "pythonpath": runs[label][1].get("PYTHONPATH"),
        }
        for label, t in times.items()
    }


def markdown(report: dict) -> str:
    m, st = report["machine"], report["settings"]
    v = ", ".join(f"{k} {val}" for k, val in m["versions"].items() if val)
    load = [", ".join(f"{x:.2f}" for x in st[k]) for k in ("load_before", "load_after")]
    lines = [
        "# Calls that compile on first use: wall time in a fresh interpreter",
        "",
        f"{m['date']}; {m['cores']} cores, {m['cpu']}; {m['platform']}; Python {m['python']}; {v}.",
        f"Load average (1, 5, 15 min) before: {load[0]}; after: {load[1]}.",
        "",
        f"Each row ran {st['repeats']} times in new processes, the rows taking turns within each"
        " round, without the persistent compilation cache; the time of the one call after"
        " its imports and data (compilation included): median, fastest and slowest."
        + (
            f" `(baseline)` rows run the package in `{st['baseline']}` (the code before the"
            " change) in the same rounds."
            if st["baseline"]
            else ""
        ),
        "",
        "| call | median s | min s | max s |",
        "|---|---:|---:|---:|",
    ]
    for label, r in report["results"].items():
        lines.append(f"| {label} | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['max_s']:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each (median)")
    parser.add_argument("--baseline", type=Path, help="a folder holding another bayes_reg")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for first_calls.*")
    args = parser.parse_args(argv)
    if args.baseline is not None and not (args.baseline / "bayes_reg").is_dir():
        parser.error(f"--baseline {args.baseline}: no bayes_reg package in it")
    load_before = os.getloadavg()
    results = measure(args.repeats, args.baseline and args.baseline.resolve())
    report = {
        "machine": machine_info(),
        "settings": {
            "repeats": args.repeats,
            "baseline": str(args.baseline) if args.baseline else None,
            "load_before": load_before,
            "load_after": os.getloadavg(),
        },
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "first_calls.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "first_calls.md").write_text(markdown(report))
    print(markdown(report))
    return report


if __name__ == "__main__":
    main()
