"""NUTS effective samples per second: bayes_reg against its peers, in one run.

Two problems with a Gaussian prior on ``w``, a flat intercept and a known noise scale, so
that the exact posterior is known (:func:`bayes_reg.exact_posterior`):

- ``d2l``: the d2l.ai weight-decay chapter's data (20 rows x 200 features, seed 0),
  sigma = 0.01, prior scale matched to d2l ``lambd = 3`` (``to_prior("d2l", 3, n=20,
  sigma=0.01)``, about 0.00129);
- ``diabetes``: scikit-learn's diabetes data (442 x 10, X as sklearn ships it),
  sigma = 54 (about the type-II ML estimate), prior scale 300.

Samplers, each 4 chains x (1000 warmup + 1000 draws); a first call with seed 0 (it
compiles), then ``--repeats`` warm calls with seeds 1, 2, ... (the median one is reported):

- ``bayes_reg``: :func:`bayes_reg.run_nuts` on :func:`bayes_reg.linear_regression`
  (non-centred: ``w = scale * w_z``), the whole call timed (it also builds the ArviZ tree;
  the log likelihood and posterior predictive in it are computed when first read);
- ``numpyro``: plain NumPyro, the textbook centred model (``w ~ Normal(0, scale)``), one
  ``MCMC`` object whose ``run`` is called for every fit;
- ``blackjax``: BlackJAX NUTS with ``window_adaptation`` on the same centred log density,
  adaptation and sampling in one jitted function vmapped over the chains;
- ``nutpie``: the centred model written in PyMC, ``nutpie.compile_pymc_model`` once
  (numba backend), then ``nutpie.sample``;
- ``exact``: i.i.d. draws from the closed-form posterior (the ceiling).

ESS is the minimum bulk ESS over all parameters (``b`` and every ``w_j``), computed by
``arviz_stats.ess`` on numpy ``(chain, draw, parameter)`` arrays for every sampler.
Run with the side environment that has the peers (see README.md)::

    /work/venv-bench/bin/python benchmarks/nuts/run.py
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

RESULTS = Path(__file__).resolve().parents[1] / "results"
SAMPLERS = ("bayes_reg", "numpyro", "numpyro_dense", "blackjax", "nutpie", "exact")
PROBLEMS = ("d2l", "diabetes", "correlated")
PACKAGES = (
    "bayes-reg",
    "jax",
    "jaxlib",
    "numpyro",
    "blackjax",
    "pymc",
    "pytensor",
    "nutpie",
    "numba",
    "arviz-stats",
    "numpy",
    "scikit-learn",
)


class Problem(NamedTuple):
    name: str
    X: np.ndarray
    y: np.ndarray
    sigma: float
    prior_scale: float
    description: str


class Settings(NamedTuple):
    chains: int
    warmup: int
    draws: int


class Call(NamedTuple):
    """One timed call: wall seconds, JAX compile seconds within it, draws (chain, draw, p)."""

    seconds: float
    compile_seconds: float
    compiles: int
    draws: np.ndarray
    info: dict


# --------------------------------------------------------------------------- problems


def make_problems() -> list[Problem]:
    from sklearn.datasets import load_diabetes

    import bayes_reg as br

    d2l = br.d2l_synthetic(seed=0)
    g = br.to_prior("d2l", 3.0, n=20, sigma=0.01).scale
    X_db, y_db = load_diabetes(return_X_y=True)
    rng = np.random.default_rng(0)
    lags = np.abs(np.subtract.outer(np.arange(24), np.arange(24)))
    X_corr = rng.normal(size=(200, 24)) @ np.linalg.cholesky(0.95**lags).T
    y_corr = X_corr @ (0.5 * (-1.0) ** np.arange(24)) + 1.0 + rng.normal(size=200)
    return [
        Problem(
            "d2l",
            d2l.X_train,
            d2l.y_train,
            0.01,
            g,
            f"d2l_synthetic(seed=0), 20 x 200, sigma 0.01, prior N(0, {g:.6g}) (d2l lambd 3)",
        ),
        Problem(
            "diabetes",
            X_db,
            y_db,
            54.0,
            300.0,
            "sklearn load_diabetes, 442 x 10 (X as shipped), sigma 54, prior N(0, 300)",
        ),
        Problem(
            "correlated",
            X_corr,
            y_corr,
            1.0,
            10.0,
            "200 x 24, columns N(0, 1) with correlation 0.95^|i-j| (AR(1)), y = X w + 1 +"
            " N(0, 1), w_j = (-1)^j / 2, sigma 1, prior N(0, 10), seed 0",
        ),
    ]


# --------------------------------------------------------------------------- JAX compile clock


class _CompileClock:
    """Wall time spent inside JAX tracing, lowering and XLA compilation.

    ``jax.monitoring`` reports each phase's duration when it ends; nested phases (tracing an
    outer jit traces the inner ones) overlap, so the clock keeps the intervals and counts
    their union, never a moment twice.
    """

    def __init__(self):
        self.intervals: list[tuple[float, float]] = []
        self.compiles = 0
        from jax import monitoring

        monitoring.register_event_duration_secs_listener(self._listen)

    def _listen(self, event: str, duration: float, **kwargs) -> None:
        if event.startswith("/jax/core/compile/") or event.startswith("/jax/compilation_cache/"):
            end = time.perf_counter()
            self.intervals.append((end - duration, end))
        if event == "/jax/core/compile/backend_compile_duration":
            self.compiles += 1

    def read(self) -> tuple[int, int]:
        """A bookmark: (number of intervals so far, number of XLA compiles so far)."""
        return len(self.intervals), self.compiles

    def seconds_since(self, bookmark: int, start: float, stop: float) -> float:
        total, cursor = 0.0, start
        for a, b in sorted(self.intervals[bookmark:]):
            a, b = max(a, cursor), min(b, stop)
            if b > a:
                total += b - a
                cursor = b
        return total


_CLOCK: _CompileClock | None = None


def _timed(fn: Callable[[], tuple[np.ndarray, dict]]) -> Call:
    i0, n0 = _CLOCK.read()
    start = time.perf_counter()
    draws, info = fn()
    stop = time.perf_counter()
    _, n1 = _CLOCK.read()
    return Call(stop - start, _CLOCK.seconds_since(i0, start, stop), n1 - n0, draws, info)


def _stack(b, w) -> np.ndarray:
    """(chain, draw) intercept and (chain, draw, d) weights -> (chain, draw, 1 + d)."""
    b = np.asarray(b, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    return np.concatenate([b[..., None], w], axis=-1)


# --------------------------------------------------------------------------- samplers
# Each factory takes (problem, settings) and returns a function seed -> (draws of shape
# (chain, draw, 1 + d), info); whatever a sampler builds once (a compiled model) is built in
# the first call. Imports happen in the factory, outside the timed calls.


def sampler_bayes_reg(p: Problem, s: Settings):
    import bayes_reg as br

    prior = br.Gaussian(p.prior_scale)

    def call(seed: int) -> np.ndarray:
        start = time.perf_counter()
        res = br.run_nuts(
            br.linear_regression,
            p.X,
            p.y,
            sampler=br.Sampler(chains=s.chains, warmup=s.warmup, draws=s.draws),
            seed=seed,
            progress=False,
            prior=prior,
            sigma=p.sigma,
        )
        run_nuts_s = time.perf_counter() - start
        post = res.tree["posterior"]
        info = {
            "mcmc_run_s": res.seconds,
            # The library's call alone, without this benchmark's reading of the tree below.
            "run_nuts_s": run_nuts_s,
            # Counted from the draws, as for nutpie: the diagnostics (R-hat, ESS) are computed
            # on first use, which this benchmark's own ESS does not need.
            "divergences": int(res.tree["sample_stats"]["diverging"].sum()),
            "mass_matrix": res.tree.attrs["mass_matrix"],
        }
        return _stack(post["b"].to_numpy(), post["w"].to_numpy()), info

    return call


def sampler_numpyro_dense(p: Problem, s: Settings):
    return sampler_numpyro(p, s, dense_mass=True)


def sampler_numpyro(p: Problem, s: Settings, dense_mass: bool = False):
    import jax
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    d = p.X.shape[1]

    def model(X, y, scale, sigma):
        w = numpyro.sample("w", dist.Normal(0.0, scale).expand([d]).to_event(1))
        b = numpyro.sample("b", dist.ImproperUniform(dist.constraints.real, (), ()))
        numpyro.sample("y", dist.Normal(X @ w + b, sigma), obs=y)

    mcmc = MCMC(
        NUTS(model, dense_mass=dense_mass),
        num_warmup=s.warmup,
        num_samples=s.draws,
        num_chains=s.chains,
        chain_method="sequential",
        progress_bar=False,
    )

    def call(seed: int):
        mcmc.run(
            jax.random.key(seed), p.X, p.y, p.prior_scale, p.sigma, extra_fields=("diverging",)
        )
        samples = mcmc.get_samples(group_by_chain=True)
        divergences = int(mcmc.get_extra_fields()["diverging"].sum())
        return _stack(samples["b"], samples["w"]), {"divergences": divergences}

    return call


def sampler_blackjax(p: Problem, s: Settings):
    import blackjax
    import jax
    import jax.numpy as jnp

    X, y = jnp.asarray(p.X), jnp.asarray(p.y)
    d = p.X.shape[1]

    def logdensity(q):
        r = y - X @ q["w"] - q["b"]
        return -0.5 * jnp.sum(r**2) / p.sigma**2 - 0.5 * jnp.sum(q["w"] ** 2) / p.prior_scale**2

    def one_chain(position, key):
        k_adapt, k_draws = jax.random.split(key)
        warmup = blackjax.window_adaptation(blackjax.nuts, logdensity)
        (state, params), _ = warmup.run(k_adapt, position, num_steps=s.warmup)
        step = blackjax.nuts(logdensity, **params).step

        def body(state, k):
            state, info = step(k, state)
            return state, (state.position, info.is_divergent)

        _, (draws, diverging) = jax.lax.scan(body, state, jax.random.split(k_draws, s.draws))
        return draws, diverging.sum()

    @jax.jit
    def run(key):
        k_init, k_chains = jax.random.split(key)
        k_w, k_b = jax.random.split(k_init)
        # NumPyro's default initialisation: uniform(-2, 2) in unconstrained space.
        init = {
            "w": jax.random.uniform(k_w, (s.chains, d), minval=-2.0, maxval=2.0),
            "b": jax.random.uniform(k_b, (s.chains,), minval=-2.0, maxval=2.0),
        }
        return jax.vmap(one_chain)(init, jax.random.split(k_chains, s.chains))

    def call(seed: int):
        draws, divergences = jax.block_until_ready(run(jax.random.key(seed)))
        return _stack(draws["b"], draws["w"]), {"divergences": int(divergences.sum())}

    return call


def sampler_nutpie(p: Problem, s: Settings):
    import nutpie
    import pymc as pm

    compiled = None

    def call(seed: int):
        nonlocal compiled
        info = {}
        if compiled is None:
            start = time.perf_counter()
            with pm.Model() as model:
                b = pm.Flat("b")
                w = pm.Normal("w", 0.0, p.prior_scale, shape=p.X.shape[1])
                pm.Normal("y", mu=pm.math.dot(p.X, w) + b, sigma=p.sigma, observed=p.y)
            compiled = nutpie.compile_pymc_model(model)
            info["compile_pymc_model_s"] = time.perf_counter() - start
        trace = nutpie.sample(
            compiled,
            draws=s.draws,
            tune=s.warmup,
            chains=s.chains,
            seed=seed,
            progress_bar=False,
        )
        post = trace["posterior"]
        divergences = int(trace["sample_stats"]["diverging"].sum())
        info["divergences"] = divergences
        return _stack(post["b"].to_numpy(), post["w"].to_numpy()), info

    return call


def sampler_exact(p: Problem, s: Settings):
    import jax

    import bayes_reg as br

    def call(seed: int):
        post = br.exact_posterior(p.X, p.y, prior_scale=p.prior_scale, sigma=p.sigma)
        draws = jax.block_until_ready(post.sample(jax.random.key(seed), (s.chains, s.draws)))
        return _stack(draws["b"], draws["w"]), {"divergences": 0}

    return call


FACTORIES = {
    "bayes_reg": sampler_bayes_reg,
    "numpyro": sampler_numpyro,
    "numpyro_dense": sampler_numpyro_dense,
    "blackjax": sampler_blackjax,
    "nutpie": sampler_nutpie,
    "exact": sampler_exact,
}
NEEDS = {"blackjax": ("blackjax",), "nutpie": ("nutpie", "pymc")}


# --------------------------------------------------------------------------- metrics


def ess_bulk(draws: np.ndarray) -> np.ndarray:
    """Bulk ESS of each parameter of (chain, draw, p) draws, the same function for all."""
    import arviz_stats

    return np.asarray(arviz_stats.ess(draws, method="bulk"), dtype=np.float64)


def check(draws: np.ndarray, exact_mean: np.ndarray, exact_sd: np.ndarray) -> dict:
    ess = ess_bulk(draws)
    flat = draws.reshape(-1, draws.shape[-1])
    mean, sd = flat.mean(axis=0), flat.std(axis=0, ddof=1)
    z = (mean - exact_mean) / (exact_sd / np.sqrt(ess))
    ratio = sd / exact_sd
    worst = int(np.argmin(ess))
    return {
        "min_ess_bulk": float(ess[worst]),
        "worst_parameter": "b" if worst == 0 else f"w[{worst - 1}]",
        "median_ess_bulk": float(np.median(ess)),
        "max_abs_z": float(np.max(np.abs(z))),
        "sd_ratio_min": float(ratio.min()),
        "sd_ratio_max": float(ratio.max()),
    }


def _sampling_seconds(call: Call) -> float:
    """Sampling alone: bayes_reg's NUTS program as the result reports it (without the
    ArviZ tree the call also returns); for the others the
    call minus the JAX compilation measured inside it."""
    return call.info.get("mcmc_run_s", call.seconds - call.compile_seconds)


def _assembly_note(r: dict) -> str:
    """What bayes_reg's second call spent outside its NUTS program."""
    nuts, call, whole = r["second"]["mcmc_run_s"], r["second"]["run_nuts_s"], r["second_call_s"]
    return (
        f" Of its run_nuts call ({call * 1e3:.1f} ms), the NUTS program"
        f" ({r['second']['mass_matrix']} mass matrix) took {nuts * 1e3:.1f} ms; the rest,"
        " checking the input and building the ArviZ tree (whose log likelihood, posterior"
        " predictive, R-hat and ESS wait until first read), took"
        f" {(call - nuts) * 1e3:.1f} ms ({1 - nuts / call:.1%} of the call); this benchmark's"
        f" own reading and stacking of the draws {(whole - call) * 1e3:.1f} ms more."
    )


