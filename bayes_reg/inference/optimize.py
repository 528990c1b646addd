"""Minimising a log density's negative (a potential) with L-BFGS, the mode finder of every
model: the MAP of :func:`bayes_reg.linear.map.map_model` and the centre of the Laplace
approximation, with :func:`model_solver` compiling them once per NumPyro model and shape."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree
from numpyro.infer.util import potential_energy

from bayes_reg.inference._program import split_kwargs

__all__ = ["ModelSolver", "lbfgs", "model_solver"]


def lbfgs(potential, max_steps: int = 10_000, gtol: float = 1e-10):
    """``solve(x0, free, *args)``: L-BFGS on ``potential(x, *args)`` moving only the
    coordinates in ``free``.

    ``args`` are traced inputs of the compiled ``solve``: new data of the same shapes reuse
    it. With the gradient zero outside ``free``, every L-BFGS direction (a combination of past
    gradients and steps) is zero there too, so those coordinates keep their starting values.
    """
    opt = optax.lbfgs()

    @jax.jit
    def solve(x0, free, *args):
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
            return (gnorm > gtol) & (k < max_steps)

        carry = (x0, opt.init(x0), jnp.asarray(jnp.inf, x0.dtype), 0)
        return jax.lax.while_loop(not_done, step, carry)[0]

    return solve


class ModelSolver(NamedTuple):
    """A NumPyro model's potential in the unconstrained space, flattened, its L-BFGS
    (``solve(x0, free, *inputs)``, :func:`lbfgs`), its gradient at each row of a batch of
    points (``gradients(xs, *inputs)``) and its Hessian; each compiled, each taking the flat
    point(s) and then the ``inputs`` that :func:`model_solver` returns with it."""

    solve: Callable
    potential: Callable
    gradients: Callable
    hessian: Callable


def model_solver(model, info, args: tuple, kwargs: dict, max_steps: int, gtol: float):
    """The :class:`ModelSolver` of ``model(*args, **kwargs)`` and the inputs its functions take
    after ``x``; ``info`` is NumPyro's ``initialize_model(..., dynamic_args=True)``.

    Compiled once per model, fixed keyword arguments (strings, flags) and shapes: the data,
    priors and noise are traced, so a repeat fit (a cross-validation fold, a grid of
    strengths) does not recompile. A model that NumPyro prepares before taking its potential
    (discrete latent sites it enumerates, ``param`` sites it substitutes) gets NumPyro's own
    potential instead, compiled for this call.
    """
    if any(_prepared(site) for site in info.model_trace.values()):
        potential_fn = info.potential_fn(*args, **kwargs)
        _, unravel = ravel_pytree(info.param_info.z)

        def potential(x):
            return potential_fn(unravel(x))

        return _solver(potential, max_steps, gtol), ()
    dynamic, static = split_kwargs(kwargs)
    return _model_solver(model, static, max_steps, gtol), (info.param_info.z, args, dynamic)


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
