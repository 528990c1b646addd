"""The NumPyro linear model and its GLMs, under a :mod:`bayes_reg.priors` prior.

Site names are stable everywhere results are stored: ``w`` (one per feature, plate
``feature``), ``b`` (intercept, absent with ``intercept=False``), ``sigma`` (noise scale, a
site only when sampled) and ``y`` (observations, plate ``obs``).
"""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax.typing import ArrayLike

from bayes_reg import _validate
from bayes_reg.linear.distributions import Either, observation
from bayes_reg.linear.gram import Gram
from bayes_reg.linear.improper import check_proper
from bayes_reg.linear.information import information_weight, likelihood_dominates
from bayes_reg.linear.names import (
    COUNTS,
    LIKELIHOODS,
    PARAMETRIZATIONS,
    POSITIVE,
    WITH_NOISE,
    WITH_TRIALS,
)
from bayes_reg.noise import InverseGamma, Noise, as_noise
from bayes_reg.per_feature import in_feature_order
from bayes_reg.priors import ElasticNet, Flat, Gaussian, Laplace, Prior, StudentT

__all__ = [
    "linear_regression",
    "inverse_gamma_noise",
    "check_arguments",
    "check_trials",
    "check_data",
    "check_model",
    "LIKELIHOODS",
    "PARAMETRIZATIONS",
]

_INTERCEPT_PRIORS = Flat | Gaussian | StudentT


