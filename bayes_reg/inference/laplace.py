r"""The Laplace approximation of any NumPyro model's posterior, and its evidence.

In the unconstrained space (where NumPyro's NUTS moves too: a noise scale on the log scale)
the posterior is approximated by the Gaussian centred at the mode :math:`\hat\theta` of the
log joint with covariance :math:`H^{-1}`, :math:`H` the Hessian of the negative log joint
there. The log evidence is then

.. math::

    \log p(y) \approx \log p(y, \hat\theta) + \tfrac d2 \log 2\pi - \tfrac12 \log\det H,

exact when the log joint is quadratic (the Gaussian linear model with a known noise and a
Gaussian prior). It needs a smooth log density: a Laplace prior's mode sits on a kink where
the Hessian does not exist.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bayes_reg._random import normal_from_precision
from bayes_reg.inference.optimize import NO_FINITE_MODE, model_problem

__all__ = ["LaplaceFit", "laplace_approximation"]


class LaplaceFit(NamedTuple):
    """Draws from the approximation (constrained sites, shape ``(chains, draws, ...)``), the
    mode and covariance in the unconstrained space, the log evidence and the wall time."""

    samples: dict[str, np.ndarray]
    mode: np.ndarray
    cov: np.ndarray
    log_evidence: float
    seconds: float


def laplace_approximation(
    model, key: jax.Array, args: tuple, kwargs: dict, shape: tuple[int, int]
) -> LaplaceFit:
    """The Laplace approximation of ``model(*args, **kwargs)``'s posterior, ``shape`` draws."""
    start = time.perf_counter()
    key_init, key_draw = jax.random.split(key)
    problem = model_problem(model, key_init, args, kwargs, max_steps=20_000, gtol=1e-9)
    solver, inputs = problem.solver, problem.inputs
    mode = solver.solve(problem.start, jnp.ones(problem.start.shape, bool), *inputs)
    hessian = np.asarray(solver.hessian(mode, *inputs))
    if not (np.isfinite(mode).all() and np.isfinite(hessian).all()):  # LAPACK would pass NaN on
        raise ValueError(f"{NO_FINITE_MODE}: the Laplace approximation does not exist here")
    try:
        chol = np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        raise ValueError(
            "the posterior's curvature at its mode is not positive definite (a flat or "
            "improper direction, or a mode on a kink): the Laplace approximation does not "
            "exist here; use NUTS"
        ) from None
    cov = np.linalg.inv(hessian)
    d = mode.shape[0]
    log_evidence = float(
        -solver.potential(mode, *inputs)
        + 0.5 * d * math.log(2 * math.pi)
        - np.sum(np.log(np.diag(chol)))
    )
    z = normal_from_precision(key_draw, mode, chol, shape)  # covariance H^{-1}
    samples = {k: np.asarray(v) for k, v in problem.constrain(z).items()}
    return LaplaceFit(samples, np.asarray(mode), cov, log_evidence, time.perf_counter() - start)
