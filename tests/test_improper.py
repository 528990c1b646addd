"""Improper posteriors seen from the data (:mod:`bayes_reg.linear.improper`): each refusal
comes before any computation, and each is grounded here by the likelihood itself, computed with
scipy, not falling along the direction the refusal names."""

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

import bayes_reg as br
from bayes_reg.linear.improper import check_proper
from bayes_reg.linear.map import posterior_mode
from bayes_reg.noise import as_noise
from bayes_reg.priors import Flat

X = np.random.default_rng(0).normal(size=(12, 2))
ETA = X @ [0.5, -0.3]  # a linear predictor without its intercept
B = np.array([2.0, 5.0, 10.0, 20.0])  # the intercept, toward +∞ (or -B toward -∞)

EDGES = {
    "bernoulli-all-0": ("bernoulli", np.zeros(12), {}, "every row's y is 0", "-∞"),
    "bernoulli-all-1": ("bernoulli", np.ones(12), {}, "every row's y is 1", "+∞"),
    "binomial-all-0": ("binomial", np.zeros(12), {"trials": 4}, "every row's y is 0", "-∞"),
    "binomial-all-trials": (
        "binomial",
        np.r_[np.full(6, 4.0), np.zeros(6)],
        {"trials": np.r_[np.full(6, 4), np.zeros(6)]},  # rows of 0 trials inform nothing
        "every row's y is its trials",
        "+∞",
    ),
    "poisson-all-0": ("poisson", np.zeros(12), {}, "every count is 0", "-∞"),
    "negative-binomial-all-0": (
        "negative-binomial",
        np.zeros(12),
        {"sigma": br.HalfNormal(1.0)},
        "every count is 0",
        "-∞",
    ),
    "beta-binomial-all-trials": (
        "beta-binomial",
        np.full(12, 3.0),
        {"trials": 3, "sigma": 0.5},
        "every row's y is its trials",
        "+∞",
    ),
}


def _log_likelihood(likelihood, y, eta, trials=None, sigma=None):
    """Summed over the rows, by scipy."""
    if likelihood == "bernoulli":
        return stats.bernoulli.logpmf(y, expit(eta)).sum()
    if likelihood == "binomial":
        return stats.binom.logpmf(y, trials, expit(eta)).sum()
    if likelihood == "beta-binomial":
        phi = sigma**-2
        return stats.betabinom.logpmf(y, trials, expit(eta) * phi, expit(-eta) * phi).sum()
    if likelihood == "poisson":
        return stats.poisson.logpmf(y, np.exp(eta)).sum()
    phi = sigma**-2  # the negative binomial of mean exp(eta), variance mu + sigma² mu²
    return stats.nbinom.logpmf(y, phi, phi / (phi + np.exp(eta))).sum()


@pytest.mark.parametrize("case", EDGES.values(), ids=EDGES.keys())
def test_outcomes_at_one_end_rise_toward_likelihood_1_as_the_intercept_goes_there(case):
    likelihood, y, kwargs, _, where = case
    trials = np.broadcast_to(kwargs.get("trials", 1), y.shape)
    sigma = 0.5 if "sigma" in kwargs else None
    b = B if where == "+∞" else -B
    values = [_log_likelihood(likelihood, y, ETA + bi, trials, sigma) for bi in b]
    assert np.all(np.diff(values) > 0) and -1e-3 < values[-1] < 0, values


@pytest.mark.parametrize("case", EDGES.values(), ids=EDGES.keys())
def test_outcomes_at_one_end_under_a_flat_intercept_are_refused(case, no_compute):
    likelihood, y, kwargs, end, where = case
    kwargs = dict(kwargs)
    match = re.escape(
        f"{end}, so under the flat intercept the likelihood rises toward 1 as b goes to {where}"
    )
    for fit in (br.sample_posterior, posterior_mode):
        with pytest.raises(ValueError, match=match):
            fit(X, y, prior=br.Gaussian(1.0), likelihood=likelihood, **kwargs)
    # A proper intercept makes the posterior proper.
    noise = kwargs.pop("sigma", None)
    check_proper(X, y, br.Gaussian(1.0), likelihood, br.Gaussian(2.5), None, **kwargs)
    if noise is not None:
        check_proper(X, y, br.Gaussian(1.0), likelihood, br.Gaussian(2.5), as_noise(noise))


