"""The GLM conventions (logistic, Poisson and gamma regression) against the real libraries.

For each convention the library fits a penalised GLM; the test computes, independently, the
MAP of the Bayesian model under ``to_prior(...)``: the Bernoulli or Poisson negative
log-likelihood written here plus ``prior.penalty`` from :mod:`bayes_reg.priors`, minimised by
scipy (trust-region Newton, then Newton's root finding on the gradient; an active-set Newton
for L1). The library's fit must be that MAP.
"""

import json
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
import scipy.special
from helpers import import_or_skip
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import (
    GammaRegressor,
    LogisticRegression,
    PoissonRegressor,
    TweedieRegressor,
)

from bayes_reg.conventions import (
    ALL_CONVENTIONS,
    CONVENTIONS,
    SCALED,
    convert,
    get_convention,
    to_penalty,
    to_prior,
)
from bayes_reg.linear.compare import nearest_map
from bayes_reg.priors import ElasticNet, Gaussian, Laplace, split_scales
from bayes_reg.rescaling import rescale_rows, rescale_target

#: The GLM conventions without a sigma (the gamma's, which has one, is tested on its own).
GLMS = [c.name for c in ALL_CONVENTIONS.values() if c.likelihood not in SCALED]

# Tolerances, relative to the largest coefficient (intercept included).
# The library solvers run with tol=1e-14 (sklearn's newton-cholesky and saga, statsmodels'
# coordinate descent with cnvrg_tol=1e-14) and our MAP is stationary to 1e-12 of the
# gradient's scale: the fits agreed to 2e-14 or better when this was written. 1e-10 leaves
# four orders of margin for other BLAS and platforms and is far below what a convention slip
# moves (doubling a convention's data weight moved these fits by 1.5e-4 (C = 100, the weakest
# prior here) to 0.4).
RTOL = 1e-10


