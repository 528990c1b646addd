import math

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
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
from hypothesis import strategies as st
from sklearn.linear_model import Lasso, Ridge

import bayes_reg as br
from bayes_reg.inference.mode import map_model
from bayes_reg.linear.map import map_estimate
from bayes_reg.linear.regression import linear_regression
from bayes_reg.priors import ElasticNet, Gaussian, Laplace


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
        assert (np.asarray(exact.w) == 0).any()  # the case exercises the kink
        np.testing.assert_allclose(generic["w"], exact.w, rtol=1e-7, atol=1e-7)
        _assert_same_kinked_mode(X, y, generic, exact, prior, sigma)


def _assert_same_kinked_mode(X, y, generic, exact, prior, sigma):
    """The same exact zeros, and the same negative log posterior to 1e-12."""
    assert (np.asarray(generic["w"]) == 0).tolist() == (np.asarray(exact.w) == 0).tolist()
    ours = _neg_log_posterior(X, y, exact.w, exact.b, prior, sigma)
    theirs = _neg_log_posterior(X, y, generic["w"], generic["b"], prior, sigma)
    assert theirs == pytest.approx(ours, rel=1e-12)


@pytest.mark.parametrize("prior", [Laplace(100.0), Laplace(20.0), ElasticNet(300.0, 50.0)])
def test_generic_map_finds_the_zeros_when_lbfgs_stops_short(diabetes, prior):
    """L-BFGS stalls short of a kinked mode, with coordinates too far from zero to show their
    kink (where it stalls depends on the CPU's rounding); capped at 100 steps, it stops short
    on every machine, and the refinements must still reach the exact zeros and the mode."""
    X, y = diabetes
    exact = map_estimate(X, y, prior, 50.0)
    generic = map_model(
        linear_regression, X, y, prior=prior, sigma=50.0, parametrization="direct", max_steps=100
    )
    _assert_same_kinked_mode(X, y, generic, exact, prior, 50.0)


@pytest.mark.parametrize("first_try", [None, 1])
def test_generic_map_verifies_its_first_try_or_goes_on(diabetes, first_try, monkeypatch):
    """L-BFGS creeps along the kinks to its step cap; a first try of a few hundred steps,
    refined with the kinked coordinates at 0, is verified as the mode (the rest's gradient
    below gtol, every one set at 0 still kinked), so the whole budget is not run. A first try
    of one step cannot be verified: L-BFGS runs again with the whole budget, to the same mode."""
    from bayes_reg.inference import mode as map_module

    if first_try is not None:
        monkeypatch.setattr(map_module, "_FIRST_TRY", first_try)
    budgets = []
    refined = map_module._refined
    monkeypatch.setattr(map_module, "_refined", lambda *a: budgets.append(a[3]) or refined(*a))
    X, y = diabetes
    prior = Laplace(20.0)
    exact = map_estimate(X, y, prior, 50.0)
    generic = map_model(linear_regression, X, y, prior=prior, sigma=50.0, parametrization="direct")
    _assert_same_kinked_mode(X, y, generic, exact, prior, 50.0)
    assert budgets == ([500] if first_try is None else [1, 10_000])


def test_generic_map_keeps_a_smooth_mode_at_zero_free():
    """A smooth potential whose mode is ~0 in one coordinate shows no kink: nothing is fixed."""
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]])
    y = X @ np.array([2.0, 1e-9]) + np.array([0.01, -0.02, 0.01, 0.0])
    exact = map_estimate(X, y, Gaussian(5.0), 0.1)
    generic = map_model(
        linear_regression, X, y, prior=Gaussian(5.0), sigma=0.1, parametrization="direct"
    )
    np.testing.assert_allclose(generic["w"], exact.w, rtol=1e-7, atol=1e-9)


