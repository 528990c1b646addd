"""Running a model card: its stages in order (``posterior``, ``map``, ``sgd`` of a linear card;
``dropout`` of a dropout card), each adding its groups to the DataTree, its entries to the
summary, its figures and its report section. Writing them is :mod:`bayes_reg.run.page`'s job.
"""

from __future__ import annotations

import platform
import time

import jax
import numpy as np
import xarray as xr

from bayes_reg import figures
from bayes_reg.conventions import to_penalty
from bayes_reg.linear.compare import choose_strength, compare_path, map_gap
from bayes_reg.linear.fit import attach_design
from bayes_reg.linear.map import posterior_mode
from bayes_reg.linear.posterior import sample_posterior
from bayes_reg.linear.predict import predict, score
from bayes_reg.linear.sgd import sgd_path
from bayes_reg.rescaling import rescaling_table
from bayes_reg.run.card import Card, CardError, load_data
from bayes_reg.run.dropout_stage import dropout_stage
from bayes_reg.run.network_sections import dropout_intro
from bayes_reg.run.result import RunResult
from bayes_reg.run.sections import (
    held_out_section,
    intro_section,
    laplace_section,
    map_section,
    rescaling_section,
    sgd_section,
)
from bayes_reg.run.summary import (
    design_json,
    diagnostics_json,
    floats,
    intercept_json,
    noise_json,
    path_metrics,
    prior_json,
    versions,
)
from bayes_reg.run.workflow_stage import posterior_checks

__all__ = ["run_card"]


