"""Exact draws where the model is conjugate, no recompiling, draws that compile fast, and
mode finders whose set-up is compiled."""

import contextlib
import json
import os
import subprocess
import sys

import arviz_stats
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
import pytest
import scipy.stats
from jax.flatten_util import ravel_pytree
from numpyro.infer.util import initialize_model
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import BayesianRidge, Lasso, LogisticRegression, Ridge

from bayes_reg import (
    ElasticNet,
    Gaussian,
    Laplace,
    exact_posterior,
    fit_evidence,
    inverse_gamma_noise,
    linear_regression,
    log_evidence,
    map_estimate,
    posterior_mode,
    predict,
    sample_posterior,
)
from bayes_reg._random import flat_normal
from bayes_reg.cache import MAX_CACHE_BYTES
from bayes_reg.inference import _program, optimize
from bayes_reg.inference.sampler import Sampler
from bayes_reg.linear import proximal, sgd
from bayes_reg.linear.distributions import observation
from bayes_reg.linear.exact import nig_posterior
from bayes_reg.linear.posterior import run_nuts


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(30, 4))
    return X, X @ [1.0, -0.5, 0.0, 2.0] + 0.3 + 0.5 * rng.normal(size=30)


def test_conjugate_posterior_is_exact_by_default_and_agrees_with_nuts(problem):
    X, y = problem
    exact = sample_posterior(X, y, prior=Gaussian(1.0), sigma=0.5, seed=1, progress=False)
    nuts = sample_posterior(
        X,
        y,
        prior=Gaussian(1.0),
        sigma=0.5,
        method="nuts",
        seed=1,
        sampler=Sampler(warmup=500),
        progress=False,
    )
    assert exact.exact and not nuts.exact
    assert "exact" in exact.tree.attrs["sampler"]
    # The same layout, so reports and scripts need not care which one they got.
    assert set(exact.tree.children) == set(nuts.tree.children)
    for group in ("posterior", "log_likelihood", "posterior_predictive"):
        for name, var in nuts.tree[group].data_vars.items():
            if name in exact.tree[group]:
                assert exact.tree[group][name].dims == var.dims
    assert exact.diagnostics.ok and exact.diagnostics.divergences == 0
    # Both match the closed form: means within 4 MCSE, sds within 10%.
    closed = exact_posterior(X, y, prior_scale=1.0, sigma=0.5)
    for result in (exact, nuts):
        w = result.tree["posterior"]["w"]
        mcse = arviz_stats.mcse(result.tree["posterior"].to_dataset()[["w"]])["w"].values
        assert np.all(np.abs(w.mean(("chain", "draw")).values - closed.w_mean) < 4 * mcse)
        np.testing.assert_allclose(w.std(("chain", "draw")).values, closed.w_sd, rtol=0.1)


def test_non_conjugate_models_fall_back_to_nuts(problem):
    X, y = problem
    result = sample_posterior(
        X, y, prior=Laplace(1.0), sigma=0.5, sampler=Sampler(warmup=200, draws=200), progress=False
    )
    assert not result.exact
    with pytest.raises(ValueError, match="needs the gaussian likelihood, a Gaussian prior"):
        sample_posterior(X, y, prior=Laplace(1.0), sigma=0.5, method="exact")


def test_new_data_seed_and_strength_reuse_the_compiled_sampler(problem):
    X, y = problem
    # A mass matrix chosen, not "auto" (which run_nuts resolves from the data before looking up
    # the program), so that the lookup below names the very program run_nuts used.
    sampler = Sampler(chains=2, warmup=100, draws=100, dense_mass=False)
    kw = {"sampler": sampler, "progress": False, "sigma": 0.5}
    run_nuts(linear_regression, X, y, prior=Gaussian(1.0), seed=0, **kw)
    # The program run_nuts compiled (prior, sigma and the data's sufficient statistics are
    # traced: no static arguments). Other tests in this process may have compiled it for other
    # shapes: count from here.
    program = _program._program(linear_regression, (), sampler)
    compiled = program._cache_size()
    assert compiled >= 1
    run_nuts(linear_regression, X + 1.0, 2 * y, prior=Gaussian(0.1), seed=5, **kw)
    assert program._cache_size() == compiled


