"""The report's sections as HTML, built from plain results (numbers, names, settings)."""

from __future__ import annotations

import html

from bayes_reg.run.card import Card

__all__ = [
    "CARD_SETTINGS",
    "intro_section",
    "laplace_section",
    "predictive_check_section",
    "map_section",
    "posterior_section",
    "rescaling_section",
    "sgd_section",
]


def intro_section(card: Card, prior, data) -> str:
    n, d = data.X.shape
    spec = card.prior_spec
    how = (
        f"the penalty <code>{spec['convention']}</code> strength {spec['strength']:g}, "
        "converted exactly into the prior it encodes"
        if "convention" in spec
        else "given directly"
    )
    model = card.model
    spread = _SPREAD.get(model.likelihood, "noise")
    noise = "" if model.noise is None else f", {spread} {html.escape(repr(model.noise))}"
    intercept = {True: "flat prior", False: "none"}.get(model.intercept, repr(model.intercept))
    return (
        f"<p>{html.escape(card.description)}</p><p>Data: <code>{card.data['source']}"
        f"</code>, {n} training rows, {d} features. Likelihood: <b>{model.likelihood}</b>"
        f"{noise}; intercept: {html.escape(intercept)}. Prior on each weight: "
        f"<b>{html.escape(repr(prior))}</b> ({how}). A penalty is a prior: the MAP "
        "estimate under this prior is the penalised fit, and the posterior says how "
        "much the data leave uncertain around it.</p>" + _design_note(data)
    )


#: What the noise scale σ is, where it is not a noise's sd.
_SPREAD = {
    "negative-binomial": "overdispersion σ (variance μ + σ²μ²)",
    "beta-binomial": "overdispersion σ (each row's probability a beta of concentration 1/σ²)",
    "gamma": "coefficient of variation σ (sd/mean; shape 1/σ²)",
}


def _design_note(data) -> str:
    """The formula, the standardising, the rows dropped for missing values, the sample weights
    and the trials (binomial, beta-binomial), in words."""
    design = data.design
    note = f"<p>Design: <code>{html.escape(design.target)} ~ {html.escape(design.formula)}</code>"
    if design.standardized:
        note += (
            "; each column standardised with the training rows' mean and sd, so the prior "
            "speaks of standardised columns (coefficients per original unit: group "
            "<code>original_units</code> of posterior.nc)"
        )
    if data.dropped:
        shown = ", ".join(map(str, data.dropped[:10])) + (", ..." if len(data.dropped) > 10 else "")
        note += f"; {len(data.dropped)} row(s) dropped for missing values ({html.escape(shown)})"
    if data.sample_weight is not None:
        note += (
            f"; each row's likelihood weighted by its sample weight (sum "
            f"{data.sample_weight.sum():.6g} over {len(data.sample_weight)} rows)"
        )
    if data.trials is not None:
        note += (
            f"; the target counts the successes of the trials in column "
            f"<code>{html.escape(design.trials)}</code> ({data.trials.sum():.0f} trials over "
            f"{len(data.trials)} rows)"
        )
    return note + ".</p>"


CARD_SETTINGS = (
    "<p>The card sets NUTS's settings in its <code>[posterior]</code> table: "
    "<code>target_accept</code> (default 0.8; raise it towards 0.95 or 0.99 against "
    "divergences), <code>max_tree_depth</code> (default 10), <code>warmup</code> and "
    "<code>draws</code>.</p>"
)