def test_repeat_fits_reuse_one_program_and_each_finds_its_own_mode(rng):
    """New data, prior scales and noise of the same shapes are inputs of the compiled L-BFGS,
    never constants baked into it: each fit is its own ridge solution."""
    from bayes_reg.inference import optimize

    X = rng.normal(size=(40, 3))
    before = optimize._model_solver.cache_info()
    for scale, sigma in ((0.3, 1.0), (5.0, 0.2), (1.0, 2.0)):
        y = X @ rng.normal(size=3) + 0.7 + sigma * rng.normal(size=40)
        generic = map_model(
            linear_regression, X, y, prior=Gaussian(scale), sigma=sigma, parametrization="direct"
        )
        exact = map_estimate(X, y, Gaussian(scale), sigma)
        np.testing.assert_allclose(generic["w"], exact.w, rtol=1e-7, atol=1e-9)
        assert float(generic["b"]) == pytest.approx(float(exact.b), rel=1e-9)
    after = optimize._model_solver.cache_info()
    assert after.misses - before.misses <= 1 and after.hits - before.hits >= 2


def test_a_model_with_a_param_site_gets_numpyros_own_potential():
    """``numpyro.param`` sites are substituted by NumPyro before it takes the potential; such a
    model keeps that path. Normal mean, prior N(0, 10), noise scale a param at 2: the mode is
    sum(y) / (n + 2^2 / 10^2)."""
    import numpyro
    import numpyro.distributions as dist

    def model(y):
        noise = numpyro.param("noise", 2.0, constraint=dist.constraints.positive)
        mu = numpyro.sample("mu", dist.Normal(0.0, 10.0))
        numpyro.sample("y", dist.Normal(mu, noise), obs=y)

    y = np.array([1.0, 2.5, 0.5, 3.0])
    mode = map_model(model, y)
    assert set(mode) == {"mu"}
    assert float(mode["mu"]) == pytest.approx(y.sum() / (len(y) + 4 / 100), rel=1e-9)


def test_an_lbfgs_that_ends_on_nan_is_refused(monkeypatch):
    """NaN is no mode to return. optax 0.2.8's L-BFGS ends on NaN where a log density rises
    without bound (ten equal values under flat priors on their mean and sd); optax 0.2.5's stops
    short at a finite sd of 1e-154, so the solver is made to end on NaN here, on any version."""
    import numpyro
    import numpyro.distributions as dist

    import bayes_reg.inference.mode as map_module

    def model(y):
        numpyro.sample("y", dist.Normal(numpyro.sample("m", dist.Normal(0.0, 1.0)), 1.0), obs=y)

    real = map_module.model_problem

    def ending_on_nan(*args, **kwargs):
        problem = real(*args, **kwargs)
        solve = problem.solver.solve
        nan = problem.solver._replace(solve=lambda *a, **k: solve(*a, **k) * np.nan)
        return problem._replace(solver=nan)

    monkeypatch.setattr(map_module, "model_problem", ending_on_nan)
    with pytest.raises(ValueError, match="L-BFGS ended away from any finite mode"):
        map_model(model, np.ones(10))


