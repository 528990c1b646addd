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
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from bayes_reg import __version__
from bayes_reg.cards import STAGES, Card, CardError, load_data
from bayes_reg.results_dir import result_dir

__all__ = ["RunResult", "run_card", "strict_json", "write_outputs"]


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
    """Run the stages of ``card`` (``map``, ``posterior``, ``sgd`` of a linear card,
    ``dropout`` of a dropout card; default all the card can run)."""
    import jax
    import numpyro.distributions as dist

    from bayes_reg import figures
    from bayes_reg.compare import choose_strength, compare_path, map_gap
    from bayes_reg.conventions import to_penalty
    from bayes_reg.inference import sample_posterior
    from bayes_reg.map import map_estimate, map_model
    from bayes_reg.regression import linear_regression
    from bayes_reg.sgd import sgd_path

    stages = _stages(card, only)
    seed = card.seed if seed is None else int(seed)
    data = load_data(card)
    X, y = data.X, data.y
    n = len(y)
    timings = {}
    summary = {
        "card": str(card.path),
        "title": card.title,
        "kind": card.kind,
        "seed": seed,
        "stages": list(stages),
        "data": card.data["source"],
        "n_train": n,
        "n_test": 0 if data.y_test is None else len(data.y_test),
        "n_features": X.shape[1],
        "versions": _versions(),
        "device": str(jax.devices()[0]),
        "platform": platform.platform(),
    }
    result = RunResult(card, xr.DataTree(), summary)
    if card.dropout is not None:
        result.sections.append(("The analysis", _dropout_intro(card, data), []))
        _dropout_stage(card, data, seed, progress, log, result, timings)
        summary["timings_s"] = timings
        return result

    prior = card.prior(n)
    sigma = card.sigma if isinstance(card.sigma, float) else dist.HalfNormal(card.sigma["scale"])
    model_kw = {} if card.intercept_scale is None else {"intercept_scale": card.intercept_scale}
    summary |= {"prior": _prior_json(prior), "sigma": card.sigma}
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
            target_accept=card.posterior["target_accept"],
            max_tree_depth=card.posterior["max_tree_depth"],
            **model_kw,
        )
        timings["posterior"] = time.perf_counter() - start
        result.tree = post.tree
        d = post.diagnostics
        summary["posterior"] = {
            "exact": post.exact,
            "sampler": post.tree.attrs.get("sampler"),
            "diagnostics": _diagnostics_json(d),
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
                "target_accept": card.posterior["target_accept"],
                "max_tree_depth": card.posterior["max_tree_depth"],
            }
            budget = compare_path(
                path, X, y, sigma=sigma, X_test=data.X_test, y_test=data.y_test, **post_kw
            )
            gap = map_gap(path, X, y)
            result.tree["comparison"] = budget
            result.figures["path"] = figures.plot_path(
                budget,
                title=f"SGD at the training budget ({cmp_cfg['epochs']} epochs) against the "
                "MAP and the posterior",
            )
            result.figures["map_gap"] = figures.plot_map_gap(gap)
            sgd_summary["at_budget"] = _metrics(budget)
            if converged is not None:
                conv = compare_path(
                    converged, X, y, sigma=sigma, X_test=data.X_test, y_test=data.y_test, **post_kw
                )
                result.tree["comparison_converged"] = conv
                result.figures["path_converged"] = figures.plot_path(
                    conv,
                    title=f"SGD run to convergence ({cmp_cfg['converge_epochs']} full-batch "
                    "epochs) against the MAP and the posterior",
                )
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


def _stages(card: Card, only) -> tuple[str, ...]:
    """The stages to run: ``only`` (checked against the card), else all the card can run."""
    if not only:
        return card.stages
    for stage in only:
        if stage not in STAGES:
            raise CardError(f"unknown stage {stage!r}; choose from {', '.join(STAGES)}")
    for stage in only:
        if stage not in card.stages:
            raise CardError(f"{card.why_not(stage)} (this card runs: {', '.join(card.stages)})")
    return tuple(dict.fromkeys(only))