def bench(p: Problem, name: str, s: Settings, exact_mean, exact_sd, repeats: int) -> dict:
    """First call (seed 0, compiles) and ``repeats`` warm calls (seeds 1, 2, ...).

    The warm call with the median ESS/s (sampling) stands for "the second call"; warm
    timings below a second move by tens of percent between calls on a 2-core machine.
    """
    start = time.perf_counter()
    call = FACTORIES[name](p, s)  # imports and model definitions, not timed below
    setup = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = _timed(lambda: call(0))
        warm = [_timed(lambda seed=seed: call(seed)) for seed in range(1, repeats + 1)]
    c1 = check(first.draws, exact_mean, exact_sd)
    checks = [check(w.draws, exact_mean, exact_sd) for w in warm]
    rates = [c["min_ess_bulk"] / _sampling_seconds(w) for c, w in zip(checks, warm, strict=True)]
    k = int(np.argsort(rates)[len(rates) // 2])
    second, c2 = warm[k], checks[k]
    return {
        "setup_s": setup,
        "first_call_s": first.seconds,
        "first_call_compile_s": first.compile_seconds,
        "first_call_jax_compiles": first.compiles,
        "second_call_s": second.seconds,
        "second_call_compile_s": second.compile_seconds,
        "second_call_jax_compiles": second.compiles,
        "sampling_s": _sampling_seconds(second),
        "ess_per_s_sampling": rates[k],
        "ess_per_s_second_call": c2["min_ess_bulk"] / second.seconds,
        "ess_per_s_first_call": c1["min_ess_bulk"] / first.seconds,
        "warm_calls": [
            {
                "seed": i + 1,
                "seconds": w.seconds,
                "compile_s": w.compile_seconds,
                "min_ess_bulk": c["min_ess_bulk"],
                "ess_per_s_sampling": r,
                "max_abs_z": c["max_abs_z"],
            }
            for i, (w, c, r) in enumerate(zip(warm, checks, rates, strict=True))
        ],
        "first": {**c1, **first.info},
        "second": {**c2, **second.info, "seed": k + 1},
    }


# --------------------------------------------------------------------------- report


def machine_info() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or not np.isfinite(x):
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def markdown(report: dict) -> str:
    m, st = report["machine"], report["settings"]
    v = ", ".join(f"{k} {val}" for k, val in m["versions"].items() if val)
    lines = [
        "# NUTS effective samples per second",
        "",
        f"{m['date']}; {m['cores']} cores, {m['cpu']}; load average"
        f" {', '.join(f'{x:.2f}' for x in m['load_average'])} before the run,"
        f" {', '.join(f'{x:.2f}' for x in report['load_average_after'])} after;"
        f" {m['devices']} JAX devices; Python {m['python']}; {v}.",
        f"{st['chains']} chains x ({st['warmup']} warmup + {st['draws']} draws); JAX float"
        f"{'64' if st['x64'] else '32'}; intercept flat for every sampler; ESS = min bulk ESS"
        " over b and all w (arviz_stats.ess), with the worst parameter in brackets.",
        "",
        f"The first call (seed 0) compiles; then {st['warm_repeats']} warm calls (seeds 1, 2,"
        " ...), and the one with the median ESS/s sampling is the '2nd call' shown."
        " ESS/s sampling = its min ESS / its sampling time: for bayes_reg the NUTS program"
        " alone (Posterior.seconds), for the others the call's wall time minus the JAX tracing"
        " and compile time measured inside it. ESS/s 2nd call = the same over the whole"
        " call (what a user sees on a repeat fit). ESS/s incl. compile = ESS of the first call /"
        " its wall time. max |z| = max over parameters of |mean - exact mean| / (exact sd /"
        " sqrt(ESS)); sd ratio = sampler sd / exact sd (second call). x nutpie = ESS/s"
        " sampling relative to nutpie on the same problem.",
        "",
        "| problem | sampler | min ESS | 1st call s | 2nd call s (compile s) | ESS/s sampling"
        " | ESS/s 2nd call | ESS/s incl. compile | max \\|z\\| | sd ratio | div. | x nutpie |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for prob, runs in report["results"].items():
        ref = runs.get("nutpie", {}).get("ess_per_s_sampling")
        for name, r in runs.items():
            if "skipped" in r:
                lines.append(f"| {prob} | {name} | {r['skipped']} ||||||||||")
                continue
            c = r["second"]
            rel = r["ess_per_s_sampling"] / ref if ref else None
            lines.append(
                f"| {prob} | {name} | {c['min_ess_bulk']:,.0f} ({c['worst_parameter']})"
                f" | {r['first_call_s']:.2f} | {r['second_call_s']:.2f}"
                f" ({r['second_call_compile_s']:.2f}) | {_fmt(r['ess_per_s_sampling'])}"
                f" | {_fmt(r['ess_per_s_second_call'])} | {_fmt(r['ess_per_s_first_call'])}"
                f" | {c['max_abs_z']:.2f} | {c['sd_ratio_min']:.3f}–{c['sd_ratio_max']:.3f}"
                f" | {c['divergences']} | {_fmt(rel, 2) if rel else '—'} |"
            )
    lines += ["", "Problems:", ""]
    lines += [f"- `{k}`: {d}" for k, d in report["problems"].items()]
    if report.get("notes"):
        lines += ["", "Notes:", ""] + [f"- {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def _notes(results: dict) -> list[str]:
    notes = []
    for prob, runs in results.items():
        for name in ("bayes_reg", "numpyro", "numpyro_dense"):
            r = runs.get(name)
            if r and "skipped" not in r:
                notes.append(
                    f"{prob}/{name}: the second call still spent {r['second_call_compile_s']:.2f}"
                    f" of {r['second_call_s']:.2f} s tracing and compiling"
                    f" ({r['second_call_jax_compiles']} XLA compiles; the first call"
                    f" {r['first_call_compile_s']:.2f} of {r['first_call_s']:.2f} s,"
                    f" {r['first_call_jax_compiles']} compiles)."
                    + (_assembly_note(r) if "mcmc_run_s" in r["second"] else "")
                )
        r = runs.get("blackjax")
        if r and "skipped" not in r:
            notes.append(
                f"{prob}/blackjax: {r['second_call_jax_compiles']} compiles on the second call"
                f" (one jitted function reused); first call {r['first_call_compile_s']:.2f} s"
                " of compiling."
            )
        r = runs.get("nutpie")
        if r and "skipped" not in r:
            notes.append(
                f"{prob}/nutpie: building the PyMC model and nutpie.compile_pymc_model (numba)"
                f" took {r['first']['compile_pymc_model_s']:.2f} s of the first call;"
                f" importing pymc and nutpie ({r['setup_s']:.1f} s on the first problem) is"
                " not counted. Chains run in parallel threads on all cores, as bayes_reg's run"
                " on all host devices (one per core); NumPyro runs them sequentially and"
                " BlackJAX vmaps them on one stream."
            )
    return notes


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samplers", nargs="+", default=list(SAMPLERS), choices=SAMPLERS)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=PROBLEMS)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument(
        "--repeats", type=int, default=3, help="warm calls per sampler (median reported)"
    )
    parser.add_argument(
        "--float32", action="store_true", help="run JAX in float32 (default: float64 for all)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for nuts.json/.md")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()

    import jax

    import bayes_reg  # noqa: F401  (its JAX settings before JAX starts: one CPU device per core)

    jax.config.update("jax_enable_x64", not args.float32)
    jax.config.update("jax_platforms", "cpu")
    global _CLOCK
    _CLOCK = _CompileClock()

    settings = Settings(args.chains, args.warmup, args.draws)
    problems = [p for p in make_problems() if p.name in args.problems]
    import bayes_reg as br

    results: dict[str, dict] = {}
    t_start = time.perf_counter()
    for p in problems:
        post = br.exact_posterior(p.X, p.y, prior_scale=p.prior_scale, sigma=p.sigma)
        exact_mean = np.concatenate([[float(post.b_mean)], np.asarray(post.w_mean)])
        exact_sd = np.concatenate([[float(post.b_sd)], np.asarray(post.w_sd)])
        results[p.name] = {}
        for name in args.samplers:
            missing = [m for m in NEEDS.get(name, ()) if not _importable(m)]
            if missing:
                results[p.name][name] = {"skipped": f"not installed: {', '.join(missing)}"}
                print(f"{p.name:9s} {name:10s} skipped ({', '.join(missing)} not installed)")
                continue
            r = bench(p, name, settings, exact_mean, exact_sd, args.repeats)
            results[p.name][name] = r
            print(
                f"{p.name:9s} {name:10s} ESS {r['second']['min_ess_bulk']:7.0f}"
                f"  1st {r['first_call_s']:6.2f} s  2nd {r['second_call_s']:6.2f} s"
                f" (compile {r['second_call_compile_s']:5.2f})"
                f"  ESS/s {r['ess_per_s_sampling']:10.0f}"
                f"  max|z| {r['second']['max_abs_z']:5.2f}",
                flush=True,
            )
    report = {
        "machine": machine_info() | {"load_average": load_before, "devices": len(jax.devices())},
        "load_average_after": os.getloadavg(),
        "settings": {
            **settings._asdict(),
            "warm_repeats": args.repeats,
            "x64": not args.float32,
            "intercept": "flat",
        },
        "problems": {p.name: p.description for p in problems},
        "total_seconds": time.perf_counter() - t_start,
        "results": results,
        "notes": _notes(results),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nuts.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "nuts.md").write_text(markdown(report))
    print(markdown(report))
    return report


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    main()
