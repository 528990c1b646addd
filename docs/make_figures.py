"""Draw the README's figures into docs/img/: the d2l weight-decay experiment and MC dropout
against the posterior of the same network on the toy gap problem.

Run: python docs/make_figures.py   (about three minutes on a laptop CPU)
"""

from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import bayes_reg as br  # noqa: E402
from bayes_reg import figures, net_figures  # noqa: E402
from bayes_reg.linear.compare import choose_strength, compare_path, map_gap  # noqa: E402

OUT = Path(__file__).parent / "img"
SIGMA = 0.01  # the chapter's noise sd


def main():
    OUT.mkdir(exist_ok=True)
    data = br.d2l_synthetic(seed=0)
    X, y = data.X_train, data.y_train
    grid = np.union1d(np.geomspace(0.1, 100, 13), [3.0])  # 3: the chapter's lambd
    chapter = br.sgd_path(
        X,
        y,
        np.concatenate([[0.0], grid]),
        lr=0.003,
        epochs=100,
        batch_size=5,
        X_test=data.X_test,
        y_test=data.y_test,
        record_weights=True,
    )
    converged = br.sgd_path(
        X,
        y,
        grid,
        lr=0.015,
        epochs=200_000,
        batch_size=len(y),
        X_test=data.X_test,
        y_test=data.y_test,
    )
    comparison = compare_path(converged, X, y, sigma=SIGMA, X_test=data.X_test, y_test=data.y_test)
    at_budget = compare_path(chapter, X, y, sigma=SIGMA, X_test=data.X_test, y_test=data.y_test)
    val = br.d2l_synthetic(seed=1, n_test=50)
    choice = choose_strength(
        X,
        y,
        np.geomspace(0.01, 100, 41),
        sigma=SIGMA,
        X_val=val.X_test,
        y_val=val.y_test,
        X_test=data.X_test,
        y_test=data.y_test,
    )
    gap = map_gap(chapter, X, y).sel(strength=[grid[0], 1.0, 3.0, grid[-1]], method="nearest")
    figs = {
        "path_converged.png": figures.plot_path(comparison),
        "path_chapter_budget.png": figures.plot_path(at_budget),
        "strength_choice.png": figures.plot_strength_choice(choice, chapter),
        "forest_lambd3.png": figures.plot_forest(at_budget, 3.0, features=range(12)),
        "map_gap.png": figures.plot_map_gap(gap),
    }
    figs |= dropout_figures()
    for name, fig in figs.items():
        fig.savefig(OUT / name, dpi=90)
        print("wrote", OUT / name)


def dropout_figures():
    """Every approximation vs NUTS on the toy gap problem, with toy-gap-dropout.toml's settings."""
    toy = br.toy_gap(seed=0)
    c = br.approximations_vs_posterior(
        toy.X_train,
        toy.y_train,
        toy.X_test,
        toy.y_test,
        dropout=0.05,
        tau=1 / toy.noise_sd**2,
        lengthscale=2.0,  # implied prior sd about 1 on the standardised network
        epochs=2000,
        sampler=br.Sampler(chains=4, warmup=500, draws=500),
    )
    print(c.metrics.to_dataframe().T, "\n", c.posterior.diagnostics)
    ratio = c.by_input.function_sd_ratio.sel(source="mc_dropout").values
    x = toy.X_test[:, 0]
    print(
        "function sd ratio at x = 0:", ratio[np.argmin(abs(x))], "range:", ratio.min(), ratio.max()
    )
    mc_only = c.by_input.sel(source=["mc_dropout", "posterior"])
    data = (toy.X_test, toy.X_train, toy.y_train)
    return {
        "dropout_bands.png": net_figures.plot_predictive_bands(
            mc_only, *data, truth=br.data.toy_gap_truth
        ),
        "dropout_sd_ratio.png": net_figures.plot_sd_ratio(mc_only, toy.X_test, toy.X_train),
        "approximation_bands.png": net_figures.plot_predictive_bands(
            c.by_input, *data, truth=br.data.toy_gap_truth
        ),
        "approximation_sd_ratio.png": net_figures.plot_sd_ratio(
            c.by_input, toy.X_test, toy.X_train
        ),
        "approximation_calibration.png": net_figures.plot_calibration(c.calibration, c.metrics),
    }


if __name__ == "__main__":
    main()
