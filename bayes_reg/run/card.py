"""Model cards: one TOML file per ready-to-run analysis, validated before any computation.

The schema is documented in ``bayes_reg/models/README.md``. :func:`load_card` reads a card into a
:class:`Card` and refuses anything it does not understand (unknown keys, wrong types,
missing files, non-numeric or missing CSV values) with a :class:`CardError` that names the
key or column and says how to fix it.

A card is one of two kinds. A *linear* card (``[model]`` and ``[prior]``) sets a penalised
linear fit beside the posterior of the prior it encodes: stages ``map``, ``posterior`` and,
with ``[compare]``, ``sgd``. A *dropout* card (``[dropout]``) sets an MLP's approximate
posteriors (MC dropout, deep ensembles, Laplace, mean-field VI, SWAG: its ``methods``)
beside the posterior of the same network under the prior its weight decay implies: stage
``dropout``. ``[posterior]`` is the posterior's NUTS budget in both.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bayes_reg import _validate
from bayes_reg.conventions import LENGTHSCALE
from bayes_reg.inference.sampler import Sampler
from bayes_reg.linear.names import OPTIMIZERS, POSTERIOR_METHODS, WITH_EXPOSURE, WITH_TRIALS
from bayes_reg.nets.names import METHODS
from bayes_reg.noise import Noise
from bayes_reg.priors import Prior
from bayes_reg.run.model_spec import (
    ModelSpec,
    build_prior,
    check_convention,
    model_spec,
    prior_spec,
)
from bayes_reg.run.schema import CardError, check_schema, fail, positive
from bayes_reg.run.sources import SOURCES, Data, check_source, has_own_test_rows, load_data

__all__ = [
    "Card",
    "card_title",
    "CardError",
    "Data",
    "DROPOUT_DEFAULTS",
    "load_card",
    "load_data",
    "STAGES",
    "SOURCES",
]

STAGES = ("map", "posterior", "sgd", "dropout")


#: Defaults of the optional ``[dropout]`` keys (``rate`` and ``tau`` have none: the
#: precision is in the units of y, and the rate is the experiment).
DROPOUT_DEFAULTS = {
    "lengthscale": LENGTHSCALE,
    "hidden": [50],
    "epochs": 1000,
    "batch_size": 32,
    "learning_rate": 1e-3,
    "passes": 1000,
    "methods": list(METHODS),
    "members": 5,
    "vi_steps": 20_000,
    "swag_epochs": 1000,
}

#: The tables only a linear card has; a ``[dropout]`` card refuses them.
_LINEAR_TABLES = ("model", "prior", "compare")


@dataclass(frozen=True)
class Card:
    """A validated card. ``raw`` keeps the TOML as read, for the report.

    A dropout card has ``dropout`` (the ``[dropout]`` table with its defaults filled in)
    and no linear model: ``model`` is ``None`` and ``prior_spec`` empty.
    """

    path: Path
    title: str
    description: str
    seed: int
    data: dict
    model: ModelSpec | None
    prior_spec: dict
    posterior: dict
    compare: dict | None
    raw: dict = field(repr=False)
    dropout: dict | None = None

    @property
    def inputs(self) -> tuple[Path, ...]:
        """The files and folders a run of this card reads (the card, a CSV or UCI folder)."""
        return (self.path, *([self.data["_path"]] if "_path" in self.data else []))

    @property
    def noise(self) -> Noise | None:
        """The linear model's noise: known, a prior, or ``None`` (a GLM, a dropout card)."""
        return None if self.model is None else self.model.noise

    @property
    def sampler(self) -> Sampler:
        """NUTS's budget and settings from ``[posterior]``."""
        return Sampler(**{k: v for k, v in self.posterior.items() if k != "method"})

    @property
    def kind(self) -> str:
        """``"dropout"`` for a card with ``[dropout]``, ``"linear"`` otherwise."""
        return "linear" if self.dropout is None else "dropout"

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages this card can run (and runs when ``--only`` is not given)."""
        if self.dropout is not None:
            return ("dropout",)
        return ("map", "posterior") + (("sgd",) if self.compare is not None else ())

    def select_stages(self, only=None) -> tuple[str, ...]:
        """The stages to run: ``only`` (checked against the card), else all it can run."""
        if not only:
            return self.stages
        for stage in only:
            if stage not in STAGES:
                raise CardError(f"unknown stage {stage!r}; choose from {', '.join(STAGES)}")
        for stage in only:
            if stage not in self.stages:
                raise CardError(f"{self.why_not(stage)} (this card runs: {', '.join(self.stages)})")
        return tuple(dict.fromkeys(only))

    def why_not(self, stage: str) -> str:
        """Why ``stage`` is not one of :attr:`stages`, and what would make it one."""
        if stage == "dropout":
            return "stage 'dropout' needs a [dropout] table in the card"
        if self.dropout is not None:
            return (
                f"stage {stage!r} fits a linear model, and a [dropout] card has none (no "
                "[model] or [prior]); write the linear analysis as a card of its own"
            )
        return "stage 'sgd' needs a [compare] table in the card"

    def prior(self, n: float, features=None) -> Prior:
        """The prior on the weights for ``n`` training rows (or the sum of their sample
        weights) and ``features`` (their count or names); a penalty given as convention +
        strength is converted exactly for the card's noise scale."""
        if self.dropout is not None:
            raise CardError(
                "a [dropout] card has no linear-model prior: its prior is the one the weight "
                "decay implies (see the dropout stage)"
            )
        return build_prior(self.prior_spec, self.model, n, features)

    def strengths(self, key: str = "strengths") -> np.ndarray | None:
        if self.compare is None or key not in self.compare:
            return None
        return _grid(self.compare[key], f"[compare] {key}")


