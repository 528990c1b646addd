"""Scaling rules: the strength that keeps (or deliberately changes) the prior when the
targets are rescaled or the training set grows, for every convention."""

from __future__ import annotations

from bayes_reg import _validate
from bayes_reg.conventions import CONVENTIONS, SCALED, get_convention, to_penalty, to_prior
from bayes_reg.priors import ElasticNet, Prior

__all__ = ["rescale_rows", "rescale_target", "rescaling_table"]


def rescale_target(
    convention: str,
    strength: float,
    factor: float,
    *,
    family: str | None = None,
    l1_ratio: float | None = None,
    prior: str = "follows",
) -> float:
    r"""The strength to use after the targets ``y`` are multiplied by ``factor``.

    Multiplying ``y`` by ``c`` multiplies the noise scale by ``c`` as well. Two questions
    have different answers:

    - ``prior="follows"``: the same model in new units (prior scale times ``c`` too, so
      the weights are ``c`` times larger). An L2 strength on the squared error is unchanged
      (factor 1): the objective is multiplied by ``c²`` as a whole. An L1 strength grows by
      ``c`` (``‖w‖₁`` grows by ``c``, the squared error by ``c²``); an elastic net's
      ``l1_ratio`` moves accordingly. ``neg-log-posterior`` strengths are precisions and
      rates: ``1/c²`` (Gaussian) and ``1/c`` (Laplace).
    - ``prior="fixed"``: the prior on ``w`` kept in the old units. Squared-error
      conventions need ``c²`` times the strength (both Gaussian and Laplace);
      ``neg-log-posterior`` is unchanged.

    A gamma convention's strength is the same in any units (factor 1 either way): its
    deviance depends on ``y / mu`` only, the log link moves ``c`` into the intercept, and
    ``sigma``, a coefficient of variation, has no units.

    For a linear model, a best strength that moved by orders of magnitude after rescaling
    ``y`` therefore means the prior was held fixed in absolute units (or the model is not
    linear: a bias-free ReLU network of depth ``L`` spreads ``c`` over its layers, so its
    weight decay must grow by ``c^(2 - 2/L)`` to keep the same fit).

    Examples
    --------
    >>> round(rescale_target("torch-sgd", 1e-3, 100.0, prior="fixed"), 12)
    10.0
    """
    factor = _validate.positive("factor", factor)
    _validate.one_of("prior", prior, ("follows", "fixed"))
    likelihood = get_convention(convention).likelihood
    if likelihood not in SCALED:
        raise ValueError(
            f"rescale_target multiplies a continuous y; {convention!r} has a {likelihood} "
            "likelihood, whose classes or counts have no units to rescale"
        )
    # Any n and sigma give the same answer: conversions are exact and homogeneous.
    before = to_prior(convention, strength, n=1, sigma=1.0, family=family, l1_ratio=l1_ratio)
    if likelihood == "gamma":  # the deviance depends on y / mu, and the log link absorbs units
        return float(strength)
    try:
        after = _scale_prior(before, factor if prior == "follows" else 1.0)
        return to_penalty(convention, after, n=1, sigma=factor).strength
    except ValueError:
        raise ValueError(
            f"strength {strength} with factor={factor} rescales to a number outside the"
            " floating-point range; use a factor nearer 1"
        ) from None


def rescale_rows(
    convention: str,
    strength: float,
    n_old: int,
    n_new: int,
    *,
    family: str | None = None,
    l1_ratio: float | None = None,
) -> float:
    r"""The strength that keeps the same prior when the training set grows or shrinks.

    Mean-loss conventions (everything but ``sklearn-ridge``, ``sklearn-logistic`` and
    ``neg-log-posterior``) scale as ``n_old / n_new``: a fixed ``alpha`` or weight decay
    reused on more data is a *tighter* prior. Sum-loss conventions are unchanged. GLM
    conventions (logistic, Poisson) follow the same rule.

    Examples
    --------
    >>> rescale_rows("sklearn-lasso", 0.1, 100, 400)
    0.025
    >>> round(rescale_rows("sklearn-poisson", 0.1, 100, 400), 12)
    0.025
    """
    n_old = _validate.positive_int("n_old", n_old)
    n_new = _validate.positive_int("n_new", n_new)
    # Any sigma gives the same answer; most GLM conventions have none.
    sigma = 1.0 if get_convention(convention).likelihood in SCALED else None
    kw = {"family": family, "l1_ratio": l1_ratio}
    prior_ = to_prior(convention, strength, n=n_old, sigma=sigma, **kw)
    return to_penalty(convention, prior_, n=n_new, sigma=sigma).strength


def rescaling_table(prior: Prior, *, n: int, sigma: float, factor: float) -> list[dict]:
    """Each convention's strength for ``prior`` before and after ``y`` was multiplied by
    ``factor``, under both readings of :func:`rescale_target`.

    ``prior`` and ``sigma`` are in the new units (after the rescaling); ``before`` is the
    strength of the same model in the old units, ``after_same_model`` and
    ``after_prior_fixed`` are :func:`rescale_target` of it with ``prior="follows"`` and
    ``prior="fixed"``. Conventions that do not know the prior's family are left out.
    """
    old = _scale_prior(prior, 1.0 / factor)
    rows = []
    for name, convention in CONVENTIONS.items():
        if prior.family not in convention.families:
            continue
        before = to_penalty(name, old, n=n, sigma=sigma / factor)
        kw = {"family": prior.family}
        if prior.family == "elastic-net":
            kw["l1_ratio"] = before.l1_ratio
        rows.append(
            {
                "convention": name,
                "before": before.strength,
                "after_same_model": rescale_target(name, before.strength, factor, **kw),
                "after_prior_fixed": rescale_target(
                    name, before.strength, factor, prior="fixed", **kw
                ),
            }
        )
    return rows


def _scale_prior(prior: Prior, c: float) -> Prior:
    if isinstance(prior, ElasticNet):
        return ElasticNet(prior.gaussian_scale * c, prior.laplace_scale * c)
    return type(prior)(prior.scale * c)
