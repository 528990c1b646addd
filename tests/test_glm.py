"""The model vocabulary: likelihoods (Gaussian, Student-t, Bernoulli, Poisson), weight priors
with means and one scale per feature, flat and Student-t priors, intercept priors or none.

Every posterior and mode is set against an independent reference: scikit-learn's fits, a
closed form written here, scipy's optimiser on a log posterior written here, or NumPyro's own
``MCMC`` on a model written here.
"""

import arviz_stats
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pytest
import scipy.optimize
import scipy.special
import scipy.stats
from helpers import assert_same_posterior, numpyro_reference
from sklearn.linear_model import Lasso, LogisticRegression, PoissonRegressor

import bayes_reg as br
from bayes_reg.linear.improper import check_proper
from bayes_reg.linear.map import posterior_mode
from bayes_reg.priors import Flat, StudentT

SAMPLER = br.Sampler(chains=2, warmup=500, draws=1000)


def test_the_bernoulli_mass_and_its_slope_are_exact_at_every_log_odds():
    """Against scipy's log_expit, to rounding, from -700 to 700; the slope y - expit(eta)
    (expit(-eta) for a 1, -expit(eta) for a 0) at eta = 0 too, where NumPyro's form (max, |.|
    and a log1p) is 1/2 off: every row sits there when the coefficients start at 0."""
    from bayes_reg.linear.distributions import observation

    eta = np.r_[np.linspace(-700, 700, 2801), 0.0, 1e-300]
    for y in (0.0, 1.0):
        exact = scipy.special.log_expit(eta if y else -eta)
        ours = np.asarray(observation("bernoulli", eta).log_prob(y))
        np.testing.assert_allclose(ours, exact, rtol=1e-15, atol=0)
        slope = jax.vmap(jax.grad(lambda e, y=y: observation("bernoulli", e).log_prob(y)))(eta)
        exact = scipy.special.expit(-eta) if y else -scipy.special.expit(eta)
        # JAX's softplus slope, a sigmoid, within a few ulps (3e-15 under JAX 0.11)
        np.testing.assert_allclose(slope, exact, rtol=1e-14, atol=0)


