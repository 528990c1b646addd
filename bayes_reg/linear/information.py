"""How much the data inform the linear predictor, judged from the data alone (before any
draw): per row (:func:`information_per_row`, :func:`information_weight`) and per coefficient
against its prior (:func:`likelihood_dominates`). The ``"auto"`` parametrization of
:func:`~bayes_reg.linear.regression.linear_regression` and the dense-mass choice of
:mod:`~bayes_reg.linear.mass` read them."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from bayes_reg.linear.gram import Gram
from bayes_reg.linear.names import CLASSES, WITH_NOISE
from bayes_reg.noise import Noise

__all__ = ["information_per_row", "information_weight", "likelihood_dominates"]


def information_per_row(y, noise: Noise | None, likelihood: str):
    """The Fisher information one row carries about the linear predictor, judged from the
    data alone: 1/σ² for the Gaussian and Student-t (σ the known noise or the sd of ``y``), 1/4
    for the Bernoulli (and per trial for the binomial and the beta-binomial, whose trials
    :func:`information_weight` counts), the mean count m for the Poisson,
    m / (1 + σ² m) for the negative binomial (σ known, or from the counts' variance: σ² =
    (var - m) / m², at least 0), the shape 1/σ² for the gamma (σ known, or the coefficient of
    variation of ``y``); and the noise's σ on the scale of ``y`` (1 for the GLMs).

    NumPy on a NumPy ``y`` (choosing the mass matrix before a run: no device dispatches)."""
    xp = np if isinstance(y, np.ndarray) else jnp
    if likelihood == "negative-binomial":
        m = xp.maximum(xp.mean(y), 1e-3)
        spread = noise.sigma**2 if noise.known else xp.maximum(xp.var(y) - m, 0.0) / m**2
        return m / (1.0 + spread * m), 1.0
    if likelihood in CLASSES:
        return 0.25, 1.0
    if likelihood == "gamma":
        variation = noise.sigma if noise.known else xp.std(y) / xp.mean(y)
        return 1.0 / xp.maximum(variation, 1e-150) ** 2, 1.0
    if likelihood in WITH_NOISE:
        scale = noise.sigma if noise.known else xp.std(y)
        return 1.0 / xp.maximum(scale, 1e-150) ** 2, scale  # a square that stays above 0
    return xp.maximum(xp.mean(y), 1e-3), 1.0


def information_weight(sample_weight, trials, y=None, noise=None, likelihood=None):
    """Each row's share of the data's information, relative to :func:`information_per_row`:
    its sample weight times its number of trials (``None`` where both are ``None``: 1 each);
    for the beta-binomial, times its effective number of trials ``n / (1 + (n - 1) rho)``,
    ``rho = sigma² / (1 + sigma²)`` the correlation of two trials of a row."""
    if trials is None:
        return sample_weight
    if likelihood == "beta-binomial":
        trials = trials / (1.0 + (trials - 1.0) * _row_correlation(y, noise, trials))
    return trials if sample_weight is None else sample_weight * trials


def _row_correlation(y, noise: Noise, trials):
    """The beta-binomial's correlation of two trials of one row, judged from the data alone:
    from a known sigma, else by the moments of the successes about the pooled probability
    ``p`` (the mean of ``(y - n p)² / (n p (1 - p)) - 1`` is ``(n - 1) rho``), from 0 to 0.99.
    """
    if noise.known:
        return noise.sigma**2 / (1.0 + noise.sigma**2)
    if y is None:
        return 0.0
    xp = np if isinstance(y, np.ndarray) else jnp
    trials = xp.broadcast_to(trials, xp.shape(y))
    p = xp.clip(xp.sum(y) / xp.maximum(xp.sum(trials), 1.0), 1e-3, 1 - 1e-3)
    excess = (y - trials * p) ** 2 / (p * (1 - p)) - trials  # (n - 1) n rho on average
    pairs = xp.sum(trials * (trials - 1.0))
    return xp.clip(xp.sum(excess) / xp.maximum(pairs, 1.0), 0.0, 0.99)


def likelihood_dominates(X, y, prior, noise, likelihood, intercept, scale_with_sigma, weight):
    """Per coefficient: does the data's information exceed the prior's precision?

    Computed from the data alone (a sampled noise enters as the sd of ``y``), so the choice is
    the same at every draw: the reparametrization must not change along a trajectory. ``y``
    may be the Gaussian's :class:`~bayes_reg.linear.gram.Gram` in place of the rows (``X`` then
    unread).
    """
    if isinstance(y, Gram):  # the Gaussian's sufficient statistics: the rows' sums, read
        scale = noise.sigma if noise.known else y.y_sd
        per_row = 1.0 / jnp.maximum(scale, 1e-150) ** 2  # as information_per_row's
        squares = y.column_squares(intercept)
    elif y is None:
        return jnp.zeros(X.shape[1], bool)
    else:
        per_row, scale = information_per_row(y, noise, likelihood)
        if weight is None:
            Xc = X - X.mean(0) if intercept is not False else X
            squares = jnp.sum(Xc**2, axis=0)
        else:
            Xc = X - weight @ X / jnp.sum(weight) if intercept is not False else X
            squares = weight @ Xc**2
    unit = scale if scale_with_sigma else 1.0
    return (prior.scale * unit) ** 2 * squares * per_row > 1.0