def _dropout_stage(card: Card, data, seed: int, progress: bool, log, result, timings) -> None:
    """MC dropout against the Bayesian MLP: the tree, the summary, the figures, the section."""
    from bayes_reg import figures
    from bayes_reg.compare_dropout import dropout_vs_posterior

    cfg, budget = card.dropout, card.posterior
    log(
        f"dropout: rate {cfg['rate']:g}, tau {cfg['tau']:g}, hidden {cfg['hidden']}, "
        f"{cfg['epochs']} epochs, {cfg['passes']} MC passes; NUTS {budget['chains']} chains x "
        f"({budget['warmup']} + {budget['draws']})"
    )
    start = time.perf_counter()
    cmp = dropout_vs_posterior(
        data.X,
        data.y,
        data.X_test,
        data.y_test,
        dropout=cfg["rate"],
        tau=cfg["tau"],
        lengthscale=cfg["lengthscale"],
        hidden=tuple(cfg["hidden"]),
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        learning_rate=cfg["learning_rate"],
        passes=cfg["passes"],
        chains=budget["chains"],
        warmup=budget["warmup"],
        draws=budget["draws"],
        target_accept=budget["target_accept"],
        max_tree_depth=budget["max_tree_depth"],
        seed=seed,
        progress=progress,
    )
    total = time.perf_counter() - start
    timings |= {
        "dropout_training": cmp.net.seconds,
        "bnn_nuts": cmp.posterior.seconds,
        "mc_dropout_and_scores": total - cmp.net.seconds - cmp.posterior.seconds,
        "dropout": total,
    }
    settings = _dropout_settings(cmp, cfg, len(data.y))
    result.tree = _dropout_tree(cmp, data, settings)
    d = cmp.posterior.diagnostics
    fsd, psd = cmp.by_input["function_sd_ratio"].values, cmp.by_input["sd_ratio"].values
    result.summary["dropout"] = {
        "settings": settings,
        "metrics": {
            str(source): {k: float(v) for k, v in cmp.metrics.sel(source=source).items()}
            for source in cmp.metrics.source.values
        },
        "sd_ratio": {
            "function": _spread(fsd),
            "predictive": _spread(psd),
            "share_function_below_1": float(np.mean(fsd < 1)),
        },
        "training": {
            "final_loss": float(cmp.net.loss[-1]),
            "seconds": cmp.net.seconds,
        },
        "bnn": {
            "chains": budget["chains"],
            "warmup": budget["warmup"],
            "draws": budget["draws"],
            "seconds": cmp.posterior.seconds,
            "diagnostics_of": "f (the function at the test points)",
            "diagnostics": _diagnostics_json(d),
            "converged": bool(_bnn_converged(d)),
        },
    }
    truth = _truth(card)
    if data.X.shape[1] == 1:
        result.figures["predictive_bands"] = figures.plot_predictive_bands(
            cmp.by_input, data.X_test, data.X, data.y, truth=truth
        )
    result.figures["sd_ratio"] = figures.plot_sd_ratio(cmp.by_input, data.X_test, data.X)
    result.figures["rank_f"] = _rank_f(result.tree)
    result.sections.append(_dropout_section(result.summary["dropout"], data, truth is not None))


def _dropout_settings(cmp, cfg: dict, n: int) -> dict:
    attrs = cmp.posterior.tree.attrs
    return {
        "rate": cfg["rate"],
        "tau": cmp.net.tau,
        "noise_sd": 1.0 / np.sqrt(cmp.net.tau),
        "lengthscale": cfg["lengthscale"],
        "weight_decay": cmp.net.weight_decay,
        "weight_decay_formula": "lengthscale^2 (1 - rate) / (2 n_train tau), Keras convention",
        "prior_sd_standardised": float(attrs["prior_scale_standardised"]),
        "noise_sd_standardised": float(attrs["sigma_standardised"]),
        "y_mean": cmp.net.scaling.y_mean,
        "y_sd": cmp.net.scaling.y_sd,
        "n_train": n,
        "hidden": list(cfg["hidden"]),
        "epochs": cfg["epochs"],
        "batch_size": cfg["batch_size"],
        "learning_rate": cfg["learning_rate"],
        "passes": cfg["passes"],
    }