def _logistic(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    p = 1 / (1 + np.exp(-(X @ np.array([1.0, -2.0, 0.5]) + 0.3)))
    return X, (rng.random(n) < p).astype(float)


def _counts(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    exposure = rng.uniform(0.5, 3.0, size=n)
    y = rng.poisson(exposure * np.exp(X @ np.array([0.3, -0.2, 0.1]) + 1.0)).astype(float)
    return X, y, exposure


def _mode(X, y, prior, **kw):
    mode = posterior_mode(X, y, prior, **kw)
    return mode["w"], float(mode["b"])


# --------------------------------------------------------------------------------------
# Modes against scikit-learn


@pytest.mark.parametrize("C", [0.05, 1.0, 20.0])
def test_logistic_map_is_sklearns_l2_logistic_regression(C):
    # C sum(log loss) + ||w||^2 / 2 is, over C, the negative log posterior under N(0, C).
    X, y = _logistic()
    sk = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    w, b = _mode(X, y, br.Gaussian(np.sqrt(C)), likelihood="bernoulli")
    np.testing.assert_allclose(w, sk.coef_[0], rtol=1e-6)
    assert b == pytest.approx(sk.intercept_[0], rel=1e-6)


def test_logistic_map_is_sklearns_l1_logistic_regression_zeros_included():
    # C sum(log loss) + ||w||_1 is, over C, the negative log posterior under Laplace(C).
    X, y = _logistic()
    X = np.column_stack([X, np.random.default_rng(1).normal(size=(len(y), 2))])  # noise
    C = 0.02
    sk = LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-12, max_iter=200_000)
    sk.fit(X, y)
    w, b = _mode(X, y, br.Laplace(C), likelihood="bernoulli")
    assert np.array_equal(w == 0, sk.coef_[0] == 0) and (w == 0).any()
    np.testing.assert_allclose(w, sk.coef_[0], rtol=1e-6, atol=1e-9)
    assert b == pytest.approx(sk.intercept_[0], rel=1e-6)


@pytest.mark.parametrize("alpha", [1e-3, 0.05])
def test_poisson_map_with_exposure_is_sklearns_poisson_regressor(alpha):
    # PoissonRegressor minimises sum_i e_i dev_i / (2 sum e) + alpha ||w||^2 / 2 on the rate
    # y / e with weights e, which is NLL / sum(e) + alpha ||w||^2 / 2 for y ~ Poisson(e exp(eta)):
    # the negative log posterior under N(0, 1 / (alpha sum e)), offset log e.
    X, y, exposure = _counts()
    sk = PoissonRegressor(alpha=alpha, tol=1e-12, max_iter=10_000)
    sk.fit(X, y / exposure, sample_weight=exposure)
    prior = br.Gaussian(1 / np.sqrt(alpha * exposure.sum()))
    w, b = _mode(X, y, prior, likelihood="poisson", offset=np.log(exposure))
    np.testing.assert_allclose(w, sk.coef_, rtol=1e-6)
    assert b == pytest.approx(sk.intercept_, rel=1e-6)


def test_a_laplace_prior_with_means_and_scales_has_sklearns_lasso_mode():
    # u = (w - m) / l turns sum |w - m| / l into ||u||_1 on the design X diag(l) and target
    # y - X m; Lasso(alpha) is then the mode for alpha = sigma^2 / n.
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 4))
    y = X @ np.array([2.0, 0.0, -1.0, 0.1]) + 0.5 * rng.normal(size=60)
    mean, scale, sigma = np.array([1.0, 0.0, 0.0, 0.5]), np.array([0.2, 0.5, 2.0, 0.05]), 2.0
    lasso = Lasso(alpha=sigma**2 / 60, tol=1e-14, max_iter=1_000_000)
    lasso.fit(X * scale, y - X @ mean)
    w, b = _mode(X, y, br.Laplace(scale, mean=mean), sigma=sigma)
    np.testing.assert_allclose(w, mean + scale * lasso.coef_, rtol=1e-6, atol=1e-10)
    assert np.array_equal(w == mean, lasso.coef_ == 0) and (w == mean).any()
    assert b == pytest.approx(lasso.intercept_, rel=1e-6)


