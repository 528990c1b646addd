r"""The exact posterior of the linear model under a Gaussian prior with known noise.

With ``w_j ~ N(m_j, g_j²)`` (one scale and mean for every weight, or one per feature),
intercept ``b`` flat or ``N(0, s_b²)`` and noise ``σ`` known, the posterior of
``θ = (b, w)`` is Gaussian with precision :math:`A = Z^\top Z / \sigma^2 + \Lambda_0` and
mean :math:`A^{-1} (Z^\top y / \sigma^2 + \Lambda_0 m_0)`, where ``Z = [1, X]``,
:math:`\Lambda_0 = \mathrm{diag}(1/s_b^2, 1/g_1^2, \dots)` and :math:`m_0 = (0, m_1, \dots)`.
This is the reference that NUTS must match.

The evidence (marginal likelihood) is computed on centred data with no intercept, as
scikit-learn's ``BayesianRidge`` does: ``y_c ~ N(0, σ² I + g² X_c X_cᵀ)``.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.optimize
from jax.typing import ArrayLike

from bayes_reg import _validate
from bayes_reg._random import normal_from_precision
from bayes_reg.linear.gram import weighted_rows

__all__ = [
    "ExactPosterior",
    "exact_posterior",
    "NIGPosterior",
    "nig_posterior",
    "log_evidence",
    "loo_log_density",
    "best_prior_scale",
    "EvidenceFit",
    "fit_evidence",
]


class ExactPosterior(NamedTuple):
    """Gaussian posterior over ``(b, w)``: index 0 is the intercept, 1: are the weights."""

    mean: jax.Array
    cov: jax.Array
    chol_precision: jax.Array

    @property
    def w_mean(self) -> jax.Array:
        return self.mean[1:]

    @property
    def b_mean(self) -> jax.Array:
        return self.mean[0]

    @property
    def w_sd(self) -> jax.Array:
        return jnp.sqrt(jnp.diag(self.cov)[1:])

    @property
    def b_sd(self) -> jax.Array:
        return jnp.sqrt(self.cov[0, 0])

    def sample(self, key: jax.Array, shape: tuple[int, ...] = ()) -> dict[str, jax.Array]:
        """I.i.d. draws: ``{"b": shape, "w": shape + (n_features,)}``."""
        return _gaussian_draws(key, self.mean, self.chol_precision, 1.0, tuple(shape))


@functools.partial(jax.jit, static_argnums=4)
def _gaussian_draws(key, mean, chol_precision, scale, shape) -> dict[str, jax.Array]:
    """``{"b", "w"}`` of :func:`~bayes_reg._random.normal_from_precision`'s draws, split in the
    same compiled program."""
    theta = normal_from_precision(key, mean, chol_precision, shape, scale)
    return {"b": theta[..., 0], "w": theta[..., 1:]}


@functools.partial(jax.jit, static_argnums=5)
def _nig_draws(key, mean, chol_precision, concentration, rate, shape) -> dict[str, jax.Array]:
    """Normal-inverse-gamma draws: ``sigma**2 = rate / Gamma(concentration)``, then
    :func:`_gaussian_draws` scaled by ``sigma``."""
    key_s, key_t = jax.random.split(key)
    sigma = jnp.sqrt(rate / jax.random.gamma(key_s, concentration, shape, mean.dtype))
    return _gaussian_draws(key_t, mean, chol_precision, sigma, shape) | {"sigma": sigma}


def exact_posterior(
    X: ArrayLike,
    y: ArrayLike,
    *,
    prior_scale: float | ArrayLike,
    sigma: float,
    intercept_scale: float | None = None,
    sample_weight: ArrayLike | None = None,
    prior_mean: float | ArrayLike = 0.0,
) -> ExactPosterior:
    """Closed-form posterior of :func:`~bayes_reg.linear.regression.linear_regression`.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    prior_scale : float or array of shape (n_features,)
        Sd ``g`` of the Gaussian prior on each weight: one for all, or one per feature.
    sigma : float
        Known noise scale.
    intercept_scale : float, optional
        Sd of the intercept's prior; ``None`` for flat (as in the model's default).
    sample_weight : array of shape (n_samples,), optional
        Each row's log likelihood times its weight (whole numbers: the rows repeated).
    prior_mean : float or array of shape (n_features,)
        Mean of the Gaussian prior on each weight (default 0).

    Returns
    -------
    ExactPosterior

    Examples
    --------
    >>> import numpy as np
    >>> post = exact_posterior(np.eye(2), np.array([1.0, -1.0]), prior_scale=1.0, sigma=1.0)
    >>> post.w_mean.round(6).tolist()
    [0.5, -0.5]
    """
    _validate.require_x64("exact_posterior")
    X, y = _validate.design(X, y, min_rows=1)
    g, mean = _per_feature_prior(prior_scale, prior_mean, X.shape[1])
    sigma = _validate.positive("sigma", sigma)
    if intercept_scale is not None:
        intercept_scale = _validate.positive("intercept_scale", intercept_scale)
    hint = _scales_hint(g, sigma)
    with np.errstate(over="ignore", divide="ignore"):  # inf for a scale of 1e-200: refused
        b_prec = 0.0 if intercept_scale is None else 1.0 / np.square(intercept_scale)
        w_prec = 1.0 / np.square(g)
    if not (np.isfinite(b_prec) and np.all(np.isfinite(w_prec))):
        raise ValueError(f"the prior precision is not finite: {hint}")
    Z, prior_prec, centre = _with_intercept(X, b_prec, w_prec, mean)
    weight = _validate.sample_weight(sample_weight, X.shape[0])
    Z, y = (weighted_rows(a, weight, centre=False)[0] for a in (Z, y))  # rows times sqrt(weight)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused next, in words
        post = _posterior(Z.T @ Z, Z.T @ y, prior_prec, prior_prec * centre, sigma)
    _validate.finite_result("the exact posterior", hint, post.mean, post.chol_precision)
    return post


def _per_feature_prior(prior_scale, prior_mean, features: int):
    """The prior's scales and means validated, one of each per feature."""
    scales = _validate.positives("prior_scale", prior_scale)
    means = _validate.numbers("prior_mean", prior_mean)
    for name, value in (("prior_scale", scales), ("prior_mean", means)):
        if np.ndim(value) and np.size(value) != features:
            raise ValueError(
                f"{name} has {np.size(value)} values and X has {features} columns: give one "
                "number, or one per column"
            )
    return scales, np.broadcast_to(np.asarray(means, float), (features,))