def test_a_row_of_the_other_outcome_is_enough_unless_its_weight_is_0(no_compute):
    y = np.r_[1.0, np.zeros(11)]
    check_proper(X, y, br.Gaussian(1.0), "bernoulli", True, None)
    weight = np.r_[0.0, np.ones(11)]
    with pytest.raises(ValueError, match="every row's y is 0"):
        br.sample_posterior(
            X, y, prior=br.Gaussian(1.0), likelihood="bernoulli", sample_weight=weight
        )


def test_a_flat_prior_on_the_negative_binomials_sigma_needs_a_count_above_0(no_compute):
    """Every count 0: P(0) = (phi / (phi + mu))^phi rises toward 1 as sigma = 1/sqrt(phi) grows."""
    sigmas = np.array([1.0, 10.0, 100.0, 1000.0])
    values = [_log_likelihood("negative-binomial", np.zeros(12), ETA, sigma=s) for s in sigmas]
    assert np.all(np.diff(values) > 0) and -1e-3 < values[-1] < 0, values
    kwargs = {"prior": br.Gaussian(1.0), "likelihood": "negative-binomial", "intercept_scale": 2.5}
    with pytest.raises(
        ValueError, match="flat prior on the negative binomial's sigma needs a count"
    ):
        br.sample_posterior(X, np.zeros(12), sigma=br.FlatNoise(), **kwargs)
    check_proper(
        X,
        np.r_[2.0, np.zeros(11)],
        kwargs["prior"],
        "negative-binomial",
        br.Gaussian(2.5),
        br.FlatNoise(),
    )


def _exact():
    """y = 1 + 2 x exactly, on 6 rows of one feature: rank 2 with the intercept."""
    x = np.linspace(-1, 1, 6)[:, None]
    return x, 1 + 2 * x[:, 0]


def test_an_exact_fit_has_a_likelihood_growing_as_sigma_to_the_rank_minus_the_rows():
    """Integrated over flat (w, b) on a grid around the fit: sigma^-(6 - 2), so 10^4 times more
    at a tenth of sigma; with noise in y it falls to 0 instead."""
    x, y = _exact()

    def integrated(y, sigma):
        w, b = np.meshgrid(*(np.linspace(c - 20 * sigma, c + 20 * sigma, 801) for c in (2, 1)))
        density = stats.norm.pdf(y[:, None, None], b + w * x[:, :, None], sigma).prod(0)
        return density.sum() * (40 * sigma / 800) ** 2

    ratio = integrated(y, 0.001) / integrated(y, 0.01)
    assert ratio == pytest.approx(1e4, rel=1e-6)
    noisy = y + np.random.default_rng(1).normal(0, 0.1, 6)
    assert integrated(noisy, 0.001) < 1e-100 < integrated(noisy, 0.1)
    # A gamma's density at its mean grows the same way, as 1 / (sigma mu sqrt(2 pi)), so an
    # exact fit of its log y is the same.
    for sigma in (1e-2, 1e-3):
        at_mean = stats.gamma.pdf(3.0, sigma**-2, scale=3.0 * sigma**2)
        assert sigma * at_mean == pytest.approx(1 / (3 * np.sqrt(2 * np.pi)), rel=1e-4)