def posterior_section(post, names: list[str]):
    """The posterior's summary table and checks; its rank plots are the figure ``rank``
    (none for one chain: they compare chains, as R-hat does)."""
    import arviz_stats

    d = post.diagnostics
    chains = post.tree["posterior"].sizes["chain"]
    table = arviz_stats.summary(post.tree, var_names=names, ci_prob=0.94).head(25)
    if post.exact:
        how = (
            "These are exact, independent draws from the closed-form posterior (a Gaussian "
            "prior with known noise is conjugate): no sampler was needed, and the diagnostics "
            "are those of i.i.d. draws."
        )
    elif "log_evidence" in post.tree.attrs:
        how = (
            "These are independent draws from the Laplace approximation: the Gaussian at the "
            "posterior mode with the inverse curvature there as covariance (see the next "
            "section for how far it is from NUTS's posterior)."
        )
    else:
        how = "NUTS drew these samples. Check the diagnostics before trusting the summaries."
    if d.problems:
        warn = "<ul class='warn'>" + "".join(f"<li>{html.escape(p)}</li>" for p in d.problems)
        warn += "</ul>" + CARD_SETTINGS
    else:
        rhat = f"max R-hat {d.max_rhat:.3f}" if chains > 1 else "no R-hat (one chain)"
        warn = (
            f"<p class='ok'>All checks pass: {rhat}, min bulk ESS {d.min_ess_bulk:.0f}, "
            f"{d.divergences} divergences.</p>"
        )
    rank = (
        "<p>Rank plots: for well-mixed chains each chain's ranks are uniform (flat lines near "
        "the middle).</p>"
        if chains > 1
        else "<p>One chain: R-hat and the rank plots compare chains, so neither can be "
        "computed; run two or more ([posterior] chains) to check that they agree.</p>"
    )
    text = (
        f"<p>{how} The table gives the posterior mean, sd, the central 94% interval, "
        "the effective sample sizes, R-hat and the Monte-Carlo standard errors (first 25 "
        f"rows).</p>{warn}{table.to_html(classes='summary')}{rank}"
    )
    return ("The posterior", text, ["rank"] if chains > 1 else [])


#: What a rootogram's observed tail above the predicted one says, per count likelihood.
_HEAVIER_TAIL = {
    "poisson": "a heavier observed tail is overdispersion the Poisson likelihood does not have "
    "(the negative binomial has).",
    "negative-binomial": "a heavier observed tail than the predicted one is more spread than "
    "the fitted σ gives.",
    "binomial": "a heavier observed tail is overdispersion the binomial likelihood does not "
    "have (the rows' probabilities vary beyond the features: a beta-binomial has it).",
    "beta-binomial": "a heavier observed tail than the predicted one is more spread than the "
    "fitted σ gives.",
}


def predictive_check_section(likelihood: str):
    """The posterior predictive check of a GLM: the figure ``predictive_check``."""
    if likelihood == "bernoulli":
        what = (
            "the calibration curve: for observations grouped by their predicted probability "
            "(pooled adjacent violators), the observed share of events; the band is what data "
            "replicated from the posterior give. A curve outside the band means the model's "
            "probabilities are off where it leaves it."
        )
    else:
        what = (
            "the rootogram: how often each count was observed (dots) and how often the "
            "posterior predictive expects it (diamonds, with intervals), on a square-root "
            "scale. Observed zeros above their interval are excess zeros; "
            + _HEAVIER_TAIL[likelihood]
        )
    return (
        "Posterior predictive check",
        f"<p>The check that suits the outcome: {what}</p>",
        ["predictive_check"],
    )


def held_out_section(scores: dict, likelihood: str):
    """The held-out rows scored by the posterior predictive: the figure ``held_out``."""
    if likelihood == "bernoulli":
        rows = (
            ("accuracy", "accuracy (class of probability > 1/2)", "{:.1%}"),
            ("brier", "Brier score (lower is better)", "{:.4f}"),
            ("log_loss", "log loss (lower is better)", "{:.4f}"),
        )
    else:
        rows = (
            ("rmse", "RMSE of the predictive mean", "{:.4g}"),
            ("log_score", "log score: mean log predictive density (higher is better)", "{:.4g}"),
            ("crps", "CRPS (lower is better)", "{:.4g}"),
            (
                "coverage",
                f"coverage of the {scores.get('nominal_coverage', 0.9):.0%} interval",
                "{:.1%}",
            ),
        )
    table = "".join(
        f"<tr><td>{label}</td><td>{fmt.format(scores[k])}</td></tr>" for k, label, fmt in rows
    )
    return (
        "Held-out rows",
        f"<p>The posterior predictive at the {scores['n']} rows the fit did not see, against "
        f"what was observed there.</p><table><tr><th>score</th><th>value</th></tr>{table}"
        "</table>",
        ["held_out"],
    )


def laplace_section(s: dict):
    """The Laplace approximation set against NUTS: the figure ``laplace_vs_nuts``."""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{v['mean_shift_in_nuts_sd']:+.3f}</td>"
        f"<td>{v['sd_ratio']:.3f}</td></tr>"
        for name, v in s["by_scalar"].items()
    )
    text = (
        "<p>The Laplace approximation replaces the posterior by a Gaussian at its mode. It "
        "is exact for a Gaussian likelihood with known noise and a Gaussian prior; with few "
        "rows of a GLM the posterior is skewed and the mode is not the mean. NUTS sampled "
        "the same model for comparison: each coefficient's mean shift (Laplace − NUTS, in "
        "NUTS's sds) and sd ratio (Laplace / NUTS). Log evidence (Laplace): "
        f"<b>{s['log_evidence']:.4f}</b>; compare it across priors (e.g. across C or alpha) "
        "as beside cross-validation.</p>"
        "<table class='summary'><tr><th></th><th>mean shift</th><th>sd ratio</th></tr>"
        f"{rows}</table>"
    )
    return ("The Laplace approximation against NUTS", text, ["laplace_vs_nuts"])


