"""The report's sections of a dropout card: the approximate posteriors of the network, how
they were made, their scores and how far each is from NUTS's posterior of the same network."""

from __future__ import annotations

import html

from bayes_reg.nets.approximations import LABELS
from bayes_reg.run.card import Card
from bayes_reg.run.sections import CARD_SETTINGS

__all__ = ["approximations_section", "dropout_intro"]


def dropout_intro(card: Card, data) -> str:
    src = card.data["source"]
    return (
        f"<p>{html.escape(card.description)}</p><p>Data: <code>{html.escape(src)}</code>, "
        f"{len(data.y)} training rows, {len(data.y_test)} test rows, {data.X.shape[1]} "
        "input(s). The Bayesian network the dropout network's weight decay implies is "
        "sampled by NUTS, and every approximation of that same posterior is made on the "
        "same rows, with the same architecture, standardisation and noise; all predictives "
        "are scored on the test rows.</p>"
    )


_METRIC_COLUMNS = (
    ("rmse", "RMSE", "{:.4g}"),
    ("log_likelihood", "test log likelihood", "{:.4g}"),
    ("crps", "CRPS", "{:.4g}"),
    ("coverage_50", "coverage of 50%", "{:.0%}"),
    ("coverage_90", "coverage of 90%", "{:.0%}"),
    ("interval_score_90", "interval score (90%)", "{:.4g}"),
    ("miscalibration_area", "miscalibration area", "{:.3f}"),
    ("mean_sd", "mean predictive sd", "{:.4g}"),
)

#: What each approximation is, in a sentence (``{...}`` filled from the settings).
_METHODS = {
    "mc_dropout": "<b>MC dropout</b> (Gal &amp; Ghahramani, 2016): the network trained with "
    "dropout rate p = {rate:g} on the input and hidden layers, Adam ({epochs} epochs, batch "
    "{batch_size}, learning rate {learning_rate:g}), keeps dropout on at prediction time; "
    "each of T = {passes} stochastic passes is one draw of f.",
    "deep_ensemble": "<b>Deep ensemble</b> (Lakshminarayanan et al., 2017): {members} networks "
    "from independent initialisations and minibatch orders, each trained to a mode of the "
    "posterior (Adam, then full-batch L-BFGS; no dropout); each member is one draw of f.",
    "deep_ensemble_variance": "<b>Deep ensemble with a variance head</b>: the same, each "
    "network predicting its own noise variance, trained by the Gaussian negative log "
    "likelihood; the predictive adds each member's noise, not 1/τ.",
    "laplace": "<b>Laplace</b> (MacKay, 1992; Immer et al., 2021): the Gaussian at the first "
    "ensemble member's mode with the inverse generalised Gauss-Newton curvature as "
    "covariance, the prior the weight decay implies; the linearised (GLM) predictive.",
    "laplace_sampled": "<b>Laplace, sampled</b>: the same Gaussian, the network evaluated at "
    "weights drawn from it (no linearisation).",
    "laplace_marglik": "<b>Laplace, marginal likelihood</b>: the prior precision chosen by "
    "maximising the Laplace evidence at the mode (as laplace-torch does), linearised.",
    "mean_field_vi": "<b>Mean-field VI</b> (Blundell et al., 2015): an independent Gaussian "
    "per weight fitted by maximising the ELBO (NumPyro SVI, AutoNormal).",
    "swag": "<b>SWAG</b> (Maddox et al., 2019): the Gaussian of SGD's iterates at a constant "
    "learning rate from the mode (diagonal plus low rank); its width is set by the "
    "learning rate and batch, not by the posterior.",
}


def _target(st: dict) -> str:
    """The posterior every method approximates: the prior the weight decay implies."""
    return (
        "<p>The network has weight decay <b>λ = l² (1 − p) / (2 N τ)</b> = "
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
        "of that network under that prior, sampled by NUTS with the noise fixed at 1/τ, is "
        "the reference every approximation is measured against.</p>"
    )


def _metrics_table(s: dict) -> str:
    head = "".join(f"<th>{label}</th>" for _, label, _ in _METRIC_COLUMNS)
    rows = "".join(
        f"<tr><td>{LABELS[source]}</td>"
        + "".join(f"<td>{fmt.format(m[key])}</td>" for key, _, fmt in _METRIC_COLUMNS)
        + "</tr>"
        for source, m in s["metrics"].items()
    )
    return (
        "<p>Every predictive is a mixture of Gaussians, one per draw of f. The table scores "
        "each on the test rows: RMSE of the predictive mean, mean test log likelihood "
        "(log-mean-exp over the draws), CRPS, how often the central 50% and 90% intervals "
        "cover the held-out y, the 90% interval score (width plus 20 × how far y falls "
        "outside; lower is better), the miscalibration area (mean gap between the observed "
        "and nominal coverage of the central intervals at levels 5%, 10%, ..., 95%) and "
        f"the mean predictive sd.</p><table class='summary'><tr><th></th>{head}</tr>{rows}"
        "</table>"
    )


