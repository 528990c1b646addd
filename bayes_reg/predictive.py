r"""Scores of a predictive that is a mixture of Gaussians with a fixed noise scale.

Both MC dropout and the posterior of a network with fixed noise predict each point by

.. math::

    p(y \mid x) = \frac{1}{T} \sum_{t=1}^{T} N\!\left(y;\ f_t(x),\ \sigma_t^2\right),

with :math:`f_t` the stochastic passes, the posterior draws of the function or the members
of an ensemble, and :math:`\sigma_t` one fixed noise scale or, for networks that predict
their own variance, one per draw and point. These functions score such a predictive against
held-out targets exactly where that is cheap (log likelihood, the PIT and calibration,
quantiles by safeguarded Newton steps on the mixture CDF, the first CRPS term) and say where
they estimate.

Every ``sigma`` below is a float or an array of the draws' shape (T, n).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from scipy.special import erf, ndtr, ndtri

__all__ = [
    "CALIBRATION_LEVELS",
    "CRPS_PAIRS",
    "calibration",
    "crps",
    "interval_score",
    "log_likelihood",
    "mixture_log_density",
    "pit",
    "predictive_metrics",
    "predictive_quantiles",
    "predictive_summary",
]

#: CRPS's spread term E|Y - Y'| averages over all pairs of this many draws at most (O(T^2)).
CRPS_PAIRS = 1000

#: Central-interval levels of the calibration curve (0.05, 0.10, ..., 0.95).
CALIBRATION_LEVELS = np.round(np.arange(1, 20) / 20, 2)


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


def log_likelihood(draws, y, sigma) -> np.ndarray:
    r"""Pointwise log predictive density :math:`\log \frac1T \sum_t N(y; f_t, \sigma^2)`.

    This is the test log likelihood of the MC-dropout experiments (log-mean-exp over passes
    with noise precision :math:`\tau = \sigma^{-2}`).

    Parameters
    ----------
    draws : array of shape (T, n)
    y : array of shape (n,)
    sigma : float or array of shape (T, n)

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    draws, y = _arrays(draws, y)
    return np.asarray(_compiled_mixture_log_density(draws, y, _noise(sigma, draws)))


def mixture_log_density(draws, y, sigma):
    """:func:`log_likelihood` in JAX, for use inside a compiled program (any float dtype)."""
    z = (y - draws) / sigma
    log_component = -0.5 * z**2 - jnp.log(sigma) * jnp.ones_like(z)
    log_mean = jax.nn.logsumexp(log_component, axis=0) - jnp.log(draws.shape[0])
    return log_mean - 0.5 * jnp.log(2 * jnp.pi)


# One program per shape: run eagerly, its dozen operations compiled one by one on every new
# shape (about 5 s over a test run).
_compiled_mixture_log_density = jax.jit(mixture_log_density)


def _noise(sigma, draws) -> np.ndarray:
    """The noise scale of every component, as an array of the draws' shape."""
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.ndim and sigma.shape != draws.shape:
        raise ValueError(
            f"sigma must be a number or one per draw and point {draws.shape}, got shape "
            f"{sigma.shape}"
        )
    if not np.all(sigma > 0):
        raise ValueError("every noise scale sigma must be positive")
    return np.broadcast_to(sigma, draws.shape)


def _gaussian_abs_moment(mu, var, xp=np, erf=erf):
    """E|Z| for Z ~ N(mu, var); ``xp, erf`` are NumPy's or JAX's (inside a jit)."""
    s = xp.sqrt(var)
    z = mu / s
    return s * (2 * xp.exp(-0.5 * z * z) / np.sqrt(2 * np.pi) + z * erf(z / np.sqrt(2)))


