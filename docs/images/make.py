"""Makes the JupyterLab pictures in docs/images/ from the same harness as the JupyterLab suite (tests/jupyterlab):
a JupyterLab with the odp kernel, headless Debian Chromium through Playwright, the example notebook run on the
built-in stubs. Run by hand (CI never rewrites these files), after `bash tests/run.sh` has made the venv:

    .venv/bin/python docs/images/make.py

Writes jupyterlab-results-table.png (the example notebook after "Run All": a step's results as a table) and
jupyterlab-completion.png (the completion popup on `method:`). Look at them before committing.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "jupyterlab"))

from harness import CHROMIUM, CHROMIUM_ARGS, running_lab  # noqa: E402
from jlab import code_cells, menu, new_notebook_cell, open_notebook, wait_idle, wait_prompts_settled  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

VIEWPORT = {"width": 1280, "height": 1000}


def hide_sidebar(page) -> None:
    menu(page, "View", "File Browser")


def main() -> None:
    with running_lab() as lab, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
        page.set_default_timeout(30_000)

        # The example notebook, run as a person runs it; the search cell's table at the top of the window.
        shutil.copy(ROOT / "examples" / "notebooks" / "rust-pulse.ipynb", lab.root / "rust-pulse.ipynb")
        open_notebook(page, lab.notebook_url("rust-pulse.ipynb"))
        hide_sidebar(page)
        menu(page, "Run", "Run All Cells")
        wait_prompts_settled(page, 60)
        wait_idle(page)
        search = code_cells(page).filter(has_text="name: threads")
        expect(search.locator("table.odp-table")).to_have_count(1)
        search.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.mouse.move(0, 0)
        page.wait_for_timeout(500)
        out = HERE / "jupyterlab-results-table.png"
        page.screenshot(path=str(out))
        print(f"wrote {out}")

        # Completion after `method:` in a new notebook.
        nb = lab.root / "completion.ipynb"
        nb.write_text(
            '{"cells": [{"cell_type": "code", "execution_count": null, "id": "a", "metadata": {}, "outputs": [],'
            ' "source": ""}], "metadata": {"kernelspec": {"name": "odp", "display_name": "ODP pipelines",'
            ' "language": "odp"}}, "nbformat": 4, "nbformat_minor": 5}'
        )
        open_notebook(page, lab.notebook_url("completion.ipynb"))
        if page.locator("#filebrowser").is_visible():
            hide_sidebar(page)
        new_notebook_cell(page, "name: mood\nmethod: nlp.")
        page.keyboard.press("Tab")
        expect(page.locator(".jp-Completer .jp-Completer-item").first).to_be_visible()
        page.wait_for_timeout(500)
        out = HERE / "jupyterlab-completion.png"
        page.screenshot(path=str(out), clip={"x": 0, "y": 0, "width": 1000, "height": 400})
        print(f"wrote {out}")
        browser.close()


if __name__ == "__main__":
    main()
