"""Where a card's data come from: the built-in sets, a UCI folder in the MC-dropout split
format (the shipped sets by name), or a CSV file (numbers and categories); every file and cell
checked before any computation. Every source becomes a table read through the card's design
(:mod:`bayes_reg.design`: a formula, or the target against every other column)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bayes_reg.data import breast_cancer, d2l_synthetic, diabetes, linnerud, toy_gap
from bayes_reg.design import MISSING, Design, design_matrix
from bayes_reg.design_checks import columns_read, formula_syntax
from bayes_reg.run.schema import CardError, fail, positive
from bayes_reg.uci import UCI_DIR, load_uci

__all__ = ["SOURCES", "Data", "check_source", "has_own_test_rows", "load_data", "read_csv"]

#: The sets a package ships, by name: scikit-learn's (standardised unless told otherwise).
_SKLEARN_SETS = {"diabetes": diabetes, "breast-cancer": breast_cancer, "linnerud": linnerud}
SOURCES = ("d2l", *_SKLEARN_SETS, "toy-gap", "uci:DIR", "csv:FILE")


@dataclass(frozen=True)
class Data:
    """Training (and optional test) data of a card, with feature names and the design that
    made them (rows dropped for missing values listed)."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    feature_names: list[str]
    offset: np.ndarray | None = None  # log exposure of the training rows (a csv column)
    design: Design | None = None
    dropped: list = field(default_factory=list)
    offset_test: np.ndarray | None = None
    ids_test: np.ndarray | None = None
    sample_weight: np.ndarray | None = None  # of the training rows (a csv column)
    trials: np.ndarray | None = None  # the binomial's, of the training rows (a csv column)
    trials_test: np.ndarray | None = None


def check_source(data: dict, base: Path) -> None:
    source = data["source"]
    if source not in ("d2l", "toy-gap", *_SKLEARN_SETS) and not source.startswith(("uci:", "csv:")):
        raise fail(
            "[data] source", f"unknown source {source!r}", f"choose one of {', '.join(SOURCES)}"
        )
    _check_source_keys(data, source)
    if "formula" in data:
        _check_formula(data)
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
        if kind == "csv" and "target" not in data and "formula" not in data:
            raise fail(
                "[data] target",
                "missing for a csv source",
                'name the column that holds the target, or write a formula = "y ~ a + b"',
            )
        data["_path"] = file
        if kind == "csv":
            _check_columns(data, read_csv(file))  # every cell checked now, before any work
        else:
            _check_split(file, data.get("split", 0))
    if "scale_y" in data:
        positive("[data] scale_y", data["scale_y"])
    if data.get("missing", "refuse") not in MISSING:
        raise fail(
            "[data] missing", f"unknown value {data['missing']!r}", f"choose one of {MISSING}"
        )
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
    "sample_weight": (lambda s: s.startswith("csv:"), "csv sources"),
    "trials": (lambda s: s.startswith("csv:"), "csv sources"),
    "id": (lambda s: s.startswith("csv:"), "csv sources"),
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


def _formula(text: str):
    """A card's formula parsed before its table is read: a dot (every other column) reads
    no column yet."""
    from formulaic import Formula

    return Formula(text, _context={"__formulaic_variables_available__": ()})


def _check_formula(data: dict) -> None:
    try:
        formula = _formula(data["formula"])
    except Exception as err:  # formulaic's parser raises several kinds
        raise fail(
            "[data] formula", f"cannot be read: {formula_syntax(err)}", 'write e.g. "y ~ a + C(b)"'
        ) from None
    if "target" in data:
        raise fail(
            "[data] target", "given with a formula", "the formula names the target: keep one"
        )
    if not hasattr(formula, "lhs") or not columns_read(formula.lhs):
        raise fail("[data] formula", "has no target on its left", 'write "y ~ ..."')


