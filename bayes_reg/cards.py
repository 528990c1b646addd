"""Model cards: one TOML file per ready-to-run analysis, validated before any computation.

The schema is documented in ``models/README.md``. :func:`load_card` reads a card into a
:class:`Card` and refuses anything it does not understand (unknown keys, wrong types,
missing files, non-numeric or missing CSV values) with a :class:`CardError` that names the
key or column and says how to fix it.

A card is one of two kinds. A *linear* card (``[model]`` and ``[prior]``) sets a penalised
linear fit beside the posterior of the prior it encodes: stages ``map``, ``posterior`` and,
with ``[compare]``, ``sgd``. A *dropout* card (``[dropout]``) sets an MLP's MC-dropout
predictive beside the posterior of the same network under the prior its weight decay
implies: stage ``dropout``. ``[posterior]`` is the posterior's NUTS budget in both.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bayes_reg import _validate
from bayes_reg.conventions import CONVENTIONS, get_convention, to_prior
from bayes_reg.dropout import LENGTHSCALE
from bayes_reg.priors import Prior, prior_from_name
from bayes_reg.sgd import OPTIMIZERS

__all__ = [
    "Card",
    "CardError",
    "Data",
    "DROPOUT_DEFAULTS",
    "load_card",
    "load_data",
    "STAGES",
    "SOURCES",
]

STAGES = ("map", "posterior", "sgd", "dropout")
SOURCES = ("d2l", "diabetes", "toy-gap", "uci:DIR", "csv:FILE")

_SCHEMA = {
    "": {"title": str, "description": str, "seed": int},
    "data": {
        "source": str,
        "target": str,
        "scale_y": float,
        "standardize": bool,
        "test_fraction": float,
        "split": int,
        "n": int,
        "n_test": int,
    },
    "model": {"sigma": (float, dict), "intercept_scale": float},
    "prior": {
        "family": str,
        "scale": float,
        "convention": str,
        "strength": float,
        "l1_ratio": float,
    },
    "posterior": {
        "method": str,
        "chains": int,
        "warmup": int,
        "draws": int,
        "target_accept": float,
        "max_tree_depth": int,
    },
    "compare": {
        "optimizer": str,
        "strengths": (list, dict),
        "lr": float,
        "epochs": int,
        "batch_size": int,
        "converge_lr": float,
        "converge_epochs": int,
        "select_strengths": (list, dict),
    },
    "dropout": {
        "rate": float,
        "tau": float,
        "lengthscale": float,
        "hidden": list,
        "epochs": int,
        "batch_size": int,
        "learning_rate": float,
        "passes": int,
    },
}

#: Defaults of the optional ``[dropout]`` keys (``rate`` and ``tau`` have none: the
#: precision is in the units of y, and the rate is the experiment).
DROPOUT_DEFAULTS = {
    "lengthscale": LENGTHSCALE,
    "hidden": [50],
    "epochs": 1000,
    "batch_size": 32,
    "learning_rate": 1e-3,
    "passes": 1000,
}

#: The tables only a linear card has; a ``[dropout]`` card refuses them.
_LINEAR_TABLES = ("model", "prior", "compare")


#: NUTS's budget and settings when a card's [posterior] does not say.
_NUTS_DEFAULTS = {
    "chains": 4,
    "warmup": 1000,
    "draws": 1000,
    "target_accept": 0.8,
    "max_tree_depth": 10,
}


class CardError(ValueError):
    """A card that cannot be run as written; the message names the key and the fix."""


@dataclass(frozen=True)
class Data:
    """Training (and optional test) data of a card, with feature names."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    feature_names: list[str]


