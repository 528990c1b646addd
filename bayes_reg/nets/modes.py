r"""Networks trained to the posterior's mode: deep ensembles, the Laplace centre, SWAG's start.

Each member minimises the negative log posterior of :class:`~bayes_reg.nets.target.NetTarget`
per training row,

.. math::

    \frac{1}{|B|} \sum_{i \in B} \frac{(y_i - f(x_i))^2}{2\sigma^2}
    + \frac{1}{N} \Big( \sum \frac{w^2}{2 s_w^2} + \sum \frac{b^2}{2 s_b^2} \Big),

on minibatches with Adam, from its own Glorot initialisation and minibatch order; the
members are one ``vmap`` of one ``lax.scan``, and a full-batch L-BFGS polish then takes each
towards its mode (Adam's last iterate still moves with the minibatch noise; on a ReLU network
the polish can stop at a kink of the objective short of the mode). Without dropout this is
the dropout network's objective (Keras's weight decay, the biases under the same prior), so
the members are MAP estimates of the posterior NUTS samples; they differ where the posterior
has several modes, which is what a deep ensemble's spread measures.

With ``variance_head=True`` each network has a second output, the log of its own noise
variance through a softplus (Lakshminarayanan, Pritzel & Blundell, 2017), and minimises
the Gaussian negative log likelihood of its mean and variance instead of the fixed-noise
error; the prior stays the same.
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

from bayes_reg import _training, _validate
from bayes_reg._progress import progress_bar, report_every
from bayes_reg._training import TrainState
from bayes_reg.inference.optimize import lbfgs
from bayes_reg.nets.mlp import Layer, init_mlp, mlp
from bayes_reg.nets.target import Approximation, NetTarget

__all__ = ["Modes", "ensemble_predictive", "head_outputs", "train_modes"]

#: Smallest noise variance a variance head can predict (standardised units), as in
#: Lakshminarayanan et al.'s code: keeps the likelihood bounded on training points.
MIN_VARIANCE = 1e-6


class Modes(NamedTuple):
    """Trained members: ``params`` with a leading member axis (standardised units), each
    epoch's mean minibatch objective ``loss`` (members, epochs), whether the networks have a
    variance head, and the wall time (compilation included)."""

    params: tuple[Layer, ...]
    loss: np.ndarray
    variance_head: bool
    seconds: float

    def member(self, i: int) -> tuple[Layer, ...]:
        """The ``i``-th network's parameters."""
        return jax.tree.map(lambda a: a[i], self.params)


def head_outputs(params, X) -> tuple[jax.Array, jax.Array]:
    """Mean and noise variance of a network with a variance head, standardised units."""
    out = mlp(params, X)
    return out[:, 0], jax.nn.softplus(out[:, 1]) + MIN_VARIANCE


def _negative_log_likelihood(params, X, y, sigma, variance_head):
    """Per row, up to a constant: the fixed-noise squared error or the head's Gaussian NLL."""
    if variance_head:
        mean, var = head_outputs(params, X)
        return 0.5 * jnp.log(var) + 0.5 * (y - mean) ** 2 / var
    return 0.5 * ((y - mlp(params, X)) / sigma) ** 2


def _prior_penalty(params, weight_scale, bias_scale):
    return sum(
        0.5 * jnp.sum((layer.w / weight_scale) ** 2) + 0.5 * jnp.sum((layer.b / bias_scale) ** 2)
        for layer in params
    )


@partial(jax.jit, static_argnames=("sizes", "epochs", "batch_size", "variance_head"))
def _train(X, y, scales, learning_rate, seeds, *, sizes, epochs, batch_size, variance_head):
    weight_scale, bias_scale, sigma = scales
    n = X.shape[0]
    opt = optax.adam(learning_rate)

    def objective(params, idx, mask):
        nll = _negative_log_likelihood(params, X[idx], y[idx], sigma, variance_head)
        penalty = _prior_penalty(params, weight_scale, bias_scale)
        return jnp.sum(mask * nll) / jnp.sum(mask) + penalty / n

    grad = jax.value_and_grad(objective)

    def init(seed):
        params = init_mlp(jax.random.fold_in(jax.random.key(seed), 0), sizes, X.dtype)
        return TrainState(params, opt.init(params))

    def run_epoch(state, seed, e):
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), 1), e)
        order, mask = _training.minibatches(key, n, batch_size)

        def step(state, batch):
            loss, g = grad(state.params, *batch)
            updates, opt_state = opt.update(g, state.opt_state, state.params)
            return TrainState(optax.apply_updates(state.params, updates), opt_state), loss

        state, losses = jax.lax.scan(step, state, (order, mask))
        return state, losses.mean()

    every = max(1, epochs // 100)

    def epoch(state, e):
        state, loss = jax.vmap(run_epoch, in_axes=(0, 0, None))(state, seeds, e)
        report_every(e, every)
        return state, loss

    state, losses = jax.lax.scan(epoch, jax.vmap(init)(seeds), jnp.arange(epochs))
    return state.params, losses.T


def train_modes(
    target: NetTarget,
    *,
    members: int = 5,
    variance_head: bool = False,
    epochs: int = 1000,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    polish: bool = True,
    seed: int = 0,
    progress: bool = False,
) -> Modes:
    """Train ``members`` networks to modes of ``target``'s posterior.

    Parameters
    ----------
    target : NetTarget
    members : int
        Independently initialised networks (5 in Lakshminarayanan et al.'s experiments).
    variance_head : bool
        Give each network a second output, its own noise variance, trained by the Gaussian
        negative log likelihood (the fixed noise ``target.sigma`` is then not used).
    epochs, batch_size, learning_rate
        Adam on minibatches (a new order each epoch, the last batch short).
    polish : bool
        Finish each member with full-batch L-BFGS (2,000 steps at most) on its whole objective:
        to the mode where the objective is smooth (a network without hidden layers); a ReLU
        network's kinks can stop it short (on the toy-gap card's 1-50-1 network it takes the
        gradient norm from about 300 to about 10).
    seed : int
        Member ``m`` starts from ``seed + m``'s initialisation and minibatch order.

    Returns
    -------
    Modes

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_reg.nets.target import net_target
    >>> X = np.linspace(-1, 1, 30)[:, None]; y = np.sin(3 * X[:, 0])
    >>> target = net_target(X, y, tau=100.0, weight_decay=1e-3, hidden=(8,))
    >>> train_modes(target, members=3, epochs=5).loss.shape
    (3, 5)
    """
    members = _validate.positive_int("members", members)
    epochs = _validate.positive_int("epochs", epochs)
    batch_size = _validate.positive_int("batch_size", batch_size)
    learning_rate = _validate.positive("learning_rate", learning_rate)
    sizes = (*target.sizes[:-1], 2 if variance_head else 1)
    X, y = jnp.asarray(target.X), jnp.asarray(target.y)
    scales = (target.weight_scale, target.bias_scale, target.sigma)
    seeds = jnp.arange(members, dtype=jnp.uint32) + jnp.uint32(seed)
    start = time.perf_counter()
    with progress_bar(progress, epochs - epochs % max(1, epochs // 100), "modes"):
        params, losses = _train(
            X,
            y,
            scales,
            learning_rate,
            seeds,
            sizes=sizes,
            epochs=epochs,
            batch_size=min(batch_size, X.shape[0]),
            variance_head=variance_head,
        )
        jax.block_until_ready(params)
    losses = np.asarray(losses)
    if _training.diverged(losses[:, 0], losses[:, -1]).any():
        raise ValueError(
            f"training to the mode diverged at learning_rate {learning_rate:g}; lower it"
        )
    if polish:
        # Blocked on, so that ``seconds`` counts the polish and not whatever waits for it next.
        params = jax.block_until_ready(_polish(params, X, y, scales, variance_head))
    return Modes(params, losses, variance_head, time.perf_counter() - start)


@partial(jax.jit, static_argnames="variance_head")
def _polish(params, X, y, scales, variance_head):
    """Full-batch L-BFGS from each member's last Adam iterate; compiled once per shape, the
    data and scales traced (a solver built per call would compile again for every fit)."""
    weight_scale, bias_scale, sigma = scales
    _, unravel = ravel_pytree(jax.tree.map(lambda a: a[0], params))

    def potential(flat):
        p = unravel(flat)
        nll = _negative_log_likelihood(p, X, y, sigma, variance_head)
        return jnp.sum(nll) + _prior_penalty(p, weight_scale, bias_scale)

    solve = lbfgs(potential, max_steps=2_000, gtol=1e-8)
    flat = jax.vmap(lambda p: ravel_pytree(p)[0])(params)
    free = jnp.ones(flat.shape[1], bool)
    return jax.vmap(unravel)(jax.vmap(solve, in_axes=(0, None))(flat, free))


def ensemble_predictive(target: NetTarget, modes: Modes, X_test) -> Approximation:
    """The deep ensemble's predictive at ``X_test`` (original units): one draw per member,
    with the fixed noise or, with a variance head, each member's own noise sd."""
    start = time.perf_counter()
    Xs = target.inputs(X_test)
    scale = target.scaling.y_sd
    if modes.variance_head:
        mean, var = jax.vmap(head_outputs, in_axes=(0, None))(modes.params, Xs)
        draws, noise_sd = target.in_units_of_y(mean), np.sqrt(np.asarray(var)) * scale
    else:
        draws = target.in_units_of_y(jax.vmap(mlp, in_axes=(0, None))(modes.params, Xs))
        noise_sd = target.sigma * scale
    info = {
        "members": int(draws.shape[0]),
        "variance_head": modes.variance_head,
        "final_loss": float(np.mean(modes.loss[:, -1])),
        "training_seconds": modes.seconds,
    }
    return Approximation(draws, noise_sd, modes.seconds + time.perf_counter() - start, info)
