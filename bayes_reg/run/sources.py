"""Where a card's data come from: the built-in sets, a UCI folder in the MC-dropout split
format (the shipped sets by name), or a CSV file; every file and cell checked before any
computation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bayes_reg.data import breast_cancer, d2l_synthetic, diabetes, linnerud, toy_gap
from bayes_reg.run.schema import CardError, fail, positive
from bayes_reg.uci import UCI_DIR, load_uci

__all__ = ["SOURCES", "Data", "check_source", "has_own_test_rows", "load_data"]

#: The sets a package ships, by name: scikit-learn's (standardised unless told otherwise).
_SKLEARN_SETS = {"diabetes": diabetes, "breast-cancer": breast_cancer, "linnerud": linnerud}
SOURCES = ("d2l", *_SKLEARN_SETS, "toy-gap", "uci:DIR", "csv:FILE")


@dataclass(frozen=True)
class Data:
    """Training (and optional test) data of a card, with feature names."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    feature_names: list[str]
    offset: np.ndarray | None = None  # log exposure of the training rows (a csv column)


def check_source(data: dict, base: Path) -> None:
    source = data["source"]
    if source not in ("d2l", "toy-gap", *_SKLEARN_SETS) and not source.startswith(("uci:", "csv:")):
        raise fail(
            "[data] source", f"unknown source {source!r}", f"choose one of {', '.join(SOURCES)}"
        )
    _check_source_keys(data, source)
    if source.startswith(("uci:", "csv:")):
        kind, _, rel = source.partition(":")
        file = (base / rel).resolve()
        if kind == "uci" and not file.exists() and (UCI_DIR / rel).is_dir():
            file = UCI_DIR / rel  # a set shipped in the package, by name: "uci:yacht"
        if not file.exists():
            raise fail(
                "[data] source",
                f"{file} does not exist",
                f"give a path to an existing {'directory' if kind == 'uci' else 'file'}"
                " (relative paths are read from the card's folder)",
            )
        if kind == "csv" and "target" not in data:
            raise fail(
                "[data] target", "missing for a csv source", "name the column that holds the target"
            )
        data["_path"] = file
        if kind == "csv":
            # every cell checked now, before any computation
            _read_csv(file, data["target"], data.get("exposure"))
        else:
            _check_split(file, data.get("split", 0))
    if "scale_y" in data:
        positive("[data] scale_y", data["scale_y"])
    if "test_fraction" in data and not 0 <= data["test_fraction"] < 1:
        raise fail(
            "[data] test_fraction",
            f"must lie in [0, 1), got {data['test_fraction']}",
            "give the share of rows held out",
        )
    if source == "toy-gap":
        if data.get("n", 2) < 2:
            raise fail(
                "[data] n", f"must be >= 2, got {data['n']}", "give at least one row per cluster"
            )
        if data.get("n_test", 1) < 1:
            raise fail("[data] n_test", f"must be >= 1, got {data['n_test']}", "fix its value")


#: Keys of ``[data]`` that only some sources take: key -> (the sources, their description).
_SOURCE_KEYS = {
    "target": (lambda s: s.startswith("csv:"), "csv sources"),
    "exposure": (lambda s: s.startswith("csv:"), "csv sources"),
    "standardize": (lambda s: s in _SKLEARN_SETS, "the scikit-learn sets"),
    "split": (lambda s: s.startswith("uci:"), "uci sources"),
    "n": (lambda s: s == "toy-gap", "the toy-gap source"),
    "n_test": (lambda s: s == "toy-gap", "the toy-gap source"),
}


def _check_source_keys(data: dict, source: str) -> None:
    for key, (takes, which) in _SOURCE_KEYS.items():
        if key in data and not takes(source):
            raise fail(f"[data] {key}", f"applies to {which} only, not to {source!r}", "remove it")
    if has_own_test_rows(source):
        if data.get("test_fraction"):
            raise fail(
                "[data] test_fraction",
                f"source {source!r} comes with its own test rows",
                "remove test_fraction",
            )


