"""A card with a formula and a categorical column, end to end: ``run``, the report, and
``bayes-reg predict`` on new rows, whose checks name what does not match."""

import dataclasses
import json
import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_reg.cli import CARDS_DIR, main
from bayes_reg.run.card import CardError, load_card, load_data
from bayes_reg.run.page import write_outputs
from bayes_reg.run.stages import run_card

CSV = CARDS_DIR / "diabetes-raw.csv"


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory):
    card = load_card(CARDS_DIR / "diabetes-formula.toml")
    small = card.posterior | {"chains": 2, "warmup": 300, "draws": 300}
    result = run_card(dataclasses.replace(card, posterior=small), progress=False, log=lambda m: 0)
    return write_outputs(result, tmp_path_factory.mktemp("runs") / "formula")


def test_the_run_reports_the_design_and_scores_the_held_out_rows(result_dir):
    summary = json.loads((result_dir / "summary.json").read_text())
    assert summary["design"]["features"][:2] == ["age", "C(sex)[T.2]"]
    assert summary["design"]["standardized"] and summary["n_test"] == 88
    held_out = summary["held_out"]
    # Progression's sd is 77; linear models on these columns reach an RMSE of about 53-56.
    assert 45 < held_out["rmse"] < 65 and 0.75 < held_out["coverage"] <= 1.0
    tree = xr.open_datatree(result_dir / "posterior.nc", engine="h5netcdf")
    assert list(tree["posterior"]["w"].feature.values)[1] == "C(sex)[T.2]"
    assert "original_units" in tree.children and "held_out" in tree.children
    page = (result_dir / "report.html").read_text()
    assert "Held-out rows" in page and "C(sex)" in page


def test_predict_writes_one_row_per_patient(result_dir, tmp_path):
    frame = pd.read_csv(CSV)
    held_out = frame.iloc[354:].drop(columns="progression")  # the card's last 20%
    new = tmp_path / "new.csv"
    held_out.to_csv(new, index=False)
    out = tmp_path / "predictions.csv"
    assert main(["predict", str(result_dir), "--data", str(new), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["patient", "mean", "sd", "lower", "upper"]
    assert list(table.patient) == list(held_out.patient)
    # The design rebuilt from the file gives the run's own held-out predictive means (the
    # same posterior draws; intervals differ only by the predictive draws' seed).
    tree = xr.open_datatree(result_dir / "posterior.nc", engine="h5netcdf")
    np.testing.assert_allclose(table["mean"], tree["held_out"]["mean"].values, rtol=1e-10)
    assert np.all((table.lower < table["mean"]) & (table["mean"] < table.upper))


def test_predict_refuses_what_does_not_match(result_dir, tmp_path, capsys):
    frame = pd.read_csv(CSV).iloc[:3].drop(columns="progression")
    cases = {
        "no_bmi.csv": (frame.drop(columns="bmi"), r"lack column\(s\) 'bmi'"),
        "sex3.csv": (frame.assign(sex=3), r"category the fit never saw"),
        "gap.csv": (frame.assign(bp=[80.0, None, 90.0]), r"line 3, column 'bp': missing value"),
    }
    for name, (rows, message) in cases.items():
        rows.to_csv(tmp_path / name, index=False)
        code = main(
            [
                "predict",
                str(result_dir),
                "--data",
                str(tmp_path / name),
                "--out",
                str(tmp_path / f"out-{name}"),
            ]
        )
        assert code == 2
        assert re.search(message, capsys.readouterr().err)
        assert not (tmp_path / f"out-{name}").exists()
    # An existing file is never overwritten, and a folder that is not a result is refused.
    frame.to_csv(tmp_path / "ok.csv", index=False)
    (tmp_path / "taken.csv").write_text("mine\n")
    assert (
        main(
            [
                "predict",
                str(result_dir),
                "--data",
                str(tmp_path / "ok.csv"),
                "--out",
                str(tmp_path / "taken.csv"),
            ]
        )
        == 2
    )
    assert (tmp_path / "taken.csv").read_text() == "mine\n"
    assert (
        main(
            [
                "predict",
                str(tmp_path),
                "--data",
                str(tmp_path / "ok.csv"),
                "--out",
                str(tmp_path / "p.csv"),
            ]
        )
        == 2
    )


CARD = """
title = "t"
[data]
source = "csv:data.csv"
formula = "y ~ x + group"
{extra}
[model]
sigma = 1.0
[prior]
family = "gaussian"
scale = 1.0
"""


def _csv_card(tmp_path, text_rows, extra=""):
    (tmp_path / "data.csv").write_text(text_rows)
    path = tmp_path / "card.toml"
    path.write_text(CARD.format(extra=extra))
    return path


def test_text_categories_missing_values_and_their_refusals(tmp_path):
    rows = "x,group,y\n1,a,2\n2,b,3\n,a,4\n4,c,5\n5,b,7\n"
    with pytest.raises(CardError, match=r"line 4, column 'x': missing value"):
        load_data(load_card(_csv_card(tmp_path, rows)))
    data = load_data(load_card(_csv_card(tmp_path, rows, 'missing = "drop"')))
    assert data.dropped == [4] and data.feature_names == ["x", "group[T.b]", "group[T.c]"]
    np.testing.assert_array_equal(data.X[:, 1:], [[0, 0], [1, 0], [0, 1], [1, 0]])
    with pytest.raises(
        CardError,
        match=r"formula: reads column\(s\) group that data.csv lacks; choose among x, z, y",
    ):
        load_card(_csv_card(tmp_path, rows.replace("group", "z"), ""))
    with pytest.raises(CardError, match=r"\[data\] missing: unknown value 'impute'"):
        load_card(_csv_card(tmp_path, rows, 'missing = "impute"'))
    # formulaic's message, with the place it marks but not its terminal colour codes.
    with pytest.raises(CardError, match=r"\[data\] formula: cannot be read: .*y ~ x \+ ⧛\(⧚gr"):
        path = _csv_card(tmp_path, rows)
        path.write_text(path.read_text().replace("x + group", "x + (group"))
        load_card(path)
    with pytest.raises(CardError, match=r"\[data\] target: given with a formula"):
        load_card(_csv_card(tmp_path, rows, 'target = "y"'))


def test_a_dot_in_a_card_formula_reads_every_column_but_the_target_and_id(tmp_path):
    rows = "pid,x,group,y\np1,1,a,2\np2,2,b,3\np3,3,a,4\np4,4,c,5\np5,5,b,7\n"
    path = _csv_card(tmp_path, rows, 'id = "pid"')
    path.write_text(path.read_text().replace("x + group", "."))
    data = load_data(load_card(path))
    assert data.feature_names == ["x", "group[T.b]", "group[T.c]"]
    assert data.design.formula == "x + group"
