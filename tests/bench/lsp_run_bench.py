#!/usr/bin/env python3
"""Runs from the editor (BENCHMARKS.md, "Runs from the editor"). Not part of CI.

  python3 tests/bench/lsp_run_bench.py ODP_LSP ODP BIG_FILE [--runs 5] [--edits 20]

1. `odp.runPipeline` of examples/ai-sentiment.odp.yaml through `ODP_LSP --stdio` (the built-in stubs inside the
   server): the time from sending the command to the last `$/progress` message of the run, and to its answer; next
   to `ODP run` of the same file (wall time of the process), in the same run.
2. Edit -> diagnostics on BIG_FILE (a 20,000-line pipeline, e.g. from tests/bench/lsp_corpus.py), without a run,
   with a run waiting on a service that never answers (a loopback socket that accepts and stays silent, configured
   in a temporary workspace's odp.toml), and with a run whose jq transform never ends (its evaluator, a child
   process, keeps a core busy): the time from `didChange` to the `publishDiagnostics` of that version.
Prints one JSON line of medians.
"""

import argparse
import json
import os
import socket
import tempfile
import threading
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ai-sentiment.odp.yaml"
SLOW = """name: slow
sources:
  - name: tweets
    method: social.twitter.search
    params:
      query: rust
transforms:
  - name: forever
    method: data.custom.transform
    params:
      input: "{{tweets}}"
      expression: "def f: f; f"
"""


class Server:
    def __init__(self, binary: str):
        self.proc = subprocess.Popen(
            [binary, "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.next_id = 0

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def request(self, method: str, params) -> int:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        return self.next_id

    def read(self) -> dict:
        length = 0
        while True:
            line = self.proc.stdout.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        message = json.loads(self.proc.stdout.read(length))
        # Requests of the server (progress tokens, refreshes) get an empty answer.
        if "method" in message and "id" in message:
            self.send({"id": message["id"], "result": None})
        return message

    def until(self, done) -> dict:
        while True:
            message = self.read()
            if done(message):
                return message


def uri(path: Path) -> str:
    return path.resolve().as_uri()


def open_doc(server: Server, path: Path, text: str) -> None:
    server.send(
        {
            "method": "textDocument/didOpen",
            "params": {"textDocument": {"uri": uri(path), "languageId": "odp-pipeline", "version": 1, "text": text}},
        }
    )
    server.until(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri(path))


def edits(server: Server, path: Path, text: str, count: int) -> list:
    """Toggles a comment character on the first line; returns didChange -> publishDiagnostics of that version."""
    times = []
    for version in range(2, 2 + count):
        new = ("#x\n" if version % 2 == 0 else "") + text
        t0 = time.perf_counter()
        server.send(
            {
                "method": "textDocument/didChange",
                "params": {"textDocument": {"uri": uri(path), "version": version}, "contentChanges": [{"text": new}]},
            }
        )
        server.until(
            lambda m: m.get("method") == "textDocument/publishDiagnostics"
            and m["params"]["uri"] == uri(path)
            and m["params"].get("version") == version
        )
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("lsp")
    parser.add_argument("odp")
    parser.add_argument("big")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args()

    server = Server(args.lsp)
    server.request("initialize", {"processId": os.getpid(), "rootUri": None,
                                  "capabilities": {"window": {"workDoneProgress": True}}})
    server.until(lambda m: m.get("id") == 1)
    server.send({"method": "initialized", "params": {}})
    open_doc(server, EXAMPLE, EXAMPLE.read_text())

    to_progress, to_answer = [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        rid = server.request("workspace/executeCommand", {"command": "odp.runPipeline", "arguments": [uri(EXAMPLE)]})
        last_progress = None
        while True:
            m = server.read()
            if m.get("method") == "$/progress":
                last_progress = time.perf_counter()
            if m.get("id") == rid and "method" not in m:
                assert m.get("result", {}).get("status") == "completed", m
                break
        to_answer.append((time.perf_counter() - t0) * 1000)
        to_progress.append(((last_progress or time.perf_counter()) - t0) * 1000)

    odp_run = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        subprocess.run([args.odp, "run", str(EXAMPLE)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
        odp_run.append((time.perf_counter() - t0) * 1000)

    big = Path(args.big)
    big_text = big.read_text()
    open_doc(server, big, big_text)
    quiet = edits(server, big, big_text, args.edits)

    # A run waiting on a service that accepts connections and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    held = []
    threading.Thread(target=lambda: [held.append(silent.accept()) for _ in iter(int, 1)], daemon=True).start()
    port = silent.getsockname()[1]
    workspace = Path(tempfile.mkdtemp())
    (workspace / "odp.toml").write_text(
        f'[services]\ncrawler-url = "http://127.0.0.1:{port}"\nmodel-url = "http://127.0.0.1:{port}"\n'
    )
    waiting = workspace / "waiting.odp.yaml"
    open_doc(server, waiting, SLOW)
    server.request("workspace/executeCommand", {"command": "odp.runPipeline", "arguments": [uri(waiting)]})
    time.sleep(0.5)
    io_bound = edits(server, big, big_text, args.edits)
    server.request("workspace/executeCommand", {"command": "odp.cancelRun", "arguments": [uri(waiting)]})

    # A run whose transform keeps a core busy (the built-in stubs' jq child).
    slow = ROOT / "target" / "slow.odp.yaml"
    open_doc(server, slow, SLOW)
    server.request("workspace/executeCommand", {"command": "odp.runPipeline", "arguments": [uri(slow)]})
    time.sleep(0.5)
    busy = edits(server, big, big_text, args.edits)
    server.request("workspace/executeCommand", {"command": "odp.cancelRun", "arguments": [uri(slow)]})

    median = lambda xs: round(statistics.median(xs), 2)
    print(json.dumps({
        "run_pipeline_to_last_progress_ms": median(to_progress),
        "run_pipeline_to_answer_ms": median(to_answer),
        "odp_run_wall_ms": median(odp_run),
        "edit_to_diagnostics_p50_ms": median(quiet),
        "edit_to_diagnostics_p50_ms_during_a_run_waiting_on_a_service": median(io_bound),
        "edit_to_diagnostics_p50_ms_during_a_cpu_bound_run": median(busy),
        "runs": args.runs,
        "edits": args.edits,
    }))
    server.request("shutdown", None)
    server.send({"method": "exit"})
    server.proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
