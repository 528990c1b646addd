r"""SWAG: a Gaussian from the iterates of constant-rate SGD (Maddox et al. 2019).

From trained weights (the MAP of :class:`~bayes_reg.nets.target.NetTarget`) SGD runs on the
negative log joint per row, a minibatch's
:math:`\frac{1}{|B|}\sum_{i\in B} \frac{(y_i - f_\theta(x_i))^2}{2\sigma^2} + \frac1N \big(
\sum \frac{w^2}{2 s_w^2} + \sum \frac{b^2}{2 s_b^2}\big)`, with a constant rate :math:`\eta`.
After each epoch (:math:`\lceil N / |B| \rceil` steps) the flattened weights
:math:`\theta_t` update the running moments :math:`\bar\theta` and
:math:`\overline{\theta^2}`, and the last :math:`K` deviations :math:`\theta_t - \bar\theta_t`
are the columns of :math:`D`. SWAG is

.. math::

    N\Big(\bar\theta,\; \tfrac12 \big(\mathrm{diag}(\overline{\theta^2} - \bar\theta^2)
    + \tfrac{1}{K-1} D D^\top\big)\Big).

**Its covariance is the SGD noise's, not the posterior's.** Near a mode with per-row
Hessian :math:`H` and per-row gradient covariance :math:`C` the iterates settle to the
:math:`\Sigma` of :math:`\Sigma - (I - \eta H)\Sigma(I - \eta H) = \eta^2 C / |B|`,
about :math:`\frac{\eta}{2|B|} H^{-1} C` (Mandt, Hoffman & Blei 2017): it grows with
:math:`\eta / |B|`, and where :math:`C \approx H` it is isotropic, while the posterior's is
:math:`(N H)^{-1}`. The learning rate and batch size set SWAG's width; the default rate is
half SGD's stability limit (:data:`RELATIVE_RATE`), which on :func:`bayes_reg.data.toy_gap`
gives a spread on the clusters of data about half NUTS's and some 30 times too narrow in the
gap between them.

The rows of a minibatch are drawn with replacement. With one shuffled pass per epoch the
gradients of an epoch sum to the full gradient, so on a near-quadratic loss the end-of-epoch
snapshots hardly move: their spread would be set by how :math:`N` divides into batches
(on a linear model with 100 rows, a variance 150 times smaller in batches of 10 than of 32).

Reference: W. Maddox, T. Garipov, P. Izmailov, D. Vetrov, A. G. Wilson, "A simple baseline
for Bayesian uncertainty in deep learning", NeurIPS 2019.
"""

from __future__ import annotations

import time
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree
from jax.typing import ArrayLike

from bayes_reg import _validate
from bayes_reg._training import TrainState
from bayes_reg.nets.mlp import Layer, mlp
from bayes_reg.nets.target import Approximation, NetTarget

__all__ = ["RELATIVE_RATE", "SWAG", "fit_swag", "swag", "top_curvature"]

#: SWAG's default learning rate times the largest curvature of the per-row objective at the
#: start (:func:`top_curvature`): half SGD's stability limit ``2 / curvature`` on every data
#: set. A fixed 3e-3 (chosen on the toy problem, 1.4 times its 1 / curvature) diverged on 5
#: of the 20 UCI yacht splits, where it is 3 times theirs.
RELATIVE_RATE = 1.0


class SWAG(NamedTuple):
    """The SWAG Gaussian over the flattened weights (``jax.flatten_util.ravel_pytree`` of
    the layers: ``w0, b0, w1, b1, ...``, standardised units).

    ``mean`` (P,) is the SWA mean, ``variance`` (P,) the iterates' variance (clipped at 0),
    ``deviations`` (K, P) the last ``K`` deviations from the running mean, ``loss``
    (epochs,) each epoch's mean minibatch objective, ``seconds`` the wall time.
    """

    mean: jax.Array
    variance: jax.Array
    deviations: jax.Array
    loss: np.ndarray | None = None
    seconds: float | None = None

    def covariance(self) -> jax.Array:
        """The (P, P) covariance ``(diag(variance) + D^T D / (K - 1)) / 2``."""
        D = self.deviations
        return 0.5 * (jnp.diag(self.variance) + D.T @ D / (D.shape[0] - 1))

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        """``n`` draws (n, P): ``mean + sqrt(variance / 2) z1 + z2 D / sqrt(2 (K - 1))``."""
        k1, k2 = jax.random.split(key)
        (rank, size), dtype = self.deviations.shape, self.mean.dtype
        z1 = jax.random.normal(k1, (n, size), dtype)
        z2 = jax.random.normal(k2, (n, rank), dtype)
        low_rank = z2 @ self.deviations / jnp.sqrt(2.0 * (rank - 1))
        return self.mean + jnp.sqrt(0.5 * self.variance) * z1 + low_rank


