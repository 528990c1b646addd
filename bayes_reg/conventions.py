r"""Penalty conventions: how each framework writes "loss + penalty", and the prior it is.

Every convention minimises, with :math:`\eta = Xw + b`, strength :math:`\lambda`, mixing
:math:`\rho` (``l1_ratio``: 0 for pure L2, 1 for pure L1) and its constants :math:`D, c_1, c_2`,

.. math::

    D(n, \sigma) \sum_i \ell_i + \lambda\,\big(\rho\,c_1 \|w\|_1 + (1-\rho)\,c_2 \|w\|_2^2\big).

The data term is the likelihood's. Least squares (``gaussian``): :math:`\ell_i = r_i^2`,
:math:`r = y - \eta`, and the negative log-likelihood is :math:`\mathrm{NLL}_i = r_i^2 /
(2\sigma^2)` + const. Logistic (``bernoulli``, :math:`y \in \{0, 1\}`): the log-loss
:math:`\ell_i = \log(1 + e^{\eta_i}) - y_i \eta_i` is the NLL. ``poisson`` (log link,
:math:`\mu = e^\eta`): :math:`\mathrm{NLL}_i = \mu_i - y_i \eta_i + \log y_i!`; frameworks drop
:math:`\log y_i!`, or use half the unit deviance :math:`y_i \log(y_i/\mu_i) - y_i + \mu_i =
\mathrm{NLL}_i - (y_i \log y_i - y_i - \log y_i!)`: the same up to terms constant in :math:`w`.
``gamma`` (log link, shape :math:`1/\sigma^2`, :math:`\sigma` the coefficient of variation):
the unit deviance :math:`\ell_i = 2(y_i/\mu_i - \log(y_i/\mu_i) - 1) = 2\sigma^2
\mathrm{NLL}_i` + const.
So every objective is :math:`k \sum_i \mathrm{NLL}_i` + penalty + const, :math:`k = 2\sigma^2 D`
for least squares and the gamma, :math:`k = D` for the other GLMs (no :math:`\sigma`). Times
:math:`k`, the negative log posterior :math:`\sum_i \mathrm{NLL}_i + \|w\|^2/(2g^2) +
\|w\|_1 / l` has the same minimiser, so, exactly (least squares and the gamma: :math:`g^2 =
\sigma^2 D / (\lambda (1-\rho) c_2)`),

.. math::

    g^2 = \frac{k}{2 \lambda (1-\rho) c_2}, \qquad l = \frac{k}{\lambda \rho c_1}.

A prior is shared only by conventions of one likelihood (:func:`convert` refuses the rest); a
binomial model's rows, each its trials' log-losses summed, take the Bernoulli conventions
(:data:`PENALISED_AS`, ``n`` the rows).
``sklearn-logistic``'s strength ``C`` is an *inverse* one: :math:`C \sum_i \ell_i + R(w)`
divided by :math:`C` is the form above with :math:`\lambda = 1/C` (L2: :math:`w \sim N(0, C)`).
The Bayesian model never penalises the intercept; each ``bias`` says what a framework does.
:data:`ALL_CONVENTIONS` holds every :math:`D, c_1, c_2` and likelihood, and all conversions go
through it; :data:`CONVENTIONS` is its least-squares part (the linear model's).
"""

from __future__ import annotations

from typing import NamedTuple

from bayes_reg import _validate
from bayes_reg.convention_table import (
    ALL_CONVENTIONS,
    CONVENTIONS,
    FAMILIES,
    PENALISED_AS,
    SCALED,
    Convention,
)
from bayes_reg.priors import ElasticNet, Gaussian, Laplace, Prior, split_scales