@pytest.mark.parametrize("likelihood", ["gaussian", "student-t", "gamma"])
@pytest.mark.parametrize(
    "noise", [br.HalfNormal(1.0), br.HalfCauchy(1.0), br.Exponential(1.0), br.FlatNoise()]
)
def test_an_exact_fit_under_a_prior_on_sigma_positive_at_0_is_refused(
    likelihood, noise, no_compute
):
    x, line = _exact()
    fitted = "log y" if likelihood == "gamma" else "y"
    for y in (line, np.full(6, 3.0)):  # a line, and a constant
        y = np.exp(y) if likelihood == "gamma" else y  # the gamma's mean is exp(eta)
        with pytest.raises(ValueError, match=f"the design fits {fitted} exactly .* improper"):
            br.sample_posterior(x, y, prior=br.Gaussian(1.0), likelihood=likelihood, sigma=noise)


def test_an_exact_fit_is_accepted_where_the_posterior_is_proper(no_compute):
    x, y = _exact()
    prior = br.Gaussian(1.0)
    check_proper(x, y, prior, "gaussian", True, as_noise(0.5))  # sigma known
    check_proper(x, y, prior, "gaussian", True, br.InverseGamma(2.0, 1.0))  # vanishes at 0
    check_proper(x[:2], y[:2], prior, "gaussian", True, br.HalfNormal(1.0))  # rows = rank
    # Weights of 1/2 on 6 rows: sigma^-(3 - 2) at most, whose integral at 0 still diverges ...
    with pytest.raises(ValueError, match="fits y exactly"):
        check_proper(x, y, prior, "gaussian", True, br.HalfNormal(1.0), np.full(6, 0.5))
    # ... and of 0.4: sigma^-0.4, which converges.
    check_proper(x, y, prior, "gaussian", True, br.HalfNormal(1.0), np.full(6, 0.4))
    noisy = y + np.random.default_rng(1).normal(0, 1e-6, 6)
    check_proper(x, noisy, prior, "gaussian", True, br.HalfNormal(1.0))


def test_a_proper_intercept_is_no_flat_direction_of_the_weights(no_compute):
    """Flat weights with a Gaussian intercept: a constant column then is no flat direction
    (along w_c = t, b = -t the intercept's prior falls), nor are classes that a threshold
    separates but no line through 0 (x has both signs); with a flat intercept both are
    refused."""
    x = np.random.default_rng(2).normal(size=(12, 1))
    constant = np.column_stack([x, np.ones(12)])
    y = (x[:, 0] > 0).astype(float)
    y[[np.argmin(x), np.argmax(x)]] = [1.0, 0.0]  # not separable by any line
    with pytest.raises(ValueError, match="a flat prior on 3 coefficients needs a design of full"):
        check_proper(constant, y, Flat(), "bernoulli", True, None)
    check_proper(constant, y, Flat(), "bernoulli", br.Gaussian(2.5), None)
    top = (x[:, 0] == x.max()).astype(float)  # separable by a threshold, not through 0
    with pytest.raises(ValueError, match="linearly separable"):
        check_proper(x, top, Flat(), "bernoulli", True, None)
    check_proper(x, top, Flat(), "bernoulli", br.Gaussian(2.5), None)


#: A category of 10 rows (c) whose outcomes all sit at 0, beside rows of both outcomes: no
#: line separates the classes, but the category's coefficient going to -∞ moves its rows
#: toward their outcome and leaves the rest where they are (quasi-separation).
CATEGORY = {
    "bernoulli": ({}, lambda r: (r.random(40) < 0.5).astype(float)),
    "binomial": ({"trials": 4}, lambda r: r.binomial(4, 0.5, 40).astype(float)),
    "beta-binomial": ({"trials": 4, "sigma": 0.5}, lambda r: r.binomial(4, 0.5, 40) * 1.0),
    "poisson": ({}, lambda r: r.poisson(2.0, 40).astype(float)),
    "negative-binomial": ({"sigma": 0.5}, lambda r: r.poisson(2.0, 40).astype(float)),
}


def _category_table(likelihood):
    kwargs, draw = CATEGORY[likelihood]
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=40), "group": np.repeat(list("abcd"), 10)})
    frame["y"] = np.where(frame["group"] == "c", 0.0, draw(rng))
    frame["n"] = kwargs.get("trials", 1)
    return frame, kwargs


