"""``bayes-reg compare``: PSIS-LOO comparison of results of linear cards fitted to the same rows.

Each result's ``posterior.nc`` holds the pointwise log likelihood of its training rows
(``log_likelihood.y``, dims ``chain, draw, obs``). ``arviz_stats.loo`` turns it into each
model's elpd_loo, the sum over the rows of :math:`\\log p(y_i \\mid y_{-i})` estimated by
Pareto-smoothed importance sampling, and ``arviz_stats.compare`` into the differences from the
best model with their paired standard errors (dse) and the stacking weights. Such numbers
compare models only on the same observations: the results' observed ``y`` must be identical
(their designs may differ: formulas, standardising, priors, a network, are what is compared),
and a pmf (Bernoulli, Poisson) is never set against a density. Everything is checked before
any computation; the files are written through :mod:`bayes_reg.run.results_dir`, like a
run's.
"""

from __future__ import annotations

import base64
import html
import io
import json
from importlib.metadata import version
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bayes_reg.linear.names import DISCRETE
from bayes_reg.run.results_dir import MANIFEST, check_out_dir, result_dir

__all__ = ["CompareError", "compare_runs"]


class CompareError(ValueError):
    """Results that cannot be compared; the message names them and what differs."""


class _Run(NamedTuple):
    name: str
    folder: Path
    tree: object  # xarray.DataTree
    summary: dict


def compare_runs(folders: list[str | Path], out: str | Path) -> Path:
    """Compare the results in ``folders`` by PSIS-LOO and write the comparison into ``out``.

    Writes ``comparison.csv`` (``arviz_stats.compare``'s table, best model first),
    ``summary.json``, ``compare.png`` and a self-contained ``report.html``, atomically and
    only into a new or empty folder or over a previous result. Returns the absolute folder.

    Parameters
    ----------
    folders : list of paths
        Two or more folders written by ``bayes-reg run`` from linear cards fitted to the same
        rows (the same observed ``y``, value for value).
    out : path
        The comparison's folder; it may not hold any of ``folders``.
    """
    folders = [Path(f) for f in folders]
    if len(folders) < 2:
        raise CompareError(f"compare needs two or more results, got {len(folders)}")
    resolved = [f.expanduser().resolve() for f in folders]
    for i, f in enumerate(resolved):
        if f in resolved[:i]:
            raise CompareError(f"{folders[i]} is given twice; name each result once")
    check_out_dir(out, protected=resolved)  # before any computation, and again at the end
    runs = _same_rows(_named([_load(f) for f in folders]))
    # The computing modules load only now, so that a refusal above answers at once.
    import arviz_stats

    from bayes_reg.run.summary import strict_json
    from bayes_reg.workflow import loo_summary

    loos = {r.name: loo_summary(r.tree)[0] for r in runs}  # its Pareto k: _pareto, in words
    table = arviz_stats.compare(loos, round_to="none")
    summary = _summary(runs, loos, table)
    with result_dir(out, protected=resolved) as tmp:
        table.to_csv(tmp / "comparison.csv", index_label="model")
        (tmp / "summary.json").write_text(strict_json(summary))
        png, alt = _figure(table)
        (tmp / "compare.png").write_bytes(png)
        (tmp / "report.html").write_text(_page(runs, summary, png, alt))
    return Path(out).expanduser().resolve()


def _load(folder: Path) -> _Run:
    import xarray as xr

    if not folder.is_dir():
        raise CompareError(f"{folder} is not a folder (give the folders `bayes-reg run` wrote)")
    if not (folder / MANIFEST).is_file():
        raise CompareError(f"{folder} is not a result of `bayes-reg run` (no {MANIFEST})")
    if not (folder / "posterior.nc").is_file():
        raise CompareError(
            f"{folder} holds no posterior.nc (a comparison, or a run without its posterior "
            "stage): LOO needs a run's posterior draws"
        )
    tree = xr.load_datatree(folder / "posterior.nc", engine="h5netcdf")
    have = set(tree.children)
    if "log_likelihood" not in have or "y" not in tree["log_likelihood"].data_vars:
        raise CompareError(
            f"{folder} holds no pointwise log likelihood (log_likelihood.y), which LOO needs; "
            "run its card again with its posterior stage (a run with --only map or sgd, or a "
            "dropout card's result from before it stored one, has none)"
        )
    if "observed_data" not in have:
        raise CompareError(f"{folder} holds no observed_data to check its rows")
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        summary = {}
    return _Run(str(summary.get("title") or folder.name), folder, tree, summary)


