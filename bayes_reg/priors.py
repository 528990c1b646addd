"""Prior families on the regression weights.

A prior here is a frozen, validated value object: the family and its scale. Each knows
its log density (in JAX, so it can sit inside a log joint) and the NumPyro distribution
that the Bayesian models sample from. Conversions to penalty strengths live in
:mod:`bayes_reg.conventions`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
import scipy.special
from jax.typing import ArrayLike

from bayes_reg import _validate

__all__ = ["Gaussian", "Laplace", "ElasticNet", "Prior", "prior_from_name", "split_scales"]


@dataclass(frozen=True)
class Gaussian:
    r"""Independent Gaussian prior :math:`w_j \sim N(0, \mathrm{scale}^2)`.

    Its negative log density is :math:`\|w\|^2 / (2\,\mathrm{scale}^2)` plus a constant:
    the MAP estimate under it is L2-penalised least squares (ridge, weight decay).

    Examples
    --------
    >>> Gaussian(0.5).log_prob([0.0, 1.0]).shape
    (2,)
    """

    scale: float
    family: ClassVar[str] = "gaussian"

    def __post_init__(self):
        object.__setattr__(self, "scale", _validate.positive("scale", self.scale))

    def log_prob(self, w: ArrayLike):
        """Elementwise log density."""
        w = jnp.asarray(w)
        return -0.5 * (w / self.scale) ** 2 - jnp.log(self.scale) - 0.5 * math.log(2 * math.pi)

    def penalty(self, w: ArrayLike):
        """Negative log density summed over ``w``, constants dropped: ``‖w‖² / (2 scale²)``."""
        return 0.5 * jnp.sum(jnp.asarray(w) ** 2) / self.scale**2

    def to_numpyro(self) -> dist.Distribution:
        return dist.Normal(0.0, self.scale)


@dataclass(frozen=True)
class Laplace:
    r"""Independent Laplace prior, density :math:`e^{-|w_j|/\mathrm{scale}} / (2\,\mathrm{scale})`.

    Its negative log density is :math:`\|w\|_1 / \mathrm{scale}` plus a constant: the MAP
    estimate under it is the lasso. The Bayesian model can sample it directly or as the
    non-centred Normal–Exponential scale mixture (see
    :func:`bayes_reg.linear.regression.linear_regression`).
    """

    scale: float
    family: ClassVar[str] = "laplace"

    def __post_init__(self):
        object.__setattr__(self, "scale", _validate.positive("scale", self.scale))

    def log_prob(self, w: ArrayLike):
        """Elementwise log density."""
        return -jnp.abs(jnp.asarray(w)) / self.scale - jnp.log(2 * self.scale)

    def penalty(self, w: ArrayLike):
        """Negative log density summed over ``w``, constants dropped: ``‖w‖₁ / scale``."""
        return jnp.sum(jnp.abs(jnp.asarray(w))) / self.scale

    def to_numpyro(self) -> dist.Distribution:
        return dist.Laplace(0.0, self.scale)


@dataclass(frozen=True)
class ElasticNet:
    r"""The elastic-net prior: Gaussian and Laplace factors together.

    Density per coordinate :math:`\propto \exp(-w^2/(2g^2) - |w|/l)` with
    ``g = gaussian_scale`` and ``l = laplace_scale``; its MAP estimate is the elastic net.
    The normaliser is :math:`Z = 2 g \sqrt{2\pi}\, e^{g^2/(2l^2)}\, \Phi(-g/l)`.
    """

    gaussian_scale: float
    laplace_scale: float
    family: ClassVar[str] = "elastic-net"

    def __post_init__(self):
        for name in ("gaussian_scale", "laplace_scale"):
            object.__setattr__(self, name, _validate.positive(name, getattr(self, name)))

    def log_prob(self, w: ArrayLike):
        """Elementwise log density."""
        g, lap = self.gaussian_scale, self.laplace_scale
        # For plain-float scales the normaliser comes from scipy, whose log_ndtr stays exact
        # far in the tail (JAX's is off by 4e-9 at -20); traced scales (inside a compiled
        # sampler) need JAX's.
        traced = isinstance(g, jax.core.Tracer) or isinstance(lap, jax.core.Tracer)
        log_ndtr = jax.scipy.special.log_ndtr if traced else scipy.special.log_ndtr
        log_z = jnp.log(2 * g * math.sqrt(2 * math.pi)) + g**2 / (2 * lap**2) + log_ndtr(-g / lap)
        w = jnp.asarray(w)
        return -0.5 * (w / g) ** 2 - jnp.abs(w) / lap - log_z

    def penalty(self, w: ArrayLike):
        """Negative log density summed over ``w``, constants dropped."""
        w = jnp.asarray(w)
        return (
            0.5 * jnp.sum(w**2) / self.gaussian_scale**2 + jnp.sum(jnp.abs(w)) / self.laplace_scale
        )

    def to_numpyro(self) -> dist.Distribution:
        return _ElasticNetDistribution(self)


Prior = Gaussian | Laplace | ElasticNet


def _register_pytree(cls):
    """Scales become pytree leaves, so a compiled sampler takes them as traced inputs: a new
    strength then reuses the compiled program. Unflattening skips validation (leaves may be
    tracers); every prior a user builds is validated on construction."""
    names = tuple(f.name for f in fields(cls))

    def unflatten(_, leaves):
        prior = object.__new__(cls)
        for name, value in zip(names, leaves, strict=True):
            object.__setattr__(prior, name, value)
        return prior

    jax.tree_util.register_pytree_node(
        cls, lambda p: (tuple(getattr(p, n) for n in names), None), unflatten
    )


for _cls in (Gaussian, Laplace, ElasticNet):
    _register_pytree(_cls)


def split_scales(prior: Prior) -> tuple[float | None, float | None]:
    """The ``(gaussian_scale, laplace_scale)`` of a prior; ``None`` for a missing factor."""
    if isinstance(prior, Gaussian):
        return prior.scale, None
    if isinstance(prior, Laplace):
        return None, prior.scale
    if isinstance(prior, ElasticNet):
        return prior.gaussian_scale, prior.laplace_scale
    raise TypeError(f"prior must be Gaussian, Laplace or ElasticNet, got {prior!r}")


def prior_from_name(family: str, scale: float) -> Gaussian | Laplace:
    """Build a one-scale prior from its family name (``"gaussian"`` or ``"laplace"``)."""
    _validate.one_of("family", family, ("gaussian", "laplace"))
    return Gaussian(scale) if family == "gaussian" else Laplace(scale)


class _ElasticNetDistribution(dist.Distribution):
    """Elastic-net density as a NumPyro distribution (scalar, real support).

    Sampling uses the exact decomposition: ``|w|`` is a normal with mean ``-g²/l`` and
    sd ``g`` truncated to ``w > 0``, and the sign is a fair coin.
    """

    support = dist.constraints.real

    def __init__(self, prior: ElasticNet, *, validate_args=None):
        self._prior = prior
        super().__init__(batch_shape=(), validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        import jax

        g, lap = self._prior.gaussian_scale, self._prior.laplace_scale
        k_abs, k_sign = jax.random.split(key)
        magnitude = dist.TruncatedNormal(-(g**2) / lap, g, low=0.0).sample(k_abs, sample_shape)
        sign = jnp.where(jax.random.bernoulli(k_sign, 0.5, sample_shape), 1.0, -1.0)
        return sign * magnitude

    def log_prob(self, value):
        return self._prior.log_prob(value)
