"""The teaching notebooks run top to bottom, are committed without outputs, and stay thin.

Each notebook is executed in a fresh kernel of *this* interpreter: a kernelspec named
``python3`` is written to a temporary directory that is put first on ``JUPYTER_PATH``, so a
``python3`` kernelspec installed elsewhere (user or system) cannot point the run at another
Python. The kernel inherits this process's environment (CPU-only JAX, the Agg backend); the
pytest setting that turns warnings into errors applies to this process only, not to the kernel.
"""

import ast
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import import_or_skip

nbformat = import_or_skip("nbformat")
nbclient = import_or_skip("nbclient")
kernelspec = import_or_skip("ipykernel.kernelspec")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ALLOWED_IMPORTS = {
    "bayes_reg",
    "numpy",
    "scipy",
    "sklearn",
    "matplotlib",
    "jax",
    "optax",
    "xarray",
    "arviz",
    "pandas",
    "importlib",
}
MAX_FUNCTION_LINES = 4  # a notebook may name a short expression, not hold library code


def _code(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def _parse(source: str) -> ast.Module:
    # IPython magics and shell escapes are not Python; none are expected, but do not crash.
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(lines))


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """A ``python3`` kernelspec for sys.executable, first on JUPYTER_PATH, plus the env."""
    prefix = tmp_path_factory.mktemp("kernel")
    # ipykernel stages the spec in tempfile.mkdtemp() and removes only the spec, not the
    # folder around it: stage under pytest's own temporary tree so that no empty folder is
    # left behind in the system's temporary directory.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("kernel_staging")))
        kernelspec.install(kernel_name="python3", prefix=str(prefix))
    share = prefix / "share" / "jupyter"
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "MPLBACKEND", "JAX_PLATFORMS")}
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [str(share)] + ([saved["JUPYTER_PATH"]] if saved["JUPYTER_PATH"] else [])
    )
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["JAX_PLATFORMS"] = "cpu"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


def test_kernel_is_this_interpreter(kernel_env):
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert Path(spec.argv[0]).resolve() == Path(sys.executable).resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: code cell {i} has outputs committed"
            assert cell.execution_count is None, f"{path.name}: code cell {i} has a count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin(path):
    for source in _code(path):
        for node in ast.walk(_parse(source)):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                roots = set()
            assert roots <= ALLOWED_IMPORTS, f"{path.name} imports {roots - ALLOWED_IMPORTS}"
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                length = node.end_lineno - node.lineno + 1
                assert not isinstance(node, ast.ClassDef), f"{path.name} defines a class"
                assert length <= MAX_FUNCTION_LINES, (
                    f"{path.name} defines {node.name}() over {length} lines: library code"
                    " belongs in bayes_reg"
                )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, kernel_env):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    seconds = time.perf_counter() - start
    # Reported, not asserted: tests never assert on wall time (each is under a minute on
    # an idle 2-core CPU; see the notebooks' own budgets).
    print(f"{path.name}: {seconds:.1f} s")
