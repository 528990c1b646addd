"""The Bayesian-workflow checks of a posterior, drawn by ArviZ (arviz-plots, arviz-stats):
which parameters to show, trace and energy plots of the sampler, the posterior predictive
check that suits the outcome, PSIS-LOO with its Pareto-k diagnostics and LOO-PIT.

Each ``plot_*`` returns a matplotlib figure with a title that says what it shows.
"""

from __future__ import annotations

import warnings

import arviz_plots
import arviz_stats
import numpy as np

__all__ = [
    "least_converged",
    "plot_trace",
    "plot_energy",
    "plot_ppc_continuous",
    "plot_ppc_pit",
    "plot_khat",
    "plot_loo_pit",
    "loo_summary",
    "pareto_summary",
    "plot_compare",
]


def least_converged(tree, var: str = "w", dim: str = "feature", k: int = 4) -> list:
    """The ``k`` coordinates of ``var`` whose chains agree least (highest rank-normalised
    R-hat, ties by lowest bulk ESS): the ones worth looking at when there are many."""
    post = tree["posterior"][var]
    labels = list(post[dim].values)
    if len(labels) <= k:
        return labels
    rhat = arviz_stats.rhat(post.to_dataset(name=var))[var].values
    ess = arviz_stats.ess(post.to_dataset(name=var))[var].values
    order = np.lexsort((ess, -np.nan_to_num(rhat, nan=np.inf)))
    return [labels[i] for i in order[:k]]


def _figure(plot, title: str):
    """ArviZ's figure with ``title`` above its panels' own titles."""
    fig = plot.get_viz("figure")
    fig.subplots_adjust(top=min(fig.subplotpars.top, 0.82))
    fig.suptitle(title, fontsize=11, y=0.98)
    return fig


def plot_trace(tree, var_names: list[str], coords: dict, title: str):
    """Each chain's trace and density of ``var_names`` at ``coords`` (``plot_trace_dist``)."""
    plot = arviz_plots.plot_trace_dist(
        tree, var_names=var_names, coords=coords, compact=False, backend="matplotlib"
    )
    return _figure(plot, title)


def plot_energy(tree):
    """The marginal energy against the energy transitions (with E-BFMI): a transition
    distribution much narrower than the marginal means the sampler explores slowly."""
    plot = arviz_plots.plot_energy(tree, backend="matplotlib")
    return _figure(plot, "Energy: marginal and transition distributions (E-BFMI per chain)")


def plot_ppc_continuous(tree):
    """The observed density of ``y`` against 50 densities of data replicated from the
    posterior (``plot_ppc_dist``)."""
    plot = arviz_plots.plot_ppc_dist(tree, var_names=["y"], backend="matplotlib")
    return _figure(plot, "Posterior predictive check: observed and replicated densities of y")


def plot_ppc_pit(tree):
    """Each observation's PIT under its replicated values, as an ECDF minus the uniform with
    its simultaneous envelope (``plot_ppc_pit``): inside it, the model's spread fits."""
    plot = arviz_plots.plot_ppc_pit(tree, var_names=["y"], backend="matplotlib")
    return _figure(plot, "Posterior predictive PIT: uniform if the predictive fits the data")


def loo_summary(tree) -> tuple[object, dict]:
    """PSIS-LOO (arviz-stats) of the tree's ``log_likelihood``, and its numbers for the
    summary: elpd, its se, p_loo and :func:`pareto_summary`."""
    with warnings.catch_warnings():
        # arviz-stats warns of high Pareto k; pareto_summary names those rows instead.
        warnings.filterwarnings("ignore", "Estimated shape parameter of Pareto", UserWarning)
        loo = arviz_stats.loo(tree, pointwise=True, var_name="y")
    numbers = {"elpd_loo": float(loo.elpd), "se": float(loo.se), "p_loo": float(loo.p)}
    return loo, numbers | {"pareto_k": pareto_summary(loo)}


def pareto_summary(loo) -> dict:
    """The rows whose Pareto k is above arviz-stats' threshold for this many draws
    (``min(1 - 1 / log10(S), 0.7)``): their leave-one-out terms are not to be trusted."""
    k = np.ravel(np.asarray(loo.pareto_k))
    above = np.flatnonzero(k > loo.good_k)
    return {
        "threshold": float(loo.good_k),
        "max": float(np.nanmax(k)),
        "above": int(above.size),
        "rows": [int(i) for i in above],
    }


def plot_khat(loo):
    """Each row's Pareto k: above the threshold, its LOO estimate is not to be trusted."""
    plot = arviz_plots.plot_khat(loo, threshold=loo.good_k, backend="matplotlib")
    return _figure(plot, f"PSIS-LOO: Pareto k of each row (above {loo.good_k:.2f}: unreliable)")


def plot_loo_pit(tree):
    """The LOO-PIT ECDF: each observation's place in its leave-one-out predictive, uniform if
    the model is calibrated (S: too wide, inverse S: too narrow, shifted: biased)."""
    with warnings.catch_warnings():
        # arviz-stats' Pareto fit to a tail of a row's draws divides 0 by 0 where the draws
        # are counts with ties (most at a binomial's number of trials); it then keeps that
        # row's raw PIT (its guard on a finite shape), so the warning says nothing to a user.
        warnings.filterwarnings("ignore", "invalid value encountered in", RuntimeWarning)
        plot = arviz_plots.plot_loo_pit(tree, var_names=["y"], backend="matplotlib")
    return _figure(plot, "LOO-PIT: observations in their leave-one-out predictives")


def plot_compare(table):
    """``arviz_stats.compare``'s table drawn by ``plot_compare``: each model's elpd difference
    from the best with its standard error."""
    visuals = {"similar_line": True, "title": False}  # the figure's title says it: one, not two
    plot = arviz_plots.plot_compare(table, backend="matplotlib", visuals=visuals)
    return _figure(
        plot,
        "LOO: each model's elpd difference from the best, ±1 dse (higher is better; "
        "dotted: 4 below the best)",
    )