def _named(runs: list[_Run]) -> list[_Run]:
    """Card titles as names; if two share one, with the folders' names, else their paths."""
    for label in (lambda r: r.name, lambda r: f"{r.name} ({r.folder.name})"):
        names = [label(r) for r in runs]
        if len(set(names)) == len(names):
            break
    else:  # the paths differ: the same folder twice was refused
        names = [f"{r.name} ({r.folder})" for r in runs]
    return [r._replace(name=name) for r, name in zip(runs, names, strict=True)]


def _same_rows(runs: list[_Run]) -> list[_Run]:
    """The runs, if all were fitted to the same rows (the same observed ``y``, value for
    value; their designs may differ: that is what is compared); else :class:`CompareError`."""
    first = runs[0]
    kinds = {r.name: r.tree.attrs.get("likelihood", "gaussian") in DISCRETE for r in runs}
    if len(set(kinds.values())) > 1:
        raise CompareError(
            f"runs with a discrete likelihood ({', '.join(DISCRETE)}: probabilities) and a "
            "continuous one (densities) cannot be compared by LOO: "
            + ", ".join(f"{n!r} {'discrete' if d else 'continuous'}" for n, d in kinds.items())
        )
    a = np.asarray(first.tree["observed_data"]["y"].values)
    for run in runs[1:]:
        b = np.asarray(run.tree["observed_data"]["y"].values)
        where = f"{first.name!r} ({first.folder}) and {run.name!r} ({run.folder})"
        if a.shape != b.shape:
            raise CompareError(
                f"{where} were not fitted to the same rows: {a.shape[0]} observations in one "
                f"and {b.shape[0]} in the other; LOO compares models only on the same "
                "observations (the same data, test_fraction, missing rows, scale_y)"
            )
        if not np.array_equal(a, b):
            rows = np.flatnonzero(a != b)
            raise CompareError(
                f"{where} were not fitted to the same rows: the observed y differs in "
                f"{len(rows)} of {len(a)} rows (first: row {rows[0]}); LOO compares models "
                "only on the same observations (the same data, test_fraction, scale_y)"
            )
    return runs


def _summary(runs: list[_Run], loos: dict, table) -> dict:
    from bayes_reg.workflow import pareto_summary

    by_name = {r.name: r for r in runs}
    models = {}
    for name, row in table.iterrows():
        loo, run = loos[name], by_name[name]
        models[name] = {
            "folder": str(run.folder),
            "card": Path(run.summary.get("card", "?")).name,
            "rank": int(row["rank"]),
            "elpd_loo": float(row["elpd"]),
            "se": float(row["se"]),
            "p_loo": float(row["p"]),
            "elpd_diff": float(row["elpd_diff"]),
            "dse": float(row["dse"]),
            "weight": float(row["weight"]),
            "n_draws": int(loo.n_samples),
            "pareto_k": pareto_summary(loo),
        }
    return {
        "kind": "loo-comparison",
        "n_obs": int(loos[table.index[0]].n_data_points),
        "best": str(table.index[0]),
        "weights": "stacking",
        "models": models,
        "versions": {p: version(p) for p in ("bayes-reg", "arviz-stats", "arviz-plots")},
    }


def _figure(table) -> tuple[bytes, str]:
    """:func:`~bayes_reg.workflow.plot_compare` of the table as PNG bytes, and its
    alternative text."""
    import matplotlib.pyplot as plt

    from bayes_reg.run.page import alt_text
    from bayes_reg.workflow import plot_compare

    fig = plot_compare(table)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    alt = alt_text(fig, "compare")
    plt.close(fig)
    return buf.getvalue(), alt


_READING = (
    "<p><b>elpd_loo</b> is the sum over the {n} rows of log p(y<sub>i</sub> | y<sub>-i</sub>): "
    "how well each row is predicted by the posterior fitted without it, estimated from the saved "
    "draws by Pareto-smoothed importance sampling (PSIS-LOO). Higher is better; only differences "
    "between models of the same rows mean anything. <b>elpd_diff</b> is a model's elpd_loo minus "
    "the best one's, and <b>dse</b> its standard error, from the rows' paired differences (so it "
    "is far smaller than the models' own se, which mostly says which rows happen to be in the "
    "data). A difference under 4 is small whatever its dse; a larger one within about 2 dse is "
    "not a clear preference; several dse apart it is. The normal approximation behind dse is "
    "rough with fewer than 100 rows or a badly misspecified model. <b>p_loo</b> is the effective "
    "number of parameters. The <b>stacking weights</b> make the mix of the models' predictive "
    "distributions that predicts left-out rows best: they are not probabilities that a model is "
    "true, and models that predict alike can share weight arbitrarily.</p>"
)


