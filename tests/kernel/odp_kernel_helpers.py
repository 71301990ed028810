"""Helpers of the Jupyter kernel tests: the debug `odp` binary and its kernelspec in a temporary prefix.

The kernelspec is installed with `odp kernel install --prefix DIR` and found through JUPYTER_PATH, so nothing is
installed outside the test run. Without configured services the kernel uses its built-in stubs.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_state: dict[str, Path] = {}

# The service settings a developer may have in their shell would point the kernel elsewhere.
SERVICE_VARS = ("ODP_CRAWLER_API_URL", "ODP_MODEL_API_URL", "ODP_REDIS_URL")

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def odp_binary() -> Path:
    """The debug `odp`, built when needed (cargo does nothing when it is fresh), with the `alloc-stats` feature: the
    kernel's `%stats` then reports what the process allocates, which the cost tests compare."""
    if "bin" in _state:
        return _state["bin"]
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    if not target.is_absolute():
        target = ROOT / target
    binary = target / "debug" / "odp"
    subprocess.run(["cargo", "build", "-q", "-p", "odp", "--features", "alloc-stats"], cwd=ROOT, check=True)
    assert binary.exists(), f"cargo build did not produce {binary}"
    _state["bin"] = binary
    return binary


def ensure_kernel() -> Path:
    """Installs the kernelspec into a temporary prefix once per test run and points JUPYTER_PATH at it."""
    if "prefix" not in _state:
        prefix = Path(tempfile.mkdtemp(prefix="odp-kernelspec-"))
        subprocess.run([str(odp_binary()), "kernel", "install", "--prefix", str(prefix)], check=True)
        _state["prefix"] = prefix
    data = _state["prefix"] / "share" / "jupyter"
    os.environ["JUPYTER_PATH"] = str(data)
    for var in SERVICE_VARS:
        os.environ.pop(var, None)
    return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