def _logistic(n, w, b=-0.3, seed=0):
    """Non-separable logistic data: X standard normal, y ~ Bernoulli(sigmoid(Xw + b))."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(w)))
    p = 1 / (1 + np.exp(-(X @ np.asarray(w) + b)))
    return X, (rng.uniform(size=n) < p).astype(float)


def _counts(n, w, b=0.5, seed=2):
    """Poisson counts: X ~ N(0, 0.5²), y ~ Poisson(exp(Xw + b))."""
    rng = np.random.default_rng(seed)
    X = 0.5 * rng.normal(size=(n, len(w)))
    return X, rng.poisson(np.exp(X @ np.asarray(w) + b)).astype(float)


# n = 256 and 128 are powers of 2 for Keras (see the Keras tests); sklearn and statsmodels use
# the same data.
LOGISTIC = _logistic(256, [1.0, -0.5, 0.25, 0.0])  # one true zero: L1 fits have exact zeros
LOGISTIC_DENSE = _logistic(256, [1.0, -0.5, 0.25, 0.6], seed=1)
COUNTS = _counts(128, [0.4, -0.3, 0.2])
#: Positive outcomes: gamma of mean exp(Xw + 1) and shape 2 (coefficient of variation 0.71).
POSITIVE = (
    COUNTS[0],
    np.random.default_rng(3).gamma(2.0, np.exp(COUNTS[0] @ [0.4, -0.3, 0.2] + 1) / 2),
)


# --- the independent MAP ------------------------------------------------------------------


def _nll(likelihood, Z, y, beta):
    """Summed negative log-likelihood of coefficients ``beta`` on the columns of ``Z``, its
    gradient and its Hessian."""
    eta = Z @ beta
    if likelihood == "bernoulli":  # -log Bernoulli(y | sigmoid(eta)), y in {0, 1}
        value = np.sum(np.logaddexp(0.0, eta) - y * eta)
        mean = scipy.special.expit(eta)
        curvature = mean * (1 - mean)
    elif likelihood == "poisson":  # -log Poisson(y | exp(eta))
        value = np.sum(np.exp(eta) - y * eta + scipy.special.gammaln(y + 1))
        mean = curvature = np.exp(eta)
    else:  # -log Gamma(y | shape 1, mean exp(eta)) less log y; y exp(-eta) is y / mean
        ratio = y * np.exp(-eta)
        return np.sum(eta + ratio), Z.T @ (1 - ratio), Z.T @ (ratio[:, None] * Z)
    return value, Z.T @ (mean - y), Z.T @ (curvature[:, None] * Z)


@jax.jit
def _penalty(prior, w):
    """The prior's own penalty at ``w``, its gradient and Hessian, by JAX (priors are pytrees:
    one compilation per family and size, shared by every test)."""
    return prior.penalty(w), jax.grad(prior.penalty)(w), jax.hessian(prior.penalty)(w)


def _newton(f, x0, scale):
    """Minimise a smooth, strictly convex ``f`` (returning value, gradient, Hessian): scipy's
    trust-region Newton, then Newton's root finding on the gradient (the trust region stops
    once the value no longer resolves the last digits; the gradient still does). ``scale``:
    the size of the gradient at zero."""
    near = scipy.optimize.minimize(
        lambda x: f(x)[0],
        x0,
        jac=lambda x: f(x)[1],
        hess=lambda x: f(x)[2],
        method="trust-exact",
    ).x
    root = scipy.optimize.root(
        lambda x: f(x)[1], near, jac=lambda x: f(x)[2], method="hybr", tol=1e-15
    ).x
    # Stationary to 1e-12 of the gradient's scale: the MAP to ~1e-13 here.
    assert np.max(np.abs(f(root)[1])) < 1e-12 * scale
    return root


def _map(likelihood, X, y, prior, *, penalise_intercept=False):
    """``(w, b)`` minimising NLL + ``prior.penalty(w)`` (+ ``prior.penalty(b)`` if asked)."""
    Z = np.hstack([np.ones((len(y), 1)), X])
    k = Z.shape[1]
    pen = np.array([penalise_intercept] + [True] * X.shape[1])

    def objective(beta, on=slice(None)):
        """Value, gradient and Hessian, in the coordinates ``on`` (the rest held at zero)."""
        full = np.zeros(k)
        full[on] = beta
        value, grad, hess = _nll(likelihood, Z, y, full)
        p_value, p_grad, p_hess = _penalty(prior, jnp.asarray(full[pen]))
        grad[pen] += np.asarray(p_grad)
        hess[np.ix_(pen, pen)] += np.asarray(p_hess)
        return value + float(p_value), grad[on], hess[on][:, on]

    scale = np.max(np.abs(_nll(likelihood, Z, y, np.zeros(k))[1]))
    gaussian, laplace = split_scales(prior)
    if laplace is None:  # smooth: Newton on the whole thing
        beta = _newton(objective, np.zeros(k), scale)
        return beta[1:], beta[0]
    # L1: find the support with L-BFGS-B on the split w = u - v (u, v >= 0), where
    # |w| = u + v makes the objective smooth; then Newton on the support, where the
    # penalty is smooth too, and check the optimality conditions of every zero.
    l2 = 0.0 if gaussian is None else 0.5 / gaussian**2

    def smooth(beta):  # NLL + the Gaussian part of the penalty: value and gradient
        value, grad, _ = _nll(likelihood, Z, y, beta)
        return value + l2 * np.sum(beta[pen] ** 2), grad + 2 * l2 * beta * pen

    def split(t):
        value, grad = smooth(t[:k] - t[k:])
        return value + np.sum((t[:k] + t[k:])[pen]) / laplace, np.r_[grad, -grad] + np.r_[
            pen, pen
        ] / laplace

    bounds = [(0, None) if p else (None, None) for p in pen] + [
        (0, None) if p else (0, 0) for p in pen
    ]
    t = scipy.optimize.minimize(
        split,
        np.zeros(2 * k),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 0.0, "gtol": 1e-12, "maxiter": 10_000},
    ).x
    rough = t[:k] - t[k:]
    support = ~pen | (np.abs(rough) > 1e-8 * np.abs(rough).max())
    idx = np.flatnonzero(support)
    beta = np.zeros(k)
    beta[idx] = _newton(lambda b: objective(b, idx), rough[idx], scale)
    # The support kept its signs, and every zero satisfies |d smooth / d beta_j| <= 1 / l.
    assert np.all(np.sign(beta[idx]) == np.sign(rough[idx]))
    slack = np.abs(smooth(beta)[1][~support]) * laplace
    assert np.all(slack < 1), slack
    return beta[1:], beta[0]


def _assert_same_fit(ours, coef, intercept, rtol=RTOL):
    w, b = ours
    theirs = np.r_[intercept, np.ravel(coef)]
    scale = np.max(np.abs(theirs))
    np.testing.assert_allclose(np.r_[b, w], theirs, rtol=0, atol=rtol * scale)


# --- scikit-learn ---------------------------------------------------------------------------


@pytest.mark.parametrize("X, y", [LOGISTIC, LOGISTIC_DENSE], ids=["sparse-w", "dense-w"])
def test_the_logistic_data_are_not_separable(X, y):
    # Separable classes have no finite maximum-likelihood fit: an almost unpenalised one
    # (C = 1e8) would run off to |w| in the thousands. Here it stays near the true w.
    fit = LogisticRegression(C=1e8, solver="newton-cholesky", tol=1e-14).fit(X, y)
    assert np.max(np.abs(fit.coef_)) < 3


@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_sklearn_logistic_l2_is_the_gaussian_map(C):
    X, y = LOGISTIC
    fit = LogisticRegression(C=C, l1_ratio=0.0, solver="newton-cholesky", tol=1e-14).fit(X, y)
    prior = to_prior("sklearn-logistic", C, n=len(y))
    assert prior == Gaussian(C**0.5)  # C is the prior variance
    _assert_same_fit(_map("bernoulli", X, y, prior), fit.coef_, fit.intercept_)


@pytest.mark.parametrize(
    "C, family, l1_ratio",
    [
        (0.05, "laplace", None),  # strong: three of four weights exactly zero
        (1.0, "laplace", None),
        (0.1, "elastic-net", 0.5),
        (1.0, "elastic-net", 0.3),
    ],
)
def test_sklearn_logistic_l1_and_elastic_net_are_the_map_zeros_included(C, family, l1_ratio):
    X, y = LOGISTIC
    fit = LogisticRegression(
        C=C,
        l1_ratio=1.0 if family == "laplace" else l1_ratio,
        solver="saga",
        tol=1e-14,
        max_iter=100_000,
    ).fit(X, y)
    prior = to_prior("sklearn-logistic", C, n=len(y), family=family, l1_ratio=l1_ratio)
    ours = _map("bernoulli", X, y, prior)
    _assert_same_fit(ours, fit.coef_, fit.intercept_)
    np.testing.assert_array_equal(ours[0] == 0, fit.coef_.ravel() == 0)  # the same zeros


@pytest.mark.parametrize("alpha", [1e-3, 0.1, 3.0])
@pytest.mark.parametrize(
    "estimator",
    [
        lambda a: PoissonRegressor(alpha=a, solver="newton-cholesky", tol=1e-14),
        lambda a: TweedieRegressor(
            power=1, link="log", alpha=a, solver="newton-cholesky", tol=1e-14
        ),
    ],
    ids=["PoissonRegressor", "TweedieRegressor-power1"],
)
def test_sklearn_poisson_and_tweedie_are_the_gaussian_map(alpha, estimator):
    X, y = COUNTS
    fit = estimator(alpha).fit(X, y)
    prior = to_prior("sklearn-poisson", alpha, n=len(y))
    assert prior.scale == pytest.approx((len(y) * alpha) ** -0.5, rel=1e-15)
    _assert_same_fit(_map("poisson", X, y, prior), fit.coef_, fit.intercept_)


@pytest.mark.parametrize("sigma", [0.3, 1.0, 2.5])
@pytest.mark.parametrize(
    "estimator",
    [
        lambda a: GammaRegressor(alpha=a, solver="newton-cholesky", tol=1e-14),
        lambda a: TweedieRegressor(
            power=2, link="log", alpha=a, solver="newton-cholesky", tol=1e-14
        ),
    ],
    ids=["GammaRegressor", "TweedieRegressor-power2"],
)
def test_sklearn_gamma_and_tweedie_are_the_gaussian_map(estimator, sigma):
    """The prior is in units of the coefficient of variation sigma, g = sigma / sqrt(n alpha),
    and the shape-1/sigma² MAP under it is the shape-1 MAP under g / sigma: the library's fit
    whatever sigma is."""
    X, y = POSITIVE
    alpha = 0.05
    fit = estimator(alpha).fit(X, y)
    prior = to_prior("sklearn-gamma", alpha, n=len(y), sigma=sigma)
    assert prior.scale == pytest.approx(sigma * (len(y) * alpha) ** -0.5, rel=1e-15)
    _assert_same_fit(_map("gamma", X, y, Gaussian(prior.scale / sigma)), fit.coef_, fit.intercept_)


def test_a_gamma_convention_needs_sigma_and_round_trips():
    with pytest.raises(ValueError, match="gamma likelihood and needs its coefficient of var"):
        to_prior("sklearn-gamma", 0.1, n=10)
    back = to_penalty(
        "sklearn-gamma", to_prior("sklearn-gamma", 0.1, n=10, sigma=0.7), n=10, sigma=0.7
    )
    assert back.strength == pytest.approx(0.1, rel=1e-14)
    with pytest.raises(ValueError, match="only when their data terms are the same likelihood"):
        convert(0.1, source="sklearn-gamma", target="sklearn-poisson", n=10, sigma=0.7)
    # The deviance depends on y / mu and the log link absorbs the units: any factor, any prior.
    assert rescale_target("sklearn-gamma", 0.1, 1000.0) == 0.1
    # ...but a penalty the convention does not have is refused, as everywhere else.
    with pytest.raises(ValueError, match="has no laplace penalty"):
        rescale_target("sklearn-gamma", 0.1, 1000.0, family="laplace")
    assert rescale_rows("sklearn-gamma", 0.1, 100, 400) == pytest.approx(0.025, rel=1e-14)


# --- statsmodels ----------------------------------------------------------------------------

FAMILY_CASES = [  # (L1_wt, family, l1_ratio)
    (1.0, "laplace", None),  # statsmodels' default L1_wt
    (0.5, "elastic-net", 0.5),
    (0.0, "gaussian", None),  # statsmodels fits L1_wt=0 by a separate ridge path
]


@pytest.mark.parametrize("free_constant", [False, True], ids=["scalar-alpha", "vector-alpha"])
@pytest.mark.parametrize("L1_wt, family, l1_ratio", FAMILY_CASES)
@pytest.mark.parametrize("likelihood", ["bernoulli", "poisson"])
def test_statsmodels_glm_fit_regularized_is_the_map(
    likelihood, L1_wt, family, l1_ratio, free_constant
):
    sm = import_or_skip("statsmodels.api")
    X, y = LOGISTIC if likelihood == "bernoulli" else COUNTS
    name, sm_family = {
        "bernoulli": ("statsmodels-binomial", sm.families.Binomial()),
        "poisson": ("statsmodels-poisson", sm.families.Poisson()),
    }[likelihood]
    alpha = 0.05 if likelihood == "bernoulli" else 0.02
    Z = sm.add_constant(X)
    # A number penalises the constant like every other column; a vector with 0 for it does not.
    alpha_arg = np.r_[0.0, np.full(X.shape[1], alpha)] if free_constant else alpha
    if L1_wt == 0:
        # The ridge path minimises with scipy; its default BFGS stops at gradient norm 1e-5
        # (coefficients off by ~5e-5). trust-constr stops at gradient norm or step 1e-8: with
        # the mean objective's smallest Hessian eigenvalue >= 0.19 here the coefficients are
        # within ~1e-7 (seen: <= 8e-8 relative), so 1e-6. Doubling the convention's data
        # weight moves them by 2e-2 or more.
        kw, rtol = {"opt_method": "trust-constr"}, 1e-6
    else:
        kw, rtol = {"cnvrg_tol": 1e-14, "maxiter": 10_000}, RTOL
    fit = sm.GLM(y, Z, family=sm_family).fit_regularized(alpha=alpha_arg, L1_wt=L1_wt, **kw)
    prior = to_prior(name, alpha, n=len(y), family=family, l1_ratio=l1_ratio)
    ours = _map(likelihood, X, y, prior, penalise_intercept=not free_constant)
    _assert_same_fit(ours, fit.params[1:], fit.params[0], rtol)


@pytest.mark.parametrize("likelihood", ["bernoulli", "poisson"])
def test_statsmodels_ridge_objective_is_stationary_at_the_map(likelihood):
    """statsmodels' own log-likelihood and score, in the objective its docstring states
    (-loglike/n + alpha ||params||^2 / 2 for L1_wt=0), have zero gradient at our MAP."""
    sm = import_or_skip("statsmodels.api")
    X, y = LOGISTIC if likelihood == "bernoulli" else COUNTS
    family = sm.families.Binomial() if likelihood == "bernoulli" else sm.families.Poisson()
    name = "statsmodels-binomial" if likelihood == "bernoulli" else "statsmodels-poisson"
    alpha = 0.05
    model = sm.GLM(y, sm.add_constant(X), family=family)
    w, b = _map(likelihood, X, y, to_prior(name, alpha, n=len(y), family="gaussian"))
    params = np.r_[b, w]
    penalty_grad = alpha * np.r_[0.0, w]  # the constant free: alpha = [0, alpha, ...]

    def gradient(p, pen):
        return -model.score(p) / model.nobs + pen

    at_zero = gradient(np.zeros_like(params), 0.0)
    # float64 sums over 128-256 rows: 1e-12 of the gradient's scale.
    assert np.max(np.abs(gradient(params, penalty_grad))) < 1e-12 * np.max(np.abs(at_zero))


@pytest.mark.parametrize("sigma", [0.3, 2.5])
@pytest.mark.parametrize("L1_wt, family, l1_ratio", FAMILY_CASES[:2])
def test_statsmodels_gamma_is_the_map_in_units_of_sigma(L1_wt, family, l1_ratio, sigma):
    """-loglike / n at scale 1 is half the mean deviance: the prior's scales are in units of
    the coefficient of variation, and the shape-1/sigma² MAP is the shape-1 MAP under the
    Gaussian scale over sigma and the Laplace scale over sigma²."""
    sm = import_or_skip("statsmodels.api")
    X, y = POSITIVE
    fit = sm.GLM(
        y, sm.add_constant(X), family=sm.families.Gamma(sm.families.links.Log())
    ).fit_regularized(
        alpha=np.r_[0.0, np.full(3, 0.05)], L1_wt=L1_wt, cnvrg_tol=1e-14, maxiter=10_000
    )
    prior = to_prior(
        "statsmodels-gamma", 0.05, n=len(y), sigma=sigma, family=family, l1_ratio=l1_ratio
    )
    gaussian, laplace = split_scales(prior)
    shape_one = (
        Laplace(laplace / sigma**2)
        if gaussian is None
        else ElasticNet(gaussian / sigma, laplace / sigma**2)
    )
    _assert_same_fit(_map("gamma", X, y, shape_one), fit.params[1:], fit.params[0])


def test_statsmodels_gammas_ridge_path_is_no_fixed_prior_and_is_refused():
    """With L1_wt=0 statsmodels minimises -loglike / n at the scale it estimates from each
    step's fit: not the scale-1 objective, whose MAP here is 0.04 away (slopes of 0.3-0.4)."""
    sm = import_or_skip("statsmodels.api")
    X, y = POSITIVE
    fit = sm.GLM(
        y, sm.add_constant(X), family=sm.families.Gamma(sm.families.links.Log())
    ).fit_regularized(alpha=np.r_[0.0, np.full(3, 0.05)], L1_wt=0.0, opt_method="trust-constr")
    w, b = _map("gamma", X, y, Gaussian((len(y) * 0.05) ** -0.5))
    assert np.max(np.abs(np.r_[b, w] - fit.params)) > 1e-2
    with pytest.raises(ValueError, match="its L2 penalty alone is another objective"):
        to_prior("statsmodels-gamma", 0.05, n=len(y), sigma=1.0, family="gaussian")


