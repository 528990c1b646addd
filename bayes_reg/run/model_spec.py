"""A linear card's ``[model]`` and ``[prior]`` tables, read into the model's values: the
likelihood, the noise, the intercept's prior and the weights' prior (or the penalty it is)."""

from __future__ import annotations

from dataclasses import dataclass

from bayes_reg.conventions import ALL_CONVENTIONS, PENALISED_AS, get_convention, to_prior
from bayes_reg.linear.names import LIKELIHOODS, WITH_NOISE
from bayes_reg.noise import NOISE_PRIORS, Known, Noise, noise_from_name
from bayes_reg.per_feature import in_feature_order
from bayes_reg.priors import FAMILIES, Flat, Prior, prior_from_name
from bayes_reg.run.schema import CardError, fail, positive

__all__ = ["ModelSpec", "model_spec", "prior_spec", "check_convention", "build_prior"]


@dataclass(frozen=True)
class ModelSpec:
    """``[model]``: the likelihood, its noise (``None`` for the GLMs), the Student-t's degrees
    of freedom, and the intercept (``True`` flat, ``False`` none, or a prior)."""

    likelihood: str
    noise: Noise | None
    df: float
    intercept: bool | Prior

    @property
    def kwargs(self) -> dict:
        """The arguments of :func:`~bayes_reg.linear.regression.linear_regression` besides
        the priors: what every stage passes on."""
        out = {"likelihood": self.likelihood, "intercept": self.intercept}
        return out | ({"df": self.df} if self.likelihood == "student-t" else {})


_MISSING_NOISE = (
    'give the noise scale (a number) or a prior, e.g. {prior = "half-cauchy", scale = 2.5}'
)
_MISSING_SIGMA = {
    "negative-binomial": "give the overdispersion (variance mu + sigma² mu²) as a number or a "
    'prior, e.g. {prior = "half-normal", scale = 1.0}',
    "beta-binomial": "give the overdispersion (1 / sigma² the concentration of each row's beta "
    'probability) as a number or a prior, e.g. {prior = "half-normal", scale = 1.0}',
    "gamma": "give the coefficient of variation (sd / mean; 1 / sigma² the gamma's shape) as a "
    'number or a prior, e.g. {prior = "half-normal", scale = 1.0}',
}


def model_spec(model: dict) -> ModelSpec:
    likelihood = model.get("likelihood", "gaussian")
    if likelihood not in LIKELIHOODS:
        raise fail(
            "[model] likelihood",
            f"unknown likelihood {likelihood!r}",
            f"choose one of {LIKELIHOODS}",
        )
    if likelihood in WITH_NOISE and "sigma" not in model:
        raise fail("[model] sigma", "missing", _MISSING_SIGMA.get(likelihood, _MISSING_NOISE))
    if likelihood not in WITH_NOISE and "sigma" in model:
        raise fail(
            "[model] sigma",
            f"the {likelihood} likelihood has no noise scale",
            "remove sigma",
        )
    if "df" in model and likelihood != "student-t":
        raise fail("[model] df", "only the student-t likelihood has df", "remove df")
    noise = _noise(model["sigma"]) if "sigma" in model else None
    df = positive("[model] df", model.get("df", 4.0))
    return ModelSpec(likelihood, noise, df, _intercept(model))


def _noise(value) -> Noise:
    """``[model] sigma``: a number (known), or a table naming a prior and its parameters."""
    if not isinstance(value, dict):
        return Known(positive("[model] sigma", value))
    params = {k: v for k, v in value.items() if k != "prior"}
    name = value.get("prior")
    if name not in NOISE_PRIORS:
        raise fail(
            "[model] sigma",
            f"unknown prior {name!r}",
            f"choose prior = one of {', '.join(NOISE_PRIORS)}, e.g. "
            '{prior = "half-cauchy", scale = 2.5}',
        )
    for key, param in params.items():
        positive(f"[model] sigma.{key}", param)
    try:
        return noise_from_name(name, **{k: float(v) for k, v in params.items()})
    except ValueError as err:
        raise fail("[model] sigma", str(err), "fix the table") from None


