import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.linear_model import Lasso, Ridge

from bayes_reg.map import map_estimate, map_model
from bayes_reg.priors import ElasticNet, Gaussian, Laplace
from bayes_reg.regression import linear_regression


def _neg_log_posterior(X, y, w, b, prior, sigma):
    return float(jnp.sum((y - X @ w - b) ** 2) / (2 * sigma**2) + prior.penalty(w))


@pytest.mark.parametrize(
    "prior",
    [Gaussian(10.0), Gaussian(300.0), Laplace(100.0), Laplace(20.0), ElasticNet(300.0, 50.0)],
)
def test_generic_map_agrees_with_the_specialised_solver(diabetes, prior):
    X, y = diabetes
    sigma = 50.0
    exact = map_estimate(X, y, prior, sigma)
    generic = map_model(linear_regression, X, y, prior=prior, sigma=sigma, parametrization="direct")
    if isinstance(prior, Gaussian):
        # A smooth strongly convex objective: L-BFGS reaches the argmin to solver precision.
        np.testing.assert_allclose(generic["w"], exact.w, rtol=1e-7, atol=1e-7)
        assert float(generic["b"]) == pytest.approx(float(exact.b), rel=1e-9)
    else:
        # |w| has a kink at 0: the generic solver must find the same exact zeros (it sets
        # kinked coordinates to 0 and refines the rest, where the objective is smooth), and
        # then it solves a smooth problem to the same precision as the Gaussian case.
        assert (np.asarray(generic["w"]) == 0).tolist() == (np.asarray(exact.w) == 0).tolist()
        assert (np.asarray(exact.w) == 0).any()  # the case exercises the kink
        np.testing.assert_allclose(generic["w"], exact.w, rtol=1e-7, atol=1e-7)
        ours = _neg_log_posterior(X, y, exact.w, exact.b, prior, sigma)
        theirs = _neg_log_posterior(X, y, generic["w"], generic["b"], prior, sigma)
        assert theirs == pytest.approx(ours, rel=1e-12)


def test_generic_map_keeps_a_smooth_mode_at_zero_free():
    """A smooth potential whose mode is ~0 in one coordinate shows no kink: nothing is fixed."""
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]])
    y = X @ np.array([2.0, 1e-9]) + np.array([0.01, -0.02, 0.01, 0.0])
    exact = map_estimate(X, y, Gaussian(5.0), 0.1)
    generic = map_model(
        linear_regression, X, y, prior=Gaussian(5.0), sigma=0.1, parametrization="direct"
    )
    np.testing.assert_allclose(generic["w"], exact.w, rtol=1e-7, atol=1e-9)


def test_collinear_and_constant_columns(diabetes):
    X, y = diabetes
    X = np.column_stack([X, X[:, 0], np.ones(len(y))])  # a duplicate and a constant column
    est = map_estimate(X, y, Laplace(50.0), 50.0)
    assert est.w[-1] == 0.0
    fit = Lasso(alpha=50.0**2 / (len(y) * 50.0), tol=1e-14, max_iter=1_000_000).fit(X, y)
    obj = [
        _neg_log_posterior(X, y, w, b, Laplace(50.0), 50.0)
        for w, b in ((est.w, est.b), (fit.coef_, fit.intercept_))
    ]
    assert obj[0] == pytest.approx(obj[1], rel=1e-10)  # the argmin is not unique here
    ridge = Ridge(alpha=2.0).fit(X, y)
    np.testing.assert_allclose(
        map_estimate(X, y, Gaussian(50.0 / 2.0**0.5), 50.0).w,
        ridge.coef_,
        atol=1e-8 * np.abs(ridge.coef_).max(),
    )


@pytest.mark.parametrize("prior", [Gaussian(1.0), Laplace(1.0), ElasticNet(1.0, 1.0)])
def test_float32_input_works(rng, prior):
    X = rng.normal(size=(30, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.1).astype(np.float32)
    est = map_estimate(X, y, prior, 0.1)
    assert np.all(np.isfinite(est.w)) and np.isfinite(float(est.b))


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.ones((5, 2)), np.ones(4), "X has 5 rows but y has 4"),
        (np.ones(5), np.ones(5), r"X must be 2-D"),
        (np.ones((1, 2)), np.ones(1), "X has 1 rows; at least 2 are needed"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones(2), "X must be finite"),
        (np.ones((2, 2)), np.array([1.0, np.inf]), "y must be finite"),
    ],
)
def test_bad_data_is_refused(X, y, message):
    with pytest.raises(ValueError, match=message):
        map_estimate(X, y, Gaussian(1.0), 1.0)


def test_unknown_prior_is_refused():
    with pytest.raises(TypeError, match="prior must be Gaussian, Laplace or ElasticNet"):
        map_estimate(np.eye(3), np.ones(3), "gaussian", 1.0)
