"""`bayes-reg run`: the outputs, their contents, atomic writes, and a real interruption."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr

from bayes_reg.cli import main

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
    # The MAP stored is sklearn's Ridge fit on the same training rows.
    from sklearn.linear_model import Ridge

    from bayes_reg.data import diabetes

    d = diabetes()
    cut = int(round(442 * 0.7))
    ridge = Ridge(alpha=100.0).fit(d.X[:cut], d.y[:cut])
    np.testing.assert_allclose(tree["map"]["w"].values, ridge.coef_, rtol=1e-8)


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
        (["--only", "dropout"], "unknown stage 'dropout'"),
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
    for name in ("d2l-weight-decay", "diabetes-lasso", "target-scale"):
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
        [sys.executable, "-c", child, "run", str(slow), "--out", str(out), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(4.0)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(sig)
    proc.wait(timeout=120)
    assert proc.returncode != 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert leftovers == []  # the results folder is only made once the computation is done
