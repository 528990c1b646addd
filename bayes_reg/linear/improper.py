"""Improper posteriors that can be seen from the data, refused before any computation, and a
noise scale the data say nothing of, warned of.

Each refusal names a direction along which the likelihood does not fall to 0 while a flat prior
does not fall either, so the posterior's integral diverges and a sampler or mode finder runs
off along it (an intercept of -4e9, a sigma of 1e153, a NaN covariance):

- flat weights: a design without full column rank, or separated outcomes: classes a hyperplane
  separates, completely or with some rows on it (a category whose rows share one outcome), or
  counts of 0 that one separates from the rest (a category of zero counts); the intercept's
  column counted where its prior is flat too;
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
from bayes_reg.linear.names import CLASSES, COUNTS
from bayes_reg.noise import Exponential, FlatNoise, HalfCauchy, HalfNormal, HalfStudentT, Noise
from bayes_reg.priors import Flat

__all__ = ["check_proper"]

#: Likelihoods whose density at their mean grows as 1 / sigma as sigma goes to 0.
_SHARPENS = ("gaussian", "student-t", "gamma")
#: Noise priors whose density at sigma = 0 is above 0 (or flat): no match for an exact fit.
_POSITIVE_AT_ZERO = (HalfNormal, HalfCauchy, HalfStudentT, Exponential, FlatNoise)
_PACKAGE = str(Path(__file__).parents[1]) + os.sep  # not a sibling folder bayes_reg_*
#: The smallest move of a unit row, along a direction of coordinates at most 1, taken for a
#: move rather than the linear program's rounding (its tolerances are 1e-7 on values of ~1).
_MOVES = 1e-6
#: Rows of the subset that screens a large table for separation.
_SUBSET = 2_000


def check_proper(
    X: np.ndarray,
    y: np.ndarray,
    prior,
    likelihood: str,
    intercept,
    noise: Noise | None,
    sample_weight=None,
    trials=None,
    feature_names=None,
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
        _flat_weights(X, y, likelihood, flat_intercept, trials, feature_names)
    if noise is not None and not noise.known:
        _sampled_noise(X, y, weight, likelihood, intercept, noise, trials)


def _flat_weights(X, y, likelihood, flat_intercept: bool, trials, feature_names) -> None:
    n, d = X.shape
    k = d + flat_intercept
    Z = np.column_stack([X, np.ones(n)]) if flat_intercept else X
    if np.linalg.matrix_rank(Z) < k:
        raise ValueError(
            f"a flat prior on {k} coefficients needs a design of full column rank, and this "
            f"one ({n} rows, {d} features{' + intercept' if flat_intercept else ''}) "
            "is not: the posterior is improper. Give the weights a proper prior (e.g. "
            "Gaussian(scale))"
        )
    if likelihood in CLASSES + COUNTS:
        names = [f"x{j}" for j in range(d)] if feature_names is None else list(feature_names)
        _separation(Z, y, likelihood, trials, names + ["the intercept"] * flat_intercept)


def _separation(Z, y, likelihood, trials, names) -> None:
    """Refuse a direction of the coefficients that moves some rows' linear predictors toward
    the end their outcome sits at and leaves every other row's where it is: along it each
    moved row's likelihood rises toward 1 and the rest stay, so a flat prior's integral
    diverges. Complete separation moves every row; quasi-separation (a category whose rows
    share one outcome, a category of zero counts) some."""
    top = np.inf if likelihood in COUNTS else 1.0 if likelihood == "bernoulli" else trials
    up, down = y >= top, y <= 0  # the ends a row may go to; a row of no trials is at both
    informs = ~(up & down)
    Z, up, down = Z[informs], up[informs], down[informs]
    side = up.astype(float) - down
    direction, moved = _separating_direction(Z, side)
    if not moved.any():
        return
    along = [name for name, v in zip(names, direction, strict=True) if v != 0]
    along = _listed(along[:5] + ([f"{len(along) - 5} more"] if len(along) > 5 else []))
    rows = len(moved)
    if likelihood in COUNTS:
        what = (
            f"the zero counts are separable: along a direction of the coefficients of {along}, "
            f"the mean of {moved.sum()} rows of count 0 falls toward 0 and every other row's "
            "stays where it is (as where every count of a category is 0)"
        )
    elif moved.all() or (np.all(side != 0) and _strictly_separable(Z, side)):
        what = (
            f"the classes are linearly separable: along a direction of the coefficients of "
            f"{along}, every row moves toward its outcome"
        )
    else:
        what = (
            f"the classes are quasi-separable: along a direction of the coefficients of {along}, "
            f"{moved.sum()} of the {rows} rows move toward their outcome and the others stay "
            "where they are (as where every row of a category has one outcome)"
        )
    raise ValueError(
        f"{what}, so under a flat prior the likelihood rises along it toward a limit above 0: "
        "the posterior is improper. Give the weights a proper prior (e.g. Gaussian(2.5))"
    )


def _separating_direction(Z, side):
    """The direction v that maximises the rows' moves ``side * (Z v)`` subject to none being
    negative and the rows of side 0 not moving, each |v_j| <= 1 once Z's columns are scaled
    to at most 1 (a linear program); returns v (0 where a coordinate does not move) and which
    rows it moves.

    Rows of a full-rank subset that no direction separates clear the whole table: a direction
    separating the whole moves some of the subset's rows, or none (and the subset is not of
    full rank). On 100,000 rows of 50 features the subset's program takes ~0.1 s, the whole
    table's ~7 s."""
    if len(Z) > _SUBSET:
        subset = np.random.default_rng(0).choice(len(Z), _SUBSET, replace=False)
        if np.linalg.matrix_rank(Z[subset]) == Z.shape[1]:
            _, moved = _most_moving_direction(Z[subset], side[subset])
            if not moved.any():
                return np.zeros(Z.shape[1]), np.zeros(len(Z), dtype=bool)
    return _most_moving_direction(Z, side)


def _most_moving_direction(Z, side):
    Z = Z / np.abs(Z).max(axis=0)  # full column rank: no column is 0
    Z = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), np.finfo(float).tiny)
    ends, stays = side != 0, side == 0
    toward = side[ends, None] * Z[ends]
    fit = scipy.optimize.linprog(
        -toward.sum(axis=0),
        A_ub=-toward,
        b_ub=np.zeros(ends.sum()),
        A_eq=Z[stays] if stays.any() else None,
        b_eq=np.zeros(stays.sum()) if stays.any() else None,
        bounds=[(-1.0, 1.0)] * Z.shape[1],
        method="highs",
    )
    v = np.where(np.abs(fit.x) > _MOVES, fit.x, 0.0)
    return v, np.abs(Z @ v) > _MOVES


def _strictly_separable(Z, side) -> bool:
    """Whether some v has side * (Z v) >= 1 on every row (the direction found above may leave
    rows on its hyperplane where another moves them all)."""
    fit = scipy.optimize.linprog(
        np.zeros(Z.shape[1]),
        A_ub=-(side[:, None] * Z),
        b_ub=-np.ones(len(Z)),
        bounds=[(None, None)] * Z.shape[1],
        method="highs",
    )
    return fit.status == 0


def _listed(names) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


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
