"""Rank-normalised split R-hat and bulk/tail ESS of many parameters at once.

The estimators of Vehtari et al. (2021), written to give arviz_stats 1.3's numbers
(``arviz_stats/base/diagnostics.py``: ``_rhat_rank``, ``_ess_bulk``, ``_ess_tail``) for
every parameter of a ``(chain, draw, parameter)`` array in a few numpy operations, where
ArviZ loops over parameters in Python. The same operations in the same order, so the
results agree to rounding; the inputs must be finite, with at least 4 draws (ArviZ's
NaN handling is not mirrored: callers send such parameters to ArviZ).

References
----------
Vehtari, Gelman, Simpson, Carpenter, Bürkner (2021). Rank-normalization, folding, and
localization: an improved R-hat for assessing convergence of MCMC. Bayesian Analysis.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats
from scipy.fftpack import next_fast_len  # ArviZ's FFT length: keep it, for equal numbers

__all__ = ["RankDiagnostics", "rank_diagnostics", "supports"]


class RankDiagnostics(NamedTuple):
    """Per-parameter convergence numbers, each an array of shape (parameter,)."""

    rhat: np.ndarray  #: rank-normalised split R-hat, max of bulk and folded (tail) R-hat
    ess_bulk: np.ndarray  #: ESS of the rank-normalised split chains
    ess_tail: np.ndarray  #: min ESS of the indicators of the quantiles 1 - prob and prob


def rank_diagnostics(draws: ArrayLike, *, prob: float) -> RankDiagnostics:
    """Rank-normalised split R-hat, bulk ESS and tail ESS of every parameter at once.

    ``arviz_stats.rhat``, ``arviz_stats.ess(method="bulk")`` and
    ``arviz_stats.ess(method="tail", prob=prob)`` per parameter, to the last bit; note
    that ArviZ's default tail ``prob`` is ``rcParams["stats.ci_prob"]`` (0.89, so the
    quantiles 0.11 and 0.89), not the paper's 0.95.

    Parameters
    ----------
    draws : array of shape (chain, draw, parameter)
        Finite real draws, at least 4 per chain.
    prob : float
        In (0, 1); the tail quantiles are ``min(prob, 1 - prob)`` and its complement.

    Returns
    -------
    RankDiagnostics
        R-hat is NaN with one chain and for a constant parameter; ESS of a constant
        parameter is the number of draws used (an odd count drops its middle draw).

    Examples
    --------
    >>> import numpy as np
    >>> draws = np.random.default_rng(0).normal(size=(4, 500, 3))
    >>> d = rank_diagnostics(draws, prob=0.89)
    >>> bool(np.all(d.rhat < 1.01)), d.ess_bulk.shape
    (True, (3,))
    """
    if not supports(draws):
        raise ValueError(
            "draws must be finite float32, float64 or integer numbers of shape (chain, draw,"
            f" parameter) with at least 4 draws, got {np.asarray(draws).dtype} of shape"
            f" {np.shape(draws)}; send other draws to arviz_stats"
        )
    x = _by_parameter(draws)
    split = _split_chains(x)
    z, ordered = _z_scale(split)
    if x.shape[1] < 2:
        rhat = np.full(x.shape[0], np.nan)
    else:
        bulk = _rhat(z)
        middle = ordered.shape[-1] // 2  # an even count: np.median's mean of the middle two
        median = np.mean(ordered[:, middle - 1 : middle + 1], axis=-1)
        tail = _rhat(_z_scale(abs(split - median[:, None, None]))[0])
        rhat = np.where(tail > bulk, tail, bulk)  # Python's max(bulk, tail), NaN included
    # Tail ESS: ESS of the split indicators draw <= quantile at both tail quantiles, by
    # numpy's default "linear" quantile as in ArviZ, one scalar prob per call (a list of
    # probs would interpolate float32 draws in float64). One ESS call for all three.
    flat = x.reshape(x.shape[0], -1)
    q = [np.quantile(flat, p, axis=-1) for p in sorted((prob, 1 - prob))]
    below = [_split_chains(x <= qi[:, None, None]) for qi in q]
    ess_bulk, low, high = np.split(_ess(np.concatenate([z, *below])), 3)
    ess_tail = np.where(high < low, high, low)  # Python's min(low, high), NaN included
    return RankDiagnostics(rhat, ess_bulk, ess_tail)


def supports(draws: ArrayLike) -> bool:
    """Whether :func:`rank_diagnostics` takes these draws: finite float32, float64 or
    integer numbers of shape (chain, draw, parameter), at least 4 draws (the cases it
    mirrors ArviZ in; ArviZ gives NaN for NaN draws or fewer than 4 draws)."""
    x = np.asarray(draws)
    return (
        x.ndim == 3
        and x.size > 0
        and x.shape[1] >= 4
        and (x.dtype.kind in "iu" or x.dtype in (np.float32, np.float64))
        # scipy >= 1.18 ranks float32 draws in float32: exact half ranks below 2**23 draws
        and (x.dtype != np.float32 or x.shape[0] * x.shape[1] < 2**22)
        and bool(np.isfinite(x).all())
    )


def _by_parameter(draws: ArrayLike) -> np.ndarray:
    """(chain, draw, parameter) -> contiguous (parameter, chain, draw), dtype kept (ArviZ
    takes medians and quantiles in the draws' own dtype)."""
    return np.ascontiguousarray(np.moveaxis(np.asarray(draws), -1, 0))


def _split_chains(x: np.ndarray) -> np.ndarray:
    """(parameter, chain, draw) -> (parameter, 2 chain, draw // 2): first and last halves;
    the middle draw of an odd count is dropped."""
    half = x.shape[-1] // 2
    return np.concatenate([x[..., :half], x[..., x.shape[-1] - half :]], axis=1)


def _z_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normal scores of each parameter's pooled ranks (average ranks for ties, Blom's
    offset 3/8), and the sorted pooled draws.

    An average rank is a whole or half number, so its score is read from a table of
    ``ndtri`` at every half rank: the value scipy's ``norm.ppf`` gives ArviZ.
    """
    flat = x.reshape(x.shape[0], -1)
    n = flat.shape[-1]
    order = np.argsort(flat, axis=-1)
    ordered = np.take_along_axis(flat, order, axis=-1)
    position = np.broadcast_to(np.arange(n), flat.shape)
    tie = ordered[:, 1:] == ordered[:, :-1]
    if tie.any():  # ties share the mean of their first and last positions
        first = np.maximum.accumulate(
            np.where(np.pad(~tie, ((0, 0), (1, 0)), constant_values=True), position, 0), axis=-1
        )
        last = np.minimum.accumulate(
            np.where(np.pad(~tie, ((0, 0), (0, 1)), constant_values=True), position, n)[:, ::-1],
            axis=-1,
        )[:, ::-1]
        twice_rank = first + last + 2
    else:
        twice_rank = 2 * position + 2
    dtype = _rank_dtype(flat.dtype)  # norm.ppf keeps the rank's dtype
    c = 3 / 8
    half_ranks = (np.arange(2, 2 * n + 1) / 2).astype(dtype)
    table = special.ndtri((half_ranks - c) / (n - 2 * c + 1)).astype(float)
    z = np.empty(flat.shape)
    np.put_along_axis(z, order, table[twice_rank - 2], axis=-1)
    return z.reshape(x.shape), ordered


@functools.cache
def _rank_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype ``scipy.stats.rankdata`` ranks such draws in, as ArviZ calls it: float64
    for integers; float32 draws stay float32 from scipy 1.18 on, float64 before."""
    return stats.rankdata(np.zeros(1, dtype)).dtype