def _with_intercept(X: np.ndarray, b_prec: float, w_prec, w_mean):
    """``Z = [1, X]``, the prior precisions ``(b_prec, w_prec_1, ..., w_prec_d)`` and the prior
    means ``(0, w_mean_1, ...)``, built on the host: as JAX operations outside a compiled
    program, each would compile for every new shape. The prior's pull toward its mean,
    precision times mean, is zeros for a zero-mean prior (the sums it joins unchanged)."""
    Z = np.concatenate([np.ones((X.shape[0], 1), X.dtype), X], axis=1)
    return Z, np.concatenate([[b_prec], np.broadcast_to(w_prec, X.shape[1])]), np.r_[0.0, w_mean]


def _scales_hint(prior_scale, sigma) -> str:
    return (
        f"prior_scale={prior_scale} and sigma={sigma} make the posterior precision singular or"
        " overflow (or X, y are too large); rescale y so that both are nearer 1"
    )


@jax.jit
def _posterior(ZtZ, Zty, prior_prec, pull, sigma):
    """From ``Z'Z`` and ``Z'y``, summed by the caller in NumPy: the rows never reach JAX, so
    the program depends on the number of features only (a fold of other size compiles
    nothing). ``pull`` is the prior's precision times its mean."""
    A = ZtZ / sigma**2 + jnp.diag(prior_prec)
    L = jnp.linalg.cholesky(A)
    mean = jax.scipy.linalg.cho_solve((L, True), Zty / sigma**2 + pull)
    cov = jax.scipy.linalg.cho_solve((L, True), jnp.eye(A.shape[0], dtype=A.dtype))
    return ExactPosterior(mean, cov, L)