_CHILD = """
import jax, json, sys
import bayes_reg as br
hits = []
jax.monitoring.register_event_listener(
    lambda event, **kw: hits.append(event) if event == "/jax/compilation_cache/cache_hits" else None
)
br.enable_compilation_cache(sys.argv[1])
import numpy as np
X = np.random.default_rng(0).normal(size=(10, 2)); y = X.sum(1)
br.run_nuts(br.linear_regression, X, y, prior=br.Gaussian(1.0), sigma=1.0,
            sampler=br.Sampler(chains=1, warmup=20, draws=20), progress=False)
print(json.dumps([len(hits), jax.config.jax_compilation_cache_max_size]))
"""


def test_a_second_process_reads_the_persistent_cache(tmp_path):
    # Without the tests' own limit: the default one, which makes JAX lock the folder.
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_MAX_SIZE"}

    def run():
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(tmp_path)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    hits, limit = run()
    assert hits == 0  # a cold cache: everything compiled
    assert run()[0] > 0  # the same programs, now read back
    assert limit == MAX_CACHE_BYTES
    assert (tmp_path / ".lockfile").exists()  # JAX's lock, taken to write and read entries


def test_normal_inverse_gamma_is_exact_and_agrees_with_nuts(problem):
    X, y = problem
    kw = {
        "prior": Gaussian(2.0),
        "sigma": inverse_gamma_noise(3.0, 2.0),
        "scale_with_sigma": True,
        "seed": 2,
        "progress": False,
    }
    exact = sample_posterior(X, y, **kw)
    nuts = sample_posterior(X, y, method="nuts", sampler=Sampler(warmup=1000), **kw)
    assert exact.exact and not nuts.exact and nuts.diagnostics.divergences == 0
    _assert_agree(exact, nuts, ("w", "b", "sigma"))


def _assert_agree(exact, nuts, names):
    """Two independent estimates: their means differ by less than 4 combined MCSEs, their sds
    by less than 10%."""
    for name in names:
        e, n = exact.tree["posterior"][name], nuts.tree["posterior"][name]
        se = np.hypot(
            arviz_stats.mcse(exact.tree["posterior"].to_dataset()[[name]])[name].values,
            arviz_stats.mcse(nuts.tree["posterior"].to_dataset()[[name]])[name].values,
        )
        assert np.all(np.abs(e.mean(("chain", "draw")) - n.mean(("chain", "draw"))) < 4 * se)
        np.testing.assert_allclose(e.std(("chain", "draw")), n.std(("chain", "draw")), rtol=0.1)


@pytest.mark.parametrize("noise", ["known", "inverse-gamma"])
def test_a_prior_per_feature_with_a_mean_is_exact_and_agrees_with_nuts(problem, noise):
    """A Gaussian prior with a scale and a mean per feature (by name, in another order than the
    columns) keeps the closed form. Its mean (and with a known noise the mode) is
    scikit-learn's ridge on the columns times their scales, fitted to y less the prior means'
    fit (v = (w - m) / g has a unit prior; alpha is sigma² with a known noise, 1 where the
    scales are in units of sigma); exact and NUTS draws agree as in the tests above."""
    X, y = problem
    table = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    g, m = np.array([0.3, 2.0, 1.0, 0.5]), np.array([0.5, -1.0, 0.0, 1.5])
    means = {"d": 1.5, "c": 0.0, "b": -1.0, "a": 0.5}
    prior = Gaussian({"d": 0.5, "c": 1.0, "b": 2.0, "a": 0.3}, mean=means)
    kw = {"prior": prior, "seed": 3, "progress": False}
    if noise == "known":
        kw |= {"sigma": 0.5}
        alpha = 0.25
    else:
        kw |= {"sigma": inverse_gamma_noise(3.0, 2.0), "scale_with_sigma": True}
        alpha = 1.0
    exact = sample_posterior(table, y, **kw)
    nuts = sample_posterior(table, y, method="nuts", sampler=Sampler(warmup=1000), **kw)
    assert exact.exact and not nuts.exact and nuts.diagnostics.divergences == 0
    ridge = Ridge(alpha=alpha, solver="cholesky").fit(X * g, y - X @ m)
    if noise == "known":
        closed = exact_posterior(X, y, prior_scale=g, prior_mean=m, sigma=0.5)
    else:
        closed = nig_posterior(X, y, prior_scale=g, prior_mean=m, concentration=3.0, rate=2.0)
    np.testing.assert_allclose(closed.w_mean, m + g * ridge.coef_, rtol=1e-9)
    assert float(closed.mean[0]) == pytest.approx(ridge.intercept_, rel=1e-9)
    if noise == "known":  # the mode: the same ridge, from the closed form
        mode = posterior_mode(table, y, prior, sigma=0.5)
        np.testing.assert_allclose(mode["w"], m + g * ridge.coef_, rtol=1e-9)
        assert float(mode["b"]) == pytest.approx(ridge.intercept_, rel=1e-9)
    _assert_agree(exact, nuts, ("w", "b") + (("sigma",) if noise != "known" else ()))


