import jax
import numpy as np
import pytest
import scipy.integrate
import scipy.stats

from bayes_reg.priors import ElasticNet, Gaussian, Laplace, prior_from_name

W = np.linspace(-5.0, 5.0, 41)


@pytest.mark.parametrize("scale", [0.01, 0.7, 3.0])
def test_gaussian_log_prob_matches_scipy(scale):
    np.testing.assert_allclose(
        Gaussian(scale).log_prob(W), scipy.stats.norm(0, scale).logpdf(W), rtol=1e-12
    )


@pytest.mark.parametrize("scale", [0.01, 0.7, 3.0])
def test_laplace_log_prob_matches_scipy(scale):
    np.testing.assert_allclose(
        Laplace(scale).log_prob(W), scipy.stats.laplace(0, scale).logpdf(W), rtol=1e-12
    )


@pytest.mark.parametrize("gaussian_scale, laplace_scale", [(1.0, 1.0), (0.3, 2.0), (2.0, 0.1)])
def test_elastic_net_density_integrates_to_one(gaussian_scale, laplace_scale):
    prior = ElasticNet(gaussian_scale, laplace_scale)
    half, _ = scipy.integrate.quad(
        lambda w: np.exp(float(prior.log_prob(w))), 0, np.inf, epsabs=1e-13, epsrel=1e-12
    )
    assert 2 * half == pytest.approx(1.0, abs=1e-10)


def test_elastic_net_sampler_matches_its_density():
    prior = ElasticNet(0.8, 0.5)
    draws = np.asarray(prior.to_numpyro().sample(jax.random.key(0), (20_000,)))
    grid = np.linspace(-6, 6, 4001)
    cdf = np.cumsum(np.exp(np.asarray(prior.log_prob(grid)))) * (grid[1] - grid[0])
    result = scipy.stats.kstest(draws, lambda x: np.interp(x, grid, cdf))
    assert result.pvalue > 1e-3  # a correct sampler fails this 1 time in 1000


def test_penalty_is_negative_log_density_up_to_a_constant():
    w1, w2 = np.array([0.3, -1.2]), np.array([2.0, 0.1])
    for prior in (Gaussian(0.7), Laplace(0.7), ElasticNet(0.7, 1.3)):
        diff_logp = float(prior.log_prob(w1).sum() - prior.log_prob(w2).sum())
        assert float(prior.penalty(w2) - prior.penalty(w1)) == pytest.approx(diff_logp, rel=1e-12)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_scales_must_be_positive_and_finite(bad):
    with pytest.raises(ValueError, match="scale must be"):
        Gaussian(bad)
    with pytest.raises(ValueError, match="scale must be"):
        Laplace(bad)
    with pytest.raises(ValueError, match="laplace_scale must be"):
        ElasticNet(1.0, bad)


def test_priors_are_frozen_and_named():
    prior = prior_from_name("laplace", 2.0)
    assert prior == Laplace(2.0)
    with pytest.raises(AttributeError):
        prior.scale = 3.0
    with pytest.raises(ValueError, match="unknown family 'cauchy'"):
        prior_from_name("cauchy", 1.0)
