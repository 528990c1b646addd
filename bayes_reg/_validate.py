"""Input checks shared by every public entry point.

Each check raises :class:`ValueError` (or :class:`TypeError`) with a message that names
the argument, the value it got and the rule it broke, so the caller knows what to fix.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Sequence

import numpy as np


class UninformedWarning(UserWarning):
    """A parameter of the model that the data say nothing of: its posterior is its prior.
    (``warnings.filterwarnings("ignore", category=UninformedWarning)`` silences it.)"""


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}... ({len(text)} characters)"


def number(name: str, value) -> float:
    """Return ``value`` as a float (maybe NaN or inf); bools, strings and arrays are refused."""
    if isinstance(value, bool | str | bytes):
        raise TypeError(f"{name} must be a number, got {_short(value)}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} must be finite, got {_short(value)}") from None
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {_short(value)}") from None


def positive(name: str, value, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float after checking it is finite and > 0 (or >= 0)."""
    x = number(name, value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if allow_zero and x < 0:
        raise ValueError(f"{name} must be >= 0, got {x}")
    if not allow_zero and x <= 0:
        raise ValueError(f"{name} must be > 0, got {x}")
    return x


def positive_int(name: str, value) -> int:
    """Return ``value`` as an int after checking it is a whole number >= 1."""
    return integer(name, value, minimum=1)


def integer(name: str, value, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int after checking it is a whole number (>= ``minimum``)."""
    try:
        whole = not isinstance(value, bool | str | bytes) and float(value).is_integer()
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole:
        raise TypeError(f"{name} must be a whole number, got {_short(value)}")
    n = int(value)
    if minimum is not None and n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    return n


def fraction(name: str, value, *, low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a float after checking it lies in [0, 1] (ends open on request)."""
    x = number(name, value)
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


def design(
    X, y=None, *, min_rows: int = 2, names: tuple[str, str] = ("X", "y")
) -> tuple[np.ndarray, np.ndarray | None]:
    """Check a design matrix (and target) and return them as float arrays.

    ``X`` must be 2-D with at least ``min_rows`` rows and one column, ``y`` 1-D with one
    entry per row; both finite, returned in one float dtype (the wider of the two).
    ``names`` are the argument names used in messages
    (``("X_test", "y_test")`` for a held-out set).
    """
    x_name, y_name = names
    X = _numeric(x_name, X)
    if X.ndim != 2:
        raise ValueError(f"{x_name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[1] < 1:
        raise ValueError(f"{x_name} has no columns: it needs at least one feature")
    if X.shape[0] < min_rows:
        raise ValueError(f"{x_name} has {X.shape[0]} rows; at least {min_rows} are needed")
    _finite(x_name, X)
    if y is None:
        return X, None
    y = _numeric(y_name, y)
    if y.ndim != 1:
        raise ValueError(f"{y_name} must be 1-D (n_samples,), got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{x_name} has {X.shape[0]} rows but {y_name} has {y.shape[0]}")
    _finite(y_name, y)
    # One float type for both (the wider), so no solver mixes float32 and float64.
    dtype = np.result_type(X.dtype, y.dtype)
    return X.astype(dtype, copy=False), y.astype(dtype, copy=False)


def held_out(X_test, y_test, n_features: int, *, names=("X_test", "y_test")):
    """Check an optional held-out set: both or neither, and as many columns as ``X``."""
    x_name, y_name = names
    if (X_test is None) != (y_test is None):
        raise ValueError(f"{x_name} and {y_name} must be given together (or both left out)")
    if X_test is None:
        return None, None
    X_test, y_test = design(X_test, y_test, min_rows=1, names=names)
    if X_test.shape[1] != n_features:
        raise ValueError(f"{x_name} has {X_test.shape[1]} columns but X has {n_features}")
    return X_test, y_test


def inputs(X, n_features: int, *, name: str = "X") -> np.ndarray:
    """Check inputs to predict at: 2-D, finite, with the training set's number of columns."""
    X, _ = design(X, min_rows=1, names=(name, "y"))
    if X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} columns but the model was fit on {n_features}")
    return X


def grid(name: str, values, *, allow_zero: bool) -> np.ndarray:
    """Return ``values`` as a non-empty 1-D float array, every entry finite and > 0 (>= 0)."""
    try:
        s = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numbers, got {_short(values)}") from None
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {s.shape}")
    bad = ~(np.isfinite(s) & ((s >= 0) if allow_zero else (s > 0)))
    if bad.any():
        i = int(np.argmax(bad))
        rule = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {rule}, got {s[i]} at index {i}")
    return s


def vector(name: str, value, size: int) -> np.ndarray:
    """Return ``value`` as a finite 1-D float array of ``size`` entries."""
    a = _numeric(name, value)
    if a.shape != (size,):
        raise ValueError(
            f"{name} must have shape ({size},) (one entry per column of X), got {a.shape}"
        )
    _finite(name, a)
    return a


def sample_weight(value, n_rows: int) -> np.ndarray | None:
    """``None``, or one finite weight >= 0 per row, not all 0, as a float array."""
    if value is None:
        return None
    w = _numeric("sample_weight", value)
    if w.shape != (n_rows,):
        raise ValueError(
            f"sample_weight must have shape ({n_rows},) (one weight per row), got {w.shape}"
        )
    _finite("sample_weight", w)
    if (w < 0).any():
        i = int(np.argmax(w < 0))
        raise ValueError(f"sample_weight must be >= 0, got {w[i]} at row {i}")
    if not w.any():
        raise ValueError("sample_weight is zero for every row: no row would inform the fit")
    return w


def trials(value, n_rows: int, *, fitted: bool = True) -> np.ndarray | None:
    """``None``, or the trials of a binomial or beta-binomial: one whole number >= 0 per row
    (one number for every row), not all 0 where the rows are ``fitted`` (a new row of 0 trials
    has 0 successes to predict), as a float array of shape ``(n_rows,)``."""
    if value is None:
        return None
    t = _numeric("trials", value)
    if t.ndim == 0:
        t = np.full(n_rows, t)
    if t.shape != (n_rows,):
        raise ValueError(
            f"trials must have shape ({n_rows},) (one number of trials per row) or be one "
            f"number, got {t.shape}"
        )
    _finite("trials", t)
    bad = (t < 0) | (t != np.round(t))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"trials must be whole numbers >= 0, got {t[i]} at row {i}")
    if fitted and not t.any():
        raise ValueError("trials are zero for every row: no row would inform the fit")
    return t.astype(float)


def informative(X: np.ndarray, y: np.ndarray, what: str) -> None:
    """Refuse data on which ``what`` is undefined: a constant ``y``, or only constant columns.

    After centring (the intercept absorbs constants) either leaves nothing to fit.
    """
    if np.ptp(y) == 0:
        raise ValueError(f"y is constant (every value {y[0]}): {what} is undefined")
    constant = np.flatnonzero(np.ptp(X, axis=0) == 0)
    if constant.size == X.shape[1]:
        cols = ", ".join(map(str, constant[:10])) + (", ..." if constant.size > 10 else "")
        raise ValueError(
            f"every column of X is constant (columns {cols}): nothing is left to fit once"
            f" the intercept absorbs them, so {what} is undefined"
        )


def _numeric(name: str, a) -> np.ndarray:
    given = a
    try:
        a = np.asarray(a)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a rectangular numeric array: {err}") from None
    if a.dtype == object and hasattr(given, "dtypes"):  # a pandas table or column
        a = _table_numbers(name, given)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {a.dtype}")
    # Row-major, whatever the caller's layout (a DataFrame's block is column-major): NumPy's
    # products then sum in one order, so a table and its array give the same bits.
    return np.asarray(a, dtype=np.result_type(a.dtype, np.float32), order="C")


def _table_numbers(name: str, table) -> np.ndarray:
    """A pandas table or column that NumPy reads as objects: its nullable numbers (``Int64``,
    ``Float64``; a missing value becomes NaN, refused next by position) as floats, or the
    columns that do not hold numbers named."""
    from pandas.api.types import is_numeric_dtype

    if not hasattr(table, "columns"):  # a column
        if not is_numeric_dtype(table.dtype):
            raise TypeError(f"{name} must be numeric, got dtype {table.dtype}")
        return table.to_numpy(dtype=float, na_value=np.nan)
    other = [str(column) for column, dtype in table.dtypes.items() if not is_numeric_dtype(dtype)]
    if other:
        raise TypeError(
            f"{name} must be numeric, and its column(s) {', '.join(other[:5])} are not; a table "
            "with text or categories reads through a formula: bayes_reg.fit('y ~ ...', frame)"
        )
    return table.to_numpy(dtype=float, na_value=np.nan)


def _finite(name: str, a: np.ndarray) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be finite: {int(bad.sum())} NaN or infinite value(s), "
            f"the first at index {where}"
        )


