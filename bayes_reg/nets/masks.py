r"""Dropout masks from a counter-based hash: cheap random bits, an exact keep rate.

A mask keeps unit ``i`` of a layer's input when 32 random bits fall below an integer
threshold. The bits are a keyed hash of the unit's position (its row-major index ``c`` in the
layer's input, so a pass needs no state and no sequential generator):

.. math::

    x = H(c \cdot (s_0 \,|\, 1) + s_1), \qquad \mathrm{bits}(c) = H(x \oplus s_0 \oplus s_1),

in uint32 arithmetic (mod :math:`2^{32}`), with :math:`(s_0, s_1)` the layer's two seed words
(:func:`layer_seeds`: 64 bits derived from the pass's JAX key) and :math:`H` Chris Wellons's
``lowbias32`` integer hash (two multiplies, three xor-shifts; a bijection of 32-bit words).
Every step is a bijection of 32-bit words, so for a fixed seed the counters
:math:`0, \dots, 2^{32} - 1` map to a permutation of all 32-bit words: no two units of a
layer share their bits, and over a full period exactly :math:`t` of them fall below a
threshold :math:`t`. Four multiplies and six xor-shifts per unit: on a CPU a fifth to a
tenth of the cost of the threefry bits (20 rounds) behind ``jax.random.bernoulli``.

The keep rate is exact to the 32-bit grid: with ``keep = 1 - p`` in the network's dtype and
:math:`t = \mathrm{round}(\mathrm{keep} \cdot 2^{32})`, a unit is kept when
:math:`\mathrm{bits} < t`, so :math:`P(\mathrm{keep}) = t / 2^{32}` (``keep == 1``: every
unit kept), at most :math:`2^{-33}` from ``keep``. For a float32 network (the trainers'
dtype) ``jax.random.bernoulli`` compares a float32 uniform on a :math:`2^{-23}` grid, 512
times coarser; for a float64 one its grid is :math:`2^{-52}`, and this one stays at
:math:`2^{-32}` (an error below :math:`1.2 \cdot 10^{-10}` in the keep rate).

This is not a cryptographic or general-purpose generator: it is meant for dropout masks,
where each bit decides one unit once. Its statistics (keep rate, independence between units,
rows, passes, layers and neighbouring counters) are tested in ``tests/test_dropout_masks.py``.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

__all__ = ["hash_bits", "keep_mask", "keep_threshold", "layer_seeds"]

_U32 = jnp.uint32
#: Units a single mask may hold: the position counter is one 32-bit word.
MAX_UNITS = 2**32


def _lowbias32(x: jax.Array) -> jax.Array:
    """Wellons's ``lowbias32`` (hash-prospector): a bijective 32-bit integer hash."""
    x = x ^ (x >> 16)
    x = x * _U32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * _U32(0x846CA68B)
    return x ^ (x >> 16)


# layer_seeds, hash_bits and keep_mask are compiled, one program per shape: called eagerly (a
# forward pass outside a trainer), their dozen integer operations would each compile alone.
@partial(jax.jit, static_argnames="layers")
def layer_seeds(key: jax.Array, layers: int) -> jax.Array:
    """Two uint32 seed words per layer, derived from ``key`` without a threefry call.

    The key's data (two words for threefry keys; more words are folded into two by hashing) are
    hashed once, word by word, so that structured keys such as ``jax.random.key(7)`` and
    ``key(8)`` (data ``(0, 7)`` and ``(0, 8)``) give unrelated streams; the layers' seeds are
    then the first ``2 * layers`` words of that stream (:func:`hash_bits`). Keys made by
    ``jax.random.split`` or ``fold_in``, as the trainers and the MC passes use, are already
    threefry outputs. Deriving the seeds by hash rather than ``jax.random.bits`` saves a
    threefry call per step: about half of a small network's training step on a CPU (8 -> 50
    -> 1, batch 32: 18,000 steps/s with ``jax.random.bits``, 33,000 with this).

    Parameters
    ----------
    key : jax.Array
        One JAX key (typed or raw uint32 data; ``vmap`` for many).
    layers : int

    Returns
    -------
    jax.Array of shape (layers, 2), uint32

    Examples
    --------
    >>> import jax
    >>> layer_seeds(jax.random.key(0), 3).shape
    (3, 2)
    """
    data = jax.random.key_data(key).astype(_U32)
    k0, k1 = data[..., 0], data[..., 1]
    for j in range(2, data.shape[-1], 2):  # rbg keys: four words, often two equal halves
        k0, k1 = _lowbias32(k0) ^ data[..., j], _lowbias32(k1) ^ data[..., j + 1]
    stream = jnp.stack([_lowbias32(k0 ^ _U32(0x243F6A88)), _lowbias32(k1 ^ _U32(0x85A308D3))])
    return hash_bits(stream, (layers, 2))


