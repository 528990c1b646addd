"""The package as a user installs it: a wheel, installed outside the checkout, runs a shipped
card by name from any folder (the cards and data sets are package data)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A wheel built from a copy of the checkout (the build writes build/ and egg-info beside
    its sources, which must not happen in the checkout), installed into a folder of its own
    (no dependencies: those of this environment serve)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "tests"
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp.glob("bayes_reg-*.whl")
    site = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), wheel],
        check=True,
        capture_output=True,
    )
    return site


def _python(site, *args, cwd):
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_installed_package_is_the_wheel(installed, tmp_path):
    run = _python(installed, "-c", "import bayes_reg; print(bayes_reg.__file__)", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith(str(installed))


def test_the_wheel_lists_and_validates_every_shipped_card(installed, tmp_path):
    run = _python(installed, "-m", "bayes_reg", "cards", cwd=tmp_path)
    assert run.returncode == 0, run.stderr  # every card loads: data sets found by name
    shipped = sorted(p.stem for p in (ROOT / "bayes_reg" / "models").glob("*.toml"))
    listed = [line.split()[0] for line in run.stdout.splitlines()[: len(shipped)]]
    assert listed == shipped
    assert str(installed) in run.stdout  # the cards read are the wheel's


def test_the_wheel_runs_a_shipped_card_by_name_from_any_folder(installed, tmp_path):
    run = _python(
        installed,
        "-m",
        "bayes_reg",
        "run",
        "d2l-weight-decay",
        "--only",
        "map",
        "--out",
        "d2l",
        "--quiet",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert {"report.html", "summary.json", "bayes-reg-manifest.json"} <= {
        p.name for p in (tmp_path / "d2l").iterdir()
    }