def test_the_first_mass_matrix_is_one_over_the_curvature():
    # A Gaussian potential ½ xᵀ P x has curvature diag(P) along the coordinates, whatever
    # the point; sites are flattened in NumPyro's order (sorted names).
    P = np.array([[4e4, 10.0, 0.0], [10.0, 2.0, 0.5], [0.0, 0.5, 0.25]])

    def flat(z):
        return jnp.concatenate([z["a"], z["b"]])

    z = {"b": jnp.array([2.0]), "a": jnp.array([0.3, -1.0])}
    gaussian = _program.curvature_scales(lambda z: 0.5 * flat(z) @ P @ flat(z), z)
    np.testing.assert_allclose(gaussian, 1 / np.diag(P), rtol=1e-12)
    # Where the potential is concave or flat along a coordinate, NumPyro's 1 stays.
    bent = _program.curvature_scales(
        lambda z: flat(z)[1] ** 2 - flat(z)[0] ** 2 + 0 * flat(z)[2], z
    )
    np.testing.assert_allclose(bent, [1.0, 0.5, 1.0])


def test_a_long_run_takes_the_optimised_program_and_lands_where_the_quick_one_does(problem):
    X, y = problem
    strengths = np.array([0.1, 1.0])
    epochs = sgd._QUICK_STEPS + 1  # full batch: one step per epoch, just past the threshold
    path = sgd.sgd_path(X, y, strengths, lr=0.05, epochs=epochs, batch_size=len(y))
    args = (strengths, 0.05, 1.0, X, y, None, None, np.uint32(0))
    static = dict(optimizer="sgd", epochs=epochs, batch_size=len(y), record_weights=False)
    quick, _ = sgd._path_quick(*args, **static)
    np.testing.assert_allclose(path.w.values, quick.w, rtol=0, atol=1e-12)
    for i, wd in enumerate(strengths):  # and both at the penalised fit's minimiser
        ref = Ridge(alpha=len(y) * wd, solver="cholesky").fit(X, y)
        np.testing.assert_allclose(path.w.values[i], ref.coef_, rtol=0, atol=1e-10)


@pytest.mark.parametrize("shape", [(2, 50, 3), (4, 10, 7, 2), (5,), ()])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_flat_draws_are_jaxs_own_to_rounding(shape, dtype):
    key = jax.random.key(11)
    expected = jax.random.normal(key, shape, dtype)
    got = flat_normal(key, shape, dtype)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    if dtype == jnp.float64:
        assert np.array_equal(got, expected)
    else:  # the same bits, but float32's transform to a normal may round differently (seen: at
        # most 3 units in the last place over 150 draws of five shapes)
        np.testing.assert_array_max_ulp(np.asarray(got), np.asarray(expected), maxulp=4)