def map_section(prior):
    return (
        "MAP and posterior",
        "<p>Each coefficient's posterior 94% interval and mean, with "
        "the MAP (the penalised fit) as a cross. Under a Gaussian prior the MAP is the "
        "posterior mean; under a Laplace prior the MAP sets coefficients exactly to zero "
        "while the posterior mean and median never are zero: sparsity is a property of "
        "the mode, not of the posterior.</p>",
        ["posterior_vs_map"],
    )


def sgd_section(path, sgd_summary):
    text = (
        f"<p>Weight-decay training with <code>{path.attrs['optimizer']}</code> (lr "
        f"{path.attrs['lr']:g}, {path.attrs['epochs']} epochs, batch {path.attrs['batch_size']})"
        " at every strength, each strength read as the prior it encodes "
        f"(<code>{path.attrs['convention']}</code> convention). The path figure puts the "
        "SGD coefficients beside the MAP and the posterior intervals; the gap figure shows "
        "how far from the MAP training still is after each epoch.</p>"
    )
    budget = sgd_summary.get("at_budget")
    if budget:
        rows = "".join(
            f"<tr><td>{s:g}</td><td>{r:.3g}</td><td>{m:.3g}</td><td>{i:.0%}</td>"
            f"<td>{z1} / {z2} / {z3}</td></tr>"
            for s, r, m, i, z1, z2, z3 in zip(
                budget["strength"],
                budget["rel_dist_map"],
                budget["mahalanobis"],
                budget["share_inside"],
                budget["n_zero_sgd"],
                budget["n_zero_map"],
                budget["n_zero_post_median"],
                strict=True,
            )
        )
        text += (
            "<table class='summary'><tr><th>strength</th><th>‖w−w_map‖/‖w_map‖</th>"
            "<th>Mahalanobis</th><th>inside 94%</th><th>exact zeros: SGD / MAP / posterior "
            "median</th></tr>" + rows + "</table>"
        )
    if "converged" in sgd_summary:
        worst = max(sgd_summary["converged"]["rel_dist_map"])
        text += (
            f"<p>Run to convergence (full batch), SGD lands on the MAP at every strength: "
            f"the largest relative distance is {worst:.2g}.</p>"
        )
    if "strength_choice" in sgd_summary:
        c = sgd_summary["strength_choice"]
        text += (
            f"<p>Choosing the strength: the evidence picks {c['best_by_evidence']:.3g}, "
            f"exact leave-one-out cross-validation {c['best_by_loo']:.3g}, "
            f"the validation loss {c['best_by_validation']:.3g}, the test loss "
            f"{c.get('best_by_test', float('nan')):.3g}.</p>"
        )
    return (
        "Weight decay against the posterior",
        text,
        ["path", "path_converged", "map_gap", "forest", "strength_choice"],
    )


def rescaling_section(table, c):
    rows = "".join(
        f"<tr><td>{r['convention']}</td><td>{r['before']:.4g}</td>"
        f"<td>{r['after_same_model']:.4g}</td><td>{r['after_prior_fixed']:.4g}</td></tr>"
        for r in table
    )
    text = (
        f"<p>The targets were multiplied by {c:g}, and the noise scale with them. Each "
        "convention's strength for this card's prior, in the original units and after "
        "rescaling: if the model is the same in the new units (prior scale times "
        f"{c:g} too) an L2 strength does not change, since the squared-error objective is "
        f"multiplied by {c:g}² as a whole (an L1 strength grows by {c:g}, and a prior "
        "precision shrinks); if the prior is held at its old scale, the strength grows by "
        f"{c:g}² = {c * c:g}. A bias-free ReLU network of depth L spreads the factor over "
        f"its layers and needs {c:g}^(2 − 2/L) (for L = 2: {c:g}×).</p>"
        "<table class='summary'><tr><th>convention</th><th>before</th><th>after, same "
        "model</th><th>after, prior fixed</th></tr>" + rows + "</table>"
    )
    return ("What rescaling y did to the strength", text, [])
