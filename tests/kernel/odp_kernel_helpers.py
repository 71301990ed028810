"""Helpers of the Jupyter kernel tests: the debug `odp` binary and its kernelspec in a temporary prefix.

The kernelspec is installed with `odp kernel install --prefix DIR` and found through JUPYTER_PATH, so nothing is
installed outside the test run. Without configured services the kernel uses its built-in stubs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
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


def rust_cells_binary() -> Path:
    """The `odp` built with the `rust-cells` feature: ODP_RUST_CELLS_BIN (tests/run.sh builds it), else built here.
    Both builds write the target's `debug/odp`, so this one is copied to `rust-cells/odp` beside it, and the
    `alloc-stats` build the other tests use is put back."""
    if "rust_bin" in _state:
        return _state["rust_bin"]
    given = os.environ.get("ODP_RUST_CELLS_BIN")
    if given:
        binary = Path(given)
    else:
        target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
        if not target.is_absolute():
            target = ROOT / target
        subprocess.run(["cargo", "build", "-q", "-p", "odp", "--features", "rust-cells"], cwd=ROOT, check=True)
        binary = target / "rust-cells" / "odp"
        binary.parent.mkdir(exist_ok=True)
        shutil.copy2(target / "debug" / "odp", binary)
        _state.pop("bin", None)
        odp_binary()
    assert binary.exists(), f"no rust-cells odp at {binary}"
    _state["rust_bin"] = binary
    return binary


def ensure_rust_kernel() -> Path:
    """The kernelspec `odp-rust` (the `rust-cells` build), beside `odp`, in its own temporary prefix."""
    ensure_kernel()
    if "rust_prefix" not in _state:
        prefix = Path(tempfile.mkdtemp(prefix="odp-rust-kernelspec-"))
        subprocess.run([str(rust_cells_binary()), "kernel", "install", "--prefix", str(prefix)], check=True)
        kernels = prefix / "share" / "jupyter" / "kernels"
        (kernels / "odp").rename(kernels / "odp-rust")
        spec_file = kernels / "odp-rust" / "kernel.json"
        spec = json.loads(spec_file.read_text())
        spec["display_name"] = "ODP pipelines (Rust cells)"
        spec_file.write_text(json.dumps(spec, indent=1))
        _state["rust_prefix"] = prefix
    data = _state["rust_prefix"] / "share" / "jupyter"
    paths = os.environ.get("JUPYTER_PATH", "").split(os.pathsep)
    if str(data) not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([str(data), *[p for p in paths if p]])
    return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
