"""Values given one per feature: by position (a list in the design's order) or by name (a
mapping, a pandas Series labelled by feature, a DataArray over a labelled dim), and a prior's
put in the order of a design's features before anything is computed.

Nothing here imports pandas or xarray: a value of theirs exists only once they are imported.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import fields

import numpy as np

from bayes_reg import _validate

__all__ = ["by_name", "in_feature_order"]


def by_name(name: str, value) -> tuple[tuple | None, object]:
    """``(feature names, values)`` of a value given by feature name: a mapping, a pandas Series
    whose index is not the positions 0, 1, ..., or a 1-D DataArray whose dim has labels;
    ``(None, value)`` for anything else (pandas and xarray values exist only once imported)."""
    pd, xr = sys.modules.get("pandas"), sys.modules.get("xarray")
    if isinstance(value, Mapping):
        labels, value = tuple(value), list(value.values())
    elif pd is not None and isinstance(value, pd.Series):
        if value.index.equals(pd.RangeIndex(len(value))):
            return None, value
        labels, value = tuple(value.index), value.to_numpy()
    elif xr is not None and isinstance(value, xr.DataArray) and value.ndim == 1:
        if value.dims[0] not in value.coords:
            return None, value
        labels, value = tuple(value.coords[value.dims[0]].values.tolist()), value.values
    else:
        return None, value
    if not labels:
        raise ValueError(f"{name} names no feature")
    twice = _validate.repeated(labels)
    if twice:
        raise ValueError(f"{name} names {', '.join(twice)} more than once")
    return labels, value


def in_feature_order(prior, features: int | Sequence):
    """``prior`` with its per-feature values (a scale, a mean) in the order of ``features``:
    the number of features, or their names (a formula's categories and interactions make more
    columns than the table has, so the messages name them).

    Values by position must be one number, or one per feature. Values by name must name each
    feature once and no other; they come back by position, in the features' order. Every
    fitting function calls this before computing: a prior by name is never read by position.

    Examples
    --------
    >>> from bayes_reg import Gaussian
    >>> in_feature_order(Gaussian({"bmi": 10.0, "age": 1.0}), ["age", "bmi"])
    Gaussian(scale=array([ 1., 10.]))
    """
    n = features if isinstance(features, int) else len(features)
    values = {f.name: getattr(prior, f.name) for f in fields(prior)}
    if prior.names is None:
        for name, value in values.items():
            k = np.size(value)
            if np.ndim(value) > 0 and k != n:
                raise ValueError(
                    f"{prior!r} has {k} value{'s' if k > 1 else ''} of {name}, and "
                    f"{_described(features)}: give {name} as one number (the same for every "
                    "weight) or one per feature"
                )
        return prior
    if isinstance(features, int):
        raise ValueError(
            f"{prior!r} gives its values by feature name, and X's {n} columns have no names: "
            "give X as a pandas DataFrame, or feature_names="
        )
    named, wanted = set(prior.names), set(features)
    unknown = [name for name in prior.names if name not in wanted]
    missing = [name for name in features if name not in named]
    if unknown or missing:
        told = []
        if unknown:
            guessed = ", ".join(_with_guess(name, missing) for name in unknown)
            told.append(f"names {guessed} that the design does not have")
        if missing:
            told.append(f"leaves out {', '.join(map(repr, missing))}")
        raise ValueError(
            f"{prior!r} {', and '.join(told)}: name each feature once; {_described(features)}"
        )
    where = {name: i for i, name in enumerate(prior.names)}
    order = [where[name] for name in features]
    return type(prior)(**{k: np.asarray(v)[order] if np.ndim(v) else v for k, v in values.items()})


def _described(features: int | Sequence) -> str:
    if isinstance(features, int):
        return f"X has {features} columns"
    return f"the design has {len(features)} features ({', '.join(map(str, features))})"


def _with_guess(name, candidates) -> str:
    """``'bmii'``, with ``(did you mean 'bmi'?)`` where a candidate is spelt much the same."""
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1)
    return f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)
