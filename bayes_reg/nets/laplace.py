r"""The Laplace approximation of the network's posterior, as laplace-torch makes it.

At trained weights :math:`\theta^*` (the MAP, standardised units) the posterior of
:class:`~bayes_reg.nets.target.NetTarget` is approximated by :math:`N(\theta^*, A^{-1})`,
:math:`A` the generalised Gauss-Newton matrix plus the prior precision (MacKay, 1992):

.. math::

    A = G + \mathrm{diag}(\delta), \quad G = J^\top J / \sigma^2, \quad
    J_{ij} = \partial f(x_i; \theta^*) / \partial \theta_j,

the Hessian of the negative log joint with the network linearised in its weights (positive
definite where a ReLU network's Hessian need not be). ``subset="all"`` takes every weight
and bias; ``"last_layer"`` the output layer's, the hidden features fixed at :math:`\theta^*`:
exactly Bayesian linear regression on those features. The prior precision :math:`\delta` is
the target's own (``"weight_decay"``) or one scalar maximising, at the fixed
:math:`\theta^*`, the Laplace log evidence (``"marglik"``, laplace-torch's post-hoc
``optimize_prior_precision(method="marglik")``), in closed form through :math:`G`'s
eigenvalues :math:`\lambda_i`:

.. math::

    \log Z(\delta) = \log p(y \mid \theta^*) + \log N(\theta^*; 0, \delta^{-1} I)
    + \tfrac P2 \log 2\pi - \tfrac12 \textstyle\sum_i \log(\lambda_i + \delta).

The evidence is the standardised ``y``'s (subtract :math:`n \log s_y` for the units of ``y``).
The predictive is the linearised (GLM) one of Immer, Korzepa & Bauer (2021), laplace-torch's
default, :math:`f(x_*) \sim N(f(x_*; \theta^*), J_* A^{-1} J_*^\top)`; or ``"sampled"``:
weights drawn from the Gaussian through the network.

References: MacKay, "A practical Bayesian framework for backpropagation networks" (1992);
Immer, Korzepa & Bauer, "Improving predictions of Bayesian neural nets via local
linearization" (AISTATS 2021); Daxberger et al., "Laplace Redux" (NeurIPS 2021).
"""

from __future__ import annotations

import math
import time
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.optimize
from jax.flatten_util import ravel_pytree
from jax.typing import ArrayLike

from bayes_reg import _validate
from bayes_reg.nets.mlp import Layer, layer_sizes, mlp
from bayes_reg.nets.target import Approximation, NetTarget

__all__ = ["NetLaplace", "fit_laplace", "laplace_predictive"]

#: ``subset="auto"`` takes every parameter up to this many, else the last layer: the full
#: GGN takes P^2 memory and P^3 work (72 MB and about a second at 3000 in float64; at 3e4,
#: 7 GB and a thousand times the work).
ALL_PARAMETERS_LIMIT = 3000
_CHUNK = 512  # rows per Jacobian block: memory stays chunk x P however many rows
_LOG_DELTA_BOUNDS = (math.log(1e-8), math.log(1e8))  # the marglik search over log(delta)


class NetLaplace(NamedTuple):
    r"""The Gaussian :math:`N(\text{mean}, A^{-1})` over the ``subset``'s flattened weights.

    ``params``: the network at the centre (standardised units); ``mean`` (P,): the subset's
    weights in :func:`jax.flatten_util.ravel_pytree`'s order (layer by layer ``w`` row-major,
    then ``b``); ``chol_precision`` (P, P): :math:`A`'s lower Cholesky factor;
    ``prior_precision``: the scalar :math:`\delta`, or ``{"weight", "bias"}`` for the
    target's prior; ``log_evidence``: of the standardised ``y``; ``seconds``: wall time.
    """

    params: tuple[Layer, ...]
    subset: str
    mean: np.ndarray
    chol_precision: np.ndarray
    prior_precision: float | dict[str, float]
    log_evidence: float
    seconds: float

    @property
    def n_parameters(self) -> int:
        """P, the weights in the subset."""
        return self.mean.shape[0]

    @property
    def precision(self) -> np.ndarray:
        """:math:`A = J^\\top J / \\sigma^2 + \\mathrm{diag}(\\delta)`, (P, P)."""
        return self.chol_precision @ self.chol_precision.T

    @property
    def cov(self) -> np.ndarray:
        """:math:`A^{-1}`, (P, P)."""
        inv = scipy.linalg.solve_triangular(self.chol_precision, np.eye(len(self.mean)), lower=True)
        return inv.T @ inv


def _flat(params, subset):
    """The subset's weights flattened, and the network as a function of them."""
    theta, unravel = ravel_pytree(params if subset == "all" else params[-1])

    def forward(theta, X):
        return mlp(unravel(theta) if subset == "all" else (*params[:-1], unravel(theta)), X)

    return theta, forward


