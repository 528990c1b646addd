"""The gamma likelihood (positive outcomes whose spread grows with their mean): mean
``mu = exp(eta)``, shape ``1 / sigma²``, so sd ``sigma mu`` (``sigma`` the coefficient of
variation).

Set against references written or computed elsewhere: scipy's ``gamma`` (the density, the
moments, the model's log likelihood, the simulator's draws, a log posterior minimised by scipy,
the lasso's optimality conditions by scipy's finite differences, predictions and scores),
statsmodels' gamma GLM with the log link (the flat-prior mode), scikit-learn's
``GammaRegressor`` (its L2-penalised fit is the mode under a Gaussian prior of variance
``sigma² / (n alpha)``) and NumPyro's sampler on the model written as ``mu`` times a gamma of
mean 1 (the posterior).
"""

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
import pytest
import scipy.optimize
import statsmodels.api as sm
from helpers import (
    assert_mode_with_sampled_sigma,
    assert_same_posterior,
    numpyro_reference,
    run_summary,
)
from numpyro.infer.util import log_density
from scipy import stats
from scipy.special import logsumexp
from sklearn.linear_model import GammaRegressor

import bayes_reg as br
from bayes_reg.linear.distributions import observation
from bayes_reg.linear.map import posterior_mode
from bayes_reg.linear.regression import linear_regression
from bayes_reg.linear.sbc import simulate
from bayes_reg.run.card import load_card
from bayes_reg.run.schema import CardError

TRUE_W, TRUE_B, TRUE_SIGMA = np.array([0.5, -0.3, 0.2]), 1.0, 0.6


def _positive(n=200, seed=0, sigma=TRUE_SIGMA):
    """Positive outcomes drawn by numpy: gamma of mean exp(Xw + b) and shape 1 / sigma²."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    shape = sigma**-2
    return X, rng.gamma(shape, np.exp(X @ TRUE_W + TRUE_B) / shape)


def _scipy_log_pdf(y, eta, sigma):
    shape = sigma**-2
    return stats.gamma.logpdf(y, shape, scale=np.exp(eta) / shape)


def test_the_density_mean_and_variance_are_scipys():
    y = np.geomspace(1e-3, 1e3, 40)
    eta = np.linspace(-4.0, 6.0, 40)
    for sigma in (0.05, 0.6, 1.0, 3.0):
        ours = observation("gamma", eta, sigma)
        np.testing.assert_allclose(
            ours.log_prob(y), _scipy_log_pdf(y, eta, sigma), rtol=1e-12, atol=1e-11
        )
        reference = stats.gamma(sigma**-2, scale=np.exp(eta) * sigma**2)
        np.testing.assert_allclose(ours.mean, reference.mean(), rtol=1e-12)
        np.testing.assert_allclose(ours.variance, reference.var(), rtol=1e-12)
        np.testing.assert_allclose(np.sqrt(ours.variance), sigma * np.exp(eta), rtol=1e-12)


@pytest.mark.parametrize("summed", [False, True])
def test_the_models_log_likelihood_is_scipys_row_by_row_and_summed(summed):
    X, y = _positive(n=50)
    params = {"w": np.array([0.4, -0.1, 0.3]), "b": np.array(0.8), "sigma": np.array(0.7)}
    kwargs = {
        "prior": br.Flat(),  # flat priors on w, b and sigma: the log density is the likelihood
        "sigma": br.FlatNoise(),
        "likelihood": "gamma",
        "offset": np.full(50, 0.25),
        "summed": summed,
    }
    value = log_density(linear_regression, (X, y), kwargs, params)[0]
    expected = _scipy_log_pdf(y, X @ params["w"] + 0.8 + 0.25, 0.7).sum()
    assert float(value) == pytest.approx(expected, rel=1e-12)


def test_whole_number_weights_are_the_rows_repeated():
    X, y = _positive(n=30, seed=4)
    weight = np.random.default_rng(4).integers(0, 4, 30)
    params = {"w": np.array([0.4, -0.1, 0.3]), "b": np.array(0.8), "sigma": np.array(0.7)}
    kwargs = {"prior": br.Gaussian(1.0), "sigma": br.HalfNormal(1.0), "likelihood": "gamma"}
    kwargs |= {"parametrization": "direct"}
    rows = [np.repeat(a, weight, axis=0) for a in (X, y)]
    repeated = log_density(linear_regression, rows, kwargs, params)[0]
    for summed in (False, True):
        weighted = kwargs | {"sample_weight": weight, "summed": summed}
        value = log_density(linear_regression, (X, y), weighted, params)[0]
        assert float(value) == pytest.approx(float(repeated), rel=1e-12)


def test_the_simulated_outcomes_are_scipys_gamma():
    """The numpy simulator behind simulation-based calibration: a Kolmogorov-Smirnov test of
    20,000 draws against scipy's gamma."""
    rng = np.random.default_rng(3)
    truth = {"w": np.zeros(1), "b": np.array(1.5), "sigma": 0.8}
    y = simulate(rng, np.zeros((20_000, 1)), truth, "gamma")
    reference = stats.gamma(0.8**-2, scale=np.exp(1.5) * 0.8**2)
    assert stats.kstest(y, reference.cdf).pvalue > 1e-3