def test_student_t_likelihood_map_matches_scipy_on_its_log_posterior():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 2))
    y = X @ np.array([1.0, -1.0]) + 0.5 + 0.3 * rng.standard_t(2, size=80)
    prior, mean = br.StudentT(3.0, [2.0, 0.5], mean=[0.5, 0.0]), np.array([0.5, 0.0])

    def negative_log_posterior(theta):
        w, b = theta[:2], theta[2]
        lik = scipy.stats.t(4.0, X @ w + b, 0.3).logpdf(y).sum()
        return -lik - scipy.stats.t(3.0, mean, [2.0, 0.5]).logpdf(w).sum()

    ref = scipy.optimize.minimize(negative_log_posterior, np.zeros(3), method="BFGS", tol=1e-12).x
    w, b = _mode(X, y, prior, sigma=0.3, likelihood="student-t", df=4.0)
    np.testing.assert_allclose(np.append(w, b), ref, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------------------
# Gaussian posteriors against closed forms


def _closed_form(X, y, sigma, prior_mean, prior_sd, intercept):
    """The Gaussian posterior of (b, w) (or w alone) written out: precision and mean."""
    Z = np.column_stack([np.ones(len(y)), X]) if intercept is not None else X
    prior_mean, prior_prec = np.asarray(prior_mean, float), 1 / np.asarray(prior_sd, float) ** 2
    if intercept is not None:  # (mean, sd) of b; sd inf is a flat prior
        prior_mean = np.append(intercept[0], prior_mean)
        prior_prec = np.append(1 / intercept[1] ** 2, prior_prec)
    A = Z.T @ Z / sigma**2 + np.diag(prior_prec)
    cov = np.linalg.inv(A)
    return cov @ (Z.T @ y / sigma**2 + prior_prec * prior_mean), cov


def _data(n=40, d=3, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * [1.0, 3.0, 0.2]
    return X, X @ np.array([0.5, -0.3, 2.0]) + 1.5 + 0.4 * rng.normal(size=n)


def _agrees(post, names, mean, cov):
    """Posterior means within 4 Monte-Carlo standard errors, sds within 10%."""
    draws = np.column_stack([post.pooled(v).reshape(len(post.pooled(v)), -1) for v in names])
    mcse = np.concatenate(
        [np.atleast_1d(arviz_stats.mcse(post.tree["posterior"][v].to_dataset())[v]) for v in names]
    )
    assert np.all(np.abs(draws.mean(0) - mean) < 4 * mcse), (draws.mean(0), mean)
    np.testing.assert_allclose(draws.std(0), np.sqrt(np.diag(cov)), rtol=0.1)


@pytest.mark.parametrize(
    ("prior", "intercept", "kw"),
    [
        # flat weights and intercept: the posterior is the least-squares sampling distribution
        (Flat(), (0.0, np.inf), {}),
        # a mean and one scale per feature
        (br.Gaussian([0.1, 1.0, 10.0], mean=[1.0, 0.0, -2.0]), (0.0, np.inf), {}),
        # an intercept prior with a mean
        (br.Gaussian(1.0), (3.0, 0.5), {"intercept": br.Gaussian(0.5, mean=3.0)}),
        # no intercept
        (br.Gaussian(2.0), None, {"intercept": False}),
    ],
    ids=["flat", "means-and-scales", "intercept-mean", "no-intercept"],
)
def test_nuts_matches_the_closed_form_gaussian_posterior(prior, intercept, kw):
    X, y = _data()
    prior_mean = getattr(prior, "mean", np.zeros(3)) * np.ones(3)
    prior_sd = getattr(prior, "scale", np.inf) * np.ones(3)
    mean, cov = _closed_form(X, y, 0.4, prior_mean, prior_sd, intercept)
    post = br.sample_posterior(
        X, y, prior=prior, sigma=0.4, method="nuts", sampler=SAMPLER, seed=4, progress=False, **kw
    )
    assert not post.exact and post.diagnostics.divergences == 0
    names = ["w"] if intercept is None else ["b", "w"]
    assert ("b" in post.tree["posterior"]) == (intercept is not None)
    _agrees(post, names, mean, cov)


# --------------------------------------------------------------------------------------
# GLM and robust posteriors against NumPyro's own MCMC on models written here


def _glm_model(likelihood, prior_sd, df=None):
    """The GLM written out, for NumPyro's own sampler: w ~ N(0, sd²), flat b."""

    def model(X, y, offset=0.0, sigma=None):
        w = numpyro.sample("w", dist.Normal(0.0, prior_sd).expand([X.shape[1]]).to_event(1))
        b = numpyro.sample("b", dist.ImproperUniform(dist.constraints.real, (), ()))
        eta = X @ w + b + offset
        if likelihood == "bernoulli":
            numpyro.sample("y", dist.Bernoulli(logits=eta), obs=y)
        elif likelihood == "poisson":
            numpyro.sample("y", dist.Poisson(jnp.exp(eta)), obs=y)
        else:
            scale = numpyro.sample("sigma", dist.HalfCauchy(1.0))
            numpyro.sample("y", dist.StudentT(df, eta, scale), obs=y)

    return model


def test_logistic_posterior_matches_numpyros_sampler():
    X, y = _logistic(n=60)
    post = br.sample_posterior(
        X, y, prior=br.Gaussian(2.0), likelihood="bernoulli", sampler=SAMPLER, progress=False
    )
    assert post.diagnostics.divergences == 0 and "sigma" not in post.tree["posterior"]
    assert set(np.unique(post.tree["posterior_predictive"]["y"].values)) <= {0.0, 1.0}
    assert_same_posterior(
        post.tree, numpyro_reference(_glm_model("bernoulli", 2.0), X, y), ["w", "b"]
    )


def test_poisson_posterior_with_exposure_matches_numpyros_sampler():
    X, y, exposure = _counts(n=60)
    offset = np.log(exposure)
    post = br.sample_posterior(
        X,
        y,
        prior=br.Gaussian(1.0),
        likelihood="poisson",
        offset=offset,
        sampler=SAMPLER,
        progress=False,
    )
    assert post.diagnostics.divergences == 0
    ref = numpyro_reference(_glm_model("poisson", 1.0), X, y, offset)
    assert_same_posterior(post.tree, ref, ["w", "b"])


def test_robust_regression_posterior_matches_numpyros_sampler():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 2))
    y = X @ np.array([1.0, -1.0]) + 0.5 + 0.3 * rng.standard_t(2, size=50)
    y[:3] += 20.0  # outliers a Gaussian likelihood would chase
    post = br.sample_posterior(
        X,
        y,
        prior=br.Gaussian(5.0),
        sigma=br.HalfCauchy(1.0),
        likelihood="student-t",
        df=3.0,
        sampler=SAMPLER,
        progress=False,
    )
    assert post.diagnostics.divergences == 0
    ref = numpyro_reference(_glm_model("student-t", 5.0, df=3.0), X, y)
    assert_same_posterior(post.tree, ref, ["w", "b", "sigma"])


