"""After a crash: settle what a dead scan left beside the database.

A scan's partition (and its flagged orders' lines, ``store.flagged_lines``) is staged under a
temporary name, its database part committed in one
transaction, then the partition renamed into place.  Dying between the two leaves a staged
file: promoted when its scan is ``done`` (the commit happened), deleted when the scan failed or
was interrupted.  A partition whose scan is known not to have committed (from before scans
were atomic) is an orphan and is deleted too.  A staged file of a scan still running is left
alone.
"""

from __future__ import annotations

from store import scans
from store.flagged_lines import FlaggedLines
from store.history import History
from store.repository import Store


def recover(store: Store, history: History) -> dict[str, list[int]]:
    """Promote, discard and remove as above; returns what was done, by scan id."""
    lines = FlaggedLines(history.dir)
    pending, staged_lines = history.pending_scan_ids(), lines.pending_scan_ids()
    parts = history.partition_scan_ids()
    status = scans.statuses(store.engine, sorted(set(pending) | set(parts) | set(staged_lines)))
    done: dict[str, list[int]] = {"promoted": [], "discarded": [], "removed": []}
    for sid in pending:
        state = status.get(sid)
        if state == "done":
            history.promote(sid)
            done["promoted"].append(sid)
        elif state != "running":
            history.discard(sid)
            done["discarded"].append(sid)
    for sid in staged_lines:            # the flagged orders' lines follow their scan the same way
        if status.get(sid) == "done":
            lines.promote(sid)
        elif status.get(sid) != "running":
            lines.discard(sid)
    for sid in parts:
        if status.get(sid) in ("failed", "interrupted"):
            history.remove_partition(sid)
            done["removed"].append(sid)
    return done
