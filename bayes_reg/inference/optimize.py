"""Minimising a log density's negative (a potential) with L-BFGS, the mode finder of every
model: the MAP of :func:`bayes_reg.linear.map.map_model` and the centre of the Laplace
approximation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

__all__ = ["lbfgs"]


def lbfgs(potential, max_steps: int = 10_000, gtol: float = 1e-10):
    """``solve(x0, free)``: L-BFGS on ``potential`` moving only the coordinates in ``free``.

    With the gradient zero outside ``free``, every L-BFGS direction (a combination of past
    gradients and steps) is zero there too, so those coordinates keep their starting values.
    """
    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(potential)

    @jax.jit
    def solve(x0, free):
        def step(carry):
            x, state, _, k = carry
            value, grad = value_and_grad(x, state=state)
            grad = jnp.where(free, grad, 0.0)
            updates, state = opt.update(grad, state, x, value=value, grad=grad, value_fn=potential)
            return optax.apply_updates(x, updates), state, jnp.linalg.norm(grad), k + 1

        def not_done(carry):
            *_, gnorm, k = carry
            return (gnorm > gtol) & (k < max_steps)

        carry = (x0, opt.init(x0), jnp.asarray(jnp.inf, x0.dtype), 0)
        return jax.lax.while_loop(not_done, step, carry)[0]

    return solve
