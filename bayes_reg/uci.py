"""UCI regression sets in the split format of the MC-dropout experiments.

A directory holds ``data.txt`` (whitespace separated), ``index_features.txt`` and
``index_target.txt`` (0-based columns), and ``index_train_K.txt`` / ``index_test_K.txt``
(0-based rows) for each split ``K``, with ``n_splits.txt`` giving their number.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["UCI_DIR", "UCISplit", "load_uci"]

#: The UCI sets shipped with the package (``yacht``, ``concrete``), one directory each.
UCI_DIR = Path(__file__).parent / "datasets" / "uci"


class UCISplit(NamedTuple):
    """One train/test split of a UCI set, in original units."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_splits: int


def _ints(path: Path) -> np.ndarray:
    return np.atleast_1d(np.loadtxt(path, dtype=int))


def load_uci(directory: str | Path, split: int = 0) -> UCISplit:
    """Load split ``split`` of a UCI-format directory.

    Raises
    ------
    FileNotFoundError
        Naming the missing file.
    ValueError
        For a split out of range, indices outside the data, or non-finite values.
    """
    d = Path(directory)
    for name in ("data.txt", "index_features.txt", "index_target.txt", "n_splits.txt"):
        if not (d / name).is_file():
            raise FileNotFoundError(f"{d / name} is missing: a UCI-format directory needs it")
    n_splits = int(np.loadtxt(d / "n_splits.txt"))
    if not 0 <= split < n_splits:
        raise ValueError(f"split must lie in [0, {n_splits - 1}] for {d}, got {split}")
    data = np.loadtxt(d / "data.txt", ndmin=2)
    features, target = _ints(d / "index_features.txt"), int(np.loadtxt(d / "index_target.txt"))
    train, test = _ints(d / f"index_train_{split}.txt"), _ints(d / f"index_test_{split}.txt")
    n, p = data.shape
    if max(features.max(), target) >= p or min(features.min(), target) < 0:
        raise ValueError(f"{d}: column indices must lie in [0, {p - 1}]")
    if max(train.max(), test.max()) >= n or min(train.min(), test.min()) < 0:
        raise ValueError(f"{d}: split {split} has row indices outside [0, {n - 1}]")
    if not np.isfinite(data).all():
        raise ValueError(f"{d / 'data.txt'} has NaN or infinite values")
    X, y = data[:, features], data[:, target]
    return UCISplit(X[train], y[train], X[test], y[test], n_splits)