class NIGPosterior(NamedTuple):
    """Normal–Inverse-Gamma posterior: ``sigma² ~ InvGamma(concentration, rate)`` and
    ``(b, w) | sigma ~ N(mean, sigma² A⁻¹)``, with ``chol_precision`` the Cholesky factor
    of ``A``. Index 0 is the intercept."""

    mean: jax.Array
    chol_precision: jax.Array
    concentration: float
    rate: float

    @property
    def w_mean(self) -> jax.Array:
        return self.mean[1:]

    @property
    def sigma2_mean(self) -> float:
        return self.rate / (self.concentration - 1) if self.concentration > 1 else np.inf

    def sample(self, key: jax.Array, shape: tuple[int, ...] = ()) -> dict[str, jax.Array]:
        """I.i.d. draws: ``{"b": shape, "w": shape + (n_features,), "sigma": shape}``."""
        return _nig_draws(
            key, self.mean, self.chol_precision, self.concentration, self.rate, tuple(shape)
        )


def nig_posterior(
    X: ArrayLike,
    y: ArrayLike,
    *,
    prior_scale: float | ArrayLike,
    concentration: float,
    rate: float,
    intercept_scale: float | None = None,
    sample_weight: ArrayLike | None = None,
    prior_mean: float | ArrayLike = 0.0,
) -> NIGPosterior:
    r"""Closed-form posterior of the Normal–Inverse-Gamma linear model.

    The model of :func:`~bayes_reg.linear.regression.linear_regression` with
    ``sigma=inverse_gamma_noise(concentration, rate)`` and ``scale_with_sigma=True``:
    :math:`\sigma^2 \sim \mathrm{InvGamma}(a_0, b_0)`, :math:`w_j \mid \sigma \sim
    N(m_j, \sigma^2 g_j^2)` (``prior_scale`` and ``prior_mean`` one number for all, or one
    per feature), and ``b`` flat or :math:`N(0, \sigma^2 s_b^2)`. With ``Z = [1, X]``,
    :math:`\Lambda_0 = \mathrm{diag}(1/s_b^2 \text{ or } 0, 1/g_1^2, \dots)` and
    :math:`m_0 = (0, m_1, \dots)`: :math:`A = Z^\top Z + \Lambda_0`, mean
    :math:`m = A^{-1} (Z^\top y + \Lambda_0 m_0)`, :math:`a_n = a_0 + (n - n_\text{flat})/2`
    and :math:`b_n = b_0 + (y^\top y + m_0^\top \Lambda_0 m_0 - m^\top A m)/2`, where
    :math:`n_\text{flat}` is 1 for a flat intercept (integrating it out removes one degree
    of freedom) and 0 otherwise.
    With ``sample_weight`` each row's log likelihood is times its weight: the sums over rows
    are weighted, and ``n`` is the weights' sum (whole numbers: the rows repeated).
    """
    _validate.require_x64("nig_posterior")
    X, y = _validate.design(X, y, min_rows=1)
    g, mean = _per_feature_prior(prior_scale, prior_mean, X.shape[1])
    a0 = _validate.positive("concentration", concentration)
    b0 = _validate.positive("rate", rate)
    b_prec = (
        0.0
        if intercept_scale is None
        else 1.0 / _validate.positive("intercept_scale", intercept_scale) ** 2
    )
    weight = _validate.sample_weight(sample_weight, X.shape[0])
    n = X.shape[0] if weight is None else float(weight.sum())
    Z, prior_prec, centre = _with_intercept(X, b_prec, g**-2, mean)
    Z, yw = (weighted_rows(a, weight, centre=False)[0] for a in (Z, y))
    # In NumPy and SciPy: a few products and a small factorisation, nothing to compile for
    # each new shape. An overflow or a precision that is not positive definite is refused next.
    with np.errstate(over="ignore", invalid="ignore"):
        A = Z.T @ Z + np.diag(prior_prec)
        pull = prior_prec * centre
        try:
            L = scipy.linalg.cholesky(A, lower=True)
            m = scipy.linalg.cho_solve((L, True), Z.T @ yw + pull)
            b_n = b0 + 0.5 * float(yw @ yw + centre @ pull - m @ (A @ m))
        except (np.linalg.LinAlgError, ValueError):  # ValueError: A holds inf or NaN
            b_n = np.nan
    a_n = a0 + (n - (intercept_scale is None)) / 2
    if not (np.isfinite(b_n) and b_n > 0 and np.all(np.isfinite(m))):
        raise ValueError(
            "the Normal-Inverse-Gamma posterior is not finite for these data and scales; "
            "rescale X and y, or choose a larger prior_scale"
        )
    return NIGPosterior(jnp.asarray(m), jnp.asarray(L), float(a_n), float(b_n))