# --- the binomial: a row of n trials is its n Bernoulli log-losses ---------------------------


def _binomial_table(rows=64, seed=7):
    """Successes of 1..12 trials per row, and the same as one 0/1 row per trial (64 rows: a
    power of 2 for Keras, see below)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 3))
    trials = rng.integers(1, 13, size=rows)
    successes = rng.binomial(trials, scipy.special.expit(X @ [0.6, -0.4, 0.2] - 0.3))
    per_trial = np.repeat(X, trials, axis=0)
    outcome = np.concatenate([np.arange(n) < k for k, n in zip(successes, trials, strict=True)])
    return X, successes, trials, per_trial, outcome.astype(float)


BINOMIAL = _binomial_table()


@pytest.mark.parametrize("L1_wt, family, l1_ratio", FAMILY_CASES)
def test_statsmodels_two_column_binomial_is_the_map_with_n_its_rows(L1_wt, family, l1_ratio):
    """statsmodels' GLM given (successes, failures) per row: -loglike / rows + the penalty, the
    MAP of the trials' Bernoulli rows under statsmodels-binomial's prior for n = the table's
    rows (:data:`~bayes_reg.conventions.PENALISED_AS`), not the trials."""
    sm = import_or_skip("statsmodels.api")
    X, successes, trials, per_trial, outcome = BINOMIAL
    alpha = np.r_[0.0, np.full(3, 0.05)]
    kw = (
        {"opt_method": "trust-constr"}  # the ridge path, as above
        if L1_wt == 0
        else {"cnvrg_tol": 1e-14, "maxiter": 10_000}
    )
    fit = sm.GLM(
        np.column_stack([successes, trials - successes]), sm.add_constant(X), sm.families.Binomial()
    ).fit_regularized(alpha=alpha, L1_wt=L1_wt, **kw)
    prior = to_prior("statsmodels-binomial", 0.05, n=len(X), family=family, l1_ratio=l1_ratio)
    ours = _map("bernoulli", per_trial, outcome, prior)
    _assert_same_fit(ours, fit.params[1:], fit.params[0], 1e-6 if L1_wt == 0 else RTOL)


def test_sklearn_logistic_on_weighted_success_and_failure_rows_is_the_binomials_map():
    """Each table row as a success row weighted by its successes and a failure row weighted by
    its failures: C times the summed log-loss, the binomial's NLL, whatever n is."""
    X, successes, trials, per_trial, outcome = BINOMIAL
    fit = LogisticRegression(C=0.5, l1_ratio=0.0, solver="newton-cholesky", tol=1e-14).fit(
        np.vstack([X, X]),
        np.r_[np.ones(len(X)), np.zeros(len(X))],
        sample_weight=np.r_[successes, trials - successes],
    )
    prior = to_prior("sklearn-logistic", 0.5, n=len(X))
    _assert_same_fit(_map("bernoulli", per_trial, outcome, prior), fit.coef_, fit.intercept_)


