"""Arrays of an ArviZ tree that are computed when first read.

A repeat NUTS fit of a small model runs in tens of milliseconds, and drawing its posterior
predictive and pointwise log likelihood (chains x draws x rows values each) cost as much
again, for groups that many callers never read. A tree can hold such arrays as xarray's
lazy backend arrays (the pattern of xarray's own file backends,
``indexing.LazilyIndexedArray`` over a ``BackendArray``): the shape and dtype are known at
once, and the values are computed on the first read of any of them (``.values``, a
reduction, ``arviz_stats.loo``, a NetCDF write), once for all the outputs of one
computation. A pickled or deep-copied array carries its values, never the computation
(which holds compiled programs and device arrays), so a result still travels to another
process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

__all__ = ["Deferred"]


class Deferred:
    """The arrays ``compute()`` returns, of the given shapes and dtypes, computed once, when
    one of them is first read.

    Examples
    --------
    >>> calls = []
    >>> later = Deferred(lambda: calls.append(1) or (np.arange(3.0),), [((3,), np.float64)])
    >>> da = later.variable(0, ("obs",))
    >>> calls
    []
    >>> float(da.values.sum()), calls
    (3.0, [1])
    """

    def __init__(self, compute: Callable[[], Sequence], specs: Sequence[tuple[tuple, type]]):
        self._compute = compute
        self._specs = [(tuple(shape), np.dtype(dtype)) for shape, dtype in specs]
        self._values: tuple[np.ndarray, ...] | None = None
        self._lock = threading.Lock()

    def values(self) -> tuple[np.ndarray, ...]:
        """Every output, computed on the first call (in whichever thread asks first)."""
        with self._lock:
            if self._values is None:
                outputs = self._compute()
                values = []
                for out, (shape, dtype) in zip(outputs, self._specs, strict=True):
                    value = np.asarray(out, dtype=dtype)
                    if value.shape != shape:
                        raise ValueError(f"deferred output has shape {value.shape}, not {shape}")
                    values.append(value)
                self._values, self._compute = tuple(values), None
        return self._values

    def variable(self, index: int, dims: Sequence[str]) -> xr.Variable:
        """Output ``index`` as a lazy ``xarray.Variable`` with dimensions ``dims``."""
        shape, dtype = self._specs[index]
        return xr.Variable(dims, indexing.LazilyIndexedArray(_Output(self, index, shape, dtype)))


class _Output(BackendArray):
    """One output of a :class:`Deferred`, indexed like any xarray backend array."""

    __slots__ = ("deferred", "dtype", "index", "shape")

    def __init__(self, deferred: Deferred, index: int, shape: tuple, dtype: np.dtype):
        self.deferred, self.index, self.shape, self.dtype = deferred, index, shape, dtype

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._basic_getitem
        )

    def _basic_getitem(self, key: tuple) -> np.ndarray:
        return self.deferred.values()[self.index][key]

    def __reduce__(self):
        # Pickles and deep copies take the values: the computation stays in this process.
        return (_computed, (self.deferred.values()[self.index],))


def _computed(value: np.ndarray) -> _Output:
    """An output whose values are already known (what an unpickled one becomes)."""
    known = Deferred(None, [(value.shape, value.dtype)])
    known._values = (value,)
    return _Output(known, 0, value.shape, value.dtype)
