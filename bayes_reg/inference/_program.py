"""One compiled NUTS program per model and shape, reused across data, seeds and strengths.

NumPyro's ``MCMC.run`` recompiles its sampler on every call (NumPyro 0.22), which makes a
repeat fit cost as much as the first. Here the whole run (initialisation, warmup with
step-size and mass-matrix adaptation, sampling, for every chain) is a single ``jax.jit``
program built from NumPyro's functional NUTS kernel, its warmup started from a mass matrix
fitted to the model (:func:`curvature_scales`) instead of the identity, and warmup and
sampling in one loop, so that the NUTS kernel is compiled once. Array arguments
(data, the noise scale, the prior's scales) are traced inputs, so a new data set of the same
shape, a new seed or a new strength reuses the compiled program; strings and ``None`` are
static.

Chains run in parallel, one group per device (:func:`jax.shard_map` over a one-axis mesh of
the default backend's devices; on a CPU these are the host devices of
``JAX_NUM_CPU_DEVICES``), and one after another within a group. Each chain depends only on
its own key: the same device count gives the same draws, bit for bit; another count gives
draws from the same posterior that differ by rounding, which NUTS amplifies (XLA compiles the
partitioned program differently).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jax.sharding import PartitionSpec
from numpyro.infer.hmc import hmc
from numpyro.infer.util import initialize_model

from bayes_reg._progress import progress_bar, report_every
from bayes_reg.inference.sampler import Sampler

_PROGRESS_EVERY = 50  # iterations between progress updates (host callbacks are not free)


class Draws(NamedTuple):
    """Raw output of the program: constrained sites and sampler statistics, (chain, draw)."""

    samples: dict[str, jax.Array]
    stats: dict[str, jax.Array]


def sample_stats(draws: Draws, max_tree_depth: int) -> dict[str, np.ndarray]:
    """The sampler statistics under ArviZ's names, (chain, draw) each."""
    stats = {k: np.asarray(v) for k, v in draws.stats.items()}
    tree_depth = np.floor(np.log2(np.maximum(stats["num_steps"], 1))).astype(int) + 1
    return {
        "diverging": stats["diverging"],
        "n_steps": stats["num_steps"],
        "tree_depth": tree_depth,
        "reached_max_tree_depth": tree_depth >= max_tree_depth,
        "energy": stats["energy"],
        "acceptance_rate": stats["accept_prob"],
        "step_size": stats["step_size"],
        "lp": -stats["potential_energy"],
    }


class Run(NamedTuple):
    """A finished NUTS run on the host: draws and statistics (chain, draw), and its time."""

    samples: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray]
    seconds: float


def run(
    model: Callable, key: jax.Array, args: tuple, kwargs: dict, sampler: Sampler, *, progress: bool
) -> Run:
    """:func:`sample` under a progress bar over all chains' iterations, timed, on the host."""
    start = time.perf_counter()
    with progress_bar(progress, sampler.iterations):
        out = jax.block_until_ready(sample(model, key, args, kwargs, sampler))
    seconds = time.perf_counter() - start
    out = jax.device_get(out)  # every array in one transfer: half the time of one by one
    return Run(out.samples, sample_stats(out, sampler.max_tree_depth), seconds)


def split_kwargs(kwargs: dict) -> tuple[dict, tuple]:
    """Model keyword arguments as (traced pytrees, static hashable pairs)."""
    dynamic = {k: v for k, v in kwargs.items() if not _is_static(v)}
    static = tuple(sorted((k, v) for k, v in kwargs.items() if _is_static(v)))
    return dynamic, static


def _is_static(value) -> bool:
    return value is None or isinstance(value, str | bool)


def sample(model: Callable, key: jax.Array, args: tuple, kwargs: dict, sampler: Sampler) -> Draws:
    """Run ``sampler.chains`` NUTS chains of ``model(*args, **kwargs)``; compiled once per
    model, shape and sampler.

    The program reports to the open :class:`bayes_reg._progress.progress_bar`, if any; it is
    the same program either way, so showing a bar cannot change the draws.
    """
    dynamic, static = split_kwargs(kwargs)
    return _program(model, static, sampler)(key, args, dynamic)


