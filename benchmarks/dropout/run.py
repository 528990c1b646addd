"""Benchmark the toolkit's dropout MLP (training and MC dropout) against the PyTorch idiom.

Rerun from the repository root with the project's environment::

    .venv/bin/python benchmarks/dropout/run.py [--torch-python PATH] [--rounds 3]

Two configurations, both with dropout 0.05, Adam lr 1e-3 and L2 weight decay 1e-4 on the
kernels: ``small`` (8 -> 50 -> 1, batch 32, the concrete training rows of split 0) and
``wide`` (16 -> 512 -> 512 -> 1, batch 256, random data). Makes the data once, writes it to
a temporary .npz, and per round runs ``torch_idiom.py`` (under ``--torch-python``) and
``jax_dropout.py`` (under ``--jax-python``) back to back as fresh subprocesses on that same
file, for each configuration. Reports medians over the rounds (every round listed) and the
JAX / PyTorch ratios of training steps per second and MC-dropout passes per second in
``benchmarks/results/dropout.json`` and ``dropout.md``. Exits 1 when the two sides' final
training MSE (dropout off) differ by more than a factor ``MAX_MSE_RATIO``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import bayes_reg
from bayes_reg.uci import load_uci

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"
CONCRETE = Path(bayes_reg.__file__).resolve().parent / "datasets" / "uci" / "concrete"
# Same problem on both sides, different inits (PyTorch's default vs Glorot) and RNGs: the
# final training MSE agree statistically, not to the digit.
MAX_MSE_RATIO = 2.0
SETTINGS = {"dropout": 0.05, "weight_decay": 1e-4, "lr": 1e-3}


def run_json(cmd: list[str], env: dict | None = None) -> tuple[dict, float]:
    """Run ``cmd``, parse the last line of its stdout as JSON; also return its wall time."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def has_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None or Path("/dev/nvidia0").exists()


def make_data(args) -> tuple[dict, dict]:
    """The arrays of both configurations (float32, original units) and their descriptions."""
    rng = np.random.default_rng(args.seed)
    if args.small_data == "concrete":
        split = load_uci(CONCRETE, 0)
        Xs, ys = split.X_train, split.y_train
        small_src = "UCI concrete, training rows of split 0 (bayes_reg.uci.load_uci)"
    else:
        Xs, ys = teacher(rng, 1000, 8)
        small_src = "random: 1000 x 8, N(0, 1) inputs, y = sin(2 x.a) + (x.b)^2 + N(0, 0.1^2)"
    # MC points: drawn around the training inputs (per-column mean and sd).
    Xs_mc = Xs.mean(0) + Xs.std(0) * rng.standard_normal((args.mc_points, Xs.shape[1]))
    Xw, yw = teacher(rng, args.wide_rows, 16)
    Xw_mc = rng.standard_normal((args.mc_points, 16))
    arrays = {
        "small_X": Xs,
        "small_y": ys,
        "small_X_mc": Xs_mc,
        "wide_X": Xw,
        "wide_y": yw,
        "wide_X_mc": Xw_mc,
    }
    arrays = {k: np.asarray(v, np.float32) for k, v in arrays.items()}
    wide_src = (
        f"random: {args.wide_rows} x 16, N(0, 1) inputs, y = sin(2 x.a) + (x.b)^2 + "
        "N(0, 0.1^2), a, b ~ N(0, I/16)"
    )
    return arrays, {"small": small_src, "wide": wide_src}


def teacher(rng, n: int, d: int):
    """A smooth nonlinear target the nets can learn: sin(2 x.a) + (x.b)^2 + noise."""
    X = rng.standard_normal((n, d))
    a, b = rng.standard_normal((2, d)) / np.sqrt(d)
    return X, np.sin(2 * X @ a) + (X @ b) ** 2 + 0.1 * rng.standard_normal(n)


def configs(args) -> dict:
    return {
        "small": {
            "hidden": (50,),
            "batch_size": 32,
            "epochs": args.small_epochs,
            "mc_passes": args.small_mc_passes,
        },
        "wide": {
            "hidden": (512, 512),
            "batch_size": 256,
            "epochs": args.wide_epochs,
            "mc_passes": args.wide_mc_passes,
        },
    }


