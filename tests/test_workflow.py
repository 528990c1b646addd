"""The workflow checks (bayes_reg.workflow): the parameters shown are the ones whose chains
disagree, LOO's numbers are arviz-stats' own, and every figure says what it shows."""

import warnings

import arviz_base
import arviz_stats
import matplotlib.pyplot as plt
import numpy as np
import pytest

from bayes_reg import Gaussian, HalfCauchy, Sampler, figures, sample_posterior, workflow


def test_least_converged_picks_the_chains_that_disagree():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 200, 10))
    w[0, :, 7] += 3.0  # one chain elsewhere: R-hat far above 1
    w[1, :, 2] += 0.5
    tree = arviz_base.from_dict(
        {"posterior": {"w": w}},
        dims={"w": ["feature"]},
        coords={"feature": [f"x{j}" for j in range(10)]},
    )
    rhat = arviz_stats.rhat(tree["posterior"].to_dataset())["w"].values
    shown = workflow.least_converged(tree, k=3)
    assert shown[:2] == ["x7", "x2"]
    assert [f"x{j}" for j in np.argsort(-rhat)[:3]] == shown
    assert workflow.least_converged(tree, k=20) == [f"x{j}" for j in range(10)]


@pytest.fixture(scope="module")
def nuts_tree():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, -1.0, 0.0] + rng.standard_t(2, size=40)  # heavy tails: some high Pareto k
    post = sample_posterior(
        X,
        y,
        prior=Gaussian(2.0),
        sigma=HalfCauchy(2.0),
        sampler=Sampler(chains=2, warmup=200, draws=200),
        progress=False,
    )
    return post.tree


def test_loo_summary_is_arviz_stats_own(nuts_tree):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Estimated shape parameter of Pareto", UserWarning)
        loo, numbers = workflow.loo_summary(nuts_tree)
        direct = arviz_stats.loo(nuts_tree, pointwise=True)
    assert numbers["elpd_loo"] == pytest.approx(float(direct.elpd), rel=1e-12)
    assert numbers["elpd_loo"] == pytest.approx(float(direct.elpd_i.sum()), rel=1e-12)
    assert numbers["p_loo"] == pytest.approx(float(direct.p), rel=1e-12)
    k = np.asarray(direct.pareto_k)
    # 400 draws: arviz's threshold min(1 - 1/log10(400), 0.7) = 0.616.
    assert numbers["pareto_k"]["threshold"] == pytest.approx(1 - 1 / np.log10(400))
    assert numbers["pareto_k"]["above"] == int(np.sum(k > 1 - 1 / np.log10(400)))
    assert numbers["pareto_k"]["rows"] == np.flatnonzero(k > 1 - 1 / np.log10(400)).tolist()


def test_every_workflow_figure_has_a_title(nuts_tree):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Estimated shape parameter of Pareto", UserWarning)
        loo, _ = workflow.loo_summary(nuts_tree)
    figs = {
        "trace": workflow.plot_trace(nuts_tree, ["b", "w"], {"feature": ["x0"]}, title="Traces"),
        "energy": workflow.plot_energy(nuts_tree),
        "ppc": workflow.plot_ppc_continuous(nuts_tree),
        "ppc_pit": workflow.plot_ppc_pit(nuts_tree),
        "pareto_k": workflow.plot_khat(loo),
        "loo_pit": workflow.plot_loo_pit(nuts_tree),
    }
    for name, fig in figs.items():
        assert fig._suptitle is not None and len(fig._suptitle.get_text()) > 5, name
        fig.canvas.draw()
        plt.close(fig)


def test_the_checks_of_one_chain_leave_out_what_compares_chains():
    # arviz-plots' rank plot raises for one chain (its multi-chain uniformity test): a card run
    # with [posterior] chains = 1 failed there, after sampling.
    from types import SimpleNamespace

    from bayes_reg.run.workflow_stage import posterior_checks

    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=30)
    post = sample_posterior(
        X,
        y,
        prior=Gaussian(2.0),
        sigma=HalfCauchy(2.0),
        sampler=Sampler(chains=1, warmup=200, draws=200),
        progress=False,
    )
    result = SimpleNamespace(figures={}, sections=[], summary={})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Estimated shape parameter of Pareto", UserWarning)
        posterior_checks(post, "gaussian", result)
    assert "rank" not in result.figures and "trace" in result.figures
    title, text, figures = result.sections[0]
    assert "One chain: R-hat and the rank plots compare chains" in text
    assert "rank" not in figures
    for fig in result.figures.values():
        plt.close(fig)


def test_a_rank_plot_of_one_chain_is_none_for_every_caller():
    # The rank plot is where one chain failed (arviz-plots' multi-chain uniformity test); both
    # report stages, the linear and the dropout one, leave the figure out when it is None.
    tree = arviz_base.from_dict({"posterior": {"f": np.random.default_rng(3).normal(size=(1, 50))}})
    assert figures.plot_rank(tree, ["f"], title="one chain") is None
    fig = figures.plot_rank(
        arviz_base.from_dict({"posterior": {"f": np.random.default_rng(3).normal(size=(2, 50))}}),
        ["f"],
        title="two chains",
    )
    assert fig is not None
    plt.close(fig)
