"""Every likelihood under every weight-prior family: the mode satisfies the optimality
conditions written out here in numpy (gradient zero off the kink, the kink's slope bound on
it), and NUTS's posterior matches NumPyro's own sampler on the model written here (20 pairs,
~40 s of CPU; five by default, the other fifteen with ``-m slow``; the negative binomial's
sampler is checked in ``test_negative_binomial.py``)."""

import itertools

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
from helpers import assert_same_posterior, numpyro_reference
from scipy.special import expit

import bayes_reg as br

LIKELIHOODS = ("gaussian", "student-t", "bernoulli", "poisson")
FAMILIES = {
    "flat": br.Flat(),
    "gaussian": br.Gaussian([1.0, 0.5, 2.0], mean=[0.5, 0.0, 0.0]),
    "laplace": br.Laplace(0.2),
    "elastic-net": br.ElasticNet(1.0, 0.2),
    "student-t": br.StudentT(3.0, 1.0, mean=0.2),
}
#: The mode's conditions are checked for the negative binomial (known sigma) too.
WITH_MODES = (*LIKELIHOODS, "negative-binomial")
SIGMA, DF = 0.8, 4.0


def _data(likelihood, n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    eta = X @ np.array([0.8, -0.5, 0.05]) + 0.3
    if likelihood == "gaussian":
        y = eta + SIGMA * rng.normal(size=n)
    elif likelihood == "student-t":
        y = eta + SIGMA * rng.standard_t(DF, size=n)
    elif likelihood == "bernoulli":
        y = (rng.random(n) < expit(eta)).astype(float)
    elif likelihood == "negative-binomial":  # gamma multipliers of mean 1 and sd SIGMA
        y = rng.poisson(np.exp(eta) * rng.gamma(SIGMA**-2, SIGMA**2, n)).astype(float)
    else:
        y = rng.poisson(np.exp(eta)).astype(float)
    return X, y


def _kw(likelihood):
    if likelihood in ("gaussian", "student-t", "negative-binomial"):
        return {"sigma": SIGMA} | ({"df": DF} if likelihood == "student-t" else {})
    return {}


def _nll_gradient(likelihood, X, y, w, b):
    """d(-log p(y | w, b)) / d(w, b), written out."""
    eta = X @ w + b
    if likelihood == "gaussian":
        r = -(y - eta) / SIGMA**2
    elif likelihood == "student-t":
        d = y - eta
        r = -(DF + 1) * d / (DF * SIGMA**2 + d**2)
    elif likelihood == "bernoulli":
        r = expit(eta) - y
    elif likelihood == "negative-binomial":  # log link, variance mu + SIGMA² mu²
        mu = np.exp(eta)
        r = (mu - y) / (1 + SIGMA**2 * mu)
    else:
        r = np.exp(eta) - y
    return X.T @ r, r.sum()


def _prior_gradient(prior, w):
    """The smooth part's gradient and the kink's rate and centre (0 rate: no kink)."""
    if isinstance(prior, br.Flat):
        return np.zeros_like(w), 0.0, 0.0
    if isinstance(prior, br.Gaussian):
        return (w - prior.mean) / prior.scale**2, 0.0, 0.0
    if isinstance(prior, br.StudentT):
        d = w - prior.mean
        return (prior.df + 1) * d / (prior.df * prior.scale**2 + d**2), 0.0, 0.0
    if isinstance(prior, br.Laplace):
        return np.zeros_like(w), 1.0 / prior.scale, prior.mean
    return w / prior.gaussian_scale**2, 1.0 / prior.laplace_scale, 0.0


@pytest.mark.parametrize(("likelihood", "family"), list(itertools.product(WITH_MODES, FAMILIES)))
def test_the_mode_satisfies_its_optimality_conditions(likelihood, family):
    X, y = _data(likelihood)
    prior = FAMILIES[family]
    mode = br.posterior_mode(X, y, prior, likelihood=likelihood, **_kw(likelihood))
    w, b = mode["w"], float(mode["b"])
    g_w, g_b = _nll_gradient(likelihood, X, y, w, b)
    g_prior, rate, centre = _prior_gradient(prior, w)
    smooth = g_w + g_prior
    scale = np.abs(_nll_gradient(likelihood, X, y, np.zeros(3), 0.0)[0]).max()
    assert abs(g_b) <= 1e-6 * scale
    on_kink = (w == centre) & (rate > 0)
    off = ~on_kink
    np.testing.assert_array_less(
        np.abs(smooth[off] + rate * np.sign(w[off] - centre)), 1e-6 * scale
    )
    np.testing.assert_array_less(np.abs(smooth[on_kink]), rate * (1 + 1e-9))


def _written_model(likelihood, family):
    """The model written out for NumPyro's own sampler (intercept flat)."""
    prior = FAMILIES[family]

    def model(X, y):
        if family == "elastic-net":
            w = numpyro.sample("w", prior.to_numpyro().expand([3]).to_event(1))
        elif family == "flat":
            w = numpyro.sample("w", dist.ImproperUniform(dist.constraints.real_vector, (), (3,)))
        else:
            w = numpyro.sample("w", prior.to_numpyro().expand([3]).to_event(1))
        b = numpyro.sample("b", dist.ImproperUniform(dist.constraints.real, (), ()))
        eta = X @ w + b
        if likelihood == "gaussian":
            numpyro.sample("y", dist.Normal(eta, SIGMA), obs=y)
        elif likelihood == "student-t":
            numpyro.sample("y", dist.StudentT(DF, eta, SIGMA), obs=y)
        elif likelihood == "bernoulli":
            numpyro.sample("y", dist.Bernoulli(logits=eta), obs=y)
        else:
            numpyro.sample("y", dist.Poisson(jnp.exp(eta)), obs=y)

    return model


#: The default run samples five pairs, in which every likelihood and every prior family
#: appears; the other fifteen run with ``-m slow`` (each ~2 s, nearly all of it compiling the
#: NUTS program; NumPyro's posterior is stored, see tests/reference/README.md).
COVERING = {
    ("gaussian", "flat"),
    ("gaussian", "student-t"),
    ("student-t", "gaussian"),
    ("bernoulli", "laplace"),
    ("poisson", "elastic-net"),
}


@pytest.mark.parametrize(
    ("likelihood", "family"),
    [
        pytest.param(*pair, marks=[pytest.mark.slow] * (pair not in COVERING))
        for pair in itertools.product(LIKELIHOODS, FAMILIES)
    ],
)
def test_nuts_matches_numpyros_sampler_for_every_pair(likelihood, family):
    X, y = _data(likelihood)
    post = br.sample_posterior(
        X,
        y,
        prior=FAMILIES[family],
        likelihood=likelihood,
        method="nuts",
        sampler=br.Sampler(chains=2, warmup=1000, draws=2000),
        progress=False,
        **_kw(likelihood),
    )
    ref = numpyro_reference(_written_model(likelihood, family), X, y, seed=1)
    assert_same_posterior(post.tree, ref, ["w", "b"])
