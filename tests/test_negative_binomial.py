"""The negative binomial likelihood (overdispersed counts): mean ``mu = exp(eta)``, variance
``mu + sigma² mu²``, shape ``1 / sigma²``.

Set against references written or computed elsewhere: scipy's ``nbinom`` (the density, the
simulator's counts, a log posterior minimised by scipy), statsmodels' negative binomial GLM
(the flat-prior mode; its lasso path, the proximal method), and NumPyro's own sampler on the
model written here as a gamma-Poisson (the posterior); the mass summed term by term (every
shape).
"""

import math

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
import pytest
import statsmodels.api as sm
from helpers import assert_mode_with_sampled_sigma, assert_same_posterior, numpyro_reference
from numpyro.infer.util import log_density
from scipy import stats
from scipy.special import logsumexp

import bayes_reg as br
from bayes_reg.linear.distributions import observation
from bayes_reg.linear.map import posterior_mode
from bayes_reg.linear.regression import linear_regression
from bayes_reg.linear.sbc import simulate
from bayes_reg.run.card import load_card
from bayes_reg.run.schema import CardError

TRUE_W, TRUE_B, TRUE_SIGMA = np.array([0.5, -0.3, 0.2]), 1.0, 0.6


def _counts(n=200, seed=0, sigma=TRUE_SIGMA):
    """Counts with exposures, drawn as the gamma-Poisson mixture by numpy."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    exposure = rng.uniform(0.5, 3.0, size=n)
    mu = exposure * np.exp(X @ TRUE_W + TRUE_B)
    shape = sigma**-2
    return X, rng.poisson(mu * rng.gamma(shape, 1 / shape, n)).astype(float), exposure


def _scipy_log_pmf(y, eta, sigma):
    shape = sigma**-2
    return stats.nbinom.logpmf(y, shape, shape / (shape + np.exp(eta)))


def test_the_density_mean_and_variance_are_scipys():
    y = np.arange(40.0)
    eta = np.log(np.linspace(0.05, 30.0, 40))
    # scipy's absolute rounding, in lgamma form: at sigma = 0.05 terms of size lgamma(400) ~
    # 2,000 cancel, at sigma = 1e-3 terms of lgamma(1e6) ~ 1.3e7 (ours: the next test).
    for sigma, atol in ((1e-3, 1e-8), (0.05, 1e-11), (0.6, 1e-11), (2.0, 1e-11)):
        ours = observation("negative-binomial", eta, sigma)
        np.testing.assert_allclose(
            ours.log_prob(y), _scipy_log_pmf(y, eta, sigma), rtol=1e-12, atol=atol
        )
        shape, mu = sigma**-2, np.exp(eta)
        if sigma > 1e-3:  # scipy's (n, p) loses digits of the moments where p is near 1
            reference = stats.nbinom(shape, shape / (shape + mu))
            np.testing.assert_allclose(ours.mean, reference.mean(), rtol=1e-12)
            np.testing.assert_allclose(ours.variance, reference.var(), rtol=1e-10)
        np.testing.assert_allclose(ours.variance, mu + sigma**2 * mu**2, rtol=1e-12)


def _summed_log_pmf(y, mu, phi):
    """``log (phi)_y - log y! - phi log1p(mu / phi) + y log(mu / (phi + mu))``, its rising
    factorial one logarithm per count, each with its share of the last term, added exactly."""
    terms = [math.log((phi + k) / (phi + mu)) for k in range(y)]
    return math.fsum(terms + [y * math.log(mu), -phi * math.log1p(mu / phi), -math.lgamma(y + 1)])


@pytest.mark.parametrize("phi", [0.01, 0.5, 2.8, 45.0, 55.0, 400.0, 1e6, 1e12, 1e17])
def test_the_mass_is_its_rising_factorial_at_every_shape(phi):
    """Near the Poisson (a large shape) lgamma differences lose every digit: scipy's and the
    earlier lgamma form were off by 1e-9 at phi = 1e6 and by 68 at 1e17."""
    y = np.array([0.0, 1.0, 2.0, 5.0, 17.0, 40.0, 120.0, 500.0])
    for mu in (1e-6, 0.3, 4.0, 200.0, 1e4):
        ours = observation("negative-binomial", np.full(8, np.log(mu)), phi**-0.5)
        exact = [_summed_log_pmf(int(k), mu, phi) for k in y]
        np.testing.assert_allclose(ours.log_prob(y), exact, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("summed", [False, True])
def test_the_models_log_likelihood_is_scipys_row_by_row_and_summed(summed):
    X, y, exposure = _counts(n=50)
    params = {"w": np.array([0.4, -0.1, 0.3]), "b": np.array(0.8), "sigma": np.array(0.7)}
    kwargs = {
        "prior": br.Flat(),  # flat priors on w, b and sigma: the log density is the likelihood
        "sigma": br.FlatNoise(),
        "likelihood": "negative-binomial",
        "offset": np.log(exposure),
        "summed": summed,
    }
    value = log_density(linear_regression, (X, y), kwargs, params)[0]
    eta = X @ params["w"] + 0.8 + np.log(exposure)
    assert float(value) == pytest.approx(_scipy_log_pmf(y, eta, 0.7).sum(), rel=1e-12)


def test_the_simulated_counts_are_scipys_negative_binomial():
    """The numpy simulator behind simulation-based calibration: a chi-square test of 20,000
    counts against scipy's probabilities of each count."""
    rng = np.random.default_rng(3)
    X = np.zeros((20_000, 1))
    counts = simulate(
        rng, X, {"w": np.zeros(1), "b": np.log(4.0), "sigma": 0.8}, "negative-binomial"
    )
    shape = 0.8**-2
    reference = stats.nbinom(shape, shape / (shape + 4.0))
    edges = np.arange(16)  # 0, 1, ..., 14 and "15 or more"
    observed = np.bincount(np.minimum(counts.astype(int), 15), minlength=16)
    expected = np.append(reference.pmf(edges[:-1]), reference.sf(14)) * counts.size
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_the_mode_with_a_known_sigma_is_statsmodels_glm():
    """A flat prior and a known sigma: the maximum likelihood of statsmodels' GLM with the
    negative binomial family of alpha = sigma² (its variance mu + alpha mu²), exposure and all."""
    X, y, exposure = _counts()
    ours = posterior_mode(
        X, y, br.Flat(), likelihood="negative-binomial", sigma=0.6, offset=np.log(exposure)
    )
    family = sm.families.NegativeBinomial(alpha=0.36)
    theirs = sm.GLM(y, sm.add_constant(X), family=family, exposure=exposure).fit(tol=1e-12)
    np.testing.assert_allclose(np.append(ours["b"], ours["w"]), theirs.params, rtol=1e-7)


