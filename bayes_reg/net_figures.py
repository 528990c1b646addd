"""Figures of approximate posteriors of a network against its NUTS posterior (matplotlib; each
function returns its Figure).

Inputs are the xarray results of
:func:`bayes_reg.nets.compare_dropout.compare_predictives`: ``by_input`` over (``source``,
``test_obs``) and ``calibration`` over (``source``, ``level``), whose last source is
``"posterior"``; so each figure can be redrawn from a saved result without refitting
anything. Every figure gives a method the same colour (:data:`COLORS`); the posterior is
always dark grey.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

__all__ = ["COLORS", "plot_calibration", "plot_predictive_bands", "plot_sd_ratio"]

#: The colour of each method in every figure of this module; the posterior is dark grey.
COLORS = {
    "mc_dropout": "tab:orange",
    "deep_ensemble": "tab:blue",
    "deep_ensemble_variance": "tab:cyan",
    "laplace": "tab:green",
    "laplace_sampled": "tab:olive",
    "laplace_marglik": "tab:brown",
    "mean_field_vi": "tab:purple",
    "swag": "tab:red",
    "posterior": "0.35",
}
# Methods the palette does not know take these, in order of appearance.
_SPARE = ("tab:pink", "gold", "navy", "teal", "maroon", "lime")
_TRAIN, _TRUTH = "black", "black"
_RATIOS = {"function": "function_sd_ratio", "predictive": "sd_ratio"}


def _labels(labels: Mapping[str, str] | None) -> Mapping[str, str]:
    if labels is not None:
        return labels
    # Imported here: the approximations pull in every method's module.
    from bayes_reg.nets.approximations import LABELS

    return LABELS


def _style(sources, labels) -> dict[str, tuple[str, str]]:
    """Each source's (label, colour): the label from ``labels`` or the name itself."""
    spare = iter(_SPARE)
    out = {}
    for name in map(str, sources):
        color = COLORS.get(name) or next(spare, "0.6")
        out[name] = (labels.get(name, name.replace("_", " ")), color)
    return out


def _methods(ds: xr.Dataset, argument: str) -> list[str]:
    """The approximations of ``ds`` (every source but ``"posterior"``), checked."""
    sources = [str(s) for s in ds["source"].values]
    if "posterior" not in sources:
        raise ValueError(
            f"{argument} must have a 'posterior' source (compare_predictives's result), "
            f"got sources {sources}"
        )
    methods = [s for s in sources if s != "posterior"]
    if not methods:
        raise ValueError(f"{argument} has no approximation besides the posterior")
    return methods


def _one_input(x_test) -> bool:
    return x_test is not None and (np.ndim(x_test) == 1 or np.shape(x_test)[-1] == 1)


def _band(ax, x, by_input, source, label, color, alpha=0.25, lw=1.5):
    m = by_input["mean"].sel(source=source).values
    sd = by_input["sd"].sel(source=source).values
    ax.fill_between(x, m - 2 * sd, m + 2 * sd, color=color, alpha=alpha, label=f"{label} ± 2 sd")
    ax.plot(x, m, color=color, lw=lw)


