"""Wall time of the command line's quick commands, in fresh interpreters, beside their floors.

The commands that compute nothing (``bayes-reg --help``, ``cards``, ``conventions``,
``convert ...``) should answer at once: the target is under 0.5 s each. So should ``run`` and
``compare`` where they refuse the output folder (exit 2), before any computation. Each is run as
``python -m bayes_reg ...`` in a new process, so the time includes starting Python and every
import, as a user sees it. Measured in the same run, as peers and floors:

- ``python -c "pass"``: starting the interpreter, the floor no command can beat;
- ``python -c "import numpy"``: the one heavy-ish import the quick commands keep;
- ``python -c "import jax"``: what importing JAX alone costs (the quick commands used to pay
  it, and NumPyro and ArviZ on top).

With ``--baseline DIR`` (a folder holding another ``bayes_reg`` package, e.g. the last commit:
``git archive HEAD bayes_reg | tar -x -C DIR``) the same commands are timed from that copy
too, in the same rounds, so before and after meet the same machine load.

Every command runs once to warm the disk cache, then ``--repeats`` times (default 7); the
commands take turns within each round, so a burst of load elsewhere on the machine hits all
of them alike. The median is reported, with the fastest and slowest run. Run with the
project's environment::

    .venv/bin/python benchmarks/cli/run.py [--baseline /tmp/before]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
ROOT = Path(__file__).resolve().parents[2]
TARGET_S = 0.5
PACKAGES = ("bayes-reg", "jax", "jaxlib", "numpyro", "arviz-base", "numpy", "rich")

#: The quick commands: name -> arguments of ``python -m bayes_reg``.
COMMANDS = {
    "--help": ["--help"],
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
}

#: Commands that refuse their --out (exit 2), run in a folder holding CARD and THEIRS.
REFUSALS = {
    "run, refused": ["run", "card.toml", "--out", "."],
    "compare, refused": ["compare", "a", "b", "--out", "theirs"],
}
CARD = '[data]\nsource = "diabetes"\n[model]\nsigma = 1.0\n[prior]\nscale = 1.0\n'
THEIRS = "theirs/notes.txt"  # a user's file: the folder that holds it is refused

#: Peers and floors: name -> the code of ``python -c``.
FLOORS = {
    'python -c "pass"': "pass",
    'python -c "import numpy"': "import numpy",
    'python -c "import jax"': "import jax",
}


def _runs(baseline: Path | None) -> dict[str, tuple[list[str], dict[str, str], int]]:
    """Every timed thing: label -> (the arguments after ``python``, extra environment, the
    exit code it must end with)."""
    packages = {"": ROOT} | ({" (baseline)": baseline} if baseline is not None else {})
    commands = {name: (args, 0) for name, args in COMMANDS.items()}
    commands |= {name: (args, 2) for name, args in REFUSALS.items()}
    runs = {}
    for name, (args, code) in commands.items():
        for suffix, where in packages.items():
            runs[f"bayes-reg {name}{suffix}"] = (
                ["-m", "bayes_reg", *args],
                {"PYTHONPATH": str(where)},
                code,
            )
    for name, code in FLOORS.items():
        runs[name] = (["-c", code], {}, 0)
    return runs


def _time_once(args: list[str], env: dict[str, str], code: int, cwd: str) -> float:
    argv = [sys.executable, *args]
    start = time.perf_counter()
    done = subprocess.run(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != code:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds


def measure(repeats: int, baseline: Path | None) -> dict[str, dict]:
    runs = _runs(baseline)
    base_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JAX_ENABLE_X64")}
    base_env["JAX_PLATFORMS"] = "cpu"
    times: dict[str, list[float]] = {label: [] for label in runs}
    # A neutral folder: `-m bayes_reg` must find the package through PYTHONPATH, not the cwd.
    with tempfile.TemporaryDirectory() as cwd:
        Path(cwd, "card.toml").write_text(CARD)
        Path(cwd, THEIRS).parent.mkdir()
        Path(cwd, THEIRS).write_text("mine\n")
        for args, extra, code in runs.values():  # warm-up: disk cache, .pyc files
            _time_once(args, base_env | extra, code, cwd)
        for _ in range(repeats):
            for label, (args, extra, code) in runs.items():
                times[label].append(_time_once(args, base_env | extra, code, cwd))
    return {
        label: {
            "median_s": statistics.median(t),
            "min_s": min(t),
            "max_s": max(t),
            "runs_s": t,
            "command": shlex.join(["python", *runs[label][0]]),
            "pythonpath": runs[label][1].get("PYTHONPATH"),
        }
        for label, t in times.items()
    }


def machine_info() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def markdown(report: dict) -> str:
    m, st = report["machine"], report["settings"]
    v = ", ".join(f"{k} {val}" for k, val in m["versions"].items() if val)
    load_before = ", ".join(f"{x:.2f}" for x in st["load_average_before"])
    load_after = ", ".join(f"{x:.2f}" for x in st["load_average_after"])
    has_baseline = st["baseline"] is not None
    lines = [
        "# The command line's quick commands: wall time in a fresh interpreter",
        "",
        f"{m['date']}; {m['cores']} cores, {m['cpu']}; {m['platform']}; Python {m['python']}; {v}.",
        f"Load average (1, 5, 15 min) before: {load_before}; after: {load_after}.",
        "",
        f"Each command ran once to warm up, then {st['repeats']} times, the commands taking"
        " turns within each round; median, fastest and slowest wall time of the whole process"
        f" (start-up and imports included). Target: under {TARGET_S} s for each"
        " `bayes-reg` command."
        + (
            f" `(baseline)` rows run the package in `{st['baseline']}` (the code before the"
            " change) in the same rounds."
            if has_baseline
            else ""
        ),
        "",
        "| what | median s | min s | max s |",
        "|---|---:|---:|---:|",
    ]
    for label, r in report["results"].items():
        lines.append(f"| `{label}` | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['max_s']:.3f} |")
    lines += ["", "Commands:", ""]
    lines += [f"- `{label}`: `{r['command']}`" for label, r in report["results"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each (median)")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a folder holding another bayes_reg package, timed beside this one",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for cli.json/.md")
    args = parser.parse_args(argv)
    if args.baseline is not None and not (args.baseline / "bayes_reg" / "cli.py").is_file():
        parser.error(f"--baseline {args.baseline}: no bayes_reg/cli.py in it")

    load_before = os.getloadavg()
    t_start = time.perf_counter()
    results = measure(args.repeats, args.baseline and args.baseline.resolve())
    report = {
        "machine": machine_info(),
        "settings": {
            "repeats": args.repeats,
            "warm_up_runs": 1,
            "baseline": str(args.baseline) if args.baseline else None,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "target_s": TARGET_S,
        },
        "total_seconds": time.perf_counter() - t_start,
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cli.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "cli.md").write_text(markdown(report))
    print(markdown(report))
    return report


if __name__ == "__main__":
    main()
