r"""Penalty conventions: how each framework writes "loss + penalty", and the prior it is.

Every convention minimises an objective of the form

.. math::

    D(n, \sigma)\,\sum_i r_i^2 \;+\; \lambda\,\big(\rho\,c_1 \|w\|_1 + (1-\rho)\,c_2 \|w\|_2^2\big),

with residuals :math:`r = y - Xw - b`, strength :math:`\lambda`, mixing :math:`\rho`
(``l1_ratio``: 0 for pure L2, 1 for pure L1) and the convention's constants
:math:`D, c_1, c_2`. Multiplying the negative log posterior

.. math::

    \sum_i r_i^2 / (2\sigma^2) + \|w\|^2/(2g^2) + \|w\|_1 / l

by :math:`k = 2\sigma^2 D` gives the same minimiser, so matching terms gives, exactly,

.. math::

    g^2 = \frac{\sigma^2 D}{\lambda (1-\rho) c_2}, \qquad l = \frac{2 \sigma^2 D}{\lambda \rho c_1}.

The intercept :math:`b` is never penalised (the Bayesian model gives it a flat or wide
prior). The table :data:`CONVENTIONS` holds :math:`D, c_1, c_2` for each framework; all
conversions below go through it and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from bayes_reg import _validate
from bayes_reg.priors import ElasticNet, Gaussian, Laplace, Prior, split_scales

__all__ = [
    "Convention",
    "CONVENTIONS",
    "Penalty",
    "DecoupledWeightDecayError",
    "get_convention",
    "to_prior",
    "to_penalty",
    "convert",
    "LENGTHSCALE",
    "weight_decay_from_tau",
    "tau_from_weight_decay",
]

FAMILIES = ("gaussian", "laplace", "elastic-net")


class DecoupledWeightDecayError(ValueError):
    """Raised for AdamW-style decoupled weight decay, which no fixed prior reproduces."""


@dataclass(frozen=True)
class Convention:
    """One framework's way of writing a penalised least-squares objective.

    Attributes
    ----------
    name : str
        Key in :data:`CONVENTIONS`.
    objective : str
        The objective minimised, written out.
    data_weight : callable (n, sigma) -> float
        :math:`D`, the factor in front of :math:`\\sum r_i^2`.
    l1_weight, l2_weight : float or None
        :math:`c_1`, :math:`c_2`, the factors in front of ``‖w‖₁`` and ``‖w‖²`` per unit
        strength; ``None`` where the framework has no such penalty.
    mixes : bool
        Whether one strength with an ``l1_ratio`` sets both penalties (elastic net).
    bias : str
        Whether the framework penalises the intercept by default, and how to stop it.
    """

    name: str
    objective: str
    data_weight: Callable[[int, float], float]
    l1_weight: float | None
    l2_weight: float | None
    mixes: bool
    bias: str
    framework: str

    @property
    def families(self) -> tuple[str, ...]:
        """Prior families this convention can express."""
        out = []
        if self.l2_weight is not None:
            out.append("gaussian")
        if self.l1_weight is not None:
            out.append("laplace")
        if self.mixes:
            out.append("elastic-net")
        return tuple(out)

    @property
    def default_family(self) -> str:
        """The family a bare strength refers to: elastic net for ElasticNet, else the first."""
        return "elastic-net" if self.name == "sklearn-elasticnet" else self.families[0]


def _sum(n, sigma):
    return 1.0


def _half_mean(n, sigma):
    return 1.0 / (2.0 * n)


def _mean(n, sigma):
    return 1.0 / n


def _nlp(n, sigma):
    return 1.0 / (2.0 * sigma**2)


_CONVENTION_LIST = [
    Convention(
        name="neg-log-posterior",
        framework="the Bayesian model itself",
        objective="sum r^2 / (2 sigma^2) + strength * (rho ||w||_1 + (1-rho) ||w||^2 / 2);"
        " strength = 1/g^2 (Gaussian precision) or 1/l (Laplace rate)",
        data_weight=_nlp,
        l1_weight=1.0,
        l2_weight=0.5,
        mixes=True,
        bias="the intercept has its own flat or wide prior, never this penalty",
    ),
    Convention(
        name="sklearn-ridge",
        framework="sklearn.linear_model.Ridge(alpha)",
        objective="||y - Xw - b||^2 + alpha ||w||^2",
        data_weight=_sum,
        l1_weight=None,
        l2_weight=1.0,
        mixes=False,
        bias="fit_intercept=True leaves the intercept unpenalised",
    ),
    Convention(
        name="sklearn-lasso",
        framework="sklearn.linear_model.Lasso(alpha)",
        objective="(1 / 2n) ||y - Xw - b||^2 + alpha ||w||_1",
        data_weight=_half_mean,
        l1_weight=1.0,
        l2_weight=None,
        mixes=False,
        bias="fit_intercept=True leaves the intercept unpenalised",
    ),
    Convention(
        name="sklearn-elasticnet",
        framework="sklearn.linear_model.ElasticNet(alpha, l1_ratio)",
        objective="(1 / 2n) ||y - Xw - b||^2 + alpha rho ||w||_1 + alpha (1 - rho) / 2 ||w||^2",
        data_weight=_half_mean,
        l1_weight=1.0,
        l2_weight=0.5,
        mixes=True,
        bias="fit_intercept=True leaves the intercept unpenalised",
    ),
    Convention(
        name="sklearn-sgd",
        framework="sklearn.linear_model.SGDRegressor(alpha, penalty, l1_ratio)",
        objective="mean(r^2 / 2) + alpha R(w), R = ||w||^2 / 2 (l2), ||w||_1 (l1),"
        " rho ||w||_1 + (1 - rho) ||w||^2 / 2 (elasticnet)",
        data_weight=_half_mean,
        l1_weight=1.0,
        l2_weight=0.5,
        mixes=True,
        bias="the intercept is never penalised",
    ),
    Convention(
        name="torch-sgd",
        framework="torch.optim.SGD(weight_decay=wd) on nn.MSELoss()",
        objective="mean(r^2) + (wd / 2) ||w||^2   (gradient wd * w added to every parameter)",
        data_weight=_mean,
        l1_weight=None,
        l2_weight=0.5,
        mixes=False,
        bias="decays every parameter in the group, biases included: put the bias in a"
        " parameter group with weight_decay=0",
    ),
    Convention(
        name="d2l",
        framework="d2l.ai weight-decay chapter, from-scratch code",
        objective="mean(r^2 / 2) + (lambd / 2) ||w||^2",
        data_weight=_half_mean,
        l1_weight=None,
        l2_weight=0.5,
        mixes=False,
        bias="only w is penalised; the bias is not",
    ),
    Convention(
        name="keras",
        framework="Keras MSE loss + kernel_regularizer=L2(l2) or L1(l1)",
        objective="mean(r^2) + l2 sum(w^2)   or   mean(r^2) + l1 sum(|w|)",
        data_weight=_mean,
        l1_weight=1.0,
        l2_weight=1.0,
        mixes=False,
        bias="kernel_regularizer leaves the bias alone (bias_regularizer defaults to None)",
    ),
    Convention(
        name="optax",
        framework="optax.chain(optax.add_decayed_weights(wd), optax.sgd(lr)) on optax.l2_loss",
        objective="mean(r^2 / 2) + (wd / 2) ||w||^2   (gradient wd * w added)",
        data_weight=_half_mean,
        l1_weight=None,
        l2_weight=0.5,
        mixes=False,
        bias="decays every leaf unless add_decayed_weights is given a mask excluding the bias",
    ),
]

#: The named conventions, by name.
CONVENTIONS: dict[str, Convention] = {c.name: c for c in _CONVENTION_LIST}

_DECOUPLED = ("adamw", "torch-adamw", "optax-adamw", "keras-adamw", "decoupled")

ADAMW_NOTE = (
    "decoupled weight decay (AdamW) has no fixed-prior equivalent: it shrinks w by lr*wd*w"
    " outside Adam's preconditioner, so at its fixed point the data gradient is balanced by"
    " wd * w * (sqrt(v) + eps), a per-coordinate strength that depends on the gradient"
    " history and changes during training. No single prior scale reproduces it. For a prior,"
    " use coupled weight decay (torch-sgd, optax) or an L2 term in the loss."
)


class Penalty(NamedTuple):
    """A penalty as a framework states it."""

    convention: str
    strength: float
    l1_ratio: float


def get_convention(name: str) -> Convention:
    """Look up a convention by name; refuses AdamW with the reason."""
    if str(name).lower() in _DECOUPLED:
        raise DecoupledWeightDecayError(ADAMW_NOTE)
    _validate.one_of("convention", name, tuple(CONVENTIONS))
    return CONVENTIONS[name]


def _ratio_for(conv: Convention, family: str, l1_ratio: float | None) -> float:
    _validate.one_of("family", family, FAMILIES)
    if family not in conv.families:
        raise ValueError(
            f"convention {conv.name!r} has no {family} penalty; it supports: "
            + ", ".join(conv.families)
        )
    if family == "gaussian":
        return 0.0
    if family == "laplace":
        return 1.0
    if l1_ratio is None:
        raise ValueError("family 'elastic-net' needs l1_ratio, a number in (0, 1)")
    return _validate.fraction("l1_ratio", l1_ratio, low_open=True, high_open=True)


def to_prior(
    convention: str,
    strength: float,
    *,
    n: int,
    sigma: float,
    family: str | None = None,
    l1_ratio: float | None = None,
) -> Prior:
    """The prior whose MAP estimate is the penalised fit of ``convention`` at ``strength``.

    Parameters
    ----------
    convention : str
        A name in :data:`CONVENTIONS`.
    strength : float
        The framework's penalty strength (``alpha``, ``wd``, ``lambd``, ``l2``...), > 0.
    n : int
        Number of training rows (mean-loss conventions depend on it).
    sigma : float
        Noise scale of the likelihood, in the units of ``y``.
    family : {"gaussian", "laplace", "elastic-net"}, optional
        Which penalty the strength belongs to; defaults to the convention's natural one.
    l1_ratio : float, optional
        For ``family="elastic-net"``: the L1 share ``rho`` in (0, 1).

    Returns
    -------
    Gaussian, Laplace or ElasticNet

    Examples
    --------
    >>> to_prior("sklearn-ridge", 4.0, n=100, sigma=2.0)
    Gaussian(scale=1.0)
    """
    conv = get_convention(convention)
    family = family or conv.default_family
    rho = _ratio_for(conv, family, l1_ratio)
    strength = _validate.positive("strength", strength)
    n = _validate.positive_int("n", n)
    sigma = _validate.positive("sigma", sigma)
    gaussian = laplace = None
    try:
        d = conv.data_weight(n, sigma)
        if rho < 1:
            gaussian = (sigma**2 * d / (strength * (1 - rho) * conv.l2_weight)) ** 0.5
        if rho > 0:
            laplace = 2 * sigma**2 * d / (strength * rho * conv.l1_weight)
        if gaussian is not None and laplace is not None:
            return ElasticNet(gaussian, laplace)
        return Gaussian(gaussian) if laplace is None else Laplace(laplace)
    except (OverflowError, ValueError, ZeroDivisionError):
        raise ValueError(_out_of_range(f"strength {strength}", n, sigma)) from None


def to_penalty(convention: str, prior: Prior, *, n: int, sigma: float) -> Penalty:
    """The strength (and ``l1_ratio``) of ``convention`` that encodes ``prior``.

    The inverse of :func:`to_prior`. For an :class:`ElasticNet` prior the convention must
    mix both penalties under one strength (``sklearn-elasticnet``, ``sklearn-sgd``,
    ``neg-log-posterior``).

    Examples
    --------
    >>> to_penalty("sklearn-ridge", Gaussian(1.0), n=100, sigma=2.0).strength
    4.0
    """
    conv = get_convention(convention)
    n = _validate.positive_int("n", n)
    sigma = _validate.positive("sigma", sigma)
    gaussian, laplace = split_scales(prior)
    _ratio_for(conv, prior.family, 0.5)  # refuses a family the convention cannot express
    try:
        d = conv.data_weight(n, sigma)
        # The two terms of the penalty, strength * rho * c1 and strength * (1 - rho) * c2:
        l2_term = 0.0 if gaussian is None else sigma**2 * d / gaussian**2
        l1_term = 0.0 if laplace is None else 2 * sigma**2 * d / laplace
    except (OverflowError, ZeroDivisionError):
        raise ValueError(_out_of_range(f"prior {prior}", n, sigma)) from None
    a = l1_term / conv.l1_weight if l1_term else 0.0
    c = l2_term / conv.l2_weight if l2_term else 0.0
    strength = a + c
    if not 0 < strength < float("inf"):
        raise ValueError(_out_of_range(f"prior {prior}", n, sigma))
    return Penalty(conv.name, strength, a / strength)


def _out_of_range(what, n, sigma) -> str:
    return (
        f"{what} with n={n} and sigma={sigma} converts to a number outside the floating-point"
        " range; rescale y (or X) so that sigma and the scales are nearer 1"
    )


def convert(
    strength: float,
    *,
    source: str,
    target: str,
    n: int,
    sigma: float,
    family: str | None = None,
    l1_ratio: float | None = None,
) -> Penalty:
    """Re-express a penalty of one convention in another, through the prior they share.

    Examples
    --------
    >>> round(convert(3.0, source="d2l", target="sklearn-ridge", n=20, sigma=0.01).strength, 9)
    60.0
    """
    prior = to_prior(source, strength, n=n, sigma=sigma, family=family, l1_ratio=l1_ratio)
    return to_penalty(target, prior, n=n, sigma=sigma)


# --- dropout as approximate inference: Gal & Ghahramani's tau <-> weight decay -----------

#: Prior length-scale of Gal & Ghahramani's UCI experiments.
LENGTHSCALE = 1e-2


def weight_decay_from_tau(
    tau: float, *, dropout: float, n: int, lengthscale: float = LENGTHSCALE
) -> float:
    r"""Keras-convention weight decay :math:`\lambda = l^2 (1 - p) / (2 N \tau)`.

    Examples
    --------
    >>> round(weight_decay_from_tau(0.541869562034, dropout=0.01, n=277, lengthscale=0.1), 15)
    3.2978482929e-05
    """
    return lengthscale**2 * (1.0 - dropout) / (2.0 * n * tau)


def tau_from_weight_decay(
    weight_decay: float, *, dropout: float, n: int, lengthscale: float = LENGTHSCALE
) -> float:
    r"""The model precision :math:`\tau = l^2 (1 - p) / (2 N \lambda)` a weight decay implies."""
    return lengthscale**2 * (1.0 - dropout) / (2.0 * n * weight_decay)
