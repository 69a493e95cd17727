"""The scan's batch steps as Ray tasks beside the lines, which stay on the workers by store group.

``orderwatch.scan_batch.InMemory`` does the scan's line steps in the scanning process;
:class:`OnWorkers` does the same steps where ``ray_split.read_split`` left the lines: one
task per store group finds its new or changed lines (``History.new_or_changed`` and the stored
versions they replace) and keeps them in the object store; the open set's rows (one per
order of the new lines) are all the driver receives of them; the flagged orders' lines are
filtered per group and staged by one task; the history partition is written by a task per
group, one file each (``History.stage(group=)``), on the shared history path (``history.dir``, which a cluster requires), and the baseline
state is advanced per group (``state_on_workers``).
Each task writes under a temporary name and renames (the same writers as in-process), so a
task Ray retries after its worker died writes the same file again and nothing doubles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import polars as pl

from contracts.config import Config
from orderwatch.baseline_state import StateUpdate
from orderwatch.open_orders import scan_states
from orderwatch.runner import Judged, Judgment, Runner
from orderwatch.runner.partition import store_local
from orderwatch.runner.ray_split import SplitBatch, _concat, judge_split
from rules import Rule
from store import History
from store.flagged_lines import FlaggedLines


# -- tasks (module functions: Ray pickles them by name) -----------------------------------------
def _fresh_task(history_dir: str, *tables: Any) -> tuple[tuple[int, int, int], Any, Any]:  # noqa: ANN401
    """One group: (new lines, new keys, replaced versions), its new or changed lines and the
    stored versions they replace."""
    history = History(history_dir)
    fresh, new_keys = history.new_or_changed(_concat(tables))
    replaced = history.versions_of(fresh if fresh.height > new_keys else fresh.head(0))
    return (fresh.height, new_keys, replaced.height), fresh.to_arrow(), replaced.to_arrow()


def _flagged_task(orders: Any, *tables: Any) -> Any:  # noqa: ANN401
    """One group's lines of the flagged orders."""
    return _concat(tables).join(pl.from_arrow(orders), on=["store_id", "order_id"], how="semi").to_arrow()


def _stage_flagged_task(history_dir: str, scan_id: int, *tables: Any) -> None:  # noqa: ANN401
    FlaggedLines(history_dir).stage(scan_id, _concat(tables))


def _states_task(config: Config, as_of: datetime, rules: Sequence[Rule], present: dict[str, set[str]],
                 fresh: Any) -> Any:  # noqa: ANN401
    return scan_states(_concat((fresh,)), config, as_of, rules, present).to_arrow()


def _stage_history_task(history_dir: str, scan_id: int, replaces: bool, group: int, fresh: Any) -> None:  # noqa: ANN401
    """One group's new lines as its own file of the scan's partition (named by scan and group)."""
    History(history_dir).stage(scan_id, _concat((fresh,)), replaces=replaces, group=group)


@dataclass
class OnWorkers:
    """A batch read by ``ray_split.read_split``: the steps of ``scan_batch.Batch`` as tasks."""
    runner: Any                                # the RayRunner (its Ray, retries)
    read: SplitBatch
    new_rows: int = 0
    new_keys: int = 0
    replaced_rows: int = 0
    fresh: list[Any] = field(default_factory=list)       # per group: its new lines' object
    replaced: list[Any] = field(default_factory=list)    # per group: the stored versions they replace

    def _task(self, fn: Any, returns: int = 1) -> Any:  # noqa: ANN401
        ray = self.runner._connect()
        return ray.remote(fn).options(num_returns=returns, max_retries=self.runner.max_retries,
                                      retry_exceptions=False)

    def _get(self, refs: Any) -> Any:  # noqa: ANN401
        from orderwatch.runner.on_ray import _get
        got = _get(self.runner._connect(), refs)
        for value in got if isinstance(refs, list) else [got]:
            self.read.ledger.count(value)
        return got

    def _groups(self) -> list[tuple[int, list[Any]]]:
        return list(enumerate(self.read.groups))

    def stores(self) -> set[str | None]:
        return set(self.read.stores)

    def judged_lines(self) -> pl.DataFrame:
        from contracts.schema import empty_canonical
        return empty_canonical()

    def new_or_changed(self, history: History) -> tuple[int, int]:
        task = self._task(_fresh_task, returns=3)
        outs = [task.remote(str(history.dir.resolve()), *h) for _, h in self._groups()]
        counts = self._get([o[0] for o in outs])
        self.fresh, self.replaced = [o[1] for o in outs], [o[2] for o in outs]
        self.new_rows, self.new_keys = sum(c[0] for c in counts), sum(c[1] for c in counts)
        self.replaced_rows = sum(c[2] for c in counts)
        return self.new_rows, self.new_keys

    def judge(self, runner: Runner, job: Judgment) -> Judged:
        if store_local(job.inhibitions):
            return judge_split(self.runner, job, self.read)
        # an inhibition across stores pairs flags by their lines: judged on the gathered batch
        every = [h for _, group in self._groups() for h in group]
        return runner.judge(replace(job, batch=_concat(tuple(self._get(every)))))

    def stage_flagged(self, flagged: FlaggedLines, scan_id: int, orders: pl.DataFrame) -> None:
        if orders.is_empty():
            return
        ray = self.runner._connect()
        keys = ray.put(orders.to_arrow())
        task = self._task(_flagged_task)
        parts = [task.remote(keys, *h) for _, h in self._groups()]
        self._get(self._task(_stage_flagged_task).remote(str(flagged.dir.parent.resolve()), scan_id, *parts))

    def open_states(self, config: Config, as_of: datetime, rules: Sequence[Rule],
                    present: dict[str, set[str]]) -> pl.DataFrame:
        from store import open_orders as open_set
        if not self.new_rows:
            return pl.DataFrame(schema=open_set.STATES_SCHEMA)
        ray = self.runner._connect()
        task, conf, named = self._task(_states_task), ray.put(config), ray.put(list(rules))
        got = self._get([task.remote(conf, as_of, named, present, f) for f in self.fresh])
        return pl.concat([pl.from_arrow(t) for t in got], how="vertical_relaxed")  # type: ignore[misc]

    def stage_history(self, history: History, scan_id: int) -> None:
        """A task per group writes its new lines (one file each: no task holds the batch)."""
        if self.new_rows:
            task, where, replaces = self._task(_stage_history_task), str(history.dir.resolve()), self.new_rows > self.new_keys
            self._get([task.remote(where, scan_id, replaces, i, f) for i, f in enumerate(self.fresh)])

    def advance_state(self, history: History, config: Config, scan_id: int, before: list[int],
                      kept: dict[str, pl.DataFrame], mapper: object | None = None) -> StateUpdate | None:
        """Per store group, beside its lines (``state_on_workers``; ``mapper``, the in-process
        path's way to run bucket jobs, is not needed: each group's task runs its own)."""
        from orderwatch.runner.state_on_workers import advance_on_workers
        return advance_on_workers(self, history, config, scan_id, before, kept)


__all__ = ["OnWorkers"]