def linear_regression(
    X: ArrayLike,
    y: ArrayLike | None = None,
    *,
    prior: Prior,
    sigma: float | Noise | dist.Distribution | None = None,
    likelihood: str = "gaussian",
    df: float = 4.0,
    intercept: bool | Flat | Gaussian | StudentT = True,
    intercept_scale: float | None = None,
    offset: ArrayLike | None = None,
    parametrization: str = "auto",
    scale_with_sigma: bool = False,
    summed: bool | Gram = False,
    sample_weight: ArrayLike | None = None,
    trials: ArrayLike | None = None,
):
    r"""The linear model :math:`\eta_i = x_i^\top w + b` under a likelihood, ``w ~ prior``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,), optional
        Observations; ``None`` to sample from the prior predictive.
    prior : Gaussian, Laplace, ElasticNet, StudentT or Flat
        Prior on each weight ``w_j`` (independent; a scale and mean may be one per feature).
    sigma : float, noise value or NumPyro distribution
        The noise scale of the Gaussian, Student-t, beta-binomial, negative binomial and gamma
        likelihoods: known, or a prior on it (:mod:`bayes_reg.noise`, e.g.
        ``HalfCauchy(2.5)``), then sampled as site ``sigma``. The Bernoulli, binomial and
        Poisson likelihoods have none.
    likelihood : {"gaussian", "student-t", "bernoulli", "binomial", "beta-binomial", \
"poisson", "negative-binomial", "gamma"}
        ``y ~ N(eta, sigma²)``; ``y ~ t_df(eta, sigma)`` (robust regression);
        ``y ~ Bernoulli(logit⁻¹(eta))``; ``y ~ Binomial(trials, logit⁻¹(eta))`` (``y``
        successes of ``trials``); ``y ~ Binomial(trials, p)`` with ``p ~ Beta`` of mean
        ``logit⁻¹(eta)`` and concentration ``phi = 1 / sigma²``, the beta-binomial of mean
        ``trials logit⁻¹(eta)`` and variance the binomial's times ``1 + (trials - 1) sigma² /
        (1 + sigma²)`` (overdispersed successes; ``sigma → 0`` is the binomial);
        ``y ~ Poisson(exp(eta))``; ``y ~ Poisson(exp(eta) g)``
        with ``g ~ Gamma`` of mean 1 and sd ``sigma``, the negative binomial of mean
        ``mu = exp(eta)``, variance ``mu + sigma² mu²`` and shape ``phi = 1 / sigma²``
        (overdispersed counts; ``sigma → 0`` is the Poisson); ``y ~ Gamma`` of mean
        ``mu = exp(eta)``, shape ``1 / sigma²`` and so sd ``sigma mu`` (positive outcomes whose
        spread grows with their mean, as costs and durations do: ``sigma`` is the coefficient
        of variation).
    df : float
        Degrees of freedom of the Student-t likelihood.
    intercept : bool or Flat, Gaussian, StudentT
        ``True`` (default): an intercept ``b`` with a flat prior, never penalised, as in
        every penalised fit; ``False``: no intercept; or a prior on ``b`` (with a mean).
    intercept_scale : float, optional
        Shorthand for ``intercept=Gaussian(intercept_scale)``. A flat prior has no prior
        predictive; give a proper one for prior draws.
    offset : array of shape (n_samples,), optional
        Added to ``eta`` with coefficient 1: for a Poisson rate per unit of exposure pass
        ``offset = log(exposure)``.
    parametrization : {"auto", "non-centred", "direct"}
        ``"non-centred"`` samples standardised coordinates and scales them: Gaussian and
        Student-t ``w = mean + scale * w_z``; Laplace as the Normal–Exponential scale mixture
        ``w = mean + scale * sqrt(2 w_mix) * w_z``, ``w_mix ~ Exp(1)``, which NUTS samples
        without divergences where the prior dominates. Where the likelihood dominates, the
        centred form (``w_z`` is ``w`` itself) samples well and the non-centred one does not.
        ``"auto"`` (default) chooses per coefficient: centred when the prior variance times
        the data's information about the coefficient exceeds 1 (the information of a column
        is its sum of squares about its mean times 1/σ² for the Gaussian, with σ the known
        noise or the sd of ``y``; 1/4 per trial for the Bernoulli and binomial, and per
        effective trial for the beta-binomial; the mean count for the Poisson; 1/σ² for the
        gamma; see
        :mod:`~bayes_reg.linear.information`).
        ``"direct"`` samples ``w`` from the prior density itself; use it for MAP estimates,
        since a mode depends on the parametrization. Flat and elastic-net priors are always
        direct.
    scale_with_sigma : bool
        Measure the prior scales in units of the noise: ``w_j ~ prior`` times ``sigma`` (and
        the intercept's scale too). With a Gaussian prior and ``sigma=InverseGamma(a, b)``
        this is the conjugate Normal–Inverse-Gamma model, whose posterior
        :func:`~bayes_reg.linear.exact.nig_posterior` gives in closed form.
    summed : bool or Gram
        For sampling only: the log likelihood as one factor (site ``y_sum``, no site ``y``),
        the same log density with less work per gradient; ``True`` sums the rows' densities,
        ``Gram.of(X, y)`` computes the Gaussian one from the data's sufficient statistics
        (cheaper where rows outnumber features; ``X`` is then read for its columns only, and
        ``y`` not at all). Pointwise values and predictions need the default ``False``.
        :func:`~bayes_reg.linear.posterior.run_nuts` sets it (with a Gram, it passes no rows).
    sample_weight : array of shape (n_samples,), optional
        Multiplies each row's log likelihood (brms's ``weights()``, scikit-learn's
        ``sample_weight``): a weight of 2 counts a row twice, 0 leaves it out; the noise's
        ``log sigma`` term is weighted too, so whole-number weights are the same posterior as
        repeating the rows. The pointwise log likelihood (site ``y``) stays each row's own
        density; the weights enter through the factor ``y_weight``.
    trials : array of shape (n_samples,) or int, optional
        The binomial's and the beta-binomial's number of trials per row (whole numbers >= 0;
        one number for every row), of which ``y`` counts the successes; only for them. The
        binomial is the same posterior as one Bernoulli row per trial (its log likelihood
        differs by the constant ``sum log C(trials, y)``).

    Examples
    --------
    >>> import jax, numpy as np
    >>> from numpyro import handlers
    >>> model = handlers.seed(linear_regression, jax.random.key(0))
    >>> trace = handlers.trace(model).get_trace(np.eye(3), prior=Laplace(1.0), sigma=0.5,
    ...                                         intercept_scale=10.0)
    >>> [name for name in trace if not name.startswith(("feature", "obs"))]
    ['w_z', 'w_mix', 'w', 'b', 'y']
    """
    _validate.one_of("parametrization", parametrization, PARAMETRIZATIONS)
    intercept = check_arguments(prior, sigma, intercept_scale, likelihood, intercept)
    check_trials(likelihood, trials)
    X = jnp.asarray(X)
    n, d = X.shape
    if trials is not None:
        trials = jnp.broadcast_to(trials, (n,))
    noise = as_noise(sigma) if likelihood in WITH_NOISE else None
    sigma = noise.site("sigma") if noise is not None else None
    unit = sigma if scale_with_sigma else 1.0
    if scale_with_sigma:
        _check_scale_with_sigma(prior, likelihood)
    centred = None
    if parametrization == "auto" and not isinstance(prior, Flat | ElasticNet):
        weight = information_weight(sample_weight, trials, y, noise, likelihood)
        # A Gram stands in for rows that run_nuts does not pass (their sums are all it reads).
        data = summed if isinstance(summed, Gram) else y
        centred = likelihood_dominates(
            X, data, prior, noise, likelihood, intercept, scale_with_sigma, weight
        )
    with numpyro.plate("feature", d):
        w = _weights(prior, parametrization, unit, centred)
    b = _intercept(intercept, unit) if intercept is not False else 0.0
    if isinstance(summed, Gram):
        if likelihood != "gaussian" or offset is not None:
            raise ValueError("a Gram holds the Gaussian likelihood without offset only")
        numpyro.factor("y_sum", summed.log_likelihood(w, b, sigma))
        return
    eta = X @ w + b
    if offset is not None:
        eta = eta + offset
    if summed:
        log_lik = observation(likelihood, eta, sigma, df, trials).log_prob(y)
        if sample_weight is not None:
            log_lik = sample_weight * log_lik
        numpyro.factor("y_sum", log_lik.sum())
        return
    with numpyro.plate("obs", n):
        numpyro.sample("y", observation(likelihood, eta, sigma, df, trials), obs=y)
    if sample_weight is not None and y is not None:
        # The rows' densities once more, times (weight - 1): weighted in all, while site y's
        # pointwise values stay each row's own (numpyro's scale handler refuses a weight of 0).
        log_lik = observation(likelihood, eta, sigma, df, trials).log_prob(y)
        numpyro.factor("y_weight", jnp.sum((sample_weight - 1.0) * log_lik))


