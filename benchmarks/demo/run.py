"""How long `bayes-reg demo` takes, card by card, cold and with a warm compilation cache.

The demo runs four shipped cards and one comparison (``bayes_reg.cli.DEMO_CARDS`` and
``DEMO_COMPARE``). Each round is a fresh ``bayes-reg demo`` process; the first round starts from
an empty private compilation cache (``BAYES_REG_CACHE_DIR``), the later ones reuse it, as a
user's second demo does. The command's own log times each card. Writes
``benchmarks/results/demo.{json,md}``. Run from the repository root::

    .venv/bin/python benchmarks/demo/run.py            # 2 rounds: cold, then warm
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"

# One card after another, as cli._demo runs them, each timed; the import of the CLI too.
_TIMED_DEMO = """
import json, sys, time
start = time.perf_counter()
from pathlib import Path
from bayes_reg import cli
times = {"import": time.perf_counter() - start}
out = Path(sys.argv[1])
for name in cli.DEMO_CARDS:
    t = time.perf_counter()
    cli._run(name, str(out / name), quiet=True)
    times[name] = time.perf_counter() - t
name, runs = cli.DEMO_COMPARE
t = time.perf_counter()
cli._compare([str(out / r) for r in runs], str(out / name))
times[name] = time.perf_counter() - t
times["total"] = time.perf_counter() - start
print(json.dumps(times))
"""


def one_round(cache: Path, out: Path) -> dict[str, float]:
    env = os.environ | {"BAYES_REG_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", _TIMED_DEMO, str(out)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="first cold, then warm")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    rounds = []
    with tempfile.TemporaryDirectory(prefix="bayes-reg-demo-bench-") as tmp:
        cache = Path(tmp) / "cache"
        for i in range(args.rounds):
            rounds.append(one_round(cache, Path(tmp) / f"demo{i}"))
            print(f"round {i + 1}: {rounds[-1]['total']:.1f} s", flush=True)
    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu": _cpu(),
        "python": platform.python_version(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "rounds": rounds,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "demo.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "demo.md").write_text(markdown(report))
    print(markdown(report))
    return report


def markdown(report: dict) -> str:
    names = list(report["rounds"][0])
    heads = ["cold cache"] + ["warm cache"] * (len(report["rounds"]) - 1)
    lines = [
        "# `bayes-reg demo`, card by card",
        "",
        f"{report['date']}; {report['cores']} cores, {report['cpu']}; Python"
        f" {report['python']}; load average"
        f" {', '.join(f'{x:.2f}' for x in report['load_average_before'])} before,"
        f" {', '.join(f'{x:.2f}' for x in report['load_average_after'])} after. Seconds of"
        " wall time; each round is a fresh process (`import` is the command line's own import).",
        "",
        "| step | " + " | ".join(heads) + " |",
        "|---|" + "---:|" * len(heads),
    ]
    for name in names:
        cells = " | ".join(f"{r[name]:.1f}" for r in report["rounds"])
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines) + "\n"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"({time.perf_counter() - start:.0f} s)")
