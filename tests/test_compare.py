"""SGD solutions, the MAP and the posterior, on the d2l chapter's problem and on diabetes."""

import arviz_stats
import numpy as np
import pytest
import scipy.stats
from sklearn.linear_model import Lasso, Ridge

from bayes_reg import Gaussian, d2l_synthetic, exact_posterior, sample_posterior, sgd_path, to_prior
from bayes_reg.data import diabetes
from bayes_reg.inference.sampler import Sampler
from bayes_reg.linear.compare import choose_strength, compare_path, map_gap, nearest_map
from bayes_reg.linear.exact import best_prior_scale, loo_log_density
from bayes_reg.linear.posterior import run_nuts
from bayes_reg.linear.regression import linear_regression

SIGMA = 0.01  # the chapter's noise sd


@pytest.fixture(scope="module")
def d2l():
    return d2l_synthetic(seed=0)


def _full_batch(data, grid, **kw):
    X, y = data.X_train, data.y_train
    return sgd_path(X, y, grid, batch_size=len(y), X_test=data.X_test, y_test=data.y_test, **kw)


def test_sgd_reaches_the_map_at_every_strength(d2l):
    X, y = d2l.X_train, d2l.y_train
    grid, lr, epochs = [0.1, 1.0, 10.0, 100.0], 0.015, 200_000
    path = _full_batch(d2l, grid, lr=lr, epochs=epochs)
    # Tolerance from the contraction rate: full-batch GD on (b, w) contracts the error by
    # max|1 - lr * eig(H)| per step, H = Z'Z/n + diag(0, lambda); the initial error is
    # below 100 here (|w0| ~ 14), so after `epochs` steps it is below 100 * rate^epochs.
    Z = np.column_stack([np.ones(len(y)), X])
    for s in grid:
        eig = np.linalg.eigvalsh(Z.T @ Z / len(y) + np.diag([0.0] + [s] * X.shape[1]))
        rate = np.max(np.abs(1 - lr * eig))
        assert 100 * rate**epochs < 1e-10
        ridge = Ridge(alpha=len(y) * s).fit(X, y)  # the d2l convention: alpha = n * lambd
        np.testing.assert_allclose(path.w.sel(strength=s), ridge.coef_, rtol=0, atol=1e-10)
    comparison = compare_path(path, X, y, sigma=SIGMA, X_test=d2l.X_test, y_test=d2l.y_test)
    assert np.all(comparison.rel_dist_map < 1e-7)
    # At the MAP the SGD solution is the posterior mean: Mahalanobis distance ~ 0, not ~ sqrt(d).
    assert np.all(comparison.mahalanobis < 1e-6)
    assert np.all(comparison.share_inside == 1.0)


def test_the_chapter_budget_leaves_decayed_initial_weights(d2l):
    lr, lambd = 0.003, 3.0
    path = sgd_path(
        d2l.X_train, d2l.y_train, [0.0, lambd], lr=lr, epochs=100, batch_size=5, record_weights=True
    )
    assert 0.32 <= float(path.w_norm.sel(strength=lambd)) <= 0.40
    # Data gradients lie in the row space of X, so the rest of w only decays:
    # exactly (1 - lr * lambd)^400 of the (undecayed, lambd = 0) initial weights.
    X = d2l.X_train
    null = np.eye(X.shape[1]) - np.linalg.pinv(X) @ X
    w0_null = null @ path.w.sel(strength=0.0).values
    w3_null = null @ path.w.sel(strength=lambd).values
    np.testing.assert_allclose(w3_null, (1 - lr * lambd) ** 400 * w0_null, rtol=1e-9, atol=1e-12)
    # ... which is most of the norm, while the MAP is ten times smaller.
    assert np.linalg.norm(w3_null) > 0.9 * float(path.w_norm.sel(strength=lambd))
    w_map = Ridge(alpha=20 * lambd).fit(X, d2l.y_train).coef_
    assert 0.02 < np.linalg.norm(w_map) < 0.05
    gap = map_gap(path, X, d2l.y_train).sel(strength=lambd)
    assert gap.values[-1] > 5 and np.all(np.diff(gap.values) < 0)


