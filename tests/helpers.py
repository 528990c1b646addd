"""Plain helpers shared by several test files: a small problem, hypothesis settings, the
strategies and checks of the property-based "finite or names the bad argument" tests, and
importing an optional test package.

Imported as ``from helpers import ...``: pytest puts ``tests/`` on ``sys.path`` (the default
``prepend`` import mode, no ``__init__.py``). Fixtures live in ``conftest.py``.
"""

import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure reproduces
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NAN, INF = float("nan"), float("inf")


def import_or_skip(name: str):
    """The module, or a skip when its package is not installed (a machine without the test
    extra, such as a GPU image without Keras). Unlike ``pytest.importorskip``, a package that
    is installed but fails to import fails the test: a broken environment must not read as a
    skip (ipykernel 6.0, lacking a dependency it does not declare, once skipped the notebooks)."""
    package = name.partition(".")[0]
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed", allow_module_level=True)
    return importlib.import_module(name)


def _data(n=12, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ np.arange(1.0, d + 1) + 0.1 * rng.normal(size=n)


X0, Y0 = _data()


def run_summary(card, out, *options) -> dict:
    """``bayes-reg run CARD --out OUT --quiet OPTIONS...``, which must succeed: its summary."""
    from bayes_reg.cli import main

    assert main(["run", str(card), "--out", str(out), "--quiet", *options]) == 0
    return json.loads((Path(out) / "summary.json").read_text())


# --- property-based: bad and borderline inputs ---------------------------------------------

ANY_FLOAT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, -1.0, 1e-320, 5e-324, 1e-300, 1e300, 1.7e308, NAN, INF, -INF]),
)
POSITIVE_FLOAT = st.one_of(st.floats(1e-3, 1e3), ANY_FLOAT)


def _bad_positive(x) -> bool:
    return not (isinstance(x, int | float) and math.isfinite(x) and x > 0)


def _assert_refusal_names(err: Exception, name: str):
    assert isinstance(err, ValueError | TypeError), repr(err)
    assert name in str(err), f"{name!r} not in {str(err)!r}"


def _arrays(draw, rows, cols, poison):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3, 1e6]))
    a = rng.normal(size=(rows, cols)) * scale
    if poison and a.size:
        a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([NAN, INF, -INF]))
    return a


@st.composite
def problems(draw):
    rows, cols = draw(st.integers(0, 8)), draw(st.integers(0, 4))
    X = _arrays(draw, rows, cols, draw(st.booleans()))
    y_rows = draw(st.sampled_from([rows, rows, rows, max(rows - 1, 0), rows + 1]))
    y = _arrays(draw, y_rows, 1, draw(st.booleans()))[:, 0]
    if draw(st.booleans()):
        X = X.astype(np.float32)
    return X, y


def _data_error(X, y, min_rows=2):
    """The argument the first failing data check must name, or None for valid data."""
    if X.shape[1] == 0 or X.shape[0] < min_rows or not np.isfinite(X).all():
        return "X"
    if y.shape[0] != X.shape[0]:
        return "rows but y has"
    if not np.isfinite(y).all():
        return "y"
    return None


#: NumPyro's own MCMC on the models the tests write out, stored: rerunning it costs 1.5-4 s a
#: model (NumPyro compiles its sampler on every call). Written by
#: tests/reference/make_numpyro_posteriors.py, which reruns the tests in recording mode.
NUMPYRO_POSTERIORS = Path(__file__).parent / "reference" / "numpyro_posteriors.json"
RECORD_NUMPYRO = "BAYES_REG_RECORD_NUMPYRO"  # set: run NumPyro and store, instead of reading


def numpyro_reference(model, *args, seed=0, warmup=1000, draws=4000) -> dict:
    """A second sampler: NumPyro's own ``MCMC`` on ``model(*args)`` (two chains, in sequence),
    as each site's mean, sd and Monte-Carlo standard error over its draws.

    Read from :data:`NUMPYRO_POSTERIORS` by a fingerprint of the model's source, the values it
    closes over, the data and the sampler's settings: a change to any of them fails here until
    the reference is made again (``python tests/reference/make_numpyro_posteriors.py``)."""
    key = _fingerprint(model, args, seed, warmup, draws)
    stored = json.loads(NUMPYRO_POSTERIORS.read_text()) if NUMPYRO_POSTERIORS.exists() else {}
    if os.environ.get(RECORD_NUMPYRO):
        entry = {
            "test": os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0],
            "sites": _numpyro_summary(model, args, seed, warmup, draws),
        }
        NUMPYRO_POSTERIORS.write_text(json.dumps(stored | {key: entry}, indent=1) + "\n")
    elif key not in stored:
        raise AssertionError(
            "no stored NumPyro posterior for this model, data and sampler (one of them changed):"
            " make it with `python tests/reference/make_numpyro_posteriors.py`"
        )
    else:
        entry = stored[key]
    return {
        site: {stat: np.asarray(value) for stat, value in stats.items()}
        for site, stats in entry["sites"].items()
    }


