"""Fixtures of the Jupyter kernel tests (see odp_kernel_helpers.py)."""

from __future__ import annotations

import shutil

import pytest

from odp_kernel_helpers import _state, ensure_kernel, odp_binary


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "rust_cells: %%rust cells on the `rust-cells` build (evcxr compiles each cell: the slow ones; `-m 'not rust_cells'` leaves them out)",
    )


@pytest.fixture(scope="session", autouse=True)
def kernelspec():
    data = ensure_kernel()
    yield data
    shutil.rmtree(_state["prefix"], ignore_errors=True)
    if "rust_prefix" in _state:
        shutil.rmtree(_state["rust_prefix"], ignore_errors=True)


@pytest.fixture(scope="session")
def odp():
    return odp_binary()
