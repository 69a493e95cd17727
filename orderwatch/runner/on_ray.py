"""Store partitions as Ray tasks (``scan.runner.kind: ray``; ``pip install 'orderwatch[ray]'``).

The only module that imports Ray.  Input is read by the project's own readers (GBK, Excel,
headers by meaning, quarantine): a CSV/TSV or JSON-lines file larger than
``scan.runner.read_chunk_mb`` in byte-range parts, one task each (``ingest.parts``: cuts at
record ends, the file's plan and date formats decided once, counts that add up), any other
file in one task.  The driver (the scanning process) computes
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

import ingest
from contracts.config import Config, ConfigError
from ingest.parts import Whole, arrow, read_in_parts
from orderwatch.runner import Judged, Judgment
from orderwatch.runner.partition import PartitionSpec, arrow_frames, frames_of, gather, judge_partition, plan

#: tests: a marker path; the first task that creates it kills its own worker (Ray retries it)
CRASH_ONCE_ENV = "ORDERWATCH_RAY_CRASH_ONCE"
#: tests: the same for the baseline state's bucket jobs, killed after staging their files
STATE_CRASH_ONCE_ENV = "ORDERWATCH_RAY_STATE_CRASH_ONCE"


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
    return judge_partition(spec, frames_of(factors), pl.from_arrow(batch))


def _state_job(fn: Callable[[Any], Any], crash_once: str | None, shipped: Any) -> Any:  # noqa: ANN401
    """One task: a group of the state's store buckets updated and staged
    (``orderwatch.state_buckets.run_job``: the task reads its buckets, the driver renames)."""
    from orderwatch.state_buckets import land, ship_result
    result = fn(land(shipped))
    _crash_once(crash_once)     # tests: the worker dies with its files staged; the retry stages anew
    return ship_result(result)


@dataclass
class RayStateMapper:
    """Runs the baseline state's bucket jobs as Ray tasks (``orderwatch.state_buckets.Mapper``):
    the driver reads no store bucket, only renames what the tasks staged."""
    runner: RayRunner

    @property
    def parallel(self) -> int:
        """Jobs to split the update into: the judging partitions (2 per CPU of the cluster)."""
        ray = self.runner._connect()
        return self.runner.partitions or max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))

    def __call__(self, fn: Callable[[Any], Any], jobs: Iterable[Any]) -> list[Any]:
        from orderwatch.state_buckets import land_result, ship
        ray = self.runner._connect()
        task = ray.remote(_state_job).options(max_retries=self.runner.max_retries, retry_exceptions=False)
        crash = os.environ.get(STATE_CRASH_ONCE_ENV) or None
        fn_ref = ray.put(fn)
        refs = [task.remote(fn_ref, crash, ship(j)) for j in jobs]   # each job's rows cut, shipped, let go
        return [land_result(r) for r in _get(ray, refs)] if refs else []


def _read_file(path: str, cwd: str, config: Config, source: str | None,
               limits: ingest.ReadLimits | None) -> tuple[Any, Any, list[ingest.FileCount]]:
    """One task: one input file (on the shared input path) read into canonical lines and
    quarantine, returned as Arrow (see ``ingest.parts.Shipped``: a pickled frame is slow).

    A relative path is the driver's (``cwd``): the file keeps the name the driver gave it, which
    is every line's ``source_file``."""
    if not os.path.isabs(path) and os.path.isdir(cwd):
        os.chdir(cwd)
    r = ingest.read_orders([path], config, source=source, limits=limits)
    return arrow(r.lines), arrow(r.quarantine), r.files


def _landed(shipped: tuple[Any, Any, list[ingest.FileCount]]) -> ingest.IngestResult:
    lines, quarantine, files = shipped
    return ingest.IngestResult(lines=pl.from_arrow(lines), quarantine=pl.from_arrow(quarantine), files=files)  # type: ignore[arg-type]


def _get(ray: Any, refs: Any) -> Any:  # noqa: ANN401 - Ray's object refs and results
    """``ray.get``, raising what the task raised (an unreadable file's IngestError, a bad rule's
    error) rather than Ray's wrapper, so the scan reports it as it does in-process."""
    try:
        return ray.get(refs)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, Exception):
            raise exc.cause from None
        raise