@dataclass(frozen=True)
class Card:
    """A validated card. ``raw`` keeps the TOML as read, for the report.

    A dropout card has ``dropout`` (the ``[dropout]`` table with its defaults filled in)
    and no linear model: ``sigma`` is ``None`` and ``prior_spec`` empty.
    """

    path: Path
    title: str
    description: str
    seed: int
    data: dict
    sigma: float | dict | None
    intercept_scale: float | None
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
    def kind(self) -> str:
        """``"dropout"`` for a card with ``[dropout]``, ``"linear"`` otherwise."""
        return "linear" if self.dropout is None else "dropout"

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages this card can run (and runs when ``--only`` is not given)."""
        if self.dropout is not None:
            return ("dropout",)
        return ("map", "posterior") + (("sgd",) if self.compare is not None else ())

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

    def prior(self, n: int) -> Prior:
        """The prior on the weights; a penalty given as convention + strength is converted
        exactly for ``n`` training rows and the card's noise scale."""
        if self.dropout is not None:
            raise CardError(
                "a [dropout] card has no linear-model prior: its prior is the one the weight "
                "decay implies (see the dropout stage)"
            )
        spec = self.prior_spec
        if "scale" in spec:
            return prior_from_name(spec.get("family", "gaussian"), spec["scale"])
        if not isinstance(self.sigma, float):
            raise CardError(
                "[prior] convention + strength needs a known noise scale: set "
                "[model] sigma to a number, or give [prior] family + scale"
            )
        return to_prior(
            spec["convention"],
            spec["strength"],
            n=n,
            sigma=self.sigma,
            family=spec.get("family"),
            l1_ratio=spec.get("l1_ratio"),
        )

    def strengths(self, key: str = "strengths") -> np.ndarray | None:
        if self.compare is None or key not in self.compare:
            return None
        return _grid(self.compare[key], f"[compare] {key}")


def _fail(where: str, problem: str, fix: str) -> CardError:
    return CardError(f"{where}: {problem}; {fix}")


def load_card(path: str | Path) -> Card:
    """Read and validate a card; nothing is computed."""
    path = Path(path)
    if not path.is_file():
        raise CardError(f"card {path} does not exist; `bayes-reg cards` lists the shipped ones")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise CardError(f"{path} is not valid TOML: {err}") from None
    _check_schema(raw)
    data = dict(raw.get("data", {}))
    if "source" not in data:
        raise _fail("[data] source", "missing", f"choose one of {', '.join(SOURCES)}")
    _check_source(data, path.parent)
    if "dropout" in raw:
        return _dropout_card(path, raw, data)
    model = raw.get("model", {})
    if "sigma" not in model:
        raise _fail(
            "[model] sigma",
            "missing",
            'give the noise scale (a number) or {prior = "half-normal", scale = ...}',
        )
    sigma = _sigma(model["sigma"])
    intercept = model.get("intercept_scale")
    if intercept is not None:
        intercept = _positive("[model] intercept_scale", intercept)
    prior_spec = _prior_spec(raw.get("prior", {}))
    posterior = {"method": "auto"} | _NUTS_DEFAULTS
    posterior |= raw.get("posterior", {})
    _validate_posterior(posterior)
    compare = raw.get("compare")
    if compare is not None:
        compare = _compare(compare)
    card = Card(
        path,
        raw.get("title", path.stem),
        raw.get("description", ""),
        int(raw.get("seed", 0)),
        data,
        sigma,
        intercept,
        prior_spec,
        posterior,
        compare,
        raw,
    )
    card.strengths()  # validates the grids now, not after the first stage
    card.strengths("select_strengths")
    return card


def _dropout_card(path: Path, raw: dict, data: dict) -> Card:
    """A card with ``[dropout]``: the dropout network against its Bayesian twin."""
    for table in _LINEAR_TABLES:
        if table in raw:
            raise _fail(
                f"[{table}]",
                "a [dropout] card compares the dropout network with the Bayesian MLP, not a "
                "linear model",
                f"remove [{table}] (write the linear analysis as a card of its own)",
            )
    if data["source"] == "diabetes" or data["source"].startswith("csv:"):
        if not data.get("test_fraction"):
            raise _fail(
                "[data] test_fraction",
                f"a [dropout] card scores both predictives on test rows, and source "
                f"{data['source']!r} has none",
                "hold some out, e.g. test_fraction = 0.2",
            )
    dropout = _dropout(raw["dropout"])
    posterior = {"method": "nuts"} | _NUTS_DEFAULTS
    posterior |= raw.get("posterior", {})
    _validate_posterior(posterior)
    if posterior["method"] == "exact":
        raise _fail(
            "[posterior] method",
            "'exact' needs a conjugate model, and a neural network has no closed-form posterior",
            'write method = "nuts" (or leave it out)',
        )
    posterior["method"] = "nuts"
    return Card(
        path,
        raw.get("title", path.stem),
        raw.get("description", ""),
        int(raw.get("seed", 0)),
        data,
        None,
        None,
        {},
        posterior,
        None,
        raw,
        dropout,
    )