# --------------------------------------------------------------------------------------
# The parametrization chosen per coefficient


def _scores(n=434, seed=6):
    """Raw units, as in the kid-test-score regression: an IQ-like input, a score."""
    rng = np.random.default_rng(seed)
    iq = rng.normal(100, 15, size=n)
    return iq[:, None], 26 + 0.6 * iq + rng.normal(0, 18, size=n)


@pytest.mark.parametrize("scale", [1e3, 1e6])
def test_a_wide_prior_on_raw_units_samples_cleanly_by_default(scale):
    # The likelihood dominates: a non-centred w = scale * w_z puts the posterior in a sliver
    # of w_z of width 1e-5 / scale, which NUTS cannot adapt to; "auto" samples w centred.
    X, y = _scores()
    kw = dict(prior=br.Gaussian(scale), sigma=br.HalfCauchy(10.0), sampler=SAMPLER, seed=1)
    post = br.sample_posterior(X, y, progress=False, **kw)
    d = post.diagnostics
    assert d.max_rhat < 1.01 and d.min_ess_bulk > 400 and d.divergences == 0, d
    forced = br.sample_posterior(X, y, progress=False, parametrization="non-centred", **kw)
    assert forced.diagnostics.problems  # the regime the default must avoid


def test_a_narrow_prior_samples_cleanly_by_default():
    # The prior dominates (a strong Laplace shrinkage of 30 weak features, 20 rows): "auto"
    # keeps these coefficients non-centred, which samples the funnel without divergences.
    rng = np.random.default_rng(7)
    X = rng.normal(size=(20, 30))
    y = X[:, 0] + rng.normal(size=20)
    post = br.sample_posterior(
        X, y, prior=br.Laplace(0.05), sigma=1.0, sampler=SAMPLER, seed=2, progress=False
    )
    d = post.diagnostics
    assert d.max_rhat < 1.01 and d.min_ess_bulk > 400 and d.divergences == 0, d