@pytest.mark.parametrize(
    "likelihood", ["gaussian", "student-t", "bernoulli", "poisson", "negative-binomial"]
)
def test_predictions_draw_what_the_distribution_of_every_row_draws(likelihood, rng):
    X = rng.normal(size=(40, 3))
    eta = 0.5 * X @ np.array([0.3, -0.2, 0.1])
    y = {
        "gaussian": eta + rng.normal(size=40),
        "student-t": eta + rng.standard_t(4, size=40),
        "bernoulli": (rng.random(40) < 1 / (1 + np.exp(-eta))).astype(float),
        "poisson": rng.poisson(np.exp(eta)).astype(float),
        "negative-binomial": rng.poisson(np.exp(eta) * rng.gamma(2.0, 0.5, 40)).astype(float),
    }[likelihood]
    noisy = likelihood in ("gaussian", "student-t", "negative-binomial")
    post = sample_posterior(
        X,
        y,
        prior=Gaussian(1.0),
        likelihood=likelihood,
        sigma=0.7 if noisy else None,
        method="laplace",
        seed=0,
        progress=False,
    )
    new = X[:13]
    got = predict(post, new, seed=5)
    # The reference: the outcome's distribution over (chain, draw, obs) at once, as NumPyro
    # draws it, with the same key.
    w, b = post.tree["posterior"]["w"].values, post.tree["posterior"]["b"].values
    sigma = np.full(w.shape[:2] + (1,), 0.7) if noisy else None
    dist = observation(likelihood, jnp.asarray(w @ new.T + b[..., None]), sigma)
    expected = np.asarray(dist.sample(jax.random.key(5)))
    # Equal to rounding: the reference sums eta in another order than predict does.
    np.testing.assert_allclose(got["y"].values, expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(got["mu"].values, np.asarray(dist.mean), rtol=0, atol=1e-14)


def _half_cauchy_model(y, scale):
    s = numpyro.sample("s", dist.HalfCauchy(1.0))
    mu = numpyro.sample("mu", dist.Normal(0.0, scale))
    numpyro.deterministic("twice", 2 * mu)
    numpyro.sample("y", dist.Normal(mu, s), obs=y)


def test_the_compiled_start_and_constraint_are_numpyros_own(rng):
    """The mode finder's starting point is NumPyro's ``initialize_model``'s, compiled; its
    map back to the supports is NumPyro's ``postprocess_fn``, at every point of a batch."""
    y, key = rng.normal(size=9) + 1.0, jax.random.key(4)
    args, kwargs = (jnp.asarray(y),), {"scale": jnp.asarray(3.0)}
    problem = optimize.model_problem(_half_cauchy_model, key, args, kwargs, 100, 1e-9)
    info = initialize_model(
        key, _half_cauchy_model, model_args=args, model_kwargs=kwargs, dynamic_args=True
    )
    start, unravel = ravel_pytree(info.param_info.z)
    np.testing.assert_array_equal(problem.start, start)
    assert set(problem.latent) == set(info.param_info.z) == {"mu", "s"}
    points = rng.normal(size=(2, 3, 2))
    got = problem.constrain(points)
    postprocess = info.postprocess_fn(*args, **kwargs)
    for index in np.ndindex(2, 3):
        expected = postprocess(unravel(points[index]))
        assert set(got) == set(expected) == {"mu", "s", "twice"}
        for name, value in expected.items():
            np.testing.assert_allclose(got[name][index], value, rtol=1e-15)
    # A repeat with new data and scale reuses the compiled start: no new trace.
    before = optimize._compiled_model(_half_cauchy_model, ()).start._cache_size()
    again = {"scale": jnp.asarray(0.5)}
    optimize.model_problem(_half_cauchy_model, key, (jnp.asarray(y + 1),), again, 100, 1e-9)
    assert optimize._compiled_model(_half_cauchy_model, ()).start._cache_size() == before


def test_a_first_try_that_is_not_valid_gets_numpyros_search():
    """The compiled start is NumPyro's first try; where it is not valid, NumPyro's own search
    goes on from the same key, and the start is where that search ends."""

    def above(y):
        mu = numpyro.sample("mu", dist.Normal(0.0, 1.0))
        numpyro.factor("above", jnp.where(mu > 1.0, 0.0, -jnp.inf))
        numpyro.sample("y", dist.Normal(mu, 1.0), obs=y)

    args, key = (jnp.ones(3),), jax.random.key(0)
    _, flat, valid, _ = optimize._compiled_model(above, ()).start(key, args, {})
    assert float(flat[0]) <= 1.0 and not valid  # this key's first try is not valid
    problem = optimize.model_problem(above, key, args, {}, 100, 1e-9)
    info = initialize_model(key, above, model_args=args, dynamic_args=True)
    np.testing.assert_array_equal(problem.start, ravel_pytree(info.param_info.z)[0])
    assert float(problem.start[0]) > 1.0


def test_a_model_with_no_valid_start_gets_numpyros_error():
    def never(y):
        mu = numpyro.sample("mu", dist.Normal(0.0, 1.0))
        numpyro.sample("y", dist.Normal(mu, 1.0), obs=y)
        numpyro.factor("impossible", -jnp.inf)

    with pytest.raises(RuntimeError, match="Cannot find valid initial parameters"):
        optimize.model_problem(never, jax.random.key(0), (jnp.ones(3),), {}, 100, 1e-9)


def _assert_kinked_mode(X, y, mode, likelihood, laplace_scale, gaussian_scale=None):
    """The mode against the closed-form gradient of the negative log posterior: zero on each
    coefficient off its kink and on the intercept, at most the kink's weight on each on it."""
    w, b = mode["w"], float(mode["b"])
    fitted = X @ w + b
    mean = 1 / (1 + np.exp(-fitted)) if likelihood == "bernoulli" else np.exp(fitted)
    grad = X.T @ (mean - y) + (0.0 if gaussian_scale is None else w / gaussian_scale**2)
    on_kink = w == 0
    assert 0 < on_kink.sum() < len(w)  # the test has teeth: both kinds of coefficient
    np.testing.assert_allclose(
        grad[~on_kink], -np.sign(w[~on_kink]) / laplace_scale, rtol=0, atol=1e-9
    )
    assert np.all(np.abs(grad[on_kink]) <= 1 / laplace_scale)
    assert abs(np.sum(mean - y)) < 1e-9


@pytest.mark.parametrize("likelihood", ["bernoulli", "poisson"])
def test_a_kinked_glm_mode_meets_its_optimality_conditions_and_a_refit_compiles_nothing(
    likelihood, rng
):
    """The proximal mode of a GLM under a Laplace (Bernoulli) or elastic-net (Poisson) prior."""
    X = rng.normal(size=(120, 6))
    eta = X @ np.array([1.0, 0.0, 0.0, -0.5, 0.0, 0.2]) + 0.3

    def fit_and_check(laplace_scale, gaussian_scale):
        if likelihood == "bernoulli":
            y = (rng.random(120) < 1 / (1 + np.exp(-eta))).astype(float)
            prior, gaussian_scale = Laplace(laplace_scale), None
        else:
            y = rng.poisson(np.exp(0.5 * eta)).astype(float)
            prior = ElasticNet(gaussian_scale=gaussian_scale, laplace_scale=laplace_scale)
        mode = posterior_mode(X, y, prior, likelihood=likelihood)
        _assert_kinked_mode(X, y, mode, likelihood, laplace_scale, gaussian_scale)

    fit_and_check(0.3, 1.0)
    compiled = [f._cache_size() for f in (proximal._fista, proximal._newton_step)]
    fit_and_check(0.2, 2.0)  # new data and strength, same shape: nothing compiles again
    assert [f._cache_size() for f in (proximal._fista, proximal._newton_step)] == compiled


def _correlated_lasso():
    """3,000 rows of 30 columns sharing one (condition number 68), a Gaussian y of known noise
    1, and scikit-learn's Lasso at the strength a Laplace(0.05) prior gives: alpha = 1/(n s)."""
    rng = np.random.default_rng(0)
    C = rng.normal(size=(3000, 30))
    X = C + 3 * C[:, :1]
    y = X[:, :5] @ np.ones(5) + rng.normal(size=3000)
    fit = Lasso(alpha=1 / (3000 * 0.05), tol=1e-14, max_iter=100_000).fit(X, y)
    return X, y, fit


@pytest.mark.parametrize("rough", [None, 0.5])
def test_a_kinked_mode_on_correlated_columns_is_scikit_learns_lasso(rough, monkeypatch):
    """FISTA runs to a rough tolerance first and Newton's steps on the coefficients off their
    kink finish; where they cannot, FISTA goes on to the strict one. That second phase is
    forced here by a rough tolerance of 0.5 (three steps, the kinked set not yet settled)."""
    X, y, fit = _correlated_lasso()
    calls = []
    fista = proximal._fista
    monkeypatch.setattr(proximal, "_fista", lambda *a: calls.append(1) or fista(*a))
    if rough is not None:
        monkeypatch.setattr(proximal, "_ROUGH", rough)
    w, b = proximal.proximal_mode(X, y, Laplace(0.05), sigma=1.0)
    assert len(calls) == (2 if rough else 1)
    np.testing.assert_array_equal(w == 0, fit.coef_ == 0)
    np.testing.assert_allclose(np.append(w, b), np.append(fit.coef_, fit.intercept_), atol=1e-11)


def test_lasso_folds_of_any_row_count_share_one_program_and_are_scikit_learns(rng):
    """With at least as many rows as features the Gaussian lasso's coordinate descent sees only
    the d x d Gram matrix: cross-validation's folds of different sizes compile nothing new."""
    from bayes_reg.linear import map as map_module

    X = rng.normal(size=(400, 6))
    y = X @ np.array([1.5, 0.0, -2.0, 0.0, 0.3, 0.0]) + rng.normal(size=400)
    program = map_module._coordinate_descent
    for rows in (400, 311, 97):
        w = np.asarray(map_estimate(X[:rows], y[:rows], Laplace(0.05), sigma=1.0).w)
        if rows == 400:
            compiled = program._cache_size()
        fit = Lasso(alpha=1 / (rows * 0.05), tol=1e-14, max_iter=100_000).fit(X[:rows], y[:rows])
        np.testing.assert_array_equal(w == 0, fit.coef_ == 0)
        np.testing.assert_allclose(w, fit.coef_, atol=1e-10)
    assert program._cache_size() == compiled


def test_exact_posteriors_of_any_row_count_share_one_program_and_are_scikit_learns_ridge(rng):
    """The closed-form posterior's program sees Z'Z and Z'y only (summed in NumPy): folds of
    different sizes compile nothing new, and each mean is the ridge fit (flat intercept)."""
    from bayes_reg.linear import exact

    X = rng.normal(size=(400, 6))
    y = X @ rng.normal(size=6) + 0.5 + rng.normal(size=400)
    for rows in (400, 311, 97):
        post = exact_posterior(X[:rows], y[:rows], prior_scale=0.3, sigma=0.8)
        if rows == 400:
            compiled = exact._posterior._cache_size()
        ridge = Ridge(alpha=(0.8 / 0.3) ** 2).fit(X[:rows], y[:rows])
        np.testing.assert_allclose(post.w_mean, ridge.coef_, rtol=1e-10, atol=1e-12)
        assert float(post.b_mean) == pytest.approx(ridge.intercept_, rel=1e-10)
    assert exact._posterior._cache_size() == compiled


@contextlib.contextmanager
def _traced_programs():
    """The JAX programs traced inside the block, as a list (heard through ``jax.monitoring``)."""
    traced = []

    def listen(event, seconds, **kwargs):
        if event == "/jax/core/compile/jaxpr_trace_duration":
            traced.append(kwargs)

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        yield traced
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)