def test_the_flat_prior_mode_is_statsmodels_gamma_glm():
    """The maximum likelihood of statsmodels' gamma GLM with the log link (its coefficients do
    not depend on the shape), with an offset."""
    X, y = _positive()
    offset = np.random.default_rng(1).normal(size=len(y)) / 4
    ours = posterior_mode(X, y, br.Flat(), likelihood="gamma", sigma=0.6, offset=offset)
    family = sm.families.Gamma(sm.families.links.Log())
    theirs = sm.GLM(y, sm.add_constant(X), family=family, offset=offset).fit(tol=1e-12)
    np.testing.assert_allclose(np.append(ours["b"], ours["w"]), theirs.params, rtol=1e-7)


def test_a_gaussian_prior_mode_is_scikit_learns_gamma_regressor():
    """``GammaRegressor(alpha)`` minimises mean half-deviance + alpha ||w||² / 2, which is
    sigma² / n times the negative log posterior under w ~ N(0, sigma² / (n alpha)), the
    intercept unpenalised (flat)."""
    X, y = _positive(seed=2)
    sigma, alpha = 0.6, 0.05
    scale = sigma / np.sqrt(alpha * len(y))
    ours = posterior_mode(X, y, br.Gaussian(scale), likelihood="gamma", sigma=sigma)
    theirs = GammaRegressor(alpha=alpha, tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(ours["w"], theirs.coef_, rtol=1e-7)
    assert ours["b"] == pytest.approx(theirs.intercept_, rel=1e-7)


@pytest.mark.parametrize("noise", [br.HalfNormal(1.0), br.FlatNoise()])
def test_the_mode_with_a_sampled_sigma_is_scipys_on_the_log_scale(noise):
    X, y = _positive(seed=1)
    ours = posterior_mode(X, y, br.Gaussian(2.0), likelihood="gamma", sigma=noise)
    assert_mode_with_sampled_sigma(
        ours, lambda w, b, sigma: _scipy_log_pdf(y, X @ w + b, sigma).sum(), 2.0, noise
    )


def test_the_lasso_mode_meets_its_optimality_conditions():
    """A Laplace(s) prior, by the proximal method: where w_j is not 0 the likelihood's slope
    (scipy's finite differences of scipy's log density) is sign(w_j) / s, where it is 0 the
    slope is within ±1 / s, and the intercept's slope is 0; a useless column's weight is 0."""
    X, y = _positive(seed=5)
    X = np.column_stack([X, np.random.default_rng(5).normal(size=len(y))])
    scale = 0.03
    ours = posterior_mode(X, y, br.Laplace(scale), likelihood="gamma", sigma=0.6)
    theta = np.append(ours["w"], ours["b"])

    def log_likelihood(t):
        return _scipy_log_pdf(y, X @ t[:4] + t[4], 0.6).sum()

    slope = scipy.optimize.approx_fprime(theta, log_likelihood, 1e-7)
    free = ours["w"] != 0
    assert ours["w"][3] == 0.0 and free.sum() == 2  # here w_2's estimate is 0 too
    np.testing.assert_allclose(slope[:4][free], np.sign(ours["w"][free]) / scale, atol=1e-4)
    assert np.all(np.abs(slope[:4][~free]) <= 1 / scale)
    assert abs(slope[4]) < 1e-4


def _written_model(X, y):
    """The gamma written as the mean times a gamma variable of mean 1 (NumPyro's own
    ``Gamma`` of equal shape and rate, scaled by an affine transform)."""
    w = numpyro.sample("w", dist.Normal(0.0, 2.0).expand([3]).to_event(1))
    b = numpyro.sample("b", dist.ImproperUniform(dist.constraints.real, (), ()))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
    shape = sigma**-2
    mu = jnp.exp(X @ w + b)
    unit = dist.Gamma(shape, shape).expand([len(y)])
    scaled = dist.TransformedDistribution(unit, dist.transforms.AffineTransform(0.0, mu))
    numpyro.sample("y", scaled.to_event(1), obs=y)


@pytest.fixture(scope="module")
def posterior():
    X, y = _positive(n=120, seed=2)
    post = br.sample_posterior(
        X,
        y,
        prior=br.Gaussian(2.0),
        likelihood="gamma",
        sigma=br.HalfNormal(1.0),
        sampler=br.Sampler(chains=2, warmup=1000, draws=2000),
        progress=False,
    )
    return post, X, y


def test_nuts_matches_numpyros_sampler_on_the_scaled_gamma(posterior):
    post, X, y = posterior
    assert not post.diagnostics.problems
    ref = numpyro_reference(_written_model, X, y, seed=1)
    assert_same_posterior(post.tree, ref, ["w", "b", "sigma"])


def test_predictions_and_scores_are_the_mixture_over_the_draws(posterior):
    post, X, y = posterior
    got = br.predict(post, X[:20], seed=1)
    draws = post.tree["posterior"]
    w, b, sigma = (draws[v].values.reshape(-1, *draws[v].shape[2:]) for v in ("w", "b", "sigma"))
    eta = w @ X[:20].T + b[:, None]
    mu = np.exp(eta)
    np.testing.assert_allclose(got["mean"], mu.mean(0), rtol=1e-12)
    # The law of total variance: the means' spread plus the mean of each draw's variance.
    total = mu.var(0) + (sigma[:, None] ** 2 * mu**2).mean(0)
    np.testing.assert_allclose(got["sd"] ** 2, total, rtol=1e-10)
    assert (got["y"].values > 0).all()
    log_score = logsumexp(_scipy_log_pdf(y[:20], eta, sigma[:, None]), axis=0) - np.log(len(w))
    assert br.score(got, y[:20])["log_score"] == pytest.approx(log_score.mean(), rel=1e-10)
    # A log density is a sum of terms of order 1 to 30 that can cancel to near 0 (a density
    # near 1: 7e-6 in a run of JAX 0.11, 9e-16 off scipy), where only an absolute tolerance at
    # their rounding means anything: 1e-13.
    np.testing.assert_allclose(
        post.tree["log_likelihood"]["y"].values.reshape(len(w), -1)[:, :20],
        _scipy_log_pdf(y[:20], eta, sigma[:, None]),
        rtol=1e-10,
        atol=1e-13,
    )


def test_a_table_is_the_arrays_fit_and_its_coefficients_end_with_sigma():
    X, y = _positive(seed=4)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(cost=y)
    kwargs = {"prior": br.Gaussian(2.0), "likelihood": "gamma", "sigma": br.HalfNormal(1.0)}
    model = br.fit("cost ~ a + b + c", frame, method="laplace", **kwargs)
    arrays = br.sample_posterior(X, y, method="laplace", **kwargs)
    for site in ("w", "b", "sigma"):  # the same draws: the same mode, curvature and numbers
        np.testing.assert_allclose(
            model.tree["posterior"][site].values, arrays.tree["posterior"][site].values, rtol=1e-9
        )
    table = model.coefficients()
    assert list(table.index) == ["Intercept", "a", "b", "c", "sigma"]
    assert 0.5 < table.loc["sigma", "mean"] < 0.7  # drawn with sigma = 0.6


def test_an_exposure_multiplies_the_mean_as_in_statsmodels_gamma_glm(tmp_path):
    """A cost summed over a number of claims: mean claims x exp(Xw + b). The table's exposure
    column is the arrays' offset log(claims) (the same draws), the flat-prior mode is
    statsmodels' gamma GLM given ``exposure=``, and new rows' means scale with their own
    exposure. A card reads the exposure for the gamma too."""
    rng = np.random.default_rng(5)
    X, _ = _positive(seed=5)
    claims = rng.integers(1, 6, len(X)).astype(float)
    shape = TRUE_SIGMA**-2
    y = rng.gamma(shape, claims * np.exp(X @ TRUE_W + TRUE_B) / shape)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(cost=y, claims=claims)
    kwargs = {"prior": br.Flat(), "likelihood": "gamma", "sigma": 0.6, "method": "laplace"}
    model = br.fit("cost ~ a + b + c", frame, exposure="claims", progress=False, **kwargs)
    arrays = br.sample_posterior(X, y, offset=np.log(claims), progress=False, **kwargs)
    for site in ("w", "b"):
        np.testing.assert_allclose(
            model.tree["posterior"][site].values, arrays.tree["posterior"][site].values, rtol=1e-9
        )
    ours = posterior_mode(X, y, br.Flat(), likelihood="gamma", sigma=0.6, offset=np.log(claims))
    family = sm.families.Gamma(sm.families.links.Log())
    theirs = sm.GLM(y, sm.add_constant(X), family=family, exposure=claims).fit(tol=1e-12)
    np.testing.assert_allclose(ours["w"], theirs.params[1:], rtol=1e-7)
    assert float(ours["b"]) == pytest.approx(theirs.params[0], rel=1e-7)
    new = frame.iloc[:4].assign(claims=[1.0, 2.0, 5.0, 0.5])
    draws = model.tree["posterior"]
    w = draws["w"].values.reshape(-1, 3)
    b = draws["b"].values.reshape(-1)
    mu = np.exp(w @ X[:4].T + b[:, None]) * new["claims"].to_numpy()
    np.testing.assert_allclose(model.predict(new, seed=0)["mean"], mu.mean(0), rtol=1e-12)
    (tmp_path / "data.csv").write_text(frame.to_csv(index=False))
    card = tmp_path / "card.toml"
    card.write_text(
        '[data]\nsource = "csv:data.csv"\nformula = "cost ~ a + b + c"\nexposure = "claims"\n'
        '[model]\nlikelihood = "gamma"\nsigma = 0.6\n[prior]\nscale = 1.0\n'
    )
    assert load_card(card).model.likelihood == "gamma"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sigma": None}, r"gamma likelihood needs sigma: its coefficient of variation"),
        ({"y": np.r_[np.ones(11), 0.0]}, r"the gamma likelihood needs y > 0, got 0.0"),
        ({"y": -np.ones(12)}, r"needs y > 0, got -1.0"),
        ({"scale_with_sigma": True}, "Gaussian or Student-t"),
        ({"method": "exact"}, "got the gamma likelihood"),
        ({"trials": np.full(12, 3)}, "trials are the binomial likelihood's .* 'gamma'"),
    ],
)
def test_bad_models_are_refused(kwargs, match, no_compute):
    X = np.random.default_rng(0).normal(size=(12, 2))
    kwargs = {"y": np.arange(1.0, 13.0), "sigma": br.HalfNormal(1.0), "likelihood": "gamma"} | (
        kwargs
    )
    with pytest.raises(ValueError, match=match):
        br.sample_posterior(X, kwargs.pop("y"), prior=br.Gaussian(1.0), progress=False, **kwargs)