def test_the_lasso_mode_is_statsmodels_regularised_glm():
    """A Laplace(s) prior with a known sigma, by the proximal method: statsmodels' penalised
    GLM, -loglike / n + alpha |w|_1 with alpha = 1 / (n s) (0 for the constant), exact zeros
    included."""
    X, y, _ = _counts()
    X = np.column_stack([X, np.random.default_rng(5).normal(size=len(y))])  # a useless column
    n, scale = len(y), 0.02
    ours = posterior_mode(X, y, br.Laplace(scale), likelihood="negative-binomial", sigma=0.6)
    family = sm.families.NegativeBinomial(alpha=0.36)
    alpha = np.append(0.0, np.full(4, 1 / (n * scale)))
    theirs = sm.GLM(y, sm.add_constant(X), family=family).fit_regularized(
        alpha=alpha, L1_wt=1.0, cnvrg_tol=1e-12, maxiter=10_000
    )
    assert ours["w"][3] == 0.0 and theirs.params[4] == 0.0
    np.testing.assert_allclose(np.append(ours["b"], ours["w"]), theirs.params, atol=1e-6)


@pytest.mark.parametrize("noise", [br.HalfNormal(1.0), br.FlatNoise()])
def test_the_mode_with_a_sampled_sigma_is_scipys_on_the_log_scale(noise):
    X, y, _ = _counts(seed=1)
    ours = posterior_mode(X, y, br.Gaussian(2.0), likelihood="negative-binomial", sigma=noise)
    assert_mode_with_sampled_sigma(
        ours, lambda w, b, sigma: _scipy_log_pmf(y, X @ w + b, sigma).sum(), 2.0, noise
    )


