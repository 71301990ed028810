"""The odp kernel in JupyterLab, as a person uses it: run the example notebook and see its tables, Stop during Run
All, the completion popup, restart. See conftest.py for the JupyterLab and the browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest
from harness import ROOT, Lab
from jlab import code_cells, menu, new_notebook_cell, open_notebook, prompt, wait_idle, wait_prompts_settled
from playwright.sync_api import Page, expect

# The pink box: JupyterLab renders stderr streams and errors alike with this MIME type.
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
# Where screenshots go (as conftest.py's, for failures): outside the clone.
ARTIFACTS = Path(os.environ.get("ODP_JUPYTERLAB_ARTIFACTS") or Path(tempfile.gettempdir()) / "odp-jupyterlab-artifacts")


def write_notebook(lab: Lab, name: str, cells: list[str], kernel: str = "odp") -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "ODP pipelines", "language": "odp"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, lab.root / name)
    return lab.notebook_url(name)


def test_the_kernelspec_is_where_jupyter_data_dir_says_with_its_logos(lab: Lab):
    # `odp kernel install` (no flag) ran with JUPYTER_DATA_DIR pointing into the test's folder.
    assert (lab.data / "kernels" / "odp" / "kernel.json").is_file()
    spec = lab.api("/api/kernelspecs")["kernelspecs"]["odp"]
    assert spec["spec"]["display_name"] == "ODP pipelines"
    assert set(spec["resources"]) >= {"logo-64x64", "logo-svg"}, spec["resources"]
    status, ctype, body = lab.get(spec["resources"]["logo-64x64"])
    assert status == 200 and ctype == "image/png" and body.startswith(b"\x89PNG"), ctype
    status, ctype, body = lab.get(spec["resources"]["logo-svg"])
    assert status == 200 and b"<svg" in body, ctype


def test_the_example_notebook_shows_results_tables(lab: Lab, page: Page):
    shutil.copy(ROOT / "examples" / "notebooks" / "rust-pulse.ipynb", lab.root / "rust-pulse.ipynb")
    open_notebook(page, lab.notebook_url("rust-pulse.ipynb"))
    menu(page, "Run", "Run All Cells")
    wait_prompts_settled(page, 45)
    wait_idle(page)
    cells = code_cells(page)
    prompts = [prompt(c) for c in cells.all()]
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), prompts
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    # No pink box, neither an error nor stderr: the built-in stubs notice is a notice on stdout.
    assert notebook.locator(STDERR).count() == 0, notebook.locator(STDERR).all_text_contents()
    search = cells.filter(has_text="name: threads")
    expect(search.locator(".jp-OutputArea")).to_contain_text("built-in stubs")
    # The step's result is shown as its HTML table, not as a collapsed JSON tree.
    table = search.locator('.jp-OutputArea-output[data-mime-type="text/html"] table.odp-table')
    expect(table).to_have_count(1)
    expect(table.locator("th")).to_contain_text(["#", "id", "title"])
    assert "score" in table.locator("th").all_text_contents()
    expect(table.locator("tbody tr")).to_have_count(20)
    assert notebook.locator(".jp-RenderedJSON").count() == 0
    mood = cells.filter(has_text="name: mood").locator("table.odp-table")
    expect(mood.locator("th")).to_contain_text(["#"])
    assert "label" in mood.locator("th").all_text_contents()


def stubs_url(page: Page) -> str:
    text = code_cells(page).nth(1).locator(".jp-OutputArea").text_content()
    found = re.search(r"built-in stubs at (http://127\.0\.0\.1:\d+)", text)
    assert found, text
    return found.group(1)


def test_stop_during_run_all_aborts_the_queue(lab: Lab, page: Page):
    url = write_notebook(
        lab,
        "stop.ipynb",
        [
            "%inputs topic=rust",
            'name: tweets\nmethod: social.twitter.search\nparams: {query: "{{inputs.topic}}", limit: 5}',
            'name: mood\nmethod: nlp.sentiment.analyze\nparams:\n  texts: "{{tweets.results[*].text}}"',
            "%echo after the stop",
        ],
    )
    open_notebook(page, url)
    menu(page, "Run", "Run All Cells")
    wait_prompts_settled(page)
    cells = code_cells(page)
    expect(cells.nth(3).locator(".jp-OutputArea")).to_contain_text("after the stop")
    # The next sentiment call hangs for a minute (the built-in stubs take faults like `odp stubs`).
    req = urllib.request.Request(
        f"{stubs_url(page)}/_stubs/faults",
        data=json.dumps({"kind": "latency", "delay_ms": 60_000, "endpoint": "nlp.sentiment.analyze"}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(req, timeout=5).read()

    menu(page, "Run", "Run All Cells")
    # The sentiment step is running, the last cell queued behind it.
    expect(cells.nth(2).locator(".jp-OutputArea")).to_contain_text("mood", timeout=20_000)
    assert prompt(cells.nth(2)) == "[*]:" and prompt(cells.nth(3)) == "[*]:"
    time.sleep(0.3)
    menu(page, "Kernel", "Interrupt Kernel")
    wait_prompts_settled(page, 10)
    wait_idle(page)
    expect(cells.nth(2).locator(STDERR)).to_contain_text("Interrupted")
    # The queued cell was aborted: no output, no execution count.
    assert prompt(cells.nth(3)) == "[ ]:", prompt(cells.nth(3))
    assert "after the stop" not in cells.nth(3).locator(".jp-OutputArea").text_content()
    # The kernel goes on: the queued cell runs when asked.
    cells.nth(3).locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Shift+Enter")
    expect(cells.nth(3).locator(".jp-OutputArea")).to_contain_text("after the stop")


def test_the_completion_popup_is_readable(lab: Lab, page: Page):
    url = write_notebook(lab, "complete.ipynb", [""])
    open_notebook(page, url)
    new_notebook_cell(page, "name: t\nmethod: nlp.sent")
    page.keyboard.press("Tab")
    popup = page.locator(".jp-Completer")
    expect(popup).to_be_visible()
    items = popup.locator(".jp-Completer-item")
    expect(items.first).to_be_visible()
    labels = [t.strip() for t in items.locator(".jp-Completer-match").all_inner_texts()]
    assert "nlp.sentiment.analyze" in labels, labels
    kinds = items.locator(".jp-Completer-typeExtended").all_inner_texts()
    # The kernel's items: one short word each (an icon is drawn from it), not the method's summary. (The words of
    # the notebook that JupyterLab adds have none.)
    assert kinds[labels.index("nlp.sentiment.analyze")] == "method", kinds
    assert {k for k in kinds if k} == {"method"}, kinds
    monograms = items.locator(".jp-Completer-monogram").all_inner_texts()
    assert {m for m in monograms if m.strip()} == {"m"}, monograms
    page.keyboard.press("Escape")


def test_restart_starts_a_new_session(lab: Lab, page: Page):
    url = write_notebook(lab, "restart.ipynb", ["%inputs topic=rust", "%inputs"])
    open_notebook(page, url)
    menu(page, "Run", "Run All Cells")
    wait_prompts_settled(page)
    cells = code_cells(page)
    expect(cells.nth(1).locator(".jp-OutputArea table")).to_contain_text("topicstringrust")
    menu(page, "Kernel", "Restart Kernel")
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").filter(has_text="Restart").click()
    expect(page.locator(".jp-Dialog")).to_have_count(0)
    time.sleep(0.5)
    wait_idle(page)
    cells.nth(1).locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Shift+Enter")
    expect(cells.nth(1).locator(".jp-OutputArea")).to_contain_text("no inputs")
    assert prompt(cells.nth(1)) == "[1]:", prompt(cells.nth(1))


def test_an_indentation_error_shows_the_cells_own_columns(lab: Lab, page: Page):
    # The cell is wrapped into a pipeline for the checker; the error counts the spaces written in the cell.
    url = write_notebook(
        lab, "indent.ipynb", ["name: t\nmethod: social.twitter.search\nparams:\n  query: rust\n   limit: 5"]
    )
    open_notebook(page, url)
    menu(page, "Run", "Run All Cells")
    wait_prompts_settled(page)
    error = code_cells(page).first.locator(STDERR)
    expect(error).to_contain_text("this key is indented by 3 spaces, the keys before it by 2; align them")
    # The extra space, in the cell's own line and column.
    expect(error).to_contain_text("cell[1]:5:3")


def test_graph_draws_the_sessions_steps(lab: Lab, page: Page):
    url = write_notebook(
        lab,
        "graph.ipynb",
        [
            "%inputs topic=rust",
            'name: tweets\nmethod: social.twitter.search\nparams: {query: "{{inputs.topic}}", limit: 5}',
            'name: mood\nmethod: nlp.sentiment.analyze\nparams:\n  texts: "{{tweets.results[*].text}}"',
            "%graph",
        ],
    )
    open_notebook(page, url)
    menu(page, "Run", "Run All Cells")
    wait_prompts_settled(page, 45)
    wait_idle(page)
    cell = code_cells(page).nth(3)
    # JupyterLab picks the SVG over the Mermaid text, and shows it as an image.
    output = cell.locator('.jp-OutputArea-output[data-mime-type="image/svg+xml"]')
    expect(output).to_have_count(1)
    assert cell.locator('.jp-OutputArea-output[data-mime-type="text/plain"]').count() == 0
    image = output.locator("img")
    expect(image).to_be_visible()
    assert image.evaluate("i => i.complete && i.naturalWidth > 300 && i.naturalHeight > 50"), "the SVG did not load"
    box = image.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 50, box
    # The picture is the session's: its nodes' texts, decoded from the image's source.
    svg = urllib.parse.unquote(image.get_attribute("src").split(",", 1)[1])
    for text in (">topic<", ">tweets<", ">mood<", ">results[*].text<", ">social.twitter.search<"):
        assert text in svg, text
    cell.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    cell.screenshot(path=str(ARTIFACTS / "jupyterlab-graph.png"))


# The first Rust cell of a session starts evcxr (serde and serde_json from its build cache when warm).
@pytest.mark.scenario_seconds(240)
def test_a_rust_cell_shows_its_output_and_a_later_step_uses_what_it_published(lab: Lab, page: Page):
    url = write_notebook(
        lab,
        "rust.ipynb",
        [
            "name: posts\nmethod: social.reddit.search\nparams: {query: rust, limit: 5}",
            '%%rust\nlet n = posts["results"].as_array().map_or(0, |r| r.len());\nprintln!("{n} posts seen from Rust");\n'
            'odp::publish("counted", &serde_json::json!({"posts": n, "doubled": n * 2}));\nn * 2',
            'name: top\nmethod: data.records.sort\nparams: {records: "{{posts.results}}", field: score, limit: "{{counted.posts}}"}',
        ],
        kernel="odp-rust",
    )
    open_notebook(page, url)
    menu(page, "Run", "Run All Cells")
    wait_prompts_settled(page, 200)
    wait_idle(page)
    cells = code_cells(page)
    prompts = [prompt(c) for c in cells.all()]
    assert prompts == ["[1]:", "[2]:", "[3]:"], prompts
    rust = cells.nth(1).locator(".jp-OutputArea")
    expect(rust).to_contain_text("5 posts seen from Rust")
    expect(rust).to_contain_text("published `counted`")
    # The cell's value, as its result.
    expect(cells.nth(1).locator(".jp-OutputArea-output[data-mime-type='text/plain']").last).to_have_text("10")
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    assert notebook.locator(STDERR).count() == 0, notebook.locator(STDERR).all_text_contents()
    # The step after it used the published value (its limit): 5 records.
    expect(cells.nth(2).locator("table.odp-table tbody tr")).to_have_count(5)
