"""Run a model card and write its results: one self-contained HTML report, the ArviZ
``DataTree`` as netCDF, the key numbers as JSON, and the figures as PNG.

Everything is written into a fresh temporary directory beside the output directory and
moved into place only when complete, so an interrupted run (Ctrl-C, a killed process)
leaves no partial report and never replaces a previous good one.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from bayes_reg import __version__
from bayes_reg.cards import STAGES, Card, CardError, load_data

__all__ = ["RunResult", "run_card", "write_outputs"]


@dataclass
class RunResult:
    """What a card run produced, before it is written."""

    card: Card
    tree: xr.DataTree
    summary: dict
    figures: dict = field(default_factory=dict)  # name -> matplotlib Figure
    sections: list = field(default_factory=list)  # (title, paragraph html, [figure names])


def run_card(
    card: Card, *, only=None, seed: int | None = None, progress: bool = True, log=print
) -> RunResult:
    """Run the stages of ``card`` (``map``, ``posterior``, ``sgd``; default all it defines)."""
    import jax
    import numpyro.distributions as dist

    from bayes_reg import figures
    from bayes_reg.compare import choose_strength, compare_path, map_gap
    from bayes_reg.conventions import to_penalty
    from bayes_reg.inference import sample_posterior
    from bayes_reg.map import map_estimate, map_model
    from bayes_reg.regression import linear_regression
    from bayes_reg.sgd import sgd_path

    stages = tuple(only) if only else STAGES
    for stage in stages:
        if stage not in STAGES:
            raise CardError(f"unknown stage {stage!r}; choose from {', '.join(STAGES)}")
    if "sgd" in stages and card.compare is None:
        raise CardError("stage 'sgd' needs a [compare] table in the card")
    seed = card.seed if seed is None else int(seed)
    data = load_data(card)
    X, y = data.X, data.y
    n = len(y)
    prior = card.prior(n)
    sigma = card.sigma if isinstance(card.sigma, float) else dist.HalfNormal(card.sigma["scale"])
    model_kw = {} if card.intercept_scale is None else {"intercept_scale": card.intercept_scale}
    timings, summary = (
        {},
        {
            "card": str(card.path),
            "title": card.title,
            "seed": seed,
            "stages": list(stages),
            "n_train": n,
            "n_features": X.shape[1],
            "prior": _prior_json(prior),
            "sigma": card.sigma,
            "versions": _versions(),
            "device": str(jax.devices()[0]),
            "platform": platform.platform(),
        },
    )
    result = RunResult(card, xr.DataTree(), summary)
    result.sections.append(("The analysis", _intro(card, prior, n, X.shape[1]), []))

    if "posterior" in stages:
        log(
            f"posterior: {card.posterior['method']} "
            f"({card.posterior['chains']} chains x {card.posterior['draws']} draws)"
        )
        start = time.perf_counter()
        post = sample_posterior(
            X,
            y,
            prior=prior,
            sigma=sigma,
            method=card.posterior["method"],
            chains=card.posterior["chains"],
            warmup=card.posterior["warmup"],
            draws=card.posterior["draws"],
            seed=seed,
            feature_names=data.feature_names,
            progress=progress,
            **model_kw,
        )
        timings["posterior"] = time.perf_counter() - start
        result.tree = post.tree
        d = post.diagnostics
        summary["posterior"] = {
            "exact": post.exact,
            "sampler": post.tree.attrs.get("sampler"),
            "diagnostics": {
                "max_rhat": d.max_rhat,
                "min_ess_bulk": d.min_ess_bulk,
                "min_ess_tail": d.min_ess_tail,
                "divergences": d.divergences,
                "tree_depth_hits": d.max_tree_depth_hits,
                "min_bfmi": d.min_bfmi,
                "problems": list(d.problems),
            },
            "w_mean": _floats(post.tree["posterior"]["w"].mean(("chain", "draw"))),
            "w_sd": _floats(post.tree["posterior"]["w"].std(("chain", "draw"))),
            "b_mean": float(post.tree["posterior"]["b"].mean()),
        }
        result.sections.append(_posterior_section(post, result))

    if "map" in stages:
        start = time.perf_counter()
        if isinstance(sigma, float):
            est = map_estimate(X, y, prior, sigma)
            w_map, b_map = np.asarray(est.w), float(est.b)
        else:
            mode = map_model(
                linear_regression,
                X,
                y,
                prior=prior,
                sigma=sigma,
                parametrization="direct",
                seed=seed,
                **model_kw,
            )
            w_map, b_map = np.asarray(mode["w"]), float(mode["b"])
        timings["map"] = time.perf_counter() - start
        result.tree["map"] = xr.Dataset(
            {"w": ("feature", w_map), "b": b_map}, coords={"feature": data.feature_names}
        )
        summary["map"] = {"w": w_map.tolist(), "b": b_map}
        if "posterior" in result.tree:
            result.figures["posterior_vs_map"] = figures.plot_posterior_vs_map(
                result.tree["posterior"].to_dataset(), w_map
            )
            result.sections.append(_map_section(prior))

    if "sgd" in stages:
        cmp_cfg = card.compare
        grid = card.strengths()
        log(f"sgd: {cmp_cfg['optimizer']} at {grid.size} strengths, {cmp_cfg['epochs']} epochs")
        start = time.perf_counter()
        path = sgd_path(
            X,
            y,
            grid,
            optimizer=cmp_cfg["optimizer"],
            lr=cmp_cfg["lr"],
            epochs=cmp_cfg["epochs"],
            batch_size=cmp_cfg["batch_size"],
            seed=seed,
            X_test=data.X_test,
            y_test=data.y_test,
            record_weights=True,
            feature_names=data.feature_names,
        )
        converged = None
        if "converge_epochs" in cmp_cfg:
            converged = sgd_path(
                X,
                y,
                grid[grid > 0],
                optimizer=cmp_cfg["optimizer"],
                lr=cmp_cfg.get("converge_lr", cmp_cfg["lr"]),
                epochs=cmp_cfg["converge_epochs"],
                batch_size=n,
                seed=seed,
                X_test=data.X_test,
                y_test=data.y_test,
                feature_names=data.feature_names,
            )
        timings["sgd"] = time.perf_counter() - start
        result.tree["sgd_path"] = path.drop_vars("w_epoch")
        sgd_summary = {
            "optimizer": cmp_cfg["optimizer"],
            "strengths": grid.tolist(),
            "w_norm": path.w_norm.values.tolist(),
        }
        if isinstance(sigma, float) and np.any(grid > 0):
            start = time.perf_counter()
            post_kw = {
                "method": card.posterior["method"],
                "chains": card.posterior["chains"],
                "warmup": card.posterior["warmup"],
                "draws": card.posterior["draws"],
                "seed": seed,
            }
            budget = compare_path(
                path, X, y, sigma=sigma, X_test=data.X_test, y_test=data.y_test, **post_kw
            )
            gap = map_gap(path, X, y)
            result.tree["comparison"] = budget
            result.figures["path"] = figures.plot_path(budget)
            result.figures["map_gap"] = figures.plot_map_gap(gap)
            sgd_summary["at_budget"] = _metrics(budget)
            if converged is not None:
                conv = compare_path(
                    converged, X, y, sigma=sigma, X_test=data.X_test, y_test=data.y_test, **post_kw
                )
                result.tree["comparison_converged"] = conv
                result.figures["path_converged"] = figures.plot_path(conv)
                sgd_summary["converged"] = _metrics(conv)
            # The card's own prior, as a strength of the optimiser's convention.
            own = to_penalty(path.attrs["convention"], prior, n=n, sigma=sigma).strength
            hit = np.isclose(budget.strength.values, own, rtol=1e-6)
            if hit.any():
                result.figures["forest"] = figures.plot_forest(
                    budget,
                    float(budget.strength.values[hit][0]),
                    features=list(budget.feature.values[: min(12, budget.sizes["feature"])]),
                )
            select = card.strengths("select_strengths")
            if select is not None and data.X_test is not None:
                half = len(data.y_test) // 2
                choice = choose_strength(
                    X,
                    y,
                    select[select > 0],
                    sigma=sigma,
                    X_val=data.X_test[:half],
                    y_val=data.y_test[:half],
                    X_test=data.X_test[half:],
                    y_test=data.y_test[half:],
                    convention=path.attrs["convention"],
                )
                result.tree["strength_choice"] = choice
                result.figures["strength_choice"] = figures.plot_strength_choice(choice)
                sgd_summary["strength_choice"] = dict(choice.attrs)
            timings["compare"] = time.perf_counter() - start
        summary["sgd"] = sgd_summary
        result.sections.append(_sgd_section(path, sgd_summary))

    scale_y = card.data.get("scale_y", 1.0)
    if scale_y != 1.0 and isinstance(sigma, float):
        table = _rescaling_table(prior, n, sigma, scale_y)
        summary["target_scale"] = table
        result.sections.append(_rescaling_section(table, scale_y))

    summary["timings_s"] = timings
    return result


def _rescaling_table(prior, n: int, sigma: float, c: float) -> list[dict]:
    """Each convention's strength for the card's prior, before and after ``y *= c``."""
    from bayes_reg.conventions import CONVENTIONS, to_penalty
    from bayes_reg.priors import split_scales

    g, lap = split_scales(prior)
    unscaled = type(prior)(*(v / c for v in (g, lap) if v is not None))
    rows = []
    for name, conv in CONVENTIONS.items():
        if prior.family not in conv.families:
            continue
        rows.append(
            {
                "convention": name,
                "before": to_penalty(name, unscaled, n=n, sigma=sigma / c).strength,
                "after_same_model": to_penalty(name, prior, n=n, sigma=sigma).strength,
                "after_prior_fixed": to_penalty(name, unscaled, n=n, sigma=sigma).strength,
            }
        )
    return rows


def write_outputs(result: RunResult, out_dir: str | Path) -> Path:
    """Write report.html, posterior.nc, summary.json and the PNGs, atomically."""
    out = Path(out_dir).resolve()
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    if not os.access(parent, os.W_OK):
        raise CardError(f"--out {out}: cannot write into {parent}; choose a writable folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the results are ordinary files
    try:
        pngs = {}
        for name, fig in result.figures.items():
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=100)  # rendered once: the file and the page
            (tmp / f"{name}.png").write_bytes(buf.getvalue())
            pngs[name] = base64.b64encode(buf.getvalue()).decode()
        if result.tree.children:
            result.tree.to_netcdf(tmp / "posterior.nc", engine="h5netcdf")
        (tmp / "summary.json").write_text(json.dumps(result.summary, indent=2, default=_json))
        (tmp / "report.html").write_text(_html(result, pngs))
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Replace ``out`` by ``tmp``: the old results stay until the new ones are complete."""
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