def _intercept(model: dict) -> bool | Prior:
    """``[model] intercept`` (false, true, or a table naming a prior) or ``intercept_scale``."""
    if "intercept_scale" in model:
        if "intercept" in model:
            raise fail("[model] intercept_scale", "given with intercept", "keep one of the two")
        return prior_from_name(
            "gaussian", positive("[model] intercept_scale", model["intercept_scale"])
        )
    value = model.get("intercept", True)
    if isinstance(value, bool):
        return value
    allowed = ("flat", "gaussian", "student-t")
    family = value.get("prior")
    if family not in allowed or set(value) - {"prior", "mean", "scale", "df"}:
        raise fail(
            "[model] intercept",
            f"bad intercept {value!r}",
            'write false (none), {prior = "flat"} (the default), {prior = "gaussian", '
            'mean = 0.0, scale = 10.0} or {prior = "student-t", df = 3, mean = 0.0, scale = 10.0}',
        )
    return _build("[model] intercept", family, value)


def prior_spec(spec: dict) -> dict:
    """``[prior]``, checked: a family with its scale, mean (one, a list of one per feature, or
    a table by feature name) and df,
    or a penalty given as convention + strength."""
    family = spec.get("family", "gaussian")
    has_penalty = "convention" in spec or "strength" in spec
    has_prior = "scale" in spec or family == "flat"
    if has_prior == has_penalty:
        raise fail(
            "[prior]",
            'needs either family + scale, or convention + strength (family = "flat" alone is '
            "the flat prior)",
            'e.g. family = "gaussian", scale = 1.0  or  convention = "d2l", strength = 3',
        )
    if has_prior:
        if family not in FAMILIES:
            raise fail(
                "[prior] family", f"unknown family {family!r}", f"choose one of {tuple(FAMILIES)}"
            )
        _build("[prior]", family, spec)
    else:
        for key in ("convention", "strength"):
            if key not in spec:
                raise fail(f"[prior] {key}", "missing", "give both convention and strength")
        try:
            get_convention(spec["convention"])
        except ValueError as err:
            raise fail(
                "[prior] convention", str(err), f"use one of {', '.join(ALL_CONVENTIONS)}"
            ) from None
        positive("[prior] strength", spec["strength"])
    return dict(spec)


def check_convention(spec: dict, model: ModelSpec) -> None:
    """A penalty's convention must have the card's likelihood (a binomial's: the Bernoulli's,
    :data:`~bayes_reg.conventions.PENALISED_AS`): the data terms must agree for a strength to
    mean the same prior."""
    if "convention" not in spec:
        return
    likelihood = get_convention(spec["convention"]).likelihood
    wanted = PENALISED_AS.get(model.likelihood, model.likelihood)
    if likelihood != wanted:
        same = [c.name for c in ALL_CONVENTIONS.values() if c.likelihood == wanted]
        raise fail(
            "[prior] convention",
            f"{spec['convention']!r} penalises a {likelihood} likelihood, and this card's is "
            f"{model.likelihood}: the strength would mean another prior",
            f"use one of {', '.join(same)}" if same else "give [prior] family + scale",
        )


def build_prior(spec: dict, model: ModelSpec, n: float, features=None) -> Prior:
    """The weights' prior for ``n`` rows (or the sum of their weights) and ``features`` (their
    count or names: lists of one value per feature are checked against them when given); a
    penalty is converted exactly."""
    if "convention" not in spec:
        prior = _build("[prior]", spec.get("family", "gaussian"), spec)
        if features is not None:
            try:
                prior = in_feature_order(prior, features)
            except ValueError as err:
                raise fail(
                    "[prior]", str(err), "a list follows the features' order; a table names them"
                ) from None
        return prior
    if model.noise is not None and not model.noise.known:
        raise CardError(
            "[prior] convention + strength needs a known noise scale: set "
            "[model] sigma to a number, or give [prior] family + scale"
        )
    return to_prior(
        spec["convention"],
        spec["strength"],
        n=n,
        sigma=None if model.noise is None else model.noise.sigma,
        family=spec.get("family"),
        l1_ratio=spec.get("l1_ratio"),
    )


def _build(where: str, family: str, spec: dict) -> Prior:
    if "df" in spec and family != "student-t":
        raise fail(f"{where} df", f"the {family} prior has no df", "remove df")
    try:
        if family == "flat":
            extra = set(spec) - {"prior", "family"}
            if extra:
                raise ValueError(f"a flat prior takes no {', '.join(sorted(extra))}")
            return Flat()
        return prior_from_name(
            family, spec.get("scale"), mean=spec.get("mean", 0.0), df=spec.get("df")
        )
    except (ValueError, TypeError) as err:
        raise fail(where, str(err), "fix the table") from None
