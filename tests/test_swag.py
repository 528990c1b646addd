"""SWAG against independent references. On a linear network the posterior is Gaussian
(written out by hand in numpy) and SGD with rows drawn with replacement is a linear
autoregression about the mode, θ - m ← (I - ηH)(θ - m) + η ξ with Cov ξ = C / |B|, whose
stationary covariance solves a discrete Lyapunov equation (scipy): the iterates' spread SWAG
collects is that noise, set by the learning rate, not the posterior (Mandt et al. 2017)."""

import json

import jax
import numpy as np
import pytest
import scipy.linalg

from bayes_reg.nets.mlp import Layer, init_mlp
from bayes_reg.nets.swag import RELATIVE_RATE, fit_swag, swag, top_curvature
from bayes_reg.nets.target import net_target

EPOCHS = 5000  # 20000 steps: the slowest direction relaxes in ~25 steps at the rates used
BATCH = 32


@pytest.fixture(scope="module")
def linear():
    """A linear network on a correlated design, its exact posterior and the per-row
    Hessian H and gradient covariance C of SGD's objective at the mode."""
    rng = np.random.default_rng(1)
    X = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], 100) * [1.0, 3.0] + [2.0, -1.0]
    y = X @ [1.0, -0.5] + 3.0 + 0.5 * rng.standard_normal(100)
    target = net_target(X, y, tau=4.0, weight_decay=1e-2, hidden=())
    n = 100
    Z = np.c_[target.X, np.ones(n)]  # ordered (w1, w2, b) as ravel_pytree((Layer(w, b),))
    prior = np.diag(
        1 / np.array([target.weight_scale, target.weight_scale, target.bias_scale]) ** 2
    )
    precision = Z.T @ Z / target.sigma**2 + prior
    cov = np.linalg.inv(precision)
    mean = cov @ Z.T @ target.y / target.sigma**2
    grads = -(target.y - Z @ mean)[:, None] * Z / target.sigma**2 + prior @ mean / n
    H, C = precision / n, np.cov(grads.T, bias=True)
    mode = (Layer(mean[:2, None], mean[2:]),)
    return target, X, mode, mean, cov, H, C


def _iterate_covariance(H, C, learning_rate):
    A = np.eye(len(H)) - learning_rate * H
    return scipy.linalg.solve_discrete_lyapunov(A, learning_rate**2 * C / BATCH)


@pytest.mark.parametrize("learning_rate", [0.05, 0.15])
def test_swa_mean_is_the_posterior_mean_and_the_spread_is_sgd_noise(linear, learning_rate):
    target, _, mode, mean, cov, H, C = linear
    fit = fit_swag(target, mode, epochs=EPOCHS, learning_rate=learning_rate, batch_size=BATCH)
    sd = np.sqrt(np.diag(cov))
    # The SWA mean: a quadratic objective's SGD iterates centre on the mode (= the posterior
    # mean here); 5000 snapshots put it within 0.04 sd over 3 seeds; the band is 0.15 sd.
    np.testing.assert_array_less(np.abs(np.asarray(fit.mean) - mean) / sd, 0.15)
    # The iterates' variance is the Lyapunov solution's, within 9% over 3 seeds (Monte Carlo
    # error of ~300 effective snapshots, and C taken at the mode); the band is 20%.
    np.testing.assert_allclose(
        fit.variance, np.diag(_iterate_covariance(H, C, learning_rate)), rtol=0.2
    )
    # ... which is not the posterior's shape: with C ≈ H the iterates spread about equally
    # every way (sds within 22% of each other over 4 seeds); the posterior's differ 2.3-fold.
    assert np.sqrt(fit.variance.max() / fit.variance.min()) < 1.3
    assert sd.max() / sd.min() > 2
    assert fit.loss.shape == (EPOCHS,) and fit.seconds > 0


def test_a_larger_learning_rate_gives_a_wider_swag(linear):
    target, X, mode, _, _, H, C = linear
    fits = [fit_swag(target, mode, epochs=EPOCHS, learning_rate=lr) for lr in (0.05, 0.15)]
    ratio = fits[1].variance / fits[0].variance
    expected = np.diag(_iterate_covariance(H, C, 0.15) / _iterate_covariance(H, C, 0.05))
    assert np.all(expected > 2.5)  # about the rates' ratio, 3
    np.testing.assert_allclose(ratio, expected, rtol=0.25)  # two 20% bands, as above
    wide, narrow = (
        swag(target, mode, X[:5], epochs=EPOCHS, learning_rate=lr, draws=2000).draws.std(0)
        for lr in (0.15, 0.05)
    )
    assert np.all(wide > 1.3 * narrow)