CARD = """
title = "costs"
description = "a gamma card"
[data]
source = "csv:data.csv"
formula = "cost ~ a + b + c"
test_fraction = 0.25
[model]
likelihood = "gamma"
{sigma}
[prior]
{prior}
[posterior]
chains = 2
warmup = 300
draws = 300
"""


def _card(tmp_path, sigma='sigma = {prior = "half-normal", scale = 1.0}', prior="scale = 1.0"):
    X, y = _positive(n=120, seed=7)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(cost=y)
    frame.to_csv(tmp_path / "data.csv", index=False)
    path = tmp_path / "card.toml"
    path.write_text(CARD.format(sigma=sigma, prior=prior))
    return path


def test_a_card_reads_the_gamma_and_needs_its_sigma(tmp_path):
    from bayes_reg.run.sections import intro_section
    from bayes_reg.run.sources import load_data

    card = load_card(_card(tmp_path))
    assert card.model.likelihood == "gamma" and card.noise == br.HalfNormal(1.0)
    intro = intro_section(card, br.Gaussian(1.0), load_data(card))
    assert "coefficient of variation σ (sd/mean; shape 1/σ²) HalfNormal(scale=1.0)" in intro
    with pytest.raises(CardError, match=r"\[model\] sigma: missing; give the coefficient"):
        load_card(_card(tmp_path, sigma=""))


