"""`%%rust` cells (evcxr) through jupyter_client, on the `odp` built with the `rust-cells` feature.

One kernel serves the Rust-cell tests in this module (a module-scoped fixture: evcxr's first cell builds its
dependencies, later ones only the cell), in file order: step -> Rust that publishes -> step that uses it; a compile
error; a panic; an interrupt of `loop {}`; `:dep` on a path crate. The kernel runs with `CARGO_NET_OFFLINE=true`:
nothing here needs the network (serde and serde_json come from cargo's local cache). evcxr's build cache is its own,
outside the clone ($XDG_CACHE_HOME/evcxr). The kernel without the feature, and one without a Rust toolchain, answer a
`%%rust` cell with a clear error.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client import BlockingKernelClient, KernelManager
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

from odp_kernel_helpers import ROOT, ensure_rust_kernel, strip_ansi

pytestmark = pytest.mark.rust_cells

POSTS = "name: posts\nmethod: social.reddit.search\nparams: {query: rust, limit: 12}\n"


def run(kc: BlockingKernelClient, code: str, timeout: float = 240) -> tuple[dict, list[dict]]:
    """Executes code; the reply's content and the outputs on iopub up to `idle`."""
    msg_id = kc.execute(code, stop_on_error=False)
    reply = kc.get_shell_msg(timeout=timeout)
    assert reply["parent_header"]["msg_id"] == msg_id
    return reply["content"], outputs_until_idle(kc, msg_id, timeout)


def outputs_until_idle(kc: BlockingKernelClient, msg_id: str, timeout: float) -> list[dict]:
    outputs = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return outputs
        if msg["msg_type"] not in ("status", "execute_input"):
            outputs.append(msg)


def stream(outputs: list[dict], name: str = "stdout") -> str:
    return strip_ansi(
        "".join(o["content"]["text"] for o in outputs if o["msg_type"] == "stream" and o["content"]["name"] == name)
    )


def result(outputs: list[dict]) -> dict:
    found = [o["content"]["data"] for o in outputs if o["msg_type"] == "execute_result"]
    assert len(found) == 1, outputs
    return found[0]


def error(reply: dict, outputs: list[dict]) -> dict:
    assert reply["status"] == "error", (reply, outputs)
    errors = [o["content"] for o in outputs if o["msg_type"] == "error"]
    assert len(errors) == 1, outputs
    e = dict(errors[0])
    e["text"] = strip_ansi("\n".join(e["traceback"]))
    return e


def ok(reply: dict, outputs: list[dict]) -> None:
    assert reply["status"] == "ok", (reply, [o["content"] for o in outputs if o["msg_type"] == "error"])


@pytest.fixture(scope="module")
def rust(tmp_path_factory):
    """One kernel of the `rust-cells` build for the module, in a temporary working directory, offline."""
    ensure_rust_kernel()
    cwd = tmp_path_factory.mktemp("rust-cells")
    env = dict(os.environ, CARGO_NET_OFFLINE="true")
    km = KernelManager(kernel_name="odp-rust")
    km.start_kernel(cwd=str(cwd), env=env)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    yield km, kc, cwd
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def test_a_rust_cell_reads_a_step_publishes_and_a_later_step_uses_it(rust):
    _, kc, _ = rust
    ok(*run(kc, POSTS))
    start = time.monotonic()
    reply, outputs = run(
        kc,
        """%%rust
let records: Vec<serde_json::Value> = posts["results"].as_array().cloned().unwrap_or_default();
let mut by_author: Vec<(String, i64)> = records
    .iter()
    .map(|r| (r["author"].as_str().unwrap_or("").to_string(), r["score"].as_i64().unwrap_or(0)))
    .collect();
by_author.sort_by(|a, b| b.1.cmp(&a.1));
#[derive(serde::Serialize)]
struct Ranked { author: String, score: i64, rank: usize }
let ranked: Vec<Ranked> = by_author
    .iter()
    .enumerate()
    .map(|(i, (author, score))| Ranked { author: author.clone(), score: *score, rank: i + 1 })
    .collect();
odp::publish("ranked", &serde_json::json!({ "authors": ranked }));
println!("{} authors ranked", ranked.len());
ranked.len()
""",
    )
    ok(reply, outputs)
    first = time.monotonic() - start
    out = stream(outputs)
    assert "12 authors ranked" in out, out
    assert "published `ranked`: an object {authors}" in out, out
    assert result(outputs)["text/plain"] == "12"
    # The step cell after it references the published value, is checked against it and runs.
    reply, outputs = run(
        kc,
        'name: top\nmethod: data.records.sort\nparams:\n  records: "{{ranked.authors}}"\n  field: rank\n  order: asc\n  limit: 3\n',
    )
    ok(reply, outputs)
    top = result(outputs)["application/vnd.odp.result+json"]["results"]
    assert [t["rank"] for t in top] == [1, 2, 3]
    assert top[0]["score"] >= top[1]["score"] >= top[2]["score"]
    # Completion offers the published value's fields, like a live result's.
    code = 'name: t\nmethod: data.records.sort\nparams:\n  records: "{{ranked.authors[0].'
    kc.complete(code, len(code))
    matches = kc.get_shell_msg(timeout=30)["content"]["matches"]
    assert set(matches) >= {"author", "score", "rank"}, matches
    # A second Rust cell: the variables are there, `ranked` too (bound by the prelude after it was published).
    start = time.monotonic()
    reply, outputs = run(kc, "%%rust\nranked[\"authors\"][0][\"rank\"].as_i64().unwrap() + by_author.len() as i64")
    ok(reply, outputs)
    assert result(outputs)["text/plain"] == "13"
    print(f"first Rust cell {first:.1f} s, a later one {time.monotonic() - start:.1f} s")


