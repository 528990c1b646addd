"""The report's sections as HTML, built from plain results (numbers, names, settings)."""

from __future__ import annotations

import html

from bayes_reg.run.card import Card

__all__ = [
    "dropout_intro",
    "dropout_section",
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
    noise = "" if model.noise is None else f", noise {html.escape(repr(model.noise))}"
    intercept = {True: "flat prior", False: "none"}.get(model.intercept, repr(model.intercept))
    return (
        f"<p>{html.escape(card.description)}</p><p>Data: <code>{card.data['source']}"
        f"</code>, {n} training rows, {d} features. Likelihood: <b>{model.likelihood}</b>"
        f"{noise}; intercept: {html.escape(intercept)}. Prior on each weight: "
        f"<b>{html.escape(repr(prior))}</b> ({how}). A penalty is a prior: the MAP "
        "estimate under this prior is the penalised fit, and the posterior says how "
        "much the data leave uncertain around it.</p>" + _design_note(data)
    )


def _design_note(data) -> str:
    """The formula, the standardising and the rows dropped for missing values, in words."""
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
    return note + ".</p>"


def dropout_intro(card: Card, data) -> str:
    src = card.data["source"]
    return (
        f"<p>{html.escape(card.description)}</p><p>Data: <code>{html.escape(src)}</code>, "
        f"{len(data.y)} training rows, {len(data.y_test)} test rows, {data.X.shape[1]} "
        f"input(s). A dropout network and the Bayesian network its weight decay implies "
        "are trained and sampled on the same rows, with the same architecture, "
        "standardisation and noise, and both predictives are scored on the test rows.</p>"
    )


_METRIC_COLUMNS = (
    ("rmse", "RMSE", "{:.4g}"),
    ("log_likelihood", "test log likelihood", "{:.4g}"),
    ("crps", "CRPS", "{:.4g}"),
    ("coverage_50", "coverage of 50%", "{:.0%}"),
    ("coverage_90", "coverage of 90%", "{:.0%}"),
    ("mean_sd", "mean predictive sd", "{:.4g}"),
)


def dropout_section(s: dict, data, truth: bool):
    st, bnn, d = s["settings"], s["bnn"], s["bnn"]["diagnostics"]
    names = {"mc_dropout": "MC dropout", "posterior": "posterior (NUTS)"}
    head = "".join(f"<th>{label}</th>" for _, label, _ in _METRIC_COLUMNS)
    rows = "".join(
        f"<tr><td>{names[source]}</td>"
        + "".join(f"<td>{fmt.format(m[key])}</td>" for key, _, fmt in _METRIC_COLUMNS)
        + "</tr>"
        for source, m in s["metrics"].items()
    )
    table = f"<table class='summary'><tr><th></th>{head}</tr>{rows}</table>"
    hidden = " → ".join(str(h) for h in st["hidden"])
    explain = (
        "<p><b>MC dropout</b> (Gal &amp; Ghahramani, 2016) keeps dropout switched on at "
        f"prediction time: each of the T = {st['passes']} stochastic forward passes of the "
        "trained network is one draw of the function f, and the predictive of a test point "
        "is the mixture (1/T) Σ<sub>t</sub> N(f<sub>t</sub>(x), 1/τ). The network "
        f"({data.X.shape[1]} → {hidden} → 1, ReLU) was trained with dropout rate "
        f"p = {st['rate']:g} on the input and hidden layers, Adam ({st['epochs']} epochs, "
        f"batch {st['batch_size']}, learning rate {st['learning_rate']:g}) and weight decay "
        "<b>λ = l² (1 − p) / (2 N τ)</b> = "
        f"{st['lengthscale']:g}² × (1 − {st['rate']:g}) / (2 × {st['n_train']} × "
        f"{st['tau']:g}) = {st['weight_decay']:.4g}, with prior length-scale "
        f"l = {st['lengthscale']:g}, N = {st['n_train']} training rows and model precision "
        f"τ = {st['tau']:g} (noise sd 1/√τ = {st['noise_sd']:.4g} in the units of y). "
        "That weight decay (Keras convention: mean squared error + λ Σ‖W‖² on the kernels, "
        "on standardised inputs and target) is the MAP of a Gaussian prior "
        "<b>N(0, s²)</b> on every weight with s = σ/√(Nλ) = "
        f"{st['prior_sd_standardised']:.4g} in standardised units (σ = "
        f"{st['noise_sd_standardised']:.4g} is the noise sd there); the biases get the same "
        "prior, since a flat one makes a ReLU network's posterior improper. The posterior "
        "of that same network under that prior, sampled by NUTS with the noise fixed at "
        "1/τ, is what MC dropout approximates.</p><p>Both predictives add the same noise "
        "1/τ to their draws of f, so <b>any difference between them is the spread of the "
        "function itself</b>. The table scores both on the test rows: RMSE of the "
        "predictive mean, mean test log likelihood (log-mean-exp over the draws), CRPS "
        "(lower is better), how often the central 50% and 90% predictive intervals cover "
        "the held-out y, and the mean predictive sd.</p>"
    )
    fr, pr = s["sd_ratio"]["function"], s["sd_ratio"]["predictive"]
    bands = (
        "<p>The first figure draws both predictives, mean ± 2 sd, over the training data"
        + (" and the true function" if truth else "")
        + ".</p>"
        if data.X.shape[1] == 1
        else ""
    )
    ratio = bands + (
        "<p><b>Reading the ratio plot.</b> At each test point it shows MC dropout's sd over "
        "the posterior's: of the function (orange) and of the predictive, noise included "
        "(blue). Below 1, MC dropout is more confident than the posterior of its own "
        "network; above 1, less. The predictive ratio is pulled towards 1 wherever the noise "
        "1/τ dominates the function's spread"
        + (
            ". With one input the ratios are drawn over x: compare them where the training "
            "inputs are dense with the gaps between them and the region beyond the data, "
            "where the posterior widens."
            if data.X.shape[1] == 1
            else ". With more than one input the test points are sorted by the "
            "posterior's function sd (left: where the posterior is surest)."
        )
        + f" Here the function-sd ratio runs from {fr['min']:.3g} to {fr['max']:.3g} "
        f"(median {fr['median']:.3g}; below 1 at "
        f"{s['sd_ratio']['share_function_below_1']:.0%} of the test points), the predictive "
        f"ratio from {pr['min']:.3g} to {pr['max']:.3g} (median {pr['median']:.3g}).</p>"
    )
    verdict = (
        "<p class='ok'>The chains agree on the function: R-hat ≤ 1.01, enough effective draws "
        "and no divergences, so the posterior row of the table is a trustworthy reference.</p>"
        if bnn["converged"]
        else "<p class='warn'><b>The chains do not (yet) agree on the function</b>: the "
        "posterior row of the table is not a reliable reference, and the comparison with "
        "MC dropout says as much about the sampler as about dropout. More draws, a longer "
        "warmup or a narrower prior (a larger length-scale) would help.</p>"
    )
    problems = (
        "<ul class='warn'>"
        + "".join(f"<li>{html.escape(p)}</li>" for p in d["problems"])
        + "</ul>"
        + _CARD_SETTINGS
        if d["problems"]
        else ""
    )
    depth = (
        "<p>A draw at the maximum tree depth spent 1023 leapfrog steps: the posterior of a "
        "network is narrow in some directions and long in others, so NUTS is slow here"
        + (
            "; with R-hat, ESS and divergences fine the draws are still usable.</p>"
            if bnn["converged"]
            else ", and a longer trajectory (or more draws) could explore further.</p>"
        )
        if d["tree_depth_hits"]
        else ""
    )
    total = bnn["chains"] * bnn["draws"]
    diagnostics = (
        "<p><b>Has NUTS converged?</b> Hidden units can be permuted without changing the "
        "function, so chains may sit in "
        "different but equivalent modes of the weights and the weights' R-hat means little: "
        "convergence is judged on the function values f at the test points. NUTS ran "
        f"{bnn['chains']} chains × {bnn['draws']} draws after {bnn['warmup']} warmup in "
        f"{bnn['seconds']:.0f} s. Over f: max R-hat {d['max_rhat']:.3f}, min bulk ESS "
        f"{d['min_ess_bulk']:.0f} and min tail ESS {d['min_ess_tail']:.0f} (of {total} "
        f"draws), {d['divergences']} divergent transitions, {d['tree_depth_hits']} of "
        f"{total} draws at the maximum tree depth, min E-BFMI {d['min_bfmi']:.2f}. The rank "
        "plots of f at four test points should be flat for every chain.</p>"
        + verdict
        + problems
        + depth
    )
    text = explain + table + ratio + diagnostics
    return (
        "MC dropout against the posterior of the same network",
        text,
        ["predictive_bands", "sd_ratio", "rank_f"],
    )


_CARD_SETTINGS = (
    "<p>The card sets NUTS's settings in its <code>[posterior]</code> table: "
    "<code>target_accept</code> (default 0.8; raise it towards 0.95 or 0.99 against "
    "divergences), <code>max_tree_depth</code> (default 10), <code>warmup</code> and "
    "<code>draws</code>.</p>"
)


def posterior_section(post, names: list[str]):
    """The posterior's summary table and checks; its rank plots are the figure ``rank``."""
    import arviz_stats

    d = post.diagnostics
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
        warn += "</ul>" + _CARD_SETTINGS
    else:
        warn = (
            f"<p class='ok'>All checks pass: max R-hat {d.max_rhat:.3f}, min bulk ESS "
            f"{d.min_ess_bulk:.0f}, {d.divergences} divergences.</p>"
        )
    text = (
        f"<p>{how} The table gives the posterior mean, sd, the central 94% interval, "
        "the effective sample sizes, R-hat and the Monte-Carlo standard errors (first 25 "
        f"rows).</p>{warn}{table.to_html(classes='summary')}<p>Rank plots: for well-mixed "
        "chains each chain's ranks are uniform (flat lines near the middle).</p>"
    )
    return ("The posterior", text, ["rank"])


def predictive_check_section(likelihood: str):
    """The posterior predictive check of a GLM: the figure ``predictive_check``."""
    what = (
        "the calibration curve: for observations grouped by their predicted probability "
        "(pooled adjacent violators), the observed share of events; the band is what data "
        "replicated from the posterior give. A curve outside the band means the model's "
        "probabilities are off where it leaves it."
        if likelihood == "bernoulli"
        else "the rootogram: how often each count was observed (dots) and how often the "
        "posterior predictive expects it (diamonds, with intervals), on a square-root "
        "scale. Observed zeros above their interval are excess zeros; a heavier observed "
        "tail is overdispersion the Poisson likelihood does not have."
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