def _written_model(X, y, offset):
    """The negative binomial written as NumPyro's gamma-Poisson (shape, rate)."""
    w = numpyro.sample("w", dist.Normal(0.0, 2.0).expand([3]).to_event(1))
    b = numpyro.sample("b", dist.ImproperUniform(dist.constraints.real, (), ()))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
    shape = sigma**-2
    mu = jnp.exp(offset) * jnp.exp(X @ w + b)
    numpyro.sample("y", dist.GammaPoisson(shape, shape / mu), obs=y)


@pytest.fixture(scope="module")
def posterior():
    X, y, exposure = _counts(n=120, seed=2)
    post = br.sample_posterior(
        X,
        y,
        prior=br.Gaussian(2.0),
        likelihood="negative-binomial",
        sigma=br.HalfNormal(1.0),
        offset=np.log(exposure),
        sampler=br.Sampler(chains=2, warmup=1000, draws=2000),
        progress=False,
    )
    return post, X, y, exposure


def test_nuts_matches_numpyros_sampler_on_the_gamma_poisson(posterior):
    post, X, y, exposure = posterior
    assert not post.diagnostics.problems
    ref = numpyro_reference(_written_model, X, y, np.log(exposure), seed=1)
    assert_same_posterior(post.tree, ref, ["w", "b", "sigma"])


def test_predictions_and_scores_are_the_mixture_over_the_draws(posterior):
    post, X, y, exposure = posterior
    got = br.predict(post, X[:20], offset=np.log(exposure[:20]), seed=1)
    draws = post.tree["posterior"]
    w, b, sigma = (draws[v].values.reshape(-1, *draws[v].shape[2:]) for v in ("w", "b", "sigma"))
    eta = w @ X[:20].T + b[:, None] + np.log(exposure[:20])
    mu = np.exp(eta)
    np.testing.assert_allclose(got["mean"], mu.mean(0), rtol=1e-12)
    # The law of total variance: the means' spread plus the mean of each draw's variance.
    total = mu.var(0) + (mu + sigma[:, None] ** 2 * mu**2).mean(0)
    np.testing.assert_allclose(got["sd"] ** 2, total, rtol=1e-10)
    log_score = logsumexp(_scipy_log_pmf(y[:20], eta, sigma[:, None]), axis=0) - np.log(len(w))
    assert br.score(got, y[:20])["log_score"] == pytest.approx(log_score.mean(), rel=1e-10)


def test_a_table_with_exposures_is_the_arrays_fit():
    X, y, exposure = _counts(seed=4)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y, years=exposure)
    kwargs = {"prior": br.Gaussian(2.0), "likelihood": "negative-binomial", "sigma": 0.6}
    model = br.fit("y ~ a + b + c", frame, exposure="years", method="laplace", **kwargs)
    arrays = br.sample_posterior(X, y, offset=np.log(exposure), method="laplace", **kwargs)
    for site in ("w", "b"):  # the same draws: the same mode, curvature and random numbers
        np.testing.assert_allclose(
            model.tree["posterior"][site].values, arrays.tree["posterior"][site].values, rtol=1e-9
        )