__all__ = [
    "Convention",
    "ALL_CONVENTIONS",
    "CONVENTIONS",
    "SCALED",
    "PENALISED_AS",
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


class DecoupledWeightDecayError(ValueError):
    """Raised for AdamW-style decoupled weight decay, which no fixed prior reproduces."""


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
    """Look up a convention by name (any likelihood); refuses AdamW with the reason."""
    if str(name).lower() in _DECOUPLED:
        raise DecoupledWeightDecayError(ADAMW_NOTE)
    return ALL_CONVENTIONS[_validate.one_of("convention", name, tuple(ALL_CONVENTIONS))]


def _ratio_for(conv: Convention, family: str, l1_ratio: float | None) -> float:
    _validate.one_of("family", family, FAMILIES)
    if family not in conv.families:
        alone = family == "gaussian" and conv.l2_weight is not None
        raise ValueError(
            f"convention {conv.name!r} has no {family} penalty; it supports: "
            + ", ".join(conv.families)
            + (
                ": its L2 penalty alone is another objective (`bayes-reg conventions`)"
                if alone
                else ""
            )
        )
    if family != "elastic-net":
        return {"gaussian": 0.0, "laplace": 1.0}[family]
    if l1_ratio is None:
        raise ValueError("family 'elastic-net' needs l1_ratio, a number in (0, 1)")
    return _validate.fraction("l1_ratio", l1_ratio, low_open=True, high_open=True)


def _sigma_for(conv: Convention, sigma: float | None) -> float | None:
    """``sigma``, checked: a least-squares or gamma convention needs it, the other GLMs have
    none."""
    if conv.likelihood in SCALED and sigma is None:
        what = (
            "is least squares (Gaussian likelihood) and needs the noise scale sigma, in the "
            "units of y"
            if conv.likelihood == "gaussian"
            else "has a gamma likelihood and needs its coefficient of variation sigma (sd / mean)"
        )
        raise ValueError(f"sigma must be a number, got None: convention {conv.name!r} {what}")
    if conv.likelihood not in SCALED and sigma is not None:
        raise ValueError(
            f"convention {conv.name!r} has a {conv.likelihood} likelihood, which has no noise"
            f" scale: leave sigma out (got sigma={sigma!r})"
        )
    return None if sigma is None else _validate.positive("sigma", sigma)


def _half_k(conv: Convention, n: float, sigma: float | None) -> float:
    """Half of k, the factor in front of the summed NLL: sigma² D (least squares, the gamma),
    or D / 2 for the other GLMs."""
    d = conv.data_weight(n, sigma)
    return d / 2 if sigma is None else sigma**2 * d


def to_prior(
    convention: str,
    strength: float,
    *,
    n: float,
    sigma: float | None = None,
    family: str | None = None,
    l1_ratio: float | None = None,
) -> Prior:
    """The prior whose MAP estimate is the penalised fit of ``convention`` at ``strength``.

    Parameters
    ----------
    convention : str
        A name in :data:`ALL_CONVENTIONS`.
    strength : float
        The framework's penalty strength (``alpha``, ``wd``, ``lambd``, ``l2``...), > 0;
        for ``sklearn-logistic`` its inverse strength ``C``.
    n : float
        Number of training rows (mean-loss conventions depend on it), or the sum of their
        sample weights where each row's loss is times its weight (a weight of 2 counts a row
        twice: scikit-learn's Lasso rescales ``sample_weight`` to sum to the rows, which is the
        same objective).
    sigma : float, optional
        Noise scale in the units of ``y``, required by least squares; the coefficient of
        variation, required by the gamma; ``None`` for the other GLMs.
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
    >>> to_prior("sklearn-logistic", 4.0, n=100)  # C = 4: w ~ N(0, 4)
    Gaussian(scale=2.0)
    """
    conv = get_convention(convention)
    family = family or conv.default_family
    rho = _ratio_for(conv, family, l1_ratio)
    strength = _validate.positive("strength", strength)
    n = _validate.positive("n", n)
    sigma = _sigma_for(conv, sigma)
    gaussian = laplace = None
    try:
        half_k = _half_k(conv, n, sigma)
        lam = 1.0 / strength if conv.inverse else strength
        if rho < 1:
            gaussian = (half_k / (lam * (1 - rho) * conv.l2_weight)) ** 0.5
        if rho > 0:
            laplace = 2 * half_k / (lam * rho * conv.l1_weight)
        if gaussian is not None and laplace is not None:
            return ElasticNet(gaussian, laplace)
        return Gaussian(gaussian) if laplace is None else Laplace(laplace)
    except (OverflowError, ValueError, ZeroDivisionError):
        raise ValueError(_out_of_range(f"strength {strength}", n, sigma)) from None


def to_penalty(convention: str, prior: Prior, *, n: float, sigma: float | None = None) -> Penalty:
    """The strength (and ``l1_ratio``) of ``convention`` that encodes ``prior``.

    The inverse of :func:`to_prior` (``sigma`` as there). For an :class:`ElasticNet` prior
    the convention must mix both penalties under one strength (:attr:`Convention.mixes`).

    Examples
    --------
    >>> to_penalty("sklearn-ridge", Gaussian(1.0), n=100, sigma=2.0).strength
    4.0
    """
    conv = get_convention(convention)
    n = _validate.positive("n", n)
    sigma = _sigma_for(conv, sigma)
    gaussian, laplace = split_scales(prior)
    _ratio_for(conv, prior.family, 0.5)  # refuses a family the convention cannot express
    try:
        half_k = _half_k(conv, n, sigma)
        # The two terms of the penalty, lambda * rho * c1 and lambda * (1 - rho) * c2:
        l2_term = 0.0 if gaussian is None else half_k / gaussian**2
        l1_term = 0.0 if laplace is None else 2 * half_k / laplace
    except (OverflowError, ZeroDivisionError):
        raise ValueError(_out_of_range(f"prior {prior}", n, sigma)) from None
    a = l1_term / conv.l1_weight if l1_term else 0.0
    c = l2_term / conv.l2_weight if l2_term else 0.0
    lam = a + c
    if not 0 < lam < float("inf") or (conv.inverse and not 1 / lam < float("inf")):
        raise ValueError(_out_of_range(f"prior {prior}", n, sigma))
    return Penalty(conv.name, 1 / lam if conv.inverse else lam, a / lam)


def _out_of_range(what, n, sigma) -> str:
    n = f"{n:.12g}"  # 10, not 10.0: a count of rows, or a sum of weights such as 2.5
    where, fix = (f"n={n}", "") if sigma is None else (f"n={n} and sigma={sigma}", _RESCALE)
    return f"{what} with {where} converts to a number outside the floating-point range{fix}"


_RESCALE = "; rescale y (or X) so that sigma and the scales are nearer 1"


def convert(
    strength: float,
    *,
    source: str,
    target: str,
    n: float,
    sigma: float | None = None,
    family: str | None = None,
    l1_ratio: float | None = None,
) -> Penalty:
    """Re-express a penalty of one convention in another, through the prior they share.

    Both must have the same likelihood: only then is a prior the same in the two frameworks.

    Examples
    --------
    >>> round(convert(3.0, source="d2l", target="sklearn-ridge", n=20, sigma=0.01).strength, 9)
    60.0
    >>> convert(1.0, source="sklearn-logistic", target="torch-bce", n=50).strength  # 1/(nC)
    0.02
    """
    src, dst = get_convention(source), get_convention(target)
    if src.likelihood != dst.likelihood:
        raise ValueError(
            f"cannot convert {source!r} ({src.likelihood} likelihood) to {target!r}"
            f" ({dst.likelihood} likelihood): a penalty is the same prior in two frameworks"
            " only when their data terms are the same likelihood"
        )
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
