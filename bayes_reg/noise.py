"""The noise scale of a regression: known, or a prior on it.

Like a prior on the weights, a noise is a frozen, validated value and a JAX pytree (its
numbers are leaves, so a compiled sampler takes a new value as a traced input). ``known``
says which kind it is; :meth:`site` is the noise scale inside a NumPyro model: the number
itself, or the sample site ``sigma`` drawn from the prior. :func:`as_noise` turns what a
user passes (a number, a noise value, a NumPyro distribution) into one, once, at the edge.

Building a noise needs no JAX: NumPyro is imported by the methods that sample, so the command
line reads cards without it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, ClassVar

from bayes_reg import _validate
from bayes_reg._values import register_values, unchecked

if TYPE_CHECKING:
    import numpyro.distributions as dist

__all__ = [
    "Known",
    "HalfNormal",
    "HalfCauchy",
    "HalfStudentT",
    "Exponential",
    "InverseGamma",
    "FlatNoise",
    "NumPyroNoise",
    "Noise",
    "NOISE_PRIORS",
    "as_noise",
    "noise_from_name",
]


class _NoisePrior:
    """A prior on the noise scale: sampled as the site ``sigma``."""

    known: ClassVar[bool] = False

    def site(self, name: str = "sigma"):
        import numpyro

        return numpyro.sample(name, self.to_numpyro())

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, _validate.positive(f.name, getattr(self, f.name)))


@dataclass(frozen=True)
class Known:
    """A known noise scale ``sigma`` (> 0): the model does not sample it."""

    sigma: float
    known: ClassVar[bool] = True

    def __post_init__(self):
        object.__setattr__(self, "sigma", _validate.positive("sigma", self.sigma))

    def site(self, name: str = "sigma"):
        return self.sigma


@dataclass(frozen=True)
class HalfNormal(_NoisePrior):
    """``sigma ~ HalfNormal(scale)``."""

    scale: float
    name: ClassVar[str] = "half-normal"

    def to_numpyro(self):
        import numpyro.distributions as dist

        return dist.HalfNormal(self.scale)


@dataclass(frozen=True)
class HalfCauchy(_NoisePrior):
    """``sigma ~ HalfCauchy(scale)``, Gelman's (2006) weakly informative choice."""

    scale: float
    name: ClassVar[str] = "half-cauchy"

    def to_numpyro(self):
        import numpyro.distributions as dist

        return dist.HalfCauchy(self.scale)


@dataclass(frozen=True)
class HalfStudentT(_NoisePrior):
    """``sigma ~ |StudentT(df, 0, scale)|``."""

    df: float
    scale: float
    name: ClassVar[str] = "half-student-t"

    def to_numpyro(self):
        import numpyro.distributions as dist

        return dist.FoldedDistribution(dist.StudentT(self.df, 0.0, self.scale))


@dataclass(frozen=True)
class Exponential(_NoisePrior):
    """``sigma ~ Exponential(rate)`` (mean ``1 / rate``)."""

    rate: float
    name: ClassVar[str] = "exponential"

    def to_numpyro(self):
        import numpyro.distributions as dist

        return dist.Exponential(self.rate)


@dataclass(frozen=True)
class InverseGamma(_NoisePrior):
    """``sigma² ~ InverseGamma(concentration, rate)``: with a Gaussian prior measured in units
    of sigma (``scale_with_sigma=True``), the conjugate Normal–Inverse-Gamma model."""

    concentration: float
    rate: float
    name: ClassVar[str] = "inverse-gamma"

    def to_numpyro(self):
        import numpyro.distributions as dist

        return dist.TransformedDistribution(
            dist.InverseGamma(self.concentration, self.rate), dist.transforms.PowerTransform(0.5)
        )


@dataclass(frozen=True)
class FlatNoise(_NoisePrior):
    """The improper flat prior on ``sigma > 0`` (it has no prior predictive)."""

    name: ClassVar[str] = "flat"

    def to_numpyro(self):
        import numpyro.distributions as dist

        return dist.ImproperUniform(dist.constraints.positive, (), ())


@dataclass(frozen=True)
class NumPyroNoise(_NoisePrior):
    """Any NumPyro distribution on the positive reals as the prior of ``sigma``."""

    distribution: dist.Distribution
    name: ClassVar[str] = "numpyro"

    def __post_init__(self):
        if bool(self.distribution.support(-1.0)):
            raise ValueError(
                f"a prior on sigma must put no mass on negative values, got {self.distribution!r}"
                "; use e.g. HalfNormal(scale) or HalfCauchy(scale)"
            )

    def to_numpyro(self):
        return self.distribution


Noise = (
    Known | HalfNormal | HalfCauchy | HalfStudentT | Exponential | InverseGamma | FlatNoise
) | NumPyroNoise

#: The noise priors by the names cards and :func:`noise_from_name` use.
NOISE_PRIORS = {
    cls.name: cls for cls in (HalfNormal, HalfCauchy, HalfStudentT, Exponential, InverseGamma)
} | {"flat": FlatNoise}


def as_noise(sigma) -> Noise:
    """A noise value from a number (known), a noise value, or a NumPyro distribution (a prior).

    Inside a compiled sampler ``sigma`` may be a tracer; it is taken as known, unchecked
    (callers check the concrete value first).
    """
    import jax
    import numpyro.distributions as dist

    if isinstance(sigma, Noise):
        return sigma
    if isinstance(sigma, dist.Distribution):
        return NumPyroNoise(sigma)
    if isinstance(sigma, jax.core.Tracer):
        return unchecked(Known, sigma)
    try:
        return Known(sigma)
    except TypeError as err:
        raise TypeError(
            f"{err}: a known noise scale, or a prior on it (HalfNormal, HalfCauchy, "
            "HalfStudentT, Exponential, InverseGamma, FlatNoise, or a NumPyro distribution on "
            "the positive reals)"
        ) from None


def noise_from_name(name: str, **params: float) -> Noise:
    """A noise prior from its name and parameters, e.g. ``noise_from_name("half-cauchy",
    scale=2.5)``; the names are those of :data:`NOISE_PRIORS`."""
    _validate.one_of("noise prior", name, tuple(NOISE_PRIORS))
    cls = NOISE_PRIORS[name]
    wanted = [f.name for f in fields(cls)]
    if sorted(params) != sorted(wanted):
        got = ", ".join(sorted(params)) or "none"
        raise ValueError(
            f"the {name} noise prior takes {', '.join(wanted) or 'no parameters'}; got {got}"
        )
    return cls(**params)


register_values(
    Known, HalfNormal, HalfCauchy, HalfStudentT, Exponential, InverseGamma, FlatNoise, NumPyroNoise
)
