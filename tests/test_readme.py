"""The README runs as written: every Python block, the command line's quick lines and their
output, the card names it mentions, and its test command (the one `.ci/run` runs).

Each Python block runs in a subprocess with this venv's Python, not by ``exec`` in the test
process: a reader pastes a block into a fresh interpreter, and the test process is not one
(conftest.py has already imported JAX and switched on x64). ``-W error`` carries the
project's ``filterwarnings = ["error"]`` into the child, so a block that warns fails. The
child inherits conftest.py's environment (CPU only, a private compilation cache) and runs
matplotlib with the Agg backend, in a temporary folder, so nothing lands in the checkout.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

#: Python blocks that take over ~20 s (pytest call time of the subprocess, interpreter start and
#: imports included, two runs on the shared 2-core CPU this was written on); they run with
#: ``-m slow``. The others took 8-15 s each: the-python-api-1 10-12 s, the d2l comparison
#: 10-15 s, the dropout pieces (approximate-posteriors-...-3) 8-12 s.
SLOW = {
    "the-python-api-2": "22-26 s: sample_posterior twice and run_nuts, NUTS on diabetes",
    "your-own-model-likelihoods-priors-intercepts-2": (
        "26 s: NUTS under the Poisson and the negative binomial, and PSIS-LOO"
    ),
    "approximate-posteriors-of-a-network-against-its-nuts-posterior-1": (
        "60-90 s: 2000 epochs of dropout training, every approximation and NUTS on the "
        "1-50-1 network"
    ),
    "approximate-posteriors-of-a-network-against-its-nuts-posterior-2": (
        "19-25 s: five MAP networks, Laplace, 5000 steps of VI and SWAG on the 1-50-1 network"
    ),
}


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _blocks(language: str) -> list[tuple[str, str]]:
    """``(id, code)`` of each fenced block of ``language``: the slug of the heading it sits
    under and its 1-based index under that heading."""
    heading, counts, found = "top", {}, []
    lines = README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#") and not line.startswith("#!"):
            heading = _slug(line.lstrip("#"))
        elif line.startswith("```"):
            lang = line[3:].strip()
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            if lang == language:
                counts[heading] = counts.get(heading, 0) + 1
                found.append((f"{heading}-{counts[heading]}", "\n".join(lines[i + 1 : end])))
            i = end
        i += 1
    return found


PYTHON_BLOCKS = _blocks("python")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env.setdefault("JAX_PLATFORMS", "cpu")
    return env


def test_blocks_found():
    assert PYTHON_BLOCKS
    ids = [name for name, _ in PYTHON_BLOCKS]
    assert len(set(ids)) == len(ids)
    assert set(SLOW) <= set(ids), (
        f"SLOW names blocks the README no longer has: {set(SLOW) - set(ids)}"
    )


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(code, id=name, marks=[pytest.mark.slow] if name in SLOW else [])
        for name, code in PYTHON_BLOCKS
    ],
)
def test_python_block(code, tmp_path):
    script = tmp_path / "block.py"
    script.write_text(code + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"README block failed:\n{code}\n--- stderr ---\n{done.stderr}"


def _console() -> list[tuple[list[str], list[str]]]:
    """The console blocks' commands (``$`` lines, comments cut) with the output shown."""
    commands = []
    for line in "\n".join(block for _, block in _blocks("console")).splitlines():
        if line.startswith("$ "):
            commands.append((shlex.split(line[2:], comments=True), []))
        else:
            commands[-1][1].append(line)
    return commands


def _bayes_reg() -> list[str]:
    """The installed entry point beside this Python, else the module."""
    script = Path(sys.executable).parent / "bayes-reg"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "bayes_reg.cli"]


#: Console lines that run in seconds. `run` and `demo` take minutes and are not run here:
#: tests/test_shipped_cards.py runs every shipped card, with a reduced budget, and
#: tests/test_predict_command.py runs `predict` on a result of the diabetes-formula card, and
#: tests/test_compare_runs.py runs `compare` on results of the diabetes ridge and lasso cards,
#: tests/test_sweep.py and tests/test_ray_cluster.py run `sweep` (local processes, two Ray nodes).
QUICK = ("cards", "conventions", "convert")


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        pytest.param(argv, shown, id=" ".join(argv[1:4]))
        for argv, shown in _console()
        if argv[1] in QUICK
    ],
)
def test_console_line(argv, shown, tmp_path):
    assert argv[0] == "bayes-reg"
    done = subprocess.run(
        [*_bayes_reg(), *argv[1:]],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    if shown:
        assert done.stdout.rstrip("\n").splitlines() == shown
    if argv[1] == "cards":  # no output shown: it must list exactly the shipped cards
        names = {line.split()[0] for line in done.stdout.splitlines() if line[:1].isalnum()}
        assert names == {p.stem for p in (ROOT / "bayes_reg" / "models").glob("*.toml")}


def test_console_block_covered():
    """Every command of the block is either run above or one of the long ones named here."""
    long = {"run", "demo", "predict", "compare", "sweep"}
    assert {argv[1] for argv, _ in _console()} <= {*QUICK, *long}
    assert {argv[1] for argv, shown in _console() if shown} <= set(QUICK)


def test_console_cards_exist():
    models = {p.stem for p in (ROOT / "bayes_reg" / "models").glob("*.toml")}
    named = [argv[2] for argv, _ in _console() if argv[1] in ("run", "sweep")]
    assert named
    assert set(named) <= models, f"cards not in bayes_reg/models/: {set(named) - models}"


def test_readme_test_command_is_ci():
    """The bash blocks install packages and cannot run here; the test command they show must be
    exactly the one `.ci/run` ends with."""
    steps = [
        step.strip()
        for _, block in _blocks("bash")
        for line in block.splitlines()
        for step in line.split("&&")
        if "python -m pytest" in step
    ]
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    last = [line for line in ci if line and not line.startswith("#")][-1]
    assert steps == [last]
