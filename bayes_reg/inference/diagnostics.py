"""Convergence diagnostics of a NUTS run in words: R-hat, ESS, divergences, tree depth and
E-BFMI of a run's ``DataTree``. R-hat and ESS are ArviZ's numbers, computed for all
parameters at once by :mod:`bayes_reg.inference.ess`; E-BFMI is ArviZ's."""

from __future__ import annotations

from typing import NamedTuple

import arviz_base
import arviz_stats
import numpy as np

from bayes_reg.inference.ess import rank_diagnostics, supports

__all__ = ["BFMI_MIN", "ESS_MIN", "RHAT_MAX", "Diagnostics", "diagnose"]

#: Thresholds of the usual checks (Vehtari et al. 2021; Betancourt 2016).
RHAT_MAX, ESS_MIN, BFMI_MIN = 1.01, 400, 0.3


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


def diagnose(tree, *, max_tree_depth: int = 10, var_names: list[str] | None = None) -> Diagnostics:
    """Collect R-hat, bulk/tail ESS, divergences, tree-depth hits and E-BFMI of a run.

    Flags R-hat > 1.01, ESS < 400, any divergence, any draw at the maximum tree depth and
    E-BFMI < 0.3, each with a sentence that says what it means.
    """
    posterior = tree["posterior"].to_dataset()
    if var_names is not None:
        posterior = posterior[var_names]
    rhat, ess_bulk, ess_tail = _rhat_ess(posterior)
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


def _rhat_ess(posterior) -> tuple[float, float, float]:
    """Max rank-normalised R-hat, min bulk ESS and min tail ESS over every parameter.

    The variables of one dtype are stacked into one (chain, draw, parameter) array, in
    their own dtype as ArviZ takes medians and quantiles in it, and go through
    :mod:`bayes_reg.inference.ess` at once: the numbers of ``arviz_stats.rhat`` and
    ``arviz_stats.ess(method="bulk" | "tail")``, without ArviZ's loop over parameters.
    Variables it does not mirror ArviZ on (a non-finite draw, fewer than 4 draws, a
    dtype other than float32, float64 or integer) go to ArviZ itself.
    """
    # ArviZ's tail ESS takes the quantiles 1 - ci_prob and ci_prob (0.11 and 0.89 by default).
    prob = arviz_base.rcParams["stats.ci_prob"]
    by_dtype: dict[np.dtype, list[np.ndarray]] = {}
    rest = []
    for name, da in posterior.data_vars.items():
        draws = da.transpose("chain", "draw", ...).to_numpy()
        draws = draws.reshape(*draws.shape[:2], int(np.prod(draws.shape[2:])))
        if supports(draws):
            by_dtype.setdefault(draws.dtype, []).append(draws)
        else:
            rest.append(name)
    rhat, bulk, tail = [], [], []
    for arrays in by_dtype.values():
        result = rank_diagnostics(np.concatenate(arrays, axis=-1), prob=prob)
        rhat.append(result.rhat)
        bulk.append(result.ess_bulk)
        tail.append(result.ess_tail)
    if rest:
        rhat += [v.to_numpy().ravel() for v in arviz_stats.rhat(posterior[rest]).values()]
        for method, values in (("bulk", bulk), ("tail", tail)):
            ess = arviz_stats.ess(posterior[rest], method=method)
            values += [v.to_numpy().ravel() for v in ess.values()]
    return (
        float(np.max(np.concatenate(rhat))),
        float(np.min(np.concatenate(bulk))),
        float(np.min(np.concatenate(tail))),
    )