def _intercept(prior, unit):
    if prior is True or isinstance(prior, Flat):
        return numpyro.sample("b", dist.ImproperUniform(dist.constraints.real, (), ()))
    if isinstance(prior, Gaussian):
        return numpyro.sample("b", dist.Normal(prior.mean, prior.scale * unit))
    return numpyro.sample("b", dist.StudentT(prior.df, prior.mean, prior.scale * unit))


def _weights(prior: Prior, parametrization: str, unit, centred):
    if isinstance(prior, Flat | ElasticNet) or parametrization == "direct":
        if isinstance(prior, Flat | ElasticNet):
            return numpyro.sample("w", prior.to_numpyro())
        return numpyro.sample("w", _rescaled(prior, prior.scale * unit).to_numpyro())
    if centred is None:  # "non-centred" everywhere
        centred = False
    scale = prior.scale * unit
    if isinstance(prior, Laplace):
        z = numpyro.sample("w_z", Either(centred, dist.Laplace(prior.mean, scale), _STD_NORMAL))
        mix = numpyro.sample("w_mix", dist.Exponential(1.0))
        spread = scale * jnp.sqrt(2.0 * mix)
    else:
        spread = scale
        if isinstance(prior, Gaussian):
            base, direct = _STD_NORMAL, dist.Normal(prior.mean, scale)
        else:
            base, direct = (
                dist.StudentT(prior.df, 0.0, 1.0),
                dist.StudentT(prior.df, prior.mean, scale),
            )
        z = numpyro.sample("w_z", Either(centred, direct, base))
    return numpyro.deterministic("w", jnp.where(centred, z, prior.mean + spread * z))