def finite_result(what: str, hint: str, *arrays) -> None:
    """Refuse to hand back a NaN or infinite result: say what overflowed and what to change."""
    if not all(np.isfinite(np.asarray(a)).all() for a in arrays):
        raise ValueError(f"{what} is not finite in floating point: {hint}")


def require_x64(what: str) -> None:
    """Refuse to run an exact solver in float32, where its answer can be silently wrong.

    Importing bayes_reg turns JAX's 64-bit mode on; this catches a caller who turned it off.
    """
    import jax

    if not jax.config.jax_enable_x64:
        raise RuntimeError(
            f"{what} needs 64-bit floats, but JAX's x64 mode is off (jax_enable_x64=False): in "
            "float32 an ill-conditioned design gives wrong answers without warning. Turn it "
            'back on with jax.config.update("jax_enable_x64", True) before calling it.'
        )


def key(seed):
    """A JAX random key from a seed (a whole number >= 0), or the key itself if given one.

    Every public entry point that draws random numbers calls this once; inside, keys are
    split, never made again from a seed.
    """
    import jax

    if isinstance(seed, jax.Array) and jax.dtypes.issubdtype(seed.dtype, jax.dtypes.prng_key):
        return seed
    return _compiled_key()(integer("seed", seed, minimum=0))


