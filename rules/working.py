"""The working copy: rule files edited (on a rule's page) but not yet put in force.

Why a working copy: a rule author tries a threshold in a dry run before anyone's queue sees it.
The edited file is kept as a *draft* in ``{instance_dir}/rules_working/`` beside the sha256 of
the live file it was made from; the live directory (``rules_dir``) is what scans read.
``orderwatch rules test`` with no directory judges the live directory with the drafts laid
over it; *save and reload* writes a draft over its live file (refused when the live file
changed since the draft was made) and *discard* deletes it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from contracts.config import Config
from rules.loader import SNAPSHOT_DIR, RuleProblem, read_rule_files
from rules.model import Rule

DIRNAME = "rules_working"


class LiveRulesBroken(Exception):
    """The live directory has mistakes and no last good copy of it exists."""


class DraftConflict(Exception):
    """The live file changed after the draft was made: saving would overwrite someone's edit."""


def working_dir(config: Config) -> Path:
    return config.instance_dir / DIRNAME


def rule_files(directory: Path) -> dict[str, Path]:
    """``*.yaml``/``*.yml`` of a rules directory by name (sorted)."""
    return {p.name: p for p in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _base(config: Config, name: str) -> Path:
    return working_dir(config) / f".{name}.base"


def drafts(config: Config) -> dict[str, Path]:
    """Drafts of the live directory's files (a draft of a file that no longer exists is ignored)."""
    d = working_dir(config)
    live = rule_files(config.rules_dir)
    return {n: p for n, p in rule_files(d).items() if n in live} if d.is_dir() else {}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_draft(config: Config, name: str, text: str) -> Path:
    """Keep ``text`` as the draft of live file ``name``, remembering the live text it edits."""
    live = rule_files(config.rules_dir)[name]
    d = working_dir(config)
    base = _base(config, name)
    if not base.exists() or name not in drafts(config):
        _write(base, _sha(live.read_text(encoding="utf-8")))
    _write(d / name, text)
    return d / name


def discard(config: Config, name: str) -> bool:
    """Forget the draft of ``name``; False when there was none."""
    path = working_dir(config) / name
    existed = path.exists()
    path.unlink(missing_ok=True)
    _base(config, name).unlink(missing_ok=True)
    return existed


def save(config: Config, name: str) -> Path:
    """Put the draft of ``name`` in force: write it over the live file, then forget the draft.

    Raises :class:`DraftConflict` when the live file is no longer the one the draft edited."""
    draft = drafts(config).get(name)
    if draft is None:
        raise FileNotFoundError(name)
    live = rule_files(config.rules_dir)[name]
    base = _base(config, name)
    if base.exists() and base.read_text(encoding="utf-8").strip() != _sha(live.read_text(encoding="utf-8")):
        raise DraftConflict(name)
    _write(live, draft.read_text(encoding="utf-8"))
    discard(config, name)
    return live


def rules_in_force(config: Config) -> tuple[list[Rule], str | None]:
    """The live rules (all of them, any mode), and a note when the live directory is broken and
    the last set that validated stands in for it (``instance/rules_last_good``)."""
    rules, problems = read_rule_files(config.rules_dir, config)
    if not problems:
        return rules, None
    snap = config.instance_dir / SNAPSHOT_DIR
    good, bad = read_rule_files(snap, config) if snap.is_dir() else ([], problems)
    if bad:
        raise LiveRulesBroken(f"the live rules directory {config.rules_dir} has mistakes and no last good copy "
                              f"exists: {problems[0]}")
    return good, f"{config.rules_dir} has mistakes; comparing with the last rule set that validated ({snap})"


def text_of(config: Config, name: str) -> str:
    """The file as the working copy has it: its draft, else the live file."""
    path = drafts(config).get(name) or rule_files(config.rules_dir)[name]
    return path.read_text(encoding="utf-8")


@contextmanager
def overlaid(config: Config, replace: dict[str, str] | None = None) -> Iterator[tuple[Path, dict[str, Path]]]:
    """A temporary directory holding the live files with the drafts (and ``replace``: name ->
    text) laid over them, and where each file came from (to name it in problems)."""
    with tempfile.TemporaryDirectory(prefix="ow-rules-") as tmp:
        origin: dict[str, Path] = {}
        for name, path in rule_files(config.rules_dir).items():
            origin[name] = path
            shutil.copy(path, Path(tmp) / name)
        for name, path in drafts(config).items():
            origin[name] = path
            shutil.copy(path, Path(tmp) / name)
        for name, text in (replace or {}).items():   # text being tried: named as the live file
            origin[name] = config.rules_dir / name
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        yield Path(tmp), origin


def read_working(config: Config, replace: dict[str, str] | None = None) -> tuple[list[Rule], list[RuleProblem]]:
    """The working copy's rules (live files, drafts over them) and its problems, naming the
    draft or live file each problem is in."""
    with overlaid(config, replace) as (tmp, origin):
        rules, problems = read_rule_files(tmp, config)

    def where(path: str) -> str:
        name = Path(path).name
        return str(origin.get(name, path)) if Path(path).parent == tmp else path

    return ([dataclasses.replace(r, file=Path(where(str(r.file)))) for r in rules],
            [RuleProblem(where(p.file), p.rule, p.field, p.message) for p in problems])


__all__ = ["DraftConflict", "LiveRulesBroken", "discard", "drafts", "overlaid", "read_working", "rule_files", "rules_in_force", "save", "text_of",
           "working_dir", "write_draft"]