def test_draws_have_the_swag_covariance_in_units_of_y(linear):
    target, X, mode, *_ = linear
    X_test, draws, seed = X[:3], 20_000, 4
    a = swag(target, mode, X_test, epochs=200, learning_rate=0.1, draws=draws, seed=seed)
    assert a.draws.shape == (draws, 3) and a.draws.dtype == np.float64
    assert a.noise_sd == pytest.approx(0.5, rel=1e-12)  # tau = 4 in units of y
    # swag splits its seed into SGD's key and the draws' key, as documented.
    fit = fit_swag(
        target, mode, epochs=200, learning_rate=0.1, seed=jax.random.split(jax.random.key(seed))[0]
    )
    s = target.scaling
    J = s.y_sd * np.c_[s.x(X_test), np.ones(3)]  # f = y_mean + J theta
    f_cov = J @ np.asarray(fit.covariance()) @ J.T
    f_mean = s.y_mean + J @ np.asarray(fit.mean)
    f_sd = np.sqrt(np.diag(f_cov))
    # Monte Carlo bands for 20000 draws: 5 standard errors of the mean (sd / 141), 5% on a
    # variance (its standard error is 1%), 0.05 on a correlation.
    np.testing.assert_array_less(np.abs(a.draws.mean(0) - f_mean) / f_sd, 5 / np.sqrt(draws))
    sample = np.cov(a.draws.T)
    np.testing.assert_allclose(np.diag(sample), np.diag(f_cov), rtol=0.05)
    np.testing.assert_allclose(
        sample / np.outer(f_sd, f_sd), f_cov / np.outer(f_sd, f_sd), atol=0.05
    )
    json.dumps(a.info)
    assert a.info["learning_rate"] == 0.1 and a.info["rank"] == 20


def test_the_covariance_is_psd_with_a_low_rank_part_of_rank_at_most_k():
    X = np.linspace(-1, 1, 40)[:, None] * [1.0, -0.5] + [0.0, 0.3]
    y = np.sin(3 * X[:, 0])
    target = net_target(X, y, tau=100.0, weight_decay=1e-3, hidden=(8,))
    params = init_mlp(jax.random.key(0), target.sizes, np.float64)
    fit = fit_swag(target, params, epochs=30, rank=5, learning_rate=1e-3)
    P = 2 * 8 + 8 + 8 + 1
    assert fit.mean.shape == fit.variance.shape == (P,) and fit.deviations.shape == (5, P)
    D = np.asarray(fit.deviations)
    assert np.linalg.matrix_rank(D.T @ D) <= 5
    S = np.asarray(fit.covariance())
    np.testing.assert_allclose(S, S.T, rtol=0, atol=0)
    eig = np.linalg.eigvalsh(S)
    assert eig.min() >= -1e-12 * eig.max()
    np.testing.assert_allclose(np.diag(S), 0.5 * (fit.variance + (D**2).sum(0) / 4), rtol=1e-12)


def test_the_same_seed_gives_the_same_draws(linear):
    target, X, mode, *_ = linear
    a, b, c = (swag(target, mode, X[:3], epochs=40, draws=50, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.draws, b.draws)
    assert not np.allclose(a.draws, c.draws)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epochs": 10}, r"epochs must be >= rank \(20\) to fill the deviations, got 10"),
        ({"rank": 1}, "rank must be >= 2, got 1"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0, got 0.0"),
        ({"batch_size": 0}, "batch_size must be >= 1, got 0"),
        ({"draws": -3}, "draws must be >= 1, got -3"),
        ({"seed": 1.5}, "seed must be a whole number"),
    ],
)
def test_bad_arguments_are_named(linear, kwargs, match):
    target, X, mode, *_ = linear
    with pytest.raises((ValueError, TypeError), match=match):
        swag(target, mode, X[:2], **kwargs)


def test_params_must_fit_the_target(linear):
    target, X, mode, *_ = linear
    wrong = (Layer(np.zeros((3, 1)), np.zeros(1)),)
    with pytest.raises(ValueError, match=r"params have layer shapes \[\(\(3, 1\), \(1,\)\)\]"):
        swag(target, wrong, X[:2])
    with pytest.raises(TypeError, match="params must be a tuple of Layer"):
        swag(target, [np.zeros(3)], X[:2])
    with pytest.raises(ValueError, match="X_test has 3 columns but the model was fit on 2"):
        swag(target, mode, np.ones((2, 3)))


def test_the_default_rate_is_half_the_stability_limit_of_the_curvature(linear):
    target, X, mode, mean, cov, H, C = linear
    # On a linear network the Gauss-Newton curvature is the Hessian H, written out above.
    largest = np.linalg.eigvalsh(H).max()
    assert top_curvature(target, mode) == pytest.approx(largest, rel=1e-10)
    a = swag(target, mode, X[:3], epochs=50, draws=10)
    assert a.info["learning_rate"] == pytest.approx(RELATIVE_RATE / largest, rel=1e-10)
