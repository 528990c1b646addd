"""The report page, opened in a real browser: it renders, every figure loads from the page
itself, and nothing is fetched from the network.

Headless Chromium's own command line, no driver and no new dependency: a copy of the page
with a small script appended which, once the page has loaded, writes what it sees into the
DOM; ``--dump-dom`` prints that DOM. The network is cut (no host resolves, every request goes
to a closed port) and ``--log-net-log`` records every request the browser starts, so a page
that reaches out fails twice: the request fails, and the log names it. The script sends one
request of its own, a canary, which proves that the log sees the page's requests.

Skipped when no Chromium is installed (Debian: ``apt-get install chromium``; ``.ci/run``
installs it where the machine allows).
"""

import base64
import dataclasses
import html
import io
import json
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bayes_reg.cli import CARDS_DIR
from bayes_reg.run.card import load_card
from bayes_reg.run.page import write_outputs
from bayes_reg.run.stages import run_card

BROWSERS = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "headless_shell",
    "chrome-headless-shell",
)
OFFLINE = (
    "--host-resolver-rules=MAP * ~NOTFOUND",  # no host name resolves ...
    "--proxy-server=127.0.0.1:9",  # ... and every request goes to the closed discard port
)
NUTS = {"chains": 2, "warmup": 100, "draws": 100}  # as in test_shipped_cards: ~10 s
CANARY = "http://canary.invalid/bayes-reg-browser-check"
# Appended to the copy of the page; runs after every image has loaded or failed.
CHECK = """<script>
addEventListener("load", async () => {
  const seen = {
    title: document.title,
    h1: document.querySelector("h1")?.textContent ?? "",
    text: document.body.innerText.trim().length,
    images: Array.from(document.images, (img) => ({
      scheme: new URL(img.src).protocol,
      alt: img.alt,
      complete: img.complete,
      width: img.naturalWidth,
      height: img.naturalHeight,
    })),
    resources: performance.getEntriesByType("resource").map((entry) => entry.name),
  };
  seen.canary = await fetch("CANARY").then(() => "reached", (error) => String(error));
  const out = document.createElement("pre");
  out.id = "browser-check";
  out.textContent = JSON.stringify(seen);
  document.body.append(out);
});
</script>""".replace("CANARY", CANARY)


class Seen(NamedTuple):
    """What the browser saw: the script's findings, and the URLs the page asked the network
    for (from the net log, the browser's own update and dictionary requests left out)."""

    page: dict
    requests: list[str]


@pytest.fixture(scope="module")
def chromium():
    for name in BROWSERS:
        path = shutil.which(name)
        # Ubuntu's chromium-browser can be a stub asking for a snap: it must run.
        if (
            path
            and subprocess.run([path, "--version"], capture_output=True, timeout=60).returncode == 0
        ):
            return path
    pytest.skip(
        f"no Chromium found (looked for {', '.join(BROWSERS)}); on Debian: "
        "apt-get install --no-install-recommends chromium"
    )


def test_the_report_page_renders_offline_in_a_real_browser(chromium, tmp_path):
    card = load_card(CARDS_DIR / "diabetes-ridge.toml")
    card = dataclasses.replace(card, posterior=card.posterior | NUTS)
    out = write_outputs(run_card(card, progress=False, log=lambda msg: None), tmp_path / "out")
    page = (out / "report.html").read_text()

    seen = _open(chromium, out / "report.html", tmp_path / "browser")

    assert seen.page["title"] == card.title and seen.page["h1"] == card.title
    assert seen.page["text"] > 500, seen.page["text"]  # the sections' prose, not a bare page
    images = seen.page["images"]
    assert len(images) == len(list(out.glob("*.png"))) > 0
    for img in images:
        assert img["scheme"] == "data:", img
        assert img["complete"] and img["width"] > 0, img
        assert img["alt"].strip(), img
    # Decoded at the size written in each PNG's own header: the browser read every figure.
    assert [(img["width"], img["height"]) for img in images] == _png_sizes(page)
    assert all(url.startswith(("data:", "file:")) for url in seen.page["resources"]), seen
    assert seen.requests == [CANARY], "the page asked the network for something"