def crps(draws, y, sigma, *, pairs: int = CRPS_PAIRS) -> np.ndarray:
    r"""Pointwise CRPS, :math:`E|Y - y| - \frac12 E|Y - Y'|`, of the Gaussian mixture.

    The first term is exact over all draws. The second, a mean over all :math:`T^2` pairs
    of components (a pair's difference has variance :math:`\sigma_t^2 + \sigma_s^2`), is
    exact when ``T <= pairs``; otherwise its mean over distinct pairs is estimated from the
    first ``pairs`` draws (unbiased for independent draws, as MC passes are) and its
    :math:`T` equal pairs are added exactly.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    draws, y = _arrays(draws, y)
    var = _noise(sigma, draws) ** 2
    first = _gaussian_abs_moment(y - draws, var).mean(0)
    t, m = draws.shape[0], min(pairs, draws.shape[0])
    same = _gaussian_abs_moment(0.0, 2 * var)
    if m > 1:
        distinct = np.asarray(_distinct_pair_spread(jnp.asarray(draws[:m]), jnp.asarray(var[:m])))
    else:
        distinct = same[0]
    spread = (1 - 1 / t) * distinct + same.mean(0) / t
    return first - 0.5 * spread


_JAX = (jnp, jax.scipy.special.erf)  # the array module and erf of a compiled program


@jax.jit
def _distinct_pair_spread(draws, var):
    """Mean over distinct pairs t != s of E|N(f_t - f_s, var_t + var_s)|, per point: (n,).

    The pairs are symmetric, so each unordered one is evaluated once: pair t with t + k
    (mod T) for k = 1 .. T // 2 meets every unordered pair once, except that for an even T
    the pairs at k = T / 2 come up twice (from either end).
    """
    t = draws.shape[0]
    shift = jnp.arange(1, t // 2 + 1)
    partner = (jnp.arange(t)[:, None] + shift) % t  # (T, T // 2)
    weight = jnp.where(2 * shift == t, 1.0, 2.0)  # each unordered pair stands for two

    def one_point(args):
        f, v = args
        pairs = _gaussian_abs_moment(f[:, None] - f[partner], v[:, None] + v[partner], *_JAX)
        return jnp.sum(pairs * weight) / (t * (t - 1))

    return jax.lax.map(one_point, (draws.T, var.T))


def pit(draws, y, sigma) -> np.ndarray:
    """The probability integral transform: each held-out ``y`` through its predictive CDF.

    Uniform on [0, 1] when the predictive is calibrated; ``y`` lies in the central interval
    of level ``p`` exactly when ``|pit - 1/2| <= p/2``.
    """
    draws, y = _arrays(draws, y)
    return ndtr((y - draws) / _noise(sigma, draws)).mean(0)


def calibration(draws, y, sigma, *, levels=CALIBRATION_LEVELS) -> xr.Dataset:
    """The calibration curve: how often the central interval of each level covers ``y``.

    Returns
    -------
    xarray.Dataset
        ``observed`` coverage over dim ``level``, and ``miscalibration_area``: the mean
        absolute gap between observed and nominal coverage over the levels (0 for a
        calibrated predictive; the area between the curve and the diagonal).
    """
    levels = np.asarray(levels, dtype=np.float64)
    gap = np.abs(pit(draws, y, sigma) - 0.5)
    observed = (gap[None, :] <= levels[:, None] / 2).mean(1)
    return xr.Dataset(
        {
            "observed": ("level", observed),
            "miscalibration_area": np.abs(observed - levels).mean(),
        },
        coords={"level": levels},
    )


def interval_score(lower, upper, y, level: float) -> np.ndarray:
    """Pointwise interval score of a central ``level`` interval (Gneiting & Raftery, 2007):
    its width plus ``2 / (1 - level)`` times how far ``y`` falls outside; lower is better."""
    alpha = 1 - level
    below, above = np.maximum(lower - y, 0), np.maximum(y - upper, 0)
    return (upper - lower) + 2 / alpha * (below + above)


def predictive_quantiles(draws, sigma, probs, *, max_iterations: int = 100) -> np.ndarray:
    """Quantiles of the mixture: Newton's method on its CDF, kept inside a bracket.

    The ``p`` quantile lies between the smallest and the largest of the components' own
    ``p`` quantiles (there the mixture's CDF is at most, and at least, ``p``). Newton starts
    from the quantile of the Gaussian with the mixture's mean and sd (clipped to that
    bracket); each iteration narrows the bracket at the current point and takes the Newton
    step, or bisects where the step would leave the bracket. A point stops when its step
    moves it by at most 1e-13 of its scale (Newton's error then is about the square of that),
    and later iterations evaluate the CDF only at the points still moving: most stop after
    5-8 of the 10-15 iterations that the slowest need.

    Returns
    -------
    numpy.ndarray of shape (len(probs), n)
    """
    draws, _ = _arrays(draws)
    sigma = _noise(sigma, draws)
    probs = np.asarray(probs, dtype=np.float64)
    z = ndtri(probs)[:, None]
    own = draws[None] + sigma[None] * z[..., None]  # (probs, T, n): each component's quantile
    lo, hi = own.min(1), own.max(1)
    x = np.clip(draws.mean(0) + z * _sd(draws, sigma), lo, hi)
    scale = np.maximum(np.abs(x), sigma.max(0))
    n = x.shape[1]
    moving = np.arange(x.size)  # the points still moving, as flat indices into (probs, n)
    x, lo, hi, scale = (a.ravel().copy() for a in (x, lo, hi, scale))
    for _ in range(max_iterations):
        column, target = moving % n, probs[moving // n]
        f, sd = draws[:, column], sigma[:, column]  # (T, moving)
        at = x[moving]
        u = (at - f) / sd
        cdf = ndtr(u).mean(0)
        density = (np.exp(-0.5 * u * u) / sd).mean(0) / np.sqrt(2 * np.pi)
        below = cdf < target
        lo[moving] = np.where(below, at, lo[moving])
        hi[moving] = np.where(below, hi[moving], at)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = at - (cdf - target) / density
        inside = (newton >= lo[moving]) & (newton <= hi[moving])
        step = np.where(inside, newton, 0.5 * (lo[moving] + hi[moving]))
        x[moving] = step
        moving = moving[np.abs(step - at) > 1e-13 * scale[moving]]
        if moving.size == 0:
            break
    return x.reshape(len(probs), -1)


def _sd(draws, sigma) -> np.ndarray:
    """The mixture's sd: the draws' spread plus the components' mean variance."""
    return np.sqrt(draws.var(0) + (_noise(sigma, draws) ** 2).mean(0))


def predictive_summary(draws, sigma, *, coverage: float = 0.9) -> xr.Dataset:
    """Per point: the mixture's ``mean``, ``sd`` and central ``coverage`` interval
    (``lower``, ``upper``, exact quantiles of the mixture), dim ``obs``.

    Parameters
    ----------
    draws : array of shape (T, n)
        Function draws (MC passes or posterior draws) at the points.
    sigma : float or array of shape (T, n)
        Noise scale of every component.
    """
    draws, _ = _arrays(draws)
    lower, upper = predictive_quantiles(draws, sigma, [(1 - coverage) / 2, (1 + coverage) / 2])
    return xr.Dataset(
        {
            "mean": ("obs", draws.mean(0)),
            "sd": ("obs", _sd(draws, sigma)),
            "lower": ("obs", lower),
            "upper": ("obs", upper),
        },
        attrs={"coverage": coverage},
    )


def predictive_metrics(draws, y, sigma, *, intervals=(0.5, 0.9)) -> xr.Dataset:
    """RMSE of the predictive mean, mean test log likelihood, mean CRPS, coverage and mean
    interval score of the central ``intervals``, the miscalibration area
    (:func:`calibration`) and mean predictive sd, in the units of ``y``.

    Parameters
    ----------
    draws : array of shape (T, n)
        Function draws (MC passes or posterior draws) at the test points.
    y : array of shape (n,)
    sigma : float or array of shape (T, n)
        Noise scale of every component.

    Returns
    -------
    xarray.Dataset
        Scalars ``rmse``, ``log_likelihood``, ``crps``, ``coverage_50``, ``coverage_90``...,
        ``interval_score_50``, ``interval_score_90``..., ``miscalibration_area`` and
        ``mean_sd``.
    """
    draws, y = _arrays(draws, y)
    out = {
        "rmse": np.sqrt(np.mean((y - draws.mean(0)) ** 2)),
        "log_likelihood": log_likelihood(draws, y, sigma).mean(),
        "crps": crps(draws, y, sigma).mean(),
    }
    scores = {}
    bounds = predictive_quantiles(
        draws, sigma, [p for level in intervals for p in ((1 - level) / 2, (1 + level) / 2)]
    )
    for level, lo, hi in zip(intervals, bounds[::2], bounds[1::2], strict=True):
        out[f"coverage_{round(100 * level)}"] = np.mean((y >= lo) & (y <= hi))
        scores[f"interval_score_{round(100 * level)}"] = interval_score(lo, hi, y, level).mean()
    out |= scores
    out["miscalibration_area"] = calibration(draws, y, sigma)["miscalibration_area"]
    out["mean_sd"] = _sd(draws, sigma).mean()
    return xr.Dataset({k: float(v) for k, v in out.items()})