# --- PyTorch (stored reference, see tests/reference/README.md) -----------------------------

TORCH = json.loads((Path(__file__).parent / "reference" / "torch_glm.json").read_text())
TORCH_CASES = TORCH["cases"]


def _torch_data(case):
    """``(likelihood, X, y, rows)``: a binomial table (torch's BCE of each row's proportion,
    weighted by its trials) as one 0/1 row per trial, and ``rows`` the table's rows, over
    which torch's mean is taken (:data:`~bayes_reg.conventions.PENALISED_AS`)."""
    data = TORCH["datasets"][case["dataset"]]
    X, y = np.asarray(data["X"]), np.asarray(data["y"])
    if data["likelihood"] != "binomial":
        return data["likelihood"], X, y, len(y)
    trials = np.asarray(data["trials"], dtype=int)
    outcome = np.concatenate([np.arange(n) < k for k, n in zip(y, trials, strict=True)])
    return "bernoulli", np.repeat(X, trials, axis=0), outcome.astype(float), len(X)


# Torch ran full-batch SGD in float64 until no parameter moved 1e-13 in a step, and its
# objective's gradient was then below 1e-12 (recorded: <= 2.3e-13). The smallest Hessian
# eigenvalue is >= wd >= 1e-3, so the torch parameters are within 1e-9 of the optimum; seen:
# agreement to 1.2e-12. 1e-8 relative keeps a margin and is far below a slip (doubling the
# data weight moves these fits by 1e-3 or more; the binomial's, with n the trials instead of the
# rows, by 0.013 to 0.38).
TORCH_RTOL = 1e-8