def _dropout(spec: dict) -> dict:
    out = DROPOUT_DEFAULTS | spec
    out["hidden"] = list(out["hidden"])
    for key in ("rate", "tau"):
        if key not in out:
            raise _fail(
                f"[dropout] {key}",
                "missing",
                "give the dropout probability `rate` (e.g. 0.05) and the model precision "
                "`tau` in 1 / (units of y)^2 (e.g. 100 for a noise sd of 0.1)",
            )
    rate = out["rate"]
    if not (math.isfinite(rate) and 0 < rate < 1):
        raise _fail(
            "[dropout] rate",
            f"must lie in (0, 1), got {rate!r}",
            "give the probability of dropping a unit, e.g. 0.05 (0 is no dropout: nothing "
            "to compare)",
        )
    for key in ("tau", "lengthscale", "learning_rate"):
        _positive(f"[dropout] {key}", out[key])
    hidden = out["hidden"]
    if not hidden or not all(
        isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in hidden
    ):
        raise _fail(
            "[dropout] hidden",
            f"must be a non-empty list of layer widths (whole numbers >= 1), got {hidden!r}",
            "e.g. hidden = [50], or [50, 50] for two hidden layers",
        )
    for key in ("epochs", "batch_size", "passes"):
        if out[key] < 1:
            raise _fail(f"[dropout] {key}", f"must be >= 1, got {out[key]}", "fix its value")
    return out


def _check_schema(raw: dict) -> None:
    for key, value in raw.items():
        if key in _SCHEMA and key:
            if not isinstance(value, dict):
                raise _fail(
                    f"[{key}]",
                    f"must be a table, got {type(value).__name__}",
                    f"write it as [{key}] with keys below it",
                )
            allowed = _SCHEMA[key]
            for sub, sub_value in value.items():
                if sub not in allowed:
                    raise _fail(
                        f"[{key}] {sub}", "unknown key", f"known keys: {', '.join(allowed)}"
                    )
                _check_type(f"[{key}] {sub}", sub_value, allowed[sub])
        elif key in _SCHEMA[""]:
            _check_type(key, value, _SCHEMA[""][key])
        else:
            tables = [t for t in _SCHEMA if t]
            raise _fail(
                key,
                "unknown key",
                f"top-level keys: {', '.join(_SCHEMA[''])}; "
                f"tables: {', '.join(f'[{t}]' for t in tables)}",
            )


def _check_type(where: str, value, expected) -> None:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    ok = any(
        (k is float and isinstance(value, int | float) and not isinstance(value, bool))
        or (k is int and isinstance(value, int) and not isinstance(value, bool))
        or (k not in (int, float) and isinstance(value, k))
        for k in kinds
    )
    if not ok:
        names = " or ".join(
            {
                float: "a number",
                int: "a whole number",
                str: "a string",
                bool: "true or false",
                list: "a list",
                dict: "a table",
            }[k]
            for k in kinds
        )
        raise _fail(where, f"must be {names}, got {value!r}", "fix its value")


def _positive(where: str, value) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise _fail(where, f"must be > 0, got {value!r}", "give a positive number")
    return float(value)


def _check_source(data: dict, base: Path) -> None:
    source = data["source"]
    if source not in ("d2l", "diabetes", "toy-gap") and not source.startswith(("uci:", "csv:")):
        raise _fail(
            "[data] source", f"unknown source {source!r}", f"choose one of {', '.join(SOURCES)}"
        )
    _check_source_keys(data, source)
    if source.startswith(("uci:", "csv:")):
        kind, _, rel = source.partition(":")
        file = (base / rel).resolve()
        if not file.exists():
            raise _fail(
                "[data] source",
                f"{file} does not exist",
                f"give a path to an existing {'directory' if kind == 'uci' else 'file'}"
                " (relative paths are read from the card's folder)",
            )
        if kind == "csv" and "target" not in data:
            raise _fail(
                "[data] target", "missing for a csv source", "name the column that holds the target"
            )
        data["_path"] = file
        if kind == "csv":
            _read_csv(file, data["target"])  # every cell checked now, before any computation
        else:
            _check_split(file, data.get("split", 0))
    if "scale_y" in data:
        _positive("[data] scale_y", data["scale_y"])
    if "test_fraction" in data and not 0 <= data["test_fraction"] < 1:
        raise _fail(
            "[data] test_fraction",
            f"must lie in [0, 1), got {data['test_fraction']}",
            "give the share of rows held out",
        )
    if source == "toy-gap":
        if data.get("n", 2) < 2:
            raise _fail(
                "[data] n", f"must be >= 2, got {data['n']}", "give at least one row per cluster"
            )
        if data.get("n_test", 1) < 1:
            raise _fail("[data] n_test", f"must be >= 1, got {data['n_test']}", "fix its value")


