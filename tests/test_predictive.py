"""Scores of a Gaussian-mixture predictive against scipy and closed forms.

The predictive of each point is mean_t N(draws[t], sigma^2). References: the mixture density
summed term by term with scipy.stats.norm; the log-likelihood formula of the MC-dropout UCI
experiments; the CRPS as the integral of (F(z) - 1{z >= y})^2 by scipy.integrate.quad and,
for a single Gaussian, its closed form; quantiles by scipy.optimize.brentq on the mixture CDF;
coverage of a correctly specified predictive against the binomial distribution.
"""

import numpy as np
import pytest
import xarray as xr
from scipy import integrate, optimize
from scipy.special import logsumexp
from scipy.stats import norm

from bayes_reg.nets.compare_dropout import compare_predictives
from bayes_reg.nets.target import Approximation
from bayes_reg.predictive import (
    CRPS_PAIRS,
    calibration,
    crps,
    interval_score,
    log_likelihood,
    pit,
    predictive_metrics,
    predictive_quantiles,
)


@pytest.fixture
def small(rng):
    """5 draws of 4 points, targets near and far from them."""
    draws = rng.normal(0.0, 1.0, (5, 4)) + np.array([0.0, 2.0, -1.0, 5.0])
    y = np.array([0.3, 1.0, -3.0, 12.0])
    return draws, y, 0.7


def _mixture_cdf(z, d, sigma):
    return norm.cdf((z - d) / sigma).mean()


def _mixture_quantile(d, sigma, p):
    """brentq on the mixture CDF, bracketed 10 sigma beyond the extreme components."""
    lo, hi = d.min() - 10 * np.max(sigma), d.max() + 10 * np.max(sigma)
    return optimize.brentq(lambda z: _mixture_cdf(z, d, sigma) - p, lo, hi, xtol=1e-14)


def _crps_quad(d, y, sigma):
    """CRPS = int (F(z) - 1{z >= y})^2 dz, split at y where the integrand jumps."""
    lo, hi = min(d.min(), y) - 12 * np.max(sigma), max(d.max(), y) + 12 * np.max(sigma)
    below = integrate.quad(lambda z: _mixture_cdf(z, d, sigma) ** 2, lo, y, epsabs=1e-13)[0]
    above = integrate.quad(lambda z: (1 - _mixture_cdf(z, d, sigma)) ** 2, y, hi, epsabs=1e-13)[0]
    # Tails beyond 12 sigma: F^2 and (1 - F)^2 are < 1e-32 there.
    return below + above


def _gaussian_crps(mu, sigma, y):
    z = (y - mu) / sigma
    return sigma * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / np.sqrt(np.pi))


# --------------------------------------------------------------------------------------
# log likelihood


def test_log_likelihood_is_the_mixture_density(small):
    draws, y, sigma = small
    ref = np.log(np.mean([norm.pdf(y, loc=d, scale=sigma) for d in draws], axis=0))
    # float64 densities (the far point's is ~1e-20, well inside float64's range): 1e-12.
    np.testing.assert_allclose(log_likelihood(draws, y, sigma), ref, rtol=1e-12)


def test_log_likelihood_is_the_uci_experiment_formula(rng):
    # Gal's experiments: logsumexp(-0.5 tau (y - d)^2) - log T - 0.5 log 2 pi + 0.5 log tau.
    draws, y, tau = rng.normal(0, 1, (100, 7)), rng.normal(0, 1.5, 7), 3.0
    ref = (
        logsumexp(-0.5 * tau * (y - draws) ** 2, axis=0)
        - np.log(100)
        - 0.5 * np.log(2 * np.pi)
        + 0.5 * np.log(tau)
    )
    np.testing.assert_allclose(log_likelihood(draws, y, 1 / np.sqrt(tau)), ref, rtol=1e-12)