@pytest.mark.parametrize("lambd", [0.3, 3.0, 30.0])
def test_nuts_matches_the_exact_posterior_across_the_grid(d2l, lambd):
    # One compiled sampler serves every strength (the prior scale is a traced input).
    _nuts_vs_exact(d2l, lambd, warmup=1000, draws=1000)


def _nuts_vs_exact(d2l, lambd, warmup, draws):
    X, y = d2l.X_train, d2l.y_train
    prior = to_prior("d2l", lambd, n=len(y), sigma=SIGMA)
    result = run_nuts(
        linear_regression,
        X,
        y,
        prior=prior,
        sigma=SIGMA,
        sampler=Sampler(chains=4, warmup=warmup, draws=draws),
        seed=0,
        progress=False,
    )
    assert result.diagnostics.divergences == 0
    assert result.diagnostics.min_ess_bulk > 400
    exact = exact_posterior(X, y, prior_scale=prior.scale, sigma=SIGMA)
    post = result.tree["posterior"]
    mcse = arviz_stats.mcse(post.to_dataset()[["w", "b"]])
    for name, mean, sd in (("w", exact.w_mean, exact.w_sd), ("b", exact.b_mean, exact.b_sd)):
        draws_ = post[name]
        # 4 MCSE: a false alarm about once in 16,000 coordinates (201 checked here).
        assert np.all(np.abs(draws_.mean(("chain", "draw")).values - mean) < 4 * mcse[name].values)
        np.testing.assert_allclose(draws_.std(("chain", "draw")).values, sd, rtol=0.1)


def test_which_optimisers_land_on_a_gaussian_prior_map(d2l):
    X, y = d2l.X_train, d2l.y_train
    sgd = _full_batch(d2l, [3.0], lr=0.015, epochs=20_000)
    hit = nearest_map(X, y, sgd.w.values[0])
    assert hit.strength == pytest.approx(3.0, rel=1e-6) and hit.rel_distance < 1e-8
    # Adam with an L2 term: the same fixed point. At a constant learning rate Adam does not
    # stop there: near the optimum its normalised steps keep a size of about lr, so the last
    # iterate sits somewhere on a small cycle around the MAP, where rounding (how XLA compiles
    # the sums) decides: relative distances 2.8e-3 to 2.3e-2 at lr 1e-3 and 6.3e-5 to 2.0e-3
    # at lr 1e-4, over four vector-unit settings of one CPU and three JAX versions (0.12.1 put
    # the lr 1e-3 snapshot's nearest strength at 3.056). The cycle's centre, the mean of the
    # last 10,000 iterates, is the MAP itself: 1.3e-6 or closer, strength within 2e-6 of 3, on
    # both JAX 0.12.0.1 and 0.12.1.
    for lr, within in ((1e-3, 0.05), (1e-4, 1e-2)):
        adam = _full_batch(
            d2l, [3.0], optimizer="adam-l2", lr=lr, epochs=100_000, record_weights=True
        )
        assert nearest_map(X, y, adam.w.values[0]).rel_distance < within
        centre = nearest_map(X, y, adam.w_epoch.values[0, -10_000:].mean(axis=0))
        assert centre.strength == pytest.approx(3.0, rel=1e-4) and centre.rel_distance < 1e-5
    # AdamW: decoupled decay lands off the whole ridge path, at every learning rate (the
    # centre of its cycle 0.317-0.334 away).
    for lr in (1e-3, 1e-4):
        adamw = _full_batch(
            d2l, [3.0], optimizer="adamw", lr=lr, epochs=100_000, record_weights=True
        )
        assert nearest_map(X, y, adamw.w.values[0]).rel_distance > 0.1
        assert nearest_map(X, y, adamw.w_epoch.values[0, -10_000:].mean(axis=0)).rel_distance > 0.1