# --------------------------------------------------------------------------------------
# What the model refuses


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (
            dict(prior=Flat(), X=np.ones((5, 8)), y=np.arange(5.0)),
            "a flat prior on 9 coefficients needs a design",
        ),
        (dict(likelihood="bernoulli", sigma=1.0), "the bernoulli likelihood has no noise scale"),
        (dict(sigma=None), "the gaussian likelihood needs sigma"),
        (
            dict(sigma=br.Gaussian(1.0)),
            r"sigma must be a number, got Gaussian\(scale=1.0\): .* a prior on it \(HalfNormal",
        ),
        (
            dict(draws=500, warmup=100),
            r"warmup, draws are settings of the sampler: "
            r"give sampler=Sampler\(warmup=100, draws=500\)",
        ),
        (dict(likelihood="poisson", sigma=None, y=-np.ones(12)), "needs counts .* got -1.0"),
        (dict(likelihood="bernoulli", sigma=None, y=np.full(12, 0.5)), r"y in \{0, 1\}, got 0.5"),
        (dict(likelihood="probit", sigma=None), "unknown likelihood 'probit'"),
        (dict(feature_names=["a", "a"]), "feature_names must differ; a come"),
        (dict(intercept_scale=1.0, intercept=False), "either intercept or intercept_scale"),
        (dict(intercept=br.Laplace(1.0)), "intercept must be True"),
        (dict(intercept=br.Gaussian([1.0, 2.0])), "one scale and one mean"),
        # X has 2 columns: a per-feature value is one per column, or it is refused
        (dict(prior=br.Gaussian([1.0, 2.0, 3.0])), "3 values of scale, and X has 2 columns"),
        (dict(prior=br.Laplace(1.0, mean=[0.0])), "1 value of mean, and X has 2 columns"),
        (
            dict(prior=StudentT(3.0, 1.0, [0.0, 1.0, 2.0]), likelihood="bernoulli", sigma=None),
            "3 values of mean, and X has 2 columns",
        ),
    ],
)
def test_bad_models_are_refused_before_sampling(kw, match, no_compute):
    X = kw.pop("X", np.random.default_rng(0).normal(size=(12, 2)))
    y = kw.pop("y", np.arange(12.0) % 2)
    args = dict(prior=br.Gaussian(1.0), sigma=1.0) | kw
    with pytest.raises((ValueError, TypeError), match=match):
        br.sample_posterior(X, y, method="nuts", progress=False, **args)


@pytest.mark.parametrize("prior", [br.Laplace([1.0, 2.0, 3.0]), br.Gaussian(1.0, mean=[0.0] * 3)])
def test_a_mode_with_one_value_too_many_per_feature_is_refused(prior, no_compute):
    X, y = np.random.default_rng(0).normal(size=(12, 2)), np.arange(12.0)
    with pytest.raises(ValueError, match="has 3 values of .*, and X has 2 columns"):
        posterior_mode(X, y, prior, sigma=1.0)


def test_separable_classes_under_a_flat_prior_are_refused(no_compute):
    X = np.linspace(-1, 1, 10)[:, None]
    y = (X[:, 0] > 0).astype(float)
    with pytest.raises(ValueError, match="linearly separable"):
        br.sample_posterior(X, y, prior=Flat(), likelihood="bernoulli", progress=False)
    y[[0, -1]] = y[[-1, 0]]  # one of each class on the wrong side: no longer separable
    check_proper(X, y, Flat(), "bernoulli", True, None)


def test_student_t_weights_and_intercept_sample_their_prior():
    # With no data to speak of (y = None is the prior predictive), w and b follow their priors.
    from numpyro.infer import Predictive

    draws = Predictive(br.linear_regression, num_samples=20_000)(
        jax.random.key(0),
        np.zeros((1, 2)),
        prior=StudentT(3.0, [0.5, 2.0], mean=[1.0, 0.0]),
        intercept=StudentT(4.0, 10.0, mean=5.0),
        sigma=1.0,
    )
    w, b = np.asarray(draws["w"]).reshape(-1, 2), np.asarray(draws["b"]).ravel()
    assert scipy.stats.kstest(w[:, 0], scipy.stats.t(3.0, 1.0, 0.5).cdf).pvalue > 1e-3
    assert scipy.stats.kstest(w[:, 1], scipy.stats.t(3.0, 0.0, 2.0).cdf).pvalue > 1e-3
    assert scipy.stats.kstest(b, scipy.stats.t(4.0, 5.0, 10.0).cdf).pvalue > 1e-3