def test_log_likelihood_far_in_the_tail_is_finite():
    # 60 sigma out the density underflows (exp(-1800)); the log of one Gaussian does not.
    draws = np.zeros((3, 1))
    ll = log_likelihood(draws, np.array([60.0]), 1.0)
    np.testing.assert_allclose(ll, norm.logpdf(60.0), rtol=1e-14)


# --------------------------------------------------------------------------------------
# CRPS


def test_crps_is_the_integral_of_the_squared_cdf_difference(small):
    draws, y, sigma = small
    ref = [_crps_quad(draws[:, j], y[j], sigma) for j in range(y.size)]
    # quad is asked for 1e-13 absolute per half; the closed forms are float64: 1e-9.
    np.testing.assert_allclose(crps(draws, y, sigma), ref, rtol=1e-9, atol=1e-11)


def test_crps_of_equal_draws_is_the_gaussian_closed_form():
    # T identical components are one Gaussian N(mu, sigma^2). Also with T > pairs: any
    # subset of identical draws has the same spread.
    sigma, mu = 0.8, np.array([0.0, 1.0, -2.0])
    y = np.array([0.1, 3.0, -2.0])
    for t in (4, CRPS_PAIRS + 10):
        draws = np.broadcast_to(mu, (t, 3))
        np.testing.assert_allclose(
            crps(draws, y, sigma), _gaussian_crps(mu, sigma, y), rtol=1e-12, atol=1e-15
        )


def test_crps_pairs_argument_is_exact_when_it_covers_all_draws(small):
    draws, y, sigma = small
    exact = [_crps_quad(draws[:, j], y[j], sigma) for j in range(y.size)]
    np.testing.assert_allclose(crps(draws, y, sigma, pairs=5), exact, rtol=1e-9, atol=1e-11)
    # Fewer pairs than draws: an estimate of the spread term, no longer the exact value.
    assert not np.allclose(crps(draws, y, sigma, pairs=2), exact, rtol=1e-6)


# --------------------------------------------------------------------------------------
# quantiles and coverage


def test_quantiles_solve_the_mixture_cdf(small):
    draws, _, sigma = small
    probs = np.array([0.01, 0.05, 0.25, 0.5, 0.9, 0.999])
    q = predictive_quantiles(draws, sigma, probs)
    assert q.shape == (probs.size, draws.shape[1])
    for j in range(draws.shape[1]):
        for i, p in enumerate(probs):
            ref = _mixture_quantile(draws[:, j], sigma, p)
            # Newton stops when no point moves by 1e-13 of its scale; brentq to 1e-14.
            assert q[i, j] == pytest.approx(ref, abs=1e-12)


def test_quantiles_where_newton_steps_would_leave_the_bracket():
    # Far-apart narrow components: between them the CDF is flat (density ~0), so Newton's
    # step overshoots and the bracket's bisection must take over; next to them it is steep.
    draws = np.array([[-50.0, 0.0], [-49.0, 1e-3], [10.0, 2e-3], [300.0, 5.0]])
    sigma = np.array([[1e-3, 1e-4], [1e-3, 1e-4], [1e-3, 1e-4], [1e-3, 1e-4]])
    probs = np.array([0.001, 0.1, 0.3, 0.6, 0.9, 0.999])  # none on a plateau between them
    q = predictive_quantiles(draws, sigma, probs)
    for j in range(draws.shape[1]):
        for i, p in enumerate(probs):
            ref = _mixture_quantile(draws[:, j], sigma[:, j], p)
            assert q[i, j] == pytest.approx(ref, abs=1e-9)


def test_quantiles_of_one_gaussian():
    q = predictive_quantiles(np.full((3, 2), 1.5), 2.0, [0.05, 0.5, 0.975])
    np.testing.assert_allclose(q[:, 0], 1.5 + 2.0 * norm.ppf([0.05, 0.5, 0.975]), atol=1e-12)