@pytest.mark.parametrize("case", TORCH_CASES, ids=[c["name"] for c in TORCH_CASES])
def test_torch_sgd_weight_decay_is_the_gaussian_map(case):
    likelihood, X, y, rows = _torch_data(case)
    assert case["grad_norm"] < 1e-12
    prior = to_prior(case["convention"], case["wd"], n=rows)
    _assert_same_fit(_map(likelihood, X, y, prior), case["weight"], case["bias"], TORCH_RTOL)


@pytest.mark.parametrize("case", TORCH_CASES, ids=[c["name"] for c in TORCH_CASES])
def test_torch_wd_converted_to_sklearn_reproduces_torch(case):
    likelihood, X, y, rows = _torch_data(case)
    target = "sklearn-logistic" if likelihood == "bernoulli" else "sklearn-poisson"
    strength = convert(case["wd"], source=case["convention"], target=target, n=rows).strength
    if likelihood == "bernoulli":  # a binomial's trials as rows: C times their summed log-loss
        assert strength == pytest.approx(1 / (rows * case["wd"]), rel=1e-14)  # C = 1/(n wd)
        fit = LogisticRegression(C=strength, solver="newton-cholesky", tol=1e-14).fit(X, y)
    else:
        assert strength == pytest.approx(case["wd"], rel=1e-14)  # both mean(NLL) + a/2 ||w||²
        fit = PoissonRegressor(alpha=strength, solver="newton-cholesky", tol=1e-14).fit(X, y)
    _assert_same_fit((fit.coef_.ravel(), fit.intercept_), case["weight"], case["bias"], TORCH_RTOL)


