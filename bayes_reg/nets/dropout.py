r"""An MLP trained with dropout and weight decay, and its MC-dropout predictive.

Gal & Ghahramani (2016) read a network trained with dropout probability :math:`p` and
weight decay :math:`\lambda` as approximate inference in a Bayesian network whose weights
have prior length-scale :math:`l` and whose observations have precision :math:`\tau`:

.. math::

    \lambda = \frac{l^2 (1 - p)}{2 N \tau},

with :math:`N` the training rows. Their experiments (and this module) use Keras's
convention for :math:`\lambda`: the objective per minibatch is
``mean((y - f(x))^2) + lambda * sum(w^2)`` over the kernels (biases are not decayed), on
inputs and target standardised with the training rows' mean and (population) standard
deviation, while :math:`\tau` is a precision in the target's original units. Prediction
keeps dropout on: :math:`T` stochastic passes are the draws of the predictive mean, and
:math:`\tau^{-1}` is added to their variance.

Training runs the epochs as a ``lax.scan`` inside one ``jit``, with the minibatch order and
the dropout masks drawn from the run's key (Keras's ``fit`` order: a new permutation per
epoch and a last, smaller batch). Many independent runs (a grid of rates and precisions,
several data splits) are one ``vmap`` of that program, spread over every visible device.
"""

from __future__ import annotations

import math
import time
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from bayes_reg import _training, _validate
from bayes_reg._progress import progress_bar, report_every
from bayes_reg._sharding import shard_runs
from bayes_reg._training import TrainState
from bayes_reg.conventions import LENGTHSCALE, tau_from_weight_decay, weight_decay_from_tau
from bayes_reg.data import Scaling
from bayes_reg.nets.mlp import Layer, init_mlp, layer_sizes, mlp

__all__ = [
    "DropoutNet",
    "MCDropout",
    "mc_dropout",
    "train_dropout",
]


#: Activations held at once by the MC passes (runs x passes x rows x widest layer). A single
#: vmap over 1000 passes of a 512-wide net on 10k points would ask for tens of GiB; on a GPU
#: 2^28 (1 GiB in float32) keeps it busy. On a CPU the passes are bound by memory traffic
#: (the masks' bits are a cheap hash, :mod:`bayes_reg.nets.masks`), and chunks of about 2^20
#: activations, which stay in cache, ran 2-4 times faster than 2^22 or more (2 cores, 2026-12).
MC_MEMORY_ELEMENTS = {"gpu": 2**28, "tpu": 2**28}


def mc_budget() -> int:
    """:data:`MC_MEMORY_ELEMENTS` of the default backend (2^20 on a CPU)."""
    return MC_MEMORY_ELEMENTS.get(jax.default_backend(), 2**20)


OPTIMIZERS = ("adam", "sgd")


class DropoutNet(NamedTuple):
    """A trained dropout network.

    ``params`` act on standardised inputs and predict the standardised target; ``tau`` is
    the model precision in the target's units; ``loss`` is the mean minibatch objective of
    each epoch; ``seconds`` the wall time of training (compilation included).
    """

    params: tuple[Layer, ...]
    dropout: float
    tau: float
    weight_decay: float
    scaling: Scaling
    loss: np.ndarray
    seconds: float


class _AdamState(NamedTuple):
    count: jax.Array
    mu: tuple
    nu: tuple


def keras_adam(
    learning_rate, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-7
) -> optax.GradientTransformation:
    r"""Adam as Keras (and TensorFlow) write it, the optimiser of the UCI experiments.

    .. math::

        w_t = w_{t-1} - \eta \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}
              \frac{m_t}{\sqrt{v_t} + \epsilon}

    Keras adds :math:`\epsilon` to :math:`\sqrt{v_t}`, not to the bias-corrected
    :math:`\sqrt{\hat v_t}` as ``optax.adam`` does: in optax's terms its epsilon is
    :math:`\epsilon / \sqrt{1 - \beta_2^t}`, 32 times larger at the first step.
    """

    def init(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return _AdamState(jnp.zeros((), jnp.int32), zeros, zeros)

    def update(grads, state, params=None):
        count = state.count + 1
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
        nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state.nu, grads)
        t = count.astype(jnp.float32)
        rate = learning_rate * jnp.sqrt(1 - b2**t) / (1 - b1**t)
        updates = jax.tree.map(lambda m, v: -rate * m / (jnp.sqrt(v) + eps), mu, nu)
        return updates, _AdamState(count, mu, nu)

    return optax.GradientTransformation(init, update)