def log_evidence(X: ArrayLike, y: ArrayLike, *, prior_scale: float, sigma: float) -> float:
    r"""Log marginal likelihood of centred data.

    :math:`\log N(y_c \mid 0, \sigma^2 I + g^2 X_c X_c^\top)`, ``g`` the prior scale.

    Computed in closed form from the singular values of :math:`X_c` (one O(n d min(n, d))
    decomposition, then O(d) for each scale): cheap for n ≫ d and for d > n alike.
    """
    _validate.require_x64("log_evidence")
    X, y = _validate.design(X, y)
    g = _validate.positive("prior_scale", prior_scale)
    sigma = _validate.positive("sigma", sigma)
    value, _ = _log_evidence(_spectrum(X, y), math.log(g), math.log(sigma))
    _validate.finite_result("the log evidence", _scales_hint(g, sigma), value)
    return value


def loo_log_density(X: ArrayLike, y: ArrayLike, *, prior_scale: float, sigma: float) -> np.ndarray:
    r"""Exact leave-one-out log predictive densities :math:`\log p(y_i \mid y_{-i})`.

    The model of :func:`exact_posterior` (flat intercept, ``w ~ N(0, g²)``, known ``sigma``):
    removing row ``i`` is a rank-one downdate of the posterior, so with the leverage
    :math:`h_i = z_i^\top A^{-1} z_i / \sigma^2` (:math:`z_i = (1, x_i)`, :math:`A` the
    posterior precision) the predictive of the left-out row is
    :math:`N(y_i - r_i / (1 - h_i),\ \sigma^2 / (1 - h_i))`, :math:`r_i` its residual under
    the full posterior mean. Its sum is the elpd that PSIS-LOO estimates from draws.

    Returns
    -------
    numpy.ndarray of shape (n_samples,)
    """
    _validate.require_x64("loo_log_density")
    X, y = _validate.design(X, y)
    g = _validate.positive("prior_scale", prior_scale)
    sigma = _validate.positive("sigma", sigma)
    Z = np.column_stack([np.ones(len(y)), X])
    precision = Z.T @ Z / sigma**2 + np.diag([0.0] + [g**-2] * X.shape[1])
    factor = scipy.linalg.cho_factor(precision)
    mean = scipy.linalg.cho_solve(factor, Z.T @ y) / sigma**2
    leverage = np.einsum("ij,ji->i", Z, scipy.linalg.cho_solve(factor, Z.T)) / sigma**2
    if np.any(leverage >= 1 - 1e-12):
        raise ValueError("a row has leverage 1: leaving it out leaves its intercept unknown")
    var = sigma**2 / (1 - leverage)
    error = (y - Z @ mean) / (1 - leverage)
    return -0.5 * (np.log(2 * np.pi * var) + error**2 / var)


class _Spectrum(NamedTuple):
    """The centred data in the singular basis of ``Xc = U S V'``: all the evidence needs, for
    every prior scale and noise scale."""

    n: int
    d: int
    s2: np.ndarray  # the squared singular values, min(n, d) of them
    p: np.ndarray  # U' yc: y's part along each of them
    outside: float  # |yc - U U' yc|²: the part of y that no coefficients can fit


def _spectrum(X: np.ndarray, y: np.ndarray) -> _Spectrum:
    """From the QR factor of ``[Xc, yc]`` (Householder: no sums of squares formed, so no
    precision lost to them) and the singular values of its small triangle: ``Xc = Q R`` and
    ``yc = Q z`` give Xc's singular values as R's and ``U' yc`` as ``U_R' z``."""
    with np.errstate(all="ignore"):  # an overflow is refused by the caller, in words
        try:
            R = np.linalg.qr(np.column_stack([X - X.mean(0), y - y.mean()]), mode="r")
            U, s, _ = scipy.linalg.svd(R[:, :-1], full_matrices=False)
        except (np.linalg.LinAlgError, ValueError):  # overflowed to inf or NaN: X or y too large
            k = min(X.shape)
            return _Spectrum(*X.shape, np.full(k, np.nan), np.zeros(k), np.nan)
        z = R[:, -1]
        p = U.T @ z
        return _Spectrum(*X.shape, s**2, p, float(np.sum((z - U @ p) ** 2)))


