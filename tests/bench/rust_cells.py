#!/usr/bin/env python3
"""The latency of `%%rust` cells (BENCHMARKS.md, "Rust cells"): in a fresh kernel, the reply time of the first Rust
cell (evcxr starts, its dependencies come from its build cache or are built, the cell is compiled and run), then of
a second and a third cell. The same code runs on evcxr_jupyter with `--kernel evcxr` (without the `%%rust` line,
and with the `:dep serde_json` that odp's kernel adds itself). Prints one JSON line with the times in ms.

Usage:
  python tests/bench/rust_cells.py --kernel odp-rust [--runs 3]
  python tests/bench/rust_cells.py --kernel evcxr [--runs 3]

Needs jupyter_client; the kernel must be installed where Jupyter finds it (JUPYTER_PATH).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from jupyter_client import KernelManager

# The same code in both kernels: a join of two record lists by author, ranked (as the example notebook does).
FIRST = """let tweets = serde_json::json!([{"author": "ana", "likes": 3}, {"author": "bo", "likes": 9}]);
let threads = serde_json::json!([{"author": "ana", "score": 40}, {"author": "cy", "score": 2}]);
let mut totals: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
for t in tweets.as_array().unwrap() { *totals.entry(t["author"].as_str().unwrap().to_string()).or_default() += t["likes"].as_i64().unwrap(); }
for r in threads.as_array().unwrap() { *totals.entry(r["author"].as_str().unwrap().to_string()).or_default() += r["score"].as_i64().unwrap(); }
let mut ranked: Vec<(String, i64)> = totals.into_iter().collect();
ranked.sort_by(|a, b| b.1.cmp(&a.1));
ranked.len()
"""
SECOND = "ranked.iter().map(|(_, n)| n).sum::<i64>()\n"
THIRD = 'ranked.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>().join(", ")\n'


def execute(kc, code: str, timeout: float) -> float:
    start = time.perf_counter()
    msg_id = kc.execute(code)
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            assert reply["content"]["status"] == "ok", reply["content"]
            return (time.perf_counter() - start) * 1000


def one_session(kernel: str, timeout: float) -> list[float]:
    km = KernelManager(kernel_name=kernel)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=timeout)
        if kernel == "evcxr":
            prefix, first = "", ':dep serde_json = { version = "1", features = ["preserve_order"] }\n' + FIRST
        else:
            prefix, first = "%%rust\n", FIRST
        return [execute(kc, prefix + code, timeout) for code in (first, SECOND, THIRD)]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kernel", default="odp-rust")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    runs = [one_session(args.kernel, args.timeout) for _ in range(args.runs)]
    cells = list(zip(*runs))
    print(
        json.dumps(
            {
                "kernel": args.kernel,
                "runs_ms": [[round(ms) for ms in run] for run in runs],
                "median_ms": {
                    name: round(statistics.median(times)) for name, times in zip(("first", "second", "third"), cells)
                },
            }
        )
    )


if __name__ == "__main__":
    main()
