"""The numbers of ``summary.json``: plain, strict JSON (a number that does not exist is
null), diagnostics, metrics, versions."""

from __future__ import annotations

import json
import platform
from dataclasses import fields
from importlib.metadata import version

import numpy as np
import xarray as xr

__all__ = [
    "diagnostics_json",
    "floats",
    "path_metrics",
    "prior_json",
    "spread",
    "strict_json",
    "versions",
]


def spread(values) -> dict:
    return {
        "min": float(np.min(values)),
        "median": float(np.median(values)),
        "max": float(np.max(values)),
    }


def diagnostics_json(d) -> dict:
    return {
        "max_rhat": d.max_rhat,
        "min_ess_bulk": d.min_ess_bulk,
        "min_ess_tail": d.min_ess_tail,
        "divergences": d.divergences,
        "tree_depth_hits": d.max_tree_depth_hits,
        "min_bfmi": d.min_bfmi,
        "problems": list(d.problems),
    }


def strict_json(value) -> str:
    """``value`` as strict JSON (RFC 8259): a number that does not exist (NaN, ±inf) is null."""
    return json.dumps(_plain(value), indent=2, allow_nan=False)


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def floats(da) -> list[float]:
    return [float(v) for v in np.asarray(da).ravel()]


def design_json(data) -> dict:
    """How the table became the design matrix: formula, features, standardising, dropped rows."""
    design = data.design
    return {
        "formula": f"{design.target} ~ {design.formula}",
        "features": list(design.features),
        "standardized": design.standardized,
        "dropped_rows": [str(r) for r in data.dropped],
    }


def prior_json(prior) -> dict:
    """The family and its numbers (a list where there is one per feature)."""
    return {"family": prior.family} | {
        f.name: _number(getattr(prior, f.name)) for f in fields(prior)
    }


def intercept_json(intercept) -> bool | dict:
    """``false`` (none), or the intercept's prior (``flat`` for the default)."""
    if intercept is False:
        return False
    return {"family": "flat"} if intercept is True else prior_json(intercept)


def _number(value):
    return float(value) if np.ndim(value) == 0 else [float(v) for v in value]


def noise_json(noise) -> float | dict | None:
    """A known noise as its number, a noise prior as ``{"prior": name, <parameters>}``: the
    card's own ``[model] sigma``; ``None`` for a likelihood without noise."""
    if noise is None:
        return None
    if noise.known:
        return float(noise.sigma)
    return {"prior": noise.name} | {k: float(v) for k, v in vars(noise).items()}


def path_metrics(comparison: xr.Dataset) -> dict:
    keys = [
        k
        for k in (
            "rel_dist_map",
            "mahalanobis",
            "share_inside",
            "test_loss_sgd",
            "test_loss_map",
            "test_loss_post_mean",
            "test_lppd",
            "n_zero_sgd",
            "n_zero_map",
            "n_zero_post_median",
        )
        if k in comparison
    ]
    return {"strength": comparison.strength.values.tolist()} | {
        k: comparison[k].values.tolist() for k in keys
    }


def versions() -> dict:
    import arviz
    import jax
    import numpyro
    import optax

    return {
        "bayes_reg": version("bayes-reg"),
        "jax": jax.__version__,
        "numpyro": numpyro.__version__,
        "optax": optax.__version__,
        "arviz": arviz.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