def _rhat(x: np.ndarray) -> np.ndarray:
    """Potential scale reduction of (parameter, chain, draw) draws."""
    x = np.asarray(x, dtype=float)
    n = x.shape[-1]
    between = n * np.var(np.mean(x, axis=-1), axis=-1, ddof=1)
    within = np.mean(np.var(x, axis=-1, ddof=1), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):  # constant: NaN, as in ArviZ
        return np.sqrt((between / within + n - 1) / n)


def _autocov(x: np.ndarray) -> np.ndarray:
    """Autocovariance at every lag along the last axis, by FFT (ArviZ's ``autocov``)."""
    n = x.shape[-1]
    m = next_fast_len(2 * n)
    x = x - x.mean(-1, keepdims=True)
    f = np.fft.rfft(x, n=m, axis=-1)
    f *= np.conjugate(f)
    cov = np.fft.irfft(f, n=m, axis=-1)[..., :n]
    cov /= n
    return cov


def _ess(x: np.ndarray) -> np.ndarray:
    """ESS of (parameter, chain, draw) draws, Geyer's initial monotone sequence estimator.

    ArviZ walks the autocorrelations a pair of lags at a time per parameter. Here, with
    pair sums ``S[m] = rho[2m] + rho[2m+1]`` (``rho[0] = 1``): the walk takes ``K`` pairs,
    ``K`` the number of leading positive ``S[m]`` among the ``(n - 3) // 2`` it may read;
    the monotone step is a running minimum of those ``K`` sums (a pair above the minimum
    becomes two halves of it); the first unused lag ``2K`` is added once, when positive or
    when its pair sum is non-negative. Sums over lags are taken per ``K``, over exactly
    ArviZ's slices, so numpy's pairwise summation rounds the same way.
    """
    x = np.asarray(x, dtype=float)
    n_param, n_chain, n = x.shape
    size = n_chain * n
    constant = (x.max(axis=(1, 2)) - x.min(axis=(1, 2))) < np.finfo(float).resolution
    acov = _autocov(x)
    # Means over chains along the last, contiguous axis: the same rounding as ArviZ's
    # np.mean(acov[:, t]).
    acov_mean = np.ascontiguousarray(np.swapaxes(acov, 1, 2)).mean(axis=-1)
    mean_var = acov_mean[:, 0] * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n + np.var(x.mean(axis=-1), axis=-1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):  # constant parameters: see below
        rho = 1.0 - (mean_var[:, None] - acov_mean) / var_plus[:, None]
    rho[:, 0] = 1.0

    n_steps = max(0, (n - 3) // 2)
    even, odd = rho[:, 0 : 2 * n_steps + 2 : 2], rho[:, 1 : 2 * n_steps + 2 : 2]
    pair = even + odd  # pairs 0 .. n_steps
    k = np.cumprod(pair[:, :n_steps] > 0, axis=1).sum(axis=1)
    floor = np.minimum.accumulate(pair, axis=1)
    previous = np.concatenate([pair[:, :1], floor[:, :-1]], axis=1)
    lowered = pair > previous
    half = previous / 2.0
    monotone = np.stack(
        [np.where(lowered, half, even), np.where(lowered, half, odd)], axis=-1
    ).reshape(n_param, -1)
    head = np.zeros(n_param)
    for k_value in np.unique(k):
        rows = k == k_value
        head[rows] = monotone[rows, : 2 * k_value].sum(axis=-1)
    rows = np.arange(n_param)
    last_even = rho[rows, 2 * k]
    last = np.where(k == 0, 1.0, np.where((pair[rows, k] >= 0) | (last_even > 0), last_even, 0.0))
    tau = -1.0 + 2.0 * head + last
    tau_min = 1 / np.log10(size)
    tau = np.where(tau_min > tau, tau_min, tau)  # Python's max(tau, tau_min), NaN included
    ess = size / tau
    ess[np.isnan(rho[:, 1])] = np.nan
    ess[constant] = size
    return ess
