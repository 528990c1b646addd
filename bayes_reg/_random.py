"""Random draws that compile as fast as their size allows.

XLA on the CPU compiles JAX's threefry bits for an array of three or more dimensions in
0.2-1 s (JAX 0.12: ``jax.random.normal`` of shape (4, 1000, 10) 0.9 s), and for the same
number of values in one dimension in about 0.1 s. Both count the values in row-major order, so
drawn flat and reshaped they are the same random bits. The transform to a normal gave the same
float64 values in every case tried; in float32 it can round differently (at most 3 units in the
last place seen), as XLA compiles it for another shape. Eager draws (exact posteriors, the
Laplace approximation, predictions) compile once per shape, so this is paid on every new one.

:func:`normal_from_precision` is the one Gaussian draw of the exact posteriors and the Laplace
approximation, compiled once per shape (eagerly, a first call compiled a dozen small programs).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp


def flat_normal(key: jax.Array, shape: tuple[int, ...], dtype=None) -> jax.Array:
    """``jax.random.normal(key, shape, dtype)`` drawn flat: the same bits, equal to rounding."""
    return jax.random.normal(key, (math.prod(shape),), dtype).reshape(shape)


@functools.partial(jax.jit, static_argnums=3)
def normal_from_precision(key, mean, chol_precision, shape, scale=1.0) -> jax.Array:
    """Draws of shape ``shape + mean.shape`` from the normal of mean ``mean`` and covariance
    ``scale**2 (L L^T)^-1``, ``L = chol_precision`` the lower Cholesky factor of a precision:
    ``mean + scale * L^-T eps``. ``scale`` is a number or one per draw (shape ``shape``)."""
    eps = flat_normal(key, (*shape, mean.shape[0]), mean.dtype)
    unit = jax.scipy.linalg.solve_triangular(chol_precision, eps[..., None], lower=True, trans="T")
    return mean + jnp.expand_dims(scale, -1) * unit[..., 0]