@functools.lru_cache(maxsize=32)
def _program(model, static, sampler: Sampler):
    static_kwargs = dict(static)
    warmup, draws = sampler.warmup, sampler.draws

    def one_chain(key, real, args, dynamic):
        kwargs = dynamic | static_kwargs
        key_init, key_run = jax.random.split(key)
        param_info, potential_fn_gen, postprocess_fn_gen, _ = initialize_model(
            key_init, model, model_args=args, model_kwargs=kwargs, dynamic_args=True
        )
        init_kernel, sample_kernel = hmc(potential_fn_gen=potential_fn_gen, algo="NUTS")
        state = init_kernel(
            param_info,
            warmup,
            inverse_mass_matrix=curvature_scales(potential_fn_gen(*args, **kwargs), param_info.z),
            dense_mass=sampler.dense_mass is True,  # "auto" unresolved by the caller: diagonal
            target_accept_prob=sampler.target_accept,
            max_tree_depth=sampler.max_tree_depth,
            model_args=args,
            model_kwargs=kwargs,
            rng_key=key_run,
        )

        def record(state):
            return {
                "z": state.z,
                "diverging": state.diverging,
                "num_steps": state.num_steps,
                "energy": state.energy,
                "accept_prob": state.accept_prob,
                "step_size": state.adapt_state.step_size,
                "potential_energy": state.potential_energy,
            }

        def step(carry, i):
            # Warmup and sampling in one loop (the kernel adapts while i < warmup), so the
            # NUTS kernel is compiled once; warmup iterations write into the first slot, which
            # the first kept draw then overwrites.
            state, kept = carry
            state = sample_kernel(state, model_args=args, model_kwargs=kwargs)
            report_every(i, _PROGRESS_EVERY, when=real)
            slot = jnp.maximum(i - warmup, 0)
            kept = jax.tree.map(
                lambda buf, x: jax.lax.dynamic_update_index_in_dim(buf, x, slot, 0),
                kept,
                record(state),
            )
            return (state, kept), None

        empty = jax.tree.map(lambda x: jnp.zeros((draws, *jnp.shape(x)), x.dtype), record(state))
        (_, kept), _ = jax.lax.scan(step, (state, empty), jnp.arange(warmup + draws))
        constrained = jax.vmap(postprocess_fn_gen(*args, **kwargs))(kept.pop("z"))
        return Draws(constrained, kept)

    devices = chain_devices(sampler.chains)
    per_device = -(-sampler.chains // len(devices))
    mesh = jax.sharding.Mesh(np.array(devices), ("chain",))

    def group(key_data, real, args, dynamic):
        # The chains of one device, one after another: no lockstep between chains (as a vmap
        # would impose, every chain paying for the deepest tree).
        return jax.lax.map(
            lambda kr: one_chain(jax.random.wrap_key_data(kr[0]), kr[1], args, dynamic),
            (key_data, real),
        )

    parallel = jax.shard_map(
        group,
        mesh=mesh,
        in_specs=(PartitionSpec("chain"), PartitionSpec("chain"), PartitionSpec(), PartitionSpec()),
        out_specs=PartitionSpec("chain"),
        check_vma=False,
    )

    @jax.jit
    def nuts(key, args, dynamic):  # the name JAX's compile logs and profiles show
        keys = jax.random.key_data(jax.random.split(key, sampler.chains))
        # Pad to a whole number of chains per device by repeating the last chain (its copies
        # are computed, then dropped, and never report progress).
        padding = per_device * len(devices) - sampler.chains
        keys = jnp.concatenate([keys, jnp.repeat(keys[-1:], padding, axis=0)])
        real = jnp.arange(len(keys)) < sampler.chains
        draws = parallel(keys, real, args, dynamic)
        return jax.tree.map(lambda leaf: leaf[: sampler.chains], draws)

    return nuts


def curvature_scales(potential_fn: Callable, z: dict) -> jax.Array:
    """The initial inverse mass matrix: one over the potential's curvature along each
    unconstrained coordinate at the chain's starting point (1 where that is not positive).

    NumPyro starts from the identity, which is right only for coordinates of scale ~1: a
    coordinate with posterior sd 0.002 (an intercept measured to 20 points' noise of 0.01)
    forces steps of that size until the first mass-matrix window ends, and the other
    coordinates then need trajectories of hundreds of steps. On the d2l problem those first
    100 warmup iterations took 85% of all leapfrog steps (800 per iteration, against 15 when
    sampling). The diagonal of the Hessian costs one Hessian-vector product per coordinate,
    taken one after another (a batched map compiled 0.4 s slower per program).
    """
    flat, unravel = ravel_pytree(z)
    # Linearised once: each product then runs only the tangent pass, not the gradient again.
    _, hessian_times = jax.linearize(jax.grad(lambda x: potential_fn(unravel(x))), flat)

    def curvature(i):
        return hessian_times(jnp.zeros_like(flat).at[i].set(1.0))[i]

    h = jax.lax.map(curvature, jnp.arange(flat.size))
    return jnp.where(jnp.isfinite(h) & (h > 0), 1.0 / h, 1.0)


def chain_devices(chains: int) -> list:
    """The devices chains run on: the default backend's, at most one per chain."""
    return jax.local_devices()[:chains]