# --- Keras ----------------------------------------------------------------------------------


@pytest.fixture
def keras64(request):
    keras = import_or_skip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("the check differentiates with JAX")
    floatx, epsilon = keras.config.floatx(), keras.config.epsilon()
    keras.config.set_floatx("float64")  # float32 would bound the check at 1e-7

    def restore():
        keras.config.set_floatx(floatx)
        keras.config.set_epsilon(epsilon)

    request.addfinalizer(restore)
    return keras


def _keras_stationarity(
    keras, name, X, y, strength, family, loss, link, *, weights=None, rows=None
):
    """The largest gradient of Keras's loss (given ``weights`` per row) + regulariser at our
    MAP (on ``rows``, if the likelihood's rows are not ``X, y``), relative to its largest
    gradient at zero."""
    likelihood = ALL_CONVENTIONS[name].likelihood
    prior = to_prior(name, strength, n=len(y), family=family)
    w, b = _map(likelihood, *(rows or (X, y)), prior)
    assert np.all(w != 0)  # the L1 term is smooth only away from zero
    regularizer = (keras.regularizers.L2 if family == "gaussian" else keras.regularizers.L1)(
        strength
    )
    Xj, yj = jnp.asarray(X), jnp.asarray(y)[:, None]

    def total(kernel, bias):
        return loss(yj, link(Xj @ kernel + bias), sample_weight=weights) + regularizer(kernel)

    grad = jax.grad(total, argnums=(0, 1))
    g_map = grad(jnp.asarray(w)[:, None], jnp.asarray([b]))
    g_zero = grad(jnp.zeros((X.shape[1], 1)), jnp.zeros(1))
    scale = max(float(jnp.max(jnp.abs(g))) for g in g_zero)
    return max(float(jnp.max(jnp.abs(g))) for g in g_map) / scale


# Keras 3 computes ops.mean of float64 in float32 (its type promotion gives float32 for
# float64 with float32), so the 1/n its mean passes back is rounded to float32 unless n is a
# power of 2; with n = 256 and 128 it is exact and the check is float64-tight: seen < 1e-15.
KERAS_RTOL = 1e-10


@pytest.mark.parametrize("family, strength", [("gaussian", 0.05), ("laplace", 0.002)])
@pytest.mark.parametrize("from_logits", [True, False], ids=["logits", "sigmoid-output"])
def test_keras_binary_crossentropy_is_stationary_at_the_map(keras64, family, strength, from_logits):
    X, y = LOGISTIC_DENSE
    # Without from_logits Keras clips p to [1e-7, 1 - 1e-7]; no p here is that extreme.
    loss = keras64.losses.BinaryCrossentropy(from_logits=from_logits)
    link = (lambda eta: eta) if from_logits else jax.nn.sigmoid
    r = _keras_stationarity(keras64, "keras-bce", X, y, strength, family, loss, link)
    assert r < KERAS_RTOL