def card_title(path: str | Path) -> str:
    """A card's title (its file name where it has none), read without validating the card:
    listing the cards reads no data (a formula or a CSV file would need formulaic and pandas)."""
    path = Path(path)
    return _read(path).get("title", path.stem)


def _read(path: Path) -> dict:
    if not path.is_file():
        raise CardError(f"card {path} does not exist; `bayes-reg cards` lists the shipped ones")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise CardError(f"{path} is not valid TOML: {err}") from None


def load_card(path: str | Path, overrides: Mapping[str, object] | None = None) -> Card:
    """Read and validate a card; nothing is computed.

    ``overrides`` set keys as if the card had them: ``"seed"``, or ``"table.key"`` such as
    ``"prior.strength"`` or ``"data.split"``; they are validated like the card's own values.
    """
    path = Path(path)
    raw = _with_overrides(_read(path), overrides or {})
    check_schema(raw)
    data = dict(raw.get("data", {}))
    if "source" not in data:
        raise fail("[data] source", "missing", f"choose one of {', '.join(SOURCES)}")
    check_source(data, path.parent)
    if "dropout" in raw:
        return _dropout_card(path, raw, data)
    model = model_spec(raw.get("model", {}))
    if "exposure" in data and model.likelihood not in WITH_EXPOSURE:
        raise fail(
            "[data] exposure",
            "an exposure multiplies the mean of a log-link model (a rate of counts, a gamma's "
            f"mean), and this card's likelihood is {model.likelihood}",
            'remove exposure, or set [model] likelihood = "poisson", "negative-binomial" or '
            '"gamma"',
        )
    if ("trials" in data) != (model.likelihood in WITH_TRIALS):
        raise fail(
            "[data] trials",
            "names the column of the trials of a binomial or beta-binomial, and this card's "
            f"likelihood is {model.likelihood}"
            if "trials" in data
            else f"missing: the {model.likelihood} likelihood counts successes of each row's "
            "trials",
            'give [model] likelihood = "binomial" (or "beta-binomial") with [data] trials = '
            '"COLUMN" (a csv column)',
        )
    spec = prior_spec(raw.get("prior", {}))
    check_convention(spec, model)
    posterior = {"method": "auto"} | asdict(Sampler())
    posterior |= raw.get("posterior", {})
    _validate_posterior(posterior)
    compare = raw.get("compare")
    if compare is not None:
        if "sample_weight" in data:
            raise fail(
                "[compare]",
                "the SGD comparison trains unweighted least squares, and [data] weights the rows",
                "remove [compare] or [data] sample_weight",
            )
        if model.likelihood != "gaussian":
            raise fail(
                "[compare]",
                f"the SGD comparison trains least squares, not a {model.likelihood} model",
                "remove [compare]",
            )
        compare = _compare(compare)
    card = Card(
        **_common(path, raw, data),
        model=model,
        prior_spec=spec,
        posterior=posterior,
        compare=compare,
    )
    card.strengths()  # validates the grids now, not after the first stage
    card.strengths("select_strengths")
    return card


def _with_overrides(raw: dict, overrides: Mapping[str, object]) -> dict:
    raw = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for dotted, value in overrides.items():
        table, _, key = dotted.rpartition(".")
        target = raw.setdefault(table, {}) if table else raw
        if not isinstance(target, dict):
            raise fail(f"[{table}]", "is not a table", f"cannot set {dotted}")
        target[key] = value
    return raw


