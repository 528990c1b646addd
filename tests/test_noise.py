"""The noise value types: their densities against scipy, their refusals, and NUTS's posterior of
sigma under each prior against a one-dimensional quadrature of the exact marginal posterior."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
import scipy.integrate
import scipy.stats

import bayes_reg as br
from bayes_reg.noise import NOISE_PRIORS, NumPyroNoise, as_noise, noise_from_name
from bayes_reg.run.card import CardError, load_card

SIGMAS = np.array([0.05, 0.3, 1.0, 2.5, 7.0])

# Each noise prior beside its density from scipy (an independent implementation).
PRIORS = [
    (br.HalfNormal(1.5), scipy.stats.halfnorm(scale=1.5).pdf),
    (br.HalfCauchy(2.5), scipy.stats.halfcauchy(scale=2.5).pdf),
    (br.HalfStudentT(3.0, 1.0), lambda s: 2 * scipy.stats.t(3.0, scale=1.0).pdf(s)),
    (br.Exponential(2.0), scipy.stats.expon(scale=0.5).pdf),
    # sigma^2 ~ InvGamma(a, b): the density of sigma is that of sigma^2 times d(sigma^2)/d(sigma)
    (br.InverseGamma(3.0, 1.0), lambda s: scipy.stats.invgamma(3.0, scale=1.0).pdf(s**2) * 2 * s),
    (br.FlatNoise(), lambda s: np.ones_like(s)),
]
IDS = [type(p).__name__ for p, _ in PRIORS]


@pytest.mark.parametrize(("noise", "pdf"), PRIORS, ids=IDS)
def test_each_noise_prior_has_the_density_of_its_name(noise, pdf):
    assert not noise.known
    log_prob = np.asarray(noise.to_numpyro().log_prob(jnp.asarray(SIGMAS)))
    np.testing.assert_allclose(log_prob, np.log(pdf(SIGMAS)), rtol=1e-12, atol=1e-12)


def test_the_names_build_the_same_values():
    assert noise_from_name("half-cauchy", scale=2.5) == br.HalfCauchy(2.5)
    assert noise_from_name("half-student-t", df=3.0, scale=1.0) == br.HalfStudentT(3.0, 1.0)
    assert noise_from_name("inverse-gamma", concentration=3.0, rate=1.0) == br.InverseGamma(3, 1)
    assert noise_from_name("flat") == br.FlatNoise()
    assert set(NOISE_PRIORS) == {
        "half-normal",
        "half-cauchy",
        "half-student-t",
        "exponential",
        "inverse-gamma",
        "flat",
    }


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: br.Known(0.0), ValueError, "sigma must be > 0, got 0.0"),
        (lambda: br.HalfCauchy(-1.0), ValueError, "scale must be > 0, got -1.0"),
        (lambda: br.HalfStudentT(0.0, 1.0), ValueError, "df must be > 0, got 0.0"),
        (lambda: br.Exponential(float("inf")), ValueError, "rate must be finite"),
        (lambda: br.HalfNormal("wide"), TypeError, "scale must be a number, got 'wide'"),
        (lambda: as_noise(dist.Normal(0.0, 1.0)), ValueError, "no mass on negative values"),
        (lambda: as_noise(-2.0), ValueError, "sigma must be > 0, got -2.0"),
        (
            lambda: noise_from_name("half-laplace", scale=1.0),
            ValueError,
            "unknown noise prior .half-laplace.; choose one of",
        ),
        (lambda: noise_from_name("half-cauchy"), ValueError, "takes scale; got none"),
        (lambda: noise_from_name("flat", scale=1.0), ValueError, "takes no parameters; got"),
    ],
)
def test_bad_noise_is_refused_with_its_name(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_as_noise_keeps_values_and_wraps_numbers_and_distributions():
    assert as_noise(0.5) == br.Known(0.5) and as_noise(0.5).known
    prior = br.HalfCauchy(1.0)
    assert as_noise(prior) is prior
    wrapped = as_noise(dist.LogNormal(0.0, 1.0))
    assert isinstance(wrapped, NumPyroNoise) and not wrapped.known


def test_noise_values_are_pytrees_traced_by_a_compiled_function():
    @jax.jit
    def log_density(noise, s):
        return noise.to_numpyro().log_prob(s)

    for noise, pdf in PRIORS:
        leaves = jax.tree_util.tree_leaves(noise)
        assert len(leaves) == len(vars(noise))
        np.testing.assert_allclose(log_density(noise, 0.7), np.log(pdf(0.7)), rtol=1e-12)
    assert jax.jit(lambda k: k.site())(br.Known(0.25)) == 0.25


# --------------------------------------------------------------------------------------
# NUTS under each noise prior against quadrature

N, G, C = 30, 1.0, 5.0  # rows, weight prior sd, intercept prior sd


def _problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N, 2))
    return X, 0.4 + X @ np.array([1.0, -0.5]) + 0.5 * rng.normal(size=N)


def _quadrature(X, y, pdf):
    """Mean and sd of sigma and the mean of w under the exact marginal posterior of sigma:
    with (b, w) integrated out, y ~ N(0, sigma² I + G² X Xᵀ + C² 1 1ᵀ)."""
    grid = np.geomspace(0.05, 5.0, 4001)
    prior_cov = G**2 * X @ X.T + C**2
    log_post, w_mean = [], []
    for s in grid:
        K = s**2 * np.eye(N) + prior_cov
        log_post.append(scipy.stats.multivariate_normal(np.zeros(N), K).logpdf(y))
        w_mean.append(G**2 * X.T @ np.linalg.solve(K, y))
    log_post = np.array(log_post) + np.log(pdf(grid))
    weight = np.exp(log_post - log_post.max())
    weight /= scipy.integrate.trapezoid(weight, grid)
    mean = scipy.integrate.trapezoid(weight * grid, grid)
    sd = np.sqrt(scipy.integrate.trapezoid(weight * (grid - mean) ** 2, grid))
    w = scipy.integrate.trapezoid(weight[:, None] * np.array(w_mean), grid, axis=0)
    return mean, sd, w


@pytest.mark.parametrize(("noise", "pdf"), PRIORS, ids=IDS)
def test_nuts_samples_sigma_under_each_prior(noise, pdf):
    X, y = _problem()
    post = br.sample_posterior(
        X,
        y,
        prior=br.Gaussian(G),
        sigma=noise,
        intercept_scale=C,
        sampler=br.Sampler(chains=2, warmup=500, draws=1000),
        seed=1,
        progress=False,
    )
    assert not post.exact and post.diagnostics.divergences == 0
    mean, sd, w = _quadrature(X, y, pdf)
    sigma = post.pooled("sigma")
    ess = post.diagnostics.min_ess_bulk
    assert abs(sigma.mean() - mean) < 4 * sd / np.sqrt(ess)
    assert sigma.std() == pytest.approx(sd, rel=0.15)
    w_draws = post.pooled("w")
    np.testing.assert_array_less(np.abs(w_draws.mean(0) - w), 4 * w_draws.std(0) / np.sqrt(ess))


# --------------------------------------------------------------------------------------
# Cards name the priors


CARD = """
[data]
source = "d2l"
[model]
sigma = {sigma}
[prior]
family = "gaussian"
scale = 1.0
"""


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("0.5", br.Known(0.5)),
        ('{prior = "half-cauchy", scale = 2.5}', br.HalfCauchy(2.5)),
        ('{prior = "half-student-t", df = 3, scale = 1}', br.HalfStudentT(3.0, 1.0)),
        ('{prior = "exponential", rate = 2}', br.Exponential(2.0)),
        ('{prior = "inverse-gamma", concentration = 3, rate = 1}', br.InverseGamma(3.0, 1.0)),
        ('{prior = "flat"}', br.FlatNoise()),
    ],
)
def test_a_card_names_its_noise_prior(tmp_path, written, expected):
    path = tmp_path / "card.toml"
    path.write_text(CARD.format(sigma=written))
    assert load_card(path).noise == expected


@pytest.mark.parametrize(
    ("written", "match"),
    [
        ('{prior = "half-laplace", scale = 1}', r"unknown prior 'half-laplace'; choose prior"),
        ('{prior = "half-cauchy"}', r"\[model\] sigma: the half-cauchy noise prior takes scale"),
        ('{prior = "half-cauchy", scale = -1}', r"\[model\] sigma.scale: must be > 0, got -1"),
        ('{prior = "flat", scale = 1}', "the flat noise prior takes no parameters"),
    ],
)
def test_a_card_with_a_bad_noise_prior_is_refused(tmp_path, written, match):
    path = tmp_path / "card.toml"
    path.write_text(CARD.format(sigma=written))
    with pytest.raises(CardError, match=match):
        load_card(path)
