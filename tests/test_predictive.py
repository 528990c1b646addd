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
from bayes_reg.nets.dropout import MCDropout
from bayes_reg.predictive import (
    CRPS_PAIRS,
    crps,
    log_likelihood,
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
    lo, hi = d.min() - 10 * sigma, d.max() + 10 * sigma
    return optimize.brentq(lambda z: _mixture_cdf(z, d, sigma) - p, lo, hi, xtol=1e-14)


def _crps_quad(d, y, sigma):
    """CRPS = int (F(z) - 1{z >= y})^2 dz, split at y where the integrand jumps."""
    lo, hi = min(d.min(), y) - 12 * sigma, max(d.max(), y) + 12 * sigma
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
            # 60 bisections of a bracket ~20 sigma wide: 1e-17; brentq to 1e-14.
            assert q[i, j] == pytest.approx(ref, abs=1e-12)


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
# MC dropout against posterior draws


def test_compare_predictives_scores_both_sources_with_the_same_noise(rng):
    tau = 4.0  # sigma = 0.5
    mc = MCDropout(rng.normal(0, 0.3, (40, 6)), tau)
    post = rng.normal(0.2, 0.6, (50, 6))
    y = rng.normal(0, 1, 6)
    metrics, by_input = compare_predictives(mc, post, y)
    assert list(metrics["source"].values) == ["mc_dropout", "posterior"]
    assert metrics.attrs["noise_sd"] == pytest.approx(0.5, rel=1e-15)
    for name, d in (("mc_dropout", mc.draws), ("posterior", post)):
        ll = np.log(np.mean([norm.pdf(y, loc=t, scale=0.5) for t in d], axis=0)).mean()
        assert float(metrics["log_likelihood"].sel(source=name)) == pytest.approx(ll, rel=1e-12)
        rmse = np.sqrt(np.mean((y - d.mean(0)) ** 2))
        assert float(metrics["rmse"].sel(source=name)) == pytest.approx(rmse, rel=1e-14)
    assert by_input.sizes == {"source": 2, "test_obs": 6}
    np.testing.assert_allclose(by_input["mean"].sel(source="posterior"), post.mean(0), rtol=1e-14)
    np.testing.assert_allclose(by_input["function_sd"].sel(source="mc_dropout"), mc.draws.std(0))
    sd_mc = np.sqrt(mc.draws.var(0) + 0.25)
    sd_post = np.sqrt(post.var(0) + 0.25)
    np.testing.assert_allclose(by_input["sd"].sel(source="mc_dropout"), sd_mc, rtol=1e-14)
    np.testing.assert_allclose(by_input["sd_ratio"], sd_mc / sd_post, rtol=1e-14)
    np.testing.assert_allclose(
        by_input["function_sd_ratio"], mc.draws.std(0) / post.std(0), rtol=1e-14
    )
