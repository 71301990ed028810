#!/usr/bin/env python3
"""How a kernel cell's time grows with its number of steps: a source and N transforms that use it (the cell of
`test_a_cell_of_4n_steps_costs_about_4_times_a_cell_of_n`, at the sizes a notebook may reach), each size in a fresh
kernel on the built-in stubs, through the protocol only. Prints one JSON line: per size the reply time of each run
and their median, in ms, and the median per step in µs (flat when the cell's cost is linear).

Usage (BENCHMARKS.md, "Kernel"):
  python tests/bench/kernel_steps.py --kernel-dir DIR/share/jupyter/kernels [--sizes 500,1000,2000,4000] [--runs 3]

Needs jupyter_client in the Python that runs it; DIR is an `odp kernel install --prefix DIR`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager


def steps_cell(n: int) -> str:
    """A source and n transforms that use it (as in tests/kernel/test_kernel_protocol.py)."""
    steps = ["- name: s0\n  method: social.twitter.search\n  params: {query: rust, limit: 3}\n"]
    for i in range(1, n + 1):
        steps.append(
            f"- name: t{i}\n  method: nlp.sentiment.analyze\n  params:\n    texts: \"{{{{s0.results[*].text}}}}\"\n"
        )
    return "".join(steps)


def execute(kc, code: str, timeout: float) -> tuple[str, float]:
    """Runs code; returns the reply's status and the time from the request to the reply, in ms."""
    start = time.perf_counter()
    msg_id = kc.execute(code)
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]["status"], (time.perf_counter() - start) * 1000


def one_cell(ksm: KernelSpecManager, n: int, timeout: float) -> float:
    km = KernelManager(kernel_name="odp", kernel_spec_manager=ksm)
    km.start_kernel(env={k: v for k, v in os.environ.items() if not k.startswith("ODP_")})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=timeout)
        # The first cell that runs steps starts the built-in stubs: not part of the cell's cost.
        status, _ = execute(kc, steps_cell(1), timeout)
        assert status == "ok", status
        status, ms = execute(kc, steps_cell(n), timeout)
        assert status == "ok", status
        return ms
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernel-dir", action="append", default=[], help="kernelspec directory (repeatable)")
    ap.add_argument("--sizes", default="500,1000,2000,4000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=300.0)
    a = ap.parse_args()
    ksm = KernelSpecManager()
    if a.kernel_dir:
        ksm.kernel_dirs = [os.path.abspath(d) for d in a.kernel_dir] + list(ksm.kernel_dirs)
    sizes = [int(s) for s in a.sizes.split(",")]
    out = {}
    for n in sizes:
        runs = [round(one_cell(ksm, n, a.timeout), 1) for _ in range(a.runs)]
        median = statistics.median(runs)
        out[str(n)] = {"runs_ms": runs, "median_ms": round(median, 1), "per_step_us": round(median * 1000 / n, 1)}
    print(json.dumps({"steps": out}))


if __name__ == "__main__":
    main()