def test_publishing_under_a_steps_name_is_the_cells_error(rust):
    _, kc, _ = rust
    e = error(*run(kc, '%%rust\nodp::publish("posts", &1);\nodp::publish("2x", &2);'))
    assert e["ename"] == "PublishError"
    assert "`posts` is a step of this session" in e["text"], e["text"]
    assert "`2x` is not a valid step name" in e["text"], e["text"]


def test_a_compile_error_names_the_cells_line(rust):
    _, kc, _ = rust
    e = error(*run(kc, "%%rust\nlet fine = 1;\nlet n: i32 = \"text\";\n"))
    assert e["ename"] == "CompileError"
    assert "mismatched types" in e["evalue"] and "(line 3)" in e["evalue"], e["evalue"]
    # An ariadne report, as evcxr_jupyter shows it: the cell's label and line 3 with its code.
    assert "cell[" in e["text"] and '3 │ let n: i32 = "text";' in e["text"], e["text"]


def test_a_panic_is_the_cells_error_and_loses_rust_variables_but_not_the_steps(rust):
    _, kc, _ = rust
    ok(*run(kc, "%%rust\nlet kept = 41;"))
    e = error(*run(kc, '%%rust\npanic!("boom at {}", kept);'))
    assert e["ename"] == "RustPanic"
    assert "the Rust variables are lost" in e["evalue"]
    assert "boom at 41" in e["text"], e["text"]
    # The variable is gone ...
    e = error(*run(kc, "%%rust\nkept"))
    assert e["ename"] == "CompileError" and "kept" in e["text"], e["text"]
    # ... and the session's results are bound again.
    reply, outputs = run(kc, '%%rust\nposts["results"].as_array().unwrap().len() + ranked["authors"].as_array().unwrap().len()')
    ok(reply, outputs)
    assert result(outputs)["text/plain"] == "24"
    reply, outputs = run(kc, "%show posts")
    ok(reply, outputs)


def test_an_interrupt_stops_a_running_loop_and_the_session_lives_on(rust):
    km, kc, _ = rust
    msg_id = kc.execute('%%rust\nprintln!("looping");\nloop { std::hint::spin_loop(); }', stop_on_error=False)
    deadline = time.monotonic() + 240
    seen = ""
    while "looping" not in seen:
        assert time.monotonic() < deadline, "the loop never started"
        msg = kc.get_iopub_msg(timeout=240)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            seen += msg["content"]["text"]
    interrupted_at = time.monotonic()
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=30)
    assert time.monotonic() - interrupted_at < 10
    outputs = outputs_until_idle(kc, msg_id, 30)
    e = error(reply["content"], outputs)
    assert e["ename"] == "Interrupted"
    assert "Rust variables are lost" in e["evalue"]
    reply, outputs = run(kc, '%%rust\nposts["count"].as_i64().unwrap()')
    ok(reply, outputs)
    assert result(outputs)["text/plain"] == "12"


def test_dep_adds_a_path_crate(rust, tmp_path):
    _, kc, _ = rust
    crate = tmp_path / "greeting"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text('[package]\nname = "greeting"\nversion = "0.1.0"\nedition = "2021"\n')
    (crate / "src" / "lib.rs").write_text('pub fn hello(who: &str) -> String { format!("hello, {who}") }\n')
    reply, outputs = run(kc, f'%%rust\n:dep greeting = {{ path = "{crate}" }}\ngreeting::hello("odp")')
    ok(reply, outputs)
    assert result(outputs)["text/plain"] == '"hello, odp"'


def test_the_join_notebook_runs_and_ranks_authors(tmp_path, monkeypatch):
    ensure_rust_kernel()
    monkeypatch.setenv("CARGO_NET_OFFLINE", "true")
    path = ROOT / "examples" / "notebooks" / "authors-across-networks.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="odp-rust", timeout=300, resources={"metadata": {"path": str(tmp_path)}}).execute()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert not errors, f"cell {i}: {errors}"
    rust_cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%rust"))
    text = "".join(o.get("text", "") for o in rust_cell.outputs if o.output_type == "stream")
    assert "published `leaders`" in strip_ansi(text), text
    last = [o for o in nb.cells[-1].outputs if o.output_type == "execute_result"]
    assert last, nb.cells[-1].outputs
    leaders = last[0].data["application/vnd.odp.result+json"]["results"]
    assert leaders and all(a["tweets"] + a["threads"] >= 1 for a in leaders)
    assert [a["engagement"] for a in leaders] == sorted((a["engagement"] for a in leaders), reverse=True)


def test_without_the_feature_a_rust_cell_says_how_to_build_it():
    km, kc = start_new_kernel(kernel_name="odp")
    try:
        e = error(*run(kc, "%%rust\n1 + 1", timeout=30))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert e["ename"] == "RustCellsNotBuilt"
    assert "cargo install --path crates/odp --features rust-cells" in e["evalue"]


def test_without_rustc_a_rust_cell_says_what_is_missing(tmp_path):
    ensure_rust_kernel()
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CARGO_HOME", "RUSTUP_HOME")}
    env.update(PATH="/usr/bin:/bin", HOME=str(home))
    assert not any(Path(d, "rustc").exists() for d in env["PATH"].split(":")), "this machine has a system rustc"
    km = KernelManager(kernel_name="odp-rust")
    km.start_kernel(cwd=str(tmp_path), env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        e = error(*run(kc, "%%rust\n1 + 1", timeout=30))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert e["ename"] == "RustUnavailable"
    assert "rustc and cargo cannot be found" in e["evalue"] and "rustup" in e["evalue"], e["evalue"]