@pytest.mark.parametrize("family, strength", [("gaussian", 0.05), ("laplace", 0.002)])
def test_keras_bce_of_proportions_weighted_by_trials_is_stationary_at_the_binomials_map(
    keras64, family, strength
):
    """Each row's proportion of successes, weighted by its trials: the mean over the rows of
    the binomial's NLL (+ a constant), so keras-bce's prior with n the rows."""
    X, successes, trials, per_trial, outcome = BINOMIAL
    loss = keras64.losses.BinaryCrossentropy(from_logits=True)
    r = _keras_stationarity(
        keras64,
        "keras-bce",
        X,
        successes / trials,
        strength,
        family,
        loss,
        lambda eta: eta,
        weights=jnp.asarray(trials, dtype=float),
        rows=(per_trial, outcome),
    )
    assert r < KERAS_RTOL


@pytest.mark.parametrize("family, strength", [("gaussian", 0.05), ("laplace", 0.002)])
def test_keras_poisson_is_stationary_at_the_map(keras64, family, strength):
    X, y = COUNTS
    loss = keras64.losses.Poisson()
    # Keras's Poisson loss is mu - y log(mu + eps): with its default eps = 1e-7 the gradient
    # at the exact MAP is off by eps * mean(y / mu) ~ 1e-7 of the scale (seen: 1.2e-7) ...
    default = _keras_stationarity(keras64, "keras-poisson", X, y, strength, family, loss, jnp.exp)
    assert 1e-8 < default < 1e-6
    # ... and with eps = 0 the rest of the convention is exact.
    keras64.config.set_epsilon(0.0)
    exact = _keras_stationarity(keras64, "keras-poisson", X, y, strength, family, loss, jnp.exp)
    assert exact < KERAS_RTOL


# --- conversions: exact values, round trips, refusals ------------------------------------


@pytest.mark.parametrize(
    "name, strength, family, l1_ratio, expected",
    [
        # Each derived by hand from the framework's objective (see the module docstring).
        ("sklearn-logistic", 4.0, "gaussian", None, Gaussian(2.0)),  # w ~ N(0, C)
        ("sklearn-logistic", 4.0, "laplace", None, Laplace(4.0)),  # scale C
        ("sklearn-logistic", 4.0, "elastic-net", 0.75, ElasticNet(4.0, 4.0 / 0.75)),
        ("sklearn-poisson", 0.25, "gaussian", None, Gaussian(0.1)),  # 1 / sqrt(n alpha)
        ("statsmodels-binomial", 0.25, "gaussian", None, Gaussian(0.1)),
        ("statsmodels-poisson", 0.25, "laplace", None, Laplace(0.01)),  # 1 / (n alpha)
        ("torch-bce", 0.25, "gaussian", None, Gaussian(0.1)),  # 1 / sqrt(n wd)
        ("torch-poisson", 0.25, "gaussian", None, Gaussian(0.1)),
        ("keras-bce", 0.125, "gaussian", None, Gaussian(0.1)),  # 1 / sqrt(2 n l2)
        ("keras-poisson", 0.25, "laplace", None, Laplace(0.01)),  # 1 / (n l1)
    ],
)
def test_priors_match_the_hand_derivation(name, strength, family, l1_ratio, expected):
    prior = to_prior(name, strength, n=400, family=family, l1_ratio=l1_ratio)
    assert type(prior) is type(expected)
    for ours, derived in zip(split_scales(prior), split_scales(expected), strict=True):
        assert ours == (None if derived is None else pytest.approx(derived, rel=1e-15))


def test_the_table_keeps_least_squares_apart():
    assert set(CONVENTIONS) < set(ALL_CONVENTIONS)
    assert all(c.likelihood == "gaussian" for c in CONVENTIONS.values())
    assert {ALL_CONVENTIONS[n].likelihood for n in GLMS} == {"bernoulli", "poisson"}
    assert get_convention("statsmodels-binomial").default_family == "laplace"  # L1_wt=1
    assert get_convention("sklearn-logistic").default_family == "gaussian"  # l1_ratio=0
    for name in GLMS:
        c = get_convention(name)
        assert c.objective and c.bias and c.framework


_GLM_SUPPORTED = [(name, f) for name in GLMS for f in ALL_CONVENTIONS[name].families]


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    case=st.sampled_from(_GLM_SUPPORTED),
    strength=st.floats(1e-6, 1e6),
    n=st.integers(1, 10**6),
    l1_ratio=st.floats(0.01, 0.99),
    target=st.sampled_from(GLMS),
)
def test_glm_round_trips(case, strength, n, l1_ratio, target):
    name, family = case
    prior = to_prior(name, strength, n=n, family=family, l1_ratio=l1_ratio)
    back = to_penalty(name, prior, n=n)
    assert back.strength == pytest.approx(strength, rel=1e-12)
    if family == "elastic-net":
        assert back.l1_ratio == pytest.approx(l1_ratio, rel=1e-12)
    same = ALL_CONVENTIONS[target].likelihood == ALL_CONVENTIONS[name].likelihood
    if not same or family not in ALL_CONVENTIONS[target].families:
        return
    there = convert(strength, source=name, target=target, n=n, family=family, l1_ratio=l1_ratio)
    again = convert(
        there.strength,
        source=target,
        target=name,
        n=n,
        family=family,
        l1_ratio=there.l1_ratio if family == "elastic-net" else None,
    )
    assert again.strength == pytest.approx(strength, rel=1e-10)