def med(values) -> float:
    return float(np.median(values))


TORCH_KEYS = {
    "steps_per_second": "steps_per_second",
    "steps_per_second_steady": "steps_per_second_after_first_epoch",
    "mc_passes_per_second": "mc_passes_per_second",
    "train_seconds": "train_seconds",
    "mc_seconds": "mc_seconds",
    "train_mse": "train_mse_standardised",
    "mc_mean_sd": "mc_mean_sd_standardised",
}
JAX_KEYS = {
    "steps_per_second_first": "steps_per_second_first",
    "steps_per_second_warm": "steps_per_second_warm",
    "mc_passes_per_second_first": "mc_passes_per_second_first",
    "mc_passes_per_second_warm": "mc_passes_per_second_warm",
    "train_seconds_first": "train_seconds_first",
    "train_seconds_first_inner": "train_seconds_first_inner",
    "train_seconds_warm": "train_seconds_warm_median",
    "mc_seconds_first": "mc_seconds_first",
    "mc_seconds_warm": "mc_seconds_warm_median",
    "train_mse": "train_mse_standardised",
    "mc_mean_sd": "mc_mean_sd_standardised",
}


def _side(rows: list[dict], walls: list[float], keys: dict) -> dict:
    series = {k: [r[v] for r in rows] for k, v in keys.items()}
    series["process_wall"] = walls
    return {"medians": {k: med(v) for k, v in series.items()}, "all_rounds": series}


def summarise(rounds: list[dict]) -> dict:
    """Medians over the rounds of one configuration (every round listed) and the ratios
    JAX / PyTorch for every PyTorch variant; the first variant is the primary one."""
    jax_side = _side([r["jax"] for r in rounds], [r["jax_wall"] for r in rounds], JAX_KEYS)
    j, ja = jax_side["medians"], jax_side["all_rounds"]
    torch_sides = {}
    for label in rounds[0]["torch"]:
        side = _side(
            [r["torch"][label] for r in rounds],
            [r["torch_wall"][label] for r in rounds],
            TORCH_KEYS,
        )
        t, ta = side["medians"], side["all_rounds"]
        side["threads"] = rounds[-1]["torch"][label]["num_threads"]
        side["ratios_jax_over_torch"] = {
            # Like with like: both with their one-off costs (JAX: start-up and compilation;
            # PyTorch: building Adam imports torch._dynamo), then both without.
            "train_first": j["steps_per_second_first"] / t["steps_per_second"],
            "train_warm": j["steps_per_second_warm"] / t["steps_per_second_steady"],
            "train_warm_vs_whole_loop": j["steps_per_second_warm"] / t["steps_per_second"],
            "mc_first": j["mc_passes_per_second_first"] / t["mc_passes_per_second"],
            "mc_warm": j["mc_passes_per_second_warm"] / t["mc_passes_per_second"],
        }
        side["ratios_jax_over_torch_per_round"] = {
            "train_warm": [
                a / b
                for a, b in zip(
                    ja["steps_per_second_warm"], ta["steps_per_second_steady"], strict=True
                )
            ],
            "mc_warm": [
                a / b
                for a, b in zip(
                    ja["mc_passes_per_second_warm"], ta["mc_passes_per_second"], strict=True
                )
            ],
        }
        torch_sides[label] = side
    primary = next(iter(torch_sides.values()))["all_rounds"]["train_mse"]
    mse_ratio = [max(a, b) / min(a, b) for a, b in zip(primary, ja["train_mse"], strict=True)]
    last = rounds[-1]["jax"]
    return {
        "steps": last["steps"],
        "torch_steps": next(iter(rounds[-1]["torch"].values()))["steps"],
        "n_train": last["n_train"],
        "sizes": last["sizes"],
        "mc_passes": last["mc_passes"],
        "mc_points": last["mc_points"],
        "torch": torch_sides,
        "jax": jax_side,
        "train_mse_check": {
            "against": next(iter(torch_sides)),
            "max_over_min_per_round": mse_ratio,
            "limit": MAX_MSE_RATIO,
            "ok": bool(max(mse_ratio) <= MAX_MSE_RATIO),
        },
    }


