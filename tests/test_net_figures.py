"""The figures of approximate posteriors of a network against its NUTS posterior, drawn from
fake results of :func:`~bayes_reg.nets.compare_dropout.compare_predictives` (no fitting)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib.colors import to_rgba

from bayes_reg import net_figures
from bayes_reg.nets.approximations import LABELS

X_TEST = np.linspace(-3, 3, 60)
X_TRAIN = np.concatenate([np.linspace(-2.5, -1, 10), np.linspace(1, 2.5, 10)])
Y_TRAIN = np.sin(3 * X_TRAIN)
METHODS = ("mc_dropout", "deep_ensemble", "laplace", "swag")


def _by_input(x, methods=("mc_dropout",), fsd=None):
    """A fake :func:`compare_predictives` result: ``fsd`` maps a method to its function sd
    (default 0.02 everywhere); the posterior's is ``0.005 + 2 x²``, so ratios span 0.004
    to 4."""
    fsd = fsd or {}
    names = [*methods, "posterior"]
    f = np.stack([np.broadcast_to(fsd.get(m, 0.02), x.shape) for m in methods] + [0.005 + 2 * x**2])
    sd = np.sqrt(f**2 + 0.01**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = {"sd_ratio": sd / sd[-1], "function_sd_ratio": f / f[-1]}
    mean = np.stack([np.sin(3 * x) + 0.1 * i for i in range(len(names))])
    return xr.Dataset(
        {
            "mean": (("source", "test_obs"), mean),
            "sd": (("source", "test_obs"), sd),
            "function_sd": (("source", "test_obs"), f),
            **{k: (("source", "test_obs"), v) for k, v in ratios.items()},
        },
        coords={"source": names},
    )


def _calibration(methods=METHODS):
    levels = np.round(np.arange(0.05, 1.0, 0.05), 2)
    names = [*methods, "posterior"]
    observed = np.stack([np.clip(levels * (0.6 + 0.1 * i), 0, 1) for i in range(len(names))])
    cal = xr.Dataset(
        {"observed": (("source", "level"), observed)}, coords={"source": names, "level": levels}
    )
    area = np.abs(observed - levels).mean(1)
    return cal, xr.Dataset({"miscalibration_area": ("source", area)}, coords={"source": names})


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _visible(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def _same(a, b) -> bool:
    return np.allclose(to_rgba(a)[:3], to_rgba(b)[:3])


def _band_colors(ax) -> list:
    return [tuple(c.get_facecolor()[0][:3]) for c in ax.collections]


def test_one_approximation_keeps_one_panel_with_both_bands():
    fig = net_figures.plot_predictive_bands(
        _by_input(X_TEST), X_TEST[:, None], X_TRAIN[:, None], Y_TRAIN, truth=np.sin
    )
    (ax,) = _visible(fig)
    assert len(ax.collections) == 2
    assert [
        _same(c, net_figures.COLORS[m])
        for c, m in zip(_band_colors(ax), ("posterior", "mc_dropout"), strict=True)
    ] == [True, True]
    assert set(_legend(ax)) >= {
        "MC dropout ± 2 sd",
        "posterior (NUTS) ± 2 sd",
        "training data",
        "truth",
    }
    assert ax.get_title() == "Predictive bands: MC dropout vs the posterior of the same network"
    (dots,) = [line for line in ax.get_lines() if line.get_label() == "training data"]
    assert len(dots.get_xdata()) == len(X_TRAIN)
    plt.close(fig)


def test_more_approximations_get_one_panel_each_over_the_posterior():
    # Test points out of order: the bands are drawn in order of x.
    shuffled = np.random.default_rng(0).permutation(len(X_TEST))
    x = X_TEST[shuffled]
    by_input = _by_input(x, METHODS)
    fig = net_figures.plot_predictive_bands(by_input, x, X_TRAIN, Y_TRAIN, truth=np.sin)
    by_input = by_input.isel(test_obs=np.argsort(x))
    axes = _visible(fig)
    assert [ax.get_title() for ax in axes] == [LABELS[m] for m in METHODS]
    assert fig.get_suptitle()
    for ax, method in zip(axes, METHODS, strict=True):
        post, own = _band_colors(ax)
        assert _same(post, net_figures.COLORS["posterior"])
        assert _same(own, net_figures.COLORS[method])
        labels = [c.get_label() for c in ax.collections]
        assert labels == ["posterior (NUTS) ± 2 sd", f"{LABELS[method]} ± 2 sd"]
        (mean,) = [
            line for line in ax.get_lines() if _same(line.get_color(), net_figures.COLORS[method])
        ]
        assert np.all(np.diff(mean.get_xdata()) > 0)
        assert np.allclose(mean.get_ydata(), by_input["mean"].sel(source=method).values)
    # Shared axes: every panel shows the same window.
    assert len({ax.get_xlim() for ax in axes}) == 1 and len({ax.get_ylim() for ax in axes}) == 1
    plt.close(fig)


def test_a_far_too_wide_band_does_not_flatten_the_other_panels():
    by_input = _by_input(X_TEST, METHODS, fsd={"laplace": 50.0})
    fig = net_figures.plot_predictive_bands(by_input, X_TEST, X_TRAIN, Y_TRAIN)
    post = by_input.sel(source="posterior")
    top = float((post["mean"] + 2 * post["sd"]).max())
    bottom = float((post["mean"] - 2 * post["sd"]).min())
    low, high = _visible(fig)[0].get_ylim()
    # The axis spans the posterior's band with half its range to spare, not laplace's ±100.
    assert low == pytest.approx(bottom - 0.5 * (top - bottom))
    assert high == pytest.approx(top + 0.5 * (top - bottom))
    notes = {ax.get_title(): [t.get_text() for t in ax.texts] for ax in _visible(fig)}
    assert notes[LABELS["laplace"]] == ["band runs beyond the axes"]
    assert notes[LABELS["mc_dropout"]] == []
    plt.close(fig)


def test_predictive_bands_need_one_input_and_a_posterior():
    with pytest.raises(ValueError, match=r"x_test must hold one input feature, got shape"):
        net_figures.plot_predictive_bands(_by_input(X_TEST), np.zeros((60, 2)), X_TRAIN, Y_TRAIN)
    no_posterior = _by_input(X_TEST).isel(source=[0])
    with pytest.raises(ValueError, match="must have a 'posterior' source"):
        net_figures.plot_predictive_bands(no_posterior, X_TEST, X_TRAIN, Y_TRAIN)


def test_sd_ratio_legend_shows_the_training_inputs_mark():
    fig = net_figures.plot_sd_ratio(_by_input(X_TEST), X_TEST[:, None], X_TRAIN[:, None])
    ax = fig.axes[0]
    fig.canvas.draw()
    legend = ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    handle = legend.legend_handles[texts.index("training inputs")]
    marked = handle.get_marker() not in (None, "None", "", " ")
    lined = handle.get_linestyle() not in ("None", "", " ") and handle.get_linewidth() > 0
    assert marked or lined
    assert handle.get_visible() and handle.get_alpha() != 0
    # The plot itself shows that mark, inside the axes, at every training input.
    (rug,) = [line for line in ax.get_lines() if line.get_label() == "training inputs"]
    assert handle.get_marker() == rug.get_marker()
    assert rug.get_visible() and rug.get_alpha() != 0
    shown = rug.get_transform().transform(rug.get_xydata())
    assert len(shown) == len(X_TRAIN)
    assert np.all(np.isfinite(shown))
    assert all(ax.bbox.contains(*point) for point in shown)
    plt.close(fig)


def test_one_approximation_draws_both_its_sd_ratios():
    by_input = _by_input(X_TEST)
    fig = net_figures.plot_sd_ratio(by_input, X_TEST, X_TRAIN)
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    function = lines["function sd ratio"]
    predictive = lines["predictive sd ratio (noise included)"]
    assert np.allclose(function.get_ydata(), by_input.function_sd_ratio.values[0])
    assert np.allclose(predictive.get_ydata(), by_input.sd_ratio.values[0])
    assert _same(function.get_color(), net_figures.COLORS["mc_dropout"])
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "MC dropout sd over posterior sd at each test point"
    plt.close(fig)


@pytest.mark.parametrize(
    "which, var", [("function", "function_sd_ratio"), ("predictive", "sd_ratio")]
)
def test_sd_ratio_draws_one_line_per_approximation(which, var):
    by_input = _by_input(X_TEST, METHODS, fsd={"laplace": 0.05 + X_TEST**2})
    fig = net_figures.plot_sd_ratio(by_input, X_TEST, X_TRAIN, which=which)
    (ax,) = fig.axes
    drawn = [line for line in ax.get_lines() if line.get_label() in {LABELS[m] for m in METHODS}]
    assert [line.get_label() for line in drawn] == [LABELS[m] for m in METHODS]
    for line, method in zip(drawn, METHODS, strict=True):
        assert _same(line.get_color(), net_figures.COLORS[method])
        assert np.allclose(line.get_ydata(), by_input[var].sel(source=method).values)
    assert "training inputs" in _legend(ax)
    assert which in ax.get_title()
    plt.close(fig)


def test_sd_ratios_a_log_axis_cannot_show_are_left_out_and_said_so():
    # A collapsed ensemble (function sd 0), and a posterior whose function sd is 0 at x = 0.
    by_input = _by_input(X_TEST, METHODS, fsd={"deep_ensemble": 0.0})
    x0 = np.argmin(np.abs(X_TEST))
    fsd = by_input["function_sd"].values.copy()
    fsd[-1, x0] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        by_input["function_sd_ratio"] = (("source", "test_obs"), fsd / fsd[-1])
    fig = net_figures.plot_sd_ratio(by_input, X_TEST, X_TRAIN)
    (ax,) = fig.axes
    fig.canvas.draw()
    lines = {line.get_label(): line for line in ax.get_lines()}
    collapsed = lines["deep ensemble (0 or not finite everywhere: not drawn)"]
    assert np.all(np.isnan(collapsed.get_ydata()))
    gap = lines["MC dropout (1 of 60 points 0 or not finite: not drawn)"]
    assert np.isnan(gap.get_ydata()[x0]) and np.isfinite(np.delete(gap.get_ydata(), x0)).all()
    assert "deep ensemble (0 or not finite everywhere: not drawn)" in _legend(ax)
    low, high = ax.get_ylim()
    assert 0 < low < high < np.inf
    plt.close(fig)


def test_sd_ratio_over_many_inputs_sorts_the_test_points_by_the_posterior():
    by_input = _by_input(X_TEST, METHODS)
    fig = net_figures.plot_sd_ratio(by_input, np.zeros((60, 3)))
    (ax,) = fig.axes
    assert ax.get_xlabel() == "test point (sorted by the posterior's function sd)"
    line = ax.get_lines()[0]
    assert np.array_equal(line.get_xdata(), np.arange(60))
    order = np.argsort(by_input.function_sd.sel(source="posterior").values)
    ratio = by_input.function_sd_ratio.sel(source="mc_dropout").values
    assert np.allclose(line.get_ydata(), ratio[order])
    plt.close(fig)


def test_sd_ratio_redraws_a_result_saved_with_ratios_over_the_test_points_only():
    by_input = _by_input(X_TEST)
    old = by_input.assign(
        sd_ratio=("test_obs", by_input.sd_ratio.values[0]),
        function_sd_ratio=("test_obs", by_input.function_sd_ratio.values[0]),
    )
    fig = net_figures.plot_sd_ratio(old, X_TEST, X_TRAIN)
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert np.allclose(lines["function sd ratio"].get_ydata(), old.function_sd_ratio.values)
    plt.close(fig)


def test_sd_ratio_names_the_ratios_it_draws():
    with pytest.raises(ValueError, match="which must be one of 'function', 'predictive', got 'f'"):
        net_figures.plot_sd_ratio(_by_input(X_TEST), which="f")


def test_calibration_draws_every_source_and_the_diagonal():
    cal, metrics = _calibration()
    fig = net_figures.plot_calibration(cal, metrics)
    (ax,) = fig.axes
    names = [*METHODS, "posterior"]
    expected = [
        f"{LABELS[s]}, area {float(metrics.miscalibration_area.sel(source=s)):.3f}" for s in names
    ]
    assert _legend(ax) == ["calibrated", *expected]
    lines = {line.get_label(): line for line in ax.get_lines()}
    for source, label in zip(names, expected, strict=True):
        line = lines[label]
        assert _same(line.get_color(), net_figures.COLORS[source])
        assert np.allclose(line.get_xdata(), cal.level.values)
        assert np.allclose(line.get_ydata(), cal.observed.sel(source=source).values)
        assert (line.get_linestyle() == "--") == (source == "posterior")
    assert np.allclose(lines["calibrated"].get_xydata(), [[0, 0], [1, 1]])
    plt.close(fig)


def test_calibration_without_metrics_labels_the_sources_only():
    cal, _ = _calibration(("mc_dropout",))
    fig = net_figures.plot_calibration(cal)
    assert _legend(fig.axes[0]) == ["calibrated", "MC dropout", "posterior (NUTS)"]
    plt.close(fig)


def test_a_method_keeps_its_colour_and_unknown_ones_get_their_own():
    by_input = _by_input(X_TEST, ("swag", "my_method"))
    fig = net_figures.plot_sd_ratio(by_input, X_TEST, labels={"swag": "S", "posterior": "P"})
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert _same(lines["S"].get_color(), net_figures.COLORS["swag"])
    assert lines["my method"].get_color() not in net_figures.COLORS.values()
    plt.close(fig)


def test_every_figure_has_a_title():
    cal, metrics = _calibration()
    builders = {
        "plot_predictive_bands": lambda: net_figures.plot_predictive_bands(
            _by_input(X_TEST), X_TEST, X_TRAIN, Y_TRAIN
        ),
        "plot_sd_ratio": lambda: net_figures.plot_sd_ratio(_by_input(X_TEST, METHODS)),
        "plot_calibration": lambda: net_figures.plot_calibration(cal, metrics),
    }
    public = {name for name in net_figures.__all__ if name.startswith("plot_")}
    assert set(builders) == public, "add the new figure function here"
    for name, build in builders.items():
        fig = build()
        titles = [fig.get_suptitle(), *(ax.get_title() for ax in fig.axes)]
        assert any(t.strip() for t in titles), f"{name} draws a figure without a title"
        plt.close(fig)
