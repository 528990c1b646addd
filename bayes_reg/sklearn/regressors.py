"""The regressors: scikit-learn's ``Ridge``, ``Lasso``, ``ElasticNet``, ``PoissonRegressor``
and ``GammaRegressor``, each with the posterior its penalty is a prior of."""

from __future__ import annotations

import numpy as np

from bayes_reg.sklearn.base import NOISE_DOC, POSTERIOR_DOC, Regressor

__all__ = ["Ridge", "Lasso", "ElasticNet", "PoissonRegressor", "GammaRegressor"]


class Ridge(Regressor):
    """scikit-learn's ``Ridge`` (``||y - Xw - b||² + alpha ||w||²``) and its posterior under
    ``w ~ N(0, sigma² / alpha)``: exact draws with an intercept, else NUTS (``method="auto"``).

    Parameters
    ----------
    alpha : float, default=1.0
        scikit-learn's strength, > 0.
    fit_intercept : bool, default=True
        An unpenalised intercept (a flat prior).
    """

    __doc__ = __doc__.rstrip() + NOISE_DOC + POSTERIOR_DOC
    _convention = "sklearn-ridge"

    def __init__(self, alpha=1.0, *, fit_intercept=True, noise="estimate", method="auto",
                 chains=4, warmup=1000, draws=1000, seed=0, progress=False):  # fmt: skip
        self.alpha, self.fit_intercept, self.noise = alpha, fit_intercept, noise
        self.method = method
        self.chains, self.warmup, self.draws = chains, warmup, draws
        self.seed, self.progress = seed, progress


class Lasso(Regressor):
    """scikit-learn's ``Lasso`` (``(1/2n) ||y - Xw - b||² + alpha ||w||_1``) and its posterior
    under ``w ~ Laplace(0, sigma² / (n alpha))``, by NUTS.

    Parameters
    ----------
    alpha : float, default=1.0
        scikit-learn's strength, > 0.
    fit_intercept : bool, default=True
        An unpenalised intercept (a flat prior).
    max_iter, tol : int, float, default=1000, 1e-4
        Accepted for scikit-learn's signature, unused: the MAP is solved to ~1e-12.
    """

    __doc__ = __doc__.rstrip() + NOISE_DOC + POSTERIOR_DOC
    _convention, _l1_ratio = "sklearn-lasso", 1.0

    def __init__(self, alpha=1.0, *, fit_intercept=True, max_iter=1000, tol=1e-4,
                 noise="estimate", method="auto", chains=4, warmup=1000, draws=1000, seed=0,
                 progress=False):  # fmt: skip
        self.alpha, self.fit_intercept, self.max_iter = alpha, fit_intercept, max_iter
        self.tol = tol
        self.noise, self.method, self.chains, self.warmup = noise, method, chains, warmup
        self.draws, self.seed, self.progress = draws, seed, progress


class ElasticNet(Regressor):
    """scikit-learn's ``ElasticNet`` and its posterior (NUTS) under the elastic-net prior of
    ``(1/2n) ||y - Xw - b||² + alpha l1_ratio ||w||_1 + alpha (1 - l1_ratio) ||w||² / 2``.

    Parameters
    ----------
    alpha : float, default=1.0
        scikit-learn's strength, > 0.
    l1_ratio : float, default=0.5
        The L1 share, in [0, 1] (0: a Gaussian prior, 1: a Laplace one).
    fit_intercept : bool, default=True
        An unpenalised intercept (a flat prior).
    max_iter, tol : int, float, default=1000, 1e-4
        Accepted for scikit-learn's signature, unused: the MAP is solved to ~1e-12.
    """

    __doc__ = __doc__.rstrip() + NOISE_DOC + POSTERIOR_DOC
    _convention = "sklearn-elasticnet"

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, max_iter=1000, tol=1e-4,
                 noise="estimate", method="auto", chains=4, warmup=1000, draws=1000, seed=0,
                 progress=False):  # fmt: skip
        self.alpha, self.l1_ratio, self.fit_intercept = alpha, l1_ratio, fit_intercept
        self.max_iter, self.tol, self.noise, self.method = max_iter, tol, noise, method
        self.chains, self.warmup, self.draws = chains, warmup, draws
        self.seed, self.progress = seed, progress


class PoissonRegressor(Regressor):
    """scikit-learn's ``PoissonRegressor`` (``(1/2n) deviance + (alpha/2) ||w||²``, log link)
    and its posterior under ``w ~ N(0, 1 / (n alpha))`` (NUTS); ``predict`` is the posterior
    mean rate. ``y`` must be whole-number counts (the Poisson likelihood is on integers).

    Parameters
    ----------
    alpha : float, default=1.0
        scikit-learn's strength, > 0.
    fit_intercept : bool, default=True
        An unpenalised intercept (a flat prior).
    """

    __doc__ = __doc__.rstrip() + POSTERIOR_DOC
    _convention, _likelihood = "sklearn-poisson", "poisson"

    def __init__(self, alpha=1.0, *, fit_intercept=True, method="auto", chains=4, warmup=1000,
                 draws=1000, seed=0, progress=False):  # fmt: skip
        self.alpha, self.fit_intercept, self.method = alpha, fit_intercept, method
        self.chains, self.warmup, self.draws = chains, warmup, draws
        self.seed, self.progress = seed, progress

    def _target(self, X, y):
        X, y = super()._target(X, y)
        bad = y[(y < 0) | (y != np.round(y))]
        if bad.size:
            raise ValueError(
                f"PoissonRegressor needs counts y (whole numbers >= 0), got {bad[0]}: the "
                "Poisson likelihood is on integers (scikit-learn's accepts any y >= 0)"
            )
        return X, y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags


class GammaRegressor(Regressor):
    """scikit-learn's ``GammaRegressor`` (``(1/2n) deviance + (alpha/2) ||w||²``, log link)
    and its posterior under ``w ~ N(0, sigma² / (n alpha))`` (NUTS), ``sigma`` the gamma's
    coefficient of variation (sd / mean, ``1 / sqrt(shape)``); ``predict`` is the posterior
    mean. ``y`` must be > 0.

    Parameters
    ----------
    alpha : float, default=1.0
        scikit-learn's strength, > 0.
    fit_intercept : bool, default=True
        An unpenalised intercept (a flat prior).
    noise : "estimate" or float, default="estimate"
        The known coefficient of variation, or ``"estimate"`` it from the fit's Pearson
        residuals over its effective residual degrees of freedom (statsmodels' ``scale`` is
        its square; kept as ``noise_``).
    """

    __doc__ = __doc__.rstrip() + POSTERIOR_DOC
    _convention, _likelihood = "sklearn-gamma", "gamma"

    def __init__(self, alpha=1.0, *, fit_intercept=True, noise="estimate", method="auto",
                 chains=4, warmup=1000, draws=1000, seed=0, progress=False):  # fmt: skip
        self.alpha, self.fit_intercept, self.noise = alpha, fit_intercept, noise
        self.method = method
        self.chains, self.warmup, self.draws = chains, warmup, draws
        self.seed, self.progress = seed, progress

    def _target(self, X, y):
        X, y = super()._target(X, y)
        if not np.all(y > 0):
            raise ValueError(f"GammaRegressor needs y > 0, got {y[~(y > 0)][0]}")
        return X, y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags
