import functools

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bayes_reg import (
    Gaussian,
    d2l_synthetic,
    figures,
    predict,
    sample_posterior,
    score,
    sgd_path,
)
from bayes_reg.inference.sampler import Sampler
from bayes_reg.linear.compare import choose_strength, compare_path, map_gap


@pytest.fixture(scope="module")
def results():
    data = d2l_synthetic(seed=0, num_inputs=8)
    X, y = data.X_train, data.y_train
    path = sgd_path(
        X,
        y,
        [0.0, 0.5, 3.0],
        lr=0.01,
        epochs=50,
        batch_size=5,
        X_test=data.X_test,
        y_test=data.y_test,
        record_weights=True,
    )
    comparison = compare_path(
        path,
        X,
        y,
        sigma=0.01,
        X_test=data.X_test,
        y_test=data.y_test,
        sampler=Sampler(draws=200),
    )
    choice = choose_strength(
        X, y, [0.1, 1.0, 10.0], sigma=0.01, X_val=data.X_test[:50], y_val=data.y_test[:50]
    )
    return path, comparison, choice, map_gap(path, X, y)


def test_figures_draw_what_they_say(results):
    path, comparison, choice, gap = results
    fig = figures.plot_path(comparison, features=[0, 1])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["w[0]", "w[1]"]
    forest = figures.plot_forest(comparison, 3.0)
    assert len(forest.axes[0].get_yticks()) == 8
    choice_fig = figures.plot_strength_choice(choice, path)
    labels = choice_fig.axes[0].get_legend_handles_labels()[1]
    assert any(label.startswith("evidence picks") for label in labels)
    gap_fig = figures.plot_map_gap(gap)
    assert len(gap_fig.axes[0].get_lines()) == gap.sizes["strength"]
    for f in (fig, forest, choice_fig, gap_fig):
        f.canvas.draw()  # renders without error
        plt.close(f)


def test_map_gap_needs_recorded_weights(results):
    path = results[0].drop_vars("w_epoch")
    with pytest.raises(ValueError, match="record_weights=True"):
        map_gap(path, np.zeros((20, 8)), np.zeros(20))


# --- what the figures say and show ----------------------------------------------------

#: The strengths of bayes_reg/models/diabetes-lasso.toml, whose path plot had colliding tick labels.
LASSO_STRENGTHS = (0.5, 2.0, 8.0)


@functools.cache
def _comparison(strengths: tuple, num_inputs: int = 8):
    """A weight-decay comparison on d2l data (exact posterior: quick) at ``strengths``."""
    data = d2l_synthetic(seed=0, num_inputs=num_inputs)
    X, y = data.X_train, data.y_train
    path = sgd_path(X, y, list(strengths), lr=0.01, epochs=20, batch_size=5)
    return compare_path(
        path,
        X,
        y,
        sigma=0.01,
        sampler=Sampler(chains=2, draws=100),
    )


@functools.cache
def _posterior(num_inputs: int):
    data = d2l_synthetic(seed=0, num_inputs=num_inputs)
    post = sample_posterior(
        data.X_train,
        data.y_train,
        prior=Gaussian(0.1),
        sigma=0.01,
        sampler=Sampler(chains=2, draws=100),
        progress=False,
    )
    return post.tree["posterior"].to_dataset()


def _posterior_tree():
    data = d2l_synthetic(seed=0, num_inputs=2)
    post = sample_posterior(
        data.X_train,
        data.y_train,
        prior=Gaussian(0.1),
        sigma=0.01,
        sampler=Sampler(chains=2, draws=100),
    )
    return post.tree


def _titles(fig) -> list[str]:
    """The figure's non-empty suptitle and axes titles."""
    titles = [fig.get_suptitle(), *(ax.get_title() for ax in fig.axes)]
    return [t for t in titles if t.strip()]


def _labelled_xticks(fig):
    """Per drawn x axis, the visible, non-empty tick labels within the view (after a draw)."""
    fig.canvas.draw()
    out = []
    for ax in fig.axes:
        if not (ax.get_visible() and ax.xaxis.get_visible()):
            continue
        lo, hi = sorted(ax.get_xlim())
        labels = [
            t
            for t in ax.get_xticklabels(which="both")
            if t.get_visible() and t.get_text() and lo <= t.get_position()[0] <= hi
        ]
        if labels:
            out.append(labels)
    return out


def _overlaps(labels) -> list[tuple[str, str]]:
    renderer = labels[0].figure.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels]
    return [
        (a, b)
        for i, (a, box) in enumerate(boxes)
        for b, other in boxes[i + 1 :]
        if box.overlaps(other)
    ]


def test_plot_path_takes_a_title(results):
    comparison = results[1]
    every = list(comparison.feature.values)
    title = "Regularisation path: SGD run to convergence"
    fig = figures.plot_path(comparison, every, title=title)
    assert fig.get_suptitle() == title
    default = figures.plot_path(comparison, every)
    assert default.get_suptitle() == "Regularisation path: SGD and MAP inside the posterior"
    plt.close(fig)
    plt.close(default)


@pytest.mark.parametrize(
    "strengths",
    [LASSO_STRENGTHS, (0.03, 0.32, 3.0), (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)],
    ids=["lasso", "ridge", "d2l"],
)
def test_plot_path_tick_labels_do_not_overlap(strengths):
    fig = figures.plot_path(_comparison(strengths))
    axes = _labelled_xticks(fig)
    assert axes, "no labelled x axis"
    for labels in axes:
        assert len(labels) >= 2, [t.get_text() for t in labels]
        assert _overlaps(labels) == []
    plt.close(fig)


