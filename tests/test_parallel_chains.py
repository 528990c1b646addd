"""NUTS's fast paths: chains in parallel across devices, the Gaussian likelihood summed or
through its sufficient statistics. Each must give the same posterior as the plain path."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import log_density

from bayes_reg import (
    Gaussian,
    HalfCauchy,
    HalfNormal,
    Laplace,
    StudentT,
    exact_posterior,
    linear_regression,
    run_nuts,
)
from bayes_reg.inference.sampler import Sampler
from bayes_reg.linear.gram import Gram

# A child process with a given number of CPU devices samples a Gaussian-prior regression (the
# exact posterior is known) once per chain count in argv, and prints each run's draws of w, b.
_CHILD = """
import json, sys
import numpy as np
import bayes_reg as br, jax
rng = np.random.default_rng(3)
X = rng.normal(size=(40, 3))
y = X @ [1.0, -2.0, 0.5] + 0.7 + 0.8 * rng.normal(size=40)
runs = []
for chains in map(int, sys.argv[1:]):
    post = br.run_nuts(br.linear_regression, X, y, prior=br.Gaussian(2.0), sigma=0.8,
                       sampler=br.Sampler(chains=chains, warmup=300, draws=600), seed=11,
                       progress=False)
    p = post.tree["posterior"]
    runs.append(np.concatenate([p["w"].values, p["b"].values[..., None]], axis=-1).tolist())
