"""`bayes-reg run`: the outputs, their contents, atomic writes, and a real interruption."""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import xarray as xr

from bayes_reg.cli import main
from bayes_reg.nets.approximations import METHODS
from bayes_reg.run.summary import strict_json

SMALL = """
title = "small"
seed = 3
[data]
source = "diabetes"
test_fraction = 0.3
[model]
sigma = 54.0
[prior]
convention = "sklearn-ridge"
strength = 100.0
[posterior]
chains = 2
draws = 200
warmup = 200
[compare]
optimizer = "sgd"
strengths = [0.1, 0.32362459546925565]  # d2l lambd; Ridge alpha 100 = 309 x 0.3236
lr = 0.3
epochs = 200
batch_size = 309
select_strengths = [1.0, 10.0, 100.0, 1000.0]
"""


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    path = tmp_path_factory.mktemp("cards") / "small.toml"
    path.write_text(SMALL)
    return path


@pytest.fixture(scope="module")
def run_dir(card, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "out"
    assert main(["run", str(card), "--out", str(out), "--quiet"]) == 0
    return out


def test_outputs_are_complete(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    assert {"report.html", "posterior.nc", "summary.json", "path.png", "rank.png"} <= names
    html = (run_dir / "report.html").read_text()
    assert "data:image/png;base64," in html and "<img" in html  # figures embedded
    assert "src='http" not in html and 'src="http' not in html  # opens from disk


def test_summary_and_tree_hold_the_results(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["seed"] == 3 and summary["posterior"]["exact"] is True
    assert {"jax", "numpyro", "arviz", "bayes_reg"} <= set(summary["versions"])
    assert set(summary["timings_s"]) >= {"posterior", "map", "sgd"}
    tree = xr.open_datatree(run_dir / "posterior.nc", engine="h5netcdf")
    groups = set(tree.children)
    assert {
        "posterior",
        "sample_stats",
        "log_likelihood",
        "posterior_predictive",
        "observed_data",
        "constant_data",
        "map",
        "sgd_path",
        "comparison",
    } <= groups
    assert tree["constant_data"]["X"].dims == ("obs", "feature")
    assert list(tree["map"]["w"].feature.values)[:3] == ["age", "sex", "bmi"]
    # The MAP stored is sklearn's Ridge fit on the same training rows, standardised with
    # those rows' means and (population) sds.
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    X, y = load_diabetes(return_X_y=True)
    cut = int(round(442 * 0.7))
    ridge = Ridge(alpha=100.0).fit(StandardScaler().fit_transform(X[:cut]), y[:cut])
    np.testing.assert_allclose(tree["map"]["w"].values, ridge.coef_, rtol=1e-8)
    # ... and in the original units, that fit's coefficients per unit of each raw column.
    raw = tree["original_units"]["w"].mean(("chain", "draw")).values
    post = tree["posterior"]["w"].mean(("chain", "draw")).values
    np.testing.assert_allclose(raw, post / X[:cut].std(0), rtol=1e-12)
    # The held-out rows are scored by the posterior predictive.
    assert set(summary["held_out"]) >= {"rmse", "log_score", "crps", "coverage"}


def _strict_json(text: str):
    """json.loads that refuses NaN and Infinity, as JSON.parse and RFC 8259 do."""

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_summary_is_strict_json(run_dir):
    summary = _strict_json((run_dir / "summary.json").read_text())
    # Exact draws have no energy, so E-BFMI does not exist: null, not NaN.
    assert summary["posterior"]["exact"] is True
    assert summary["posterior"]["diagnostics"]["min_bfmi"] is None


def test_strict_json_writes_null_for_numbers_that_do_not_exist():
    text = strict_json(
        {
            "a": float("nan"),
            "b": [np.float32(np.inf), -np.inf, 1.5],
            "c": np.int64(3),
            "d": np.array([np.nan, 2.0]),
            "e": (True, None, "x"),
        }
    )
    assert _strict_json(text) == {
        "a": None,
        "b": [None, None, 1.5],
        "c": 3,
        "d": [None, 2.0],
        "e": [True, None, "x"],
    }


def test_a_card_sets_the_nuts_settings(tmp_path):
    path = tmp_path / "depth.toml"
    path.write_text(
        SMALL.replace(
            "[posterior]", '[posterior]\nmethod = "nuts"\nmax_tree_depth = 2\ntarget_accept = 0.95'
        )
    )
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--only", "posterior", "--quiet"]) == 0
    stats = xr.open_datatree(out / "posterior.nc", engine="h5netcdf")["sample_stats"]
    depth = stats["tree_depth"].values
    assert depth.max() == 2  # capped where the default depth 10 is not reached on this model
    summary = _strict_json((out / "summary.json").read_text())
    assert summary["posterior"]["diagnostics"]["tree_depth_hits"] == int((depth == 2).sum())
    # Step size adapts to the target acceptance: well above the default 0.8.
    assert float(stats["acceptance_rate"].mean()) > 0.9


def test_only_and_seed(card, tmp_path):
    out = tmp_path / "only"
    assert (
        main(["run", str(card), "--out", str(out), "--only", "map", "--seed", "9", "--quiet"]) == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stages"] == ["map"] and summary["seed"] == 9


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--only", "vi"], "unknown stage 'vi'; choose from map, posterior, sgd, dropout"),
        (
            ["--only", "dropout"],
            "stage 'dropout' needs a [dropout] table in the card (this card runs: map, "
            "posterior, sgd)",
        ),
        (["--out", "/proc/forbidden/out"], "cannot write"),
    ],
)
def test_bad_runs_exit_2(card, tmp_path, capsys, argv, message):
    args = ["run", str(card), "--out", str(tmp_path / "x"), "--quiet"] + argv
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_unknown_card_exits_2(capsys):
    assert main(["run", "no-such-card", "--out", "x"]) == 2
    assert "card 'no-such-card' not found" in capsys.readouterr().err


def test_cards_lists_the_shipped_cards(capsys):
    assert main(["cards"]) == 0
    out = capsys.readouterr().out
    for name in (
        "d2l-weight-decay",
        "diabetes-lasso",
        "target-scale",
        "toy-gap-dropout",
        "yacht-dropout",
    ):
        assert name in out


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_run_leaves_the_previous_report_intact(run_dir, tmp_path, sig):
    out = tmp_path / "out"
    subprocess.run(["cp", "-r", str(run_dir), str(out)], check=True)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # A long NUTS run, so the signal lands in the middle of the computation.
    slow = tmp_path / "slow.toml"
    # A long warmup (nothing stored) keeps it busy even when every program is in the
    # compilation cache already.
    slow.write_text(
        SMALL.replace("[posterior]", '[posterior]\nmethod = "nuts"').replace(
            "warmup = 200", "warmup = 300000"
        )
    )
    # pytest-xdist workers ignore SIGINT and children inherit that: the child restores
    # Python's own handler, as in a terminal where Ctrl-C reaches the run.
    child = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
        " sys.argv = ['bayes-reg'] + sys.argv[1:]; runpy.run_module('bayes_reg.cli', "
        "run_name='__main__')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child, "run", str(slow), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    # The signal goes in once the run says it is sampling (imports, card and data done), so
    # it lands in the computation whatever the machine's load: not in start-up, where
    # interrupting an import says nothing about the results.
    for line in proc.stdout:
        if "posterior:" in line:
            break
    time.sleep(1.0)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=300)
    if sig == signal.SIGINT:  # stopped at the sampler's next report, said in one line
        assert proc.returncode == 130
        assert err.strip() == "bayes-reg run: interrupted; nothing was written", err
    else:
        assert proc.returncode == -signal.SIGKILL
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert leftovers == []  # the results folder is only made once the computation is done


# --- a dropout card, end to end -----------------------------------------------------------

TINY_DROPOUT = """
title = "tiny dropout"
description = "Every approximation against NUTS on a few rows, with budgets only a test wants."
seed = 2
[data]
source = "toy-gap"
n = 40
n_test = 30
[dropout]
rate = 0.05
tau = 100.0
lengthscale = 2.0
hidden = [10]
epochs = 200
passes = 200
members = 3
vi_steps = 2000
swag_epochs = 100
[posterior]
chains = 2
warmup = 100
draws = 100
"""


@pytest.fixture(scope="module")
def dropout_card(tmp_path_factory):
    path = tmp_path_factory.mktemp("cards") / "tiny-dropout.toml"
    path.write_text(TINY_DROPOUT)
    return path


@pytest.fixture(scope="module")
def dropout_dir(dropout_card, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "dropout"
    assert main(["run", str(dropout_card), "--out", str(out), "--only", "dropout", "--quiet"]) == 0
    return out


def test_predict_a_dropout_result_through_either_view(dropout_dir, tmp_path):
    import pandas as pd

    tree = xr.open_datatree(dropout_dir / "posterior.nc", engine="h5netcdf")
    x_test = tree["constant_data"]["X_test"].values[:, 0]
    pd.DataFrame({"x": x_test}).to_csv(tmp_path / "x.csv", index=False)
    for view, draws in (
        ("posterior", tree["posterior"]["f"].values.reshape(-1, len(x_test))),
        ("mc_dropout", tree["mc_dropout"]["f"].values),
    ):
        out = tmp_path / f"{view}.csv"
        argv = ["predict", str(dropout_dir), "--data", str(tmp_path / "x.csv"), "--seed", "2"]
        assert main([*argv, "--out", str(out), "--view", view]) == 0
        table = pd.read_csv(out)
        # Rebuilt from the file, the network gives the run's own function draws at its test
        # points (the same weights and, for MC dropout, the card's seed and so its masks).
        np.testing.assert_allclose(table["mean"], draws.mean(0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(table["sd"], np.sqrt(draws.var(0) + 1 / 100.0), rtol=1e-4)


def test_dropout_run_writes_the_figures_into_the_report(dropout_dir):
    names = {p.name for p in dropout_dir.iterdir()}
    figures = {"predictive_bands", "sd_ratio", "calibration", "rank_f"}
    assert {"report.html", "posterior.nc", "summary.json"} | {f"{f}.png" for f in figures} <= names
    html = (dropout_dir / "report.html").read_text()
    for name in figures:  # each embedded as the very PNG written beside the report
        png = base64.b64encode((dropout_dir / f"{name}.png").read_bytes()).decode()
        assert f'src="data:image/png;base64,{png}">' in html
    assert "λ = l² (1 − p) / (2 N τ)" in html and "permuted" in html
    assert "src='http" not in html
    # Every image says what it shows, and no two say the same.
    alts = re.findall(r'<img alt="([^"]*)"', html)
    assert len(alts) == len(list(dropout_dir.glob("*.png")))
    assert all(len(alt) > 15 for alt in alts) and len(set(alts)) == len(alts), alts


def test_dropout_tree_has_the_named_groups_and_dims(dropout_dir):
    import arviz_stats

    tree = xr.open_datatree(dropout_dir / "posterior.nc", engine="h5netcdf")
    assert {
        "posterior",
        "sample_stats",
        "observed_data",
        "constant_data",
        *METHODS,
        "dropout_net",
        "metrics",
        "by_input",
        "calibration",
    } <= set(tree.children)
    mc = tree["mc_dropout"]
    assert mc["f"].dims == ("pass", "test_obs") and mc["f"].shape == (200, 30)
    assert tree["posterior"]["f"].dims == ("chain", "draw", "test_obs")
    assert tree["posterior"]["f"].shape == (2, 100, 30)
    assert tree["constant_data"]["X_test"].dims == ("test_obs", "feature")
    assert tree["constant_data"]["X"].dims == ("obs", "feature")
    assert list(tree["metrics"].source.values) == [*METHODS, "posterior"]
    assert tree["by_input"]["function_sd_ratio"].dims == ("source", "test_obs")
    assert tree["calibration"]["observed"].dims == ("source", "level")
    for method in METHODS[1:]:
        assert tree[method]["f"].dims == ("draw", "test_obs")
    assert tree["deep_ensemble"]["f"].shape == (3, 30)  # one draw per member
    assert tree["deep_ensemble_variance"]["noise_sd"].shape == (3, 30)
    assert tree["laplace"]["f"].shape == (200, 30)  # passes = draws of a sampled predictive
    assert tree["dropout_net"]["loss"].dims == ("epoch",)
    # The weight decay of Gal & Ghahramani: l^2 (1 - p) / (2 N tau), N = 40 training rows.
    assert mc.attrs["weight_decay"] == pytest.approx(2.0**2 * 0.95 / (2 * 40 * 100.0), rel=1e-12)
    assert mc.attrs["tau"] == 100.0 and mc.attrs["rate"] == 0.05
    # The test rows stored are the toy problem's own.
    from bayes_reg.data import toy_gap

    ref = toy_gap(n=40, n_test=30, seed=2)
    np.testing.assert_array_equal(tree["constant_data"]["y_test"].values, ref.y_test)
    # ArviZ reads the file as it is: the function's diagnostics straight from the groups.
    table = arviz_stats.summary(tree, var_names=["f"])
    assert len(table) == 30
    # Each training row's log density under each draw of the network, against scipy: what
    # PSIS-LOO needs, and arviz-stats computes it from the file.
    import scipy.stats

    from bayes_reg.nets.bnn import bnn_predict

    X, y = tree["constant_data"]["X"].values, tree["observed_data"]["y"].values
    f = bnn_predict(tree, X)
    expected = scipy.stats.norm.logpdf(y, f, 1 / np.sqrt(100.0))
    np.testing.assert_allclose(tree["log_likelihood"]["y"].values, expected, rtol=1e-8)
    with warnings.catch_warnings():  # 100 draws of a network: some rows' k is high; fine here
        warnings.filterwarnings("ignore", "Estimated shape parameter of Pareto", UserWarning)
        loo = arviz_stats.loo(tree)
    assert np.isfinite(loo.elpd) and loo.n_data_points == 40


def test_dropout_summary_matches_the_stored_draws(dropout_dir):
    summary = json.loads((dropout_dir / "summary.json").read_text())
    assert summary["kind"] == "dropout" and summary["stages"] == ["dropout"]
    d = summary["dropout"]
    keys = {"rmse", "log_likelihood", "crps", "coverage_50", "coverage_90", "mean_sd"}
    assert set(d["metrics"]) == {*METHODS, "posterior"}
    assert all(keys <= set(m) for m in d["metrics"].values())
    assert sorted(d["ranking"]) == sorted(METHODS)
    assert {"rate", "tau", "weight_decay", "prior_sd_standardised", "lengthscale"} <= set(
        d["settings"]
    )
    r = d["sd_ratio"]["mc_dropout"]["function"]
    assert 0 < r["min"] <= r["median"] <= r["max"]
    assert {"max_rhat", "min_ess_bulk", "divergences", "problems"} <= set(d["bnn"]["diagnostics"])
    assert {"dropout_training", "bnn_nuts", "dropout"} <= set(summary["timings_s"])
    # The summary's numbers are those of the draws in posterior.nc (recomputed here by hand).
    tree = xr.open_datatree(dropout_dir / "posterior.nc", engine="h5netcdf")
    y_test = tree["constant_data"]["y_test"].values
    f_post = tree["posterior"]["f"].values.reshape(-1, y_test.size)
    closeness = {}
    for source in [*METHODS, "posterior"]:
        group = tree[source]
        f = group["f"].values.reshape(-1, y_test.size)
        noise_var = group["noise_sd"].values ** 2 if "noise_sd" in group else 1 / 100.0
        rmse = np.sqrt(np.mean((y_test - f.mean(0)) ** 2))
        assert d["metrics"][source]["rmse"] == pytest.approx(rmse, rel=1e-10)
        sd = np.sqrt(f.var(0) + np.mean(noise_var * np.ones_like(f), 0))
        assert d["metrics"][source]["mean_sd"] == pytest.approx(sd.mean(), rel=1e-10)
        closeness[source] = np.mean(np.abs(np.log(f.std(0) / f_post.std(0))))
    ratio = tree["mc_dropout"]["f"].values.std(0) / f_post.std(0)
    assert r["median"] == pytest.approx(np.median(ratio), rel=1e-10)
    # Ranked by the mean |log| ratio of function sds, recomputed from the stored draws.
    assert d["ranking"] == sorted(METHODS, key=closeness.get)


def test_a_dropout_card_passes_its_nuts_settings_on(dropout_card, tmp_path):
    path = tmp_path / "shallow.toml"
    # One approximation is enough: what is checked is NUTS's setting, not the methods.
    path.write_text(
        dropout_card.read_text()
        .replace("[posterior]", "[posterior]\nmax_tree_depth = 3")
        .replace("swag_epochs = 100", 'swag_epochs = 100\nmethods = ["mc_dropout"]')
    )
    out = tmp_path / "shallow"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    depth = xr.open_datatree(out / "posterior.nc", engine="h5netcdf")["sample_stats"]["tree_depth"]
    assert int(depth.max()) == 3  # the 10-unit network's trees are deeper when not capped


def test_linear_stages_are_refused_on_a_dropout_card(dropout_card, tmp_path, capsys):
    out = tmp_path / "x"
    assert main(["run", str(dropout_card), "--out", str(out), "--only", "map", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "stage 'map' fits a linear model, and a [dropout] card has none" in err
    assert "(this card runs: dropout)" in err
    assert not out.exists()
