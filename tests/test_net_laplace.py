"""The network Laplace approximation against independent references: the conjugate posterior
and evidence of the linear network (where the Laplace is exact), a Jacobian of a hand-written
forward pass, Bayesian linear regression on the hidden features, and slogdet evidences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from jax.flatten_util import ravel_pytree

import bayes_reg as br
from bayes_reg.inference.optimize import lbfgs
from bayes_reg.nets import laplace
from bayes_reg.nets.laplace import fit_laplace, laplace_predictive
from bayes_reg.nets.mlp import Layer, init_mlp
from bayes_reg.nets.target import net_target


def _map(target, seed=0):
    """The MAP by L-BFGS on the negative log joint, from a Glorot initialisation."""
    params = init_mlp(jax.random.key(seed), target.sizes, jnp.float64)
    flat, unravel = ravel_pytree(params)
    solve = lbfgs(lambda x: -target.log_joint(unravel(x)), max_steps=20_000, gtol=1e-10)
    return unravel(solve(flat, jnp.ones(flat.shape, bool)))


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)) * [1.0, 2.0, 0.5] + 1.0
    y = X @ np.array([1.0, -0.5, 2.0]) + 3.0 + 0.7 * rng.normal(size=40)
    target = net_target(X, y, tau=4.0, weight_decay=1e-2, hidden=())
    exact = br.exact_posterior(
        target.X,
        target.y,
        prior_scale=target.weight_scale,
        sigma=target.sigma,
        intercept_scale=target.bias_scale,
    )
    return target, _map(target), exact


def _to_flat_order(exact_vector_or_matrix):
    """exact_posterior orders (b, w); ravel_pytree of (Layer(w, b),) orders (w, b)."""
    return np.roll(
        np.asarray(exact_vector_or_matrix), -1, axis=tuple(range(exact_vector_or_matrix.ndim))
    )


def test_the_laplace_of_a_linear_network_is_its_exact_posterior(linear):
    target, params, exact = linear
    fit = fit_laplace(target, params, subset="all", prior_precision="weight_decay")
    assert fit.subset == "all" and fit.n_parameters == 4
    np.testing.assert_allclose(fit.mean, _to_flat_order(exact.mean), rtol=0, atol=1e-8)
    np.testing.assert_allclose(fit.cov, _to_flat_order(exact.cov), rtol=1e-10, atol=1e-14)
    # The evidence of the standardised y: N(0, sigma² I + s_w² X Xᵀ + s_b² 1 1ᵀ), written out.
    n = target.X.shape[0]
    K = (
        target.sigma**2 * np.eye(n)
        + target.weight_scale**2 * target.X @ target.X.T
        + target.bias_scale**2
    )
    expected = scipy.stats.multivariate_normal(np.zeros(n), K).logpdf(target.y)
    assert fit.log_evidence == pytest.approx(expected, rel=1e-8)


def test_the_linear_networks_predictives_are_the_exact_ones(linear):
    target, params, exact = linear
    fit = fit_laplace(target, params, subset="all")
    X_test = np.array([[0.0, 1.0, 2.0], [3.0, -2.0, 1.0], [1.0, 1.0, 1.0], [-4.0, 5.0, 0.0]])
    Z = np.column_stack([np.ones(4), target.scaling.x(X_test)])  # (1, x): exact's order
    y_sd, y_mean = target.scaling.y_sd, target.scaling.y_mean
    mean = (Z @ np.asarray(exact.mean)) * y_sd + y_mean
    sd = np.sqrt(np.einsum("ij,jk,ik->i", Z, np.asarray(exact.cov), Z)) * y_sd
    S, draws = 20_000, {}
    for predictive in ("linearised", "sampled"):
        approx = laplace_predictive(fit, target, X_test, predictive=predictive, draws=S, seed=1)
        assert approx.draws.shape == (S, 4)
        assert approx.noise_sd == pytest.approx(1 / np.sqrt(4.0), rel=1e-12)
        assert approx.info["subset"] == "all" and approx.info["n_parameters"] == 4
        # Antithetic pairs: the mean is exact; the sd has the error of S/2 i.i.d. draws.
        np.testing.assert_allclose(approx.draws.mean(0), mean, rtol=1e-10)
        np.testing.assert_array_less(np.abs(approx.draws.std(0) - sd), 4 * sd / np.sqrt(S))
        draws[predictive] = approx.draws
    # Linear in its weights, the network's two predictives are one: the same draws.
    np.testing.assert_allclose(draws["sampled"], draws["linearised"], rtol=1e-12)
    linearised = laplace_predictive(fit, target, X_test, draws=2)
    np.testing.assert_allclose(linearised.info["function_sd"], sd, rtol=1e-10)
    assert linearised.info["log_evidence"] == fit.log_evidence


def test_marglik_picks_the_precision_that_maximises_the_evidence(linear):
    target, params, _ = linear
    fit = fit_laplace(target, params, subset="all", prior_precision="marglik")
    delta = fit.prior_precision
    assert isinstance(delta, float)
    # Independently: G = X1ᵀ X1 / sigma² (the linear net's Jacobian is (x, 1)); log Z by slogdet.
    X1 = np.column_stack([target.X, np.ones(len(target.y))])
    G = X1.T @ X1 / target.sigma**2
    theta = ravel_pytree(params)[0]
    log_lik = float(target.log_likelihood(params))

    def direct(d):
        return (
            log_lik
            - 0.5 * d * float(theta @ theta)
            + 0.5 * 4 * np.log(d)
            - 0.5 * np.linalg.slogdet(G + d * np.eye(4))[1]
        )

    grid = np.logspace(-3, 3, 3001)  # steps of 0.0046 in log(delta)
    on_grid = np.array([direct(d) for d in grid])
    assert fit.log_evidence >= on_grid.max() - 1e-12
    assert abs(np.log(grid[np.argmax(on_grid)]) - np.log(delta)) <= 0.5 * np.log(10) * 6 / 3000
    assert fit.log_evidence == pytest.approx(direct(delta), rel=1e-10)
    # The closed form through G's eigenvalues, against slogdet, and a refit at fixed deltas.
    curve = laplace._log_evidence_curve(np.linalg.eigvalsh(G), np.asarray(theta), log_lik)
    np.testing.assert_allclose(curve(grid[::100]), on_grid[::100], rtol=1e-12)
    for d in (1e-3, 0.7, 50.0):
        refit = fit_laplace(target, params, subset="all", prior_precision=d)
        assert refit.log_evidence == pytest.approx(direct(d), rel=1e-12)
    approx = laplace_predictive(fit, target, target.X[:3] * 0, draws=2)
    assert approx.info["prior_precision"] == delta


@pytest.fixture(scope="module")
def sine():
    rng = np.random.default_rng(3)
    X = rng.uniform(-2, 2, size=(30, 1))
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=30)
    target = net_target(X, y, tau=50.0, weight_decay=1e-3, hidden=(8,))
    # Not a trained network: a ReLU network's MAP puts hinges on training rows, kinks where
    # the gradient does not vanish and where the side a row falls on is down to rounding, so
    # to the CPU (a start that reached a smooth mode on one machine did not on another). The
    # tests need no such mode: the Laplace algebra holds at any weights, and the last layer's
    # evidence needs only the last layer at its mode given the first. So the hinges sit
    # midway between rows, alternately facing left and right, and the last layer is the
    # ridge solution on their features.
    x = np.sort(target.X[:, 0])
    middles = (x[1:] + x[:-1]) / 2
    hinges = middles[np.linspace(1, len(middles) - 2, 8).round().astype(int)]
    slopes = np.where(np.arange(8) % 2, -1.0, 1.0)
    first = Layer(slopes[None, :], -slopes * hinges)
    H1, precision = _last_layer_regression(target, first)
    last = np.linalg.solve(precision, H1.T @ target.y / target.sigma**2)
    params = tuple(
        Layer(jnp.asarray(w), jnp.asarray(b)) for w, b in [first, (last[:8, None], last[8:])]
    )
    flat, unravel = ravel_pytree(params)
    grad = jax.grad(lambda x: target.log_joint(unravel(x)))(flat)
    assert np.abs(grad[16:]).max() < 1e-8  # the last layer (w1, b1) at its mode
    assert np.abs(target.X @ params[0].w + params[0].b).min() > 1e-3  # every row off a hinge
    return target, params


def _last_layer_regression(target, first):
    """The last layer as Bayesian linear regression on the first layer's ReLU features: the
    features with a column of ones, ``(w1, b1)`` in the flat order, and the posterior
    precision."""
    H = np.maximum(target.X @ np.asarray(first.w) + np.asarray(first.b), 0.0)
    H1 = np.column_stack([H, np.ones(len(target.y))])
    prior = np.r_[np.full(H.shape[1], target.weight_scale**-2), target.bias_scale**-2]
    return H1, H1.T @ H1 / target.sigma**2 + np.diag(prior)


def _hand_forward(theta, X):
    """(1, 8, 1) ReLU network from its flat weights (w0 row-major, b0, w1, b1)."""
    w0, b0, w1, b1 = theta[:8].reshape(1, 8), theta[8:16], theta[16:24], theta[24]
    return jnp.maximum(X @ w0 + b0, 0.0) @ w1 + b1


def test_the_full_ggn_is_the_jacobian_gram_plus_the_prior(sine):
    target, params = sine
    fit = fit_laplace(target, params, subset="all")
    theta = np.concatenate([np.ravel(a) for layer in params for a in layer])
    J = np.asarray(jax.jacrev(_hand_forward)(jnp.asarray(theta), jnp.asarray(target.X)))
    prior = np.r_[np.full(8, target.weight_scale**-2), np.full(8, target.bias_scale**-2)]
    prior = np.r_[prior, np.full(8, target.weight_scale**-2), target.bias_scale**-2]
    expected = J.T @ J / target.sigma**2 + np.diag(prior)
    np.testing.assert_allclose(fit.precision, expected, rtol=1e-11, atol=1e-9)
    np.testing.assert_allclose(fit.mean, theta, rtol=0, atol=0)
    S = 4000
    approx = laplace_predictive(fit, target, np.array([[-1.0], [0.5]]), draws=S, seed=2)
    sd = np.asarray(approx.info["function_sd"])
    np.testing.assert_array_less(np.abs(approx.draws.std(0) - sd), 4 * sd / np.sqrt(2 * S))


def test_the_last_layer_is_bayesian_linear_regression_on_the_features(sine):
    target, params = sine
    fit = fit_laplace(target, params, subset="last_layer")
    H1, precision = _last_layer_regression(target, params[0])
    H, cov = H1[:, :-1], np.linalg.inv(precision)
    assert fit.subset == "last_layer" and fit.n_parameters == 9
    np.testing.assert_allclose(fit.cov, cov, rtol=1e-9, atol=1e-13)
    # At the MAP the last layer is the conditional posterior's mode, so the evidence is that of
    # the linear model on the features: y ~ N(0, sigma² I + s_w² H Hᵀ + s_b² 1 1ᵀ).
    n = len(target.y)
    K = target.sigma**2 * np.eye(n) + target.weight_scale**2 * H @ H.T + target.bias_scale**2
    expected = scipy.stats.multivariate_normal(np.zeros(n), K).logpdf(target.y)
    assert fit.log_evidence == pytest.approx(expected, rel=1e-8)


def test_auto_takes_the_last_layer_above_the_limit(sine, monkeypatch):
    target, params = sine
    assert fit_laplace(target, params).subset == "all"
    monkeypatch.setattr(laplace, "ALL_PARAMETERS_LIMIT", 24)
    fit = fit_laplace(target, params)
    assert fit.subset == "last_layer" and fit.n_parameters == 9
    approx = laplace_predictive(fit, target, np.zeros((3, 1)), predictive="sampled", draws=5)
    assert approx.draws.shape == (5, 3) and approx.info["subset"] == "last_layer"


def test_bad_arguments_are_refused_with_clear_errors(sine):
    target, params = sine
    with pytest.raises(ValueError, match="unknown subset 'first'; choose one of"):
        fit_laplace(target, params, subset="first")
    with pytest.raises(ValueError, match="unknown prior_precision 'evidence'"):
        fit_laplace(target, params, prior_precision="evidence")
    with pytest.raises(ValueError, match="prior_precision must be > 0, got -1.0"):
        fit_laplace(target, params, prior_precision=-1.0)
    with pytest.raises(ValueError, match=r"layer sizes \(1, 4, 1\) but .* \(1, 8, 1\)"):
        fit_laplace(target, init_mlp(jax.random.key(0), (1, 4, 1)))
    stacked = tuple(Layer(layer.w[None], layer.b[None]) for layer in params)
    with pytest.raises(ValueError, match="take one member"):
        fit_laplace(target, stacked)
    fit = fit_laplace(target, params, subset="last_layer")
    with pytest.raises(ValueError, match="unknown predictive 'mc'; choose one of"):
        laplace_predictive(fit, target, np.zeros((2, 1)), predictive="mc")
    with pytest.raises(ValueError, match="draws must be >= 1, got 0"):
        laplace_predictive(fit, target, np.zeros((2, 1)), draws=0)
    with pytest.raises(ValueError, match="X has 2 columns but the model was fit on 1"):
        laplace_predictive(fit, target, np.zeros((2, 2)))


def test_rows_are_summed_in_blocks_with_the_padding_masked(sine, monkeypatch):
    target, params = sine
    monkeypatch.setattr(laplace, "_CHUNK", 7)  # 30 rows: 5 blocks, the last padded by 5
    X = jnp.asarray(target.X)
    # A fresh jit of each traces again, under the small blocks.
    gauss_newton = jax.jit(laplace._gauss_newton.__wrapped__, static_argnames="subset")
    linearised = jax.jit(laplace._linearised.__wrapped__, static_argnames="subset")
    G = gauss_newton(params, X, target.sigma, "all")
    theta = ravel_pytree(params)[0]
    J = np.asarray(jax.jacrev(_hand_forward)(theta, X))
    np.testing.assert_allclose(G, J.T @ J / target.sigma**2, rtol=1e-12, atol=1e-9)
    fit = fit_laplace(target, params, subset="all")
    eps = jax.random.normal(jax.random.key(3), (6, 25))
    L = jnp.asarray(fit.chol_precision)
    sd, draws = linearised(params, X, L, eps, "all")
    steps = np.linalg.solve(np.asarray(L).T, np.asarray(eps).T)  # (P, S) ~ N(0, A^-1)
    f = np.asarray(_hand_forward(theta, X))
    np.testing.assert_allclose(sd, np.sqrt(np.einsum("ij,jk,ik->i", J, fit.cov, J)), rtol=1e-10)
    np.testing.assert_allclose(draws, f + (J @ steps).T, rtol=1e-10, atol=1e-12)