def _sparse_problem(n=200, seed=3, noise=None):
    """Six columns, three of them useless; t-distributed noise (4 degrees of freedom)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    noise = rng.standard_t(4, n) if noise is None else noise(rng, n)
    return X, X @ [1.5, -1.0, 0.5, 0.0, 0.0, 0.0] + 2.0 + noise


def _profile_lasso_mode(X, y, scale, noise_scale):
    """The mode of p(w, b, log sigma | y) under Laplace(scale) weights, a flat intercept and a
    HalfNormal(noise_scale) sigma, by its profile over log sigma: at each sigma the weights'
    mode is scikit-learn's Lasso with alpha = sigma^2 / (n scale), and scipy's Brent minimises
    n log sigma + RSS / (2 sigma^2) + |w|_1 / scale - log halfnorm(sigma) - log sigma."""
    n = len(y)

    def at(log_sigma):
        sigma = np.exp(log_sigma)
        fit = Lasso(alpha=sigma**2 / (n * scale), tol=1e-14, max_iter=1_000_000).fit(X, y)
        rss = np.sum((y - fit.predict(X)) ** 2)
        value = n * log_sigma + rss / (2 * sigma**2) + np.abs(fit.coef_).sum() / scale
        return value - scipy.stats.halfnorm.logpdf(sigma, scale=noise_scale) - log_sigma, fit

    best = scipy.optimize.minimize_scalar(lambda t: at(t)[0], bracket=(-1.0, 1.0), tol=1e-12)
    fit = at(best.x)[1]
    return fit.coef_, fit.intercept_, np.exp(best.x)


def test_a_lasso_mode_with_a_sampled_noise_is_the_profile_over_sigma_of_sklearns_lasso():
    X, y = _sparse_problem(noise=lambda rng, n: rng.normal(0, 1.2, n))
    ours = br.posterior_mode(X, y, br.Laplace(0.03), sigma=br.HalfNormal(2.0))
    w, b, sigma = _profile_lasso_mode(X, y, 0.03, 2.0)
    # The useless columns exactly 0 in both, the others not (seen: agreement to 2e-9, the
    # profile's Brent tolerance).
    assert np.array_equal(w == 0, [False] * 3 + [True] * 3)
    assert np.array_equal(ours["w"] == 0, w == 0)
    np.testing.assert_allclose(ours["w"], w, rtol=0, atol=1e-7 * np.abs(w).max())
    assert float(ours["b"]) == pytest.approx(b, rel=1e-7)
    assert float(ours["sigma"]) == pytest.approx(sigma, rel=1e-7)


def test_a_student_t_lasso_mode_with_a_sampled_noise_meets_its_optimality_conditions():
    """Written with scipy's densities: the log posterior's slope (scipy's finite differences)
    is 0 in the intercept and log sigma, sign(w_j) / scale where w_j is not 0, and within
    ±1 / scale where it is 0 (exactly, the useless columns)."""
    X, y = _sparse_problem()
    scale = 0.05
    ours = br.posterior_mode(
        X, y, br.Laplace(scale), sigma=br.HalfNormal(2.0), likelihood="student-t"
    )

    def smooth(t):  # the log posterior without the Laplace terms, in (w, b, log sigma)
        sigma = np.exp(t[7])
        log_lik = scipy.stats.t.logpdf(y, 4.0, X @ t[:6] + t[6], sigma).sum()
        return log_lik + scipy.stats.halfnorm.logpdf(sigma, scale=2.0) + t[7]

    theta = np.r_[ours["w"], ours["b"], np.log(ours["sigma"])]
    slope = scipy.optimize.approx_fprime(theta, smooth, 1e-7)
    free = ours["w"] != 0
    assert free[:3].all() and (ours["w"][3:] == 0).any()
    np.testing.assert_allclose(slope[:6][free], np.sign(ours["w"][free]) / scale, atol=1e-4)
    assert np.all(np.abs(slope[:6][~free]) <= 1 / scale)
    assert abs(slope[6]) < 1e-4 and abs(slope[7]) < 1e-4


@pytest.mark.parametrize("rows", [3000, 24])
@pytest.mark.parametrize("prior", [Laplace(0.05), ElasticNet(0.5, 0.05)], ids=["lasso", "enet"])
def test_a_penalised_mode_on_correlated_columns_solves_its_optimality_conditions(rows, prior):
    """Coordinate descent through the Gram matrix (rows >= features) and through the residuals
    (fewer rows), on 30 columns sharing one: on the mode's support S its gradient condition is
    a linear system, (G_SS + l2) w_S = c_S - l1 sign(w_S) with G = Xc'Xc/n and c = Xc'yc/n,
    solved here by numpy; off it |c_j - G_j w| <= l1."""
    rng = np.random.default_rng(5)
    C = rng.normal(size=(rows, 30))
    X = C + 3 * C[:, :1]
    y = X[:, :5] @ np.ones(5) + rng.normal(size=rows) + 2.0
    w = np.asarray(map_estimate(X, y, prior, sigma=1.0).w)
    penalty = br.to_penalty("sklearn-elasticnet", prior, n=rows, sigma=1.0)
    l1, l2 = penalty.strength * penalty.l1_ratio, penalty.strength * (1 - penalty.l1_ratio)
    Xc, yc = X - X.mean(0), y - y.mean()
    G, c = Xc.T @ Xc / rows, Xc.T @ yc / rows
    on = w != 0
    exact = np.linalg.solve(G[np.ix_(on, on)] + l2 * np.eye(on.sum()), c[on] - l1 * np.sign(w[on]))
    np.testing.assert_allclose(w[on], exact, rtol=0, atol=1e-9 * np.abs(w).max())
    assert np.all(np.abs(c[~on] - G[~on] @ w) <= l1 * (1 + 1e-9))
    assert 0 < on.sum() < 30


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
    with pytest.raises(TypeError, match="prior must be Gaussian, Laplace, ElasticNet, StudentT or"):
        map_estimate(np.eye(3), np.ones(3), "gaussian", 1.0)


@SETTINGS
@given(data=problems(), scale=POSITIVE_FLOAT, sigma=POSITIVE_FLOAT, laplace=st.booleans())
def test_map_estimate_is_finite_or_names_the_bad_argument(data, scale, sigma, laplace):
    X, y = data
    try:
        prior = (br.Laplace if laplace else br.Gaussian)(scale)
    except (ValueError, TypeError) as err:
        assert _bad_positive(scale)
        _assert_refusal_names(err, "scale")
        return
    try:
        est = br.map_estimate(X, y, prior, sigma)
    except Exception as err:  # noqa: BLE001 - the point is which type
        name = _data_error(X, y) or ("sigma" if _bad_positive(sigma) else "not finite")
        _assert_refusal_names(err, name)
        if name == "not finite":
            assert f"sigma={float(sigma)}" in str(err)
        return
    assert _data_error(X, y) is None and not _bad_positive(sigma)
    assert est.w.shape == (X.shape[1],)
    assert np.all(np.isfinite(est.w)) and np.isfinite(float(est.b))


# --- numerically hard but valid problems ----------------------------------------------------


def _with_constant_column(value=3.0):
    return np.column_stack([X0, np.full(len(X0), value)])


def test_a_constant_column_is_legal_where_the_intercept_absorbs_it():
    Xc = _with_constant_column()
    ridge = br.map_estimate(Xc, Y0, br.Gaussian(1.0), 1.0)
    reference = Ridge(alpha=1.0).fit(Xc, Y0)
    np.testing.assert_allclose(ridge.w, reference.coef_, atol=1e-10)
    assert abs(float(ridge.w[-1])) < 1e-10
    lasso = br.map_estimate(Xc, Y0, br.Laplace(1.0), 1.0)
    assert float(lasso.w[-1]) == 0.0 and np.all(np.isfinite(lasso.w))
    # The exact posterior leaves the constant column's weight at its prior N(0, g²).
    post = br.exact_posterior(Xc, Y0, prior_scale=2.0, sigma=1.0)
    assert abs(float(post.w_mean[-1])) < 1e-8
    assert float(post.w_sd[-1]) == pytest.approx(2.0, rel=1e-8)
    path = br.sgd_path(Xc, Y0, [0.0, 1.0], lr=0.01, epochs=5, batch_size=4)
    assert np.all(np.isfinite(path.w.values))
    assert math.isfinite(br.log_evidence(Xc, Y0, prior_scale=1.0, sigma=1.0))
    assert br.fit_evidence(Xc, Y0).prior_scale > 0
    assert br.best_prior_scale(Xc, Y0, sigma=1.0) > 0


def test_duplicated_columns():
    X = np.column_stack([X0, X0[:, 0]])
    est = br.map_estimate(X, Y0, br.Gaussian(1.0), 0.5)
    reference = Ridge(alpha=0.25).fit(X, Y0)
    np.testing.assert_allclose(est.w, reference.coef_, rtol=1e-9, atol=1e-12)
    assert float(est.w[0]) == pytest.approx(float(est.w[-1]), rel=1e-9)  # shared equally
    post = br.exact_posterior(X, Y0, prior_scale=1.0, sigma=0.5)
    np.testing.assert_allclose(post.w_mean, reference.coef_, rtol=1e-8, atol=1e-10)
    lasso = br.map_estimate(X, Y0, br.Laplace(1.0), 0.5)
    assert np.all(np.isfinite(lasso.w))
    path = br.sgd_path(X, Y0, [0.0, 0.1], lr=0.01, epochs=20, batch_size=4)
    assert np.all(np.isfinite(path.w.values))
    assert br.fit_evidence(X, Y0).sigma > 0


@pytest.mark.parametrize("c", [1e-3, 1.0, 1e3, 1e6])
def test_target_scale_is_a_change_of_units(c):
    """Fit on c·y with prior scale c·g and sigma c·σ is c × the fit on y (Ridge agrees)."""
    g, sigma = 0.7, 0.3
    reference = Ridge(alpha=sigma**2 / g**2).fit(X0, c * Y0)
    est = br.map_estimate(X0, c * Y0, br.Gaussian(c * g), c * sigma)
    np.testing.assert_allclose(est.w, reference.coef_, rtol=1e-9)
    base = br.map_estimate(X0, Y0, br.Gaussian(g), sigma)
    np.testing.assert_allclose(est.w, c * np.asarray(base.w), rtol=1e-9)
    assert float(est.b) == pytest.approx(c * float(base.b), rel=1e-8, abs=1e-12 * c)
    lasso = br.map_estimate(X0, c * Y0, br.Laplace(c * g), c * sigma)
    lasso_base = br.map_estimate(X0, Y0, br.Laplace(g), sigma)
    np.testing.assert_allclose(lasso.w, c * np.asarray(lasso_base.w), rtol=1e-8, atol=1e-12 * c)
    post = br.exact_posterior(X0, c * Y0, prior_scale=c * g, sigma=c * sigma)
    post_base = br.exact_posterior(X0, Y0, prior_scale=g, sigma=sigma)
    np.testing.assert_allclose(post.w_mean, reference.coef_, rtol=1e-8)
    np.testing.assert_allclose(post.w_sd, c * np.asarray(post_base.w_sd), rtol=1e-8)
    # The evidence of the rescaled data differs by the Jacobian, -n log c.
    shift = br.log_evidence(X0, c * Y0, prior_scale=c * g, sigma=c * sigma) - br.log_evidence(
        X0, Y0, prior_scale=g, sigma=sigma
    )
    assert shift == pytest.approx(-len(Y0) * math.log(c), abs=1e-6)


def test_float32_inputs_give_finite_results():
    X, y = X0.astype(np.float32), Y0.astype(np.float32)
    for prior in (br.Gaussian(1.0), br.Laplace(1.0), br.ElasticNet(1.0, 1.0)):
        est = br.map_estimate(X, y, prior, 0.5)
        assert np.all(np.isfinite(est.w)) and np.isfinite(float(est.b))
    post = br.exact_posterior(X, y, prior_scale=1.0, sigma=0.5)
    assert np.all(np.isfinite(post.mean)) and np.all(np.isfinite(post.w_sd))
    assert math.isfinite(br.log_evidence(X, y, prior_scale=1.0, sigma=0.5))
    path = br.sgd_path(X, y, [0.0, 0.1], lr=0.01, epochs=10, batch_size=4)
    assert np.all(np.isfinite(path.w.values))
    # Mixed precision (float32 X, float64 y) is promoted to one dtype at the boundary.
    for prior in (br.Gaussian(1.0), br.Laplace(1.0)):
        assert np.all(np.isfinite(br.map_estimate(X, Y0, prior, 0.5).w))
    assert np.all(np.isfinite(br.exact_posterior(X, Y0, prior_scale=1.0, sigma=0.5).mean))
    reference = Ridge(alpha=1.0).fit(X0, Y0)
    np.testing.assert_allclose(
        br.map_estimate(X, y, br.Gaussian(1.0), 1.0).w, reference.coef_, rtol=1e-4
    )