def test_sklearn_c_and_statsmodels_alpha_are_inverse_per_row():
    # C sum(loss) + ||w||^2 / 2  and  mean(loss) + alpha ||w||^2 / 2: alpha = 1 / (n C).
    out = convert(2.0, source="sklearn-logistic", target="statsmodels-binomial", n=250)
    assert out.strength == pytest.approx(1 / 500, rel=1e-15)
    back = convert(1 / 500, source="statsmodels-binomial", target="sklearn-logistic", n=250)
    assert back.strength == pytest.approx(2.0, rel=1e-15)


def test_statsmodels_alpha_reproduces_sklearn_logistic_with_a_free_constant():
    sm = import_or_skip("statsmodels.api")
    X, y = LOGISTIC
    C = 0.5
    alpha = convert(C, source="sklearn-logistic", target="statsmodels-binomial", n=len(y))
    fit = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit_regularized(
        alpha=np.r_[0.0, np.full(X.shape[1], alpha.strength)],
        L1_wt=1.0,
        cnvrg_tol=1e-14,
        maxiter=10_000,
    )
    sk = LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-14, max_iter=100_000)
    sk.fit(X, y)
    _assert_same_fit((fit.params[1:], fit.params[0]), sk.coef_, sk.intercept_)


@pytest.mark.parametrize(
    "source, target",
    [
        ("sklearn-logistic", "sklearn-ridge"),
        ("torch-sgd", "torch-bce"),
        ("keras-bce", "keras-poisson"),
        ("statsmodels-poisson", "statsmodels-binomial"),
    ],
)
def test_converting_across_likelihoods_is_refused_with_the_reason(source, target):
    sigma = {"sigma": 1.0} if get_convention(source).likelihood == "gaussian" else {}
    with pytest.raises(ValueError, match="only when their data terms are the same likelihood"):
        convert(0.1, source=source, target=target, n=10, **sigma)


@pytest.mark.parametrize("name", GLMS)
def test_a_glm_convention_refuses_sigma(name):
    message = re.escape(f"convention {name!r} has a") + " .* no noise scale: leave sigma out"
    with pytest.raises(ValueError, match=message):
        to_prior(name, 0.1, n=10, sigma=1.0)
    with pytest.raises(ValueError, match=message):
        to_penalty(name, Gaussian(1.0), n=10, sigma=1.0)


@pytest.mark.parametrize("name", list(CONVENTIONS))
def test_a_least_squares_convention_needs_sigma(name):
    message = "sigma must be a number, got None: .* least squares"
    with pytest.raises(ValueError, match=message):
        to_prior(name, 0.1, n=10, family=get_convention(name).families[0])
    with pytest.raises(ValueError, match=message):
        to_penalty(name, Gaussian(1.0), n=10)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: to_prior("torch-bce", 0.1, n=10, family="laplace"), "has no laplace penalty"),
        (lambda: to_prior("sklearn-logistic", 0.0, n=10), "strength must be > 0, got 0.0"),
        (lambda: to_prior("keras-poisson", 0.1, n=0), "n must be > 0, got 0"),
        (lambda: to_prior("statsmodels-binomial", 0.1, n=10, family="elastic-net"), "l1_ratio"),
        (lambda: to_prior("sklearn-logistic", 1e-310, n=10), "outside the floating-point range"),
        (lambda: to_penalty("sklearn-poisson", Laplace(1.0), n=10), "has no laplace penalty"),
    ],
)
def test_bad_glm_input_names_the_field(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("name", GLMS)
def test_rescale_rows_keeps_a_glm_prior_on_more_rows(name):
    # The strength on 400 rows that encodes the prior the old strength encoded on 100.
    new = rescale_rows(name, 0.3, 100, 400)
    before = to_prior(name, 0.3, n=100)
    after = to_prior(name, new, n=400)
    assert type(after) is type(before) and after.scale == pytest.approx(before.scale, rel=1e-12)


def test_a_glm_convention_is_refused_where_least_squares_is_fitted():
    with pytest.raises(ValueError, match="has a bernoulli likelihood, whose classes"):
        rescale_target("sklearn-logistic", 1.0, 10.0)
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="this comparison fits least squares"):
        nearest_map(X, X.sum(1), np.ones(2), convention="torch-bce")