def run_card(
    card: Card, *, only=None, seed: int | None = None, progress: bool = True, log=print
) -> RunResult:
    """Run the stages of ``card`` (``map``, ``posterior``, ``sgd`` of a linear card,
    ``dropout`` of a dropout card; default all the card can run)."""
    stages = card.select_stages(only)
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
        "versions": versions(),
        "device": str(jax.devices()[0]),
        "platform": platform.platform(),
    }
    result = RunResult(card, xr.DataTree(), summary)
    if card.dropout is not None:
        result.sections.append(("The analysis", dropout_intro(card, data), []))
        dropout_stage(card, data, seed, progress, log, result, timings)
        summary["timings_s"] = timings
        return result

    # A penalty's row count is the weights' sum where rows are weighted (a weight of 2 counts
    # a row twice), as in the scikit-learn drop-ins.
    weight = data.sample_weight
    rows = n if weight is None else float(weight.sum())
    prior, noise, key = card.prior(rows, data.feature_names), card.noise, jax.random.key(seed)
    model_kw = card.model.kwargs | ({} if data.offset is None else {"offset": data.offset})
    if weight is not None:
        model_kw["sample_weight"] = weight
        summary["sample_weight"] = card.data["sample_weight"]
    if data.trials is not None:
        model_kw["trials"] = data.trials
        summary["trials"] = card.data["trials"]
    if not data.design.intercept:
        if card.model.intercept is not True and card.model.intercept is not False:
            raise CardError(
                "[data] formula removes the intercept and [model] intercept gives it a prior; "
                "keep one of the two"
            )
        model_kw["intercept"] = False
    summary["design"] = design_json(data)
    summary |= {
        "prior": prior_json(prior),
        "sigma": noise_json(noise),
        "likelihood": card.model.likelihood,
        "intercept": intercept_json(model_kw["intercept"]),
    }
    result.sections.append(("The analysis", intro_section(card, prior, data), []))

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
            sigma=noise,
            method=card.posterior["method"],
            sampler=card.sampler,
            seed=key,
            feature_names=data.feature_names,
            progress=progress,
            **model_kw,
        )
        timings["posterior"] = time.perf_counter() - start
        attach_design(post.tree, data.design)
        result.tree = post.tree
        d = post.diagnostics
        summary["posterior"] = {
            "exact": post.exact,
            "sampler": post.tree.attrs.get("sampler"),
            "diagnostics": diagnostics_json(d),
            "w_mean": floats(post.tree["posterior"]["w"].mean(("chain", "draw"))),
            "w_sd": floats(post.tree["posterior"]["w"].std(("chain", "draw"))),
            "b_mean": _moment(post.tree["posterior"], "b"),
            "sigma_mean": _moment(post.tree["posterior"], "sigma"),  # null: known or absent
            "sigma_sd": _moment(post.tree["posterior"], "sigma", "std"),
        }
        if "original_units" in post.tree:
            raw = post.tree["original_units"]
            summary["posterior"]["original_units"] = {
                "w_mean": floats(raw["w"].mean(("chain", "draw"))),
                "w_sd": floats(raw["w"].std(("chain", "draw"))),
                "b_mean": _moment(raw, "b"),
            }
        if data.X_test is not None:
            held_out = predict(
                post.tree,
                data.X_test,
                offset=data.offset_test,
                trials=data.trials_test,
                seed=jax.random.fold_in(key, 1),
            )
            scores = score(held_out, data.y_test)
            summary["held_out"] = scores
            result.tree["held_out"] = held_out[["mean", "sd", "lower", "upper"]].assign(
                y=("obs", data.y_test)
            )
            result.figures["held_out"] = figures.plot_held_out(held_out, data.y_test, scores)
            result.sections.append(held_out_section(scores, card.model.likelihood))
        posterior_checks(post, card.model.likelihood, result)
        if card.posterior["method"] == "laplace":
            log("posterior: NUTS, to set the Laplace approximation against")
            start = time.perf_counter()
            nuts = sample_posterior(
                X,
                y,
                prior=prior,
                sigma=noise,
                method="nuts",
                sampler=card.sampler,
                seed=key,
                feature_names=data.feature_names,
                progress=progress,
                **model_kw,
            )
            timings["posterior_nuts"] = time.perf_counter() - start
            result.tree["posterior_nuts"] = nuts.tree["posterior"].to_dataset()
            summary["posterior"]["laplace_vs_nuts"] = _laplace_vs_nuts(post, nuts)
            result.figures["laplace_vs_nuts"] = figures.plot_laplace_vs_nuts(
                post.tree["posterior"].to_dataset(), nuts.tree["posterior"].to_dataset()
            )
            result.sections.append(laplace_section(summary["posterior"]["laplace_vs_nuts"]))

    if "map" in stages:
        start = time.perf_counter()
        mode = posterior_mode(X, y, prior, sigma=noise, seed=key, **model_kw)
        w_map, b_map = mode["w"], (float(mode["b"]) if "b" in mode else None)
        timings["map"] = time.perf_counter() - start
        result.tree["map"] = xr.Dataset(
            {"w": ("feature", w_map)} | ({} if b_map is None else {"b": b_map}),
            coords={"feature": data.feature_names},
        )
        summary["map"] = {"w": w_map.tolist(), "b": b_map}
        if "posterior" in result.tree:
            result.figures["posterior_vs_map"] = figures.plot_posterior_vs_map(
                result.tree["posterior"].to_dataset(), w_map
            )
            result.sections.append(map_section(prior))

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
                feature_names=data.feature_names,  # no test set: its loss per epoch goes unused
            )
        timings["sgd"] = time.perf_counter() - start
        result.tree["sgd_path"] = path.drop_vars("w_epoch")
        sgd_summary = {
            "optimizer": cmp_cfg["optimizer"],
            "strengths": grid.tolist(),
            "w_norm": path.w_norm.values.tolist(),
        }
        if noise.known and np.any(grid > 0):  # a [compare] card is Gaussian (checked on load)
            start = time.perf_counter()
            sigma = noise.sigma
            post_kw = {"method": card.posterior["method"], "sampler": card.sampler, "seed": key}
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
            sgd_summary["at_budget"] = path_metrics(budget)
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
                sgd_summary["converged"] = path_metrics(conv)
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
        result.sections.append(sgd_section(path, sgd_summary))

    scale_y = card.data.get("scale_y", 1.0)
    if scale_y != 1.0 and noise is not None and noise.known:
        table = rescaling_table(prior, n=n, sigma=noise.sigma, factor=scale_y)
        summary["target_scale"] = table
        result.sections.append(rescaling_section(table, scale_y))

    summary["timings_s"] = timings
    return result


def _laplace_vs_nuts(laplace, nuts) -> dict:
    """Per scalar: the Laplace mean's shift in NUTS sds, and the sd ratio Laplace / NUTS."""
    out = {}
    for name in [v for v in ("b", "sigma") if v in nuts.tree["posterior"]] + ["w"]:
        a, b = laplace.pooled(name), nuts.pooled(name)
        labels = (
            [name]
            if a.ndim == 1
            else [f"w[{f}]" for f in nuts.tree["posterior"]["w"].feature.values]
        )
        shift = np.atleast_1d((a.mean(0) - b.mean(0)) / b.std(0))
        ratio = np.atleast_1d(a.std(0) / b.std(0))
        for label, s, r in zip(labels, shift, ratio, strict=True):
            out[str(label)] = {"mean_shift_in_nuts_sd": float(s), "sd_ratio": float(r)}
    return {
        "log_evidence": float(laplace.tree.attrs["log_evidence"]),
        "nuts_diagnostics": diagnostics_json(nuts.diagnostics),
        "by_scalar": out,
    }


def _moment(posterior, name: str, moment: str = "mean") -> float | None:
    """``posterior[name]``'s mean (or ``"std"``) over all draws; ``None`` without the site."""
    return float(getattr(posterior[name], moment)()) if name in posterior else None