def _staged(fn: Callable[..., Any], crash_once: str | None, *args: Any) -> Any:  # noqa: ANN401
    """One stage of reading a file in parts, as a task (tests: ``CRASH_ONCE_ENV`` kills the first)."""
    _crash_once(crash_once)
    return fn(*args)


class _RayPool:
    """``ingest.parts.Pool`` on Ray: each stage a task, retried like the judging tasks when its
    worker dies (a stage is a pure function of its arguments), each part's table left in the
    object store between stages."""

    def __init__(self, ray: Any, max_retries: int) -> None:  # noqa: ANN401 - the ray module
        self.ray, self.max_retries = ray, max_retries
        self.crash_once = os.environ.get(CRASH_ONCE_ENV) or None
        self._tasks: dict[int, Any] = {}

    def submit(self, fn: Callable[..., Any], *args: Any, returns: int = 1) -> Any:  # noqa: ANN401
        task = self._tasks.get(returns)
        if task is None:
            task = self.ray.remote(_staged).options(num_returns=returns, max_retries=self.max_retries,
                                                    retry_exceptions=False)
            self._tasks[returns] = task
        return task.remote(fn, self.crash_once, *args)

    def get(self, handles: list[Any]) -> list[Any]:
        return _get(self.ray, handles)

    def put(self, value: Any) -> Any:  # noqa: ANN401
        return self.ray.put(value)


def _whole_note(path: str | Path, reason: Whole, chunk_bytes: int) -> str | None:
    """A file larger than one part that was read whole says why in its report."""
    try:
        large = os.path.getsize(path) > chunk_bytes
    except OSError:
        return None
    return f"read in one task, not in parts: {reason.reason}" if large else None


#: the part size of a large file on a cluster when ``scan.runner.read_chunk_mb`` is not set
CLUSTER_CHUNK_MB = 64