def test_coverage_of_a_correct_predictive_is_nominal(rng):
    # Each target is drawn from its own predictive (pick a component, add noise): the
    # 50% and 90% central intervals then cover it with exactly those probabilities, so the
    # coverage counts are Binomial(n, level); 5 standard errors bound the deviation.
    n, t, sigma = 4000, 30, 0.5
    draws = rng.normal(0, 1, (t, n)) * rng.uniform(0.2, 2.0, n) + rng.normal(0, 3, n)
    y = draws[rng.integers(0, t, n), np.arange(n)] + sigma * rng.standard_normal(n)
    m = predictive_metrics(draws, y, sigma)
    for level, name in ((0.5, "coverage_50"), (0.9, "coverage_90")):
        assert abs(float(m[name]) - level) < 5 * np.sqrt(level * (1 - level) / n)


def test_predictive_metrics_fields(small):
    draws, y, sigma = small
    m = predictive_metrics(draws, y, sigma)
    assert isinstance(m, xr.Dataset)
    assert set(m.data_vars) == {
        "rmse",
        "log_likelihood",
        "crps",
        "coverage_50",
        "coverage_90",
        "interval_score_50",
        "interval_score_90",
        "miscalibration_area",
        "mean_sd",
    }
    assert all(m[v].ndim == 0 for v in m.data_vars)
    mean = draws.mean(0)
    assert float(m["rmse"]) == pytest.approx(np.sqrt(np.mean((y - mean) ** 2)), rel=1e-14)
    ll = np.log(np.mean([norm.pdf(y, loc=d, scale=sigma) for d in draws], axis=0)).mean()
    assert float(m["log_likelihood"]) == pytest.approx(ll, rel=1e-12)
    ref_crps = np.mean([_crps_quad(draws[:, j], y[j], sigma) for j in range(y.size)])
    assert float(m["crps"]) == pytest.approx(ref_crps, rel=1e-9)
    sd = np.sqrt(draws.var(0) + sigma**2)
    assert float(m["mean_sd"]) == pytest.approx(sd.mean(), rel=1e-14)
    # Coverage from brentq quantiles of the mixture.
    for level, name in ((0.5, "coverage_50"), (0.9, "coverage_90")):
        inside = [
            _mixture_quantile(draws[:, j], sigma, (1 - level) / 2)
            <= y[j]
            <= _mixture_quantile(draws[:, j], sigma, (1 + level) / 2)
            for j in range(y.size)
        ]
        assert float(m[name]) == np.mean(inside)
    # Interval score written out (Gneiting & Raftery 2007, eq. 43) on brentq quantiles.
    lo = np.array([_mixture_quantile(draws[:, j], sigma, 0.05) for j in range(y.size)])
    hi = np.array([_mixture_quantile(draws[:, j], sigma, 0.95) for j in range(y.size)])
    expected = np.mean(
        [
            (b - a) + 20 * max(a - t, 0) + 20 * max(t - b, 0)
            for a, b, t in zip(lo, hi, y, strict=True)
        ]
    )
    assert float(m["interval_score_90"]) == pytest.approx(expected, rel=1e-9)


@pytest.fixture
def heteroscedastic(rng):
    """6 draws of 5 points, each component with its own noise sd (a variance head)."""
    draws = rng.normal(0.0, 1.0, (6, 5))
    sigma = rng.uniform(0.2, 1.5, (6, 5))
    return draws, rng.normal(0.0, 1.5, 5), sigma


