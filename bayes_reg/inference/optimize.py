"""Minimising a log density's negative (a potential) with L-BFGS, the mode finder of every
model: the MAP of :func:`bayes_reg.inference.mode.map_model` and the centre of the Laplace
approximation, with :func:`model_problem` compiling them once per NumPyro model and shape."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree
from numpyro.distributions.transforms import biject_to
from numpyro.handlers import seed, substitute, trace
from numpyro.infer.initialization import init_to_uniform
from numpyro.infer.util import initialize_model, potential_energy, transform_fn

from bayes_reg.inference._program import split_kwargs

__all__ = ["NO_FINITE_MODE", "ModelProblem", "ModelSolver", "lbfgs", "model_problem"]

#: Where L-BFGS ends on NaN: the log density rose along a direction without end.
NO_FINITE_MODE = (
    "L-BFGS ended away from any finite mode (an improper posterior: a direction along which "
    "the log density keeps rising)"
)


def lbfgs(potential, max_steps: int = 10_000, gtol: float = 1e-10):
    """``solve(x0, free, *args, steps=max_steps)``: L-BFGS on ``potential(x, *args)`` moving
    only the coordinates in ``free``, for at most ``steps`` iterations.

    ``args`` and ``steps`` are traced inputs of the compiled program: new data of the same
    shapes, or another cap, reuse it. With the gradient zero outside ``free``, every L-BFGS
    direction (a combination of past gradients and steps) is zero there too, so those
    coordinates keep their starting values.
    """
    opt = optax.lbfgs()

    @jax.jit
    def run(x0, free, steps, *args):
        def at(x):
            return potential(x, *args)

        value_and_grad = optax.value_and_grad_from_state(at)

        def step(carry):
            x, state, _, k = carry
            value, grad = value_and_grad(x, state=state)
            grad = jnp.where(free, grad, 0.0)
            updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=at)
            return optax.apply_updates(x, updates), state, jnp.linalg.norm(grad), k + 1

        def not_done(carry):
            *_, gnorm, k = carry
            return (gnorm > gtol) & (k < steps)

        carry = (x0, opt.init(x0), jnp.asarray(jnp.inf, x0.dtype), 0)
        return jax.lax.while_loop(not_done, step, carry)[0]

    def solve(x0, free, *args, steps: int = max_steps):
        return run(x0, free, steps, *args)

    return solve


class ModelSolver(NamedTuple):
    """A NumPyro model's potential in the unconstrained space, flattened, its L-BFGS
    (``solve(x0, free, *inputs, steps=...)``, :func:`lbfgs`), its gradient at each row of a batch of
    points (``gradients(xs, *inputs)``) and its Hessian; each compiled, each taking the flat
    point(s) and then the ``inputs`` of its :class:`ModelProblem`."""

    solve: Callable
    potential: Callable
    gradients: Callable
    hessian: Callable


class ModelProblem(NamedTuple):
    """A NumPyro model's mode-finding problem: its :class:`ModelSolver` and the ``inputs``
    its functions take after ``x``, the flat unconstrained starting point, the names of the
    latent sites, and ``constrain``, which maps flat unconstrained points, shape ``(..., d)``,
    to the value of every site (latent and deterministic) in its support."""

    solver: ModelSolver
    inputs: tuple
    start: jax.Array
    latent: tuple[str, ...]
    constrain: Callable


def model_problem(
    model, key: jax.Array, args: tuple, kwargs: dict, max_steps: int, gtol: float
) -> ModelProblem:
    """The :class:`ModelProblem` of ``model(*args, **kwargs)``, started where NumPyro's
    ``initialize_model`` starts with ``key`` (``init_to_uniform``) when its first try is valid.

    Compiled once per model, fixed keyword arguments (strings, flags) and shapes: the data,
    priors and noise are traced, so a repeat fit (a cross-validation fold, a grid of
    strengths) does not recompile. The start is compiled too: run eagerly, NumPyro's
    ``initialize_model`` compiled dozens of one-operation programs on every new shape (0.9 s
    of a logistic Laplace fit's 2 s) and took half of a repeat fit's 45 ms.
    A model that NumPyro prepares before taking its potential (discrete latent sites it
    enumerates, ``param`` sites it substitutes), or whose first try is not a valid start,
    gets NumPyro's eager path, which searches further and raises NumPyro's own error where
    no start is valid.
    """
    dynamic, static = split_kwargs(kwargs)
    compiled = _compiled_model(model, static)
    z, flat, valid, prepared = compiled.start(key, args, dynamic)
    if prepared or not valid:
        return _eager_problem(model, key, args, kwargs, max_steps, gtol)
    inputs = (z, args, dynamic)
    return ModelProblem(
        _model_solver(model, static, max_steps, gtol),
        inputs,
        flat,
        tuple(z),
        lambda x: compiled.constrain(x, key, *inputs),
    )


class _CompiledModel(NamedTuple):
    start: Callable
    constrain: Callable


@functools.lru_cache(maxsize=32)
def _compiled_model(model, static: tuple) -> _CompiledModel:
    fixed = dict(static)

    def info(key, args, dynamic):
        return initialize_model(
            key, model, model_args=args, model_kwargs=dynamic | fixed, dynamic_args=True
        )

    @jax.jit
    def start(key, args, dynamic):
        # NumPyro's first try, without its search loop (compiled with the model's gradient,
        # the loop was as costly to compile as the L-BFGS itself): uniform draws in
        # (-2, 2) on the unconstrained scale, one key per site in the trace's order, as
        # find_valid_initial_params draws them; valid where the potential and its gradient
        # are finite.
        kwargs = dynamic | fixed
        sites = trace(substitute(seed(model, key), substitute_fn=init_to_uniform)).get_trace(
            *args, **kwargs
        )
        prepared = any(_prepared(site) for site in sites.values())
        latent = {
            name: site
            for name, site in sites.items()
            if site["type"] == "sample"
            and not site["is_observed"]
            and not site["fn"].support.is_discrete
        }
        # The sites' unconstrained values at the trace: only their shapes are read.
        prototype = transform_fn(
            {name: biject_to(site["fn"].support) for name, site in latent.items()},
            {name: site["value"] for name, site in latent.items()},
            invert=True,
        )
        draws, (key, subkey) = {}, jax.random.split(key)
        for name, value in prototype.items():
            draws[name] = jax.random.uniform(subkey, jnp.shape(value), minval=-2.0, maxval=2.0)
            key, subkey = jax.random.split(key)
        energy, grad = jax.value_and_grad(lambda z: potential_energy(model, args, kwargs, z))(draws)
        valid = jnp.isfinite(energy) & jnp.all(jnp.isfinite(ravel_pytree(grad)[0]))
        return draws, ravel_pytree(draws)[0], valid, prepared

    @jax.jit
    def constrain(x, key, z, args, dynamic):
        # The transforms come from NumPyro's model trace; the search for a start that traces
        # with them is unused here and compiled away.
        postprocess = info(key, args, dynamic).postprocess_fn(*args, **(dynamic | fixed))
        _, unravel = ravel_pytree(z)
        return _each_point(lambda v: postprocess(unravel(v)), x)

    return _CompiledModel(start, constrain)


def _eager_problem(model, key, args, kwargs, max_steps, gtol) -> ModelProblem:
    info = initialize_model(key, model, model_args=args, model_kwargs=kwargs, dynamic_args=True)
    potential_fn = info.potential_fn(*args, **kwargs)
    postprocess = info.postprocess_fn(*args, **kwargs)
    flat0, unravel = ravel_pytree(info.param_info.z)

    def potential(x):
        return potential_fn(unravel(x))

    def constrain(x):
        return _each_point(lambda v: postprocess(unravel(v)), x)

    return ModelProblem(
        _solver(potential, max_steps, gtol), (), flat0, tuple(info.param_info.z), constrain
    )


def _each_point(fn, x):
    """``fn`` of one flat point at every point of ``x``, shape ``(..., d)``."""
    values = jax.vmap(fn)(x.reshape(-1, x.shape[-1]))
    return jax.tree.map(lambda v: v.reshape(x.shape[:-1] + v.shape[1:]), values)


def _prepared(site) -> bool:
    """Whether NumPyro changes the model at this site before taking its potential."""
    discrete = (
        site["type"] == "sample" and not site["is_observed"] and site["fn"].support.is_discrete
    )
    return discrete or site["type"] in ("param", "mutable")


@functools.lru_cache(maxsize=32)
def _model_solver(model, static: tuple, max_steps: int, gtol: float) -> ModelSolver:
    fixed = dict(static)

    def potential(x, z, args, dynamic):
        _, unravel = ravel_pytree(z)  # z: the starting point, whose layout x has
        return potential_energy(model, args, dynamic | fixed, unravel(x))

    return _solver(potential, max_steps, gtol)


def _solver(potential, max_steps: int, gtol: float) -> ModelSolver:
    def gradients(xs, *inputs):
        return jax.vmap(lambda x: jax.grad(potential)(x, *inputs))(xs)

    return ModelSolver(
        lbfgs(potential, max_steps, gtol),
        jax.jit(potential),
        jax.jit(gradients),
        jax.jit(jax.hessian(potential)),
    )
