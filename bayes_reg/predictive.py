r"""Scores of a predictive that is a mixture of Gaussians with a fixed noise scale.

Both MC dropout and the posterior of a network with fixed noise predict each point by

.. math::

    p(y \mid x) = \frac{1}{T} \sum_{t=1}^{T} N\!\left(y;\ f_t(x),\ \sigma^2\right),

with :math:`f_t` the stochastic passes or the posterior draws of the function. These
functions score such a predictive against held-out targets exactly where that is cheap
(log likelihood, quantiles by bisection on the mixture CDF, the first CRPS term) and say
where they estimate.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from scipy.special import erf, ndtr

__all__ = [
    "CRPS_PAIRS",
    "crps",
    "log_likelihood",
    "mixture_log_density",
    "predictive_metrics",
    "predictive_quantiles",
    "predictive_summary",
]

#: CRPS's spread term E|Y - Y'| averages over all pairs of this many draws at most (O(T^2)).
CRPS_PAIRS = 1000


def _arrays(draws, y=None):
    draws = np.asarray(draws, dtype=np.float64)
    if draws.ndim != 2:
        raise ValueError(f"draws must be 2-D (draws, points), got shape {draws.shape}")
    if y is None:
        return draws, None
    y = np.asarray(y, dtype=np.float64)
    if y.shape != draws.shape[1:]:
        raise ValueError(f"draws predict {draws.shape[1]} points but y has shape {y.shape}")
    return draws, y


def log_likelihood(draws, y, sigma: float) -> np.ndarray:
    r"""Pointwise log predictive density :math:`\log \frac1T \sum_t N(y; f_t, \sigma^2)`.

    This is the test log likelihood of the MC-dropout experiments (log-mean-exp over passes
    with noise precision :math:`\tau = \sigma^{-2}`).

    Parameters
    ----------
    draws : array of shape (T, n)
    y : array of shape (n,)
    sigma : float

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    draws, y = _arrays(draws, y)
    return np.asarray(mixture_log_density(draws, y, sigma))


def mixture_log_density(draws, y, sigma):
    """:func:`log_likelihood` in JAX, for use inside a compiled program (any float dtype)."""
    z = (y - draws) / sigma
    log_mean = jax.nn.logsumexp(-0.5 * z**2, axis=0) - jnp.log(draws.shape[0])
    return log_mean - 0.5 * jnp.log(2 * jnp.pi) - jnp.log(sigma)


def _gaussian_abs_moment(mu, var, xp=np, erf=erf):
    """E|Z| for Z ~ N(mu, var); ``xp, erf`` are NumPy's or JAX's (inside a jit)."""
    s = xp.sqrt(var)
    z = mu / s
    return s * (2 * xp.exp(-0.5 * z * z) / np.sqrt(2 * np.pi) + z * erf(z / np.sqrt(2)))


def crps(draws, y, sigma: float, *, pairs: int = CRPS_PAIRS) -> np.ndarray:
    r"""Pointwise CRPS, :math:`E|Y - y| - \frac12 E|Y - Y'|`, of the Gaussian mixture.

    The first term is exact over all draws. The second, a mean over all :math:`T^2` pairs
    of components, is exact when ``T <= pairs``; otherwise its mean over distinct pairs is
    estimated from the first ``pairs`` draws (unbiased for independent draws, as MC passes
    are) and its :math:`T` equal pairs are added exactly.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    draws, y = _arrays(draws, y)
    first = _gaussian_abs_moment(y - draws, sigma**2).mean(0)
    t, m = draws.shape[0], min(pairs, draws.shape[0])
    all_pairs = np.asarray(_pair_spread(jnp.asarray(draws[:m]), 2 * sigma**2))
    same = _gaussian_abs_moment(0.0, 2 * sigma**2)
    distinct = (m * all_pairs - same) / (m - 1) if m > 1 else same
    spread = (1 - 1 / t) * distinct + same / t
    return first - 0.5 * spread


@jax.jit
def _pair_spread(draws, var):
    """Mean over all pairs (t, s) of E|N(f_t - f_s, var)|, per point: (n,)."""

    def one_point(f):
        d = f[:, None] - f[None, :]
        return jnp.mean(_gaussian_abs_moment(d, var, jnp, jax.scipy.special.erf))

    return jax.lax.map(one_point, draws.T)


def predictive_quantiles(draws, sigma: float, probs, *, iterations: int = 60) -> np.ndarray:
    """Quantiles of the mixture by bisection on its CDF.

    Returns
    -------
    numpy.ndarray of shape (len(probs), n)
    """
    draws, _ = _arrays(draws)
    probs = np.asarray(probs, dtype=np.float64)
    lo = np.broadcast_to(draws.min(0) - 10 * sigma, (probs.size, draws.shape[1])).copy()
    hi = np.broadcast_to(draws.max(0) + 10 * sigma, lo.shape).copy()
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        cdf = ndtr((mid[:, None, :] - draws[None]) / sigma).mean(1)
        below = cdf < probs[:, None]
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def predictive_summary(draws, sigma: float, *, coverage: float = 0.9) -> xr.Dataset:
    """Per point: the mixture's ``mean``, ``sd`` and central ``coverage`` interval
    (``lower``, ``upper``, exact quantiles by bisection), dim ``obs``.

    Parameters
    ----------
    draws : array of shape (T, n)
        Function draws (MC passes or posterior draws) at the points.
    sigma : float
        Noise scale of every component.
    """
    draws, _ = _arrays(draws)
    lower, upper = predictive_quantiles(draws, sigma, [(1 - coverage) / 2, (1 + coverage) / 2])
    return xr.Dataset(
        {
            "mean": ("obs", draws.mean(0)),
            "sd": ("obs", np.sqrt(draws.var(0) + sigma**2)),
            "lower": ("obs", lower),
            "upper": ("obs", upper),
        },
        attrs={"coverage": coverage},
    )


def predictive_metrics(draws, y, sigma: float, *, intervals=(0.5, 0.9)) -> xr.Dataset:
    """RMSE of the predictive mean, mean test log likelihood, mean CRPS, coverage of the
    central ``intervals`` and mean predictive sd, in the units of ``y``.

    Parameters
    ----------
    draws : array of shape (T, n)
        Function draws (MC passes or posterior draws) at the test points.
    y : array of shape (n,)
    sigma : float
        Noise scale of every component.

    Returns
    -------
    xarray.Dataset
        Scalars ``rmse``, ``log_likelihood``, ``crps``, ``coverage_50``, ``coverage_90``...
        and ``mean_sd``.
    """
    draws, y = _arrays(draws, y)
    mean = draws.mean(0)
    sd = np.sqrt(draws.var(0) + sigma**2)
    out = {
        "rmse": np.sqrt(np.mean((y - mean) ** 2)),
        "log_likelihood": log_likelihood(draws, y, sigma).mean(),
        "crps": crps(draws, y, sigma).mean(),
    }
    for level in intervals:
        lo, hi = predictive_quantiles(draws, sigma, [(1 - level) / 2, (1 + level) / 2])
        out[f"coverage_{round(100 * level)}"] = np.mean((y >= lo) & (y <= hi))
    out["mean_sd"] = sd.mean()
    return xr.Dataset({k: float(v) for k, v in out.items()})