def test_the_evidence_of_folds_of_any_row_count_traces_nothing_and_is_bayesian_ridges(rng):
    """The evidence is closed-form in NumPy (the singular values of the centred data): no JAX
    program is traced or compiled, for the first call or a fold of other rows. Each fit is
    scikit-learn's BayesianRidge with its Gamma hyperpriors off, each value the Gaussian
    density of the centred y (SciPy)."""
    X = rng.normal(size=(400, 6))
    y = X @ rng.normal(size=6) + 0.5 + rng.normal(size=400)
    with _traced_programs() as traced:
        for rows in (400, 311, 97):
            Xf, yf = X[:rows], y[:rows]
            fit = fit_evidence(Xf, yf)
            value = log_evidence(Xf, yf, prior_scale=0.3, sigma=0.8)
            reference = BayesianRidge(
                alpha_1=0, alpha_2=0, lambda_1=0, lambda_2=0, tol=1e-12, max_iter=100_000
            ).fit(Xf, yf)
            assert fit.sigma == pytest.approx(reference.alpha_**-0.5, rel=1e-6)
            assert fit.prior_scale == pytest.approx(reference.lambda_**-0.5, rel=1e-6)
            Xc, yc = Xf - Xf.mean(0), yf - yf.mean()
            cov = 0.8**2 * np.eye(rows) + 0.3**2 * Xc @ Xc.T
            density = scipy.stats.multivariate_normal(np.zeros(rows), cov).logpdf(yc)
            assert value == pytest.approx(density, rel=1e-10)
    assert traced == []