@functools.cache
def _compiled_key():
    """``jax.random.key``, compiled: the same key, in one dispatch instead of several eager
    ones (0.4 against 0.04 ms, a tenth of what a repeat fit of a small model spends outside
    sampling)."""
    import jax

    return jax.jit(jax.random.key)


def positives(name: str, value):
    """A float > 0, or a 1-D float array of them (one per feature); finite."""
    if np.ndim(value) == 0:
        return positive(name, value)
    a = _numeric(name, value)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a number or a 1-D list of numbers, got shape {a.shape}")
    bad = ~(np.isfinite(a) & (a > 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} must be finite and > 0, got {a[i]} at index {i}")
    return a.astype(float)


def numbers(name: str, value):
    """A finite float, or a finite 1-D float array (one per feature)."""
    if np.ndim(value) == 0:
        x = number(name, value)
        if not math.isfinite(x):
            raise ValueError(f"{name} must be finite, got {x}")
        return x
    a = _numeric(name, value)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a number or a 1-D list of numbers, got shape {a.shape}")
    _finite(name, a)
    return a.astype(float)


def feature_names(names, n_columns: int) -> list:
    """``names`` as a list: one per column of X, no two alike (they label the posterior's
    ``feature`` coordinate, which selects by name)."""
    names = list(names)
    if len(names) != n_columns:
        raise ValueError(f"feature_names has {len(names)} entries but X has {n_columns} columns")
    twice = repeated(names)
    if twice:
        raise ValueError(f"feature_names must differ; {', '.join(twice)} come(s) more than once")
    return names


def repeated(names) -> list[str]:
    """The names that come more than once, as sorted strings (one pass)."""
    return sorted(str(n) for n, k in Counter(names).items() if k > 1)


def table_names(X, feature_names=None):
    """``feature_names``, or where none are given a DataFrame's column names (as scikit-learn
    takes them); ``None`` for an array without names."""
    if feature_names is None and hasattr(X, "columns"):
        return [str(c) for c in X.columns]
    return feature_names
