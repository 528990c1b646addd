"""Benchmark the d2l.ai weight-decay lambd sweep: bayes_reg.sgd_path vs the chapter's PyTorch.

Rerun from the repository root with the project's environment::

    /work/venv312/bin/python benchmarks/sweep/run.py [--torch-python PATH] [--plot]

Generates the chapter's data once (``bayes_reg.d2l_synthetic(seed=0)``), writes it to a
temporary .npz, runs ``torch_idiom.py`` (under ``--torch-python``) and ``jax_sweep.py`` (under
this interpreter) back to back as subprocesses on that same file, then writes
``benchmarks/results/sweep.json``, ``benchmarks/results/sweep.md`` and, with ``--plot``,
``benchmarks/results/sweep.png``. Exits 1 when the curves disagree (see ``CHECKS``).
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

import numpy as np

import bayes_reg

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"
STRENGTHS = np.linspace(0, 100, 101)  # 0, 1, ..., 100
SETTINGS = {"lr": 0.003, "epochs": 100, "batch_size": 5, "seed": 0}
# ||w|| bands the chapter's readers see (sgd_path gives 13.47 at lambd=0, 0.366 at lambd=3).
CHECKS = {0.0: (12.0, 15.0), 3.0: (0.32, 0.40)}
# The inits differ (torch vs JAX RNG), so the curves agree statistically, not to the digit.
MAX_MEDIAN_REL_DIFF = 0.10  # median over the grid of |torch - jax| / max(torch, jax), test loss
MAX_SCALED_REL_DIFF = 0.05  # ||w|| / ||w_0|| at the CHECKS strengths


def run_json(cmd: list[str]) -> tuple[dict, float]:
    """Run ``cmd``, parse its stdout as JSON; also return the process's wall time."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout), wall


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def median_rel_diff(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.median(np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))))


def agreement(torch_res: dict, jax_res: dict) -> dict:
    """Compare the two curves; same data, but each framework draws its own init w_0."""
    s = np.asarray(jax_res["strengths"])
    res = {"w0_norm": {"torch": torch_res["w0_norm"], "jax": jax_res["w0_norm"]}}
    bands_ok, scaled_ok = True, True
    for lam, (lo, hi) in CHECKS.items():
        i = int(np.argmin(np.abs(s - lam)))
        sides = (("torch", torch_res), ("jax", jax_res))
        vals = {k: r["w_norm"][i] for k, r in sides}
        # ||w|| / ||w_0||: the init's draw divides out (the decay shrinks w_0 by a factor).
        scaled = {k: r["w_norm"][i] / r["w0_norm"] for k, r in sides}
        rel = abs(scaled["torch"] - scaled["jax"]) / max(scaled.values())
        band = all(lo <= v <= hi for v in vals.values())
        res[f"lambd_{lam:g}"] = {
            "w_norm": vals,
            "band": [lo, hi],
            "in_band": band,
            "w_norm_over_w0_norm": scaled,
            "rel_diff_w_norm_over_w0_norm": rel,
        }
        bands_ok &= band
        scaled_ok &= rel <= MAX_SCALED_REL_DIFF
    rel = {
        key: median_rel_diff(torch_res[key], jax_res[key])
        for key in ("w_norm", "train_loss", "test_loss")
    }
    res["median_rel_diff"] = rel
    # Worst case by regime: small lambd (the init still dominates w) and large lambd.
    small = s <= 10
    res["max_rel_diff"] = {
        f"{key}_{name}": float(
            np.max(
                np.abs(np.asarray(torch_res[key])[m] - np.asarray(jax_res[key])[m])
                / np.maximum(np.asarray(torch_res[key])[m], np.asarray(jax_res[key])[m])
            )
        )
        for key in ("w_norm", "train_loss", "test_loss")
        for name, m in (("lambd_le_10", small), ("lambd_gt_10", ~small))
    }
    res["bands_ok"] = bool(bands_ok)
    res["scaled_ok"] = bool(scaled_ok)
    res["test_loss_ok"] = rel["test_loss"] <= MAX_MEDIAN_REL_DIFF
    res["ok"] = bool(scaled_ok and res["test_loss_ok"])
    return res