# --- summary helpers ---------------------------------------------------------------------


def _floats(da) -> list[float]:
    return [float(v) for v in np.asarray(da).ravel()]


def _json(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _prior_json(prior) -> dict:
    return {"family": prior.family} | {k: float(v) for k, v in vars(prior).items()}


def _metrics(comparison: xr.Dataset) -> dict:
    keys = [
        k
        for k in (
            "rel_dist_map",
            "mahalanobis",
            "share_inside",
            "test_loss_sgd",
            "test_loss_map",
            "test_loss_post_mean",
            "test_lppd",
            "n_zero_sgd",
            "n_zero_map",
            "n_zero_post_median",
        )
        if k in comparison
    ]
    return {"strength": comparison.strength.values.tolist()} | {
        k: comparison[k].values.tolist() for k in keys
    }


def _versions() -> dict:
    import arviz
    import jax
    import numpyro
    import optax

    return {
        "bayes_reg": __version__,
        "jax": jax.__version__,
        "numpyro": numpyro.__version__,
        "optax": optax.__version__,
        "arviz": arviz.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


# --- report sections ---------------------------------------------------------------------


def _intro(card: Card, prior, n: int, d: int) -> str:
    spec = card.prior_spec
    how = (
        f"the penalty <code>{spec['convention']}</code> strength {spec['strength']:g}, "
        "converted exactly into the prior it encodes"
        if "convention" in spec
        else "given directly"
    )
    return (
        f"<p>{html.escape(card.description)}</p><p>Data: <code>{card.data['source']}"
        f"</code>, {n} training rows, {d} features. Prior on each weight: "
        f"<b>{html.escape(repr(prior))}</b> ({how}). A penalty is a prior: the MAP "
        "estimate under this prior is the penalised fit, and the posterior says how "
        "much the data leave uncertain around it.</p>"
    )


def _posterior_section(post, result: RunResult):
    import arviz_plots
    import arviz_stats

    d = post.diagnostics
    names = [v for v in ("b", "sigma", "w") if v in post.tree["posterior"]]
    table = arviz_stats.summary(post.tree, var_names=names, ci_prob=0.94).head(25)
    how = (
        "These are exact, independent draws from the closed-form posterior (a Gaussian "
        "prior with known noise is conjugate): no sampler was needed, and the diagnostics "
        "are those of i.i.d. draws."
        if post.exact
        else "NUTS drew these samples. Check the diagnostics before trusting the summaries."
    )
    if d.problems:
        warn = "<ul class='warn'>" + "".join(f"<li>{html.escape(p)}</li>" for p in d.problems)
        warn += "</ul>"
    else:
        warn = (
            f"<p class='ok'>All checks pass: max R-hat {d.max_rhat:.3f}, min bulk ESS "
            f"{d.min_ess_bulk:.0f}, {d.divergences} divergences.</p>"
        )
    shown = {"feature": list(post.tree["posterior"]["w"].feature.values[:4])}
    rank = arviz_plots.plot_rank_dist(
        post.tree, var_names=names, coords=shown, backend="matplotlib"
    )
    result.figures["rank"] = rank.get_viz("figure")
    text = (
        f"<p>{how} The table gives the posterior mean, sd, the central 94% interval, "
        "the effective sample sizes, R-hat and the Monte-Carlo standard errors (first 25 "
        f"rows).</p>{warn}{table.to_html(classes='summary')}<p>Rank plots: for well-mixed "
        "chains each chain's ranks are uniform (flat lines near the middle).</p>"
    )
    return ("The posterior", text, ["rank"])


def _map_section(prior):
    return (
        "MAP and posterior",
        "<p>Each coefficient's posterior 94% interval and mean, with "
        "the MAP (the penalised fit) as a cross. Under a Gaussian prior the MAP is the "
        "posterior mean; under a Laplace prior the MAP sets coefficients exactly to zero "
        "while the posterior mean and median never are zero: sparsity is a property of "
        "the mode, not of the posterior.</p>",
        ["posterior_vs_map"],
    )


def _sgd_section(path, sgd_summary):
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
            f"the validation loss {c['best_by_validation']:.3g}, the test loss "
            f"{c.get('best_by_test', float('nan')):.3g}.</p>"
        )
    return (
        "Weight decay against the posterior",
        text,
        ["path", "path_converged", "map_gap", "forest", "strength_choice"],
    )


def _rescaling_section(table, c):
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


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.5}h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;margin-top:2em}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}table.summary{border-collapse:collapse;
font-size:.85em}table.summary td,table.summary th{border:1px solid #ddd;padding:2px 6px;
text-align:right}.warn li{color:#a40000}.ok{color:#1a6b1a}code{background:#f4f4f4;
padding:0 3px}footer{margin-top:3em;font-size:.8em;color:#666}"""


def _html(result: RunResult, pngs: dict) -> str:
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>"
        f"{html.escape(result.card.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(result.card.title)}</h1>",
    ]
    for title, text, names in result.sections:
        parts.append(f"<h2>{html.escape(title)}</h2>{text}")
        for name in names:
            if name in pngs:
                parts.append(f"<img alt='{name}' src='data:image/png;base64,{pngs[name]}'>")
    s = result.summary
    parts.append(
        f"<footer>seed {s['seed']}; stages {', '.join(s['stages'])}; device "
        f"{html.escape(s['device'])}; timings (s) "
        f"{html.escape(json.dumps({k: round(v, 2) for k, v in s['timings_s'].items()}))};"
        f" versions {html.escape(json.dumps(s['versions']))}; card "
        f"{html.escape(s['card'])}</footer></body></html>"
    )
    return "\n".join(parts)