_STD_NORMAL = dist.Normal(0.0, 1.0)


def _rescaled(prior, scale):
    """``prior`` with another scale, unvalidated (the scale may be traced)."""
    out = copy.copy(prior)
    object.__setattr__(out, "scale", scale)
    return out


def check_arguments(
    prior, sigma, intercept_scale=None, likelihood: str = "gaussian", intercept=True
):
    """Refuse a non-prior, a missing or superfluous noise, a bad intercept; return the
    intercept's prior (``True`` for flat, ``False`` for none, or a prior value).

    Values traced inside a compiled sampler cannot be checked there; callers check the
    concrete values first (:func:`~bayes_reg.linear.posterior.run_nuts` does).
    """
    if not isinstance(prior, Prior):
        raise TypeError(
            f"prior must be Gaussian, Laplace, ElasticNet, StudentT or Flat, got {prior!r}"
        )
    _validate.one_of("likelihood", likelihood, LIKELIHOODS)
    if likelihood in WITH_NOISE:
        if sigma is None:
            what = _OVERDISPERSION.get(likelihood, "a known noise scale or a prior on it")
            raise ValueError(f"the {likelihood} likelihood needs sigma: {what}")
        as_noise(sigma)
    elif sigma is not None:
        raise ValueError(
            f"the {likelihood} likelihood has no noise scale; leave sigma out (got {sigma!r})"
        )
    if intercept_scale is not None:
        if intercept is not True:
            raise ValueError("give either intercept or intercept_scale, not both")
        if isinstance(intercept_scale, jax.core.Tracer):
            return _rescaled(Gaussian(1.0), intercept_scale)
        return Gaussian(_validate.positive("intercept_scale", intercept_scale))
    if not (isinstance(intercept, bool) or isinstance(intercept, _INTERCEPT_PRIORS)):
        raise TypeError(
            "intercept must be True (flat prior), False (no intercept) or a Flat, Gaussian or "
            f"StudentT prior, got {intercept!r}"
        )
    if isinstance(intercept, Gaussian | StudentT) and np.ndim(intercept.scale) > 0:
        raise ValueError("the intercept's prior takes one scale and one mean, not one per feature")
    return intercept


_OVERDISPERSION = {
    "negative-binomial": "its overdispersion (variance mu + sigma² mu²), known or a prior on "
    "it, e.g. HalfNormal(1.0)",
    "beta-binomial": "its overdispersion (1 / sigma² the concentration of each row's beta "
    "probability; sigma → 0 is the binomial), known or a prior on it, e.g. HalfNormal(1.0)",
    "gamma": "its coefficient of variation (sd / mean; 1 / sigma² the gamma's shape), known or "
    "a prior on it, e.g. HalfNormal(1.0)",
}


def check_trials(likelihood: str, trials) -> None:
    """Refuse trials without the binomial or beta-binomial likelihood, and those without them
    (their values are checked by :func:`check_data`)."""
    if likelihood in WITH_TRIALS and trials is None:
        raise ValueError(
            f"the {likelihood} likelihood needs trials: the number of trials of each row, of "
            "which y counts the successes (for one trial per row, use likelihood='bernoulli')"
        )
    if likelihood not in WITH_TRIALS and trials is not None:
        raise ValueError(
            f"trials are the binomial likelihood's number of trials per row, and the likelihood "
            f"is {likelihood!r}; leave trials out, or set likelihood='binomial' (or "
            "'beta-binomial')"
        )


