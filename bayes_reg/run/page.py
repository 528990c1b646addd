"""Writing a run's outputs: the self-contained HTML page with its figures embedded, the
DataTree as netCDF, summary.json and the PNGs, into an output folder atomically."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import matplotlib.pyplot as plt

from bayes_reg.run.result import RunResult
from bayes_reg.run.results_dir import result_dir
from bayes_reg.run.summary import strict_json

__all__ = ["write_outputs", "alt_text", "CSS"]


def write_outputs(result: RunResult, out_dir: str | Path) -> Path:
    """Write report.html, posterior.nc, summary.json and the PNGs into ``out_dir``.

    Atomically, and only into a new or empty folder or over a previous result
    (:mod:`bayes_reg.run.results_dir`); returns the absolute folder.
    """
    with result_dir(out_dir, protected=result.card.inputs) as tmp:
        pngs, alts = {}, {}
        for name, fig in result.figures.items():
            alts[name] = alt_text(fig, name)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=100)  # rendered once: the file and the page
            (tmp / f"{name}.png").write_bytes(buf.getvalue())
            pngs[name] = base64.b64encode(buf.getvalue()).decode()
            plt.close(fig)  # pyplot keeps every figure open until closed
        if result.tree.children:
            result.tree.to_netcdf(tmp / "posterior.nc", engine="h5netcdf")
        (tmp / "summary.json").write_text(strict_json(result.summary))
        (tmp / "report.html").write_text(_page_html(result, pngs, alts))
    return Path(out_dir).expanduser().resolve()


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.5}h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;margin-top:2em}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}table.summary{border-collapse:collapse;
font-size:.85em}table.summary td,table.summary th{border:1px solid #ddd;padding:2px 6px;
text-align:right}.warn li,p.warn{color:#a40000}.ok{color:#1a6b1a}code{background:#f4f4f4;
padding:0 3px}footer{margin-top:3em;font-size:.8em;color:#666}"""


def alt_text(fig, name: str) -> str:
    """A figure's alternative text: its title, else its panels' titles, else its name."""
    title = fig.get_suptitle()
    if title:
        return title
    panels = [ax.get_title() for ax in fig.axes if ax.get_title()]
    if panels:
        return (
            f"{name.replace('_', ' ')}: "
            + "; ".join(panels[:6])
            + ("; ..." if len(panels) > 6 else "")
        )
    return name.replace("_", " ")


def _page_html(result: RunResult, pngs: dict, alts: dict) -> str:
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>"
        f"{html.escape(result.card.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(result.card.title)}</h1>",
    ]
    for title, text, names in result.sections:
        parts.append(f"<h2>{html.escape(title)}</h2>{text}")
        for name in names:
            if name in pngs:
                alt = html.escape(alts[name], quote=True)
                parts.append(f'<img alt="{alt}" src="data:image/png;base64,{pngs[name]}">')
    s = result.summary
    parts.append(
        f"<footer>seed {s['seed']}; stages {', '.join(s['stages'])}; device "
        f"{html.escape(s['device'])}; timings (s) "
        f"{html.escape(json.dumps({k: round(v, 2) for k, v in s['timings_s'].items()}))};"
        f" versions {html.escape(json.dumps(s['versions']))}; card "
        f"{html.escape(Path(s['card']).name)}</footer></body></html>"
    )
    return "\n".join(parts)
