"""Improper posteriors that can be seen from the data, refused before any computation, and a
noise scale the data say nothing of, warned of.

Each refusal names a direction along which the likelihood does not fall to 0 while a flat prior
does not fall either, so the posterior's integral diverges and a sampler or mode finder runs
off along it (an intercept of -4e9, a sigma of 1e153, a NaN covariance):

- flat weights: a design without full column rank, or separable classes (the intercept's
  column counted where its prior is flat too);
- a flat intercept under outcomes all at one end of their support (every y 0, or every row's
  successes all its trials): the likelihood rises toward 1 as b goes to that end;
- a flat prior on an overdispersion that no row shows: the negative binomial's sigma where every
  count is 0, the beta-binomial's where no row has both outcomes;
- a Gaussian or Student-t y (a gamma's log y) that the design fits exactly, under a prior on
  sigma with a density above 0 at 0: the likelihood there grows as sigma^-(rows - rank).

Rows of weight 0 inform nothing and are left out of every check.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import scipy.optimize

from bayes_reg._validate import UninformedWarning
from bayes_reg.linear.names import CLASSES, COUNTS, WITH_TRIALS
from bayes_reg.noise import Exponential, FlatNoise, HalfCauchy, HalfNormal, HalfStudentT, Noise
from bayes_reg.priors import Flat

__all__ = ["check_proper"]

#: Likelihoods whose density at their mean grows as 1 / sigma as sigma goes to 0.
_SHARPENS = ("gaussian", "student-t", "gamma")
#: Noise priors whose density at sigma = 0 is above 0 (or flat): no match for an exact fit.
_POSITIVE_AT_ZERO = (HalfNormal, HalfCauchy, HalfStudentT, Exponential, FlatNoise)
_PACKAGE = str(Path(__file__).parents[1]) + os.sep  # not a sibling folder bayes_reg_*


def check_proper(
    X: np.ndarray,
    y: np.ndarray,
    prior,
    likelihood: str,
    intercept,
    noise: Noise | None,
    sample_weight=None,
    trials=None,
) -> None:
    """Refuse the improper posteriors listed in the module's docstring, and warn where every
    row of a beta-binomial has one trial at most (sigma's posterior is then its prior).
    ``intercept`` is ``True`` (flat), ``False`` (none) or its prior; ``noise`` is ``None``
    where the likelihood has none."""
    weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
    trials = None if trials is None else np.broadcast_to(trials, y.shape)
    if sample_weight is not None:
        kept = weight > 0
        X, y, weight = X[kept], y[kept], weight[kept]
        trials = None if trials is None else trials[kept]
    flat_intercept = intercept is True or isinstance(intercept, Flat)
    if flat_intercept:  # first: with one outcome only, no prior on the weights helps
        _flat_intercept(y, likelihood, trials)
    if isinstance(prior, Flat):  # a proper intercept is no flat direction of its own
        _flat_weights(X, y, likelihood, flat_intercept, trials)
    if noise is not None and not noise.known:
        _sampled_noise(X, y, weight, likelihood, intercept, noise, trials)


def _flat_weights(X, y, likelihood, flat_intercept: bool, trials) -> None:
    n, d = X.shape
    k = d + flat_intercept
    if np.linalg.matrix_rank(np.column_stack([X, np.ones(n)]) if flat_intercept else X) < k:
        raise ValueError(
            f"a flat prior on {k} coefficients needs a design of full column rank, and this "
            f"one ({n} rows, {d} features{' + intercept' if flat_intercept else ''}) "
            "is not: the posterior is improper. Give the weights a proper prior (e.g. "
            "Gaussian(scale))"
        )
    if likelihood in WITH_TRIALS:  # as one Bernoulli row per trial, of each outcome seen
        X, y = _as_classes(X, y, trials)
    if likelihood in CLASSES and _separable(X, y, flat_intercept):
        raise ValueError(
            "the classes are linearly separable, so under a flat prior the likelihood rises "
            "toward 1 along the separating direction: the posterior is improper. Give the "
            "weights a proper prior (e.g. Gaussian(2.5))"
        )


def _as_classes(X, y, trials):
    """The binomial rows as Bernoulli rows, one per outcome a row has seen (a success where
    ``y > 0``, a failure where ``y < trials``): the data are separable exactly when these are."""
    success, failure = y > 0, y < trials
    X = np.concatenate([X[success], X[failure]])
    return X, np.concatenate([np.ones(success.sum()), np.zeros(failure.sum())])


def _separable(X, y, intercept: bool) -> bool:
    """Whether some (w, b) has (2y - 1)(x w + b) >= 1 for every row: a linear program."""
    Z = np.column_stack([X, np.ones(len(y))]) if intercept else X
    signs = 2 * y - 1
    fit = scipy.optimize.linprog(
        np.zeros(Z.shape[1]),
        A_ub=-(signs[:, None] * Z),
        b_ub=-np.ones(len(y)),
        bounds=[(None, None)] * Z.shape[1],
        method="highs",
    )
    return fit.status == 0


def _flat_intercept(y, likelihood, trials) -> None:
    if likelihood not in CLASSES + COUNTS:
        return
    if trials is not None:  # a row of no trials is at both ends and informs nothing
        y, trials = y[trials > 0], trials[trials > 0]
    top = 1.0 if likelihood == "bernoulli" else trials
    if np.all(y == 0):
        end, where = "every " + ("count" if likelihood in COUNTS else "row's y") + " is 0", "-∞"
    elif likelihood in CLASSES and np.all(y == top):
        end = "every row's y is 1" if likelihood == "bernoulli" else "every row's y is its trials"
        where = "+∞"
    else:
        return
    raise ValueError(
        f"{end}, so under the flat intercept the likelihood rises toward 1 as b goes to {where}: "
        "the posterior is improper. Give the intercept a proper prior (e.g. intercept_scale=2.5), "
        "or leave it out"
    )


def _sampled_noise(X, y, weight, likelihood, intercept, noise, trials) -> None:
    flat = isinstance(noise, FlatNoise)
    if likelihood == "negative-binomial" and flat and not np.any(y > 0):
        raise ValueError(
            "a flat prior on the negative binomial's sigma needs a count above 0: with every "
            "count 0 the likelihood rises toward 1 as sigma grows, so the posterior is improper. "
            "Give sigma a proper prior (e.g. HalfNormal(1.0))"
        )
    if likelihood == "beta-binomial":
        if flat and not np.any((y > 0) & (y < trials)):
            raise ValueError(
                "a flat prior on the beta-binomial's sigma needs a row with both outcomes among "
                "its trials (0 < y < trials); without one the likelihood stays above 0 as sigma "
                "grows, so the posterior is improper. Give sigma a proper prior (e.g. "
                "HalfNormal(1.0))"
            )
        if np.all(trials <= 1):
            warnings.warn(
                "every row has one trial at most, and a beta-binomial row of one trial is a "
                "Bernoulli trial whatever sigma is: the data say nothing of sigma, whose "
                "posterior is its prior. likelihood='bernoulli' is the same model without it",
                UninformedWarning,
                skip_file_prefixes=(_PACKAGE,),  # the caller's line, whichever path led here
            )
    if likelihood in _SHARPENS and isinstance(noise, _POSITIVE_AT_ZERO):
        Z = np.column_stack([X, np.ones(len(y))]) if intercept is not False else X
        target = np.log(y) if likelihood == "gamma" else y  # the gamma's mean is exp(eta)
        size = np.linalg.norm(target)
        # First through the Gram matrix (10x cheaper than the SVD on 100,000 rows): far from
        # exact there is far from exact for a design of condition number up to ~1e3.
        coef = np.linalg.lstsq(Z.T @ Z, Z.T @ target)[0]
        if np.linalg.norm(target - Z @ coef) > 1e-6 * size:
            return
        coef, _, rank, _ = np.linalg.lstsq(Z, target)
        exact = np.linalg.norm(target - Z @ coef) <= 1e-12 * size
        if exact and weight.sum() >= rank + 1:  # the integral of sigma^-1 or less diverges
            fitted = "log y" if likelihood == "gamma" else "y"
            raise ValueError(
                f"the design fits {fitted} exactly (its residuals are 0 to rounding), so the "
                f"{likelihood} likelihood grows without bound as sigma goes to 0, which a "
                f"{noise.name} prior on sigma (its density above 0 there) does not stop: the "
                "posterior is improper. Give sigma a known value or an InverseGamma prior "
                "(which vanishes at 0), or give y the noise it lacks"
            )
