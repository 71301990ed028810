"""The odp kernel in a real JupyterLab, driven by a real browser.

One JupyterLab per test session (`jupyterlab` from tests/requirements.txt), started on a free port with its config,
data and runtime folders in a temporary directory, the odp kernelspec installed there by `odp kernel install` (which
honours JUPYTER_DATA_DIR), and one headless Debian Chromium (`/usr/bin/chromium`, `apt-get install chromium`) driven
by Playwright's Python package (its bundled driver, never `playwright install`). Each scenario gets a fresh page and
60 s; a failing scenario leaves a screenshot in $ODP_JUPYTERLAB_ARTIFACTS (default: a folder in the system's temp
directory, outside the clone).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import CHROMIUM, CHROMIUM_ARGS, LabError, running_lab  # noqa: E402

SCENARIO_SECONDS = 60
ARTIFACTS = Path(os.environ.get("ODP_JUPYTERLAB_ARTIFACTS") or Path(tempfile.gettempdir()) / "odp-jupyterlab-artifacts")


def pytest_configure(config):
    config.addinivalue_line("markers", "scenario_seconds(n): the scenario's time limit instead of 60 s")


@pytest.fixture(scope="session")
def lab():
    try:
        with running_lab() as running:
            yield running
    except LabError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (tests/run.sh does)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def kernel_frame(payload: str | bytes) -> str:
    """One kernel websocket message in a line: channel, type, execution state, parent type, kernel session. Both
    of JupyterLab's wire formats: JSON text, and the binary `v1.kernel.websocket.jupyter.org` (a count and offsets
    of the parts as little-endian u64, then channel, header, parent header, metadata, content)."""
    try:
        if isinstance(payload, str):
            msg = json.loads(payload)
            channel, header, parent, content = msg.get("channel"), msg["header"], msg["parent_header"], msg["content"]
        else:
            count = int.from_bytes(payload[:8], "little")
            offsets = [int.from_bytes(payload[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(count)]
            parts = [payload[offsets[i] : offsets[i + 1]] for i in range(count - 1)] + [payload[offsets[-1] :]]
            channel = parts[0].decode()
            header, parent, content = (json.loads(parts[i] or b"{}") for i in (1, 2, 4))
        state = content.get("execution_state", "") if isinstance(content, dict) else ""
        return (
            f"{channel} {header.get('msg_type')} {state} parent={parent.get('msg_type')} "
            f"session={str(header.get('session', ''))[:8]}"
        )
    except Exception as e:  # a frame we cannot read is shown as such
        return f"(unreadable frame: {e})"


def watch_kernel_frames(ws, frames: list[str]) -> None:
    if "/api/kernels/" not in ws.url:
        return
    ws.on("framesent", lambda p: frames.append(f"{time.strftime('%T')} > {kernel_frame(p)}"))
    ws.on("framereceived", lambda p: frames.append(f"{time.strftime('%T')} < {kernel_frame(p)}"))


class ScenarioTimeout(Exception):
    pass


@pytest.fixture
def page(browser, lab, request):
    """A fresh page (its own context: cookies, storage) with a 60 s limit on the whole scenario. A failing scenario
    also prints the end of JupyterLab's log (kernel starts, websocket errors, the kernel's own stderr)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    frames: list[str] = []
    pg.on("websocket", lambda ws: watch_kernel_frames(ws, frames))
    pg.kernel_frames = frames  # (read by jlab.open_notebook's report)

    def expire(signum, frame):
        raise ScenarioTimeout(f"the scenario took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    marker = request.node.get_closest_marker("scenario_seconds")
    seconds = marker.args[0] if marker else SCENARIO_SECONDS
    signal.alarm(seconds)
    try:
        yield pg
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / f"{request.node.name}.png"
            try:
                pg.screenshot(path=str(shot), full_page=True)
                print(f"screenshot of the failure: {shot}")
            except Exception as e:  # the page may be gone
                print(f"no screenshot: {e}")
            log = lab.log.read_text(errors="replace").splitlines()
            print("the end of JupyterLab's log:\n" + "\n".join(log[-80:]))
            print("the last kernel messages the page sent (>) and received (<):\n" + "\n".join(frames[-40:]))
        context.close()
