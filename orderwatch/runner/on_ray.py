"""Store partitions as Ray tasks (``scan.runner.kind: ray``; ``pip install 'orderwatch[ray]'``).

The only module that imports Ray.  The driver (the scanning process) reads the files, computes
the platform frames over every store (``orderwatch.runner.partition.plan``), puts them and the
partition spec in the object store once (``ray.put``), and sends each store group's batch lines
to one task as an Arrow table.  A task reads its stores' history from the shared history path,
decides with ``orderwatch.decide.decide`` and returns its flags; the driver gathers them,
correlates and stores everything in the scan's one transaction, so a task that Ray retries
after its worker died (``max_retries``) counts once and nothing is written twice.

Why tasks and not Ray Data's ``groupby(store).map_groups``: a partition needs its stores'
history beside its batch lines, the broadcast frames and the rules; a task per store group
takes all four as arguments, is retried whole, and keeps the number of durable-rules engines
(one per task) small.  ``docs/scale.md`` says how to run it on a cluster.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Any

import polars as pl

from contracts.config import ConfigError
from orderwatch.runner import Judged, Judgment
from orderwatch.runner.partition import PartitionSpec, gather, judge_partition, plan

#: tests: a marker path; the first task that creates it kills its own worker (Ray retries it)
CRASH_ONCE_ENV = "ORDERWATCH_RAY_CRASH_ONCE"


def _ray() -> Any:  # noqa: ANN401 - the ray module
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("scan.runner ray: Ray is not installed; pip install 'orderwatch[ray]'") from exc
    return ray


def refuse_sqlite(address: str | None, db_url: str, history_dir: str | None) -> None:
    """A cluster's workers are on other machines: the store and the history must be shared."""
    if not address:
        return
    if re.match(r"^sqlite", db_url):
        raise ConfigError(
            f"scan.runner.address {address!r} joins a Ray cluster, whose workers may run on other machines, "
            f"but database.url is SQLite ({db_url}): a cluster scan needs a database every node reaches "
            "(database.url: postgresql+psycopg://…); leave scan.runner.address empty for a local Ray")
    if not history_dir:
        raise ConfigError(
            f"scan.runner.address {address!r} joins a Ray cluster: set history.dir to a path every node "
            "mounts (the workers read their stores' history there)")


def _crash_once(marker: str | None) -> None:
    if not marker:
        return
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    os._exit(17)   # the worker dies mid-task, as on a lost node


def _run_partition(spec: PartitionSpec, factors: dict[str, dict[str, Any]], batch: Any) -> Any:  # noqa: ANN401
    """One task: an Arrow batch of whole stores judged against the broadcast frames."""
    _crash_once(spec.crash_once)
    frames = {key: {name: pl.from_arrow(t) for name, t in named.items()} for key, named in factors.items()}
    return judge_partition(spec, frames, pl.from_arrow(batch))


@dataclass
class RayRunner:
    address: str | None = None        # None: start a local Ray; "auto" or "ray://host:10001": join
    partitions: int | None = None     # store groups (None: 2 per CPU of the cluster)
    max_retries: int = 3
    num_cpus: int | None = None       # a local Ray's CPUs (None: Ray's default)

    @classmethod
    def from_settings(cls, settings: dict[str, Any], db_url: str, history_dir: str | None = None) -> RayRunner:
        address = str(settings.get("address") or "") or None
        refuse_sqlite(address, db_url, history_dir)
        _ray()
        return cls(address=address, partitions=int(settings["partitions"]) if settings.get("partitions") else None,
                   max_retries=int(settings.get("max_retries", 3)),
                   num_cpus=int(settings["num_cpus"]) if settings.get("num_cpus") else None)

    def _connect(self) -> Any:  # noqa: ANN401 - the ray module
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=self.address, num_cpus=None if self.address else self.num_cpus,
                     include_dashboard=False, log_to_driver=False, configure_logging=False)
        return ray

    def judge(self, job: Judgment) -> Judged:
        ray = self._connect()
        n = self.partitions or max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))
        p = plan(job, n)
        p.spec.crash_once = os.environ.get(CRASH_ONCE_ENV) or None
        spec = ray.put(p.spec)
        factors = ray.put({key: {name: f.to_arrow() for name, f in named.items()} for key, named in p.factors.items()})
        task = ray.remote(_run_partition).options(max_retries=self.max_retries, retry_exceptions=False)
        t0 = time.perf_counter()
        refs = [task.remote(spec, factors, part.to_arrow()) for part in p.parts]
        p.parts.clear()                  # the object store holds them now
        results = ray.get(refs)
        return gather(job, p, results, rules_s=time.perf_counter() - t0)


__all__ = ["CRASH_ONCE_ENV", "RayRunner", "refuse_sqlite"]