def has_own_test_rows(source: str) -> bool:
    """Whether ``source`` comes with its own test rows (others take ``test_fraction``)."""
    return source in ("d2l", "toy-gap") or source.startswith("uci:")


def _check_split(directory: Path, split: int) -> None:
    n_splits_file = directory / "n_splits.txt"
    if not n_splits_file.is_file():
        raise fail(
            "[data] source",
            f"{n_splits_file} is missing",
            "a uci: source names a directory in the UCI split format (see bayes_reg.uci)",
        )
    n_splits = int(np.loadtxt(n_splits_file))
    if not 0 <= split < n_splits:
        raise fail(
            "[data] split",
            f"must lie in [0, {n_splits - 1}] for {directory.name}, got {split}",
            "choose one of the directory's splits",
        )


def load_data(card) -> Data:
    """The card's data, after ``scale_y``; test rows from the source's own split, or the
    last ``test_fraction`` of the rows."""

    spec = card.data
    source = spec["source"]
    X_test = y_test = exposure = None
    if source == "d2l":
        d = d2l_synthetic(seed=card.seed)
        X, y, X_test, y_test = d.X_train, d.y_train, d.X_test, d.y_test
        names = [f"x{j}" for j in range(X.shape[1])]
    elif source in _SKLEARN_SETS:
        d = _SKLEARN_SETS[source](standardize=spec.get("standardize", True))
        X, y, names = d.X, d.y, d.feature_names
    elif source == "toy-gap":
        d = toy_gap(n=spec.get("n", 100), n_test=spec.get("n_test", 200), seed=card.seed)
        X, y, X_test, y_test = d.X_train, d.y_train, d.X_test, d.y_test
        names = ["x"]
    elif source.startswith("uci:"):
        s = load_uci(spec["_path"], split=spec.get("split", 0))
        X, y, X_test, y_test = s.X_train, s.y_train, s.X_test, s.y_test
        names = [f"x{j}" for j in range(X.shape[1])]
    else:
        X, y, names, exposure = _read_csv(spec["_path"], spec["target"], spec.get("exposure"))
    frac = spec.get("test_fraction", 0.0)
    cut = int(round(len(y) * (1 - frac))) if frac and X_test is None else len(y)
    if cut < len(y):
        X, y, X_test, y_test = X[:cut], y[:cut], X[cut:], y[cut:]
    offset = None if source in _SKLEARN_SETS or exposure is None else np.log(exposure[:cut])
    c = spec.get("scale_y", 1.0)
    return Data(X, c * y, X_test, None if y_test is None else c * y_test, names, offset)


def _read_csv(path: Path, target: str, exposure: str | None = None):
    import csv

    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if len(rows) < 2:
        raise CardError(f"{path}: needs a header row and at least one data row")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    if target not in header:
        raise fail(
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
    used = [t]
    if exposure is not None:
        if exposure not in header or exposure == target:
            raise fail(
                "[data] exposure",
                f"column {exposure!r} is not a column of {path.name} besides the target",
                f"choose one of {', '.join(h for h in header if h != target)}",
            )
        used.append(header.index(exposure))
        if not np.all(values[:, used[1]] > 0):
            raise fail(
                "[data] exposure",
                f"column {exposure!r} has a value <= 0",
                "an exposure (time, area, population at risk) is positive",
            )
    features = [h for j, h in enumerate(header) if j not in used]
    X = np.delete(values, used, axis=1)
    constant = [features[j] for j in range(X.shape[1]) if np.ptp(X[:, j]) == 0]
    if constant:
        raise CardError(
            f"{path.name}: constant column(s) {', '.join(constant)} carry no "
            "information (the intercept covers them); remove them"
        )
    return X, values[:, t], features, (values[:, used[1]] if exposure is not None else None)
