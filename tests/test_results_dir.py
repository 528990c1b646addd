"""`--out` never costs a user a file: only a new or empty folder, or a previous result and
nothing else, is written; everything else is refused with exit 2 before any computation.

The CLI cases run `bayes-reg` as a subprocess on real files in a temporary folder and check
every file byte for byte afterwards.
"""

import json
import subprocess
import sys

import pytest

from bayes_reg.run.results_dir import MANIFEST, OutputDirError, check_out_dir, result_dir

# A quick card (the MAP stage alone is a closed-form ridge) reading a CSV beside it.
CARD = """
title = "tiny"
[data]
source = "csv:data.csv"
target = "y"
[model]
sigma = 1.0
[prior]
scale = 1.0
"""
CSV = "x1,x2,y\n" + "".join(f"{i},{(i * 7) % 5},{i % 3 + 0.5}\n" for i in range(12))


def _bayes_reg(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "bayes_reg.cli", "run", *args, "--only", "map", "--quiet"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _snapshot(folder):
    """Every file below ``folder`` (hidden ones too) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def project(tmp_path):
    """A user's folder: the card, its data and an unrelated file of theirs."""
    (tmp_path / "card.toml").write_text(CARD)
    (tmp_path / "data.csv").write_text(CSV)
    (tmp_path / "notes.txt").write_text("my own notes\n")
    return tmp_path


def _refused(run, *words):
    assert run.returncode == 2, run.stderr
    assert "name a new or empty folder" in run.stderr
    for word in words:
        assert word in run.stderr


def test_out_dot_is_refused_and_nothing_is_touched(project):
    before = _snapshot(project)
    run = _bayes_reg("card.toml", "--out", ".", cwd=project)
    _refused(run, "current folder")
    assert _snapshot(project) == before


def test_a_folder_above_the_current_one_is_refused(project):
    work = project / "work"
    work.mkdir()
    before = _snapshot(project)
    run = _bayes_reg("../card.toml", "--out", "..", cwd=work)
    _refused(run, "current folder or a folder above it")
    assert _snapshot(project) == before


def test_a_folder_with_the_users_files_is_refused(project):
    precious = project / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("four years of work\n")
    before = _snapshot(project)
    run = _bayes_reg("card.toml", "--out", "precious", cwd=project)
    _refused(run, "thesis.txt", "did not write")
    assert _snapshot(project) == before


@pytest.mark.parametrize("what", ["card", "data"])
def test_a_folder_holding_the_card_or_its_data_is_refused(tmp_path, what):
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "data.csv").write_text(CSV)
    if what == "card":
        card = inner / "card.toml"
        card.write_text(CARD)
    else:
        card = tmp_path / "card.toml"
        card.write_text(CARD.replace("csv:data.csv", "csv:inner/data.csv"))
    before = _snapshot(tmp_path)
    run = _bayes_reg(str(card), "--out", "inner", cwd=tmp_path)
    _refused(run, "which this run reads")
    assert _snapshot(tmp_path) == before


def test_a_file_is_refused(project):
    before = _snapshot(project)
    _refused(_bayes_reg("card.toml", "--out", "notes.txt", cwd=project), "is a file")
    assert _snapshot(project) == before


def test_a_result_is_written_replaced_and_then_guarded(project):
    first = _bayes_reg("card.toml", "--out", "results", cwd=project)
    assert first.returncode == 0, first.stderr
    out = project / "results"
    manifest = json.loads((out / MANIFEST).read_text())
    assert sorted(manifest["files"]) == sorted(p.name for p in out.iterdir() if p.name != MANIFEST)
    assert {"report.html", "summary.json", "posterior.nc"} <= set(manifest["files"])

    # A previous result and nothing else: replaced, and nothing is left beside it.
    (out / "summary.json").write_text("stale")
    again = _bayes_reg("card.toml", "--out", "results", cwd=project)
    assert again.returncode == 0, again.stderr
    assert (out / "summary.json").read_text() != "stale"
    assert sorted(p.name for p in project.iterdir()) == [
        "card.toml",
        "data.csv",
        "notes.txt",
        "results",
    ]

    # A file of the user's inside the result: the whole folder is refused, kept as it is.
    (out / "my-plot.png").write_bytes(b"not ours")
    before = _snapshot(project)
    _refused(_bayes_reg("card.toml", "--out", "results", cwd=project), "my-plot.png")
    assert _snapshot(project) == before


def test_an_empty_folder_is_used(project):
    (project / "empty").mkdir()
    run = _bayes_reg("card.toml", "--out", "empty", cwd=project)
    assert run.returncode == 0, run.stderr
    assert (project / "empty" / MANIFEST).is_file()


# --- the module, in process --------------------------------------------------------------


def test_a_manifest_not_written_by_bayes_reg_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text(json.dumps({"files": []}))
    with pytest.raises(OutputDirError, match="not one that bayes-reg wrote"):
        check_out_dir(out)


def test_a_manifest_listing_a_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "thesis.txt").write_text("x")
    (out / MANIFEST).write_text(json.dumps({"written_by": "bayes-reg", "files": ["sub"]}))
    with pytest.raises(OutputDirError, match="not all plain files"):
        check_out_dir(out)


def test_files_that_appear_during_the_run_stop_the_swap(tmp_path):
    out = tmp_path / "out"
    with result_dir(out) as tmp:
        (tmp / "a.txt").write_text("first")
    with pytest.raises(OutputDirError, match="late.txt"):
        with result_dir(out) as tmp:
            (tmp / "a.txt").write_text("second")
            (out / "late.txt").write_text("the user's, written while the run computed")
    assert (out / "a.txt").read_text() == "first"
    assert (out / "late.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no partial folder left


def test_an_error_inside_leaves_the_previous_result(tmp_path):
    out = tmp_path / "out"
    with result_dir(out) as tmp:
        (tmp / "a.txt").write_text("first")
    with pytest.raises(RuntimeError):
        with result_dir(out) as tmp:
            (tmp / "a.txt").write_text("second")
            raise RuntimeError("the run failed")
    assert (out / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