def plot_predictive_bands(
    by_input: xr.Dataset,
    x_test,
    X_train,
    y_train,
    *,
    truth=None,
    labels: Mapping[str, str] | None = None,
) -> plt.Figure:
    """Predictive bands (mean ± 2 sd) of each approximation and of the posterior over 1-D
    training data.

    With one approximation, one panel holds both bands. With more, one panel per
    approximation (titled by its label) draws its band and mean over the posterior's band in
    grey; the panels share their axes.

    Parameters
    ----------
    by_input : xarray.Dataset
        :func:`~bayes_reg.nets.compare_dropout.compare_predictives`'s second result: ``mean``
        and ``sd`` over (``source``, ``test_obs``), one source ``"posterior"``.
    x_test : array of shape (n_test,) or (n_test, 1)
        The inputs ``by_input`` was computed at.
    X_train, y_train : arrays of shape (n_samples,) or (n_samples, 1), and (n_samples,)
    truth : callable, optional
        The function that generated the data, drawn dotted.
    labels : mapping, optional
        Each source's name in titles and legends; default
        :data:`bayes_reg.nets.approximations.LABELS`.
    """
    if not _one_input(x_test):
        raise ValueError(
            f"x_test must hold one input feature, got shape {np.shape(x_test)}; "
            "draw plot_sd_ratio for inputs of more than one feature"
        )
    methods = _methods(by_input, "by_input")
    style = _style(by_input["source"].values, _labels(labels))
    x = np.ravel(x_test)
    order = np.argsort(x)
    by_input = by_input.isel(test_obs=order)
    x = x[order]
    post_label, post_color = style["posterior"]
    ncols = 1 if len(methods) == 1 else min(3, len(methods))
    nrows = int(np.ceil(len(methods) / ncols))
    size = (7, 4) if len(methods) == 1 else (4 * ncols, 3 * nrows)
    fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False, sharex=True, sharey=True)
    for ax, method in zip(axes.flat, methods, strict=False):
        label, color = style[method]
        _band(ax, x, by_input, "posterior", post_label, post_color, alpha=0.3, lw=1)
        _band(ax, x, by_input, method, label, color)
        if truth is not None:
            ax.plot(x, truth(x), color=_TRUTH, lw=1, ls=":", label="truth")
        ax.plot(np.ravel(X_train), y_train, ".", color=_TRAIN, ms=3, label="training data")
        if len(methods) > 1:
            ax.set_title(label, fontsize=10)
    for ax in axes.flat[len(methods) :]:
        ax.set_visible(False)
    _clip_to_posterior(axes, methods, by_input, y_train)
    for ax in axes[-1]:
        ax.set_xlabel("x")
    for ax in axes[:, 0]:
        ax.set_ylabel("y")
    axes[0, 0].legend(loc="best", fontsize=8 if len(methods) == 1 else 7)
    if len(methods) == 1:
        title = f"Predictive bands: {style[methods[0]][0]} vs the posterior of the same network"
        axes[0, 0].set_title(title)
    else:
        fig.suptitle(
            "Predictive bands (mean ± 2 sd) of each approximation over the posterior's (grey)",
            fontsize=11,
        )
    fig.tight_layout()
    return fig


def _clip_to_posterior(axes, methods, by_input, y_train) -> None:
    """The shared y axis spans the data and the posterior's band, with room to spare: one far
    too wide band would otherwise flatten every panel; a band cut off says so in its panel."""
    post = by_input.sel(source="posterior")
    low = min(float((post["mean"] - 2 * post["sd"]).min()), float(np.min(y_train)))
    high = max(float((post["mean"] + 2 * post["sd"]).max()), float(np.max(y_train)))
    pad = 0.5 * (high - low)
    lim = (low - pad, high + pad)
    for ax, method in zip(axes.flat, methods, strict=False):
        m = by_input.sel(source=method)
        if (
            float((m["mean"] - 2 * m["sd"]).min()) < lim[0]
            or float((m["mean"] + 2 * m["sd"]).max()) > lim[1]
        ):
            ax.text(
                0.5, 0.03, "band runs beyond the axes", transform=ax.transAxes,
                ha="center", fontsize=7, color="0.3",
            )  # fmt: skip
    axes[0, 0].set_ylim(*lim)


def _masked(values: np.ndarray) -> tuple[np.ndarray, int]:
    """``values`` with the ratios a log axis cannot draw (0, negative, inf, nan) as nan."""
    bad = ~(np.isfinite(values) & (values > 0))
    return np.where(bad, np.nan, values), int(bad.sum())


def _ratio_line(ax, x, values, label, **style) -> None:
    shown, bad = _masked(values)
    if bad == len(shown):
        label = f"{label} (0 or not finite everywhere: not drawn)"
    elif bad:
        label = f"{label} ({bad} of {len(shown)} points 0 or not finite: not drawn)"
    ax.plot(x, shown, label=label, **style)


def _ratio(by_input: xr.Dataset, var: str, method: str) -> np.ndarray:
    ratio = by_input[var]
    # A result saved when MC dropout was the only approximation has its ratios over test_obs.
    return (ratio.sel(source=method) if "source" in ratio.dims else ratio).values