def _dropout_tree(cmp, data, settings: dict) -> xr.DataTree:
    """The file's layout for a dropout card: the Bayesian MLP's posterior under ArviZ's own
    group names, the MC-dropout draws beside it with the same ``f`` and ``test_obs``."""
    bnn = cmp.posterior.tree
    n_test = len(data.y_test)
    test_obs = np.arange(n_test)
    tree = xr.DataTree()
    tree["posterior"] = bnn["posterior"].to_dataset()
    tree["sample_stats"] = bnn["sample_stats"].to_dataset()
    tree["observed_data"] = xr.Dataset(
        {"y": ("obs", data.y)}, coords={"obs": np.arange(len(data.y))}
    )
    tree["constant_data"] = xr.Dataset(
        {
            "X": (("obs", "feature"), data.X),
            "X_test": (("test_obs", "feature"), data.X_test),
            "y_test": ("test_obs", data.y_test),
        },
        coords={
            "obs": np.arange(len(data.y)),
            "test_obs": test_obs,
            "feature": list(data.feature_names),
        },
    )
    attrs = {k: v for k, v in settings.items() if isinstance(v, int | float | str)}
    mc = xr.Dataset(
        {"f": (("pass", "test_obs"), cmp.mc.draws)},
        coords={"pass": np.arange(cmp.mc.draws.shape[0]), "test_obs": test_obs},
        attrs=attrs | {"hidden": np.asarray(settings["hidden"])},
    )
    mc["f"].attrs["description"] = (
        "MC-dropout passes: the network with dropout on, in the units of y; the predictive "
        "of each test point is the mixture over passes of N(f, 1 / tau)"
    )
    tree["mc_dropout"] = mc
    net = cmp.net
    layers = {}
    for i, layer in enumerate(net.params):
        layers[f"w{i}"] = ((f"in{i}", f"out{i}"), np.asarray(layer.w))
        layers[f"b{i}"] = ((f"out{i}",), np.asarray(layer.b))
    tree["dropout_net"] = xr.Dataset(
        {"loss": ("epoch", np.asarray(net.loss, float))} | layers,
        coords={"epoch": np.arange(1, len(net.loss) + 1)},
        attrs={
            "description": "the trained dropout network: weights act on standardised inputs "
            "and predict the standardised target; loss is each epoch's mean minibatch objective",
            "x_mean": np.asarray(net.scaling.x_mean, float),
            "x_sd": np.asarray(net.scaling.x_sd, float),
            "y_mean": net.scaling.y_mean,
            "y_sd": net.scaling.y_sd,
            "seconds": net.seconds,
        },
    )
    tree["metrics"] = cmp.metrics
    tree["by_input"] = cmp.by_input.assign_coords(test_obs=test_obs)
    tree.attrs.update(bnn.attrs)
    tree.attrs["model"] = (
        f"Bayesian MLP {tuple(settings['hidden'])} (ReLU) with the Gaussian prior the dropout "
        "network's weight decay implies, noise fixed at 1 / tau; groups posterior and "
        "sample_stats are its NUTS run, mc_dropout the dropout network's passes"
    )
    return tree


def _spread(values) -> dict:
    return {
        "min": float(np.min(values)),
        "median": float(np.median(values)),
        "max": float(np.max(values)),
    }


def _diagnostics_json(d) -> dict:
    return {
        "max_rhat": d.max_rhat,
        "min_ess_bulk": d.min_ess_bulk,
        "min_ess_tail": d.min_ess_tail,
        "divergences": d.divergences,
        "tree_depth_hits": d.max_tree_depth_hits,
        "min_bfmi": d.min_bfmi,
        "problems": list(d.problems),
    }


def _bnn_converged(d) -> bool:
    """The chains agree on the function: R-hat, ESS and divergences (tree-depth hits make
    sampling slow, not wrong)."""
    from bayes_reg.inference import ESS_MIN, RHAT_MAX

    return (
        d.max_rhat <= RHAT_MAX
        and min(d.min_ess_bulk, d.min_ess_tail) >= ESS_MIN
        and d.divergences == 0
    )