def test_a_prior_per_feature_or_with_a_mean_reruns_the_programs_of_one_scale(rng):
    """A prior's scale and mean enter the compiled programs once per feature, so a prior with a
    scale per feature or a mean reruns what a prior of one scale compiled: nothing is traced
    for NUTS, its pointwise log likelihood or the mode, and the same values given either way
    give the same draws, bit for bit. The mode under per-feature scales is scikit-learn's
    logistic regression on the columns times their scales (w_j / s_j has a unit prior)."""
    X = rng.normal(size=(80, 4))
    y = (rng.random(80) < 1 / (1 + np.exp(-(X @ [1.0, 0.0, -1.0, 0.5])))).astype(float)
    sampler = Sampler(chains=1, warmup=50, draws=50, dense_mass=False)
    kw = {"likelihood": "bernoulli", "method": "nuts", "sampler": sampler, "progress": False}

    def nuts(prior):
        tree = sample_posterior(X, y, prior=prior, **kw).tree
        return tree["posterior"]["w"].values, tree["log_likelihood"]["y"].values

    one = nuts(Gaussian(1.5))
    posterior_mode(X, y, Gaussian(1.5), likelihood="bernoulli")
    scales = np.array([0.5, 1.0, 2.0, 4.0])
    with _traced_programs() as traced:
        same = nuts(Gaussian([1.5] * 4))
        nuts(Gaussian(scales, mean=[0.3, 0.0, 0.0, -0.2]))
        mode = posterior_mode(X, y, Gaussian(scales), likelihood="bernoulli")
    assert traced == []
    for a, b in zip(same, one, strict=True):
        np.testing.assert_array_equal(a, b)
    reference = LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-14).fit(X * scales, y)
    np.testing.assert_allclose(mode["w"], reference.coef_[0] * scales, rtol=1e-7)
    assert float(mode["b"]) == pytest.approx(reference.intercept_[0], rel=1e-7)


def test_a_first_step_to_where_the_poisson_density_is_not_a_number_is_shortened():
    """On standardised, strongly correlated columns the first proximal step sends some rates to
    infinity and others to zero, where the Poisson log density is NaN; the step must be
    shortened, as an infinite one is, not taken (taken, it made the mode NaN)."""
    X, _ = load_breast_cancer(return_X_y=True)
    X = X[:, :8]
    X = (X - X.mean(0)) / X.std(0)  # radius, perimeter and area: correlations above 0.99
    y = np.random.default_rng(0).poisson(np.exp(0.3 * X[:, 0] - 0.2 * X[:, 3])).astype(float)
    prior = ElasticNet(gaussian_scale=1.0, laplace_scale=0.5)
    mode = posterior_mode(X, y, prior, likelihood="poisson")
    _assert_kinked_mode(X, y, mode, "poisson", 0.5, 1.0)
