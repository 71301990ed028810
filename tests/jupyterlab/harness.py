"""JupyterLab for the suite and for the screenshots (docs/images/make.py): started on a free port with its config,
data and runtime folders in a temporary directory and the odp kernelspec installed there by `odp kernel install`
(which honours JUPYTER_DATA_DIR). The browser is Debian's Chromium."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "kernel"))

from odp_kernel_helpers import SERVICE_VARS, free_port, odp_binary, rust_cells_binary  # noqa: E402

CHROMIUM = os.environ.get("ODP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TOKEN = "odp-jupyterlab-test"


class LabError(Exception):
    pass


class Lab:
    """A running JupyterLab: its URL, token, notebook folder and Jupyter data folder."""

    def __init__(self, url: str, root: Path, data: Path, log: Path):
        self.url = url
        self.root = root
        self.data = data
        self.log = log

    def api(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.url}{path}?token={TOKEN}", timeout=10) as r:
            return json.loads(r.read())

    def get(self, path: str) -> tuple[int, str, bytes]:
        with urllib.request.urlopen(f"{self.url}{path}?token={TOKEN}", timeout=10) as r:
            return r.status, r.headers.get("content-type", ""), r.read()

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={TOKEN}&reset"


@contextlib.contextmanager
def running_lab(keep: bool = False):
    """Starts JupyterLab (and installs the kernelspec) in a temporary directory; stops and removes both after."""
    odp = odp_binary()
    base = Path(tempfile.mkdtemp(prefix="odp-jupyterlab-"))
    dirs = {name: base / name for name in ("config", "data", "runtime", "settings", "workspaces", "notebooks")}
    for d in dirs.values():
        d.mkdir()
    env = dict(os.environ)
    for var in (*SERVICE_VARS, "JUPYTER_PATH", "JUPYTER_PLATFORM_DIRS"):
        env.pop(var, None)
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        # Only our data folder (and the venv's, which has no odp kernel): the user's own kernels stay out of it.
        JUPYTER_PREFER_ENV_PATH="0",
        NO_COLOR="1",
        ODP_LOG=os.environ.get("ODP_LOG", "info"),
    )
    # The kernelspec goes where JUPYTER_DATA_DIR says: `odp kernel install` with no flag is the user's install.
    subprocess.run([str(odp), "kernel", "install"], env=env, check=True, capture_output=True)
    # Beside it, "odp-rust": the `odp` built with the `rust-cells` feature, for `%%rust` cells.
    rust_prefix = base / "rust-kernelspec"
    subprocess.run(
        [str(rust_cells_binary()), "kernel", "install", "--prefix", str(rust_prefix)], check=True, capture_output=True
    )
    rust_spec = dirs["data"] / "kernels" / "odp-rust"
    shutil.move(str(rust_prefix / "share" / "jupyter" / "kernels" / "odp"), rust_spec)
    spec = json.loads((rust_spec / "kernel.json").read_text())
    spec["display_name"] = "ODP pipelines (Rust cells)"
    (rust_spec / "kernel.json").write_text(json.dumps(spec, indent=1))
    # No "news" toast over the notebook on a first start.
    (dirs["config"] / "labconfig").mkdir()
    (dirs["config"] / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    port = free_port()
    log = base / "jupyterlab.log"
    jupyter = Path(sys.executable).parent / "jupyter"
    proc = subprocess.Popen(
        [
            str(jupyter),
            "lab",
            "--allow-root",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={dirs['notebooks']}",
            "--ServerApp.port_retries=0",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        env=env,
        cwd=dirs["notebooks"],
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None:
                raise LabError(f"JupyterLab exited:\n{log.read_text()}")
            if time.time() > deadline:
                proc.kill()
                raise LabError(f"JupyterLab did not start in 60 s:\n{log.read_text()}")
            time.sleep(0.2)
    try:
        yield Lab(url, dirs["notebooks"], dirs["data"], log)
    finally:
        stop(proc, base, keep)


def stop(proc: subprocess.Popen, base: Path, keep: bool) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if keep or os.environ.get("ODP_JUPYTERLAB_KEEP"):
        print(f"kept {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)
