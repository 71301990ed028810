"""Fixtures of the Jupyter kernel tests (see odp_kernel_helpers.py)."""

from __future__ import annotations

import shutil

import pytest

from odp_kernel_helpers import _state, ensure_kernel, odp_binary


@pytest.fixture(scope="session", autouse=True)
def kernelspec():
    data = ensure_kernel()
    yield data
    shutil.rmtree(_state["prefix"], ignore_errors=True)


@pytest.fixture(scope="session")
def odp():
    return odp_binary()
