"""The beta-binomial likelihood (overdispersed successes): ``y`` successes of ``trials`` per
row, each row's probability drawn from a beta of mean ``logit⁻¹(eta)`` and concentration
``phi = 1 / sigma²``; variance the binomial's times ``1 + (trials - 1) sigma² / (1 + sigma²)``.

Set against references written or computed elsewhere: the mass summed term by term from its
rising factorials (every concentration), scipy's ``betabinom`` (the mass where scipy is exact,
the moments, the simulator's successes, a log posterior minimised by scipy, the lasso's
optimality conditions by scipy's finite differences, predictions and scores), scipy's
``binom`` (the limit sigma → 0), and NumPyro's own sampler on the model written with NumPyro's
``BetaBinomial`` (the posterior).
"""

import math

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
import pytest
import scipy.optimize
from helpers import (
    assert_mode_with_sampled_sigma,
    assert_same_posterior,
    numpyro_reference,
    run_summary,
)
from numpyro.infer.util import log_density
from scipy import stats
from scipy.special import expit, logsumexp

import bayes_reg as br
from bayes_reg.linear.distributions import observation
from bayes_reg.linear.information import information_weight
from bayes_reg.linear.map import posterior_mode
from bayes_reg.linear.regression import check_model, linear_regression
from bayes_reg.linear.sbc import simulate
from bayes_reg.noise import as_noise
from bayes_reg.run.card import load_card
from bayes_reg.run.schema import CardError

TRUE_W, TRUE_B, TRUE_SIGMA = np.array([0.8, -0.5, 0.3]), -0.4, 0.5


