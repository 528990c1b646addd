"""Mean-field VI of the network against independent references: on a linear network the
posterior is Gaussian N(m, Λ⁻¹), written out by hand in numpy, and the best mean-field
Gaussian is known in closed form, mean m and variances 1/Λ_jj (Bishop, PRML 10.1.2)."""

import json

import jax
import numpy as np
import pytest

import bayes_reg as br
from bayes_reg.nets.target import net_target
from bayes_reg.nets.vi import fit_mean_field, mean_field_vi

TAU = 4.0
STEPS = 5000  # plenty for 3 parameters: the final ELBO is flat well before (measured)


@pytest.fixture(scope="module")
def linear():
    """A linear network on a correlated design (corr 0.9), with its exact posterior."""
    rng = np.random.default_rng(1)
    X = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], 100) * [1.0, 3.0] + [2.0, -1.0]
    y = X @ [1.0, -0.5] + 3.0 + 0.5 * rng.standard_normal(100)
    target = net_target(X, y, tau=TAU, weight_decay=1e-2, hidden=())
    # The conjugate posterior by hand, parameters ordered (w1, w2, b) as the guide's layer.
    Z = np.c_[target.X, np.ones(100)]
    prior = 1 / np.array([target.weight_scale, target.weight_scale, target.bias_scale]) ** 2
    precision = Z.T @ Z / target.sigma**2 + np.diag(prior)
    cov = np.linalg.inv(precision)
    mean = cov @ Z.T @ target.y / target.sigma**2
    exact = br.exact_posterior(
        target.X, target.y, prior_scale=target.weight_scale, sigma=target.sigma,
        intercept_scale=target.bias_scale,
    )  # fmt: skip
    # exact_posterior orders (b, w): the same posterior, by a second route.
    np.testing.assert_allclose(np.roll(exact.mean, -1), mean, rtol=1e-10, atol=1e-12)
    return target, X, mean, precision, cov


def _flat(layers):
    return np.r_[np.ravel(layers[0].w), np.ravel(layers[0].b)]


def test_the_guide_is_the_best_mean_field_gaussian_of_a_linear_network(linear):
    target, _, mean, precision, cov = linear
    marginal_sd, mean_field_sd = np.sqrt(np.diag(cov)), 1 / np.sqrt(np.diag(precision))
    # The design is correlated, so the optimum is clearly narrower than the marginals.
    assert np.all(mean_field_sd[:2] < 0.5 * marginal_sd[:2])
    fit = fit_mean_field(target, steps=STEPS, seed=0)
    loc, scale = _flat(fit.loc), _flat(fit.scale)
    # Bands: the ELBO's gradients are one-draw Monte Carlo, so the last iterate jitters. Over
    # 12 seeds the means landed within 0.1 posterior sd (sd 0.04) and the scales within 5%
    # of 1/sqrt(Λ_jj); the bands are 0.25 sd and 10%.
    np.testing.assert_array_less(np.abs(loc - mean) / marginal_sd, 0.25)
    np.testing.assert_allclose(scale, mean_field_sd, rtol=0.10)
    # Mean-field VI underestimates the correlated weights' marginal sds (by 57% here).
    assert np.all(scale[:2] < 0.6 * marginal_sd[:2])
    assert fit.elbo.shape == (STEPS,)
    assert fit.elbo[-500:].mean() > fit.elbo[:500].mean()


def test_draws_are_the_guide_predictive_in_units_of_y(linear):
    target, X, mean, precision, _ = linear
    X_test = X[:4]
    a = mean_field_vi(target, X_test, steps=STEPS, draws=4000, seed=3)
    assert a.draws.shape == (4000, 4)
    assert a.noise_sd == pytest.approx(1 / np.sqrt(TAU), rel=1e-12)  # tau is in units of y
    s = target.scaling
    Z = np.c_[s.x(X_test), np.ones(4)]
    # The optimal guide's predictive in units of y: mean y_mean + y_sd Z m, and sd
    # y_sd sqrt(sum_j Z_j² / Λ_jj). Bands: the fit's 0.25 sd and 10% (as above) plus the
    # Monte Carlo error of 4000 draws (1.1% on an sd).
    f_mean = s.y_mean + s.y_sd * Z @ mean
    f_sd = s.y_sd * np.sqrt(Z**2 @ (1 / np.diag(precision)))
    np.testing.assert_array_less(np.abs(a.draws.mean(0) - f_mean) / f_sd, 0.3)
    np.testing.assert_allclose(a.draws.std(0), f_sd, rtol=0.12)
    json.dumps(a.info)
    assert a.info["steps"] == STEPS and a.seconds > 0


def test_the_same_seed_gives_the_same_draws(linear):
    target, X, *_ = linear
    a, b = (mean_field_vi(target, X[:3], steps=200, draws=50, seed=7) for _ in range(2))
    c = mean_field_vi(target, X[:3], steps=200, draws=50, seed=8)
    np.testing.assert_array_equal(a.draws, b.draws)
    assert not np.allclose(a.draws, c.draws)
    key = jax.random.key(7)  # a key is as good as its seed
    np.testing.assert_array_equal(
        mean_field_vi(target, X[:3], steps=200, draws=50, seed=key).draws,
        mean_field_vi(target, X[:3], steps=200, draws=50, seed=key).draws,
    )


def test_a_hidden_layer_trains_and_answers_in_float64():
    X = np.linspace(-1, 1, 30)[:, None]
    y = np.sin(3 * X[:, 0])
    target = net_target(X, y, tau=100.0, weight_decay=1e-3, hidden=(8,))
    fit = fit_mean_field(target, steps=1000, particles=2, seed=0)
    assert [(lay.w.shape, lay.b.shape) for lay in fit.scale] == [((1, 8), (8,)), ((8, 1), (1,))]
    assert all(a.dtype == np.float64 for a in jax.tree.leaves(fit.loc))
    assert all(np.all(a > 0) for a in jax.tree.leaves(fit.scale))
    assert fit.elbo[-100:].mean() > fit.elbo[:100].mean()
    a = mean_field_vi(target, X[::3], steps=1000, particles=2, draws=20)
    assert a.draws.shape == (20, 10) and a.draws.dtype == np.float64


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": 0}, "steps must be >= 1, got 0"),
        ({"steps": 2.5}, "steps must be a whole number"),
        ({"learning_rate": -1.0}, "learning_rate must be > 0, got -1.0"),
        ({"particles": 0}, "particles must be >= 1, got 0"),
        ({"init_scale": 0.0}, "init_scale must be > 0, got 0.0"),
        ({"draws": 0}, "draws must be >= 1, got 0"),
        ({"seed": -1}, "seed must be >= 0, got -1"),
    ],
)
def test_bad_arguments_are_named(linear, kwargs, match):
    target, X, *_ = linear
    with pytest.raises((ValueError, TypeError), match=match):
        mean_field_vi(target, X[:2], **kwargs)


def test_test_inputs_need_the_training_columns(linear):
    target, X, *_ = linear
    with pytest.raises(ValueError, match="X_test has 1 columns but the model was fit on 2"):
        mean_field_vi(target, X[:, :1])
    with pytest.raises(ValueError, match="X_test must be finite"):
        mean_field_vi(target, np.full((2, 2), np.nan))