def _blocks(X):
    """``X`` padded to whole blocks of rows, (blocks, chunk, d), and which rows are real."""
    n, chunk = X.shape[0], min(X.shape[0], _CHUNK)
    Xp = jnp.concatenate([X, jnp.zeros((-n % chunk, X.shape[1]), X.dtype)])
    real = jnp.arange(Xp.shape[0]) < n
    return Xp.reshape(-1, chunk, X.shape[1]), real.reshape(-1, chunk)


@partial(jax.jit, static_argnames="subset")
def _gauss_newton(params, X, sigma, subset):
    """:math:`G = J^\\top J / \\sigma^2` at the training rows, summed block by block."""
    theta, forward = _flat(params, subset)

    def add(G, block):
        J = jax.jacfwd(forward)(theta, block[0]) * block[1][:, None]
        return G + J.T @ J, None

    G0 = jnp.zeros((theta.shape[0],) * 2, theta.dtype)
    return jax.lax.scan(add, G0, _blocks(X))[0] / sigma**2


def _log_evidence_curve(eigenvalues, theta, log_lik):
    """:math:`\\log Z(\\delta)` for one scalar precision, vectorised over ``delta``."""
    lam = np.clip(eigenvalues, 0.0, None)  # G is PSD; round-off can leave -1e-13
    sq, P = float(theta @ theta), theta.shape[0]

    def log_z(delta):
        d = np.asarray(delta, np.float64)
        log_det = np.sum(np.log(lam + d[..., None]), axis=-1)
        return log_lik - 0.5 * d * sq + 0.5 * P * np.log(d) - 0.5 * log_det

    return log_z


def _group_precisions(target, params, subset):
    """The target's prior precision of every weight and bias of the subset, flattened."""
    sw, sb = target.weight_scale**-2, target.bias_scale**-2
    layers = params if subset == "all" else params[-1:]
    return np.concatenate([np.r_[np.full(a.w.size, sw), np.full(a.b.size, sb)] for a in layers])


def _check_params(target, params):
    params = tuple(
        Layer(jnp.asarray(w, jnp.float64), jnp.asarray(b, jnp.float64)) for w, b in params
    )
    if any(layer.w.ndim != 2 or layer.b.ndim != 1 for layer in params):
        raise ValueError("params must be one network's layers (w 2-D, b 1-D); take one member")
    if layer_sizes(params) != target.sizes:
        raise ValueError(
            f"params have layer sizes {layer_sizes(params)} but the target's network has "
            f"{target.sizes}"
        )
    return params


def fit_laplace(
    target: NetTarget,
    params: tuple[Layer, ...],
    *,
    subset: str = "auto",
    prior_precision: str | float = "weight_decay",
) -> NetLaplace:
    """The Laplace approximation of ``target``'s posterior centred at ``params``.

    Parameters
    ----------
    target : NetTarget
    params : tuple of Layer
        Trained weights in standardised units (the MAP: a mode of ``target.log_joint``).
    subset : {"auto", "all", "last_layer"}
        Which weights are Gaussian; the others stay at ``params``. ``"auto"``: ``"all"`` up
        to :data:`ALL_PARAMETERS_LIMIT` parameters, else ``"last_layer"``.
    prior_precision : {"weight_decay", "marglik"} or float
        The target's prior (1/weight_scale^2 on weights, 1/bias_scale^2 on biases); the
        scalar maximising the Laplace evidence (searched in [1e-8, 1e8]); or a given scalar.

    Returns
    -------
    NetLaplace

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_reg.nets.mlp import init_mlp
    >>> from bayes_reg.nets.target import net_target
    >>> X = np.linspace(-1, 1, 20)[:, None]; y = np.sin(3 * X[:, 0])
    >>> target = net_target(X, y, tau=100.0, weight_decay=1e-3, hidden=(4,))
    >>> params = init_mlp(jax.random.key(0), target.sizes, np.float64)
    >>> fit_laplace(target, params, prior_precision="marglik").n_parameters
    13
    """
    _validate.require_x64("fit_laplace")
    _validate.one_of("subset", subset, ("auto", "all", "last_layer"))
    if isinstance(prior_precision, str):
        _validate.one_of("prior_precision", prior_precision, ("weight_decay", "marglik"))
    else:
        prior_precision = _validate.positive("prior_precision", prior_precision)
    params = _check_params(target, params)
    start = time.perf_counter()
    if subset == "auto":
        total = ravel_pytree(params)[0].shape[0]
        subset = "all" if total <= ALL_PARAMETERS_LIMIT else "last_layer"
    G = np.asarray(_gauss_newton(params, jnp.asarray(target.X), target.sigma, subset))
    _validate.finite_result("the Gauss-Newton matrix", "check params and the target", G)
    theta = np.asarray(_flat(params, subset)[0])
    log_lik = float(target.log_likelihood(params))
    if prior_precision == "weight_decay":
        delta = _group_precisions(target, params, subset)
        prior_precision = {"weight": target.weight_scale**-2, "bias": target.bias_scale**-2}
    else:
        if prior_precision == "marglik":
            log_z = _log_evidence_curve(np.linalg.eigvalsh(G), theta, log_lik)
            bounded = dict(bounds=_LOG_DELTA_BOUNDS, method="bounded", options={"xatol": 1e-10})
            best = scipy.optimize.minimize_scalar(lambda s: -log_z(math.exp(s)), **bounded)
            prior_precision = math.exp(best.x)
        delta = np.full(theta.shape, prior_precision)
    L = np.linalg.cholesky(G + np.diag(delta))
    # log p(y|θ*) + log N(θ*; 0, diag(δ)^-1) + P/2 log 2π - 1/2 log det A: the 2π cancels.
    log_prior = 0.5 * np.sum(np.log(delta)) - 0.5 * np.sum(delta * theta**2)
    log_evidence = float(log_lik + log_prior - np.sum(np.log(np.diag(L))))
    seconds = time.perf_counter() - start
    return NetLaplace(params, subset, theta, L, prior_precision, log_evidence, seconds)