#: Keys of ``[data]`` that only some sources take: key -> (the sources, their description).
_SOURCE_KEYS = {
    "target": (lambda s: s.startswith("csv:"), "csv sources"),
    "standardize": (lambda s: s == "diabetes", "the diabetes source"),
    "split": (lambda s: s.startswith("uci:"), "uci sources"),
    "n": (lambda s: s == "toy-gap", "the toy-gap source"),
    "n_test": (lambda s: s == "toy-gap", "the toy-gap source"),
}


def _check_source_keys(data: dict, source: str) -> None:
    for key, (takes, which) in _SOURCE_KEYS.items():
        if key in data and not takes(source):
            raise _fail(f"[data] {key}", f"applies to {which} only, not to {source!r}", "remove it")
    if source in ("d2l", "toy-gap") or source.startswith("uci:"):
        if data.get("test_fraction"):
            raise _fail(
                "[data] test_fraction",
                f"source {source!r} comes with its own test rows",
                "remove test_fraction",
            )


def _check_split(directory: Path, split: int) -> None:
    n_splits_file = directory / "n_splits.txt"
    if not n_splits_file.is_file():
        raise _fail(
            "[data] source",
            f"{n_splits_file} is missing",
            "a uci: source names a directory in the UCI split format (see bayes_reg.uci)",
        )
    n_splits = int(np.loadtxt(n_splits_file))
    if not 0 <= split < n_splits:
        raise _fail(
            "[data] split",
            f"must lie in [0, {n_splits - 1}] for {directory.name}, got {split}",
            "choose one of the directory's splits",
        )


def _sigma(value) -> float | dict:
    if isinstance(value, dict):
        if set(value) != {"prior", "scale"} or value["prior"] != "half-normal":
            raise _fail(
                "[model] sigma",
                f"unknown prior {value!r}",
                'write {prior = "half-normal", scale = <number>}',
            )
        return {"prior": "half-normal", "scale": _positive("[model] sigma.scale", value["scale"])}
    return _positive("[model] sigma", value)


def _prior_spec(spec: dict) -> dict:
    has_scale, has_penalty = "scale" in spec, "convention" in spec or "strength" in spec
    if has_scale == has_penalty:
        raise _fail(
            "[prior]",
            "needs either family + scale, or convention + strength",
            'e.g. family = "gaussian", scale = 1.0  or  convention = "d2l", strength = 3',
        )
    if has_scale:
        _validate.one_of("[prior] family", spec.get("family", "gaussian"), ("gaussian", "laplace"))
        _positive("[prior] scale", spec["scale"])
    else:
        for key in ("convention", "strength"):
            if key not in spec:
                raise _fail(f"[prior] {key}", "missing", "give both convention and strength")
        try:
            get_convention(spec["convention"])
        except ValueError as err:
            raise _fail(
                "[prior] convention", str(err), f"use one of {', '.join(CONVENTIONS)}"
            ) from None
        _positive("[prior] strength", spec["strength"])
    return dict(spec)


def _validate_posterior(posterior: dict) -> None:
    try:
        _validate.one_of("[posterior] method", posterior["method"], ("auto", "exact", "nuts"))
        for key in ("chains", "warmup", "draws", "max_tree_depth"):
            _validate.positive_int(f"[posterior] {key}", posterior[key])
        _validate.fraction(
            "[posterior] target_accept",
            posterior["target_accept"],
            low_open=True,
            high_open=True,
        )
    except (ValueError, TypeError) as err:
        raise CardError(str(err)) from None


def _compare(compare: dict) -> dict:
    out = {"optimizer": "sgd"} | compare
    try:
        _validate.one_of("[compare] optimizer", out["optimizer"], OPTIMIZERS)
    except ValueError as err:
        raise CardError(str(err)) from None
    for key in ("strengths", "lr", "epochs", "batch_size"):
        if key not in out:
            raise _fail(
                f"[compare] {key}",
                "missing",
                "the SGD comparison needs strengths, lr, epochs and batch_size",
            )
    for key in ("lr", "converge_lr"):
        if key in out:
            _positive(f"[compare] {key}", out[key])
    return out