@dataclass
class RayRunner:
    address: str | None = None        # None: start a local Ray; "auto" or "ray://host:10001": join
    partitions: int | None = None     # store groups (None: 2 per CPU of the cluster)
    max_retries: int = 3
    num_cpus: int | None = None       # a local Ray's CPUs (None: Ray's default)
    # a CSV/TSV, JSON-lines or Parquet file larger than this is read in parts; None: in parts of
    # CLUSTER_CHUNK_MB on a cluster, whole on a local Ray (one machine's reader already uses every
    # core: there the parts cost ~10 % of a scan and buy nothing)
    read_chunk_mb: float | None = None
    # the scan's lines stay on the workers, split by store group (``read_split``); False: they
    # come back to the scanning process, which does its line steps itself; None: split on a
    # cluster, back on a local Ray (one machine's memory is the driver's too: there the split
    # costs time — 2.3x the in-process scan against 0.8x, README — and saves nothing)
    split: bool | None = None

    @classmethod
    def from_settings(cls, settings: dict[str, Any], db_url: str, history_dir: str | None = None) -> RayRunner:
        address = str(settings.get("address") or "") or None
        refuse_sqlite(address, db_url, history_dir)
        _ray()
        return cls(address=address, partitions=int(settings["partitions"]) if settings.get("partitions") else None,
                   max_retries=int(settings.get("max_retries", 3)),
                   num_cpus=int(settings["num_cpus"]) if settings.get("num_cpus") else None,
                   read_chunk_mb=float(settings["read_chunk_mb"]) if settings.get("read_chunk_mb") else None,
                   split=None if settings.get("split") is None else bool(settings["split"]))

    @property
    def splits(self) -> bool:
        """Whether the scan's lines stay on the workers (``split``; unset: on a cluster only)."""
        return self.split if self.split is not None else self.address is not None

    def chunk_bytes(self) -> int | None:
        """The part size a large file is read in (None: every file whole)."""
        mb = self.read_chunk_mb if self.read_chunk_mb is not None else (CLUSTER_CHUNK_MB if self.address else None)
        return None if mb is None else int(mb * 2**20)

    def _connect(self) -> Any:  # noqa: ANN401 - the ray module
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=self.address, num_cpus=None if self.address else self.num_cpus,
                     include_dashboard=False, log_to_driver=False, configure_logging=False)
        return ray

    def read(self, paths: Sequence[str | Path], config: Config, *, source: str | None = None,
             limits: ingest.ReadLimits | None = None,
             progress: Callable[[str, float], None] | None = None) -> ingest.IngestResult:
        """A CSV/TSV, JSON-lines or Parquet file larger than ``read_chunk_mb``: in parts, one task each
        (``ingest.parts.read_in_parts``); any other file: one task, by ``ingest.read_orders``
        (headers by meaning, GBK, Excel sheets, quarantine); gathered in the given order.  One
        small file alone is read here: a task would only add the transfer.  Upload caps
        (``limits``) are checked by the whole-file reader, so a capped read is never split."""
        chunk = self.chunk_bytes()
        splittable = chunk is not None and (limits is None or limits == ingest.ReadLimits())
        large = [splittable and os.path.isfile(p) and os.path.getsize(p) > chunk for p in paths]
        if len(paths) < 2 and not any(large):
            return ingest.read_orders(paths, config, source=source, limits=limits, progress=progress)
        ray = self._connect()
        pool = _RayPool(ray, self.max_retries)
        task = ray.remote(_read_file).options(max_retries=self.max_retries, retry_exceptions=False)
        conf = ray.put(config)
        refs = {i: task.remote(str(p), os.getcwd(), conf, source, limits)
                for i, (p, big) in enumerate(zip(paths, large)) if not big}
        parts: list[ingest.IngestResult] = []
        for i, p in enumerate(paths):
            if progress:
                progress(str(p), 0.0)
            if i in refs:
                parts.append(_landed(_get(ray, refs[i])))
            else:
                parts.append(self._read_large(pool, p, config, source, chunk))
            if progress:
                progress(str(p), 1.0)
        return ingest.IngestResult(lines=pl.concat([r.lines for r in parts], how="vertical_relaxed"),
                                   quarantine=pl.concat([r.quarantine for r in parts], how="vertical_relaxed"),
                                   files=[f for r in parts for f in r.files])

    def read_split(self, paths: Sequence[str | Path], config: Config, *, source: str | None = None,
                   limits: ingest.ReadLimits | None = None,
                   progress: Callable[[str, float], None] | None = None) -> Any:  # noqa: ANN401
        """The files read with their lines left on the workers by store group, and the scan's
        line steps as tasks beside them (``orderwatch.runner.on_workers.OnWorkers``); None
        when ``split`` is off or upload caps apply (the capped whole-file reader runs here)."""
        if not self.splits or (limits is not None and limits != ingest.ReadLimits()):
            return None
        from orderwatch.runner.on_workers import OnWorkers
        from orderwatch.runner.ray_split import read_split
        for p in paths if progress else ():
            progress(str(p), 0.0)
        got = OnWorkers(self, read_split(self, paths, config, source=source))
        for p in paths if progress else ():
            progress(str(p), 1.0)
        return got

    @staticmethod
    def _read_large(pool: _RayPool, path: str | Path, config: Config, source: str | None,
                    chunk: int) -> ingest.IngestResult:
        got = read_in_parts(path, config, source, pool, chunk)
        if not isinstance(got, Whole):
            lines, quarantine, count = got
            return ingest.IngestResult(lines=lines, quarantine=quarantine, files=[count])
        ref = pool.submit(_read_file, str(path), os.getcwd(), pool.put(config), source, None)
        result = _landed(pool.get([ref])[0])
        note = _whole_note(path, got, chunk)
        for f in result.files if note else ():
            if f.report is not None:
                f.report.notes.append(note)
        return result

    def state_mapper(self) -> RayStateMapper:
        """The scan's baseline state update as tasks, as many jobs as the judging partitions."""
        return RayStateMapper(self)

    def judge(self, job: Judgment) -> Judged:
        ray = self._connect()
        n = self.partitions or max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))
        p = plan(job, n)
        p.spec.crash_once = os.environ.get(CRASH_ONCE_ENV) or None
        spec = ray.put(p.spec)
        factors = ray.put(arrow_frames(p.factors))
        task = ray.remote(_run_partition).options(max_retries=self.max_retries, retry_exceptions=False)
        t0 = time.perf_counter()
        refs = [task.remote(spec, factors, part.to_arrow()) for part in p.parts]
        p.parts.clear()                  # the object store holds them now
        results = _get(ray, refs)
        return gather(job, p, results, rules_s=time.perf_counter() - t0)


__all__ = ["CRASH_ONCE_ENV", "STATE_CRASH_ONCE_ENV", "RayRunner", "RayStateMapper", "refuse_sqlite"]