print(json.dumps({"devices": len(jax.devices()), "runs": runs}))
"""


def _sample_in_child(devices: int, *chains: int) -> tuple[int, list[np.ndarray]]:
    env = os.environ | {"JAX_NUM_CPU_DEVICES": str(devices), "JAX_PLATFORMS": "cpu"}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, *map(str, chains)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["devices"], [np.asarray(run) for run in result["runs"]]


@pytest.fixture(scope="module")
def exact_moments():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.7 + 0.8 * rng.normal(size=40)
    post = exact_posterior(X, y, prior_scale=2.0, sigma=0.8)
    # Columns w_0..w_2 then b, as the child prints them.
    mean = np.append(np.asarray(post.w_mean), float(post.b_mean))
    sd = np.append(np.asarray(post.w_sd), float(post.b_sd))
    return mean, sd


def _assert_matches(draws, mean, sd):
    """Every chain's mean within MCSE of the exact mean (600 draws of a well-mixing chain:
    ESS of a few hundred; 5 MCSE at ESS 150 is ~0.4 sd), and the pooled sd within 10%."""
    for chain in draws:
        z = (chain.mean(0) - mean) / (sd / np.sqrt(150))
        assert np.all(np.abs(z) < 5), z
    pooled = draws.reshape(-1, draws.shape[-1])
    np.testing.assert_allclose(pooled.std(0), sd, rtol=0.1)


@pytest.mark.parametrize("devices", [1, 2, pytest.param(3, marks=pytest.mark.slow)])
def test_chains_in_parallel_give_the_exact_posterior(devices, exact_moments):
    # 4 chains, then 3: chains that do not divide over the devices are padded, then dropped;
    # then 4 chains again, which must repeat the first run exactly.
    seen, (four, three, again) = _sample_in_child(devices, 4, 3, 4)
    assert seen == devices
    assert four.shape == (4, 600, 4) and three.shape == (3, 600, 4)
    _assert_matches(four, *exact_moments)
    _assert_matches(three, *exact_moments)
    np.testing.assert_array_equal(four, again)
    # Chains from separate keys: no two share their draws.
    for i in range(4):
        for j in range(i):
            assert not np.allclose(four[i], four[j])


# ------------------------------------------------------------------ the summed likelihood


def _data(n, d, shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, size=d) + rng.normal(size=d) * 3
    y = X @ rng.normal(size=d) + 2.0 + rng.normal(size=n) + shift
    return X, y


def _point(kwargs, d, seed=1):
    """Unconstrained values for every latent site of the model at kwargs."""
    rng = np.random.default_rng(seed)
    point = {"w_z": rng.normal(size=d), "b": rng.normal() * 5}
    if isinstance(kwargs["prior"], Laplace):
        point["w_mix"] = rng.exponential(size=d)
    if kwargs.get("intercept") is False:
        point.pop("b")
    if isinstance(kwargs.get("sigma"), HalfCauchy):
        point["sigma"] = 1.3
    return {k: jnp.asarray(v) for k, v in point.items()}


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(prior=Gaussian(1.0), sigma=0.7),
        dict(prior=Gaussian(1.0), sigma=HalfCauchy(2.0)),
        dict(prior=Laplace(0.5), sigma=0.7, intercept=False),
        dict(prior=StudentT(3.0, 2.0), sigma=HalfCauchy(2.0), scale_with_sigma=False),
        dict(prior=Gaussian(2.0), sigma=HalfCauchy(2.0), scale_with_sigma=True),
        dict(prior=Gaussian(np.linspace(0.1, 3, 6)), sigma=0.7, intercept=Gaussian(4.0, 1.0)),
    ],
)
@pytest.mark.parametrize("shift", [0.0, 1e6])
def test_summed_and_sufficient_statistics_give_the_same_log_density(kwargs, shift):
    # y far from zero (shift 1e6): the statistics are of centred data, so the residual sum of
    # squares does not cancel catastrophically.
    X, y = _data(50, 6, shift)
    point = _point(kwargs, 6)

    def density(**extra):
        return log_density(linear_regression, (X, y), kwargs | extra, point)[0]

    rows = float(density())
    assert float(density(summed=True)) == pytest.approx(rows, rel=1e-13)
    assert float(density(summed=Gram.of(X, y))) == pytest.approx(rows, rel=1e-11)

    def grad(summed):
        fn = lambda p: log_density(linear_regression, (X, y), kwargs | {"summed": summed}, p)[0]  # noqa: E731
        return jax.grad(fn)(point)

    for name, g in grad(Gram.of(X, y)).items():
        np.testing.assert_allclose(g, grad(False)[name], rtol=1e-8, atol=1e-8 * np.abs(rows))


def test_sufficient_statistics_refuse_what_they_cannot_hold():
    X, y = _data(20, 3)
    with pytest.raises(ValueError, match="Gaussian likelihood without offset"):
        log_density(
            linear_regression,
            (X, y),
            dict(prior=Gaussian(1.0), sigma=1.0, likelihood="student-t", summed=Gram.of(X, y)),
            {"w_z": jnp.zeros(3), "b": jnp.asarray(0.0)},
        )


@pytest.mark.parametrize("n", [4, 60])
def test_nuts_on_the_fast_likelihood_matches_the_exact_posterior(n):
    # n = 4 rows, fewer than the 5 features: NUTS sums the rows; n = 60 goes through the
    # sufficient statistics.
    X, y = _data(n, 5, seed=4)
    post = run_nuts(
        linear_regression,
        X,
        y,
        prior=Gaussian(1.5),
        sigma=1.0,
        sampler=Sampler(chains=2, warmup=400, draws=1000),
        seed=2,
        progress=False,
    )
    exact = exact_posterior(X, y, prior_scale=1.5, sigma=1.0)
    mean, sd = np.asarray(exact.w_mean), np.asarray(exact.w_sd)
    w = post.tree["posterior"]["w"].values.reshape(-1, 5)
    ess = 400  # well under the run's bulk ESS
    assert post.diagnostics.min_ess_bulk > ess
    assert np.all(np.abs(w.mean(0) - mean) < 5 * sd / np.sqrt(ess))
    np.testing.assert_allclose(w.std(0), sd, rtol=0.1)
    # The stored tree has the per-row log likelihood and predictive all the same.
    assert post.tree["log_likelihood"]["y"].shape == (2, 1000, n)


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("sigma", [0.7, HalfNormal(2.0)], ids=["known", "sampled"])
def test_the_parametrization_read_from_the_sufficient_statistics_is_the_rows_own(
    intercept, weighted, sigma
):
    """The "auto" parametrization's choice per coefficient (does the data's information exceed
    the prior's precision?) read from the Gram, as NUTS reads it without the rows, is the one the
    rows give: columns of scales 0.1 to 10 under priors around the boundary."""
    from bayes_reg.linear.information import information_weight, likelihood_dominates
    from bayes_reg.noise import as_noise

    X, y = _data(80, 6, seed=7)
    weight = np.random.default_rng(3).integers(0, 4, 80).astype(float) if weighted else None
    noise = as_noise(sigma)
    both = []
    for scale in (0.003, 0.03, 0.3, 3.0):
        args = (Gaussian(scale), noise, "gaussian", intercept, False, None)
        rows = likelihood_dominates(X, y, *args[:-1], information_weight(weight, None))
        sums = likelihood_dominates(X, Gram.of(X, y, weight), *args)
        np.testing.assert_array_equal(np.asarray(sums), np.asarray(rows))
        both.append(np.asarray(rows))
    assert np.any(both) and not np.all(both)  # both choices are made


def test_a_fold_of_other_rows_runs_the_same_compiled_sampler():
    """Through the sufficient statistics the program sees no rows: a fold of 150 of 200 rows
    compiles nothing, and its draws are its own posterior's (the exact one, within 5 MCSE)."""
    from bayes_reg.inference import _program

    X, y = _data(200, 4, seed=5)
    sampler = Sampler(chains=2, warmup=300, draws=600, dense_mass=False)
    kw = {"prior": Gaussian(1.0), "sigma": 1.0, "sampler": sampler, "progress": False}
    run_nuts(linear_regression, X, y, **kw)
    program = _program._program(linear_regression, (), sampler)
    compiled = program._cache_size()
    post = run_nuts(linear_regression, X[:150], y[:150], seed=3, **kw)
    assert program._cache_size() == compiled
    exact = exact_posterior(X[:150], y[:150], prior_scale=1.0, sigma=1.0)
    w = post.tree["posterior"]["w"].values.reshape(-1, 4)
    assert post.diagnostics.min_ess_bulk > 400
    assert np.all(np.abs(w.mean(0) - exact.w_mean) < 5 * np.asarray(exact.w_sd) / np.sqrt(400))
    assert post.tree["log_likelihood"]["y"].shape == (2, 600, 150)


@pytest.mark.parametrize(
    "setting, code, expected",
    [
        ({}, "import bayes_reg, jax", len(os.sched_getaffinity(0))),
        ({}, "import jax; import bayes_reg", len(os.sched_getaffinity(0))),
        ({"JAX_NUM_CPU_DEVICES": "1"}, "import bayes_reg, jax", 1),
        ({"XLA_FLAGS": "--xla_force_host_platform_device_count=3"}, "import bayes_reg, jax", 3),
        ({}, "import jax; jax.numpy.zeros(1); import bayes_reg", 1),  # JAX already running
    ],
)
def test_one_cpu_device_per_core_unless_the_user_chose(setting, code, expected):
    env = {k: v for k, v in os.environ.items() if k not in ("JAX_NUM_CPU_DEVICES", "XLA_FLAGS")}
    out = subprocess.run(
        [sys.executable, "-c", code + "; print(len(jax.devices()))"],
        env=env | setting | {"JAX_PLATFORMS": "cpu"},
        check=True,
        capture_output=True,
        text=True,
    )
    assert int(out.stdout.split()[-1]) == expected