def _optimizer(name: str, learning_rate) -> optax.GradientTransformation:
    # Keras's Adam with its defaults (epsilon 1e-7), as in the UCI experiments.
    return keras_adam(learning_rate) if name == "adam" else optax.sgd(learning_rate)


def _objective(params, X, y, mask, key, dropout, weight_decay):
    """Keras's ``mean_squared_error`` over the rows of a batch plus ``l2`` on the kernels."""
    f = mlp(params, X, dropout=dropout, key=key, inference=False)
    mse = jnp.sum(mask * (y - f) ** 2) / jnp.sum(mask)
    return mse + weight_decay * sum(jnp.sum(layer.w**2) for layer in params)


@partial(jax.jit, static_argnames=("sizes", "epochs", "batch_size", "optimizer"))
def _train_runs(
    X,
    y,
    dropout,
    weight_decay,
    learning_rate,
    seeds,
    *,
    sizes,
    epochs,
    batch_size,
    optimizer,
):
    """Train one network per run (leading axis of ``X``, ``y``, rates, decays and seeds)."""
    opt = _optimizer(optimizer, learning_rate)
    grad = jax.value_and_grad(_objective)

    def init(seed):
        key = jax.random.key(seed)
        params = init_mlp(jax.random.fold_in(key, 0), sizes, X.dtype)
        return TrainState(params, opt.init(params))

    def run_epoch(state, X, y, p, wd, seed, e):
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), 1), e)
        order, mask = _training.minibatches(jax.random.fold_in(key, 0), X.shape[0], batch_size)
        drop_keys = jax.random.split(jax.random.fold_in(key, 1), order.shape[0])

        def step(state, batch):
            idx, m, k = batch
            loss, g = grad(state.params, X[idx], y[idx], m, k, p, wd)
            updates, opt_state = opt.update(g, state.opt_state, state.params)
            return TrainState(optax.apply_updates(state.params, updates), opt_state), loss

        state, losses = jax.lax.scan(step, state, (order, mask, drop_keys))
        return state, losses.mean()

    every = max(1, epochs // 100)

    def epoch(state, e):
        state, loss = jax.vmap(run_epoch, in_axes=(0, 0, 0, 0, 0, 0, None))(
            state, X, y, dropout, weight_decay, seeds, e
        )
        # Always compiled in: whether a bar is shown must not change the program (and with it
        # XLA's fusion and rounding); with no bar open the callback does nothing.
        report_every(e, every)
        return state, loss

    state, losses = jax.lax.scan(epoch, jax.vmap(init)(seeds), jnp.arange(epochs))
    return state.params, losses.T


def train_runs(
    X,
    y,
    dropout,
    weight_decay,
    seeds,
    *,
    hidden,
    epochs,
    batch_size,
    learning_rate,
    optimizer,
    progress,
    label="training",
):
    """Train ``len(seeds)`` independent networks in one compiled call (arrays stacked on
    their first axis; standardised data); the parameters keep that leading axis."""
    sizes = (X.shape[-1], *hidden, 1)
    args = shard_runs(
        jnp.asarray(X),
        jnp.asarray(y),
        jnp.asarray(dropout, X.dtype),
        jnp.asarray(weight_decay, X.dtype),
        jnp.asarray(seeds, jnp.uint32),
    )
    with progress_bar(progress, epochs - epochs % max(1, epochs // 100), label):
        params, losses = _train_runs(
            *args[:4],
            jnp.asarray(learning_rate, X.dtype),
            args[4],
            sizes=sizes,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer,
        )
        jax.block_until_ready(params)
    losses = np.asarray(losses)
    # Standardised data start near a loss of 1; a NaN, inf or a millionfold rise is divergence.
    diverged = ~np.isfinite(losses).all(axis=1) | _training.diverged(losses[:, 0], losses[:, -1])
    if diverged.any():
        i = int(np.argmax(diverged))
        p, wd = float(np.ravel(dropout)[i]), float(np.ravel(weight_decay)[i])
        raise ValueError(
            f"training diverged (loss non-finite or over {_training.EXPLODED:g} times its first"
            " epoch's)"
            f" in {int(diverged.sum())} run(s), the first with dropout {p:g} and weight_decay"
            f" {wd:g}, at learning_rate {learning_rate}; lower learning_rate"
        )
    return params, losses


def _check_training(X, y, hidden, dropout, epochs, batch_size, learning_rate, optimizer):
    X, y = _validate.design(X, y)
    hidden = tuple(_validate.positive_int("hidden layer width", h) for h in hidden)
    if not hidden:
        raise ValueError("hidden must name at least one layer width, e.g. (50,)")
    _validate.fraction("dropout", dropout, high_open=True)
    _validate.positive_int("epochs", epochs)
    _validate.positive_int("batch_size", batch_size)
    _validate.positive("learning_rate", learning_rate)
    _validate.one_of("optimizer", optimizer, OPTIMIZERS)
    return X, y, hidden


def train_dropout(
    X: ArrayLike,
    y: ArrayLike,
    *,
    dropout: float = 0.05,
    tau: float | None = None,
    weight_decay: float | None = None,
    lengthscale: float = LENGTHSCALE,
    hidden: tuple[int, ...] = (50,),
    epochs: int = 400,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    optimizer: str = "adam",
    seed: int = 0,
    dtype=jnp.float32,
    progress: bool = True,
) -> DropoutNet:
    r"""Train an MLP with dropout and weight decay (Gal & Ghahramani's UCI recipe).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
        In original units; both are standardised on these rows before training.
    dropout : float
        Probability of dropping a unit, in [0, 1), on the input and every hidden layer.
    tau, weight_decay : float
        Give one: the model precision :math:`\tau` (in the units of ``y``), from which the
        Keras-convention weight decay is :func:`weight_decay_from_tau`, or the decay itself.
    lengthscale : float
        The prior length-scale :math:`l` linking the two.
    hidden : tuple of int
        Hidden-layer widths (ReLU).
    epochs, batch_size, learning_rate, optimizer : int, int, float, {"adam", "sgd"}
        Passes over the data, minibatch rows, step size; Adam is Keras's
        (:func:`keras_adam`).
    seed : int
        Seeds the initial weights, the minibatch order and the dropout masks.
    dtype
        Floating type of the computation (float32, as Keras trains).
    progress : bool
        Show a progress bar over epochs.

    Returns
    -------
    DropoutNet

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 40)[:, None]; y = np.sin(3 * X[:, 0])
    >>> net = train_dropout(X, y, tau=100.0, epochs=20, hidden=(16,), progress=False)
    >>> net.loss.shape
    (20,)
    """
    X, y, hidden = _check_training(
        X, y, hidden, dropout, epochs, batch_size, learning_rate, optimizer
    )
    if (tau is None) == (weight_decay is None):
        raise ValueError("give exactly one of tau (model precision) or weight_decay")
    n = X.shape[0]
    if tau is not None:
        tau = _validate.positive("tau", tau)
        weight_decay = weight_decay_from_tau(tau, dropout=dropout, n=n, lengthscale=lengthscale)
    else:
        weight_decay = _validate.positive("weight_decay", weight_decay)
        tau = tau_from_weight_decay(weight_decay, dropout=dropout, n=n, lengthscale=lengthscale)
    scaling = Scaling.fit(X, y)
    Xs = np.asarray(scaling.x(X), dtype)[None]
    ys = np.asarray(scaling.y(y), dtype)[None]
    start = time.perf_counter()
    params, losses = train_runs(
        Xs,
        ys,
        [dropout],
        [weight_decay],
        [seed],
        hidden=hidden,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        optimizer=optimizer,
        progress=progress,
    )
    seconds = time.perf_counter() - start
    params = jax.tree.map(lambda a: a[0], params)
    return DropoutNet(
        params, float(dropout), float(tau), float(weight_decay), scaling, losses[0], seconds
    )


def mc_chunk(runs: int, passes: int, rows: int, width: int) -> int:
    """Passes per chunk so that ``runs`` networks' activations fit :func:`mc_budget`."""
    return int(max(1, min(passes, mc_budget() // max(1, runs * rows * width))))


def mc_draws(params, X, dropout, keys, *, chunk: int):
    """One stochastic pass of one network per key, ``chunk`` at a time: (len(keys), rows)."""
    one_pass = lambda k: mlp(params, X, dropout=dropout, key=k, inference=False)  # noqa: E731
    return jax.lax.map(one_pass, keys, batch_size=chunk)


@partial(jax.jit, static_argnames="chunk")
def _mc_runs(params, X, dropout, keys, *, chunk):
    return jax.vmap(partial(mc_draws, chunk=chunk))(params, X, dropout, keys)


def mc_runs(params, X, dropout, keys):
    """MC-dropout draws of stacked networks on stacked standardised inputs.

    ``keys`` has shape (runs, passes): one key per pass. The runs are spread over the
    devices; the passes go in chunks that keep the activations held at once under
    :func:`mc_budget`. Returns (runs, passes, rows).
    """
    (runs, passes), rows = keys.shape, X.shape[1]
    width = max(layer_sizes(jax.tree.map(lambda a: a[0], params)))
    args = shard_runs(params, jnp.asarray(X), jnp.asarray(dropout, X.dtype), keys)
    return _mc_runs(*args, chunk=mc_chunk(runs, passes, rows, width))


class MCDropout(NamedTuple):
    """MC-dropout predictions: ``draws`` (passes, n) of the predictive mean in the units of
    ``y``, and the model precision ``tau``; the predictive of each point is the mixture
    ``mean_t N(draws[t], 1 / tau)``."""

    draws: np.ndarray
    tau: float

    @property
    def sigma(self) -> float:
        return 1.0 / math.sqrt(self.tau)

    @property
    def mean(self) -> np.ndarray:
        return self.draws.mean(0)

    @property
    def sd(self) -> np.ndarray:
        """Predictive sd: the passes' spread plus the model noise :math:`\\tau^{-1}`."""
        return np.sqrt(self.draws.var(0) + 1.0 / self.tau)


def mc_dropout(net: DropoutNet, X: ArrayLike, *, passes: int = 1000, seed: int = 0) -> MCDropout:
    """Average ``passes`` stochastic forward passes with dropout on (Gal & Ghahramani).

    The passes run ``vmap``-ed in chunks sized so the activations held at once stay under
    :func:`mc_budget`; with several devices they are split evenly among them. Pass
    ``t`` always uses the ``t``-th key of ``jax.random.split(jax.random.key(seed), passes)``,
    so the masks do not depend on the chunk size or the number of devices (the draws then
    agree to float rounding, 1e-7 relative in float32; with the same settings they are
    identical bit for bit).

    Parameters
    ----------
    net : DropoutNet
    X : array of shape (n_samples, n_features)
        In original units.
    passes : int
    seed : int
        Seeds the dropout masks; the same seed gives the same draws.

    Returns
    -------
    MCDropout
    """
    X = _validate.inputs(X, net.scaling.x_mean.shape[0])
    passes = _validate.positive_int("passes", passes)
    dtype = net.params[0].w.dtype
    devices = jax.device_count()
    groups = devices if passes % devices == 0 else 1
    keys = jax.random.split(jax.random.key(seed), passes).reshape(groups, -1)
    Xs = jnp.broadcast_to(jnp.asarray(net.scaling.x(X), dtype), (groups, *X.shape))
    params = jax.tree.map(lambda a: jnp.broadcast_to(a, (groups, *a.shape)), net.params)
    draws = mc_runs(params, Xs, [net.dropout] * groups, keys).reshape(passes, -1)
    draws = np.asarray(draws, np.float64) * net.scaling.y_sd + net.scaling.y_mean
    return MCDropout(draws, net.tau)
