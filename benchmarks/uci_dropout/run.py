"""Rerun the MC-dropout UCI protocol (Mukhoti, Stenetorp & Gal 2018) and set the results
beside the published ones.

    python benchmarks/uci_dropout/run.py                 # yacht and concrete, full protocol
    python benchmarks/uci_dropout/run.py yacht --splits 3 --epochs 400 --passes 1000
    python benchmarks/uci_dropout/run.py --engine ray --address head-node:6379  # a split a task

``--engine processes`` runs one split per local process, ``--engine ray`` one per Ray worker (a
local Ray instance, or the cluster that ``ray start --head`` began at ``--address``, which
implies ``--engine ray``); without either every split runs in this process. Each network has
the same seed whichever way it runs.

Writes ``benchmarks/results/uci_dropout_<set>.nc`` (every split) and
``benchmarks/results/uci_dropout.json`` / ``.md`` (mean +- standard error over the splits,
beside the published numbers, and whether each lies within two standard errors of them).
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"


def main() -> None:
    # Imported here, not at the top: a spawned worker of --engine processes first reruns this
    # script's top level, and JAX imported there would miss the worker's settings.
    import jax

    from bayes_reg.nets.uci_dropout import PUBLISHED, mc_dropout_protocol, summarize
    from bayes_reg.uci import UCI_DIR

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="*", default=["yacht", "concrete"])
    parser.add_argument("--splits", type=int, default=None, help="first N splits (default all)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the protocol's 4000")
    parser.add_argument("--passes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--engine", choices=["ray", "processes"], default=None, help="one split per task"
    )
    parser.add_argument("--address", default=None, help="HOST:PORT of a Ray cluster")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    json_path = RESULTS / "uci_dropout.json"
    report = json.loads(json_path.read_text()) if json_path.exists() else {}
    for name in args.sets:
        splits = list(range(args.splits)) if args.splits else None
        res = mc_dropout_protocol(
            UCI_DIR / name,
            splits=splits,
            epochs=args.epochs,
            passes=args.passes,
            seed=args.seed,
            engine=args.engine or ("ray" if args.address else None),
            address=args.address,
        )
        res.to_netcdf(RESULTS / f"uci_dropout_{name}.nc")
        ours = summarize(res)
        entry = {
            "ours": ours,
            "splits": res.sizes["split"],
            "settings": {
                k: res.attrs[k]
                for k in ("epochs", "passes", "batch_size", "hidden", "lengthscale", "seed")
            },
            "seconds": round(res.attrs["seconds"], 1),
            "engine": res.attrs["engine"],
            "device": str(jax.devices()[0]),
            "machine": platform.processor() or platform.machine(),
            "published": PUBLISHED.get(name, {}),
        }
        for source, numbers in entry["published"].items():
            for metric, (mean, se) in numbers.items():
                m, s = ours[metric]
                better = m <= mean if metric == "rmse" else m >= mean
                within = abs(m - mean) <= 2 * max(se, s)
                entry.setdefault("verdict", {})[f"{metric} vs {source}"] = (
                    "better" if better else "within 2 SE" if within else "worse"
                )
        report[name] = entry
        print(name, json.dumps(entry, indent=1), flush=True)
    json_path.write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / "uci_dropout.md").write_text(_markdown(report))


def _markdown(report: dict) -> str:
    lines = [
        "| set | source | RMSE | test LL |",
        "|---|---|---|---|",
    ]
    for name, e in report.items():
        (r, rs), (ll, lls) = e["ours"]["rmse"], e["ours"]["log_likelihood"]
        lines.append(
            f"| {name} | bayes_reg ({e['splits']} splits, {e['settings']['epochs']} epochs, "
            f"T = {e['settings']['passes']}) | {r:.2f} ± {rs:.2f} | {ll:.2f} ± {lls:.2f} |"
        )
        for source, numbers in e["published"].items():
            (pr, prs), (pl, pls) = numbers["rmse"], numbers["log_likelihood"]
            lines.append(f"| {name} | {source} | {pr:.2f} ± {prs:.2f} | {pl:.2f} ± {pls:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