def _grid(spec, where: str) -> np.ndarray:
    if isinstance(spec, list):
        values = np.asarray(spec, dtype=float) if spec else np.zeros(0)
    else:
        unknown = set(spec) - {"start", "stop", "num", "spacing"}
        if unknown or not {"start", "stop", "num"} <= set(spec):
            raise _fail(
                where,
                f"bad grid {spec!r}",
                'write a list, or {start = .., stop = .., num = .., spacing = "log"}',
            )
        spacing = spec.get("spacing", "linear")
        _validate.one_of(f"{where} spacing", spacing, ("linear", "log"))
        make = np.geomspace if spacing == "log" else np.linspace
        values = make(spec["start"], spec["stop"], int(spec["num"]))
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise _fail(
            where, f"must be a non-empty list of numbers >= 0, got {spec!r}", "fix the grid"
        )
    return values


def load_data(card: Card) -> Data:
    """The card's data, after ``scale_y``; test rows from the source's own split, or the
    last ``test_fraction`` of the rows."""
    from bayes_reg.data import d2l_synthetic, diabetes

    spec = card.data
    source = spec["source"]
    X_test = y_test = None
    if source == "d2l":
        d = d2l_synthetic(seed=card.seed)
        X, y, X_test, y_test = d.X_train, d.y_train, d.X_test, d.y_test
        names = [f"x{j}" for j in range(X.shape[1])]
    elif source == "diabetes":
        d = diabetes(standardize=spec.get("standardize", True))
        X, y, names = d.X, d.y, d.feature_names
    elif source == "toy-gap":
        from bayes_reg.data import toy_gap

        d = toy_gap(n=spec.get("n", 100), n_test=spec.get("n_test", 200), seed=card.seed)
        X, y, X_test, y_test = d.X_train, d.y_train, d.X_test, d.y_test
        names = ["x"]
    elif source.startswith("uci:"):
        from bayes_reg.uci import load_uci

        s = load_uci(spec["_path"], split=spec.get("split", 0))
        X, y, X_test, y_test = s.X_train, s.y_train, s.X_test, s.y_test
        names = [f"x{j}" for j in range(X.shape[1])]
    else:
        X, y, names = _read_csv(spec["_path"], spec["target"])
    frac = spec.get("test_fraction", 0.0)
    if frac and X_test is None:
        cut = int(round(len(y) * (1 - frac)))
        X, y, X_test, y_test = X[:cut], y[:cut], X[cut:], y[cut:]
    c = spec.get("scale_y", 1.0)
    return Data(X, c * y, X_test, None if y_test is None else c * y_test, names)


def _read_csv(path: Path, target: str):
    import csv

    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if len(rows) < 2:
        raise CardError(f"{path}: needs a header row and at least one data row")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    if target not in header:
        raise _fail(
            "[data] target",
            f"column {target!r} is not in {path.name}",
            f"choose one of {', '.join(header)}",
        )
    values = np.empty((len(body), len(header)))
    for i, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise CardError(f"{path.name} line {i}: {len(row)} fields, header has {len(header)}")
        for j, cell in enumerate(row):
            try:
                values[i - 2, j] = float(cell)
            except ValueError:
                what = "missing" if not cell.strip() else f"non-numeric ({cell!r})"
                raise CardError(
                    f"{path.name} line {i}, column {header[j]!r}: {what} value; "
                    "every cell must be a number"
                ) from None
            if not math.isfinite(values[i - 2, j]):
                raise CardError(
                    f"{path.name} line {i}, column {header[j]!r}: {cell} is not "
                    "finite; every cell must be a finite number"
                )
    t = header.index(target)
    features = [h for j, h in enumerate(header) if j != t]
    X = np.delete(values, t, axis=1)
    constant = [features[j] for j in range(X.shape[1]) if np.ptp(X[:, j]) == 0]
    if constant:
        raise CardError(
            f"{path.name}: constant column(s) {', '.join(constant)} carry no "
            "information (the intercept covers them); remove them"
        )
    return X, values[:, t], features