@partial(jax.jit, static_argnames="shape")
def hash_bits(seed: ArrayLike, shape: tuple[int, ...], offset: ArrayLike = 0) -> jax.Array:
    """32 random bits per position of ``shape``: the keyed hash of the module's docstring.

    Parameters
    ----------
    seed : array of shape (2,), uint32
        The two seed words :math:`(s_0, s_1)`.
    shape : tuple of int
        At most :data:`MAX_UNITS` positions, numbered in row-major order.
    offset : int or scalar uint32 array
        The counter of the first position (may be traced); counters wrap modulo 2**32.

    Returns
    -------
    jax.Array of shape ``shape``, uint32

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> hash_bits(jnp.asarray([1, 2], jnp.uint32), (2, 3)).dtype
    dtype('uint32')
    """
    size = math.prod(shape)
    if size > MAX_UNITS:
        raise ValueError(
            f"a dropout mask holds at most 2**32 units, got shape {shape} ({size} units);"
            " pass fewer rows at a time"
        )
    seed = jnp.asarray(seed, _U32)
    c = lax.iota(_U32, size).reshape(shape) + jnp.asarray(offset, _U32)
    x = _lowbias32(c * (seed[0] | _U32(1)) + seed[1])
    # The second key injection differs whenever two seeds' first stages are shifted copies
    # of each other (same multiplier, s1 apart by a multiple of it), so they decorrelate.
    return _lowbias32(x ^ seed[0] ^ seed[1])


def keep_threshold(keep: ArrayLike) -> tuple[jax.Array, jax.Array]:
    """The integer threshold ``t = round(keep * 2**32)`` and whether ``keep`` is 1.

    ``keep`` may be traced. Returns ``(t, everything)``: ``t`` as uint32 (0 when every unit
    is kept, where ``2**32`` does not fit) and the boolean ``t == 2**32`` (``keep == 1`` in
    float32; in float64 also a keep within ``2**-33`` of 1).
    """
    keep = jnp.asarray(keep)
    scaled = jnp.round(keep * 2.0**32)
    everything = scaled >= 2.0**32
    # In range for the cast: below 2**32 (float32 steps by 256 there, float64 by 2**-20).
    t = jnp.where(everything, 0.0, jnp.maximum(scaled, 0.0)).astype(_U32)
    return t, everything


@partial(jax.jit, static_argnames="shape")
def keep_mask(seed: ArrayLike, shape: tuple[int, ...], keep: ArrayLike) -> jax.Array:
    """True where a unit is kept, each with probability ``round(keep * 2**32) / 2**32``.

    Parameters
    ----------
    seed : array of shape (2,), uint32
        The layer's seed words (:func:`layer_seeds`).
    shape : tuple of int
    keep : float or scalar array
        The keep probability ``1 - p``, in [0, 1]; may be traced.

    Returns
    -------
    jax.Array of shape ``shape``, bool

    Examples
    --------
    >>> import jax
    >>> seeds = layer_seeds(jax.random.key(0), 1)
    >>> mask = keep_mask(seeds[0], (1000, 100), 0.9)
    >>> 0.89 < float(mask.mean()) < 0.91
    True
    """
    t, everything = keep_threshold(keep)
    return (hash_bits(seed, shape) < t) | everything