def _fingerprint(model, args, seed, warmup, draws) -> str:
    digest = hashlib.sha256(inspect.getsource(model).encode())
    for cell in model.__closure__ or ():
        digest.update(repr(_plain(cell.cell_contents)).encode())
    # The data to float32's 7 digits: data drawn through np.exp or a matrix product differ in
    # their last bits between CPUs (NumPy's AVX-512 kernels or not), and their posterior does not.
    for arg in args:
        digest.update(np.ascontiguousarray(arg, dtype=np.float32).tobytes())
    digest.update(repr((seed, warmup, draws)).encode())
    return digest.hexdigest()[:20]


def _plain(value):
    """A value as Python numbers, strings and lists (a prior by its class and fields), whose
    repr does not depend on NumPy's printing."""
    if dataclasses.is_dataclass(value):
        return [
            type(value).__name__,
            *(_plain(getattr(value, f.name)) for f in dataclasses.fields(value)),
        ]
    return value.tolist() if isinstance(value, np.ndarray) else value


def _numpyro_summary(model, args, seed, warmup, draws) -> dict:
    # Imported here: arviz/numpyro must load after bayes_reg (see bayes_reg/__init__.py).
    import jax
    from numpyro.infer import MCMC, NUTS

    mcmc = MCMC(
        NUTS(model),
        num_warmup=warmup,
        num_samples=draws,
        num_chains=2,
        chain_method="sequential",
        progress_bar=False,
    )
    mcmc.run(jax.random.key(seed), *args)
    samples = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    return {
        site: {
            "mean": v.mean((0, 1)).tolist(),
            "sd": v.std((0, 1)).tolist(),
            "mcse": mcse(v).tolist(),
        }
        for site, v in samples.items()
    }


def mcse(draws: np.ndarray) -> np.ndarray:
    """Monte-Carlo standard error of the mean of (chain, draw, ...) draws, by ArviZ."""
    import arviz_stats
    import xarray as xr

    dims = ("chain", "draw", *(f"dim{i}" for i in range(draws.ndim - 2)))
    return arviz_stats.mcse(xr.Dataset({"v": (dims, draws)}))["v"].values


def assert_same_posterior(tree, ref: dict, names) -> None:
    """``tree``'s posterior against a reference (:func:`numpyro_reference`): means within 4
    combined Monte-Carlo standard errors, sds within 10%."""
    for v in names:
        ours, theirs = tree["posterior"][v].values, ref[v]
        m1, m2 = ours.mean((0, 1)), theirs["mean"]
        assert np.all(np.abs(m1 - m2) < 4 * np.hypot(mcse(ours), theirs["mcse"])), (v, m1, m2)
        np.testing.assert_allclose(ours.std((0, 1)), theirs["sd"], rtol=0.1)


def assert_mode_with_sampled_sigma(ours, log_likelihood, prior_scale: float, noise) -> None:
    """``ours``, a mode of p(w, b, log sigma | y) under ``w ~ N(0, prior_scale²)``, a flat
    ``b`` and ``noise`` (a ``HalfNormal`` or a flat prior) on sigma, against scipy's BFGS on
    that log posterior written with ``log_likelihood(w, b, sigma)`` (scipy's densities; the log
    Jacobian log sigma included)."""
    import scipy.optimize
    from scipy import stats

    from bayes_reg.noise import FlatNoise, HalfNormal

    assert isinstance(noise, HalfNormal | FlatNoise)
    d = len(ours["w"])

    def negative_log_posterior(theta):
        w, b, log_sigma = theta[:d], theta[d], theta[d + 1]
        sigma = np.exp(log_sigma)
        log_prior = stats.norm.logpdf(w, 0.0, prior_scale).sum() + log_sigma
        if isinstance(noise, HalfNormal):  # a flat prior adds nothing
            log_prior += stats.halfnorm.logpdf(sigma, scale=noise.scale)
        return -(log_likelihood(w, b, sigma) + log_prior)

    fit = scipy.optimize.minimize(
        negative_log_posterior, np.zeros(d + 2), method="BFGS", options={"gtol": 1e-9}
    )
    # BFGS ends on "precision loss" at the mode, where the objective is flat to rounding: no
    # point it found is higher than ours.
    at_ours = np.concatenate([ours["w"], [ours["b"], np.log(ours["sigma"])]])
    assert fit.fun >= negative_log_posterior(at_ours) - 1e-9
    np.testing.assert_allclose(ours["w"], fit.x[:d], atol=1e-6)
    np.testing.assert_allclose(ours["b"], fit.x[d], atol=1e-6)
    np.testing.assert_allclose(ours["sigma"], np.exp(fit.x[d + 1]), rtol=1e-6)
