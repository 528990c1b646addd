"""Screenshot the top of each shipped card's report page into docs/img/report-<card>.png.

Runs every card in ``bayes_reg/models`` the way ``bayes-reg run`` does (float64, the
compilation cache) into a temporary folder, then has headless Chromium draw the first
1200 x 1600 pixels of its ``report.html``, offline. Needs Chromium (Debian:
``apt-get install --no-install-recommends chromium``).

Run: python docs/make_screenshots.py            (every card, full budgets: long)
     python docs/make_screenshots.py diabetes-ridge   (one card)
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
jax.config.update("jax_enable_x64", True)  # as `bayes-reg run`

from PIL import Image  # noqa: E402  (matplotlib's own dependency)

from bayes_reg.cache import enable_compilation_cache  # noqa: E402
from bayes_reg.cli import CARDS_DIR  # noqa: E402
from bayes_reg.run.card import load_card  # noqa: E402
from bayes_reg.run.page import write_outputs  # noqa: E402
from bayes_reg.run.stages import run_card  # noqa: E402

OUT = Path(__file__).parent / "img"
CARDS = sorted(p.stem for p in CARDS_DIR.glob("*.toml"))
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "headless_shell")
MAX_BYTES = 400_000  # a README image, not a download


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cards", nargs="*", default=CARDS, help=f"default all: {CARDS}")
    parser.add_argument("--size", default="1200,1600", help="window WIDTH,HEIGHT in pixels")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.cards) - set(CARDS))
    if unknown:
        parser.error(f"unknown cards {unknown}; the shipped ones are {CARDS}")
    chromium = _chromium()
    if chromium is None:
        sys.exit(f"no Chromium found (looked for {', '.join(BROWSERS)})")
    enable_compilation_cache()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bayes_reg-screenshots-") as tmp:
        for name in args.cards:
            card = load_card(CARDS_DIR / f"{name}.toml")
            log = lambda msg, name=name: print(f"[{name}] {msg}")  # noqa: E731
            out = write_outputs(run_card(card, progress=False, log=log), Path(tmp, name))
            png = args.out / f"report-{name}.png"
            _screenshot(chromium, out / "report.html", png, args.size, Path(tmp, "browser"))
            print(f"[{name}] {png} ({png.stat().st_size // 1000} KB)")


def _chromium() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path and subprocess.run([path, "--version"], capture_output=True).returncode == 0:
            return path
    return None


def _screenshot(chromium: str, page: Path, png: Path, size: str, tmp: Path) -> None:
    """Draw the top ``size`` of ``page`` into ``png``, offline, under MAX_BYTES."""
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",  # containers and root have no usable sandbox; the page is our own
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # the page is self-contained: no network
        "--proxy-server=127.0.0.1:9",
        f"--user-data-dir={tmp / 'profile'}",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={size}",
        "--virtual-time-budget=5000",
        f"--screenshot={png.resolve()}",
        page.as_uri(),
    ]
    env = os.environ | {"XDG_CONFIG_HOME": str(tmp / "xdg"), "XDG_CACHE_HOME": str(tmp / "xdg")}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    if done.returncode != 0 or not png.is_file():
        sys.exit(f"Chromium failed on {page} ({done.returncode}):\n{done.stderr[-3000:]}")
    if png.stat().st_size > MAX_BYTES:  # 256 colours: plenty for text and line plots
        Image.open(png).convert("RGB").quantize(256).save(png, optimize=True)
        if png.stat().st_size > MAX_BYTES:
            print(f"note: {png} is still {png.stat().st_size // 1000} KB; try a smaller --size")


if __name__ == "__main__":
    main()