def _verdicts(summary: dict) -> list[str]:
    best, out = summary["best"], []
    for name, m in summary["models"].items():
        if name == best:
            out.append(f"<b>{html.escape(name)}</b> has the highest elpd_loo.")
            continue
        diff, dse = -m["elpd_diff"], m["dse"]
        ratio = f", {diff / dse:.1f} dse" if dse > 0 else ""
        if diff < 4:
            verdict = "a negligible difference; the two predict these rows about equally well"
        elif dse > 0 and diff < 2 * dse:
            verdict = "within 2 dse; these rows do not tell the two apart"
        else:
            verdict = f"a clear difference in favour of {html.escape(best)}"
        out.append(
            f"<b>{html.escape(name)}</b> is {diff:.1f} behind (dse {dse:.1f}{ratio}): {verdict}."
        )
    return out


def _pareto(summary: dict) -> list[str]:
    out = []
    for name, m in summary["models"].items():
        k, n = m["pareto_k"], summary["n_obs"]
        if not k["above"]:
            out.append(
                f"<span class='ok'>{html.escape(name)}: all {n} rows have k̂ ≤ "
                f"{k['threshold']:.2f}; its PSIS-LOO estimate is reliable.</span>"
            )
            continue
        rows = ", ".join(map(str, k["rows"][:10])) + (", ..." if len(k["rows"]) > 10 else "")
        one = k["above"] == 1
        out.append(
            f"{html.escape(name)}: {k['above']} of {n} rows {'has' if one else 'have'} k̂ > "
            f"{k['threshold']:.2f} (training row{'' if one else 's'} {rows}, counted from 0; "
            f"largest {k['max']:.2f}). Without {'it' if one else 'them'} the posterior moves too "
            "far for importance sampling to follow, so this model's elpd_loo is unreliable "
            "there (usually too optimistic). Look at those rows "
            "(influential points that a Student-t likelihood may fit better), or compare by "
            "K-fold cross-validation, refitting without them."
        )
    return out


def _page(runs: list[_Run], summary: dict, png: bytes, alt: str) -> str:
    from bayes_reg.run.page import CSS

    columns = ("rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight")
    head = "".join(f"<th>{c}</th>" for c in ("model", *columns, "k̂ > threshold", "folder"))
    rows = []
    for name, m in summary["models"].items():
        cells = [str(m["rank"])] + [f"{m[c]:.2f}" for c in columns[1:]]
        cells.append(f"{m['pareto_k']['above']} of {summary['n_obs']}")
        rows.append(
            f"<tr><th>{html.escape(name)}</th>"
            + "".join(f"<td>{c}</td>" for c in cells)
            + f"<td><code>{html.escape(m['folder'])}</code></td></tr>"
        )
    n = summary["n_obs"]
    title = f"LOO comparison of {len(runs)} runs on the same {n} rows"
    cards = ", ".join(f"<code>{html.escape(m['card'])}</code>" for m in summary["models"].values())
    bad = [m for m in summary["models"].values() if m["pareto_k"]["above"]]
    items = "".join(f"<li>{t}</li>" for t in _pareto(summary))
    return "\n".join(
        [
            f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{CSS}</style></head><body><h1>{title}</h1>",
            f"<p>The results of {cards}: the same observed y, value for value, so "
            "their leave-one-out predictions of these rows can be compared. Best first.</p>",
            f"<table class='summary'><tr>{head}</tr>{''.join(rows)}</table>",
            f'<img alt="{html.escape(alt, quote=True)}" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode()}">',
            "<h2>How to read it</h2>" + _READING.format(n=n),
            "<p>" + " ".join(_verdicts(summary)) + "</p>",
            "<h2>Pareto k: is PSIS-LOO reliable here?</h2><p>Each row's k̂ says how far the "
            "posterior moves when that row is left out; above the threshold "
            "(min(1 − 1/log<sub>10</sub> S, 0.7) for S draws: 0.70 from 2,200 draws on) the "
            "importance-sampling estimate of that row is unreliable.</p>"
            f"<ul class='{'warn' if bad else 'ok'}'>{items}</ul>",
            f"<footer>versions {html.escape(json.dumps(summary['versions']))}; weights by "
            "stacking (arviz_stats.compare)</footer></body></html>",
        ]
    )