@pytest.mark.parametrize("likelihood", CATEGORY)
def test_a_category_of_one_outcome_rises_toward_the_other_rows_likelihood(likelihood):
    """Along the category's coefficient to -∞ the likelihood rises toward that of the rows
    outside it, which is above 0: under a flat prior the integral along it diverges. With one
    row of the category above 0 it falls as e^-t instead (that row's mass, ~ its mean)."""
    frame, kwargs = _category_table(likelihood)
    y, trials, sigma = frame["y"].to_numpy(copy=True), frame["n"].to_numpy(), kwargs.get("sigma")
    c = (frame["group"] == "c").to_numpy()
    eta = 0.2 + 0.3 * frame["x"].to_numpy()
    values = [_log_likelihood(likelihood, y, eta - t * c, trials, sigma) for t in B]
    rest = _log_likelihood(likelihood, y[~c], eta[~c], trials[~c], sigma)
    assert np.all(np.diff(values) > 0) and 0 < rest - values[-1] < 1e-3, (values, rest)
    y[np.flatnonzero(c)[0]] = 1.0
    values = [_log_likelihood(likelihood, y, eta - t * c, trials, sigma) for t in B]
    assert values[-1] - values[-2] < -0.9 * (B[-1] - B[-2]), values


@pytest.mark.parametrize("likelihood", CATEGORY)
def test_a_category_of_one_outcome_under_a_flat_prior_is_refused(likelihood, no_compute):
    frame, kwargs = _category_table(likelihood)
    kwargs = kwargs | {"trials": "n"} if "trials" in kwargs else kwargs
    what = (
        "the zero counts are separable: along a direction of the coefficients of group[T.c], "
        "the mean of 10 rows of count 0 falls toward 0"
        if likelihood in ("poisson", "negative-binomial")
        else "the classes are quasi-separable: along a direction of the coefficients of "
        "group[T.c], 10 of the 40 rows move toward their outcome"
    )
    with pytest.raises(ValueError, match=re.escape(what) + ".* improper"):
        br.fit("y ~ x + group", frame, prior=Flat(), likelihood=likelihood, **kwargs)
    # One row of the category above 0, or a proper prior on the weights: proper.
    X = pd.get_dummies(frame[["x", "group"]], drop_first=True, dtype=float).to_numpy()
    y, trials = frame["y"].to_numpy(copy=True), kwargs.get("trials") and frame["n"].to_numpy()
    check_proper(X, y, br.Gaussian(2.5), likelihood, True, None, trials=trials)
    y[20] = 1.0  # the first row of c
    check_proper(X, y, Flat(), likelihood, True, None, trials=trials)


def test_a_rare_category_in_a_large_table_is_seen(no_compute):
    """Past the rows of the subset that screens a table, 3 rows of one outcome among 20,000
    are still seen (the subset misses them, so it lacks full rank and the whole table is
    checked), 3 of both outcomes are not refused, nor is the table without them (the subset
    clears it)."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=20_000)
    rare = np.zeros(20_000)
    rare[:3] = 1.0
    y = (rng.random(20_000) < expit(0.5 * x)).astype(float)
    y[:3] = 0.0
    X = np.column_stack([x, rare])
    with pytest.raises(ValueError, match="quasi-separable: .* of x1, 3 of the 20000 rows"):
        check_proper(X, y, Flat(), "bernoulli", True, None)
    y[0] = 1.0
    check_proper(X, y, Flat(), "bernoulli", True, None)
    check_proper(X[:, :1], y, Flat(), "bernoulli", True, None)


def test_one_outcome_only_names_the_intercept_first(no_compute):
    """Under flat weights too: no prior on them would make the posterior proper."""
    with pytest.raises(ValueError, match="every row's y is 0, so under the flat intercept"):
        check_proper(X, np.zeros(12), Flat(), "bernoulli", True, None)
