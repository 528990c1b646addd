"""Figures of the prior–penalty comparison (matplotlib; each function returns its Figure).

Inputs are the xarray results of :mod:`bayes_reg.compare` and :mod:`bayes_reg.sgd`, so the
figures can be redrawn from a saved result without refitting anything.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib import ticker

from bayes_reg.linear.compare import INTERVAL
from bayes_reg.linear.names import DISCRETE

__all__ = [
    "plot_path",
    "plot_strength_choice",
    "plot_forest",
    "plot_map_gap",
    "plot_posterior_vs_map",
    "plot_rank",
    "plot_laplace_vs_nuts",
    "plot_predictive_check",
    "plot_held_out",
]

_SGD, _MAP, _POST = "tab:orange", "black", "tab:blue"
#: The most coefficients a one-row-per-coefficient figure draws unless told which.
_MAX_ROWS = 30
_PATH_TITLE = "Regularisation path: SGD and MAP inside the posterior"


def _features(comparison: xr.Dataset, features, k: int = 6) -> tuple[list, str]:
    """The features to draw, and how they were chosen (for :func:`_cut_note`).

    Without ``features``: the ``k`` largest ``|w_map|`` at the weakest strength.
    """
    names = list(comparison.feature.values)
    if features is not None:
        feats = list(features)
        return feats, "first" if feats == names[: len(feats)] else "a selection"
    # The k coefficients that matter most under the weakest prior.
    weakest = int(np.argmin(comparison.strength.values))
    size = np.abs(comparison.w_map.isel(strength=weakest).values)
    feats = [names[i] for i in np.argsort(size)[::-1][:k]]
    strength = float(comparison.strength.values[weakest])
    return feats, f"largest |MAP| at the weakest strength ({strength:.3g})"


def _cut_note(shown: int, total: int, how: str) -> str:
    """A title's note saying which features a figure shows, or ``""`` if it shows them all.

    >>> _cut_note(30, 200, "first"), _cut_note(6, 10, "a selection"), _cut_note(8, 8, "first")
    ('first 30 of 200 features', '6 of 10 features, a selection', '')
    """
    if shown >= total:
        return ""
    if how == "first":
        return f"first {shown} of {total} features"
    return f"{shown} of {total} features, {how}"


def _with_note(title: str, note: str) -> str:
    return f"{title}\n{note}" if note else title


def _log_strength_axis(ax: plt.Axes, strengths) -> None:
    """A log x axis for ``strengths`` whose tick labels do not collide.

    Matplotlib labels minor ticks (2×10⁰, 3×10⁰, …) when the axis spans only a decade or
    so, and those labels overlap. Over at most two decades the ticks are 1, 2 and 5 per
    decade, written plainly (0.5, 1, 2, 5); over more, at most six powers of ten. Minor
    ticks are never labelled.
    """
    ax.set_xscale("log")
    s = np.asarray(strengths, dtype=float)
    s = s[s > 0]
    decades = np.log10(s.max() / s.min()) if s.size else 0.0
    if decades <= 2:
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        ax.xaxis.set_major_locator(ticker.LogLocator(numticks=6))
        ax.xaxis.set_major_formatter(ticker.LogFormatterSciNotation())
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def plot_path(comparison: xr.Dataset, features=None, *, title: str | None = None) -> plt.Figure:
    """SGD and MAP coefficients over the strength, inside the posterior's 94% intervals.

    One panel per coefficient (default: the six largest ``|MAP|`` under the weakest prior).

    Parameters
    ----------
    comparison : xarray.Dataset
        A result of :func:`~bayes_reg.linear.compare.compare_path`.
    features : list, optional
        The features to draw, one panel each.
    title : str, optional
        The figure's title (default "Regularisation path: SGD and MAP inside the
        posterior"); say which path it is when a report draws more than one. When the
        figure leaves features out, a second line says which ones it shows.
    """
    feats, how = _features(comparison, features)
    ncols = min(3, len(feats))
    nrows = int(np.ceil(len(feats) / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4 * ncols, 3 * nrows), squeeze=False, sharex=True
    )
    s = comparison.strength.values
    for ax, f in zip(axes.flat, feats, strict=False):
        c = comparison.sel(feature=f)
        ax.fill_between(
            s,
            c.post_low,
            c.post_high,
            color=_POST,
            alpha=0.25,
            label=f"posterior {comparison.attrs.get('interval', 0.94):.0%}",
        )
        ax.plot(s, c.post_mean, color=_POST, lw=1, label="posterior mean")
        ax.plot(s, c.w_map, color=_MAP, lw=1.5, ls="--", label="MAP")
        ax.plot(s, c.w_sgd, "o", color=_SGD, ms=4, label="SGD")
        ax.axhline(0, color="grey", lw=0.5)
        _log_strength_axis(ax, s)
        ax.set_title(f"w[{f}]", fontsize=10)
    for ax in axes.flat[len(feats) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel(f"strength ({comparison.attrs.get('convention', '')} convention)")
    axes[0, 0].legend(fontsize=7, loc="best")
    note = _cut_note(len(feats), comparison.sizes["feature"], how)
    fig.suptitle(_with_note(_PATH_TITLE if title is None else title, note), fontsize=11)
    fig.tight_layout()
    return fig


def plot_strength_choice(choice: xr.Dataset, path: xr.Dataset | None = None) -> plt.Figure:
    """The strength each criterion picks, one panel per criterion so that each optimum shows:
    the log evidence and the leave-one-out elpd (higher is better), then the validation and
    test losses of the MAP (lower is better, on their own scale: the training loss, which only
    falls as the prior weakens, would flatten them). A dot marks each curve's optimum. With
    ``path`` (an SGD path at the chapter's budget) its final test loss is drawn too, dotted.
    """
    s = choice.strength.values
    panels = [("log_evidence", "log evidence", "evidence", "black")]
    if "elpd_loo" in choice:
        panels.append(("elpd_loo", "leave-one-out elpd", "leave-one-out", "tab:blue"))
    fig, axes = plt.subplots(len(panels) + 1, 1, figsize=(7, 2.2 * (len(panels) + 1)), sharex=True)
    for ax, (var, label, name, color) in zip(axes, panels, strict=False):
        values = choice[var].values
        ax.plot(s, values, color=color)
        i = np.argmax(values)
        ax.plot(s[i], values[i], "o", color=color, label=f"{name} picks {s[i]:.3g}")
        ax.set_ylabel(label)
        ax.legend(fontsize=7, loc="best", frameon=False)
    ax = axes[-1]
    curves = [("val_loss", "validation (MAP)", "tab:purple")]
    if "test_loss" in choice:
        curves.append(("test_loss", "test (MAP)", "tab:red"))
    for var, label, color in curves:
        values = choice[var].values
        i = np.argmin(values)
        ax.plot(s, values, color=color, label=label)
        ax.plot(s[i], values[i], "o", color=color, label=f"{label.split()[0]} picks {s[i]:.3g}")
    shown = np.concatenate([choice[var].values for var, _, _ in curves])
    if path is not None and "test_loss" in path:
        keep = path.strength.values > 0
        final = path["test_loss"].isel(epoch=-1).values[keep]
        ax.plot(path.strength.values[keep], final, ":", color="tab:red", label="test (SGD budget)")
    low, high = shown.min(), shown.max()
    ax.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))  # the MAP's curves
    ax.set_ylabel("loss, mean(r²/2)")
    ax.legend(fontsize=7, loc="best", frameon=False)
    _log_strength_axis(ax, s)
    ax.set_xlabel(f"strength ({choice.attrs.get('convention', '')} convention)")
    axes[0].set_title(
        "Choosing the strength: evidence, leave-one-out, validation, test", fontsize=11
    )
    fig.tight_layout()
    return fig


def _coefficient_intervals(feats, low, high, mean, w_map, w_sgd=None, title=None):
    """One row per coefficient: posterior interval and mean, the MAP, optionally SGD."""
    y = np.arange(len(feats))[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(feats) + 1.5))
    ax.hlines(y, low, high, color=_POST, lw=2, label=f"posterior {INTERVAL:.0%}")
    ax.plot(mean, y, "|", color=_POST, ms=12, label="posterior mean")
    ax.plot(w_map, y, "x", color=_MAP, label="MAP")
    if w_sgd is not None:
        ax.plot(w_sgd, y, "o", color=_SGD, mfc="none", label="SGD")
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_yticks(y, [str(f) for f in feats])
    ax.set_xlabel("coefficient")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def plot_forest(comparison: xr.Dataset, strength: float, features=None) -> plt.Figure:
    """Per coefficient at one strength: posterior mean and 94% interval, MAP and SGD.

    Without ``features`` all coefficients are drawn, or, of more than 30, the 30 largest
    ``|MAP|`` under the weakest prior; the title then says so.
    """
    if features is None and comparison.sizes["feature"] <= _MAX_ROWS:
        features = list(comparison.feature.values)
    feats, how = _features(comparison, features, k=_MAX_ROWS)
    c = comparison.sel(strength=strength, method="nearest").sel(feature=feats)
    title = _with_note(
        f"Coefficients at strength {float(c.strength):.3g} "
        f"(prior scale {float(c.prior_scale):.3g}): posterior, MAP, SGD",
        _cut_note(len(feats), comparison.sizes["feature"], how),
    )
    return _coefficient_intervals(
        feats, c.post_low, c.post_high, c.post_mean, c.w_map, c.w_sgd, title
    )


def plot_map_gap(gap: xr.DataArray) -> plt.Figure:
    """‖w_t − w_map‖ / ‖w_map‖ over epochs, one line per strength (log scale)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for s in gap.strength.values:
        ax.plot(gap.epoch, gap.sel(strength=s), label=f"strength {s:g}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("‖w − w_map‖ / ‖w_map‖")
    ax.set_title("How far SGD still is from the MAP", fontsize=11)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_posterior_vs_map(
    posterior: xr.Dataset, w_map, max_features: int = _MAX_ROWS
) -> plt.Figure:
    """Each weight's posterior mean and 94% interval, with the MAP estimate as a cross.

    Only the first ``max_features`` weights are drawn; the title says so when that leaves
    some out.
    """
    w = posterior["w"]
    feats = list(w.feature.values[:max_features])
    note = _cut_note(len(feats), w.sizes["feature"], "first")
    w = w.sel(feature=feats)
    tail = (1 - INTERVAL) / 2
    low, high = w.quantile([tail, 1 - tail], dim=("chain", "draw")).values
    mean = w.mean(("chain", "draw")).values
    title = _with_note(
        f"Posterior mean and {INTERVAL:.0%} interval of each weight, and the MAP", note
    )
    return _coefficient_intervals(
        feats, low, high, mean, np.asarray(w_map)[: len(feats)], title=title
    )


def plot_rank(
    tree, var_names: list[str], coords: dict | None = None, *, title: str, compact: bool = True
) -> plt.Figure | None:
    """ArviZ's rank plots of each chain's draws (arviz-plots ``plot_rank_dist``), titled;
    ``None`` for one chain, whose ranks have no other chain to be compared with (arviz-plots
    1.3.2 raises there, in its multi-chain uniformity test).

    For well-mixed chains every chain's ranks are uniform: flat lines near the middle.
    """
    import arviz_plots

    if tree["posterior"].sizes["chain"] < 2:
        return None

    plot = arviz_plots.plot_rank_dist(
        tree, var_names=var_names, coords=coords, compact=compact, backend="matplotlib"
    )
    fig = plot.get_viz("figure")
    fig.suptitle(title)
    return fig


def plot_laplace_vs_nuts(laplace: xr.Dataset, nuts: xr.Dataset, max_panels: int = 6) -> plt.Figure:
    """Marginal posteriors of the intercept and the first weights: the Laplace approximation's
    draws against NUTS's, as density histograms on a shared grid."""
    panels = [("b", None)] if "b" in nuts else []
    panels += [("w", f) for f in nuts["w"].feature.values]
    panels = panels[:max_panels]
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3), squeeze=False)
    for ax, (name, feature) in zip(axes[0], panels, strict=True):
        pick = {} if feature is None else {"feature": feature}
        a, b = (np.ravel(d[name].sel(pick).values) for d in (laplace, nuts))
        bins = np.histogram_bin_edges(np.concatenate([a, b]), bins=40)
        ax.hist(b, bins=bins, density=True, color=_POST, alpha=0.5, label="NUTS")
        ax.hist(a, bins=bins, density=True, histtype="step", color=_MAP, label="Laplace")
        ax.set_title(name if feature is None else f"w[{feature}]")
        ax.set_yticks([])
    axes[0][0].legend(fontsize="small")
    fig.suptitle("The Laplace approximation against NUTS: marginal posteriors")
    fig.tight_layout()
    return fig


