"""`bayes-reg sweep` without Ray: the grid, the folder's rules, resuming, failures, and the
merged results against the same combinations run one by one with `bayes-reg run`.

The Ray engine and a two-node cluster are tested in tests/test_ray_cluster.py.
"""

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from helpers import run_summary

from bayes_reg.cli import CARDS_DIR, main
from bayes_reg.fanout import Task, fan_out
from bayes_reg.run.sweep import SWEEP_MANIFEST, Sweep, parse_setting, parse_splits

CARD = CARDS_DIR / "diabetes-ridge.toml"


def _numbers(summary: dict, prefix="") -> dict:
    """Every number of a summary by its path, but timings and the card's path."""
    out = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            out |= _numbers(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[f"{prefix}{key}"] = value
    return {k: v for k, v in out.items() if "timings_s" not in k}


def test_settings_and_splits_parse_as_the_card_would_read_them():
    assert parse_setting("prior.strength=0.5") == ("prior.strength", [0.5])
    assert parse_setting("dropout.hidden=[50],[100,100]") == ("dropout.hidden", [[50], [100, 100]])
    assert parse_setting('prior.family="laplace",gaussian') == (
        "prior.family",
        ["laplace", "gaussian"],
    )
    assert parse_splits(["2", "0-3"]) == [2, 0, 1, 3]
    for bad in ("strength", "=1", "prior.strength="):
        with pytest.raises(ValueError, match="KEY=VALUE"):
            parse_setting(bad)
    for bad in (["a"], ["3-1"], ["-1"]):
        with pytest.raises(ValueError, match="--splits"):
            parse_splits(bad)


def test_the_grid_is_every_combination_in_order():
    sweep = Sweep(CARD, {"seed": [0, 1], "prior.strength": [0.5, 2], "x.h": [[50]]})
    names = [Sweep.name(c) for c in sweep.combinations()]
    assert names == [
        "seed=0,prior.strength=0.5,x.h=[50]",
        "seed=0,prior.strength=2,x.h=[50]",
        "seed=1,prior.strength=0.5,x.h=[50]",
        "seed=1,prior.strength=2,x.h=[50]",
    ]
    assert Sweep.name({"data.source": "a/b"}) == "data.source=a%2Fb"  # never a sub-folder


def test_a_sweep_equals_its_combinations_run_one_by_one(tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", str(CARD), "--seeds", "0", "1", "--set", "prior.strength=0.5"]
    argv += ["--only", "posterior", "--out", str(out), "--engine", "processes", "--quiet"]
    assert main(argv) == 0
    record = json.loads((out / SWEEP_MANIFEST).read_text())
    assert [c["status"] for c in record["combinations"].values()] == ["done", "done"]
    merged = xr.open_dataset(out / "sweep.nc", engine="h5netcdf").load()
    assert dict(merged.sizes) == {"seed": 2, "prior.strength": 1}
    # The reference: the card with its strength edited by hand, run by `bayes-reg run`.
    text = CARD.read_text()
    assert "strength = 100.0" in text
    card = tmp_path / "ridge-0.5.toml"
    card.write_text(text.replace("strength = 100.0", "strength = 0.5"))
    for seed in (0, 1):
        one = tmp_path / f"one-{seed}"
        ref = _numbers(run_summary(card, one, "--seed", str(seed), "--only", "posterior"))
        name = f"seed={seed},prior.strength=0.5"
        got = _numbers(json.loads((out / name / "summary.json").read_text()))
        assert got == ref  # same seed, same draws: equal to the last bit
        assert any(k.startswith("posterior.") for k in ref), sorted(ref)
        for key, value in ref.items():
            if key != "seed":
                assert merged[key].sel(seed=seed).item() == value
    assert merged["finished"].all()
    # Seeds matter: the two seeds' posterior draws differ.
    draws = [
        xr.open_datatree(out / f"seed={s},prior.strength=0.5" / "posterior.nc", engine="h5netcdf")[
            "posterior"
        ]["w"].values
        for s in (0, 1)
    ]
    assert not np.array_equal(*draws)


def test_a_rerun_skips_what_finished_and_a_failure_keeps_the_others(tmp_path, capsys):
    out = tmp_path / "sweep"
    base = [
        "sweep",
        "diabetes-ridge",
        "--only",
        "map",
        "--out",
        str(out),
        "--engine",
        "processes",
        "--quiet",
    ]
    assert main([*base, "--seeds", "0"]) == 0
    first = out / "seed=0" / "summary.json"
    stamp = first.stat().st_mtime_ns
    # A user's file inside one combination's folder: that combination must not overwrite it.
    blocked = out / "seed=2"
    blocked.mkdir()
    (blocked / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main([*base, "--seeds", "0", "1", "2"]) == 1
    err = capsys.readouterr().err
    assert "seed=2 failed" in err and "notes.txt" in err
    assert (blocked / "notes.txt").read_text() == "mine"
    record = json.loads((out / SWEEP_MANIFEST).read_text())
    status = {n: c["status"] for n, c in record["combinations"].items()}
    assert status == {"seed=0": "finished before", "seed=1": "done", "seed=2": "failed"}
    assert first.stat().st_mtime_ns == stamp  # skipped, not rerun
    merged = xr.open_dataset(out / "sweep.nc", engine="h5netcdf").load()
    assert merged["finished"].values.tolist() == [True, True, False]
    assert np.isnan(merged["map.b"].sel(seed=2).item())


def test_the_sweep_folder_is_refused_unless_new_empty_or_this_cards_sweep(tmp_path, capsys):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "data.csv").write_text("1,2\n")
    argv = ["sweep", "diabetes-ridge", "--only", "map", "--seeds", "0", "--engine", "processes"]
    assert main([*argv, "--out", str(theirs)]) == 2
    assert "did not write" in capsys.readouterr().err
    assert (theirs / "data.csv").read_text() == "1,2\n" and len(list(theirs.iterdir())) == 1
    ours = tmp_path / "ours"
    assert main([*argv, "--out", str(ours), "--quiet"]) == 0
    other = ["sweep", "diabetes-lasso", "--only", "map", "--seeds", "0", "--out", str(ours)]
    assert main(other) == 2
    assert "another card" in capsys.readouterr().err
    bad_values = (
        ["--set", "prior.strength=-1"],
        ["--set", "prior.nope=1"],
        ["--set", "prior.strength=1,1"],
        ["--splits", "0"],
        ["--only", "dropout"],
        ["--cpus-per-task", "0"],
    )
    for bad in bad_values:
        assert main([*argv, "--out", str(tmp_path / "new"), *bad]) == 2
        assert not (tmp_path / "new").exists()  # refused before any task or folder


def _die_once(marker: str, value: int) -> int:
    """Kills its own worker process the first time it runs, then returns ``value``."""
    path = Path(marker)
    if not path.exists():
        path.write_text("killed once")
        os.kill(os.getpid(), signal.SIGKILL)
    return value


def _double(value):
    return 2 * value


def _fail(value):
    raise ValueError(f"bad value {value}")


def test_local_processes_retry_a_killed_worker_and_report_a_raising_task(tmp_path):
    tasks = [
        Task("dies-once", _die_once, {"marker": str(tmp_path / "m"), "value": 7}),
        Task("raises", _fail, {"value": 3}),
        Task("fine", _double, {"value": 2}),
    ]
    outs = fan_out(tasks, engine="processes", workers=2, progress=False)
    assert [o.name for o in outs] == ["dies-once", "raises", "fine"]
    assert outs[0].value == 7 and outs[2].value == 4
    assert not outs[1].ok and "ValueError: bad value 3" in outs[1].error
    # Without retries the death is reported; what finished before it is kept. (In local
    # processes a dying worker breaks the pool, so every task still waiting fails with it.)
    (tmp_path / "m").unlink()
    outs = fan_out(tasks[::-1], engine="processes", workers=1, retries=0, progress=False)
    assert outs[0].value == 4
    assert "died" in outs[2].error and not outs[1].ok


YACHT_RIDGE = """title = "Ridge on UCI yacht"
[data]
source = "uci:yacht"
split = 0
[model]
sigma = 1.0
[prior]
family = "gaussian"
scale = 1.0
"""


def test_splits_are_a_dim_and_without_ray_local_processes_say_how_to_get_it(
    tmp_path, capsys, monkeypatch
):
    import bayes_reg.fanout

    monkeypatch.setattr(bayes_reg.fanout, "ray_available", lambda: False)  # as if not installed
    card = tmp_path / "yacht.toml"
    card.write_text(YACHT_RIDGE)
    out = tmp_path / "sweep"
    assert main(["sweep", str(card), "--splits", "0-1", "--only", "map", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "on local processes" in printed and 'pip install "bayes-reg[ray]"' in printed
    merged = xr.open_dataset(out / "sweep.nc", engine="h5netcdf").load()
    assert merged["data.split"].values.tolist() == [0, 1]
    # Split 1 by hand: the card edited and run by `bayes-reg run`.
    one = tmp_path / "one.toml"
    one.write_text(YACHT_RIDGE.replace("split = 0", "split = 1"))
    ref = _numbers(run_summary(one, tmp_path / "one", "--only", "map"))
    assert ref["map.b"] == merged["map.b"].sel({"data.split": 1}).item()
    assert merged["map.b"].sel({"data.split": 0}).item() != ref["map.b"]  # other rows


def test_an_interrupted_sweep_says_what_it_kept(monkeypatch, tmp_path, capsys):
    import bayes_reg.run.sweep

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bayes_reg.run.sweep, "run_sweep", interrupted)
    argv = ["sweep", "diabetes-ridge", "--seeds", "0", "--out", str(tmp_path / "s")]
    assert main(argv) == 130
    assert "finished are kept; the same command resumes" in capsys.readouterr().err
