"""Driving JupyterLab 4 as a person does: menus, the keyboard, the status bar. Shared by the scenarios and
docs/images/make.py (the screenshots)."""

from __future__ import annotations

import re
import time
import warnings

from playwright.sync_api import Locator, Page, expect

IDLE = re.compile(r"\|\s*Idle$")


def open_notebook(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=30_000)
    try:
        wait_idle(page, timeout=15_000)
    except AssertionError:
        # Seen twice in ~20 runs of this suite under load (not understood yet): the notebook opens, the kernel
        # starts and the server connects to it, but the status bar stays "ODP pipelines | Unknown". JupyterLab only
        # takes a status from replies to requests it tracks (not kernel_info's), so it waits for its first tracked
        # request's busy/idle. The page is reloaded once, as a person would, and the kernel messages the page saw
        # are reported as a warning (in pytest's summary) so that the next failure says what was missing.
        status = page.locator("#jp-main-statusbar").get_by_role("button", name=re.compile(r"\|")).first
        shown = status.text_content() if status.count() else "(no kernel status)"
        if "Unknown" not in (shown or ""):
            raise
        frames = getattr(page, "kernel_frames", [])
        warnings.warn(
            f"the kernel status stayed {shown!r} for 15 s after opening {url.split('?')[0]}; reloading the page "
            "once. The page's kernel messages so far:\n" + "\n".join(frames[-30:]),
            stacklevel=2,
        )
        page.reload()
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=30_000)
        wait_idle(page)


def wait_idle(page: Page, timeout: float = 30_000) -> None:
    """Waits until the status bar says the kernel is idle ("ODP pipelines | Idle")."""
    status = page.locator("#jp-main-statusbar").get_by_role("button", name=IDLE)
    expect(status).to_be_visible(timeout=timeout)


def menu(page: Page, top: str, item: str) -> None:
    """Clicks a main-menu entry (`Run` → `Run All Cells`)."""
    page.locator("#jp-menu-panel").get_by_role("menuitem", name=top, exact=True).click()
    page.locator(".lm-Menu").get_by_role("menuitem", name=re.compile(rf"^{re.escape(item)}")).first.click()


def code_cells(page: Page) -> Locator:
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")


def prompt(cell: Locator) -> str:
    """A cell's input prompt: `[3]:`, `[*]:` (running or queued) or `[ ]:` (never ran, or aborted)."""
    return (cell.locator(".jp-InputArea-prompt").text_content() or "").strip()


def wait_prompts_settled(page: Page, timeout: float = 30.0) -> None:
    """Waits until no cell is running or queued (no `[*]:`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        prompts = [prompt(c) for c in code_cells(page).all()]
        if prompts and not any("*" in p for p in prompts):
            return
        time.sleep(0.2)
    raise AssertionError(f"cells still running after {timeout} s: {prompts}")


def new_notebook_cell(page: Page, text: str) -> Locator:
    """Types `text` into the notebook's last cell (a person typing, line by line) and returns the cell."""
    cell = code_cells(page).last
    cell.locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    for i, line in enumerate(text.split("\n")):
        if i:
            page.keyboard.press("Enter")
            # CodeMirror keeps the indentation: start each line at column 0 as written.
            page.keyboard.press("Shift+Home")
            page.keyboard.press("Delete")
        page.keyboard.insert_text(line)
    return cell