def test_the_coefficients_table_ends_with_the_overdispersion():
    X, y, exposure = _counts(seed=4)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=y, years=exposure)
    model = br.fit(
        "y ~ a + b + c",
        frame,
        prior=br.Gaussian(2.0),
        likelihood="negative-binomial",
        sigma=br.HalfNormal(1.0),
        exposure="years",
        method="laplace",
        standardize=True,
    )
    table = model.coefficients(coverage=0.8)
    assert list(table.index) == ["Intercept", "a", "b", "c", "sigma"]
    sigma = model.tree["posterior"]["sigma"].values.ravel()
    np.testing.assert_allclose(table.loc["sigma", "mean"], sigma.mean(), rtol=1e-12)
    np.testing.assert_allclose(table.loc["sigma", "upper"], np.quantile(sigma, 0.9), rtol=1e-12)
    assert 0.4 < table.loc["sigma", "mean"] < 0.8  # the counts were drawn with sigma = 0.6


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, r"negative-binomial likelihood needs sigma: its overdispersion .* HalfNormal"),
        ({"sigma": 0.5, "y": np.full(12, 1.5)}, r"needs counts \(whole numbers >= 0\), got 1.5"),
        ({"sigma": 0.5, "y": -np.ones(12)}, r"needs counts .* got -1.0"),
        ({"sigma": br.HalfNormal(1.0), "scale_with_sigma": True}, "Gaussian or Student-t"),
        ({"sigma": 0.5, "method": "exact"}, "got the negative-binomial likelihood"),
    ],
)
def test_bad_models_are_refused(kwargs, match, no_compute):
    X = np.random.default_rng(0).normal(size=(12, 2))
    y = kwargs.pop("y", np.arange(12.0))
    with pytest.raises(ValueError, match=match):
        br.sample_posterior(
            X, y, prior=br.Gaussian(1.0), likelihood="negative-binomial", progress=False, **kwargs
        )


CARD = """
title = "counts"
description = "overdispersed counts"
[data]
source = "linnerud"
[model]
likelihood = "negative-binomial"
{sigma}
[prior]
scale = 0.5
"""


def test_a_card_reads_the_negative_binomial_and_needs_its_sigma(tmp_path):
    path = tmp_path / "card.toml"
    path.write_text(CARD.format(sigma='sigma = {prior = "half-normal", scale = 1.0}'))
    card = load_card(path)
    assert card.model.likelihood == "negative-binomial"
    assert card.noise == br.HalfNormal(1.0)
    path.write_text(CARD.format(sigma=""))
    with pytest.raises(CardError, match=r"\[model\] sigma"):
        load_card(path)


def test_an_inverse_gamma_on_sigma_squared_is_a_gamma_on_the_shape():
    """README: ``InverseGamma(a, b)`` on sigma² is brms's ``Gamma(a, b)`` (rate b) on the shape
    1 / sigma²; a Kolmogorov-Smirnov test of 4,000 prior draws against scipy's gamma."""
    import jax

    sigma = br.InverseGamma(2.0, 3.0).to_numpyro().sample(jax.random.key(0), (4000,))
    shape = 1.0 / np.asarray(sigma) ** 2
    assert stats.kstest(shape, stats.gamma(2.0, scale=1 / 3.0).cdf).pvalue > 1e-3


def test_the_report_calls_sigma_the_overdispersion(tmp_path):
    from bayes_reg.run.sections import intro_section, predictive_check_section
    from bayes_reg.run.sources import load_data

    path = tmp_path / "card.toml"
    path.write_text(CARD.format(sigma='sigma = {prior = "half-normal", scale = 1.0}'))
    card = load_card(path)
    intro = intro_section(card, br.Gaussian(0.5), load_data(card))
    assert "overdispersion σ (variance μ + σ²μ²) HalfNormal(scale=1.0)" in intro
    check = predictive_check_section("negative-binomial")[1]
    assert "rootogram" in check and "more spread than the fitted σ gives" in check