def _dropout_card(path: Path, raw: dict, data: dict) -> Card:
    """A card with ``[dropout]``: the dropout network against its Bayesian twin."""
    for table in _LINEAR_TABLES:
        if table in raw:
            raise fail(
                f"[{table}]",
                "a [dropout] card compares the dropout network with the Bayesian MLP, not a "
                "linear model",
                f"remove [{table}] (write the linear analysis as a card of its own)",
            )
    if not has_own_test_rows(data["source"]):
        if not data.get("test_fraction"):
            raise fail(
                "[data] test_fraction",
                f"a [dropout] card scores both predictives on test rows, and source "
                f"{data['source']!r} has none",
                "hold some out, e.g. test_fraction = 0.2",
            )
    dropout = _dropout(raw["dropout"])
    posterior = {"method": "nuts"} | asdict(Sampler())
    posterior |= raw.get("posterior", {})
    _validate_posterior(posterior)
    if posterior["method"] == "exact":
        raise fail(
            "[posterior] method",
            "'exact' needs a conjugate model, and a neural network has no closed-form posterior",
            'write method = "nuts" (or leave it out)',
        )
    if posterior["method"] == "laplace":
        raise fail(
            "[posterior] method",
            "the dropout stage sets MC dropout against NUTS's posterior of the network",
            'write method = "nuts" (or leave it out)',
        )
    posterior["method"] = "nuts"
    return Card(
        **_common(path, raw, data),
        model=None,
        prior_spec={},
        posterior=posterior,
        compare=None,
        dropout=dropout,
    )


def _common(path: Path, raw: dict, data: dict) -> dict:
    """The fields every kind of card has."""
    return {
        "path": path,
        "title": raw.get("title", path.stem),
        "description": raw.get("description", ""),
        "seed": int(raw.get("seed", 0)),
        "data": data,
        "raw": raw,
    }


def _dropout(spec: dict) -> dict:
    out = DROPOUT_DEFAULTS | spec
    out["hidden"] = list(out["hidden"])
    for key in ("rate", "tau"):
        if key not in out:
            raise fail(
                f"[dropout] {key}",
                "missing",
                "give the dropout probability `rate` (e.g. 0.05) and the model precision "
                "`tau` in 1 / (units of y)^2 (e.g. 100 for a noise sd of 0.1)",
            )
    rate = out["rate"]
    if not (math.isfinite(rate) and 0 < rate < 1):
        raise fail(
            "[dropout] rate",
            f"must lie in (0, 1), got {rate!r}",
            "give the probability of dropping a unit, e.g. 0.05 (0 is no dropout: nothing "
            "to compare)",
        )
    for key in ("tau", "lengthscale", "learning_rate"):
        positive(f"[dropout] {key}", out[key])
    hidden = out["hidden"]
    if not hidden or not all(
        isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in hidden
    ):
        raise fail(
            "[dropout] hidden",
            f"must be a non-empty list of layer widths (whole numbers >= 1), got {hidden!r}",
            "e.g. hidden = [50], or [50, 50] for two hidden layers",
        )
    methods = out["methods"]
    unknown = [m for m in methods if m not in METHODS]
    if not methods or unknown or len(set(methods)) < len(methods):
        raise fail(
            "[dropout] methods",
            f"must name each method once, of {', '.join(METHODS)}; got {methods!r}",
            'e.g. methods = ["mc_dropout", "deep_ensemble", "laplace"] (leave it out for all)',
        )
    out["methods"] = list(methods)
    for key in ("epochs", "batch_size", "passes", "members", "vi_steps", "swag_epochs"):
        if out[key] < 1:
            raise fail(f"[dropout] {key}", f"must be >= 1, got {out[key]}", "fix its value")
    return out


def _validate_posterior(posterior: dict) -> None:
    try:
        _validate.one_of("[posterior] method", posterior["method"], POSTERIOR_METHODS)
        Sampler(**{k: v for k, v in posterior.items() if k != "method"})
    except (ValueError, TypeError) as err:
        raise CardError(f"[posterior] {err}") from None


def _compare(compare: dict) -> dict:
    out = {"optimizer": "sgd"} | compare
    try:
        _validate.one_of("[compare] optimizer", out["optimizer"], OPTIMIZERS)
    except ValueError as err:
        raise CardError(str(err)) from None
    for key in ("strengths", "lr", "epochs", "batch_size"):
        if key not in out:
            raise fail(
                f"[compare] {key}",
                "missing",
                "the SGD comparison needs strengths, lr, epochs and batch_size",
            )
    for key in ("lr", "converge_lr"):
        if key in out:
            positive(f"[compare] {key}", out[key])
    return out


def _grid(spec, where: str) -> np.ndarray:
    if isinstance(spec, list):
        values = np.asarray(spec, dtype=float) if spec else np.zeros(0)
    else:
        unknown = set(spec) - {"start", "stop", "num", "spacing"}
        if unknown or not {"start", "stop", "num"} <= set(spec):
            raise fail(
                where,
                f"bad grid {spec!r}",
                'write a list, or {start = .., stop = .., num = .., spacing = "log"}',
            )
        spacing = spec.get("spacing", "linear")
        _validate.one_of(f"{where} spacing", spacing, ("linear", "log"))
        make = np.geomspace if spacing == "log" else np.linspace
        values = make(spec["start"], spec["stop"], int(spec["num"]))
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise fail(where, f"must be a non-empty list of numbers >= 0, got {spec!r}", "fix the grid")
    return values