def test_per_component_noise_gives_the_mixture_scores(heteroscedastic):
    draws, y, sigma = heteroscedastic
    dens = np.mean([norm.pdf(y, loc=d, scale=s) for d, s in zip(draws, sigma, strict=True)], axis=0)
    np.testing.assert_allclose(log_likelihood(draws, y, sigma), np.log(dens), rtol=1e-12)
    ref = [_crps_quad(draws[:, j], y[j], sigma[:, j]) for j in range(y.size)]
    np.testing.assert_allclose(crps(draws, y, sigma), ref, rtol=1e-9)
    q = predictive_quantiles(draws, sigma, [0.1, 0.9])
    for j in range(y.size):
        for k, p in enumerate((0.1, 0.9)):
            assert q[k, j] == pytest.approx(
                _mixture_quantile(draws[:, j], sigma[:, j], p), abs=1e-9
            )
    cdf = [_mixture_cdf(y[j], draws[:, j], sigma[:, j]) for j in range(y.size)]
    np.testing.assert_allclose(pit(draws, y, sigma), cdf, rtol=1e-13)
    sd = np.sqrt(draws.var(0) + (sigma**2).mean(0))
    assert float(predictive_metrics(draws, y, sigma)["mean_sd"]) == pytest.approx(sd.mean())


def test_crps_subsampled_pairs_with_per_component_noise_is_unbiased(rng):
    draws = rng.normal(0.0, 1.0, (400, 3))
    sigma = rng.uniform(0.2, 1.0, (400, 3))
    y = np.array([0.0, 1.0, -2.0])
    exact = crps(draws, y, sigma)
    # The spread term's distinct pairs estimated from the first 100 of 400 draws.
    estimate = crps(draws, y, sigma, pairs=100)
    np.testing.assert_allclose(estimate, exact, rtol=0.05)


def test_calibration_of_a_correct_predictive_is_near_the_diagonal(rng):
    n = 4000
    mu = rng.normal(size=n)
    y = mu + 0.5 * rng.normal(size=n)
    cal = calibration(mu[None], y, 0.5)
    # Coverage of each level is a binomial proportion: within 4 sds of nominal.
    se = np.sqrt(cal.level * (1 - cal.level) / n)
    assert np.all(np.abs(cal["observed"] - cal.level) < 4 * se)
    assert float(cal["miscalibration_area"]) < 0.02
    # Twice too narrow: the 50% interval of N(mu, 0.25^2) covers P(|Z| < 0.337) = 0.264.
    narrow = calibration(mu[None], y, 0.25)
    assert float(narrow["observed"].sel(level=0.5)) == pytest.approx(
        2 * norm.cdf(0.5 * norm.ppf(0.75)) - 1, abs=4 * np.sqrt(0.25 / n)
    )
    assert float(narrow["miscalibration_area"]) > 0.1


def test_interval_score_penalises_misses_by_two_over_alpha():
    lo, hi, y = np.array([0.0, 0.0, 0.0]), np.array([1.0, 1.0, 1.0]), np.array([0.5, -1.0, 3.0])
    np.testing.assert_allclose(interval_score(lo, hi, y, 0.9), [1.0, 1 + 20.0, 1 + 40.0])


def test_bad_noise_is_refused():
    with pytest.raises(ValueError, match=r"one per draw and point \(2, 3\), got shape \(3,\)"):
        log_likelihood(np.ones((2, 3)), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="must be positive"):
        crps(np.ones((2, 3)), np.ones(3), 0.0)


@pytest.mark.parametrize(
    ("draws", "y", "match"),
    [
        (np.ones(3), np.ones(3), r"draws must be 2-D \(draws, points\), got shape \(3,\)"),
        (np.ones((4, 3)), np.ones(2), r"draws predict 3 points but y has shape \(2,\)"),
    ],
)
def test_bad_shapes_are_refused(draws, y, match):
    with pytest.raises(ValueError, match=match):
        log_likelihood(draws, y, 1.0)
    with pytest.raises(ValueError, match=match):
        predictive_metrics(draws, y, 1.0)


def test_quantiles_refuse_one_dimensional_draws():
    with pytest.raises(ValueError, match="draws must be 2-D"):
        predictive_quantiles(np.ones(3), 1.0, [0.5])


# --------------------------------------------------------------------------------------
# Approximations against posterior draws


