import arviz_stats
import numpy as np
import pytest

from bayes_reg.inference.sampler import Sampler
from bayes_reg.linear.exact import exact_posterior
from bayes_reg.linear.posterior import run_nuts
from bayes_reg.linear.regression import linear_regression
from bayes_reg.priors import Gaussian, Laplace


def _check_moments(draws, mcse, mean, sd):
    # Means within 4 Monte-Carlo standard errors (a false alarm about 1 in 16,000 per
    # coordinate); sds within 10%, as the issue asks.
    assert np.all(np.abs(draws.mean(("chain", "draw")).values - mean) < 4 * mcse)
    np.testing.assert_allclose(draws.std(("chain", "draw")).values, sd, rtol=0.1)


@pytest.mark.parametrize("n, d, scale", [(40, 4, 1.0), (20, 30, 0.1)])
def test_nuts_matches_the_exact_posterior(rng, n, d, scale):
    X = rng.normal(size=(n, d))
    y = X @ (scale * rng.normal(size=d)) + 0.5 + 0.3 * rng.normal(size=n)
    result = run_nuts(
        linear_regression,
        X,
        y,
        prior=Gaussian(scale),
        sigma=0.3,
        sampler=Sampler(chains=4, warmup=500, draws=1000),
        seed=1,
        progress=False,
    )
    assert result.diagnostics.divergences == 0
    assert result.diagnostics.min_ess_bulk > 400  # enough for the MCSE below to be trusted
    exact = exact_posterior(X, y, prior_scale=scale, sigma=0.3)
    post = result.tree["posterior"]
    mcse = arviz_stats.mcse(result.tree["posterior"].to_dataset())
    _check_moments(post["w"], mcse["w"].values, exact.w_mean, exact.w_sd)
    _check_moments(post["b"], mcse["b"].values, exact.b_mean, exact.b_sd)
    # The layout the rest of the toolkit relies on.
    assert list(result.tree["constant_data"]["X"].dims) == ["obs", "feature"]
    assert {
        "posterior",
        "sample_stats",
        "log_likelihood",
        "posterior_predictive",
        "observed_data",
        "constant_data",
    } <= set(result.tree.children)
    assert {"diverging", "energy", "tree_depth"} <= set(result.tree["sample_stats"].data_vars)


def test_laplace_mixture_matches_quadrature(rng):
    """One feature: the posterior of (w, b) on a fine grid is the independent reference."""
    n, sigma, scale = 15, 1.0, 0.3
    x = rng.normal(size=n)
    y = 0.2 * x + 1.0 + sigma * rng.normal(size=n)
    result = run_nuts(
        linear_regression,
        x[:, None],
        y,
        prior=Laplace(scale),
        sigma=sigma,
        sampler=Sampler(chains=4, warmup=500, draws=1000),
        seed=2,
        progress=False,
    )
    assert result.diagnostics.divergences == 0

    w = np.linspace(-3, 3, 1201)[:, None]
    b = np.linspace(-2, 4, 1201)[None, :]
    resid = y[None, None, :] - w[..., None] * x - b[..., None]
    log_post = -0.5 * np.sum(resid**2, -1) / sigma**2 - np.abs(w) / scale
    p = np.exp(log_post - log_post.max())
    p_w = p.sum(1) / p.sum()
    mean = np.sum(w[:, 0] * p_w)
    sd = np.sqrt(np.sum((w[:, 0] - mean) ** 2 * p_w))
    mcse = arviz_stats.mcse(result.tree["posterior"]["w"].to_dataset())["w"].values
    _check_moments(result.tree["posterior"]["w"], mcse, [mean], [sd])


def test_problems_are_reported_in_words(rng):
    X = rng.normal(size=(20, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=20)
    result = run_nuts(
        linear_regression,
        X,
        y,
        prior=Gaussian(1.0),
        sigma=1.0,
        sampler=Sampler(chains=2, warmup=20, draws=30),
        seed=0,
        progress=False,
    )
    assert not result.diagnostics.ok
    assert any("ESS" in p and "draw more" in p for p in result.diagnostics.problems)


def test_bad_budget_is_refused():
    with pytest.raises(ValueError, match="chains must be >= 1, got 0"):
        run_nuts(
            linear_regression,
            np.eye(3),
            np.ones(3),
            prior=Gaussian(1.0),
            sigma=1.0,
            sampler=Sampler(chains=0),
        )


def test_a_dense_mass_matrix_samples_a_correlated_posterior_in_fewer_steps():
    # An intercept far from the data (x in 50..60): b and w correlate at -0.998. A dense
    # mass matrix learns the correlation; a diagonal one needs longer trajectories.
    rng = np.random.default_rng(0)
    X = np.linspace(50, 60, 60)[:, None]
    y = 2 + 0.5 * X[:, 0] + rng.normal(size=60)
    exact = exact_posterior(X, y, prior_scale=10.0, sigma=1.0, intercept_scale=100.0)
    steps = {}
    for dense in (False, True):
        run = run_nuts(
            linear_regression,
            X,
            y,
            prior=Gaussian(10.0),
            sigma=1.0,
            intercept_scale=100.0,
            sampler=Sampler(chains=2, warmup=500, draws=1500, dense_mass=dense),
            progress=False,
        )
        post = run.tree["posterior"]
        steps[dense] = float(run.tree["sample_stats"]["n_steps"].mean())
        mcse = arviz_stats.mcse(post.to_dataset())
        _check_moments(post["w"], mcse["w"].values, exact.w_mean, exact.w_sd)
        _check_moments(post["b"], mcse["b"].values, exact.b_mean, exact.b_sd)
    assert steps[True] < 0.8 * steps[False]
