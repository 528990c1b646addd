"""One MLP forward pass, shared by the dropout network and the Bayesian network.

The weights are a plain pytree: a tuple of :class:`Layer` (``w`` of shape (fan_in, fan_out),
``b`` of shape (fan_out,)). The same :func:`mlp` evaluates them for SGD with dropout
(``inference=False`` with a ``key``), for MC dropout (the same, once per pass) and for the
NumPyro model of :mod:`bayes_reg.bnn` (``inference=True``), so a comparison of the two views
runs the same network on the same inputs.

Dropout follows Gal & Ghahramani's experiments: before every dense layer, the input layer
included, each unit is kept with probability ``1 - dropout`` and scaled by ``1 / (1 - dropout)``
(inverted dropout, as Keras, PyTorch and equinox do), so that the full network at inference
has the training-time expectation. The masks come from :mod:`bayes_reg.nets.masks`: a keyed
integer hash of each unit's position compared with ``round((1 - dropout) * 2**32)``, so the
keep probability is exact on a 2^-32 grid and a pass costs a few integer operations a unit
(JAX's threefry bits behind ``jax.random.bernoulli`` cost five times more on a CPU).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from bayes_reg.nets.masks import keep_mask, layer_seeds

__all__ = ["Layer", "init_mlp", "mlp", "layer_sizes"]


class Layer(NamedTuple):
    """One dense layer: ``h @ w + b``."""

    w: jax.Array
    b: jax.Array


def init_mlp(key: jax.Array, sizes: tuple[int, ...], dtype=jnp.float32) -> tuple[Layer, ...]:
    """Glorot-uniform weights and zero biases, Keras's ``Dense`` defaults.

    Parameters
    ----------
    key : jax.Array
        A PRNG key.
    sizes : tuple of int
        Widths from input to output, e.g. ``(6, 50, 1)``.

    Examples
    --------
    >>> import jax
    >>> params = init_mlp(jax.random.key(0), (6, 50, 1))
    >>> [layer.w.shape for layer in params]
    [(6, 50), (50, 1)]
    """
    keys = jax.random.split(key, len(sizes) - 1)
    layers = []
    for k, fan_in, fan_out in zip(keys, sizes[:-1], sizes[1:], strict=True):
        limit = jnp.sqrt(6.0 / (fan_in + fan_out))
        w = jax.random.uniform(k, (fan_in, fan_out), dtype, -limit, limit)
        layers.append(Layer(w, jnp.zeros(fan_out, dtype)))
    return tuple(layers)


def layer_sizes(params: tuple[Layer, ...]) -> tuple[int, ...]:
    """The widths ``(fan_in, hidden..., fan_out)`` of a parameter pytree."""
    return (params[0].w.shape[-2],) + tuple(layer.w.shape[-1] for layer in params)


def mlp(
    params: tuple[Layer, ...],
    x: ArrayLike,
    *,
    dropout: ArrayLike = 0.0,
    key: jax.Array | None = None,
    inference: bool = True,
) -> jax.Array:
    """Evaluate the network: ReLU hidden layers, a linear output.

    Parameters
    ----------
    params : tuple of Layer
    x : array of shape (n_samples, n_inputs)
    dropout : float or scalar array
        Probability of dropping a unit, in [0, 1); may be traced (a grid of rates vmaps).
    key : jax.Array, optional
        Draws the dropout masks (any JAX key; two seed words per layer by
        :func:`~bayes_reg.nets.masks.layer_seeds`); required when ``inference=False``.
    inference : bool
        True: the full network, no dropout. False: every unit of every layer's input is
        dropped independently for every row, with probability
        ``1 - round((1 - dropout) * 2**32) / 2**32`` (``1 - dropout`` in ``x``'s dtype).

    Returns
    -------
    jax.Array of shape (n_samples,) for one output, else (n_samples, n_outputs)

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> params = init_mlp(jax.random.key(0), (2, 8, 1))
    >>> mlp(params, jnp.ones((3, 2))).shape
    (3,)
    """
    if not inference and key is None:
        raise ValueError("mlp(..., inference=False) needs a key for the dropout masks")
    h = jnp.asarray(x)
    keep = 1.0 - jnp.asarray(dropout, h.dtype)
    seeds = None if inference else layer_seeds(key, len(params))
    for i, layer in enumerate(params):
        if not inference:
            h = jnp.where(keep_mask(seeds[i], h.shape, keep), h / keep, 0.0)
        h = h @ layer.w + layer.b
        if i < len(params) - 1:
            h = jax.nn.relu(h)
    return h[..., 0] if h.shape[-1] == 1 else h
