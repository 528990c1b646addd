"""The mode under a Laplace prior with a sampled noise scale: ``posterior_mode`` against L-BFGS
on the whole log posterior, on 20,000 rows of 50 features (10 informative), in one process.

``posterior_mode`` finds the kinked coefficients by the proximal method at a fixed noise,
alternating with the noise's mode, then moves the rest, the intercept and the noise together by
L-BFGS where the log posterior is smooth (``bayes_reg.linear.map``). The peer, measured in the
same run on the same data, is what it did before: ``map_model`` on the same model, L-BFGS
(a verified 500-step first try, else up to its step cap) before its refinement sets the kinked
coordinates to 0.
Each is timed as a user waits (the first call compiles); ``posterior_mode`` once more for a
repeat. Writes ``benchmarks/results/kinked_modes.{json,md}``::

    .venv/bin/python benchmarks/kinked_modes/run.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from run import machine_info  # noqa: E402  (the CLI benchmark's machine description)

import bayes_reg as br  # noqa: E402
from bayes_reg.inference.mode import map_model  # noqa: E402
from bayes_reg.linear.map import posterior_mode  # noqa: E402
from bayes_reg.linear.regression import linear_regression  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "results"
PRIOR, NOISE = br.Laplace(0.1), br.HalfNormal(1.0)


def timed(call):
    start = time.perf_counter()
    out = call()
    return {k: np.asarray(v) for k, v in out.items()}, time.perf_counter() - start


def main() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 50))
    y = X @ np.r_[rng.normal(size=10), np.zeros(40)] + rng.standard_t(4, 20_000)
    load_before = os.getloadavg()
    rows = []
    for likelihood in ("gaussian", "student-t"):
        kw = {"sigma": NOISE, "likelihood": likelihood}
        ours, first = timed(lambda: posterior_mode(X, y, PRIOR, **kw))  # noqa: B023
        _, repeat = timed(lambda: posterior_mode(X, y, PRIOR, **kw))  # noqa: B023
        peer, whole = timed(
            lambda: map_model(linear_regression, X, y, prior=PRIOR, parametrization="direct", **kw)  # noqa: B023
        )
        scale = np.abs(ours["w"]).max()
        rows.append(
            {
                "likelihood": likelihood,
                "posterior_mode_first_s": first,
                "posterior_mode_repeat_s": repeat,
                "lbfgs_on_the_whole_s": whole,
                "ratio_first": whole / first,
                "zeros": int((ours["w"] == 0).sum()),
                "zeros_lbfgs": int((peer["w"] == 0).sum()),
                "w_difference": float(np.abs(ours["w"] - peer["w"]).max() / scale),
                "sigma_difference": float(abs(ours["sigma"] / peer["sigma"] - 1)),
            }
        )
        print(rows[-1], flush=True)
    report = {
        "machine": machine_info(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "kinked_modes.json").write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / "kinked_modes.md").write_text(markdown(report))


def markdown(report: dict) -> str:
    m = report["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    load = ", ".join(f"{x:.2f}" for x in report["load_before"])
    after = ", ".join(f"{x:.2f}" for x in report["load_after"])
    lines = [
        "# The mode under a Laplace prior with a sampled noise scale",
        "",
        f"{m['date']}; {m['cores']} cores, {m['cpu']}; {m['platform']}; Python {m['python']};",
        f"{versions}.",
        f"Load average (1, 5, 15 min) before: {load}; after: {after}.",
        "",
        "20,000 rows of 50 features (10 informative, t-distributed noise), Laplace(0.1) weights,",
        "HalfNormal(1) noise: `posterior_mode` (first call, compiling, and a repeat) against",
        "L-BFGS on the whole log posterior (`map_model`, what `posterior_mode` ran before),",
        "in the same run. The differences are those of the modes (weights relative to the",
        "largest; sigma relative).",
        "",
        "| likelihood | posterior_mode, first (s) | repeat (s) | L-BFGS on the whole (s) | ratio |"
        " zeros (L-BFGS) | weights differ | sigma differs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['likelihood']} | {r['posterior_mode_first_s']:.2f} |"
            f" {r['posterior_mode_repeat_s']:.2f} | {r['lbfgs_on_the_whole_s']:.2f} |"
            f" {r['ratio_first']:.1f}× | {r['zeros']} ({r['zeros_lbfgs']}) |"
            f" {r['w_difference']:.1e} | {r['sigma_difference']:.1e} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
