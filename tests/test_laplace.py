"""The Laplace approximation against closed forms: exact for the Gaussian linear model, the
logistic model's mode and curvature written out, and its evidence."""

import jax
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
import scipy.stats
from scipy.special import expit

import bayes_reg as br
from bayes_reg.inference.laplace import laplace_approximation
from bayes_reg.linear.map import posterior_mode


def _gaussian_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    return X, X @ np.array([1.0, -0.5, 0.2]) + 2.0 + 0.3 * rng.normal(size=30)


def test_laplace_is_exact_for_the_gaussian_linear_model():
    X, y = _gaussian_problem()
    kwargs = dict(prior=br.Gaussian(2.0), sigma=0.3, intercept_scale=5.0, parametrization="direct")
    fit = laplace_approximation(br.linear_regression, jax.random.key(0), (X, y), kwargs, (2, 10))
    exact = br.exact_posterior(X, y, prior_scale=2.0, sigma=0.3, intercept_scale=5.0)
    # Unconstrained parameters in the order of their names: b, then w.
    np.testing.assert_allclose(fit.mode, exact.mean, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.cov, exact.cov, rtol=1e-8, atol=1e-14)
    # The evidence: y ~ N(0, sigma² I + g² X Xᵀ + s_b² 1 1ᵀ), written out.
    K = 0.3**2 * np.eye(30) + 4.0 * X @ X.T + 25.0
    expected = scipy.stats.multivariate_normal(np.zeros(30), K).logpdf(y)
    assert fit.log_evidence == pytest.approx(expected, rel=1e-10)


def test_laplace_of_a_logistic_model_is_its_mode_and_curvature():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(25, 2))
    y = (rng.random(25) < expit(X @ np.array([1.0, -1.0]) + 0.5)).astype(float)
    post = br.sample_posterior(
        X,
        y,
        prior=br.Gaussian(1.5),
        likelihood="bernoulli",
        method="laplace",
        sampler=br.Sampler(chains=2, draws=20_000),
        seed=3,
        progress=False,
    )
    mode = posterior_mode(X, y, br.Gaussian(1.5), likelihood="bernoulli")
    theta = np.append(mode["b"], mode["w"])
    Z = np.column_stack([np.ones(25), X])
    p = expit(Z @ theta)
    precision = Z.T @ (p * (1 - p) * Z.T).T + np.diag([0.0, 1 / 1.5**2, 1 / 1.5**2])
    cov = np.linalg.inv(precision)
    draws = np.column_stack([post.pooled("b"), post.pooled("w")])
    se = np.sqrt(np.diag(cov) / len(draws))
    assert np.all(np.abs(draws.mean(0) - theta) < 4 * se)
    np.testing.assert_allclose(np.cov(draws.T), cov, rtol=0.05, atol=0.05 * cov.max())
    assert "log_evidence" in post.tree.attrs and not post.exact
    assert post.tree.attrs["sampler"].startswith("Laplace approximation")


def test_laplace_refuses_a_kinked_prior(no_compute):
    X, y = _gaussian_problem()
    with pytest.raises(ValueError, match="method 'laplace' needs a smooth prior"):
        br.sample_posterior(X, y, prior=br.Laplace(1.0), sigma=0.3, method="laplace")


def test_laplace_refuses_a_mode_that_runs_off():
    """Ten equal values under flat priors on their mean and sd: the log density rises without
    bound as the sd goes to 0, so the mode finder ends on NaN (optax 0.2.8) or at an sd of
    1e-154 whose curvature overflows (optax 0.2.5), which LAPACK's Cholesky would pass on as a
    NaN covariance and NaN draws."""

    def model(y):
        s = numpyro.sample("s", dist.ImproperUniform(dist.constraints.positive, (), ()))
        m = numpyro.sample("m", dist.ImproperUniform(dist.constraints.real, (), ()))
        numpyro.sample("y", dist.Normal(m, s), obs=y)

    with pytest.raises(ValueError, match="L-BFGS ended away from any finite mode"):
        laplace_approximation(model, jax.random.key(0), (np.ones(10),), {}, (1, 10))