def plot_sd_ratio(
    by_input: xr.Dataset,
    x_test=None,
    X_train=None,
    *,
    which: str = "function",
    labels: Mapping[str, str] | None = None,
) -> plt.Figure:
    """Each approximation's sd over the posterior's at each test point (log scale; 1 is the
    posterior).

    With one approximation both its function-sd and predictive-sd ratios are drawn; with
    more, one line per approximation of the ``which`` ratio. With 1-D ``x_test`` the ratio
    is drawn over the input (training inputs as ticks along the bottom); otherwise over the
    test points sorted by the posterior's function sd. Ratios a log axis cannot show (a
    collapsed ensemble's function sd is 0) are left out, and the legend says how many.

    Parameters
    ----------
    by_input : xarray.Dataset
        :func:`~bayes_reg.nets.compare_dropout.compare_predictives`'s second result.
    x_test : array of shape (n_test,) or (n_test, n_features), optional
    X_train : array of shape (n_samples,) or (n_samples, 1), optional
        Drawn as a rug when ``x_test`` is 1-D.
    which : {"function", "predictive"}
        The ratio to draw: of the function's sd, or of the predictive sd (noise included).
    labels : mapping, optional
        Each source's name in legends; default :data:`bayes_reg.nets.approximations.LABELS`.
    """
    if which not in _RATIOS:
        raise ValueError(f"which must be one of {', '.join(map(repr, _RATIOS))}, got {which!r}")
    methods = _methods(by_input, "by_input")
    style = _style(by_input["source"].values, _labels(labels))
    fig, ax = plt.subplots(figsize=(7, 3.5) if len(methods) == 1 else (9.5, 4.5))
    if _one_input(x_test):
        x = np.ravel(x_test)
        xlabel = "x"
    else:
        x = np.argsort(np.argsort(by_input["function_sd"].sel(source="posterior").values))
        xlabel = "test point (sorted by the posterior's function sd)"
    order = np.argsort(x)
    kind = {"function": "function sd", "predictive": "predictive sd"}[which]
    if len(methods) == 1:
        (method,) = methods
        label, color = style[method]
        other = "predictive" if which == "function" else "function"
        names = {
            "function": "function sd ratio",
            "predictive": "predictive sd ratio (noise included)",
        }
        for key, ls in ((which, "-"), (other, "--")):
            values = _ratio(by_input, _RATIOS[key], method)[order]
            _ratio_line(ax, x[order], values, names[key], color=color, ls=ls)
        ax.set_ylabel(f"{label} sd / posterior sd")
        ax.set_title(f"{label} sd over posterior sd at each test point", fontsize=11)
    else:
        for method in methods:
            label, color = style[method]
            values = _ratio(by_input, _RATIOS[which], method)[order]
            _ratio_line(ax, x[order], values, label, color=color)
        ax.set_ylabel(f"{kind} / posterior's {kind}")
        ax.set_title(f"Each approximation's {kind} over the posterior's at each test point")
    ax.axhline(1, color=style["posterior"][1], lw=0.8)
    if X_train is not None and xlabel == "x":
        # A rug in axes coordinates: on the log scale a tick at the linear axis' lower
        # limit (often below 0) would not be drawn at all.
        ax.plot(
            np.ravel(X_train),
            np.full(np.size(X_train), 0.03),
            "|",
            color=_TRAIN,
            ms=8,
            transform=ax.get_xaxis_transform(),
            label="training inputs",
        )
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    if len(methods) == 1:
        ax.legend(loc="best", fontsize=8)
    else:  # one entry per method: beside the lines, not over them
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def plot_calibration(
    calibration: xr.Dataset,
    metrics: xr.Dataset | None = None,
    *,
    labels: Mapping[str, str] | None = None,
) -> plt.Figure:
    """Observed against nominal coverage of each source's central intervals, the posterior
    dashed; on the diagonal a predictive is calibrated.

    Parameters
    ----------
    calibration : xarray.Dataset
        :func:`~bayes_reg.nets.compare_dropout.compare_predictives`'s third result:
        ``observed`` over (``source``, ``level``).
    metrics : xarray.Dataset, optional
        Its first result; with it each legend entry gives the source's
        ``miscalibration_area``.
    labels : mapping, optional
        Each source's name in the legend; default
        :data:`bayes_reg.nets.approximations.LABELS`.
    """
    _methods(calibration, "calibration")
    sources = [str(s) for s in calibration["source"].values]
    style = _style(sources, _labels(labels))
    levels = calibration["level"].values
    fig, ax = plt.subplots(figsize=(5.5, 5) if len(sources) <= 3 else (9, 5))
    ax.plot([0, 1], [0, 1], color="0.7", lw=1, label="calibrated")
    for source in [s for s in sources if s != "posterior"] + ["posterior"]:
        label, color = style[source]
        if metrics is not None and "miscalibration_area" in metrics:
            area = float(metrics["miscalibration_area"].sel(source=source))
            label = f"{label}, area {area:.3f}"
        posterior = source == "posterior"
        ax.plot(
            levels,
            calibration["observed"].sel(source=source).values,
            "--" if posterior else "-",
            marker="o",
            ms=3,
            color=color,
            lw=2 if posterior else 1.2,
            label=label,
        )
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal")
    ax.set_xlabel("nominal coverage of the central interval")
    ax.set_ylabel("observed coverage on the test rows")
    title = "Calibration of each predictive on the test rows"
    if metrics is not None and "miscalibration_area" in metrics:
        title += "\n(area: mean |observed − nominal|)"
    ax.set_title(title, fontsize=11)
    if len(sources) <= 3:
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    else:  # one entry per method: beside the curves, not over them
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
