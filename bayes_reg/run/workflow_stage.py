"""A linear card's posterior checked the way the Bayesian workflow checks one: the sampler's
diagnostics (rank, trace and energy plots of the parameters that mix worst), the posterior
predictive check that suits the outcome, and PSIS-LOO with its Pareto-k diagnostics and
LOO-PIT. Each check adds its figures, its summary entries and its report section."""

from __future__ import annotations

import html

from bayes_reg import figures, workflow
from bayes_reg.linear.names import DISCRETE
from bayes_reg.run.sections import posterior_section, predictive_check_section

__all__ = ["posterior_checks", "loo_section"]

#: How many coefficients the rank and trace plots show when there are more.
SHOWN = 4


def posterior_checks(post, likelihood: str, result) -> None:
    """Add the checks of ``post`` (a :class:`~bayes_reg.inference.result.Posterior` of the
    linear model) to ``result``: figures, ``summary["loo"]`` and sections."""
    tree = post.tree
    names = [v for v in ("b", "sigma", "w") if v in tree["posterior"]]
    n_features = tree["posterior"].sizes["feature"]
    shown = {"feature": workflow.least_converged(tree, k=SHOWN)}
    which = ", ".join(str(f) for f in shown["feature"])
    if n_features > SHOWN:
        which = f"the {SHOWN} of {n_features} whose chains agree least (highest R-hat): {which}"
    rank = figures.plot_rank(
        tree,
        names,
        shown,
        title=f"Rank plots of each chain's draws: {', '.join(names)} (w at {which})",
    )
    if rank is not None:  # one chain has none (posterior_section says why)
        result.figures["rank"] = rank
    sampled = not post.exact and "log_evidence" not in tree.attrs  # NUTS drew them
    if sampled:
        result.figures["trace"] = workflow.plot_trace(
            tree, names, shown, title=f"Traces and densities per chain (w at {which})"
        )
        result.figures["energy"] = workflow.plot_energy(tree)
    result.sections.append(_with_figures(posterior_section(post, names), sampled))

    if likelihood in DISCRETE:
        result.figures["predictive_check"] = figures.plot_predictive_check(tree, likelihood)
        result.sections.append(predictive_check_section(likelihood))
    else:
        result.figures["ppc"] = workflow.plot_ppc_continuous(tree)
        result.figures["ppc_pit"] = workflow.plot_ppc_pit(tree)
        result.sections.append(_ppc_section())

    loo, numbers = workflow.loo_summary(tree)
    result.summary["loo"] = numbers
    result.figures["pareto_k"] = workflow.plot_khat(loo)
    result.figures["loo_pit"] = workflow.plot_loo_pit(tree)
    result.sections.append(loo_section(numbers))


def _with_figures(section, sampled: bool):
    title, text, names = section
    if not sampled:
        return section
    text += (
        "<p>Traces: every chain should wander over the same region with no trend or stuck "
        "stretches, and the chains' densities should overlap. Energy: the distribution of "
        "the energy changes between iterations (transition) should be as wide as the "
        "marginal energy; E-BFMI below 0.3 means the sampler explores the tails slowly.</p>"
    )
    return (title, text, [*names, "trace", "energy"])


def _ppc_section():
    return (
        "Posterior predictive check",
        "<p>Data replicated from the posterior against the data observed: the observed "
        "density of y should look like one of the replicated ones (left), and each "
        "observation's place among its replicated values (its PIT) should be uniform, its "
        "ECDF inside the envelope (right). A U shape means the predictive is too narrow, a "
        "hump that it is too wide, a tilt that it is biased.</p>",
        ["ppc", "ppc_pit"],
    )


def loo_section(s: dict, pit: bool = True):
    """PSIS-LOO's numbers and Pareto-k warnings in words: figures ``pareto_k`` (and
    ``loo_pit`` with ``pit``)."""
    k = s["pareto_k"]
    if k["above"]:
        rows = ", ".join(map(str, k["rows"][:20])) + (", ..." if k["above"] > 20 else "")
        warn = (
            f"<p class='warn'>{k['above']} row(s) have a Pareto k above {k['threshold']:.2f} "
            f"(rows {html.escape(rows)}, counted from 0; largest {k['max']:.2f}): leaving each "
            "of them out moves the posterior too far for importance sampling to follow, so "
            "their LOO terms, and the total, are not reliable. Such rows are influential; with "
            "few rows and many features most are. Compare by K-fold cross-validation, or look "
            "at those rows (a Student-t likelihood may fit them better).</p>"
        )
    else:
        warn = (
            f"<p class='ok'>Every Pareto k is at most {k['threshold']:.2f}: the estimate is "
            "reliable.</p>"
        )
    pit_text = (
        "<p>LOO-PIT: each observation's place in its leave-one-out predictive; uniform "
        "(inside the envelope) for a calibrated model.</p>"
    )
    return (
        "Leave-one-out cross-validation (PSIS-LOO)",
        f"<p>The expected log predictive density of a new row, estimated by leaving each row "
        f"out in turn through Pareto-smoothed importance sampling of the posterior draws: "
        f"elpd_loo = {s['elpd_loo']:.2f} (se {s['se']:.2f}), effective number of parameters "
        f"p_loo = {s['p_loo']:.1f}. Compare runs on the same rows with "
        f"<code>bayes-reg compare</code>: the model with the higher elpd_loo predicts better, "
        f"if the difference is large against its standard error.</p>{warn}"
        + (pit_text if pit else ""),
        ["pareto_k", "loo_pit"] if pit else ["pareto_k"],
    )