def _truth(card: Card):
    if card.data["source"] != "toy-gap":
        return None
    from bayes_reg.data import toy_gap_truth

    c = card.data.get("scale_y", 1.0)
    return lambda x: c * toy_gap_truth(x)


def _rank_f(tree: xr.DataTree):
    """Rank plots of f at four test points spread over the test set."""
    import arviz_plots

    n_test = tree["posterior"].sizes["test_obs"]
    shown = sorted({int(i) for i in np.linspace(0, n_test - 1, 4)})
    plot = arviz_plots.plot_rank_dist(
        tree, var_names=["f"], coords={"test_obs": shown}, compact=False, backend="matplotlib"
    )
    fig = plot.get_viz("figure")
    fig.suptitle(f"Rank plots of each chain's draws of f at test points {shown}")
    return fig


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
    """Write report.html, posterior.nc, summary.json and the PNGs into ``out_dir``.

    Atomically, and only into a new or empty folder or over a previous result
    (:mod:`bayes_reg.results_dir`); returns the absolute folder.
    """
    with result_dir(out_dir, protected=result.card.inputs) as tmp:
        pngs, alts = {}, {}
        for name, fig in result.figures.items():
            alts[name] = _alt_text(fig, name)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=100)  # rendered once: the file and the page
            (tmp / f"{name}.png").write_bytes(buf.getvalue())
            pngs[name] = base64.b64encode(buf.getvalue()).decode()
            plt.close(fig)  # pyplot keeps every figure open until closed
        if result.tree.children:
            result.tree.to_netcdf(tmp / "posterior.nc", engine="h5netcdf")
        (tmp / "summary.json").write_text(strict_json(result.summary))
        (tmp / "report.html").write_text(_html(result, pngs, alts))
    return Path(out_dir).expanduser().resolve()


def strict_json(value) -> str:
    """``value`` as strict JSON (RFC 8259): a number that does not exist (NaN, ±inf) is null."""
    return json.dumps(_plain(value), indent=2, allow_nan=False)


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


# --- summary helpers ---------------------------------------------------------------------


def _floats(da) -> list[float]:
    return [float(v) for v in np.asarray(da).ravel()]


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


def _dropout_intro(card: Card, data) -> str:
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


def _dropout_section(s: dict, data, truth: bool):
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
        warn += "</ul>" + _CARD_SETTINGS
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
    result.figures["rank"].suptitle(
        f"Rank plots of each chain's draws: {', '.join(names)}"
        f" (w at {', '.join(str(f) for f in shown['feature'])})"
    )
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
text-align:right}.warn li,p.warn{color:#a40000}.ok{color:#1a6b1a}code{background:#f4f4f4;
padding:0 3px}footer{margin-top:3em;font-size:.8em;color:#666}"""


def _alt_text(fig, name: str) -> str:
    """A figure's alternative text: its title, else its panels' titles, else its name."""
    title = fig.get_suptitle()
    if title:
        return title
    panels = [ax.get_title() for ax in fig.axes if ax.get_title()]
    if panels:
        return (
            f"{name.replace('_', ' ')}: "
            + "; ".join(panels[:6])
            + ("; ..." if len(panels) > 6 else "")
        )
    return name.replace("_", " ")


def _html(result: RunResult, pngs: dict, alts: dict) -> str:
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>"
        f"{html.escape(result.card.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(result.card.title)}</h1>",
    ]
    for title, text, names in result.sections:
        parts.append(f"<h2>{html.escape(title)}</h2>{text}")
        for name in names:
            if name in pngs:
                alt = html.escape(alts[name], quote=True)
                parts.append(f'<img alt="{alt}" src="data:image/png;base64,{pngs[name]}">')
    s = result.summary
    parts.append(
        f"<footer>seed {s['seed']}; stages {', '.join(s['stages'])}; device "
        f"{html.escape(s['device'])}; timings (s) "
        f"{html.escape(json.dumps({k: round(v, 2) for k, v in s['timings_s'].items()}))};"
        f" versions {html.escape(json.dumps(s['versions']))}; card "
        f"{html.escape(Path(s['card']).name)}</footer></body></html>"
    )
    return "\n".join(parts)