def plot_predictive_check(tree, likelihood: str) -> plt.Figure:
    """The posterior predictive check that suits the outcome (arviz-plots): for a binary
    outcome the calibration curve (``plot_ppc_pava``: observed event rate against predicted
    probability, with the band replicated data fill), for counts (successes of a binomial
    too) the rootogram
    (``plot_ppc_rootogram``: observed against predicted frequency of each count)."""
    import arviz_plots

    if likelihood == "bernoulli":
        plot = arviz_plots.plot_ppc_pava(
            tree, var_names=["y"], data_type="binary", backend="matplotlib"
        )
        title = "Calibration: observed event rate against predicted probability"
    elif likelihood in DISCRETE:
        plot = arviz_plots.plot_ppc_rootogram(tree, var_names=["y"], backend="matplotlib")
        title = "Rootogram: observed (dots) and predicted frequency of each count"
    else:
        raise ValueError(f"no discrete predictive check for the {likelihood} likelihood")
    fig = plot.get_viz("figure")
    fig.suptitle(title)
    return fig


def plot_held_out(prediction: xr.Dataset, y, scores: dict) -> plt.Figure:
    """Held-out rows against their predictions: observed against the predictive mean with its
    central interval (the diagonal is a perfect prediction); for a binary outcome, the observed
    share of events in ten bins of predicted probability (the diagonal is calibration)."""
    y = np.asarray(y, float)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    if prediction.attrs["likelihood"] == "bernoulli":
        p = prediction["probability"].values
        bins = np.clip((p * 10).astype(int), 0, 9)
        filled = [b for b in range(10) if np.any(bins == b)]
        share = [y[bins == b].mean() for b in filled]
        mid = [p[bins == b].mean() for b in filled]
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, label="calibrated")
        ax.plot(mid, share, "o-", color=_POST, label="held-out rows, 10 bins")
        ax.set(xlabel="predicted probability", ylabel="observed share of events")
        title = f"accuracy {scores['accuracy']:.1%}, Brier {scores['brier']:.3f}"
    else:
        mean = prediction["mean"].values
        err = np.abs(np.vstack([prediction["lower"].values, prediction["upper"].values]) - mean)
        ax.errorbar(
            mean,
            y,
            xerr=err,
            fmt="o",
            ms=3,
            color=_POST,
            alpha=0.6,
            elinewidth=0.8,
            label=f"{prediction.attrs['coverage']:.0%} predictive interval",
        )
        ends = [min(mean.min(), y.min()), max(mean.max(), y.max())]
        ax.plot(ends, ends, color="0.4", lw=1, label="observed = predicted")
        ax.set(xlabel="predictive mean", ylabel="observed")
        title = f"RMSE {scores['rmse']:.3g}, coverage {scores['coverage']:.0%}"
    ax.set_title(f"{len(y)} held-out rows: {title}")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig
