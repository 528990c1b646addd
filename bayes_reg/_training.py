"""What the training loops share: weight-decay SGD paths, dropout networks, the networks
at the posterior's mode and SWAG."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

#: A final training loss this many times above where training started counts as diverged.
EXPLODED = 1e6


class TrainState(NamedTuple):
    """What one optimisation step carries to the next: the parameters (any pytree) and the
    optimiser's state."""

    params: Any
    opt_state: optax.OptState


def diverged(start, final) -> np.ndarray:
    """Per run: the final loss is not finite, or :data:`EXPLODED` times above ``start``."""
    final = np.asarray(final)
    return ~np.isfinite(final) | ~(final <= EXPLODED * np.asarray(start))


def minibatches(key, n: int, batch_size: int):
    """One epoch's minibatch indices and row masks: a permutation, the last batch short."""
    n_batches = -(-n // batch_size)
    order = jax.random.permutation(key, n)
    order = jnp.concatenate([order, jnp.zeros(n_batches * batch_size - n, order.dtype)])
    mask = jnp.arange(n_batches * batch_size) < n
    return order.reshape(n_batches, batch_size), mask.reshape(n_batches, batch_size)
