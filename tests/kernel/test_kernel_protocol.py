"""The kernel over the wire, with jupyter_client and raw pyzmq: interrupts keep the session, wrongly signed
messages get no answer (and are logged), restarts and shutdowns, completion from live results, robustness."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import zmq
from jupyter_client import BlockingKernelClient, KernelManager
from jupyter_client.connect import write_connection_file
from jupyter_client.manager import start_new_kernel
from jupyter_client.session import Session

from odp_kernel_helpers import free_port, odp_binary, strip_ansi

TWEETS = 'name: tweets\nmethod: social.twitter.search\nparams: {query: "{{inputs.topic}}", limit: 5}\n'
MOOD = 'name: mood\nmethod: nlp.sentiment.analyze\nparams:\n  texts: "{{tweets.results[*].text}}"\n'


def run(
    kc: BlockingKernelClient, code: str, timeout: float = 30, stop_on_error: bool = True
) -> tuple[dict, list[dict]]:
    """Executes code; returns the reply's content and the outputs on iopub (up to `idle`). With `stop_on_error`, a
    failing cell aborts executions that reach the kernel right after its reply (as in ipykernel)."""
    msg_id = kc.execute(code, stop_on_error=stop_on_error)
    reply = kc.get_shell_msg(timeout=timeout)
    assert reply["parent_header"]["msg_id"] == msg_id
    outputs = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
        if msg["msg_type"] not in ("status", "execute_input"):
            outputs.append(msg)
    return reply["content"], outputs


def texts(outputs: list[dict], kind: str = "stream") -> str:
    parts = []
    for o in outputs:
        if o["msg_type"] == kind == "stream":
            parts.append(o["content"]["text"])
        elif o["msg_type"] == kind and kind in ("execute_result", "display_data"):
            parts.append(o["content"]["data"]["text/plain"])
    return strip_ansi("".join(parts))


@pytest.fixture
def kernel():
    km, kc = start_new_kernel(kernel_name="odp")
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


@pytest.fixture
def stubs(tmp_path: Path):
    """`odp stubs` on a free port, for a kernel whose services are configured."""
    port = free_port()
    log = open(tmp_path / "stubs.log", "w")
    proc = subprocess.Popen(
        [str(odp_binary()), "stubs", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stubs/methods", timeout=1).read()
            break
        except OSError:
            assert proc.poll() is None, "odp stubs exited"
            assert time.time() < deadline, "odp stubs did not start"
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def add_fault(url: str, fault: dict) -> None:
    req = urllib.request.Request(
        f"{url}/_stubs/faults",
        data=json.dumps(fault).encode(),
        headers={"content-type": "application/vnd.odp.result+json"},
        method="POST",
    )
    urllib.request.urlopen(req, timeout=5).read()


def test_interrupt_cancels_the_step_and_keeps_the_session(stubs: str):
    km = KernelManager(kernel_name="odp")
    km.start_kernel(env=dict(os.environ, ODP_CRAWLER_API_URL=stubs, ODP_MODEL_API_URL=stubs))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        reply, _ = run(kc, "%inputs topic=rust")
        assert reply["status"] == "ok"
        reply, outputs = run(kc, TWEETS)
        assert reply["status"] == "ok", reply
        # The configured service is used: no note about the built-in stubs.
        assert "built-in stubs" not in texts(outputs)

        # The next sentiment call hangs for a minute.
        add_fault(stubs, {"kind": "latency", "delay_ms": 60_000, "endpoint": "nlp.sentiment.analyze"})
        msg_id = kc.execute(MOOD)
        while True:  # wait until the step is running
            msg = kc.get_iopub_msg(timeout=10)
            if (
                msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "stream"
                and "mood" in msg["content"]["text"]
            ):
                break
        time.sleep(0.2)
        started = time.monotonic()
        km.interrupt_kernel()  # interrupt_mode "message": an interrupt_request on control
        reply = kc.get_shell_msg(timeout=10)
        took = time.monotonic() - started
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "Interrupted"
        assert took < 1.0, f"the interrupted cell answered after {took:.2f} s"

        # Everything from before is still there, and the session goes on.
        reply, outputs = run(kc, "%steps")
        assert "tweets ← social.twitter.search" in texts(outputs, "display_data")
        assert "mood" not in texts(outputs, "display_data")
        reply, outputs = run(kc, "%inputs")
        assert texts(outputs, "execute_result") == 'topic: string = "rust"\n'
        reply, outputs = run(
            kc,
            'name: top\nmethod: data.records.sort\nparams: {records: "{{tweets.results}}", field: created_at, limit: 2}\n',
        )
        assert reply["status"] == "ok", reply
        result = [o for o in outputs if o["msg_type"] == "execute_result"][0]
        assert len(result["content"]["data"]["application/vnd.odp.result+json"]["results"]) == 2
        assert reply["execution_count"] == 6
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_an_interrupt_aborts_the_queued_executions(stubs: str):
    # Stop during "Run All": the running cell is interrupted and every execution queued behind it is aborted (as
    # ipykernel does), not run.
    km = KernelManager(kernel_name="odp")
    km.start_kernel(env=dict(os.environ, ODP_CRAWLER_API_URL=stubs, ODP_MODEL_API_URL=stubs))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        assert run(kc, "%inputs topic=rust")[0]["status"] == "ok"
        assert run(kc, TWEETS)[0]["status"] == "ok"
        add_fault(stubs, {"kind": "latency", "delay_ms": 60_000, "endpoint": "nlp.sentiment.analyze"})
        running = kc.execute(MOOD)
        queued = [kc.execute("%echo queued"), kc.execute("%echo queued too")]
        while True:  # wait until the step is running
            msg = kc.get_iopub_msg(timeout=10)
            if msg["parent_header"].get("msg_id") == running and msg["msg_type"] == "stream":
                break
        time.sleep(0.2)
        km.interrupt_kernel()
        replies = {}
        while len(replies) < 3:
            msg = kc.get_shell_msg(timeout=10)
            replies[msg["parent_header"]["msg_id"]] = msg["content"]
        assert replies[running]["ename"] == "Interrupted"
        # As ipykernel: no execution count (JupyterLab shows `[ ]:`, not a number, on an aborted cell).
        assert [replies[q] for q in queued] == [{"status": "aborted"}, {"status": "aborted"}]
        # What is sent after the interrupt runs.
        reply, outputs = run(kc, "%echo after")
        assert reply["status"] == "ok" and texts(outputs) == "after\n"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_wrongly_signed_messages_get_no_answer(tmp_path: Path):
    key = b"a-secret-key"
    conn_file = str(tmp_path / "kernel.json")
    write_connection_file(conn_file, ip="127.0.0.1", key=key, kernel_name="odp")
    log_path = tmp_path / "kernel.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(odp_binary()), "kernel", "--connection-file", conn_file],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("ODP_")},
            cwd=tmp_path,
        )
    try:
        kc = BlockingKernelClient(connection_file=conn_file)
        kc.load_connection_file()
        kc.start_channels()
        kc.wait_for_ready(timeout=30)
        kc.stop_channels()

        cfg = json.loads(Path(conn_file).read_text())
        ctx = zmq.Context.instance()
        shell = ctx.socket(zmq.DEALER)
        shell.linger = 0
        shell.connect(f"tcp://127.0.0.1:{cfg['shell_port']}")
        control = ctx.socket(zmq.DEALER)
        control.linger = 0
        control.connect(f"tcp://127.0.0.1:{cfg['control_port']}")

        def answered(sock, session: Session, msg_type: str, content: dict) -> bool:
            session.send(sock, msg_type, content)
            return bool(sock.poll(1500))

        wrong = Session(key=b"not-the-key", signature_scheme="hmac-sha256")
        unsigned = Session(key=b"")
        right = Session(key=key, signature_scheme="hmac-sha256")
        assert not answered(shell, wrong, "kernel_info_request", {})
        assert not answered(shell, unsigned, "kernel_info_request", {})
        assert not answered(shell, wrong, "execute_request", {"code": "%reset", "silent": False})
        # Nor on control: a forged shutdown does nothing.
        assert not answered(control, wrong, "shutdown_request", {"restart": False})
        assert proc.poll() is None
        # The same socket with the right key is answered: the kernel is alive and listening.
        assert answered(shell, right, "kernel_info_request", {})
        _, reply = right.recv(shell)
        assert reply["header"]["msg_type"] == "kernel_info_reply"
        assert reply["content"]["implementation"] == "odp-kernel"

        assert answered(control, right, "shutdown_request", {"restart": False})
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = log_path.read_text()
    rejected = [line for line in log.splitlines() if "wrong signature" in line]
    assert len(rejected) >= 3, log
    assert any(line.endswith("channel=\"control\"") for line in rejected), log


def test_restart_starts_a_new_session(kernel):
    km, kc = kernel
    reply, _ = run(kc, "%inputs topic=rust")
    assert reply["execution_count"] == 1
    pid = km.provisioner.pid
    km.restart_kernel(now=False)  # a shutdown_request with restart=true on control, then a new process
    kc.wait_for_ready(timeout=30)
    assert km.provisioner.pid != pid
    reply, outputs = run(kc, "%inputs")
    assert reply["execution_count"] == 1
    assert "no inputs" in texts(outputs, "execute_result")


def test_shutdown_ends_the_process(kernel):
    km, kc = kernel
    km.shutdown_kernel(now=False)  # asks politely: shutdown_request on control, then waits for the exit
    assert not km.is_alive()


def test_completion_lists_the_live_results_fields(kernel):
    _, kc = kernel
    reply, _ = run(
        kc,
        'name: shaped\nmethod: data.custom.transform\nparams:\n  input: {alpha: 1, beta: [x, y]}\n  expression: "{output: .}"\n',
    )
    assert reply["status"] == "ok", reply
    code = 'name: next\nmethod: data.custom.transform\nparams:\n  input: "{{shaped.output.'
    kc.complete(code)
    reply = kc.get_shell_msg(timeout=10)["content"]
    assert reply["status"] == "ok"
    # The method's output is `dynamic`: only the live result knows these fields.
    assert reply["matches"] == ["alpha", "beta"]
    assert reply["cursor_start"] == reply["cursor_end"] == len(code)
    # A short type (JupyterLab draws an icon and a column from it), the field's live type beside it.
    types = {t["text"]: (t["type"], t["signature"]) for t in reply["metadata"]["_jupyter_types_experimental"]}
    assert types == {"alpha": ("field", "integer"), "beta": ("field", "list<string>")}
    # A cell that uses a field the result does not have fails the check.
    reply, outputs = run(kc, code + 'gamma}}"\n  expression: "{output: .}"\n')
    assert reply["status"] == "error"
    assert "has no field `gamma`" in strip_ansi("\n".join(reply["traceback"]))
    # Completion counts Unicode characters.
    code = '# naïve\nname: t\nmethod: social.twitter.search\nparams:\n  query: "{{inputs.'
    kc.complete(code)
    reply = kc.get_shell_msg(timeout=10)["content"]
    assert reply["cursor_start"] == len(code)


def test_queued_executions_after_an_error_are_aborted(kernel):
    _, kc = kernel
    bad = kc.execute("name: x\nmethod: nope.nope.nope\n")
    queued = kc.execute("%echo never")
    replies = {}
    while len(replies) < 2:
        msg = kc.get_shell_msg(timeout=10)
        replies[msg["parent_header"]["msg_id"]] = msg["content"]
    assert replies[bad]["status"] == "error"
    assert replies[queued]["status"] == "aborted"
    # Later requests run again.
    reply, outputs = run(kc, "%echo again")
    assert reply["status"] == "ok" and texts(outputs) == "again\n"


def test_an_execution_sent_after_the_error_reply_runs(kernel):
    # Only executions the kernel had received before it replied with the error are aborted, however fast the client
    # sends the next one.
    _, kc = kernel
    for _ in range(3):
        bad = kc.execute("name: x\nmethod: nope.nope.nope\n")
        reply = kc.get_shell_msg(timeout=10)
        assert reply["parent_header"]["msg_id"] == bad and reply["content"]["status"] == "error"
        after = kc.execute("%echo after")
        reply = kc.get_shell_msg(timeout=10)
        assert reply["parent_header"]["msg_id"] == after
        assert reply["content"]["status"] == "ok", reply["content"]


def test_requests_it_cannot_read_get_error_replies(kernel):
    _, kc = kernel
    # A request type the kernel does not know.
    msg = kc.session.msg("usage_request", {})
    kc.shell_channel.send(msg)
    reply = kc.get_shell_msg(timeout=10)
    assert reply["msg_type"] == "usage_reply"
    assert reply["content"]["status"] == "error"
    # A known request with content of the wrong shape.
    msg = kc.session.msg("complete_request", {"code": 42, "cursor_pos": "x"})
    kc.shell_channel.send(msg)
    reply = kc.get_shell_msg(timeout=10)
    assert reply["msg_type"] == "complete_reply"
    assert reply["content"]["status"] == "error"
    # comm_info and comm_open.
    kc.comm_info()
    reply = kc.get_shell_msg(timeout=10)
    assert reply["content"] == {"status": "ok", "comms": {}}
    # The kernel goes on.
    reply, outputs = run(kc, "%echo still here")
    assert texts(outputs) == "still here\n"


def test_a_million_accessor_template_is_an_error_and_the_kernel_lives_on(kernel):
    _, kc = kernel
    for accessor in (".a", "[0]", "[*]"):
        cell = '- name: s\n  method: social.twitter.search\n  params:\n    query: "{{inputs.q%s}}"\n' % (
            accessor * 1_000_000
        )
        reply, _ = run(kc, "%inputs q={}\n" + cell, timeout=120, stop_on_error=False)
        assert reply["status"] == "error"
        assert reply["ename"] == "CheckError"
        assert "at most 64 accessors" in reply["evalue"], reply["evalue"][:500]
    reply, outputs = run(kc, "%echo still here")
    assert reply["status"] == "ok" and texts(outputs) == "still here\n"


def steps_cell(n: int) -> str:
    """A source and n transforms that use it."""
    steps = ["- name: s0\n  method: social.twitter.search\n  params: {query: rust, limit: 3}\n"]
    for i in range(1, n + 1):
        steps.append(
            f"- name: t{i}\n  method: nlp.sentiment.analyze\n  params:\n    texts: \"{{{{s0.results[*].text}}}}\"\n"
        )
    return "".join(steps)


def allocated_by_cell(code: str) -> int:
    """Bytes the kernel process allocates to run one cell, as `%stats` reports them, in a fresh kernel."""
    km, kc = start_new_kernel(kernel_name="odp")
    try:
        def allocated() -> int:
            reply, outputs = run(kc, "%stats")
            assert reply["status"] == "ok"
            return json.loads(texts(outputs))["allocated"]["total_bytes"]

        before = allocated()
        reply, outputs = run(kc, code, timeout=120)
        assert reply["status"] == "ok", texts(outputs)[-2000:]
        return allocated() - before
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_cell_of_4n_steps_costs_about_4_times_a_cell_of_n():
    # Work counted in bytes allocated (the same on every machine, unlike a timing), through the protocol only.
    n = 100
    small = allocated_by_cell(steps_cell(n))
    large = allocated_by_cell(steps_cell(4 * n))
    assert small > 0
    assert large <= 4.5 * small, f"{n} steps: {small} bytes; {4 * n} steps: {large} bytes ({large / small:.1f}x)"


def test_kernel_info_on_control_has_status_messages(kernel):
    _, kc = kernel
    msg = kc.session.msg("kernel_info_request", {})
    kc.control_channel.send(msg)
    reply = kc.control_channel.get_msg(timeout=10)
    assert reply["msg_type"] == "kernel_info_reply"
    assert reply["content"]["language_info"]["codemirror_mode"] == "yaml"
    states = []
    while True:
        try:
            m = kc.get_iopub_msg(timeout=2)
        except queue.Empty:
            break
        if m["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            states.append(m["content"]["execution_state"])
        if states == ["busy", "idle"]:
            break
    assert states == ["busy", "idle"]


def test_events_go_to_the_configured_sink(tmp_path: Path):
    conn_file = str(tmp_path / "kernel.json")
    write_connection_file(conn_file, ip="127.0.0.1", key=b"k", kernel_name="odp")
    events = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [str(odp_binary()), "kernel", "--connection-file", conn_file, "--events", str(events)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("ODP_")},
        cwd=tmp_path,
    )
    kc = BlockingKernelClient(connection_file=conn_file)
    kc.load_connection_file()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        reply, _ = run(kc, 'name: page\nmethod: web.page.fetch\nparams: {url: "https://example.com/"}\n')
        assert reply["status"] == "ok", reply
        kc.shutdown()
        assert proc.wait(timeout=10) == 0
    finally:
        kc.stop_channels()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    kinds = [(e["kind"], e.get("step")) for e in lines]
    assert kinds == [
        ("run.submitted", None),
        ("run.started", None),
        ("step.started", "page"),
        ("step.completed", "page"),
        ("run.completed", None),
    ], kinds
    assert len({e["run_id"] for e in lines}) == 1
    assert all(e["pipeline"] == "notebook" for e in lines)


def test_a_cell_whose_events_cannot_be_written_says_so(tmp_path: Path):
    """`--events /dev/full`: the step runs and keeps its result, and the cell says its events were lost."""
    conn_file = str(tmp_path / "kernel.json")
    write_connection_file(conn_file, ip="127.0.0.1", key=b"k", kernel_name="odp")
    proc = subprocess.Popen(
        [str(odp_binary()), "kernel", "--connection-file", conn_file, "--events", "/dev/full"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("ODP_")},
        cwd=tmp_path,
    )
    kc = BlockingKernelClient(connection_file=conn_file)
    kc.load_connection_file()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        reply, outputs = run(kc, 'name: page\nmethod: web.page.fetch\nparams: {url: "https://example.com/"}\n')
        assert reply["status"] == "ok", reply
        stderr = "".join(
            m["content"]["text"] for m in outputs if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"
        )
        # run.submitted, run.started, step.started, step.completed, run.completed: as `odp run` emits them
        assert "5 lifecycle events of this cell could be neither delivered nor kept" in stderr, outputs
        kc.shutdown()
        assert proc.wait(timeout=10) == 0
    finally:
        kc.stop_channels()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_draft_puts_the_draft_into_the_next_cell(stubs: str, tmp_path: Path):
    """`%%draft` asks the model (here `odp stubs`' scripted chat endpoint, never a real one) and answers with a
    `set_next_input` payload holding the draft; nothing runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ODP_", "OPENAI_", "ANTHROPIC_"))}
    env.update(
        ODP_CRAWLER_API_URL=stubs,
        ODP_MODEL_API_URL=stubs,
        OPENAI_BASE_URL=f"{stubs}/v1",
        ODP_LLM_MODEL="stub-model",
        OPENAI_API_KEY="sk-test-not-a-real-key-0123456789",
    )
    km = KernelManager(kernel_name="odp")
    km.start_kernel(env=env, cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        reply, outputs = run(kc, "%%draft tweets about ai\nand their sentiment")
        assert reply["status"] == "ok", reply
        [payload] = reply["payload"]
        assert payload["source"] == "set_next_input"
        assert payload["replace"] is False
        assert "social.twitter.search" in payload["text"]
        assert "nlp.sentiment.analyze" in payload["text"]
        assert "asking the model for a draft" in texts(outputs)
        # Nothing ran: the session has no steps.
        _, outputs = run(kc, "%steps")
        assert "tweets" not in texts(outputs) + texts(outputs, "display_data")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_completion_types_are_short_words(kernel):
    # JupyterLab draws an icon and a column from each match's `type`: one short word, the detail beside it.
    _, kc = kernel
    for code, kind in (
        ("name: t\nmethod: nlp.sent", "method"),
        ("name: t\nmethod: social.twitter.search\nparams:\n  qu", "param"),
        ("%reg", "magic"),
        ("%registry nlp.sent", "method"),
    ):
        kc.complete(code)
        reply = kc.get_shell_msg(timeout=10)["content"]
        types = reply["metadata"]["_jupyter_types_experimental"]
        assert reply["matches"], code
        assert [t["text"] for t in types] == reply["matches"]
        assert {t["type"] for t in types} == {kind}, (code, types)
    # The method's summary is the signature, not the type.
    kc.complete("name: t\nmethod: nlp.sentiment.analy")
    types = kc.get_shell_msg(timeout=10)["content"]["metadata"]["_jupyter_types_experimental"]
    assert types[0]["text"] == "nlp.sentiment.analyze" and len(types[0]["signature"]) > 10, types


def test_the_kernel_readmes_examples_run_as_written(kernel):
    # The cells of crates/odp-kernel/README.md's "Cells" section, in order, in one session.
    _, kc = kernel
    readme = (Path(__file__).parents[2] / "crates" / "odp-kernel" / "README.md").read_text()
    section = readme.split("## Cells", 1)[1].split("\n- Later cells", 1)[0]
    cells = [block.split("```", 1)[0] for block in section.split("```yaml\n")[1:]]
    assert len(cells) == 2, cells
    for cell in cells:
        reply, outputs = run(kc, cell)
        assert reply["status"] == "ok", (cell, reply)
        assert any(o["msg_type"] == "execute_result" for o in outputs), outputs


def test_graph_shows_the_steps_with_their_last_status(stubs: str):
    km = KernelManager(kernel_name="odp")
    km.start_kernel(env=dict(os.environ, ODP_CRAWLER_API_URL=stubs, ODP_MODEL_API_URL=stubs))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        assert run(kc, "%inputs topic=rust")[0]["status"] == "ok"
        assert run(kc, TWEETS)[0]["status"] == "ok"
        # The sentiment service refuses the call: the step fails, and %graph says so.
        add_fault(stubs, {"kind": "status", "status": 400, "endpoint": "nlp.sentiment.analyze"})
        assert run(kc, MOOD)[0]["status"] == "error"
        reply, outputs = run(kc, "%graph")
        assert reply["status"] == "ok", reply
        [shown] = [o for o in outputs if o["msg_type"] == "display_data"]
        data = shown["content"]["data"]
        assert set(data) == {"text/plain", "image/svg+xml"}, data.keys()
        mermaid = data["text/plain"]
        assert mermaid.startswith("flowchart LR\n"), mermaid
        assert '  n1 -->|"results[*].text"| n2\n' in mermaid, mermaid
        assert '  n1["tweets<br/>social.twitter.search<br/>ok"]\n' in mermaid, mermaid
        assert '  n2("mood<br/>nlp.sentiment.analyze<br/>failed")\n' in mermaid, mermaid
        # Well-formed SVG, each step a group with its name, kind and marks.
        svg = ET.fromstring(data["image/svg+xml"])
        ns = "{http://www.w3.org/2000/svg}"
        groups = {g.get("data-name"): g.get("class") for g in svg.iter(f"{ns}g") if g.get("data-name")}
        assert groups == {"topic": "node input", "tweets": "node source ok", "mood": "node transform failed"}, groups
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