def _check_columns(data: dict, frame) -> None:
    """The columns a csv card names exist in its file."""
    path = data["_path"].name
    header = ", ".join(frame.columns)
    if "formula" in data:
        absent = sorted(columns_read(_formula(data["formula"])) - set(frame.columns))
        if absent:
            raise fail(
                "[data] formula",
                f"reads column(s) {', '.join(absent)} that {path} lacks",
                f"choose among {header}",
            )
    elif data["target"] not in frame.columns:
        raise fail(
            "[data] target",
            f"column {data['target']!r} is not in {path}",
            f"choose one of {header}",
        )
    for key in ("exposure", "id", "sample_weight", "trials"):
        if key in data and data[key] not in frame.columns:
            raise fail(
                f"[data] {key}", f"column {data[key]!r} is not in {path}", f"choose one of {header}"
            )
    for key in ("exposure", "trials"):
        if key in data and data[key] == data.get("target"):
            raise fail(f"[data] {key}", "is the target column", f"name the column of {key}")


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
    """The card's data through its design (formula, encoding, missing values, standardising
    fitted on the training rows), after ``scale_y``; test rows from the source's own split,
    or the last ``test_fraction`` of the rows."""
    spec = card.data
    train, test = _frames(card)
    try:
        table = design_matrix(
            train,
            spec.get("formula"),
            target=spec.get("target", "y"),
            standardize=spec.get("standardize", spec["source"] in _SKLEARN_SETS),
            missing=spec.get("missing", "refuse"),
            exposure=spec.get("exposure"),
            id=spec.get("id"),
            sample_weight=spec.get("sample_weight"),
            trials=spec.get("trials"),
        )
        design = table.design
        X_test = y_test = offset_test = ids_test = trials_test = None
        if test is not None:
            if spec.get("missing") == "drop":
                test = test[test[design.variables + design.target_variables].notna().all(axis=1)]
            X_test, y_test = design.matrix(test), design.response(test)
            offset_test = design.offset(test)
            trials_test = design.number_of_trials(test)
            ids_test = None if design.id is None else test[design.id].to_numpy()
    except ValueError as err:
        raise CardError(f"[data] {spec['source']}: {err}") from None
    c = spec.get("scale_y", 1.0)
    return Data(
        table.X,
        c * table.y,
        X_test,
        None if y_test is None else c * y_test,
        list(design.features),
        table.offset,
        design=design,
        dropped=table.dropped,
        offset_test=offset_test,
        ids_test=ids_test,
        sample_weight=table.sample_weight,
        trials=table.trials,
        trials_test=trials_test,
    )


def _frames(card):
    """The source's rows as tables (target column ``y`` for the built-in sets), split into
    training and test rows."""
    import pandas as pd

    spec = card.data
    source = spec["source"]

    def frame(X, y, names):
        return pd.DataFrame(X, columns=names).assign(y=y)

    test = None
    if source == "d2l":
        d = d2l_synthetic(seed=card.seed)
        names = [f"x{j}" for j in range(d.X_train.shape[1])]
        train, test = frame(d.X_train, d.y_train, names), frame(d.X_test, d.y_test, names)
    elif source in _SKLEARN_SETS:
        d = _SKLEARN_SETS[source](standardize=False)
        train = frame(d.X, d.y, d.feature_names)
    elif source == "toy-gap":
        d = toy_gap(n=spec.get("n", 100), n_test=spec.get("n_test", 200), seed=card.seed)
        train, test = frame(d.X_train, d.y_train, ["x"]), frame(d.X_test, d.y_test, ["x"])
    elif source.startswith("uci:"):
        s = load_uci(spec["_path"], split=spec.get("split", 0))
        names = [f"x{j}" for j in range(s.X_train.shape[1])]
        train, test = frame(s.X_train, s.y_train, names), frame(s.X_test, s.y_test, names)
    else:
        train = read_csv(spec["_path"])
    frac = spec.get("test_fraction", 0.0)
    if frac and test is None:
        cut = int(round(len(train) * (1 - frac)))
        train, test = train.iloc[:cut], train.iloc[cut:]
    return train, test


def read_csv(path: Path):
    """A CSV file as a table indexed by line number; a column of numbers must hold only
    numbers (or empty cells, which are missing values), other columns are categories."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise CardError(f"{path.name}: not a readable CSV file ({err})") from None
    if len(frame) == 0:
        raise CardError(f"{path}: needs a header row and at least one data row")
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="line")
    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column):
            numbers = pd.to_numeric(column, errors="coerce")
            text = column.notna() & numbers.isna()
            if numbers.notna().any() and text.any():
                line = text.idxmax()
                raise CardError(
                    f"{path.name} line {line}, column {name!r}: non-numeric value "
                    f"({column[line]!r}) in a column of numbers; fix the cell, or leave it "
                    "empty for a missing value"
                )
            continue
        bad = ~np.isfinite(column.to_numpy(float)) & column.notna().to_numpy()
        if bad.any():
            line = frame.index[np.argmax(bad)]
            raise CardError(
                f"{path.name} line {line}, column {name!r}: {column[line]} is not finite; "
                "every number must be finite"
            )
    return frame
