"""Wall time of a sweep of one card over seeds: one `bayes-reg run` after another, against
`bayes-reg sweep` on local processes and on a local Ray instance, measured in the same run.

The peer is what a user writes without the fan-out, a shell loop of `bayes-reg run` (each
process warm from the persistent compilation cache, as a second run is). Each engine runs the
same combinations into a fresh folder with a fresh compilation cache primed by one run first,
so every contender starts from the same cache. Run with the project's environment (Ray
installed)::

    .venv/bin/python benchmarks/fanout/run.py [--card diabetes-lasso] [--seeds 4]

Writes ``benchmarks/results/fanout.json`` and ``.md``.
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
BAYES_REG = [sys.executable, "-m", "bayes_reg"]


def _timed(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([*BAYES_REG, *argv], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--card", default="diabetes-lasso")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--only", nargs="+", default=["posterior"])
    args = parser.parse_args()
    seeds = [str(s) for s in range(args.seeds)]
    cores = len(os.sched_getaffinity(0))
    work = Path(tempfile.mkdtemp(prefix="bayes_reg-fanout-bench-"))
    env = os.environ | {"BAYES_REG_CACHE_DIR": str(work / "cache"), "RAY_AUTH_MODE": "disabled"}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    only = ["--only", *args.only, "--quiet"]
    # One run primes the compilation cache every contender then reads.
    prime = _timed(["run", args.card, "--seed", "99", "--out", str(work / "prime"), *only], env)
    seconds = {
        "bayes-reg run, one after another": sum(
            _timed(["run", args.card, "--seed", s, "--out", str(work / f"loop-{s}"), *only], env)
            for s in seeds
        )
    }
    for engine in ("processes", "ray"):
        out = work / f"sweep-{engine}"
        argv = ["sweep", args.card, "--seeds", *seeds, "--engine", engine, "--out", str(out)]
        seconds[f"bayes-reg sweep --engine {engine}"] = _timed([*argv, *only], env)
    loop = seconds["bayes-reg run, one after another"]
    load = os.getloadavg()
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.processor() or platform.machine()}, {cores} cores",
        "load_average_after": [round(x, 2) for x in load],
        "card": args.card,
        "stages": args.only,
        "combinations": len(seeds),
        "priming_run_s": round(prime, 2),
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "speedup_vs_loop": {k: round(loop / v, 2) for k, v in seconds.items()},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fanout.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [
        f"{args.card} ({', '.join(args.only)}), {len(seeds)} seeds, {report['machine']}, "
        f"load after {load[0]:.1f} ({report['date']})",
        "",
        "| how | wall time (s) | speed-up vs the loop |",
        "|---|---|---|",
        *(f"| {k} | {v:.1f} | {loop / v:.2f}× |" for k, v in seconds.items()),
    ]
    (RESULTS / "fanout.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
