"""The commands that compute nothing import nothing heavy; ``bayes_reg``'s names load lazily.

These tests assert on *what is imported*, never on wall time (that is
``benchmarks/cli/run.py``'s job): each command runs in a fresh interpreter, which then reports
the heavy modules present.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import bayes_reg
from bayes_reg.cli import CARDS_DIR, main

#: What the quick commands must not import (JAX alone takes about a second).
HEAVY = (
    "arviz_base",
    "arviz_plots",
    "arviz_stats",
    "formulaic",
    "jax",
    "jaxlib",
    "matplotlib",
    "numpyro",
    "optax",
    "pandas",
    "scipy",
    "xarray",
)

# One command line per quick command, with real arguments (the README's examples).
COMMANDS = {
    "help": ["--help"],
    "cards": ["cards"],
    "conventions": ["conventions"],
    "convert": [
        "convert",
        "--from",
        "d2l",
        "--strength",
        "3",
        "--n",
        "20",
        "--sigma",
        "0.01",
        "--to",
        "sklearn-ridge",
    ],
    "convert-json": [
        "convert",
        "--from",
        "sklearn-lasso",
        "--strength",
        "0.05",
        "--n",
        "442",
        "--sigma",
        "54",
        "--to",
        "prior",
        "--json",
    ],
    "convert-glm": ["convert", "--from", "sklearn-logistic", "--strength", "1", "--n", "200"],
}

_PROBE = f"""
import json, sys
from bayes_reg.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as stop:  # argparse's --help
    code = stop.code
heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
print(json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""

# The same width for argparse and rich here and in the fresh interpreter.
_COLUMNS = "120"


def _fresh(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env or os.environ | {"COLUMNS": _COLUMNS},
    )


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_quick_commands_import_nothing_heavy_and_print_the_same(name, capsys, monkeypatch):
    argv = COMMANDS[name]
    run = _fresh(_PROBE, *argv)
    report = json.loads(run.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": []}, run.stderr

    # The same command in this process, where JAX, NumPyro and ArviZ are already imported.
    monkeypatch.setenv("COLUMNS", _COLUMNS)
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    assert code == 0
    assert run.stdout == capsys.readouterr().out


def test_the_quick_commands_say_what_the_cli_tests_expect():
    outputs = {name: _fresh(_PROBE, *argv).stdout for name, argv in COMMANDS.items()}
    assert outputs["help"].startswith("usage: bayes-reg")
    for path in CARDS_DIR.glob("*.toml"):
        assert path.stem in outputs["cards"]
    for name in bayes_reg.ALL_CONVENTIONS:
        assert name in outputs["conventions"]
    assert "AdamW" in outputs["conventions"]
    assert "= sklearn-ridge strength" in outputs["convert"]
    assert json.loads(outputs["convert-json"])["prior"]["family"] == "laplace"
    assert "bernoulli likelihood" in outputs["convert-glm"]


def test_a_refused_folder_is_answered_before_the_computing_modules_load(tmp_path):
    # `run` and `compare` check --out first: a refusal costs the user no import of JAX, ArviZ
    # or matplotlib (about 2.5 s when they loaded first). Reading the card may load pandas.
    (tmp_path / "card.toml").write_text(
        '[data]\nsource = "diabetes"\n[model]\nsigma = 1.0\n[prior]\nscale = 1.0\n'
    )
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine\n")
    refused = {
        "run": ["run", str(tmp_path / "card.toml"), "--out", str(tmp_path), "--quiet"],
        "compare": ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(theirs)],
    }
    for name, argv in refused.items():
        run = _fresh(_PROBE, *argv)
        report = json.loads(run.stderr.strip().splitlines()[-1])
        assert report["code"] == 2 and "name a new or empty folder" in run.stderr, name
        assert set(report["heavy"]) <= {"pandas"}, (name, report)
    assert (theirs / "notes.txt").read_text() == "mine\n"


def test_every_public_name_resolves_to_its_module_object():
    for name in bayes_reg.__all__:
        value = getattr(bayes_reg, name)
        module = sys.modules[bayes_reg._MODULE_OF[name]]
        assert value is getattr(module, name), name
    assert set(bayes_reg.__all__) <= set(dir(bayes_reg))
    assert set(bayes_reg._MODULE_OF) == set(bayes_reg.__all__)


def test_star_import_gives_every_public_name():
    namespace = {}
    exec("from bayes_reg import *", namespace)
    assert set(bayes_reg.__all__) <= set(namespace)


def test_an_unknown_name_is_an_attribute_error_that_points_to_all():
    with pytest.raises(AttributeError, match=r"has no attribute 'no_such_name'.*__all__"):
        bayes_reg.no_such_name  # noqa: B018
    assert not hasattr(bayes_reg, "_private_nothing")


def test_submodules_are_reachable_as_attributes():
    assert bayes_reg.linear.posterior.sample_posterior is bayes_reg.sample_posterior


_ENV = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}


@pytest.mark.parametrize("jax_first", [False, True], ids=["bayes_reg-first", "jax-first"])
def test_importing_bayes_reg_turns_float64_on_without_importing_jax(jax_first):
    run = _fresh(
        f"""
        import sys
        if {jax_first}:
            import jax
        import bayes_reg
        print("jax" in sys.modules)
        import jax.numpy as jnp
        print(jnp.zeros(1).dtype)
        """,
        env=_ENV,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [str(jax_first), "float64"]


def test_values_are_pytrees_once_jax_is_imported_after_them():
    run = _fresh(
        """
        import sys
        from bayes_reg import ElasticNet, Gaussian, HalfNormal
        values = Gaussian(0.5, mean=1.0), ElasticNet(1.0, 2.0), HalfNormal(3.0)
        assert "jax" not in sys.modules
        import jax
        print(jax.tree_util.tree_leaves(values))
        """,
        env=_ENV,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[0.5, 1.0, 1.0, 2.0, 3.0]"


@pytest.mark.parametrize("arviz_first", [True, False], ids=["arviz-first", "arviz-second"])
def test_numpyro_submodules_survive_arviz_base_lazy_loading(arviz_first):
    # arviz_base registers numpyro as a lazy module; the first numpyro submodule bayes_reg then
    # imports (here through a prior's to_numpyro) would be loaded twice and lose
    # ``numpyro.distributions.distribution``, which numpyro.factor (a Laplace prior) needs.
    run = _fresh(
        f"""
        import numpy as np
        if {arviz_first}:
            import arviz_base
            import bayes_reg as br
        else:
            import bayes_reg as br
            import arviz_base
        br.Gaussian(1.0).to_numpyro()
        X = np.random.default_rng(0).normal(size=(30, 2))
        y = X @ np.array([1.0, -1.0])
        mode = br.map_model(br.linear_regression, X, y, prior=br.Laplace(1.0), sigma=1.0)
        print(sorted(mode))
        """
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "['b', 'w_mix', 'w_z']"
