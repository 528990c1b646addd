"""Where the default test run's time goes: each test's duration, and how much of it JAX spent
compiling, program by program.

Runs the README's test command (``python -m pytest -n 2``) with the plugin
``compile_profile.py`` and reports the wall time; the tests' durations (setup, call and
teardown) added over both workers; how much of that the test processes spent tracing,
lowering and XLA-compiling programs (a hit in the run's shared persistent cache counts as a
short compile); the programs that cost the most; the slowest tests and files, and how much of
each was compiling. Child processes (the CLI's, the notebooks' kernels, the README's blocks)
are not seen: their compiling counts as not compiling, so the share is a lower bound. No peer
is measured: this is a profile of the suite, for whoever makes it faster::

    .venv/bin/python benchmarks/test_suite/run.py [pytest arguments, default: -n 2]
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from run import machine_info  # noqa: E402  (the CLI benchmark's machine description)

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"
ROOT = HERE.parents[1]
TOP = 25  # rows in each table


def run_suite(pytest_args: list[str], profile_dir: Path) -> tuple[dict, list[dict]]:
    """The suite with the plugin loaded: its wall time and outcome, and the plugin's records."""
    env = os.environ | {
        "BAYES_REG_PROFILE_DIR": str(profile_dir),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "pytest", *pytest_args, "-p", "compile_profile"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    outcome = re.findall(r"^=+ (.*(?:passed|failed|error).*) =+$", done.stdout, re.MULTILINE)
    records = [
        json.loads(line)
        for path in sorted(profile_dir.glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    run = {
        "command": ["python", "-m", "pytest", *pytest_args],
        "returncode": done.returncode,
        "outcome": outcome[-1] if outcome else done.stdout[-500:],
        "wall_s": wall,
    }
    return run, records


def summarise(records: list[dict]) -> dict:
    """Durations and compile times, by test, by file and by program."""
    tests: dict[str, float] = defaultdict(float)
    compiling: dict[str, float] = defaultdict(float)  # per test: trace + lower + compile
    programs: dict[str, dict] = defaultdict(
        lambda: {"compiles": 0, "compile_s": 0.0, "trace_lower_s": 0.0}
    )
    stages: dict[str, float] = defaultdict(float)
    for r in records:
        if "phase" in r:
            tests[r["test"]] += r["seconds"]
            continue
        stages[r["stage"]] += r["seconds"]
        compiling[r["test"]] += r["seconds"]
        program = programs[re.sub(r"^jit\((.*)\)$", r"\1", r["program"])]
        if r["stage"] == "compile":
            program["compiles"] += 1
            program["compile_s"] += r["seconds"]
        else:
            program["trace_lower_s"] += r["seconds"]
    files: dict[str, dict] = defaultdict(lambda: {"seconds": 0.0, "compiling_s": 0.0})
    for test, seconds in tests.items():
        file = files[test.split("::")[0]]
        file["seconds"] += seconds
        file["compiling_s"] += compiling.get(test, 0.0)

    def top(table: dict, key) -> list:
        return sorted(table.items(), key=key, reverse=True)[:TOP]

    return {
        "tests_s": sum(tests.values()),
        "tests": len(tests),
        "stages_s": dict(stages),
        "programs_compiled": sum(p["compiles"] for p in programs.values()),
        "programs": top(programs, lambda kv: kv[1]["compile_s"] + kv[1]["trace_lower_s"]),
        "slowest_tests": [
            (test, seconds, compiling.get(test, 0.0))
            for test, seconds in top(tests, lambda kv: kv[1])
        ],
        "files": top(files, lambda kv: kv[1]["seconds"]),
    }


def markdown(report: dict) -> str:
    m, run, s = report["machine"], report["run"], report["summary"]
    v = ", ".join(f"{k} {val}" for k, val in m["versions"].items() if val)
    load = [", ".join(f"{x:.2f}" for x in report[k]) for k in ("load_before", "load_after")]
    jax_s = sum(s["stages_s"].values())
    lines = [
        "# The default test run: where its time goes",
        "",
        f"{m['date']}; {m['cores']} cores, {m['cpu']}; {m['platform']}; Python {m['python']}; {v}.",
        f"Load average (1, 5, 15 min) before: {load[0]}; after: {load[1]}.",
        "",
        f"`{' '.join(run['command'])}` (`benchmarks/test_suite/run.py`): **{run['wall_s']:.0f} s**"
        f" wall, {run['outcome']}. The {s['tests']} tests' durations add to"
        f" {s['tests_s']:.0f} s over the workers; the test processes spent **{jax_s:.0f} s**"
        f" ({jax_s / s['tests_s']:.0%}) of it on JAX programs: XLA compiling"
        f" {s['stages_s'].get('compile', 0):.0f} s ({s['programs_compiled']} compiles),"
        f" tracing {s['stages_s'].get('trace', 0):.0f} s, lowering to MLIR"
        f" {s['stages_s'].get('lower', 0):.0f} s. Child processes (the CLI's, the notebooks',"
        " the README's blocks) are not seen, so that share is a lower bound.",
        "",
        "## The programs that cost the most",
        "",
        "| program | compiles | XLA compiling, s | tracing + lowering, s |",
        "|---|---:|---:|---:|",
        *(
            f"| `{name}` | {p['compiles']} | {p['compile_s']:.1f} | {p['trace_lower_s']:.1f} |"
            for name, p in s["programs"]
        ),
        "",
        "## The slowest tests",
        "",
        "| test | s | of which JAX programs, s |",
        "|---|---:|---:|",
        *(f"| `{t}` | {sec:.1f} | {comp:.1f} |" for t, sec, comp in s["slowest_tests"]),
        "",
        "## The slowest files",
        "",
        "| file | tests' s | of which JAX programs, s |",
        "|---|---:|---:|",
        *(f"| `{f}` | {d['seconds']:.1f} | {d['compiling_s']:.1f} |" for f, d in s["files"]),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    pytest_args = (sys.argv[1:] if argv is None else argv) or ["-n", "2"]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as profile_dir:
        run, records = run_suite(pytest_args, Path(profile_dir))
    report = {
        "machine": machine_info(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "run": run,
        "summary": summarise(records),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "test_suite.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (RESULTS / "test_suite.md").write_text(text)
    print(text)
    return report


if __name__ == "__main__":
    main()