def _successes(n=80, seed=0, sigma=TRUE_SIGMA, max_trials=14):
    """Rows of 1..max_trials trials and their successes, drawn as the beta-binomial mixture by
    numpy (a beta probability per row, then the binomial)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    trials = rng.integers(1, max_trials + 1, n)
    p = expit(X @ TRUE_W + TRUE_B)
    phi = sigma**-2
    return X, rng.binomial(trials, rng.beta(p * phi, (1 - p) * phi)).astype(float), trials


def _scipy_log_pmf(y, trials, eta, sigma):
    phi = sigma**-2
    return stats.betabinom.logpmf(y, trials, expit(eta) * phi, expit(-eta) * phi)


def _summed_log_pmf(y: int, n: int, a: float, b: float) -> float:
    """``log C(n, y) + sum log(a + k) + sum log(b + k) - sum log(a + b + k)``: the mass from
    its rising factorials, one logarithm per trial, added exactly (``math.fsum``)."""
    terms = [math.lgamma(n + 1) - math.lgamma(y + 1) - math.lgamma(n - y + 1)]
    terms += [math.log(a + k) for k in range(y)] + [math.log(b + k) for k in range(n - y)]
    return math.fsum(terms + [-math.log(a + b + k) for k in range(n)])


TRIALS = np.array([1, 3, 10, 40, 200, 7])
ETAS = (-12.0, -3.0, 0.2, 4.0)


@pytest.mark.parametrize("phi", [0.01, 0.5, 2.8, 45.0, 55.0, 400.0, 1e6, 1e12, 1e17])
def test_the_mass_is_its_rising_factorials_at_every_concentration(phi):
    """Near the binomial (a large concentration) lgamma differences lose every digit: scipy's
    beta-binomial is off by 2e-9 at phi = 1e6 and by 512 at 1e17, NumPyro's by 3e-10 and 8."""
    for eta in ETAS:
        ours = observation("beta-binomial", np.full(6, eta), phi**-0.5, trials=TRIALS)
        a, b = expit(eta) * phi, expit(-eta) * phi
        for y in (np.zeros(6), np.minimum(TRIALS, 2), TRIALS // 2, TRIALS):
            exact = [_summed_log_pmf(int(k), int(n), a, b) for k, n in zip(y, TRIALS, strict=True)]
            np.testing.assert_allclose(ours.log_prob(y), exact, rtol=1e-12, atol=1e-12)
            if phi <= 400:
                np.testing.assert_allclose(
                    ours.log_prob(y),
                    stats.betabinom.logpmf(y, TRIALS, a, b),
                    rtol=1e-12,
                    atol=1e-12,
                )


def test_a_small_sigma_is_the_binomial():
    for eta in ETAS:
        ours = observation("beta-binomial", np.full(6, eta), 1e-10, trials=TRIALS)
        for y in (np.zeros(6), TRIALS // 2, TRIALS):
            binomial = stats.binom.logpmf(y, TRIALS, expit(eta))
            # At phi = 1e20 the two differ by about trials² / (2 phi p), p the smaller of the
            # two probabilities: 3e-11 at eta = -12, 200 trials.
            np.testing.assert_allclose(ours.log_prob(y), binomial, rtol=1e-11, atol=1e-11)


def test_the_moments_are_scipys():
    eta = np.array([-3.0, -0.2, 0.0, 1.5, 4.0, -12.0])
    for sigma in (0.05, 0.5, 2.0):
        ours = observation("beta-binomial", eta, sigma, trials=TRIALS)
        phi, p = sigma**-2, expit(eta)
        reference = stats.betabinom(TRIALS, p * phi, (1 - p) * phi)
        np.testing.assert_allclose(ours.mean, reference.mean(), rtol=1e-12)
        np.testing.assert_allclose(ours.variance, reference.var(), rtol=1e-10)
        inflation = 1 + (TRIALS - 1) * sigma**2 / (1 + sigma**2)
        np.testing.assert_allclose(ours.variance, TRIALS * p * (1 - p) * inflation, rtol=1e-12)


@pytest.mark.parametrize("summed", [False, True])
def test_the_models_log_likelihood_is_scipys_row_by_row_and_summed(summed):
    X, y, trials = _successes(n=50)
    params = {"w": np.array([0.4, -0.1, 0.3]), "b": np.array(0.8), "sigma": np.array(0.7)}
    kwargs = {
        "prior": br.Flat(),  # flat priors on w, b and sigma: the log density is the likelihood
        "sigma": br.FlatNoise(),
        "likelihood": "beta-binomial",
        "trials": trials,
        "summed": summed,
    }
    value = log_density(linear_regression, (X, y), kwargs, params)[0]
    expected = _scipy_log_pmf(y, trials, X @ params["w"] + 0.8, 0.7).sum()
    assert float(value) == pytest.approx(expected, rel=1e-12)


def test_whole_number_weights_are_the_rows_repeated():
    X, y, trials = _successes(n=30, seed=4)
    weight = np.random.default_rng(4).integers(0, 4, 30)
    params = {"w": np.array([0.4, -0.1, 0.3]), "b": np.array(0.8), "sigma": np.array(0.7)}
    kwargs = {"prior": br.Gaussian(1.0), "sigma": br.HalfNormal(1.0), "parametrization": "direct"}
    kwargs |= {"likelihood": "beta-binomial"}
    rows = [np.repeat(a, weight, axis=0) for a in (X, y, trials)]
    repeated = log_density(linear_regression, rows[:2], kwargs | {"trials": rows[2]}, params)[0]
    for summed in (False, True):
        weighted = kwargs | {"trials": trials, "sample_weight": weight, "summed": summed}
        value = log_density(linear_regression, (X, y), weighted, params)[0]
        assert float(value) == pytest.approx(float(repeated), rel=1e-12)


def test_the_simulated_successes_are_scipys_beta_binomial():
    """The numpy simulator behind simulation-based calibration: a chi-square test of 20,000
    rows of 12 trials against scipy's probabilities of each count."""
    rng = np.random.default_rng(3)
    truth = {"w": np.zeros(1), "b": np.array(0.4), "sigma": 0.8}
    y = simulate(rng, np.zeros((20_000, 1)), truth, "beta-binomial", trials=np.full(20_000, 12))
    phi = 0.8**-2
    reference = stats.betabinom(12, expit(0.4) * phi, expit(-0.4) * phi)
    observed = np.bincount(y.astype(int), minlength=13)
    assert stats.chisquare(observed, reference.pmf(np.arange(13)) * y.size).pvalue > 1e-3


@pytest.mark.parametrize("noise", [br.HalfNormal(1.0), br.FlatNoise()])
def test_the_mode_with_a_sampled_sigma_is_scipys_on_the_log_scale(noise):
    X, y, trials = _successes(n=200, seed=1)
    ours = posterior_mode(
        X, y, br.Gaussian(2.0), likelihood="beta-binomial", sigma=noise, trials=trials
    )
    assert_mode_with_sampled_sigma(
        ours, lambda w, b, sigma: _scipy_log_pmf(y, trials, X @ w + b, sigma).sum(), 2.0, noise
    )


def test_the_mode_with_a_known_sigma_is_scipys():
    X, y, trials = _successes(n=200, seed=2)
    ours = posterior_mode(
        X, y, br.Gaussian(1.0), likelihood="beta-binomial", sigma=0.5, trials=trials
    )

    def objective(theta):
        w, b = theta[:3], theta[3]
        return -(_scipy_log_pmf(y, trials, X @ w + b, 0.5).sum() + stats.norm.logpdf(w).sum())

    fit = scipy.optimize.minimize(objective, np.zeros(4), method="BFGS", options={"gtol": 1e-9})
    np.testing.assert_allclose(np.append(ours["w"], ours["b"]), fit.x, atol=1e-6)


def test_the_lasso_mode_meets_its_optimality_conditions():
    """A Laplace(s) prior, by the proximal method: where w_j is not 0 the likelihood's slope
    (scipy's finite differences of scipy's log mass) is sign(w_j) / s, where it is 0 the slope
    is within ±1 / s, and the intercept's slope is 0; a useless column's weight is exactly 0."""
    X, y, trials = _successes(n=200, seed=5)
    X = np.column_stack([X, np.random.default_rng(5).normal(size=len(y))])
    scale = 0.05
    ours = posterior_mode(
        X, y, br.Laplace(scale), likelihood="beta-binomial", sigma=0.5, trials=trials
    )
    theta = np.append(ours["w"], ours["b"])

    def log_likelihood(t):
        return _scipy_log_pmf(y, trials, X @ t[:4] + t[4], 0.5).sum()

    slope = scipy.optimize.approx_fprime(theta, log_likelihood, 1e-7)
    free = ours["w"] != 0
    assert ours["w"][3] == 0.0 and free[:3].all()
    np.testing.assert_allclose(slope[:4][free], np.sign(ours["w"][free]) / scale, atol=1e-4)
    assert np.all(np.abs(slope[:4][~free]) <= 1 / scale)
    assert abs(slope[4]) < 1e-4


def _written_model(X, y, trials):
    """The beta-binomial written with NumPyro's own ``BetaBinomial`` (its ``betaln`` mass)."""
    w = numpyro.sample("w", dist.Normal(0.0, 2.0).expand([3]).to_event(1))
    b = numpyro.sample("b", dist.ImproperUniform(dist.constraints.real, (), ()))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
    p = jnp.clip(1 / (1 + jnp.exp(-(X @ w + b))), 1e-12, 1 - 1e-12)
    phi = sigma**-2
    numpyro.sample("y", dist.BetaBinomial(p * phi, (1 - p) * phi, trials), obs=y)


@pytest.fixture(scope="module")
def posterior():
    X, y, trials = _successes(n=120, seed=2)
    post = br.sample_posterior(
        X,
        y,
        prior=br.Gaussian(2.0),
        likelihood="beta-binomial",
        sigma=br.HalfNormal(1.0),
        trials=trials,
        sampler=br.Sampler(chains=2, warmup=1000, draws=2000),
        progress=False,
    )
    return post, X, y, trials


def test_nuts_matches_numpyros_sampler_on_its_own_beta_binomial(posterior):
    post, X, y, trials = posterior
    assert not post.diagnostics.problems
    ref = numpyro_reference(_written_model, X, y, trials, seed=1)
    assert_same_posterior(post.tree, ref, ["w", "b", "sigma"])


def test_the_tree_keeps_the_trials_and_the_successes_as_counts(posterior):
    post, X, y, trials = posterior
    tree = post.tree
    np.testing.assert_array_equal(tree["constant_data"]["trials"].values, trials)
    y_rep = tree["posterior_predictive"]["y"].values
    assert y_rep.dtype.kind == "i" and (y_rep >= 0).all() and (y_rep <= trials).all()
    draws = tree["posterior"]
    eta = np.einsum("cdf,nf->cdn", draws["w"].values, X) + draws["b"].values[..., None]
    expected = _scipy_log_pmf(y, trials, eta, draws["sigma"].values[..., None])
    np.testing.assert_allclose(tree["log_likelihood"]["y"].values, expected, rtol=1e-10)


def test_predictions_and_scores_are_the_mixture_over_the_draws(posterior):
    post, X, y, trials = posterior
    got = br.predict(post, X[:20], trials=trials[:20], seed=1)
    draws = post.tree["posterior"]
    w, b, sigma = (draws[v].values.reshape(-1, *draws[v].shape[2:]) for v in ("w", "b", "sigma"))
    eta = w @ X[:20].T + b[:, None]
    n, p, rho = trials[:20], expit(eta), sigma[:, None] ** 2 / (1 + sigma[:, None] ** 2)
    np.testing.assert_allclose(got["mean"], (n * p).mean(0), rtol=1e-12)
    np.testing.assert_allclose(got["probability"], p.mean(0), rtol=1e-12)
    # The law of total variance: the means' spread plus the mean of each draw's variance.
    total = (n * p).var(0) + (n * p * (1 - p) * (1 + (n - 1) * rho)).mean(0)
    np.testing.assert_allclose(got["sd"] ** 2, total, rtol=1e-10)
    y_rep = got["y"].values
    assert (y_rep >= 0).all() and (y_rep <= n).all()
    log_score = logsumexp(_scipy_log_pmf(y[:20], n, eta, sigma[:, None]), axis=0) - np.log(len(w))
    assert br.score(got, y[:20])["log_score"] == pytest.approx(log_score.mean(), rel=1e-10)
    with pytest.raises(ValueError, match="give trials for the new rows"):
        br.predict(post, X[:2])


def test_the_rows_information_counts_their_effective_trials():
    """``auto`` and the mass matrix weigh a row of n trials as n / (1 + (n - 1) rho): with a
    known sigma, rho = sigma² / (1 + sigma²); with a prior on sigma, rho is estimated from the
    successes' spread (here within 0.03 of the rho the rows were drawn with)."""
    trials = np.array([1.0, 2.0, 10.0, 50.0])
    known = information_weight(None, trials, None, as_noise(0.5), "beta-binomial")
    np.testing.assert_allclose(known, trials / (1 + (trials - 1) * 0.2), rtol=1e-15)
    assert information_weight(None, trials, None, as_noise(1e-9), "beta-binomial") == (
        pytest.approx(trials, rel=1e-15)
    )
    rng = np.random.default_rng(3)
    n = rng.integers(1, 15, 4000)
    truth = {"w": np.zeros(1), "b": np.array(-0.4), "sigma": 0.5}  # rho = 0.2
    y = simulate(rng, np.zeros((4000, 1)), truth, "beta-binomial", trials=n)
    estimated = information_weight(None, n, y, br.HalfNormal(1.0), "beta-binomial")
    rho = (n / estimated - 1) / np.maximum(n - 1, 1)
    assert 0.2 - 0.03 < rho[n > 1].mean() < 0.2 + 0.03


def test_a_table_with_a_trials_column_is_the_arrays_fit():
    X, y, trials = _successes(seed=7)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(k=y, n=trials)
    kwargs = {"prior": br.Gaussian(2.0), "likelihood": "beta-binomial", "sigma": 0.5}
    model = br.fit("k ~ a + b + c", frame, trials="n", method="laplace", **kwargs)
    arrays = br.sample_posterior(X, y, trials=trials, method="laplace", **kwargs)
    for site in ("w", "b"):  # the same draws: the same mode, curvature and random numbers
        np.testing.assert_allclose(
            model.tree["posterior"][site].values, arrays.tree["posterior"][site].values, rtol=1e-9
        )
    table = model.predict(frame.head(4))
    assert list(table.columns) == ["mean", "sd", "lower", "upper", "probability"]
    with pytest.raises(ValueError, match="'beta-binomial'\\) and trials="):
        br.fit("k ~ a", frame, prior=br.Gaussian(1.0), likelihood="beta-binomial", sigma=0.5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sigma": None}, r"beta-binomial likelihood needs sigma: its overdispersion .* beta"),
        ({"trials": None}, "the beta-binomial likelihood needs trials"),
        ({"y": np.full(12, 6.0)}, r"beta-binomial likelihood needs y to count successes"),
        ({"y": np.full(12, 1.5)}, r"got 1.5 of 5 trials"),
        ({"scale_with_sigma": True}, "Gaussian or Student-t"),
        ({"method": "exact"}, "got the beta-binomial likelihood"),
    ],
)
def test_bad_models_are_refused(kwargs, match, no_compute):
    X = np.random.default_rng(0).normal(size=(12, 2))
    defaults = {"y": np.arange(12.0) % 6, "trials": np.full(12, 5), "sigma": br.HalfNormal(1.0)}
    kwargs = defaults | {"likelihood": "beta-binomial"} | kwargs
    with pytest.raises(ValueError, match=match):
        br.sample_posterior(X, kwargs.pop("y"), prior=br.Gaussian(1.0), progress=False, **kwargs)


def test_sigma_is_seen_only_in_rows_of_two_trials_or_more():
    """scipy's beta-binomial: a row of one trial has the same mass at every sigma (a Bernoulli
    trial), and a row of n trials keeps a mass above 0 as sigma grows where y is 0 or n, while
    one with both outcomes loses it (as 1 / sigma²): the grounds of the two checks below."""
    sigmas = np.array([0.1, 1.0, 10.0, 1e3, 1e4])
    for eta in (-1.0, 0.5):
        for y in (0, 1):
            mass = _scipy_log_pmf(y, 1, eta, sigmas)
            np.testing.assert_allclose(mass, mass[0], rtol=1e-12)
        for y in (0, 6):
            assert _scipy_log_pmf(y, 6, eta, 1e4) == pytest.approx(
                _scipy_log_pmf(y, 6, eta, 1e3), abs=1e-5
            )
        both = _scipy_log_pmf(2, 6, eta, sigmas[-2:])
        assert both[1] - both[0] == pytest.approx(-2 * np.log(10), abs=1e-3)


def _rows(y, trials, **kwargs):
    """The beta-binomial model's arguments on 12 rows of two features."""
    X = np.random.default_rng(0).normal(size=(12, 2))
    return (
        {"X": X, "y": np.asarray(y, float), "prior": br.Gaussian(1.0)}
        | {
            "likelihood": "beta-binomial",
            "trials": trials,
        }
        | kwargs
    )


EDGES = np.where(np.arange(12) % 2, 5.0, 0.0)  # none or all of 5 trials: no row has both


@pytest.mark.parametrize(
    ("y", "trials", "weights"),
    [
        (EDGES, 5, None),
        (np.arange(12) % 2, 1, None),
        (np.r_[2, EDGES[1:]], 5, np.r_[0, np.ones(11)]),
    ],
    ids=["none-or-all", "one-trial-each", "both-only-at-weight-0"],
)
def test_a_flat_prior_on_sigma_needs_a_row_with_both_outcomes(y, trials, weights, no_compute):
    with pytest.raises(ValueError, match=r"flat prior on the beta-binomial's sigma .* improper"):
        br.sample_posterior(
            **_rows(y, trials, sigma=br.FlatNoise(), sample_weight=weights), progress=False
        )


def test_a_flat_prior_on_sigma_with_a_row_of_both_outcomes_is_accepted():
    args = _rows(np.r_[2, EDGES[1:]], 5, sigma=br.FlatNoise())
    check_model(args.pop("X"), args.pop("y"), **args)  # no refusal, no warning


def test_rows_of_one_trial_warn_that_sigma_is_its_prior(no_compute):
    """Before any computation, and at the caller's line."""
    match = "every row has one trial at most, .* whose posterior is its prior"
    with (
        pytest.warns(br.UninformedWarning, match=match) as record,
        pytest.raises(AssertionError, match="computation started"),
    ):
        br.sample_posterior(**_rows(np.arange(12) % 2, 1, sigma=br.HalfNormal(1.0)), progress=False)
    assert [w.filename for w in record] == [__file__]
    args = _rows(np.arange(12) % 2, np.r_[2, np.ones(11)], sigma=br.HalfNormal(1.0))
    check_model(args.pop("X"), args.pop("y"), **args)  # one row of two trials: no warning
    args = _rows(np.arange(12) % 2, 1, sigma=0.5)
    check_model(args.pop("X"), args.pop("y"), **args)  # a known sigma: no warning


CARD = """
title = "overdispersed successes"
description = "a beta-binomial card"
[data]
source = "csv:data.csv"
formula = "k ~ a + b + c"
test_fraction = 0.25
{trials}
[model]
likelihood = "beta-binomial"
{sigma}
[prior]
scale = 1.0
[posterior]
chains = 2
warmup = 300
draws = 300
"""


def test_a_card_reads_the_beta_binomial_with_its_trials_and_sigma(tmp_path):
    from bayes_reg.run.sections import intro_section, predictive_check_section
    from bayes_reg.run.sources import load_data

    X, y, trials = _successes(seed=7)
    pd.DataFrame(X, columns=["a", "b", "c"]).assign(k=y, n=trials).to_csv(
        tmp_path / "data.csv", index=False
    )
    path = tmp_path / "card.toml"
    half_normal = 'sigma = {prior = "half-normal", scale = 1.0}'
    path.write_text(CARD.format(trials='trials = "n"', sigma=half_normal))
    card = load_card(path)
    assert card.model.likelihood == "beta-binomial" and card.noise == br.HalfNormal(1.0)
    intro = intro_section(card, br.Gaussian(1.0), load_data(card))
    assert "overdispersion σ (each row's probability a beta of concentration 1/σ²)" in intro
    assert "more spread than the fitted σ gives" in predictive_check_section("beta-binomial")[1]
    path.write_text(CARD.format(trials='trials = "n"', sigma=""))
    with pytest.raises(CardError, match=r"\[model\] sigma: missing"):
        load_card(path)
    path.write_text(CARD.format(trials="", sigma=half_normal))
    with pytest.raises(CardError, match=r"\[data\] trials: missing: the beta-binomial"):
        load_card(path)


@pytest.mark.slow
def test_a_card_runs_the_beta_binomial_and_predicts_new_rows(tmp_path):
    from bayes_reg.cli import main

    X, y, trials = _successes(n=120, seed=7)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(k=y, n=trials)
    frame.to_csv(tmp_path / "data.csv", index=False)
    path = tmp_path / "card.toml"
    card = CARD.format(trials='trials = "n"', sigma='sigma = {prior = "half-normal", scale = 1.0}')
    path.write_text(card)
    summary = run_summary(path, tmp_path / "out")
    assert summary["likelihood"] == "beta-binomial" and summary["trials"] == "n"
    assert set(summary["held_out"]) >= {"rmse", "log_score", "crps", "coverage"}
    page = (tmp_path / "out" / "report.html").read_text()
    assert "rootogram" in page and "more spread than the fitted σ gives" in page
    frame.tail(5).to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "predictions.csv"
    command = ["predict", str(tmp_path / "out"), "--data", str(tmp_path / "new.csv")]
    assert main([*command, "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert (table["upper"] <= trials[-5:]).all() and (table["probability"] < 1).all()
