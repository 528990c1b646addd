import matplotlib.pyplot as plt
import numpy as np
import pytest

from bayes_reg import d2l_synthetic, figures, sgd_path
from bayes_reg.compare import choose_strength, compare_path, map_gap


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
        path, X, y, sigma=0.01, X_test=data.X_test, y_test=data.y_test, draws=200
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
