"""The Ray tests' guard and local Ray: skipped with a reason where Ray is not installed, a
failure instead where ``.ci/run`` requires them (ORDERWATCH_RAY_TESTS=required)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import Any

import pytest


def skip_without_ray(what: str) -> None:
    """Skip the calling test module when Ray is missing (unless the Ray tests are required)."""
    if importlib.util.find_spec("ray") is not None:
        return
    if os.environ.get("ORDERWATCH_RAY_TESTS") == "required":
        raise RuntimeError("ORDERWATCH_RAY_TESTS=required but Ray is not installed: pip install -e '.[test,ray]'")
    pytest.skip(f"Ray is not installed (pip install -e '.[test,ray]'); {what} is not tested",
                allow_module_level=True)


def local_ray() -> Iterator[Any]:
    """A local Ray of 2 CPUs for a test module (one already started is kept, not shut down)."""
    import ray
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    if started:
        ray.shutdown()