def test_choose_strength(d2l):
    X, y = d2l.X_train, d2l.y_train
    val = d2l_synthetic(seed=1, n_test=50)
    grid = np.geomspace(0.01, 100, 41)
    choice = choose_strength(
        X,
        y,
        grid,
        sigma=SIGMA,
        X_val=val.X_test,
        y_val=val.y_test,
        X_test=d2l.X_test,
        y_test=d2l.y_test,
    )
    # The evidence's pick is the grid point nearest (in log scale) to its continuous optimum.
    best = best_prior_scale(X, y, sigma=SIGMA)
    picked = float(choice.prior_scale.sel(strength=choice.attrs["best_by_evidence"]))
    assert abs(np.log(picked / best)) <= np.log(grid[1] / grid[0]) / 4 + 1e-9
    # Validation losses are those of the ridge fit with the matching alpha.
    for s in grid[::10]:
        fit = Ridge(alpha=len(y) * s).fit(X, y)
        expected = np.mean((fit.predict(val.X_test) - val.y_test) ** 2) / 2
        assert float(choice.val_loss.sel(strength=s)) == pytest.approx(expected, rel=1e-9)
    assert {"best_by_evidence", "best_by_loo", "best_by_validation", "best_by_test"} <= set(
        choice.attrs
    )


def test_exact_leave_one_out_against_refits_and_psis():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 4))
    y = X @ [1.0, 0.0, -1.0, 0.5] + 2.0 + 0.5 * rng.normal(size=30)
    g, sigma = 0.8, 0.5
    exact = loo_log_density(X, y, prior_scale=g, sigma=sigma)
    # Refit without each row: the closed-form posterior written out here, its predictive there.
    refits = []
    for i in range(30):
        keep = np.arange(30) != i
        Z = np.column_stack([np.ones(29), X[keep]])
        cov = np.linalg.inv(Z.T @ Z / sigma**2 + np.diag([0.0] + [g**-2] * 4))
        mean = cov @ Z.T @ y[keep] / sigma**2
        z = np.concatenate([[1.0], X[i]])
        refits.append(scipy.stats.norm.logpdf(y[i], z @ mean, np.sqrt(sigma**2 + z @ cov @ z)))
    np.testing.assert_allclose(exact, refits, rtol=1e-10)
    # PSIS-LOO (arviz-stats) estimates the same sum from 4000 exact posterior draws; its Monte
    # Carlo error on this well-conditioned problem is a few hundredths.
    post = sample_posterior(X, y, prior=Gaussian(g), sigma=sigma, progress=False)
    psis = arviz_stats.loo(post.tree)
    assert psis.elpd == pytest.approx(exact.sum(), abs=0.1)


def test_laplace_side_on_diabetes():
    data = diabetes()
    X, y, alpha = data.X, data.y, 2.0
    lasso = Lasso(alpha=alpha, tol=1e-14, max_iter=1_000_000).fit(X, y)
    assert np.sum(lasso.coef_ == 0) >= 2
    kw = {"lr": 0.3, "epochs": 5000, "batch_size": len(y)}
    prox = sgd_path(X, y, [alpha], optimizer="l1-proximal", **kw)
    sub = sgd_path(X, y, [alpha], optimizer="l1-subgradient", **kw)
    np.testing.assert_allclose(prox.w.values[0], lasso.coef_, atol=1e-9)
    comparison = compare_path(
        prox,
        X,
        y,
        sigma=54.0,
        sampler=Sampler(warmup=500, draws=500),
    ).sel(strength=alpha)
    assert int(comparison.divergences) == 0
    # The MAP (and proximal SGD) set coefficients to exactly zero; the subgradient method
    # only hovers near zero, and the posterior median and mean are never exactly zero.
    assert int(comparison.n_zero_sgd) == int(comparison.n_zero_map) == np.sum(lasso.coef_ == 0)
    assert np.sum(sub.w.values[0] == 0) == 0
    assert int(comparison.n_zero_post_median) == 0
    zeroed = lasso.coef_ == 0
    assert np.all(np.abs(comparison.post_mean.values[zeroed]) > 0)