def _ranking_table(s: dict) -> str:
    rows = []
    for rank, method in enumerate(s["ranking"], 1):
        m, r = s["metrics"][method], s["sd_ratio"][method]["function"]
        seconds = s["approximations"][method]["seconds"]
        rows.append(
            f"<tr><td>{rank}</td><td>{LABELS[method]}</td>"
            f"<td>{m['mean_abs_log_function_sd_ratio']:.3g}</td>"
            f"<td>{r['min']:.3g} / {r['median']:.3g} / {r['max']:.3g}</td>"
            f"<td>{m['mean_abs_log_sd_ratio']:.3g}</td><td>{m['mean_shift_in_sd']:.3g}</td>"
            f"<td>{seconds:.1f}</td></tr>"
        )
    return (
        "<p><b>Which approximation is closest to the posterior?</b> Ranked by the mean over "
        "the test points of |log(function sd / posterior's function sd)|: 0 is the "
        "posterior's own spread everywhere, log 2 = 0.69 is twice or half of it on average. "
        "Beside it the function-sd ratio's min / median / max, the same mean for the "
        "predictive sd (noise included), and how far the predictive mean sits from the "
        "posterior's, in posterior predictive sds.</p><table class='summary'><tr><th>rank"
        "</th><th>method</th><th>mean |log fsd ratio|</th><th>fsd ratio min / median / max"
        "</th><th>mean |log sd ratio|</th><th>mean shift (sd)</th><th>seconds</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _figures_text(s: dict, data, truth: bool) -> str:
    one_input = data.X.shape[1] == 1
    bands = (
        "<p>The first figure draws the predictives, mean ± 2 sd, over the training data"
        + (" and the true function" if truth else "")
        + (
            ", one panel per approximation with the posterior's band in grey beneath it"
            if len(s["ranking"]) > 1
            else ""
        )
        + ".</p>"
        if one_input
        else ""
    )
    return bands + (
        "<p><b>Reading the ratio plot.</b> At each test point it shows each approximation's "
        "function sd over the posterior's. Below 1 the approximation is more confident than "
        "the posterior of its own network; above 1, less"
        + (
            ". With one input the ratios are drawn over x: compare them where the training "
            "inputs are dense with the gaps between them and the region beyond the data, "
            "where the posterior widens."
            if one_input
            else ". With more than one input the test points are sorted by the "
            "posterior's function sd (left: where the posterior is surest)."
        )
        + " The calibration plot shows how often each central interval covered the test "
        "rows against its nominal level: on the diagonal is calibrated, below it "
        "overconfident.</p>"
    )


def approximations_section(s: dict, data, truth: bool):
    """The approximations, their scores, their ranking against NUTS, and NUTS's checks."""
    st, bnn, d = s["settings"], s["bnn"], s["bnn"]["diagnostics"]
    methods = s["ranking"]
    hidden = " → ".join(str(h) for h in st["hidden"])
    how = "".join(f"<li>{_METHODS[m].format(**st)}</li>" for m in st["methods"])
    explain = (
        f"<p>One network ({data.X.shape[1]} → {hidden} → 1, ReLU), its posterior approximated "
        f"{len(methods)} way(s):</p><ul>{how}</ul>" + _target(st)
    )
    text = explain + _metrics_table(s) + _ranking_table(s) + _figures_text(s, data, truth)
    text += _nuts_check(bnn, d)
    title = (
        "MC dropout against the posterior of the same network"
        if methods == ["mc_dropout"]
        else "Approximate posteriors against the posterior of the same network"
    )
    return (title, text, ["predictive_bands", "sd_ratio", "calibration", "rank_f"])


def _nuts_check(bnn: dict, d: dict) -> str:
    verdict = (
        "<p class='ok'>The chains agree on the function: R-hat ≤ 1.01, enough effective draws "
        "and no divergences, so the posterior row of the table is a trustworthy reference.</p>"
        if bnn["converged"]
        else "<p class='warn'><b>The chains do not (yet) agree on the function</b>: the "
        "posterior row of the table is not a reliable reference, and the comparison says "
        "as much about the sampler as about the approximations. More draws, a longer "
        "warmup or a narrower prior (a larger length-scale) would help.</p>"
    )
    problems = (
        "<ul class='warn'>"
        + "".join(f"<li>{html.escape(p)}</li>" for p in d["problems"])
        + "</ul>"
        + CARD_SETTINGS
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
    return diagnostics