def test_compare_predictives_scores_every_source_against_the_posterior(rng):
    mc = rng.normal(0, 0.3, (40, 6))
    ensemble = rng.normal(0.1, 0.5, (5, 6))
    head_sd = rng.uniform(0.3, 0.8, (5, 6))  # a variance head: each member's own noise
    post = rng.normal(0.2, 0.6, (50, 6))
    y = rng.normal(0, 1, 6)
    sources = {
        "mc_dropout": Approximation(mc, 0.5, 1.0, {}),
        "deep_ensemble_variance": Approximation(ensemble, head_sd, 1.0, {}),
    }
    metrics, by_input, cal = compare_predictives(sources, Approximation(post, 0.5, 1.0, {}), y)
    assert list(metrics["source"].values) == ["mc_dropout", "deep_ensemble_variance", "posterior"]
    noise = {"mc_dropout": 0.5, "deep_ensemble_variance": head_sd, "posterior": 0.5}
    draws = {"mc_dropout": mc, "deep_ensemble_variance": ensemble, "posterior": post}
    sd = {"posterior": np.sqrt(post.var(0) + 0.25)}
    for name, d in draws.items():
        s = np.broadcast_to(noise[name], d.shape)
        dens = np.mean([norm.pdf(y, loc=t, scale=u) for t, u in zip(d, s, strict=True)], axis=0)
        assert float(metrics["log_likelihood"].sel(source=name)) == pytest.approx(
            np.log(dens).mean(), rel=1e-12
        )
        rmse = np.sqrt(np.mean((y - d.mean(0)) ** 2))
        assert float(metrics["rmse"].sel(source=name)) == pytest.approx(rmse, rel=1e-14)
        sd[name] = np.sqrt(d.var(0) + (s**2).mean(0))
        np.testing.assert_allclose(by_input["sd"].sel(source=name), sd[name], rtol=1e-14)
        np.testing.assert_allclose(by_input["mean"].sel(source=name), d.mean(0), rtol=1e-14)
        np.testing.assert_allclose(by_input["function_sd"].sel(source=name), d.std(0))
        ratio = by_input["sd_ratio"].sel(source=name)
        np.testing.assert_allclose(ratio, sd[name] / sd["posterior"], rtol=1e-14)
        fsd_ratio = d.std(0) / post.std(0)
        np.testing.assert_allclose(by_input["function_sd_ratio"].sel(source=name), fsd_ratio)
        closeness = float(metrics["mean_abs_log_function_sd_ratio"].sel(source=name))
        assert closeness == pytest.approx(np.abs(np.log(fsd_ratio)).mean(), abs=1e-14)
        shift = np.abs(d.mean(0) - post.mean(0)) / sd["posterior"]
        assert float(metrics["mean_shift_in_sd"].sel(source=name)) == pytest.approx(shift.mean())
    assert by_input.sizes == {"source": 3, "test_obs": 6}
    assert cal["observed"].dims == ("source", "level")
    np.testing.assert_array_equal(
        cal["observed"].sel(source="mc_dropout"), calibration(mc, y, 0.5)["observed"]
    )


def test_a_collapsed_ensemble_is_infinitely_far_from_the_posterior_without_warnings(rng):
    post = rng.normal(0.0, 0.5, (50, 4))
    collapsed = np.tile(rng.normal(size=4), (5, 1))  # five members, one function
    y = rng.normal(size=4)
    sources = {"deep_ensemble": Approximation(collapsed, 0.3, 1.0, {})}
    metrics, by_input, _ = compare_predictives(sources, Approximation(post, 0.3, 1.0, {}), y)
    np.testing.assert_array_equal(by_input["function_sd_ratio"].sel(source="deep_ensemble"), 0)
    assert float(metrics["mean_abs_log_function_sd_ratio"].sel(source="deep_ensemble")) == np.inf
    # The predictive keeps its noise: its sd ratio stays finite.
    assert np.isfinite(float(metrics["mean_abs_log_sd_ratio"].sel(source="deep_ensemble")))
