"""Whether NUTS should adapt a dense mass matrix for the linear model, decided from the
design before sampling.

A diagonal mass matrix corrects each coefficient's scale, not the correlations between them:
trajectories then need about sqrt(kappa) times more leapfrog steps, kappa the condition
number of the posterior's correlation matrix. A dense one removes that factor at the price
of d² work per step and a covariance to estimate during warmup: it pays for a correlated
posterior of a few coefficients. Diabetes (442 x 10, kappa 74): 22 steps per draw with the
diagonal, 7 with the dense matrix, and 4x the effective draws.
"""

from __future__ import annotations

import numpy as np

from bayes_reg.linear.information import information_per_row, information_weight
from bayes_reg.linear.regression import check_arguments
from bayes_reg.noise import as_noise
from bayes_reg.priors import ElasticNet, Flat, Gaussian, Laplace, StudentT

__all__ = ["MAX_COEFFICIENTS", "MIN_CONDITION", "correlation_condition", "dense_pays"]

#: Dense only up to this many coefficients (intercept included): d² per step, and a
#: covariance that a warmup of a few hundred draws can estimate.
MAX_COEFFICIENTS = 100
#: Dense from this condition number of the posterior correlation on: sqrt(10) ~ 3x the steps.
MIN_CONDITION = 10.0


def dense_pays(X: np.ndarray, y: np.ndarray, model_kwargs: dict) -> bool:
    """Whether the linear model's posterior at ``model_kwargs`` is small and correlated enough
    for a dense mass matrix (see the module's docstring)."""
    intercept = check_arguments(
        model_kwargs["prior"],
        model_kwargs.get("sigma"),
        model_kwargs.get("intercept_scale"),
        model_kwargs.get("likelihood", "gaussian"),
        model_kwargs.get("intercept", True),
    )
    if X.shape[1] + (intercept is not False) > MAX_COEFFICIENTS:
        return False
    return correlation_condition(X, y, model_kwargs, intercept) > MIN_CONDITION


def correlation_condition(X: np.ndarray, y: np.ndarray, model_kwargs: dict, intercept) -> float:
    """Condition number of the correlation matrix of the Gaussian approximation
    ``precision = information per row * X'X + prior precision`` (inf where it is singular;
    ``X'SX`` with ``S`` the sample weights times the trials, effective ones for the
    beta-binomial)."""
    likelihood = model_kwargs.get("likelihood", "gaussian")
    sigma = model_kwargs.get("sigma")
    noise = as_noise(sigma) if sigma is not None else None
    per_row, scale = (float(v) for v in information_per_row(y, noise, likelihood))
    unit = scale if model_kwargs.get("scale_with_sigma") else 1.0
    precisions = np.broadcast_to(_precision(model_kwargs["prior"], unit), X.shape[1])
    if intercept is not False:
        X = np.column_stack([X, np.ones(len(X))])
        precisions = np.append(precisions, _precision(intercept, unit))
    weight = information_weight(
        model_kwargs.get("sample_weight"), model_kwargs.get("trials"), y, noise, likelihood
    )
    gram = X.T @ X if weight is None else (X.T * np.asarray(weight)) @ X
    precision = per_row * gram + np.diag(precisions)
    try:
        cov = np.linalg.inv(precision)
    except np.linalg.LinAlgError:
        return np.inf
    sd = np.sqrt(np.diag(cov))
    eigenvalues = np.linalg.eigvalsh(cov / np.outer(sd, sd))
    return float(eigenvalues[-1] / eigenvalues[0]) if eigenvalues[0] > 0 else np.inf


def _precision(prior, unit: float):
    """A prior's precision per coefficient (0 for flat; the variance's inverse otherwise)."""
    if prior is True or isinstance(prior, Flat):
        return 0.0
    if isinstance(prior, ElasticNet):  # at least its Gaussian factor's precision
        return 1.0 / (np.asarray(prior.gaussian_scale, dtype=float) * unit) ** 2
    scale = np.asarray(prior.scale, dtype=float) * unit
    if isinstance(prior, Gaussian):
        return 1.0 / scale**2
    if isinstance(prior, Laplace):
        return 1.0 / (2.0 * scale**2)
    if isinstance(prior, StudentT) and prior.df > 2:
        return (prior.df - 2.0) / (prior.df * scale**2)
    return 1.0 / scale**2  # a Student-t without a variance: its scale
