"""nbclient runs the example notebooks headless against the built-in stubs, as a person's Jupyter would."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from odp_kernel_helpers import ROOT, odp_binary, strip_ansi

# Notebooks with `%%rust` cells need the `rust-cells` build: test_rust_cells.py runs them on it.
NOTEBOOKS = sorted(
    p for p in (ROOT / "examples" / "notebooks").glob("*.ipynb") if "%%rust" not in p.read_text()
)


def execute(path: Path, cwd: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, kernel_name="odp", timeout=120, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return nb


def outputs_of(nb: nbformat.NotebookNode, needle: str) -> list[dict]:
    """The outputs of the code cell whose source contains `needle`."""
    cells = [c for c in nb.cells if c.cell_type == "code" and needle in c.source]
    assert len(cells) == 1, f"{len(cells)} cells contain {needle!r}"
    return cells[0].outputs


def result(outputs: list[dict]) -> dict:
    found = [o for o in outputs if o.output_type == "execute_result"]
    assert len(found) == 1, outputs
    return found[0].data


def stream(outputs: list[dict], name: str = "stdout") -> str:
    return strip_ansi("".join(o.text for o in outputs if o.output_type == "stream" and o.name == name))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_example_notebooks_run_without_errors(path: Path, tmp_path: Path):
    nb = execute(path, tmp_path)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.execution_count is not None, f"cell {i} did not run"
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert not errors, f"cell {i}: {errors}"


def test_the_investigation_notebook(tmp_path: Path):
    nb = execute(ROOT / "examples" / "notebooks" / "rust-pulse.ipynb", tmp_path)
    # The execution counts follow the code cells.
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))

    registry = outputs_of(nb, "%registry sentiment")
    assert registry[0].output_type == "display_data"
    assert "nlp.sentiment.analyze" in registry[0].data["text/html"]
    assert "social.twitter.search" not in registry[0].data["text/html"]

    inputs = result(outputs_of(nb, "%inputs"))
    assert inputs["application/vnd.odp.result+json"] == {"topic": "rust language", "limit": 30}

    # Search: two sources in one cell; the built-in stubs are announced once, progress goes to stdout.
    search = outputs_of(nb, "name: threads")
    # The stubs notice is a notice on stdout, not stderr (JupyterLab draws stderr as an error box).
    assert "built-in stubs" in stream(search)
    assert stream(search, "stderr") == ""
    progress = stream(search)
    assert "✓ tweets (social.twitter.search) done" in progress
    assert "✓ threads (social.reddit.search) done" in progress
    threads = result(search)
    assert len(threads["application/vnd.odp.result+json"]["results"]) == 30
    assert threads["application/vnd.odp.result+json"]["count"] == 30
    assert "<table" in threads["text/html"] and "<th style=\"text-align:left\">score</th>" in threads["text/html"]
    assert threads["text/plain"].startswith("threads ← social.reddit.search\n  results: 30 records")

    tweets = result(outputs_of(nb, "%show tweets"))
    assert len(tweets["application/vnd.odp.result+json"]["results"]) == 30
    assert "<th style=\"text-align:left\">text</th>" in tweets["text/html"]

    # Sentiment of every tweet.
    mood = result(outputs_of(nb, "name: mood"))["application/vnd.odp.result+json"]
    assert len(mood["results"]) == 30
    assert sum(mood["summary"].values()) == 30
    assert all(r["label"] in ("positive", "neutral", "negative") for r in mood["results"])

    top = result(outputs_of(nb, "name: top_threads"))["application/vnd.odp.result+json"]["results"]
    assert len(top) == 10
    assert [t["score"] for t in top] == sorted((t["score"] for t in top), reverse=True)

    brief = result(outputs_of(nb, "name: brief"))
    assert brief["application/vnd.odp.result+json"]["summary"].strip()
    assert isinstance(brief["application/vnd.odp.result+json"]["key_points"], list)
    assert "stubs" not in stream(outputs_of(nb, "name: brief"), "stderr")

    steps = outputs_of(nb, "%steps")[0].data["text/plain"]
    for line in (
        "[3] tweets ← social.twitter.search (source)",
        "[3] threads ← social.reddit.search (source)",
        "[5] mood ← nlp.sentiment.analyze (transform)",
        "[6] top_threads ← data.records.sort (transform)",
        "[7] brief ← nlp.summary.generate (transform)",
    ):
        assert line in steps, steps

    # %export writes the session as a pipeline the linter accepts without a finding.
    export = stream(outputs_of(nb, "%export"))
    assert export.startswith("wrote rust-pulse.odp.yaml: 5 steps and 2 inputs")
    exported = tmp_path / "rust-pulse.odp.yaml"
    text = exported.read_text()
    assert 'default: "rust language"' in text and "default: 30" in text
    check = subprocess.run(
        [str(odp_binary()), "check", str(exported)], capture_output=True, text=True, cwd=tmp_path
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "0 errors, 0 warnings" in check.stdout + check.stderr, check.stdout + check.stderr
    # ... and `odp run` runs it (on its own built-in stubs).
    run = subprocess.run(
        [str(odp_binary()), "run", str(exported), "--set", "limit=5"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr


def test_a_failing_cell_shows_the_checkers_diagnostics(tmp_path: Path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%inputs topic=rust"),
            nbformat.v4.new_code_cell(
                'name: tweets\nmethod: social.twitter.serach\nparams: {query: "{{inputs.topic}}"}\n'
            ),
        ],
        metadata={"kernelspec": {"name": "odp", "display_name": "ODP pipelines", "language": "odp"}},
    )
    client = NotebookClient(nb, kernel_name="odp", timeout=60, allow_errors=True)
    client.execute()
    error = nb.cells[1].outputs[0]
    assert error.output_type == "error"
    assert error.ename == "CheckError"
    traceback = strip_ansi("\n".join(error.traceback))
    # Rendered like `odp check`: code, position in the cell, the caret, the did-you-mean.
    assert "error[ODP300/unknown-method]: unknown method `social.twitter.serach`" in traceback
    assert "cell[2]:2:9" in traceback
    assert "help: did you mean `social.twitter.search`?" in traceback
