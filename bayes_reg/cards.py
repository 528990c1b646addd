"""Model cards: one TOML file per ready-to-run analysis, validated before any computation.

The schema is documented in ``models/README.md``. :func:`load_card` reads a card into a
:class:`Card` and refuses anything it does not understand (unknown keys, wrong types,
missing files, non-numeric or missing CSV values) with a :class:`CardError` that names the
key or column and says how to fix it.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bayes_reg import _validate
from bayes_reg.conventions import CONVENTIONS, get_convention, to_prior
from bayes_reg.priors import Prior, prior_from_name
from bayes_reg.sgd import OPTIMIZERS

__all__ = ["Card", "CardError", "Data", "load_card", "load_data", "STAGES", "SOURCES"]

STAGES = ("map", "posterior", "sgd")
SOURCES = ("d2l", "diabetes", "uci:DIR", "csv:FILE")

_SCHEMA = {
    "": {"title": str, "description": str, "seed": int},
    "data": {
        "source": str,
        "target": str,
        "scale_y": float,
        "standardize": bool,
        "test_fraction": float,
        "split": int,
    },
    "model": {"sigma": (float, dict), "intercept_scale": float},
    "prior": {
        "family": str,
        "scale": float,
        "convention": str,
        "strength": float,
        "l1_ratio": float,
    },
    "posterior": {"method": str, "chains": int, "warmup": int, "draws": int},
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
    """A validated card. ``raw`` keeps the TOML as read, for the report."""

    path: Path
    title: str
    description: str
    seed: int
    data: dict
    sigma: float | dict
    intercept_scale: float | None
    prior_spec: dict
    posterior: dict
    compare: dict | None
    raw: dict = field(repr=False)

    def prior(self, n: int) -> Prior:
        """The prior on the weights; a penalty given as convention + strength is converted
        exactly for ``n`` training rows and the card's noise scale."""
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
    posterior = {"method": "auto", "chains": 4, "warmup": 1000, "draws": 1000}
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
    if source in ("d2l", "diabetes"):
        if "target" in data:
            raise _fail(
                "[data] target", f"only csv sources name a target (source {source!r})", "remove it"
            )
    elif source.startswith(("uci:", "csv:")):
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
        raise _fail(
            "[data] source", f"unknown source {source!r}", f"choose one of {', '.join(SOURCES)}"
        )
    if "scale_y" in data:
        _positive("[data] scale_y", data["scale_y"])
    if "test_fraction" in data and not 0 <= data["test_fraction"] < 1:
        raise _fail(
            "[data] test_fraction",
            f"must lie in [0, 1), got {data['test_fraction']}",
            "give the share of rows held out",
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
        for key in ("chains", "warmup", "draws"):
            _validate.positive_int(f"[posterior] {key}", posterior[key])
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
