"""Input checks shared by every public entry point.

Each check raises :class:`ValueError` (or :class:`TypeError`) with a message that names
the argument, the value it got and the rule it broke, so the caller knows what to fix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def positive(name: str, value, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float after checking it is finite and > 0 (or >= 0)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if allow_zero and x < 0:
        raise ValueError(f"{name} must be >= 0, got {x}")
    if not allow_zero and x <= 0:
        raise ValueError(f"{name} must be > 0, got {x}")
    return x


def positive_int(name: str, value) -> int:
    """Return ``value`` as an int after checking it is a whole number >= 1."""
    try:
        whole = not isinstance(value, bool) and float(value).is_integer()
    except (TypeError, ValueError):
        whole = False
    if not whole:
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    n = int(value)
    if n < 1:
        raise ValueError(f"{name} must be >= 1, got {n}")
    return n


def fraction(name: str, value, *, low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a float after checking it lies in [0, 1] (ends open on request)."""
    x = float(value)
    lo_ok = x > 0 if low_open else x >= 0
    hi_ok = x < 1 if high_open else x <= 1
    if not (math.isfinite(x) and lo_ok and hi_ok):
        interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
        raise ValueError(f"{name} must lie in {interval}, got {x}")
    return x


def one_of(name: str, value: str, allowed: Sequence[str]) -> str:
    """Check that ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(allowed)}")
    return value


def design(X, y=None, *, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray | None]:
    """Check a design matrix (and target) and return them as float arrays.

    ``X`` must be 2-D with at least ``min_rows`` rows and one column, ``y`` 1-D with one
    entry per row; both finite.
    """
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X must be numeric, got dtype {X.dtype}")
    X = X.astype(np.result_type(X.dtype, np.float32))
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[1] < 1:
        raise ValueError("X has no columns: it needs at least one feature")
    if X.shape[0] < min_rows:
        raise ValueError(f"X has {X.shape[0]} rows; at least {min_rows} are needed")
    _finite("X", X)
    if y is None:
        return X, None
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"y must be numeric, got dtype {y.dtype}")
    y = y.astype(np.result_type(y.dtype, np.float32))
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_samples,), got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
    _finite("y", y)
    return X, y


def _finite(name: str, a: np.ndarray) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be finite: {int(bad.sum())} NaN or infinite value(s), "
            f"the first at index {where}"
        )