@pytest.mark.parametrize(
    "strengths",
    [
        LASSO_STRENGTHS,
        tuple(np.geomspace(0.01, 100, 41)),
        tuple(np.geomspace(0.1, 1e4, 41)),
        tuple(np.geomspace(1e-3, 1e3, 49)),
    ],
    ids=["lasso", "d2l-select", "ridge-select", "target-select"],
)
def test_plot_strength_choice_tick_labels_do_not_overlap(strengths):
    data = d2l_synthetic(seed=0, num_inputs=8)
    choice = choose_strength(
        data.X_train,
        data.y_train,
        list(strengths),
        sigma=0.01,
        X_val=data.X_test[:50],
        y_val=data.y_test[:50],
    )
    fig = figures.plot_strength_choice(choice)
    axes = _labelled_xticks(fig)
    assert len(axes) == 1
    assert len(axes[0]) >= 2, [t.get_text() for t in axes[0]]
    assert _overlaps(axes[0]) == []
    plt.close(fig)


@pytest.mark.parametrize("num_inputs", [200, 10])
def test_forest_title_says_which_features_it_shows(num_inputs):
    comparison = _comparison((0.5, 3.0), num_inputs)
    fig = figures.plot_forest(comparison, 3.0)
    (title,) = _titles(fig)
    shown = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    if num_inputs == 200:
        assert title.endswith("\n30 of 200 features, largest |MAP| at the weakest strength (0.5)")
        weakest = np.abs(comparison.w_map.sel(strength=0.5).values)
        largest = comparison.feature.values[np.argsort(weakest)[::-1][:30]]
        assert sorted(shown) == sorted(str(f) for f in largest)
    else:
        assert "features" not in title and "\n" not in title
        assert len(shown) == num_inputs
    plt.close(fig)
    chosen = figures.plot_forest(comparison, 3.0, features=list(comparison.feature.values[:5]))
    assert _titles(chosen)[0].endswith(f"\nfirst 5 of {num_inputs} features")
    plt.close(chosen)


@pytest.mark.parametrize("num_inputs", [200, 10])
def test_posterior_vs_map_title_says_which_features_it_shows(num_inputs):
    posterior = _posterior(num_inputs)
    w_map = posterior["w"].mean(("chain", "draw")).values
    fig = figures.plot_posterior_vs_map(posterior, w_map)
    (title,) = _titles(fig)
    shown = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    if num_inputs == 200:
        assert title.endswith("\nfirst 30 of 200 features")
        assert sorted(shown) == sorted(str(f) for f in posterior.feature.values[:30])
    else:
        assert "features" not in title and "\n" not in title
        assert len(shown) == num_inputs
    plt.close(fig)


def _glm_tree():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 1))
    y = rng.poisson(np.exp(1.0 + 0.3 * X[:, 0])).astype(float)
    post = sample_posterior(
        X,
        y,
        prior=Gaussian(1.0),
        likelihood="poisson",
        method="laplace",
        sampler=Sampler(chains=2, draws=100),
    )
    return post.tree


def _held_out_figure():
    tree = _glm_tree()
    X = tree["constant_data"]["X"].values
    prediction = predict(tree, X)
    y = tree["observed_data"]["y"].values
    return figures.plot_held_out(prediction, y, score(prediction, y))


def test_held_out_figure_of_a_binary_outcome_is_a_calibration_curve():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 1))
    y = (rng.random(200) < 1 / (1 + np.exp(-2 * X[:, 0]))).astype(float)
    post = sample_posterior(X, y, prior=Gaussian(2.0), likelihood="bernoulli", method="laplace")
    prediction = predict(post, X)
    fig = figures.plot_held_out(prediction, y, score(prediction, y))
    (ax,) = fig.axes
    assert ax.get_xlabel() == "predicted probability"
    mid, share = ax.lines[1].get_data()
    assert np.all((0 <= share) & (share <= 1)) and np.all(np.diff(mid) > 0)
    plt.close(fig)


def test_every_figure_has_a_title(results):
    path, comparison, choice, gap = results
    posterior = _posterior(10)
    builders = {
        "plot_path": lambda: figures.plot_path(comparison),
        "plot_strength_choice": lambda: figures.plot_strength_choice(choice, path),
        "plot_forest": lambda: figures.plot_forest(comparison, 3.0),
        "plot_map_gap": lambda: figures.plot_map_gap(gap),
        "plot_posterior_vs_map": lambda: figures.plot_posterior_vs_map(
            posterior, np.zeros(posterior.sizes["feature"])
        ),
        "plot_rank": lambda: figures.plot_rank(
            _posterior_tree(), ["w"], {"feature": ["x0", "x1"]}, title="Rank plots of w"
        ),
        "plot_laplace_vs_nuts": lambda: figures.plot_laplace_vs_nuts(posterior, posterior),
        "plot_predictive_check": lambda: figures.plot_predictive_check(_glm_tree(), "poisson"),
        "plot_held_out": _held_out_figure,
    }
    public = {name for name in figures.__all__ if name.startswith("plot_")}
    assert set(builders) == public, "add the new figure function here"
    for name, build in builders.items():
        fig = build()
        assert _titles(fig), f"{name} draws a figure without a title"
        plt.close(fig)
