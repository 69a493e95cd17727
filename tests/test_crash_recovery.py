"""kill -9 a scan at several points, on SQLite and PostgreSQL, then open the store as the next
process would: the dead scan is marked interrupted, nothing of it is half-stored, and a re-run
lands exactly what a clean run does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from contracts.config import history_dir_for, load_config
from orderwatch.scan import run_scan
from store import History, Store
from store.recovery import recover
from tests.test_scan_atomic import AS_OF, counts, export

ROOT = Path(__file__).resolve().parents[1]
DRIVER = textwrap.dedent("""
    import os, signal, sys
    from datetime import datetime
    from contracts.config import load_config
    from orderwatch.scan import run_scan

    path, url, stage = sys.argv[1:4]

    def progress(name, frac):
        if name == stage:
            os.kill(os.getpid(), signal.SIGKILL)

    run_scan([path], load_config(), as_of=datetime(2026, 9, 22, 18, 0), db_url=url, progress=progress)
    print("finished without being killed")
""")
#: before the database transaction, inside it (after flags, before commit), after the commit
#: but before the history partition is renamed into place
POINTS = ["detect", "store lines", "store commit", "history"]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ow.db'}"
    return request.getfixturevalue("pg_database")()


def _kill_at(stage: str, path: Path, url: str, config_file: Path) -> int:
    env = {**os.environ, "ORDERWATCH_CONFIG": str(config_file), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(path), url, stage], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert "finished without" not in proc.stdout, f"stage {stage!r} was never reached"
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    return proc.returncode


def test_kill_9_at_every_stage_leaves_a_consistent_store(db_url, tmp_path):
    cfg_file = tmp_path / "site.yaml"
    cfg_file.write_text(yaml.safe_dump({"instance_dir": str(tmp_path / "instance")}), encoding="utf-8")
    config = load_config(cfg_file)
    path = export(tmp_path / "o.csv")
    history = History(history_dir_for(db_url, config))
    for stage in POINTS:
        before = counts(db_url)
        assert _kill_at(stage, path, db_url, cfg_file) == -signal.SIGKILL
        with Store.open(db_url) as s:        # the next process: finds the dead scan
            scan = s.recent_scans(1)[0]
            recover(s, history)
        if stage == "history":                # committed: the staged partition is promoted
            assert scan["status"] == "done"
            assert scan["id"] in history.partition_scan_ids()
        else:
            assert scan["status"] == "interrupted", (stage, scan)
            assert "ended without finishing" in scan["error"]
            assert scan["id"] not in history.partition_scan_ids()
            assert counts(db_url) == before, stage   # not one flag, line or row of it
        assert history.pending_scan_ids() == []
    # after all that, a scan lands as it would have on a clean store
    r = run_scan([path], config, as_of=AS_OF, db_url=db_url)
    got = counts(db_url)
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    clean = run_scan([path], load_config(cfg_file, overrides={"history": {"dir": str(tmp_path / "h2")}}),
                     as_of=AS_OF, db_url=clean_url)
    assert got["flags"] == counts(clean_url)["flags"] == clean.flags_created
    assert got["quarantined_rows"] == clean.quarantined == r.quarantined
    with Store.open(db_url) as s:
        assert [x["status"] for x in s.recent_scans(1)] == ["done"]