@partial(jax.jit, static_argnames=("epochs", "batch_size", "rank"))
def _run(params, X, y, scales, learning_rate, key, *, epochs, batch_size, rank):
    weight_scale, bias_scale, sigma = scales
    n = X.shape[0]
    opt = optax.sgd(learning_rate)

    def objective(params, idx):
        nll = 0.5 * ((y[idx] - mlp(params, X[idx])) / sigma) ** 2
        prior = sum(
            0.5 * jnp.sum((lay.w / weight_scale) ** 2) + 0.5 * jnp.sum((lay.b / bias_scale) ** 2)
            for lay in params
        )
        return jnp.mean(nll) + prior / n

    def sgd_step(state, idx):
        loss, g = jax.value_and_grad(objective)(state.params, idx)
        updates, opt_state = opt.update(g, state.opt_state, state.params)
        return TrainState(optax.apply_updates(state.params, updates), opt_state), loss

    def epoch(carry, e):
        state, mean, second, D = carry
        shape = (-(-n // batch_size), batch_size)  # rows with replacement (module notes)
        batches = jax.random.randint(jax.random.fold_in(key, e), shape, 0, n)
        state, losses = jax.lax.scan(sgd_step, state, batches)
        theta = ravel_pytree(state.params)[0]
        mean = (e * mean + theta) / (e + 1)
        second = (e * second + theta**2) / (e + 1)
        D = D.at[e % rank].set(theta - mean)  # a ring holding the last `rank` deviations
        return (state, mean, second, D), losses.mean()

    flat = ravel_pytree(params)[0]
    zeros = jnp.zeros_like(flat)
    carry = (TrainState(params, opt.init(params)), zeros, zeros, jnp.zeros((rank, flat.size)))
    (_, mean, second, D), losses = jax.lax.scan(epoch, carry, jnp.arange(epochs))
    return mean, jnp.maximum(second - mean**2, 0.0), D, losses


@jax.jit
def _power_iteration(params, X, scales, key):
    sigma = scales[2]
    theta, unravel = ravel_pytree(params)
    f = lambda t: mlp(unravel(t), X)  # noqa: E731
    _, pullback = jax.vjp(f, theta)
    # The prior's precision per coordinate: kernels (2-D) the weights', biases the biases'.
    precision = ravel_pytree(
        jax.tree.map(lambda a: jnp.full(a.shape, 1 / scales[a.ndim % 2] ** 2, a.dtype), params)
    )[0]

    def gauss_newton(v):  # (J^T J / sigma^2 + prior precision) v / n
        jv = jax.jvp(f, (theta,), (v,))[1]
        return (pullback(jv)[0] / sigma**2 + precision * v) / X.shape[0]

    def step(_, v):
        w = gauss_newton(v)
        return w / jnp.linalg.norm(w)

    v = jax.lax.fori_loop(0, 100, step, jax.random.normal(key, theta.shape, theta.dtype))
    return v @ gauss_newton(v)


def top_curvature(target: NetTarget, params: tuple[Layer, ...]) -> float:
    """The largest eigenvalue of the per-row objective's Gauss-Newton curvature at ``params``
    (100 steps of power iteration): SGD on it is stable below a rate of ``2 /`` this."""
    params = _check_params(target, params)
    scales = (target.weight_scale, target.bias_scale, target.sigma)
    return float(_power_iteration(params, jnp.asarray(target.X), scales, jax.random.key(0)))


def _check_params(target: NetTarget, params) -> tuple[Layer, ...]:
    sizes = target.sizes
    want = [((a, b), (b,)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    try:
        got = [(np.shape(layer.w), np.shape(layer.b)) for layer in params]
    except (AttributeError, TypeError):
        raise TypeError("params must be a tuple of Layer(w, b), as train_modes gives") from None
    if got != want:
        raise ValueError(f"params have layer shapes {got}; the target's {sizes} net needs {want}")
    return tuple(
        Layer(jnp.asarray(a.w, jnp.float64), jnp.asarray(a.b, jnp.float64)) for a in params
    )


def fit_swag(
    target: NetTarget,
    params: tuple[Layer, ...],
    *,
    epochs: int = 1000,
    learning_rate: float | None = None,
    batch_size: int = 32,
    rank: int = 20,
    seed: int | jax.Array = 0,
) -> SWAG:
    """Run constant-rate SGD from ``params`` and collect the SWAG Gaussian (module notes).

    Parameters
    ----------
    target : NetTarget
    params : tuple of Layer
        Trained weights, standardised units (a mode: :func:`~bayes_reg.nets.modes.train_modes`).
    epochs : int
        SGD epochs of ``ceil(n / batch_size)`` steps, one snapshot each; at least ``rank``.
    learning_rate : float, optional
        SGD's constant rate; with ``batch_size`` it sets SWAG's width. Default
        :data:`RELATIVE_RATE` over :func:`top_curvature` at ``params``: the same step
        relative to SGD's stability limit on every data set (2.2e-3 on the toy problem,
        where 0.01 already throws the iterates off the mode).
    batch_size : int
        Rows per minibatch, drawn with replacement.
    rank : int
        ``K``, the deviations kept: the rank of the low-rank part (at least 2).
    seed : int or jax.Array
        Seeds the minibatches.

    Returns
    -------
    SWAG
    """
    params = _check_params(target, params)
    rank = _validate.integer("rank", rank, minimum=2)
    epochs = _validate.positive_int("epochs", epochs)
    if epochs < rank:
        raise ValueError(f"epochs must be >= rank ({rank}) to fill the deviations, got {epochs}")
    if learning_rate is None:
        learning_rate = RELATIVE_RATE / top_curvature(target, params)
    learning_rate = _validate.positive("learning_rate", learning_rate)
    batch_size = _validate.positive_int("batch_size", batch_size)
    key = _validate.key(seed)
    scales = (target.weight_scale, target.bias_scale, target.sigma)
    X, y = jnp.asarray(target.X), jnp.asarray(target.y)
    start = time.perf_counter()
    out = _run(
        params, X, y, scales, learning_rate, key,
        epochs=epochs, batch_size=min(batch_size, X.shape[0]), rank=rank,
    )  # fmt: skip
    hint = f"SGD diverged at learning_rate={learning_rate:g}; lower it"
    _validate.finite_result("SWAG's moments", hint, *out)
    return SWAG(*out[:3], np.asarray(out[3]), time.perf_counter() - start)


@partial(jax.jit, static_argnames="draws")
def _function_draws(key, fit, params, X, *, draws):
    unravel = ravel_pytree(params)[1]
    thetas = fit.sample(key, draws)
    return jax.lax.map(lambda t: mlp(unravel(t), X), thetas, batch_size=min(draws, 256))


def swag(
    target: NetTarget,
    params: tuple[Layer, ...],
    X_test: ArrayLike,
    *,
    epochs: int = 1000,
    learning_rate: float | None = None,
    batch_size: int = 32,
    rank: int = 20,
    draws: int = 1000,
    seed: int | jax.Array = 0,
) -> Approximation:
    """SWAG from ``params``, answered as draws of the network at ``X_test``.

    Parameters
    ----------
    target : NetTarget
    params : tuple of Layer
    X_test : array of shape (n_test, n_features)
        In original units.
    epochs, learning_rate, batch_size, rank
        As :func:`fit_swag`.
    draws : int
        Weight draws from the SWAG Gaussian.
    seed : int or jax.Array
        Split into SGD's key and the draws' key: the same seed, the same draws.

    Returns
    -------
    Approximation
        ``draws`` (draws, n_test) in the units of ``y`` and the fixed noise ``noise_sd`` in
        them; ``info``: the settings, the objective's first and last-10% epochs, the fit's
        seconds.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_reg.nets.modes import train_modes
    >>> from bayes_reg.nets.target import net_target
    >>> X = np.linspace(-1, 1, 30)[:, None]; y = np.sin(3 * X[:, 0])
    >>> target = net_target(X, y, tau=100.0, weight_decay=1e-3, hidden=(8,))
    >>> mode = train_modes(target, members=1, epochs=50, polish=False).member(0)
    >>> swag(target, mode, X[:5], epochs=40, draws=10).draws.shape
    (10, 5)
    """
    X = target.inputs(X_test, name="X_test")  # checked before any work
    draws = _validate.positive_int("draws", draws)
    key_sgd, key_draw = jax.random.split(_validate.key(seed))
    if learning_rate is None:
        learning_rate = RELATIVE_RATE / top_curvature(target, params)
    start = time.perf_counter()
    fit = fit_swag(
        target, params, epochs=epochs, learning_rate=learning_rate,
        batch_size=batch_size, rank=rank, seed=key_sgd,
    )  # fmt: skip
    template = _check_params(target, params)
    f = _function_draws(key_draw, fit._replace(loss=None, seconds=None), template, X, draws=draws)
    info = {
        "epochs": int(epochs),
        "learning_rate": float(learning_rate),
        "batch_size": int(batch_size),
        "rank": int(rank),
        "loss_first_epoch": float(fit.loss[0]),
        "loss_last_10pct": float(fit.loss[-max(1, len(fit.loss) // 10) :].mean()),
        "fit_seconds": fit.seconds,
    }
    noise_sd = target.sigma * target.scaling.y_sd
    return Approximation(target.in_units_of_y(f), noise_sd, time.perf_counter() - start, info)