def _log_evidence(spectrum: _Spectrum, log_g: float, log_sigma: float):
    """The log evidence and its gradient over ``(log g, log sigma)``.

    Bishop (2006), eq. 3.86, with alpha = 1/g² and beta = 1/sigma², in the singular basis,
    where the posterior precision A = beta Xc'Xc + alpha I is diagonal: its eigenvalues are
    ``a = beta s² + alpha`` (and alpha along the d - k directions X does not span), the mean's
    coordinates ``m = beta s p / a`` and the residual along each ``p alpha / a``. The gradient
    needs no derivative of ``m``: the energy is at its minimum over ``m`` (MacKay 1992).
    """
    n, d, s2, p, outside = spectrum
    flat = d - len(s2)  # directions of w the data do not reach: a = alpha there
    with np.errstate(all="ignore"):  # a non-finite value is refused by the caller, in words
        alpha, beta = np.exp(-2 * log_g), np.exp(-2 * log_sigma)
        a = beta * s2 + alpha
        m_norm2 = np.sum(beta**2 * s2 * p**2 / a**2)  # |m|², m the posterior mean
        residual = outside + np.sum((p * alpha / a) ** 2)
        value = float(
            0.5 * d * np.log(alpha)
            + 0.5 * n * np.log(beta)
            - 0.5 * beta * residual
            - 0.5 * alpha * m_norm2
            - 0.5 * (np.sum(np.log(a)) + flat * np.log(alpha))
            - 0.5 * n * math.log(2 * math.pi)
        )
        d_alpha = 0.5 * d / alpha - 0.5 * m_norm2 - 0.5 * (np.sum(1 / a) + flat / alpha)
        d_beta = 0.5 * n / beta - 0.5 * residual - 0.5 * np.sum(s2 / a)
        return value, np.array([-2 * alpha * d_alpha, -2 * beta * d_beta])


def _maximise(spectrum: _Spectrum, start, fixed_sigma):
    """Maximise the evidence over log g (and log sigma unless fixed) with L-BFGS-B."""

    def fun(q):
        log_sigma = math.log(fixed_sigma) if fixed_sigma is not None else q[1]
        value, grad = _log_evidence(spectrum, q[0], log_sigma)
        return -value, -(grad[:1] if fixed_sigma is not None else grad)

    return scipy.optimize.minimize(
        fun,
        np.asarray(start, float),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000},
    )


def best_prior_scale(X: ArrayLike, y: ArrayLike, *, sigma: float) -> float:
    """The prior scale ``g`` that maximises :func:`log_evidence` for a known ``sigma``."""
    _validate.require_x64("best_prior_scale")
    X, y = _validate.design(X, y)
    sigma = _validate.positive("sigma", sigma)
    _validate.informative(X, y, "the evidence-maximising prior scale")
    start = [np.log(np.std(y) / max(np.sqrt(np.sum(np.var(X, 0))), 1e-12) + 1e-12)]
    return float(np.exp(_maximise(_spectrum(X, y), start, sigma).x[0]))


class EvidenceFit(NamedTuple):
    """Type-II maximum likelihood: the evidence-maximising prior scale and noise scale."""

    prior_scale: float
    sigma: float
    log_evidence: float


def fit_evidence(X: ArrayLike, y: ArrayLike) -> EvidenceFit:
    """Maximise the evidence over both the prior scale and the noise scale.

    The same objective as scikit-learn's ``BayesianRidge`` with its Gamma hyperpriors
    switched off: ``lambda_ = 1 / prior_scale²`` and ``alpha_ = 1 / sigma²``.
    """
    _validate.require_x64("fit_evidence")
    X, y = _validate.design(X, y)
    _validate.informative(X, y, "the evidence-maximising (prior scale, sigma)")
    sd_y = float(np.std(y)) or 1.0
    start = [np.log(sd_y / max(np.sqrt(np.sum(np.var(X, 0))), 1e-12)), np.log(sd_y / 2)]
    res = _maximise(_spectrum(X, y), start, None)
    return EvidenceFit(float(np.exp(res.x[0])), float(np.exp(res.x[1])), float(-res.fun))
