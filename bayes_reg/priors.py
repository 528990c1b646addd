"""Prior families on the regression weights (and on the intercept).

A prior here is a frozen, validated value object: the family, its scale and its mean. A
scale or mean is one number for every weight, or one per feature: by position (a 1-D array,
in the design's order) or by name (a dict, a pandas Series labelled by feature, a DataArray
over a labelled dim), which the fitting functions match to the design's features
(:func:`~bayes_reg.per_feature.in_feature_order`) before anything is computed. Each knows
its log density (in JAX, so it can sit inside a log joint) and the NumPyro distribution
that the Bayesian models sample from. Conversions to penalty strengths live in
:mod:`bayes_reg.conventions`; they exist only for a *penalty*: zero mean and one scale.

Building a prior needs only NumPy: JAX, NumPyro and SciPy are imported by the methods that
compute with them, so the command line converts strengths and reads cards without them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from bayes_reg import _validate
from bayes_reg._values import register_values, unchecked
from bayes_reg.per_feature import by_name

if TYPE_CHECKING:
    import numpyro.distributions as dist
    from jax.typing import ArrayLike

__all__ = [
    "Gaussian",
    "Laplace",
    "ElasticNet",
    "StudentT",
    "Flat",
    "Prior",
    "FAMILIES",
    "prior_from_name",
    "is_penalty",
    "split_scales",
    "one_value_per_feature",
]


class _Prior:
    """Validation, equality and hashing shared by the prior families (fields may be arrays)."""

    #: The features that per-feature values given by name are for, in the order the values
    #: are held; ``None`` where they are given by position (or are one number each).
    names: tuple | None = None

    def __post_init__(self):
        names, named_by, by_position = None, None, []
        for f in fields(self):
            check = _validate.numbers if f.name == "mean" else _validate.positives
            labels, value = by_name(f.name, getattr(self, f.name))
            if labels is None:
                value = check(f.name, value)
            else:  # each entry checked under its name, then in the first named value's order
                value = [
                    _one(check, f"{f.name}[{label!r}]", v)
                    for label, v in zip(labels, value, strict=True)
                ]
                if names is None:
                    names, named_by = labels, f.name
                elif set(labels) != set(names):
                    raise ValueError(
                        f"{f.name} names the features {list(labels)} and {named_by} names "
                        f"{list(names)}: give each value for the same features"
                    )
                where = {label: i for i, label in enumerate(labels)}
                value = np.asarray(value, dtype=float)[[where[name] for name in names]]
            object.__setattr__(self, f.name, value)
            if labels is None and np.ndim(value) > 0:
                by_position.append(f.name)
        if names is not None and by_position:
            raise ValueError(
                f"{by_position[0]} is a list in the design's order and another value is given "
                "by feature name: give both by name, or both as lists"
            )
        if names is not None:  # else the class's None: the instance holds its fields only
            object.__setattr__(self, "names", names)

    def _values(self):
        """The names (or None) and the values, put in one order for comparing: sorted by name."""
        if self.names is None:
            return None, tuple(np.asarray(getattr(self, f.name)) for f in fields(self))
        order = sorted(range(len(self.names)), key=lambda i: str(self.names[i]))
        return tuple(self.names[i] for i in order), tuple(
            np.asarray(v)[order] if np.ndim(v) else np.asarray(v)
            for v in (getattr(self, f.name) for f in fields(self))
        )

    def __eq__(self, other):
        if type(self) is not type(other):
            return False
        (names, values), (other_names, other_values) = self._values(), other._values()
        return names == other_names and all(
            a.shape == b.shape and np.array_equal(a, b)
            for a, b in zip(values, other_values, strict=True)
        )

    def __hash__(self):
        names, values = self._values()
        return hash((type(self), names, *(v.tobytes() for v in values)))

    def __repr__(self):
        shown = [
            f"{f.name}={self._shown(getattr(self, f.name))}"
            for f in fields(self)
            if not (f.name == "mean" and np.ndim(self.mean) == 0 and self.mean == 0.0)
        ]
        return f"{type(self).__name__}({', '.join(shown)})"

    def _shown(self, value) -> str:
        if self.names is None or np.ndim(value) == 0:
            return repr(value)
        return repr(dict(zip(self.names, value.tolist(), strict=True)))


def _one(check, name: str, value) -> float:
    if np.ndim(value) > 0:
        raise ValueError(f"{name} must be one number, got {value!r}")
    return check(name, value)


@dataclass(frozen=True, eq=False, repr=False)
class Gaussian(_Prior):
    r"""Independent Gaussian prior :math:`w_j \sim N(\mathrm{mean}_j, \mathrm{scale}_j^2)`.

    Its negative log density is :math:`\|w - \mathrm{mean}\|^2 / (2\,\mathrm{scale}^2)` plus
    a constant: the MAP estimate under a zero-mean one-scale Gaussian is L2-penalised least
    squares (ridge, weight decay).

    Examples
    --------
    >>> Gaussian(0.5).log_prob([0.0, 1.0]).shape
    (2,)
    >>> Gaussian([1.0, 10.0], mean=[0.0, 5.0]).scale  # one scale and mean per feature
    array([ 1., 10.])
    """

    scale: float | np.ndarray
    mean: float | np.ndarray = 0.0
    family: ClassVar[str] = "gaussian"

    def log_prob(self, w: ArrayLike):
        """Elementwise log density."""
        import jax.numpy as jnp

        z = (jnp.asarray(w) - self.mean) / self.scale
        return -0.5 * z**2 - jnp.log(self.scale) - 0.5 * math.log(2 * math.pi)

    def penalty(self, w: ArrayLike):
        """Negative log density summed over ``w``, constants dropped: ``‖w‖² / (2 scale²)``."""
        import jax.numpy as jnp

        return 0.5 * jnp.sum(((jnp.asarray(w) - self.mean) / self.scale) ** 2)

    def to_numpyro(self) -> dist.Distribution:
        import numpyro.distributions as dist

        return dist.Normal(self.mean, self.scale)


@dataclass(frozen=True, eq=False, repr=False)
class Laplace(_Prior):
    r"""Independent Laplace prior, density
    :math:`e^{-|w_j - \mathrm{mean}_j|/\mathrm{scale}_j} / (2\,\mathrm{scale}_j)`.

    Its negative log density is :math:`\|w\|_1 / \mathrm{scale}` plus a constant: the MAP
    estimate under a zero-mean one-scale Laplace is the lasso. The Bayesian model can sample
    it directly or as the non-centred Normal–Exponential scale mixture (see
    :func:`bayes_reg.linear.regression.linear_regression`).
    """

    scale: float | np.ndarray
    mean: float | np.ndarray = 0.0
    family: ClassVar[str] = "laplace"

    def log_prob(self, w: ArrayLike):
        """Elementwise log density."""
        import jax.numpy as jnp

        return -jnp.abs(jnp.asarray(w) - self.mean) / self.scale - jnp.log(2 * self.scale)

    def penalty(self, w: ArrayLike):
        """Negative log density summed over ``w``, constants dropped: ``‖w‖₁ / scale``."""
        import jax.numpy as jnp

        return jnp.sum(jnp.abs(jnp.asarray(w) - self.mean) / self.scale)

    def to_numpyro(self) -> dist.Distribution:
        import numpyro.distributions as dist

        return dist.Laplace(self.mean, self.scale)


@dataclass(frozen=True, eq=False, repr=False)
class StudentT(_Prior):
    r"""Independent Student-t prior :math:`w_j \sim t_{\mathrm{df}}(\mathrm{mean}_j,
    \mathrm{scale}_j)`: heavier tails than the Gaussian (``df = 1`` is the Cauchy), the usual
    weakly informative choice for coefficients and intercepts."""

    df: float
    scale: float | np.ndarray
    mean: float | np.ndarray = 0.0
    family: ClassVar[str] = "student-t"

    def __post_init__(self):
        super().__post_init__()
        if np.ndim(self.df) > 0:
            raise ValueError(
                f"df must be one number (the same for every weight), got {self.df!r}: the "
                "scale and the mean may be given per feature, the degrees of freedom may not"
            )

    def log_prob(self, w: ArrayLike):
        """Elementwise log density."""
        import jax.numpy as jnp
        import jax.scipy.stats

        return jax.scipy.stats.t.logpdf(jnp.asarray(w), self.df, self.mean, self.scale)

    def penalty(self, w: ArrayLike):
        """Negative log density summed over ``w``, constants dropped."""
        import jax.numpy as jnp

        z = (jnp.asarray(w) - self.mean) / self.scale
        return jnp.sum(0.5 * (self.df + 1) * jnp.log1p(z**2 / self.df) + jnp.log(self.scale))

    def to_numpyro(self) -> dist.Distribution:
        import numpyro.distributions as dist

        return dist.StudentT(self.df, self.mean, self.scale)


@dataclass(frozen=True, eq=False, repr=False)
class Flat(_Prior):
    """The improper flat prior: every value equally likely. The posterior is the likelihood;
    it is proper only when the data pin every coefficient (the model refuses designs where
    they cannot, such as more features than rows)."""

    family: ClassVar[str] = "flat"

    def log_prob(self, w: ArrayLike):
        """Elementwise log density (zero: an improper constant)."""
        import jax.numpy as jnp

        return jnp.zeros_like(jnp.asarray(w, dtype=float))

    def penalty(self, w: ArrayLike):
        """No penalty."""
        import jax.numpy as jnp

        return jnp.zeros(())

    def to_numpyro(self) -> dist.Distribution:
        import numpyro.distributions as dist

        return dist.ImproperUniform(dist.constraints.real, (), ())


@dataclass(frozen=True, eq=False, repr=False)
class ElasticNet(_Prior):
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
        import jax
        import jax.numpy as jnp
        import jax.scipy.special
        import scipy.special

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
        import jax.numpy as jnp

        w = jnp.asarray(w)
        return (
            0.5 * jnp.sum(w**2) / self.gaussian_scale**2 + jnp.sum(jnp.abs(w)) / self.laplace_scale
        )

    def to_numpyro(self) -> dist.Distribution:
        return _elastic_net_distribution()(self)


Prior = Gaussian | Laplace | ElasticNet | StudentT | Flat

#: The families by the names cards and :func:`prior_from_name` use.
FAMILIES = {"flat": Flat, "gaussian": Gaussian, "laplace": Laplace, "student-t": StudentT}


register_values(Gaussian, Laplace, ElasticNet, StudentT, Flat)


def is_penalty(prior) -> bool:
    """Whether ``prior`` is a penalty: Gaussian, Laplace or elastic net with zero mean and one
    scale for every weight (what a penalised fit's single strength can express)."""
    if isinstance(prior, ElasticNet):
        return True
    if not isinstance(prior, Gaussian | Laplace):
        return False
    return np.ndim(prior.scale) == 0 and np.ndim(prior.mean) == 0 and float(prior.mean) == 0.0


def one_value_per_feature(prior: Prior, features: int) -> Prior:
    """``prior`` with its scale and mean given once per feature: the same density, in the form
    compiled programs take, so that one program serves a prior of one scale and a prior of a
    scale per feature (an input's shape is part of a program). The features must already be
    in the design's order. Elastic-net and flat priors, one number each or none, are returned
    as they are, and so is a Student-t's ``df``.

    Examples
    --------
    >>> one_value_per_feature(Gaussian(2.0), 3).scale
    array([2., 2., 2.])
    """
    if isinstance(prior, ElasticNet | Flat):
        return prior
    return unchecked(
        type(prior),
        *(
            getattr(prior, f.name)
            if f.name == "df"
            else np.broadcast_to(np.asarray(getattr(prior, f.name), float), (features,))
            for f in fields(prior)
        ),
    )


def split_scales(prior: Prior) -> tuple[float | None, float | None]:
    """The ``(gaussian_scale, laplace_scale)`` of a penalty; ``None`` for a missing factor.

    A prior with a mean, one scale per feature, a Student-t or a flat prior is no penalty
    (no single strength expresses it) and is refused with a :class:`ValueError`.
    """
    if not isinstance(prior, Prior):
        raise TypeError(
            f"prior must be Gaussian, Laplace, ElasticNet, StudentT or Flat, got {prior!r}"
        )
    if not is_penalty(prior):
        raise ValueError(
            f"{prior!r} is not a penalty (a zero-mean Gaussian, Laplace or elastic-net prior "
            "with one scale): no penalty strength expresses it"
        )
    if isinstance(prior, Gaussian):
        return prior.scale, None
    if isinstance(prior, Laplace):
        return None, prior.scale
    return prior.gaussian_scale, prior.laplace_scale


def prior_from_name(
    family: str, scale: float | None = None, *, mean: float = 0.0, df: float | None = None
) -> Prior:
    """Build a prior from its family name (``"flat"``, ``"gaussian"``, ``"laplace"``,
    ``"student-t"``), its scale (one number or one per feature), mean and, for the
    Student-t, its degrees of freedom."""
    _validate.one_of("family", family, tuple(FAMILIES))
    if family == "flat":
        return Flat()
    if family == "student-t":
        if df is None:
            raise ValueError("the student-t prior needs df, its degrees of freedom")
        return StudentT(df, scale, mean)
    return FAMILIES[family](scale, mean)


@functools.cache
def _elastic_net_distribution() -> type:
    """The class of the elastic-net NumPyro distribution, defined on first use (it subclasses
    NumPyro's ``Distribution``, which this module does not import until a model needs it)."""
    import jax
    import jax.numpy as jnp
    import numpyro.distributions as dist

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
            g, lap = self._prior.gaussian_scale, self._prior.laplace_scale
            k_abs, k_sign = jax.random.split(key)
            magnitude = dist.TruncatedNormal(-(g**2) / lap, g, low=0.0).sample(k_abs, sample_shape)
            sign = jnp.where(jax.random.bernoulli(k_sign, 0.5, sample_shape), 1.0, -1.0)
            return sign * magnitude

        def log_prob(self, value):
            return self._prior.log_prob(value)

    return _ElasticNetDistribution
