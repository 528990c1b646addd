"""The ArviZ ``DataTree`` of a linear model's draws, laid out as ArviZ lays it out.

Groups ``posterior``, ``sample_stats``, ``log_likelihood`` and ``posterior_predictive``
(computed when first read: :mod:`bayes_reg.inference.deferred`), ``observed_data`` and
``constant_data``; built from xarray variables directly, with coordinates shared by every fit
of one shape, since a repeat fit of a small model spends most of its time outside sampling
here otherwise.
"""

from __future__ import annotations

import functools

import arviz_base
import jax
import numpy as np
import xarray as xr
from numpyro.infer import Predictive
from numpyro.infer.util import log_likelihood

from bayes_reg.inference import _program
from bayes_reg.inference.deferred import Deferred
from bayes_reg.linear.names import DISCRETE
from bayes_reg.linear.predict import model_attrs
from bayes_reg.linear.regression import linear_regression

__all__ = ["posterior_tree"]

_DIMS = {
    "X": ["obs", "feature"],
    "y": ["obs"],
    "sample_weight": ["obs"],
    "trials": ["obs"],
    "w": ["feature"],
    "w_z": ["feature"],
    "w_mix": ["feature"],
}


def posterior_tree(model, samples, sample_stats, X, y, names, key, model_kwargs, attrs):
    """The ArviZ DataTree of a run. Its log likelihood and posterior predictive are computed
    when first read (:mod:`bayes_reg.inference.deferred`): a repeat fit of a small model
    would otherwise spend as long drawing them as sampling."""
    chains, draws = next(iter(samples.values())).shape[:2]
    discrete = model_kwargs.get("likelihood") in DISCRETE
    predictive = _deferred_predictive(model, samples, X, y, key, model_kwargs, discrete)
    coords = functools.partial(_coordinates, chains, draws, tuple(names), X.shape[0])
    created = arviz_base.make_attrs()
    draws_of = functools.partial(_dataset, coords=coords, attrs=created)
    data_of = functools.partial(draws_of, sample_dims=())
    per_row = ("chain", "draw", "obs")
    # Counts and classes as integers: ArviZ's discrete checks (calibration, rootogram) read
    # the dtype to know the data are discrete.
    observed = y.astype(int) if discrete else y
    groups = {
        "posterior": draws_of(samples),
        "sample_stats": draws_of(sample_stats),
        "log_likelihood": draws_of({"y": predictive.variable(0, per_row)}),
        "posterior_predictive": draws_of({"y": predictive.variable(1, per_row)}),
        "observed_data": data_of({"y": observed}),
        "constant_data": data_of({"X": X} | _per_row_given(model_kwargs)),
    }
    # (DataTree.from_dict would take twice as long: it copies each group's attributes deeply.)
    tree = xr.DataTree(children={name: xr.DataTree(group) for name, group in groups.items()})
    if model is linear_regression:
        attrs = attrs | model_attrs(
            model_kwargs.get("likelihood", "gaussian"),
            model_kwargs.get("df", 4.0),
            model_kwargs.get("sigma"),
        )
    tree.attrs.update(attrs)
    tree["posterior"].attrs.update(attrs)
    return tree


def _per_row_given(model_kwargs) -> dict:
    """The model's per-row inputs besides ``X``, where given: sample weights, trials."""
    given = {name: model_kwargs.get(name) for name in ("sample_weight", "trials")}
    return {name: np.asarray(value) for name, value in given.items() if value is not None}


@functools.lru_cache(maxsize=128)
def _coordinates(chains: int, draws: int, names: tuple, n_obs: int, dims: frozenset):
    """The coordinates of a tree's ``dims``, shared by the trees of every fit of this shape:
    their pandas indexes are immutable (read-only values), and building them for every fit
    took 0.8 of the 5.5 ms a repeat diabetes fit spent outside sampling."""
    every = {
        "chain": np.arange(chains),
        "draw": np.arange(draws),
        "feature": list(names),
        "obs": np.arange(n_obs),
    }
    return xr.Coordinates({dim: values for dim, values in every.items() if dim in dims})


def _dataset(values: dict, *, coords, attrs, sample_dims=("chain", "draw")) -> xr.Dataset:
    """One group of a tree laid out as ``arviz_base.dict_to_dataset`` lays it out (the dims
    of ``_DIMS``, ``{name}_dim_{i}`` for others, integer coordinates where ``coords(dims)``
    has none), built from xarray variables directly: a third of the time, which is most of
    what a repeat fit of a small model spends outside sampling."""
    variables = {}
    for name, value in values.items():
        if not isinstance(value, xr.Variable):
            named = _DIMS.get(name, [])
            extra = range(len(sample_dims) + len(named), np.ndim(value))
            dims = (*sample_dims, *named, *(f"{name}_dim_{i - len(sample_dims)}" for i in extra))
            value = xr.Variable(dims, value)
        variables[name] = value
    sizes = {dim: n for v in variables.values() for dim, n in v.sizes.items()}
    own = coords(frozenset(sizes))
    group = xr.Dataset(variables, coords=own, attrs=attrs | {"sample_dims": list(sample_dims)})
    generated = {dim: np.arange(n) for dim, n in sizes.items() if dim not in own.dims}
    return group.assign_coords(generated) if generated else group


def _deferred_predictive(model, samples, X, y, key, model_kwargs, discrete) -> Deferred:
    """Pointwise log likelihood and posterior-predictive draws, (chain, draw, obs) each,
    computed when first read."""
    chains, draws = next(iter(samples.values())).shape[:2]
    predictive_kwargs = model_kwargs
    if model is linear_regression:
        # The draws hold w itself: replay them through the direct parametrization. ("auto"
        # would choose centring from y, and y is None when the predictive draws new data.)
        predictive_kwargs = model_kwargs | {"parametrization": "direct"}
    dynamic, static = _program.split_kwargs(predictive_kwargs)
    shape = (chains, draws, X.shape[0])

    def compute():
        flat = {k: v.reshape(chains * draws, *v.shape[2:]) for k, v in samples.items()}
        log_lik, y_rep = _predictive_program(model, static)(key, flat, X, y, dynamic)
        return np.reshape(log_lik, shape), np.reshape(y_rep, shape)

    real = jax.dtypes.canonicalize_dtype(np.float64)
    return Deferred(compute, [(shape, real), (shape, int if discrete else real)])


@functools.lru_cache(maxsize=32)
def _predictive_program(model, static):
    """Pointwise log likelihood and posterior-predictive draws, compiled once per model."""

    @jax.jit
    def run(key, samples, X, y, dynamic):
        kwargs = dynamic | dict(static)
        log_lik = log_likelihood(model, samples, X, y, **kwargs)["y"]
        y_rep = Predictive(model, samples, return_sites=["y"])(key, X, None, **kwargs)["y"]
        return log_lik, y_rep

    return run