def plot(torch_res: dict, jax_res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = np.asarray(jax_res["strengths"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    styles = {
        "train_loss": ("train", "tab:blue"),
        "test_loss": ("test", "tab:orange"),
    }
    for key, (label, color) in styles.items():
        ax1.plot(s, jax_res[key], color=color, lw=2, label=f"{label}, bayes_reg (JAX)")
        ax1.plot(s, torch_res[key], color=color, ls="--", marker="o", ms=2.5, lw=1,
                 label=f"{label}, d2l PyTorch")  # fmt: skip
    ax1.set_xscale("symlog", linthresh=1, linscale=0.5)
    ax1.set(yscale="log", xlabel="lambd (d2l weight decay)", ylabel="final loss, mean(r²/2)")
    ax1.set_title("Loss after 100 epochs")
    ax1.legend(fontsize=8)
    ax2.plot(s, jax_res["w_norm"], color="k", lw=2, label="bayes_reg (JAX)")
    ax2.plot(s, torch_res["w_norm"], color="tab:red", ls="--", marker="o", ms=2.5, lw=1,
             label="d2l PyTorch")  # fmt: skip
    ax2.set_xscale("symlog", linthresh=1, linscale=0.5)
    ax2.set(yscale="log", xlabel="lambd (d2l weight decay)", ylabel="‖w‖")
    ax2.set_title("Final ‖w‖")
    ax2.legend(fontsize=8)
    fig.suptitle("d2l.ai weight decay: n=20, d=200, lr=0.003, batch 5, 100 epochs", fontsize=10)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(res: dict) -> str:
    t, m, a, r = res["timings"], res["machine"], res["agreement"], res["ratios"]
    rel, mx = a["median_rel_diff"], a["max_rel_diff"]
    l0, l3 = a["lambd_0"], a["lambd_3"]
    n = res["rounds"]
    return "\n".join(
        [
            "# d2l.ai weight-decay sweep: bayes_reg.sgd_path vs the chapter's PyTorch",
            "",
            f"101 strengths `np.linspace(0, 100, 101)`, n_train=20, n_test=100, d=200, "
            f"lr=0.003, batch 5, 100 epochs, float32; data `d2l_synthetic(seed=0)`. "
            f"{res['date']}; {m['cpu_model']}, {m['cpu_count']} cores, load average "
            f"{m['load_average_before']} before the run; torch {m['torch_version']} "
            f"({m['torch_num_threads']} threads), jax {m['jax_version']} ({m['jax_backend']}). "
            f"Medians over {n} rounds (torch then JAX, fresh processes each round).",
            "",
            "| | seconds (median) | all rounds | torch / this |",
            "|---|---:|---|---:|",
            f"| PyTorch, the chapter's from-scratch loop, 101 strengths | "
            f"{t['torch_end_to_end']:.3f} | {_fmt(t['torch_end_to_end_all'])} | 1 |",
            f"| bayes_reg `sgd_path`, first call (trace + compile + run) | "
            f"{t['jax_first_call']:.3f} | {_fmt(t['jax_first_call_all'])} | "
            f"**{r['torch_over_jax_first_call']:.1f}×** |",
            f"| bayes_reg `sgd_path`, warm call | {t['jax_warm_median']:.4f} | "
            f"{_fmt(t['jax_warm_median_all'], 4)} | **{r['torch_over_jax_warm']:.0f}×** |",
            f"| whole process, PyTorch (interpreter + imports + run) | "
            f"{t['torch_process_wall']:.2f} | {_fmt(t['torch_process_wall_all'])} | 1 |",
            f"| whole process, JAX (interpreter + imports + first call + "
            f"{t['jax_warm_repeats']} warm calls) | {t['jax_process_wall']:.2f} | "
            f"{_fmt(t['jax_process_wall_all'])} | {r['torch_process_over_jax_process']:.1f}× |",
            "",
            "Agreement (same data; each framework draws its own init w₀: ‖w₀‖ torch "
            f"{a['w0_norm']['torch']:.2f}, JAX {a['w0_norm']['jax']:.2f}):",
            "",
            "| | torch | JAX | |",
            "|---|---:|---:|---|",
            f"| ‖w‖ at λ=0 | {l0['w_norm']['torch']:.3f} | {l0['w_norm']['jax']:.3f} | "
            f"band {l0['band']}: {'in' if l0['in_band'] else 'OUT'} |",
            f"| ‖w‖ at λ=3 | {l3['w_norm']['torch']:.3f} | {l3['w_norm']['jax']:.3f} | "
            f"band {l3['band']}: {'in' if l3['in_band'] else 'OUT'} |",
            f"| ‖w‖/‖w₀‖ at λ=0 | {l0['w_norm_over_w0_norm']['torch']:.4f} | "
            f"{l0['w_norm_over_w0_norm']['jax']:.4f} | rel. diff "
            f"{l0['rel_diff_w_norm_over_w0_norm']:.3f} |",
            f"| ‖w‖/‖w₀‖ at λ=3 | {l3['w_norm_over_w0_norm']['torch']:.4f} | "
            f"{l3['w_norm_over_w0_norm']['jax']:.4f} | rel. diff "
            f"{l3['rel_diff_w_norm_over_w0_norm']:.3f} |",
            "",
            f"Median relative difference over the 101 strengths: test loss "
            f"{rel['test_loss']:.3f}, train loss {rel['train_loss']:.3f}, ‖w‖ "
            f"{rel['w_norm']:.3f}. Worst case, λ ≤ 10 / λ > 10: test loss "
            f"{mx['test_loss_lambd_le_10']:.2f} / {mx['test_loss_lambd_gt_10']:.2f}, train loss "
            f"{mx['train_loss_lambd_le_10']:.2f} / {mx['train_loss_lambd_gt_10']:.2f}, ‖w‖ "
            f"{mx['w_norm_lambd_le_10']:.2f} / {mx['w_norm_lambd_gt_10']:.2f}. Curves agree: "
            f"{'yes' if a['ok'] else 'NO'} (‖w‖/‖w₀‖ within {MAX_SCALED_REL_DIFF:.0%} at λ=0 "
            f"and 3, median test-loss difference ≤ {MAX_MEDIAN_REL_DIFF:.0%}); both ‖w‖ in the "
            f"readers' bands: {'yes' if a['bands_ok'] else 'no'}.",
            "",
        ]
    )


def _fmt(values, digits: int = 2) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-python", default="/work/venv-torch/bin/python")
    parser.add_argument("--rounds", type=int, default=3, help="torch + JAX pairs (median)")
    parser.add_argument("--repeats", type=int, default=7, help="warm JAX calls per round")
    parser.add_argument("--seed", type=int, default=0, help="init / minibatch seed, both sides")
    parser.add_argument("--plot", action="store_true", help="also write results/sweep.png")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    settings = {**SETTINGS, "seed": args.seed}
    load = [round(x, 2) for x in os.getloadavg()]
    data = bayes_reg.d2l_synthetic(seed=0)
    common = [f"--{k.replace('_', '-')}={v}" for k, v in settings.items()]
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        npz = os.path.join(tmp, "d2l_data.npz")
        np.savez(
            npz,
            X_train=data.X_train,
            y_train=data.y_train,
            X_test=data.X_test,
            y_test=data.y_test,
            strengths=STRENGTHS,
        )
        for k in range(args.rounds):
            torch_res, torch_wall = run_json(
                [args.torch_python, str(HERE / "torch_idiom.py"), "--data", npz, *common]
            )
            jax_res, jax_wall = run_json(
                [
                    sys.executable,
                    str(HERE / "jax_sweep.py"),
                    "--data",
                    npz,
                    *common,
                    f"--repeats={args.repeats}",
                ]  # fmt: skip
            )
            rounds.append((torch_res, torch_wall, jax_res, jax_wall))
            print(
                f"round {k + 1}/{args.rounds}: torch {torch_res['seconds_end_to_end']:.3f} s, "
                f"JAX first {jax_res['seconds_first_call']:.3f} s, "
                f"warm {jax_res['seconds_warm_median']:.4f} s",
                file=sys.stderr,
            )

    def med(values):
        return float(np.median(values))

    all_ = {
        "torch_end_to_end": [r[0]["seconds_end_to_end"] for r in rounds],
        "jax_first_call": [r[2]["seconds_first_call"] for r in rounds],
        "jax_warm_median": [r[2]["seconds_warm_median"] for r in rounds],
        "torch_process_wall": [r[1] for r in rounds],
        "jax_process_wall": [r[3] for r in rounds],
    }
    timings = {k: med(v) for k, v in all_.items()}
    timings |= {f"{k}_all": v for k, v in all_.items()}
    timings["jax_warm_repeats"] = args.repeats
    # Both sides are deterministic given the seed: every round gives the same curves.
    torch_res, _, jax_res, _ = rounds[-1]
    res = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "rounds": args.rounds,
        "problem": {
            "source": "d2l.ai weight decay chapter, from scratch",
            "data": "bayes_reg.d2l_synthetic(seed=0)",
            "n_train": 20,
            "n_test": 100,
            "num_inputs": 200,
            "strengths": "np.linspace(0, 100, 101)",
            "dtype": "float32",
            **settings,
            "jax_optimizer": jax_res["optimizer"],
        },
        "machine": {
            "cpu_model": cpu_model(),
            "cpu_count": os.cpu_count(),
            "load_average_before": load,
            "torch_version": torch_res["torch_version"],
            "torch_num_threads": torch_res["num_threads"],
            "torch_python": torch_res["python_version"],
            "jax_version": jax_res["jax_version"],
            "jax_backend": jax_res["backend"],
            "jax_python": jax_res["python_version"],
        },
        "timings": timings,
        "ratios": {
            "torch_over_jax_first_call": timings["torch_end_to_end"] / timings["jax_first_call"],
            "torch_over_jax_warm": timings["torch_end_to_end"] / timings["jax_warm_median"],
            "torch_process_over_jax_process": timings["torch_process_wall"]
            / timings["jax_process_wall"],
        },
        "agreement": agreement(torch_res, jax_res),
        "curves": {
            "strengths": jax_res["strengths"],
            "torch": {k: torch_res[k] for k in ("w_norm", "train_loss", "test_loss")},
            "jax": {k: jax_res[k] for k in ("w_norm", "train_loss", "test_loss")},
        },
    }

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sweep.json").write_text(json.dumps(res, indent=1) + "\n")
    md = markdown(res)
    (args.out / "sweep.md").write_text(md)
    if args.plot:
        plot(torch_res, jax_res, args.out / "sweep.png")
    print(md)
    return 0 if res["agreement"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
