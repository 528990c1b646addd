import math

import jax
import numpy as np
import pytest
import scipy.stats
from helpers import (
    POSITIVE_FLOAT,
    SETTINGS,
    X0,
    Y0,
    _assert_refusal_names,
    _bad_positive,
    _data_error,
    problems,
)
from hypothesis import given
from sklearn.linear_model import BayesianRidge, Ridge

import bayes_reg as br
from bayes_reg.linear.exact import best_prior_scale, exact_posterior, fit_evidence, log_evidence


def _gaussian_conditioning(X, y, g, sigma, sb, m=0.0):
    """Independent reference: condition the joint Gaussian of (theta, y) on y (n x n form);
    ``g`` and ``m`` the weights' prior sds and means, one or one per feature."""
    Z = np.column_stack([np.ones(len(y)), X])
    S0 = np.diag(np.r_[sb**2, np.broadcast_to(np.square(g), X.shape[1])])
    m0 = np.r_[0.0, np.broadcast_to(m, X.shape[1])]
    K = Z @ S0 @ Z.T + sigma**2 * np.eye(len(y))
    gain = S0 @ Z.T @ np.linalg.inv(K)
    return m0 + gain @ (y - Z @ m0), S0 - gain @ Z @ S0


@pytest.mark.parametrize("n, d", [(50, 5), (20, 200)])  # d > n included
def test_posterior_matches_gaussian_conditioning(rng, n, d):
    X = rng.normal(size=(n, d))
    y = X @ (0.1 * rng.normal(size=d)) + 0.3 + 0.5 * rng.normal(size=n)
    post = exact_posterior(X, y, prior_scale=0.2, sigma=0.5, intercept_scale=3.0)
    mean, cov = _gaussian_conditioning(X, y, 0.2, 0.5, 3.0)
    np.testing.assert_allclose(post.mean, mean, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(post.cov, cov, rtol=1e-7, atol=1e-11)


@pytest.mark.parametrize("n, d", [(50, 5), (20, 60)])
def test_a_scale_and_a_mean_per_feature_match_gaussian_conditioning(rng, n, d):
    X = rng.normal(size=(n, d))
    y = X @ (0.1 * rng.normal(size=d)) + 0.3 + 0.5 * rng.normal(size=n)
    g, m = rng.uniform(0.05, 2.0, size=d), rng.normal(size=d)
    post = exact_posterior(X, y, prior_scale=g, prior_mean=m, sigma=0.5, intercept_scale=3.0)
    mean, cov = _gaussian_conditioning(X, y, g, 0.5, 3.0, m)
    np.testing.assert_allclose(post.mean, mean, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(post.cov, cov, rtol=1e-7, atol=1e-11)


def test_flat_intercept_posterior_mean_is_ridge(rng):
    # With a flat intercept the posterior mean is the unpenalised-intercept ridge fit.
    X = rng.normal(size=(30, 3))
    y = X @ [1.0, 0.0, -1.0] + 2.0 + rng.normal(size=30)
    flat = exact_posterior(X, y, prior_scale=0.5, sigma=1.5)
    ridge = Ridge(alpha=1.5**2 / 0.5**2).fit(X, y)
    np.testing.assert_allclose(flat.w_mean, ridge.coef_, rtol=1e-10)
    assert float(flat.b_mean) == pytest.approx(ridge.intercept_, rel=1e-10)


def test_draws_have_the_posterior_moments(rng):
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, 0.5, -1.0] + rng.normal(size=40)
    post = exact_posterior(X, y, prior_scale=1.0, sigma=1.0, intercept_scale=2.0)
    draws = post.sample(jax.random.key(3), (100_000,))
    theta = np.column_stack([draws["b"], draws["w"]])
    se = np.sqrt(np.diag(post.cov) / len(theta))
    assert np.all(np.abs(theta.mean(0) - post.mean) < 5 * se)
    np.testing.assert_allclose(np.cov(theta.T), post.cov, atol=0.02 * np.diag(post.cov).max())


@pytest.mark.parametrize("n, d", [(60, 4), (15, 40)])
def test_log_evidence_matches_scipy(rng, n, d):
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + rng.normal(size=n)
    Xc, yc = X - X.mean(0), y - y.mean()
    g, sigma = 0.7, 1.3
    cov = sigma**2 * np.eye(n) + g**2 * Xc @ Xc.T
    reference = scipy.stats.multivariate_normal(np.zeros(n), cov).logpdf(yc)
    assert log_evidence(X, y, prior_scale=g, sigma=sigma) == pytest.approx(reference, rel=1e-10)


def test_type_two_ml_matches_bayesian_ridge(diabetes):
    X, y = diabetes
    fit = fit_evidence(X, y)
    # Gamma hyperpriors off (all four set to 0): BayesianRidge maximises the same evidence.
    br = BayesianRidge(
        alpha_1=0, alpha_2=0, lambda_1=0, lambda_2=0, tol=1e-12, max_iter=100_000
    ).fit(X, y)
    assert fit.sigma == pytest.approx(br.alpha_**-0.5, rel=1e-6)
    assert fit.prior_scale == pytest.approx(br.lambda_**-0.5, rel=1e-6)
    assert best_prior_scale(X, y, sigma=fit.sigma) == pytest.approx(fit.prior_scale, rel=1e-6)


def test_bad_scales_are_refused():
    with pytest.raises(ValueError, match="prior_scale must be > 0, got -1.0"):
        exact_posterior(np.eye(2), np.ones(2), prior_scale=-1.0, sigma=1.0)
    with pytest.raises(ValueError, match="sigma must be finite, got nan"):
        log_evidence(np.eye(3), np.ones(3), prior_scale=1.0, sigma=float("nan"))
    with pytest.raises(ValueError, match="prior_scale has 2 values and X has 3 columns"):
        exact_posterior(np.eye(3), np.ones(3), prior_scale=[1.0, 2.0], sigma=1.0)
    with pytest.raises(ValueError, match=r"prior_mean must be finite: .* at index \(1,\)"):
        exact_posterior(np.eye(3), np.ones(3), prior_scale=1.0, prior_mean=[0, np.inf, 0], sigma=1)


def test_nig_conditional_mean_is_the_known_sigma_posterior(rng):
    # Given sigma, the NIG model is the known-sigma model with prior scale g * sigma: the
    # same posterior mean for every sigma.
    from bayes_reg.linear.exact import nig_posterior

    X = rng.normal(size=(25, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.7 + rng.normal(size=25)
    nig = nig_posterior(X, y, prior_scale=0.8, concentration=2.0, rate=1.5)
    for sigma in (0.3, 1.0, 4.0):
        known = exact_posterior(X, y, prior_scale=0.8 * sigma, sigma=sigma)
        np.testing.assert_allclose(nig.mean, known.mean, rtol=1e-10)
    # sigma² | y is InvGamma(a0 + (n - 1)/2, b0 + S/2), S the residual quadratic form.
    assert nig.concentration == pytest.approx(2.0 + 24 / 2)
    draws = nig.sample(jax.random.key(0), (200_000,))
    assert float(np.mean(np.asarray(draws["sigma"]) ** 2)) == pytest.approx(
        nig.sigma2_mean, rel=0.01
    )


def test_a_single_row_is_a_proper_posterior():
    # With a Gaussian prior on w and a flat intercept, one row still gives a proper posterior.
    post = br.exact_posterior(X0[:1], Y0[:1], prior_scale=1.0, sigma=1.0)
    assert np.all(np.isfinite(post.mean)) and np.all(np.isfinite(post.cov))


@SETTINGS
@given(data=problems(), scale=POSITIVE_FLOAT, sigma=POSITIVE_FLOAT)
def test_exact_posterior_and_evidence_are_finite_or_name_the_bad_argument(data, scale, sigma):
    X, y = data
    try:
        post = br.exact_posterior(X, y, prior_scale=scale, sigma=sigma)
    except Exception as err:  # noqa: BLE001
        name = (
            _data_error(X, y, min_rows=1)
            or ("prior_scale" if _bad_positive(scale) else None)
            or ("sigma" if _bad_positive(sigma) else "prior_scale=")
        )
        _assert_refusal_names(err, name)
    else:
        assert _data_error(X, y, min_rows=1) is None
        assert np.all(np.isfinite(post.mean)) and np.all(np.isfinite(post.cov))
    try:
        value = br.log_evidence(X, y, prior_scale=scale, sigma=sigma)
    except Exception as err:  # noqa: BLE001
        name = (
            _data_error(X, y)
            or ("prior_scale" if _bad_positive(scale) else None)
            or ("sigma" if _bad_positive(sigma) else "prior_scale=")
        )
        _assert_refusal_names(err, name)
    else:
        assert _data_error(X, y) is None and math.isfinite(value)


def test_many_more_features_than_rows():
    data = br.d2l_synthetic(seed=3)
    X, y = data.X_train, data.y_train  # 20 rows, 200 features
    g, sigma = 0.01, 0.01
    est = br.map_estimate(X, y, br.Gaussian(g), sigma)
    reference = Ridge(alpha=sigma**2 / g**2).fit(X, y)
    np.testing.assert_allclose(est.w, reference.coef_, rtol=1e-8, atol=1e-12)
    assert float(est.b) == pytest.approx(reference.intercept_, rel=1e-8)
    post = br.exact_posterior(X, y, prior_scale=g, sigma=sigma)
    np.testing.assert_allclose(post.w_mean, reference.coef_, rtol=1e-6, atol=1e-10)
    assert np.all(np.isfinite(br.map_estimate(X, y, br.Laplace(g), sigma).w))
    assert math.isfinite(br.log_evidence(X, y, prior_scale=g, sigma=sigma))
    assert 0 < br.best_prior_scale(X, y, sigma=sigma) < np.inf