def test_a_card_states_its_prior_as_scikit_learns_gamma_penalty(tmp_path):
    """``[prior] convention = "sklearn-gamma"``: GammaRegressor's alpha on the training rows is
    the prior sigma / sqrt(n alpha); a sampled sigma is refused (the strength needs it)."""
    from bayes_reg.run.model_spec import build_prior

    penalty = 'convention = "sklearn-gamma"\nstrength = 0.05'
    card = load_card(_card(tmp_path, sigma="sigma = 0.6", prior=penalty))
    prior = build_prior(card.prior_spec, card.model, n=90)
    assert isinstance(prior, br.Gaussian)
    assert prior.scale == pytest.approx(0.6 / np.sqrt(90 * 0.05), rel=1e-15)
    card = load_card(_card(tmp_path, prior=penalty))
    with pytest.raises(CardError, match="needs a known noise scale"):
        build_prior(card.prior_spec, card.model, n=90)


@pytest.mark.slow
def test_a_card_runs_the_gamma_and_predicts_new_rows(tmp_path):
    from bayes_reg.cli import main

    summary = run_summary(_card(tmp_path), tmp_path / "out")
    assert summary["likelihood"] == "gamma"
    assert set(summary["held_out"]) >= {"rmse", "log_score", "crps", "coverage"}
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Posterior predictive check" in page and "coefficient of variation σ" in page
    X, _ = _positive(n=5, seed=9)
    pd.DataFrame(X, columns=["a", "b", "c"]).to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "predictions.csv"
    command = ["predict", str(tmp_path / "out"), "--data", str(tmp_path / "new.csv")]
    assert main([*command, "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert (table["lower"] > 0).all() and (table["mean"] < table["upper"]).all()
