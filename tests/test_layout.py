"""The package's imports run one way, down the flow of docs/ARCHITECTURE.md, with no circle."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bayes_reg"

# Floors, bottom up: a module may import its own floor or a lower one, never a higher one.
FLOORS = [
    (
        "bayes_reg._validate",
        "bayes_reg._progress",
        "bayes_reg._random",
        "bayes_reg._sharding",
        "bayes_reg._training",
        "bayes_reg._values",
        "bayes_reg.cache",
        "bayes_reg.fanout",
    ),
    (
        "bayes_reg.uci",
        "bayes_reg.data",
        "bayes_reg.design",
        "bayes_reg.formulas",
        "bayes_reg.design_checks",
        "bayes_reg.priors",
        "bayes_reg.per_feature",
        "bayes_reg.noise",
        "bayes_reg.predictive",
    ),
    ("bayes_reg.convention_table", "bayes_reg.conventions"),
    ("bayes_reg.rescaling", "bayes_reg.inference"),
    ("bayes_reg.linear", "bayes_reg.nets"),
    ("bayes_reg.figures", "bayes_reg.net_figures", "bayes_reg.workflow", "bayes_reg.sklearn"),
    ("bayes_reg.run",),
    ("bayes_reg.cli", "bayes_reg.cli_parser"),
    ("bayes_reg.__main__",),
]
# The two sides of the house never import each other.
APART = [("bayes_reg.linear", "bayes_reg.nets")]


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The bayes_reg modules ``path`` imports (``from bayes_reg import x`` counts as x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("bayes_reg")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bayes_reg"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                is_module = (PACKAGE.parent / Path(*sub.split("."))).with_suffix(".py").exists()
                found.add(sub if is_module else node.module)
    return found


MODULES = {_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py")) if p.name != "__init__.py"}


def _floor(module: str) -> int:
    for i, floor in enumerate(FLOORS):
        if any(module == m or module.startswith(m + ".") for m in floor):
            return i
    raise AssertionError(f"{module} is on no floor: add it to FLOORS and docs/ARCHITECTURE.md")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_up_the_flow(module):
    here = _floor(module)
    for target in MODULES[module] - {"bayes_reg"}:
        assert _floor(target) <= here, f"{module} imports {target}, a higher floor"


@pytest.mark.parametrize("left, right", APART)
def test_the_two_sides_do_not_import_each_other(left, right):
    for module, targets in MODULES.items():
        for a, b in ((left, right), (right, left)):
            if module.startswith(a + "."):
                assert not any(t.startswith(b) for t in targets), f"{module} imports {b}"


def test_no_circle_of_imports():
    state = {}

    def visit(module, trail):
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", "circle: " + " -> ".join([*trail, module])
        state[module] = "open"
        for target in sorted(MODULES.get(module, ())):
            visit(target, [*trail, module])
        state[module] = "done"

    for module in sorted(MODULES):
        visit(module, [])


def test_no_module_is_a_grab_bag():
    sizes = {
        m: len((PACKAGE.parent / Path(*m.split("."))).with_suffix(".py").read_text().splitlines())
        for m in MODULES
    }
    too_long = {m: n for m, n in sizes.items() if n > 470}
    assert not too_long, f"split these modules by job: {too_long}"