def _check_scale_with_sigma(prior, likelihood: str) -> None:
    if not isinstance(prior, Gaussian | Laplace):
        raise ValueError("scale_with_sigma supports Gaussian and Laplace priors")
    if likelihood not in ("gaussian", "student-t"):
        raise ValueError(
            "scale_with_sigma measures priors in units of y's noise: Gaussian or Student-t "
            f"likelihoods only, not {likelihood}"
        )


def check_model(
    X: np.ndarray,
    y: np.ndarray,
    *,
    prior,
    sigma=None,
    likelihood: str = "gaussian",
    intercept=True,
    intercept_scale=None,
    feature_names=None,
    sample_weight=None,
    scale_with_sigma=False,
    trials=None,
    **_,
):
    """:func:`check_arguments` and :func:`check_data` on concrete values, before any
    computation; returns the intercept's prior and the weights' prior in the features' order
    (:func:`~bayes_reg.per_feature.in_feature_order`). Other model arguments are ignored."""
    intercept = check_arguments(prior, sigma, intercept_scale, likelihood, intercept)
    check_trials(likelihood, trials)
    if scale_with_sigma:
        _check_scale_with_sigma(prior, likelihood)
    prior = check_data(X, y, prior, likelihood, intercept, feature_names, sample_weight, trials)
    noise = as_noise(sigma) if likelihood in WITH_NOISE else None
    check_proper(X, y, prior, likelihood, intercept, noise, sample_weight, trials, feature_names)
    return intercept, prior


def check_data(
    X: np.ndarray,
    y: np.ndarray,
    prior,
    likelihood: str,
    intercept=True,
    feature_names=None,
    sample_weight=None,
    trials=None,
) -> Prior:
    """Refuse data the likelihood cannot have produced, and a prior whose per-feature values do
    not match the columns of ``X`` (named by ``feature_names`` where given). Returns the prior
    with its per-feature values in the columns' order."""
    prior = in_feature_order(prior, X.shape[1] if feature_names is None else feature_names)
    if trials is not None:
        trials = np.broadcast_to(trials, y.shape)
    # Every row's value, its weight 0 or not: its density is computed (and 0 times an
    # impossible value's -inf is NaN).
    if likelihood == "bernoulli" and not np.isin(y, (0.0, 1.0)).all():
        bad = y[~np.isin(y, (0.0, 1.0))][0]
        raise ValueError(f"the bernoulli likelihood needs y in {{0, 1}}, got {bad}")
    if likelihood in WITH_TRIALS:
        outside = (y < 0) | (y > trials) | (y != np.round(y))
        if outside.any():
            i = int(np.argmax(outside))
            raise ValueError(
                f"the {likelihood} likelihood needs y to count successes (whole numbers from 0 to "
                f"the row's trials), got {y[i]} of {trials[i]:g} trials at row {i}"
            )
    if likelihood in POSITIVE and not np.all(y > 0):
        raise ValueError(f"the {likelihood} likelihood needs y > 0, got {y[~(y > 0)][0]}")
    if likelihood in COUNTS and not (np.all(y >= 0) and np.all(y == np.round(y))):
        bad = y[(y < 0) | (y != np.round(y))][0]
        raise ValueError(
            f"the {likelihood} likelihood needs counts (whole numbers >= 0), got {bad}"
        )
    return prior


def inverse_gamma_noise(concentration: float, rate: float) -> InverseGamma:
    """A prior on ``sigma`` with ``sigma² ~ InverseGamma(concentration, rate)``: the same as
    :class:`bayes_reg.noise.InverseGamma`.

    Pass it as ``sigma`` with ``scale_with_sigma=True`` for the conjugate
    Normal–Inverse-Gamma model.
    """
    return InverseGamma(concentration, rate)