def _fmt(values, digits: int = 1) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values)


def _num(v: float) -> str:
    return f"{v:.3g}" if v < 100 else f"{v:,.0f}"


def _label(label: str, side: dict) -> str:
    n = side["threads"]
    return f"PyTorch, {n} thread{'s' if n != 1 else ''}" + (
        " (default)" if label == "default" else ""
    )


def markdown(res: dict) -> str:
    m, p, n = res["machine"], res["problem"], res["rounds"]
    lines = [
        "# Dropout MLP: bayes_reg.nets.dropout vs the PyTorch idiom",
        "",
        f"{res['date']}; {m['cpu_model']}, {m['cpu_count']} cores, load average "
        f"{m['load_average_before']} before the run, {m['load_average_after']} after; torch "
        f"{m['torch_version']} ({m['torch_device']}), jax {m['jax_version']} "
        f"({m['jax_backend']}: {', '.join(m['jax_devices'])}). Dropout {p['dropout']}, Adam lr "
        f"{p['lr']}, L2 weight decay {p['weight_decay']} on the kernels, float32. Medians over "
        f"{n} rounds (PyTorch then JAX, fresh processes each round); ratio = JAX / PyTorch.",
        "",
        "Training (steps per second; a step is one minibatch update). Ratio first = JAX first "
        "call / PyTorch whole loop (both with their one-off costs); ratio warm = JAX warm call "
        "/ PyTorch after its first epoch (both without):",
        "",
        "| config | PyTorch | PyTorch: whole loop | PyTorch: after epoch 1 | JAX first call | "
        "JAX warm | ratio first | ratio warm |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, c in res["configs"].items():
        j = c["jax"]["medians"]
        for label, side in c["torch"].items():
            t, r = side["medians"], side["ratios_jax_over_torch"]
            lines.append(
                f"| {name}: {'→'.join(map(str, c['sizes']))}, batch {c['batch_size']}, "
                f"n={c['n_train']:,}, {c['epochs']} epochs = {c['steps']:,} steps | "
                f"{_label(label, side)} | {_num(t['steps_per_second'])} | "
                f"{_num(t['steps_per_second_steady'])} | {_num(j['steps_per_second_first'])} | "
                f"{_num(j['steps_per_second_warm'])} | "
                f"{r['train_first']:.2f}× | **{r['train_warm']:.1f}×** |"
            )
    lines += [
        "",
        "MC dropout (stochastic passes per second, dropout on, every pass over all points):",
        "",
        "| config | PyTorch | PyTorch passes/s | JAX first call | JAX warm | ratio first | "
        "ratio warm |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, c in res["configs"].items():
        j = c["jax"]["medians"]
        for label, side in c["torch"].items():
            t, r = side["medians"], side["ratios_jax_over_torch"]
            lines.append(
                f"| {name}: {'→'.join(map(str, c['sizes']))}, {c['mc_passes']:,} passes × "
                f"{c['mc_points']:,} points | {_label(label, side)} | "
                f"{_num(t['mc_passes_per_second'])} | {_num(j['mc_passes_per_second_first'])} | "
                f"{_num(j['mc_passes_per_second_warm'])} | {r['mc_first']:.2f}× | "
                f"**{r['mc_warm']:.2f}×** |"
            )
    lines += [
        "",
        "Every round:",
        "",
        "| config | side | training steps/s | MC passes/s | training s | MC s | process s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, c in res["configs"].items():
        for label, side in c["torch"].items():
            a = side["all_rounds"]
            lines.append(
                f"| {name} | {_label(label, side)} | {_fmt(a['steps_per_second'])} "
                f"(after epoch 1: {_fmt(a['steps_per_second_steady'])}) | "
                f"{_fmt(a['mc_passes_per_second'], 2)} | {_fmt(a['train_seconds'], 2)} | "
                f"{_fmt(a['mc_seconds'], 2)} | {_fmt(a['process_wall'])} |"
            )
        a = c["jax"]["all_rounds"]
        for when in ("first", "warm"):
            lines.append(
                f"| {name} | JAX {when} | {_fmt(a[f'steps_per_second_{when}'])} | "
                f"{_fmt(a[f'mc_passes_per_second_{when}'], 2)} | "
                f"{_fmt(a[f'train_seconds_{when}'], 3)} | {_fmt(a[f'mc_seconds_{when}'], 3)} | "
                + (f"{_fmt(a['process_wall'])} |" if when == "first" else " |")
            )
    lines += [
        "",
        "Same problem on both sides (final training MSE with dropout off, standardised "
        f"target, medians; limit: within a factor {MAX_MSE_RATIO:g} in every round):",
        "",
        "| config | PyTorch MSE | JAX MSE | ok | MC mean sd over points (PyTorch / JAX) |",
        "|---|---:|---:|---|---|",
    ]
    for name, c in res["configs"].items():
        t, j = c["torch"][c["train_mse_check"]["against"]]["medians"], c["jax"]["medians"]
        lines.append(
            f"| {name} | {t['train_mse']:.4f} | {j['train_mse']:.4f} | "
            f"{'yes' if c['train_mse_check']['ok'] else 'NO'} | "
            f"{t['mc_mean_sd']:.3f} / {j['mc_mean_sd']:.3f} |"
        )
    lines += [
        "",
        f"Data: small = {p['data']['small']}; wide = {p['data']['wide']}. MC points: "
        f"{p['mc_points']:,} rows drawn around the training inputs. PyTorch timers: the "
        "training loop (data standardised, model, optimiser and loader built, every epoch) "
        "and the MC loop (to NumPy draws); the first epoch carries PyTorch's one-off cost "
        "(constructing Adam imports torch._dynamo). JAX first call = backend start-up + "
        "tracing + XLA compilation + run; warm = median of "
        f"{p['jax_repeats']} further calls with the same shapes.",
        "",
    ]
    if m["jax_backend"] == "cpu":
        lines += [
            "CPU only: the GPU targets (≥ 10× the PyTorch idiom's steps/s; 1000 MC passes over "
            "10k points in < 0.1 s for the wide net) are not measured by this run.",
            "",
        ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-python", default="/work/venv-torch/bin/python")
    parser.add_argument(
        "--jax-python", default=sys.executable, help="default: the driver's own interpreter"
    )
    parser.add_argument("--rounds", type=int, default=3, help="PyTorch + JAX pairs (median)")
    parser.add_argument("--repeats", type=int, default=3, help="warm JAX calls per round")
    parser.add_argument("--small-epochs", type=int, default=20)
    parser.add_argument("--wide-epochs", type=int, default=3)
    parser.add_argument("--small-mc-passes", type=int, default=100)
    parser.add_argument("--wide-mc-passes", type=int, default=10)
    parser.add_argument("--mc-points", type=int, default=10_000)
    parser.add_argument("--wide-rows", type=int, default=10_000)
    parser.add_argument("--small-data", choices=("concrete", "random"), default="concrete")
    parser.add_argument("--configs", default="small,wide", help="comma-separated subset")
    parser.add_argument(
        "--torch-threads",
        default="0,1",
        help="PyTorch runs per round, by thread count (0: torch's default, the primary one)",
    )
    parser.add_argument("--seed", type=int, default=0, help="data, init, batches, masks")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    load = [round(x, 2) for x in os.getloadavg()]
    arrays, sources = make_data(args)
    chosen = {k: v for k, v in configs(args).items() if k in args.configs.split(",")}
    threads = [int(t) for t in args.torch_threads.split(",")]
    variants = {("default" if t == 0 else f"{t}_threads"): t for t in threads}
    jax_env = dict(os.environ)
    if not has_gpu():
        jax_env.setdefault("JAX_PLATFORMS", "cpu")
    common = [
        f"--dropout={SETTINGS['dropout']}",
        f"--weight-decay={SETTINGS['weight_decay']}",
        f"--lr={SETTINGS['lr']}",
        f"--seed={args.seed}",
    ]
    results = {name: [] for name in chosen}
    with tempfile.TemporaryDirectory() as tmp:
        npz = os.path.join(tmp, "dropout_data.npz")
        np.savez(npz, **arrays)
        for k in range(args.rounds):
            for name, c in chosen.items():
                flags = [
                    "--data",
                    npz,
                    f"--config={name}",
                    f"--hidden={','.join(map(str, c['hidden']))}",
                    f"--batch-size={c['batch_size']}",
                    f"--epochs={c['epochs']}",
                    f"--mc-passes={c['mc_passes']}",
                    *common,
                ]
                rec = {"torch": {}, "torch_wall": {}}
                for label, t in variants.items():
                    rec["torch"][label], rec["torch_wall"][label] = run_json(
                        [args.torch_python, str(HERE / "torch_idiom.py"), *flags, f"--threads={t}"]
                    )
                jax_cmd = [args.jax_python, str(HERE / "jax_dropout.py"), *flags]
                rec["jax"], rec["jax_wall"] = run_json(
                    [*jax_cmd, f"--repeats={args.repeats}"], jax_env
                )
                results[name].append(rec)
                j = rec["jax"]
                print(
                    f"round {k + 1}/{args.rounds} {name}: steps/s "
                    + ", ".join(
                        f"torch[{lb}] {r['steps_per_second']:.1f}" for lb, r in rec["torch"].items()
                    )
                    + f", JAX first {j['steps_per_second_first']:.1f} warm "
                    f"{j['steps_per_second_warm']:.1f}; MC passes/s "
                    + ", ".join(
                        f"torch[{lb}] {r['mc_passes_per_second']:.2f}"
                        for lb, r in rec["torch"].items()
                    )
                    + f", JAX first {j['mc_passes_per_second_first']:.2f} warm "
                    f"{j['mc_passes_per_second_warm']:.2f}",
                    file=sys.stderr,
                )

    summary = {}
    for name, c in chosen.items():
        summary[name] = {
            "hidden": list(c["hidden"]),
            "batch_size": c["batch_size"],
            "epochs": c["epochs"],
            **summarise(results[name]),
        }
    last = next(iter(results.values()))[-1]
    torch_res, jax_res = next(iter(last["torch"].values())), last["jax"]
    res = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "rounds": args.rounds,
        "problem": {
            **SETTINGS,
            "optimizer": "adam",
            "dtype": "float32",
            "seed": args.seed,
            "mc_points": args.mc_points,
            "jax_repeats": args.repeats,
            "data": sources,
            "standardisation": "inputs and target on the training rows (population sd)",
            "loss": "mean squared error over the minibatch + weight_decay * sum(kernel**2)",
        },
        "machine": {
            "cpu_model": cpu_model(),
            "cpu_count": os.cpu_count(),
            "load_average_before": load,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "torch_version": torch_res["torch_version"],
            "torch_device": torch_res["device"],
            "torch_default_num_threads": torch_res["num_threads"],
            "torch_python": torch_res["python_version"],
            "jax_version": jax_res["jax_version"],
            "jax_backend": jax_res["backend"],
            "jax_devices": jax_res["devices"],
            "jax_python": jax_res["python_version"],
            "jax_platforms_env": jax_env.get("JAX_PLATFORMS"),
        },
        "configs": summary,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dropout.json").write_text(json.dumps(res, indent=1) + "\n")
    md = markdown(res)
    (args.out / "dropout.md").write_text(md)
    print(md)
    for name, c in summary.items():
        chk = c["train_mse_check"]
        t = c["torch"][chk["against"]]["all_rounds"]["train_mse"]
        j = c["jax"]["all_rounds"]["train_mse"]
        print(
            f"{name}: final training MSE (dropout off, standardised) torch {_fmt(t, 4)}; "
            f"JAX {_fmt(j, 4)}: {'ok' if chk['ok'] else 'DIFFERENT'}",
            file=sys.stderr,
        )
    return 0 if all(c["train_mse_check"]["ok"] for c in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
