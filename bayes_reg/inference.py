"""NUTS on any bayes_reg model, returned as an ArviZ ``DataTree`` with its diagnostics.

The tree holds ``posterior``, ``sample_stats`` (with the fields ArviZ needs for
divergences, tree depth and E-BFMI), ``log_likelihood``, ``posterior_predictive``,
``observed_data`` and ``constant_data`` (the design matrix ``X``), with the feature
names as coordinates of dim ``feature``.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import arviz_base
import arviz_stats
import jax
import numpy as np
from jax.typing import ArrayLike
from numpyro.infer import MCMC, NUTS, Predictive

from bayes_reg import _validate

__all__ = ["Diagnostics", "NutsResult", "run_nuts", "diagnose"]

#: Thresholds of the usual checks (Vehtari et al. 2021; Betancourt 2016).
RHAT_MAX, ESS_MIN, BFMI_MIN = 1.01, 400, 0.3

# Sampler statistics kept from NumPyro; ArviZ derives tree depth from num_steps.
_EXTRA_FIELDS = ("diverging", "num_steps", "energy", "accept_prob", "adapt_state.step_size")


class Diagnostics(NamedTuple):
    """Convergence checks of one run; ``problems`` says in words what failed."""

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    max_tree_depth_hits: int
    min_bfmi: float
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class NutsResult(NamedTuple):
    """A NUTS run: the ArviZ tree, its diagnostics and the sampling wall time (s)."""

    tree: object
    diagnostics: Diagnostics
    seconds: float


def run_nuts(
    model,
    X: ArrayLike,
    y: ArrayLike,
    *,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    seed: int = 0,
    feature_names: list[str] | None = None,
    progress: bool = True,
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
    chain_method: str = "sequential",
    **model_kwargs,
) -> NutsResult:
    """Sample ``model(X, y, **model_kwargs)`` with NUTS.

    Parameters
    ----------
    model : callable
        A NumPyro model taking ``X`` and ``y`` first, like
        :func:`~bayes_reg.regression.linear_regression`.
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    chains, warmup, draws : int
        Number of chains, and warmup and kept draws per chain.
    seed : int
        Seeds the sampler and the posterior predictive.
    feature_names : list of str, optional
        Coordinates of dim ``feature``; default ``x0, x1, ...``.
    progress : bool
        Show NumPyro's progress bar.
    target_accept, max_tree_depth : float, int
        NUTS settings.
    chain_method : {"sequential", "vectorized", "parallel"}
        How NumPyro runs the chains.

    Returns
    -------
    NutsResult
    """
    X, y = _validate.design(X, y)
    chains = _validate.positive_int("chains", chains)
    warmup = _validate.positive_int("warmup", warmup)
    draws = _validate.positive_int("draws", draws)
    _validate.fraction("target_accept", target_accept, low_open=True, high_open=True)
    names = (
        list(feature_names) if feature_names is not None else [f"x{j}" for j in range(X.shape[1])]
    )
    if len(names) != X.shape[1]:
        raise ValueError(f"feature_names has {len(names)} entries but X has {X.shape[1]} columns")

    kernel = NUTS(model, target_accept_prob=target_accept, max_tree_depth=max_tree_depth)
    mcmc = MCMC(
        kernel,
        num_warmup=warmup,
        num_samples=draws,
        num_chains=chains,
        chain_method=chain_method,
        progress_bar=progress,
    )
    key_run, key_pred = jax.random.split(jax.random.key(seed))
    start = time.perf_counter()
    mcmc.run(key_run, X, y, extra_fields=_EXTRA_FIELDS, **model_kwargs)
    jax.block_until_ready(mcmc.get_samples())
    seconds = time.perf_counter() - start

    predictive = Predictive(model, mcmc.get_samples(group_by_chain=False))
    y_rep = predictive(key_pred, X, None, **model_kwargs)["y"]
    dims = {
        "X": ["obs", "feature"],
        "y": ["obs"],
        "w": ["feature"],
        "w_z": ["feature"],
        "w_mix": ["feature"],
    }
    # Explicit dims name the feature axis of w (and its parts) and of the design matrix.
    tree = arviz_base.from_numpyro(
        mcmc,
        posterior_predictive={"y": np.asarray(y_rep).reshape(chains, draws, -1)},
        constant_data={"X": X},
        log_likelihood=True,
        coords={"feature": names, "obs": np.arange(X.shape[0])},
        dims=dims,
        pred_dims=dims,
    )
    return NutsResult(tree, diagnose(tree, max_tree_depth=max_tree_depth), seconds)


def diagnose(tree, *, max_tree_depth: int = 10, var_names: list[str] | None = None) -> Diagnostics:
    """Collect R-hat, bulk/tail ESS, divergences, tree-depth hits and E-BFMI of a run.

    Flags R-hat > 1.01, ESS < 400, any divergence, any draw at the maximum tree depth and
    E-BFMI < 0.3, each with a sentence that says what it means.
    """
    posterior = tree["posterior"].to_dataset()
    if var_names is not None:
        posterior = posterior[var_names]
    rhat = _worst(arviz_stats.rhat(posterior), np.max)
    ess_bulk = _worst(arviz_stats.ess(posterior, method="bulk"), np.min)
    ess_tail = _worst(arviz_stats.ess(posterior, method="tail"), np.min)
    stats = tree["sample_stats"].to_dataset()
    divergences = int(stats["diverging"].sum()) if "diverging" in stats else 0
    depth_hits = int((stats["tree_depth"] >= max_tree_depth).sum()) if "tree_depth" in stats else 0
    bfmi = (
        float(np.min(arviz_stats.bfmi(stats["energy"]).to_numpy())) if "energy" in stats else np.nan
    )

    problems = []
    if rhat > RHAT_MAX:
        problems.append(
            f"max R-hat is {rhat:.3f} > {RHAT_MAX}: the chains disagree, so the"
            " posterior summaries are not reliable; run longer or reparametrize"
        )
    if ess_bulk < ESS_MIN or ess_tail < ESS_MIN:
        problems.append(
            f"min ESS is {min(ess_bulk, ess_tail):.0f} < {ESS_MIN}: too few effective"
            " draws for stable means and intervals; draw more"
        )
    if divergences:
        problems.append(
            f"{divergences} divergent transition(s): the sampler missed parts of the"
            " posterior; raise target_accept or use the non-centred parametrization"
        )
    if depth_hits:
        problems.append(
            f"{depth_hits} draw(s) hit the maximum tree depth {max_tree_depth}:"
            " sampling is slow and may be incomplete; raise max_tree_depth"
        )
    if bfmi < BFMI_MIN:
        problems.append(
            f"min E-BFMI is {bfmi:.2f} < {BFMI_MIN}: the momentum resampling explores"
            " the energy poorly; reparametrize"
        )
    return Diagnostics(rhat, ess_bulk, ess_tail, divergences, depth_hits, bfmi, tuple(problems))


def _worst(ds, reduce) -> float:
    return float(reduce([reduce(ds[v].to_numpy()) for v in ds.data_vars]))
