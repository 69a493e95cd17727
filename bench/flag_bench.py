"""The flag-storage part of ``scan_bench.py``: one file, ~3 k flags vs ~300 k, per backend.

The same file is scanned twice into a fresh database: with the rule pack (a few thousand
flags) and with a *loose* copy of it, every ``>``/``>=`` threshold divided by ``factor``
(the rule that is too loose, a first scan of a backlog: a hundred times the flags).  The
ratio of the two scans' times is what storing flags costs as their number grows; linear
storage keeps it near the share of the other stages.  Each scan runs in its own subprocess
(wall time and ``ru_maxrss``); its stage times (read, features, rules, store) come from the
scan's own timings.  PostgreSQL scans go into a throwaway database, dropped afterwards.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PACK = ROOT / "rules" / "pack"
_LOWER_BOUND = re.compile(r"(\b[A-Za-z_]\w*\s*>=?\s*)(-?\d+(?:\.\d+)?)")

SCAN_CHILD = (
    "import json, sys, time\n"
    "t = time.perf_counter()\n"
    "from datetime import datetime\n"
    "from contracts.config import load_config\n"
    "from orderwatch.scan import run_scan\n"
    "r = run_scan([sys.argv[1]], load_config(), catalog=sys.argv[2], as_of=datetime.fromisoformat(sys.argv[3]),\n"
    "             db_url=sys.argv[4])\n"
    "print(json.dumps({'timings': r.timings, 'flags': r.flags.height, 'created': r.flags_created,\n"
    "                  'raised': r.flags_raised, 'inproc': time.perf_counter() - t}))\n"
)


def loosen(condition: str, factor: float) -> str:
    """Every lower bound (``x >= 5``, ``x > 5``) divided by ``factor``; upper bounds kept."""
    def repl(m: re.Match) -> str:
        value = float(m.group(2))
        return m.group(1) + (format(value / factor, ".6g") if value > 0 else m.group(2))
    return _LOWER_BOUND.sub(repl, condition)


def loose_pack(dst: Path, factor: float, src: Path = PACK) -> Path:
    """A copy of the rule pack in ``dst`` with every lower threshold divided by ``factor``."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("*.yaml")):
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        for rule in doc.get("rules") or []:
            rule["levels"] = {lvl: loosen(str(cond), factor) for lvl, cond in (rule.get("levels") or {}).items()}
        (dst / f.name).write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return dst


def _scan(run_child, child_env, path: Path, meta: dict, rules: Path, db_url: str, tmp: Path,
          timeout: float) -> dict:
    env = child_env(tmp, rules_dir=rules, db_url=db_url)
    r = run_child([sys.executable, "-c", SCAN_CHILD, str(path), meta["catalog"], meta["as_of"], db_url],
                  env=env, timeout=timeout, cwd=tmp)
    if not r.ok:
        return {"error": f"exit {r.rc}: " + " | ".join(r.stderr.strip().splitlines()[-5:])}
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return {"wall_s": r.wall, "peak_mib": r.peak_mib, **out}


def measure(run_child, child_env, path: Path, meta: dict, *, backends: list[str], pg_admin: str,
            factor: float, workdir: Path, timeout: float) -> list[dict]:
    """Per backend: the pack's scan and the loose scan of ``path`` (fresh database each)."""
    from flag_fill import create_database, drop_database  # noqa: PLC0415 - only when PostgreSQL is asked

    out = []
    with tempfile.TemporaryDirectory(dir=workdir) as t:
        tmp = Path(t)
        loose = loose_pack(tmp / "loose_rules", factor)
        for backend in backends:
            row: dict = {"backend": backend}
            for label, rules in (("pack", PACK), ("loose", loose)):
                run_dir = tmp / f"{backend}_{label}"
                run_dir.mkdir()
                created = None
                if backend == "postgresql":
                    try:
                        created, url = create_database(pg_admin)
                    except Exception as exc:  # noqa: BLE001 - reported in the table, the rest still runs
                        row[label] = {"error": f"PostgreSQL at {pg_admin} unavailable: {exc}"}
                        continue
                else:
                    url = f"sqlite:///{run_dir / 'scan.db'}"
                try:
                    row[label] = _scan(run_child, child_env, path, meta, rules, url, run_dir, timeout)
                finally:
                    if created:
                        drop_database(pg_admin, created)
                    shutil.rmtree(run_dir, ignore_errors=True)
                print(f"flags {backend} {label}: {_brief(row[label])}", file=sys.stderr)
            out.append(row)
    return out


def _brief(r: dict) -> str:
    if "error" in r:
        return "failed: " + r["error"]
    return f"{r['flags']:,} flags, {r['wall_s']:.1f} s, {r['peak_mib']:,.0f} MiB"


def table(rows: list[dict], lines: int) -> list[str]:
    """The printed rows: each backend's two scans, their stage times and the ratio."""
    head = ["backend", "scan", "flags", "wall s", "read", "features", "rules", "store", "peak MiB"]
    body = []
    for r in rows:
        for label in ("pack", "loose"):
            s = r.get(label, {})
            if "error" in s or not s:
                body.append([r["backend"], label, "failed", "—", "—", "—", "—", "—", "—"])
                continue
            t = s["timings"]
            body.append([r["backend"], label, f"{s['flags']:,}", f"{s['wall_s']:.2f}",
                         *(f"{t.get(k, 0):.2f}" for k in ("read", "features", "rules", "store")),
                         f"{s['peak_mib']:,.0f}"])
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    out = [f"flags stored ({lines:,}-line file, the same file raising the pack's flags and the loose pack's):",
           " | ".join(h.rjust(w) for h, w in zip(head, widths)), "-+-".join("-" * w for w in widths)]
    out += [" | ".join(c.rjust(w) for c, w in zip(b, widths)) for b in body]
    for r in rows:
        p, lo = r.get("pack", {}), r.get("loose", {})
        if "wall_s" in p and "wall_s" in lo:
            out.append(f"{r['backend']}: {lo['flags']:,} flags ÷ {p['flags']:,} flags "
                       f"({lo['flags'] / max(p['flags'], 1):.0f}× the flags): time {lo['wall_s'] / p['wall_s']:.2f}× "
                       f"(target ≤ 1.5), store stage {lo['timings'].get('store', 0) / max(p['timings'].get('store', 0), 1e-9):.1f}×, "
                       f"peak memory {lo['peak_mib'] / p['peak_mib']:.2f}×")
    return out


__all__ = ["loose_pack", "loosen", "measure", "table"]
