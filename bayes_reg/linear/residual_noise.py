r"""The noise sd of a penalised least-squares fit, estimated from its residuals (and the
coefficient of variation of a penalised gamma fit, from its Pearson residuals).

The penalty is a prior in units of the noise sd :math:`\sigma` (ridge: :math:`w \sim N(0,
\sigma^2/\alpha)`), so the MAP does not depend on :math:`\sigma` but the posterior does. After
the MAP, :math:`\hat\sigma^2 = \mathrm{RSS} / (n - \mathrm{df})`, the fit's effective degrees of
freedom :math:`\mathrm{df} = \mathrm{tr}\,X_A (X_A^\top X_A + \lambda_2 I)^{-1} X_A^\top` (+1 for
an intercept, :math:`X` centred then) over the non-zero coefficients :math:`A`, with
:math:`\lambda_2 = \sigma^2 / g^2` the prior's Gaussian part (the L2 penalty on the scale of
:math:`\|y - Xw - b\|^2`). Ridge: :math:`\lambda_2 = \alpha`, the trace of the ridge hat matrix;
Lasso: 0, the number of non-zero coefficients (Zou, Hastie & Tibshirani 2007); elastic net:
:math:`n\alpha(1 - \rho)` in scikit-learn's terms (Tibshirani & Taylor 2012).

With sample weights :math:`s_i` (each row's log likelihood times its weight), RSS is
:math:`\sum s_i r_i^2`, :math:`n` is :math:`\sum s_i`, and the degrees of freedom are those of
the rows times :math:`\sqrt{s_i}`, centred at the weighted mean: statsmodels' frequency weights,
and whole-number weights give the rows repeated.

The gamma (log link, coefficient of variation :math:`\sigma`): the same with the Pearson
residuals :math:`(y_i - \mu_i) / \mu_i`, statsmodels' estimate of its ``scale``
:math:`\sigma^2` (Pearson's chi-square over the residual degrees of freedom). Its penalised
Fisher scoring has working weights 1 (:math:`(d\mu/d\eta)^2 / V(\mu) = \mu^2 / \mu^2`), so
its hat matrix, and so its degrees of freedom, are least squares' on the same columns.
"""

from __future__ import annotations

import numpy as np

from bayes_reg.linear.gram import weighted_rows
from bayes_reg.priors import Prior, split_scales

__all__ = ["effective_df", "noise_name", "residual_noise"]


def residual_noise(
    X: np.ndarray,
    y: np.ndarray,
    coef: np.ndarray,
    intercept: float,
    *,
    prior: Prior,
    sigma: float,
    fit_intercept: bool,
    sample_weight: np.ndarray | None = None,
    likelihood: str = "gaussian",
) -> float:
    """:math:`\\sqrt{\\mathrm{RSS} / (n - \\mathrm{df})}` at the MAP ``(coef, intercept)``,
    with ``prior`` the prior at the noise ``sigma`` that the MAP was found with; of the
    Pearson residuals for ``likelihood="gamma"``."""
    gaussian, _ = split_scales(prior)
    l2 = 0.0 if gaussian is None else (sigma / gaussian) ** 2
    eta = X @ coef + intercept
    residuals = y - eta if likelihood == "gaussian" else y * np.exp(-eta) - 1.0
    squares = residuals**2
    weight = sample_weight
    n, rss = (len(y), squares.sum()) if weight is None else (weight.sum(), weight @ squares)
    df = effective_df(X, coef, l2, fit_intercept, weight)
    if not (n - df > 0 and rss > 0):
        raise ValueError(
            f"cannot estimate the noise: {n:.12g} rows, {df:.3g} effective degrees of freedom "
            f"and a residual sum of squares of {rss:.3g} leave no residual variance; give the "
            f"known {noise_name(likelihood)} as noise=<number>, more rows or a stronger penalty"
        )
    return float(np.sqrt(rss / (n - df)))


def noise_name(likelihood: str) -> str:
    """What the estimated sigma is: least squares' noise sd, the gamma's coefficient of
    variation."""
    return "noise sd" if likelihood == "gaussian" else "coefficient of variation"


def effective_df(
    X: np.ndarray, coef: np.ndarray, l2: float, intercept: bool, sample_weight=None
) -> float:
    """tr X_A (X_A'X_A + l2 I)^-1 X_A' over the non-zero coefficients A (+1 and centred with
    an intercept): from the singular values s of X_A, the sum of s² / (s² + l2), s > 0."""
    XA, _ = weighted_rows(X[:, coef != 0], sample_weight, centre=intercept)
    s = np.linalg.svd(XA, compute_uv=False) if XA.size else np.zeros(0)
    s = s[s > 1e-12 * max(s.max(initial=0.0), 1e-300)]
    return float(np.sum(s**2 / (s**2 + l2))) + intercept