@partial(jax.jit, static_argnames="subset")
def _linearised(params, X, L, eps, subset):
    """Function sd and draws of the linearised network at ``X`` (standardised)."""
    theta, forward = _flat(params, subset)
    steps = jax.scipy.linalg.solve_triangular(L.T, eps.T, lower=False)  # (P, S) ~ N(0, A^-1)

    def block(b):
        J, f = jax.jacfwd(forward)(theta, b[0]), forward(theta, b[0])
        sd = jnp.sqrt(jnp.sum(jax.scipy.linalg.solve_triangular(L, J.T, lower=True) ** 2, 0))
        return sd, f + (J @ steps).T

    sd, draws = jax.lax.map(block, _blocks(X))  # (blocks, chunk), (blocks, S, chunk)
    n, S = X.shape[0], eps.shape[0]
    return sd.reshape(-1)[:n], jnp.moveaxis(draws, 0, 1).reshape(S, -1)[:, :n]


@partial(jax.jit, static_argnames="subset")
def _sampled(params, X, L, eps, subset):
    theta, forward = _flat(params, subset)
    thetas = theta + jax.scipy.linalg.solve_triangular(L.T, eps.T, lower=False).T
    # In batches of draws: all at once holds draws x rows x width activations.
    return jax.lax.map(lambda t: forward(t, X), thetas, batch_size=64)


def laplace_predictive(
    fit: NetLaplace,
    target: NetTarget,
    X_test: ArrayLike,
    *,
    predictive: str = "linearised",
    draws: int = 1000,
    seed: int | jax.Array = 0,
) -> Approximation:
    """Function draws of the Laplace approximation at ``X_test``, in the units of ``y``.

    Parameters
    ----------
    fit : NetLaplace
        Of :func:`fit_laplace` on ``target``.
    target : NetTarget
    X_test : array of shape (n_test, n_features)
        Original units.
    predictive : {"linearised", "sampled"}
        ``"linearised"``: draws of :math:`N(f(x_*; \\theta^*), J_* A^{-1} J_*^\\top)` jointly
        over the test points, each point's exact sd in ``info["function_sd"]``;
        ``"sampled"``: weights drawn from :math:`N(\\theta^*, A^{-1})` through the network.
        Either in antithetic pairs: the linearised draws' mean is the network at the mode,
        exactly for an even number of draws.
    draws : int
    seed : int or jax.Array

    Returns
    -------
    Approximation
        ``draws`` (draws, n_test); ``noise_sd`` the fixed noise in the units of ``y``;
        ``seconds`` the prediction's wall time (add ``fit.seconds`` for the method's).
    """
    _validate.one_of("predictive", predictive, ("linearised", "sampled"))
    draws = _validate.positive_int("draws", draws)
    key = _validate.key(seed)
    X = target.inputs(X_test)
    params = _check_params(target, fit.params)
    start = time.perf_counter()
    L = jnp.asarray(fit.chol_precision)
    # Antithetic pairs (e, -e): the linearised draws' mean is f(x; theta*) exactly, not up
    # to a Monte-Carlo error of sd / sqrt(draws), which under a wide prior rivals the RMSE.
    half = jax.random.normal(key, ((draws + 1) // 2, fit.n_parameters), jnp.float64)
    eps = jnp.concatenate([half, -half])[:draws]
    info = {"predictive": predictive}
    if predictive == "linearised":
        sd, f = _linearised(params, X, L, eps, fit.subset)
        info["function_sd"] = (np.asarray(sd) * target.scaling.y_sd).tolist()
    else:
        f = _sampled(params, X, L, eps, fit.subset)
    info |= {
        "subset": fit.subset,
        "n_parameters": fit.n_parameters,
        "prior_precision": fit.prior_precision,
        "log_evidence": fit.log_evidence,
    }
    noise_sd = target.sigma * target.scaling.y_sd
    return Approximation(target.in_units_of_y(f), noise_sd, time.perf_counter() - start, info)