def test_the_browser_check_catches_a_page_that_reaches_for_the_network(chromium, tmp_path):
    """The check itself: a page with a remote script, stylesheet and image is caught."""
    remote = [
        "https://cdn.example.com/style.css",
        "http://cdn.example.com/script.js",
        "https://example.com/figure.png",
    ]
    page = tmp_path / "remote.html"
    page.write_text(
        f"<!doctype html><html><head><title>t</title><link rel=stylesheet href='{remote[0]}'>"
        f"<script src='{remote[1]}'></script></head><body><h1>t</h1><p>text</p>"
        f"<img alt='remote' src='{remote[2]}'><img alt='inline' src='data:image/png;base64,"
        f"{base64.b64encode(_png(3, 2)).decode()}'></body></html>"
    )

    seen = _open(chromium, page, tmp_path / "browser")

    assert sorted(seen.requests) == sorted([*remote, CANARY])
    assert seen.page["canary"] != "reached"  # the network is cut
    remote_img, inline_img = seen.page["images"]
    assert remote_img["scheme"] == "https:" and remote_img["width"] == 0
    assert inline_img["complete"] and (inline_img["width"], inline_img["height"]) == (3, 2)


def _open(chromium: str, page: Path, tmp: Path) -> Seen:
    """Load a copy of ``page`` with the check appended in headless Chromium, offline."""
    tmp.mkdir()
    checked, net_log = tmp / "checked.html", tmp / "net-log.json"
    checked.write_text(page.read_text() + CHECK)
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",  # containers and root have no usable sandbox; the page is our own
        "--disable-gpu",
        "--disable-dev-shm-usage",  # a container's /dev/shm is often 64 MB
        "--no-first-run",
        "--disable-background-networking",
        f"--user-data-dir={tmp / 'profile'}",
        *OFFLINE,
        f"--log-net-log={net_log}",
        "--virtual-time-budget=10000",  # run timers and settle requests before the dump
        "--dump-dom",
        checked.as_uri(),
    ]
    env = os.environ | {"XDG_CONFIG_HOME": str(tmp / "xdg"), "XDG_CACHE_HOME": str(tmp / "xdg")}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    found = re.search(r'<pre id="browser-check">(.*?)</pre>', done.stdout, re.DOTALL)
    assert done.returncode == 0 and found, (
        f"Chromium exited with {done.returncode} and no findings; stderr:\n{done.stderr[-3000:]}"
    )
    return Seen(json.loads(html.unescape(found.group(1))), _page_requests(net_log))


def _page_requests(net_log: Path) -> list[str]:
    """The URLs of the URL requests in a Chromium net log that a page started.

    The browser's own requests (component updates, spellcheck dictionaries, the clock
    check) carry the initiator "not an origin"; a file: page's carry "null" or "file://".
    ``data:`` URLs never reach the network stack, so they are not in the log.
    """
    log = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start
        and "url" in event.get("params", {})
        and event["params"].get("initiator") != "not an origin"
    ]


def _png_sizes(page: str) -> list[tuple[int, int]]:
    """(width, height) from the IHDR chunk of every PNG embedded in the page, in order."""
    sources = re.findall(r'<img [^>]*src="data:image/png;base64,([^"]*)"', page)
    assert len(sources) == page.count("<img "), "an <img> that is not an embedded PNG"
    return [struct.unpack(">II", base64.b64decode(src)[16:24]) for src in sources]


def _png(width: int, height: int) -> bytes:
    """A small grey PNG, drawn by matplotlib (an independent encoder)."""
    buf = io.BytesIO()
    plt.imsave(buf, np.full((height, width), 0.5), cmap="gray", format="png")
    return buf.getvalue()
